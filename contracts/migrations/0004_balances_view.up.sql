-- Reporting: available balance per account, plus a few constraint changes
-- learnt in production.

-- Customers onboarded through partners may not have a known country yet.
ALTER TABLE customers ALTER COLUMN country DROP NOT NULL;

ALTER TABLE transfers ADD COLUMN fee numeric(20,4) NOT NULL DEFAULT 0;
ALTER TABLE currencies ALTER COLUMN minor_units SET DEFAULT 2;

-- Backfill running balances for entries written before balance_after existed.
UPDATE ledger_entries le
SET balance_after = r.running_balance
FROM (
    SELECT id, sum(amount) OVER (PARTITION BY account_id ORDER BY created_at, id) AS running_balance
    FROM ledger_entries
) r
WHERE r.id = le.id
  AND le.balance_after IS NULL;
ALTER TABLE ledger_entries ALTER COLUMN balance_after SET NOT NULL;

CREATE VIEW account_balances AS
SELECT
    a.id AS account_id,
    a.customer_id,
    a.currency,
    a.status,
    a.balance,
    COALESCE(h.held, 0) AS held,
    a.balance + a.overdraft_limit - COALESCE(h.held, 0) AS available
FROM accounts a
LEFT JOIN (
    SELECT account_id, sum(amount) AS held
    FROM holds
    WHERE released_at IS NULL
    GROUP BY account_id
) h ON h.account_id = a.id;

CREATE INDEX transfers_status_idx ON transfers (status);
