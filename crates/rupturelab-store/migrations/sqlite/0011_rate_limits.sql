-- RuptureLab schema (SQLite): failed-attempt counters of the web server's
-- rate limits (sign-in, unknown links and API tokens), kept in the database
-- so that several `serve` processes behind one load balancer share them.
-- One row per (scope, client address); `since` is when the current window
-- began (epoch ms). Rows whose window has passed are deleted as new
-- failures arrive.

CREATE TABLE rate_limits (
    scope     TEXT NOT NULL,
    client    TEXT NOT NULL,
    failures  INTEGER NOT NULL,
    since     INTEGER NOT NULL,
    PRIMARY KEY (scope, client)
);
CREATE INDEX rate_limits_since ON rate_limits(since);
