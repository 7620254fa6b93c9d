//! No input panics a reader: damaged and random variants of real files go
//! through every importer and give a study or an error, never a crash.
//! (Property tests in place of long fuzzing runs; failures are kept by
//! proptest as regression seeds.)

mod common;

use common::*;
use proptest::prelude::*;
use rupturelab_core::{Key, RuptureType};
use rupturelab_interop::qdc::{import_qdc, CodebookOptions};
use rupturelab_interop::qdpx::{export_qdpx, import_qdpx, project_qde, ImportOptions};
use rupturelab_interop::responses::{import_responses, Preset, ResponseImportOptions};
use rupturelab_interop::transcripts::{read_transcript, SegmentOptions, TranscriptKind};

fn seg_opts() -> SegmentOptions {
    SegmentOptions {
        key: Key::parse("S9").unwrap(),
        label: String::new(),
        patient: Key::parse("PT1").unwrap(),
        session: None,
        rupture: RuptureType::Unspecified,
        speakers: Vec::new(),
        default_speaker: "Speaker".into(),
        media: None,
        label_file: "t".into(),
        limits: Default::default(),
    }
}

/// Fails if a reader hit a bug (a panic caught by its guard).
fn no_bug<T>(r: rupturelab_interop::Result<T>) {
    if let Err(e) = r {
        let m = e.to_string();
        assert!(!m.contains("internal error"), "{m}");
    }
}

/// Applies byte edits (position, value) and a truncation to a seed.
fn mutate(seed: &[u8], edits: &[(usize, u8)], cut: usize) -> Vec<u8> {
    let mut b = seed.to_vec();
    for (p, v) in edits {
        if !b.is_empty() {
            let i = p % b.len();
            b[i] = *v;
        }
    }
    let keep = b.len().saturating_sub(cut % (b.len() / 4 + 1));
    b.truncate(keep);
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn damaged_project_xml_never_panics(edits in prop::collection::vec((any::<usize>(), any::<u8>()), 0..8), cut in any::<usize>()) {
        let study = example_study();
        let (qde, _) = project_qde(&study);
        // A small slice of the project keeps each case fast.
        let seed = qde.as_bytes()[..qde.len().min(20_000)].to_vec();
        no_bug(import_qdpx(&mutate(&seed, &edits, cut), &ImportOptions::default()));
        let atlas = read_fixture("refi-qda/atlasti-8.4.0_spec-annexA2_Project.qde");
        no_bug(import_qdpx(&mutate(&atlas, &edits, cut), &ImportOptions { split_names: Some("::".into()), ..Default::default() }));
    }

    #[test]
    fn damaged_archives_never_panic(edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let mut small = example_study();
        small.responses.truncate(6);
        small.codings.retain(|c| small.responses.iter().any(|r| r.key == c.response));
        let zip = export_qdpx(&small).unwrap();
        no_bug(import_qdpx(&mutate(&zip, &edits, 0), &ImportOptions::default()));
    }

    #[test]
    fn damaged_codebooks_never_panic(edits in prop::collection::vec((any::<usize>(), any::<u8>()), 0..8), cut in any::<usize>()) {
        let qdc = rupturelab_interop::qdc::export_qdc(&example_study());
        no_bug(import_qdc(&mutate(qdc.as_bytes(), &edits, cut), &CodebookOptions::default()));
    }

    #[test]
    fn random_tables_never_panic(rows in prop::collection::vec(prop::collection::vec("[a-zA-Z0-9 ,;\"\t\r\nİış_-]{0,12}", 0..8), 0..6), preset in 0usize..4) {
        let csv: String = rows.iter().map(|r| r.join(",")).collect::<Vec<_>>().join("\n");
        let preset = [Preset::Generic, Preset::Qualtrics, Preset::LimeSurvey, Preset::GoogleForms][preset];
        let study = example_study();
        no_bug(import_responses(&study, csv.as_bytes(), &ResponseImportOptions { preset, ..Default::default() }));
        no_bug(import_responses(&study, csv.as_bytes(), &ResponseImportOptions { preset, xlsx: true, ..Default::default() }));
    }

    #[test]
    fn random_subtitles_never_panic(src in "(WEBVTT\n)?([0-9:.,> -]{0,30}\n|<v [A-Z]{0,3}>[a-z :<>&;]{0,20}\n|\n){0,12}") {
        for kind in [TranscriptKind::Vtt, TranscriptKind::Srt, TranscriptKind::Txt, TranscriptKind::Docx] {
            no_bug(read_transcript(src.as_bytes(), kind, &seg_opts()));
        }
    }
}

/// Inputs that once crashed a reader under `cargo fuzz` (fuzz/run.sh), kept
/// per target in `fuzz/regressions/<target>/`, are read again here exactly
/// as the fuzz target reads them (its first byte picks the preset or the
/// reader, as there) and must give a study or a clear error.
#[test]
fn fuzz_regressions_are_read_without_a_bug() {
    let study = example_study();
    let mut n = 0;
    for target in ["qde", "qdc", "responses_csv", "responses_xlsx", "subtitles"] {
        let dir = repo().join("fuzz/regressions").join(target);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for e in entries {
            let path = e.unwrap().path();
            if path.file_name().is_some_and(|f| f == ".keep") {
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            n += 1;
            let split = data.split_first().map(|(p, rest)| (*p as usize, rest));
            match target {
                "qde" => no_bug(import_qdpx(
                    &data,
                    &ImportOptions {
                        split_names: Some("::".into()),
                        ..Default::default()
                    },
                )),
                "qdc" => no_bug(import_qdc(
                    &data,
                    &CodebookOptions {
                        split_names: Some("::".into()),
                        ..Default::default()
                    },
                )),
                "responses_csv" => {
                    if let Some((p, rest)) = split {
                        let preset = [
                            Preset::Generic,
                            Preset::Qualtrics,
                            Preset::LimeSurvey,
                            Preset::GoogleForms,
                        ][p % 4];
                        no_bug(import_responses(
                            &study,
                            rest,
                            &ResponseImportOptions {
                                preset,
                                ..Default::default()
                            },
                        ));
                    }
                }
                "responses_xlsx" => no_bug(import_responses(
                    &study,
                    &data,
                    &ResponseImportOptions {
                        xlsx: true,
                        ..Default::default()
                    },
                )),
                _ => {
                    if let Some((p, rest)) = split {
                        let kind = [
                            TranscriptKind::Vtt,
                            TranscriptKind::Srt,
                            TranscriptKind::Txt,
                        ][p % 3];
                        no_bug(read_transcript(rest, kind, &seg_opts()));
                    }
                }
            }
        }
    }
    println!("{n} fuzz regression inputs read");
}
