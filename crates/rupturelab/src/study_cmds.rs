//! Commands that create, import, export and load whole studies.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use clap::Args;
use include_dir::{include_dir, Dir};
use rupturelab_core::folder::{self, FolderFiles};
use rupturelab_core::templates::{CodebookTemplate, DEFAULT_STUDY_TOML};
use rupturelab_core::{AuditEvent, Key, Language, StudyData, Timestamp};
use rupturelab_store::{find_study, open, Store, StoreError};

use crate::folder_io;
use crate::output::{Report, Table};

/// The bundled example study, embedded in the binary.
static EXAMPLE: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../examples/rupture-study");

/// The example study's files as a folder map.
pub fn example_files() -> FolderFiles {
    let mut files = FolderFiles::new();
    fn walk(dir: &Dir<'_>, files: &mut FolderFiles) {
        for f in dir.files() {
            let rel = f.path().to_string_lossy().replace('\\', "/");
            if folder::is_study_file(&rel) {
                files.insert(rel, f.contents().to_vec());
            }
        }
        for d in dir.dirs() {
            walk(d, files);
        }
    }
    walk(&EXAMPLE, &mut files);
    files
}

fn actor() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .map(|u| format!("cli:{u}"))
        .unwrap_or_else(|| "cli".into())
}

fn audit(action: &str, detail: String) -> AuditEvent {
    AuditEvent {
        at: Timestamp::now(),
        actor: actor(),
        action: action.into(),
        entity: "study".into(),
        detail,
    }
}

async fn open_store(db: &str) -> Result<Box<dyn Store>> {
    open(db).await.with_context(|| {
        format!(
            "opening the study database {}",
            rupturelab_store::display_location(db)
        )
    })
}

/// Loads the chosen study of a database.
pub async fn load(db: &str, study: Option<&str>) -> Result<StudyData> {
    if !rupturelab_store::is_postgres(db) && !Path::new(db).exists() {
        return Err(anyhow!(
            "there is no study database `{db}`; run `rupturelab import FOLDER --db {db}` or `rupturelab demo`, or name another with --db"
        ));
    }
    let store = open_store(db).await?;
    let info = find_study(store.as_ref(), study).await?;
    let data = store.load_study(info.id).await?;
    store.close().await;
    Ok(data)
}

/// `rupturelab demo`.
pub async fn demo(db: &str, fresh: bool) -> Result<Report> {
    let study = folder::parse_folder(&example_files())
        .map_err(|e| anyhow!("the bundled example study is broken: {e}"))?;
    let store = open_store(db).await?;
    let db = &rupturelab_store::display_location(db);
    let existing = store
        .list_studies()
        .await?
        .into_iter()
        .find(|s| s.key == study.meta.key.as_str());
    let (loaded, note) = match existing {
        Some(info) if !fresh => (
            store.load_study(info.id).await?,
            format!("Using the example study already in {db} (run `rupturelab demo --fresh` to rebuild it)."),
        ),
        _ => {
            let mut s = study;
            s.audit.push(audit("import", "bundled example study".into()));
            let id = store.replace_study(&s).await?;
            (store.load_study(id).await?, format!("Loaded the bundled example study into {db}."))
        }
    };
    store.close().await;
    let mut report = crate::views::summary(&loaded, "consensus")?;
    report
        .facts
        .insert(0, ("note".into(), String::new(), note.into()));
    report.hints = vec![
        "What next:".into(),
        format!("  rupturelab responses list --db {db} --segment S2 --where orientation=CBT"),
        format!("  rupturelab codebook show --db {db}"),
        format!("  rupturelab participants list --db {db}"),
        format!("  rupturelab export-folder my-copy --db {db}     # the study as editable files"),
        "  rupturelab init --folder my-study                 # start your own study".into(),
        "  rupturelab --help                                 # every command".into(),
    ];
    Ok(report)
}

/// Options of `rupturelab init`.
#[derive(Args)]
pub struct InitArgs {
    /// Title of the new study.
    #[arg(long, default_value = "My rupture study")]
    title: String,
    /// Short key of the new study (letters, digits, dashes).
    #[arg(long, default_value = "my-study")]
    key: String,
    /// Language of the participant pages.
    #[arg(long, default_value = "en", value_parser = ["en", "tr"])]
    language: String,
    /// Starter codebook.
    #[arg(long, default_value = "cause-resolution", value_parser = ["cause-resolution", "3rs", "empty"])]
    codebook: String,
    /// Write a study folder to fill in, instead of creating the study in the database.
    #[arg(long, value_name = "DIR")]
    folder: Option<PathBuf>,
}

