//! REFI-QDA projects (`.qdpx`: a zip with `project.qde` and `sources/`).
//!
//! Export maps a study onto the standard's elements (responses and segment
//! transcripts → TextSources, participants → Cases, coders → Users, codes →
//! nested Codes, codings → PlainTextSelections or whole-source Codings, memos
//! → Notes). What the standard has no element for — the study design, the
//! audit trail, a code's key and criteria, a participant's status and
//! presentation order, a source's role and response key — travels in Notes
//! and `RuptureLab:` Variables that other programs show as ordinary memos and
//! attributes, so a RuptureLab → qdpx → RuptureLab round trip is exact.
//! Import reads RuptureLab's own files exactly and other programs' files
//! tolerantly (see `docs/interop.md`).

mod export;
mod import;

pub use export::{export_qdpx, project_qde};
pub use import::{import_qdpx, ImportOptions, Imported};

/// Name of the project Note holding the study design (`study.toml`).
pub(crate) const DESIGN_NOTE: &str = "RuptureLab study design";
/// Name of the project Note holding the audit trail (`audit.csv`).
pub(crate) const AUDIT_NOTE: &str = "RuptureLab audit trail";
/// Name of a code's Note holding its key and criteria (TOML).
pub(crate) const CODE_NOTE: &str = "RuptureLab code details";
/// Name of a coding's memo Note.
pub(crate) const CODING_MEMO_NOTE: &str = "Coding memo";
/// Prefix of a memo Note's name; the author follows.
pub(crate) const MEMO_PREFIX: &str = "Memo by ";
/// Prefix of RuptureLab's own Variables.
pub(crate) const VAR_PREFIX: &str = "RuptureLab:";

/// RuptureLab's own Variables (without the prefix).
pub(crate) const RL_VARS: [&str; 6] = [
    "role",
    "participant",
    "segment",
    "question",
    "status",
    "segment_order",
];
