//! Survey exports and spreadsheets: each preset's shape, encodings, XLSX,
//! mapping files, and errors that name the sheet, row and column.

mod common;

use common::*;
use rupturelab_core::{Answer, AttrValue, Key, ResponseKey};
use rupturelab_interop::responses::{
    import_responses, ColumnUse, Preset, ResponseImportOptions, TextEncoding,
};

/// The example study without participants or answers: a design to fill.
fn design() -> rupturelab_core::StudyData {
    let mut s = example_study();
    s.participants.clear();
    s.responses.clear();
    s.codings.clear();
    s
}

fn opts(preset: Preset) -> ResponseImportOptions {
    ResponseImportOptions {
        preset,
        label: "survey.csv".into(),
        ..Default::default()
    }
}

fn key(p: &str, s: Option<&str>, q: &str) -> ResponseKey {
    ResponseKey {
        participant: Key::parse(p).unwrap(),
        segment: s.map(|s| Key::parse(s).unwrap()),
        question: Key::parse(q).unwrap(),
    }
}

const QUALTRICS: &str = "StartDate,EndDate,Status,IPAddress,Progress,Duration (in seconds),Finished,RecordedDate,ResponseId,code,orientation,experience_years,S1_Q1,S1_Q2,S1_Q3,S2_Q1,Q99
Start Date,End Date,Response Type,IP Address,Progress,Duration (in seconds),Finished,Recorded Date,Response ID,code,Theoretical orientation,Years,What caused it? (S1),How would you resolve it? (S1),Severity (S1),What caused it? (S2),Anything else?
\"{\"\"ImportId\"\":\"\"startDate\"\"}\",\"{\"\"ImportId\"\":\"\"endDate\"\"}\",x,x,x,x,x,x,x,x,x,x,x,x,x,x,x
2026-03-01 10:00:00,2026-03-01 10:30:00,0,1.2.3.4,100,1800,1,2026-03-01 10:30:01,R_abc,T01,CBT,7,\"She avoids the task,
and the therapist pushes.\",Slow down and ask her.,4,He is angry.,no
2026-03-02 09:00:00,2026-03-02 09:20:00,0,1.2.3.5,100,1200,1,2026-03-02 09:20:01,R_def,T02,Schema,15,Withdrawal.,,Very severe,,
";

#[test]
fn qualtrics_three_header_rows_are_read_and_columns_recognised() {
    let imp = import_responses(&design(), QUALTRICS.as_bytes(), &opts(Preset::Qualtrics)).unwrap();
    assert_eq!(imp.rows, 2);
    assert_eq!(imp.new_participants, 2);
    assert_eq!(imp.new_responses, 6);
    let s = &imp.study;
    let r = s.response(&key("T01", Some("S1"), "Q1")).unwrap();
    assert_eq!(
        r.answer,
        Answer::Text("She avoids the task,\nand the therapist pushes.".into())
    );
    assert_eq!(r.created_at.unwrap().to_rfc3339(), "2026-03-01T10:00:00Z");
    // A Likert answer given as its anchor label.
    assert_eq!(
        s.response(&key("T02", Some("S1"), "Q3")).unwrap().answer,
        Answer::Rating(5)
    );
    assert_eq!(
        s.participants[1].attributes["experience_years"],
        AttrValue::Integer(15)
    );
    // Metadata is ignored, the unknown question column is listed as not used.
    let used = |h: &str| imp.columns.iter().find(|c| c.1 == h).unwrap().2.clone();
    assert_eq!(used("code"), ColumnUse::Participant);
    assert_eq!(used("IPAddress"), ColumnUse::Ignored);
    assert_eq!(used("Q99"), ColumnUse::Unmapped);
    assert_eq!(imp.columns.iter().find(|c| c.1 == "Q99").unwrap().0, "Q");
}

#[test]
fn errors_name_the_row_and_column_and_nothing_is_imported() {
    let bad = QUALTRICS
        .replace(",4,He is angry.", ",9,He is angry.")
        .replace(",Schema,", ",Jungian,");
    let e = import_responses(&design(), bad.as_bytes(), &opts(Preset::Qualtrics))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("survey.csv line 4, column O `S1_Q3`: `9` is not a rating from 1 to 5"),
        "{e}"
    );
    assert!(e.contains("line 6, column K `orientation`"), "{e}");
    assert!(e.contains("nothing was imported"), "{e}");
}

