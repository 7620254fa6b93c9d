//! Tidy tables for R, SPSS and spreadsheets: codings (long), responses, the
//! binary response × code and participant × code matrices, the codebook and
//! the participants; as CSV or one XLSX workbook. Column names are safe for
//! R and SPSS (ASCII letters, digits and `_`, starting with a letter, at
//! most 64 characters, unique ignoring case, no reserved words); a `columns`
//! sheet maps each name back to its label.

use std::collections::{BTreeSet, HashMap, HashSet};

use rupturelab_core::text::slice_chars;
use rupturelab_core::{AttrValue, CodePath, Coding, StudyData, CONSENSUS};
use unicode_normalization::UnicodeNormalization;

use crate::error::{Problem, Result};

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A whole number (also 0/1 for yes/no).
    Int(i64),
    /// A real number.
    Num(f64),
    /// Missing.
    Empty,
}

impl Cell {
    /// The CSV form.
    pub fn display(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Num(x) => format!("{x}"),
            Cell::Empty => String::new(),
        }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Cell::Empty)
    }
}

fn attr_cell(v: Option<&AttrValue>) -> Cell {
    match v {
        None => Cell::Empty,
        Some(AttrValue::Text(s)) => Cell::Text(s.clone()),
        Some(AttrValue::Integer(i)) => Cell::Int(*i),
        Some(AttrValue::Number(x)) => Cell::Num(*x),
        Some(AttrValue::Bool(b)) => Cell::Int(i64::from(*b)),
    }
}

/// A named table with R/SPSS-safe column names and their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// Sheet (and CSV file suffix) name.
    pub name: String,
    /// Safe column names.
    pub columns: Vec<String>,
    /// What each column holds, in words.
    pub labels: Vec<String>,
    /// Rows.
    pub rows: Vec<Vec<Cell>>,
}

/// Which table to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// One row per coding, with the participant's attributes.
    Codings,
    /// One row per response.
    Responses,
    /// Binary response × code and participant × code matrices.
    Matrix,
    /// The codebook.
    Codebook,
    /// One row per participant.
    Participants,
    /// All of the above (a workbook).
    All,
}

impl What {
    /// Parses `codings`, `responses`, `matrix`, `codebook`, `participants` or `all`.
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "codings" => What::Codings,
            "responses" => What::Responses,
            "matrix" => What::Matrix,
            "codebook" => What::Codebook,
            "participants" => What::Participants,
            "all" => What::All,
            o => {
                return Err(format!(
                "unknown table `{o}`; use codings, responses, matrix, codebook, participants or all"
            ))
            }
        })
    }
}

const RESERVED: [&str; 27] = [
    // SPSS
    "all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to", "with",
    // R
    "if", "else", "repeat", "while", "function", "for", "in", "next", "break", "true", "false",
    "null", "inf", "nan",
];

fn ascii_fold(c: char) -> Option<char> {
    Some(match c {
        'ı' => 'i',
        'İ' => 'I',
        'ß' => 's',
        'ø' => 'o',
        'Ø' => 'O',
        'æ' => 'a',
        'Æ' => 'A',
        'ł' => 'l',
        'Ł' => 'L',
        'đ' => 'd',
        'Đ' => 'D',
        _ => return None,
    })
}

