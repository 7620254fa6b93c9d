//! The `rupturelab` binary driven as a user would: on the example study and
//! on broken copies of it, each error path with the message the user sees.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::{contains, is_match};

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/rupture-study")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A temp dir holding a copy of the example study in `study/`.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&example_dir(), &dir.path().join("study"));
        Fixture { dir }
    }
    fn study(&self) -> PathBuf {
        self.dir.path().join("study")
    }
    fn db(&self) -> PathBuf {
        self.dir.path().join("t.rupturelab")
    }
    fn file(&self, name: &str) -> PathBuf {
        self.study().join(name)
    }
    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.file(name)).unwrap()
    }
    fn write(&self, name: &str, content: impl AsRef<[u8]>) {
        std::fs::write(self.file(name), content).unwrap();
    }
    /// Replaces the first occurrence of `from` in a file (which must contain it).
    fn edit(&self, name: &str, from: &str, to: &str) {
        let s = self.read(name);
        assert!(s.contains(from), "{name} does not contain {from:?}");
        self.write(name, s.replacen(from, to, 1));
    }
    fn cmd(&self) -> Command {
        self.cmd_db(&self.db())
    }
    fn cmd_db(&self, db: &Path) -> Command {
        let mut c = Command::cargo_bin("rupturelab").unwrap();
        c.current_dir(self.dir.path())
            .env_remove("RUPTURELAB_DB")
            .arg("--db")
            .arg(db);
        c
    }
    fn import(&self) -> assert_cmd::assert::Assert {
        self.cmd().arg("import").arg(self.study()).assert()
    }
    /// Imports and expects failure with every message fragment in stderr.
    fn import_fails(&self, fragments: &[&str]) {
        let mut a = self.import().failure();
        for f in fragments {
            a = a.stderr(contains(*f));
        }
    }
}

#[test]
fn demo_prints_the_overview_computed_from_the_database() {
    let f = Fixture::new();
    let out = f
        .cmd()
        .arg("demo")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let s = String::from_utf8(out).unwrap();
    for needle in [
        "Loaded the bundled example study",
        "SYNTHETIC",
        "S2       You just sit there and nod",
        "Participants by Theoretical orientation",
        "Cause of the rupture — consensus layer, N = 20 participants",
        "Recommended resolution — consensus layer",
        "Patient's negative contribution",
        "What next:",
    ] {
        assert!(s.contains(needle), "missing {needle:?} in\n{s}");
    }
    // A second run reuses the database.
    f.cmd()
        .arg("demo")
        .assert()
        .success()
        .stdout(contains("Using the example study already in"));
    // --fresh rebuilds.
    f.cmd()
        .args(["demo", "--fresh"])
        .assert()
        .success()
        .stdout(contains("Loaded the bundled example study"));
}

