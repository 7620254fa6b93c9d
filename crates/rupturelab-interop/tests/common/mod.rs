//! Helpers shared by the interop tests: the example study, the fixtures and
//! schema validation with xmllint.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use rupturelab_core::folder::{self, FolderFiles};
use rupturelab_core::StudyData;

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fixture file's path.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A fixture file's bytes.
pub fn read_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The bundled example study, parsed from its folder.
pub fn example_study() -> StudyData {
    let dir = repo().join("examples/rupture-study");
    let mut files = FolderFiles::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().to_string();
        if folder::is_study_file(&name) {
            files.insert(name, std::fs::read(entry.path()).unwrap());
        }
    }
    for entry in std::fs::read_dir(dir.join("segments")).unwrap() {
        let entry = entry.unwrap();
        let name = format!("segments/{}", entry.file_name().to_string_lossy());
        files.insert(name, std::fs::read(entry.path()).unwrap());
    }
    folder::parse_folder(&files).unwrap()
}

/// Validates an XML document against a schema with `xmllint --schema`.
/// Fails (never skips) when xmllint is missing: `scripts/test` installs it.
pub fn assert_valid(xml: &str, schema: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(fixture(&format!("refi-qda/{schema}")))
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run xmllint ({e}); install Debian's libxml2-utils (scripts/test does)")
        });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the document does not validate against {schema}:\n{}",
        stderr.lines().take(30).collect::<Vec<_>>().join("\n")
    );
}
