//! Types of the suggestion calls of the [`Store`](crate::Store): the
//! per-study switch and what coders did with the coding screen's
//! suggestions (accepted or rejected, per coder × response × code).

use rupturelab_core::Key;

/// Whether a study shows suggestions in the coding screen.
///
/// The rule: a researcher's explicit choice wins; without one
/// (`explicit == None`) suggestions are on unless the study is blind, so
/// blind double coding for reliability keeps them off by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuggestionSetting {
    /// The researcher's choice, if any (`None` = automatic).
    pub explicit: Option<bool>,
    /// Whether the study is blind.
    pub blind: bool,
}

impl SuggestionSetting {
    /// Whether suggestions are shown.
    pub fn enabled(&self) -> bool {
        self.explicit.unwrap_or(!self.blind)
    }
    /// `auto`, `on` or `off`: the stored choice.
    pub fn mode(&self) -> &'static str {
        match self.explicit {
            None => "auto",
            Some(true) => "on",
            Some(false) => "off",
        }
    }
}

/// How many suggestions a coder accepted in a study.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuggestionUse {
    /// The coder.
    pub coder: Key,
    /// Suggestions accepted (each created a coding).
    pub accepted: i64,
    /// Suggestions rejected.
    pub rejected: i64,
}
