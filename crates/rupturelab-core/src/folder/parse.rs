//! Reading a study folder, checking every reference, collecting every error.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::toml_schema::{CodebookToml, StudyToml};
use super::{parse_time, FolderError, FolderErrors, FolderFiles, FORMAT};
use crate::keys::{CodePath, Key, Salience};
use crate::model::*;
use crate::text::{self, did_you_mean};

/// Most errors reported at once.
const MAX_ERRORS: usize = 50;

struct Ctx {
    errors: Vec<FolderError>,
    /// Participants with no status given: completed if they answered, else invited.
    auto_status: HashSet<Key>,
    /// codebook.toml could not be read (missing, not UTF-8, not TOML): its error is
    /// reported once, and code paths elsewhere are not checked against an empty codebook.
    codebook_failed: bool,
}

impl Ctx {
    fn err(
        &mut self,
        file: &str,
        line: Option<usize>,
        field: Option<&str>,
        message: impl Into<String>,
    ) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(FolderError {
                file: file.to_string(),
                line,
                field: field.map(str::to_string),
                message: message.into(),
            });
        }
    }
    fn full(&self) -> bool {
        self.errors.len() >= MAX_ERRORS
    }
}

/// Parses a study folder. Either every file is valid and consistent, or all
/// the problems found are returned (up to 50), each with file, line and field.
pub fn parse_folder(files: &FolderFiles) -> Result<StudyData, FolderErrors> {
    let mut cx = Ctx {
        errors: Vec::new(),
        auto_status: HashSet::new(),
        codebook_failed: false,
    };
    let study = parse_inner(files, &mut cx);
    match study {
        Some(s) if cx.errors.is_empty() => Ok(s),
        _ => {
            if cx.errors.is_empty() {
                cx.err("study.toml", None, None, "the study could not be read");
            }
            Err(FolderErrors(cx.errors))
        }
    }
}

fn decode(files: &FolderFiles, name: &str, cx: &mut Ctx) -> Option<String> {
    let bytes = files.get(name)?;
    match text::decode_file(bytes) {
        Ok(s) => Some(s),
        Err((line, col)) => {
            cx.err(
                name,
                Some(line),
                Some(&format!("byte column {col}")),
                "the file is not valid UTF-8; save it as UTF-8 (in Excel: \"CSV UTF-8\")",
            );
            None
        }
    }
}

fn toml_error(file: &str, src: &str, e: &toml::de::Error, cx: &mut Ctx) {
    let line = e
        .span()
        .map(|s| src[..s.start.min(src.len())].matches('\n').count() + 1);
    cx.err(file, line, None, e.message().trim().to_string());
}

fn key(raw: &str, file: &str, line: Option<usize>, field: &str, cx: &mut Ctx) -> Option<Key> {
    match Key::parse(&text::normalize(raw)) {
        Ok(k) => Some(k),
        Err(e) => {
            cx.err(file, line, Some(field), format!("the key {e}"));
            None
        }
    }
}

fn opt(s: Option<String>) -> Option<String> {
    s.map(|s| text::normalize(&s))
        .filter(|s| !s.trim().is_empty())
}

fn parse_inner(files: &FolderFiles, cx: &mut Ctx) -> Option<StudyData> {
    let Some(src) = decode(files, "study.toml", cx) else {
        if !files.contains_key("study.toml") {
            cx.err(
                "study.toml",
                None,
                None,
                "missing; every study folder needs a study.toml (see docs/study-format.md, or run `rupturelab init --folder DIR`)",
            );
        }
        return None;
    };
    let st: StudyToml = match toml::from_str(&src) {
        Ok(s) => s,
        Err(e) => {
            toml_error("study.toml", &src, &e, cx);
            return None;
        }
    };
    let f = "study.toml";
    if st.format != FORMAT {
        cx.err(
            f,
            None,
            Some("format"),
            format!(
                "unknown format `{}`; this version reads \"{FORMAT}\"",
                st.format
            ),
        );
    }
    let mut study = StudyData::new(
        key(&st.study.key, f, None, "study.key", cx)
            .unwrap_or_else(|| Key::parse("study").unwrap()),
        &text::normalize(&st.study.title),
    );
    study.meta.description = text::normalize(&st.study.description);
    study.meta.synthetic = st.study.synthetic;
    match Language::parse(&st.study.language) {
        Ok(l) => study.meta.language = l,
        Err(e) => cx.err(f, None, Some("study.language"), e),
    }
    let s = &st.settings;
    match OrderMode::parse(&s.presentation_order) {
        Ok(o) => study.settings.presentation_order = o,
        Err(e) => cx.err(f, None, Some("settings.presentation_order"), e),
    }
    study.settings.agreement = s.agreement;
    if !(0.0..=1.0).contains(&s.agreement_threshold) {
        cx.err(
            f,
            None,
            Some("settings.agreement_threshold"),
            "must be between 0 and 1, e.g. 0.667",
        );
    }
    study.settings.agreement_threshold = s.agreement_threshold;
    study.settings.consent_text = opt(s.consent_text.clone());
    study.settings.welcome_text = opt(s.welcome_text.clone());
    study.settings.thanks_text = opt(s.thanks_text.clone());

    parse_attributes(&st, &mut study, cx);
    parse_questions(&st, &mut study, cx);
    let mut seen = HashSet::new();
    for (i, p) in st.patients.iter().enumerate() {
        let field = format!("[[patients]] #{}", i + 1);
        if let Some(k) = key(&p.key, f, None, &field, cx) {
            if !seen.insert(k.clone()) {
                cx.err(
                    f,
                    None,
                    Some(&field),
                    format!("patient `{k}` is listed twice"),
                );
            }
            study.patients.push(Patient {
                key: k,
                description: text::normalize(&p.description),
            });
        }
    }
    for (i, c) in st.coders.iter().enumerate() {
        if let Some(k) = key(&c.name, f, None, &format!("[[coders]] #{}", i + 1), cx) {
            if study.coders.iter().any(|x| x.name == k) {
                cx.err(
                    f,
                    None,
                    Some(&format!("[[coders]] #{}", i + 1)),
                    format!("coder `{k}` is listed twice"),
                );
            } else {
                study.coders.push(Coder { name: k });
            }
        }
    }

    parse_codebook(files, &mut study, cx);
    parse_segments(files, &mut study, cx);
    parse_participants(files, &mut study, cx);
    parse_responses(files, &mut study, cx);
    parse_codings(files, &mut study, cx);
    parse_memos(files, &mut study, cx);
    parse_audit(files, &mut study, cx);
    Some(study)
}

