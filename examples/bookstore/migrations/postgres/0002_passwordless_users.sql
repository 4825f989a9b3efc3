-- Users who signed in with an identity provider have no password: `password_hash` becomes
-- nullable, and a password login for them answers 401 like a wrong password.
ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL;
