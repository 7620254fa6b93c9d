//! The interop commands driven as a user would: a study goes to a REFI-QDA
//! project and back through two databases unchanged; foreign projects import
//! with a report of what was not kept.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> PathBuf {
    root()
        .join("crates/rupturelab-interop/tests/fixtures")
        .join(name)
}

fn cmd(dir: &Path, db: &str) -> Command {
    let mut c = Command::cargo_bin("rupturelab").unwrap();
    c.current_dir(dir)
        .env_remove("RUPTURELAB_DB")
        .arg("--db")
        .arg(dir.join(db));
    c
}

fn read_dir_files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in walk(dir) {
        let rel = e.strip_prefix(dir).unwrap().to_string_lossy().to_string();
        out.push((rel, std::fs::read_to_string(&e).unwrap()));
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(walk(&p));
        } else {
            v.push(p);
        }
    }
    v
}

#[test]
fn example_study_survives_database_to_qdpx_to_database() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    cmd(d, "a.db")
        .arg("import")
        .arg(root().join("examples/rupture-study"))
        .assert()
        .success();
    cmd(d, "a.db")
        .args(["export-qdpx", "out.qdpx"])
        .assert()
        .success()
        .stdout(contains("1904 codings"));
    // Refuses to overwrite without --force.
    cmd(d, "a.db")
        .args(["export-qdpx", "out.qdpx"])
        .assert()
        .failure()
        .stderr(contains("--force"));
    cmd(d, "b.db")
        .args(["import-qdpx", "out.qdpx"])
        .assert()
        .success()
        .stdout(contains("a RuptureLab export, read exactly"));
    // Importing again into the same database is refused with a way out.
    cmd(d, "b.db")
        .args(["import-qdpx", "out.qdpx"])
        .assert()
        .failure()
        .stderr(contains("--key"));
    cmd(d, "a.db")
        .args(["export-folder", "fa"])
        .assert()
        .success();
    cmd(d, "b.db")
        .args(["export-folder", "fb"])
        .assert()
        .success();
    let a = read_dir_files(&d.join("fa"));
    let b = read_dir_files(&d.join("fb"));
    assert_eq!(a.len(), b.len());
    for ((na, ca), (nb, cb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        if na == "audit.csv" {
            // The second import adds one event; the earlier ones travelled.
            assert!(cb.starts_with(ca.as_str()), "{ca}\n---\n{cb}");
            assert!(cb.contains("from REFI-QDA project"));
        } else {
            assert_eq!(ca, cb, "{na} differs");
        }
    }
}

#[test]
fn nvivo_project_imports_with_utf16_positions() {
    let t = tempfile::tempdir().unwrap();
    cmd(t.path(), "n.db")
        .arg("import-qdpx")
        .arg(fixture("refi-qda/nvivo-win-12.6_oltas.qdpx"))
        .args(["--key", "oltas"])
        .assert()
        .success()
        .stdout(contains("NVivo for Windows 12.6"))
        .stdout(contains("UTF-16 units"))
        .stdout(predicates::str::is_match(r"codings +97\n").unwrap());
}

#[test]
fn a_broken_project_names_the_file_and_leaves_no_study() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("bad.qdpx"), b"PK\x03\x04 not really").unwrap();
    cmd(t.path(), "x.db")
        .args(["import-qdpx", "bad.qdpx"])
        .assert()
        .failure()
        .stderr(contains("bad.qdpx"))
        .stderr(contains("zip"));
    assert!(!t.path().join("x.db").exists());
}

#[test]
fn codebook_goes_out_and_back_in_and_can_start_a_study() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    cmd(d, "a.db")
        .arg("import")
        .arg(root().join("examples/rupture-study"))
        .assert()
        .success();
    cmd(d, "a.db")
        .args(["export-qdc", "book.qdc"])
        .assert()
        .success()
        .stdout(contains("30 codes"));
    // Replacing the codebook with itself keeps every coding valid.
    cmd(d, "a.db")
        .args(["import-qdc", "book.qdc"])
        .assert()
        .success()
        .stdout(contains("30 codes into rupture-study"));
    cmd(d, "a.db")
        .args(["codebook", "show"])
        .assert()
        .success()
        .stdout(contains("Patient's negative contribution"));
    // A foreign codebook that lacks the study's codes is refused.
    cmd(d, "a.db")
        .arg("import-qdc")
        .arg(fixture("refi-qda/atlasti-win-23.4.0_codebook.qdc"))
        .assert()
        .failure()
        .stderr(contains("Cause/Patient"));
    // …but can start a new study.
    cmd(d, "b.db")
        .arg("import-qdc")
        .arg(fixture("refi-qda/atlasti-win-23.4.0_codebook.qdc"))
        .args(["--new", "atlas"])
        .assert()
        .success()
        .stdout(contains("code group"));
}

