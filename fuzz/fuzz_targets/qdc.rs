//! A REFI-QDA codebook (`.qdc`).
#![no_main]
use libfuzzer_sys::fuzz_target;
use rupturelab_interop::qdc::{import_qdc, CodebookOptions};

fuzz_target!(|data: &[u8]| {
    let opts = CodebookOptions {
        label: "fuzz.qdc".into(),
        split_names: Some("::".into()),
        ..Default::default()
    };
    let _ = import_qdc(data, &opts);
});