/// A column name safe for R and SPSS: ASCII letters, digits and `_`,
/// starting with a letter, at most 64 characters (accents are dropped:
/// `deneyim_yılı` → `deneyim_yili`).
pub fn safe_name(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.nfd() {
        let c = ascii_fold(c).unwrap_or(c);
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if unicode_normalization::char::is_combining_mark(c) {
            continue;
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let mut out = out.trim_matches('_').to_string();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert_str(0, "v_");
    }
    if RESERVED.contains(&out.to_ascii_lowercase().as_str()) {
        out.push('_');
    }
    out.truncate(64);
    out
}

struct Names {
    taken: HashSet<String>,
    columns: Vec<String>,
    labels: Vec<String>,
}

impl Names {
    fn new() -> Self {
        Names {
            taken: HashSet::new(),
            columns: Vec::new(),
            labels: Vec::new(),
        }
    }
    fn add(&mut self, raw: &str, label: &str) {
        let base = safe_name(raw);
        let mut name = base.clone();
        let mut n = 2;
        while self.taken.contains(&name.to_ascii_lowercase()) {
            let suffix = format!("_{n}");
            name = format!("{}{suffix}", &base[..base.len().min(64 - suffix.len())]);
            n += 1;
        }
        self.taken.insert(name.to_ascii_lowercase());
        self.columns.push(name);
        self.labels.push(label.to_string());
    }
    fn sheet(self, name: &str, rows: Vec<Vec<Cell>>) -> Sheet {
        Sheet {
            name: name.to_string(),
            columns: self.columns,
            labels: self.labels,
            rows,
        }
    }
}

fn participant_cols(study: &StudyData, names: &mut Names) {
    for a in &study.attributes {
        names.add(a.name.as_str(), &a.label);
        if !a.bands.is_empty() {
            names.add(&format!("{}_band", a.name), &format!("{} (band)", a.label));
        }
    }
}

/// Participants by code, for lookups in tables of many rows.
struct Index<'a> {
    by_code: HashMap<&'a str, &'a rupturelab_core::Participant>,
}

impl<'a> Index<'a> {
    fn new(study: &'a StudyData) -> Self {
        Index {
            by_code: study
                .participants
                .iter()
                .map(|p| (p.code.as_str(), p))
                .collect(),
        }
    }
}

fn participant_cells(study: &StudyData, ix: &Index<'_>, code: &str) -> Vec<Cell> {
    let p = ix.by_code.get(code).copied();
    let mut out = Vec::new();
    for a in &study.attributes {
        let v = p.and_then(|p| p.attributes.get(a.name.as_str()));
        out.push(attr_cell(v));
        if !a.bands.is_empty() {
            out.push(v.and_then(|v| a.band_of(v)).into());
        }
    }
    out
}

/// The coding layer a matrix uses: the named coder, `any` (all coders
/// pooled), or by default the consensus layer when it has codings, else any.
pub fn layer_filter<'a>(
    study: &'a StudyData,
    layer: Option<&str>,
) -> Result<(String, Vec<&'a Coding>)> {
    let has = |name: &str| study.codings.iter().any(|c| c.coder.as_str() == name);
    let chosen = match layer {
        Some("any") => "any".to_string(),
        Some(l) => {
            if !study.coders.iter().any(|c| c.name.as_str() == l) {
                let names: Vec<&str> = study.coders.iter().map(|c| c.name.as_str()).collect();
                return Err(Problem::file(
                    "--layer",
                    format!(
                        "`{l}` is not a coder of this study; use `any` or one of: {}",
                        names.join(", ")
                    ),
                )
                .into());
            }
            l.to_string()
        }
        None if has(CONSENSUS) => CONSENSUS.to_string(),
        None => "any".to_string(),
    };
    let codings = study
        .codings
        .iter()
        .filter(|c| chosen == "any" || c.coder.as_str() == chosen)
        .collect();
    Ok((chosen, codings))
}

/// Builds the tables asked for.
pub fn build(study: &StudyData, what: What, layer: Option<&str>) -> Result<Vec<Sheet>> {
    let mut out = Vec::new();
    let all = what == What::All;
    if all || what == What::Participants {
        out.push(participants(study));
    }
    if all || what == What::Responses {
        out.push(responses(study));
    }
    if all || what == What::Codings {
        out.push(codings(study, layer)?);
    }
    if all || what == What::Matrix {
        out.extend(matrices(study, layer)?);
    }
    if all || what == What::Codebook {
        out.push(codebook(study));
    }
    Ok(out)
}

fn participants(study: &StudyData) -> Sheet {
    let ix = Index::new(study);
    let mut n = Names::new();
    n.add("participant", "Participant code");
    n.add("status", "Status (invited, started, completed)");
    participant_cols(study, &mut n);
    let rows = study
        .participants
        .iter()
        .map(|p| {
            let mut r = vec![Cell::from(p.code.as_str()), p.status.as_str().into()];
            r.extend(participant_cells(study, &ix, p.code.as_str()));
            r
        })
        .collect();
    n.sheet("participants", rows)
}