#[test]
fn demo_theme_counts_match_the_codings_file() {
    // Count participants whose consensus codings include Cause/Patient, straight from codings.csv.
    let f = Fixture::new();
    let mut rdr = csv::Reader::from_path(f.file("codings.csv")).unwrap();
    let mut ps = std::collections::BTreeSet::new();
    let mut responses = std::collections::BTreeSet::new();
    for r in rdr.records() {
        let r = r.unwrap();
        if &r[0] == "consensus" && r[4].starts_with("Cause/Therapist/") {
            ps.insert(r[1].to_string());
            responses.insert((r[1].to_string(), r[2].to_string(), r[3].to_string()));
        }
    }
    let out = f
        .cmd()
        .args(["demo", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let row = v["themes_cause"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "Cause/Therapist")
        .unwrap()
        .clone();
    assert_eq!(row["participants"], ps.len() as i64);
    assert_eq!(row["responses"], responses.len() as i64);
}

#[test]
fn import_export_import_export_gives_identical_folders() {
    let f = Fixture::new();
    f.import()
        .success()
        .stdout(is_match(r"responses\s+360\n").unwrap());
    let out1 = f.dir.path().join("out1");
    f.cmd().arg("export-folder").arg(&out1).assert().success();
    let db2 = f.dir.path().join("t2.rupturelab");
    f.cmd_db(&db2).arg("import").arg(&out1).assert().success();
    let out2 = f.dir.path().join("out2");
    f.cmd_db(&db2)
        .arg("export-folder")
        .arg(&out2)
        .assert()
        .success();
    for name in [
        "study.toml",
        "codebook.toml",
        "participants.csv",
        "responses.csv",
        "codings.csv",
        "segments/S4.txt",
    ] {
        assert_eq!(
            std::fs::read(out1.join(name)).unwrap(),
            std::fs::read(out2.join(name)).unwrap(),
            "{name} differs"
        );
    }
    // The exported codings carry both offsets and quotes.
    let codings = std::fs::read_to_string(out1.join("codings.csv")).unwrap();
    assert!(codings
        .starts_with("coder,participant,segment,question,code,start,end,quote,occurrence,memo\n"));
    // Exporting into a non-empty folder needs --force.
    f.cmd()
        .arg("export-folder")
        .arg(&out1)
        .assert()
        .failure()
        .stderr(contains("--force"));
    f.cmd()
        .arg("export-folder")
        .arg(&out1)
        .arg("--force")
        .assert()
        .success();
}

#[test]
fn importing_the_same_study_twice_is_refused_and_replace_works() {
    let f = Fixture::new();
    f.import().success();
    f.import()
        .failure()
        .stderr(contains("already exists"))
        .stderr(contains("--replace"));
    f.cmd()
        .arg("import")
        .arg(f.study())
        .arg("--replace")
        .assert()
        .success();
    f.cmd()
        .arg("studies")
        .assert()
        .success()
        .stdout(contains("rupture-study"));
}

#[test]
fn misspelt_code_path_names_file_line_and_suggestion() {
    let f = Fixture::new();
    f.edit(
        "codings.csv",
        "Cause/Patient/Resistance",
        "Cause/Patient/Resistence",
    );
    let line = f
        .read("codings.csv")
        .lines()
        .position(|l| l.contains("Resistence"))
        .unwrap()
        + 1;
    f.import_fails(&[
        &format!("codings.csv line {line}, column `code`: code path `Cause/Patient/Resistence` is not in codebook.toml; did you mean `Cause/Patient/Resistance`?"),
        "nothing was imported",
    ]);
    assert!(
        !f.db().exists() || {
            // If the file was created, it holds no study.
            let out = f
                .cmd()
                .arg("studies")
                .assert()
                .success()
                .get_output()
                .stdout
                .clone();
            !String::from_utf8(out).unwrap().contains("rupture-study")
        }
    );
}

#[test]
fn failed_replace_leaves_the_stored_study_unchanged() {
    let f = Fixture::new();
    f.import().success();
    let before = f
        .cmd()
        .args(["responses", "list", "--format", "csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    f.edit("responses.csv", "P01,S1,Q1,", "P99,S1,Q1,");
    f.cmd()
        .arg("import")
        .arg(f.study())
        .arg("--replace")
        .assert()
        .failure()
        .stderr(contains("participant `P99` is not in participants.csv"));
    let after = f
        .cmd()
        .args(["responses", "list", "--format", "csv"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(before, after);
}

#[test]
fn offsets_outside_the_text_are_rejected() {
    let f = Fixture::new();
    let mut s = f.read("codings.csv");
    s.push_str("Ayla,P01,S1,Q1,Cause/Patient/Resistance,,,,\n");
    // switch to explicit offset columns
    s = s.replacen(
        "coder,participant,segment,question,code,quote,occurrence",
        "coder,participant,segment,question,code,quote,occurrence,start,end",
        1,
    );
    let s: String = s
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{l}\n")
            } else {
                format!("{l},,\n")
            }
        })
        .collect();
    let s = s.replace(
        "Ayla,P01,S1,Q1,Cause/Patient/Resistance,,,,,,\n",
        "Ayla,P01,S1,Q1,Cause/Patient/Resistance,,,5000,5010\n",
    );
    f.write("codings.csv", s);
    f.import_fails(&[
        "codings.csv line",
        "column `end`: end 5010 is past the end of the answer",
    ]);
}

#[test]
fn unknown_participant_and_segment_are_named() {
    let f = Fixture::new();
    f.edit("responses.csv", "P02,S1,Q1,", "P02,S9,Q1,");
    f.edit(
        "participants.csv",
        "S1;S2;S6;S3;S5;S4,CBT,3",
        "S1;S2;S6;S3;S5;S7,CBT,3",
    );
    f.import_fails(&[
        "responses.csv line",
        "segment `S9` has no file segments/S9.txt",
        "participants.csv line 2, column `segment_order`: segment `S7` has no file segments/S7.txt",
    ]);
}

#[test]
fn duplicate_keys_are_rejected() {
    let f = Fixture::new();
    let mut s = f.read("participants.csv");
    let first = s.lines().nth(1).unwrap().to_string();
    s.push_str(&first);
    s.push('\n');
    f.write("participants.csv", s);
    f.import_fails(&["participants.csv line 22, column `code`: participant `P01` is listed twice (first on line 2)"]);

    let f = Fixture::new();
    let mut s = f.read("responses.csv");
    s.push_str("P01,S1,Q3,,2\n");
    f.write("responses.csv", s);
    f.import_fails(&["response P01/S1/Q3 appears twice"]);
}

#[test]
fn invalid_utf8_is_located() {
    let f = Fixture::new();
    let mut bytes = std::fs::read(f.file("responses.csv")).unwrap();
    let nl = bytes.iter().position(|b| *b == b'\n').unwrap();
    bytes.insert(nl + 5, 0xFF);
    f.write("responses.csv", bytes);
    f.import_fails(&["responses.csv line 2, byte column 5: the file is not valid UTF-8"]);
}

#[test]
fn bom_and_crlf_files_import_like_plain_ones() {
    let f = Fixture::new();
    for name in [
        "participants.csv",
        "responses.csv",
        "codings.csv",
        "study.toml",
        "segments/S1.txt",
    ] {
        let s = f.read(name).replace('\n', "\r\n");
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend(s.as_bytes());
        f.write(name, bytes);
    }
    f.import()
        .success()
        .stdout(is_match(r"codings\s+1904\n").unwrap());
    // Stored text has LF line ends: one answer in the example has a line break.
    let out = f
        .cmd()
        .args([
            "responses",
            "list",
            "--format",
            "json",
            "--participant",
            "P07",
            "--segment",
            "S4",
            "--question",
            "Q2",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let answer = v["responses"][0]["answer"].as_str().unwrap();
    assert!(!answer.contains('\r'));
}

#[test]
fn quotes_not_found_or_ambiguous_are_explained() {
    let f = Fixture::new();
    f.edit(
        "codings.csv",
        "consensus,P01,S1,Q1,",
        "consensus,P01,S1,Q1,Cause/Patient/Pathology,this text is nowhere,\nconsensus,P01,S1,Q1,",
    );
    let mut s = f.read("codings.csv");
    // "the" appears many times in most answers
    s.push_str("Ayla,P03,S2,Q2,Resolution/Technical/Rationale,the,\n");
    f.write("codings.csv", s);
    f.import_fails(&[
        "the quote \"this text is nowhere\" is not in the answer P01/S1/Q1",
        "column `occurrence`: the quote \"the\" appears",
    ]);
}

#[test]
fn broken_toml_and_missing_files_say_where() {
    let f = Fixture::new();
    f.edit("study.toml", "[settings]", "[settings\n");
    f.import_fails(&["study.toml line"]);

    let f = Fixture::new();
    f.edit(
        "study.toml",
        "presentation_order = \"latin-square\"",
        "presentation_order = \"latin\"",
    );
    f.import_fails(&[
        "study.toml, settings.presentation_order: unknown presentation order `latin`",
    ]);

    let f = Fixture::new();
    std::fs::remove_file(f.file("study.toml")).unwrap();
    f.import_fails(&["study.toml: missing"]);

    let f = Fixture::new();
    f.edit("segments/S3.txt", "patient: PT3", "patient: PT33");
    f.import_fails(&[
        "segments/S3.txt line 2, patient: patient `PT33` is not in study.toml; did you mean `PT3`?",
    ]);

    let f = Fixture::new();
    f.edit(
        "codebook.toml",
        "path = \"Cause/Patient/Resistance\"",
        "path = \"Cause/Patiant/Resistance\"",
    );
    f.import_fails(&[
        "codebook.toml line",
        "the parent `Cause/Patiant` of `Cause/Patiant/Resistance` must be listed before it",
    ]);

    let f = Fixture::new();
    f.edit(
        "responses.csv",
        "participant,segment,question,text,value",
        "participant,segment,question,txt,value",
    );
    f.import_fails(&["responses.csv line 1, column `txt`: unknown column; did you mean `text`?"]);

    let f = Fixture::new();
    let s: String = f
        .read("responses.csv")
        .lines()
        .map(|l| {
            if l.starts_with("P01,S1,Q3,,") {
                "P01,S1,Q3,,7\n".to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    f.write("responses.csv", s);
    f.import_fails(&["`7` is not a whole number from 1 to 5"]);
}

#[test]
fn turkish_example_imports_with_unicode_offsets() {
    let f = Fixture::new();
    let tr = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ornek-calisma-tr");
    f.cmd().arg("import").arg(&tr).assert().success();
    let out = f.dir.path().join("tr-out");
    f.cmd().arg("export-folder").arg(&out).assert().success();
    let codings = std::fs::read_to_string(out.join("codings.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(codings.as_bytes());
    let responses = std::fs::read_to_string(out.join("responses.csv")).unwrap();
    let answers: Vec<csv::StringRecord> = csv::Reader::from_reader(responses.as_bytes())
        .records()
        .map(|r| r.unwrap())
        .collect();
    let mut checked = 0;
    for r in rdr.records() {
        let r = r.unwrap();
        if r[5].is_empty() {
            continue;
        }
        let (start, end): (usize, usize) = (r[5].parse().unwrap(), r[6].parse().unwrap());
        let answer = answers
            .iter()
            .find(|a| a[0] == r[1] && a[1] == r[2] && a[2] == r[3])
            .unwrap();
        let slice: String = answer[3].chars().skip(start).take(end - start).collect();
        assert_eq!(slice, &r[7], "offsets are code points");
        checked += 1;
    }
    assert!(checked > 5);
    // The export marks the quote that occurs twice with its occurrence.
    assert!(
        codings.lines().any(|l| l.contains("danışan susuyor,2")),
        "{codings}"
    );
}

#[test]
fn listings_filter_and_format() {
    let f = Fixture::new();
    f.import().success();
    let out = f
        .cmd()
        .args([
            "responses",
            "list",
            "--segment",
            "S2",
            "--question",
            "Q1",
            "--where",
            "orientation=CBT",
            "--format",
            "csv",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let s = String::from_utf8(out).unwrap();
    assert_eq!(s.lines().count(), 1 + 6, "{s}");
    assert!(s.lines().skip(1).all(|l| l.contains(",S2,Q1,")));
    let out = f
        .cmd()
        .args([
            "responses",
            "list",
            "--where",
            "experience_years=20+",
            "--question",
            "Q3",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["responses"].as_array().unwrap().len(), 4 * 6);
    f.cmd()
        .args(["responses", "list", "--where", "orientaton=CBT"])
        .assert()
        .failure()
        .stderr(contains("there is no attribute `orientaton`"));
    f.cmd()
        .args(["responses", "list", "--segment", "S9"])
        .assert()
        .failure()
        .stderr(contains("there is no segment `S9`"));
    f.cmd()
        .args(["participants", "list"])
        .assert()
        .success()
        .stdout(contains("P20").and(contains("Systemic")));
    f.cmd()
        .args(["codebook", "show"])
        .assert()
        .success()
        .stdout(contains("Cause/Relationship/Enactment"));
    f.cmd()
        .args(["summary", "--layer", "Nobody"])
        .assert()
        .failure()
        .stderr(contains("no coding layer `Nobody`"));
    f.cmd()
        .args(["summary", "--layer", "Ayla"])
        .assert()
        .success()
        .stdout(contains("Ayla layer"));
}

#[test]
fn init_writes_a_folder_that_imports_and_a_study_in_a_database() {
    let f = Fixture::new();
    let dir = f.dir.path().join("new-study");
    f.cmd()
        .args(["init", "--codebook", "3rs", "--folder"])
        .arg(&dir)
        .assert()
        .success();
    f.cmd().arg("import").arg(&dir).assert().success();
    f.cmd()
        .args(["codebook", "show"])
        .assert()
        .success()
        .stdout(contains("Withdrawal/MinimalResponse"));
    let db2 = f.dir.path().join("n.rupturelab");
    f.cmd_db(&db2)
        .args(["init", "--title", "Pilot", "--key", "pilot"])
        .assert()
        .success();
    f.cmd_db(&db2)
        .args(["summary"])
        .assert()
        .success()
        .stdout(contains("Pilot (pilot)"));
}

#[test]
fn missing_database_is_explained() {
    let f = Fixture::new();
    f.cmd()
        .arg("summary")
        .assert()
        .failure()
        .stderr(contains("there is no study database"));
}

#[test]
fn agreement_on_the_example_names_its_unit_and_gives_kappa_and_alpha_per_code() {
    let f = Fixture::new();
    f.import().success();
    let out = f
        .cmd()
        .args(["agreement", "--format", "json", "--bootstrap", "200"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(v["unit"]
        .as_str()
        .unwrap()
        .starts_with("response × code presence"));
    assert_eq!(v["coders"], "Ayla, Burak");
    let codes = v["codes"].as_array().unwrap();
    let patient = codes.iter().find(|r| r["path"] == "Cause/Patient").unwrap();
    let kappa = patient["Cohen κ"].as_f64().unwrap();
    let alpha = patient["α"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&kappa) && (0.0..=1.0).contains(&alpha));
    // Two coders, no missing values: α = 1 − (1 − π)(2N − 1)/(2N) is close to κ, and α ≤ κ here.
    assert!((kappa - alpha).abs() < 0.01, "{kappa} {alpha}");
    // The synthetic example is shaped like a real study: every sub-code's agreement
    // lies between about .55 and .90.
    for row in codes
        .iter()
        .filter(|r| r["path"].as_str().unwrap().matches('/').count() == 2)
    {
        for coefficient in ["Cohen κ", "α"] {
            let x = row[coefficient].as_f64().unwrap();
            assert!(
                (0.55..=0.90).contains(&x),
                "{coefficient} {x} of {}",
                row["path"]
            );
        }
    }
    assert!(v["overall"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["codes"] == "all codes"));
    assert!(v["pairwise"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["with"] == "consensus"));
    // Same seed, same output: the bootstrap is reproducible.
    let again = f
        .cmd()
        .args(["agreement", "--format", "json", "--bootstrap", "200"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(out, again);
    f.cmd()
        .args(["agreement", "--coders", "Ayla"])
        .assert()
        .failure()
        .stderr(contains("at least two coders"));
    f.cmd()
        .args(["agreement", "--question", "Q9"])
        .assert()
        .failure()
        .stderr(contains("no question `Q9`"));
}

#[test]
fn agreement_on_a_matrix_file_matches_krippendorff_2011() {
    let f = Fixture::new();
    // Krippendorff (2011), nominal data, 4 observers × 12 units; α = 113/152.
    let csv = "coder,1,2,3,4,5,6,7,8,9,10,11,12\nA,1,2,3,3,2,1,4,1,2,,,\nB,1,2,3,3,2,2,4,1,2,5,,3\nC,,3,3,3,2,3,4,2,2,5,1,\nD,1,2,3,3,2,4,4,1,2,5,1,\n";
    let path = f.dir.path().join("m.csv");
    std::fs::write(&path, csv).unwrap();
    let out = f
        .cmd()
        .args(["agreement", "--format", "json", "--matrix"])
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(
        (v["alpha"].as_f64().unwrap() - 113.0 / 152.0).abs() < 1e-12,
        "{v}"
    );
    let out = f
        .cmd()
        .args([
            "agreement",
            "--format",
            "json",
            "--level",
            "interval",
            "--matrix",
        ])
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!((v["alpha"].as_f64().unwrap() - 0.849).abs() < 0.0005, "{v}");
    std::fs::write(&path, "coder,1,2\nA,1,1\nB,1,1\n").unwrap();
    f.cmd()
        .args(["agreement", "--matrix"])
        .arg(&path)
        .assert()
        .success()
        .stdout(contains("undefined"));
}

#[test]
fn crosstab_by_orientation_tests_each_theme_at_participant_level() {
    let f = Fixture::new();
    f.import().success();
    let out = f
        .cmd()
        .args([
            "crosstab",
            "--by",
            "orientation",
            "--code",
            "Cause",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["unit"], "participant");
    let rows = v["crosstab"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "the three cause themes");
    let rel = rows
        .iter()
        .find(|r| r["code"] == "Cause/Relationship")
        .unwrap();
    let p = rel["exact p"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p));
    assert_eq!(rel["exact"], "exact");
    // Participant level: the totals never exceed the 20 participants.
    assert!(rows.iter().all(|r| r["total"]
        .as_str()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse::<u32>()
        .unwrap()
        <= 20));
    // Banding a numeric attribute by the study's bands, and by given cut points.
    f.cmd()
        .args(["crosstab", "--by", "experience_years"])
        .assert()
        .success()
        .stdout(contains("20+ (n=4)"));
    f.cmd()
        .args(["crosstab", "--by", "experience_years", "--cuts", "10"])
        .assert()
        .success()
        .stdout(contains("10+ (n=11)"));
    f.cmd()
        .args(["crosstab", "--by", "segment"])
        .assert()
        .success()
        .stdout(contains("Cochran's Q"));
    f.cmd()
        .args(["crosstab", "--by", "orientaton"])
        .assert()
        .failure()
        .stderr(contains("orientation"));
}

#[test]
fn themes_and_cooccurrence_report_from_the_consensus_layer() {
    let f = Fixture::new();
    f.import().success();
    let out = f
        .cmd()
        .args(["themes", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["n"], 20);
    let rel = v["themes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "Cause/Relationship")
        .unwrap()
        .clone();
    assert_eq!(rel["CQR"], "variant");
    assert_eq!(v["profile"].as_array().unwrap().len(), 6);
    let out = f
        .cmd()
        .args(["cooccurrence", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let pairs = v["pairs"].as_array().unwrap();
    assert!(!pairs.is_empty());
    for p in pairs {
        let (both, either) = (p["both"].as_f64().unwrap(), p["either"].as_f64().unwrap());
        assert!((p["Jaccard"].as_f64().unwrap() - both / either).abs() < 1e-9);
    }
    f.cmd()
        .args(["themes", "--layer", "Nobody"])
        .assert()
        .failure()
        .stderr(contains("no coding layer `Nobody`"));
}

#[test]
fn suggest_evaluates_with_grouped_folds_and_suggests_codes() {
    let f = Fixture::new();
    f.import().success();
    let out = f
        .cmd()
        .args(["suggest", "--evaluate", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(v["folds"].as_str().unwrap().contains("participant-grouped"));
    let codes = v["codes"].as_array().unwrap();
    let therapist = codes
        .iter()
        .find(|c| c["code"] == "Cause/Therapist")
        .unwrap();
    let (p, r, f1) = (
        therapist["precision"].as_f64().unwrap(),
        therapist["recall"].as_f64().unwrap(),
        therapist["F1"].as_f64().unwrap(),
    );
    assert!((f1 - 2.0 * p * r / (p + r)).abs() < 1e-9);
    assert!(codes.iter().any(|c| c["note"]
        .as_str()
        .is_some_and(|n| n.contains("too few examples"))));
    // Deterministic for a seed.
    let again = f
        .cmd()
        .args(["suggest", "--evaluate", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(out, again);
    f.cmd()
        .args([
            "suggest",
            "--text",
            "The therapist pushed her own agenda and missed how ashamed the patient was",
            "--question",
            "Q1",
        ])
        .assert()
        .success()
        .stdout(contains("Cause/Therapist"));
    f.cmd()
        .args(["suggest"])
        .assert()
        .failure()
        .stderr(contains("--evaluate"));
}

fn json_of(a: assert_cmd::assert::Assert) -> serde_json::Value {
    serde_json::from_slice(&a.success().get_output().stdout).unwrap()
}

fn stdout_of(a: assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.success().get_output().stdout.clone()).unwrap()
}

/// The row of a `coefficients` table by name.
fn coefficient<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["coefficients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["coefficient"] == name)
        .unwrap_or_else(|| panic!("no {name} in {v}"))
}

#[test]
fn agreement_on_a_matrix_reports_every_coefficient_with_its_error() {
    let f = Fixture::new();
    // Krippendorff (2011) / irrCAC raw4raters: 4 coders with missing ratings.
    let path = f.dir.path().join("m.csv");
    std::fs::write(&path, "coder,1,2,3,4,5,6,7,8,9,10,11,12\nA,1,2,3,3,2,1,4,1,2,,,\nB,1,2,3,3,2,2,4,1,2,5,,3\nC,,3,3,3,2,3,4,2,2,5,1,\nD,1,2,3,3,2,4,4,1,2,5,1,\n").unwrap();
    let v = json_of(
        f.cmd()
            .args([
                "agreement",
                "--format",
                "json",
                "--bootstrap",
                "200",
                "--matrix",
            ])
            .arg(&path)
            .assert(),
    );
    // Gwet's AC1 for many raters with missing data and its variance (irrCAC: 0.77544, se 0.14295).
    let ac1 = coefficient(&v, "Gwet's AC1");
    assert!(
        (ac1["value"].as_f64().unwrap() - 0.77544).abs() < 6e-6,
        "{ac1}"
    );
    assert!(
        (ac1["SE"].as_f64().unwrap() - 0.14295).abs() < 6e-6,
        "{ac1}"
    );
    assert_eq!(ac1["95% CI"], "[0.461, 1.000]");
    // Fleiss' κ refuses unequal numbers of ratings and points to α.
    let fleiss = coefficient(&v, "Fleiss' κ");
    assert!(fleiss["value"].is_null());
    assert!(fleiss["note"]
        .as_str()
        .unwrap()
        .contains("use Krippendorff's α"));
    // More than two coders: every pair's κ.
    assert_eq!(v["pairwise"].as_array().unwrap().len(), 6);
    assert!(v["pairwise"][0]["κ"].as_f64().is_some());
    assert_eq!(v["seed"], 20070101);
    assert_eq!(v["bootstrap_replicates"], 200);
    let table = stdout_of(
        f.cmd()
            .args(["agreement", "--bootstrap", "200", "--matrix"])
            .arg(&path)
            .assert(),
    );
    assert!(
        table.contains("(unit bootstrap, 200 replicates, seed 20070101)"),
        "{table}"
    );
    assert!(!table.contains("bootstrap bootstrap"), "{table}");
    assert!(table.contains("P(α < 0.8)"), "{table}");

    // Equal numbers of ratings: Fleiss' κ with the Fleiss–Nee–Landis SE and z.
    std::fs::write(
        &path,
        "coder,1,2,3,4,5,6\nA,a,b,a,a,b,c\nB,a,b,b,a,b,c\nC,a,b,b,a,c,c\n",
    )
    .unwrap();
    let v = json_of(
        f.cmd()
            .args(["agreement", "--format", "json", "--matrix"])
            .arg(&path)
            .assert(),
    );
    let fleiss = coefficient(&v, "Fleiss' κ");
    let (k, se, z) = (
        fleiss["value"].as_f64().unwrap(),
        fleiss["SE"].as_f64().unwrap(),
        fleiss["z"].as_f64().unwrap(),
    );
    assert!(se > 0.0 && (k / se - z).abs() < 1e-9, "{fleiss}");
    assert!(fleiss["p"].as_f64().unwrap() < 0.05);

    // Two coders: Cohen's κ (ASE, Wald CI, z), Scott's π, Brennan–Prediger, AC1, percent agreement.
    std::fs::write(&path, "coder,1,2,3,4,5,6\nA,a,b,a,a,b,c\nB,a,b,b,a,b,c\n").unwrap();
    let v = json_of(
        f.cmd()
            .args(["agreement", "--format", "json", "--matrix"])
            .arg(&path)
            .assert(),
    );
    let cohen = coefficient(&v, "Cohen's κ");
    let (k, ase) = (
        cohen["value"].as_f64().unwrap(),
        cohen["SE"].as_f64().unwrap(),
    );
    // p_o = 5/6, p_e = (3·2 + 2·3 + 1·1)/36 = 13/36.
    assert!((k - (5.0 / 6.0 - 13.0 / 36.0) / (1.0 - 13.0 / 36.0)).abs() < 1e-12);
    assert_eq!(
        cohen["95% CI"],
        format!("[{:.3}, {:.3}]", k - 1.959964 * ase, k + 1.959964 * ase)
    );
    assert!(cohen["z"].as_f64().unwrap() > 0.0);
    for name in [
        "Scott's π",
        "Brennan–Prediger",
        "Gwet's AC1",
        "Percent agreement",
    ] {
        let row = coefficient(&v, name);
        assert!(
            row["value"].as_f64().is_some() && row["SE"].as_f64().is_some(),
            "{row}"
        );
    }
    // Brennan–Prediger: (p_o − 1/3)/(1 − 1/3).
    assert!(
        (coefficient(&v, "Brennan–Prediger")["value"]
            .as_f64()
            .unwrap()
            - 0.75)
            .abs()
            < 1e-12
    );
    assert!(
        v.get("pairwise").is_none(),
        "no pairwise table for two coders"
    );

    // CSV carries the same content: facts as `# key: value`, then the titled table.
    let csv = stdout_of(
        f.cmd()
            .args(["agreement", "--format", "csv", "--matrix"])
            .arg(&path)
            .assert(),
    );
    assert!(csv.starts_with("# unit: the units of "), "{csv}");
    assert!(csv.contains("# coders: A, B\n"), "{csv}");
    assert!(csv.contains("# alpha: "), "{csv}");
    assert!(csv.contains("# seed: 20070101\n"), "{csv}");
    assert!(csv.contains("# Chance-corrected coefficients"), "{csv}");
    assert!(csv.contains("\nCohen's κ,6,0.739,"), "{csv}");

    // Ordered values, two coders: linear and quadratic weighted κ (numpy: 22/29 and 48/55).
    std::fs::write(
        &path,
        "coder,1,2,3,4,5,6,7\nA,1,2,3,3,2,1,4\nB,1,2,3,4,2,2,4\n",
    )
    .unwrap();
    let v = json_of(
        f.cmd()
            .args([
                "agreement",
                "--format",
                "json",
                "--level",
                "ordinal",
                "--matrix",
            ])
            .arg(&path)
            .assert(),
    );
    let lin = coefficient(&v, "Cohen's κ, linear weights");
    assert!(
        (lin["value"].as_f64().unwrap() - 22.0 / 29.0).abs() < 1e-12,
        "{lin}"
    );
    assert!(lin["SE"].as_f64().unwrap() > 0.0);
    let quad = coefficient(&v, "Cohen's κ, quadratic weights");
    assert!(
        (quad["value"].as_f64().unwrap() - 48.0 / 55.0).abs() < 1e-12,
        "{quad}"
    );
}

#[test]
fn agreement_pair_bootstrap_is_named_seeded_and_gives_both_alpha_minima() {
    let f = Fixture::new();
    f.import().success();
    let run = |extra: &[&str]| {
        json_of(
            f.cmd()
                .args([
                    "agreement",
                    "--format",
                    "json",
                    "--bootstrap",
                    "200",
                    "--seed",
                    "7",
                ])
                .args(extra)
                .assert(),
        )
    };
    let pairs = run(&["--pair-bootstrap"]);
    assert_eq!(pairs["bootstrap"], "Krippendorff pair bootstrap");
    assert_eq!(pairs["seed"], 7);
    assert_eq!(pairs["bootstrap_replicates"], 200);
    assert_eq!(pairs, run(&["--pair-bootstrap"]), "same seed, same result");
    let units = run(&[]);
    assert_eq!(units["bootstrap"], "unit bootstrap");
    let row = |v: &serde_json::Value| {
        v["codes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["path"] == "Cause/Patient/Resistance")
            .unwrap()
            .clone()
    };
    let (p, u) = (row(&pairs), row(&units));
    assert_ne!(p["α 95% CI"], u["α 95% CI"], "the two bootstraps differ");
    for r in [&p, &u] {
        let p667 = r["P(α<.667)"].as_f64().unwrap();
        let p800 = r["P(α<.800)"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p667) && p667 <= p800, "{r}");
    }
}

#[test]
fn csv_output_of_every_command_carries_its_content() {
    let f = Fixture::new();
    f.import().success();
    // Study agreement: unit of analysis and coders before the titled tables.
    let csv = stdout_of(
        f.cmd()
            .args(["agreement", "--format", "csv", "--bootstrap", "50"])
            .assert(),
    );
    assert!(csv.starts_with("# unit: response × code presence"), "{csv}");
    assert!(csv.contains("# coders: Ayla, Burak\n"));
    assert!(csv.contains("# Agreement per code (2 coders)\ncode,path,"));
    assert!(csv.contains("# Overall: response × set of codes"));
    assert!(!csv.contains("# codes\n"), "table titles, not ids");
    // Themes: the layer is stated.
    let csv = stdout_of(f.cmd().args(["themes", "--format", "csv"]).assert());
    assert!(csv.contains("# layer: consensus"), "{csv}");
    // init and export-folder print what they did as key,value rows.
    let db2 = f.dir.path().join("n.rupturelab");
    let csv = stdout_of(
        f.cmd_db(&db2)
            .args([
                "--format", "csv", "init", "--title", "Pilot", "--key", "pilot",
            ])
            .assert(),
    );
    assert!(csv.starts_with("key,value\n"), "{csv}");
    assert!(csv.contains("study,Pilot (pilot)\n"), "{csv}");
    let out = f.dir.path().join("exported");
    let csv = stdout_of(
        f.cmd()
            .args(["--format", "csv", "export-folder"])
            .arg(&out)
            .assert(),
    );
    assert!(csv.starts_with("key,value\nexported,"), "{csv}");
}

#[test]
fn the_database_can_be_named_by_the_environment() {
    let f = Fixture::new();
    f.import().success();
    // No --db: RUPTURELAB_DB names the database.
    Command::cargo_bin("rupturelab")
        .unwrap()
        .current_dir(f.dir.path())
        .env("RUPTURELAB_DB", f.db())
        .args(["summary"])
        .assert()
        .success()
        .stdout(contains("Responses: 360"));
    // A missing file named there is explained like a missing --db.
    Command::cargo_bin("rupturelab")
        .unwrap()
        .current_dir(f.dir.path())
        .env("RUPTURELAB_DB", f.dir.path().join("nope.rupturelab"))
        .args(["summary"])
        .assert()
        .failure()
        .stderr(contains("there is no study database"));
}

#[test]
fn crosstab_of_responses_by_an_attribute_tests_between_groups_with_a_caution() {
    let f = Fixture::new();
    f.import().success();
    let v = json_of(
        f.cmd()
            .args([
                "crosstab",
                "--unit",
                "response",
                "--by",
                "orientation",
                "--format",
                "json",
            ])
            .assert(),
    );
    assert_eq!(v["unit"], "response");
    assert!(v["caution"].as_str().unwrap().contains("not independent"));
    let rows = v["crosstab"].as_array().unwrap();
    let rel = rows
        .iter()
        .find(|r| r["code"] == "Cause/Relationship")
        .unwrap();
    assert!(rel["χ²"].as_f64().unwrap() > 0.0, "{rel}");
    assert!(rel["Cramér's V"].as_f64().is_some(), "{rel}");
    assert_eq!(rel["exact"], "exact");
    assert!(rel.get("Cochran's Q").is_none());
    // By patient (participant level) stays within-participant, and names patients by key.
    let out = stdout_of(f.cmd().args(["crosstab", "--by", "patient"]).assert());
    assert!(
        out.contains("Cochran's Q") && out.contains("PT1 (n=20)"),
        "{out}"
    );
}

#[test]
fn crosstab_monte_carlo_reports_seed_and_draws_in_every_format() {
    let f = Fixture::new();
    f.import().success();
    let args = [
        "crosstab",
        "--by",
        "orientation",
        "--code",
        "Cause",
        "--monte-carlo",
        "--draws",
        "999",
        "--seed",
        "42",
    ];
    let v = json_of(f.cmd().args(args).args(["--format", "json"]).assert());
    assert_eq!(v["monte_carlo_draws"], 999);
    assert_eq!(v["monte_carlo_seed"], 42);
    let rel = v["crosstab"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "Cause/Relationship")
        .unwrap();
    assert_eq!(rel["exact"], "Monte-Carlo (999 draws, seed 42)");
    // p = (hits + 1)/(draws + 1): a multiple of 1/1000.
    let p = rel["exact p"].as_f64().unwrap();
    assert!(((p * 1000.0) - (p * 1000.0).round()).abs() < 1e-9, "{p}");
    let csv = stdout_of(f.cmd().args(args).args(["--format", "csv"]).assert());
    assert!(csv.contains("# monte_carlo_draws: 999\n"), "{csv}");
    assert!(csv.contains("# monte_carlo_seed: 42\n"), "{csv}");
    assert!(csv.contains("Monte-Carlo (999 draws, seed 42)"), "{csv}");
    // Reproducible: the same seed gives the same estimate.
    assert_eq!(
        v,
        json_of(f.cmd().args(args).args(["--format", "json"]).assert())
    );
}
