//! WebVTT and SubRip transcripts (the first input byte picks the reader).
#![no_main]
use libfuzzer_sys::fuzz_target;
use rupturelab_core::{Key, RuptureType};
use rupturelab_interop::transcripts::{read_transcript, SegmentOptions, TranscriptKind};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else { return };
    let kind = [TranscriptKind::Vtt, TranscriptKind::Srt, TranscriptKind::Txt][pick as usize % 3];
    let opts = SegmentOptions {
        key: Key::parse("S9").unwrap(),
        label: String::new(),
        patient: Key::parse("PT1").unwrap(),
        session: None,
        rupture: RuptureType::Unspecified,
        speakers: Vec::new(),
        default_speaker: "P".into(),
        media: None,
        label_file: "fuzz.vtt".into(),
        limits: Default::default(),
    };
    let _ = read_transcript(bytes, kind, &opts);
});
