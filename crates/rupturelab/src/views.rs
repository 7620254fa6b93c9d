//! Read-only views of a loaded study: overview, codebook, participants, responses.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::{anyhow, bail, Result};
use clap::Args;
use rupturelab_core::analysis::{participants_answered, prevalence, PrevalenceRow};
use rupturelab_core::{
    AttributeDef, AttributeType, Participant, QuestionKind, QuestionScope, StudyData,
};

use crate::output::{Cell, Report, Table};

/// Fails with the list of layers when `layer` is not a coder of the study.
pub(crate) fn check_layer(study: &StudyData, layer: &str) -> Result<()> {
    if study.coders.iter().any(|c| c.name.as_str() == layer) {
        return Ok(());
    }
    let names: Vec<&str> = study.coders.iter().map(|c| c.name.as_str()).collect();
    bail!(
        "there is no coding layer `{layer}` in this study; layers: {}",
        if names.is_empty() {
            "none yet".to_string()
        } else {
            names.join(", ")
        }
    )
}

/// The attribute used for "orientation" tables: named `orientation`, else the first category attribute.
fn group_attribute(study: &StudyData) -> Option<&AttributeDef> {
    study.attribute("orientation").or_else(|| {
        study
            .attributes
            .iter()
            .find(|a| matches!(a.kind, AttributeType::Category { .. }))
    })
}

/// The banded attribute used for "experience" tables.
fn band_attribute(study: &StudyData) -> Option<&AttributeDef> {
    study.attributes.iter().find(|a| !a.bands.is_empty())
}

fn pct(n: usize, of: usize) -> String {
    if of == 0 {
        "—".into()
    } else {
        format!("{:.0}%", 100.0 * n as f64 / of as f64)
    }
}

