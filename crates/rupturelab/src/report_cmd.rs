//! `rupturelab report`: a report for a paper, as HTML, Markdown or Word.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use rupturelab_core::agreement::BootstrapOptions;
use rupturelab_core::{Language, StudyData, Timestamp};
use rupturelab_report::{
    check_date, docx, html, layout, markdown, QuoteRef, QuoteRules, Report, ReportOptions,
};

use crate::output::{self, Format};

/// Language of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// English.
    En,
    /// Turkish.
    Tr,
}

/// Options of `rupturelab report`.
#[derive(Args, Debug)]
#[command(
    after_help = "The format comes from --format html|md|docx, or else from the extension of --out \
    (.html, .md, .docx). A Markdown report writes its charts as SVG files into a folder beside it \
    (report.md → report_figures/).\n\nExamples:\n  rupturelab report --out report.html\n  \
    rupturelab report --format docx --out paper-tables.docx --lang tr --date 2026-05-01\n  \
    rupturelab report --out report.md --by orientation,experience_years --transcripts\n  \
    rupturelab report --out report.html --pin Cause/Patient=P03/S2/Q1 --exclude P07/S4/Q1\n\n\
    Pins and exclusions stored with `rupturelab quotes pin|exclude` apply unless --no-stored-quotes."
)]
pub struct ReportArgs {
    /// The file to write.
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    /// Coding layer the frequencies count: `consensus` or a coder's name.
    #[arg(long, default_value = "consensus")]
    layer: String,
    /// Language of headings, labels and the method paragraph.
    #[arg(long, value_enum, default_value_t = Lang::En)]
    lang: Lang,
    /// The date printed on the report (default: today, UTC); fix it for byte-identical output.
    #[arg(long, value_name = "YYYY-MM-DD")]
    date: Option<String>,
    /// Attributes (or `segment`, `patient`) to cross-tabulate themes by, comma-separated (default: orientation).
    #[arg(long, value_delimiter = ',')]
    by: Vec<String>,
    /// Print the segments' transcripts in the appendix.
    #[arg(long)]
    transcripts: bool,
    /// Show this answer first among a theme's quotes: THEME=PARTICIPANT/SEGMENT/QUESTION (repeatable).
    #[arg(long, value_name = "THEME=P/S/Q")]
    pin: Vec<String>,
    /// Never quote this answer: [THEME=]PARTICIPANT/SEGMENT/QUESTION (repeatable; without THEME, for every theme).
    #[arg(long, value_name = "[THEME=]P/S/Q")]
    exclude: Vec<String>,
    /// A quotes.toml file of [[pin]] and [[exclude]] entries (theme, response).
    #[arg(long, value_name = "FILE")]
    quotes: Option<PathBuf>,
    /// Ignore the pins and exclusions stored in the database (`rupturelab quotes`); by default they apply, before --quotes, --pin and --exclude.
    #[arg(long)]
    no_stored_quotes: bool,
    /// Most quotes per theme (1–3).
    #[arg(long, default_value_t = 3)]
    max_quotes: usize,
    /// Bootstrap replicates for α's confidence intervals (0 = none).
    #[arg(long, default_value_t = 1000)]
    bootstrap: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 20070101)]
    seed: u64,
}

/// The report format: `--format`, or the extension of `--out`.
fn choose_format(format: Format, out: &Path) -> Result<rupturelab_report::Format> {
    use rupturelab_report::Format as F;
    Ok(match format {
        Format::Html => F::Html,
        Format::Md => F::Markdown,
        Format::Docx => F::Docx,
        Format::Table => {
            let ext = out
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            match ext.as_str() {
                "html" | "htm" => F::Html,
                "md" | "markdown" => F::Markdown,
                "docx" => F::Docx,
                _ => bail!(
                    "cannot tell the report format from `{}`; give --format html|md|docx or an .html, .md or .docx file name",
                    out.display()
                ),
            }
        }
        Format::Csv | Format::Json | Format::Xlsx => {
            bail!("a report is written as html, md or docx; use --format html|md|docx")
        }
    })
}

/// Writes `bytes` to `path` through a temporary file in the same folder, so a failure leaves nothing half-written.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        bail!(
            "the folder {} does not exist; create it first or write the report elsewhere",
            dir.display()
        );
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "report".into());
    let tmp = dir.join(format!(".{name}.part"));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

impl ReportArgs {
    /// Whether the stored pins and exclusions apply.
    pub fn stored_quotes(&self) -> bool {
        !self.no_stored_quotes
    }
}

