-- RuptureLab schema v1 (SQLite). Timestamps are i64 epoch milliseconds.
-- Every table hangs off a study; deleting a study deletes all its rows.

CREATE TABLE studies (
    id            INTEGER PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL,
    language      TEXT NOT NULL,
    synthetic     INTEGER NOT NULL,
    presentation_order TEXT NOT NULL,
    agreement     INTEGER NOT NULL,
    agreement_threshold REAL NOT NULL,
    consent_text  TEXT,
    welcome_text  TEXT,
    thanks_text   TEXT,
    created_at    INTEGER NOT NULL
);

CREATE TABLE attributes (
    id        INTEGER PRIMARY KEY,
    study_id  INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    name      TEXT NOT NULL,
    label     TEXT NOT NULL,
    kind      TEXT NOT NULL,      -- category | integer | number | text | boolean
    spec      TEXT NOT NULL,      -- JSON: values, min, max
    bands     TEXT NOT NULL,      -- JSON array of cut points
    required  INTEGER NOT NULL,
    UNIQUE (study_id, name)
);

CREATE TABLE questions (
    id        INTEGER PRIMARY KEY,
    study_id  INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    key       TEXT NOT NULL,
    kind      TEXT NOT NULL,      -- open | likert | choice
    scope     TEXT NOT NULL,      -- segment | once
    prompt    TEXT NOT NULL,
    spec      TEXT NOT NULL,      -- JSON: min, max, anchors, choices
    UNIQUE (study_id, key)
);

CREATE TABLE patients (
    id          INTEGER PRIMARY KEY,
    study_id    INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    key         TEXT NOT NULL,
    description TEXT NOT NULL,
    UNIQUE (study_id, key)
);

CREATE TABLE segments (
    id          INTEGER PRIMARY KEY,
    study_id    INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    key         TEXT NOT NULL,
    label       TEXT NOT NULL,
    patient_id  INTEGER NOT NULL REFERENCES patients(id),
    session     INTEGER,
    rupture     TEXT NOT NULL,
    media_ref   TEXT,
    media_start_ms INTEGER,
    media_end_ms   INTEGER,
    notes       TEXT,
    UNIQUE (study_id, key)
);

CREATE TABLE segment_markers (
    id          INTEGER PRIMARY KEY,
    segment_id  INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    salience    INTEGER CHECK (salience BETWEEN 1 AND 5)
);

CREATE TABLE turns (
    id          INTEGER PRIMARY KEY,
    segment_id  INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    speaker     TEXT NOT NULL,
    text        TEXT NOT NULL,
    start_ms    INTEGER,
    end_ms      INTEGER
);
CREATE INDEX turns_segment ON turns(segment_id, position);

CREATE TABLE participants (
    id          INTEGER PRIMARY KEY,
    study_id    INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    code        TEXT NOT NULL,
    status      TEXT NOT NULL,
    UNIQUE (study_id, code)
);

CREATE TABLE participant_attributes (
    participant_id INTEGER NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    attribute_id   INTEGER NOT NULL REFERENCES attributes(id) ON DELETE CASCADE,
    value          TEXT NOT NULL,
    PRIMARY KEY (participant_id, attribute_id)
);

CREATE TABLE presentation_orders (
    participant_id INTEGER NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    segment_id     INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    PRIMARY KEY (participant_id, position)
);

CREATE TABLE responses (
    id             INTEGER PRIMARY KEY,
    study_id       INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    participant_id INTEGER NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    segment_id     INTEGER REFERENCES segments(id) ON DELETE CASCADE,
    question_id    INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    text           TEXT,
    value          TEXT,
    created_at     INTEGER,
    updated_at     INTEGER
);
-- One response per participant × segment × question (segment NULL for once-questions).
CREATE UNIQUE INDEX responses_key ON responses(participant_id, COALESCE(segment_id, 0), question_id);
CREATE INDEX responses_study ON responses(study_id);

CREATE TABLE codes (
    id          INTEGER PRIMARY KEY,
    study_id    INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    parent_id   INTEGER REFERENCES codes(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    path        TEXT NOT NULL,
    name        TEXT NOT NULL,
    codable     INTEGER NOT NULL,
    definition  TEXT,
    inclusion   TEXT,
    exclusion   TEXT,
    example     TEXT,
    colour      TEXT,
    UNIQUE (study_id, path)
);

CREATE TABLE coders (
    id        INTEGER PRIMARY KEY,
    study_id  INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    name      TEXT NOT NULL,
    UNIQUE (study_id, name)
);

CREATE TABLE codings (
    id          INTEGER PRIMARY KEY,
    study_id    INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    response_id INTEGER NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
    code_id     INTEGER NOT NULL REFERENCES codes(id) ON DELETE CASCADE,
    coder_id    INTEGER NOT NULL REFERENCES coders(id) ON DELETE CASCADE,
    span_start  INTEGER,       -- code points, NULL = whole response
    span_end    INTEGER,
    memo        TEXT,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    CHECK ((span_start IS NULL) = (span_end IS NULL)),
    CHECK (span_start IS NULL OR (span_start >= 0 AND span_end > span_start))
);
CREATE INDEX codings_response ON codings(response_id);
CREATE INDEX codings_study ON codings(study_id, coder_id);

CREATE TABLE memos (
    id          INTEGER PRIMARY KEY,
    study_id    INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    author      TEXT NOT NULL,
    target_kind TEXT NOT NULL,   -- study | response | code
    response_id INTEGER REFERENCES responses(id) ON DELETE CASCADE,
    code_id     INTEGER REFERENCES codes(id) ON DELETE CASCADE,
    text        TEXT NOT NULL,
    created_at  INTEGER
);

CREATE TABLE audit_events (
    id        INTEGER PRIMARY KEY,
    study_id  INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX audit_study ON audit_events(study_id, at);
