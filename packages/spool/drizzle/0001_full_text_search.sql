-- Full-text index over subject and body (SQLite FTS5) with external content: the text is stored once, in
-- `messages`. The index is filled lazily: a search first indexes messages with seq above
-- spool_state.fts_indexed_seq, so a send never pays for tokenising. Deleting an indexed message removes
-- its entry through the trigger; messages are never updated.
CREATE VIRTUAL TABLE `messages_fts` USING fts5(subject, body, content='messages', content_rowid='seq', tokenize='unicode61 remove_diacritics 2');
--> statement-breakpoint
INSERT INTO `spool_state` (`key`, `value`) VALUES ('fts_indexed_seq', 0);
--> statement-breakpoint
CREATE TRIGGER `messages_fts_delete` AFTER DELETE ON `messages`
WHEN old.seq <= (SELECT `value` FROM `spool_state` WHERE `key` = 'fts_indexed_seq')
BEGIN
  INSERT INTO `messages_fts`(`messages_fts`, rowid, subject, body) VALUES ('delete', old.seq, old.subject, old.body);
END;
