-- name: CreateTransfer :one
-- A deposit has no source account, a withdrawal no destination account.
INSERT INTO transfers (from_account_id, to_account_id, amount, currency, description, idempotency_key)
VALUES (sqlc.narg(from_account_id), sqlc.narg(to_account_id), @amount, @currency, sqlc.narg(description), @idempotency_key)
RETURNING *;

-- name: GetTransferByIdempotencyKey :one
SELECT * FROM transfers
WHERE idempotency_key = $1;

-- name: GetTransferDetails :one
SELECT
    t.id,
    t.amount,
    t.fee,
    t.amount + t.fee AS total_debit,
    t.currency,
    cur.minor_units,
    t.status,
    src.id AS from_account_id,
    src.display_name AS from_display_name,
    dst.id AS to_account_id,
    dst.display_name AS to_display_name,
    EXISTS (
        SELECT 1 FROM holds h
        WHERE h.transfer_id = t.id AND h.released_at IS NULL
    ) AS has_active_hold
FROM transfers t
INNER JOIN currencies cur ON cur.code = t.currency
LEFT JOIN accounts src ON src.id = t.from_account_id
LEFT JOIN accounts dst ON dst.id = t.to_account_id
WHERE t.id = @id;

-- name: ListAccountTransfers :many
-- Keyset pagination, newest first: pass the created_at and id of the last
-- transfer of the previous page.
SELECT * FROM transfers
WHERE (from_account_id = @account_id OR to_account_id = @account_id)
  AND (created_at, id) < (@after_created_at, @after_id)
ORDER BY created_at DESC, id DESC
LIMIT @page_size;

-- name: PostTransfer :one
-- Marks a pending transfer posted and moves the money, in one statement.
-- Returns no row if the transfer was not pending.
WITH posted AS (
    UPDATE transfers
    SET status = 'posted',
        posted_at = now()
    WHERE id = @id AND status = 'pending'
    RETURNING id, from_account_id, to_account_id, amount, fee
),
debited AS (
    UPDATE accounts
    SET balance = accounts.balance - (p.amount + p.fee),
        updated_at = now(),
        version = accounts.version + 1
    FROM posted p
    WHERE accounts.id = p.from_account_id
    RETURNING accounts.id, accounts.balance
),
credited AS (
    UPDATE accounts
    SET balance = accounts.balance + p.amount,
        updated_at = now(),
        version = accounts.version + 1
    FROM posted p
    WHERE accounts.id = p.to_account_id
    RETURNING accounts.id, accounts.balance
)
SELECT
    p.id,
    p.amount,
    d.balance AS from_balance,
    c.balance AS to_balance
FROM posted p
LEFT JOIN debited d ON d.id = p.from_account_id
LEFT JOIN credited c ON c.id = p.to_account_id;

-- name: FailStaleTransfers :execresult
UPDATE transfers
SET status = 'failed'
WHERE status = 'pending'
  AND created_at < now() - CAST(@max_age AS interval);

-- name: CreateTransfers :many
-- Inserts many transfers at once from parallel arrays.
INSERT INTO transfers (from_account_id, to_account_id, amount, currency)
SELECT u.from_account_id, u.to_account_id, u.amount, sqlc.arg(currency)::char(3)
FROM unnest(@from_account_ids::uuid[], @to_account_ids::uuid[], @amounts::numeric[])
    AS u (from_account_id, to_account_id, amount)
RETURNING id, created_at;

-- name: ListRecentTransfers :batchmany
SELECT id, to_account_id, amount, status, created_at
FROM transfers
WHERE from_account_id = @from_account_id
ORDER BY created_at DESC
LIMIT 10;

-- name: ListCounterparties :many
-- Accounts this account has sent money to or received money from.
SELECT to_account_id AS account_id
FROM transfers
WHERE from_account_id = @account_id AND to_account_id IS NOT NULL
UNION
SELECT from_account_id
FROM transfers
WHERE to_account_id = @account_id AND from_account_id IS NOT NULL;
