//! Types of training mode's store calls (supervision exercises): modules
//! built from a study, trainees with private links, and their exercises,
//! which are kept apart from the study's responses.

use std::collections::BTreeMap;

use rupturelab_core::training::{ExerciseFoci, Focus, ModuleExercises, PromptKind};
use rupturelab_core::{Answer, CodePath, Key, Timestamp};

use crate::{Result, Store, StudyId};

/// A training module's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleId(pub i64);

/// A trainee's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraineeId(pub i64);

/// A trainee account's row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraineeAccountId(pub i64);

/// A trainee account: signs in at `/training` and sees every module it is
/// enrolled in. Apart from the staff users: it never reaches the console.
#[derive(Debug, Clone, PartialEq)]
pub struct TraineeAccount {
    /// Row id.
    pub id: TraineeAccountId,
    /// Login name (also the trainee's code in each module).
    pub username: String,
    /// The argon2id PHC hash of the password.
    pub password_hash: String,
}

/// What enrolling an account in a module did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enrolment {
    /// The module's trainee row of the account.
    pub trainee: TraineeId,
    /// The account.
    pub account: TraineeAccountId,
    /// Whether the account was created by this enrolment (its password is
    /// the one whose hash was passed).
    pub created: bool,
}

/// Which parts of the feedback page a module shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedbackOptions {
    /// The model's codes of the trainee's answer.
    pub model_codes: bool,
    /// The panel's distribution of causes and resolutions.
    pub panel: bool,
    /// The panel by orientation (needs `panel`).
    pub by_orientation: bool,
    /// Anonymised panel quotes per theme.
    pub quotes: bool,
    /// The reflection prompt.
    pub prompt: bool,
}

impl Default for FeedbackOptions {
    fn default() -> Self {
        FeedbackOptions {
            model_codes: true,
            panel: true,
            by_orientation: true,
            quotes: true,
            prompt: true,
        }
    }
}

/// What a supervisor fills in to create a module.
#[derive(Debug, Clone, PartialEq)]
pub struct NewModule {
    /// Title shown to trainees.
    pub title: String,
    /// The study's segments used, in exercise order.
    pub segments: Vec<Key>,
    /// The study's questions asked about each segment.
    pub questions: Vec<Key>,
    /// Which feedback to show.
    pub feedback: FeedbackOptions,
    /// Reflection prompt texts by kind.
    pub prompts: BTreeMap<PromptKind, String>,
}

/// A stored module.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingModule {
    /// Row id.
    pub id: ModuleId,
    /// The study it draws on.
    pub study_id: StudyId,
    /// Title, segments, questions, feedback and prompts.
    pub spec: NewModule,
    /// When created.
    pub created_at: Timestamp,
}

/// A trainee as their link finds them.
#[derive(Debug, Clone, PartialEq)]
pub struct TraineeRecord {
    /// Row id.
    pub id: TraineeId,
    /// Their module.
    pub module_id: ModuleId,
    /// The module's study.
    pub study_id: StudyId,
    /// Pseudonymous code chosen by the supervisor (an account's user name).
    pub code: String,
    /// The account, when the trainee signs in rather than using a link.
    pub account: Option<TraineeAccountId>,
}

/// One line of the supervisor's trainee list.
#[derive(Debug, Clone, PartialEq)]
pub struct TraineeOverview {
    /// Row id.
    pub id: TraineeId,
    /// Code.
    pub code: String,
    /// Whether a link is active.
    pub active_link: bool,
    /// Links ever issued.
    pub links_issued: i64,
    /// Whether the trainee is an account (signs in) rather than a link.
    pub account: bool,
    /// Exercises submitted.
    pub exercises: i64,
}

/// A code the model gave an answer, with its probability.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoCode {
    /// The code.
    pub code: CodePath,
    /// The model's probability.
    pub confidence: f64,
}

/// One answer of an exercise.
#[derive(Debug, Clone, PartialEq)]
pub struct ExerciseAnswer {
    /// The study question.
    pub question: Key,
    /// The answer.
    pub answer: Answer,
    /// Codes proposed by the model (open answers only).
    pub auto_codes: Vec<AutoCode>,
}

/// A trainee's submitted answers about one segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Exercise {
    /// The segment.
    pub segment: Key,
    /// The answers.
    pub answers: Vec<ExerciseAnswer>,
    /// What the trainee said their answer addressed.
    pub marks: Vec<Focus>,
    /// When submitted.
    pub submitted_at: Timestamp,
}

impl Exercise {
    /// What the exercise addressed: by the model's codes and by the
    /// trainee's own marks.
    pub fn foci(&self) -> ExerciseFoci {
        ExerciseFoci {
            segment: Some(self.segment.clone()),
            model: self
                .answers
                .iter()
                .flat_map(|a| a.auto_codes.iter())
                .filter_map(|c| Focus::of_code(&c.code))
                .collect(),
            marks: self.marks.iter().copied().collect(),
        }
    }
}

/// A module's exercises by trainee code (codes in order, each trainee's
/// exercises in the order submitted).
pub async fn exercises_by_trainee(
    store: &dyn Store,
    module: ModuleId,
) -> Result<BTreeMap<String, Vec<ExerciseFoci>>> {
    let mut map: BTreeMap<String, Vec<ExerciseFoci>> = BTreeMap::new();
    for (code, e) in store.module_exercises(module).await? {
        map.entry(code).or_default().push(e.foci());
    }
    Ok(map)
}

/// Every training module of a study with its exercises, for the report.
pub async fn study_training(store: &dyn Store, study: StudyId) -> Result<Vec<ModuleExercises>> {
    let mut out = Vec::new();
    for m in store.training_modules(study).await? {
        let trainees = exercises_by_trainee(store, m.id)
            .await?
            .into_values()
            .collect();
        out.push(ModuleExercises {
            title: m.spec.title,
            segments: m.spec.segments,
            trainees,
        });
    }
    Ok(out)
}
