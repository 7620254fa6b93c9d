//! Commands that exchange studies with other tools: REFI-QDA projects and
//! codebooks. Each reads or writes one file and calls one function of
//! `rupturelab-interop`; the database is touched in one transaction.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use rupturelab_core::{AuditEvent, Key, StudyData, Timestamp};
use rupturelab_interop::qdc::{self, CodebookOptions};
use rupturelab_interop::qdpx::{self, ImportOptions};
use rupturelab_interop::responses::{self, ColumnUse, Preset, ResponseImportOptions, TextEncoding};
use rupturelab_interop::tables::{self, What};
use rupturelab_interop::transcripts::{self, SegmentOptions, TranscriptKind};
use rupturelab_interop::PositionUnit;
use rupturelab_store::{open, StoreError};

use crate::output::{Format, Report, Table};
use crate::study_cmds;

/// The interop commands (flattened into the top-level command list).
#[derive(Subcommand)]
pub enum InteropCommand {
    /// Write the study as a REFI-QDA project (.qdpx) for NVivo, ATLAS.ti, MAXQDA, QualCoder…
    ExportQdpx(ExportArgs),
    /// Import a REFI-QDA project (.qdpx, or a bare .qde) as a new study.
    ImportQdpx(ImportQdpxArgs),
    /// Write the study's codebook as a REFI-QDA codebook (.qdc).
    ExportQdc(ExportArgs),
    /// Replace the study's codebook with a REFI-QDA codebook (.qdc), or start a new study with it (--new).
    ImportQdc(ImportQdcArgs),
    /// Export tidy tables for R, SPSS or a spreadsheet: --format csv|xlsx --out FILE (CSV files or one workbook), or to stdout (--format csv|json|table).
    ExportTable(ExportTableArgs),
    /// Import answers from a survey export or spreadsheet (.csv, .tsv, .txt, .xlsx) into the study, all or nothing.
    ImportResponses(ImportResponsesArgs),
    /// Add a segment to the study from a transcript (.txt, .docx, .vtt, .srt).
    ImportSegment(ImportSegmentArgs),
}

/// Options of `import-segment`.
#[derive(Args)]
pub struct ImportSegmentArgs {
    /// The transcript: .txt (one `SPEAKER: text` turn per line), .docx, .vtt or .srt.
    file: PathBuf,
    /// The patient of the session (a key from study.toml).
    #[arg(long)]
    patient: String,
    /// The segment's key (default: the file name without extension).
    #[arg(long)]
    key: Option<String>,
    /// A short label (default: the key).
    #[arg(long)]
    label: Option<String>,
    /// The session number.
    #[arg(long)]
    session: Option<u32>,
    /// The rupture type.
    #[arg(long, default_value = "unspecified", value_parser = ["withdrawal", "confrontation", "both", "unspecified"])]
    rupture: String,
    /// Speaker labels, optionally renamed: "T,P" or "Therapist=T,Patient=P". Without it any 1–32 characters before a colon start a turn.
    #[arg(long, value_name = "LIST")]
    speakers: Option<String>,
    /// The speaker of subtitle cues that name none.
    #[arg(long, default_value = "Speaker")]
    default_speaker: String,
    /// A media file or link to reference (it is not copied unless --copy-media).
    #[arg(long, value_name = "PATH_OR_URL")]
    media: Option<String>,
    /// Copy the --media file into the `media/` folder beside the database and reference the copy (`media/NAME`), so the study travels with its recordings.
    #[arg(long, requires = "media")]
    copy_media: bool,
}

/// Options of `import-responses`.
#[derive(Args)]
pub struct ImportResponsesArgs {
    /// The table: a CSV/TSV export (.csv, .tsv, .txt) or an Excel workbook (.xlsx).
    file: PathBuf,
    /// The tool that wrote it.
    #[arg(long, default_value = "generic", value_parser = ["qualtrics", "limesurvey", "googleforms", "generic"])]
    preset: String,
    /// A mapping file saying which column is the participant, which are attributes, which holds which segment × question (see docs/interop.md).
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// Show the mapping and the first answers as they would be stored, and store nothing.
    #[arg(long)]
    dry_run: bool,
    /// Text encoding of a CSV file.
    #[arg(long, default_value = "auto", value_parser = ["auto", "utf-8", "utf-16", "windows-1254"])]
    encoding: String,
    /// The sheet of an .xlsx workbook (default: the first).
    #[arg(long)]
    sheet: Option<String>,
}

