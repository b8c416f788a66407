-- Foundation: local actors and their keys, the remote actor cache, the raw
-- inbox, follows both ways, the outbox and its delivery queue.
-- Times are unix seconds (REAL) so that due-work queries compare numbers.

CREATE TABLE local_actor (
    username        TEXT PRIMARY KEY,
    actor_type      TEXT NOT NULL DEFAULT 'Organization',
    name            TEXT NOT NULL,
    summary         TEXT NOT NULL DEFAULT '',
    private_key_pem TEXT NOT NULL,
    public_key_pem  TEXT NOT NULL,
    created_at      REAL NOT NULL
);

CREATE TABLE remote_actor (
    id             TEXT PRIMARY KEY,
    key_id         TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    inbox          TEXT NOT NULL,
    shared_inbox   TEXT,
    username       TEXT,
    name           TEXT,
    url            TEXT,
    fetched_at     REAL NOT NULL
);
CREATE INDEX remote_actor_by_key ON remote_actor (key_id);

-- Actors that told us they are gone: a late activity from them must not
-- bring them back.
CREATE TABLE actor_tombstone (
    id         TEXT PRIMARY KEY,
    deleted_at REAL NOT NULL
);

CREATE TABLE blocked_domain (
    domain     TEXT PRIMARY KEY,
    created_at REAL NOT NULL
);

-- Every authenticated activity, stored before we answer 202; the id makes
-- a replay a no-op.
CREATE TABLE inbox_activity (
    id           TEXT PRIMARY KEY,
    actor        TEXT NOT NULL,
    type         TEXT NOT NULL,
    body         TEXT NOT NULL,
    received_at  REAL NOT NULL,
    processed_at REAL,
    error        TEXT
);
CREATE INDEX inbox_activity_pending ON inbox_activity (received_at) WHERE processed_at IS NULL;

CREATE TABLE follower (
    local_username TEXT NOT NULL REFERENCES local_actor (username),
    actor_id       TEXT NOT NULL,
    follow_id      TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('pending', 'accepted')),
    created_at     REAL NOT NULL,
    PRIMARY KEY (local_username, actor_id)
);

CREATE TABLE following (
    local_username TEXT NOT NULL REFERENCES local_actor (username),
    actor_id       TEXT NOT NULL,
    follow_id      TEXT NOT NULL UNIQUE,
    state          TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'rejected')),
    created_at     REAL NOT NULL,
    updated_at     REAL NOT NULL,
    PRIMARY KEY (local_username, actor_id)
);

CREATE TABLE outbox_activity (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    local_username TEXT NOT NULL REFERENCES local_actor (username),
    type           TEXT NOT NULL,
    body           TEXT NOT NULL,
    public         INTEGER NOT NULL,
    published_at   REAL NOT NULL
);

-- One row per (activity, inbox). A row is leased while a worker sends it; a
-- lease that runs out (the process died) makes the row due again.
CREATE TABLE delivery (
    id              INTEGER PRIMARY KEY,
    activity_seq    INTEGER NOT NULL REFERENCES outbox_activity (seq),
    inbox           TEXT NOT NULL,
    host            TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    leased_until    REAL,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      REAL NOT NULL,
    finished_at     REAL,
    UNIQUE (activity_seq, inbox)
);
CREATE INDEX delivery_due ON delivery (next_attempt_at) WHERE state = 'pending';

-- A host that has failed every delivery since failing_since; once that is
-- older than the unavailability threshold we stop trying (unavailable_since)
-- until it speaks to us again or the mark expires and a probe is due.
CREATE TABLE host_health (
    host              TEXT PRIMARY KEY,
    failing_since     REAL NOT NULL,
    unavailable_since REAL
);
