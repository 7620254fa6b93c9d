//! Cross-tabulation of code presence by a participant attribute, a segment or a patient, with tests.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::adjust::{benjamini_hochberg, holm};
use super::chisq::{chi_square_test, ChiSquareTest};
use super::error::StatsError;
use super::exact::{fisher_freeman_halton, ExactOptions, ExactTest};
use super::paired::{cochran_q, mcnemar, CochranQ, McNemar};
use super::select::{check_layer, code_presence, is_codable, select_codes, CodeSelection};
use crate::model::{AttrValue, AttributeDef, AttributeType, ResponseKey, StudyData, CONSENSUS};

/// What the groups of a cross-tab are.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum GroupBy {
    /// A participant attribute; a numeric one is banded by `cuts`, or by the study's bands when `cuts` is `None`.
    Attribute {
        /// Attribute name.
        name: String,
        /// Cut points (ascending) overriding the study's bands.
        cuts: Option<Vec<f64>>,
    },
    /// The segment the answer is about (a within-participant factor).
    Segment,
    /// The patient of the segment the answer is about (a within-participant factor).
    Patient,
}

/// What is counted in each cell of a cross-tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CountingUnit {
    /// Participants (by segment or patient: participant × segment or participant × patient); each counts once.
    #[default]
    Participant,
    /// Responses; they are not independent, and the output says so.
    Response,
}

/// Options of [`crosstab`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrosstabOptions {
    /// Coding layer: `consensus` or a coder's name.
    pub layer: String,
    /// The grouping.
    pub by: GroupBy,
    /// The counting unit.
    pub unit: CountingUnit,
    /// The codes to tabulate.
    pub codes: CodeSelection,
    /// Options of the Fisher–Freeman–Halton test.
    pub exact: ExactOptions,
}

impl CrosstabOptions {
    /// Defaults: consensus layer, participant level, themes (depth 2), default exact-test options.
    pub fn new(by: GroupBy) -> Self {
        CrosstabOptions {
            layer: CONSENSUS.to_string(),
            by,
            unit: CountingUnit::Participant,
            codes: CodeSelection::default(),
            exact: ExactOptions::default(),
        }
    }
}

/// One group (column of the report) with its number of units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupInfo {
    /// Value, band, segment key or patient key.
    pub key: String,
    /// Display label.
    pub label: String,
    /// Units in the group.
    pub n: u64,
}

/// Count of one code in one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupCell {
    /// Units that have the code.
    pub has: u64,
    /// Units in the group.
    pub n: u64,
    /// 100 · has / n.
    pub pct: f64,
}

/// Holm and Benjamini–Hochberg adjusted versions of one p-value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HolmBh {
    /// Holm (family-wise error rate).
    pub holm: f64,
    /// Benjamini–Hochberg (false discovery rate).
    pub bh: f64,
}

/// Adjusted p-values of a row, each across the rows where that test was run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AdjustedP {
    /// Adjusted χ² p-value.
    pub chi_square: Option<HolmBh>,
    /// Adjusted Fisher–Freeman–Halton p-value.
    pub exact: Option<HolmBh>,
    /// Adjusted Cochran's Q p-value.
    pub within: Option<HolmBh>,
}

/// Within-participant test across segments or patients.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WithinSubjectTest {
    /// Participants with a unit in every group (the complete cases tested).
    pub subjects: usize,
    /// Participants left out because they lack some group.
    pub dropped_incomplete: usize,
    /// Cochran's Q, when defined.
    pub cochran_q: Option<CochranQ>,
    /// McNemar's test, when there are exactly two groups.
    pub mcnemar: Option<McNemar>,
    /// Why a test is missing, if one is.
    pub note: Option<String>,
}

/// One code's row of a cross-tab.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrosstabRow {
    /// Code path.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Depth of the code.
    pub depth: usize,
    /// Counts per group, aligned with [`Crosstab::groups`].
    pub cells: Vec<GroupCell>,
    /// Units that have the code, over all groups.
    pub has: u64,
    /// Units over all groups.
    pub n: u64,
    /// 100 · has / n.
    pub pct: f64,
    /// Pearson's χ² on groups × (has, has not).
    pub chi_square: Option<ChiSquareTest>,
    /// Fisher–Freeman–Halton exact test (or its Monte-Carlo estimate) on the same table.
    pub exact: Option<ExactTest>,
    /// Cochran's Q / McNemar (segment and patient groupings at participant level).
    pub within: Option<WithinSubjectTest>,
    /// Why no test was run, if none was.
    pub skipped: Option<String>,
    /// Holm and BH adjusted p-values across the codes tested.
    pub adjusted: AdjustedP,
}

