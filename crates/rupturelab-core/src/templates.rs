//! Built-in starter content: codebook templates and a default attribute schema.

use crate::folder::{self, FolderFiles};
use crate::model::Code;

/// A built-in codebook template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodebookTemplate {
    /// The seed paper's cause & resolution scheme with sub-themes.
    CauseResolution,
    /// The 3RS marker and resolution-strategy lists.
    ThreeRs,
    /// No codes.
    Empty,
}

impl CodebookTemplate {
    /// Parses a template name (`cause-resolution`, `3rs`, `empty`).
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "cause-resolution" => Ok(Self::CauseResolution),
            "3rs" => Ok(Self::ThreeRs),
            "empty" => Ok(Self::Empty),
            o => Err(format!(
                "unknown codebook template `{o}`; use cause-resolution, 3rs or empty"
            )),
        }
    }

    /// The template's `codebook.toml` text.
    pub fn toml(self) -> &'static str {
        match self {
            Self::CauseResolution => include_str!("../templates/cause-resolution.toml"),
            Self::ThreeRs => include_str!("../templates/3rs.toml"),
            Self::Empty => "",
        }
    }

    /// The template's codes.
    pub fn codes(self) -> Vec<Code> {
        let mut files = FolderFiles::new();
        files.insert("study.toml".into(), DEFAULT_STUDY_TOML.as_bytes().to_vec());
        files.insert("codebook.toml".into(), self.toml().as_bytes().to_vec());
        folder::parse_folder(&files)
            .expect("built-in templates are valid")
            .codes
    }
}

/// A skeleton `study.toml` with the DOMAIN.md default attributes and the
/// seed study's questions; `rupturelab init` starts from it.
pub const DEFAULT_STUDY_TOML: &str = include_str!("../templates/study.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        assert_eq!(CodebookTemplate::CauseResolution.codes().len(), 30);
        assert_eq!(CodebookTemplate::ThreeRs.codes().len(), 27);
        assert!(CodebookTemplate::Empty.codes().is_empty());
    }
}
