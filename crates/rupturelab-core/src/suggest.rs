//! Assisted coding: per-code text classifiers trained on a study's consensus
//! codings, their participant-grouped cross-validation, and suggestions.
//!
//! Features are binary word and stem presences (plus stem bigrams) from the
//! study language's analyser (Turkish case folding and the Snowball stemmer
//! for Turkish; Snowball English otherwise). The model is an L2-regularised,
//! class-balanced logistic regression fitted by full-batch gradient descent from zero, so it
//! is deterministic: the same study, options and seed give the same numbers.
//!
//! A code is modelled on the responses to the questions where the consensus
//! layer has used it (a resolution code is not judged on cause answers), and
//! only when it has at least `min_positive` positive and negative examples.

use std::collections::{BTreeSet, HashMap};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rust_stemmers::{Algorithm, Stemmer};

use crate::agreement::{cohen_kappa, Coefficient, ContingencyTable, Weights};
use crate::keys::{CodePath, Key};
use crate::model::{Language, ResponseKey, StudyData, CONSENSUS};
use crate::text::fold_case;

/// Options of training and evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct SuggestOptions {
    /// Layer whose codings are the truth (normally `consensus`).
    pub layer: String,
    /// Codebook depth of the modelled codes (2 = themes, 3 = sub-themes).
    pub depth: usize,
    /// Fewest positive (and negative) examples a code needs to be modelled.
    pub min_positive: usize,
    /// Number of cross-validation folds.
    pub folds: usize,
    /// Seed of the fold assignment.
    pub seed: u64,
    /// A response is suggested a code when the model's probability is at least this.
    pub threshold: f64,
}

impl Default for SuggestOptions {
    fn default() -> Self {
        SuggestOptions {
            layer: CONSENSUS.into(),
            depth: 2,
            min_positive: 8,
            folds: 5,
            seed: 20161127,
            threshold: 0.5,
        }
    }
}

/// Turns text into features with the study language's analyser.
pub struct Analyzer {
    language: Language,
    stemmer: Stemmer,
}

impl Analyzer {
    /// The analyser of a language.
    pub fn new(language: Language) -> Self {
        let algo = match language {
            Language::Tr => Algorithm::Turkish,
            Language::En => Algorithm::English,
        };
        Analyzer {
            language,
            stemmer: Stemmer::create(algo),
        }
    }

    /// Lower-cased word tokens (letters, digits and apostrophes inside words).
    pub fn tokens(&self, text: &str) -> Vec<String> {
        fold_case(text, self.language)
            .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
            .map(|t| t.trim_matches(|c| c == '\'' || c == '’'))
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The feature set of a text: `w:word`, `s:stem` and `b:stem_stem` (adjacent stems).
    pub fn features(&self, text: &str) -> BTreeSet<String> {
        let tokens = self.tokens(text);
        let stems: Vec<String> = tokens
            .iter()
            .map(|t| self.stemmer.stem(t).into_owned())
            .collect();
        let mut out = BTreeSet::new();
        for t in &tokens {
            out.insert(format!("w:{t}"));
        }
        for s in &stems {
            out.insert(format!("s:{s}"));
        }
        for w in stems.windows(2) {
            out.insert(format!("b:{}_{}", w[0], w[1]));
        }
        out
    }
}

/// One example: a response's feature ids and whether it carries the code.
#[derive(Debug, Clone)]
struct Example {
    features: Vec<u32>,
    label: bool,
}

/// A fitted logistic regression over binary features.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    weights: Vec<f64>,
    bias: f64,
}

