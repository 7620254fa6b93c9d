//! The report model: everything a report says, computed once from a study
//! and the options. Every number here is the value a core analysis function
//! returned (`prevalence`, `code_agreement_table`, `krippendorff_alpha`,
//! `crosstab`, `cooccurrence`, `segment_profile`); the renderers only format.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rupturelab_core::agreement::{
    bootstrap_alpha, code_agreement_table, code_set_matrix, krippendorff_alpha, AlphaBootstrap,
    AlphaResult, BootstrapOptions, CodeAgreementOptions, CodeAgreementTable, CodeUnit, Metric,
    UnitOptions,
};
use rupturelab_core::analysis::{participants_answered, prevalence, PrevalenceRow};
use rupturelab_core::stats::{
    cooccurrence, crosstab, segment_profile, CodeSelection, Cooccurrence, CountingUnit, Crosstab,
    CrosstabOptions, ExactOptions, GroupBy, SegmentProfile,
};
use rupturelab_core::training::{
    panel_shares, pre_post, shares, ExerciseFoci, ModuleExercises, PrePost, Shares, Source,
};
use rupturelab_core::{
    Answer, AttributeType, CodePath, Language, ParticipantStatus, QuestionScope, StudyData,
    CONSENSUS,
};

use crate::quotes::{choose_quotes, Quote, QuoteRules};
use crate::ReportError;

/// What a report covers and how it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    /// Coding layer the frequencies count: `consensus` or a coder's name.
    pub layer: String,
    /// Language of headings, labels and the method paragraph.
    pub lang: Language,
    /// The date printed on the report (`YYYY-MM-DD`); fixed, so output is reproducible.
    pub date: String,
    /// Participant attributes (or `segment`, `patient`) to cross-tabulate themes by.
    pub by: Vec<String>,
    /// Whether the appendix prints the segments' transcripts.
    pub transcripts: bool,
    /// Pinned and excluded quotes.
    pub quotes: QuoteRules,
    /// Most quotes per theme (1–3 in an APA table).
    pub max_quotes: usize,
    /// Bootstrap of α's confidence intervals; `None` skips the intervals.
    pub bootstrap: Option<BootstrapOptions>,
    /// Options of the Fisher–Freeman–Halton tests.
    pub exact: ExactOptions,
    /// Training modules drawn on the study, for the training section (none:
    /// no section). The caller reads them from the store.
    pub training: Vec<ModuleExercises>,
}

/// One training module in the report: the group beside the panel and the
/// first-vs-last change, each focus counted from the model's codes or the
/// trainee's own marks (either), as on the supervisor dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingSection {
    /// The module's title.
    pub title: String,
    /// Trainees with at least one exercise.
    pub trainees: usize,
    /// The trainees' exercises.
    pub group: Shares,
    /// The panel's answers about the module's segments (the report's layer).
    pub panel: Shares,
    /// First vs last exercise per focus, with McNemar's test.
    pub pre_post: Vec<PrePost>,
}

/// The training section of one module (pure; the dashboard's figures).
pub fn training_section(
    study: &StudyData,
    layer: &str,
    input: &ModuleExercises,
) -> TrainingSection {
    let flat: Vec<ExerciseFoci> = input.trainees.iter().flatten().cloned().collect();
    TrainingSection {
        title: input.title.clone(),
        trainees: input.trainees.iter().filter(|t| !t.is_empty()).count(),
        group: shares(&flat, Source::Either),
        panel: panel_shares(study, &input.segments, layer),
        pre_post: pre_post(&input.trainees, Source::Either),
    }
}

