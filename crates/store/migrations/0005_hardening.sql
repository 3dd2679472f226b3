-- Failed sign-ins counted per client address and per username in fixed windows. Kept in the
-- database so the throttle holds across every server process on it.
CREATE TABLE auth_failures (
    bucket TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    failures BIGINT NOT NULL
);

-- Revoking an API key or resetting a password ends the namespace's access tokens issued
-- before it (milliseconds; a token carries when it was issued).
ALTER TABLE checkout_namespaces ADD COLUMN tokens_valid_from BIGINT NOT NULL DEFAULT 0;
