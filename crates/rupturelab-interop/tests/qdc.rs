//! REFI-QDA codebooks: schema-valid exports that read back exactly, and the
//! codebooks other programs write.

mod common;

use common::*;
use rupturelab_interop::qdc::{export_qdc, import_qdc, replace_codebook, CodebookOptions};

fn opts() -> CodebookOptions {
    CodebookOptions {
        label: "book.qdc".into(),
        ..Default::default()
    }
}

#[test]
fn example_codebook_validates_and_round_trips_exactly() {
    let study = example_study();
    let qdc = export_qdc(&study);
    assert_valid(&qdc, "Codebook.xsd");
    let back = import_qdc(qdc.as_bytes(), &opts()).unwrap();
    assert!(back.rupturelab);
    assert!(back.warnings.is_empty(), "{:?}", back.warnings);
    assert_eq!(back.codes, study.codes);
}

#[test]
fn atlas_ti_codebook_imports_and_reports_its_code_group() {
    let imp = import_qdc(
        &read_fixture("refi-qda/atlasti-win-23.4.0_codebook.qdc"),
        &opts(),
    )
    .unwrap();
    assert_eq!(imp.codes.len(), 1);
    let c = &imp.codes[0];
    assert_eq!(
        (c.path.as_str(), c.colour.as_deref()),
        ("code1", Some("#46AA00"))
    );
    assert_eq!(c.definition.as_deref(), Some("description"));
    assert!(
        imp.warnings.iter().any(|w| w.contains("code group")),
        "{:?}",
        imp.warnings
    );
}

#[test]
fn taguette_empty_sets_and_flat_names_are_accepted() {
    let src = r##"<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="Taguette 1.4.1">
  <Codes>
    <Code guid="00000000-0000-0000-0000-000000000001" name="Cause::Patient" isCodable="true" color="#0072b2"/>
    <Code guid="00000000-0000-0000-0000-000000000002" name="Cause::Therapist" isCodable="true"/>
    <Code guid="00000000-0000-0000-0000-000000000003" name="Cause" isCodable="true"><Description>why</Description></Code>
  </Codes>
  <Sets/>
</CodeBook>"##;
    let flat = import_qdc(src.as_bytes(), &opts()).unwrap();
    assert_eq!(flat.codes.len(), 3);
    assert!(flat.warnings.is_empty(), "{:?}", flat.warnings);
    let split = import_qdc(
        src.as_bytes(),
        &CodebookOptions {
            split_names: Some("::".into()),
            ..opts()
        },
    )
    .unwrap();
    let paths: Vec<&str> = split.codes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["Cause", "Cause/Patient", "Cause/Therapist"]);
    assert_eq!(split.codes[0].definition.as_deref(), Some("why"));
    assert_eq!(split.codes[1].colour.as_deref(), Some("#0072B2"));
}

#[test]
fn a_codebook_that_would_orphan_codings_is_refused() {
    let mut study = example_study();
    let before = study.codes.clone();
    let src = r#"<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes><Code guid="00000000-0000-0000-0000-000000000001" name="Other" isCodable="true"/></Codes></CodeBook>"#;
    let imp = import_qdc(src.as_bytes(), &opts()).unwrap();
    let e = replace_codebook(&mut study, imp.codes, "book.qdc")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("book.qdc") && e.contains("Cause/Patient/Resistance"),
        "{e}"
    );
    assert_eq!(study.codes, before);
    for bad in [
        "",
        "<x/>",
        "<CodeBook/>",
        "<CodeBook><Codes/></CodeBook>",
        "<CodeBook><Codes>",
    ] {
        assert!(import_qdc(bad.as_bytes(), &opts()).is_err(), "{bad}");
    }
}