#[test]
fn tables_go_to_stdout_csv_files_and_one_workbook() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    cmd(d, "a.db")
        .arg("import")
        .arg(root().join("examples/rupture-study"))
        .assert()
        .success();
    cmd(d, "a.db")
        .args(["export-table", "--what", "participants", "--format", "csv"])
        .assert()
        .success()
        .stdout(contains(
            "participant,status,orientation,experience_years,experience_years_band",
        ));
    cmd(d, "a.db")
        .args(["export-table", "--what", "matrix", "--out", "m.csv"])
        .assert()
        .success();
    assert!(
        d.join("m_matrix_responses.csv").exists() && d.join("m_matrix_participants.csv").exists()
    );
    cmd(d, "a.db")
        .args(["export-table", "--out", "all.xlsx"])
        .assert()
        .success()
        .stdout(contains("6 sheets"));
    cmd(d, "a.db")
        .args(["export-table", "--what", "matrix", "--layer", "Nobody"])
        .assert()
        .failure()
        .stderr(contains("Ayla"));
    cmd(d, "a.db")
        .args(["export-table", "--out", "x.txt"])
        .assert()
        .failure()
        .stderr(contains(".xlsx or .csv"));
}

#[test]
fn export_table_format_flag_chooses_csv_or_xlsx() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    cmd(d, "a.db")
        .arg("import")
        .arg(root().join("examples/rupture-study"))
        .assert()
        .success();
    // --format xlsx: one workbook; the extension is added when missing.
    cmd(d, "a.db")
        .args(["export-table", "--format", "xlsx", "--out", "tables"])
        .assert()
        .success()
        .stdout(contains("6 sheets (and `columns`) to tables.xlsx"));
    assert!(std::fs::read(d.join("tables.xlsx"))
        .unwrap()
        .starts_with(b"PK"));
    // --format csv: one file per sheet.
    cmd(d, "a.db")
        .args([
            "export-table",
            "--what",
            "codebook",
            "--format",
            "csv",
            "--out",
            "cb",
        ])
        .assert()
        .success();
    let cb = std::fs::read_to_string(d.join("cb.csv")).unwrap();
    assert!(cb.starts_with("code,name,"), "{cb}");
    // The flag and the file name must agree.
    cmd(d, "a.db")
        .args(["export-table", "--format", "xlsx", "--out", "t.csv"])
        .assert()
        .failure()
        .stderr(contains("--format xlsx but --out `t.csv` ends in .csv"));
    // A workbook needs a file.
    cmd(d, "a.db")
        .args(["export-table", "--format", "xlsx"])
        .assert()
        .failure()
        .stderr(contains("--out FILE.xlsx"));
    // Without --format the extension decides, as before.
    cmd(d, "a.db")
        .args(["export-table", "--what", "participants", "--out", "p.xlsx"])
        .assert()
        .success();
    assert!(std::fs::read(d.join("p.xlsx")).unwrap().starts_with(b"PK"));
}

#[test]
fn responses_import_dry_run_stores_nothing_then_the_real_run_does() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    cmd(d, "a.db")
        .arg("import")
        .arg(root().join("examples/rupture-study"))
        .assert()
        .success();
    std::fs::write(
        d.join("more.csv"),
        "participant,orientation,experience_years,S1_Q1,S1_Q3,Comments\nP21,CBT,2,\"New answer, with a comma\",3,ok\n",
    )
    .unwrap();
    cmd(d, "a.db")
        .args(["import-responses", "more.csv", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("Dry run"))
        .stdout(contains("answer S1 × Q1"))
        .stdout(contains("Columns NOT imported: F `Comments`"))
        .stdout(contains("New answer, with a comma"));
    cmd(d, "a.db")
        .args(["participants", "list", "--format", "csv"])
        .assert()
        .success()
        .stdout(predicates::str::contains("P21").not());
    cmd(d, "a.db")
        .args(["import-responses", "more.csv"])
        .assert()
        .success()
        .stdout(contains("1 new participants, 2 answers"));
    cmd(d, "a.db")
        .args(["participants", "list", "--format", "csv"])
        .assert()
        .success()
        .stdout(contains("P21"));
    // The same file again: every answer exists, nothing changes.
    cmd(d, "a.db")
        .args(["import-responses", "more.csv"])
        .assert()
        .failure()
        .stderr(contains(
            "more.csv line 2, column D `S1_Q1`: the study already has response P21/S1/Q1",
        ));
}

