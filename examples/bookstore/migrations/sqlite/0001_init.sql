-- The bookstore's schema. Uniqueness lives here, not in handlers, so concurrent requests that
-- race on the same email or title end as one success and constraint violations (409s).
-- AUTOINCREMENT: ids of deleted rows are never handed out again, so an old URL stays a 404.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    email         TEXT    NOT NULL UNIQUE,  -- stored trimmed and lowercased
    password_hash TEXT    NOT NULL,         -- Argon2id PHC string
    admin         INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
);

-- Keyed by `teacher_id`, as in the seeds.
CREATE TABLE teachers (
    teacher_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL
);

CREATE TABLE books (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id    INTEGER NOT NULL REFERENCES users (id),
    title       TEXT    NOT NULL,
    author      TEXT    NOT NULL,
    description TEXT,
    UNIQUE (owner_id, title)
);
