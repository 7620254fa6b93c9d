//! REFI-QDA projects: schema-valid exports, an exact round trip of the
//! example study, and tolerant import of real NVivo and ATLAS.ti exports.

mod common;

use std::io::{Cursor, Write};

use common::*;
use rupturelab_core::{Memo, MemoTarget, Timestamp};
use rupturelab_interop::qdpx::{export_qdpx, import_qdpx, project_qde, ImportOptions};
use rupturelab_interop::{InteropError, Limits, PositionUnit};

fn opts() -> ImportOptions {
    ImportOptions {
        label: "test.qdpx".into(),
        ..Default::default()
    }
}

#[test]
fn example_export_validates_against_project_xsd() {
    let study = example_study();
    let (qde, sources) = project_qde(&study);
    assert_valid(&qde, "Project.xsd");
    // One source per response and per segment, as UTF-8 without BOM.
    assert_eq!(sources.len(), study.responses.len() + study.segments.len());
    assert!(sources.iter().all(|(n, b)| n.starts_with("sources/")
        && n.ends_with(".txt")
        && !b.starts_with(b"\xEF\xBB\xBF")));
    assert!(qde.contains("name=\"P01 – S1 – Q1\""));
    assert!(qde.contains("isCodable=\"false\""));
}

#[test]
fn example_round_trips_exactly_through_qdpx() {
    let mut study = example_study();
    // The example has no memos or audit events: add some so they travel too.
    study.memos.push(Memo {
        author: "Ayla".into(),
        target: MemoTarget::Study,
        text: "First pass & second thoughts <b>\n\nline two".into(),
        created_at: Some(Timestamp(1_767_225_600_250)),
    });
    study.memos.push(Memo {
        author: "PI (not a coder)".into(),
        target: MemoTarget::Code(study.codes[1].path.clone()),
        text: "Merge with Pathology?".into(),
        created_at: None,
    });
    let rk = study.codings[0].response.clone();
    study.memos.push(Memo {
        author: "Burak".into(),
        target: MemoTarget::Response(rk),
        text: "Ambiguous answer".into(),
        created_at: None,
    });
    study.codings[3].memo = Some("borderline".into());
    study.audit.push(rupturelab_core::AuditEvent {
        at: Timestamp(1_767_225_600_000),
        actor: "cli:test".into(),
        action: "import".into(),
        entity: "study".into(),
        detail: "from folder, with \"quotes\", commas".into(),
    });
    assert_valid(&project_qde(&study).0, "Project.xsd");
    let bytes = export_qdpx(&study).unwrap();
    let back = import_qdpx(&bytes, &opts()).unwrap();
    assert!(back.rupturelab);
    assert!(back.warnings.is_empty(), "{:?}", back.warnings);
    let b = back.study;
    assert_eq!(b.meta, study.meta);
    assert_eq!(b.settings, study.settings);
    assert_eq!(b.attributes, study.attributes);
    assert_eq!(b.questions, study.questions);
    assert_eq!(b.patients, study.patients);
    assert_eq!(b.segments, study.segments);
    assert_eq!(b.participants, study.participants);
    assert_eq!(b.responses, study.responses);
    assert_eq!(b.codes, study.codes);
    assert_eq!(b.coders, study.coders);
    assert_eq!(b.codings.len(), study.codings.len());
    assert_eq!(b.codings, study.codings);
    assert_eq!(b.memos, study.memos);
    assert_eq!(b.audit, study.audit);
    assert_eq!(b, study);
}

