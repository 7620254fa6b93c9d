-- RuptureLab schema v7 (SQLite): suggestions in the coding screen.
-- Mirrored in migrations/postgres/0007_suggest.sql; keep the two in step.

-- A researcher's explicit choice per study. No row (or NULL) = automatic:
-- suggestions are on unless the study is blind. TRUE/FALSE override that.
CREATE TABLE suggestion_settings (
    study_id  INTEGER PRIMARY KEY REFERENCES studies(id) ON DELETE CASCADE,
    enabled   BOOLEAN
);

-- What a coder did with a suggestion, one row per coder × response × code:
-- 'accepted' (a coding was created from it) or 'rejected' (not shown to
-- that coder on that response again). `confidence` is the model's
-- probability when the coder decided.
CREATE TABLE suggestion_decisions (
    study_id    INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    coder_id    INTEGER NOT NULL REFERENCES coders(id) ON DELETE CASCADE,
    response_id INTEGER NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
    code_id     INTEGER NOT NULL REFERENCES codes(id) ON DELETE CASCADE,
    decision    TEXT NOT NULL CHECK (decision IN ('accepted', 'rejected')),
    confidence  REAL NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (coder_id, response_id, code_id)
);
CREATE INDEX suggestion_decisions_study ON suggestion_decisions(study_id, decision);
