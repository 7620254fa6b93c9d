-- RuptureLab schema (PostgreSQL): failed-attempt counters of the web
-- server's rate limits, shared by every `serve` process on the database.
-- Mirrors migrations/sqlite/0011_rate_limits.sql (BIGINT times, epoch ms).

CREATE TABLE rate_limits (
    scope     TEXT NOT NULL,
    client    TEXT NOT NULL,
    failures  BIGINT NOT NULL,
    since     BIGINT NOT NULL,
    PRIMARY KEY (scope, client)
);
CREATE INDEX rate_limits_since ON rate_limits(since);
