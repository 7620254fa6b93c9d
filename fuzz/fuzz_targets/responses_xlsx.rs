//! A survey export as XLSX (a zip of XML) against the example study.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rupturelab_interop::responses::{import_responses, ResponseImportOptions};

#[path = "../study.rs"]
mod study;

fuzz_target!(|data: &[u8]| {
    let opts = ResponseImportOptions {
        xlsx: true,
        label: "fuzz.xlsx".into(),
        ..Default::default()
    };
    let _ = import_responses(study::example(), data, &opts);
});
