//! RuptureLab's domain: the study model, validation, the study-folder format,
//! analysis, agreement statistics and text rules. No database, no HTTP, no
//! async, no file IO: every function works on plain data so that each
//! statistic can be tested in isolation.
#![forbid(unsafe_code)]

pub mod agreement;
pub mod analysis;
pub mod folder;
pub mod keys;
pub mod model;
pub mod order;
pub mod stats;
pub mod suggest;
pub mod templates;
pub mod text;
pub mod training;

pub use keys::{CodePath, Key, Salience};
pub use model::*;
