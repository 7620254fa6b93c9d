-- Every coding write asks, for its coder, whether any step of the undo log
-- is undone (a redo stack to clear) and how many are not (the log is cut
-- to its newest 200): this index answers both from the index alone,
-- instead of reading each of the coder's log rows.
CREATE INDEX coding_undo_state ON coding_undo(coder_id, undone, id);
