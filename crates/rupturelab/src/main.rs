//! `rupturelab`: the command line. Parses arguments, opens the store, calls
//! one core or store function per command and prints the result.
#![forbid(unsafe_code)]

mod agreement_cmd;
mod analysis_cmd;
mod folder_io;
mod interop_cmds;
mod output;
mod quotes_cmd;
mod reindex_cmd;
mod report_cmd;
mod serve_cmd;
mod study_cmds;
mod suggest_cmd;
mod transfer_cmd;
mod views;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use output::Format;

/// The default database file when neither --db nor RUPTURELAB_DB is given.
const DEFAULT_DB: &str = "study.rupturelab";
/// The database `rupturelab demo` uses by default.
const DEMO_DB: &str = "rupturelab-demo.rupturelab";

#[derive(Parser)]
#[command(
    name = "rupturelab",
    version,
    about = "A workbench for studies of therapeutic-alliance ruptures: segments, answers, coding, agreement, analysis.",
    long_about = "RuptureLab carries a study of therapists' views of alliance ruptures from the first segment to the \
                  last table: study design, answers, a hierarchical codebook, codings by several coders and their \
                  consensus, agreement and theme statistics.\n\nStart with `rupturelab demo`, which loads the bundled \
                  (synthetic) example study and prints its overview.",
    after_help = "Examples:\n  rupturelab demo\n  rupturelab import examples/rupture-study --db my.rupturelab\n  \
                  rupturelab summary --db my.rupturelab\n  rupturelab responses list --segment S2 --where orientation=CBT\n  \
                  rupturelab export-folder out/ --db my.rupturelab"
)]
struct Cli {
    /// The study database: a SQLite file (default: ./study.rupturelab; `demo` uses ./rupturelab-demo.rupturelab),
    /// or a PostgreSQL URL postgres://USER:PASSWORD@HOST:PORT/DATABASE (the database must exist).
    #[arg(
        long,
        global = true,
        env = "RUPTURELAB_DB",
        value_name = "FILE|URL",
        hide_env_values = true
    )]
    db: Option<String>,
    /// Which study in the database, when it holds several (by key).
    #[arg(long, global = true, value_name = "KEY")]
    study: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    format: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load the bundled synthetic example study (or reuse it) and print its overview.
    Demo {
        /// Rebuild the example study even if the database already holds it.
        #[arg(long)]
        fresh: bool,
    },
    /// Start a new study: in a database, or as a study folder to fill in (--folder).
    Init(study_cmds::InitArgs),
    /// Import a study folder into the database (all or nothing).
    Import {
        /// The study folder (with study.toml).
        folder: PathBuf,
        /// Replace a study with the same key instead of refusing.
        #[arg(long)]
        replace: bool,
    },
    /// Write the study out as a study folder (lossless).
    ExportFolder {
        /// The folder to write (created if missing).
        out: PathBuf,
        /// Overwrite the study files of an existing, non-empty folder.
        #[arg(long)]
        force: bool,
    },
    /// List the studies in the database.
    Studies,
    /// Print the study's overview: design, participants, responses and the theme tables.
    Summary {
        /// Which coding layer the theme tables count: `consensus` or a coder's name.
        #[arg(long, default_value = "consensus")]
        layer: String,
    },
    /// Agreement between coders (per code and overall), or on a reliability matrix (--matrix).
    Agreement(agreement_cmd::AgreementArgs),
    /// Theme prevalence with CQR labels, and the segment × theme profile.
    Themes(analysis_cmd::ThemesArgs),
    /// Cross-tabulate theme presence by a participant attribute (or segment, patient), with tests.
    Crosstab(analysis_cmd::CrosstabArgs),
    /// Pairs of codes that occur in the same responses (counts and Jaccard).
    Cooccurrence(analysis_cmd::CooccurrenceArgs),
    /// Assisted coding: models trained on the consensus codings; --evaluate cross-validates them.
    Suggest(suggest_cmd::SuggestArgs),
    /// Write a report for a paper: HTML, Markdown or Word (--format html|md|docx --out PATH).
    Report(report_cmd::ReportArgs),
    /// The report's quote pins and exclusions, stored with the study: list, pin, exclude, unpin, unexclude, clear.
    Quotes {
        #[command(subcommand)]
        action: quotes_cmd::QuotesAction,
    },
    /// Work with the codebook.
    Codebook {
        #[command(subcommand)]
        action: CodebookAction,
    },
    /// Work with participants.
    Participants {
        #[command(subcommand)]
        action: ListAction,
    },
    /// Work with responses.
    Responses {
        #[command(subcommand)]
        action: ResponsesAction,
    },
    #[command(flatten)]
    Interop(interop_cmds::InteropCommand),
    #[command(flatten)]
    Transfer(transfer_cmd::TransferCommand),
    /// Start the web application (participant pages, researcher console, API).
    Serve(serve_cmd::ServeArgs),
    /// Rebuild the full-text search index (`<database>.index/`) from the responses and transcripts.
    Reindex,
    /// Manage web accounts.
    User {
        #[command(subcommand)]
        action: serve_cmd::UserAction,
    },
}