/// Options of `export-table`.
#[derive(Args)]
pub struct ExportTableArgs {
    /// Which table: codings (long), responses, matrix (response × code and participant × code), codebook, participants, or all.
    #[arg(long, default_value = "all", value_parser = ["codings", "responses", "matrix", "codebook", "participants", "all"])]
    what: String,
    /// Coding layer: a coder's name, `consensus`, or `any` (all coders pooled). Default for the matrices: consensus if it has codings, else any; the codings table lists every coder unless a layer is given.
    #[arg(long)]
    layer: Option<String>,
    /// Write to this file instead of stdout: with --format xlsx (or a NAME.xlsx file) one workbook with every sheet and a `columns` sheet of labels; with --format csv (or a NAME.csv file) one file per sheet, NAME_sheet.csv when there are several.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Overwrite existing files.
    #[arg(long)]
    force: bool,
}

/// Options of `import-qdc`.
#[derive(Args)]
pub struct ImportQdcArgs {
    /// The .qdc codebook.
    file: PathBuf,
    /// Split flat code names into a hierarchy at this separator (ATLAS.ti: "::").
    #[arg(long, value_name = "SEP")]
    split_names: Option<String>,
    /// Create a new study with this key holding the codebook, instead of replacing the codebook of the current study.
    #[arg(long, value_name = "KEY")]
    new: Option<String>,
}

/// Options of the export commands.
#[derive(Args)]
pub struct ExportArgs {
    /// The file to write.
    out: PathBuf,
    /// Overwrite the file if it exists.
    #[arg(long)]
    force: bool,
}

/// How selection positions are counted.
#[derive(Clone, Copy, ValueEnum)]
pub enum Positions {
    /// By the project's origin: UTF-16 units for NVivo, code points otherwise.
    Auto,
    /// Unicode code points (the REFI-QDA standard).
    Codepoints,
    /// UTF-16 units (NVivo).
    Utf16,
}

/// Options of `import-qdpx`.
#[derive(Args)]
pub struct ImportQdpxArgs {
    /// The .qdpx archive (or a bare .qde file).
    file: PathBuf,
    /// Replace a study with the same key instead of refusing.
    #[arg(long)]
    replace: bool,
    /// How the file counts text positions of selections.
    #[arg(long, value_enum, default_value_t = Positions::Auto)]
    positions: Positions,
    /// Split flat code names into a hierarchy at this separator (ATLAS.ti: "::").
    #[arg(long, value_name = "SEP")]
    split_names: Option<String>,
    /// The key of the new study (default: from the project name).
    #[arg(long)]
    key: Option<String>,
}

