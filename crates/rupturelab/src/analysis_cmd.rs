//! `rupturelab themes`, `crosstab` and `cooccurrence`: the analysis of themes.

use anyhow::Result;
use clap::{Args, ValueEnum};
use rupturelab_core::analysis::{participants_answered, prevalence};
use rupturelab_core::stats::{
    cooccurrence, crosstab, segment_profile, CodeSelection, CountingUnit, CrosstabOptions,
    ExactMethodChoice, ExactOptions, GroupBy, PValueMethod,
};
use rupturelab_core::StudyData;

use crate::output::{Cell, Report, Table};

/// Which codes an analysis looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Level {
    /// Themes (second level of the codebook), counting their sub-themes.
    Themes,
    /// Sub-themes (third level).
    Subthemes,
    /// Categories (top level).
    Categories,
}

impl Level {
    fn depth(self) -> usize {
        match self {
            Level::Categories => 1,
            Level::Themes => 2,
            Level::Subthemes => 3,
        }
    }
}

/// Options of `rupturelab themes`.
#[derive(Args, Debug)]
pub struct ThemesArgs {
    /// Coding layer: `consensus` or a coder's name.
    #[arg(long, default_value = "consensus")]
    layer: String,
    /// Codes of the segment × theme profile.
    #[arg(long, value_enum, default_value_t = Level::Themes)]
    level: Level,
}

/// `rupturelab themes`: prevalence with CQR labels, and the segment × theme profile.
pub fn themes(study: &StudyData, args: &ThemesArgs) -> Result<Report> {
    crate::views::check_layer(study, &args.layer)?;
    let n = participants_answered(study);
    let mut r = Report::default();
    r.fact("layer", "Layer", args.layer.clone());
    r.fact(
        "n",
        "Participants who answered (N for % and CQR labels)",
        serde_json::json!(n),
    );
    let mut t = Table::new(
        "themes",
        "Theme prevalence (a theme counts its sub-themes)",
        &[
            "theme",
            "code",
            "participants",
            "%",
            "responses",
            "segments",
            "CQR",
        ],
    );
    for row in prevalence(study, &args.layer) {
        t.row(crate::views::prevalence_cells(&row, 1));
    }
    r.tables.push(t);

    let profile = segment_profile(
        study,
        &args.layer,
        &CodeSelection::Depth(args.level.depth()),
    )?;
    let mut cols: Vec<String> = vec!["segment".into(), "rupture".into(), "participants".into()];
    cols.extend(profile.codes.iter().map(|c| c.code.clone()));
    let col_refs: Vec<&str> = cols.iter().map(String::as_str).collect();
    let mut t = Table::new(
        "profile",
        "Segment × theme profile (participants who expressed it about the segment)",
        &col_refs,
    );
    for (seg, cells) in profile.segments.iter().zip(&profile.cells) {
        let mut row: Vec<Cell> = vec![
            seg.key.clone().into(),
            seg.rupture.clone().into(),
            (seg.participants as usize).into(),
        ];
        row.extend(cells.iter().map(|c| Cell::Int(c.participants as i64)));
        t.row(row);
    }
    r.tables.push(t);
    Ok(r)
}

/// What a cross-tab counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Unit {
    /// Participants: one has a theme if any of their answers carries it (independent units).
    Participant,
    /// Responses (not independent: each participant answers several segments).
    Response,
}

/// Options of `rupturelab crosstab`.
#[derive(Args, Debug)]
pub struct CrosstabArgs {
    /// Group by: a participant attribute (e.g. orientation, experience_years), `segment` or `patient`.
    #[arg(long, default_value = "orientation")]
    by: String,
    /// Cut points for a numeric attribute, e.g. 5,10,20 (default: the study's bands).
    #[arg(long, value_delimiter = ',')]
    cuts: Vec<f64>,
    /// Which codes to tabulate: a level, or with --code the children of one code.
    #[arg(long, value_enum, default_value_t = Level::Themes)]
    level: Level,
    /// Tabulate the children of this code instead (e.g. Cause).
    #[arg(long)]
    code: Option<String>,
    /// What is counted.
    #[arg(long, value_enum, default_value_t = Unit::Participant)]
    unit: Unit,
    /// Coding layer: `consensus` or a coder's name.
    #[arg(long, default_value = "consensus")]
    layer: String,
    /// Monte-Carlo draws for exact tests too large to enumerate.
    #[arg(long, default_value_t = rupturelab_core::stats::DEFAULT_DRAWS)]
    draws: u64,
    /// Seed of the Monte-Carlo estimate.
    #[arg(long, default_value_t = rupturelab_core::stats::DEFAULT_SEED)]
    seed: u64,
    /// Estimate every Fisher–Freeman–Halton p-value by Monte-Carlo (--draws, --seed) instead of enumerating small tables exactly.
    #[arg(long)]
    monte_carlo: bool,
}

