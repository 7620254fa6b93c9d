//! Training mode (supervision exercises): the pure logic behind a trainee's
//! feedback page and the supervisor's dashboard.
//!
//! * [`Focus`] — the five things an answer about a rupture can address: the
//!   patient's, the therapist's or the relationship's contribution (cause
//!   themes), a technical or a relational resolution. Codebook themes map to
//!   a focus by their names in English or Turkish (`Cause/Therapist`,
//!   `Neden/Terapist`, …).
//! * [`panel_profile`] — how the study's panel answered one segment: the
//!   share of participants naming each theme in a coding layer (consensus),
//!   overall and by an attribute such as orientation; [`panel_quotes`] — a
//!   few anonymised quotes per theme (text only, never whose).
//! * [`choose_prompts`] — the reflection prompts for what an answer left out.
//! * [`trainee_profile`], [`pre_post`], [`shares`] — a trainee's profile
//!   across exercises, first-vs-last change with McNemar's test over the
//!   trainees with both, and the group's profile beside the panel's.
//!
//! Trainee answers are never part of a [`StudyData`]: these functions read
//! the panel from the study and the trainees from their own plain data.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::analysis::responses_by_code;
use crate::keys::{CodePath, Key};
use crate::model::{AttrValue, AttributeType, Language, StudyData};
use crate::stats::{mcnemar, McNemar};

/// What an answer about a rupture addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Focus {
    /// The patient's contribution to the rupture.
    Patient,
    /// The therapist's contribution.
    Therapist,
    /// The relationship (a pattern between both).
    Relationship,
    /// A technical resolution (task, rationale, interpretation…).
    Technical,
    /// A relational resolution (metacommunication, acknowledging…).
    Relational,
}

impl Focus {
    /// Every focus, causes first.
    pub const ALL: [Focus; 5] = [
        Focus::Patient,
        Focus::Therapist,
        Focus::Relationship,
        Focus::Technical,
        Focus::Relational,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Focus::Patient => "patient",
            Focus::Therapist => "therapist",
            Focus::Relationship => "relationship",
            Focus::Technical => "technical",
            Focus::Relational => "relational",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Focus> {
        Focus::ALL.into_iter().find(|f| f.as_str() == s.trim())
    }

    /// Whether this is a cause (attribution) rather than a resolution.
    pub fn is_cause(self) -> bool {
        matches!(
            self,
            Focus::Patient | Focus::Therapist | Focus::Relationship
        )
    }

    /// Position in [`Focus::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// A short label in the page language.
    pub fn label(self, language: Language) -> &'static str {
        match (language, self) {
            (Language::En, Focus::Patient) => "Patient's contribution",
            (Language::En, Focus::Therapist) => "Therapist's contribution",
            (Language::En, Focus::Relationship) => "Relationship",
            (Language::En, Focus::Technical) => "Technical resolution",
            (Language::En, Focus::Relational) => "Relational resolution",
            (Language::Tr, Focus::Patient) => "Danışanın katkısı",
            (Language::Tr, Focus::Therapist) => "Terapistin katkısı",
            (Language::Tr, Focus::Relationship) => "İlişki",
            (Language::Tr, Focus::Technical) => "Teknik onarım",
            (Language::Tr, Focus::Relational) => "İlişkisel onarım",
        }
    }

    /// The focus of a code (or of its theme, for a sub-theme), recognised by
    /// the category and theme names of the seed paper's scheme in English or
    /// Turkish; `None` for codes of other schemes.
    pub fn of_code(code: &CodePath) -> Option<Focus> {
        let mut parts = code.as_str().split('/');
        let category = simplify(parts.next()?);
        let theme = simplify(parts.next()?);
        let cause = matches!(category.as_str(), "cause" | "causes" | "neden" | "nedenler");
        let resolution = matches!(
            category.as_str(),
            "resolution" | "resolutions" | "repair" | "onarim" | "cozum" | "cozumler"
        );
        match theme.as_str() {
            "patient" | "client" | "danisan" | "hasta" if cause => Some(Focus::Patient),
            "therapist" | "terapist" if cause => Some(Focus::Therapist),
            "relationship" | "relational" | "iliski" | "iliskisel" if cause => {
                Some(Focus::Relationship)
            }
            "technical" | "teknik" if resolution => Some(Focus::Technical),
            "relational" | "relationship" | "iliskisel" | "iliski" if resolution => {
                Some(Focus::Relational)
            }
            _ => None,
        }
    }
}