/// Runs an interop command.
pub async fn run(
    cmd: &InteropCommand,
    db: &str,
    study: Option<&str>,
    format: Format,
) -> Result<Report> {
    match cmd {
        InteropCommand::ExportQdpx(a) => {
            let data = study_cmds::load(db, study).await?;
            let pb = spinner("writing the REFI-QDA project…");
            let bytes = qdpx::export_qdpx(&data);
            pb.finish_and_clear();
            let bytes = bytes?;
            write_file(&a.out, &bytes, a.force)?;
            let mut r = Report::default();
            r.fact(
                "exported",
                "Exported",
                format!(
                    "{} to {} ({} sources, {} codings, {} bytes)",
                    data.meta.key,
                    a.out.display(),
                    data.responses.len() + data.segments.len(),
                    data.codings.len(),
                    bytes.len()
                ),
            );
            r.hints = vec![
                "Open it in NVivo (File › Import › REFI-QDA project), ATLAS.ti, MAXQDA or QualCoder.".into(),
                "What each program keeps is listed in docs/interop.md.".into(),
            ];
            Ok(r)
        }
        InteropCommand::ImportQdpx(a) => {
            let bytes = read_file(&a.file)?;
            let opts = ImportOptions {
                positions: match a.positions {
                    Positions::Auto => None,
                    Positions::Codepoints => Some(PositionUnit::CodePoints),
                    Positions::Utf16 => Some(PositionUnit::Utf16),
                },
                split_names: a.split_names.clone(),
                key: a
                    .key
                    .as_deref()
                    .map(|k| Key::parse(k).map_err(|e| anyhow!("--key: the key {e}")))
                    .transpose()?,
                label: a.file.display().to_string(),
                ..Default::default()
            };
            let pb = spinner("reading the REFI-QDA project…");
            let imp = qdpx::import_qdpx(&bytes, &opts);
            pb.finish_and_clear();
            let imp = imp?;
            let mut s = imp.study;
            let how = if imp.rupturelab {
                "a RuptureLab export, read exactly".to_string()
            } else {
                format!(
                    "written by `{}`, positions read as {}",
                    imp.origin,
                    imp.unit.name()
                )
            };
            s.audit.push(audit(format!(
                "from REFI-QDA project {} ({how})",
                a.file.display()
            )));
            store_study(db, &s, a.replace).await?;
            let mut r = counts(&s, db);
            r.fact("source", "Source", how);
            warnings(&mut r, &imp.warnings);
            Ok(r)
        }
        InteropCommand::ExportQdc(a) => {
            let data = study_cmds::load(db, study).await?;
            let xml = qdc::export_qdc(&data);
            write_file(&a.out, xml.as_bytes(), a.force)?;
            let mut r = Report::default();
            r.fact(
                "exported",
                "Exported",
                format!(
                    "the codebook of {} ({} codes) to {}",
                    data.meta.key,
                    data.codes.len(),
                    a.out.display()
                ),
            );
            Ok(r)
        }
        InteropCommand::ImportQdc(a) => {
            let bytes = read_file(&a.file)?;
            let label = a.file.display().to_string();
            let imp = qdc::import_qdc(
                &bytes,
                &CodebookOptions {
                    split_names: a.split_names.clone(),
                    label: label.clone(),
                    ..Default::default()
                },
            )?;
            let n = imp.codes.len();
            let (mut data, replace) = match &a.new {
                Some(k) => {
                    let key = Key::parse(k).map_err(|e| anyhow!("--new: the key {e}"))?;
                    let title = a
                        .file
                        .file_stem()
                        .map(|s| s.to_string_lossy().to_string())
                        .unwrap_or_else(|| k.clone());
                    (StudyData::new(key, &title), false)
                }
                None => (study_cmds::load(db, study).await?, true),
            };
            qdc::replace_codebook(&mut data, imp.codes, &label)?;
            data.audit.push(audit(format!(
                "codebook ({n} codes) from REFI-QDA codebook {label}"
            )));
            store_study(db, &data, replace).await?;
            let mut r = Report::default();
            r.fact(
                "imported",
                "Imported",
                format!("{n} codes into {} ({db})", data.meta.key),
            );
            warnings(&mut r, &imp.warnings);
            Ok(r)
        }
        InteropCommand::ExportTable(a) => {
            let data = study_cmds::load(db, study).await?;
            let what = What::parse(&a.what).map_err(|e| anyhow!("--what: {e}"))?;
            let sheets = tables::build(&data, what, a.layer.as_deref())?;
            let pb = spinner("writing the tables…");
            let r = export_tables(&sheets, a, format);
            pb.finish_and_clear();
            r
        }
        InteropCommand::ImportResponses(a) => import_responses(a, db, study).await,
        InteropCommand::ImportSegment(a) => {
            let ext = a
                .file
                .extension()
                .map(|e| e.to_string_lossy().to_string())
                .unwrap_or_default();
            let kind = TranscriptKind::from_extension(&ext)
                .map_err(|e| anyhow!("{}: {e}", a.file.display()))?;
            let stem = a
                .file
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let key_text = a.key.clone().unwrap_or(stem);
            let key = Key::parse(&key_text)
                .map_err(|e| anyhow!("the segment key {e}; give one with --key"))?;
            let label_file = a.file.display().to_string();
            let opts = SegmentOptions {
                label: a.label.clone().unwrap_or_else(|| key.to_string()),
                key,
                patient: Key::parse(&a.patient).map_err(|e| anyhow!("--patient: the key {e}"))?,
                session: a.session,
                rupture: rupturelab_core::RuptureType::parse(&a.rupture)
                    .map_err(|e| anyhow!("--rupture: {e}"))?,
                speakers: a.speakers.iter().cloned().collect(),
                default_speaker: a.default_speaker.clone(),
                media: match (&a.media, a.copy_media) {
                    (Some(m), true) => Some(media_copy_name(m)?),
                    (m, _) => m.clone(),
                },
                label_file: label_file.clone(),
                limits: Default::default(),
            };
            let bytes = read_file(&a.file)?;
            let seg = transcripts::read_transcript(&bytes, kind, &opts)?;
            let mut data = study_cmds::load(db, study).await?;
            let turns = seg.turns.len();
            let speakers: std::collections::BTreeSet<String> =
                seg.turns.iter().map(|t| t.speaker.clone()).collect();
            let key = seg.key.clone();
            transcripts::add_segment(&mut data, seg, &label_file)?;
            data.audit
                .push(audit(format!("segment {key} from {label_file}")));
            // The copy is made before the study is saved and removed again if saving fails.
            let copied = match (&a.media, a.copy_media) {
                (Some(m), true) => copy_media(Path::new(m), db)?,
                _ => None,
            };
            if let Err(e) = store_study(db, &data, true).await {
                if let Some(c) = copied {
                    let _ = std::fs::remove_file(c);
                }
                return Err(e);
            }
            let mut r = Report::default();
            r.fact(
                "imported",
                "Imported",
                format!(
                    "segment {key} ({turns} turns; speakers {}) into {} ({db})",
                    speakers.into_iter().collect::<Vec<_>>().join(", "),
                    data.meta.key
                ),
            );
            r.hints = vec![format!("Check the turns with `rupturelab export-folder DIR` (segments/{key}.txt); set markers and notes there.")];
            Ok(r)
        }
    }
}

