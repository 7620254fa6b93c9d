//! RuptureLab's full-text search over responses and segment transcripts.
//!
//! * [`analysis`] — the per-language analysers (English; Turkish with
//!   `icu_casemap` `tr` lower-casing before the Snowball stemmer), the query
//!   language (words, `"phrases"`, `prefix*`, all required) and
//!   [`hit_spans`], the code-point spans of every hit in a text.
//! * [`SearchIndex`] — a tantivy index of every open answer (with participant,
//!   segment and question keys) and every transcript turn of every study.
//!   It is **derived data**: it holds keys and analysed terms, never the text
//!   itself, and can be deleted and rebuilt at any time (`rupturelab reindex`).
//!
//! The index only finds *candidates*. [`resolve`] takes them back to the
//! study as it is now, drops what no longer exists or no longer matches, and
//! computes the spans on the current text — so a stale index can miss a hit
//! but never shows text that is gone; the caller then checks authorisation on
//! each hit.
#![forbid(unsafe_code)]

pub mod analysis;

use std::path::Path;
use std::sync::{Arc, Mutex};

use rupturelab_core::{Key, Language, StudyData};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, PhraseQuery, Query as TQuery, RegexQuery, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING,
};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

pub use analysis::{hit_spans, Analyzer, Clause, Query, QueryError, Tok};

/// What went wrong with the index.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// A tantivy error.
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// Another process holds the index open for writing.
    #[error("the search index at {0} is in use by another process (a running `rupturelab serve`?); stop it or rebuild the index from the web console's search page")]
    Busy(String),
    /// File system error.
    #[error("search index at {path}: {source}")]
    Io {
        /// The index directory.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A poisoned lock (a panic while writing).
    #[error("the search index writer is unusable after an earlier failure; restart the server")]
    Poisoned,
}

/// Result alias.
pub type Result<T> = std::result::Result<T, SearchError>;

/// What a hit points at.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// An open answer.
    Response {
        /// Participant code.
        participant: Key,
        /// Segment key (`None` for a question asked once).
        segment: Option<Key>,
        /// Question key.
        question: Key,
    },
    /// A turn of a segment's transcript (0-based).
    Turn {
        /// Segment key.
        segment: Key,
        /// Turn index in the transcript.
        turn: usize,
    },
}

/// One hit: where, the current text, and the spans to highlight.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// What the text belongs to.
    pub target: Target,
    /// The speaker of a transcript turn.
    pub speaker: Option<String>,
    /// The text as stored now.
    pub text: String,
    /// Code-point spans `[start, end)` of every hit, sorted, non-overlapping.
    pub spans: Vec<(usize, usize)>,
}

/// How many documents an indexing run wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexStats {
    /// Open answers indexed.
    pub responses: usize,
    /// Transcript turns indexed.
    pub turns: usize,
}

#[derive(Clone, Copy)]
struct Fields {
    study: Field,
    kind: Field,
    participant: Field,
    segment: Field,
    question: Field,
    turn: Field,
    fingerprint: Field,
    stem_en: Field,
    word_en: Field,
    stem_tr: Field,
    word_tr: Field,
}

impl Fields {
    fn text(self, language: Language) -> (Field, Field) {
        match language {
            Language::En => (self.stem_en, self.word_en),
            Language::Tr => (self.stem_tr, self.word_tr),
        }
    }
}

/// The tantivy tokenizer of one analyser: stems or folded words.
#[derive(Clone)]
struct RlTokenizer {
    analyzer: Arc<Analyzer>,
    stems: bool,
}

struct VecStream {
    tokens: Vec<Token>,
    next: usize,
}

impl TokenStream for VecStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

impl Tokenizer for RlTokenizer {
    type TokenStream<'a> = VecStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecStream {
        let tokens = self
            .analyzer
            .tokens(text)
            .into_iter()
            .enumerate()
            .map(|(i, t)| Token {
                offset_from: t.byte_start,
                offset_to: t.byte_end,
                position: i,
                text: if self.stems { t.stem } else { t.word },
                position_length: 1,
            })
            .collect();
        VecStream { tokens, next: 0 }
    }
}

const SCHEMA_VERSION: &str = "rupturelab-search-1";

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |tokenizer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
    };
    let f = Fields {
        study: b.add_text_field("study", STRING | STORED),
        kind: b.add_text_field("kind", STRING | STORED),
        participant: b.add_text_field("participant", STORED),
        segment: b.add_text_field("segment", STORED),
        question: b.add_text_field("question", STORED),
        turn: b.add_u64_field("turn", STORED),
        fingerprint: b.add_text_field(SCHEMA_VERSION, STORED),
        stem_en: b.add_text_field("stem_en", text("rl_stem_en")),
        word_en: b.add_text_field("word_en", text("rl_word_en")),
        stem_tr: b.add_text_field("stem_tr", text("rl_stem_tr")),
        word_tr: b.add_text_field("word_tr", text("rl_word_tr")),
    };
    (b.build(), f)
}

