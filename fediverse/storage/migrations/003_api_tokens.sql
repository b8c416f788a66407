-- Tokens for the staff JSON API. Only the sha256 of a token is kept: a copy of
-- the database does not let anyone in. A revoked token stays as a row, so the
-- list shows what was once allowed and when it stopped.

CREATE TABLE api_token (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,  -- sha256 hex of the token
    created_at   REAL,
    last_used_at REAL,
    revoked_at   REAL
);
-- `revoke NAME` must name one token: one live token per name.
CREATE UNIQUE INDEX api_token_live_name ON api_token (name) WHERE revoked_at IS NULL;
