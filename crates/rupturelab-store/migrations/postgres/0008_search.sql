-- RuptureLab schema v8 (PostgreSQL): "code all hits" of a search as ONE undo
-- step. Twin of migrations/sqlite/0008_search.sql: a batch step is one row of
-- `coding_undo` (before NULL, after '{"batch": N}') whose codings are listed
-- here with the JSON snapshot of each coding as added.

CREATE TABLE coding_undo_batch (
    undo_id     BIGINT NOT NULL REFERENCES coding_undo(id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    coding_id   BIGINT NOT NULL,
    response_id BIGINT NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
    snapshot    TEXT NOT NULL,
    PRIMARY KEY (undo_id, position)
);
CREATE INDEX coding_undo_batch_coding ON coding_undo_batch(coding_id);
