//! Types of the audit-trail page's calls (filters) through the
//! [`Store`](crate::Store).

use rupturelab_core::Timestamp;

/// Which audit events to list. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// Exactly this actor.
    pub actor: Option<String>,
    /// This action, or a family of actions: `coding` matches `coding.add`, `coding.remove`, ….
    pub action: Option<String>,
    /// Entities containing this text.
    pub entity: Option<String>,
    /// At or after this time.
    pub from: Option<Timestamp>,
    /// Before this time.
    pub to: Option<Timestamp>,
}

/// The choices of the audit page's filters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFacets {
    /// Every actor in the study's trail.
    pub actors: Vec<String>,
    /// Every action in the study's trail.
    pub actions: Vec<String>,
}
