-- RuptureLab schema (PostgreSQL): the web server's sessions, shared by every
-- `serve` process on the database. Mirrors
-- migrations/sqlite/0012_web_sessions.sql (BIGINT times, epoch seconds).
-- Replaces tower-sessions' own `tower_sessions` schema.

CREATE TABLE web_sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    data        TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    user_id     BIGINT REFERENCES users(id) ON DELETE CASCADE
);
CREATE INDEX web_sessions_expires_at ON web_sessions(expires_at);
CREATE INDEX web_sessions_user_id ON web_sessions(user_id);
DROP SCHEMA IF EXISTS tower_sessions CASCADE;