/// The name a copied media file is referenced by: `media/FILE_NAME`.
fn media_copy_name(media: &str) -> Result<String> {
    if media.contains("://") {
        bail!("--copy-media copies a local file; `{media}` is a link (drop --copy-media to reference it)");
    }
    let name = Path::new(media)
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| anyhow!("--media `{media}` names no file"))?;
    Ok(format!("media/{name}"))
}

/// Copies `media` into `media/` beside the database. Returns the new file's
/// path (`None` when an identical copy is there already); refuses to
/// overwrite a different file of the same name.
fn copy_media(media: &Path, db: &str) -> Result<Option<PathBuf>> {
    let bytes = std::fs::read(media).with_context(|| {
        format!(
            "--copy-media: cannot read the media file {}",
            media.display()
        )
    })?;
    let dir = Path::new(db)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("media");
    let name = media_copy_name(&media.to_string_lossy())?;
    let dest = dir.join(name.trim_start_matches("media/"));
    if dest.exists() {
        if std::fs::read(&dest).ok().as_deref() == Some(bytes.as_slice()) {
            return Ok(None);
        }
        bail!(
            "--copy-media: `{}` exists and differs from {}; rename the media file or remove the old copy",
            dest.display(),
            media.display()
        );
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dest.with_extension("rupturelab-tmp");
    std::fs::write(&tmp, &bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &dest).with_context(|| format!("cannot write {}", dest.display()))?;
    Ok(Some(dest))
}

async fn import_responses(
    a: &ImportResponsesArgs,
    db: &str,
    study: Option<&str>,
) -> Result<Report> {
    let bytes = read_file(&a.file)?;
    let data = study_cmds::load(db, study).await?;
    let ext = a
        .file
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if ext == "xls" || ext == "ods" {
        bail!(
            "{}: save the sheet as .xlsx or .csv first (only those are read)",
            a.file.display()
        );
    }
    let mapping = match &a.mapping {
        Some(p) => Some(
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
        ),
        None => None,
    };
    let opts = ResponseImportOptions {
        preset: Preset::parse(&a.preset).map_err(|e| anyhow!("--preset: {e}"))?,
        mapping,
        mapping_label: a
            .mapping
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        encoding: TextEncoding::parse(&a.encoding).map_err(|e| anyhow!("--encoding: {e}"))?,
        sheet: a.sheet.clone(),
        xlsx: ext == "xlsx" || bytes.starts_with(b"PK"),
        label: a.file.display().to_string(),
        ..Default::default()
    };
    let pb = spinner("reading the answers…");
    let imp = responses::import_responses(&data, &bytes, &opts);
    pb.finish_and_clear();
    let imp = imp?;
    let mut r = Report::default();
    let mut t = Table::new("mapping", "Columns", &["column", "heading", "used as"]);
    for (l, h, u) in &imp.columns {
        t.row(vec![
            l.clone().into(),
            h.clone().into(),
            u.describe().into(),
        ]);
    }
    r.tables.push(t);
    let unmapped: Vec<String> = imp
        .columns
        .iter()
        .filter(|c| c.2 == ColumnUse::Unmapped)
        .map(|c| format!("{} `{}`", c.0, c.1))
        .collect();
    if !unmapped.is_empty() {
        r.fact("unmapped", "Columns NOT imported", unmapped.join(", "));
    }
    let mut p = Table::new(
        "preview",
        "First answers as they will be stored",
        &["participant", "segment", "question", "answer"],
    );
    for row in &imp.preview {
        let mut cells: Vec<crate::output::Cell> =
            row[..3].iter().map(|c| c.clone().into()).collect();
        let ans: String = row[3].chars().take(60).collect();
        cells.push(
            if row[3].chars().count() > 60 {
                format!("{ans}…")
            } else {
                ans
            }
            .into(),
        );
        p.row(cells);
    }
    r.tables.push(p);
    warnings(&mut r, &imp.warnings);
    let summary = format!(
        "{} rows: {} new participants, {} answers",
        imp.rows, imp.new_participants, imp.new_responses
    );
    if a.dry_run {
        r.fact("dry_run", "Dry run (nothing stored)", summary);
        r.hints = vec!["Run again without --dry-run to store them; map unused columns with --mapping (docs/interop.md).".into()];
        return Ok(r);
    }
    let mut s = imp.study;
    s.audit.push(audit(format!(
        "{} answers from {} ({})",
        imp.new_responses,
        a.file.display(),
        a.preset
    )));
    store_study(db, &s, true).await?;
    r.fact(
        "imported",
        "Imported",
        format!("{summary} into {} ({db})", s.meta.key),
    );
    Ok(r)
}

/// The file format of `export-table --out`: `--format csv|xlsx` when given
/// (a missing extension is added), else the extension of the file name.
fn table_file(out: &Path, format: Format) -> Result<(&'static str, PathBuf)> {
    let ext = out
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let wanted = match format {
        Format::Csv => Some("csv"),
        Format::Xlsx => Some("xlsx"),
        _ => None,
    };
    match (wanted, ext.as_str()) {
        (Some(w), "") => Ok((w, out.with_extension(w))),
        (Some(w), e) if e == w => Ok((w, out.to_path_buf())),
        (Some(w), e) => bail!(
            "--format {w} but --out `{}` ends in .{e}; name a .{w} file or change --format",
            out.display()
        ),
        (None, "xlsx") => Ok(("xlsx", out.to_path_buf())),
        (None, "csv") => Ok(("csv", out.to_path_buf())),
        (None, _) => bail!(
            "--out `{}`: give --format csv|xlsx, or name a .xlsx or .csv file",
            out.display()
        ),
    }
}

fn export_tables(sheets: &[tables::Sheet], a: &ExportTableArgs, format: Format) -> Result<Report> {
    let mut r = Report::default();
    let Some(out) = &a.out else {
        if format == Format::Xlsx {
            bail!("--format xlsx writes a workbook file; name it with --out FILE.xlsx");
        }
        for s in sheets {
            let cols: Vec<&str> = s.columns.iter().map(String::as_str).collect();
            let mut t = Table::new(&s.name, &s.name, &cols);
            for row in &s.rows {
                t.row(
                    row.iter()
                        .map(|c| match c {
                            tables::Cell::Int(i) => (*i).into(),
                            tables::Cell::Empty => crate::output::Cell::Empty,
                            other => other.display().into(),
                        })
                        .collect(),
                );
            }
            r.tables.push(t);
        }
        return Ok(r);
    };
    let (kind, out) = table_file(out, format)?;
    let out = &out;
    match kind {
        "xlsx" => {
            let bytes = tables::to_xlsx(sheets)?;
            write_file(out, &bytes, a.force)?;
            r.fact(
                "exported",
                "Exported",
                format!(
                    "{} sheets (and `columns`) to {}",
                    sheets.len(),
                    out.display()
                ),
            );
        }
        _ => {
            let stem = out.with_extension("");
            for s in sheets {
                let path = if sheets.len() == 1 {
                    out.clone()
                } else {
                    PathBuf::from(format!("{}_{}.csv", stem.display(), s.name))
                };
                write_file(&path, &tables::to_csv(s), a.force)?;
                r.fact(
                    &format!("exported_{}", s.name),
                    "Exported",
                    format!("{} ({} rows) to {}", s.name, s.rows.len(), path.display()),
                );
            }
        }
    }
    Ok(r)
}

fn audit(detail: String) -> AuditEvent {
    let actor = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .map(|u| format!("cli:{u}"))
        .unwrap_or_else(|| "cli".into());
    AuditEvent {
        at: Timestamp::now(),
        actor,
        action: "import".into(),
        entity: "study".into(),
        detail,
    }
}

/// A spinner on stderr while a long step runs (hidden when stderr is not a
/// terminal, so scripts and tests see nothing).
fn spinner(msg: &str) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Writes through a temporary file and a rename, so a failed export never
/// leaves a half-written file.
fn write_file(path: &Path, bytes: &[u8], force: bool) -> Result<()> {
    if path.exists() && !force {
        bail!(
            "`{}` exists; choose another name or add --force to overwrite it",
            path.display()
        );
    }
    let tmp = path.with_extension("rupturelab-tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

async fn store_study(db: &str, study: &StudyData, replace: bool) -> Result<()> {
    let store = open(db).await.with_context(|| {
        format!(
            "opening the study database {}",
            rupturelab_store::display_location(db)
        )
    })?;
    let pb = spinner("saving the study in the database…");
    let result = if replace {
        store.replace_study(study).await
    } else {
        store.create_study(study).await
    };
    store.close().await;
    pb.finish_and_clear();
    match result {
        Ok(_) => Ok(()),
        Err(e @ StoreError::StudyExists(_)) => Err(anyhow!(
            "{e}; or give the imported study another key with --key"
        )),
        Err(e) => Err(anyhow!(e).context("the import was rolled back; the database is unchanged")),
    }
}

fn counts(study: &StudyData, db: &str) -> Report {
    let db = &rupturelab_store::display_location(db);
    let mut report = Report::default();
    report.fact(
        "imported",
        "Imported",
        format!("{} ({}) into {db}", study.meta.title, study.meta.key),
    );
    let mut t = Table::new("counts", "", &["what", "n"]);
    for (what, n) in [
        ("segments", study.segments.len()),
        ("questions", study.questions.len()),
        ("participants", study.participants.len()),
        ("responses", study.responses.len()),
        ("codes", study.codes.len()),
        ("coders", study.coders.len()),
        ("codings", study.codings.len()),
        ("memos", study.memos.len()),
    ] {
        t.row(vec![what.into(), n.into()]);
    }
    report.tables.push(t);
    report
}

fn warnings(report: &mut Report, warnings: &[String]) {
    if warnings.is_empty() {
        return;
    }
    let mut t = Table::new(
        "not_imported",
        "Not imported or changed (review before you analyse)",
        &["note"],
    );
    for w in warnings {
        t.row(vec![w.clone().into()]);
    }
    report.tables.push(t);
}
