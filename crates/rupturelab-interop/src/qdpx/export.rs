//! Writing a study as a REFI-QDA project.

use std::collections::HashMap;
use std::fmt::Write as _;

use rupturelab_core::folder;
use rupturelab_core::{
    AttrValue, AttributeType, Code, Coding, Memo, MemoTarget, ResponseKey, StudyData, Timestamp,
};

use super::*;
use crate::archive::write_zip;
use crate::codebook::{code_description, CodeDetails};
use crate::error::{Problem, Result};
use crate::guid::guid;
use crate::xml::{attr, text};

/// Writes the study as a `.qdpx` archive (deterministic: the same study gives
/// the same bytes).
pub fn export_qdpx(study: &StudyData) -> Result<Vec<u8>> {
    let (qde, sources) = project_qde(study);
    let mut entries = Vec::with_capacity(sources.len() + 1);
    entries.push(("project.qde".to_string(), qde.into_bytes()));
    entries.extend(sources);
    write_zip(&entries)
        .map_err(|e| Problem::file("project.qdpx", format!("cannot build the archive: {e}")).into())
}

/// The study design (`study.toml`) and the segments' header and body, from
/// the folder writer, so they read back exactly.
fn design_files(study: &StudyData) -> folder::FolderFiles {
    let mut design = StudyData::new(study.meta.key.clone(), &study.meta.title);
    design.meta = study.meta.clone();
    design.settings = study.settings.clone();
    design.attributes = study.attributes.clone();
    design.questions = study.questions.clone();
    design.patients = study.patients.clone();
    design.segments = study.segments.clone();
    design.coders = study.coders.clone();
    design.audit = study.audit.clone();
    folder::write_folder(&design)
}

fn ts_attr(name: &str, t: Option<Timestamp>) -> String {
    t.map(|t| format!(" {name}=\"{}\"", t.to_rfc3339()))
        .unwrap_or_default()
}

fn response_name(k: &ResponseKey) -> String {
    match &k.segment {
        Some(s) => format!("{} – {} – {}", k.participant, s, k.question),
        None => format!("{} – {}", k.participant, k.question),
    }
}

struct Ids<'a> {
    key: &'a str,
}

impl Ids<'_> {
    fn g(&self, kind: &str, parts: &[&str]) -> String {
        guid(self.key, kind, parts)
    }
    fn user(&self, name: &str) -> String {
        self.g("user", &[name])
    }
    fn code(&self, path: &str) -> String {
        self.g("code", &[path])
    }
    fn var(&self, name: &str) -> String {
        self.g("variable", &[name])
    }
    fn rl_var(&self, name: &str) -> String {
        self.g("rl-variable", &[name])
    }
    fn response(&self, k: &ResponseKey) -> String {
        self.g("response", &[&k.to_string()])
    }
    fn segment(&self, key: &str) -> String {
        self.g("segment", &[key])
    }
    fn coding(&self, kind: &str, c: &Coding) -> String {
        let (s, e) = c
            .span
            .map(|s| (s.start.to_string(), s.end.to_string()))
            .unwrap_or_default();
        self.g(
            kind,
            &[
                c.coder.as_str(),
                &c.response.to_string(),
                c.code.as_str(),
                &s,
                &e,
            ],
        )
    }
}

fn note(
    out: &mut String,
    guid: &str,
    name: &str,
    user: Option<&str>,
    at: Option<Timestamp>,
    content: &str,
) {
    let _ = write!(out, "<Note guid=\"{guid}\" name=\"{}\"", attr(name));
    if let Some(u) = user {
        let _ = write!(out, " creatingUser=\"{u}\"");
    }
    out.push_str(&ts_attr("creationDateTime", at));
    let _ = writeln!(
        out,
        "><PlainTextContent>{}</PlainTextContent></Note>",
        text(content)
    );
}

fn text_value(out: &mut String, var_guid: &str, value: &str) {
    let _ = write!(
        out,
        "<VariableValue><VariableRef targetGUID=\"{var_guid}\"/><TextValue>{}</TextValue></VariableValue>",
        text(value)
    );
}