fn toml_f64(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(x) => Some(*x),
        _ => None,
    }
}

fn parse_attributes(st: &StudyToml, study: &mut StudyData, cx: &mut Ctx) {
    let f = "study.toml";
    for (i, a) in st.attributes.iter().enumerate() {
        let field = format!("[[attributes]] #{} ({})", i + 1, a.name);
        let Some(name) = key(&a.name, f, None, &field, cx) else {
            continue;
        };
        if ["code", "status", "segment_order"].contains(&name.as_str()) {
            cx.err(
                f,
                None,
                Some(&field),
                format!("`{name}` is a reserved column of participants.csv; choose another name"),
            );
        }
        if study.attributes.iter().any(|x| x.name == name) {
            cx.err(
                f,
                None,
                Some(&field),
                format!("attribute `{name}` is defined twice"),
            );
            continue;
        }
        let num = |v: &Option<toml::Value>, what: &str, cx: &mut Ctx| -> Option<f64> {
            let v = v.as_ref()?;
            let x = toml_f64(v);
            if x.is_none() {
                cx.err(
                    f,
                    None,
                    Some(&format!("{field}.{what}")),
                    "must be a number",
                );
            }
            x
        };
        let min = num(&a.min, "min", cx);
        let max = num(&a.max, "max", cx);
        let kind = match a.kind.as_str() {
            "category" => {
                if a.values.is_empty() {
                    cx.err(
                        f,
                        None,
                        Some(&format!("{field}.values")),
                        "a category attribute needs `values = [\"…\", …]`",
                    );
                }
                AttributeType::Category {
                    values: a.values.iter().map(|v| text::normalize(v)).collect(),
                }
            }
            "integer" => {
                let int = |x: Option<f64>, what: &str, cx: &mut Ctx| {
                    x.and_then(|x| {
                        if x.fract() != 0.0 {
                            cx.err(
                                f,
                                None,
                                Some(&format!("{field}.{what}")),
                                "must be a whole number",
                            );
                            None
                        } else {
                            Some(x as i64)
                        }
                    })
                };
                AttributeType::Integer {
                    min: int(min, "min", cx),
                    max: int(max, "max", cx),
                }
            }
            "number" => AttributeType::Number { min, max },
            "text" => AttributeType::Text,
            "boolean" => AttributeType::Boolean,
            other => {
                cx.err(
                    f,
                    None,
                    Some(&format!("{field}.type")),
                    format!("unknown attribute type `{other}`; use category, integer, number, text or boolean"),
                );
                continue;
            }
        };
        let mut bands = Vec::new();
        for b in &a.bands {
            match toml_f64(b) {
                Some(x) => bands.push(x),
                None => cx.err(
                    f,
                    None,
                    Some(&format!("{field}.bands")),
                    "cut points must be numbers",
                ),
            }
        }
        if !bands.is_empty()
            && !matches!(
                kind,
                AttributeType::Integer { .. } | AttributeType::Number { .. }
            )
        {
            cx.err(
                f,
                None,
                Some(&format!("{field}.bands")),
                "only integer and number attributes can have bands",
            );
        }
        if bands.windows(2).any(|w| w[0] >= w[1]) {
            cx.err(
                f,
                None,
                Some(&format!("{field}.bands")),
                "cut points must be strictly ascending, e.g. [5, 10, 20]",
            );
        }
        study.attributes.push(AttributeDef {
            label: a
                .label
                .clone()
                .map(|l| text::normalize(&l))
                .unwrap_or_else(|| name.to_string()),
            name,
            kind,
            bands,
            required: a.required,
        });
    }
}