/// Lower case without Turkish diacritics or punctuation, for name matching.
fn simplify(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            'ı' | 'î' => Some('i'),
            'ş' => Some('s'),
            'ç' => Some('c'),
            'ğ' => Some('g'),
            'ö' => Some('o'),
            'ü' | 'û' => Some('u'),
            'â' => Some('a'),
            '\u{307}' => None,
            c if c.is_ascii_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The foci of a set of codes.
pub fn foci<'a>(codes: impl IntoIterator<Item = &'a CodePath>) -> BTreeSet<Focus> {
    codes.into_iter().filter_map(Focus::of_code).collect()
}

// ------------------------------------------------------------------ prompts

/// A reflection prompt of a module, chosen by what an answer left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PromptKind {
    /// No therapist or relationship contribution named: the therapist's
    /// part and metacommunication.
    TherapistPart,
    /// Only the therapist named: what the patient brings.
    PatientPart,
    /// No relational resolution proposed.
    RelationalRepair,
    /// Only relational resolutions: the task and goals.
    TechnicalRepair,
    /// Every side covered: what to say first.
    Integration,
}

impl PromptKind {
    /// Every prompt, in the order they are considered.
    pub const ALL: [PromptKind; 5] = [
        PromptKind::TherapistPart,
        PromptKind::PatientPart,
        PromptKind::RelationalRepair,
        PromptKind::TechnicalRepair,
        PromptKind::Integration,
    ];

    /// The name in the template file and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            PromptKind::TherapistPart => "therapist-part",
            PromptKind::PatientPart => "patient-part",
            PromptKind::RelationalRepair => "relational-repair",
            PromptKind::TechnicalRepair => "technical-repair",
            PromptKind::Integration => "integration",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<PromptKind> {
        PromptKind::ALL.into_iter().find(|p| p.as_str() == s.trim())
    }

    /// When the prompt is shown (for the supervisor's form).
    pub fn when(self) -> &'static str {
        match self {
            PromptKind::TherapistPart => "no therapist or relationship contribution named",
            PromptKind::PatientPart => "only the therapist's contribution named",
            PromptKind::RelationalRepair => "no relational resolution proposed",
            PromptKind::TechnicalRepair => "only relational resolutions proposed",
            PromptKind::Integration => "every side covered",
        }
    }
}

/// The starter prompt texts (English or Turkish) from
/// `templates/training-prompts.toml`.
pub fn starter_prompts(language: Language) -> BTreeMap<PromptKind, String> {
    let all: BTreeMap<String, BTreeMap<String, String>> =
        toml::from_str(include_str!("../templates/training-prompts.toml"))
            .expect("the built-in prompt template is valid");
    let texts = all.get(language.as_str()).cloned().unwrap_or_default();
    PromptKind::ALL
        .into_iter()
        .filter_map(|p| texts.get(p.as_str()).map(|t| (p, t.clone())))
        .collect()
}

/// Which kinds of question an exercise asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Asked {
    /// A question about the cause (where cause themes are coded).
    pub cause: bool,
    /// A question about the resolution.
    pub resolution: bool,
}

/// Which foci the study's codings use on each question's answers: a
/// question asks about causes when cause themes were coded on it.
pub fn asked_by_question(study: &StudyData, layer: &str) -> HashMap<Key, Asked> {
    let mut out: HashMap<Key, Asked> = HashMap::new();
    for c in study.codings.iter().filter(|c| c.coder.as_str() == layer) {
        if let Some(f) = Focus::of_code(&c.code) {
            let a = out.entry(c.response.question.clone()).or_default();
            if f.is_cause() {
                a.cause = true;
            } else {
                a.resolution = true;
            }
        }
    }
    out
}

/// The reflection prompts for an answer that addressed `covered`, most
/// important first (never empty): a cause answer naming neither the
/// therapist nor the relationship gets [`PromptKind::TherapistPart`] first.
pub fn choose_prompts(covered: &BTreeSet<Focus>, asked: Asked) -> Vec<PromptKind> {
    let has = |f| covered.contains(&f);
    let mut out = Vec::new();
    if asked.cause {
        if !has(Focus::Therapist) && !has(Focus::Relationship) {
            out.push(PromptKind::TherapistPart);
        } else if !has(Focus::Patient) && !has(Focus::Relationship) {
            out.push(PromptKind::PatientPart);
        }
    }
    if asked.resolution {
        if !has(Focus::Relational) {
            out.push(PromptKind::RelationalRepair);
        } else if !has(Focus::Technical) {
            out.push(PromptKind::TechnicalRepair);
        }
    }
    if out.is_empty() {
        out.push(PromptKind::Integration);
    }
    out
}

