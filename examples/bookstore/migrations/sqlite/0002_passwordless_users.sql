-- no-transaction
-- Users who signed in with an identity provider have no password: `password_hash` becomes
-- nullable, and a password login for them answers 401 like a wrong password. SQLite can't drop
-- NOT NULL in place, so the table is rebuilt (https://sqlite.org/lang_altertable.html#otheralter):
-- with foreign keys off, or dropping `users` would check `books` against an empty table.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE users_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    email         TEXT    NOT NULL UNIQUE,  -- stored trimmed and lowercased
    password_hash TEXT,                     -- Argon2id PHC string; NULL: sign-in by provider only
    admin         INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
);
INSERT INTO users_new (id, name, email, password_hash, admin, disabled)
    SELECT id, name, email, password_hash, admin, disabled FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
COMMIT;
PRAGMA foreign_keys = ON;