fn parse_questions(st: &StudyToml, study: &mut StudyData, cx: &mut Ctx) {
    let f = "study.toml";
    for (i, q) in st.questions.iter().enumerate() {
        let field = format!("[[questions]] #{} ({})", i + 1, q.key);
        let Some(k) = key(&q.key, f, None, &field, cx) else {
            continue;
        };
        if study.questions.iter().any(|x| x.key == k) {
            cx.err(
                f,
                None,
                Some(&field),
                format!("question `{k}` is defined twice"),
            );
            continue;
        }
        let kind = match q.kind.as_str() {
            "open" => QuestionKind::Open,
            "likert" => {
                let (min, max) = (q.min.unwrap_or(1), q.max.unwrap_or(5));
                if min >= max {
                    cx.err(
                        f,
                        None,
                        Some(&field),
                        format!("min ({min}) must be below max ({max})"),
                    );
                }
                let mut anchors = BTreeMap::new();
                for (a, label) in &q.anchors {
                    match a.parse::<i64>() {
                        Ok(v) if (min..=max).contains(&v) => {
                            anchors.insert(v, text::normalize(label));
                        }
                        _ => cx.err(
                            f,
                            None,
                            Some(&format!("{field}.anchors")),
                            format!("anchor `{a}` is not a whole number from {min} to {max}"),
                        ),
                    }
                }
                QuestionKind::Likert { min, max, anchors }
            }
            "choice" => {
                if q.choices.len() < 2 {
                    cx.err(
                        f,
                        None,
                        Some(&format!("{field}.choices")),
                        "a choice question needs at least two `choices`",
                    );
                }
                QuestionKind::Choice {
                    choices: q.choices.iter().map(|c| text::normalize(c)).collect(),
                }
            }
            other => {
                cx.err(
                    f,
                    None,
                    Some(&format!("{field}.kind")),
                    format!("unknown kind `{other}`; use open, likert or choice"),
                );
                continue;
            }
        };
        let scope = match q.scope.as_str() {
            "segment" => QuestionScope::Segment,
            "once" => QuestionScope::Once,
            other => {
                cx.err(
                    f,
                    None,
                    Some(&format!("{field}.scope")),
                    format!("unknown scope `{other}`; use segment or once"),
                );
                continue;
            }
        };
        study.questions.push(Question {
            key: k,
            kind,
            scope,
            prompt: text::normalize(&q.prompt),
        });
    }
}

fn parse_codebook(files: &FolderFiles, study: &mut StudyData, cx: &mut Ctx) {
    let f = "codebook.toml";
    let Some(src) = decode(files, f, cx) else {
        cx.codebook_failed = true;
        return;
    };
    let cb: CodebookToml = match toml::from_str(&src) {
        Ok(c) => c,
        Err(e) => {
            cx.codebook_failed = true;
            return toml_error(f, &src, &e, cx);
        }
    };
    // Line of each `path = "…"` for error messages.
    let lines: HashMap<String, usize> = src
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let l = l.trim();
            let rest = l
                .strip_prefix("path")?
                .trim_start()
                .strip_prefix('=')?
                .trim();
            Some((rest.trim_matches('"').to_string(), i + 1))
        })
        .collect();
    for c in cb.code {
        let line = lines.get(&c.path).copied();
        let path = match CodePath::parse(&text::normalize(&c.path)) {
            Ok(p) => p,
            Err(e) => {
                cx.err(f, line, Some("path"), e);
                continue;
            }
        };
        if study.code(path.as_str()).is_some() {
            cx.err(
                f,
                line,
                Some("path"),
                format!("code `{path}` is listed twice"),
            );
            continue;
        }
        if let Some(parent) = path.parent() {
            if study.code(parent.as_str()).is_none() {
                cx.err(
                    f,
                    line,
                    Some("path"),
                    format!("the parent `{parent}` of `{path}` must be listed before it"),
                );
            }
        }
        if let Some(col) = &c.colour {
            let ok = col.len() == 7
                && col.starts_with('#')
                && col[1..].bytes().all(|b| b.is_ascii_hexdigit());
            if !ok {
                cx.err(
                    f,
                    line,
                    Some("colour"),
                    format!("`{col}` is not a colour; write #RRGGBB, e.g. #0072B2"),
                );
            }
        }
        study.codes.push(Code {
            name: c
                .name
                .map(|n| text::normalize(&n))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| path.leaf().to_string()),
            path,
            codable: c.codable,
            definition: opt(c.definition),
            inclusion: opt(c.inclusion),
            exclusion: opt(c.exclusion),
            example: opt(c.example),
            colour: c.colour,
        });
    }
}

fn natural_key(s: &str) -> Vec<(String, u64)> {
    // Splits "S10a" into [("S",10),("a",0)] for natural ordering.
    let mut out = Vec::new();
    let mut txt = String::new();
    let mut num = String::new();
    for ch in s.chars() {
        if ch.is_ascii_digit() {
            num.push(ch);
        } else {
            if !num.is_empty() {
                out.push((std::mem::take(&mut txt), num.parse().unwrap_or(u64::MAX)));
                num.clear();
            }
            txt.push(ch);
        }
    }
    out.push((txt, num.parse().unwrap_or(0)));
    out
}

fn parse_segments(files: &FolderFiles, study: &mut StudyData, cx: &mut Ctx) {
    let mut segs: Vec<(Option<i64>, Segment)> = Vec::new();
    for name in files
        .keys()
        .filter(|n| n.starts_with("segments/") && n.ends_with(".txt"))
    {
        let stem = &name["segments/".len()..name.len() - 4];
        let Some(k) = key(stem, name, None, "file name", cx) else {
            continue;
        };
        let Some(src) = decode(files, name, cx) else {
            continue;
        };
        if let Some(s) = parse_segment(name, k, &src, study, cx) {
            segs.push(s);
        }
    }
    segs.sort_by(|a, b| match (a.0, b.0) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => natural_key(a.1.key.as_str()).cmp(&natural_key(b.1.key.as_str())),
    });
    let mut positions = HashSet::new();
    for (p, s) in &segs {
        if let Some(p) = p {
            if !positions.insert(*p) {
                cx.err(
                    &format!("segments/{}.txt", s.key),
                    None,
                    Some("position"),
                    format!("position {p} is used by another segment too"),
                );
            }
        }
    }
    study.segments = segs.into_iter().map(|(_, s)| s).collect();
}

