-- RuptureLab schema v2 (PostgreSQL): what the web application needs.
-- Mirrors migrations/sqlite/0002_web.sql: BIGSERIAL/BIGINT ids and times, BOOLEAN flags.
-- Accounts, API tokens, participant invitations, consent decisions and
-- participant progress. Secrets are stored only as hashes: passwords as
-- argon2id PHC strings, tokens (128-bit random) as hex SHA-256 digests.
-- Timestamps are i64 epoch milliseconds.

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('researcher', 'coder')),
    created_at    BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id            BIGSERIAL PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash    TEXT NOT NULL UNIQUE,
    label         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);

-- One row per invitation link ever issued; the active one has revoked_at NULL.
CREATE TABLE invitations (
    id             BIGSERIAL PRIMARY KEY,
    participant_id BIGINT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    token_hash     TEXT NOT NULL UNIQUE,
    created_at     BIGINT NOT NULL,
    revoked_at     BIGINT
);
CREATE INDEX invitations_participant ON invitations(participant_id);

-- Every consent decision, with the text that was shown.
CREATE TABLE consents (
    id             BIGSERIAL PRIMARY KEY,
    participant_id BIGINT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
    accepted       BOOLEAN NOT NULL,
    consent_text   TEXT NOT NULL,
    at             BIGINT NOT NULL
);
CREATE INDEX consents_participant ON consents(participant_id, id);

-- Where a participant is in the study runner, and how their order was assigned.
CREATE TABLE participant_progress (
    participant_id BIGINT PRIMARY KEY REFERENCES participants(id) ON DELETE CASCADE,
    step           TEXT,              -- last page: welcome | about | segment:N | once | review | done
    order_mode     TEXT,              -- fixed | random | latin-square, when the order was assigned
    order_row      BIGINT,           -- the Williams-square row for latin-square
    started_at     BIGINT,
    submitted_at   BIGINT,
    updated_at     BIGINT NOT NULL
);