fn register(index: &Index) {
    for (lang, name) in [(Language::En, "en"), (Language::Tr, "tr")] {
        let analyzer = Arc::new(Analyzer::new(lang));
        index.tokenizers().register(
            &format!("rl_stem_{name}"),
            RlTokenizer {
                analyzer: analyzer.clone(),
                stems: true,
            },
        );
        index.tokenizers().register(
            &format!("rl_word_{name}"),
            RlTokenizer {
                analyzer,
                stems: false,
            },
        );
    }
}

/// The full-text index of a database's studies.
pub struct SearchIndex {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    f: Fields,
    location: String,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("location", &self.location)
            .finish()
    }
}

/// Where the index of a database lives: `<database file>.index/`, or `None`
/// for an in-memory database (the index is then kept in memory too).
pub fn index_dir_for(database: &str) -> Option<std::path::PathBuf> {
    let path = database.strip_prefix("sqlite://").unwrap_or(database);
    if path.is_empty() || path.contains(":memory:") || path.contains("mode=memory") {
        return None;
    }
    let path = path.split('?').next().unwrap_or(path);
    Some(std::path::PathBuf::from(format!("{path}.index")))
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it (or recreating it when it was
    /// written by another version) as needed.
    pub fn open(dir: &Path) -> Result<Self> {
        let (schema, f) = schema();
        let io = |e: std::io::Error| SearchError::Io {
            path: dir.display().to_string(),
            source: e,
        };
        let existing = Index::open_in_dir(dir)
            .ok()
            .filter(|i| i.schema() == schema);
        let index = match existing {
            Some(i) => i,
            None => {
                if dir.exists() {
                    std::fs::remove_dir_all(dir).map_err(io)?;
                }
                std::fs::create_dir_all(dir).map_err(io)?;
                Index::create_in_dir(dir, schema)?
            }
        };
        Self::finish(index, f, dir.display().to_string())
    }

    /// A new index in memory.
    pub fn in_memory() -> Result<Self> {
        let (schema, f) = schema();
        Self::finish(Index::create_in_ram(schema), f, "(memory)".into())
    }

    fn finish(index: Index, f: Fields, location: String) -> Result<Self> {
        register(&index);
        let writer = match index.writer_with_num_threads(1, 15_000_000) {
            Ok(w) => w,
            Err(tantivy::TantivyError::LockFailure(_, _)) => {
                return Err(SearchError::Busy(location))
            }
            Err(e) => return Err(e.into()),
        };
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            reader,
            writer: Mutex::new(writer),
            f,
            location,
        })
    }

    /// Where the index is (a directory, or `(memory)`).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The fingerprint the study was last indexed with, if it is indexed.
    pub fn fingerprint(&self, study: &str) -> Result<Option<String>> {
        let searcher = self.reader.searcher();
        let q = BooleanQuery::new(vec![
            (Occur::Must, term_query(self.f.study, study)),
            (Occur::Must, term_query(self.f.kind, "meta")),
        ]);
        let top = searcher.search(&q, &TopDocs::with_limit(1).order_by_score())?;
        let Some((_, addr)) = top.into_iter().next() else {
            return Ok(None);
        };
        let doc: TantivyDocument = searcher.doc(addr)?;
        Ok(doc
            .get_first(self.f.fingerprint)
            .and_then(|v| v.as_str())
            .map(str::to_string))
    }

    /// Replaces everything indexed for the study with its current responses
    /// and transcripts, remembering `fingerprint` (see [`Self::fingerprint`]).
    pub fn index_study(&self, study: &StudyData, fingerprint: &str) -> Result<IndexStats> {
        let f = self.f;
        let key = study.meta.key.as_str();
        let (stem, word) = f.text(study.meta.language);
        let mut w = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        w.delete_term(Term::from_field_text(f.study, key));
        let mut stats = IndexStats::default();
        for r in &study.responses {
            let Some(text) = r.answer.text() else {
                continue;
            };
            let mut d = TantivyDocument::default();
            d.add_text(f.study, key);
            d.add_text(f.kind, "response");
            d.add_text(f.participant, r.key.participant.as_str());
            if let Some(s) = &r.key.segment {
                d.add_text(f.segment, s.as_str());
            }
            d.add_text(f.question, r.key.question.as_str());
            d.add_text(stem, text);
            d.add_text(word, text);
            w.add_document(d)?;
            stats.responses += 1;
        }
        for s in &study.segments {
            for (i, t) in s.turns.iter().enumerate() {
                let mut d = TantivyDocument::default();
                d.add_text(f.study, key);
                d.add_text(f.kind, "turn");
                d.add_text(f.segment, s.key.as_str());
                d.add_u64(f.turn, i as u64);
                d.add_text(stem, &t.text);
                d.add_text(word, &t.text);
                w.add_document(d)?;
                stats.turns += 1;
            }
        }
        let mut d = TantivyDocument::default();
        d.add_text(f.study, key);
        d.add_text(f.kind, "meta");
        d.add_text(f.fingerprint, fingerprint);
        w.add_document(d)?;
        w.commit()?;
        drop(w);
        self.reader.reload()?;
        Ok(stats)
    }

    /// Removes a study from the index.
    pub fn remove_study(&self, study: &str) -> Result<()> {
        let mut w = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        w.delete_term(Term::from_field_text(self.f.study, study));
        w.commit()?;
        drop(w);
        self.reader.reload()?;
        Ok(())
    }

    /// Removes everything (before a full rebuild).
    pub fn clear(&self) -> Result<()> {
        let mut w = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        w.delete_all_documents()?;
        w.commit()?;
        drop(w);
        self.reader.reload()?;
        Ok(())
    }

    /// The indexed texts of a study that match the query (at most `limit`,
    /// best first). Candidates only: pass them to [`resolve`].
    pub fn candidates(
        &self,
        study: &str,
        language: Language,
        query: &Query,
        limit: usize,
    ) -> Result<Vec<Target>> {
        let f = self.f;
        let (stem, word) = f.text(language);
        let mut must: Vec<(Occur, Box<dyn TQuery>)> =
            vec![(Occur::Must, term_query(f.study, study))];
        for c in &query.clauses {
            let q: Box<dyn TQuery> = match c {
                Clause::Term(s) => term_query(stem, s),
                Clause::Phrase(stems) => Box::new(PhraseQuery::new(
                    stems
                        .iter()
                        .map(|s| Term::from_field_text(stem, s))
                        .collect(),
                )),
                Clause::Prefix(p) => {
                    let escaped: String = p
                        .chars()
                        .flat_map(|c| {
                            let special = !c.is_alphanumeric();
                            special
                                .then_some('\\')
                                .into_iter()
                                .chain(std::iter::once(c))
                        })
                        .collect();
                    Box::new(RegexQuery::from_pattern(&format!("{escaped}.*"), word)?)
                }
            };
            must.push((Occur::Must, q));
        }
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &BooleanQuery::new(must),
            &TopDocs::with_limit(limit.max(1)).order_by_score(),
        )?;
        let mut out = Vec::with_capacity(top.len());
        for (_, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let s = |field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            let k = |field| s(field).and_then(|v| Key::parse(&v).ok());
            let target = match s(f.kind).as_deref() {
                Some("response") => match (k(f.participant), k(f.question)) {
                    (Some(participant), Some(question)) => Target::Response {
                        participant,
                        segment: k(f.segment),
                        question,
                    },
                    _ => continue,
                },
                Some("turn") => {
                    match (k(f.segment), doc.get_first(f.turn).and_then(|v| v.as_u64())) {
                        (Some(segment), Some(turn)) => Target::Turn {
                            segment,
                            turn: turn as usize,
                        },
                        _ => continue,
                    }
                }
                _ => continue,
            };
            out.push(target);
        }
        Ok(out)
    }
}

