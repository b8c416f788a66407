-- Secrets the instance makes for itself on first use (the key that signs its
-- cookies). Kept in the database, so a restart or a second worker process signs
-- with the same key and a copy of the config file alone gives nothing away.

CREATE TABLE instance_secret (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at REAL NOT NULL
);