impl CrosstabRow {
    /// The groups × (has, has not) table that was tested.
    pub fn table(&self) -> Vec<Vec<u64>> {
        self.cells
            .iter()
            .map(|c| vec![c.has, c.n - c.has])
            .collect()
    }
}

/// A cross-tab of code presence with tests and adjusted p-values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Crosstab {
    /// The coding layer.
    pub layer: String,
    /// The grouping, in words.
    pub by: String,
    /// The counting unit.
    pub unit: CountingUnit,
    /// What one counted unit is, in words.
    pub unit_description: String,
    /// Whether the groups hold independent units (attribute groups at participant level).
    pub independent_groups: bool,
    /// Whether the same participants make up every group (segment or patient groups at
    /// participant level): then Cochran's Q / McNemar ([`CrosstabRow::within`]) are the
    /// tests. Otherwise (attribute groups, or responses as the counting unit) χ², Cramér's
    /// V and the Fisher–Freeman–Halton test are — with the caveat in [`Crosstab::notes`]
    /// when the units are responses, which are not independent.
    pub within_participants: bool,
    /// Groups with at least one unit, in order.
    pub groups: Vec<GroupInfo>,
    /// Groups with no units (left out of the tests).
    pub empty_groups: Vec<String>,
    /// Participants left out because the attribute has no value for them.
    pub excluded: Vec<String>,
    /// Caveats the reader must see.
    pub notes: Vec<String>,
    /// One row per code.
    pub rows: Vec<CrosstabRow>,
    /// The exact-test options used.
    pub exact_options: ExactOptions,
}