impl ReportOptions {
    /// Defaults: consensus layer, English, cross-tab by `orientation` when the
    /// study has it, no transcripts, 3 quotes, the `agreement` command's
    /// bootstrap (1,000 replicates, seed 20070101) and exact-test options.
    pub fn new(study: &StudyData, date: &str) -> Self {
        ReportOptions {
            layer: CONSENSUS.to_string(),
            lang: Language::En,
            date: date.to_string(),
            by: study
                .attribute("orientation")
                .map(|_| vec!["orientation".to_string()])
                .unwrap_or_default(),
            transcripts: false,
            quotes: QuoteRules::default(),
            max_quotes: 3,
            bootstrap: Some(BootstrapOptions::default()),
            exact: ExactOptions::default(),
            training: Vec::new(),
        }
    }
}

/// The attribute quotes are labelled and spread by: the first category
/// attribute among `by`, else `orientation` when the study has it.
pub fn quote_attribute(study: &StudyData, by: &[String]) -> Option<String> {
    by.iter()
        .find(|b| {
            study
                .attribute(b)
                .is_some_and(|a| matches!(a.kind, AttributeType::Category { .. }))
        })
        .cloned()
        .or_else(|| study.attribute("orientation").map(|a| a.name.to_string()))
}

/// Checks a `YYYY-MM-DD` date.
pub fn check_date(date: &str) -> Result<(), ReportError> {
    let b = date.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && date
            .char_indices()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=12).contains(&date[5..7].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&date[8..10].parse::<u32>().unwrap_or(0));
    if ok {
        Ok(())
    } else {
        Err(ReportError::Options(format!(
            "`{date}` is not a date; write YYYY-MM-DD, e.g. 2026-05-01"
        )))
    }
}

/// Completion of one question.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionCompletion {
    /// Question key.
    pub question: String,
    /// Answers given (non-empty).
    pub answered: u64,
    /// Answers expected: participants who started × segments (or × 1 for a question asked once).
    pub expected: u64,
}

/// Participants by one category attribute × the bands of one numeric attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantGrid {
    /// Row attribute name and label.
    pub rows_attr: (String, String),
    /// Column attribute name and label.
    pub cols_attr: (String, String),
    /// Band labels.
    pub cols: Vec<String>,
    /// (value, counts per band) for values with at least one participant.
    pub rows: Vec<(String, Vec<u64>)>,
    /// Participants without one of the two values.
    pub missing: u64,
}

/// The study's design and data collection in numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    /// Participants by status: (invited, started, completed).
    pub status: (u64, u64, u64),
    /// Participants with at least one answer (N of prevalence and CQR labels).
    pub n_answered: usize,
    /// Orientation × experience band, when the study has such attributes.
    pub grid: Option<ParticipantGrid>,
    /// Completion per question.
    pub completion: Vec<QuestionCompletion>,
    /// Open-text answers (non-empty).
    pub open_answers: u64,
}

/// How the answers were coded.
#[derive(Debug, Clone, PartialEq)]
pub struct CodingSummary {
    /// Coders other than the consensus layer who have codings, in study order.
    pub coders: Vec<String>,
    /// Codings in the report's layer.
    pub layer_codings: u64,
    /// Answers with at least one coding in the report's layer.
    pub layer_responses: u64,
    /// Answers coded by every coder in `coders` (double-coded when there are two).
    pub coded_by_all: u64,
    /// Answers coded by at least one coder in `coders`.
    pub coded_by_any: u64,
    /// Whether a consensus layer exists.
    pub has_consensus: bool,
    /// Codes per depth: (categories, themes, sub-themes).
    pub codebook: (usize, usize, usize),
}

/// Most distinct sets of codes for which the overall MASI α is computed: its
/// coincidence and distance tables grow with the square of this number
/// (20,000 distinct sets, as in a large generated study, take minutes).
pub const MAX_MASI_VALUES: usize = 2_000;

/// One overall agreement row: Krippendorff's α with the MASI distance over sets of codes.
#[derive(Debug, Clone, PartialEq)]
pub struct OverallAgreement {
    /// `None` = all codes; else the category whose codes are compared.
    pub within: Option<CodePath>,
    /// Units (answers) compared.
    pub units: usize,
    /// Distinct sets of codes among the units.
    pub distinct_sets: usize,
    /// α (MASI); `None` when there are more than [`MAX_MASI_VALUES`] distinct sets.
    pub alpha: Option<AlphaResult>,
    /// Its bootstrap interval, when asked for and α is defined.
    pub ci: Option<AlphaBootstrap>,
}

