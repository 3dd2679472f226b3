-- Failed sign-ins counted per client address and per username in fixed windows. Kept in the
-- database so the throttle holds across every server process on it.
CREATE TABLE auth_failures (
    bucket TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    failures BIGINT NOT NULL
);
