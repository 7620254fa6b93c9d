//! Writing a study back into the folder format, so that reading it again
//! gives the same data.

use std::collections::BTreeMap;

use super::toml_schema::*;
use super::{format_time, FolderFiles, FORMAT};
use crate::model::*;
use crate::text;

fn csv_bytes(headers: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(headers).expect("writing to memory");
    for r in rows {
        w.write_record(&r).expect("writing to memory");
    }
    w.into_inner().expect("writing to memory")
}

fn num_value(x: f64) -> toml::Value {
    if x.fract() == 0.0 && x.abs() < 9e15 {
        toml::Value::Integer(x as i64)
    } else {
        toml::Value::Float(x)
    }
}

fn study_toml(study: &StudyData) -> String {
    let st = StudyToml {
        format: FORMAT.to_string(),
        study: StudySection {
            key: study.meta.key.to_string(),
            title: study.meta.title.clone(),
            description: study.meta.description.clone(),
            language: study.meta.language.as_str().to_string(),
            synthetic: study.meta.synthetic,
        },
        settings: SettingsSection {
            presentation_order: study.settings.presentation_order.as_str().to_string(),
            agreement: study.settings.agreement,
            agreement_threshold: study.settings.agreement_threshold,
            consent_text: study.settings.consent_text.clone(),
            welcome_text: study.settings.welcome_text.clone(),
            thanks_text: study.settings.thanks_text.clone(),
        },
        attributes: study
            .attributes
            .iter()
            .map(|a| {
                let (values, min, max) = match &a.kind {
                    AttributeType::Category { values } => (values.clone(), None, None),
                    AttributeType::Integer { min, max } => (
                        Vec::new(),
                        min.map(toml::Value::Integer),
                        max.map(toml::Value::Integer),
                    ),
                    AttributeType::Number { min, max } => (
                        Vec::new(),
                        min.map(toml::Value::Float),
                        max.map(toml::Value::Float),
                    ),
                    _ => (Vec::new(), None, None),
                };
                AttributeSection {
                    name: a.name.to_string(),
                    label: (a.label != a.name.as_str()).then(|| a.label.clone()),
                    kind: a.kind.name().to_string(),
                    values,
                    min,
                    max,
                    bands: a.bands.iter().map(|b| num_value(*b)).collect(),
                    required: a.required,
                }
            })
            .collect(),
        questions: study
            .questions
            .iter()
            .map(|q| {
                let mut s = QuestionSection {
                    key: q.key.to_string(),
                    kind: q.kind.name().to_string(),
                    scope: q.scope.as_str().to_string(),
                    prompt: q.prompt.clone(),
                    min: None,
                    max: None,
                    anchors: BTreeMap::new(),
                    choices: Vec::new(),
                };
                match &q.kind {
                    QuestionKind::Open => {}
                    QuestionKind::Likert { min, max, anchors } => {
                        s.min = Some(*min);
                        s.max = Some(*max);
                        s.anchors = anchors
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.clone()))
                            .collect();
                    }
                    QuestionKind::Choice { choices } => s.choices = choices.clone(),
                }
                s
            })
            .collect(),
        patients: study
            .patients
            .iter()
            .map(|p| PatientSection {
                key: p.key.to_string(),
                description: p.description.clone(),
            })
            .collect(),
        coders: study
            .coders
            .iter()
            .map(|c| CoderSection {
                name: c.name.to_string(),
            })
            .collect(),
    };
    let mut out = String::new();
    if study.meta.synthetic {
        out.push_str("# SYNTHETIC DATA: this study was made up for examples and tests; it holds no real person's data.\n");
    }
    out.push_str("# RuptureLab study folder; the format is described in docs/study-format.md.\n");
    out.push_str(&toml::to_string(&st).expect("study.toml serialises"));
    out
}

