//! `rupturelab report` driven as a user would, on the example study in a database.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::str::contains;

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/rupture-study")
}

fn rupturelab() -> Command {
    Command::cargo_bin("rupturelab").unwrap()
}

/// A temp dir with the example study imported into `t.rupturelab`.
fn imported() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.rupturelab");
    rupturelab()
        .arg("import")
        .arg(example_dir())
        .arg("--db")
        .arg(&db)
        .assert()
        .success();
    (dir, db)
}

fn report(db: &Path, out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    rupturelab()
        .arg("report")
        .arg("--db")
        .arg(db)
        .arg("--out")
        .arg(out)
        .args(["--date", "2026-05-01"])
        .args(extra)
        .assert()
}

#[test]
fn report_writes_each_format_byte_identically_twice() {
    let (dir, db) = imported();
    for d in ["a", "b"] {
        std::fs::create_dir(dir.path().join(d)).unwrap();
    }
    for (name, format) in [("r.html", "html"), ("r.md", "md"), ("r.docx", "docx")] {
        let a = dir.path().join("a").join(name);
        let b = dir.path().join("b").join(name);
        report(&db, &a, &["--format", format])
            .success()
            .stdout(contains("Written:"));
        report(&db, &b, &["--format", format]).success();
        let (x, y) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        assert!(!x.is_empty());
        assert!(x == y, "{format} differs between two runs");
    }
    // The Markdown report's charts are SVG files beside it.
    let figures = dir.path().join("a/r_figures");
    assert!(figures.join("fig-cooccurrence.svg").exists());
    let md = std::fs::read_to_string(dir.path().join("a/r.md")).unwrap();
    assert!(md.contains("](r_figures/fig-cooccurrence.svg)"));
    // No temporary file is left behind.
    assert!(std::fs::read_dir(dir.path()).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".part")));
}

#[test]
fn report_format_comes_from_the_extension_and_options_are_applied() {
    let (dir, db) = imported();
    let out = dir.path().join("rapor.html");
    report(
        &db,
        &out,
        &[
            "--lang",
            "tr",
            "--by",
            "orientation,experience_years",
            "--transcripts",
            "--pin",
            "Cause/Patient=P03/S2/Q1",
            "--exclude",
            "P05/S1/Q1",
        ],
    )
    .success()
    .stdout(contains("Format: html"));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("<html lang=\"tr\">"));
    assert!(html.contains("Yöntem"));
    assert!(html.contains("id=\"crosstab-experience-years\""));
    assert!(html.contains("id=\"transcript-s1\""));
    assert!(html.contains("(P03, "), "the pinned quote is shown");
    assert!(!html.contains("(P05, CBT)</p></td></tr>\n<tr class=\"sub\"><td>Resistance"));
}

#[test]
fn report_reads_pins_from_a_quotes_file() {
    let (dir, db) = imported();
    let quotes = dir.path().join("quotes.toml");
    std::fs::write(
        &quotes,
        "[[pin]]\ntheme = \"Resolution/Relational\"\nresponse = \"P20/S6/Q2\"\n",
    )
    .unwrap();
    let out = dir.path().join("r.md");
    report(&db, &out, &["--quotes", quotes.to_str().unwrap()]).success();
    let md = std::fs::read_to_string(&out).unwrap();
    assert!(md.contains("(P20, "));

    std::fs::write(&quotes, "[[pin]]\nresponse = 3\n").unwrap();
    report(&db, &out, &["--quotes", quotes.to_str().unwrap()])
        .failure()
        .stderr(contains("quotes.toml"));
}

#[test]
fn report_explains_bad_options() {
    let (dir, db) = imported();
    report(&db, &dir.path().join("r.txt"), &[])
        .failure()
        .stderr(contains("give --format html|md|docx"));
    rupturelab()
        .args(["report", "--db"])
        .arg(&db)
        .arg("--out")
        .arg(dir.path().join("r.html"))
        .args(["--date", "1 May"])
        .assert()
        .failure()
        .stderr(contains("write YYYY-MM-DD"));
    report(&db, &dir.path().join("r.html"), &["--layer", "Nobody"])
        .failure()
        .stderr(contains("layers with codings: Ayla, Burak, consensus"));
    report(&db, &dir.path().join("r.html"), &["--by", "orientaton"])
        .failure()
        .stderr(contains("did you mean `orientation`"));
    report(&db, &dir.path().join("r.html"), &["--pin", "P03/S2"])
        .failure()
        .stderr(contains("THEME=PARTICIPANT/SEGMENT/QUESTION"));
    report(&db, &dir.path().join("missing/r.html"), &[])
        .failure()
        .stderr(contains("does not exist"));
    assert!(!dir.path().join("r.html").exists());
}
