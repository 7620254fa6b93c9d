//! `rupturelab serve` (the web application) and `rupturelab user …`
//! (accounts for it).

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use rupturelab_store::{open, Role};
use rupturelab_web::{accounts, Application, Config};

/// Options of `rupturelab serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    bind: SocketAddr,
    /// Public base URL used in invitation links and to decide on Secure
    /// cookies, e.g. https://study.example.org (default: the request's host over http).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Load the bundled synthetic example study first (like `rupturelab demo`).
    #[arg(long)]
    pub demo: bool,
}

/// `rupturelab user` actions.
#[derive(Subcommand)]
pub enum UserAction {
    /// Create an account; the password is asked on the terminal (or read from
    /// the first line of standard input when it is not a terminal).
    Add {
        /// Login name.
        name: String,
        /// What the account may do.
        #[arg(long, value_parser = ["researcher", "coder"])]
        role: String,
    },
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn,axum_login=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// `rupturelab serve`.
pub async fn serve(db: &str, args: &ServeArgs) -> Result<()> {
    init_tracing();
    if let Some(u) = &args.base_url {
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            bail!("--base-url must start with http:// or https://, e.g. https://study.example.org");
        }
    }
    if args.demo {
        crate::study_cmds::demo(db, false).await?;
    }
    let store: Arc<dyn rupturelab_store::Store> = Arc::from(
        open(db)
            .await
            .with_context(|| format!("opening the study database {db}"))?,
    );
    let mut config = Config::new(args.bind);
    config.base_url = args.base_url.clone();
    config.search_index = rupturelab_search::index_dir_for(db);
    let app = Application::build(store, config)
        .await
        .with_context(|| format!("starting the server on {}", args.bind))?;
    let addr = app.local_addr();
    let shown = args
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    eprintln!("RuptureLab is serving {db} at {shown}  (Ctrl-C stops it)");
    if let Some(path) = app.setup_path() {
        eprintln!(
            "There is no researcher account yet. Open this one-time link to create it:\n  \
             {shown}{path}\n(or run `rupturelab user add NAME --role researcher --db {db}` \
             in another terminal)"
        );
    }
    app.run_until(rupturelab_web::shutdown_signal())
        .await
        .context("serving")?;
    eprintln!("Stopped; the database was closed cleanly.");
    Ok(())
}

fn read_password() -> Result<String> {
    if std::io::stdin().is_terminal() {
        let p1 = rpassword::prompt_password("Password: ")?;
        let p2 = rpassword::prompt_password("Again: ")?;
        if p1 != p2 {
            bail!("the two passwords differ; nothing was changed");
        }
        Ok(p1)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

/// `rupturelab user add`.
pub async fn user(db: &str, action: &UserAction) -> Result<crate::output::Report> {
    match action {
        UserAction::Add { name, role } => {
            let role = Role::parse(role).map_err(|e| anyhow!(e))?;
            let password = read_password()?;
            let store = open(db)
                .await
                .with_context(|| format!("opening the study database {db}"))?;
            let result = accounts::create_user(store.as_ref(), name, role, &password).await;
            store.close().await;
            result.map_err(|e| anyhow!("{e}"))?;
            let mut report = crate::output::Report::default();
            report.fact(
                "user",
                "Created",
                format!("{name} ({}) in {db}", role.as_str()),
            );
            Ok(report)
        }
    }
}
