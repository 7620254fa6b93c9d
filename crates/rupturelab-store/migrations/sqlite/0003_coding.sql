-- RuptureLab schema v3 (SQLite): coding in the web application.
-- Codings themselves live in `codings` (schema v1), one row per coder ×
-- response × code × span, with a `version` that every edit increments so a
-- stale edit is refused. This adds the study's coding settings (blind
-- mode), coders' assignments, each coder's undo/redo log, and what the
-- queue needs to stay fast. Timestamps are i64 epoch milliseconds.

ALTER TABLE codings ADD COLUMN updated_at INTEGER;

CREATE INDEX codings_response_coder ON codings(response_id, coder_id);

-- One row per study once a researcher changes a setting; no row = blind.
CREATE TABLE coding_settings (
    study_id  INTEGER PRIMARY KEY REFERENCES studies(id) ON DELETE CASCADE,
    blind     INTEGER NOT NULL
);

-- How a coder's responses are chosen: all, or a seeded random share
-- (the rows of `coding_assigned`). No row = all.
CREATE TABLE coder_assignments (
    coder_id  INTEGER PRIMARY KEY REFERENCES coders(id) ON DELETE CASCADE,
    mode      TEXT NOT NULL CHECK (mode IN ('all', 'share')),
    percent   REAL,
    seed      INTEGER,
    at        INTEGER NOT NULL
);

CREATE TABLE coding_assigned (
    coder_id    INTEGER NOT NULL REFERENCES coders(id) ON DELETE CASCADE,
    response_id INTEGER NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
    PRIMARY KEY (coder_id, response_id)
);

-- A coder's own coding actions, newest last, for undo and redo that
-- survive a reload. `before`/`after` are JSON snapshots of the coding row
-- (NULL before an add, after a delete); `undone` marks the redo stack.
CREATE TABLE coding_undo (
    id          INTEGER PRIMARY KEY,
    study_id    INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    coder_id    INTEGER NOT NULL REFERENCES coders(id) ON DELETE CASCADE,
    coding_id   INTEGER NOT NULL,
    response_id INTEGER NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
    before      TEXT,
    after       TEXT,
    undone      INTEGER NOT NULL DEFAULT 0,
    at          INTEGER NOT NULL
);
CREATE INDEX coding_undo_coder ON coding_undo(coder_id, id);
CREATE INDEX memos_target ON memos(study_id, target_kind, response_id, code_id);