impl Model {
    fn fit(examples: &[Example], n_features: usize) -> Model {
        let n = examples.len().max(1) as f64;
        let (l2, rate, epochs) = (1e-2, 0.5, 300);
        let mut w = vec![0.0; n_features];
        let positives = examples.iter().filter(|e| e.label).count() as f64;
        // Balanced class weights: a rare code counts as much as its absence, so
        // the model does not learn to always say "absent".
        let w_pos = n / (2.0 * positives.max(1.0));
        let w_neg = n / (2.0 * (n - positives).max(1.0));
        let mut b = 0.0;
        let mut grad = vec![0.0; n_features];
        for _ in 0..epochs {
            grad.iter_mut().for_each(|g| *g = 0.0);
            let mut gb = 0.0;
            for e in examples {
                let z = b + e.features.iter().map(|&f| w[f as usize]).sum::<f64>();
                let err = if e.label {
                    (sigmoid(z) - 1.0) * w_pos
                } else {
                    sigmoid(z) * w_neg
                };
                gb += err;
                for &f in &e.features {
                    grad[f as usize] += err;
                }
            }
            for (wi, gi) in w.iter_mut().zip(&grad) {
                *wi -= rate * (gi / n + l2 * *wi);
            }
            b -= rate * gb / n;
        }
        Model {
            weights: w,
            bias: b,
        }
    }

    fn probability(&self, features: &[u32]) -> f64 {
        sigmoid(
            self.bias
                + features
                    .iter()
                    .filter_map(|&f| self.weights.get(f as usize))
                    .sum::<f64>(),
        )
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The data of one modelled code.
struct CodeData {
    code: CodePath,
    name: String,
    /// Response indices (into `Corpus::responses`) in this code's scope.
    scope: Vec<usize>,
    /// Whether each scoped response carries the code.
    labels: Vec<bool>,
}

/// The study's open responses as feature ids, with participants.
struct Corpus {
    responses: Vec<ResponseKey>,
    features: Vec<Vec<u32>>,
    vocabulary: HashMap<String, u32>,
}

fn corpus(study: &StudyData) -> Corpus {
    let analyzer = Analyzer::new(study.meta.language);
    let mut vocabulary = HashMap::new();
    let mut responses = Vec::new();
    let mut features = Vec::new();
    for r in &study.responses {
        let Some(text) = r.answer.text() else {
            continue;
        };
        let ids = analyzer
            .features(text)
            .into_iter()
            .map(|f| {
                let next = vocabulary.len() as u32;
                *vocabulary.entry(f).or_insert(next)
            })
            .collect();
        responses.push(r.key.clone());
        features.push(ids);
    }
    Corpus {
        responses,
        features,
        vocabulary,
    }
}

/// Why a code was not modelled, or its cross-validated quality.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeEvaluation {
    /// The code.
    pub code: CodePath,
    /// Its name.
    pub name: String,
    /// Responses in scope (answers to the questions where the code is used).
    pub responses: usize,
    /// Of those, how many carry the code in the layer.
    pub positives: usize,
    /// Cross-validated figures, or why there are none.
    pub result: Result<Metrics, String>,
}

/// Out-of-fold quality of a code's model against the layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    /// True positives, false positives, false negatives, true negatives.
    pub confusion: [usize; 4],
    /// tp / (tp + fp); `None` when nothing was predicted.
    pub precision: Option<f64>,
    /// tp / (tp + fn).
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: Option<f64>,
    /// Cohen's κ between the model and the layer (unit: response in scope × code presence).
    pub kappa: Coefficient,
}

/// The whole evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Options used.
    pub options: SuggestOptions,
    /// Participants in each fold (participant-grouped folds).
    pub folds: Vec<Vec<Key>>,
    /// One entry per code at the chosen depth.
    pub codes: Vec<CodeEvaluation>,
}

fn code_data(study: &StudyData, corpus: &Corpus, opts: &SuggestOptions) -> Vec<CodeData> {
    let layer: Vec<_> = study
        .codings
        .iter()
        .filter(|c| c.coder.as_str() == opts.layer)
        .collect();
    let index: HashMap<&ResponseKey, usize> = corpus
        .responses
        .iter()
        .enumerate()
        .map(|(i, k)| (k, i))
        .collect();
    let mut out = Vec::new();
    for code in study.codes.iter().filter(|c| c.path.depth() == opts.depth) {
        let hits: BTreeSet<usize> = layer
            .iter()
            .filter(|c| c.code.is_within(&code.path))
            .filter_map(|c| index.get(&c.response).copied())
            .collect();
        let questions: BTreeSet<&Key> = hits
            .iter()
            .map(|&i| &corpus.responses[i].question)
            .collect();
        let scope: Vec<usize> = (0..corpus.responses.len())
            .filter(|&i| questions.contains(&corpus.responses[i].question))
            .collect();
        let labels = scope.iter().map(|i| hits.contains(i)).collect();
        out.push(CodeData {
            code: code.path.clone(),
            name: code.name.clone(),
            scope,
            labels,
        });
    }
    out
}