fn segment_cells(study: &StudyData, seg: Option<&rupturelab_core::Key>) -> [Cell; 3] {
    let s = seg.and_then(|k| study.segments.iter().find(|s| &s.key == k));
    [
        seg.map(|k| k.to_string()).into(),
        s.map(|s| s.patient.to_string()).into(),
        s.map(|s| s.rupture.as_str()).into(),
    ]
}

fn responses(study: &StudyData) -> Sheet {
    let ix = Index::new(study);
    let mut n = Names::new();
    n.add("participant", "Participant code");
    participant_cols(study, &mut n);
    for (c, l) in [
        ("segment", "Segment"),
        ("patient", "Patient of the segment"),
        ("rupture", "Rupture type of the segment"),
        ("question", "Question"),
        ("text", "Answer text (open questions)"),
        ("value", "Answer value (ratings, choices)"),
        ("created_at", "First saved (UTC)"),
        ("updated_at", "Last saved (UTC)"),
    ] {
        n.add(c, l);
    }
    let rows = study
        .responses
        .iter()
        .map(|r| {
            let mut row = vec![Cell::from(r.key.participant.as_str())];
            row.extend(participant_cells(study, &ix, r.key.participant.as_str()));
            row.extend(segment_cells(study, r.key.segment.as_ref()));
            row.push(r.key.question.as_str().into());
            row.push(r.answer.text().map(str::to_string).into());
            row.push(match &r.answer {
                rupturelab_core::Answer::Rating(v) => Cell::Int(*v),
                other => other.value_string().into(),
            });
            row.push(r.created_at.map(|t| t.to_rfc3339()).into());
            row.push(r.updated_at.map(|t| t.to_rfc3339()).into());
            row
        })
        .collect();
    n.sheet("responses", rows)
}

fn codings(study: &StudyData, layer: Option<&str>) -> Result<Sheet> {
    let ix = Index::new(study);
    let list: Vec<&Coding> = match layer {
        Some(_) => layer_filter(study, layer)?.1,
        None => study.codings.iter().collect(),
    };
    let mut n = Names::new();
    n.add("participant", "Participant code");
    participant_cols(study, &mut n);
    for (c, l) in [
        ("segment", "Segment"),
        ("patient", "Patient of the segment"),
        ("rupture", "Rupture type of the segment"),
        ("question", "Question"),
        ("response_text", "Answer text"),
        ("code", "Code path"),
        ("code_name", "Code name"),
        ("category", "Category (level 1)"),
        ("theme", "Theme (level 2)"),
        ("coder", "Coder (consensus = the consensus layer)"),
        (
            "start",
            "Start (code points, from 0; empty = whole response)",
        ),
        ("end", "End (code points, exclusive)"),
        ("quote", "Coded text"),
        ("memo", "Coding memo"),
    ] {
        n.add(c, l);
    }
    let texts: HashMap<_, _> = study
        .responses
        .iter()
        .map(|r| (&r.key, r.answer.text().unwrap_or("")))
        .collect();
    let rows = list
        .iter()
        .map(|c| {
            let text = texts.get(&c.response).copied().unwrap_or("");
            let mut row = vec![Cell::from(c.response.participant.as_str())];
            row.extend(participant_cells(
                study,
                &ix,
                c.response.participant.as_str(),
            ));
            row.extend(segment_cells(study, c.response.segment.as_ref()));
            row.push(c.response.question.as_str().into());
            row.push(text.into());
            row.push(c.code.as_str().into());
            row.push(study.code(c.code.as_str()).map(|x| x.name.clone()).into());
            row.push(c.code.ancestor(1).map(|p| p.to_string()).into());
            row.push(c.code.ancestor(2).map(|p| p.to_string()).into());
            row.push(c.coder.as_str().into());
            row.push(
                c.span
                    .map(|s| Cell::Int(s.start as i64))
                    .unwrap_or(Cell::Empty),
            );
            row.push(
                c.span
                    .map(|s| Cell::Int(s.end as i64))
                    .unwrap_or(Cell::Empty),
            );
            row.push(match c.span {
                Some(s) => slice_chars(text, s.start, s.end).map(str::to_string).into(),
                None => Cell::Empty,
            });
            row.push(c.memo.clone().into());
            row
        })
        .collect();
    Ok(n.sheet("codings", rows))
}

