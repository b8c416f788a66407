-- An arriving activity is stored, and its vote counted when it plainly counts, by
-- one INSERT into `arrival` (see `sqlite_writes`). Each arrival is one row, applied
-- in order: it is stored unless its id is stored already; it is stored as
-- processed (counted now) when it carries a vote for an open, undeleted poll with
-- exactly that option, its Note was not deleted first, it came in at the shared
-- inbox or at the poll's owner's, and nothing stored before it still waits for the
-- inbox worker (an earlier row of the same INSERT included). Otherwise it waits,
-- and the worker applies every rule in arrival order. Non-votes have a NULL
-- poll_id, so they always wait.
--
-- `inbox_owner` is the local actor whose personal inbox the activity came in at,
-- NULL for the shared inbox (and for rows stored before it was kept). A vote for
-- one local actor's poll sent to another's personal inbox does not count
-- (security.md A22; GoToSocial: "receiving account does not own poll"). No
-- foreign key: the inbox checked the name, and the hot INSERT should not.

ALTER TABLE inbox_activity ADD COLUMN inbox_owner TEXT;

CREATE VIEW arrival (id, actor, type, body, received_at, inbox_owner, poll_id, voter,
                     option_name, object_id) AS
    SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL WHERE 0;

CREATE TRIGGER arrival_stored INSTEAD OF INSERT ON arrival BEGIN
    INSERT OR IGNORE INTO inbox_activity (id, actor, type, body, received_at, inbox_owner,
                                          processed_at)
    VALUES (NEW.id, NEW.actor, NEW.type, NEW.body, NEW.received_at, NEW.inbox_owner,
        CASE WHEN NOT EXISTS (SELECT 1 FROM inbox_activity WHERE processed_at IS NULL)
              AND EXISTS (SELECT 1 FROM poll p JOIN poll_option o ON o.poll_id = p.id
                          WHERE p.id = NEW.poll_id AND o.name = NEW.option_name
                            AND p.deleted_at IS NULL
                            AND NEW.received_at < coalesce(p.closed_at, p.end_time)
                            AND (NEW.inbox_owner IS NULL
                                 OR p.local_username = NEW.inbox_owner))
              AND NOT EXISTS (SELECT 1 FROM object_tombstone t WHERE t.id = NEW.object_id)
        THEN NEW.received_at END);
    -- changes() is the row count of the INSERT just above: 1 only when it was new
    INSERT OR IGNORE INTO vote (poll_id, voter, choice, single, object_id, created_at)
        SELECT p.id, NEW.voter, o.idx, NOT p.multiple, NEW.object_id, NEW.received_at
        FROM poll p JOIN poll_option o ON o.poll_id = p.id AND o.name = NEW.option_name
        WHERE p.id = NEW.poll_id AND changes() = 1
          AND (SELECT processed_at FROM inbox_activity WHERE id = NEW.id) IS NOT NULL;
END;