/// The study's training modules with their exercises (the report's
/// training section; none when the study has no module).
pub async fn stored_training(
    db: &str,
    study: Option<&str>,
) -> Result<Vec<rupturelab_core::training::ModuleExercises>> {
    let (store, id) = crate::quotes_cmd::open_study(db, study).await?;
    let training = rupturelab_store::training::study_training(store.as_ref(), id).await;
    store.close().await;
    Ok(training?)
}

/// `rupturelab report`; `stored` are the study's stored pins and exclusions,
/// `training` its training modules.
pub fn report(
    study: &StudyData,
    args: &ReportArgs,
    format: Format,
    stored: QuoteRules,
    training: Vec<rupturelab_core::training::ModuleExercises>,
) -> Result<output::Report> {
    let fmt = choose_format(format, &args.out)?;
    let date = match &args.date {
        Some(d) => d.clone(),
        None => Timestamp::now().to_rfc3339()[..10].to_string(),
    };
    check_date(&date)?;
    let mut opts = ReportOptions::new(study, &date);
    opts.layer = args.layer.clone();
    opts.lang = match args.lang {
        Lang::En => Language::En,
        Lang::Tr => Language::Tr,
    };
    if !args.by.is_empty() {
        opts.by = args.by.clone();
    }
    opts.transcripts = args.transcripts;
    opts.max_quotes = args.max_quotes;
    opts.bootstrap = (args.bootstrap > 0).then(|| BootstrapOptions {
        replicates: args.bootstrap,
        seed: args.seed,
        ..BootstrapOptions::default()
    });
    let mut rules = stored;
    if let Some(path) = &args.quotes {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the quotes file {}", path.display()))?;
        rules.extend(
            QuoteRules::from_toml(&text).with_context(|| format!("in {}", path.display()))?,
        );
    }
    for p in &args.pin {
        rules.pins.push(QuoteRef::parse(p)?);
    }
    for e in &args.exclude {
        rules.excludes.push(QuoteRef::parse(e)?);
    }
    opts.quotes = rules;
    opts.training = training;

    let t0 = std::time::Instant::now();
    let report = Report::build(study, opts)?;
    let t_build = t0.elapsed();
    let doc = layout::document(&report)?;
    let t_layout = t0.elapsed() - t_build;
    let mut extra = Vec::new();
    let bytes = match fmt {
        rupturelab_report::Format::Html => html::render(&doc).into_bytes(),
        rupturelab_report::Format::Docx => docx::render(&doc, &date)?,
        rupturelab_report::Format::Markdown => {
            let stem = args
                .out
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_else(|| "report".into());
            let dir_name = format!("{stem}_figures");
            let dir = args
                .out
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .join(&dir_name);
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("creating the figure folder {}", dir.display()))?;
            for (name, svg) in markdown::figure_files(&doc) {
                write_atomic(&dir.join(&name), svg.as_bytes())?;
            }
            extra.push(dir.display().to_string());
            markdown::render(&doc, Some(&dir_name)).into_bytes()
        }
    };
    let t_render = t0.elapsed() - t_build - t_layout;
    write_atomic(&args.out, &bytes)?;

    let mut r = output::Report::default();
    r.fact("out", "Written", args.out.display().to_string());
    r.fact(
        "format",
        "Format",
        match fmt {
            rupturelab_report::Format::Html => "html",
            rupturelab_report::Format::Markdown => "md",
            rupturelab_report::Format::Docx => "docx",
        },
    );
    r.fact("bytes", "Size (bytes)", serde_json::json!(bytes.len()));
    r.fact("tables", "Tables", serde_json::json!(doc.tables().count()));
    r.fact(
        "figures",
        "Figures",
        serde_json::json!(doc.figures().count()),
    );
    if let Some(d) = extra.first() {
        r.fact("figure_folder", "Figures written to", d.clone());
    }
    r.hints
        .extend(report.warnings.iter().map(|w| format!("warning: {w}")));
    if std::env::var_os("RUPTURELAB_TIMINGS").is_some() {
        r.hints.push(format!(
            "timings: analysis {:.3} s, layout and charts {:.3} s, rendering {:.3} s",
            t_build.as_secs_f64(),
            t_layout.as_secs_f64(),
            t_render.as_secs_f64()
        ));
        for (name, t) in &report.timings {
            r.hints.push(format!("  {name}: {t:.3} s"));
        }
    }
    Ok(r)
}
