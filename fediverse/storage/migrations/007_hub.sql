-- The national hub: polls of the libraries it follows, mirrored with their
-- latest counts and the library's own stamp of when those counts were current
-- (a newer stamp replaces the counts; an older or equal one changes nothing).
-- And, on a library, the national poll each adopted poll copies.

CREATE TABLE hub_poll (
    id            TEXT PRIMARY KEY,   -- the library's Question id
    library       TEXT NOT NULL,      -- its actor: attributedTo, the signer
    question      TEXT NOT NULL,      -- plain text
    url           TEXT NOT NULL,
    options       TEXT NOT NULL,      -- JSON array of option names, in order
    multiple      INTEGER NOT NULL,
    public        INTEGER NOT NULL,
    counts        TEXT,               -- JSON array of counts; NULL until reported
    voters        INTEGER,
    counted_at    REAL,               -- the library's stamp of `counts`
    end_time      REAL,
    closed        INTEGER NOT NULL DEFAULT 0,
    national_poll INTEGER,            -- the hub's own poll this copy adopts
    published_at  REAL NOT NULL,
    received_at   REAL NOT NULL,      -- when the library last told us about it
    deleted_at    REAL
);
CREATE INDEX hub_poll_by_library ON hub_poll (library);
CREATE INDEX hub_poll_by_national ON hub_poll (national_poll) WHERE national_poll IS NOT NULL;

-- The discussion of each copy of a national poll, read from its `replies`.
CREATE TABLE hub_reply (
    id           TEXT PRIMARY KEY,
    hub_poll     TEXT NOT NULL REFERENCES hub_poll (id),
    author_name  TEXT NOT NULL,
    author_url   TEXT,
    content      TEXT NOT NULL,       -- sanitised HTML
    published_at REAL NOT NULL
);
CREATE INDEX hub_reply_by_poll ON hub_reply (hub_poll, published_at);

CREATE TABLE national_link (
    poll_id       INTEGER PRIMARY KEY REFERENCES poll (id),
    national_poll TEXT NOT NULL       -- the hub's Question id
);