/// The study overview printed by `summary` and `demo`.
pub fn summary(study: &StudyData, layer: &str) -> Result<Report> {
    let mut r = Report::default();
    let m = &study.meta;
    r.fact("title", "Study", format!("{} ({})", m.title, m.key));
    if m.synthetic {
        r.fact(
            "synthetic",
            "Data",
            "SYNTHETIC example data (no real patients or participants)",
        );
    }
    r.fact(
        "design",
        "Design",
        format!(
            "{} patients, {} segments, {} questions; presentation order: {}; participant pages in {}",
            study.patients.len(),
            study.segments.len(),
            study.questions.len(),
            study.settings.presentation_order.as_str(),
            m.language.as_str()
        ),
    );

    let mut t = Table::new(
        "segments",
        "Segments",
        &[
            "segment",
            "label",
            "patient",
            "session",
            "rupture",
            "3RS markers (salience)",
            "turns",
        ],
    );
    for s in &study.segments {
        let markers: Vec<String> = s
            .markers
            .iter()
            .map(|mk| match mk.salience {
                Some(v) => format!("{} ({})", mk.name, v.get()),
                None => mk.name.clone(),
            })
            .collect();
        t.row(vec![
            s.key.to_string().into(),
            s.label.clone().into(),
            s.patient.to_string().into(),
            s.session.map(|v| v as i64).into(),
            s.rupture.as_str().into(),
            markers.join("; ").into(),
            s.turns.len().into(),
        ]);
    }
    r.tables.push(t);

    let mut t = Table::new(
        "questions",
        "Questions",
        &["question", "kind", "asked", "prompt"],
    );
    for q in &study.questions {
        let kind = match &q.kind {
            QuestionKind::Open => "open".to_string(),
            QuestionKind::Likert { min, max, .. } => format!("rating {min}–{max}"),
            QuestionKind::Choice { choices } => format!("choice of {}", choices.len()),
        };
        let scope = match q.scope {
            QuestionScope::Segment => "per segment",
            QuestionScope::Once => "once",
        };
        t.row(vec![
            q.key.to_string().into(),
            kind.into(),
            scope.into(),
            q.prompt.clone().into(),
        ]);
    }
    r.tables.push(t);

    if let Some(t) = participants_table(study) {
        r.tables.push(t);
    }

    // Response counts per question: answered / expected.
    let answered_participants = participants_answered(study);
    let mut t = Table::new(
        "responses",
        "Responses",
        &["question", "answers", "expected", "complete", "mean words"],
    );
    for q in &study.questions {
        let rs: Vec<_> = study
            .responses
            .iter()
            .filter(|x| x.key.question == q.key)
            .collect();
        let expected = study.participants.len()
            * if q.scope == QuestionScope::Segment {
                study.segments.len()
            } else {
                1
            };
        let words: Vec<usize> = rs
            .iter()
            .filter_map(|x| x.answer.text())
            .map(|t| t.split_whitespace().count())
            .collect();
        let mean = (!words.is_empty())
            .then(|| Cell::Num(words.iter().sum::<usize>() as f64 / words.len() as f64, 1));
        t.row(vec![
            q.key.to_string().into(),
            rs.len().into(),
            expected.into(),
            pct(rs.len(), expected).into(),
            mean.unwrap_or(Cell::Empty),
        ]);
    }
    r.tables.push(t);
    r.fact(
        "responses_total",
        "Responses",
        format!(
            "{} from {} participants who answered",
            study.responses.len(),
            answered_participants
        ),
    );

    // Theme tables per category.
    if study.codes.is_empty() {
        r.hints
            .push("The codebook is empty: there are no theme tables yet.".into());
        return Ok(r);
    }
    if layer == rupturelab_core::CONSENSUS && !study.coders.iter().any(|c| c.is_consensus()) {
        r.hints.push("No consensus codings yet: the theme tables appear once responses are coded and reconciled (or pass --layer CODER).".into());
        return Ok(r);
    }
    check_layer(study, layer)?;
    let rows = prevalence(study, layer);
    let n = answered_participants;
    for cat in rows.iter().filter(|row| row.depth == 1) {
        let title = format!("{} — {} layer, N = {n} participants", cat.name, layer);
        let mut t = Table::new(
            &format!("themes_{}", cat.code.as_str().to_lowercase()),
            &title,
            &[
                "theme",
                "code",
                "participants",
                "%",
                "responses",
                "segments",
                "CQR",
            ],
        );
        for row in rows
            .iter()
            .filter(|x| x.depth > 1 && x.code.is_within(&cat.code))
        {
            t.row(prevalence_cells(row, 2));
        }
        r.tables.push(t);
    }
    Ok(r)
}

/// A prevalence row as table cells: name indented below `top_depth`, path, counts, CQR label.
pub(crate) fn prevalence_cells(row: &PrevalenceRow, top_depth: usize) -> Vec<Cell> {
    vec![
        format!(
            "{}{}",
            "  ".repeat(row.depth.saturating_sub(top_depth)),
            row.name
        )
        .into(),
        row.code.to_string().into(),
        row.participants.into(),
        Cell::Num(row.participants_pct, 0),
        row.responses.into(),
        row.segments.into(),
        row.cqr.as_str().into(),
    ]
}

