//! The study-folder format v1 (`docs/study-format.md`): parsing a folder's
//! files into [`StudyData`] with precise errors, and writing them back.
//!
//! The folder is passed in as a map of relative path → bytes so that this
//! module does no IO; the binary reads and writes the actual files.

mod parse;
mod toml_schema;
mod write;

use std::collections::BTreeMap;
use std::fmt;

pub use parse::parse_folder;
pub use write::write_folder;

/// A folder's files: relative path (with `/`) → contents.
pub type FolderFiles = BTreeMap<String, Vec<u8>>;

/// The format tag written in `study.toml`.
pub const FORMAT: &str = "rupturelab-study/1";

/// Files of the folder that the reader looks at; others (README.md…) are ignored.
pub fn is_study_file(path: &str) -> bool {
    matches!(
        path,
        "study.toml"
            | "codebook.toml"
            | "participants.csv"
            | "responses.csv"
            | "codings.csv"
            | "memos.csv"
            | "audit.csv"
    ) || (path.starts_with("segments/") && path.ends_with(".txt") && path.matches('/').count() == 1)
}

/// One problem found in a study folder, with where it is and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderError {
    /// File, relative to the folder.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Column name (CSV) or field path (TOML), when known.
    pub field: Option<String>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for FolderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, " line {l}")?;
        }
        if let Some(c) = &self.field {
            write!(f, ", {c}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// All problems found in a folder (parsing goes on after the first one, up to a limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderErrors(pub Vec<FolderError>);

impl fmt::Display for FolderErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "the study folder has {n} problem{}; nothing was imported:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FolderErrors {}

/// Parses `hh:mm:ss(.fff)` or `mm:ss(.fff)` into milliseconds.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let bad = || format!("`{s}` is not a time; write mm:ss, hh:mm:ss or hh:mm:ss.fff");
    let parts: Vec<&str> = s.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(bad());
    }
    let (sec, frac) = match parts[parts.len() - 1].split_once('.') {
        Some((a, b)) => (a, b),
        None => (parts[parts.len() - 1], ""),
    };
    let num = |p: &str| -> Result<i64, String> {
        if p.is_empty() || p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()) {
            Err(bad())
        } else {
            p.parse::<i64>().map_err(|_| bad())
        }
    };
    let secs = num(sec)?;
    let mins = num(parts[parts.len() - 2])?;
    let hours = if parts.len() == 3 { num(parts[0])? } else { 0 };
    if secs >= 60 || (parts.len() == 3 && mins >= 60) {
        return Err(bad());
    }
    let ms = if frac.is_empty() {
        0
    } else {
        if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        format!("{frac:0<3}").parse::<i64>().map_err(|_| bad())?
    };
    Ok(((hours * 60 + mins) * 60 + secs) * 1000 + ms)
}

/// Formats milliseconds as `mm:ss` or `hh:mm:ss`, with `.fff` when needed.
pub fn format_time(ms: i64) -> String {
    let (h, rem) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rem) = (rem / 60_000, rem % 60_000);
    let (s, f) = (rem / 1000, rem % 1000);
    let base = if h > 0 {
        format!("{h:02}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    };
    if f > 0 {
        format!("{base}.{f:03}")
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_and_format_round_trip() {
        assert_eq!(parse_time("00:12:31.5").unwrap(), 751_500);
        assert_eq!(parse_time("12:31").unwrap(), 751_000);
        assert_eq!(format_time(751_500), "12:31.500");
        assert_eq!(format_time(3_751_000), "01:02:31");
        for ms in [0, 1, 999, 59_999, 3_600_000, 86_399_999] {
            assert_eq!(parse_time(&format_time(ms)).unwrap(), ms);
        }
        assert!(parse_time("12").is_err());
        assert!(parse_time("1:61").is_err());
        assert!(parse_time("a:b").is_err());
    }
}