#[test]
fn a_transcript_becomes_a_segment_of_the_study() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    cmd(d, "a.db")
        .arg("import")
        .arg(root().join("examples/rupture-study"))
        .assert()
        .success();
    std::fs::write(
        d.join("s7.vtt"),
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v T>Shall we?</v>\n\n00:00:03.500 --> 00:00:05.000\n<v P>No.</v>\n",
    )
    .unwrap();
    cmd(d, "a.db")
        .args([
            "import-segment",
            "s7.vtt",
            "--patient",
            "PT2",
            "--key",
            "S7",
            "--rupture",
            "withdrawal",
            "--media",
            "pt2.mp4",
        ])
        .assert()
        .success()
        .stdout(contains("segment S7 (2 turns; speakers P, T)"));
    cmd(d, "a.db")
        .args(["export-folder", "out"])
        .assert()
        .success();
    let s7 = std::fs::read_to_string(d.join("out/segments/S7.txt")).unwrap();
    assert!(s7.contains("media: pt2.mp4 00:01-00:05"), "{s7}");
    assert!(s7.contains("[00:01-00:03] T: Shall we?"), "{s7}");
    cmd(d, "a.db")
        .args(["import-segment", "s7.vtt", "--patient", "PT9"])
        .assert()
        .failure()
        .stderr(contains("no patient `PT9`"));
    std::fs::write(d.join("x.pdf"), b"%PDF-1.4 broken").unwrap();
    cmd(d, "a.db")
        .args(["import-segment", "x.pdf", "--patient", "PT1"])
        .assert()
        .failure()
        .stderr(contains("x.pdf"))
        .stderr(contains(".docx or .txt"));
    // A PDF with a text layer becomes a segment; a scan is refused clearly.
    std::fs::copy(fixture("transcripts/session9.pdf"), d.join("s9.pdf")).unwrap();
    cmd(d, "a.db")
        .args([
            "import-segment",
            "s9.pdf",
            "--patient",
            "PT1",
            "--key",
            "S9",
        ])
        .assert()
        .success()
        .stdout(contains("segment S9 (4 turns; speakers P, T)"));
    std::fs::copy(fixture("transcripts/scanned.pdf"), d.join("scan.pdf")).unwrap();
    cmd(d, "a.db")
        .args(["import-segment", "scan.pdf", "--patient", "PT1"])
        .assert()
        .failure()
        .stderr(contains("no text layer"));
}

#[test]
fn copy_media_copies_the_recording_beside_the_database() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    cmd(d, "a.db")
        .arg("import")
        .arg(root().join("examples/rupture-study"))
        .assert()
        .success();
    std::fs::write(
        d.join("s7.vtt"),
        "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v T>Shall we?</v>\n",
    )
    .unwrap();
    std::fs::create_dir(d.join("rec")).unwrap();
    std::fs::write(d.join("rec/pt2.mp4"), b"not really a video").unwrap();
    cmd(d, "a.db")
        .args([
            "import-segment",
            "s7.vtt",
            "--patient",
            "PT2",
            "--key",
            "S7",
        ])
        .args(["--media", "rec/pt2.mp4", "--copy-media"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read(d.join("media/pt2.mp4")).unwrap(),
        b"not really a video"
    );
    cmd(d, "a.db")
        .args(["export-folder", "out"])
        .assert()
        .success();
    let s7 = std::fs::read_to_string(d.join("out/segments/S7.txt")).unwrap();
    assert!(s7.contains("media: media/pt2.mp4"), "{s7}");
    // A different file of the same name is not overwritten; nothing is stored.
    std::fs::write(d.join("rec/pt2.mp4"), b"another recording").unwrap();
    cmd(d, "a.db")
        .args([
            "import-segment",
            "s7.vtt",
            "--patient",
            "PT2",
            "--key",
            "S8",
        ])
        .args(["--media", "rec/pt2.mp4", "--copy-media"])
        .assert()
        .failure()
        .stderr(contains("exists and differs"));
    assert_eq!(
        std::fs::read(d.join("media/pt2.mp4")).unwrap(),
        b"not really a video"
    );
    // Links are referenced, never copied; --copy-media needs --media.
    cmd(d, "a.db")
        .args([
            "import-segment",
            "s7.vtt",
            "--patient",
            "PT2",
            "--key",
            "S8",
        ])
        .args(["--media", "https://example.org/v.mp4", "--copy-media"])
        .assert()
        .failure()
        .stderr(contains("is a link"));
    cmd(d, "a.db")
        .args([
            "import-segment",
            "s7.vtt",
            "--patient",
            "PT2",
            "--copy-media",
        ])
        .assert()
        .failure()
        .stderr(contains("--media"));
}