fn p(v: Option<f64>) -> Cell {
    match v {
        Some(x) if x < 0.001 => Cell::Text("<.001".into()),
        Some(x) => Cell::Num(x, 3),
        None => Cell::Empty,
    }
}

/// `rupturelab crosstab`.
pub fn crosstab_cmd(study: &StudyData, args: &CrosstabArgs) -> Result<Report> {
    let by = match args.by.as_str() {
        "segment" => GroupBy::Segment,
        "patient" => GroupBy::Patient,
        name => GroupBy::Attribute {
            name: name.to_string(),
            cuts: (!args.cuts.is_empty()).then(|| args.cuts.clone()),
        },
    };
    let mut opts = CrosstabOptions::new(by);
    opts.layer = args.layer.clone();
    opts.unit = match args.unit {
        Unit::Participant => CountingUnit::Participant,
        Unit::Response => CountingUnit::Response,
    };
    opts.codes = match &args.code {
        Some(c) => CodeSelection::ChildrenOf(c.clone()),
        None => CodeSelection::Depth(args.level.depth()),
    };
    opts.exact = ExactOptions {
        draws: args.draws,
        seed: args.seed,
        method: if args.monte_carlo {
            ExactMethodChoice::MonteCarlo
        } else {
            ExactMethodChoice::Auto
        },
        ..ExactOptions::default()
    };
    let x = crosstab(study, &opts)?;
    let mut r = Report::default();
    r.fact("layer", "Layer", x.layer.clone());
    r.fact("by", "Groups", x.by.clone());
    r.fact("unit", "Unit", x.unit_description.clone());
    if !x.excluded.is_empty() {
        r.fact("excluded", "Left out (no value)", x.excluded.join(", "));
    }
    if !x.empty_groups.is_empty() {
        r.fact(
            "empty_groups",
            "Empty groups (not tested)",
            x.empty_groups.join(", "),
        );
    }
    // Between-group tests (χ², V, exact) unless the same participants make up every group.
    let between = !x.within_participants;
    if between {
        r.fact(
            "exact_test",
            "Exact test",
            if args.monte_carlo {
                format!(
                    "Fisher–Freeman–Halton, Monte-Carlo estimate for every code ({} draws, seed {})",
                    x.exact_options.draws, x.exact_options.seed
                )
            } else {
                format!(
                    "Fisher–Freeman–Halton, exact; tables too large to enumerate are estimated by Monte-Carlo ({} draws, seed {})",
                    x.exact_options.draws, x.exact_options.seed
                )
            },
        );
        r.fact(
            "monte_carlo_draws",
            "Monte-Carlo draws",
            x.exact_options.draws,
        );
        r.fact("monte_carlo_seed", "Monte-Carlo seed", x.exact_options.seed);
        if !x.independent_groups {
            r.fact(
                "caution",
                "Caution",
                "responses of one participant are not independent: the χ² and exact p-values treat them as independent and are too small; count participants (--unit participant) for inference",
            );
        }
    }
    // Segments and patients are named by key (their labels are sentences).
    let keyed = matches!(args.by.as_str(), "segment" | "patient");
    let mut cols: Vec<String> = vec!["code".into(), "theme".into()];
    cols.extend(x.groups.iter().map(|g| {
        let name = if keyed { &g.key } else { &g.label };
        format!("{name} (n={})", g.n)
    }));
    cols.push("total".into());
    let tests: &[&str] = if between {
        &[
            "χ²",
            "df",
            "p",
            "Cramér's V",
            "exact p",
            "exact",
            "Holm p",
            "BH p",
            "note",
        ]
    } else {
        &[
            "Cochran's Q",
            "df",
            "p",
            "McNemar exact p",
            "Holm p",
            "BH p",
            "note",
        ]
    };
    cols.extend(tests.iter().map(|s| s.to_string()));
    let col_refs: Vec<&str> = cols.iter().map(String::as_str).collect();
    let mut t = Table::new(
        "crosstab",
        &format!("{} × {}", x.by, "code presence: n (%)"),
        &col_refs,
    );
    for row in &x.rows {
        let mut cells: Vec<Cell> = vec![row.code.clone().into(), row.name.clone().into()];
        cells.extend(
            row.cells
                .iter()
                .map(|c| Cell::Text(format!("{} ({:.0}%)", c.has, c.pct))),
        );
        cells.push(Cell::Text(format!("{} ({:.0}%)", row.has, row.pct)));
        if between {
            let chi = row.chi_square.as_ref();
            let mut note = row.skipped.clone().unwrap_or_default();
            if chi.is_some_and(|c| c.small_expected) && note.is_empty() {
                note = "expected counts < 5: read the exact p".into();
            }
            cells.extend([
                chi.map(|c| Cell::Num(c.statistic, 2))
                    .unwrap_or(Cell::Empty),
                chi.map(|c| Cell::Int(c.df as i64)).unwrap_or(Cell::Empty),
                p(chi.map(|c| c.p_value)),
                chi.map(|c| Cell::Num(c.cramers_v, 2))
                    .unwrap_or(Cell::Empty),
                p(row.exact.as_ref().map(|e| e.p_value)),
                row.exact
                    .as_ref()
                    .map(|e| match &e.method {
                        PValueMethod::MonteCarlo { draws, seed, .. } => {
                            format!("Monte-Carlo ({draws} draws, seed {seed})")
                        }
                        _ => "exact".to_string(),
                    })
                    .into(),
                p(row.adjusted.exact.as_ref().map(|a| a.holm)),
                p(row.adjusted.exact.as_ref().map(|a| a.bh)),
                note.into(),
            ]);
        } else {
            let w = row.within.as_ref();
            let q = w.and_then(|w| w.cochran_q.as_ref());
            cells.extend([
                q.map(|q| Cell::Num(q.statistic, 2)).unwrap_or(Cell::Empty),
                q.map(|q| Cell::Int(q.df as i64)).unwrap_or(Cell::Empty),
                p(q.map(|q| q.p_value)),
                p(w.and_then(|w| w.mcnemar.as_ref()).map(|m| m.exact_p)),
                p(row.adjusted.within.as_ref().map(|a| a.holm)),
                p(row.adjusted.within.as_ref().map(|a| a.bh)),
                row.skipped
                    .clone()
                    .or_else(|| w.and_then(|w| w.note.clone()))
                    .into(),
            ]);
        }
        t.row(cells);
    }
    r.tables.push(t);
    let methods: Vec<String> = x
        .rows
        .iter()
        .filter_map(|row| row.exact.as_ref())
        .filter(|e| !e.is_exact())
        .map(|e| e.describe())
        .collect();
    if let Some(m) = methods.first() {
        r.hints.push(format!(
            "Exact tests too large to enumerate were estimated: {m}"
        ));
    }
    r.hints.extend(x.notes.iter().cloned());
    Ok(r)
}

