//! Checked spans and codebook errors in the study-folder parser, on copies of the example.

use std::path::Path;

use rupturelab_core::folder::{is_study_file, parse_folder, FolderFiles};
use rupturelab_core::{Span, SpanError};

fn example_files() -> FolderFiles {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/rupture-study");
    let mut files = FolderFiles::new();
    for rel in [
        "study.toml",
        "codebook.toml",
        "participants.csv",
        "responses.csv",
        "codings.csv",
    ] {
        files.insert(rel.to_string(), std::fs::read(root.join(rel)).unwrap());
    }
    for e in std::fs::read_dir(root.join("segments")).unwrap() {
        let p = e.unwrap().path();
        let rel = format!("segments/{}", p.file_name().unwrap().to_string_lossy());
        if is_study_file(&rel) {
            files.insert(rel, std::fs::read(&p).unwrap());
        }
    }
    files
}

/// codings.csv with explicit `start,end` columns (empty on every existing row) and one more row.
fn codings_with_offsets(files: &FolderFiles, extra: &str) -> Vec<u8> {
    let s = String::from_utf8(files["codings.csv"].clone()).unwrap();
    let mut out = String::new();
    for (i, l) in s.lines().enumerate() {
        if i == 0 {
            out.push_str(&format!("{l},start,end\n"));
        } else {
            out.push_str(&format!("{l},,\n"));
        }
    }
    out.push_str(extra);
    out.into_bytes()
}

#[test]
fn span_constructors_refuse_empty_inverted_and_overlong_spans() {
    let s = Span::new(3, 11).unwrap();
    assert_eq!((s.start, s.end, s.len()), (3, 11, 8));
    assert!(!s.is_empty());
    assert_eq!(
        Span::new(5, 5),
        Err(SpanError::NotAfterStart { start: 5, end: 5 })
    );
    assert_eq!(
        Span::new(9, 2),
        Err(SpanError::NotAfterStart { start: 9, end: 2 })
    );
    assert_eq!(Span::within(0, 10, 10), Ok(Span::new(0, 10).unwrap()));
    let e = Span::within(2, 11, 10).unwrap_err();
    assert_eq!(e, SpanError::PastEnd { end: 11, len: 10 });
    assert!(e
        .to_string()
        .contains("past the end of the answer (10 characters)"));
    assert_eq!(
        Span::new(9, 2).unwrap_err().to_string(),
        "end (2) must be greater than start (9)"
    );
}

#[test]
fn an_inverted_span_in_codings_csv_is_named_with_its_line() {
    let mut files = example_files();
    let lines = String::from_utf8(files["codings.csv"].clone())
        .unwrap()
        .lines()
        .count();
    let csv = codings_with_offsets(&files, "Ayla,P01,S1,Q1,Cause/Patient/Resistance,,,9,4\n");
    files.insert("codings.csv".into(), csv);
    let errs = parse_folder(&files).unwrap_err().0;
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].file, "codings.csv");
    assert_eq!(errs[0].line, Some(lines + 1));
    assert_eq!(errs[0].field.as_deref(), Some("column `end`"));
    assert_eq!(errs[0].message, "end (4) must be greater than start (9)");
    // A valid span on the same answer imports.
    let mut files = example_files();
    let csv = codings_with_offsets(&files, "Ayla,P01,S1,Q1,Cause/Patient/Resistance,,,4,9\n");
    files.insert("codings.csv".into(), csv);
    let study = parse_folder(&files).unwrap();
    assert!(study
        .codings
        .iter()
        .any(|c| c.span == Some(Span::new(4, 9).unwrap())));
}

#[test]
fn an_unreadable_codebook_is_one_error_not_one_per_coding() {
    let mut files = example_files();
    let mut bytes = files["codebook.toml"].clone();
    bytes.insert(10, 0xff);
    files.insert("codebook.toml".into(), bytes);
    let errs = parse_folder(&files).unwrap_err().0;
    assert!(
        errs.iter()
            .any(|e| e.file == "codebook.toml" && e.message.contains("not valid UTF-8")),
        "{errs:?}"
    );
    assert!(
        !errs
            .iter()
            .any(|e| e.message.contains("not in codebook.toml")),
        "spurious code-path errors: {errs:?}"
    );
    assert_eq!(errs.len(), 1, "{errs:?}");
    // Broken TOML: the same.
    let mut files = example_files();
    files.insert(
        "codebook.toml".into(),
        b"[[code]\npath = \"Cause\"\n".to_vec(),
    );
    let errs = parse_folder(&files).unwrap_err().0;
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].file, "codebook.toml");
    // A readable codebook still has its paths checked.
    let mut files = example_files();
    let cb = String::from_utf8(files["codebook.toml"].clone())
        .unwrap()
        .replacen("Cause/Patient/Resistance\"", "Cause/Patient/Resist\"", 1);
    files.insert("codebook.toml".into(), cb.into_bytes());
    let errs = parse_folder(&files).unwrap_err().0;
    assert!(errs
        .iter()
        .any(|e| e.file == "codings.csv" && e.message.contains("not in codebook.toml")));
}
