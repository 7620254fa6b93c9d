-- RuptureLab schema v2 (SQLite): what the web application needs.
-- Accounts, API tokens, participant invitations, consent decisions and
-- participant progress. Secrets are stored only as hashes: passwords as
-- argon2id PHC strings, tokens (128-bit random) as hex SHA-256 digests.
-- Timestamps are i64 epoch milliseconds.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('researcher', 'coder')),
    created_at    INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash    TEXT NOT NULL UNIQUE,
    label         TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);

-- One row per invitation link ever issued; the active one has revoked_at NULL.
CREATE TABLE invitations (
    id             INTEGER PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    token_hash     TEXT NOT NULL UNIQUE,
    created_at     INTEGER NOT NULL,
    revoked_at     INTEGER
);
CREATE INDEX invitations_participant ON invitations(participant_id);

-- Every consent decision, with the text that was shown.
CREATE TABLE consents (
    id             INTEGER PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    accepted       INTEGER NOT NULL,
    consent_text   TEXT NOT NULL,
    at             INTEGER NOT NULL
);
CREATE INDEX consents_participant ON consents(participant_id, id);

-- Where a participant is in the study runner, and how their order was assigned.
CREATE TABLE participant_progress (
    participant_id INTEGER PRIMARY KEY REFERENCES participants(id) ON DELETE CASCADE,
    step           TEXT,              -- last page: welcome | about | segment:N | once | review | done
    order_mode     TEXT,              -- fixed | random | latin-square, when the order was assigned
    order_row      INTEGER,           -- the Williams-square row for latin-square
    started_at     INTEGER,
    submitted_at   INTEGER,
    updated_at     INTEGER NOT NULL
);
