//! The bundled example study, parsed once per fuzzing process.
use std::sync::OnceLock;

use rupturelab_core::folder::{is_study_file, parse_folder, FolderFiles};
use rupturelab_core::StudyData;

pub fn example() -> &'static StudyData {
    static STUDY: OnceLock<StudyData> = OnceLock::new();
    STUDY.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/rupture-study");
        let mut files = FolderFiles::new();
        for sub in ["", "segments/"] {
            for e in std::fs::read_dir(format!("{dir}/{sub}")).unwrap() {
                let e = e.unwrap();
                let rel = format!("{sub}{}", e.file_name().to_string_lossy());
                if e.file_type().unwrap().is_file() && is_study_file(&rel) {
                    files.insert(rel, std::fs::read(e.path()).unwrap());
                }
            }
        }
        parse_folder(&files).unwrap()
    })
}