/// Builds `project.qde` and the source files (`sources/<guid>.txt`).
pub fn project_qde(study: &StudyData) -> (String, Vec<(String, Vec<u8>)>) {
    let ids = Ids {
        key: study.meta.key.as_str(),
    };
    let mut out = String::with_capacity(1024 + study.responses.len() * 600);
    let mut sources: Vec<(String, Vec<u8>)> = Vec::new();
    let mut notes = String::new();
    let coder_names: Vec<&str> = study.coders.iter().map(|c| c.name.as_str()).collect();
    let user_of = |name: &str| coder_names.contains(&name).then(|| ids.user(name));

    // Memos by what they are about, in order.
    let mut study_memos: Vec<String> = Vec::new();
    let mut response_memos: HashMap<&ResponseKey, Vec<String>> = HashMap::new();
    let mut code_memos: HashMap<&str, Vec<String>> = HashMap::new();
    for (i, m) in study.memos.iter().enumerate() {
        let g = memo_guid(&ids, i, m);
        note(
            &mut notes,
            &g,
            &format!("{MEMO_PREFIX}{}", m.author),
            user_of(&m.author).as_deref(),
            m.created_at,
            &m.text,
        );
        match &m.target {
            MemoTarget::Study => study_memos.push(g),
            MemoTarget::Response(k) => response_memos.entry(k).or_default().push(g),
            MemoTarget::Code(p) => code_memos.entry(p.as_str()).or_default().push(g),
        }
    }

    let _ = writeln!(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    let _ = writeln!(
        out,
        "<Project xmlns=\"urn:QDA-XML:project:1.0\" name=\"{}\" origin=\"RuptureLab {}\">",
        attr(&study.meta.title),
        env!("CARGO_PKG_VERSION")
    );

    // Users: the coders (the consensus layer included).
    if !study.coders.is_empty() {
        out.push_str("<Users>\n");
        for c in &study.coders {
            let _ = writeln!(
                out,
                "<User guid=\"{}\" name=\"{}\"/>",
                ids.user(c.name.as_str()),
                attr(c.name.as_str())
            );
        }
        out.push_str("</Users>\n");
    }

    // CodeBook: nested codes.
    if !study.codes.is_empty() {
        out.push_str("<CodeBook><Codes>\n");
        let mut children: HashMap<Option<&str>, Vec<&Code>> = HashMap::new();
        for c in &study.codes {
            let parent = c.path.as_str().rsplit_once('/').map(|(p, _)| p);
            children.entry(parent).or_default().push(c);
        }
        fn write_code(
            out: &mut String,
            notes: &mut String,
            c: &Code,
            children: &HashMap<Option<&str>, Vec<&Code>>,
            ids: &Ids<'_>,
            memos: &HashMap<&str, Vec<String>>,
        ) {
            let g = ids.code(c.path.as_str());
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
            if let Some(details) = CodeDetails::of(c) {
                let ng = ids.g("code-note", &[c.path.as_str()]);
                let body = toml::to_string(&details).unwrap_or_default();
                note(notes, &ng, CODE_NOTE, None, None, &body);
                let _ = write!(out, "<NoteRef targetGUID=\"{ng}\"/>");
            }
            for m in memos.get(c.path.as_str()).into_iter().flatten() {
                let _ = write!(out, "<NoteRef targetGUID=\"{m}\"/>");
            }
            out.push('\n');
            for child in children.get(&Some(c.path.as_str())).into_iter().flatten() {
                write_code(out, notes, child, children, ids, memos);
            }
            out.push_str("</Code>\n");
        }
        for c in children.get(&None).into_iter().flatten() {
            write_code(&mut out, &mut notes, c, &children, &ids, &code_memos);
        }
        out.push_str("</Codes></CodeBook>\n");
    }

    // Variables: participant attributes, then RuptureLab's own.
    out.push_str("<Variables>\n");
    for a in &study.attributes {
        let ty = match a.kind {
            AttributeType::Category { .. } | AttributeType::Text => "Text",
            AttributeType::Integer { .. } => "Integer",
            AttributeType::Number { .. } => "Float",
            AttributeType::Boolean => "Boolean",
        };
        let _ = writeln!(
            out,
            "<Variable guid=\"{}\" name=\"{}\" typeOfVariable=\"{ty}\"><Description>{}</Description></Variable>",
            ids.var(a.name.as_str()),
            attr(a.name.as_str()),
            text(&a.label)
        );
    }
    for v in RL_VARS {
        let _ = writeln!(
            out,
            "<Variable guid=\"{}\" name=\"{VAR_PREFIX}{v}\" typeOfVariable=\"Text\"><Description>Kept by RuptureLab to read this project back exactly</Description></Variable>",
            ids.rl_var(v)
        );
    }
    out.push_str("</Variables>\n");

    // Cases: participants with their attributes and their responses.
    let mut by_participant: HashMap<&str, Vec<&ResponseKey>> = HashMap::new();
    for r in &study.responses {
        by_participant
            .entry(r.key.participant.as_str())
            .or_default()
            .push(&r.key);
    }
    if !study.participants.is_empty() {
        out.push_str("<Cases>\n");
        for p in &study.participants {
            let _ = write!(
                out,
                "<Case guid=\"{}\" name=\"{}\">",
                ids.g("case", &[p.code.as_str()]),
                attr(p.code.as_str())
            );
            for a in &study.attributes {
                let Some(v) = p.attributes.get(a.name.as_str()) else {
                    continue;
                };
                let g = ids.var(a.name.as_str());
                let (el, val) = match v {
                    AttrValue::Text(s) => ("TextValue", text(s).into_owned()),
                    AttrValue::Integer(i) => ("IntegerValue", i.to_string()),
                    AttrValue::Number(x) => ("FloatValue", format!("{x}")),
                    AttrValue::Bool(b) => ("BooleanValue", b.to_string()),
                };
                let _ = write!(
                    out,
                    "<VariableValue><VariableRef targetGUID=\"{g}\"/><{el}>{val}</{el}></VariableValue>"
                );
            }
            text_value(&mut out, &ids.rl_var("status"), p.status.as_str());
            let order: Vec<&str> = p.order.iter().map(|k| k.as_str()).collect();
            text_value(&mut out, &ids.rl_var("segment_order"), &order.join(";"));
            for k in by_participant.get(p.code.as_str()).into_iter().flatten() {
                let _ = write!(out, "<SourceRef targetGUID=\"{}\"/>", ids.response(k));
            }
            out.push_str("</Case>\n");
        }
        out.push_str("</Cases>\n");
    }

    // Sources: segment transcripts, then responses.
    let design = design_files(study);
    let mut codings_of: HashMap<&ResponseKey, Vec<&Coding>> = HashMap::new();
    for c in &study.codings {
        codings_of.entry(&c.response).or_default().push(c);
    }
    let mut coding_notes = String::new();
    if !study.segments.is_empty() || !study.responses.is_empty() {
        out.push_str("<Sources>\n");
    }
    for s in &study.segments {
        let g = ids.segment(s.key.as_str());
        let file = design
            .get(&format!("segments/{}.txt", s.key))
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let (header, body) = file.split_once("---\n").unwrap_or(("", &file));
        sources.push((format!("sources/{g}.txt"), body.as_bytes().to_vec()));
        let _ = write!(
            out,
            "<TextSource guid=\"{g}\" name=\"{}\" plainTextPath=\"internal://{g}.txt\"><Description>{}</Description>",
            attr(&format!("Segment {} – {}", s.key, s.label)),
            text(header)
        );
        text_value(&mut out, &ids.rl_var("role"), "segment");
        text_value(&mut out, &ids.rl_var("segment"), s.key.as_str());
        out.push_str("</TextSource>\n");
    }
    for r in &study.responses {
        let g = ids.response(&r.key);
        let content = match r.answer.text() {
            Some(t) => t.to_string(),
            None => r.answer.value_string().unwrap_or_default(),
        };
        sources.push((format!("sources/{g}.txt"), content.into_bytes()));
        let _ = write!(
            out,
            "<TextSource guid=\"{g}\" name=\"{}\" plainTextPath=\"internal://{g}.txt\"{}{}>",
            attr(&response_name(&r.key)),
            ts_attr("creationDateTime", r.created_at),
            ts_attr("modifiedDateTime", r.updated_at)
        );
        let codings = codings_of.get(&r.key).map(Vec::as_slice).unwrap_or(&[]);
        let coding_xml = |out: &mut String, c: &Coding, coding_notes: &mut String| {
            let cg = ids.coding("coding", c);
            let _ = write!(
                out,
                "<Coding guid=\"{cg}\" creatingUser=\"{}\"><CodeRef targetGUID=\"{}\"/>",
                ids.user(c.coder.as_str()),
                ids.code(c.code.as_str())
            );
            if let Some(m) = &c.memo {
                let ng = ids.coding("coding-memo", c);
                note(
                    coding_notes,
                    &ng,
                    CODING_MEMO_NOTE,
                    Some(&ids.user(c.coder.as_str())),
                    None,
                    m,
                );
                let _ = write!(out, "<NoteRef targetGUID=\"{ng}\"/>");
            }
            out.push_str("</Coding>");
        };
        for c in codings.iter().filter(|c| c.span.is_some()) {
            let span = c.span.expect("filtered");
            let _ = write!(
                out,
                "\n<PlainTextSelection guid=\"{}\" startPosition=\"{}\" endPosition=\"{}\" creatingUser=\"{}\">",
                ids.coding("selection", c),
                span.start,
                span.end,
                ids.user(c.coder.as_str())
            );
            coding_xml(&mut out, c, &mut coding_notes);
            out.push_str("</PlainTextSelection>");
        }
        for c in codings.iter().filter(|c| c.span.is_none()) {
            out.push('\n');
            coding_xml(&mut out, c, &mut coding_notes);
        }
        for m in response_memos.get(&r.key).into_iter().flatten() {
            let _ = write!(out, "<NoteRef targetGUID=\"{m}\"/>");
        }
        text_value(&mut out, &ids.rl_var("role"), "response");
        text_value(
            &mut out,
            &ids.rl_var("participant"),
            r.key.participant.as_str(),
        );
        if let Some(s) = &r.key.segment {
            text_value(&mut out, &ids.rl_var("segment"), s.as_str());
        }
        text_value(&mut out, &ids.rl_var("question"), r.key.question.as_str());
        out.push_str("</TextSource>\n");
    }
    if !study.segments.is_empty() || !study.responses.is_empty() {
        out.push_str("</Sources>\n");
    }

    // Notes: the design, the audit trail, code details, memos, coding memos.
    let design_guid = ids.g("design-note", &[]);
    let audit_guid = ids.g("audit-note", &[]);
    out.push_str("<Notes>\n");
    let toml = design
        .get("study.toml")
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    note(&mut out, &design_guid, DESIGN_NOTE, None, None, &toml);
    if let Some(a) = design.get("audit.csv") {
        note(
            &mut out,
            &audit_guid,
            AUDIT_NOTE,
            None,
            None,
            &String::from_utf8_lossy(a),
        );
    }
    out.push_str(&notes);
    out.push_str(&coding_notes);
    out.push_str("</Notes>\n");

    // Sets: responses grouped by segment and by question.
    if !study.segments.is_empty() || !study.questions.is_empty() {
        out.push_str("<Sets>\n");
        for s in &study.segments {
            let _ = write!(
                out,
                "<Set guid=\"{}\" name=\"{}\"><Description>{}</Description><MemberSource targetGUID=\"{}\"/>",
                ids.g("set-segment", &[s.key.as_str()]),
                attr(&format!("Segment {}", s.key)),
                text(&s.label),
                ids.segment(s.key.as_str())
            );
            for r in study
                .responses
                .iter()
                .filter(|r| r.key.segment.as_ref() == Some(&s.key))
            {
                let _ = write!(
                    out,
                    "<MemberSource targetGUID=\"{}\"/>",
                    ids.response(&r.key)
                );
            }
            out.push_str("</Set>\n");
        }
        for q in &study.questions {
            let _ = write!(
                out,
                "<Set guid=\"{}\" name=\"{}\"><Description>{}</Description>",
                ids.g("set-question", &[q.key.as_str()]),
                attr(&format!("Question {}", q.key)),
                text(&q.prompt)
            );
            for r in study.responses.iter().filter(|r| r.key.question == q.key) {
                let _ = write!(
                    out,
                    "<MemberSource targetGUID=\"{}\"/>",
                    ids.response(&r.key)
                );
            }
            out.push_str("</Set>\n");
        }
        out.push_str("</Sets>\n");
    }

    if !study.meta.description.is_empty() {
        let _ = writeln!(
            out,
            "<Description>{}</Description>",
            text(&study.meta.description)
        );
    }
    let _ = write!(out, "<NoteRef targetGUID=\"{design_guid}\"/>");
    if design.contains_key("audit.csv") {
        let _ = write!(out, "<NoteRef targetGUID=\"{audit_guid}\"/>");
    }
    for m in &study_memos {
        let _ = write!(out, "<NoteRef targetGUID=\"{m}\"/>");
    }
    out.push_str("\n</Project>\n");
    (out, sources)
}

fn memo_guid(ids: &Ids<'_>, i: usize, m: &Memo) -> String {
    let target = match &m.target {
        MemoTarget::Study => "study".to_string(),
        MemoTarget::Response(k) => format!("response:{k}"),
        MemoTarget::Code(p) => format!("code:{p}"),
    };
    ids.g("memo", &[&i.to_string(), &m.author, &target, &m.text])
}