/// Agreement between the coders, as the `agreement` command computes it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgreementSection {
    /// Per code: % agreement, κ, α with CI, flag (unit: response × code presence).
    pub table: CodeAgreementTable,
    /// Overall α (MASI) over all codes and within each category.
    pub overall: Vec<OverallAgreement>,
}

/// Why the report has no agreement table.
#[derive(Debug, Clone, PartialEq)]
pub enum AgreementStatus {
    /// Computed.
    Computed(Box<AgreementSection>),
    /// The study switched agreement statistics off (reflexive thematic analysis).
    Off,
    /// Fewer than two coders have codings.
    TooFewCoders,
}

/// A cross-tab asked for with `by`.
#[derive(Debug, Clone, PartialEq)]
pub struct CrosstabSection {
    /// What was asked for (`orientation`, `segment`…).
    pub by: String,
    /// Display label (the attribute's label).
    pub label: String,
    /// The engine's result.
    pub crosstab: Crosstab,
}

/// The audit trail in a few numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditSummary {
    /// Events.
    pub events: u64,
    /// (actor, events), by actor.
    pub by_actor: Vec<(String, u64)>,
    /// (action, events), by action.
    pub by_action: Vec<(String, u64)>,
    /// First and last event (RFC 3339).
    pub span: Option<(String, String)>,
    /// Events that changed the codebook (actions starting with `codebook`).
    pub codebook_changes: u64,
    /// Memos written.
    pub memos: u64,
}

/// A whole report's content, computed once.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    /// The study reported on.
    pub study: &'a StudyData,
    /// The options.
    pub options: ReportOptions,
    /// Design and collection.
    pub overview: Overview,
    /// Coding.
    pub coding: CodingSummary,
    /// Agreement between coders.
    pub agreement: AgreementStatus,
    /// Prevalence of every code in the layer, in codebook order (`analysis::prevalence`).
    pub prevalence: Vec<PrevalenceRow>,
    /// Quotes per theme path.
    pub quotes: BTreeMap<String, Vec<Quote>>,
    /// The attribute quotes are labelled with (orientation).
    pub quote_attribute: Option<String>,
    /// One cross-tab per `by`.
    pub crosstabs: Vec<CrosstabSection>,
    /// Code co-occurrence at `cooccurrence_depth`.
    pub cooccurrence: Cooccurrence,
    /// Depth of the co-occurring codes: sub-themes when there are at most 30, else themes.
    pub cooccurrence_depth: usize,
    /// Segment × theme profile.
    pub profile: SegmentProfile,
    /// Audit trail summary.
    pub audit: AuditSummary,
    /// One section per training module (empty: no training section).
    pub training: Vec<TrainingSection>,
    /// Things the researcher should know (e.g. a pinned quote that does not exist).
    pub warnings: Vec<String>,
    /// Seconds each analysis took, on two threads (for benchmarks; never printed in a report).
    pub timings: Vec<(&'static str, f64)>,
}

/// Most sub-themes the co-occurrence heat map shows before it falls back to themes.
pub const MAX_HEATMAP_CODES: usize = 30;

