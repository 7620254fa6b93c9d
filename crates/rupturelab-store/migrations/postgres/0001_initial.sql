-- RuptureLab schema v1 (PostgreSQL). Timestamps are i64 epoch milliseconds.
-- Mirrors migrations/sqlite/0001_initial.sql column for column (a test compares the
-- version lists): ids are BIGSERIAL/BIGINT, flags BOOLEAN (SQLite stores 0/1),
-- REAL is DOUBLE PRECISION. The stored values are the same on both backends.
-- Every table hangs off a study; deleting a study deletes all its rows.

CREATE TABLE studies (
    id            BIGSERIAL PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL,
    language      TEXT NOT NULL,
    synthetic     BOOLEAN NOT NULL,
    presentation_order TEXT NOT NULL,
    agreement     BOOLEAN NOT NULL,
    agreement_threshold DOUBLE PRECISION NOT NULL,
    consent_text  TEXT,
    welcome_text  TEXT,
    thanks_text   TEXT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE attributes (
    id        BIGSERIAL PRIMARY KEY,
    study_id  BIGINT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    position  BIGINT NOT NULL,
    name      TEXT NOT NULL,
    label     TEXT NOT NULL,
    kind      TEXT NOT NULL,      -- category | integer | number | text | boolean
    spec      TEXT NOT NULL,      -- JSON: values, min, max
    bands     TEXT NOT NULL,      -- JSON array of cut points
    required  BOOLEAN NOT NULL,
    UNIQUE (study_id, name)
);

CREATE TABLE questions (
    id        BIGSERIAL PRIMARY KEY,
    study_id  BIGINT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    position  BIGINT NOT NULL,
    key       TEXT NOT NULL,
    kind      TEXT NOT NULL,      -- open | likert | choice
    scope     TEXT NOT NULL,      -- segment | once
    prompt    TEXT NOT NULL,
    spec      TEXT NOT NULL,      -- JSON: min, max, anchors, choices
    UNIQUE (study_id, key)
);

CREATE TABLE patients (
    id          BIGSERIAL PRIMARY KEY,
    study_id    BIGINT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    key         TEXT NOT NULL,
    description TEXT NOT NULL,
    UNIQUE (study_id, key)
);

CREATE TABLE segments (
    id          BIGSERIAL PRIMARY KEY,
    study_id    BIGINT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    key         TEXT NOT NULL,
    label       TEXT NOT NULL,
    patient_id  BIGINT NOT NULL REFERENCES patients(id),
    session     BIGINT,
    rupture     TEXT NOT NULL,
    media_ref   TEXT,
    media_start_ms BIGINT,
    media_end_ms   BIGINT,
    notes       TEXT,
    UNIQUE (study_id, key)
);

CREATE TABLE segment_markers (
    id          BIGSERIAL PRIMARY KEY,
    segment_id  BIGINT NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    name        TEXT NOT NULL,
    salience    BIGINT CHECK (salience BETWEEN 1 AND 5)
);

CREATE TABLE turns (
    id          BIGSERIAL PRIMARY KEY,
    segment_id  BIGINT NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    speaker     TEXT NOT NULL,
    text        TEXT NOT NULL,
    start_ms    BIGINT,
    end_ms      BIGINT
);
CREATE INDEX turns_segment ON turns(segment_id, position);

CREATE TABLE participants (
    id          BIGSERIAL PRIMARY KEY,
    study_id    BIGINT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    code        TEXT NOT NULL,
    status      TEXT NOT NULL,
    UNIQUE (study_id, code)
);

CREATE TABLE participant_attributes (
    participant_id BIGINT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    attribute_id   BIGINT NOT NULL REFERENCES attributes(id) ON DELETE CASCADE,
    value          TEXT NOT NULL,
    PRIMARY KEY (participant_id, attribute_id)
);

CREATE TABLE presentation_orders (
    participant_id BIGINT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    position       BIGINT NOT NULL,
    segment_id     BIGINT NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    PRIMARY KEY (participant_id, position)
);

CREATE TABLE responses (
    id             BIGSERIAL PRIMARY KEY,
    study_id       BIGINT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    participant_id BIGINT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    segment_id     BIGINT REFERENCES segments(id) ON DELETE CASCADE,
    question_id    BIGINT NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    text           TEXT,
    value          TEXT,
    created_at     BIGINT,
    updated_at     BIGINT
);
-- One response per participant × segment × question (segment NULL for once-questions).
CREATE UNIQUE INDEX responses_key ON responses(participant_id, COALESCE(segment_id, 0), question_id);
CREATE INDEX responses_study ON responses(study_id);

CREATE TABLE codes (
    id          BIGSERIAL PRIMARY KEY,
    study_id    BIGINT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    parent_id   BIGINT REFERENCES codes(id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    path        TEXT NOT NULL,
    name        TEXT NOT NULL,
    codable     BOOLEAN NOT NULL,
    definition  TEXT,
    inclusion   TEXT,
    exclusion   TEXT,
    example     TEXT,
    colour      TEXT,
    UNIQUE (study_id, path)
);

CREATE TABLE coders (
    id        BIGSERIAL PRIMARY KEY,
    study_id  BIGINT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    position  BIGINT NOT NULL,
    name      TEXT NOT NULL,
    UNIQUE (study_id, name)
);

CREATE TABLE codings (
    id          BIGSERIAL PRIMARY KEY,
    study_id    BIGINT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    response_id BIGINT NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
    code_id     BIGINT NOT NULL REFERENCES codes(id) ON DELETE CASCADE,
    coder_id    BIGINT NOT NULL REFERENCES coders(id) ON DELETE CASCADE,
    span_start  BIGINT,       -- code points, NULL = whole response
    span_end    BIGINT,
    memo        TEXT,
    version     BIGINT NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    CHECK ((span_start IS NULL) = (span_end IS NULL)),
    CHECK (span_start IS NULL OR (span_start >= 0 AND span_end > span_start))
);
CREATE INDEX codings_response ON codings(response_id);
CREATE INDEX codings_study ON codings(study_id, coder_id);

CREATE TABLE memos (
    id          BIGSERIAL PRIMARY KEY,
    study_id    BIGINT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    author      TEXT NOT NULL,
    target_kind TEXT NOT NULL,   -- study | response | code
    response_id BIGINT REFERENCES responses(id) ON DELETE CASCADE,
    code_id     BIGINT REFERENCES codes(id) ON DELETE CASCADE,
    text        TEXT NOT NULL,
    created_at  BIGINT
);

CREATE TABLE audit_events (
    id        BIGSERIAL PRIMARY KEY,
    study_id  BIGINT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX audit_study ON audit_events(study_id, at);
