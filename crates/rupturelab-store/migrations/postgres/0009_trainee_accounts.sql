-- RuptureLab schema (PostgreSQL): trainees as accounts (training mode).
-- Mirrors migrations/sqlite/0009_trainee_accounts.sql: BIGSERIAL/BIGINT ids
-- and times. A trainee account signs in at /training with a user name and
-- password (argon2id PHC string only); its name space is apart from the
-- staff `users`, so it never reaches the console or the study's data. An
-- enrolment is a `trainees` row whose `account_id` is set.

CREATE TABLE trainee_accounts (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

ALTER TABLE trainees ADD COLUMN account_id BIGINT REFERENCES trainee_accounts(id) ON DELETE SET NULL;
CREATE INDEX trainees_account ON trainees(account_id);