/// Participants by the grouping attribute × experience band.
fn participants_table(study: &StudyData) -> Option<Table> {
    let group = group_attribute(study)?;
    let values: Vec<String> = match &group.kind {
        AttributeType::Category { values } => values.clone(),
        _ => return None,
    };
    let band = band_attribute(study);
    let bands: Vec<String> = band.map(|b| b.band_labels()).unwrap_or_default();
    let mut cols: Vec<String> = vec![group.label.clone()];
    if let Some(b) = band {
        cols.extend(bands.iter().map(|l| format!("{} {l}", b.name)));
    }
    cols.push("total".into());
    let col_refs: Vec<&str> = cols.iter().map(String::as_str).collect();
    let title = match band {
        Some(b) => format!("Participants by {} and {}", group.label, b.label),
        None => format!("Participants by {}", group.label),
    };
    let mut t = Table::new("participants", &title, &col_refs);
    let value_of = |p: &Participant| p.attributes.get(group.name.as_str()).map(|v| v.to_string());
    let band_of = |p: &Participant| {
        band.and_then(|b| p.attributes.get(b.name.as_str()).and_then(|v| b.band_of(v)))
    };
    let mut rows_vals = values.clone();
    if study.participants.iter().any(|p| value_of(p).is_none()) {
        rows_vals.push("(missing)".into());
    }
    let mut col_totals = vec![0usize; bands.len() + 1];
    for v in &rows_vals {
        let members: Vec<&Participant> = study
            .participants
            .iter()
            .filter(|p| value_of(p).as_deref().unwrap_or("(missing)") == v)
            .collect();
        if members.is_empty() {
            continue;
        }
        let mut row: Vec<Cell> = vec![v.clone().into()];
        for (i, b) in bands.iter().enumerate() {
            let n = members
                .iter()
                .filter(|p| band_of(p).as_deref() == Some(b.as_str()))
                .count();
            col_totals[i] += n;
            row.push(n.into());
        }
        col_totals[bands.len()] += members.len();
        row.push(members.len().into());
        t.row(row);
    }
    let mut total: Vec<Cell> = vec!["total".into()];
    total.extend(col_totals.into_iter().map(Cell::from));
    t.row(total);
    Some(t)
}

/// `rupturelab codebook show`.
pub fn codebook(study: &StudyData, layer: &str) -> Result<Report> {
    let mut r = Report::default();
    let counts: HashMap<String, (usize, usize)> =
        if study.coders.iter().any(|c| c.name.as_str() == layer) {
            prevalence(study, layer)
                .into_iter()
                .map(|row| (row.code.to_string(), (row.participants, row.responses)))
                .collect()
        } else {
            HashMap::new()
        };
    let mut t = Table::new(
        "codebook",
        &format!(
            "Codebook of {} ({} codes; counts from the {layer} layer)",
            study.meta.key,
            study.codes.len()
        ),
        &[
            "code",
            "path",
            "colour",
            "participants",
            "responses",
            "definition",
        ],
    );
    for c in &study.codes {
        let (p, n) = counts.get(c.path.as_str()).copied().unwrap_or((0, 0));
        let name = format!(
            "{}{}{}",
            "  ".repeat(c.path.depth() - 1),
            c.name,
            if c.codable { "" } else { " (category)" }
        );
        t.row(vec![
            name.into(),
            c.path.to_string().into(),
            c.colour.clone().into(),
            p.into(),
            n.into(),
            c.definition.clone().into(),
        ]);
    }
    r.tables.push(t);
    Ok(r)
}

/// `rupturelab participants list`.
pub fn participants(study: &StudyData) -> Report {
    let mut cols: Vec<String> = vec![
        "code".into(),
        "status".into(),
        "responses".into(),
        "segment order".into(),
    ];
    cols.extend(study.attributes.iter().map(|a| a.name.to_string()));
    let col_refs: Vec<&str> = cols.iter().map(String::as_str).collect();
    let mut t = Table::new("participants", "", &col_refs);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for resp in &study.responses {
        *counts.entry(resp.key.participant.as_str()).or_default() += 1;
    }
    for p in &study.participants {
        let mut row: Vec<Cell> = vec![
            p.code.to_string().into(),
            p.status.as_str().into(),
            counts.get(p.code.as_str()).copied().unwrap_or(0).into(),
            p.order
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(" ")
                .into(),
        ];
        for a in &study.attributes {
            row.push(match p.attributes.get(a.name.as_str()) {
                Some(rupturelab_core::AttrValue::Integer(i)) => Cell::Int(*i),
                Some(v) => Cell::Text(v.to_string()),
                None => Cell::Empty,
            });
        }
        t.row(row);
    }
    Report {
        tables: vec![t],
        ..Default::default()
    }
}