fn overview(study: &StudyData) -> Overview {
    let mut status = (0, 0, 0);
    for p in &study.participants {
        match p.status {
            ParticipantStatus::Invited => status.0 += 1,
            ParticipantStatus::Started => status.1 += 1,
            ParticipantStatus::Completed => status.2 += 1,
        }
    }
    let started = status.1 + status.2;
    let mut answered: HashMap<&str, u64> = HashMap::new();
    let mut open_answers = 0;
    for r in &study.responses {
        let given = match &r.answer {
            Answer::Text(t) => {
                let ok = !t.trim().is_empty();
                open_answers += ok as u64;
                ok
            }
            _ => true,
        };
        if given {
            *answered.entry(r.key.question.as_str()).or_default() += 1;
        }
    }
    let completion = study
        .questions
        .iter()
        .map(|q| QuestionCompletion {
            question: q.key.to_string(),
            answered: answered.get(q.key.as_str()).copied().unwrap_or(0),
            expected: match q.scope {
                QuestionScope::Segment => started * study.segments.len() as u64,
                QuestionScope::Once => started,
            },
        })
        .collect();
    Overview {
        status,
        n_answered: participants_answered(study),
        grid: participant_grid(study),
        completion,
        open_answers,
    }
}

fn participant_grid(study: &StudyData) -> Option<ParticipantGrid> {
    let cat = study
        .attribute("orientation")
        .filter(|a| matches!(a.kind, AttributeType::Category { .. }))
        .or_else(|| {
            study
                .attributes
                .iter()
                .find(|a| matches!(a.kind, AttributeType::Category { .. }))
        })?;
    let num = study
        .attribute("experience_years")
        .filter(|a| !a.bands.is_empty())
        .or_else(|| study.attributes.iter().find(|a| !a.bands.is_empty()))?;
    let AttributeType::Category { values } = &cat.kind else {
        return None;
    };
    let cols = num.band_labels();
    let mut counts: Vec<Vec<u64>> = vec![vec![0; cols.len()]; values.len()];
    let mut missing = 0;
    for p in &study.participants {
        let row = p
            .attributes
            .get(cat.name.as_str())
            .and_then(|v| values.iter().position(|x| *x == v.to_string()));
        let col = p
            .attributes
            .get(num.name.as_str())
            .and_then(|v| num.band_of(v))
            .and_then(|b| cols.iter().position(|x| *x == b));
        match (row, col) {
            (Some(r), Some(c)) => counts[r][c] += 1,
            _ => missing += 1,
        }
    }
    Some(ParticipantGrid {
        rows_attr: (cat.name.to_string(), cat.label.clone()),
        cols_attr: (num.name.to_string(), num.label.clone()),
        cols,
        rows: values
            .iter()
            .zip(counts)
            .filter(|(_, c)| c.iter().sum::<u64>() > 0)
            .map(|(v, c)| (v.clone(), c))
            .collect(),
        missing,
    })
}

fn coding_summary(study: &StudyData, layer: &str) -> CodingSummary {
    let coders: Vec<String> = study
        .coders
        .iter()
        .filter(|c| !c.is_consensus() && study.codings.iter().any(|x| x.coder == c.name))
        .map(|c| c.name.to_string())
        .collect();
    let pos: HashMap<&str, usize> = coders
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    let mut by_response: HashMap<&rupturelab_core::ResponseKey, u64> = HashMap::new();
    let mut layer_codings = 0;
    let mut layer_responses = BTreeSet::new();
    for c in &study.codings {
        if c.coder.as_str() == layer {
            layer_codings += 1;
            layer_responses.insert(&c.response);
        }
        if let Some(&i) = pos.get(c.coder.as_str()) {
            *by_response.entry(&c.response).or_default() |= 1 << i.min(63);
        }
    }
    let all = if coders.is_empty() {
        0
    } else {
        (1u64 << coders.len().min(63)) - 1
    };
    let depth = |d: usize| study.codes.iter().filter(|c| c.path.depth() == d).count();
    CodingSummary {
        coded_by_all: by_response.values().filter(|&&m| m & all == all).count() as u64,
        coded_by_any: by_response.len() as u64,
        coders,
        layer_codings,
        layer_responses: layer_responses.len() as u64,
        has_consensus: study.codings.iter().any(|c| c.coder.as_str() == CONSENSUS),
        codebook: (depth(1), depth(2), depth(3)),
    }
}