/// Participant-grouped folds: every participant's answers are in exactly one fold.
pub fn participant_folds(study: &StudyData, folds: usize, seed: u64) -> Vec<Vec<Key>> {
    let mut participants: Vec<Key> = study
        .responses
        .iter()
        .map(|r| r.key.participant.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    participants.shuffle(&mut StdRng::seed_from_u64(seed));
    let k = folds.clamp(2, participants.len().max(2));
    let mut out = vec![Vec::new(); k];
    for (i, p) in participants.into_iter().enumerate() {
        out[i % k].push(p);
    }
    out.retain(|f| !f.is_empty());
    out
}

/// Cross-validates a classifier for every code at the chosen depth.
pub fn evaluate(study: &StudyData, opts: &SuggestOptions) -> Evaluation {
    let corpus = corpus(study);
    let folds = participant_folds(study, opts.folds, opts.seed);
    let fold_of: HashMap<&Key, usize> = folds
        .iter()
        .enumerate()
        .flat_map(|(i, f)| f.iter().map(move |p| (p, i)))
        .collect();
    let mut codes = Vec::new();
    for cd in code_data(study, &corpus, opts) {
        let positives = cd.labels.iter().filter(|l| **l).count();
        let negatives = cd.labels.len() - positives;
        let result = if positives < opts.min_positive || negatives < opts.min_positive {
            Err(format!(
                "too few examples to model ({positives} with the code, {negatives} without; {} of each needed)",
                opts.min_positive
            ))
        } else {
            let mut predicted = vec![false; cd.scope.len()];
            for f in 0..folds.len() {
                let in_fold =
                    |i: usize| fold_of.get(&corpus.responses[cd.scope[i]].participant) == Some(&f);
                let train: Vec<Example> = (0..cd.scope.len())
                    .filter(|&i| !in_fold(i))
                    .map(|i| Example {
                        features: corpus.features[cd.scope[i]].clone(),
                        label: cd.labels[i],
                    })
                    .collect();
                let model = Model::fit(&train, corpus.vocabulary.len());
                for (i, p) in predicted.iter_mut().enumerate() {
                    if in_fold(i) {
                        *p = model.probability(&corpus.features[cd.scope[i]]) >= opts.threshold;
                    }
                }
            }
            Ok(metrics(&predicted, &cd.labels))
        };
        codes.push(CodeEvaluation {
            code: cd.code,
            name: cd.name,
            responses: cd.scope.len(),
            positives,
            result,
        });
    }
    Evaluation {
        options: opts.clone(),
        folds,
        codes,
    }
}

fn metrics(predicted: &[bool], truth: &[bool]) -> Metrics {
    let mut c = [0usize; 4];
    for (p, t) in predicted.iter().zip(truth) {
        c[match (p, t) {
            (true, true) => 0,
            (true, false) => 1,
            (false, true) => 2,
            (false, false) => 3,
        }] += 1;
    }
    let [tp, fp, fn_, tn] = c;
    let precision = (tp + fp > 0).then(|| tp as f64 / (tp + fp) as f64);
    let recall = if tp + fn_ > 0 {
        tp as f64 / (tp + fn_) as f64
    } else {
        0.0
    };
    let f1 = precision.and_then(|p| (p + recall > 0.0).then(|| 2.0 * p * recall / (p + recall)));
    // Rows: model (present, absent); columns: layer (present, absent).
    let kappa =
        ContingencyTable::from_counts(&[vec![tp as u64, fp as u64], vec![fn_ as u64, tn as u64]])
            .and_then(|t| cohen_kappa(&t, Weights::Unweighted, 0.95))
            .map(|k| k.kappa)
            .unwrap_or(Coefficient::Undefined(
                crate::agreement::Undefined::NoVariation,
            ));
    Metrics {
        confusion: c,
        precision,
        recall,
        f1,
        kappa,
    }
}

/// A proposed code for a response, with the model's probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// The code.
    pub code: CodePath,
    /// Its name.
    pub name: String,
    /// The model's probability that the response expresses it.
    pub confidence: f64,
}

