-- RuptureLab schema v4 (PostgreSQL): codebook editing in the web application.
-- Mirrors migrations/sqlite/0004_codebook.sql: BIGSERIAL/BIGINT ids and times.
-- Every change to a study's codebook stores a JSON snapshot of the whole
-- codebook (an array of codes in tree order), so the codebook as of any date
-- can be shown; the change itself is also an audit event. The first change
-- stores the codebook as it was before it (action `codebook.baseline`,
-- dated when the study was created). Deleted codes, with their codings and
-- memos, are kept in `codebook_deletions` so a deletion can be undone.
-- Timestamps are i64 epoch milliseconds.

CREATE TABLE codebook_versions (
    id        BIGSERIAL PRIMARY KEY,
    study_id  BIGINT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    codes     TEXT NOT NULL      -- JSON array of codes, parents before children
);
CREATE INDEX codebook_versions_study ON codebook_versions(study_id, at, id);

CREATE TABLE codebook_deletions (
    id          BIGSERIAL PRIMARY KEY,
    study_id    BIGINT NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    path        TEXT NOT NULL,
    data        TEXT NOT NULL,   -- JSON: the code rows, their codings and memos
    restored_at BIGINT
);