// -------------------------------------------------------------- the panel

/// A theme of the codebook (a depth-2 code) as the profile shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// The code.
    pub code: CodePath,
    /// Its name.
    pub name: String,
    /// Its focus, when the scheme is recognised.
    pub focus: Option<Focus>,
    /// The category's name (`Cause of the rupture`…).
    pub category: String,
}

/// How many of a group's participants named each theme.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupCounts {
    /// The group (`All`, or the attribute value).
    pub label: String,
    /// Participants in the group who answered about the segment.
    pub n: usize,
    /// Per theme (aligned with [`PanelProfile::themes`]), participants
    /// whose answers about the segment carry it.
    pub counts: Vec<usize>,
}

impl GroupCounts {
    /// The share (0–1) of theme `i`; 0 for an empty group.
    pub fn share(&self, i: usize) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.counts.get(i).copied().unwrap_or(0) as f64 / self.n as f64
        }
    }
}

/// How the study's panel answered one segment.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelProfile {
    /// The segment.
    pub segment: Key,
    /// The themes, in codebook order.
    pub themes: Vec<Theme>,
    /// Everyone.
    pub overall: GroupCounts,
    /// The attribute the groups come from, if any.
    pub group_by: Option<String>,
    /// One entry per attribute value (category order), then `(not given)`.
    pub groups: Vec<GroupCounts>,
}

/// The themes (depth-2 codes) of a study's codebook.
pub fn themes(study: &StudyData) -> Vec<Theme> {
    let names: HashMap<&str, &str> = study
        .codes
        .iter()
        .map(|c| (c.path.as_str(), c.name.as_str()))
        .collect();
    study
        .codes
        .iter()
        .filter(|c| c.path.depth() == 2)
        .map(|c| {
            let category = c
                .path
                .ancestor(1)
                .map(|p| {
                    names
                        .get(p.as_str())
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| p.to_string())
                })
                .unwrap_or_default();
            Theme {
                code: c.path.clone(),
                name: c.name.clone(),
                focus: Focus::of_code(&c.path),
                category,
            }
        })
        .collect()
}

/// The label of a participant's group: the attribute value as text, or
/// `(not given)`.
const NOT_GIVEN: &str = "(not given)";