/// Models for every code with enough examples, trained on the whole layer.
pub struct Suggester {
    analyzer: Analyzer,
    vocabulary: HashMap<String, u32>,
    models: Vec<(CodePath, String, BTreeSet<Key>, Model)>,
    threshold: f64,
}

impl Suggester {
    /// Trains one model per code with enough examples.
    pub fn train(study: &StudyData, opts: &SuggestOptions) -> Suggester {
        let corpus = corpus(study);
        let mut models = Vec::new();
        for cd in code_data(study, &corpus, opts) {
            let positives = cd.labels.iter().filter(|l| **l).count();
            if positives < opts.min_positive || cd.labels.len() - positives < opts.min_positive {
                continue;
            }
            let examples: Vec<Example> = cd
                .scope
                .iter()
                .zip(&cd.labels)
                .map(|(&i, &label)| Example {
                    features: corpus.features[i].clone(),
                    label,
                })
                .collect();
            let questions = cd
                .scope
                .iter()
                .map(|&i| corpus.responses[i].question.clone())
                .collect();
            models.push((
                cd.code,
                cd.name,
                questions,
                Model::fit(&examples, corpus.vocabulary.len()),
            ));
        }
        Suggester {
            analyzer: Analyzer::new(study.meta.language),
            vocabulary: corpus.vocabulary,
            models,
            threshold: opts.threshold,
        }
    }

    /// The codes modelled.
    pub fn codes(&self) -> Vec<&CodePath> {
        self.models.iter().map(|m| &m.0).collect()
    }