fn parse_segment(
    file: &str,
    k: Key,
    src: &str,
    study: &StudyData,
    cx: &mut Ctx,
) -> Option<(Option<i64>, Segment)> {
    let mut seg = Segment {
        key: k,
        label: String::new(),
        patient: Key::parse("?").unwrap(),
        session: None,
        rupture: RuptureType::Unspecified,
        markers: Vec::new(),
        media: None,
        notes: None,
        turns: Vec::new(),
    };
    let mut position = None;
    let mut patient = None;
    let mut in_header = true;
    let mut saw_separator = false;
    for (i, raw) in src.lines().enumerate() {
        let ln = Some(i + 1);
        let line = raw.trim_end();
        if in_header {
            if line.trim() == "---" {
                in_header = false;
                saw_separator = true;
                continue;
            }
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let Some((field, value)) = line.split_once(':') else {
                cx.err(file, ln, None, "expected `field: value` in the header block (end the header with a line `---`)");
                continue;
            };
            let value = text::normalize(value.trim());
            let field = field.trim();
            match field {
                "label" => seg.label = value,
                "patient" => patient = Some((value, ln)),
                "session" => match value.parse::<u32>() {
                    Ok(v) if v > 0 => seg.session = Some(v),
                    _ => cx.err(
                        file,
                        ln,
                        Some("session"),
                        format!("`{value}` is not a session number (1, 2, …)"),
                    ),
                },
                "position" => match value.parse::<i64>() {
                    Ok(v) => position = Some(v),
                    _ => cx.err(
                        file,
                        ln,
                        Some("position"),
                        format!("`{value}` is not a whole number"),
                    ),
                },
                "rupture" => match RuptureType::parse(&value) {
                    Ok(r) => seg.rupture = r,
                    Err(e) => cx.err(file, ln, Some("rupture"), e),
                },
                "markers" => {
                    for m in value.split(';').map(str::trim).filter(|m| !m.is_empty()) {
                        let (name, sal) = match m.rsplit_once('=') {
                            Some((n, s)) => (n.trim(), Some(s.trim())),
                            None => (m, None),
                        };
                        let salience = match sal {
                            None => None,
                            Some(s) => match s
                                .parse::<i64>()
                                .map_err(|_| format!("salience `{s}` is not a number 1–5"))
                                .and_then(Salience::new)
                            {
                                Ok(s) => Some(s),
                                Err(e) => {
                                    cx.err(
                                        file,
                                        ln,
                                        Some("markers"),
                                        format!("marker `{name}`: {e}"),
                                    );
                                    None
                                }
                            },
                        };
                        seg.markers.push(Marker {
                            name: name.to_string(),
                            salience,
                        });
                    }
                }
                "media" => {
                    let (reference, times) = match value.rsplit_once(' ') {
                        Some((r, t)) if t.contains('-') && t.contains(':') => {
                            (r.trim().to_string(), Some(t))
                        }
                        _ => (value.clone(), None),
                    };
                    let mut media = Media {
                        reference,
                        start_ms: None,
                        end_ms: None,
                    };
                    if let Some(t) = times {
                        match parse_range(t) {
                            Ok((a, b)) => {
                                media.start_ms = Some(a);
                                media.end_ms = Some(b);
                            }
                            Err(e) => cx.err(file, ln, Some("media"), e),
                        }
                    }
                    seg.media = Some(media);
                }
                "notes" => seg.notes = Some(value).filter(|v| !v.is_empty()),
                other => {
                    let hint = did_you_mean(
                        other,
                        [
                            "label", "patient", "session", "position", "rupture", "markers",
                            "media", "notes",
                        ],
                    )
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                    cx.err(file, ln, Some(other), format!("unknown header field; {hint}known fields: label, patient, session, position, rupture, markers, media, notes"));
                }
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let mut rest = line.trim_start();
        let (mut start_ms, mut end_ms) = (None, None);
        if rest.starts_with('[') {
            match rest.find(']') {
                Some(close) => {
                    match parse_range(&rest[1..close]) {
                        Ok((a, b)) => {
                            start_ms = Some(a);
                            end_ms = Some(b);
                        }
                        Err(e) => cx.err(file, ln, Some("turn time"), e),
                    }
                    rest = rest[close + 1..].trim_start();
                }
                None => cx.err(
                    file,
                    ln,
                    Some("turn time"),
                    "`[` without `]`; write [mm:ss-mm:ss] before the speaker",
                ),
            }
        }
        match rest.split_once(':') {
            Some((sp, t)) if !sp.trim().is_empty() && sp.trim().chars().count() <= 32 => seg.turns.push(Turn {
                speaker: text::normalize(sp.trim()),
                text: text::normalize(t.trim()),
                start_ms,
                end_ms,
            }),
            _ => cx.err(file, ln, None, "a turn must start with the speaker and a colon, e.g. `T: …` or `P: …` (speaker 1–32 characters)"),
        }
    }
    if !saw_separator {
        cx.err(
            file,
            None,
            None,
            "no `---` line: write the header fields (patient: …), then `---`, then the turns",
        );
    }
    match patient {
        None => cx.err(
            file,
            None,
            Some("patient"),
            "missing; add `patient: KEY` naming a patient from study.toml",
        ),
        Some((p, ln)) => {
            if study.patients.iter().any(|x| x.key.as_str() == p) {
                seg.patient = Key::parse(&p).unwrap();
            } else {
                let hint = did_you_mean(&p, study.patients.iter().map(|x| x.key.as_str()))
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_else(|| "; add it as [[patients]] in study.toml".into());
                cx.err(
                    file,
                    ln,
                    Some("patient"),
                    format!("patient `{p}` is not in study.toml{hint}"),
                );
            }
        }
    }
    if seg.label.is_empty() {
        seg.label = seg.key.to_string();
    }
    Some((position, seg))
}

fn parse_range(t: &str) -> Result<(i64, i64), String> {
    let (a, b) = t.split_once('-').ok_or_else(|| {
        format!("`{t}` is not a time range; write START-END, e.g. 00:12:00-00:17:00")
    })?;
    let (a, b) = (parse_time(a)?, parse_time(b)?);
    if b < a {
        return Err(format!("`{t}`: the end is before the start"));
    }
    Ok((a, b))
}

/// A CSV file read with named columns and line numbers.
struct Csv {
    file: String,
    headers: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

impl Csv {
    fn col(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }
}

fn read_csv(
    files: &FolderFiles,
    name: &str,
    known: &[&str],
    required: &[&str],
    cx: &mut Ctx,
) -> Option<Csv> {
    let src = decode(files, name, cx)?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(src.as_bytes());
    let headers: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
        Err(e) => {
            cx.err(
                name,
                Some(1),
                None,
                format!("cannot read the header row: {e}"),
            );
            return None;
        }
    };
    let mut ok = true;
    let mut seen = HashSet::new();
    for h in &headers {
        if !seen.insert(h.clone()) {
            cx.err(
                name,
                Some(1),
                Some(&format!("column `{h}`")),
                "this column appears twice in the header",
            );
            ok = false;
        } else if !known.contains(&h.as_str()) {
            let hint = did_you_mean(h, known.iter().copied())
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            cx.err(
                name,
                Some(1),
                Some(&format!("column `{h}`")),
                format!("unknown column; {hint}known columns: {}", known.join(", ")),
            );
            ok = false;
        }
    }
    for r in required {
        if !headers.iter().any(|h| h == r) {
            cx.err(
                name,
                Some(1),
                None,
                format!("the header has no `{r}` column, which is required"),
            );
            ok = false;
        }
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        match rec {
            Ok(r) => {
                let line = r.position().map(|p| p.line() as usize).unwrap_or(0);
                rows.push((line, r.iter().map(str::to_string).collect()));
            }
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize);
                let msg = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!(
                        "this row has {len} fields but the header has {expected_len}; check for a missing comma or an unquoted comma in the text (put text containing commas in double quotes)"
                    ),
                    _ => format!("cannot read this row: {e}"),
                };
                cx.err(name, line, None, msg);
                ok = false;
                if cx.full() {
                    break;
                }
            }
        }
    }
    ok.then(|| Csv {
        file: name.to_string(),
        headers,
        rows,
    })
}

