//! Prevalence on the example study equals a direct count (every coding tested against every code).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use rupturelab_core::analysis::{cqr_label, participants_answered, prevalence, responses_by_code};
use rupturelab_core::folder::{is_study_file, parse_folder, FolderFiles};
use rupturelab_core::ResponseKey;

fn example() -> rupturelab_core::StudyData {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/rupture-study");
    let mut files = FolderFiles::new();
    for rel in [
        "study.toml",
        "codebook.toml",
        "participants.csv",
        "responses.csv",
        "codings.csv",
    ] {
        files.insert(rel.to_string(), std::fs::read(root.join(rel)).unwrap());
    }
    for e in std::fs::read_dir(root.join("segments")).unwrap() {
        let p = e.unwrap().path();
        let rel = format!("segments/{}", p.file_name().unwrap().to_string_lossy());
        if is_study_file(&rel) {
            files.insert(rel, std::fs::read(&p).unwrap());
        }
    }
    parse_folder(&files).unwrap()
}

#[test]
fn prevalence_and_responses_by_code_count_each_code_with_its_sub_codes_in_every_layer() {
    let study = example();
    let n = participants_answered(&study);
    for layer in ["consensus", "Ayla", "Burak"] {
        let mut by_code: HashMap<&str, BTreeSet<&ResponseKey>> = HashMap::new();
        for c in study.codings.iter().filter(|c| c.coder.as_str() == layer) {
            for code in &study.codes {
                if c.code.is_within(&code.path) {
                    by_code
                        .entry(code.path.as_str())
                        .or_default()
                        .insert(&c.response);
                }
            }
        }
        assert_eq!(by_code, responses_by_code(&study, layer));
        let rows = prevalence(&study, layer);
        assert_eq!(rows.len(), study.codes.len());
        for row in rows {
            let set = by_code.get(row.code.as_str());
            let responses = set.map(|s| s.len()).unwrap_or(0);
            let participants = set
                .map(|s| {
                    s.iter()
                        .map(|k| &k.participant)
                        .collect::<HashSet<_>>()
                        .len()
                })
                .unwrap_or(0);
            let segments = set
                .map(|s| {
                    s.iter()
                        .filter_map(|k| k.segment.as_ref())
                        .collect::<HashSet<_>>()
                        .len()
                })
                .unwrap_or(0);
            assert_eq!(row.responses, responses, "{layer} {}", row.code);
            assert_eq!(row.participants, participants, "{layer} {}", row.code);
            assert_eq!(row.segments, segments, "{layer} {}", row.code);
            assert_eq!(row.cqr, cqr_label(participants, n));
        }
    }
}