#[derive(Subcommand)]
enum CodebookAction {
    /// Show the codebook as a tree, with definitions and how often each code is used.
    Show {
        /// Which coding layer to count: `consensus` or a coder's name.
        #[arg(long, default_value = "consensus")]
        layer: String,
    },
}

#[derive(Subcommand)]
enum ListAction {
    /// List them.
    List,
}

#[derive(Subcommand)]
enum ResponsesAction {
    /// List responses, optionally filtered.
    List(views::ResponseFilter),
}

fn db_path(cli: &Cli, demo: bool) -> String {
    cli.db
        .clone()
        .unwrap_or_else(|| if demo { DEMO_DB } else { DEFAULT_DB }.to_string())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let format = cli.format;
    let report = match &cli.command {
        Command::Demo { fresh } => study_cmds::demo(&db_path(&cli, true), *fresh).await?,
        Command::Init(args) => study_cmds::init(&db_path(&cli, false), args).await?,
        Command::Import { folder, replace } => {
            study_cmds::import(&db_path(&cli, false), folder, *replace).await?
        }
        Command::ExportFolder { out, force } => {
            study_cmds::export_folder(&db_path(&cli, false), cli.study.as_deref(), out, *force)
                .await?
        }
        Command::Studies => study_cmds::studies(&db_path(&cli, false)).await?,
        Command::Summary { layer } => {
            let study = study_cmds::load(&db_path(&cli, false), cli.study.as_deref()).await?;
            views::summary(&study, layer)?
        }
        Command::Agreement(args) if args.is_matrix() => agreement_cmd::matrix(args)?,
        Command::Agreement(args) => {
            let study = study_cmds::load(&db_path(&cli, false), cli.study.as_deref()).await?;
            agreement_cmd::study(&study, args)?
        }
        Command::Themes(args) => {
            let study = study_cmds::load(&db_path(&cli, false), cli.study.as_deref()).await?;
            analysis_cmd::themes(&study, args)?
        }
        Command::Crosstab(args) => {
            let study = study_cmds::load(&db_path(&cli, false), cli.study.as_deref()).await?;
            analysis_cmd::crosstab_cmd(&study, args)?
        }
        Command::Cooccurrence(args) => {
            let study = study_cmds::load(&db_path(&cli, false), cli.study.as_deref()).await?;
            analysis_cmd::cooccurrence_cmd(&study, args)?
        }
        Command::Suggest(args) => {
            let study = study_cmds::load(&db_path(&cli, false), cli.study.as_deref()).await?;
            suggest_cmd::run(&study, args)?
        }
        Command::Report(args) => {
            let db = db_path(&cli, false);
            let study = study_cmds::load(&db, cli.study.as_deref()).await?;
            let stored = if args.stored_quotes() {
                quotes_cmd::to_report_rules(&quotes_cmd::stored(&db, cli.study.as_deref()).await?)
            } else {
                Default::default()
            };
            let training = report_cmd::stored_training(&db, cli.study.as_deref()).await?;
            report_cmd::report(&study, args, format, stored, training)?
        }
        Command::Quotes { action } => {
            quotes_cmd::run(action, &db_path(&cli, false), cli.study.as_deref()).await?
        }
        Command::Codebook {
            action: CodebookAction::Show { layer },
        } => {
            let study = study_cmds::load(&db_path(&cli, false), cli.study.as_deref()).await?;
            views::codebook(&study, layer)?
        }
        Command::Participants {
            action: ListAction::List,
        } => {
            let study = study_cmds::load(&db_path(&cli, false), cli.study.as_deref()).await?;
            views::participants(&study)
        }
        Command::Responses {
            action: ResponsesAction::List(filter),
        } => {
            let study = study_cmds::load(&db_path(&cli, false), cli.study.as_deref()).await?;
            views::responses(&study, filter)?
        }
        Command::Interop(cmd) => {
            interop_cmds::run(cmd, &db_path(&cli, false), cli.study.as_deref(), format).await?
        }
        Command::Transfer(cmd) => {
            transfer_cmd::run(cmd, &db_path(&cli, false), cli.study.as_deref()).await?
        }
        Command::Serve(args) => {
            return serve_cmd::serve(&db_path(&cli, args.demo), args).await;
        }
        Command::Reindex => reindex_cmd::run(&db_path(&cli, false), cli.study.as_deref()).await?,
        Command::User { action } => serve_cmd::user(&db_path(&cli, false), action).await?,
    };
    print!("{}", report.render(format));
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", format!("{e:#}").trim_end());
            ExitCode::FAILURE
        }
    }
}