fn parse_participants(files: &FolderFiles, study: &mut StudyData, cx: &mut Ctx) {
    let f = "participants.csv";
    if !files.contains_key(f) {
        return;
    }
    let mut known: Vec<&str> = vec!["code", "status", "segment_order"];
    let attr_names: Vec<String> = study
        .attributes
        .iter()
        .map(|a| a.name.to_string())
        .collect();
    known.extend(attr_names.iter().map(String::as_str));
    let Some(csv) = read_csv(files, f, &known, &["code"], cx) else {
        return;
    };
    let c_code = csv.col("code").unwrap();
    let c_status = csv.col("status");
    let c_order = csv.col("segment_order");
    let mut seen = HashMap::new();
    for (line, row) in &csv.rows {
        let ln = Some(*line);
        let Some(code) = key(&row[c_code], f, ln, "column `code`", cx) else {
            continue;
        };
        if let Some(prev) = seen.insert(code.clone(), *line) {
            cx.err(
                f,
                ln,
                Some("column `code`"),
                format!("participant `{code}` is listed twice (first on line {prev})"),
            );
            continue;
        }
        let status = match c_status.map(|c| row[c].trim()).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => match ParticipantStatus::parse(s) {
                Ok(s) => Some(s),
                Err(e) => {
                    cx.err(f, ln, Some("column `status`"), e);
                    None
                }
            },
        };
        let mut order = Vec::new();
        if let Some(c) = c_order {
            for k in row[c].split(';').map(str::trim).filter(|s| !s.is_empty()) {
                match study.segments.iter().find(|s| s.key.as_str() == k) {
                    Some(s) if order.contains(&s.key) => cx.err(
                        f,
                        ln,
                        Some("column `segment_order`"),
                        format!("segment `{k}` appears twice in the order"),
                    ),
                    Some(s) => order.push(s.key.clone()),
                    None => {
                        let hint = did_you_mean(k, study.segments.iter().map(|s| s.key.as_str()))
                            .map(|s| format!("; did you mean `{s}`?"))
                            .unwrap_or_default();
                        cx.err(
                            f,
                            ln,
                            Some("column `segment_order`"),
                            format!("segment `{k}` has no file segments/{k}.txt{hint}"),
                        )
                    }
                }
            }
        }
        let mut attributes = BTreeMap::new();
        for def in &study.attributes {
            let raw = csv
                .col(def.name.as_str())
                .map(|c| text::normalize(row[c].trim()))
                .unwrap_or_default();
            if raw.is_empty() {
                if def.required {
                    cx.err(
                        f,
                        ln,
                        Some(&format!("column `{}`", def.name)),
                        "this attribute is required; fill it in",
                    );
                }
                continue;
            }
            match def.parse_value(&raw) {
                Ok(v) => {
                    attributes.insert(def.name.to_string(), v);
                }
                Err(e) => cx.err(f, ln, Some(&format!("column `{}`", def.name)), e),
            }
        }
        if status.is_none() {
            cx.auto_status.insert(code.clone());
        }
        study.participants.push(Participant {
            code,
            status: status.unwrap_or(ParticipantStatus::Invited),
            order,
            attributes,
        });
    }
}

