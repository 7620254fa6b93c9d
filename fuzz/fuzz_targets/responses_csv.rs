//! A survey export as CSV/TSV, read against the bundled example study with
//! each preset (the first input byte picks it).
#![no_main]
use libfuzzer_sys::fuzz_target;
use rupturelab_interop::responses::{import_responses, Preset, ResponseImportOptions};

#[path = "../study.rs"]
mod study;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else { return };
    let preset = [Preset::Generic, Preset::Qualtrics, Preset::LimeSurvey, Preset::GoogleForms]
        [pick as usize % 4];
    let opts = ResponseImportOptions {
        preset,
        label: "fuzz.csv".into(),
        ..Default::default()
    };
    let _ = import_responses(study::example(), bytes, &opts);
});