/// The panel's profile of a segment in `layer`, overall and (when
/// `group_by` names an attribute of the study) by its values.
pub fn panel_profile(
    study: &StudyData,
    segment: &Key,
    layer: &str,
    group_by: Option<&str>,
) -> PanelProfile {
    let themes = themes(study);
    let answered: BTreeSet<&Key> = study
        .responses
        .iter()
        .filter(|r| r.key.segment.as_ref() == Some(segment))
        .map(|r| &r.key.participant)
        .collect();
    let by_code = responses_by_code(study, layer);
    // Per theme, the participants naming it about this segment.
    let named: Vec<BTreeSet<&Key>> = themes
        .iter()
        .map(|t| {
            by_code
                .get(t.code.as_str())
                .map(|keys| {
                    keys.iter()
                        .filter(|k| k.segment.as_ref() == Some(segment))
                        .map(|k| &k.participant)
                        .filter(|p| answered.contains(p))
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let count = |label: String, members: &BTreeSet<&Key>| GroupCounts {
        label,
        n: members.len(),
        counts: named
            .iter()
            .map(|set| set.intersection(members).count())
            .collect(),
    };
    let overall = count("All".into(), &answered);
    let def = group_by.and_then(|g| study.attribute(g));
    let mut groups = Vec::new();
    if let Some(def) = def {
        let value_of: HashMap<&Key, String> = study
            .participants
            .iter()
            .filter_map(|p| {
                p.attributes
                    .get(def.name.as_str())
                    .map(|v| (&p.code, group_label(def.band_of(v), v)))
            })
            .collect();
        let mut members: BTreeMap<String, BTreeSet<&Key>> = BTreeMap::new();
        for p in &answered {
            let label = value_of
                .get(p)
                .cloned()
                .unwrap_or_else(|| NOT_GIVEN.to_string());
            members.entry(label).or_default().insert(p);
        }
        let mut order: Vec<String> = match &def.kind {
            AttributeType::Category { values } => values.clone(),
            _ => def.band_labels(),
        };
        order.retain(|l| members.contains_key(l));
        for l in members.keys() {
            if !order.contains(l) && l != NOT_GIVEN {
                order.push(l.clone());
            }
        }
        if members.contains_key(NOT_GIVEN) {
            order.push(NOT_GIVEN.to_string());
        }
        for label in order {
            let m = &members[&label];
            groups.push(count(label, m));
        }
    }
    PanelProfile {
        segment: segment.clone(),
        themes,
        overall,
        group_by: def.map(|d| d.name.to_string()),
        groups,
    }
}

fn group_label(band: Option<String>, v: &AttrValue) -> String {
    band.unwrap_or_else(|| v.to_string())
}

/// Quotes shorter than this rarely stand on their own; they come last.
pub const MIN_QUOTE_CHARS: usize = 40;

/// Up to `per_theme` quotes per theme from the panel's coded answers about
/// the segment (the coded span when there is one, else the whole answer),
/// those of at least [`MIN_QUOTE_CHARS`] first, shortest first, cut at
/// `max_chars` characters. Quotes carry no
/// participant code or any other trace of who wrote them.
pub fn panel_quotes(
    study: &StudyData,
    segment: &Key,
    layer: &str,
    per_theme: usize,
    max_chars: usize,
) -> Vec<(CodePath, Vec<String>)> {
    let mut out = Vec::new();
    for theme in themes(study) {
        let mut quotes: BTreeSet<(bool, usize, String)> = BTreeSet::new();
        for c in study.codings.iter().filter(|c| {
            c.coder.as_str() == layer
                && c.response.segment.as_ref() == Some(segment)
                && c.code.is_within(&theme.code)
        }) {
            let Some(text) = study.response(&c.response).and_then(|r| r.answer.text()) else {
                continue;
            };
            let quote = c
                .span
                .and_then(|s| crate::text::slice_chars(text, s.start, s.end))
                .unwrap_or(text)
                .trim();
            if quote.is_empty() {
                continue;
            }
            let cut = cut_chars(quote, max_chars);
            let len = cut.chars().count();
            // Quotes long enough to say something come first, shortest first.
            quotes.insert((len < MIN_QUOTE_CHARS, len, cut));
        }
        let picked: Vec<String> = quotes.into_iter().take(per_theme).map(|q| q.2).collect();
        if !picked.is_empty() {
            out.push((theme.code, picked));
        }
    }
    out
}

fn cut_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(max.saturating_sub(1)).collect();
    cut = cut.trim_end().to_string();
    cut.push('…');
    cut
}

// ----------------------------------------------------------- the trainees

/// What one exercise (a trainee's answers about one segment) addressed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExerciseFoci {
    /// The segment.
    pub segment: Option<Key>,
    /// Foci of the codes the model gave the answers.
    pub model: BTreeSet<Focus>,
    /// Foci the trainee marked themselves.
    pub marks: BTreeSet<Focus>,
}

/// Which statement of an exercise's foci a profile counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// The model's codes only.
    Model,
    /// The trainee's own marks only.
    Marks,
    /// Either (the union): a focus counts when the model found it or the
    /// trainee marked it.
    #[default]
    Either,
}

impl Source {
    /// Parses `model`, `marks` or `either`.
    pub fn parse(s: &str) -> Option<Source> {
        match s.trim() {
            "model" => Some(Source::Model),
            "marks" => Some(Source::Marks),
            "either" => Some(Source::Either),
            _ => None,
        }
    }
    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Model => "model",
            Source::Marks => "marks",
            Source::Either => "either",
        }
    }
}

impl ExerciseFoci {
    /// The foci counted from `source`.
    pub fn covered(&self, source: Source) -> BTreeSet<Focus> {
        match source {
            Source::Model => self.model.clone(),
            Source::Marks => self.marks.clone(),
            Source::Either => self.model.union(&self.marks).copied().collect(),
        }
    }
}

/// A training module's exercises, as the report's training section needs
/// them (read from the store by the caller).
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleExercises {
    /// The module's title.
    pub title: String,
    /// The study's segments it uses.
    pub segments: Vec<Key>,
    /// Per trainee (in trainee-code order; codes are not printed), their
    /// exercises in the order submitted.
    pub trainees: Vec<Vec<ExerciseFoci>>,
}