fn response_key(
    csv: &Csv,
    row: &[String],
    line: usize,
    study: &StudyData,
    cx: &mut Ctx,
) -> Option<ResponseKey> {
    let f = csv.file.as_str();
    let ln = Some(line);
    let get = |c: &str| {
        csv.col(c)
            .map(|i| text::normalize(row[i].trim()))
            .unwrap_or_default()
    };
    let (p, s, q) = (get("participant"), get("segment"), get("question"));
    let mut ok = true;
    if !study.participants.iter().any(|x| x.code.as_str() == p) {
        let hint = did_you_mean(&p, study.participants.iter().map(|x| x.code.as_str()))
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_else(|| "; add them to participants.csv".into());
        cx.err(
            f,
            ln,
            Some("column `participant`"),
            format!("participant `{p}` is not in participants.csv{hint}"),
        );
        ok = false;
    }
    let question = study.questions.iter().find(|x| x.key.as_str() == q);
    match question {
        None => {
            let hint = did_you_mean(&q, study.questions.iter().map(|x| x.key.as_str()))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            cx.err(
                f,
                ln,
                Some("column `question`"),
                format!("question `{q}` is not in study.toml{hint}"),
            );
            ok = false;
        }
        Some(qq) => match (qq.scope, s.is_empty()) {
            (QuestionScope::Once, false) => {
                cx.err(
                    f,
                    ln,
                    Some("column `segment`"),
                    format!("question `{q}` is asked once, not per segment; leave `segment` empty"),
                );
                ok = false;
            }
            (QuestionScope::Segment, true) => {
                cx.err(
                    f,
                    ln,
                    Some("column `segment`"),
                    format!("question `{q}` is asked per segment; fill in `segment`"),
                );
                ok = false;
            }
            _ => {}
        },
    }
    if !s.is_empty() && !study.segments.iter().any(|x| x.key.as_str() == s) {
        let hint = did_you_mean(&s, study.segments.iter().map(|x| x.key.as_str()))
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        cx.err(
            f,
            ln,
            Some("column `segment`"),
            format!("segment `{s}` has no file segments/{s}.txt{hint}"),
        );
        ok = false;
    }
    if !ok {
        return None;
    }
    Some(ResponseKey {
        participant: Key::parse(&p).ok()?,
        segment: if s.is_empty() {
            None
        } else {
            Some(Key::parse(&s).ok()?)
        },
        question: Key::parse(&q).ok()?,
    })
}

fn timestamp(csv: &Csv, row: &[String], col: &str, line: usize, cx: &mut Ctx) -> Option<Timestamp> {
    let raw = csv.col(col).map(|i| row[i].trim()).unwrap_or("");
    if raw.is_empty() {
        return None;
    }
    match Timestamp::parse_rfc3339(raw) {
        Ok(t) => Some(t),
        Err(e) => {
            cx.err(&csv.file, Some(line), Some(&format!("column `{col}`")), e);
            None
        }
    }
}

