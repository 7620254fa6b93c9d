//! Types of "code all hits" (the `// --- search coding ---` block of the
//! [`Store`](crate::Store)): a search's hits coded with one code in one
//! transaction, as ONE step of the coder's undo log.

use rupturelab_core::{ResponseKey, Span};

use crate::coding::{ResponseId, StoredCoding};

/// One coding that "code all hits" would add: a hit's span, or the whole
/// response (`span: None`). Spans are code points, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HitCoding {
    /// The response.
    pub response: ResponseId,
    /// The span; `None` = the whole response.
    pub span: Option<Span>,
}

/// An open answer a coder may code.
#[derive(Debug, Clone, PartialEq)]
pub struct CodableResponse {
    /// Row id.
    pub id: ResponseId,
    /// Participant × segment × question.
    pub key: ResponseKey,
}

/// What [`add_hit_codings`](crate::Store::add_hit_codings) did.
#[derive(Debug, Clone, PartialEq)]
pub struct HitCodingOutcome {
    /// The codings added, in the order given.
    pub added: Vec<StoredCoding>,
    /// Those skipped because the coder had already applied the code there
    /// (or the same one was given twice).
    pub skipped: Vec<HitCoding>,
    /// Steps the coder can undo and redo now.
    pub undo_left: i64,
    /// Steps left to redo.
    pub redo_left: i64,
}

/// The `action` of an [`UndoOutcome`](crate::UndoOutcome) that undid or
/// redid a whole "code all hits" step, and of its summary audit event.
pub const ADD_HITS: &str = "coding.add_hits";