fn codebook_toml(study: &StudyData) -> String {
    let cb = CodebookToml {
        code: study
            .codes
            .iter()
            .map(|c| CodeSection {
                path: c.path.to_string(),
                name: Some(c.name.clone()),
                codable: c.codable,
                colour: c.colour.clone(),
                definition: c.definition.clone(),
                inclusion: c.inclusion.clone(),
                exclusion: c.exclusion.clone(),
                example: c.example.clone(),
            })
            .collect(),
    };
    toml::to_string(&cb).expect("codebook.toml serialises")
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

fn segment_txt(seg: &Segment, position: usize) -> String {
    let mut out = String::new();
    out.push_str(&format!("label: {}\n", one_line(&seg.label)));
    out.push_str(&format!("patient: {}\n", seg.patient));
    if let Some(s) = seg.session {
        out.push_str(&format!("session: {s}\n"));
    }
    out.push_str(&format!("position: {position}\n"));
    out.push_str(&format!("rupture: {}\n", seg.rupture.as_str()));
    if !seg.markers.is_empty() {
        let ms: Vec<String> = seg
            .markers
            .iter()
            .map(|m| match m.salience {
                Some(s) => format!("{} = {}", m.name, s.get()),
                None => m.name.clone(),
            })
            .collect();
        out.push_str(&format!("markers: {}\n", ms.join("; ")));
    }
    if let Some(m) = &seg.media {
        match (m.start_ms, m.end_ms) {
            (Some(a), Some(b)) => out.push_str(&format!(
                "media: {} {}-{}\n",
                m.reference,
                format_time(a),
                format_time(b)
            )),
            _ => out.push_str(&format!("media: {}\n", m.reference)),
        }
    }
    if let Some(n) = &seg.notes {
        out.push_str(&format!("notes: {}\n", one_line(n)));
    }
    out.push_str("---\n");
    for t in &seg.turns {
        if let (Some(a), Some(b)) = (t.start_ms, t.end_ms) {
            out.push_str(&format!("[{}-{}] ", format_time(a), format_time(b)));
        }
        out.push_str(&format!("{}: {}\n", t.speaker, one_line(&t.text)));
    }
    out
}

fn ts(t: Option<Timestamp>) -> String {
    t.map(|t| t.to_rfc3339()).unwrap_or_default()
}

fn key_cols(k: &ResponseKey) -> [String; 3] {
    [
        k.participant.to_string(),
        k.segment
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_default(),
        k.question.to_string(),
    ]
}

/// Writes a study as folder files (`study.toml`, `segments/*.txt`, CSVs…).
pub fn write_folder(study: &StudyData) -> FolderFiles {
    let mut files = FolderFiles::new();
    files.insert("study.toml".into(), study_toml(study).into_bytes());
    files.insert("codebook.toml".into(), codebook_toml(study).into_bytes());
    for (i, seg) in study.segments.iter().enumerate() {
        files.insert(
            format!("segments/{}.txt", seg.key),
            segment_txt(seg, i + 1).into_bytes(),
        );
    }

    let mut headers = vec!["code".to_string(), "status".into(), "segment_order".into()];
    headers.extend(study.attributes.iter().map(|a| a.name.to_string()));
    let rows = study.participants.iter().map(|p| {
        let mut r = vec![
            p.code.to_string(),
            p.status.as_str().to_string(),
            p.order
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(";"),
        ];
        r.extend(study.attributes.iter().map(|a| {
            p.attributes
                .get(a.name.as_str())
                .map(|v| v.to_string())
                .unwrap_or_default()
        }));
        r
    });
    let hdr: Vec<&str> = headers.iter().map(String::as_str).collect();
    files.insert("participants.csv".into(), csv_bytes(&hdr, rows));

    let rows = study.responses.iter().map(|r| {
        let [p, s, q] = key_cols(&r.key);
        vec![
            p,
            s,
            q,
            r.answer.text().unwrap_or("").to_string(),
            r.answer.value_string().unwrap_or_default(),
            ts(r.created_at),
            ts(r.updated_at),
        ]
    });
    files.insert(
        "responses.csv".into(),
        csv_bytes(
            &[
                "participant",
                "segment",
                "question",
                "text",
                "value",
                "created_at",
                "updated_at",
            ],
            rows,
        ),
    );

    let texts: BTreeMap<&ResponseKey, &str> = study
        .responses
        .iter()
        .filter_map(|r| r.answer.text().map(|t| (&r.key, t)))
        .collect();
    let rows = study.codings.iter().map(|c| {
        let [p, s, q] = key_cols(&c.response);
        let (start, end, quote, occ) = match (c.span, texts.get(&c.response)) {
            (Some(sp), Some(t)) => {
                let quote = text::slice_chars(t, sp.start, sp.end)
                    .unwrap_or("")
                    .to_string();
                let hits = text::find_all_chars(t, &quote);
                let occ = if hits.len() > 1 {
                    hits.iter()
                        .position(|h| *h == sp.start)
                        .map(|i| (i + 1).to_string())
                        .unwrap_or_default()
                } else {
                    String::new()
                };
                (sp.start.to_string(), sp.end.to_string(), quote, occ)
            }
            (Some(sp), None) => (
                sp.start.to_string(),
                sp.end.to_string(),
                String::new(),
                String::new(),
            ),
            (None, _) => Default::default(),
        };
        vec![
            c.coder.to_string(),
            p,
            s,
            q,
            c.code.to_string(),
            start,
            end,
            quote,
            occ,
            c.memo.clone().unwrap_or_default(),
        ]
    });
    files.insert(
        "codings.csv".into(),
        csv_bytes(
            &[
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
            ],
            rows,
        ),
    );

    if !study.memos.is_empty() {
        let rows = study.memos.iter().map(|m| {
            let target = match &m.target {
                MemoTarget::Study => "study".to_string(),
                MemoTarget::Response(k) => format!("response:{k}"),
                MemoTarget::Code(c) => format!("code:{c}"),
            };
            vec![m.author.clone(), target, m.text.clone(), ts(m.created_at)]
        });
        files.insert(
            "memos.csv".into(),
            csv_bytes(&["author", "target", "text", "created_at"], rows),
        );
    }
    if !study.audit.is_empty() {
        let rows = study.audit.iter().map(|a| {
            vec![
                a.at.to_rfc3339(),
                a.actor.clone(),
                a.action.clone(),
                a.entity.clone(),
                a.detail.clone(),
            ]
        });
        files.insert(
            "audit.csv".into(),
            csv_bytes(&["at", "actor", "action", "entity", "detail"], rows),
        );
    }
    files
}