/// Codes a coding counts for: its own and every ancestor (roll-up).
fn with_ancestors(p: &CodePath) -> impl Iterator<Item = CodePath> + '_ {
    (1..=p.depth()).filter_map(|d| p.ancestor(d))
}

fn matrices(study: &StudyData, layer: Option<&str>) -> Result<Vec<Sheet>> {
    let ix = Index::new(study);
    let (chosen, list) = layer_filter(study, layer)?;
    let mut by_response: HashMap<_, BTreeSet<CodePath>> = HashMap::new();
    let mut by_participant: HashMap<_, BTreeSet<CodePath>> = HashMap::new();
    for c in &list {
        for p in with_ancestors(&c.code) {
            by_response
                .entry(&c.response)
                .or_default()
                .insert(p.clone());
            by_participant
                .entry(c.response.participant.as_str())
                .or_default()
                .insert(p);
        }
    }
    let code_cols = |n: &mut Names| {
        for c in &study.codes {
            n.add(
                c.path.as_str(),
                &format!(
                    "{} — {} (1 = coded with it or a code below it; layer: {chosen})",
                    c.path, c.name
                ),
            );
        }
    };
    let mut rn = Names::new();
    rn.add("participant", "Participant code");
    rn.add("segment", "Segment");
    rn.add("question", "Question");
    code_cols(&mut rn);
    let rrows = study
        .responses
        .iter()
        .filter(|r| r.answer.text().is_some())
        .map(|r| {
            let set = by_response.get(&r.key);
            let mut row = vec![
                Cell::from(r.key.participant.as_str()),
                r.key.segment.as_ref().map(|s| s.to_string()).into(),
                r.key.question.as_str().into(),
            ];
            row.extend(
                study
                    .codes
                    .iter()
                    .map(|c| Cell::Int(i64::from(set.is_some_and(|s| s.contains(&c.path))))),
            );
            row
        })
        .collect();
    let mut pn = Names::new();
    pn.add("participant", "Participant code");
    participant_cols(study, &mut pn);
    code_cols(&mut pn);
    let prows = study
        .participants
        .iter()
        .map(|p| {
            let set = by_participant.get(p.code.as_str());
            let mut row = vec![Cell::from(p.code.as_str())];
            row.extend(participant_cells(study, &ix, p.code.as_str()));
            row.extend(
                study
                    .codes
                    .iter()
                    .map(|c| Cell::Int(i64::from(set.is_some_and(|s| s.contains(&c.path))))),
            );
            row
        })
        .collect();
    Ok(vec![
        rn.sheet("matrix_responses", rrows),
        pn.sheet("matrix_participants", prows),
    ])
}

fn codebook(study: &StudyData) -> Sheet {
    let mut n = Names::new();
    for (c, l) in [
        ("code", "Code path"),
        ("name", "Name"),
        ("level", "Level (1 = category, 2 = theme, 3 = sub-theme)"),
        ("category", "Category (level 1)"),
        ("theme", "Theme (level 2)"),
        ("codable", "Codable (1 = yes)"),
        ("colour", "Colour"),
        ("definition", "Definition"),
        ("inclusion", "Inclusion criteria"),
        ("exclusion", "Exclusion criteria"),
        ("example", "Example"),
        ("column", "Column name in the matrix sheets"),
    ] {
        n.add(c, l);
    }
    let mut names = Names::new();
    for x in ["participant", "segment", "question"] {
        names.add(x, "");
    }
    for c in &study.codes {
        names.add(c.path.as_str(), "");
    }
    let rows = study
        .codes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            vec![
                Cell::from(c.path.as_str()),
                c.name.clone().into(),
                Cell::Int(c.path.depth() as i64),
                c.path.ancestor(1).map(|p| p.to_string()).into(),
                c.path.ancestor(2).map(|p| p.to_string()).into(),
                Cell::Int(i64::from(c.codable)),
                c.colour.clone().into(),
                c.definition.clone().into(),
                c.inclusion.clone().into(),
                c.exclusion.clone().into(),
                c.example.clone().into(),
                names.columns[3 + i].clone().into(),
            ]
        })
        .collect();
    n.sheet("codebook", rows)
}

