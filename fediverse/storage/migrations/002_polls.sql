-- Polls, their options and counters, votes, and the discussion under them.
-- Counters are maintained on write: reading a tally never scans votes.

CREATE TABLE poll (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused after a delete
    local_username    TEXT NOT NULL REFERENCES local_actor (username),
    question          TEXT NOT NULL,
    introduction      TEXT NOT NULL DEFAULT '',
    article           TEXT NOT NULL DEFAULT '',
    opinions          TEXT NOT NULL DEFAULT '[]',
    multiple          INTEGER NOT NULL,
    hide_results      INTEGER NOT NULL,
    end_time          REAL NOT NULL,
    published_at      REAL NOT NULL,
    edited_at         REAL,
    closed_at         REAL,
    voters_count      INTEGER NOT NULL DEFAULT 0,
    tally_dirty_since REAL,             -- first vote not yet in a tally Update
    final_update_sent INTEGER NOT NULL DEFAULT 0,
    deleted_at        REAL
);

CREATE TABLE poll_option (
    poll_id INTEGER NOT NULL REFERENCES poll (id),
    idx     INTEGER NOT NULL,
    name    TEXT NOT NULL,
    votes   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (poll_id, idx)
);

CREATE TABLE poll_voter (
    poll_id    INTEGER NOT NULL REFERENCES poll (id),
    voter      TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (poll_id, voter)
);

-- One row per voter and option; a single-choice poll allows one row per voter.
CREATE TABLE vote (
    poll_id    INTEGER NOT NULL REFERENCES poll (id),
    voter      TEXT NOT NULL,
    choice     INTEGER NOT NULL,
    single     INTEGER NOT NULL,
    object_id  TEXT UNIQUE,
    created_at REAL NOT NULL,
    UNIQUE (poll_id, voter, choice)
);
CREATE UNIQUE INDEX vote_one_per_voter ON vote (poll_id, voter) WHERE single = 1;
CREATE INDEX vote_by_voter ON vote (voter);

CREATE TABLE reply (
    id            TEXT PRIMARY KEY,
    poll_id       INTEGER NOT NULL REFERENCES poll (id),
    actor         TEXT,            -- NULL for a comment made on our own page
    author_name   TEXT NOT NULL,
    author_handle TEXT,
    author_url    TEXT,
    content       TEXT NOT NULL,   -- sanitised HTML
    published_at  REAL NOT NULL,
    updated_at    REAL,
    state         TEXT NOT NULL CHECK (state IN ('visible', 'pending', 'hidden'))
);
CREATE INDEX reply_by_poll ON reply (poll_id, published_at);
CREATE INDEX reply_by_actor ON reply (actor);

-- Remote objects that were deleted: a Create arriving late must not revive them.
CREATE TABLE object_tombstone (
    id         TEXT PRIMARY KEY,
    deleted_at REAL NOT NULL
);
