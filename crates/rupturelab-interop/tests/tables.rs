//! Tidy exports: the numbers in the tables match the study, column names are
//! safe for R and SPSS, and the workbook holds every sheet.

mod common;

use std::io::Cursor;

use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use common::*;
use rupturelab_interop::tables::{build, to_csv, to_xlsx, What};

fn safe(c: &str) -> bool {
    c.len() <= 64
        && c.starts_with(|x: char| x.is_ascii_alphabetic())
        && c.chars().all(|x| x.is_ascii_alphanumeric() || x == '_')
}

#[test]
fn codings_table_has_one_row_per_coding_with_attributes_and_quotes() {
    let study = example_study();
    let sheets = build(&study, What::Codings, None).unwrap();
    let s = &sheets[0];
    assert_eq!(s.rows.len(), study.codings.len());
    for c in [
        "participant",
        "orientation",
        "experience_years_band",
        "segment",
        "question",
        "response_text",
        "code",
        "category",
        "theme",
        "coder",
        "start",
        "end",
        "quote",
    ] {
        assert!(
            s.columns.iter().any(|x| x == c),
            "missing {c}: {:?}",
            s.columns
        );
    }
    let csv = String::from_utf8(to_csv(s)).unwrap();
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let h = rdr.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let first = rdr.records().next().unwrap().unwrap();
    assert_eq!(&first[col("participant")], "P01");
    assert_eq!(&first[col("category")], "Cause");
    assert_eq!(&first[col("theme")], "Cause/Patient");
    assert_eq!(
        &first[col("quote")],
        "the patient's avoidance of the homework"
    );
}

#[test]
fn matrices_count_the_consensus_layer_with_roll_up() {
    let study = example_study();
    let sheets = build(&study, What::Matrix, None).unwrap();
    assert_eq!(sheets.len(), 2);
    let (resp, part) = (&sheets[0], &sheets[1]);
    let open = study
        .responses
        .iter()
        .filter(|r| r.answer.text().is_some())
        .count();
    assert_eq!(resp.rows.len(), open);
    assert_eq!(part.rows.len(), study.participants.len());
    // Participants with Cause/Therapist in the consensus layer, computed directly.
    let mut expected = std::collections::BTreeSet::new();
    for c in &study.codings {
        if c.coder.as_str() == "consensus" && c.code.as_str().starts_with("Cause/Therapist") {
            expected.insert(c.response.participant.to_string());
        }
    }
    let col = part
        .columns
        .iter()
        .position(|c| c == "Cause_Therapist")
        .unwrap();
    let n: i64 = part
        .rows
        .iter()
        .map(|r| match r[col] {
            rupturelab_interop::tables::Cell::Int(i) => i,
            _ => panic!(),
        })
        .sum();
    assert_eq!(n as usize, expected.len());
    assert!(resp.columns.iter().all(|c| safe(c)), "{:?}", resp.columns);
}

#[test]
fn workbook_holds_every_sheet_with_safe_unique_columns() {
    let study = example_study();
    let sheets = build(&study, What::All, None).unwrap();
    let bytes = to_xlsx(&sheets).unwrap();
    let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    assert_eq!(
        wb.sheet_names(),
        [
            "participants",
            "responses",
            "codings",
            "matrix_responses",
            "matrix_participants",
            "codebook",
            "columns"
        ]
    );
    for s in &sheets {
        let range = wb.worksheet_range(&s.name).unwrap();
        assert_eq!(range.height(), s.rows.len() + 1, "{}", s.name);
        let header: Vec<String> = range
            .rows()
            .next()
            .unwrap()
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(header, s.columns);
        let lower: std::collections::HashSet<String> =
            header.iter().map(|h| h.to_lowercase()).collect();
        assert_eq!(lower.len(), header.len(), "{} has duplicate names", s.name);
        assert!(header.iter().all(|c| safe(c)), "{header:?}");
    }
    let range = wb.worksheet_range("participants").unwrap();
    let row1: Vec<&Data> = range.rows().nth(1).unwrap().iter().collect();
    assert_eq!(row1[0], &Data::String("P01".into()));
}