/// The `columns` sheet: every sheet's columns with their labels.
pub fn columns_sheet(sheets: &[Sheet]) -> Sheet {
    let mut n = Names::new();
    n.add("sheet", "Sheet");
    n.add("column", "Column name");
    n.add("label", "What it holds");
    let rows = sheets
        .iter()
        .flat_map(|s| {
            s.columns.iter().zip(&s.labels).map(|(c, l)| {
                vec![
                    Cell::from(s.name.as_str()),
                    c.as_str().into(),
                    l.as_str().into(),
                ]
            })
        })
        .collect();
    n.sheet("columns", rows)
}

/// A sheet as CSV (UTF-8 without BOM, LF line ends, empty = missing).
pub fn to_csv(sheet: &Sheet) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let _ = w.write_record(&sheet.columns);
    for r in &sheet.rows {
        let _ = w.write_record(r.iter().map(Cell::display));
    }
    w.into_inner().unwrap_or_default()
}

/// Sheets as one XLSX workbook (with a `columns` sheet of labels).
pub fn to_xlsx(sheets: &[Sheet]) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let err = |sheet: &str, e: rust_xlsxwriter::XlsxError| {
        Problem::at(
            "workbook",
            None,
            Some(&format!("sheet {sheet}")),
            format!("cannot be written: {e}"),
        )
    };
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let mut all: Vec<Sheet> = sheets.to_vec();
    all.push(columns_sheet(sheets));
    for s in &all {
        if s.rows.len() >= 1_048_575 || s.columns.len() > 16_384 {
            return Err(Problem::at(
                "workbook",
                None,
                Some(&format!("sheet {}", s.name)),
                format!(
                    "has {} rows and {} columns, more than Excel allows; export it as CSV",
                    s.rows.len(),
                    s.columns.len()
                ),
            )
            .into());
        }
        let ws = wb.add_worksheet();
        ws.set_name(&s.name).map_err(|e| err(&s.name, e))?;
        for (c, name) in s.columns.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, name, &bold)
                .map_err(|e| err(&s.name, e))?;
        }
        for (r, row) in s.rows.iter().enumerate() {
            let r = (r + 1) as u32;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(t) => {
                        // Excel holds at most 32,767 characters in a cell.
                        let t: String = if t.chars().count() > 32_767 {
                            t.chars().take(32_767).collect()
                        } else {
                            t.clone()
                        };
                        ws.write_string(r, c, t).map_err(|e| err(&s.name, e))?;
                    }
                    Cell::Int(i) => {
                        ws.write_number(r, c, *i as f64)
                            .map_err(|e| err(&s.name, e))?;
                    }
                    Cell::Num(x) => {
                        ws.write_number(r, c, *x).map_err(|e| err(&s.name, e))?;
                    }
                    Cell::Empty => {}
                }
            }
        }
        ws.set_freeze_panes(1, 0).map_err(|e| err(&s.name, e))?;
    }
    wb.save_to_buffer()
        .map_err(|e| Problem::file("workbook", format!("cannot be written: {e}")).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_are_safe_for_r_and_spss() {
        assert_eq!(safe_name("experience_years"), "experience_years");
        assert_eq!(
            safe_name("Deneyim yılı (İstanbul)"),
            "Deneyim_yili_Istanbul"
        );
        assert_eq!(
            safe_name("Cause/Patient/Resistance"),
            "Cause_Patient_Resistance"
        );
        assert_eq!(safe_name("3RS marker"), "v_3RS_marker");
        assert_eq!(safe_name("ALL"), "ALL_");
        assert_eq!(safe_name("if"), "if_");
        assert_eq!(safe_name("🙂"), "v_");
        assert!(safe_name(&"x".repeat(100)).len() <= 64);
        let mut n = Names::new();
        n.add("Code", "");
        n.add("code", "");
        n.add("c/ode", "");
        assert_eq!(n.columns, ["Code", "code_2", "c_ode"]);
    }
}
