-- The admin: staff accounts and their sessions, actor blocks, and the reports
-- (Flag) other servers send us.

-- A staff member. Only the argon2id hash of the password is kept; a disabled
-- account stays as a row, so the list shows who once had access.
CREATE TABLE admin_account (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    REAL NOT NULL,
    disabled_at   REAL,
    last_login_at REAL
);

-- One row per logged-in browser, keyed by the sha256 of the token in its
-- signed cookie: deleting the row (logout, password change, disabling the
-- account) ends that session even though the cookie itself stays valid.
CREATE TABLE admin_session (
    token_hash TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES admin_account (id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX admin_session_by_account ON admin_session (account_id);

-- Single actors refused at the inbox, beside whole domains (blocked_domain).
CREATE TABLE blocked_actor (
    id         TEXT PRIMARY KEY,
    created_at REAL NOT NULL
);

-- A report (Flag) from another server: who sent it, the plain-text comment,
-- and the ids of the actors and objects it names (a JSON list).
CREATE TABLE report (
    id          INTEGER PRIMARY KEY,
    activity_id TEXT NOT NULL UNIQUE,
    reporter    TEXT NOT NULL,
    content     TEXT NOT NULL,
    objects     TEXT NOT NULL,
    received_at REAL NOT NULL,
    resolved_at REAL
);
CREATE INDEX report_open ON report (received_at) WHERE resolved_at IS NULL;
