//! RuptureLab's web application: the participant study runner (`/p/{token}`),
//! the researcher console, the JSON API (`/api/v1`) and accounts, served by
//! axum over the same [`Store`] the command line uses.
//!
//! [`Application::build`] binds the listener and wires the router;
//! [`Application::run_until`] serves until a shutdown signal, letting
//! in-flight requests finish.
#![forbid(unsafe_code)]
#![recursion_limit = "512"]

pub mod accounts;
mod agreement_page;
mod api;
mod audit_page;
mod code_hits;
mod codebook;
mod coding_api;
mod coding_page;
mod console;
mod console_design;
mod error;
pub mod i18n;
mod limits;
mod participant;
mod reconcile;
mod report_page;
mod search_page;
mod security;
mod sessions;
mod setup;
mod suggest_api;
mod trainee_login;
mod training;
mod views;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use axum_login::AuthManagerLayerBuilder;
use rupturelab_store::Store;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::time::Duration as CookieDuration;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

pub use error::Error;

/// The largest request body accepted (answers, pasted participant lists).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen, e.g. `127.0.0.1:8080` (port 0 picks a free port).
    pub bind: SocketAddr,
    /// The public base URL (`https://study.example.org`) used in invitation
    /// links and to decide on `Secure` cookies; `None` = the request's host over http.
    pub base_url: Option<String>,
    /// Failed logins per client address allowed in [`Config::rate_window`].
    pub login_attempts: u32,
    /// Unknown participant tokens per client address allowed in the window.
    pub token_attempts: u32,
    /// The rate-limit window.
    pub rate_window: Duration,
    /// The full-text search index directory (`<database>.index`); `None` keeps it in memory.
    pub search_index: Option<std::path::PathBuf>,
}

impl Config {
    /// Defaults for a bind address.
    pub fn new(bind: SocketAddr) -> Self {
        Config {
            bind,
            base_url: None,
            login_attempts: 10,
            token_attempts: 30,
            rate_window: Duration::from_secs(15 * 60),
            search_index: None,
        }
    }
    /// Whether cookies must be `Secure` (the base URL is https).
    pub fn secure(&self) -> bool {
        self.base_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub login_limiter: Arc<security::SignInLimiter>,
    /// Failed trainee-account sign-ins (apart from staff sign-ins, so a
    /// trainee's success never clears failures against staff passwords).
    pub trainee_limiter: Arc<security::SignInLimiter>,
    pub token_limiter: Arc<security::RateLimiter>,
    pub setup: Arc<setup::SetupToken>,
    pub suggest: Arc<suggest_api::SuggestCache>,
    pub search: Arc<search_page::Search>,
}

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    store: Arc<dyn Store>,
    setup_token: Option<String>,
}

impl Application {
    /// Prepares the session table, binds the listener and wires the router.
    pub async fn build(store: Arc<dyn Store>, config: Config) -> std::io::Result<Self> {
        let sessions = sessions::Sessions::new(store.clone());
        // Expired sessions are deleted hourly (the task ends with the runtime;
        // a failed round is logged and the next one tries again).
        {
            use tower_sessions::ExpiredDeletion;
            let s = sessions.clone();
            tokio::spawn(async move {
                let mut hourly = tokio::time::interval(Duration::from_secs(3600));
                loop {
                    hourly.tick().await;
                    if let Err(e) = s.delete_expired().await {
                        tracing::warn!(error = %e, "deleting expired sessions failed");
                    }
                }
            });
        }
        let secure = config.secure();
        let session_layer = SessionManagerLayer::new(sessions)
            .with_name("rupturelab_session")
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_secure(secure)
            .with_expiry(Expiry::OnInactivity(CookieDuration::hours(12)));
        let backend = accounts::Backend {
            store: store.clone(),
        };
        let auth_layer = AuthManagerLayerBuilder::new(backend, session_layer).build();
        let listener = TcpListener::bind(config.bind).await?;
        let setup = Arc::new(setup::SetupToken::default());
        let no_researcher = store
            .count_users(rupturelab_store::Role::Researcher)
            .await
            .map_err(std::io::Error::other)?
            == 0;
        let setup_token = no_researcher.then(|| setup.issue());
        let state = AppState {
            setup,
            suggest: Arc::default(),
            store: store.clone(),
            login_limiter: Arc::new(security::SignInLimiter::shared(
                ("login", "login_name"),
                store.clone(),
                config.login_attempts,
                config.rate_window,
            )),
            trainee_limiter: Arc::new(security::SignInLimiter::shared(
                ("trainee_login", "trainee_login_name"),
                store.clone(),
                config.login_attempts,
                config.rate_window,
            )),
            token_limiter: Arc::new(security::RateLimiter::shared(
                "token",
                store.clone(),
                config.token_attempts,
                config.rate_window,
            )),
            search: search_page::Search::start(store.clone(), config.search_index.as_deref()),
            config: Arc::new(config),
        };
        let router = Router::new()
            .merge(console::routes())
            .merge(codebook::routes())
            .merge(reconcile::routes())
            .merge(participant::routes())
            .merge(setup::routes())
            .merge(training::routes())
            .merge(trainee_login::routes())
            .merge(report_page::routes())
            .merge(suggest_api::routes())
            .merge(
                search_page::routes()
                    .merge(audit_page::routes())
                    .merge(agreement_page::routes())
                    .merge(code_hits::routes()),
            )
            .nest("/api/v1", api::routes())
            .merge(coding_api::routes().merge(coding_page::routes()))
            .route("/static/{file}", get(views::static_file))
            .route("/healthz", get(|| async { "ok" }))
            .fallback(views::not_found)
            .layer(axum::middleware::from_fn(security::csrf_guard))
            .layer(auth_layer)
            // Outside the auth layer: a per-request slot for the user read
            // with the session.
            .layer(axum::middleware::from_fn(sessions::prefetch))
            .layer(axum::middleware::from_fn(security::headers))
            .layer(axum::middleware::from_fn(error::bare_500_is_unavailable))
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
            // Outside the body limit above, so a too-large body gets its clear 413.
            .layer(axum::middleware::from_fn(limits::body_limits))
            .layer(axum::middleware::from_fn(limits::api_json_errors))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &Request<_>| {
                        // The route template, never the URI: participant
                        // tokens and query strings stay out of the log.
                        let route = req
                            .extensions()
                            .get::<MatchedPath>()
                            .map(|p| p.as_str().to_owned())
                            .unwrap_or_else(|| "(unmatched)".into());
                        tracing::info_span!("request", method = %req.method(), route = %route)
                    })
                    .on_request(())
                    .on_response(
                        tower_http::trace::DefaultOnResponse::new()
                            .level(tracing::Level::INFO)
                            .latency_unit(tower_http::LatencyUnit::Micros),
                    ),
            )
            .with_state(state);
        Ok(Application {
            listener,
            router,
            store,
            setup_token,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The one-time link (a path, `/setup/{token}`) that creates the first
    /// researcher account, when the database had none at start; shown once
    /// on the terminal by `rupturelab serve`.
    pub fn setup_path(&self) -> Option<String> {
        self.setup_token.as_ref().map(|t| format!("/setup/{t}"))
    }

    /// Serves until `shutdown` completes, lets in-flight requests finish,
    /// then closes the database cleanly.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let result = limits::serve(self.listener, self.router, shutdown).await;
        self.store.close().await;
        result
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
