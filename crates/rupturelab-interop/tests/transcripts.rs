//! Transcripts become segments: speakers, continuation lines, cue times,
//! voices; and errors that say where and what to do.

mod common;

use std::io::{Cursor, Write};

use common::*;
use rupturelab_core::{Key, RuptureType};
use rupturelab_interop::transcripts::{
    add_segment, read_transcript, SegmentOptions, TranscriptKind,
};

fn opts() -> SegmentOptions {
    SegmentOptions {
        key: Key::parse("S7").unwrap(),
        label: "New rupture".into(),
        patient: Key::parse("PT1").unwrap(),
        session: Some(9),
        rupture: RuptureType::Confrontation,
        speakers: Vec::new(),
        default_speaker: "Speaker".into(),
        media: None,
        label_file: "t.txt".into(),
        limits: Default::default(),
    }
}

#[test]
fn text_transcripts_keep_speakers_times_and_continuations() {
    let src = "\u{FEFF}T: Shall we look at the homework?\r\nP: No.\r\nI just didn't.\r\n\r\n[00:01:02.5-00:01:09] T: Okay.\r\n";
    let seg = read_transcript(src.as_bytes(), TranscriptKind::Txt, &opts()).unwrap();
    assert_eq!(seg.turns.len(), 3);
    assert_eq!(seg.turns[1].text, "No. I just didn't.");
    assert_eq!(
        (seg.turns[2].start_ms, seg.turns[2].end_ms),
        (Some(62_500), Some(69_000))
    );
    let mut study = example_study();
    add_segment(&mut study, seg.clone(), "t.txt").unwrap();
    assert_eq!(study.segments.last().unwrap(), &seg);
    // Again: the key is taken.
    let e = add_segment(&mut study, seg, "t.txt")
        .unwrap_err()
        .to_string();
    assert!(e.contains("already has a segment `S7`"), "{e}");
}

#[test]
fn configured_speaker_labels_are_renamed_and_others_continue_the_turn() {
    let mut o = opts();
    o.speakers = vec!["Therapist=T,Patient=P".into()];
    let src = "Therapist: Note: this matters.\nPatient: Fine.\nTime: later\n";
    let seg = read_transcript(src.as_bytes(), TranscriptKind::Txt, &o).unwrap();
    assert_eq!(seg.turns[0].speaker, "T");
    assert_eq!(seg.turns[0].text, "Note: this matters.");
    assert_eq!(seg.turns[1].text, "Fine. Time: later");
    let e = read_transcript(b"Session 9\nT: hi\n", TranscriptKind::Txt, &o)
        .unwrap_err()
        .to_string();
    assert!(e.contains("t.txt line 1") && e.contains("Therapist"), "{e}");
}