/// Cross-tabulates presence of each selected code by the grouping and tests each code.
///
/// At participant level a participant has a code if any of their answers in
/// the layer carries it or one of its sub-codes (by segment or patient: any
/// of their answers about that segment or patient). Groups are in attribute,
/// band, segment or patient order; empty groups are listed apart.
pub fn crosstab(study: &StudyData, opts: &CrosstabOptions) -> Result<Crosstab, StatsError> {
    check_layer(study, &opts.layer)?;
    let codes = select_codes(study, &opts.codes)?;
    let presence = code_presence(study, &opts.layer, &codes);
    let grouping = Grouping::new(study, &opts.by)?;

    // Units: (group, participant, unit id) → responses.
    let mut units: BTreeMap<(usize, String, usize), Vec<&ResponseKey>> = BTreeMap::new();
    let mut excluded: BTreeSet<String> = BTreeSet::new();
    let mut once_answers = false;
    for (ri, r) in study.responses.iter().enumerate() {
        let participant = r.key.participant.as_str();
        let group = match grouping.group_of(study, &r.key) {
            GroupOf::Group(g) => g,
            GroupOf::MissingAttribute => {
                excluded.insert(participant.to_string());
                continue;
            }
            GroupOf::NoSegment => {
                once_answers = true;
                continue;
            }
        };
        match opts.unit {
            CountingUnit::Participant => {
                units
                    .entry((group, participant.to_string(), 0))
                    .or_default()
                    .push(&r.key);
            }
            CountingUnit::Response => {
                if is_codable(r, &presence) {
                    units
                        .entry((group, participant.to_string(), ri))
                        .or_default()
                        .push(&r.key);
                }
            }
        }
    }

    let n_groups = grouping.groups.len();
    let mut group_n = vec![0u64; n_groups];
    for (g, _, _) in units.keys() {
        group_n[*g] += 1;
    }
    let present: Vec<usize> = (0..n_groups).filter(|&g| group_n[g] > 0).collect();
    let mut position = vec![usize::MAX; n_groups];
    for (p, &g) in present.iter().enumerate() {
        position[g] = p;
    }
    let groups: Vec<GroupInfo> = present
        .iter()
        .map(|&g| GroupInfo {
            key: grouping.groups[g].0.clone(),
            label: grouping.groups[g].1.clone(),
            n: group_n[g],
        })
        .collect();
    let empty_groups: Vec<String> = (0..n_groups)
        .filter(|&g| group_n[g] == 0)
        .map(|g| grouping.groups[g].0.clone())
        .collect();

    // has[unit][code]
    let unit_list: Vec<(usize, &str, Vec<bool>)> = units
        .iter()
        .map(|((g, p, _), keys)| {
            let mut has = vec![false; codes.len()];
            for k in keys {
                if let Some(row) = presence.get(k) {
                    for (h, v) in has.iter_mut().zip(row) {
                        *h |= *v;
                    }
                }
            }
            (position[*g], p.as_str(), has)
        })
        .collect();

    let within_design =
        opts.unit == CountingUnit::Participant && !matches!(opts.by, GroupBy::Attribute { .. });
    let unit_word = match (opts.unit, &opts.by) {
        (CountingUnit::Response, _) => "response",
        (CountingUnit::Participant, GroupBy::Attribute { .. }) => "participant",
        (CountingUnit::Participant, GroupBy::Segment) => "participant × segment",
        (CountingUnit::Participant, GroupBy::Patient) => "participant × patient",
    };

    let mut rows = Vec::with_capacity(codes.len());
    for (ci, code) in codes.iter().enumerate() {
        let mut cells: Vec<GroupCell> = groups
            .iter()
            .map(|g| GroupCell {
                has: 0,
                n: g.n,
                pct: 0.0,
            })
            .collect();
        for (g, _, has) in &unit_list {
            if has[ci] {
                cells[*g].has += 1;
            }
        }
        for c in &mut cells {
            c.pct = pct(c.has, c.n);
        }
        let has: u64 = cells.iter().map(|c| c.has).sum();
        let n: u64 = cells.iter().map(|c| c.n).sum();
        let mut row = CrosstabRow {
            code: code.path.as_str().to_string(),
            name: code.name.clone(),
            depth: code.path.depth(),
            cells,
            has,
            n,
            pct: pct(has, n),
            chi_square: None,
            exact: None,
            within: None,
            skipped: None,
            adjusted: AdjustedP::default(),
        };
        row.skipped = if groups.len() < 2 {
            Some(format!(
                "fewer than two groups have any {unit_word}: nothing to compare"
            ))
        } else if has == 0 {
            Some(format!("no {unit_word} has this code: nothing to test"))
        } else if has == n {
            Some(format!("every {unit_word} has this code: nothing to test"))
        } else {
            None
        };
        if row.skipped.is_none() {
            let table = row.table();
            row.chi_square = Some(chi_square_test(&table)?);
            row.exact = Some(fisher_freeman_halton(&table, &opts.exact)?);
            if within_design {
                row.within = Some(within_test(&unit_list, ci, groups.len(), unit_word));
            }
        }
        rows.push(row);
    }
    adjust_rows(&mut rows)?;

    let mut notes = Vec::new();
    let layer = &opts.layer;
    notes.push(match (opts.unit, &opts.by) {
        (CountingUnit::Participant, GroupBy::Attribute { .. }) => format!(
            "Counting unit: participants. A participant has a code if any of their answers in layer `{layer}` carries it or one of its sub-codes; each participant counts once."
        ),
        (CountingUnit::Participant, _) => format!(
            "Counting unit: {unit_word}. A participant has a code for a group if any of their answers about it in layer `{layer}` carries the code or one of its sub-codes."
        ),
        (CountingUnit::Response, _) => format!(
            "Counting unit: responses (open answers or answers coded in layer `{layer}`). Responses are NOT independent (each participant gave several), so the χ² and exact p-values treat dependent observations as independent and are too small; use participant-level counting for inference."
        ),
    });
    if within_design {
        notes.push(
            "The same participants appear in every group, so the groups are not independent: χ² and the Fisher–Freeman–Halton test assume independent groups and are shown for description only. Read Cochran's Q (and McNemar for two groups), computed on the participants who answered about every group."
                .to_string(),
        );
    }
    if once_answers {
        notes.push(
            "Answers to questions asked once (not about a segment) are not part of this grouping."
                .to_string(),
        );
    }
    if !excluded.is_empty() {
        notes.push(format!(
            "{} participant(s) left out because `{}` has no value for them: {}.",
            excluded.len(),
            grouping.attribute.as_deref().unwrap_or(""),
            excluded.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if !empty_groups.is_empty() {
        notes.push(format!(
            "Groups with no {unit_word}s, left out of the tests: {}.",
            empty_groups.join(", ")
        ));
    }
    if rows
        .iter()
        .any(|r| r.chi_square.as_ref().is_some_and(|c| c.small_expected))
    {
        notes.push(
            "Some expected counts are below 5, where the χ² approximation is unreliable: read the exact (Fisher–Freeman–Halton) p-values."
                .to_string(),
        );
    }
    if let Some(mc) = rows
        .iter()
        .filter_map(|r| r.exact.as_ref())
        .find(|e| !e.is_exact())
    {
        notes.push(format!(
            "Some exact-test p-values are estimates: {}.",
            mc.describe()
        ));
    }
    notes.push(
        "Adjusted p-values (Holm, Benjamini–Hochberg) are computed across the codes tested, separately for each test."
            .to_string(),
    );

    Ok(Crosstab {
        layer: opts.layer.clone(),
        by: grouping.description,
        unit: opts.unit,
        unit_description: unit_word.to_string(),
        independent_groups: !within_design && opts.unit == CountingUnit::Participant,
        within_participants: within_design,
        groups,
        empty_groups,
        excluded: excluded.into_iter().collect(),
        notes,
        rows,
        exact_options: opts.exact.clone(),
    })
}

fn pct(has: u64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        100.0 * has as f64 / n as f64
    }
}

/// Cochran's Q (and McNemar for two groups) on participants with a unit in every group.
fn within_test(
    units: &[(usize, &str, Vec<bool>)],
    code: usize,
    n_groups: usize,
    unit_word: &str,
) -> WithinSubjectTest {
    let mut by_participant: BTreeMap<&str, Vec<Option<bool>>> = BTreeMap::new();
    for (g, p, has) in units {
        by_participant
            .entry(p)
            .or_insert_with(|| vec![None; n_groups])[*g] = Some(has[code]);
    }
    let total = by_participant.len();
    let complete: Vec<Vec<bool>> = by_participant
        .into_values()
        .filter_map(|row| row.into_iter().collect::<Option<Vec<bool>>>())
        .collect();
    let mut test = WithinSubjectTest {
        subjects: complete.len(),
        dropped_incomplete: total - complete.len(),
        cochran_q: None,
        mcnemar: None,
        note: None,
    };
    if complete.is_empty() {
        test.note = Some(format!("no participant has a {unit_word} in every group; the within-participant test needs complete cases"));
        return test;
    }
    match cochran_q(&complete) {
        Ok(q) => test.cochran_q = Some(q),
        Err(e) => test.note = Some(e.to_string()),
    }
    if n_groups == 2 {
        let mut t = [[0u64; 2]; 2];
        for row in &complete {
            t[usize::from(!row[0])][usize::from(!row[1])] += 1;
        }
        test.mcnemar = Some(mcnemar(t));
    }
    test
}

/// Fills the Holm and BH adjusted p-values of each test family.
fn adjust_rows(rows: &mut [CrosstabRow]) -> Result<(), StatsError> {
    type Getter = fn(&CrosstabRow) -> Option<f64>;
    type Setter = fn(&mut AdjustedP, HolmBh);
    let families: [(Getter, Setter); 3] = [
        (
            |r| r.chi_square.as_ref().map(|c| c.p_value),
            |a, v| a.chi_square = Some(v),
        ),
        (
            |r| r.exact.as_ref().map(|e| e.p_value),
            |a, v| a.exact = Some(v),
        ),
        (
            |r| {
                r.within
                    .as_ref()
                    .and_then(|w| w.cochran_q.as_ref())
                    .map(|q| q.p_value)
            },
            |a, v| a.within = Some(v),
        ),
    ];
    for (get, set) in families {
        let (idx, p): (Vec<usize>, Vec<f64>) = rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| get(r).map(|p| (i, p)))
            .unzip();
        let h = holm(&p)?;
        let b = benjamini_hochberg(&p)?;
        for (k, &i) in idx.iter().enumerate() {
            set(
                &mut rows[i].adjusted,
                HolmBh {
                    holm: h[k],
                    bh: b[k],
                },
            );
        }
    }
    Ok(())
}

/// Where a response falls in the grouping.
enum GroupOf {
    Group(usize),
    MissingAttribute,
    NoSegment,
}

/// The groups (key, label) of a grouping and how to find a response's group.
struct Grouping {
    groups: Vec<(String, String)>,
    description: String,
    attribute: Option<String>,
    /// Attribute grouping: participant code → group.
    participant_group: HashMap<String, usize>,
    /// Segment key → group (segment or patient index).
    segment_group: HashMap<String, usize>,
}

impl Grouping {
    fn new(study: &StudyData, by: &GroupBy) -> Result<Self, StatsError> {
        let mut g = Grouping {
            groups: Vec::new(),
            description: String::new(),
            attribute: None,
            participant_group: HashMap::new(),
            segment_group: HashMap::new(),
        };
        match by {
            GroupBy::Segment => {
                g.description = "segment".into();
                for (i, s) in study.segments.iter().enumerate() {
                    g.groups.push((s.key.as_str().to_string(), s.label.clone()));
                    g.segment_group.insert(s.key.as_str().to_string(), i);
                }
            }
            GroupBy::Patient => {
                g.description = "patient".into();
                for p in &study.patients {
                    g.groups
                        .push((p.key.as_str().to_string(), p.description.clone()));
                }
                for s in &study.segments {
                    if let Some(i) = study.patients.iter().position(|p| p.key == s.patient) {
                        g.segment_group.insert(s.key.as_str().to_string(), i);
                    }
                }
            }
            GroupBy::Attribute { name, cuts } => {
                let def = attribute_def(study, name, cuts.as_deref())?;
                g.attribute = Some(name.clone());
                let labels: Vec<String> = match &def.kind {
                    AttributeType::Integer { .. } | AttributeType::Number { .. } => {
                        g.description = format!(
                            "attribute `{name}` in bands {}",
                            def.band_labels().join(", ")
                        );
                        def.band_labels()
                    }
                    AttributeType::Category { values } => {
                        g.description = format!("attribute `{name}`");
                        values.clone()
                    }
                    AttributeType::Boolean => {
                        g.description = format!("attribute `{name}`");
                        vec!["false".into(), "true".into()]
                    }
                    AttributeType::Text => {
                        g.description = format!("attribute `{name}`");
                        let set: BTreeSet<String> = study
                            .participants
                            .iter()
                            .filter_map(|p| p.attributes.get(name))
                            .map(|v| v.to_string())
                            .collect();
                        set.into_iter().collect()
                    }
                };
                for p in &study.participants {
                    let label = p.attributes.get(name).and_then(|v| group_label(&def, v));
                    if let Some(i) = label.and_then(|l| labels.iter().position(|x| *x == l)) {
                        g.participant_group.insert(p.code.as_str().to_string(), i);
                    }
                }
                g.groups = labels.iter().map(|l| (l.clone(), l.clone())).collect();
            }
        }
        Ok(g)
    }

    fn group_of(&self, _study: &StudyData, key: &ResponseKey) -> GroupOf {
        if self.attribute.is_some() {
            return match self.participant_group.get(key.participant.as_str()) {
                Some(&g) => GroupOf::Group(g),
                None => GroupOf::MissingAttribute,
            };
        }
        match key
            .segment
            .as_ref()
            .and_then(|s| self.segment_group.get(s.as_str()))
        {
            Some(&g) => GroupOf::Group(g),
            None => GroupOf::NoSegment,
        }
    }
}

/// The attribute definition to group by, with user cut points applied.
fn attribute_def(
    study: &StudyData,
    name: &str,
    cuts: Option<&[f64]>,
) -> Result<AttributeDef, StatsError> {
    let def = study.attribute(name).ok_or_else(|| {
        let names = study.attributes.iter().map(|a| a.name.as_str());
        StatsError::UnknownAttribute {
            name: name.to_string(),
            hint: crate::text::did_you_mean(name, names.clone())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default(),
            available: {
                let v: Vec<&str> = names.collect();
                if v.is_empty() {
                    "none".to_string()
                } else {
                    v.join(", ")
                }
            },
        }
    })?;
    let numeric = matches!(
        def.kind,
        AttributeType::Integer { .. } | AttributeType::Number { .. }
    );
    let mut def = def.clone();
    match (numeric, cuts) {
        (false, Some(_)) => {
            return Err(StatsError::CutsOnNonNumeric {
                name: name.to_string(),
                kind: def.kind.name(),
            })
        }
        (true, Some(c)) => {
            let ok = !c.is_empty()
                && c.iter().all(|v| v.is_finite())
                && c.windows(2).all(|w| w[0] < w[1]);
            if !ok {
                return Err(StatsError::BadCuts {
                    cuts: c
                        .iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            def.bands = c.to_vec();
        }
        (true, None) if def.bands.is_empty() => {
            return Err(StatsError::NoBands {
                name: name.to_string(),
            })
        }
        _ => {}
    }
    Ok(def)
}

/// The group label of a participant's value.
fn group_label(def: &AttributeDef, v: &AttrValue) -> Option<String> {
    match def.kind {
        AttributeType::Integer { .. } | AttributeType::Number { .. } => def.band_of(v),
        _ => Some(v.to_string()),
    }
}