/// Options of `rupturelab cooccurrence`.
#[derive(Args, Debug)]
pub struct CooccurrenceArgs {
    /// Codes to pair.
    #[arg(long, value_enum, default_value_t = Level::Subthemes)]
    level: Level,
    /// Coding layer: `consensus` or a coder's name.
    #[arg(long, default_value = "consensus")]
    layer: String,
}

/// `rupturelab cooccurrence`: pairs of codes in the same response.
pub fn cooccurrence_cmd(study: &StudyData, args: &CooccurrenceArgs) -> Result<Report> {
    let c = cooccurrence(
        study,
        &args.layer,
        &CodeSelection::Depth(args.level.depth()),
    )?;
    let mut r = Report::default();
    r.fact("layer", "Layer", c.layer.clone());
    r.fact(
        "responses",
        "Coded responses",
        serde_json::json!(c.responses),
    );
    let mut pairs = c.pairs.clone();
    pairs.retain(|p| p.both > 0);
    pairs.sort_by(|a, b| b.both.cmp(&a.both).then(a.a.cmp(&b.a)).then(a.b.cmp(&b.b)));
    let mut t = Table::new(
        "pairs",
        "Codes in the same response (pairs that co-occur, most frequent first)",
        &["code", "with", "both", "either", "Jaccard"],
    );
    for p in &pairs {
        t.row(vec![
            p.a.clone().into(),
            p.b.clone().into(),
            (p.both as usize).into(),
            (p.either as usize).into(),
            p.jaccard.map(|j| Cell::Num(j, 3)).unwrap_or(Cell::Empty),
        ]);
    }
    r.tables.push(t);
    Ok(r)
}
