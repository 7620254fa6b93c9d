//! A REFI-QDA project: bare `project.qde` XML or a `.qdpx` zip.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rupturelab_interop::qdpx::{import_qdpx, ImportOptions};

fuzz_target!(|data: &[u8]| {
    let opts = ImportOptions {
        label: "fuzz.qdpx".into(),
        split_names: Some("::".into()),
        ..Default::default()
    };
    let _ = import_qdpx(data, &opts);
});
