//! Importing answers collected elsewhere: survey exports (Qualtrics,
//! LimeSurvey, Google Forms) and any table with a column mapping, as CSV
//! (UTF-8, UTF-16, Windows-1254) or XLSX, into an existing study. All or
//! nothing: every problem is reported with the sheet, row and column, and
//! columns that are not used are listed, never silently dropped.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Cursor;

use rupturelab_core::text;
use rupturelab_core::{
    Answer, AttributeDef, AttributeType, Key, Participant, ParticipantStatus, QuestionKind,
    QuestionScope, Response, ResponseKey, StudyData, Timestamp,
};

use crate::archive::{Archive, Limits};
use crate::error::{InteropError, Problem, Result};

/// The shape of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Preset {
    /// Qualtrics: three header rows (column id, question text, ImportId JSON).
    Qualtrics,
    /// LimeSurvey: question codes (or `CODE. text`) as headings.
    LimeSurvey,
    /// Google Forms: `Timestamp` first, the question text as headings.
    GoogleForms,
    /// Any table: one header row.
    #[default]
    Generic,
}

impl Preset {
    /// Parses `qualtrics`, `limesurvey`, `googleforms` or `generic`.
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "qualtrics" => Preset::Qualtrics,
            "limesurvey" => Preset::LimeSurvey,
            "googleforms" | "google-forms" => Preset::GoogleForms,
            "generic" => Preset::Generic,
            o => {
                return Err(format!(
                    "unknown preset `{o}`; use qualtrics, limesurvey, googleforms or generic"
                ))
            }
        })
    }
    fn header_rows(self) -> usize {
        if self == Preset::Qualtrics {
            3
        } else {
            1
        }
    }
    /// Export columns of the survey tool that carry no answer.
    fn metadata(self) -> &'static [&'static str] {
        match self {
            Preset::Qualtrics => &[
                "startdate",
                "enddate",
                "status",
                "ipaddress",
                "progress",
                "duration (in seconds)",
                "finished",
                "recordeddate",
                "recipientlastname",
                "recipientfirstname",
                "recipientemail",
                "externalreference",
                "locationlatitude",
                "locationlongitude",
                "distributionchannel",
                "userlanguage",
                "q_recaptchascore",
                "q_relevantidduplicate",
                "q_relevantidduplicatescore",
                "q_relevantidfrauddscore",
                "q_relevantidlaststartdate",
            ],
            Preset::LimeSurvey => &[
                "submitdate",
                "lastpage",
                "startlanguage",
                "seed",
                "startdate",
                "datestamp",
                "refurl",
                "ipaddr",
                "interviewtime",
            ],
            Preset::GoogleForms => &["timestamp", "zaman damgası", "score", "puan"],
            Preset::Generic => &[],
        }
    }
    fn created_at(self) -> &'static [&'static str] {
        match self {
            Preset::Qualtrics | Preset::LimeSurvey => &["startdate"],
            Preset::GoogleForms => &["timestamp", "zaman damgası"],
            Preset::Generic => &["created_at"],
        }
    }
    fn updated_at(self) -> &'static [&'static str] {
        match self {
            Preset::Qualtrics => &["enddate", "recordeddate"],
            Preset::LimeSurvey => &["submitdate", "datestamp"],
            Preset::GoogleForms => &["timestamp", "zaman damgası"],
            Preset::Generic => &["updated_at"],
        }
    }
}

/// The character encoding of a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextEncoding {
    /// UTF-8, or UTF-16 when the file starts with its byte-order mark.
    #[default]
    Auto,
    /// UTF-8 (a BOM is skipped).
    Utf8,
    /// UTF-16 (Excel's "Unicode text"; little-endian unless a BOM says otherwise).
    Utf16,
    /// Windows-1254 (Turkish).
    Windows1254,
}

impl TextEncoding {
    /// Parses `auto`, `utf-8`, `utf-16` or `windows-1254`.
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        Ok(match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "auto" => TextEncoding::Auto,
            "utf-8" | "utf8" => TextEncoding::Utf8,
            "utf-16" | "utf16" | "utf-16le" | "unicode" => TextEncoding::Utf16,
            "windows-1254" | "cp1254" | "1254" => TextEncoding::Windows1254,
            o => {
                return Err(format!(
                    "unknown encoding `{o}`; use utf-8, utf-16 or windows-1254"
                ))
            }
        })
    }
}