/// `rupturelab init`.
pub async fn init(db: &str, args: &InitArgs) -> Result<Report> {
    let mut files = FolderFiles::new();
    files.insert("study.toml".into(), DEFAULT_STUDY_TOML.as_bytes().to_vec());
    let mut study = folder::parse_folder(&files).map_err(|e| anyhow!("built-in template: {e}"))?;
    study.meta.key = Key::parse(&args.key).map_err(|e| anyhow!("--key: the key {e}"))?;
    study.meta.title = args.title.clone();
    study.meta.language =
        Language::parse(&args.language).map_err(|e| anyhow!("--language: {e}"))?;
    study.codes = CodebookTemplate::parse(&args.codebook)
        .map_err(|e| anyhow!("--codebook: {e}"))?
        .codes();
    let mut report = Report::default();
    match &args.folder {
        Some(dir) => {
            folder_io::write_folder(dir, &folder::write_folder(&study), false)?;
            report.fact("folder", "Created study folder", dir.display().to_string());
            report.hints = vec![
                format!(
                    "Edit {}/study.toml, add segments/*.txt, participants.csv and responses.csv",
                    dir.display()
                ),
                "(the format is described in docs/study-format.md), then:".into(),
                format!(
                    "  rupturelab import {} --db study.rupturelab",
                    dir.display()
                ),
            ];
        }
        None => {
            study.audit.push(audit(
                "create",
                format!("new study with the {} codebook", args.codebook),
            ));
            let store = open_store(db).await?;
            store.create_study(&study).await?;
            store.close().await;
            report.fact(
                "study",
                "Created study",
                format!("{} ({})", study.meta.title, study.meta.key),
            );
            report.fact("db", "Database", db);
            report.hints = vec!["Next: `rupturelab codebook show` or `rupturelab export-folder DIR` to edit it as files.".into()];
        }
    }
    Ok(report)
}

/// `rupturelab import`.
pub async fn import(db: &str, dir: &Path, replace: bool) -> Result<Report> {
    let files = folder_io::read_folder(dir)?;
    let mut study = folder::parse_folder(&files).map_err(|e| anyhow!("{}: {e}", dir.display()))?;
    study
        .audit
        .push(audit("import", format!("from folder {}", dir.display())));
    let store = open_store(db).await?;
    let db = &rupturelab_store::display_location(db);
    let result = if replace {
        store.replace_study(&study).await
    } else {
        store.create_study(&study).await
    };
    store.close().await;
    match result {
        Ok(_) => {}
        Err(e @ StoreError::StudyExists(_)) => return Err(e.into()),
        Err(e) => {
            return Err(anyhow!(e).context("the import was rolled back; the database is unchanged"))
        }
    }
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
        ("codings", study.codings.len()),
        ("memos", study.memos.len()),
    ] {
        t.row(vec![what.into(), n.into()]);
    }
    report.tables.push(t);
    Ok(report)
}

/// `rupturelab export-folder`.
pub async fn export_folder(
    db: &str,
    study: Option<&str>,
    out: &Path,
    force: bool,
) -> Result<Report> {
    let data = load(db, study).await?;
    let files = folder::write_folder(&data);
    folder_io::write_folder(out, &files, force)?;
    let mut report = Report::default();
    report.fact(
        "exported",
        "Exported",
        format!(
            "{} ({} files) to {}",
            data.meta.key,
            files.len(),
            out.display()
        ),
    );
    Ok(report)
}

/// `rupturelab studies`.
pub async fn studies(db: &str) -> Result<Report> {
    let store = open_store(db).await?;
    let list = store.list_studies().await?;
    store.close().await;
    let mut t = Table::new("studies", "", &["key", "title", "synthetic"]);
    for s in list {
        t.row(vec![
            s.key.into(),
            s.title.into(),
            if s.synthetic { "yes" } else { "no" }.into(),
        ]);
    }
    Ok(Report {
        tables: vec![t],
        ..Default::default()
    })
}