#[test]
fn google_forms_grid_headers_in_windows_1254() {
    let mut s = design();
    s.meta.language = rupturelab_core::Language::Tr;
    let csv = "Zaman damgası;Katılımcı kodu;Theoretical orientation;experience_years;What, in your view, caused the rupture in this segment? [S1];What, in your view, caused the rupture in this segment? [S2]\n\
               01.03.2026 10:15:00;K01;CBT;3;Danışan ödevden kaçınıyor, İlişki zayıf;Öfkeli\n";
    let (bytes, _, bad) = encoding_rs::WINDOWS_1254.encode(csv);
    assert!(!bad);
    let mut o = opts(Preset::GoogleForms);
    o.encoding = TextEncoding::Windows1254;
    let imp = import_responses(&s, &bytes, &o).unwrap();
    assert_eq!(imp.new_responses, 2);
    assert_eq!(
        imp.study
            .response(&key("K01", Some("S1"), "Q1"))
            .unwrap()
            .answer,
        Answer::Text("Danışan ödevden kaçınıyor, İlişki zayıf".into())
    );
    // Without --encoding the file is not UTF-8: the message says what to do.
    let e = import_responses(&s, &bytes, &opts(Preset::GoogleForms))
        .unwrap_err()
        .to_string();
    assert!(e.contains("--encoding windows-1254"), "{e}");
}

#[test]
fn excel_unicode_text_is_utf16_tab_separated() {
    let tsv = "participant\torientation\tYears of clinical experience\tS1Q1\tS1Q3\r\nU1\tCBT\t4\t\"two\r\nlines\"\t3\r\n";
    let mut bytes = vec![0xFF, 0xFE];
    for u in tsv.encode_utf16() {
        bytes.extend(u.to_le_bytes());
    }
    let imp = import_responses(&design(), &bytes, &opts(Preset::LimeSurvey)).unwrap();
    assert_eq!(imp.new_responses, 2);
    assert_eq!(
        imp.study
            .response(&key("U1", Some("S1"), "Q1"))
            .unwrap()
            .answer,
        Answer::Text("two\nlines".into())
    );
}

#[test]
fn generic_table_with_a_mapping_file_and_new_typed_attributes() {
    let csv =
        "who,yrs,trained,cause1,cause2,note\nX1,4,yes,Because.,Anger.,hello\nX2,12,no,,Fear.,\n";
    let mapping = r#"
participant = "who"
ignore = ["note"]
[attributes]
experience_years = "yrs"
supervision = { column = "trained", type = "boolean", label = "Had supervision" }
[[responses]]
column = "cause1"
segment = "S1"
question = "Q1"
[[responses]]
column = "cause2"
segment = "S2"
question = "Q1"
"#;
    let mut o = opts(Preset::Generic);
    o.mapping = Some(mapping.into());
    let mut s = design();
    for a in &mut s.attributes {
        a.required = false;
    }
    let imp = import_responses(&s, csv.as_bytes(), &o).unwrap();
    assert_eq!(imp.new_responses, 3);
    let p = &imp.study.participants[0];
    assert_eq!(p.attributes["supervision"], AttrValue::Bool(true));
    assert_eq!(
        imp.study.attribute("supervision").unwrap().label,
        "Had supervision"
    );
    assert!(
        imp.columns.iter().all(|c| c.2 != ColumnUse::Unmapped),
        "{:?}",
        imp.columns
    );
    // A mapping naming a missing column says which and what exists.
    o.mapping = Some("participant = \"whom\"".into());
    o.mapping_label = "mapping.toml".into();
    let e = import_responses(&s, csv.as_bytes(), &o)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("mapping.toml, participant: there is no column `whom`"),
        "{e}"
    );
    assert!(e.contains("did you mean `who`"), "{e}");
    // Required attributes must be present.
    let e = import_responses(
        &design(),
        "participant,S1_Q1\nZ1,x\n".as_bytes(),
        &opts(Preset::Generic),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("required attribute `orientation`"), "{e}");
}

#[test]
fn xlsx_sheets_are_read_with_sheet_names_in_errors() {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Answers").unwrap();
    for (c, h) in [
        "participant",
        "orientation",
        "experience_years",
        "S1_Q1",
        "S1_Q3",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "W1").unwrap();
    ws.write_string(1, 1, "CBT").unwrap();
    ws.write_number(1, 2, 9.0).unwrap();
    ws.write_string(1, 3, "text").unwrap();
    ws.write_number(1, 4, 2.0).unwrap();
    ws.write_string(2, 0, "W2").unwrap();
    ws.write_string(2, 1, "CBT").unwrap();
    ws.write_number(2, 2, 3.0).unwrap();
    ws.write_number(2, 4, 7.0).unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    let mut o = opts(Preset::Generic);
    o.xlsx = true;
    o.label = "survey.xlsx".into();
    let e = import_responses(&design(), &bytes, &o)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("survey.xlsx sheet `Answers`, row 3, column E `S1_Q3`"),
        "{e}"
    );
    o.sheet = Some("Nope".into());
    let e = import_responses(&design(), &bytes, &o)
        .unwrap_err()
        .to_string();
    assert!(e.contains("Answers"), "{e}");
    assert!(import_responses(
        &design(),
        b"PK\x03\x04junk",
        &ResponseImportOptions {
            xlsx: true,
            ..opts(Preset::Generic)
        }
    )
    .is_err());
}