/// How often a set of units (exercises, or the panel's answers) addressed
/// each focus.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Shares {
    /// Units counted.
    pub n: usize,
    /// Per focus (indexed by [`Focus::index`]), units that addressed it.
    pub counts: [usize; 5],
}

impl Shares {
    /// The share (0–1) of a focus; 0 with no units.
    pub fn share(&self, f: Focus) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.counts[f.index()] as f64 / self.n as f64
        }
    }
    fn add(&mut self, covered: &BTreeSet<Focus>) {
        self.n += 1;
        for f in covered {
            self.counts[f.index()] += 1;
        }
    }
}

/// The shares of a list of exercises.
pub fn shares(exercises: &[ExerciseFoci], source: Source) -> Shares {
    let mut s = Shares::default();
    for e in exercises {
        s.add(&e.covered(source));
    }
    s
}

/// A trainee's profile across their exercises (in the order done).
#[derive(Debug, Clone, PartialEq)]
pub struct TraineeProfile {
    /// Shares over all exercises.
    pub all: Shares,
    /// What the first exercise addressed.
    pub first: Option<BTreeSet<Focus>>,
    /// What the last exercise addressed (only with two or more exercises).
    pub last: Option<BTreeSet<Focus>>,
}

/// A trainee's profile from their exercises in the order done.
pub fn trainee_profile(exercises: &[ExerciseFoci], source: Source) -> TraineeProfile {
    TraineeProfile {
        all: shares(exercises, source),
        first: exercises.first().map(|e| e.covered(source)),
        last: (exercises.len() >= 2).then(|| exercises[exercises.len() - 1].covered(source)),
    }
}

/// First-vs-last change of one focus across the trainees with at least two
/// exercises.
#[derive(Debug, Clone, PartialEq)]
pub struct PrePost {
    /// The focus.
    pub focus: Focus,
    /// Trainees with a first and a last exercise.
    pub pairs: usize,
    /// `[[yes→yes, yes→no], [no→yes, no→no]]` (first → last).
    pub table: [[u64; 2]; 2],
    /// McNemar's test of the table (None without pairs).
    pub test: Option<McNemar>,
}

impl PrePost {
    /// Share addressing the focus in the first exercises.
    pub fn first_share(&self) -> f64 {
        if self.pairs == 0 {
            0.0
        } else {
            (self.table[0][0] + self.table[0][1]) as f64 / self.pairs as f64
        }
    }
    /// Share addressing the focus in the last exercises.
    pub fn last_share(&self) -> f64 {
        if self.pairs == 0 {
            0.0
        } else {
            (self.table[0][0] + self.table[1][0]) as f64 / self.pairs as f64
        }
    }
}

/// First-vs-last change per focus over the trainees (each a list of
/// exercises in the order done); a trainee with fewer than two exercises is
/// not paired and not counted.
pub fn pre_post(trainees: &[Vec<ExerciseFoci>], source: Source) -> Vec<PrePost> {
    Focus::ALL
        .into_iter()
        .map(|focus| {
            let mut table = [[0u64; 2]; 2];
            let mut pairs = 0;
            for ex in trainees.iter().filter(|e| e.len() >= 2) {
                let first = ex[0].covered(source).contains(&focus);
                let last = ex[ex.len() - 1].covered(source).contains(&focus);
                table[usize::from(!first)][usize::from(!last)] += 1;
                pairs += 1;
            }
            PrePost {
                focus,
                pairs,
                table,
                test: (pairs > 0).then(|| mcnemar(table)),
            }
        })
        .collect()
}