fn agreement(
    study: &StudyData,
    coders: &[String],
    bootstrap: Option<&BootstrapOptions>,
) -> Result<AgreementStatus, ReportError> {
    if !study.settings.agreement {
        return Ok(AgreementStatus::Off);
    }
    if coders.len() < 2 {
        return Ok(AgreementStatus::TooFewCoders);
    }
    let names: Vec<&str> = coders.iter().map(String::as_str).collect();
    let table = code_agreement_table(
        study,
        &names,
        &CodeAgreementOptions {
            unit: CodeUnit::Response,
            selection: None,
            threshold: None,
            bootstrap: bootstrap.copied(),
        },
    )?;
    let mut overall = Vec::new();
    let tops = std::iter::once(None).chain(
        study
            .codes
            .iter()
            .filter(|c| c.path.depth() == 1)
            .map(|c| Some(c.path.clone())),
    );
    for within in tops {
        let Ok(m) = code_set_matrix(study, &names, within.as_ref(), &UnitOptions::default()) else {
            continue;
        };
        let distinct_sets = m.values().len();
        let units = m.n_units();
        if distinct_sets > MAX_MASI_VALUES {
            overall.push(OverallAgreement {
                within,
                units,
                distinct_sets,
                alpha: None,
                ci: None,
            });
            continue;
        }
        let Ok(alpha) = krippendorff_alpha(&m, &Metric::Masi) else {
            continue;
        };
        let ci = match (bootstrap, alpha.alpha.value()) {
            (Some(o), Some(_)) => bootstrap_alpha(&m, &Metric::Masi, o).ok(),
            _ => None,
        };
        overall.push(OverallAgreement {
            within,
            units,
            distinct_sets,
            alpha: Some(alpha),
            ci,
        });
    }
    Ok(AgreementStatus::Computed(Box::new(AgreementSection {
        table,
        overall,
    })))
}

fn audit_summary(study: &StudyData) -> AuditSummary {
    let mut by_actor: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_action: BTreeMap<String, u64> = BTreeMap::new();
    for e in &study.audit {
        *by_actor.entry(e.actor.clone()).or_default() += 1;
        *by_action.entry(e.action.clone()).or_default() += 1;
    }
    let first = study.audit.iter().map(|e| e.at).min();
    let last = study.audit.iter().map(|e| e.at).max();
    AuditSummary {
        events: study.audit.len() as u64,
        by_actor: by_actor.into_iter().collect(),
        by_action: by_action.into_iter().collect(),
        span: first
            .zip(last)
            .map(|(a, b)| (a.to_rfc3339(), b.to_rfc3339())),
        codebook_changes: study
            .audit
            .iter()
            .filter(|e| e.action.starts_with("codebook"))
            .count() as u64,
        memos: study.memos.len() as u64,
    }
}

/// The group-by of a `by` name: `segment`, `patient`, or an attribute.
fn group_by(name: &str) -> GroupBy {
    match name {
        "segment" => GroupBy::Segment,
        "patient" => GroupBy::Patient,
        n => GroupBy::Attribute {
            name: n.to_string(),
            cuts: None,
        },
    }
}