/// What the import needs besides the file.
#[derive(Debug, Clone, Default)]
pub struct ResponseImportOptions {
    /// The file's shape.
    pub preset: Preset,
    /// The text of a `mapping.toml`, if given.
    pub mapping: Option<String>,
    /// The mapping file's name in messages.
    pub mapping_label: String,
    /// CSV encoding.
    pub encoding: TextEncoding,
    /// XLSX: the sheet to read (default: the first).
    pub sheet: Option<String>,
    /// Whether the file is XLSX (else CSV/TSV).
    pub xlsx: bool,
    /// The file name in messages.
    pub label: String,
    /// Safety limits (XLSX is a zip).
    pub limits: Limits,
}

/// How one column is used.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnUse {
    /// The participant code.
    Participant,
    /// A participant attribute.
    Attribute(String),
    /// Answers to a question (about a segment).
    Answer {
        /// Segment key (none for once-questions).
        segment: Option<Key>,
        /// Question key.
        question: Key,
    },
    /// When the answers were first saved.
    CreatedAt,
    /// When they were last saved.
    UpdatedAt,
    /// Export metadata of the survey tool, or listed under `ignore`.
    Ignored,
    /// Not used: listed for the user.
    Unmapped,
}

impl ColumnUse {
    /// In words, for the mapping table.
    pub fn describe(&self) -> String {
        match self {
            ColumnUse::Participant => "participant code".into(),
            ColumnUse::Attribute(a) => format!("attribute `{a}`"),
            ColumnUse::Answer {
                segment: Some(s),
                question,
            } => format!("answer {s} × {question}"),
            ColumnUse::Answer {
                segment: None,
                question,
            } => format!("answer {question} (once)"),
            ColumnUse::CreatedAt => "created_at".into(),
            ColumnUse::UpdatedAt => "updated_at".into(),
            ColumnUse::Ignored => "ignored (metadata)".into(),
            ColumnUse::Unmapped => "NOT USED".into(),
        }
    }
}

/// The result: the study with the answers added, and what was done.
#[derive(Debug, Clone)]
pub struct ResponsesImported {
    /// The study with new participants and responses.
    pub study: StudyData,
    /// Each column: letter, header, use.
    pub columns: Vec<(String, String, ColumnUse)>,
    /// The first stored responses (participant, segment, question, answer).
    pub preview: Vec<[String; 4]>,
    /// Participants added.
    pub new_participants: usize,
    /// Responses added.
    pub new_responses: usize,
    /// Rows read.
    pub rows: usize,
    /// Non-fatal notes.
    pub warnings: Vec<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingToml {
    header_rows: Option<usize>,
    participant: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, AttrMap>,
    #[serde(default)]
    responses: Vec<RespMap>,
    #[serde(default)]
    ignore: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
enum AttrMap {
    Column(String),
    Full {
        column: String,
        #[serde(rename = "type")]
        kind: Option<String>,
        label: Option<String>,
    },
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RespMap {
    column: String,
    segment: Option<String>,
    question: String,
}

/// A table read from a file: header rows, then data rows with their
/// 1-based row (CSV: line) numbers.
struct Grid {
    sheet: Option<String>,
    headers: Vec<Vec<String>>,
    rows: Vec<(usize, Vec<String>)>,
}

fn letter(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

fn decode_csv(bytes: &[u8], enc: TextEncoding, file: &str) -> Result<String> {
    let utf16 = |b: &[u8], le: bool| -> String {
        let (s, _) = if le {
            encoding_rs::UTF_16LE.decode_without_bom_handling(b)
        } else {
            encoding_rs::UTF_16BE.decode_without_bom_handling(b)
        };
        s.into_owned()
    };
    Ok(match enc {
        TextEncoding::Windows1254 => encoding_rs::WINDOWS_1254
            .decode_without_bom_handling(bytes)
            .0
            .into_owned(),
        TextEncoding::Utf16 | TextEncoding::Auto if bytes.starts_with(b"\xFF\xFE") => {
            utf16(&bytes[2..], true)
        }
        TextEncoding::Utf16 | TextEncoding::Auto if bytes.starts_with(b"\xFE\xFF") => {
            utf16(&bytes[2..], false)
        }
        TextEncoding::Utf16 => utf16(bytes, true),
        TextEncoding::Utf8 | TextEncoding::Auto => {
            let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            match std::str::from_utf8(b) {
                Ok(s) => s.to_string(),
                Err(e) => {
                    let good = &b[..e.valid_up_to()];
                    let line = good.iter().filter(|x| **x == b'\n').count() + 1;
                    return Err(Problem::at(
                        file,
                        Some(line),
                        None,
                        "is not valid UTF-8; give its encoding with --encoding windows-1254 (Turkish Excel) or --encoding utf-16 (Excel \"Unicode text\"), or save it as \"CSV UTF-8\"",
                    )
                    .into());
                }
            }
        }
    })
}

/// The delimiter (tab, semicolon or comma) that splits the first rows into
/// the same number of columns, most columns first; comma when none does.
fn sniff(text: &str) -> u8 {
    let mut best = (0usize, b',');
    for d in [b'\t', b';', b','] {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(d)
            .from_reader(text.as_bytes());
        let lens: Vec<usize> = rdr
            .records()
            .take(20)
            .map_while(|r| r.ok())
            .map(|r| r.len())
            .collect();
        let n = lens.first().copied().unwrap_or(0);
        if n > 1 && lens.iter().all(|l| *l == n) && n > best.0 {
            best = (n, d);
        }
    }
    best.1
}

fn read_csv(text: &str, header_rows: usize, file: &str) -> Result<Grid> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff(text))
        .from_reader(text.as_bytes());
    let mut headers = Vec::new();
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line() as usize);
            InteropError::from(Problem::at(
                file,
                line,
                None,
                format!("cannot be read as CSV ({e}); check the quotes around that line"),
            ))
        })?;
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
        let cells: Vec<String> = rec.iter().map(str::to_string).collect();
        if headers.len() < header_rows {
            headers.push(cells);
        } else if cells.iter().any(|c| !c.trim().is_empty()) {
            rows.push((line, cells));
        }
    }
    Ok(Grid {
        sheet: None,
        headers,
        rows,
    })
}

