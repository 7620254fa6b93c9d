//! Output of the commands: aligned tables for people, CSV and JSON for scripts.

use std::fmt::Write as _;

use clap::ValueEnum;
use serde_json::{json, Map, Value};

/// How a command prints its results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Aligned, human-readable tables.
    #[default]
    Table,
    /// Comma-separated values: facts as `# key: value` lines, then each table after a `# title`
    /// line (a lone table without facts is plain CSV; facts alone are a `key,value` table).
    Csv,
    /// One JSON object: tables as arrays of row objects.
    Json,
    /// `report` only: one self-contained HTML file (other commands print a table).
    #[value(hide = true)]
    Html,
    /// `report` only: GitHub-flavoured Markdown (other commands print a table).
    #[value(hide = true)]
    Md,
    /// `report` only: a Word .docx (other commands print a table).
    #[value(hide = true)]
    Docx,
    /// `export-table` only: one Excel workbook (other commands print a table).
    #[value(hide = true)]
    Xlsx,
}

/// One cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
    /// A real number shown with the given decimals.
    Num(f64, usize),
    /// Missing.
    Empty,
}

impl Cell {
    fn display(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Num(x, d) => format!("{x:.d$}"),
            Cell::Empty => String::new(),
        }
    }
    fn json(&self) -> Value {
        match self {
            Cell::Text(s) => json!(s),
            Cell::Int(i) => json!(i),
            Cell::Num(x, _) => json!(x),
            Cell::Empty => Value::Null,
        }
    }
    fn numeric(&self) -> bool {
        matches!(self, Cell::Int(_) | Cell::Num(..))
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
impl From<usize> for Cell {
    fn from(v: usize) -> Self {
        Cell::Int(v as i64)
    }
}
impl From<i64> for Cell {
    fn from(v: i64) -> Self {
        Cell::Int(v)
    }
}
impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Cell::Empty)
    }
}

/// A titled table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Machine name (JSON key).
    pub id: String,
    /// Heading shown above it.
    pub title: String,
    /// Column names.
    pub columns: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// A new empty table.
    pub fn new(id: &str, title: &str, columns: &[&str]) -> Self {
        Table {
            id: id.into(),
            title: title.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }
    /// Appends a row.
    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }
}

/// What a command prints: lines of text and tables, in order.
#[derive(Debug, Default)]
pub struct Report {
    /// Key/value facts (printed as lines, or as a JSON object).
    pub facts: Vec<(String, String, Value)>,
    /// Tables.
    pub tables: Vec<Table>,
    /// Closing lines (hints), shown only in table format.
    pub hints: Vec<String>,
}

impl Report {
    /// Adds a fact line.
    pub fn fact(&mut self, key: &str, label: &str, value: impl Into<Value>) {
        self.facts.push((key.into(), label.into(), value.into()));
    }

    /// Renders the report in a format.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Table | Format::Html | Format::Md | Format::Docx | Format::Xlsx => {
                self.render_table()
            }
            Format::Csv => self.render_csv(),
            Format::Json => self.render_json(),
        }
    }

    fn render_table(&self) -> String {
        let mut out = String::new();
        for (_, label, v) in &self.facts {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if label.is_empty() {
                let _ = writeln!(out, "{v}");
            } else {
                let _ = writeln!(out, "{label}: {v}");
            }
        }
        for t in &self.tables {
            if !out.is_empty() {
                out.push('\n');
            }
            if !t.title.is_empty() {
                let _ = writeln!(out, "{}", t.title);
            }
            out.push_str(&aligned(t));
        }
        if !self.hints.is_empty() {
            out.push('\n');
            for h in &self.hints {
                let _ = writeln!(out, "{h}");
            }
        }
        out
    }

    fn render_csv(&self) -> String {
        let mut out = String::new();
        if self.tables.is_empty() {
            // Only facts (e.g. `init`, `export-folder`, a matrix without tables):
            // they are the content, so they become a `key,value` table.
            if self.facts.is_empty() {
                return out;
            }
            let mut w = csv_writer();
            w.write_record(["key", "value"]).expect("in memory");
            for (k, _, v) in &self.facts {
                w.write_record([k.as_str(), &fact_text(v)])
                    .expect("in memory");
            }
            out.push_str(&String::from_utf8(w.into_inner().expect("in memory")).expect("utf-8"));
            return out;
        }
        // Facts (unit of analysis, layer, coders, seeds …) as `# key: value` comment
        // lines before the tables, so a CSV never loses what its numbers mean.
        for (k, _, v) in &self.facts {
            let _ = writeln!(out, "# {k}: {}", fact_text(v).replace(['\n', '\r'], " "));
        }
        let titled = self.tables.len() > 1 || !self.facts.is_empty();
        for (i, t) in self.tables.iter().enumerate() {
            if titled {
                if i > 0 {
                    out.push('\n');
                }
                let title = if t.title.is_empty() { &t.id } else { &t.title };
                let _ = writeln!(out, "# {}", title.replace(['\n', '\r'], " "));
            }
            let mut w = csv_writer();
            w.write_record(&t.columns).expect("in memory");
            for r in &t.rows {
                w.write_record(r.iter().map(Cell::display))
                    .expect("in memory");
            }
            out.push_str(&String::from_utf8(w.into_inner().expect("in memory")).expect("utf-8"));
        }
        out
    }

    fn render_json(&self) -> String {
        let mut obj = Map::new();
        for (k, _, v) in &self.facts {
            obj.insert(k.clone(), v.clone());
        }
        for t in &self.tables {
            let rows: Vec<Value> = t
                .rows
                .iter()
                .map(|r| {
                    Value::Object(
                        t.columns
                            .iter()
                            .cloned()
                            .zip(r.iter().map(Cell::json))
                            .collect(),
                    )
                })
                .collect();
            obj.insert(t.id.clone(), Value::Array(rows));
        }
        let mut s = serde_json::to_string_pretty(&Value::Object(obj)).expect("json");
        s.push('\n');
        s
    }
}

fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new())
}

/// A fact's value as text (strings unquoted, numbers and arrays as JSON).
fn fact_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn aligned(t: &Table) -> String {
    let cells: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| r.iter().map(|c| c.display().replace('\n', " ")).collect())
        .collect();
    let mut widths: Vec<usize> = t.columns.iter().map(|c| width(c)).collect();
    for r in &cells {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(width(c));
            }
        }
    }
    let right: Vec<bool> = (0..t.columns.len())
        .map(|i| {
            t.rows.iter().any(|r| r.get(i).is_some_and(Cell::numeric))
                && t.rows
                    .iter()
                    .all(|r| r.get(i).is_none_or(|c| c.numeric() || *c == Cell::Empty))
        })
        .collect();
    let mut out = String::new();
    let line = |vals: &[String], out: &mut String| {
        let mut s = String::new();
        for (i, v) in vals.iter().enumerate() {
            let pad = widths[i].saturating_sub(width(v));
            if i > 0 {
                s.push_str("  ");
            }
            if right[i] {
                s.push_str(&" ".repeat(pad));
                s.push_str(v);
            } else {
                s.push_str(v);
                if i + 1 < vals.len() {
                    s.push_str(&" ".repeat(pad));
                }
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(&t.columns, &mut out);
    let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
    line(&rule, &mut out);
    for r in &cells {
        line(r, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut r = Report::default();
        r.fact("study", "Study", "demo");
        let mut t = Table::new("themes", "Themes", &["theme", "n"]);
        t.row(vec!["Patient, İ".into(), 18usize.into()]);
        t.row(vec!["Therapist".into(), 7usize.into()]);
        r.tables.push(t);
        r
    }

    #[test]
    fn tables_align_numbers_right() {
        let s = sample().render(Format::Table);
        assert!(s.contains("Study: demo"));
        assert!(s.contains("Patient, İ  18\n"), "{s}");
        assert!(s.contains("Therapist    7\n"), "{s}");
    }

    #[test]
    fn csv_quotes_and_json_keys_rows() {
        let mut lone = sample();
        lone.facts.clear();
        assert_eq!(
            lone.render(Format::Csv),
            "theme,n\n\"Patient, İ\",18\nTherapist,7\n"
        );
        let v: Value = serde_json::from_str(&sample().render(Format::Json)).unwrap();
        assert_eq!(v["themes"][0]["n"], 18);
        assert_eq!(v["study"], "demo");
    }

    #[test]
    fn csv_keeps_facts_and_titles() {
        let mut r = sample();
        r.fact("unit", "Unit of analysis", "response\nlevel");
        r.fact("seed", "Seed", 7);
        r.tables.push(Table::new("more", "More rows", &["a"]));
        assert_eq!(
            r.render(Format::Csv),
            "# study: demo\n# unit: response level\n# seed: 7\n# Themes\ntheme,n\n\"Patient, İ\",18\nTherapist,7\n\n# More rows\na\n"
        );
        let mut only = Report::default();
        only.fact("db", "Database", "a, b.rupturelab");
        only.fact("alpha", "α", 0.5);
        assert_eq!(
            only.render(Format::Csv),
            "key,value\ndb,\"a, b.rupturelab\"\nalpha,0.5\n"
        );
        assert_eq!(Report::default().render(Format::Csv), "");
    }
}
