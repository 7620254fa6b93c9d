//! Validated identifiers: keys, code paths and 3RS salience ratings.
//!
//! A value of these types is valid by construction; parse functions return a
//! message saying what was wrong and how to fix it.

use std::fmt;
use std::sync::Arc;

/// A human key: participant code, segment key, question key, coder name…
/// 1–64 characters, no `/` or `;`, no control characters, no surrounding spaces.
///
/// The text is shared (`Arc<str>`): a key is cloned into every response,
/// coding and memo that names it, and a clone costs a reference count, not
/// an allocation (a 500,000-coding study clones keys millions of times).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(Arc<str>);

impl Key {
    /// Validates a key.
    pub fn parse(s: &str) -> Result<Self, String> {
        let n = s.chars().count();
        if n == 0 {
            return Err("is empty; give a short name such as `P01`".into());
        }
        if n > 64 {
            return Err(format!(
                "`{}…` is longer than 64 characters",
                s.chars().take(20).collect::<String>()
            ));
        }
        if s.trim() != s {
            return Err(format!("`{s}` starts or ends with a space; remove it"));
        }
        if let Some(c) = s.chars().find(|c| matches!(c, '/' | ';') || c.is_control()) {
            return Err(format!("`{s}` contains {c:?}, which keys may not contain"));
        }
        Ok(Key(Arc::from(s)))
    }
    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A code's path from the top of the codebook, `/`-separated keys (shared
/// text, like [`Key`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodePath(Arc<str>);

impl CodePath {
    /// Validates a path such as `Cause/Patient/Resistance`.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("code path is empty".into());
        }
        for part in s.split('/') {
            Key::parse(part).map_err(|e| format!("code path `{s}`: segment {e}"))?;
        }
        Ok(CodePath(Arc::from(s)))
    }
    /// The path text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The parent path, if not top-level.
    pub fn parent(&self) -> Option<CodePath> {
        self.0.rsplit_once('/').map(|(p, _)| CodePath(Arc::from(p)))
    }
    /// The last segment.
    pub fn leaf(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }
    /// Depth: 1 for a category, 2 for a theme, 3 for a sub-theme.
    pub fn depth(&self) -> usize {
        self.0.split('/').count()
    }
    /// Whether `self` is `other` or lies below it.
    pub fn is_within(&self, other: &CodePath) -> bool {
        self.0 == other.0
            || (self.0.len() > other.0.len()
                && self.0.starts_with(&*other.0)
                && self.0.as_bytes()[other.0.len()] == b'/')
    }
    /// The ancestor at `depth` (1-based), if deep enough.
    pub fn ancestor(&self, depth: usize) -> Option<CodePath> {
        if depth == 0 || depth > self.depth() {
            return None;
        }
        Some(CodePath(Arc::from(
            self.0.split('/').take(depth).collect::<Vec<_>>().join("/"),
        )))
    }
}

impl fmt::Display for CodePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A 3RS salience rating, 1 (none / very low) to 5 (high).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Salience(u8);

impl Salience {
    /// Validates a rating.
    pub fn new(v: i64) -> Result<Self, String> {
        if (1..=5).contains(&v) {
            Ok(Salience(v as u8))
        } else {
            Err(format!("salience {v} is outside 1–5 (the 3RS scale)"))
        }
    }
    /// The rating.
    pub fn get(self) -> u8 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_reject_slashes_spaces_and_empty() {
        assert!(Key::parse("P01").is_ok());
        assert!(Key::parse("Danışan İ").is_ok());
        assert!(Key::parse("").is_err());
        assert!(Key::parse(" P01").is_err());
        assert!(Key::parse("a/b").is_err());
        assert!(Key::parse("a;b").is_err());
        assert!(Key::parse("a\tb").is_err());
        assert!(Key::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn code_paths_know_their_ancestors() {
        let p = CodePath::parse("Cause/Patient/Resistance").unwrap();
        assert_eq!(p.depth(), 3);
        assert_eq!(p.parent().unwrap().as_str(), "Cause/Patient");
        assert_eq!(p.ancestor(1).unwrap().as_str(), "Cause");
        assert!(p.is_within(&CodePath::parse("Cause/Patient").unwrap()));
        assert!(!p.is_within(&CodePath::parse("Cause/Pat").unwrap()));
        assert!(CodePath::parse("Cause//x").is_err());
    }

    #[test]
    fn salience_is_one_to_five() {
        assert!(Salience::new(0).is_err());
        assert_eq!(Salience::new(5).unwrap().get(), 5);
        assert!(Salience::new(6).is_err());
    }
}
