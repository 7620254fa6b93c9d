//! Types of the coding calls of the [`Store`](crate::Store): one row per
//! coder × response × code × span, edits guarded by a row version, memos,
//! blind mode and assignments, and each coder's undo/redo log.
//!
//! Spans are Unicode code point offsets into the response text, end
//! exclusive (the browser's UTF-16 offsets are converted at the web edge).

use rupturelab_core::{CodePath, Key, ResponseKey, Span, Timestamp};

/// A response's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResponseId(pub i64);

/// A coding's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodingId(pub i64);

/// One stored coding.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCoding {
    /// Row id.
    pub id: CodingId,
    /// The response.
    pub response: ResponseId,
    /// The coder (or `consensus`).
    pub coder: Key,
    /// The code.
    pub code: CodePath,
    /// The span in code points; `None` = the whole response.
    pub span: Option<Span>,
    /// A note on this coding.
    pub memo: Option<String>,
    /// Incremented by every edit; an edit must name the version it saw.
    pub version: i64,
    /// When created.
    pub created_at: Timestamp,
}

/// A coding to add.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCoding {
    /// The coder (created in the study if new; `consensus` for the consensus layer).
    pub coder: Key,
    /// The response (must be an open answer of the study).
    pub response: ResponseId,
    /// The code (must exist and be codable).
    pub code: CodePath,
    /// The span in code points within the text; `None` = the whole response.
    pub span: Option<Span>,
    /// A note.
    pub memo: Option<String>,
}

/// Resolves a client's span against the response text the client has not
/// sent (e.g. UTF-16 offsets from a browser): `Ok(None)` = the whole
/// response, `Err(message)` = an invalid span (the message names the field).
pub type SpanResolver<'a> =
    &'a (dyn Fn(&str) -> std::result::Result<Option<Span>, String> + Send + Sync);

/// A coding added by `Store::add_coding_by_key`: its study, the coding, and
/// the text of its response.
#[derive(Debug, Clone, PartialEq)]
pub struct AddedCoding {
    /// The study's row id.
    pub study: crate::StudyId,
    /// The new coding.
    pub coding: StoredCoding,
    /// The response's text (the span's offsets refer to it).
    pub text: String,
}

/// A change to a coding; `None` fields stay as they are.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CodingChange {
    /// A new code.
    pub code: Option<CodePath>,
    /// A new span (`Some(None)` = the whole response).
    pub span: Option<Option<Span>>,
    /// A new memo (`Some(None)` removes it).
    pub memo: Option<Option<String>>,
}

/// A response as the coding screen shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CodingTarget {
    /// Row id.
    pub id: ResponseId,
    /// Participant × segment × question.
    pub key: ResponseKey,
    /// The question's prompt.
    pub prompt: String,
    /// The answer text (NFC, LF).
    pub text: String,
}

/// Which responses the queue lists (all filters combine).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueueFilter {
    /// `Some(Some(k))`: segment `k`; `Some(None)`: questions asked once.
    pub segment: Option<Option<Key>>,
    /// Only this question.
    pub question: Option<Key>,
    /// Only participants with this attribute (name) equal to this value (as text).
    pub attribute: Option<(String, String)>,
}

/// One line of the coding queue (open answers with text, in study order).
#[derive(Debug, Clone, PartialEq)]
pub struct QueueItem {
    /// Row id.
    pub id: ResponseId,
    /// Participant × segment × question.
    pub key: ResponseKey,
    /// Whether the asking coder has coded it.
    pub coded_by_me: bool,
    /// The coders (consensus excluded) who have coded it.
    pub coders: Vec<Key>,
    /// At least two coders applied different sets of codes and there is no
    /// consensus coding yet.
    pub disputed: bool,
    /// Whether the consensus layer has codings on it.
    pub has_consensus: bool,
}

/// A coder's assignment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Assignment {
    /// Every response.
    All,
    /// A random share of the open answers, the same for the same seed and
    /// percentage (so coders given the same share overlap on it).
    Share {
        /// Percentage in (0, 100].
        percent: f64,
        /// Seed of the draw.
        seed: u64,
    },
}

/// A coder of the study with their assignment and progress.
#[derive(Debug, Clone, PartialEq)]
pub struct CoderStatus {
    /// Name (the web user of the same name codes as this coder).
    pub name: Key,
    /// The assignment.
    pub assignment: Assignment,
    /// Responses assigned (all open answers for `All`).
    pub assigned: i64,
    /// Of those, how many the coder has coded.
    pub coded: i64,
}

/// The study's coding setup.
#[derive(Debug, Clone, PartialEq)]
pub struct CodingSetup {
    /// Whether coders see only their own codings.
    pub blind: bool,
    /// Coders (consensus excluded), in study order.
    pub coders: Vec<CoderStatus>,
}

/// What a memo is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MemoOn {
    /// A response.
    Response(ResponseId),
    /// A code.
    Code(CodePath),
}

/// A stored memo.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMemo {
    /// Author (user name).
    pub author: String,
    /// What it is about.
    pub on: MemoOn,
    /// Text.
    pub text: String,
    /// When last written.
    pub at: Timestamp,
}

/// What an undo or redo did.
#[derive(Debug, Clone, PartialEq)]
pub struct UndoOutcome {
    /// The response it touched.
    pub response: ResponseId,
    /// `coding.add`, `coding.update` or `coding.delete`: the action undone or redone.
    pub action: String,
    /// The coding as it is now (`None` when the step removed it).
    pub coding: Option<StoredCoding>,
    /// Steps left to undo and to redo.
    pub undo_left: i64,
    /// Steps left to redo.
    pub redo_left: i64,
}

/// How many steps of a coder's log are kept for undo.
pub const UNDO_DEPTH: i64 = 200;
