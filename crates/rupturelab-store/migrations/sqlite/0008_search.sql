-- RuptureLab schema v8 (SQLite): "code all hits" of a search as ONE undo step.
-- A batch step is one row of `coding_undo` (before NULL, after
-- '{"batch": N}') whose codings are listed here, one row each, with the
-- JSON snapshot of the coding as added. Undo removes them all, redo adds them
-- all back (and rewrites `coding_id` to the new rows). Trimming the coder's
-- log or clearing their redo stack removes the members with their step.

CREATE TABLE coding_undo_batch (
    undo_id     INTEGER NOT NULL REFERENCES coding_undo(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    coding_id   INTEGER NOT NULL,
    response_id INTEGER NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
    snapshot    TEXT NOT NULL,
    PRIMARY KEY (undo_id, position)
);
CREATE INDEX coding_undo_batch_coding ON coding_undo_batch(coding_id);
