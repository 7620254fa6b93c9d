//! Reading a REFI-QDA project: RuptureLab's own exports exactly, other
//! programs' exports tolerantly.

use std::collections::{BTreeMap, HashMap, HashSet};

use rupturelab_core::folder::{self, FolderFiles};
use rupturelab_core::text;
use rupturelab_core::{
    Answer, AttrValue, AttributeDef, AttributeType, CodePath, Coder, Coding, Key, Memo, MemoTarget,
    Participant, ParticipantStatus, Question, QuestionKind, QuestionScope, Response, ResponseKey,
    Span, StudyData, Timestamp,
};

use super::*;
use crate::archive::{Archive, Limits};
use crate::codebook::{
    norm_guid, parse_ts, sanitize_key, unique_key, CodeBuilder, CodeDetails, Cx,
};
use crate::error::{InteropError, Problem, Result};
use crate::positions::{convert, PositionUnit};
use crate::xml::{self, Element};

/// How to read a project.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Safety limits.
    pub limits: Limits,
    /// How selections count text positions; `None` decides by the project's
    /// `origin` (UTF-16 units for NVivo, code points otherwise).
    pub positions: Option<PositionUnit>,
    /// Split flat code names into a hierarchy at this separator (ATLAS.ti
    /// writes `Parent::Child`), e.g. `Some("::")`.
    pub split_names: Option<String>,
    /// The study key to use (default: from the project name or the design).
    pub key: Option<Key>,
    /// The file name used in messages.
    pub label: String,
}

/// A study read from a project, with what could not be kept.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The study.
    pub study: StudyData,
    /// The project's `origin` attribute.
    pub origin: String,
    /// Whether the project was written by RuptureLab (read exactly).
    pub rupturelab: bool,
    /// How selection positions were read.
    pub unit: PositionUnit,
    /// What was dropped or changed, for the user to review.
    pub warnings: Vec<String>,
}

/// The archive (or a bare `.qde`) and where sources come from.
struct Input<'a> {
    archive: Option<Archive<'a>>,
    /// Entry index by lower-case name and by lower-case file name.
    by_name: HashMap<String, usize>,
    by_file: HashMap<String, usize>,
}

impl<'a> Input<'a> {
    fn new(archive: Option<Archive<'a>>) -> Self {
        let mut by_name = HashMap::new();
        let mut by_file = HashMap::new();
        if let Some(a) = &archive {
            for (i, n) in a.names.iter().enumerate() {
                let l = n.to_lowercase();
                let file = l.rsplit('/').next().unwrap_or(&l).to_string();
                by_file.entry(file).or_insert(i);
                by_name.entry(l).or_insert(i);
            }
        }
        Input {
            archive,
            by_name,
            by_file,
        }
    }
}

impl Input<'_> {
    /// Reads a source file named by `internal://…` (or `relative://`,
    /// `absolute://`, which are outside the archive).
    fn source(&mut self, path: &str) -> std::result::Result<Vec<u8>, String> {
        let p = path.trim();
        let (scheme, rest) = p.split_once("://").unwrap_or(("internal", p));
        match scheme.to_ascii_lowercase().as_str() {
            "internal" => {}
            "relative" | "absolute" => {
                return Err(format!(
                "`{p}` is outside the archive; export the project again with its sources embedded"
            ))
            }
            other => return Err(format!("`{p}` has an unknown scheme `{other}://`")),
        }
        let Some(archive) = self.archive.as_mut() else {
            return Err(format!(
                "`{p}` is not available: a bare .qde file holds no sources; import the .qdpx archive instead"
            ));
        };
        let want = rest.trim_start_matches('/').to_lowercase();
        let idx = self
            .by_name
            .get(&format!("sources/{want}"))
            .or_else(|| self.by_name.get(&want))
            .or_else(|| self.by_file.get(want.rsplit('/').next().unwrap_or(&want)))
            .copied();
        let Some(idx) = idx else {
            return Err(format!("`{p}` is not in the archive's sources folder"));
        };
        archive.read(idx).map_err(|e| e.to_string())
    }
}

fn decode_text(bytes: &[u8]) -> std::result::Result<String, String> {
    xml::decode(bytes, "")
        .map_err(|_| "the text is neither UTF-8 nor UTF-16 with a byte-order mark".to_string())
}

struct NoteIn {
    name: String,
    text: String,
    user: Option<String>,
    at: Option<Timestamp>,
}

