//! Types of the codebook calls of the [`Store`](crate::Store): editing the
//! tree of codes (add, edit/rename, move, merge, delete with undo), replacing
//! it (a template or a `.qdc` import), its versions (one snapshot per change,
//! so the codebook as of any date can be shown) and the consensus layer that
//! reconciliation writes.
//!
//! A code's path is derived from the tree: its parent's path, `/`, its key.
//! Every call that changes the tree rewrites the paths below it in the same
//! transaction, so paths, parents and codings never disagree.

use rupturelab_core::{Code, CodePath, Key, Span, Timestamp};

/// A code's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodeId(pub i64);

/// A code as the codebook editor shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCode {
    /// Row id.
    pub id: CodeId,
    /// The parent code (`None` for a top-level category).
    pub parent: Option<CodeId>,
    /// The code (path, name, criteria, colour).
    pub code: Code,
    /// How many codings (all coders and the consensus) apply this code itself.
    pub codings: i64,
}

/// A new code.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCode {
    /// The parent (`None`: a new top-level category).
    pub parent: Option<CodeId>,
    /// The key, the last part of the path.
    pub key: Key,
    /// Display name (the key when empty).
    pub name: String,
    /// Whether codings may apply it.
    pub codable: bool,
}

/// A code's editable fields; `key` renames it (its path and every path below
/// it change with it).
#[derive(Debug, Clone, PartialEq)]
pub struct CodeEdit {
    /// The key (last part of the path).
    pub key: Key,
    /// Display name.
    pub name: String,
    /// Whether codings may apply it (cannot be turned off while codings use it).
    pub codable: bool,
    /// Definition.
    pub definition: Option<String>,
    /// Inclusion criteria.
    pub inclusion: Option<String>,
    /// Exclusion criteria.
    pub exclusion: Option<String>,
    /// An example.
    pub example: Option<String>,
    /// `#RRGGBB`.
    pub colour: Option<String>,
}

/// Where a code moves (with everything below it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeMove {
    /// Before its previous sibling.
    Up,
    /// After its next sibling.
    Down,
    /// Under its previous sibling, as its last child.
    Indent,
    /// Out of its parent, right after it.
    Outdent,
    /// Under `parent` (`None` = top level) at `position` among its children
    /// (clamped to the end).
    To {
        /// The new parent.
        parent: Option<CodeId>,
        /// Position among the new parent's children, 0-based.
        position: usize,
    },
}

/// What deleting a code would remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeleteImpact {
    /// The code and the codes below it.
    pub codes: i64,
    /// Codings of those codes (all coders and the consensus).
    pub codings: i64,
    /// Memos on those codes.
    pub memos: i64,
}

/// A deletion that can be undone.
#[derive(Debug, Clone, PartialEq)]
pub struct Deletion {
    /// Pass this to [`Store::undo_delete_code`](crate::Store::undo_delete_code).
    pub id: i64,
    /// The deleted code's path.
    pub path: CodePath,
    /// What went with it.
    pub impact: DeleteImpact,
}

/// What merging two codes did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MergeOutcome {
    /// Codings moved to the surviving code.
    pub moved: i64,
    /// Codings dropped because the survivor already had the same coding
    /// (same coder, response and span).
    pub collapsed: i64,
}

/// One saved version of a codebook (one per change).
#[derive(Debug, Clone, PartialEq)]
pub struct CodebookVersion {
    /// Row id.
    pub id: i64,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: String,
    /// The audit action (`codebook.add`, …, or `codebook.baseline` for the
    /// codebook as it was before the first change).
    pub action: String,
    /// What changed, in words.
    pub detail: String,
    /// Number of codes in this version.
    pub codes: usize,
}

/// One coding of the consensus layer, as reconciliation writes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConsensusCoding {
    /// The code (must exist and be codable).
    pub code: CodePath,
    /// The span in code points; `None` = the whole response.
    pub span: Option<Span>,
}
