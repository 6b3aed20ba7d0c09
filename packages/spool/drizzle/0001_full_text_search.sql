-- Full-text index over subject and body (SQLite FTS5). External content: the text is stored once, in
-- `messages`; triggers keep the index in step. Messages are never updated, only inserted and deleted.
CREATE VIRTUAL TABLE `messages_fts` USING fts5(subject, body, content='messages', content_rowid='seq', tokenize='unicode61 remove_diacritics 2');
--> statement-breakpoint
CREATE TRIGGER `messages_fts_insert` AFTER INSERT ON `messages` BEGIN
  INSERT INTO `messages_fts`(rowid, subject, body) VALUES (new.seq, new.subject, new.body);
END;
--> statement-breakpoint
CREATE TRIGGER `messages_fts_delete` AFTER DELETE ON `messages` BEGIN
  INSERT INTO `messages_fts`(`messages_fts`, rowid, subject, body) VALUES ('delete', old.seq, old.subject, old.body);
END;
--> statement-breakpoint
-- Databases created by 0000 may already hold messages: index them.
INSERT INTO `messages_fts`(`messages_fts`) VALUES ('rebuild');
