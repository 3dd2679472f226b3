-- The payment engine: partial indexes for the reads each payment makes (small, and only
-- touched by the rows they cover).

-- Card-testing protection counts an invoice's recent failed attempts on every prePayment.
CREATE INDEX payment_attempts_failures ON payment_attempts(invoice_id, created_at) WHERE status = 'Failed';
-- Attempts nobody confirmed expire; the job finds them by age.
CREATE INDEX payment_attempts_unconfirmed ON payment_attempts(created_at) WHERE status = 'Created';
-- Settlement (every minute) closes the unsettled charges older than a day.
CREATE INDEX transactions_unsettled ON transactions(created_at) WHERE is_settled = 0 AND is_voided = 0;
-- Every payment reply counts the invoice's declined and failed transactions.
CREATE INDEX transactions_declines ON transactions(invoice_id) WHERE status <> 'APPROVED';
-- Only refunds and voids have a parent: index just those (every charge would add a NULL entry).
DROP INDEX transactions_parent;
CREATE INDEX transactions_parent ON transactions(parent_id) WHERE parent_id IS NOT NULL;
