//! RuptureLab's reports: a report a researcher can put in a paper.
//!
//! A [`Report`] is computed **once** from a [`StudyData`] and [`ReportOptions`]
//! — every number in it is what a `rupturelab-core` analysis function
//! returned. [`layout::document`] turns it into a [`doc::Document`] (headings,
//! paragraphs, APA tables, figures) in English or Turkish, with numbers
//! formatted and charts drawn; the renderers [`markdown`], [`html`] and
//! [`docx`] only draw that document. The same study and options give
//! byte-identical output: nothing depends on the clock, the locale or hash
//! order (the printed date is an option).
//!
//! * [`model`] — the report model and its options;
//! * [`quotes`] — the documented, deterministic choice of illustrative quotes;
//! * [`layout`] — the document in the report's language; [`fmt`] formats numbers;
//! * [`charts`] — bar charts (charts-rs) and heat maps (hand-written SVG),
//!   colour-blind-safe and readable in greyscale;
//! * [`markdown`], [`html`], [`docx`] — the three renderers.
#![forbid(unsafe_code)]

pub mod charts;
pub mod doc;
pub mod docx;
pub mod fmt;
pub mod html;
pub mod layout;
pub mod markdown;
pub mod model;
pub mod quotes;

pub use model::{check_date, Report, ReportOptions};
pub use quotes::{QuoteRef, QuoteRules};

use rupturelab_core::StudyData;

/// Why a report could not be made; every message says what to change.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// An option that cannot be used.
    #[error("{0}")]
    Options(String),
    /// A pin, exclusion or quotes file that cannot be read.
    #[error("{0}")]
    Quotes(String),
    /// A statistic failed.
    #[error(transparent)]
    Stats(#[from] rupturelab_core::stats::StatsError),
    /// An agreement statistic failed.
    #[error(transparent)]
    Agreement(#[from] rupturelab_core::agreement::AgreementError),
    /// A chart could not be drawn or rasterised.
    #[error("chart: {0}")]
    Chart(String),
    /// The .docx could not be written.
    #[error("writing the .docx: {0}")]
    Docx(String),
}

/// The three output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One self-contained HTML file.
    Html,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// A Word document.
    Docx,
}

/// Computes the report and renders it in one format (Markdown without chart files).
pub fn render(
    study: &StudyData,
    options: ReportOptions,
    format: Format,
) -> Result<Vec<u8>, ReportError> {
    let report = Report::build(study, options)?;
    let doc = layout::document(&report)?;
    Ok(match format {
        Format::Html => html::render(&doc).into_bytes(),
        Format::Markdown => markdown::render(&doc, None).into_bytes(),
        Format::Docx => docx::render(&doc, &report.options.date)?,
    })
}
