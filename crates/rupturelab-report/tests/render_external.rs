//! The example report through real programs: the .docx converted to PDF by
//! LibreOffice (its tables' text must survive, read back with pdftotext), and
//! the HTML rendered by headless Chromium to a PNG kept as an artifact
//! (`target/tmp/report-artifacts/example-report.png`) for a person to look at.
//!
//! `scripts/test` installs `libreoffice-writer-nogui`, `poppler-utils` and
//! `chromium`, so these tests never skip.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use rupturelab_core::folder::{is_study_file, parse_folder, FolderFiles};
use rupturelab_core::StudyData;
use rupturelab_report::{docx, html, layout, Report, ReportOptions};

fn example() -> StudyData {
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
    parse_folder(&files).unwrap()
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("{what} could not start ({e}); run scripts/test, which installs it")
    });
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn libreoffice_converts_the_docx_and_every_table_is_in_the_pdf() {
    let study = example();
    let mut o = ReportOptions::new(&study, "2026-05-01");
    o.by = vec!["orientation".into(), "experience_years".into()];
    let r = Report::build(&study, o).unwrap();
    let doc = layout::document(&r).unwrap();
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("example-report.docx");
    std::fs::write(&file, docx::render(&doc, "2026-05-01").unwrap()).unwrap();
    let profile = format!("file://{}", work.path().join("lo-profile").display());
    run(
        Command::new("libreoffice")
            .arg(format!("-env:UserInstallation={profile}"))
            .args(["--headless", "--convert-to", "pdf", "--outdir"])
            .arg(work.path())
            .arg(&file),
        "libreoffice",
    );
    let pdf = work.path().join("example-report.pdf");
    assert!(pdf.exists(), "LibreOffice wrote no PDF");
    std::fs::copy(&pdf, artifacts().join("example-report.pdf")).unwrap();
    let txt = work.path().join("example-report.txt");
    run(Command::new("pdftotext").arg(&pdf).arg(&txt), "pdftotext");
    let text = std::fs::read_to_string(&txt).unwrap();
    // A table's cells wrap and interleave in the PDF's reading order, so each
    // cell is checked word by word; titles must be there whole.
    // A line may break after a hyphen: pdftotext then keeps `in-` + `session`
    // apart, or joins them as `selfdisclosure`. Both count.
    let squeezed: String = text.split_whitespace().collect();
    let raw: HashSet<&str> = text.split_whitespace().collect();
    let split_text = text.replace('-', " ");
    let parts: HashSet<&str> = split_text.split_whitespace().collect();
    let present = |w: &str| {
        raw.contains(w)
            || raw.contains(w.replace('-', "").as_str())
            || w.split('-')
                .filter(|p| !p.is_empty())
                .all(|p| parts.contains(p))
    };
    for t in doc.tables() {
        let title: String = t.title.split_whitespace().collect();
        assert!(squeezed.contains(&title), "title of table {} missing", t.id);
        let cells = t.header.iter().map(String::as_str).chain(
            t.rows
                .iter()
                .flat_map(|r| r.cells.iter().map(|c| c.text.as_str())),
        );
        for cell in cells {
            for w in cell.split_whitespace() {
                assert!(
                    present(w),
                    "table {}: `{w}` (of `{cell}`) not in the PDF",
                    t.id
                );
            }
        }
    }
}

#[test]
fn chromium_renders_the_html_report_to_a_screenshot() {
    let study = example();
    let mut o = ReportOptions::new(&study, "2026-05-01");
    o.by = vec!["orientation".into(), "experience_years".into()];
    let r = Report::build(&study, o).unwrap();
    let doc = layout::document(&r).unwrap();
    let dir = artifacts();
    let page = dir.join("example-report.html");
    std::fs::write(&page, html::render(&doc)).unwrap();
    let shot = dir.join("example-report.png");
    let _ = std::fs::remove_file(&shot);
    let profile = tempfile::tempdir().unwrap();
    run(
        Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("--screenshot={}", shot.display()))
            .arg("--window-size=1200,4000")
            .arg(format!("file://{}", page.display())),
        "chromium",
    );
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1200, 4000));
    // A blank page compresses to a few kB; the report is text, tables and charts.
    assert!(
        png.len() > 100_000,
        "the screenshot looks empty ({} bytes)",
        png.len()
    );
}