/// The panel's shares over a set of segments: one unit per participant ×
/// segment answered, addressing a focus when any of those answers carries
/// a theme of that focus in `layer`.
pub fn panel_shares(study: &StudyData, segments: &[Key], layer: &str) -> Shares {
    let wanted: BTreeSet<&Key> = segments.iter().collect();
    let mut units: BTreeMap<(&Key, &Key), BTreeSet<Focus>> = BTreeMap::new();
    for r in &study.responses {
        if let Some(s) = r.key.segment.as_ref().filter(|s| wanted.contains(s)) {
            units.entry((&r.key.participant, s)).or_default();
        }
    }
    for c in study.codings.iter().filter(|c| c.coder.as_str() == layer) {
        let Some(s) = c.response.segment.as_ref() else {
            continue;
        };
        if let (Some(f), Some(set)) = (
            Focus::of_code(&c.code),
            units.get_mut(&(&c.response.participant, s)),
        ) {
            set.insert(f);
        }
    }
    let mut out = Shares::default();
    for covered in units.values() {
        out.add(covered);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn cp(s: &str) -> CodePath {
        CodePath::parse(s).unwrap()
    }
    fn k(s: &str) -> Key {
        Key::parse(s).unwrap()
    }
    fn set(f: &[Focus]) -> BTreeSet<Focus> {
        f.iter().copied().collect()
    }

    #[test]
    fn foci_are_recognised_in_english_and_turkish_schemes() {
        assert_eq!(
            Focus::of_code(&cp("Cause/Patient/Resistance")),
            Some(Focus::Patient)
        );
        assert_eq!(
            Focus::of_code(&cp("Cause/Therapist")),
            Some(Focus::Therapist)
        );
        assert_eq!(
            Focus::of_code(&cp("Cause/Relationship/Enactment")),
            Some(Focus::Relationship)
        );
        assert_eq!(
            Focus::of_code(&cp("Resolution/Technical/Clarify")),
            Some(Focus::Technical)
        );
        assert_eq!(
            Focus::of_code(&cp("Resolution/Relational")),
            Some(Focus::Relational)
        );
        assert_eq!(Focus::of_code(&cp("Neden/Danisan")), Some(Focus::Patient));
        assert_eq!(
            Focus::of_code(&cp("Neden/Iliski")),
            Some(Focus::Relationship)
        );
        assert_eq!(
            Focus::of_code(&cp("Onarim/Iliskisel")),
            Some(Focus::Relational)
        );
        assert_eq!(Focus::of_code(&cp("Onarim/Teknik")), Some(Focus::Technical));
        // A category alone, or another scheme, has no focus.
        assert_eq!(Focus::of_code(&cp("Cause")), None);
        assert_eq!(Focus::of_code(&cp("Marker/Withdrawal")), None);
        // "Relational" under a cause is the relationship, not a resolution.
        assert_eq!(
            Focus::of_code(&cp("Cause/Relational")),
            Some(Focus::Relationship)
        );
    }

    #[test]
    fn a_patient_only_cause_answer_gets_the_therapist_part_prompt() {
        let both = Asked {
            cause: true,
            resolution: true,
        };
        let p = choose_prompts(&set(&[Focus::Patient, Focus::Technical]), both);
        assert_eq!(
            p,
            vec![PromptKind::TherapistPart, PromptKind::RelationalRepair]
        );
        let p = choose_prompts(&set(&[Focus::Patient, Focus::Relational]), both);
        assert_eq!(
            p,
            vec![PromptKind::TherapistPart, PromptKind::TechnicalRepair]
        );
        // Nothing named at all: the therapist's part first, then relational repair.
        let p = choose_prompts(&set(&[]), both);
        assert_eq!(
            p,
            vec![PromptKind::TherapistPart, PromptKind::RelationalRepair]
        );
        // The relationship named counts as more than the patient alone.
        let p = choose_prompts(&set(&[Focus::Relationship, Focus::Relational]), both);
        assert_eq!(p, vec![PromptKind::TechnicalRepair]);
        // Only the therapist: what the patient brings.
        let p = choose_prompts(
            &set(&[Focus::Therapist, Focus::Technical, Focus::Relational]),
            both,
        );
        assert_eq!(p, vec![PromptKind::PatientPart]);
        // Everything: integration.
        let p = choose_prompts(&set(&Focus::ALL), both);
        assert_eq!(p, vec![PromptKind::Integration]);
        // A module that asks only for causes never prompts about repair.
        let cause_only = Asked {
            cause: true,
            resolution: false,
        };
        assert_eq!(
            choose_prompts(&set(&[Focus::Therapist, Focus::Patient]), cause_only),
            vec![PromptKind::Integration]
        );
    }

    #[test]
    fn starter_prompts_exist_in_both_languages() {
        for lang in [Language::En, Language::Tr] {
            let p = starter_prompts(lang);
            assert_eq!(p.len(), PromptKind::ALL.len(), "{lang:?}");
            assert!(p.values().all(|t| t.len() > 40));
        }
        assert!(
            starter_prompts(Language::En)[&PromptKind::TherapistPart].contains("metacommunication")
        );
        assert!(starter_prompts(Language::Tr)[&PromptKind::TherapistPart].contains("üst-iletişim"));
    }

    /// Four participants, two orientations, one segment; consensus codings.
    fn panel() -> StudyData {
        let mut s = StudyData::new(k("t"), "T");
        s.attributes.push(AttributeDef {
            name: k("orientation"),
            label: "Orientation".into(),
            kind: AttributeType::Category {
                values: vec!["Psychodynamic".into(), "CBT".into()],
            },
            required: false,
            bands: Vec::new(),
        });
        for (code, name) in [
            ("Cause", "Cause"),
            ("Cause/Patient", "Patient"),
            ("Cause/Therapist", "Therapist"),
            ("Resolution", "Resolution"),
            ("Resolution/Relational", "Relational"),
        ] {
            s.codes.push(Code {
                path: cp(code),
                name: name.into(),
                codable: true,
                definition: None,
                inclusion: None,
                exclusion: None,
                example: None,
                colour: None,
            });
        }
        let texts = [
            ("P1", "CBT", "She avoids the homework."),
            ("P2", "CBT", "He resists."),
            ("P3", "Psychodynamic", "The therapist pushed too hard."),
            ("P4", "Psychodynamic", "Both of them lost the thread."),
        ];
        for (p, o, text) in texts {
            s.participants.push(Participant {
                code: k(p),
                status: ParticipantStatus::Completed,
                order: Vec::new(),
                attributes: [("orientation".to_string(), AttrValue::Text(o.into()))].into(),
            });
            s.responses.push(Response {
                key: ResponseKey {
                    participant: k(p),
                    segment: Some(k("S1")),
                    question: k("Q1"),
                },
                answer: Answer::Text(text.into()),
                created_at: None,
                updated_at: None,
            });
        }
        s.coders.push(Coder { name: k(CONSENSUS) });
        s.coders.push(Coder { name: k("ana") });
        let mut code = |coder: &str, p: &str, c: &str, span: Option<Span>| {
            s.codings.push(Coding {
                coder: k(coder),
                response: ResponseKey {
                    participant: k(p),
                    segment: Some(k("S1")),
                    question: k("Q1"),
                },
                code: cp(c),
                span,
                memo: None,
            })
        };
        code(CONSENSUS, "P1", "Cause/Patient", None);
        code(
            CONSENSUS,
            "P2",
            "Cause/Patient",
            Some(Span { start: 3, end: 11 }),
        );
        code(CONSENSUS, "P3", "Cause/Therapist", None);
        code("ana", "P4", "Cause/Therapist", None);
        s
    }

    #[test]
    fn the_panel_profile_counts_participants_overall_and_by_orientation() {
        let s = panel();
        let p = panel_profile(&s, &k("S1"), CONSENSUS, Some("orientation"));
        let names: Vec<&str> = p.themes.iter().map(|t| t.code.as_str()).collect();
        assert_eq!(
            names,
            ["Cause/Patient", "Cause/Therapist", "Resolution/Relational"]
        );
        assert_eq!(p.overall.n, 4);
        assert_eq!(p.overall.counts, vec![2, 1, 0]);
        assert_eq!(p.overall.share(0), 0.5);
        // Category order from the attribute definition; another coder's
        // codings (P4 by ana) are not the consensus.
        let groups: Vec<(&str, usize, Vec<usize>)> = p
            .groups
            .iter()
            .map(|g| (g.label.as_str(), g.n, g.counts.clone()))
            .collect();
        assert_eq!(
            groups,
            vec![
                ("Psychodynamic", 2, vec![0, 1, 0]),
                ("CBT", 2, vec![2, 0, 0])
            ]
        );
        assert_eq!(p.themes[0].category, "Cause");
        // No grouping attribute: no groups.
        assert!(panel_profile(&s, &k("S1"), CONSENSUS, Some("nope"))
            .groups
            .is_empty());
        // Another segment: nobody answered.
        assert_eq!(panel_profile(&s, &k("S9"), CONSENSUS, None).overall.n, 0);
    }

    #[test]
    fn panel_quotes_use_spans_and_never_name_the_participant() {
        let s = panel();
        let q = panel_quotes(&s, &k("S1"), CONSENSUS, 5, 200);
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].0.as_str(), "Cause/Patient");
        // The span of P2 ("resists.") and the whole answer of P1, shortest first.
        assert_eq!(q[0].1, vec!["resists.", "She avoids the homework."]);
        assert_eq!(q[1].1, vec!["The therapist pushed too hard."]);
        let all: String = q.iter().flat_map(|x| x.1.clone()).collect();
        assert!(!all.contains("P1") && !all.contains("P2"));
        // Cut and capped.
        let q = panel_quotes(&s, &k("S1"), CONSENSUS, 1, 10);
        assert_eq!(q[0].1, vec!["resists."]);
        assert_eq!(q[1].1, vec!["The thera…"]);
    }

    fn ex(model: &[Focus], marks: &[Focus]) -> ExerciseFoci {
        ExerciseFoci {
            segment: None,
            model: set(model),
            marks: set(marks),
        }
    }

    #[test]
    fn trainee_profiles_count_each_source() {
        let exercises = vec![
            ex(&[Focus::Patient], &[Focus::Patient]),
            ex(&[Focus::Patient], &[Focus::Therapist]),
            ex(&[Focus::Therapist, Focus::Relational], &[]),
        ];
        let p = trainee_profile(&exercises, Source::Model);
        assert_eq!(p.all.n, 3);
        assert_eq!(p.all.counts, [2, 1, 0, 0, 1]);
        assert_eq!(p.first, Some(set(&[Focus::Patient])));
        assert_eq!(p.last, Some(set(&[Focus::Therapist, Focus::Relational])));
        let p = trainee_profile(&exercises, Source::Either);
        assert_eq!(p.all.counts, [2, 2, 0, 0, 1]);
        assert!((p.all.share(Focus::Therapist) - 2.0 / 3.0).abs() < 1e-12);
        let p = trainee_profile(&exercises, Source::Marks);
        assert_eq!(p.all.counts, [1, 1, 0, 0, 0]);
        // One exercise: a first but no last.
        let p = trainee_profile(&exercises[..1], Source::Model);
        assert!(p.first.is_some() && p.last.is_none());
        assert_eq!(trainee_profile(&[], Source::Model).all.n, 0);
    }

    #[test]
    fn pre_post_pairs_first_and_last_and_runs_mcnemar() {
        // Six trainees: five start without the therapist's part and name it
        // at the end, one names it throughout; a seventh with one exercise
        // is not paired.
        let mut trainees = Vec::new();
        for _ in 0..5 {
            trainees.push(vec![
                ex(&[Focus::Patient], &[]),
                ex(&[Focus::Patient], &[]),
                ex(&[Focus::Therapist], &[]),
            ]);
        }
        trainees.push(vec![
            ex(&[Focus::Therapist], &[]),
            ex(&[Focus::Therapist], &[]),
        ]);
        trainees.push(vec![ex(&[Focus::Therapist], &[])]);
        let pp = pre_post(&trainees, Source::Model);
        let t = &pp[Focus::Therapist.index()];
        assert_eq!(t.pairs, 6);
        assert_eq!(t.table, [[1, 0], [5, 0]]);
        let test = t.test.as_ref().unwrap();
        assert_eq!((test.b, test.c), (0, 5));
        // Exact two-sided binomial: 2 · 0.5^5.
        assert!((test.exact_p - 0.0625).abs() < 1e-12);
        assert!((t.first_share() - 1.0 / 6.0).abs() < 1e-12);
        assert!((t.last_share() - 1.0).abs() < 1e-12);
        let p = &pp[Focus::Patient.index()];
        assert_eq!(p.table, [[0, 5], [0, 1]]);
        // Nobody paired: no test.
        let none = pre_post(&trainees[6..], Source::Model);
        assert!(none.iter().all(|x| x.pairs == 0 && x.test.is_none()));
    }

    #[test]
    fn panel_shares_count_participant_segment_units() {
        let s = panel();
        let sh = panel_shares(&s, &[k("S1")], CONSENSUS);
        assert_eq!(sh.n, 4);
        assert_eq!(sh.counts, [2, 1, 0, 0, 0]);
        assert_eq!(panel_shares(&s, &[k("S2")], CONSENSUS).n, 0);
        let asked = asked_by_question(&s, CONSENSUS);
        assert_eq!(
            asked[&k("Q1")],
            Asked {
                cause: true,
                resolution: false
            }
        );
    }
}
