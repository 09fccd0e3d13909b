-- name: GetAccount :one
SELECT * FROM accounts
WHERE id = @id;

-- name: GetAccountForUpdate :one
-- Locks the account row until the surrounding transaction ends.
SELECT * FROM accounts
WHERE id = $1
FOR UPDATE;

-- name: CreateAccount :one
INSERT INTO accounts (customer_id, currency, display_name, metadata, tags)
VALUES (@customer_id, @currency, sqlc.narg(display_name), @metadata, @tags)
RETURNING *;

-- name: ListAccounts :many
-- @optional status currency
-- Lists accounts newest first. Status and currency filters are optional:
-- a filter left unset matches every account.
SELECT * FROM accounts
WHERE (status = @status) AND (currency = @currency)
ORDER BY created_at DESC, id DESC
LIMIT @row_limit OFFSET @row_offset;

-- name: GetAccountsByIDs :many
SELECT * FROM accounts
WHERE id IN (sqlc.slice(ids))
ORDER BY created_at;

-- name: ListAccountSnapshots :many
-- Same lookup as GetAccountsByIDs, binding the ids as one uuid array.
SELECT id, customer_id, currency, status, balance, version
FROM accounts
WHERE id = ANY(@ids::uuid[]);

-- name: GetAccountWithCustomer :one
SELECT sqlc.embed(accounts), sqlc.embed(customers)
FROM accounts
INNER JOIN customers ON customers.id = accounts.customer_id
WHERE accounts.id = @id;

-- name: UpdateAccountStatus :execrows
-- Optimistic concurrency: zero affected rows means the account changed
-- since it was read, and the caller should reload and retry.
UPDATE accounts
SET status = @status,
    updated_at = now(),
    version = version + 1
WHERE id = @id AND version = @version;

-- name: MergeAccountMetadata :one
UPDATE accounts
SET metadata = metadata || @patch::jsonb,
    updated_at = now(),
    version = version + 1
WHERE id = @id
RETURNING id, metadata, version;

-- name: FindAccountsBySegment :many
-- Accounts whose metadata contains the given document and has a segment key.
SELECT
    id,
    display_name,
    metadata ->> 'segment' AS segment,
    metadata -> 'limits' AS limits,
    (metadata -> 'limits' ->> 'daily')::numeric AS daily_limit
FROM accounts
WHERE metadata @> @filter::jsonb
  AND metadata ? 'segment'
ORDER BY display_name;

-- name: AddAccountTag :exec
UPDATE accounts
SET tags = array_append(tags, @tag::text),
    updated_at = now()
WHERE id = @id
  AND NOT (@tag::text = ANY(tags));

-- name: CloseAccount :exec
-- Only an empty account can be closed.
UPDATE accounts
SET status = 'closed',
    closed_at = now(),
    updated_at = now(),
    version = version + 1
WHERE id = @id AND balance = 0;

-- name: FreezeAccounts :batchexec
UPDATE accounts
SET status = 'frozen',
    updated_at = now(),
    version = version + 1
WHERE id = @id;

-- name: GetAccountBatch :batchone
SELECT id, currency, status, balance, version
FROM accounts
WHERE id = @id;

-- name: UpsertCurrency :exec
INSERT INTO currencies (code, name, minor_units)
VALUES (upper(@code::text), @name, @minor_units)
ON CONFLICT (code) DO UPDATE
SET name = EXCLUDED.name,
    minor_units = EXCLUDED.minor_units,
    active = true;

-- name: ListCurrencyUsage :many
-- Every active currency with its accounts; a currency no account uses
-- comes back once, with NULL account columns.
SELECT cur.code, cur.name, a.id AS account_id, a.balance
FROM accounts a
RIGHT JOIN currencies cur ON cur.code = a.currency
WHERE cur.active
ORDER BY cur.code, a.created_at;
