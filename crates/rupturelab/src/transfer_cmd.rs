//! `copy`, `backup` and `restore`: whole databases (studies with their web
//! rows and the user accounts) between SQLite files and PostgreSQL, through
//! `rupturelab_store::transfer`; every copy is read back and compared.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use rupturelab_store::transfer::{copy, CopyReport};
use rupturelab_store::{display_location, is_postgres, open, Store};

use crate::output::Report;

/// The transfer commands (flattened into the top-level command list).
#[derive(Subcommand)]
pub enum TransferCommand {
    /// Copy studies, their participants' links, consents, progress and the accounts to another database
    /// (SQLite file or postgres:// URL, either way), then check that the copy is equal.
    Copy {
        /// Where from: a SQLite file or postgres://USER:PASSWORD@HOST:PORT/DATABASE.
        #[arg(long, value_name = "FILE|URL")]
        from: String,
        /// Where to (created if a SQLite file; a PostgreSQL database must exist).
        #[arg(long, value_name = "FILE|URL")]
        to: String,
    },
    /// Write a consistent backup of the database (--db) to a new SQLite file, also while `serve` runs.
    Backup {
        /// The backup file to create (must not exist).
        out: PathBuf,
    },
    /// Bring a backup file back into the database (--db): its studies must not exist there yet.
    Restore {
        /// The backup file (written by `rupturelab backup`).
        backup: PathBuf,
    },
}

async fn open_existing(location: &str) -> Result<Box<dyn Store>> {
    if !is_postgres(location) && !Path::new(location).exists() {
        bail!("there is no study database `{location}`; check the path");
    }
    open(location)
        .await
        .with_context(|| format!("opening the database {}", display_location(location)))
}

async fn open_target(location: &str) -> Result<Box<dyn Store>> {
    open(location)
        .await
        .with_context(|| format!("opening the database {}", display_location(location)))
}

fn copied(r: &CopyReport, from: &str, to: &str) -> Report {
    let mut report = Report::default();
    report.fact(
        "copied",
        "Copied and verified",
        format!(
            "{} ({} responses, {} codings, {} new accounts, {} new trainee accounts) from {} to {}",
            r.studies.join(", "),
            r.responses,
            r.codings,
            r.users,
            r.trainee_accounts,
            display_location(from),
            display_location(to)
        ),
    );
    if !r.users_kept.is_empty() {
        report.fact(
            "accounts_kept",
            "Accounts that existed in the target and were kept as they were",
            r.users_kept.join(", "),
        );
    }
    if !r.trainee_accounts_kept.is_empty() {
        report.fact(
            "trainee_accounts_kept",
            "Trainee accounts that existed in the target and were kept as they were",
            r.trainee_accounts_kept.join(", "),
        );
    }
    report
}

/// Runs a transfer command; `db` is the global --db.
pub async fn run(cmd: &TransferCommand, db: &str, study: Option<&str>) -> Result<Report> {
    match cmd {
        TransferCommand::Copy { from, to } => {
            if from == to {
                bail!("--from and --to name the same database; give another --to");
            }
            let source = open_existing(from).await?;
            let target = open_target(to).await?;
            let result = copy(source.as_ref(), target.as_ref(), study).await;
            source.close().await;
            target.close().await;
            Ok(copied(&result.context("copying")?, from, to))
        }
        TransferCommand::Backup { out } => {
            if out.exists() {
                bail!(
                    "`{}` exists already; choose a new file for the backup",
                    out.display()
                );
            }
            let store = open_existing(db).await?;
            let result = store.backup_into(out).await;
            store.close().await;
            result.with_context(|| format!("writing the backup {}", out.display()))?;
            let mut report = Report::default();
            report.fact(
                "backup",
                "Backup written",
                format!(
                    "{} (a SQLite study database; `rupturelab restore {} --db …` brings it back)",
                    out.display(),
                    out.display()
                ),
            );
            Ok(report)
        }
        TransferCommand::Restore { backup } => {
            let from = backup.display().to_string();
            let source = open_existing(&from).await?;
            let target = open_target(db).await?;
            let result = copy(source.as_ref(), target.as_ref(), study).await;
            source.close().await;
            target.close().await;
            Ok(copied(&result.context("restoring")?, &from, db))
        }
    }
}
