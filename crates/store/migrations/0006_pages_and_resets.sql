-- Requests to the customer pages counted per client address in fixed one-minute windows,
-- in the database so the limits hold across every server process on it.
CREATE TABLE page_hits (
    bucket TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL
);

-- Password-reset messages used to carry the reset link (a bearer secret) in clear. They now
-- carry a nonce the link is derived from with the server's key; messages written before are
-- dropped and their resets ended (a merchant asks again).
DELETE FROM outbox WHERE kind = 'password_reset' AND payload NOT LIKE '%resetNonce%';
UPDATE checkout_password_resets SET expires_at = 0 WHERE used_at IS NULL;