impl<'a> Report<'a> {
    /// Computes the report's content from the study (once; rendering does no analysis).
    pub fn build(study: &'a StudyData, options: ReportOptions) -> Result<Self, ReportError> {
        check_date(&options.date)?;
        if !study
            .codings
            .iter()
            .any(|c| c.coder.as_str() == options.layer)
        {
            let layers: BTreeSet<&str> = study.codings.iter().map(|c| c.coder.as_str()).collect();
            return Err(ReportError::Options(format!(
                "coding layer `{}` has no codings; layers with codings: {}",
                options.layer,
                if layers.is_empty() {
                    "none (code the answers first)".to_string()
                } else {
                    layers.into_iter().collect::<Vec<_>>().join(", ")
                }
            )));
        }
        if !(1..=3).contains(&options.max_quotes) {
            return Err(ReportError::Options(format!(
                "{} quotes per theme asked for; an APA themes table takes 1 to 3",
                options.max_quotes
            )));
        }
        let quote_attribute = quote_attribute(study, &options.by);
        let themes: Vec<&CodePath> = study
            .codes
            .iter()
            .filter(|c| c.path.depth() == 2)
            .map(|c| &c.path)
            .collect();
        let subthemes = study.codes.iter().filter(|c| c.path.depth() == 3).count();
        let cooccurrence_depth = if (1..=MAX_HEATMAP_CODES).contains(&subthemes) {
            3
        } else {
            2
        };
        let layer = options.layer.as_str();

        // The analyses are independent pure functions of the study: run them
        // on two threads (each result is what the function returns, so the
        // report does not depend on scheduling).
        fn timed<T>(name: &'static str, f: impl FnOnce() -> T) -> (T, (&'static str, f64)) {
            let t = std::time::Instant::now();
            let v = f();
            (v, (name, t.elapsed().as_secs_f64()))
        }
        let coders = coding_summary(study, layer).coders;
        let (first, second) = std::thread::scope(|scope| {
            let first = scope.spawn(|| {
                (
                    timed("agreement", || {
                        agreement(study, &coders, options.bootstrap.as_ref())
                    }),
                    timed("prevalence", || prevalence(study, layer)),
                    timed("quotes", || {
                        choose_quotes(
                            study,
                            layer,
                            &themes,
                            quote_attribute.as_deref(),
                            &options.quotes,
                            options.max_quotes,
                        )
                    }),
                )
            });
            let second = (|| -> Result<_, ReportError> {
                let (overview, t1) = timed("overview", || overview(study));
                let (coding, t2) = timed("coding summary", || coding_summary(study, layer));
                let (crosstabs, t3) = timed("crosstabs", || -> Result<_, ReportError> {
                    let mut out = Vec::new();
                    for by in &options.by {
                        let mut o = CrosstabOptions::new(group_by(by));
                        o.layer = layer.to_string();
                        o.unit = CountingUnit::Participant;
                        o.codes = CodeSelection::Depth(2);
                        o.exact = options.exact.clone();
                        let x = crosstab(study, &o)?;
                        let label = study
                            .attribute(by)
                            .map(|a| a.label.clone())
                            .unwrap_or_else(|| by.clone());
                        out.push(CrosstabSection {
                            by: by.clone(),
                            label,
                            crosstab: x,
                        });
                    }
                    Ok(out)
                });
                let (cooc, t4) = timed("cooccurrence", || {
                    cooccurrence(study, layer, &CodeSelection::Depth(cooccurrence_depth))
                });
                let (profile, t5) = timed("segment profile", || {
                    segment_profile(study, layer, &CodeSelection::Depth(2))
                });
                Ok((
                    overview,
                    coding,
                    crosstabs?,
                    cooc?,
                    profile?,
                    [t1, t2, t3, t4, t5],
                ))
            })();
            (first.join().expect("an analysis thread panicked"), second)
        });
        let ((agreement, t6), (prevalence, t7), ((quotes, warnings), t8)) = first;
        let agreement = agreement?;
        let (overview, coding, crosstabs, cooccurrence, profile, times) = second?;
        let mut timings: Vec<(&'static str, f64)> = times.to_vec();
        timings.extend([t6, t7, t8]);
        let audit = audit_summary(study);
        let training = options
            .training
            .iter()
            .map(|t| training_section(study, layer, t))
            .collect();
        Ok(Report {
            study,
            options,
            overview,
            coding,
            agreement,
            prevalence,
            quotes,
            quote_attribute,
            crosstabs,
            cooccurrence,
            cooccurrence_depth,
            profile,
            audit,
            training,
            warnings,
            timings,
        })
    }

    /// N: participants who answered (the base of % and of CQR labels).
    pub fn n(&self) -> usize {
        self.overview.n_answered
    }
}
