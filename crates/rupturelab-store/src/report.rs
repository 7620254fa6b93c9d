//! The report's stored settings: quote pins and exclusions per study
//! (migration `0005_report.sql`). The calls are [`crate::Store`] methods,
//! implemented for both backends in `sql/report.rs`.

use std::fmt;

use rupturelab_core::{CodePath, ResponseKey};

/// Whether a rule pins a quote or excludes an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QuoteRuleKind {
    /// Show this answer first among the theme's quotes.
    Pin,
    /// Never quote this answer (for one theme, or every theme).
    Exclude,
}

impl QuoteRuleKind {
    /// The stored name: `pin` or `exclude`.
    pub fn as_str(self) -> &'static str {
        match self {
            QuoteRuleKind::Pin => "pin",
            QuoteRuleKind::Exclude => "exclude",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "pin" => Ok(QuoteRuleKind::Pin),
            "exclude" => Ok(QuoteRuleKind::Exclude),
            other => Err(format!("`{other}` is not a quote rule; use pin or exclude")),
        }
    }
}

/// A researcher's pin or exclusion of one answer as a report quote.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QuoteRule {
    /// Pin or exclude.
    pub kind: QuoteRuleKind,
    /// The theme (a code at the second level); `None` = every theme, which
    /// only an exclusion may say.
    pub theme: Option<CodePath>,
    /// The answer.
    pub response: ResponseKey,
}

impl fmt::Display for QuoteRule {
    /// `THEME=P/S/Q`, or `P/S/Q` for every theme (the CLI's syntax).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.theme {
            Some(t) => write!(f, "{t}={}", self.response),
            None => write!(f, "{}", self.response),
        }
    }
}
