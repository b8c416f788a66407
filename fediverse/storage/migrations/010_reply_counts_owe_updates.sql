-- A Question carries its replies count, so a change in the visible discussion
-- owes the poll a tally Update, like a vote does: a reply or comment shown, one
-- approved, hidden or deleted. The tally worker's debounce keeps it to one Update
-- per window, and a closed poll sends none after its final one. This is how the
-- hub learns that a copy's discussion changed. (Times are Unix seconds, as
-- `time.time()` writes them elsewhere.)

CREATE TRIGGER reply_shown AFTER INSERT ON reply WHEN NEW.state = 'visible' BEGIN
    UPDATE poll SET tally_dirty_since = coalesce(tally_dirty_since,
        (julianday('now') - 2440587.5) * 86400.0) WHERE id = NEW.poll_id;
END;

CREATE TRIGGER reply_state_changed AFTER UPDATE OF state ON reply
    WHEN (OLD.state = 'visible') != (NEW.state = 'visible') BEGIN
    UPDATE poll SET tally_dirty_since = coalesce(tally_dirty_since,
        (julianday('now') - 2440587.5) * 86400.0) WHERE id = NEW.poll_id;
END;

CREATE TRIGGER reply_removed AFTER DELETE ON reply WHEN OLD.state = 'visible' BEGIN
    UPDATE poll SET tally_dirty_since = coalesce(tally_dirty_since,
        (julianday('now') - 2440587.5) * 86400.0) WHERE id = OLD.poll_id;
END;
