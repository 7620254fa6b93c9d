-- RuptureLab schema (SQLite): the web server's sessions (its session store),
-- one row per browser session, shared by every `serve` process on the
-- database. `data` is the session's values as JSON, `expires_at` epoch
-- seconds; `user_id` is the signed-in staff account (NULL otherwise), kept
-- beside the data so that a request reads its session and its user in one
-- statement. Replaces tower-sessions' own `tower_sessions` table (signed-in
-- users sign in again once after the upgrade).

CREATE TABLE web_sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    data        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    user_id     INTEGER REFERENCES users(id) ON DELETE CASCADE
);
CREATE INDEX web_sessions_expires_at ON web_sessions(expires_at);
CREATE INDEX web_sessions_user_id ON web_sessions(user_id);
DROP TABLE IF EXISTS tower_sessions;
