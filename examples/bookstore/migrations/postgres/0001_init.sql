-- The bookstore's schema on PostgreSQL: the same tables, columns and constraints as
-- ../sqlite/0001_init.sql, so both engines give the same answers. Identity columns: ids of
-- deleted rows are never handed out again, so an old URL stays a 404. The flags stay 0/1
-- integers as on SQLite, where sqlx's `Any` driver can't read an INTEGER as a bool.

CREATE TABLE users (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT    NOT NULL,
    email         TEXT    NOT NULL UNIQUE,  -- stored trimmed and lowercased
    password_hash TEXT    NOT NULL,         -- Argon2id PHC string
    admin         BIGINT  NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
    disabled      BIGINT  NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
);

-- Keyed by `teacher_id`, as in the seeds.
CREATE TABLE teachers (
    teacher_id    BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT    NOT NULL,
    email         TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL
);

CREATE TABLE books (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id    BIGINT  NOT NULL REFERENCES users (id),
    title       TEXT    NOT NULL,
    author      TEXT    NOT NULL,
    description TEXT,
    UNIQUE (owner_id, title)
);