fn parse_responses(files: &FolderFiles, study: &mut StudyData, cx: &mut Ctx) {
    let f = "responses.csv";
    if files.contains_key(f) {
        let known = [
            "participant",
            "segment",
            "question",
            "text",
            "value",
            "created_at",
            "updated_at",
        ];
        if let Some(csv) = read_csv(files, f, &known, &["participant", "question"], cx) {
            let mut seen: HashMap<ResponseKey, usize> = HashMap::new();
            for (line, row) in &csv.rows {
                let ln = Some(*line);
                let Some(k) = response_key(&csv, row, *line, study, cx) else {
                    continue;
                };
                if let Some(prev) = seen.insert(k.clone(), *line) {
                    cx.err(f, ln, None, format!("response {k} appears twice (first on line {prev}); keep one row per participant, segment and question"));
                    continue;
                }
                let txt = csv
                    .col("text")
                    .map(|i| text::normalize(&row[i]))
                    .unwrap_or_default();
                let val = csv
                    .col("value")
                    .map(|i| row[i].trim().to_string())
                    .unwrap_or_default();
                let q = study
                    .questions
                    .iter()
                    .find(|q| q.key == k.question)
                    .unwrap();
                let answer = match &q.kind {
                    QuestionKind::Open => {
                        if !val.is_empty() {
                            cx.err(f, ln, Some("column `value`"), format!("question `{}` is open; put the answer in `text`, leave `value` empty", q.key));
                            continue;
                        }
                        Answer::Text(txt)
                    }
                    QuestionKind::Likert { min, max, .. } => {
                        if !txt.trim().is_empty() {
                            cx.err(f, ln, Some("column `text`"), format!("question `{}` is a rating; put the number in `value`, leave `text` empty", q.key));
                            continue;
                        }
                        match val.parse::<i64>() {
                            Ok(v) if (*min..=*max).contains(&v) => Answer::Rating(v),
                            _ => {
                                cx.err(
                                    f,
                                    ln,
                                    Some("column `value`"),
                                    format!("`{val}` is not a whole number from {min} to {max}"),
                                );
                                continue;
                            }
                        }
                    }
                    QuestionKind::Choice { choices } => {
                        let v = text::normalize(&val);
                        if !choices.contains(&v) {
                            cx.err(
                                f,
                                ln,
                                Some("column `value`"),
                                format!("`{v}` is not one of the choices: {}", choices.join(", ")),
                            );
                            continue;
                        }
                        Answer::Choice(v)
                    }
                };
                study.responses.push(Response {
                    key: k,
                    answer,
                    created_at: timestamp(&csv, row, "created_at", *line, cx),
                    updated_at: timestamp(&csv, row, "updated_at", *line, cx),
                });
            }
        }
    }
    // Participants without an explicit status: completed when they answered.
    let answered: HashSet<&Key> = study.responses.iter().map(|r| &r.key.participant).collect();
    for p in &mut study.participants {
        if cx.auto_status.contains(&p.code) && answered.contains(&p.code) {
            p.status = ParticipantStatus::Completed;
        }
    }
}

fn code_ref(
    raw: &str,
    file: &str,
    line: usize,
    study: &StudyData,
    cx: &mut Ctx,
) -> Option<CodePath> {
    let raw = text::normalize(raw.trim());
    match study.code(&raw) {
        Some(c) => Some(c.path.clone()),
        // The codebook's own error is already reported; every path would be "unknown".
        None if cx.codebook_failed => None,
        None => {
            let hint = did_you_mean(&raw, study.codes.iter().map(|c| c.path.as_str()))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_else(|| "; add it to codebook.toml or fix the path".into());
            cx.err(
                file,
                Some(line),
                Some("column `code`"),
                format!("code path `{raw}` is not in codebook.toml{hint}"),
            );
            None
        }
    }
}

fn parse_codings(files: &FolderFiles, study: &mut StudyData, cx: &mut Ctx) {
    let f = "codings.csv";
    if !files.contains_key(f) {
        return;
    }
    let known = [
        "coder",
        "participant",
        "segment",
        "question",
        "code",
        "start",
        "end",
        "quote",
        "occurrence",
        "memo",
    ];
    let Some(csv) = read_csv(
        files,
        f,
        &known,
        &["coder", "participant", "question", "code"],
        cx,
    ) else {
        return;
    };
    let by_key: HashMap<&ResponseKey, &Response> =
        study.responses.iter().map(|r| (&r.key, r)).collect();
    let mut codings = Vec::new();
    let mut seen = HashMap::new();
    for (line, row) in &csv.rows {
        let ln = Some(*line);
        let get = |c: &str| csv.col(c).map(|i| row[i].as_str()).unwrap_or("");
        let Some(coder) = key(get("coder").trim(), f, ln, "column `coder`", cx) else {
            continue;
        };
        let Some(code) = code_ref(get("code"), f, *line, study, cx) else {
            continue;
        };
        if !study.code(code.as_str()).unwrap().codable {
            cx.err(
                f,
                ln,
                Some("column `code`"),
                format!(
                    "`{code}` is a category that is not codable; apply one of its themes instead"
                ),
            );
            continue;
        }
        let Some(rk) = response_key(&csv, row, *line, study, cx) else {
            continue;
        };
        let Some(resp) = by_key.get(&rk) else {
            cx.err(
                f,
                ln,
                None,
                format!("there is no response {rk} in responses.csv to code"),
            );
            continue;
        };
        let Some(txt) = resp.answer.text() else {
            cx.err(
                f,
                ln,
                Some("column `question`"),
                format!(
                    "question `{}` is not open text; only open answers are coded",
                    rk.question
                ),
            );
            continue;
        };
        let len = text::char_len(txt);
        let num = |c: &str, cx: &mut Ctx| -> Result<Option<usize>, ()> {
            let v = get(c).trim();
            if v.is_empty() {
                return Ok(None);
            }
            v.parse::<usize>().map(Some).map_err(|_| {
                cx.err(
                    f,
                    ln,
                    Some(&format!("column `{c}`")),
                    format!("`{v}` is not a character offset (0, 1, 2, …)"),
                );
            })
        };
        let (Ok(start), Ok(end), Ok(occ)) =
            (num("start", cx), num("end", cx), num("occurrence", cx))
        else {
            continue;
        };
        let quote = text::normalize(get("quote"));
        let span = match (start, end) {
            (Some(s), Some(e)) => {
                let span = match Span::within(s, e, len) {
                    Ok(span) => span,
                    Err(err) => {
                        cx.err(f, ln, Some("column `end`"), err.to_string());
                        continue;
                    }
                };
                let at = text::slice_chars(txt, s, e).unwrap_or_default();
                if !quote.is_empty() && at != quote {
                    cx.err(f, ln, Some("column `quote`"), format!("characters {s}–{e} read \"{at}\", not the quote \"{quote}\"; fix the offsets or the quote (or delete one of them)"));
                    continue;
                }
                Some(span)
            }
            (Some(_), None) | (None, Some(_)) => {
                cx.err(
                    f,
                    ln,
                    Some("column `start`"),
                    "give both `start` and `end`, or neither",
                );
                continue;
            }
            (None, None) if quote.is_empty() => None,
            (None, None) => {
                let hits = text::find_all_chars(txt, &quote);
                let qlen = text::char_len(&quote);
                let start = match (hits.len(), occ) {
                    (0, _) => {
                        cx.err(f, ln, Some("column `quote`"), format!("the quote \"{quote}\" is not in the answer {rk}; copy it exactly (case, punctuation and spaces count)"));
                        continue;
                    }
                    (1, None) => hits[0],
                    (n, None) => {
                        cx.err(f, ln, Some("column `occurrence`"), format!("the quote \"{quote}\" appears {n} times in the answer; say which with `occurrence` (1 to {n}) or quote more text"));
                        continue;
                    }
                    (n, Some(o)) if o == 0 || o > n => {
                        cx.err(
                            f,
                            ln,
                            Some("column `occurrence`"),
                            format!("occurrence {o} does not exist; the quote appears {n} time(s)"),
                        );
                        continue;
                    }
                    (_, Some(o)) => hits[o - 1],
                };
                match Span::new(start, start + qlen) {
                    Ok(span) => Some(span),
                    Err(e) => {
                        cx.err(f, ln, Some("column `quote`"), e.to_string());
                        continue;
                    }
                }
            }
        };
        let dup = (coder.clone(), rk.clone(), code.clone(), span);
        if let Some(prev) = seen.insert(dup, *line) {
            cx.err(
                f,
                ln,
                None,
                format!("the same coding appears twice (first on line {prev})"),
            );
            continue;
        }
        if !study.coders.iter().any(|c| c.name == coder) {
            study.coders.push(Coder {
                name: coder.clone(),
            });
        }
        codings.push(Coding {
            coder,
            response: rk,
            code,
            span,
            memo: opt(Some(get("memo").to_string())),
        });
    }
    study.codings = codings;
}

