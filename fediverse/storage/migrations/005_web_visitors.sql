-- Visitors of the poll page: comments with an e-mail address, and per poll how
-- comments are moderated.

-- 'open': a comment is published at once; 'first': the first comment of each
-- author (by e-mail address) waits for staff, later ones are published; 'held':
-- every comment waits for staff.
ALTER TABLE poll ADD COLUMN moderation TEXT NOT NULL DEFAULT 'first'
    CHECK (moderation IN ('open', 'first', 'held'));

-- The e-mail address of a local comment (NULL for fediverse replies), stored
-- lowercased for the 'first' rule. For staff only: it is never read into a
-- `Reply`, so no page, document or API built from replies can show it.
ALTER TABLE reply ADD COLUMN email TEXT;
CREATE INDEX reply_by_email ON reply (email, state) WHERE email IS NOT NULL;