#[test]
fn exports_are_deterministic_so_guids_are_stable() {
    let study = example_study();
    let a = export_qdpx(&study).unwrap();
    let b = export_qdpx(&study).unwrap();
    assert_eq!(a, b);
    let (qde, _) = project_qde(&study);
    let mut other = study.clone();
    other.responses.pop();
    let (qde2, _) = project_qde(&other);
    // A code keeps its GUID when the rest of the study changes.
    let guid_of = |x: &str| {
        let i = x
            .find("name=\"Patient&apos;s")
            .or_else(|| x.find("name=\"Patient's"))
            .unwrap();
        x[..i].rsplit("guid=\"").next().unwrap()[..36].to_string()
    };
    assert_eq!(guid_of(&qde), guid_of(&qde2));
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[test]
fn nvivo_selections_are_read_as_utf16_units() {
    let bytes = read_fixture("refi-qda/nvivo-win-12.6_oltas.qdpx");
    let imp = import_qdpx(&bytes, &opts()).unwrap();
    assert_eq!(imp.unit, PositionUnit::Utf16);
    assert!(!imp.rupturelab);
    let s = &imp.study;
    assert_eq!(s.codings.len(), 97, "{:?}", imp.warnings);
    assert_eq!(s.responses.len(), 1);
    let text: Vec<char> = s.responses[0].answer.text().unwrap().chars().collect();
    assert!(!text.contains(&'\r') && !text.contains(&'\u{FEFF}'));
    let mut good = 0;
    for c in &s.codings {
        let sp = c.span.unwrap();
        let (a, b) = (sp.start, sp.end);
        let start_ok = a == 0 || text[a - 1] == '\n' || (!is_word(text[a - 1]) && is_word(text[a]));
        let end_ok = b == text.len()
            || text[b - 1] == '\n'
            || (!text[b - 1].is_whitespace() && !is_word(text[b]));
        if start_ok && end_ok {
            good += 1;
        }
    }
    assert_eq!(good, 97, "selections not at word or line boundaries");
    // Read as code points instead, most selections would be off.
    let cp = import_qdpx(
        &bytes,
        &ImportOptions {
            positions: Some(PositionUnit::CodePoints),
            ..opts()
        },
    )
    .unwrap();
    let text: Vec<char> = cp.study.responses[0]
        .answer
        .text()
        .unwrap()
        .chars()
        .collect();
    let good_cp = cp
        .study
        .codings
        .iter()
        .filter(|c| {
            let sp = c.span.unwrap();
            let (a, b) = (sp.start, sp.end);
            (a == 0 || text[a - 1] == '\n' || (!is_word(text[a - 1]) && is_word(text[a])))
                && (b == text.len()
                    || text[b - 1] == '\n'
                    || (!text[b - 1].is_whitespace() && !is_word(text[b])))
        })
        .count();
    assert!(good_cp < 50, "{good_cp}");
    // The codebook keeps its hierarchy, users become coders.
    assert!(s.codes.iter().any(|c| c.path.depth() == 3));
    assert_eq!(s.coders.len(), 2);
    assert!(s.codes.iter().any(|c| c
        .definition
        .as_deref()
        .is_some_and(|d| d.contains("Rosenstock"))));
}

#[test]
fn atlas_ti_bare_qde_imports_codes_and_warns_about_missing_sources() {
    let bytes = read_fixture("refi-qda/atlasti-8.4.0_spec-annexA2_Project.qde");
    let flat = import_qdpx(&bytes, &opts()).unwrap();
    assert!(flat
        .study
        .codes
        .iter()
        .any(|c| c.path.as_str() == "Coke::diet Coke"));
    assert!(
        flat.warnings.iter().any(|w| w.contains("bare .qde")),
        "{:?}",
        flat.warnings
    );
    let split = import_qdpx(
        &bytes,
        &ImportOptions {
            split_names: Some("::".into()),
            ..opts()
        },
    )
    .unwrap();
    let coke = split.study.code("Coke").unwrap();
    assert_eq!(
        coke.definition.as_deref(),
        Some("the breakfast of champions")
    );
    assert!(coke.codable, "the real Coke code replaces the placeholder");
    assert_eq!(
        split
            .study
            .code("Coke/diet Coke")
            .unwrap()
            .definition
            .as_deref(),
        Some("non sucré")
    );
    let pos = |p: &str| {
        split
            .study
            .codes
            .iter()
            .position(|c| c.path.as_str() == p)
            .unwrap()
    };
    assert!(pos("Coke") < pos("Coke/diet Coke"));
    assert!(split.study.code("\"rushed\"").is_some());
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (n, b) in entries {
        w.start_file(*n, o).unwrap();
        w.write_all(b).unwrap();
    }
    w.finish().unwrap().into_inner()
}

const MINI: &str = r##"<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:0.9" name="Mini" origin="QualCoder 3.5">
  <Users><User guid="{AAAAAAAA-0000-0000-0000-000000000001}" name="Ana"/></Users>
  <CodeBook><Codes><Code guid="c0000000-0000-0000-0000-000000000001" name="Fear/Anxiety" isCodable="true" color="#abc"/></Codes></CodeBook>
  <Sources>
    <TextSource guid="50000000-0000-0000-0000-000000000001" name="Interview 1" plainTextPath="internal://50000000-0000-0000-0000-000000000001.txt">
      <PlainTextSelection guid="51000000-0000-0000-0000-000000000001" startPosition="6" endPosition="11" creatingUser="aaaaaaaa-0000-0000-0000-000000000001">
        <Coding guid="52000000-0000-0000-0000-000000000001"><CodeRef targetGUID="C0000000-0000-0000-0000-000000000001"/></Coding>
      </PlainTextSelection>
      <PlainTextSelection guid="51000000-0000-0000-0000-000000000002" startPosition="6" endPosition="99">
        <Coding guid="52000000-0000-0000-0000-000000000002"><CodeRef targetGUID="c0000000-0000-0000-0000-000000000001"/></Coding>
      </PlainTextSelection>
    </TextSource>
  </Sources>
</Project>"##;

#[test]
fn tolerant_reader_accepts_variants_and_reports_what_it_drops() {
    let text = "\u{FEFF}Hello world\r\nbye";
    let bytes = zip_of(&[
        ("export.qde", MINI.as_bytes()),
        (
            "Sources/50000000-0000-0000-0000-000000000001.TXT",
            text.as_bytes(),
        ),
    ]);
    let imp = import_qdpx(&bytes, &opts()).unwrap();
    let s = &imp.study;
    assert_eq!(s.responses[0].answer.text(), Some("Hello world\nbye"));
    assert_eq!(s.codings.len(), 1);
    assert_eq!(s.codings[0].span.map(|x| (x.start, x.end)), Some((6, 11)));
    assert_eq!(s.codings[0].coder.as_str(), "Ana");
    assert_eq!(s.codes[0].path.as_str(), "Fear∕Anxiety");
    assert_eq!(s.codes[0].name, "Fear/Anxiety");
    assert_eq!(s.codes[0].colour.as_deref(), Some("#AABBCC"));
    assert!(
        imp.warnings.iter().any(|w| w.contains("does not fit")),
        "{:?}",
        imp.warnings
    );
    assert_eq!(s.participants[0].code.as_str(), "Interview 1");
}

#[test]
fn broken_archives_fail_with_a_clear_message() {
    let e = import_qdpx(b"PK\x03\x04garbage", &opts())
        .unwrap_err()
        .to_string();
    assert!(e.contains("test.qdpx") && e.contains("zip"), "{e}");
    let e = import_qdpx(&zip_of(&[("readme.txt", b"hi")]), &opts())
        .unwrap_err()
        .to_string();
    assert!(e.contains("no .qde file"), "{e}");
    let bad = MINI.replace("</Sources>", "</Source>");
    let e = import_qdpx(&zip_of(&[("project.qde", bad.as_bytes())]), &opts())
        .unwrap_err()
        .to_string();
    assert!(e.contains("test.qdpx:project.qde line"), "{e}");
    let e = import_qdpx(b"<CodeBook/>", &opts())
        .unwrap_err()
        .to_string();
    assert!(e.contains("import-qdc"), "{e}");
}

#[test]
fn limits_reject_zip_bombs_big_entries_many_entries_and_deep_xml() {
    let zeros = vec![b' '; 4 * 1024 * 1024];
    let bomb = zip_of(&[("project.qde", &zeros)]);
    match import_qdpx(&bomb, &opts()) {
        Err(InteropError::Limit(p)) => assert!(p.message.contains("100:1"), "{p}"),
        other => panic!("{other:?}"),
    }
    let small = ImportOptions {
        limits: Limits {
            max_entry_bytes: 1000,
            ..Limits::default()
        },
        ..opts()
    };
    let big: Vec<u8> = (0..5000u32).flat_map(|i| i.to_le_bytes()).collect();
    assert!(matches!(
        import_qdpx(&zip_of(&[("project.qde", &big)]), &small),
        Err(InteropError::Limit(_))
    ));
    let many: Vec<(String, Vec<u8>)> = (0..30).map(|i| (format!("f{i}"), vec![])).collect();
    let refs: Vec<(&str, &[u8])> = many
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let few = ImportOptions {
        limits: Limits {
            max_entries: 10,
            ..Limits::default()
        },
        ..opts()
    };
    assert!(matches!(
        import_qdpx(&zip_of(&refs), &few),
        Err(InteropError::Limit(_))
    ));
    let deep = format!(
        "<Project name=\"x\">{}{}</Project>",
        "<Code>".repeat(5000),
        "</Code>".repeat(5000)
    );
    assert!(matches!(
        import_qdpx(deep.as_bytes(), &opts()),
        Err(InteropError::Limit(_))
    ));
}

#[test]
fn an_imported_nvivo_project_exports_valid_and_comes_back_the_same() {
    let bytes = read_fixture("refi-qda/nvivo-win-12.6_oltas.qdpx");
    let first = import_qdpx(&bytes, &opts()).unwrap().study;
    let (qde, _) = project_qde(&first);
    assert_valid(&qde, "Project.xsd");
    let again = import_qdpx(&export_qdpx(&first).unwrap(), &opts()).unwrap();
    assert!(again.rupturelab);
    assert_eq!(again.study, first);
}
