//! `rupturelab reindex`: rebuilds the full-text search index of a database
//! (`<database>.index/` beside the file) from the responses and transcripts.
//! The index is derived data; deleting the folder loses nothing.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use rupturelab_search::{index_dir_for, SearchIndex};
use rupturelab_store::open;

use crate::output::{Report, Table};

/// Rebuilds the index of every study (or of `--study KEY` only).
pub async fn run(db: &str, only: Option<&str>) -> Result<Report> {
    let dir = index_dir_for(db).ok_or_else(|| {
        anyhow!("`{db}` is an in-memory database; its search index lives in the server's memory and is rebuilt at start")
    })?;
    if !db.starts_with("postgres")
        && !Path::new(db.strip_prefix("sqlite://").unwrap_or(db)).exists()
    {
        bail!("there is no study database `{db}`; name one with --db FILE");
    }
    let store = open(db)
        .await
        .with_context(|| format!("opening the study database {db}"))?;
    let studies = store.list_studies().await?;
    if let Some(k) = only {
        if !studies.iter().any(|s| s.key == k) {
            bail!(
                "there is no study `{k}` in {db}; the studies are: {}",
                studies
                    .iter()
                    .map(|s| s.key.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let index = SearchIndex::open(&dir)?;
    if only.is_none() {
        index.clear()?;
    }
    let mut t = Table::new("indexed", "Search index", &["study", "responses", "turns"]);
    for s in studies.iter().filter(|s| only.is_none_or(|k| k == s.key)) {
        let data = store.load_study(s.id).await?;
        let fingerprint = store.search_fingerprint(s.id).await?;
        let stats = index.index_study(&data, &fingerprint)?;
        t.row(vec![
            s.key.clone().into(),
            stats.responses.into(),
            stats.turns.into(),
        ]);
    }
    store.close().await;
    let mut r = Report::default();
    r.fact("index", "Index", dir.display().to_string());
    r.tables.push(t);
    Ok(r)
}
