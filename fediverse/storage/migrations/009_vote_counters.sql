-- Counters move with the votes themselves. A vote row that is let in (the
-- unique indexes decide) bumps its option, owes its poll a tally Update, and
-- counts its voter on the poll the first time. The inbox stores and counts a
-- whole batch of arriving votes in one statement this way, inside SQLite,
-- instead of reading back which rows were new to move the counters after.
-- Removing votes (a deleted actor) recounts from the rows instead.

CREATE TRIGGER vote_counted AFTER INSERT ON vote BEGIN
    UPDATE poll_option SET votes = votes + 1 WHERE poll_id = NEW.poll_id AND idx = NEW.choice;
    UPDATE poll SET tally_dirty_since = coalesce(tally_dirty_since, NEW.created_at)
        WHERE id = NEW.poll_id;
    INSERT OR IGNORE INTO poll_voter (poll_id, voter, created_at)
        VALUES (NEW.poll_id, NEW.voter, NEW.created_at);
END;

CREATE TRIGGER voter_counted AFTER INSERT ON poll_voter BEGIN
    UPDATE poll SET voters_count = voters_count + 1 WHERE id = NEW.poll_id;
END;