fn read_xlsx(
    bytes: &[u8],
    opts: &ResponseImportOptions,
    header_rows: usize,
    file: &str,
) -> Result<Grid> {
    use calamine::{Data, Reader, Xlsx};
    // The workbook is a zip: check every entry against the limits first.
    let mut archive = Archive::open(bytes, file, opts.limits)?;
    for i in 0..archive.names.len() {
        archive.read(i)?;
    }
    drop(archive);
    let opened = std::panic::catch_unwind(
        || -> std::result::Result<(Vec<String>, String, calamine::Range<Data>), String> {
            let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
                .map_err(|e: calamine::XlsxError| e.to_string())?;
            let names = wb.sheet_names();
            let name = match &opts.sheet {
                Some(s) => s.clone(),
                None => names.first().cloned().ok_or("the workbook has no sheets")?,
            };
            if !names.contains(&name) {
                return Err(format!(
                    "has no sheet `{name}`; its sheets are: {}",
                    names.join(", ")
                ));
            }
            let range = wb.worksheet_range(&name).map_err(|e| e.to_string())?;
            Ok((names, name, range))
        },
    );
    let (_, name, range) = match opened {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => return Err(Problem::file(file, format!("cannot be read as an Excel workbook: {e}")).into()),
        Err(_) => return Err(Problem::file(file, "cannot be read as an Excel workbook (the reader failed on it); save it again from Excel or as CSV").into()),
    };
    let first_row = range.start().map(|(r, _)| r as usize).unwrap_or(0);
    let first_col = range.start().map(|(_, c)| c as usize).unwrap_or(0);
    let cell = |d: &Data| -> String {
        match d {
            Data::Empty => String::new(),
            Data::String(s) => s.clone(),
            Data::Int(i) => i.to_string(),
            Data::Float(f) if f.fract() == 0.0 && f.abs() < 9e15 => format!("{}", *f as i64),
            Data::Float(f) => f.to_string(),
            Data::Bool(b) => b.to_string(),
            Data::DateTime(dt) => {
                Timestamp(((dt.as_f64() - 25569.0) * 86_400_000.0).round() as i64).to_rfc3339()
            }
            Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
            Data::Error(e) => format!("#{e:?}"),
        }
    };
    let mut headers = Vec::new();
    let mut rows = Vec::new();
    for (i, r) in range.rows().enumerate() {
        let mut cells: Vec<String> = vec![String::new(); first_col];
        cells.extend(r.iter().map(cell));
        if headers.len() < header_rows {
            headers.push(cells);
        } else if cells.iter().any(|c| !c.trim().is_empty()) {
            rows.push((first_row + i + 1, cells));
        }
    }
    Ok(Grid {
        sheet: Some(name),
        headers,
        rows,
    })
}

fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