fn term_query(field: Field, text: &str) -> Box<dyn TQuery> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}

/// Takes candidates back to the study as it is now: drops targets that no
/// longer exist or whose current text no longer matches, and computes the
/// spans on the current text. Keeps the candidates' order.
pub fn resolve(study: &StudyData, query: &Query, candidates: &[Target]) -> Vec<Hit> {
    let analyzer = Analyzer::new(study.meta.language);
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for t in candidates {
        if !seen.insert(t) {
            continue;
        }
        let (text, speaker) = match t {
            Target::Response {
                participant,
                segment,
                question,
            } => {
                let Some(r) = study.responses.iter().find(|r| {
                    &r.key.participant == participant
                        && &r.key.segment == segment
                        && &r.key.question == question
                }) else {
                    continue;
                };
                let Some(text) = r.answer.text() else {
                    continue;
                };
                (text, None)
            }
            Target::Turn { segment, turn } => {
                let Some(turn) = study
                    .segments
                    .iter()
                    .find(|s| &s.key == segment)
                    .and_then(|s| s.turns.get(*turn))
                else {
                    continue;
                };
                (turn.text.as_str(), Some(turn.speaker.clone()))
            }
        };
        if let Some(spans) = hit_spans(&analyzer, query, text) {
            out.push(Hit {
                target: t.clone(),
                speaker,
                text: text.to_string(),
                spans,
            });
        }
    }
    out
}

/// Parses and runs a query on one study: candidates from the index, resolved
/// against the study as given.
pub fn search(
    index: &SearchIndex,
    study: &StudyData,
    input: &str,
    limit: usize,
) -> Result2<Vec<Hit>> {
    let analyzer = Analyzer::new(study.meta.language);
    let query = Query::parse(input, &analyzer)?;
    let candidates =
        index.candidates(study.meta.key.as_str(), study.meta.language, &query, limit)?;
    Ok(resolve(study, &query, &candidates))
}

/// Errors of [`search`]: a bad query or an index failure.
#[derive(Debug, thiserror::Error)]
pub enum SearchQueryError {
    /// The query cannot be run.
    #[error("{0}")]
    Query(#[from] QueryError),
    /// The index failed.
    #[error("{0}")]
    Index(#[from] SearchError),
}

impl From<tantivy::TantivyError> for SearchQueryError {
    fn from(e: tantivy::TantivyError) -> Self {
        SearchQueryError::Index(e.into())
    }
}

/// Result of [`search`].
pub type Result2<T> = std::result::Result<T, SearchQueryError>;

#[cfg(test)]
mod tests;