/// Filters of `rupturelab responses list`.
#[derive(Args, Debug, Default)]
pub struct ResponseFilter {
    /// Only this segment (key).
    #[arg(long)]
    segment: Option<String>,
    /// Only this question (key).
    #[arg(long)]
    question: Option<String>,
    /// Only this participant (code).
    #[arg(long)]
    participant: Option<String>,
    /// Only participants with this attribute value, e.g. `orientation=CBT` or `experience_years=5–9` (a band); repeatable.
    #[arg(long = "where", value_name = "ATTRIBUTE=VALUE")]
    conditions: Vec<String>,
}

/// `rupturelab responses list`.
pub fn responses(study: &StudyData, f: &ResponseFilter) -> Result<Report> {
    let check = |what: &str, v: &Option<String>, keys: Vec<&str>| -> Result<()> {
        if let Some(v) = v {
            if !keys.contains(&v.as_str()) {
                bail!(
                    "there is no {what} `{v}` in this study; {what}s: {}",
                    keys.join(", ")
                );
            }
        }
        Ok(())
    };
    check(
        "segment",
        &f.segment,
        study.segments.iter().map(|s| s.key.as_str()).collect(),
    )?;
    check(
        "question",
        &f.question,
        study.questions.iter().map(|s| s.key.as_str()).collect(),
    )?;
    check(
        "participant",
        &f.participant,
        study.participants.iter().map(|s| s.code.as_str()).collect(),
    )?;
    let mut conds: Vec<(&AttributeDef, String)> = Vec::new();
    for c in &f.conditions {
        let (name, value) = c
            .split_once('=')
            .ok_or_else(|| anyhow!("--where `{c}`: write ATTRIBUTE=VALUE, e.g. orientation=CBT"))?;
        let def = study.attribute(name.trim()).ok_or_else(|| {
            anyhow!(
                "--where `{c}`: there is no attribute `{name}`; attributes: {}",
                study
                    .attributes
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        conds.push((def, value.trim().to_string()));
    }
    let participants: BTreeMap<&str, &Participant> = study
        .participants
        .iter()
        .map(|p| (p.code.as_str(), p))
        .collect();
    let matches = |p: &Participant| {
        conds.iter().all(|(def, want)| {
            p.attributes.get(def.name.as_str()).is_some_and(|v| {
                v.to_string() == *want || def.band_of(v).as_deref() == Some(want.as_str())
            })
        })
    };
    let coded: HashSet<_> = study
        .codings
        .iter()
        .filter(|c| c.coder.as_str() == rupturelab_core::CONSENSUS)
        .map(|c| &c.response)
        .collect();
    let mut t = Table::new(
        "responses",
        "",
        &[
            "participant",
            "segment",
            "question",
            "answer",
            "consensus coded",
        ],
    );
    for resp in &study.responses {
        let k = &resp.key;
        if f.segment
            .as_deref()
            .is_some_and(|s| k.segment.as_ref().map(|x| x.as_str()) != Some(s))
            || f.question
                .as_deref()
                .is_some_and(|q| k.question.as_str() != q)
            || f.participant
                .as_deref()
                .is_some_and(|p| k.participant.as_str() != p)
            || !participants
                .get(k.participant.as_str())
                .is_some_and(|p| matches(p))
        {
            continue;
        }
        let answer = resp
            .answer
            .text()
            .map(str::to_string)
            .or_else(|| resp.answer.value_string())
            .unwrap_or_default();
        t.row(vec![
            k.participant.to_string().into(),
            k.segment.as_ref().map(|s| s.to_string()).into(),
            k.question.to_string().into(),
            answer.into(),
            if resp.answer.text().is_some() {
                if coded.contains(k) {
                    "yes"
                } else {
                    "no"
                }
            } else {
                ""
            }
            .into(),
        ]);
    }
    let n = t.rows.len();
    let mut r = Report {
        tables: vec![t],
        ..Default::default()
    };
    r.hints.push(format!("{n} responses"));
    Ok(r)
}
