-- name: InsertLedgerEntries :copyfrom
INSERT INTO ledger_entries (account_id, transfer_id, amount, balance_after) VALUES ($1, $2, $3, $4);

-- name: ListLedgerEntries :many
-- Entries of one account in posting order, with their sequence number and
-- running balance.
SELECT
    le.id,
    le.transfer_id,
    le.amount,
    le.created_at,
    row_number() OVER (PARTITION BY le.account_id ORDER BY le.created_at, le.id) AS seq,
    sum(le.amount) OVER (PARTITION BY le.account_id ORDER BY le.created_at, le.id) AS running_balance
FROM ledger_entries le
WHERE le.account_id = @account_id
ORDER BY le.created_at, le.id
LIMIT @row_limit OFFSET @row_offset;

-- name: GetLatestEntries :many
-- The most recent entry of each of the given accounts.
SELECT ranked.*
FROM (
    SELECT
        le.*,
        row_number() OVER (PARTITION BY le.account_id ORDER BY le.created_at DESC, le.id DESC) AS rn
    FROM ledger_entries le
    WHERE le.account_id = ANY(@account_ids::uuid[])
) ranked
WHERE ranked.rn = 1;

-- name: GetLedgerTotals :one
-- An account without entries gets a count of 0, a NULL net amount and a
-- last entry id of 0.
SELECT
    count(*) AS entry_count,
    sum(amount) AS net_amount,
    max(created_at) AS last_entry_at,
    COALESCE(max(id), 0) AS last_entry_id,
    COALESCE(sum(CASE WHEN amount > 0 THEN amount END), 0) AS total_credits,
    COALESCE(sum(CASE WHEN amount < 0 THEN -amount ELSE 0 END), 0) AS total_debits
FROM ledger_entries
WHERE account_id = @account_id;

-- name: ReconcileBalances :many
-- Accounts whose stored balance disagrees with the sum of their entries.
SELECT
    a.id AS account_id,
    l.account_id AS ledger_account_id,
    a.balance AS stored_balance,
    l.ledger_balance,
    COALESCE(a.balance, 0) - COALESCE(l.ledger_balance, 0) AS difference
FROM accounts a
FULL JOIN (
    SELECT account_id, sum(amount) AS ledger_balance
    FROM ledger_entries
    GROUP BY account_id
) l ON l.account_id = a.id
WHERE COALESCE(a.balance, 0) <> COALESCE(l.ledger_balance, 0);

-- name: InsertOpeningEntries :execrows
-- Gives each imported account without entries an opening entry for its balance.
INSERT INTO ledger_entries (account_id, amount, balance_after)
SELECT a.id, a.balance, a.balance
FROM accounts a
WHERE a.customer_id = @customer_id
  AND NOT EXISTS (
      SELECT 1 FROM ledger_entries le WHERE le.account_id = a.id
  );
