//! Errors of the interop crate: every problem names the file, the line or
//! row, the element or column, what is wrong and what to do.

use std::fmt;

/// One problem found in an input file (or met while writing an output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file (or the archive entry, `archive.qdpx:project.qde`).
    pub file: String,
    /// 1-based line (XML, text) or row (CSV, sheet), when known.
    pub line: Option<usize>,
    /// Element, attribute, column or field, when known.
    pub field: Option<String>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Problem {
    /// A problem with a file as a whole.
    pub fn file(file: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            file: file.into(),
            line: None,
            field: None,
            message: message.into(),
        }
    }
    /// A problem at a line, in a field.
    pub fn at(
        file: impl Into<String>,
        line: Option<usize>,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            file: file.into(),
            line,
            field: field.map(str::to_string),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
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

/// What went wrong in an import or export. Nothing is half-written: an
/// import that fails returns this and no study.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InteropError {
    /// The input has problems (up to 50 are collected).
    #[error("{}", list(.0))]
    Invalid(Vec<Problem>),
    /// The input exceeds a safety limit (zip bomb, huge entry, deep XML).
    #[error("{0}")]
    Limit(Problem),
}

fn list(ps: &[Problem]) -> String {
    match ps {
        [one] => format!("{one}; nothing was imported"),
        _ => {
            let mut s = format!("{} problems; nothing was imported:", ps.len());
            for p in ps {
                s.push_str("\n  ");
                s.push_str(&p.to_string());
            }
            s
        }
    }
}

impl From<Problem> for InteropError {
    fn from(p: Problem) -> Self {
        InteropError::Invalid(vec![p])
    }
}

/// Result alias of the crate.
pub type Result<T> = std::result::Result<T, InteropError>;

/// Runs a reader so that even a bug in it (or in a library it uses) gives an
/// error naming the file instead of a crash.
///
/// Under `cargo fuzz` (`cfg(fuzzing)`) the panic is let through, so the
/// fuzzer finds it instead of this net hiding it.
pub(crate) fn guard<T>(file: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    if cfg!(fuzzing) {
        return f();
    }
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => Err(Problem::file(
            if file.is_empty() { "input" } else { file },
            "could not be read because of an internal error in RuptureLab; nothing was imported. Please report it with the file if you can",
        )
        .into()),
    }
}