#[test]
fn webvtt_voices_and_srt_cues_become_timed_turns() {
    let vtt = "WEBVTT\n\nNOTE a comment\n\n1\n00:00:01.000 --> 00:00:04.000 align:start\n<v Therapist>How was the week?</v>\n\n00:04.500 --> 00:06.000\n<v Patient>Fine.\nReally.</v>\n";
    let seg = read_transcript(vtt.as_bytes(), TranscriptKind::Vtt, &opts()).unwrap();
    assert_eq!(seg.turns.len(), 2);
    assert_eq!(seg.turns[1].speaker, "Patient");
    assert_eq!(seg.turns[1].text, "Fine. Really.");
    assert_eq!(
        (seg.turns[1].start_ms, seg.turns[1].end_ms),
        (Some(4_500), Some(6_000))
    );
    let srt = "1\n00:00:01,000 --> 00:00:02,000\nT: Hello.\n\n2\n00:00:02,500 --> 00:00:03,000\nNo speaker here.\n";
    let mut o = opts();
    o.media = Some("session9.mp4".into());
    let seg = read_transcript(srt.as_bytes(), TranscriptKind::Srt, &o).unwrap();
    assert_eq!(seg.turns[0].speaker, "T");
    assert_eq!(seg.turns[1].speaker, "Speaker");
    let m = seg.media.unwrap();
    assert_eq!(
        (m.reference.as_str(), m.start_ms, m.end_ms),
        ("session9.mp4", Some(1_000), Some(3_000))
    );
    let e = read_transcript(
        b"WEBVTT\n\n00:01 --> nonsense\nx\n",
        TranscriptKind::Vtt,
        &opts(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("line 3"), "{e}");
    assert!(read_transcript(b"1\n00:00:01,000\n", TranscriptKind::Srt, &opts()).is_err());
    assert!(read_transcript(b"not vtt", TranscriptKind::Vtt, &opts()).is_err());
}

#[test]
fn docx_paragraphs_are_lines() {
    let doc = r#"<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:r><w:t>T: Shall we </w:t></w:r><w:r><w:t xml:space="preserve">start &amp; see?</w:t></w:r></w:p>
<w:p><w:r><w:t>P: İyi.</w:t></w:r></w:p></w:body></w:document>"#;
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file(
        "word/document.xml",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    w.write_all(doc.as_bytes()).unwrap();
    let bytes = w.finish().unwrap().into_inner();
    let seg = read_transcript(&bytes, TranscriptKind::Docx, &opts()).unwrap();
    assert_eq!(seg.turns.len(), 2);
    assert_eq!(seg.turns[0].text, "Shall we start & see?");
    assert_eq!(seg.turns[1].text, "İyi.");
    assert!(read_transcript(b"PK\x03\x04", TranscriptKind::Docx, &opts()).is_err());
    assert!(TranscriptKind::from_extension("odt")
        .unwrap_err()
        .contains(".docx"));
}

#[test]
fn unknown_patient_is_refused_with_the_known_ones() {
    let mut o = opts();
    o.patient = Key::parse("PT9").unwrap();
    let seg = read_transcript(b"T: hi\n", TranscriptKind::Txt, &o).unwrap();
    let e = add_segment(&mut example_study(), seg, "t.txt")
        .unwrap_err()
        .to_string();
    assert!(e.contains("no patient `PT9`") && e.contains("PT1"), "{e}");
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/transcripts")
            .join(name),
    )
    .unwrap()
}

#[test]
fn pdf_transcripts_are_read_from_their_text_layer() {
    assert_eq!(
        TranscriptKind::from_extension("PDF").unwrap(),
        TranscriptKind::Pdf
    );
    let mut o = opts();
    o.label_file = "session9.pdf".into();
    let seg = read_transcript(&fixture("session9.pdf"), TranscriptKind::Pdf, &o).unwrap();
    let turns: Vec<(&str, &str)> = seg
        .turns
        .iter()
        .map(|t| (t.speaker.as_str(), t.text.as_str()))
        .collect();
    assert_eq!(
        turns,
        vec![
            ("T", "Shall we look at the homework?"),
            ("P", "I did not do it. Again."),
            ("T", "Can we talk about what happened between us last week?"),
            ("P", "Fine. Şimdi değil."),
        ]
    );
    // The same turns as the text file the PDF was made from.
    let txt = read_transcript(&fixture("session9.txt"), TranscriptKind::Txt, &opts()).unwrap();
    assert_eq!(seg.turns, txt.turns);
}

#[test]
fn scanned_broken_and_fake_pdfs_give_clear_errors() {
    let mut o = opts();
    o.label_file = "scan.pdf".into();
    let e = read_transcript(&fixture("scanned.pdf"), TranscriptKind::Pdf, &o)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("scan.pdf") && e.contains("no text layer") && e.contains("OCR"),
        "{e}"
    );
    let e = read_transcript(b"hello", TranscriptKind::Pdf, &o)
        .unwrap_err()
        .to_string();
    assert!(e.contains("is not a PDF"), "{e}");
    // Cut PDFs: an error naming the file (or, where the reader recovers, turns), never a panic.
    let pdf = fixture("session9.pdf");
    for n in [8, 100, pdf.len() / 2, pdf.len() - 10] {
        if let Err(e) = read_transcript(&pdf[..n], TranscriptKind::Pdf, &o) {
            assert!(e.to_string().contains("scan.pdf"), "{e}");
        }
    }
    assert!(read_transcript(&pdf[..100], TranscriptKind::Pdf, &o).is_err());
}
