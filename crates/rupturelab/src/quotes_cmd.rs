//! `rupturelab quotes`: the report's quote pins and exclusions, stored in the
//! study database (and audited), which `rupturelab report` and the web
//! console's Report page apply by default.

use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use rupturelab_core::CodePath;
use rupturelab_report::{QuoteRef, QuoteRules};
use rupturelab_store::{find_study, open, QuoteRule, QuoteRuleKind, Store, StudyId};

use crate::output::{Report, Table};

/// What `rupturelab quotes` does.
#[derive(Subcommand, Debug)]
#[command(
    after_help = "Examples:\n  rupturelab quotes pin Cause/Patient=P03/S2/Q1\n  \
    rupturelab quotes exclude P07/S4/Q1                 (every theme)\n  \
    rupturelab quotes exclude Cause/Therapist=P07/S4/Q1 (one theme)\n  \
    rupturelab quotes list\n  rupturelab quotes clear"
)]
pub enum QuotesAction {
    /// List the study's pinned quotes and excluded answers.
    List,
    /// Show these answers first among a theme's quotes: THEME=PARTICIPANT/SEGMENT/QUESTION.
    Pin {
        /// THEME=P/S/Q (one or more).
        #[arg(required = true, value_name = "THEME=P/S/Q")]
        refs: Vec<String>,
    },
    /// Never quote these answers: [THEME=]PARTICIPANT/SEGMENT/QUESTION (without THEME, for every theme).
    Exclude {
        /// [THEME=]P/S/Q (one or more).
        #[arg(required = true, value_name = "[THEME=]P/S/Q")]
        refs: Vec<String>,
    },
    /// Remove pins.
    Unpin {
        /// THEME=P/S/Q (one or more).
        #[arg(required = true, value_name = "THEME=P/S/Q")]
        refs: Vec<String>,
    },
    /// Remove exclusions.
    Unexclude {
        /// [THEME=]P/S/Q (one or more).
        #[arg(required = true, value_name = "[THEME=]P/S/Q")]
        refs: Vec<String>,
    },
    /// Remove every pin and exclusion of the study.
    Clear,
}

/// A `[THEME=]P/S/Q` argument as a stored rule.
pub fn rule(kind: QuoteRuleKind, text: &str) -> Result<QuoteRule> {
    let q = QuoteRef::parse(text)?;
    let theme = match q.theme {
        Some(t) => Some(CodePath::parse(&t).map_err(|e| anyhow!("`{text}`: {e}"))?),
        None => None,
    };
    if kind == QuoteRuleKind::Pin && theme.is_none() {
        bail!("`{text}`: a pin names its theme; write THEME={text} (e.g. Cause/Patient={text})");
    }
    Ok(QuoteRule {
        kind,
        theme,
        response: q.response,
    })
}

/// The stored rules as the report's pins and exclusions.
pub fn to_report_rules(rules: &[QuoteRule]) -> QuoteRules {
    let mut out = QuoteRules::default();
    for r in rules {
        let q = QuoteRef {
            theme: r.theme.as_ref().map(|t| t.to_string()),
            response: r.response.clone(),
        };
        match r.kind {
            QuoteRuleKind::Pin => out.pins.push(q),
            QuoteRuleKind::Exclude => out.excludes.push(q),
        }
    }
    out
}

/// Who the audit trail names for a command-line change.
fn actor() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .map(|u| format!("cli:{u}"))
        .unwrap_or_else(|| "cli".into())
}

pub(crate) async fn open_study(db: &str, study: Option<&str>) -> Result<(Box<dyn Store>, StudyId)> {
    if !rupturelab_store::is_postgres(db) && !std::path::Path::new(db).exists() {
        bail!("there is no study database `{db}`; name one with --db");
    }
    let store = open(db)
        .await
        .with_context(|| format!("opening the study database {db}"))?;
    let id = find_study(store.as_ref(), study).await?.id;
    Ok((store, id))
}

/// The stored rules of the chosen study (for `report`).
pub async fn stored(db: &str, study: Option<&str>) -> Result<Vec<QuoteRule>> {
    let (store, id) = open_study(db, study).await?;
    let rules = store.quote_rules(id).await;
    store.close().await;
    Ok(rules?)
}

fn list(rules: &[QuoteRule]) -> Table {
    let mut t = Table::new(
        "quotes",
        "Quote pins and exclusions",
        &["rule", "theme", "response"],
    );
    for r in rules {
        t.row(vec![
            r.kind.as_str().into(),
            r.theme
                .as_ref()
                .map(|t| t.to_string())
                .unwrap_or_else(|| "(every theme)".into())
                .into(),
            r.response.to_string().into(),
        ]);
    }
    t
}

fn past(kind: QuoteRuleKind) -> &'static str {
    match kind {
        QuoteRuleKind::Pin => "pinned",
        QuoteRuleKind::Exclude => "excluded",
    }
}

/// `rupturelab quotes …`.
pub async fn run(action: &QuotesAction, db: &str, study: Option<&str>) -> Result<Report> {
    let (store, id) = open_study(db, study).await?;
    let result = apply(store.as_ref(), id, action).await;
    store.close().await;
    result
}

async fn apply(store: &dyn Store, id: StudyId, action: &QuotesAction) -> Result<Report> {
    let mut r = Report::default();
    let actor = actor();
    let (kind, refs, add) = match action {
        QuotesAction::List => {
            r.tables.push(list(&store.quote_rules(id).await?));
            return Ok(r);
        }
        QuotesAction::Clear => {
            let n = store.clear_quote_rules(id, &actor).await?;
            r.fact("removed", "Removed", serde_json::json!(n));
            return Ok(r);
        }
        QuotesAction::Pin { refs } => (QuoteRuleKind::Pin, refs, true),
        QuotesAction::Exclude { refs } => (QuoteRuleKind::Exclude, refs, true),
        QuotesAction::Unpin { refs } => (QuoteRuleKind::Pin, refs, false),
        QuotesAction::Unexclude { refs } => (QuoteRuleKind::Exclude, refs, false),
    };
    // Parse every argument before changing anything.
    let rules = refs
        .iter()
        .map(|t| rule(kind, t))
        .collect::<Result<Vec<_>>>()?;
    let mut changed = 0;
    for rule in &rules {
        let done = if add {
            store.add_quote_rule(id, rule, &actor).await
        } else {
            store.remove_quote_rule(id, rule, &actor).await
        }
        .with_context(|| format!("`{rule}`"))?;
        if done {
            changed += 1;
        } else if add {
            r.hints.push(format!("{rule} was already {}", past(kind)));
        } else {
            r.hints
                .push(format!("{rule} was not {}; nothing to remove", past(kind)));
        }
    }
    r.fact("changed", "Changed", serde_json::json!(changed));
    r.tables.push(list(&store.quote_rules(id).await?));
    Ok(r)
}