    /// Codes suggested for a text answering `question`, most confident first.
    pub fn suggest(&self, question: &Key, text: &str) -> Vec<Suggestion> {
        let features: Vec<u32> = self
            .analyzer
            .features(text)
            .iter()
            .filter_map(|f| self.vocabulary.get(f).copied())
            .collect();
        let mut out: Vec<Suggestion> = self
            .models
            .iter()
            .filter(|(_, _, qs, _)| qs.contains(question))
            .map(|(code, name, _, m)| Suggestion {
                code: code.clone(),
                name: name.clone(),
                confidence: m.probability(&features),
            })
            .filter(|s| s.confidence >= self.threshold)
            .collect();
        out.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then(a.code.cmp(&b.code))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    /// A corpus where the answer is known: "avoid…" words mean Cause/Patient,
    /// "therapist pushed…" means Cause/Therapist.
    fn synthetic() -> StudyData {
        let mut s = StudyData::new(Key::parse("syn").unwrap(), "synthetic");
        s.questions.push(Question {
            key: Key::parse("Q1").unwrap(),
            kind: QuestionKind::Open,
            scope: QuestionScope::Once,
            prompt: "?".into(),
        });
        for (path, name) in [
            ("Cause", "Cause"),
            ("Cause/Patient", "Patient"),
            ("Cause/Therapist", "Therapist"),
        ] {
            s.codes.push(Code {
                path: CodePath::parse(path).unwrap(),
                name: name.into(),
                codable: true,
                definition: None,
                inclusion: None,
                exclusion: None,
                example: None,
                colour: None,
            });
        }
        let patient = [
            "She avoids the topic again",
            "He is avoiding the homework",
            "avoidance as usual, she withdraws",
            "The patient avoids feelings",
        ];
        let therapist = [
            "The therapist pushed too hard",
            "Therapist pushed the agenda",
            "the therapist was pushing her",
            "Pushy therapist, missed it",
        ];
        let neither = [
            "Hard to say from a transcript",
            "Not sure what happened",
            "It was a quiet session",
            "Nothing notable here",
        ];
        for i in 0..40 {
            let code = Key::parse(&format!("P{i:02}")).unwrap();
            s.participants.push(Participant {
                code: code.clone(),
                status: ParticipantStatus::Completed,
                order: vec![],
                attributes: Default::default(),
            });
            let (text, label) = match i % 3 {
                0 => (patient[i % 4], Some("Cause/Patient")),
                1 => (therapist[i % 4], Some("Cause/Therapist")),
                _ => (neither[i % 4], None),
            };
            let key = ResponseKey {
                participant: code,
                segment: None,
                question: Key::parse("Q1").unwrap(),
            };
            s.responses.push(Response {
                key: key.clone(),
                answer: Answer::Text(text.into()),
                created_at: None,
                updated_at: None,
            });
            if let Some(l) = label {
                s.codings.push(Coding {
                    coder: Key::parse(CONSENSUS).unwrap(),
                    response: key,
                    code: CodePath::parse(l).unwrap(),
                    span: None,
                    memo: None,
                });
            }
        }
        s.coders.push(Coder {
            name: Key::parse(CONSENSUS).unwrap(),
        });
        s
    }

    #[test]
    fn classifier_learns_a_corpus_whose_answer_is_known() {
        let s = synthetic();
        let e = evaluate(&s, &SuggestOptions::default());
        for c in &e.codes {
            let m = c.result.as_ref().unwrap();
            assert!(m.f1.unwrap() > 0.9, "{}: {m:?}", c.code);
            assert!(m.kappa.value().unwrap() > 0.85, "{}: {m:?}", c.code);
        }
        let sg = Suggester::train(&s, &SuggestOptions::default());
        let q = Key::parse("Q1").unwrap();
        assert_eq!(
            sg.suggest(&q, "He avoids it")[0].code.as_str(),
            "Cause/Patient"
        );
        assert_eq!(
            sg.suggest(&q, "the therapist pushed")[0].code.as_str(),
            "Cause/Therapist"
        );
        assert!(sg.suggest(&q, "quiet, hard to say").is_empty());
    }

    #[test]
    fn folds_never_split_a_participant_and_cover_everyone() {
        let mut s = synthetic();
        // Give every participant a second answer to a second question.
        s.questions.push(Question {
            key: Key::parse("Q2").unwrap(),
            kind: QuestionKind::Open,
            scope: QuestionScope::Once,
            prompt: "?".into(),
        });
        let extra: Vec<Response> = s
            .responses
            .iter()
            .map(|r| Response {
                key: ResponseKey {
                    question: Key::parse("Q2").unwrap(),
                    ..r.key.clone()
                },
                ..r.clone()
            })
            .collect();
        s.responses.extend(extra);
        let folds = participant_folds(&s, 5, 7);
        assert_eq!(folds.len(), 5);
        let all: Vec<&Key> = folds.iter().flatten().collect();
        assert_eq!(all.len(), 40);
        assert_eq!(
            all.iter().collect::<BTreeSet<_>>().len(),
            40,
            "a participant appears in two folds"
        );
    }

    #[test]
    fn evaluation_is_deterministic_for_a_seed_and_reports_thin_codes() {
        let s = synthetic();
        let a = evaluate(&s, &SuggestOptions::default());
        let b = evaluate(&s, &SuggestOptions::default());
        assert_eq!(a, b);
        let thin = evaluate(
            &s,
            &SuggestOptions {
                min_positive: 100,
                ..SuggestOptions::default()
            },
        );
        assert!(thin.codes.iter().all(|c| c
            .result
            .as_ref()
            .unwrap_err()
            .contains("too few examples")));
    }

    #[test]
    fn turkish_analyser_folds_and_stems() {
        let a = Analyzer::new(Language::Tr);
        let f = a.features("IŞIK danışanlar");
        assert!(f.contains("w:ışık"));
        assert!(f.contains("w:danışanlar"));
        assert!(f.iter().any(|x| x.starts_with("s:danışan")), "{f:?}");
    }
}