#[derive(Clone)]
enum NoteTarget {
    Project,
    Source(String),
    Code(String),
    Coding,
}

struct Vars {
    /// guid → (name, type).
    by_guid: HashMap<String, (String, String)>,
}

impl Vars {
    fn values(&self, el: &Element) -> Vec<(String, String, String, String)> {
        // (variable guid, name, value element name, value text)
        el.all("VariableValue")
            .filter_map(|vv| {
                let g = norm_guid(vv.child("VariableRef")?.attr("targetGUID")?);
                let (name, _) = self.by_guid.get(&g)?;
                let val = vv.children.iter().find(|c| c.name != "VariableRef")?;
                Some((g, name.clone(), val.name.clone(), val.text.clone()))
            })
            .collect()
    }
    fn rl(&self, el: &Element) -> HashMap<String, String> {
        self.values(el)
            .into_iter()
            .filter_map(|(_, n, _, v)| Some((n.strip_prefix(VAR_PREFIX)?.to_string(), v)))
            .collect()
    }
}

fn import_qdpx_inner(bytes: &[u8], opts: &ImportOptions) -> Result<Imported> {
    let label = if opts.label.is_empty() {
        "project.qdpx".to_string()
    } else {
        opts.label.clone()
    };
    let is_zip = bytes.starts_with(b"PK");
    let mut input = Input::new(if is_zip {
        Some(Archive::open(bytes, &label, opts.limits)?)
    } else {
        None
    });
    let (file, qde) = match input.archive.as_mut() {
        Some(a) => {
            let roots: Vec<usize> = (0..a.names.len())
                .filter(|&i| {
                    let n = &a.names[i];
                    !n.contains('/') && n.to_lowercase().ends_with(".qde")
                })
                .collect();
            let idx = roots
                .iter()
                .copied()
                .find(|&i| a.names[i].eq_ignore_ascii_case("project.qde"))
                .or_else(|| roots.first().copied());
            let Some(idx) = idx else {
                return Err(Problem::file(
                    &label,
                    "holds no .qde file at the top of the archive; is it a REFI-QDA project (.qdpx) export?",
                )
                .into());
            };
            let name = format!("{label}:{}", a.names[idx]);
            (name, a.read(idx)?)
        }
        None => (label.clone(), bytes.to_vec()),
    };
    let src = xml::decode(&qde, &file)?;
    drop(qde);
    let root = xml::parse(&src, &file, opts.limits.max_xml_depth)?;
    drop(src);
    if root.name != "Project" {
        return Err(Problem::at(
            &file,
            Some(root.line),
            Some(&format!("<{}>", root.name)),
            "the root element is not <Project>; for a codebook (.qdc) use import-qdc",
        )
        .into());
    }
    let mut cx = Cx::new(&file);
    let origin = root.attr("origin").unwrap_or("").to_string();
    let unit = opts
        .positions
        .unwrap_or_else(|| PositionUnit::for_origin(&origin));

    // Variables.
    let vars = Vars {
        by_guid: root
            .child("Variables")
            .into_iter()
            .flat_map(|v| v.all("Variable"))
            .filter_map(|v| {
                Some((
                    norm_guid(v.attr("guid")?),
                    (
                        v.attr("name").unwrap_or("").to_string(),
                        v.attr("typeOfVariable").unwrap_or("Text").to_string(),
                    ),
                ))
            })
            .collect(),
    };

    // Notes.
    let mut notes: Vec<(String, NoteIn, usize)> = Vec::new();
    for n in root.child("Notes").into_iter().flat_map(|n| n.all("Note")) {
        let Some(g) = n.attr("guid") else { continue };
        let text = match (n.child_text("PlainTextContent"), n.attr("plainTextPath")) {
            (Some(t), _) => t.to_string(),
            (None, Some(p)) => match input.source(p).and_then(|b| decode_text(&b)) {
                Ok(t) => t,
                Err(e) => {
                    cx.warn(
                        n.line,
                        format!("note `{}` dropped: {e}", n.attr("name").unwrap_or("")),
                    );
                    continue;
                }
            },
            (None, None) => String::new(),
        };
        notes.push((
            norm_guid(g),
            NoteIn {
                name: n.attr("name").unwrap_or("").to_string(),
                text: text::normalize(text.strip_prefix('\u{FEFF}').unwrap_or(&text)),
                user: n.attr("creatingUser").map(norm_guid),
                at: parse_ts(n.attr("creationDateTime")),
            },
            n.line,
        ));
    }
    let note_idx: HashMap<String, usize> = notes
        .iter()
        .enumerate()
        .map(|(i, (g, _, _))| (g.clone(), i))
        .collect();
    let mut note_targets: Vec<Vec<NoteTarget>> = vec![Vec::new(); notes.len()];
    let refs = |el: &Element| -> Vec<usize> {
        el.all("NoteRef")
            .filter_map(|r| note_idx.get(&norm_guid(r.attr("targetGUID")?)).copied())
            .collect()
    };

    // The study design, when RuptureLab wrote the project.
    let project_notes = refs(&root);
    let design_note = project_notes
        .iter()
        .copied()
        .find(|&i| notes[i].1.name == DESIGN_NOTE);
    let audit_note = project_notes
        .iter()
        .copied()
        .find(|&i| notes[i].1.name == AUDIT_NOTE);
    let rl = design_note.is_some();
    for &i in &project_notes {
        if Some(i) != design_note && Some(i) != audit_note {
            note_targets[i].push(NoteTarget::Project);
        }
    }

    let sources_el = root.child("Sources");
    let mut study = if let Some(d) = design_note {
        let mut files = FolderFiles::new();
        files.insert("study.toml".into(), notes[d].1.text.clone().into_bytes());
        if let Some(a) = audit_note {
            files.insert("audit.csv".into(), notes[a].1.text.clone().into_bytes());
        }
        for s in sources_el.into_iter().flat_map(|s| s.all("TextSource")) {
            let v = vars.rl(s);
            if v.get("role").map(String::as_str) != Some("segment") {
                continue;
            }
            let Some(k) = v.get("segment") else { continue };
            let body = match (s.child_text("PlainTextContent"), s.attr("plainTextPath")) {
                (Some(t), _) => Ok(t.to_string()),
                (None, Some(p)) => input.source(p).and_then(|b| decode_text(&b)),
                (None, None) => Ok(String::new()),
            };
            match body {
                Ok(b) => {
                    let header = s.child_text("Description").unwrap_or("");
                    files.insert(
                        format!("segments/{k}.txt"),
                        format!("{header}---\n{b}").into_bytes(),
                    );
                }
                Err(e) => cx.err(s.line, "<TextSource>", format!("segment `{k}`: {e}")),
            }
        }
        match folder::parse_folder(&files) {
            Ok(s) => s,
            Err(errs) => {
                for e in errs.0 {
                    cx.err(
                        notes[d].2,
                        &format!("RuptureLab design ({})", e.file),
                        e.to_string(),
                    );
                }
                return Err(InteropError::Invalid(cx.problems));
            }
        }
    } else {
        let name = root.attr("name").unwrap_or("").trim();
        let key = sanitize_key(name, "imported");
        let mut s = StudyData::new(
            Key::parse(&key).unwrap_or_else(|_| Key::parse("imported").expect("valid")),
            if name.is_empty() {
                "Imported project"
            } else {
                name
            },
        );
        s.meta.title = text::normalize(&s.meta.title);
        s.meta.description = text::normalize(root.child_text("Description").unwrap_or(""));
        s
    };
    if let Some(k) = &opts.key {
        study.meta.key = k.clone();
    }

    // Users → coders.
    let mut users: HashMap<String, Key> = HashMap::new();
    let mut taken_users: HashSet<String> =
        study.coders.iter().map(|c| c.name.to_string()).collect();
    for u in root.child("Users").into_iter().flat_map(|u| u.all("User")) {
        let Some(g) = u.attr("guid") else { continue };
        let raw = u.attr("name").unwrap_or("");
        let key = if rl {
            match Key::parse(raw) {
                Ok(k) => k,
                Err(e) => {
                    cx.err(u.line, "<User name>", format!("the coder name {e}"));
                    continue;
                }
            }
        } else {
            let base = sanitize_key(raw, "user");
            let k = unique_key(&base, &mut taken_users);
            if !study.coders.iter().any(|c| c.name == k) {
                study.coders.push(Coder { name: k.clone() });
            }
            k
        };
        users.insert(norm_guid(g), key);
    }

    // Codes (with RuptureLab's details notes, when it wrote the file).
    let mut details: HashMap<String, CodeDetails> = HashMap::new();
    if rl {
        fn visit(el: &Element, f: &mut dyn FnMut(&Element)) {
            for c in el.all("Code") {
                f(c);
                visit(c, f);
            }
        }
        if let Some(codes) = root.child("CodeBook").and_then(|c| c.child("Codes")) {
            visit(codes, &mut |c: &Element| {
                let Some(g) = c.attr("guid") else { return };
                for i in refs(c) {
                    if notes[i].1.name == CODE_NOTE {
                        match toml::from_str::<CodeDetails>(&notes[i].1.text) {
                            Ok(d) => {
                                details.insert(norm_guid(g), d);
                            }
                            Err(e) => cx.err(
                                notes[i].2,
                                CODE_NOTE,
                                format!("cannot be read: {}", e.message()),
                            ),
                        }
                    }
                }
            });
        }
    }
    let (codes, code_of, code_notes) = {
        let mut b = CodeBuilder::new(&mut cx, rl, opts.split_names.clone());
        b.details = details;
        if let Some(codes) = root.child("CodeBook").and_then(|c| c.child("Codes")) {
            b.read(codes);
        }
        (b.codes, b.code_of, b.note_refs)
    };
    study.codes = codes;
    for (guids, path) in code_notes {
        for g in guids {
            if let Some(&i) = note_idx.get(&g) {
                if !(rl && notes[i].1.name == CODE_NOTE) {
                    note_targets[i].push(NoteTarget::Code(path.to_string()));
                }
            }
        }
    }

    // Cases → participants.
    let design_attrs = study.attributes.clone();
    let mut owner: HashMap<String, Key> = HashMap::new();
    let mut taken_p: HashSet<String> = HashSet::new();
    let mut foreign_attr: HashMap<String, usize> = HashMap::new();
    let mut taken_attr: HashSet<String> = ["code", "status", "segment_order"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut explicit_status: HashSet<Key> = HashSet::new();
    for c in root.child("Cases").into_iter().flat_map(|c| c.all("Case")) {
        let raw = c.attr("name").unwrap_or("");
        let code = if rl {
            match Key::parse(raw) {
                Ok(k) => {
                    taken_p.insert(k.to_string());
                    k
                }
                Err(e) => {
                    cx.err(c.line, "<Case name>", format!("the participant code {e}"));
                    continue;
                }
            }
        } else {
            unique_key(&sanitize_key(raw, "case"), &mut taken_p)
        };
        let mut p = Participant {
            code: code.clone(),
            status: ParticipantStatus::Invited,
            order: Vec::new(),
            attributes: BTreeMap::new(),
        };
        for (g, name, el, val) in vars.values(c) {
            if let Some(v) = name.strip_prefix(VAR_PREFIX) {
                match v {
                    "status" => match ParticipantStatus::parse(&val) {
                        Ok(s) => {
                            p.status = s;
                            explicit_status.insert(code.clone());
                        }
                        Err(e) => cx.err(c.line, "RuptureLab:status", e),
                    },
                    "segment_order" => {
                        for k in val.split(';').filter(|s| !s.is_empty()) {
                            match Key::parse(k) {
                                Ok(k) => p.order.push(k),
                                Err(e) => cx.err(
                                    c.line,
                                    "RuptureLab:segment_order",
                                    format!("the key {e}"),
                                ),
                            }
                        }
                    }
                    _ => {}
                }
                continue;
            }
            if rl {
                match design_attrs.iter().find(|a| a.name.as_str() == name) {
                    Some(def) => match def.parse_value(&val) {
                        Ok(v) => {
                            p.attributes.insert(name.clone(), v);
                        }
                        Err(e) => cx.err(c.line, &format!("variable `{name}`"), e),
                    },
                    None => cx.err(
                        c.line,
                        &format!("variable `{name}`"),
                        "is not an attribute of the study design",
                    ),
                }
            } else {
                let idx = *foreign_attr.entry(g.clone()).or_insert_with(|| {
                    let (_, ty) = vars.by_guid.get(&g).cloned().unwrap_or_default();
                    let key = unique_key(&sanitize_key(&name, "variable"), &mut taken_attr);
                    let kind = match ty.as_str() {
                        "Integer" => AttributeType::Integer {
                            min: None,
                            max: None,
                        },
                        "Float" => AttributeType::Number {
                            min: None,
                            max: None,
                        },
                        "Boolean" => AttributeType::Boolean,
                        _ => AttributeType::Text,
                    };
                    study.attributes.push(AttributeDef {
                        label: text::normalize(&name),
                        name: key,
                        kind,
                        bands: Vec::new(),
                        required: false,
                    });
                    study.attributes.len() - 1
                });
                let def = &study.attributes[idx];
                let value = match (el.as_str(), &def.kind) {
                    ("TextValue" | "DateValue" | "DateTimeValue", AttributeType::Text) => {
                        Some(AttrValue::Text(text::normalize(&val)))
                    }
                    _ => def.parse_value(&val).ok(),
                };
                match value {
                    Some(v) => {
                        p.attributes.insert(def.name.to_string(), v);
                    }
                    None => cx.warn(
                        c.line,
                        format!("case `{raw}`: value `{val}` of variable `{name}` is not a {} and was dropped", def.kind.name()),
                    ),
                }
            }
        }
        for s in c.all("SourceRef") {
            if let Some(t) = s.attr("targetGUID") {
                owner.entry(norm_guid(t)).or_insert_with(|| code.clone());
            }
        }
        study.participants.push(p);
    }

    // Sources → responses (or documents) and codings.
    let mut codings: Vec<(usize, Coding, usize)> = Vec::new(); // (response index, coding, line)
    let mut source_response: HashMap<String, usize> = HashMap::new();
    let mut taken_q: HashSet<String> = study.questions.iter().map(|q| q.key.to_string()).collect();
    let mut dropped: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unknown_coder: Option<Key> = None;
    let mut doc_participants: HashSet<Key> = HashSet::new();
    // (source element, its name, the outer PDF source's GUID)
    let mut text_sources: Vec<(&Element, String, Option<String>)> = Vec::new();
    for s in sources_el.iter().flat_map(|s| s.children.iter()) {
        match s.name.as_str() {
            "TextSource" => text_sources.push((s, s.attr("name").unwrap_or("").to_string(), None)),
            "PDFSource" => match s.child("Representation") {
                Some(r) => {
                    let name = r
                        .attr("name")
                        .or(s.attr("name"))
                        .unwrap_or("PDF")
                        .to_string();
                    if s.all("PDFSelection").next().is_some() {
                        *dropped.entry("PDF area selections").or_default() +=
                            s.all("PDFSelection").count();
                    }
                    text_sources.push((r, name, s.attr("guid").map(norm_guid)));
                }
                None => {
                    *dropped
                        .entry("PDF sources without a text representation")
                        .or_default() += 1
                }
            },
            "PictureSource" => *dropped.entry("picture sources").or_default() += 1,
            "AudioSource" => *dropped.entry("audio sources").or_default() += 1,
            "VideoSource" => *dropped.entry("video sources").or_default() += 1,
            _ => {}
        }
    }
    for (s, name, outer_guid) in &text_sources {
        let s: &Element = s;
        let rlv = vars.rl(s);
        if rl && rlv.get("role").map(String::as_str) == Some("segment") {
            continue; // read with the design
        }
        let guid = norm_guid(s.attr("guid").unwrap_or(""));
        let name = name.clone();
        let raw = match (s.child_text("PlainTextContent"), s.attr("plainTextPath")) {
            (Some(t), _) => Ok(t.to_string()),
            (None, Some(p)) => input.source(p).and_then(|b| decode_text(&b)),
            (None, None) => Err("it has neither PlainTextContent nor plainTextPath".to_string()),
        };
        let raw = match raw {
            Ok(r) => r,
            Err(e) => {
                if rl {
                    cx.err(s.line, "<TextSource>", format!("source `{name}`: {e}"));
                } else {
                    cx.warn(
                        s.line,
                        format!("source `{name}` and its codings dropped: {e}"),
                    );
                }
                continue;
            }
        };
        let sels: Vec<&Element> = s.all("PlainTextSelection").collect();
        let mut positions = Vec::with_capacity(sels.len() * 2);
        let mut bad_pos = vec![false; sels.len()];
        for (i, sel) in sels.iter().enumerate() {
            let a = sel
                .attr("startPosition")
                .and_then(|v| v.trim().parse::<usize>().ok());
            let b = sel
                .attr("endPosition")
                .and_then(|v| v.trim().parse::<usize>().ok());
            match (a, b) {
                (Some(a), Some(b)) => positions.extend([a, b]),
                _ => {
                    bad_pos[i] = true;
                    positions.extend([0, 0]);
                }
            }
        }
        let conv = convert(&raw, &positions, unit);
        let text_stored = conv.text;

        // The response key.
        let key = if rl {
            let get = |k: &str, cx: &mut Cx| -> Option<Key> {
                let v = rlv.get(k)?;
                match Key::parse(v) {
                    Ok(k) => Some(k),
                    Err(e) => {
                        cx.err(s.line, &format!("RuptureLab:{k}"), format!("the key {e}"));
                        None
                    }
                }
            };
            let (Some(p), Some(q)) = (get("participant", &mut cx), get("question", &mut cx)) else {
                cx.err(s.line, "<TextSource>", format!("source `{name}` has no RuptureLab:participant and RuptureLab:question variables"));
                continue;
            };
            ResponseKey {
                participant: p,
                segment: get("segment", &mut cx),
                question: q,
            }
        } else {
            let participant = owner
                .get(&guid)
                .or_else(|| outer_guid.as_ref().and_then(|g| owner.get(g)))
                .cloned()
                .unwrap_or_else(|| {
                    let k = unique_key(&sanitize_key(&name, "document"), &mut taken_p);
                    doc_participants.insert(k.clone());
                    study.participants.push(Participant {
                        code: k.clone(),
                        status: ParticipantStatus::Invited,
                        order: Vec::new(),
                        attributes: BTreeMap::new(),
                    });
                    k
                });
            let q = unique_key(&sanitize_key(&name, "document"), &mut taken_q);
            study.questions.push(Question {
                key: q.clone(),
                kind: QuestionKind::Open,
                scope: QuestionScope::Once,
                prompt: text::normalize(if name.is_empty() { "Document" } else { &name }),
            });
            // Variables of an uncased document describe its participant.
            if doc_participants.contains(&participant) {
                for (_, vname, _, val) in vars.values(s) {
                    if vname.starts_with(VAR_PREFIX) {
                        continue;
                    }
                    let base = sanitize_key(&vname, "variable");
                    let akey = match study.attributes.iter().find(|a| a.label == vname) {
                        Some(a) => a.name.clone(),
                        None => {
                            let k = unique_key(&base, &mut taken_attr);
                            study.attributes.push(AttributeDef {
                                name: k.clone(),
                                label: text::normalize(&vname),
                                kind: AttributeType::Text,
                                bands: Vec::new(),
                                required: false,
                            });
                            k
                        }
                    };
                    if let Some(p) = study
                        .participants
                        .iter_mut()
                        .find(|p| p.code == participant)
                    {
                        p.attributes
                            .entry(akey.to_string())
                            .or_insert(AttrValue::Text(text::normalize(&val)));
                    }
                }
            }
            ResponseKey {
                participant,
                segment: None,
                question: q,
            }
        };
        let answer = match study
            .questions
            .iter()
            .find(|q| q.key == key.question)
            .map(|q| &q.kind)
        {
            Some(QuestionKind::Open) | None => Answer::Text(text_stored.clone()),
            Some(QuestionKind::Likert { min, max, .. }) => {
                match text_stored.trim().parse::<i64>() {
                    Ok(v) if (*min..=*max).contains(&v) => Answer::Rating(v),
                    _ => {
                        cx.err(
                            s.line,
                            "sources",
                            format!(
                                "response {key}: `{}` is not a rating from {min} to {max}",
                                text_stored.trim()
                            ),
                        );
                        continue;
                    }
                }
            }
            Some(QuestionKind::Choice { .. }) => Answer::Choice(text_stored.clone()),
        };
        let ri = study.responses.len();
        source_response.insert(guid.clone(), ri);
        if let Some(g) = outer_guid {
            source_response.insert(g.clone(), ri);
        }
        study.responses.push(Response {
            key: key.clone(),
            answer,
            created_at: parse_ts(s.attr("creationDateTime")),
            updated_at: parse_ts(s.attr("modifiedDateTime")),
        });
        for i in refs(s) {
            note_targets[i].push(NoteTarget::Source(guid.clone()));
        }
        let len = text::char_len(&text_stored);
        let coder_of = |el: &Element,
                        fallback: Option<&str>,
                        cx: &mut Cx,
                        unknown: &mut Option<Key>,
                        coders: &mut Vec<Coder>|
         -> Key {
            let u = el.attr("creatingUser").or(fallback).map(norm_guid);
            if let Some(k) = u.as_ref().and_then(|u| users.get(u)) {
                return k.clone();
            }
            if rl {
                cx.err(el.line, "creatingUser", "names no <User> of the project");
            }
            unknown
                .get_or_insert_with(|| {
                    let k = Key::parse("unknown coder").expect("valid");
                    if !coders.iter().any(|c| c.name == k) {
                        coders.push(Coder { name: k.clone() });
                    }
                    k
                })
                .clone()
        };
        let code_ref = |el: &Element, cx: &mut Cx| -> Option<CodePath> {
            let g = el
                .child("CodeRef")
                .and_then(|c| c.attr("targetGUID"))
                .map(norm_guid);
            match g.as_ref().and_then(|g| code_of.get(g)) {
                Some(p) => Some(p.clone()),
                None => {
                    if rl {
                        cx.err(el.line, "<CodeRef>", "names no code of the codebook");
                    } else {
                        cx.warn(
                            el.line,
                            "a coding whose code is not in the codebook was dropped",
                        );
                    }
                    None
                }
            }
        };
        let memo_of = |el: &Element| -> Option<String> {
            let ts: Vec<&str> = refs(el)
                .into_iter()
                .map(|i| notes[i].1.text.as_str())
                .collect();
            (!ts.is_empty()).then(|| ts.join("\n\n"))
        };
        for (i, sel) in sels.iter().enumerate() {
            let (a, b) = (conv.offsets[2 * i], conv.offsets[2 * i + 1]);
            let span = match (bad_pos[i], a, b) {
                (false, Some(a), Some(b)) if a < b && b <= len => Span { start: a, end: b },
                _ => {
                    let msg = format!(
                        "selection {}–{} ({}) does not fit the text of `{name}` ({len} characters)",
                        sel.attr("startPosition").unwrap_or("?"),
                        sel.attr("endPosition").unwrap_or("?"),
                        unit.name()
                    );
                    if rl {
                        cx.err(sel.line, "<PlainTextSelection>", msg);
                    } else {
                        cx.warn(sel.line, format!("{msg}; its codings were dropped"));
                    }
                    continue;
                }
            };
            for i in refs(sel) {
                note_targets[i].push(NoteTarget::Source(guid.clone()));
            }
            for c in sel.all("Coding") {
                let Some(code) = code_ref(c, &mut cx) else {
                    continue;
                };
                for i in refs(c) {
                    note_targets[i].push(NoteTarget::Coding);
                }
                let coder = coder_of(
                    c,
                    sel.attr("creatingUser"),
                    &mut cx,
                    &mut unknown_coder,
                    &mut study.coders,
                );
                codings.push((
                    ri,
                    Coding {
                        coder,
                        response: key.clone(),
                        code,
                        span: Some(span),
                        memo: memo_of(c),
                    },
                    c.line,
                ));
            }
        }
        for c in s.all("Coding") {
            let Some(code) = code_ref(c, &mut cx) else {
                continue;
            };
            for i in refs(c) {
                note_targets[i].push(NoteTarget::Coding);
            }
            let coder = coder_of(
                c,
                s.attr("creatingUser"),
                &mut cx,
                &mut unknown_coder,
                &mut study.coders,
            );
            codings.push((
                ri,
                Coding {
                    coder,
                    response: key.clone(),
                    code,
                    span: None,
                    memo: memo_of(c),
                },
                c.line,
            ));
        }
    }

    // Codings: by coder, then response, in document order; no duplicates.
    let coder_pos: HashMap<Key, usize> = study
        .coders
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.clone(), i))
        .collect();
    codings.sort_by_key(|(ri, c, _)| (coder_pos.get(&c.coder).copied().unwrap_or(usize::MAX), *ri));
    let mut seen = HashSet::new();
    for (_, c, line) in codings {
        if !seen.insert((c.coder.clone(), c.response.clone(), c.code.clone(), c.span)) {
            cx.warn(
                line,
                format!(
                    "a duplicate coding of {} by {} with `{}` was dropped",
                    c.response, c.coder, c.code
                ),
            );
            continue;
        }
        if let Some(code) = study.codes.iter_mut().find(|x| x.path == c.code) {
            if !code.codable {
                if rl {
                    cx.err(
                        line,
                        "<CodeRef>",
                        format!(
                            "`{}` is not codable (isCodable=\"false\") but has codings",
                            c.code
                        ),
                    );
                } else {
                    code.codable = true;
                    cx.warn(
                        line,
                        format!(
                            "code `{}` is marked not codable but has codings; it is made codable",
                            c.code
                        ),
                    );
                }
            }
        }
        study.codings.push(c);
    }

    // Participants' status when the file does not say.
    let answered: HashSet<Key> = study
        .responses
        .iter()
        .map(|r| r.key.participant.clone())
        .collect();
    for p in &mut study.participants {
        if !explicit_status.contains(&p.code) && answered.contains(&p.code) {
            p.status = ParticipantStatus::Completed;
        }
    }

    // Memos, in the order of the Notes.
    for (i, (_, n, line)) in notes.iter().enumerate() {
        let targets = note_targets[i].clone();
        let author = n
            .name
            .strip_prefix(MEMO_PREFIX)
            .map(str::to_string)
            .or_else(|| {
                n.user
                    .as_ref()
                    .and_then(|u| users.get(u))
                    .map(|k| k.to_string())
            })
            .unwrap_or_else(|| {
                if n.name.is_empty() {
                    "unknown".into()
                } else {
                    n.name.clone()
                }
            });
        let text = if rl || n.name.is_empty() || n.name.starts_with(MEMO_PREFIX) {
            n.text.clone()
        } else {
            format!("{}\n\n{}", text::normalize(&n.name), n.text)
        };
        let mk = |target| Memo {
            author: text::normalize(author.trim()),
            target,
            text: text.clone(),
            created_at: n.at,
        };
        if targets.is_empty() {
            let special = [DESIGN_NOTE, AUDIT_NOTE, CODE_NOTE, CODING_MEMO_NOTE];
            if !(rl && special.contains(&n.name.as_str()))
                && Some(i) != design_note
                && Some(i) != audit_note
            {
                if rl {
                    cx.warn(
                        *line,
                        format!(
                            "note `{}` is not attached to anything; kept as a study memo",
                            n.name
                        ),
                    );
                }
                study.memos.push(mk(MemoTarget::Study));
            }
            continue;
        }
        for t in targets {
            match t {
                NoteTarget::Project => study.memos.push(mk(MemoTarget::Study)),
                NoteTarget::Code(p) => {
                    if let Ok(p) = CodePath::parse(&p) {
                        study.memos.push(mk(MemoTarget::Code(p)));
                    }
                }
                NoteTarget::Source(g) => match source_response.get(&g) {
                    Some(&ri) => study
                        .memos
                        .push(mk(MemoTarget::Response(study.responses[ri].key.clone()))),
                    None => study.memos.push(mk(MemoTarget::Study)),
                },
                NoteTarget::Coding => {}
            }
        }
    }

    for (what, n) in dropped {
        cx.warnings.push(format!(
            "{file}: {n} {what} not imported (RuptureLab keeps text only)"
        ));
    }
    for (el, what) in [("Links", "links"), ("Graphs", "graphs")] {
        if let Some(e) = root.child(el) {
            let n = e.children.len();
            if n > 0 {
                cx.warnings.push(format!(
                    "{file}: {n} {what} not imported (RuptureLab has no such element)"
                ));
            }
        }
    }
    if !rl {
        if let Some(sets) = root.child("Sets") {
            let n = sets.all("Set").count();
            if n > 0 {
                cx.warnings.push(format!("{file}: {n} sets not imported (groupings of codes or sources; RuptureLab groups by segment and question)"));
            }
        }
        if root
            .child("Cases")
            .into_iter()
            .flat_map(|c| c.all("Case"))
            .any(|c| c.all("SelectionRef").next().is_some() || c.all("CodeRef").next().is_some())
        {
            cx.warnings.push(format!(
                "{file}: case links to selections or codes not imported"
            ));
        }
    }
    drop(text_sources);
    drop(root);
    if !cx.problems.is_empty() {
        return Err(InteropError::Invalid(cx.problems));
    }
    // The converted study must satisfy every rule of the folder format.
    if let Err(errs) = folder::parse_folder(&folder::write_folder(&study)) {
        let problems = errs
            .0
            .into_iter()
            .map(|e| Problem::file(&file, format!("after conversion, {e}")))
            .collect();
        return Err(InteropError::Invalid(problems));
    }
    Ok(Imported {
        study,
        origin,
        rupturelab: rl,
        unit,
        warnings: cx.warnings,
    })
}

/// Reads a `.qdpx` archive (or a bare `.qde` file) into a study. Never
/// panics: any input gives a study or an error naming the file.
pub fn import_qdpx(bytes: &[u8], opts: &ImportOptions) -> Result<Imported> {
    crate::error::guard(&opts.label, || import_qdpx_inner(bytes, opts))
}