fn parse_memos(files: &FolderFiles, study: &mut StudyData, cx: &mut Ctx) {
    let f = "memos.csv";
    if !files.contains_key(f) {
        return;
    }
    let Some(csv) = read_csv(
        files,
        f,
        &["author", "target", "text", "created_at"],
        &["author", "target", "text"],
        cx,
    ) else {
        return;
    };
    for (line, row) in &csv.rows {
        let get = |c: &str| csv.col(c).map(|i| row[i].as_str()).unwrap_or("");
        let t = get("target").trim();
        let target = if t == "study" {
            MemoTarget::Study
        } else if let Some(c) = t.strip_prefix("code:") {
            match code_ref(c, f, *line, study, cx) {
                Some(p) => MemoTarget::Code(p),
                None => continue,
            }
        } else if let Some(r) = t.strip_prefix("response:") {
            let parts: Vec<&str> = r.split('/').collect();
            let parsed = (parts.len() == 3)
                .then(|| {
                    Some(ResponseKey {
                        participant: Key::parse(parts[0]).ok()?,
                        segment: if parts[1].is_empty() {
                            None
                        } else {
                            Some(Key::parse(parts[1]).ok()?)
                        },
                        question: Key::parse(parts[2]).ok()?,
                    })
                })
                .flatten();
            match parsed {
                Some(k) if study.response(&k).is_some() => MemoTarget::Response(k),
                _ => {
                    cx.err(f, Some(*line), Some("column `target`"), format!("`{t}` names no response; write response:PARTICIPANT/SEGMENT/QUESTION of a row in responses.csv"));
                    continue;
                }
            }
        } else {
            cx.err(
                f,
                Some(*line),
                Some("column `target`"),
                format!("`{t}` is not a memo target; write study, response:P01/S1/Q1 or code:PATH"),
            );
            continue;
        };
        study.memos.push(Memo {
            author: text::normalize(get("author").trim()),
            target,
            text: text::normalize(get("text")),
            created_at: timestamp(&csv, row, "created_at", *line, cx),
        });
    }
}

fn parse_audit(files: &FolderFiles, study: &mut StudyData, cx: &mut Ctx) {
    let f = "audit.csv";
    if !files.contains_key(f) {
        return;
    }
    let cols = ["at", "actor", "action", "entity", "detail"];
    let Some(csv) = read_csv(files, f, &cols, &cols, cx) else {
        return;
    };
    for (line, row) in &csv.rows {
        let get = |c: &str| csv.col(c).map(|i| row[i].clone()).unwrap_or_default();
        let Some(at) = timestamp(&csv, row, "at", *line, cx) else {
            if get("at").trim().is_empty() {
                cx.err(
                    f,
                    Some(*line),
                    Some("column `at`"),
                    "every audit event needs a timestamp",
                );
            }
            continue;
        };
        study.audit.push(AuditEvent {
            at,
            actor: get("actor"),
            action: get("action"),
            entity: get("entity"),
            detail: get("detail"),
        });
    }
}
