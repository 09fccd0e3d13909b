-- name: UpsertCustomer :one
-- Creates a customer, or refreshes the name of the one with this email.
INSERT INTO customers (email, full_name, country)
VALUES (lower(@email::text), @full_name, sqlc.narg(country))
ON CONFLICT (email) DO UPDATE
SET full_name = EXCLUDED.full_name,
    country = COALESCE(EXCLUDED.country, customers.country),
    updated_at = now()
RETURNING *;

-- name: GetCustomerByEmail :one
SELECT * FROM customers
WHERE email = lower(@email::text);

-- name: UpdateCustomer :one
-- Fields passed as NULL keep their current value.
UPDATE customers
SET full_name = COALESCE(sqlc.narg(full_name), full_name),
    country = COALESCE(sqlc.narg(country), country),
    updated_at = now()
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: SearchCustomers :many
SELECT id, email, full_name, country
FROM customers
WHERE length(@query::text) >= 3
  AND (lower(full_name) LIKE '%' || lower(@query::text) || '%'
       OR email LIKE lower(@query::text) || '%')
ORDER BY full_name
LIMIT @row_limit;

-- name: GetCustomerWithAccounts :many
-- A customer without accounts still comes back once, with a NULL account.
SELECT sqlc.embed(customers), sqlc.embed(accounts)
FROM customers
LEFT JOIN accounts ON accounts.customer_id = customers.id
WHERE customers.id = @id
ORDER BY accounts.created_at;

-- name: ListCustomerSummaries :many
SELECT
    c.id,
    c.email,
    c.full_name,
    COALESCE(s.account_count, 0) AS account_count,
    s.total_balance,
    s.last_opened_at
FROM customers c
LEFT JOIN (
    SELECT
        customer_id,
        count(*) AS account_count,
        sum(balance) AS total_balance,
        max(created_at) AS last_opened_at
    FROM accounts
    GROUP BY customer_id
) s ON s.customer_id = c.id
ORDER BY c.created_at DESC
LIMIT @row_limit;

-- name: ListDormantCustomers :many
-- Customers older than the cutoff that have no active account.
SELECT c.id, c.email, c.created_at
FROM customers c
WHERE c.created_at < @created_before
  AND NOT EXISTS (
      SELECT 1
      FROM accounts a
      WHERE a.customer_id = c.id AND a.status = 'active'
  )
ORDER BY c.created_at;

-- name: CreateApiKey :one
INSERT INTO api_keys (customer_id, prefix, key_hash, scopes)
VALUES (@customer_id, @prefix, @key_hash, @scopes)
RETURNING id, prefix, scopes, created_at;

-- name: AuthenticateApiKey :one
SELECT
    k.id AS api_key_id,
    k.key_hash,
    k.scopes,
    c.id AS customer_id,
    c.email
FROM api_keys AS k
INNER JOIN customers AS c ON c.id = k.customer_id
WHERE k.prefix = @prefix
  AND k.revoked_at IS NULL;

-- name: TouchApiKey :exec
UPDATE api_keys
SET last_used_at = now()
WHERE id = $1;

-- name: RevokeCustomerApiKeys :execrows
UPDATE api_keys
SET revoked_at = now()
WHERE customer_id = @customer_id
  AND revoked_at IS NULL;
