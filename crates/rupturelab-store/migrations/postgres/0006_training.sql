-- RuptureLab schema (PostgreSQL): training mode (supervision exercises).
-- Mirrors migrations/sqlite/0006_training.sql: BIGSERIAL/BIGINT ids and times.
-- A training module belongs to a study and names some of its segments and
-- questions; trainees join by a private link (128-bit token stored only as
-- its hex SHA-256). Trainee answers live here, apart from the study's
-- `responses`, so they never enter the study's analyses or exports.
-- Timestamps are i64 epoch milliseconds.

CREATE TABLE training_modules (
    id           BIGSERIAL PRIMARY KEY,
    study_id     BIGINT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    segments     TEXT NOT NULL,   -- JSON array of segment keys, in exercise order
    questions    TEXT NOT NULL,   -- JSON array of question keys
    feedback     TEXT NOT NULL,   -- JSON object: which parts of the feedback page to show
    prompts      TEXT NOT NULL,   -- JSON object: reflection prompt kind -> text
    created_at   BIGINT NOT NULL
);
CREATE INDEX training_modules_study ON training_modules(study_id);

CREATE TABLE trainees (
    id           BIGSERIAL PRIMARY KEY,
    module_id    BIGINT NOT NULL REFERENCES training_modules(id) ON DELETE CASCADE,
    code         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (module_id, code)
);

-- One row per link ever issued; the active one has revoked_at NULL.
CREATE TABLE trainee_links (
    id           BIGSERIAL PRIMARY KEY,
    trainee_id   BIGINT NOT NULL REFERENCES trainees(id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX trainee_links_trainee ON trainee_links(trainee_id);

-- One submitted exercise: a trainee's answers about one segment, the codes
-- the model gave them, and the trainee's own marks. Locked once written.
CREATE TABLE trainee_exercises (
    id           BIGSERIAL PRIMARY KEY,
    trainee_id   BIGINT NOT NULL REFERENCES trainees(id) ON DELETE CASCADE,
    segment      TEXT NOT NULL,
    answers      TEXT NOT NULL,   -- JSON array of {question, kind, value, auto: [{code, confidence}]}
    marks        TEXT NOT NULL,   -- JSON array of focus names
    submitted_at BIGINT NOT NULL,
    UNIQUE (trainee_id, segment)
);