fn compact(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '.' | ':' | '/' | '\t'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Parses a survey timestamp: RFC 3339, `YYYY-MM-DD HH:MM(:SS)` (UTC), or
/// `M/D/YYYY H:MM:SS` (Google Forms, US).
fn parse_when(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = Timestamp::parse_rfc3339(s) {
        return Some(t);
    }
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%m/%d/%Y %H:%M:%S",
        "%d.%m.%Y %H:%M:%S",
        "%Y/%m/%d %H:%M:%S",
    ] {
        if let Ok(d) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Some(Timestamp(d.and_utc().timestamp_millis()));
        }
    }
    None
}

fn import_responses_inner(
    study: &StudyData,
    bytes: &[u8],
    opts: &ResponseImportOptions,
) -> Result<ResponsesImported> {
    let file = if opts.label.is_empty() {
        "responses".to_string()
    } else {
        opts.label.clone()
    };
    let mfile = if opts.mapping_label.is_empty() {
        "mapping.toml".to_string()
    } else {
        opts.mapping_label.clone()
    };
    let mapping: MappingToml = match &opts.mapping {
        Some(src) => toml::from_str(src).map_err(|e| {
            let line = e
                .span()
                .map(|s| src[..s.start.min(src.len())].matches('\n').count() + 1);
            InteropError::from(Problem::at(
                &mfile,
                line,
                None,
                e.message().trim().to_string(),
            ))
        })?,
        None => MappingToml::default(),
    };
    let header_rows = mapping
        .header_rows
        .unwrap_or(opts.preset.header_rows())
        .max(1);
    let grid = if opts.xlsx {
        read_xlsx(bytes, opts, header_rows, &file)?
    } else {
        let text = decode_csv(bytes, opts.encoding, &file)?;
        read_csv(&text, header_rows, &file)?
    };
    let place = |row: usize,
                 col: Option<usize>,
                 header: &[String]|
     -> (String, Option<usize>, Option<String>) {
        let f = match &grid.sheet {
            Some(s) => format!("{file} sheet `{s}`"),
            None => file.clone(),
        };
        let column = col.map(|c| {
            format!(
                "column {} `{}`",
                letter(c),
                header.get(c).map(String::as_str).unwrap_or("")
            )
        });
        if grid.sheet.is_some() {
            let field = match column {
                Some(c) => format!("row {row}, {c}"),
                None => format!("row {row}"),
            };
            return (f, None, Some(field));
        }
        (f, Some(row), column)
    };
    let Some(header) = grid.headers.first().cloned() else {
        return Err(Problem::file(&file, "is empty; it needs a header row").into());
    };
    let header: Vec<String> = header.iter().map(|h| text::normalize(h.trim())).collect();
    let texts: Vec<String> = grid.headers.get(1).cloned().unwrap_or_default();
    let mut problems: Vec<Problem> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let push = |problems: &mut Vec<Problem>, p: Problem| {
        if problems.len() < 50 {
            problems.push(p);
        }
    };

    // The column of a name given in the mapping.
    let find_col = |name: &str| -> Option<usize> {
        header
            .iter()
            .position(|h| h == name)
            .or_else(|| header.iter().position(|h| norm(h) == norm(name)))
            .or_else(|| texts.iter().position(|h| norm(h) == norm(name)))
    };
    let mut uses: Vec<ColumnUse> = vec![ColumnUse::Unmapped; header.len()];
    let mut study = study.clone();
    let mut new_attrs: Vec<AttributeDef> = Vec::new();
    let assign = |uses: &mut Vec<ColumnUse>,
                  problems: &mut Vec<Problem>,
                  field: &str,
                  col: &str,
                  u: ColumnUse| {
        match find_col(col) {
            Some(i) if uses[i] == ColumnUse::Unmapped || uses[i] == ColumnUse::Ignored => {
                uses[i] = u
            }
            Some(i) => push(
                problems,
                Problem::at(
                    &mfile,
                    None,
                    Some(field),
                    format!("column `{col}` is already used as {}", uses[i].describe()),
                ),
            ),
            None => {
                let hint = text::did_you_mean(col, header.iter().map(String::as_str))
                    .map(|h| format!("did you mean `{h}`? "))
                    .unwrap_or_default();
                push(
                    problems,
                    Problem::at(
                        &mfile,
                        None,
                        Some(field),
                        format!(
                            "there is no column `{col}` in {file}; {hint}the columns are: {}",
                            header.join(", ")
                        ),
                    ),
                );
            }
        }
    };

    // 1. What the mapping says.
    for c in &mapping.ignore {
        if let Some(i) = find_col(c) {
            uses[i] = ColumnUse::Ignored;
        }
    }
    if let Some(c) = &mapping.participant {
        assign(
            &mut uses,
            &mut problems,
            "participant",
            c,
            ColumnUse::Participant,
        );
    }
    if let Some(c) = &mapping.created_at {
        assign(
            &mut uses,
            &mut problems,
            "created_at",
            c,
            ColumnUse::CreatedAt,
        );
    }
    if let Some(c) = &mapping.updated_at {
        assign(
            &mut uses,
            &mut problems,
            "updated_at",
            c,
            ColumnUse::UpdatedAt,
        );
    }
    for (name, m) in &mapping.attributes {
        let field = format!("attributes.{name}");
        let (col, kind, label) = match m {
            AttrMap::Column(c) => (c.clone(), None, None),
            AttrMap::Full {
                column,
                kind,
                label,
            } => (column.clone(), kind.clone(), label.clone()),
        };
        if study.attribute(name).is_none() {
            let Ok(key) = Key::parse(name) else {
                push(
                    &mut problems,
                    Problem::at(
                        &mfile,
                        None,
                        Some(&field),
                        format!("`{name}` is not a valid attribute name"),
                    ),
                );
                continue;
            };
            let kind = match kind.as_deref().unwrap_or("text") {
                "text" => AttributeType::Text,
                "category" => AttributeType::Category { values: Vec::new() },
                "integer" => AttributeType::Integer {
                    min: None,
                    max: None,
                },
                "number" => AttributeType::Number {
                    min: None,
                    max: None,
                },
                "boolean" => AttributeType::Boolean,
                o => {
                    push(&mut problems, Problem::at(&mfile, None, Some(&format!("{field}.type")), format!("unknown type `{o}`; use text, category, integer, number or boolean")));
                    continue;
                }
            };
            new_attrs.push(AttributeDef {
                label: label.unwrap_or_else(|| name.clone()),
                name: key,
                kind,
                bands: Vec::new(),
                required: false,
            });
        } else if kind.is_some() {
            warnings.push(format!(
                "{mfile}: {field}.type is ignored: the study already defines `{name}`"
            ));
        }
        assign(
            &mut uses,
            &mut problems,
            &field,
            &col,
            ColumnUse::Attribute(name.clone()),
        );
    }
    for (i, r) in mapping.responses.iter().enumerate() {
        let field = format!("[[responses]] #{} ({})", i + 1, r.column);
        let Some(q) = study
            .questions
            .iter()
            .find(|q| q.key.as_str() == r.question)
        else {
            push(
                &mut problems,
                Problem::at(
                    &mfile,
                    None,
                    Some(&field),
                    format!(
                        "question `{}` is not in the study; its questions are: {}",
                        r.question,
                        study
                            .questions
                            .iter()
                            .map(|q| q.key.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            );
            continue;
        };
        let seg = match (&r.segment, q.scope) {
            (Some(s), QuestionScope::Segment) => {
                match study.segments.iter().find(|x| x.key.as_str() == s) {
                    Some(x) => Some(x.key.clone()),
                    None => {
                        push(
                            &mut problems,
                            Problem::at(
                                &mfile,
                                None,
                                Some(&field),
                                format!("segment `{s}` is not in the study"),
                            ),
                        );
                        continue;
                    }
                }
            }
            (None, QuestionScope::Once) => None,
            (None, QuestionScope::Segment) => {
                push(
                    &mut problems,
                    Problem::at(
                        &mfile,
                        None,
                        Some(&field),
                        format!(
                            "question `{}` is asked per segment; add `segment = \"S1\"`",
                            q.key
                        ),
                    ),
                );
                continue;
            }
            (Some(_), QuestionScope::Once) => {
                push(
                    &mut problems,
                    Problem::at(
                        &mfile,
                        None,
                        Some(&field),
                        format!("question `{}` is asked once; remove `segment`", q.key),
                    ),
                );
                continue;
            }
        };
        assign(
            &mut uses,
            &mut problems,
            &field,
            &r.column,
            ColumnUse::Answer {
                segment: seg,
                question: q.key.clone(),
            },
        );
    }
    if !problems.is_empty() {
        return Err(InteropError::Invalid(problems));
    }

    // 2. What the preset and the study's names recognise.
    let mut answer_names: HashMap<String, (Option<Key>, Key)> = HashMap::new();
    for q in &study.questions {
        match q.scope {
            QuestionScope::Once => {
                answer_names.insert(compact(q.key.as_str()), (None, q.key.clone()));
            }
            QuestionScope::Segment => {
                for s in &study.segments {
                    let (a, b) = (compact(s.key.as_str()), compact(q.key.as_str()));
                    answer_names.insert(format!("{a}{b}"), (Some(s.key.clone()), q.key.clone()));
                    answer_names
                        .entry(format!("{b}{a}"))
                        .or_insert((Some(s.key.clone()), q.key.clone()));
                }
            }
        }
    }
    let participant_names = [
        "participant",
        "participant code",
        "participant_code",
        "participant_id",
        "code",
        "katılımcı",
        "katılımcı kodu",
        "token",
        "id",
        "responseid",
        "email address",
        "e-posta adresi",
    ];
    let meta = opts.preset.metadata();
    let auto_participant = mapping.participant.is_none();
    for i in 0..header.len() {
        if uses[i] != ColumnUse::Unmapped {
            continue;
        }
        let h = &header[i];
        let mut cands = vec![h.clone()];
        if let Some(t) = texts.get(i) {
            cands.push(t.clone());
        }
        // LimeSurvey "CODE. text", Google Forms "prompt [S1]".
        if let Some((code, _)) = h.split_once(". ") {
            cands.push(code.to_string());
        }
        let mut found: Option<ColumnUse> = None;
        for c in &cands {
            if let Some((seg, q)) = answer_names.get(&compact(c)) {
                found = Some(ColumnUse::Answer {
                    segment: seg.clone(),
                    question: q.clone(),
                });
                break;
            }
            if let Some((prompt, rest)) = c
                .trim_end()
                .strip_suffix(']')
                .and_then(|x| x.rsplit_once('['))
            {
                let seg = study
                    .segments
                    .iter()
                    .find(|s| norm(s.key.as_str()) == norm(rest) || norm(&s.label) == norm(rest));
                let q = study.questions.iter().find(|q| {
                    q.scope == QuestionScope::Segment
                        && (norm(&q.prompt) == norm(prompt) || norm(q.key.as_str()) == norm(prompt))
                });
                if let (Some(s), Some(q)) = (seg, q) {
                    found = Some(ColumnUse::Answer {
                        segment: Some(s.key.clone()),
                        question: q.key.clone(),
                    });
                    break;
                }
            }
            if let Some(q) = study
                .questions
                .iter()
                .find(|q| q.scope == QuestionScope::Once && norm(&q.prompt) == norm(c))
            {
                found = Some(ColumnUse::Answer {
                    segment: None,
                    question: q.key.clone(),
                });
                break;
            }
            if let Some(a) = study
                .attributes
                .iter()
                .chain(&new_attrs)
                .find(|a| norm(a.name.as_str()) == norm(c) || norm(&a.label) == norm(c))
            {
                found = Some(ColumnUse::Attribute(a.name.to_string()));
                break;
            }
        }
        let hn = norm(h);
        let found = found.or_else(|| {
            if auto_participant && participant_names.contains(&hn.as_str()) {
                None // decided below, by priority
            } else if mapping.created_at.is_none()
                && !uses.contains(&ColumnUse::CreatedAt)
                && opts.preset.created_at().contains(&hn.as_str())
            {
                Some(ColumnUse::CreatedAt)
            } else if mapping.updated_at.is_none()
                && !uses.contains(&ColumnUse::UpdatedAt)
                && opts.preset.updated_at().contains(&hn.as_str())
            {
                Some(ColumnUse::UpdatedAt)
            } else if meta.contains(&hn.as_str()) {
                Some(ColumnUse::Ignored)
            } else {
                None
            }
        });
        if let Some(u) = found {
            if let ColumnUse::Answer { .. } | ColumnUse::Attribute(_) = &u {
                if uses.contains(&u) {
                    warnings.push(format!("{file}: column {} `{h}` would also be {}; it is not used (map it in mapping.toml if it should be)", letter(i), u.describe()));
                    continue;
                }
            }
            uses[i] = u;
        }
    }
    if auto_participant {
        let best = participant_names.iter().find_map(|n| {
            (0..header.len()).find(|&i| uses[i] == ColumnUse::Unmapped && norm(&header[i]) == *n)
        });
        if let Some(i) = best {
            uses[i] = ColumnUse::Participant;
        }
    }
    let Some(pcol) = uses.iter().position(|u| *u == ColumnUse::Participant) else {
        return Err(Problem::file(&file, format!("no column holds the participant code; name it in a mapping file (participant = \"COLUMN\"); the columns are: {}", header.join(", "))).into());
    };
    if !uses.iter().any(|u| matches!(u, ColumnUse::Answer { .. })) {
        return Err(Problem::file(&file, "no column was recognised as an answer; name them in a mapping file ([[responses]] column = \"…\", segment = \"S1\", question = \"Q1\"), or head them SEGMENT_QUESTION (e.g. S1_Q1)").into());
    }

    // 3. The rows.
    for a in &mut new_attrs {
        if let AttributeType::Category { values } = &mut a.kind {
            let col = uses
                .iter()
                .position(|u| *u == ColumnUse::Attribute(a.name.to_string()));
            if let Some(c) = col {
                for (_, row) in &grid.rows {
                    let v = text::normalize(row.get(c).map(|s| s.trim()).unwrap_or(""));
                    if !v.is_empty() && !values.contains(&v) {
                        values.push(v);
                    }
                }
            }
        }
    }
    study.attributes.extend(new_attrs);
    let mut existing: HashMap<Key, usize> = study
        .participants
        .iter()
        .enumerate()
        .map(|(i, p)| (p.code.clone(), i))
        .collect();
    let existing_keys: HashSet<ResponseKey> =
        study.responses.iter().map(|r| r.key.clone()).collect();
    let mut seen_rows: HashMap<Key, usize> = HashMap::new();
    let mut new_participants = 0;
    let mut new_responses = Vec::new();
    let mut bad_times = 0usize;
    for (rowno, row) in &grid.rows {
        let get = |c: usize| row.get(c).map(String::as_str).unwrap_or("");
        let raw = text::normalize(get(pcol).trim());
        let code = match Key::parse(&raw) {
            Ok(k) => k,
            Err(e) => {
                let (f, l, c) = place(*rowno, Some(pcol), &header);
                push(
                    &mut problems,
                    Problem {
                        file: f,
                        line: l,
                        field: c,
                        message: format!("the participant code {e}"),
                    },
                );
                continue;
            }
        };
        if let Some(prev) = seen_rows.insert(code.clone(), *rowno) {
            let (f, l, c) = place(*rowno, Some(pcol), &header);
            push(&mut problems, Problem { file: f, line: l, field: c, message: format!("participant `{code}` already has a row ({prev}); keep one row per participant") });
            continue;
        }
        let pi = *existing.entry(code.clone()).or_insert_with(|| {
            new_participants += 1;
            study.participants.push(Participant {
                code: code.clone(),
                status: ParticipantStatus::Invited,
                order: Vec::new(),
                attributes: BTreeMap::new(),
            });
            study.participants.len() - 1
        });
        let mut created = None;
        let mut updated = None;
        for (c, u) in uses.iter().enumerate() {
            let cell = get(c);
            match u {
                ColumnUse::Attribute(name) => {
                    if cell.trim().is_empty() {
                        continue;
                    }
                    let def = study.attribute(name).expect("known attribute");
                    match def.parse_value(&text::normalize(cell)) {
                        Ok(v) => {
                            study.participants[pi].attributes.insert(name.clone(), v);
                        }
                        Err(e) => {
                            let (f, l, c) = place(*rowno, Some(c), &header);
                            push(
                                &mut problems,
                                Problem {
                                    file: f,
                                    line: l,
                                    field: c,
                                    message: e,
                                },
                            );
                        }
                    }
                }
                ColumnUse::CreatedAt | ColumnUse::UpdatedAt => {
                    let t = parse_when(cell);
                    if t.is_none() && !cell.trim().is_empty() {
                        bad_times += 1;
                    }
                    if *u == ColumnUse::CreatedAt {
                        created = t;
                    } else {
                        updated = t;
                    }
                }
                _ => {}
            }
        }
        for (c, u) in uses.iter().enumerate() {
            let ColumnUse::Answer { segment, question } = u else {
                continue;
            };
            let cell = get(c);
            if cell.trim().is_empty() {
                continue;
            }
            let key = ResponseKey {
                participant: code.clone(),
                segment: segment.clone(),
                question: question.clone(),
            };
            if existing_keys.contains(&key) {
                let (f, l, cf) = place(*rowno, Some(c), &header);
                push(&mut problems, Problem { file: f, line: l, field: cf, message: format!("the study already has response {key}; remove it from the file (or from the study) first") });
                continue;
            }
            let q = study
                .questions
                .iter()
                .find(|q| &q.key == question)
                .expect("known question");
            let answer = match &q.kind {
                QuestionKind::Open => Ok(Answer::Text(text::normalize(cell))),
                QuestionKind::Likert { min, max, anchors } => {
                    let v = cell.trim();
                    match v
                        .parse::<i64>()
                        .ok()
                        .or_else(|| {
                            v.parse::<f64>()
                                .ok()
                                .filter(|f| f.fract() == 0.0)
                                .map(|f| f as i64)
                        })
                        .or_else(|| {
                            anchors
                                .iter()
                                .find(|(_, l)| norm(l) == norm(v))
                                .map(|(k, _)| *k)
                        }) {
                        Some(x) if (*min..=*max).contains(&x) => Ok(Answer::Rating(x)),
                        _ => Err(format!(
                            "`{v}` is not a rating from {min} to {max} (question {})",
                            q.key
                        )),
                    }
                }
                QuestionKind::Choice { choices } => {
                    let v = text::normalize(cell.trim());
                    match choices
                        .iter()
                        .find(|c| **c == v)
                        .or_else(|| choices.iter().find(|c| norm(c) == norm(&v)))
                    {
                        Some(c) => Ok(Answer::Choice(c.clone())),
                        None => Err(format!(
                            "`{v}` is not one of the choices of {}: {}",
                            q.key,
                            choices.join(", ")
                        )),
                    }
                }
            };
            match answer {
                Ok(a) => new_responses.push(Response {
                    key,
                    answer: a,
                    created_at: created,
                    updated_at: updated,
                }),
                Err(e) => {
                    let (f, l, cf) = place(*rowno, Some(c), &header);
                    push(
                        &mut problems,
                        Problem {
                            file: f,
                            line: l,
                            field: cf,
                            message: e,
                        },
                    );
                }
            }
        }
    }
    for a in &study.attributes {
        if a.required {
            for (rowno, row) in &grid.rows {
                let code = text::normalize(row.get(pcol).map(|s| s.trim()).unwrap_or(""));
                if let Some(p) = Key::parse(&code)
                    .ok()
                    .and_then(|k| existing.get(&k))
                    .map(|&i| &study.participants[i])
                {
                    if !p.attributes.contains_key(a.name.as_str()) {
                        let col = uses
                            .iter()
                            .position(|u| *u == ColumnUse::Attribute(a.name.to_string()));
                        let (f, l, c) = place(*rowno, col, &header);
                        push(&mut problems, Problem { file: f, line: l, field: c, message: format!("participant `{code}` has no value for the required attribute `{}`{}", a.name, if col.is_none() { " (no column is mapped to it)" } else { "" }) });
                    }
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(InteropError::Invalid(problems));
    }
    if bad_times > 0 {
        warnings.push(format!(
            "{file}: {bad_times} timestamps could not be read and were left empty"
        ));
    }
    let answered: HashSet<&Key> = new_responses.iter().map(|r| &r.key.participant).collect();
    for p in &mut study.participants {
        if answered.contains(&p.code) && p.status == ParticipantStatus::Invited {
            p.status = ParticipantStatus::Completed;
        }
    }
    let preview = new_responses
        .iter()
        .take(10)
        .map(|r| {
            [
                r.key.participant.to_string(),
                r.key
                    .segment
                    .as_ref()
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                r.key.question.to_string(),
                match &r.answer {
                    Answer::Text(t) => t.clone(),
                    other => other.value_string().unwrap_or_default(),
                },
            ]
        })
        .collect();
    let n = new_responses.len();
    study.responses.extend(new_responses);
    let columns = header
        .iter()
        .enumerate()
        .map(|(i, h)| (letter(i), h.clone(), uses[i].clone()))
        .collect();
    Ok(ResponsesImported {
        study,
        columns,
        preview,
        new_participants,
        new_responses: n,
        rows: grid.rows.len(),
        warnings,
    })
}

/// Imports the answers of a table into (a copy of) the study. Never panics.
pub fn import_responses(
    study: &StudyData,
    bytes: &[u8],
    opts: &ResponseImportOptions,
) -> Result<ResponsesImported> {
    crate::error::guard(&opts.label, || import_responses_inner(study, bytes, opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_and_sniffing() {
        assert_eq!(letter(0), "A");
        assert_eq!(letter(25), "Z");
        assert_eq!(letter(26), "AA");
        assert_eq!(letter(27), "AB");
        assert_eq!(sniff("a\tb\tc\n"), b'\t');
        assert_eq!(sniff("a;b;\"x,y,z\"\n1;2;3\n"), b';');
        assert_eq!(sniff("a;b,c;d\n1;2;3\n"), b';');
        assert_eq!(sniff("a,b\n"), b',');
        assert!(parse_when("2024-03-01 10:15:30").is_some());
        assert!(parse_when("3/1/2024 10:15:30").is_some());
        assert!(parse_when("yesterday").is_none());
    }
}
