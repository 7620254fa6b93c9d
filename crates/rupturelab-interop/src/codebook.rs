//! Reading a REFI-QDA codebook (the `<Codes>` of a project or of a `.qdc`)
//! into RuptureLab codes, and the helpers every reader shares: collecting
//! problems and warnings, making foreign names into valid keys.

use std::collections::{HashMap, HashSet};

use rupturelab_core::text;
use rupturelab_core::{Code, CodePath, Key, Timestamp};

use crate::error::Problem;
use crate::xml::Element;

/// Most problems reported at once.
const MAX_PROBLEMS: usize = 50;

/// Collects problems (which fail the import) and warnings (what was dropped
/// or changed, shown after the import).
pub(crate) struct Cx {
    /// The file in messages.
    pub file: String,
    /// Problems: the import fails if any.
    pub problems: Vec<Problem>,
    /// Warnings for the user.
    pub warnings: Vec<String>,
}

impl Cx {
    /// A collector for `file`.
    pub fn new(file: &str) -> Self {
        Cx {
            file: file.to_string(),
            problems: Vec::new(),
            warnings: Vec::new(),
        }
    }
    /// Records a problem at a line, in an element or field.
    pub fn err(&mut self, line: usize, field: &str, msg: impl Into<String>) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems
                .push(Problem::at(&self.file, Some(line), Some(field), msg));
        }
    }
    /// Records a warning at a line.
    pub fn warn(&mut self, line: usize, msg: impl AsRef<str>) {
        if self.warnings.len() < 1000 {
            self.warnings
                .push(format!("{} line {line}: {}", self.file, msg.as_ref()));
        }
    }
}

/// A GUID in one spelling: lower case, no braces.
pub(crate) fn norm_guid(s: &str) -> String {
    s.trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .to_ascii_lowercase()
}

/// Turns any name into a valid key: no `/` or `;`, no control characters,
/// no surrounding spaces, at most 64 characters.
pub(crate) fn sanitize_key(raw: &str, fallback: &str) -> String {
    let s: String = text::normalize(raw)
        .chars()
        .map(|c| match c {
            '/' => '∕',
            ';' => ',',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let s: String = s.trim().chars().take(64).collect();
    let s = s.trim_end().to_string();
    if s.is_empty() {
        fallback.to_string()
    } else {
        s
    }
}

/// A key not yet in `taken`: `base`, else `base (2)`, `base (3)`…
pub(crate) fn unique_key(base: &str, taken: &mut HashSet<String>) -> Key {
    let mut candidate = base.to_string();
    let mut n = 2;
    while taken.contains(&candidate) {
        let suffix = format!(" ({n})");
        let room = 64 - suffix.chars().count();
        candidate = format!(
            "{}{suffix}",
            base.chars().take(room).collect::<String>().trim_end()
        );
        n += 1;
    }
    taken.insert(candidate.clone());
    Key::parse(&candidate).unwrap_or_else(|_| Key::parse("imported").expect("valid"))
}

/// Parses an `xsd:dateTime`, if it is one.
pub(crate) fn parse_ts(s: Option<&str>) -> Option<Timestamp> {
    s.and_then(|s| Timestamp::parse_rfc3339(s).ok())
}

/// `#RGB` or `#RRGGBB` as `#RRGGBB`.
pub(crate) fn colour(c: &str) -> Option<String> {
    let h = c.trim().strip_prefix('#')?;
    if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    match h.len() {
        6 => Some(format!("#{}", h.to_ascii_uppercase())),
        3 => Some(format!(
            "#{}",
            h.chars()
                .flat_map(|c| [c, c])
                .collect::<String>()
                .to_ascii_uppercase()
        )),
        _ => None,
    }
}

/// A code's details that REFI-QDA has no attribute for.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct CodeDetails {
    /// The code's GUID (in a `.qdc`, where details are listed together).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guid: Option<String>,
    /// The key (last path segment) when it differs from the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// Inclusion criteria.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion: Option<String>,
    /// Exclusion criteria.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion: Option<String>,
    /// Example.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
}

impl CodeDetails {
    /// The details a code needs beyond name, colour and definition, if any.
    pub fn of(c: &Code) -> Option<CodeDetails> {
        let leaf = c.path.leaf();
        let needed =
            c.name != leaf || c.inclusion.is_some() || c.exclusion.is_some() || c.example.is_some();
        needed.then(|| CodeDetails {
            guid: None,
            key: (c.name != leaf).then(|| leaf.to_string()),
            definition: c.definition.clone(),
            inclusion: c.inclusion.clone(),
            exclusion: c.exclusion.clone(),
            example: c.example.clone(),
        })
    }
}

/// The `Description` of an exported code: the definition, then the criteria
/// and the example as labelled paragraphs (what other programs show).
pub(crate) fn code_description(c: &Code) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    if let Some(d) = &c.definition {
        parts.push(d.clone());
    }
    for (label, v) in [
        ("Inclusion", &c.inclusion),
        ("Exclusion", &c.exclusion),
        ("Example", &c.example),
    ] {
        if let Some(v) = v {
            parts.push(format!("{label}: {v}"));
        }
    }
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

/// Builds RuptureLab codes from nested `<Code>` elements.
pub(crate) struct CodeBuilder<'a> {
    /// Written by RuptureLab: names are kept as keys unless details say otherwise.
    pub exact: bool,
    /// Split flat names (`Parent::Child`) at this separator.
    pub split: Option<String>,
    /// Details by code GUID (RuptureLab's own files).
    pub details: HashMap<String, CodeDetails>,
    /// The codes built, parents first.
    pub codes: Vec<Code>,
    /// Code path by GUID.
    pub code_of: HashMap<String, CodePath>,
    /// NoteRef GUIDs of each code element, with its path.
    pub note_refs: Vec<(Vec<String>, CodePath)>,
    placeholders: HashSet<String>,
    cx: &'a mut Cx,
}

