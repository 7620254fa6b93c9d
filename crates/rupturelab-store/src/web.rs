//! Types of the fine-grained calls the web application makes through the
//! [`Store`](crate::Store): accounts, invitations, consent, progress and
//! single-answer autosave. Whole-study calls keep using `StudyData`.

use rupturelab_core::{
    AttributeDef, Key, OrderMode, ParticipantStatus, Question, Settings, StudyMeta, Timestamp,
};

use crate::StudyId;

/// A user account's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub i64);

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Designs studies, invites participants, reads everything.
    Researcher,
    /// Codes responses; no access to the researcher console.
    Coder,
}

impl Role {
    /// Parses `researcher` or `coder`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "researcher" => Ok(Role::Researcher),
            "coder" => Ok(Role::Coder),
            o => Err(format!("unknown role `{o}`; use researcher or coder")),
        }
    }
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Researcher => "researcher",
            Role::Coder => "coder",
        }
    }
}

/// A web session as the server stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    /// The session id (the cookie's value).
    pub id: String,
    /// The session's values, as JSON.
    pub data: String,
    /// When it expires (epoch seconds).
    pub expires_at: i64,
    /// The signed-in staff user, if any (stored only if the account exists).
    pub user_id: Option<i64>,
}

/// A web session read back, with its signed-in user.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSession {
    /// The session's values, as JSON.
    pub data: String,
    /// When it expires (epoch seconds).
    pub expires_at: i64,
    /// The signed-in staff user, as the account is now (`None` if no one is
    /// signed in, or the account was removed).
    pub user: Option<User>,
}

/// A user account (the password only as its argon2id PHC string).
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Row id.
    pub id: UserId,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// The argon2id PHC hash of the password.
    pub password_hash: String,
}

/// A participant's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(pub i64);

/// A participant as the study runner sees them (found by invitation token).
#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantRecord {
    /// Row id.
    pub id: ParticipantId,
    /// The study.
    pub study_id: StudyId,
    /// Pseudonymous code.
    pub code: Key,
    /// Progress.
    pub status: ParticipantStatus,
    /// The last consent decision, if any.
    pub consent: Option<bool>,
    /// The last page visited.
    pub step: Option<String>,
}

/// One line of the console's participant list.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantOverview {
    /// Pseudonymous code.
    pub code: Key,
    /// Progress.
    pub status: ParticipantStatus,
    /// When the active invitation link was issued (None: no active link).
    pub invited_at: Option<Timestamp>,
    /// The last consent decision.
    pub consent: Option<bool>,
    /// Number of answers saved.
    pub answers: i64,
    /// Last page visited.
    pub step: Option<String>,
    /// How the order was assigned (`fixed`, `random`, `latin-square`).
    pub order_mode: Option<String>,
    /// The Williams-square row, for latin-square.
    pub order_row: Option<i64>,
    /// The presentation order (segment keys).
    pub order: Vec<Key>,
    /// When the participant last saved anything.
    pub updated_at: Option<Timestamp>,
    /// How many invitation links were ever issued (revoked ones included).
    pub links_issued: i64,
}

/// A study's design without its segments and data: what every participant page needs.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyDesign {
    /// Row id.
    pub id: StudyId,
    /// Metadata (language, title…).
    pub meta: StudyMeta,
    /// Settings (order, texts…).
    pub settings: Settings,
    /// Participant attribute schema.
    pub attributes: Vec<AttributeDef>,
    /// Questions in order.
    pub questions: Vec<Question>,
}

/// How a participant's presentation order was assigned.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderAssignment {
    /// The mode in force at invitation.
    pub mode: OrderMode,
    /// The Williams-square row (latin-square only).
    pub row: Option<i64>,
    /// The segment keys in order.
    pub order: Vec<Key>,
}

/// Progress counts of a study, for the dashboard.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StudyProgress {
    /// Participants not started.
    pub invited: i64,
    /// Started, not submitted.
    pub started: i64,
    /// Submitted.
    pub completed: i64,
    /// Answers per segment key, in study order.
    pub answers_per_segment: Vec<(Key, i64)>,
    /// Answers to once-questions.
    pub answers_once: i64,
}
