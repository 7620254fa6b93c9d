//! The document tree every renderer draws: headings, paragraphs, APA tables
//! and figures, already in the report's language and with numbers already
//! formatted. Building it once ([`crate::layout`]) keeps the Markdown, HTML
//! and Word reports word-for-word the same.

/// A whole report, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// ISO 639-1 language code (`en`, `tr`).
    pub lang: &'static str,
    /// The title.
    pub title: String,
    /// Lines under the title (study key, date, synthetic-data warning).
    pub subtitle: Vec<String>,
    /// Heading of the table of contents.
    pub toc_title: String,
    /// Label of a table ("Table" / "Tablo").
    pub table_label: String,
    /// Label of a figure ("Figure" / "Şekil").
    pub figure_label: String,
    /// Label of a table note ("Note." / "Not.").
    pub note_label: String,
    /// The body.
    pub blocks: Vec<Block>,
}

/// A piece of the body.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A heading; `level` 1 is a section, 2 a subsection, 3 below.
    Heading {
        /// 1, 2 or 3.
        level: u8,
        /// Anchor id (ASCII, unique).
        id: String,
        /// Text.
        text: String,
    },
    /// A paragraph of text runs.
    Paragraph(Vec<Run>),
    /// A bulleted list of plain items.
    List(Vec<String>),
    /// An APA-style table.
    Table(Table),
    /// A chart.
    Figure(Figure),
    /// A transcript: speaker and text per turn.
    Transcript(Vec<(String, String)>),
}

/// A run of text in a paragraph.
#[derive(Debug, Clone, PartialEq)]
pub enum Run {
    /// Plain text.
    Text(String),
    /// Italic text.
    Emph(String),
    /// Bold text.
    Strong(String),
}

/// How a table row is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// An ordinary row.
    Normal,
    /// A row that heads a group of rows (a category); bold.
    Group,
    /// A row below another (a sub-theme); indented.
    Sub,
}

/// One cell: its printed text (lines separated by `\n`) and, for a number, the value it prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// What is printed.
    pub text: String,
    /// The number behind the text, when the cell prints one (checked by the numbers test).
    pub value: Option<f64>,
}

impl Cell {
    /// A text cell.
    pub fn text(s: impl Into<String>) -> Self {
        Cell {
            text: s.into(),
            value: None,
        }
    }
    /// A cell that prints `value` as `text`.
    pub fn num(text: impl Into<String>, value: f64) -> Self {
        Cell {
            text: text.into(),
            value: Some(value),
        }
    }
    /// An empty cell.
    pub fn empty() -> Self {
        Cell::text("")
    }
    /// The printed lines.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.text.split('\n')
    }
}

/// One table row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// How the row is set.
    pub kind: RowKind,
    /// The cells, one per column.
    pub cells: Vec<Cell>,
}

/// An APA-style table: number, italic title, header, rows and a note.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Stable id (`themes-cause`, `agreement`…), used by tests and anchors.
    pub id: String,
    /// Table number, from 1.
    pub number: usize,
    /// Title.
    pub title: String,
    /// Column headings.
    pub header: Vec<String>,
    /// Rows.
    pub rows: Vec<Row>,
    /// The table note, if any.
    pub note: Option<String>,
    /// Columns (by index) that hold numbers and are right-aligned.
    pub numeric: Vec<usize>,
}

/// A chart with its caption.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Stable id.
    pub id: String,
    /// Figure number, from 1.
    pub number: usize,
    /// Title.
    pub title: String,
    /// The chart as a standalone SVG document.
    pub svg: String,
    /// Width of the SVG in px.
    pub width: f32,
    /// Height of the SVG in px.
    pub height: f32,
    /// A text description for screen readers.
    pub alt: String,
    /// A note under the figure, if any.
    pub note: Option<String>,
}

impl Document {
    /// Every table of the document, in order.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.blocks.iter().filter_map(|b| match b {
            Block::Table(t) => Some(t),
            _ => None,
        })
    }
    /// Every figure of the document, in order.
    pub fn figures(&self) -> impl Iterator<Item = &Figure> {
        self.blocks.iter().filter_map(|b| match b {
            Block::Figure(f) => Some(f),
            _ => None,
        })
    }
    /// The table with this id.
    pub fn table(&self, id: &str) -> Option<&Table> {
        self.tables().find(|t| t.id == id)
    }
}