impl<'a> CodeBuilder<'a> {
    /// A builder reporting into `cx`.
    pub fn new(cx: &'a mut Cx, exact: bool, split: Option<String>) -> Self {
        CodeBuilder {
            exact,
            split: split.filter(|s| !s.is_empty()),
            details: HashMap::new(),
            codes: Vec::new(),
            code_of: HashMap::new(),
            note_refs: Vec::new(),
            placeholders: HashSet::new(),
            cx,
        }
    }

    /// Reads every `<Code>` child of `codes` (a `<Codes>` element).
    pub fn read(&mut self, codes: &Element) {
        for c in codes.all("Code") {
            self.walk(c, None);
        }
        if !self.placeholders.is_empty() {
            let mut ps: Vec<&String> = self.placeholders.iter().collect();
            ps.sort();
            let list = ps.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
            let file = self.cx.file.clone();
            self.cx.warnings.push(format!(
                "{file}: parent codes created for flat names (not codable): {list}"
            ));
        }
    }

    fn ensure_placeholder(&mut self, path: &str, name: &str) {
        if self.codes.iter().any(|c| c.path.as_str() == path) {
            return;
        }
        if let Ok(p) = CodePath::parse(path) {
            self.codes.push(Code {
                path: p,
                name: text::normalize(name),
                codable: false,
                definition: None,
                inclusion: None,
                exclusion: None,
                example: None,
                colour: None,
            });
            self.placeholders.insert(path.to_string());
        }
    }

    fn walk(&mut self, el: &Element, parent: Option<&str>) {
        let name = el.attr("name").unwrap_or("").to_string();
        let guid = el.attr("guid").map(norm_guid).unwrap_or_default();
        let details = self.details.get(&guid).cloned();
        let (mut parent_path, mut display) = (parent.map(str::to_string), name.clone());
        if let (Some(sep), false) = (self.split.clone(), self.exact) {
            let parts: Vec<&str> = name
                .split(sep.as_str())
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            if parts.len() > 1 {
                for p in &parts[..parts.len() - 1] {
                    let key = sanitize_key(p, "code");
                    let path = match &parent_path {
                        Some(pp) => format!("{pp}/{key}"),
                        None => key,
                    };
                    self.ensure_placeholder(&path, p);
                    parent_path = Some(path);
                }
                display = parts[parts.len() - 1].to_string();
            }
        }
        let leaf = match details.as_ref().and_then(|d| d.key.clone()) {
            Some(k) => k,
            None if self.exact => name.clone(),
            None => sanitize_key(&display, "code"),
        };
        let mut path = match &parent_path {
            Some(p) => format!("{p}/{leaf}"),
            None => leaf.clone(),
        };
        let existing = self.codes.iter().position(|c| c.path.as_str() == path);
        let slot = match existing {
            Some(i) if self.placeholders.remove(&path) => Some(i),
            Some(_) if self.exact => {
                self.cx.err(
                    el.line,
                    "<Code name>",
                    format!("code `{path}` appears twice"),
                );
                return;
            }
            Some(_) => {
                let mut n = 2;
                loop {
                    let cand = format!("{leaf} ({n})");
                    let p = match &parent_path {
                        Some(pp) => format!("{pp}/{cand}"),
                        None => cand,
                    };
                    if !self.codes.iter().any(|c| c.path.as_str() == p) {
                        path = p;
                        break;
                    }
                    n += 1;
                }
                None
            }
            None => None,
        };
        let cpath = match CodePath::parse(&text::normalize(&path)) {
            Ok(p) => p,
            Err(e) => {
                self.cx.err(el.line, "<Code name>", e);
                return;
            }
        };
        let desc = el
            .child_text("Description")
            .map(text::normalize)
            .filter(|d| !d.trim().is_empty());
        let opt = |s: Option<String>| {
            s.map(|s| text::normalize(&s))
                .filter(|s| !s.trim().is_empty())
        };
        let colour_attr = el.attr("color");
        let col = colour_attr.and_then(colour);
        if colour_attr.is_some() && col.is_none() {
            self.cx.warn(
                el.line,
                format!(
                    "code `{name}`: colour `{}` is not #RRGGBB and was dropped",
                    colour_attr.unwrap_or("")
                ),
            );
        }
        let d = details.clone().unwrap_or_default();
        let code = Code {
            path: cpath.clone(),
            name: {
                let n = text::normalize(display.trim());
                if n.is_empty() {
                    cpath.leaf().to_string()
                } else {
                    n
                }
            },
            codable: el
                .attr("isCodable")
                .map(|v| v.trim() == "true" || v.trim() == "1")
                .unwrap_or(true),
            definition: if details.is_some() {
                opt(d.definition)
            } else {
                desc
            },
            inclusion: opt(d.inclusion),
            exclusion: opt(d.exclusion),
            example: opt(d.example),
            colour: col,
        };
        match slot {
            Some(i) => self.codes[i] = code,
            None => self.codes.push(code),
        }
        self.code_of.insert(guid, cpath.clone());
        let refs: Vec<String> = el
            .all("NoteRef")
            .filter_map(|r| r.attr("targetGUID").map(norm_guid))
            .collect();
        if !refs.is_empty() {
            self.note_refs.push((refs, cpath.clone()));
        }
        for c in el.all("Code") {
            self.walk(c, Some(cpath.as_str()));
        }
    }
}
