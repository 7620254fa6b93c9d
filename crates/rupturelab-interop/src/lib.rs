//! RuptureLab's exchange with other tools: REFI-QDA projects (`.qdpx`) and
//! codebooks (`.qdc`) for NVivo, ATLAS.ti, MAXQDA, QualCoder and Taguette.
//!
//! Every function goes from bytes to a [`rupturelab_core::StudyData`] or
//! back; the binary does the file and database IO. Readers are tolerant of
//! real-world variants, bounded by [`Limits`] against hostile input, and
//! never panic; every error names the file, the line and the element.
#![forbid(unsafe_code)]

mod archive;
mod codebook;
mod error;
mod guid;
pub mod positions;
pub mod qdc;
pub mod qdpx;
pub mod responses;
pub mod tables;
pub mod transcripts;
mod xml;

pub use archive::Limits;
pub use error::{InteropError, Problem, Result};
pub use positions::PositionUnit;
