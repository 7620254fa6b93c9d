-- RuptureLab schema (SQLite): trainees as accounts (training mode).
-- A trainee account signs in with a user name and password (argon2id PHC
-- string only) at /training and sees every module it is enrolled in. Its
-- name space is apart from the staff `users`: a trainee account can never
-- reach the researcher console, the coding screens or the study's data.
-- An enrolment is an ordinary `trainees` row whose `account_id` is set (its
-- code is the account's user name); link trainees keep `account_id` NULL.
-- Timestamps are i64 epoch milliseconds.

CREATE TABLE trainee_accounts (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

ALTER TABLE trainees ADD COLUMN account_id INTEGER REFERENCES trainee_accounts(id) ON DELETE SET NULL;
CREATE INDEX trainees_account ON trainees(account_id);
