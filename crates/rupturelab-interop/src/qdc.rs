//! REFI-QDA codebooks (`.qdc`): a study's codebook for another program, and
//! another program's codebook (ATLAS.ti, NVivo, MAXQDA, QualCoder, Taguette)
//! for a study.

use std::collections::HashSet;
use std::fmt::Write as _;

use rupturelab_core::{Code, MemoTarget, StudyData};

use crate::archive::Limits;
use crate::codebook::{code_description, norm_guid, CodeBuilder, CodeDetails, Cx};
use crate::error::{InteropError, Problem, Result};
use crate::guid::guid;
use crate::xml::{self, attr, text};

/// Name of the Set in which RuptureLab keeps code keys and criteria.
const DETAILS_SET: &str = "RuptureLab code details";

#[derive(serde::Serialize, serde::Deserialize)]
struct DetailsList {
    #[serde(default)]
    code: Vec<CodeDetails>,
}

/// Writes the study's codebook as a `.qdc` document (validates against
/// `Codebook.xsd`). Keys and criteria that the format has no attribute for
/// are also kept in a Set named `RuptureLab code details`, so the codebook
/// reads back exactly.
pub fn export_qdc(study: &StudyData) -> String {
    let key = study.meta.key.as_str();
    let mut out = String::new();
    let _ = writeln!(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    let _ = writeln!(
        out,
        "<CodeBook xmlns=\"urn:QDA-XML:codebook:1.0\" origin=\"RuptureLab {}\">",
        env!("CARGO_PKG_VERSION")
    );
    out.push_str("<Codes>\n");
    let mut details = DetailsList { code: Vec::new() };
    fn write(
        out: &mut String,
        details: &mut DetailsList,
        codes: &[Code],
        parent: Option<&str>,
        key: &str,
    ) {
        for c in codes
            .iter()
            .filter(|c| c.path.parent().as_ref().map(|p| p.as_str()) == parent)
        {
            let g = guid(key, "code", &[c.path.as_str()]);
            let _ = write!(
                out,
                "<Code guid=\"{g}\" name=\"{}\" isCodable=\"{}\"",
                attr(&c.name),
                c.codable
            );
            if let Some(col) = &c.colour {
                let _ = write!(out, " color=\"{}\"", attr(col));
            }
            out.push('>');
            if let Some(d) = code_description(c) {
                let _ = write!(out, "<Description>{}</Description>", text(&d));
            }
            if let Some(mut d) = CodeDetails::of(c) {
                d.guid = Some(g);
                details.code.push(d);
            }
            out.push('\n');
            write(out, details, codes, Some(c.path.as_str()), key);
            out.push_str("</Code>\n");
        }
    }
    write(&mut out, &mut details, &study.codes, None, key);
    out.push_str("</Codes>\n");
    if !details.code.is_empty() {
        let _ = writeln!(
            out,
            "<Sets><Set guid=\"{}\" name=\"{DETAILS_SET}\"><Description>{}</Description></Set></Sets>",
            guid(key, "details-set", &[]),
            text(&toml::to_string(&details).unwrap_or_default())
        );
    }
    out.push_str("</CodeBook>\n");
    out
}

/// How to read a codebook.
#[derive(Debug, Clone, Default)]
pub struct CodebookOptions {
    /// Safety limits.
    pub limits: Limits,
    /// Split flat code names into a hierarchy at this separator (`::`).
    pub split_names: Option<String>,
    /// The file name used in messages.
    pub label: String,
}

/// A codebook read from a file.
#[derive(Debug, Clone)]
pub struct ImportedCodebook {
    /// The codes, parents before children.
    pub codes: Vec<Code>,
    /// The file's `origin` attribute.
    pub origin: String,
    /// Whether RuptureLab wrote it (read exactly).
    pub rupturelab: bool,
    /// What was dropped or changed.
    pub warnings: Vec<String>,
}

fn import_qdc_inner(bytes: &[u8], opts: &CodebookOptions) -> Result<ImportedCodebook> {
    let file = if opts.label.is_empty() {
        "codebook.qdc".to_string()
    } else {
        opts.label.clone()
    };
    if bytes.len() as u64 > opts.limits.max_entry_bytes {
        return Err(InteropError::Limit(Problem::file(
            &file,
            format!(
                "is larger than the limit of {} bytes",
                opts.limits.max_entry_bytes
            ),
        )));
    }
    let src = xml::decode(bytes, &file)?;
    let root = xml::parse(&src, &file, opts.limits.max_xml_depth)?;
    let book = match root.name.as_str() {
        "CodeBook" => &root,
        "Project" => root.child("CodeBook").ok_or_else(|| {
            InteropError::from(Problem::file(&file, "is a project without a codebook"))
        })?,
        other => {
            return Err(Problem::at(
                &file,
                Some(root.line),
                Some(&format!("<{other}>")),
                "the root element is not <CodeBook>; is this a REFI-QDA codebook (.qdc)?",
            )
            .into())
        }
    };
    let origin = book
        .attr("origin")
        .or(root.attr("origin"))
        .unwrap_or("")
        .to_string();
    let mut cx = Cx::new(&file);
    let sets: Vec<&xml::Element> = book
        .child("Sets")
        .into_iter()
        .flat_map(|s| s.all("Set"))
        .collect();
    let details_set = sets
        .iter()
        .find(|s| s.attr("name") == Some(DETAILS_SET) && origin.starts_with("RuptureLab"));
    let exact = details_set.is_some() || origin.starts_with("RuptureLab");
    let mut details = std::collections::HashMap::new();
    if let Some(set) = details_set {
        match toml::from_str::<DetailsList>(set.child_text("Description").unwrap_or("")) {
            Ok(list) => {
                for d in list.code {
                    if let Some(g) = &d.guid {
                        details.insert(norm_guid(g), d.clone());
                    }
                }
            }
            Err(e) => cx.err(
                set.line,
                DETAILS_SET,
                format!("cannot be read: {}", e.message()),
            ),
        }
    }
    let codes = {
        let mut b = CodeBuilder::new(&mut cx, exact, opts.split_names.clone());
        b.details = details;
        match book.child("Codes") {
            Some(c) => b.read(c),
            None => {
                let line = book.line;
                b.codes.clear();
                drop(b);
                cx.err(
                    line,
                    "<CodeBook>",
                    "has no <Codes>; the file holds no codebook",
                );
                return Err(InteropError::Invalid(cx.problems));
            }
        }
        b.codes
    };
    if codes.is_empty() {
        cx.err(book.line, "<Codes>", "holds no codes");
    }
    let foreign_sets = sets
        .iter()
        .filter(|s| s.attr("name") != Some(DETAILS_SET))
        .count();
    if foreign_sets > 0 {
        cx.warnings.push(format!(
            "{file}: {foreign_sets} code group(s) (<Set>) not imported; RuptureLab groups codes by their hierarchy"
        ));
    }
    if !cx.problems.is_empty() {
        return Err(InteropError::Invalid(cx.problems));
    }
    Ok(ImportedCodebook {
        codes,
        origin,
        rupturelab: exact,
        warnings: cx.warnings,
    })
}

/// Replaces a study's codebook. Fails, changing nothing, if a coding or a
/// memo refers to a code the new codebook lacks (or makes not codable).
pub fn replace_codebook(study: &mut StudyData, codes: Vec<Code>, file: &str) -> Result<()> {
    let mut problems = Vec::new();
    let paths: HashSet<&str> = codes.iter().map(|c| c.path.as_str()).collect();
    let mut reported = HashSet::new();
    for c in &study.codings {
        let ok = codes.iter().find(|x| x.path == c.code).map(|x| x.codable);
        let msg = match ok {
            None => format!("the study's codings use `{}`, which this codebook does not have; add it (or rename it back) before importing", c.code),
            Some(false) => format!("the study's codings use `{}`, which this codebook marks not codable", c.code),
            Some(true) => continue,
        };
        if reported.insert(c.code.clone()) && problems.len() < 50 {
            problems.push(Problem::file(file, msg));
        }
    }
    for m in &study.memos {
        if let MemoTarget::Code(p) = &m.target {
            if !paths.contains(p.as_str()) && reported.insert(p.clone()) {
                problems.push(Problem::file(
                    file,
                    format!("a memo is about `{p}`, which this codebook does not have"),
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(InteropError::Invalid(problems));
    }
    study.codes = codes;
    Ok(())
}

/// Reads a `.qdc` codebook (a project's `<CodeBook>` is accepted too).
/// Never panics.
pub fn import_qdc(bytes: &[u8], opts: &CodebookOptions) -> Result<ImportedCodebook> {
    crate::error::guard(&opts.label, || import_qdc_inner(bytes, opts))
}
