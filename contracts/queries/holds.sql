-- name: PlaceHold :one
INSERT INTO holds (account_id, transfer_id, amount, reason, expires_at)
VALUES (@account_id, sqlc.narg(transfer_id), @amount, @reason, @expires_at)
RETURNING *;

-- name: ListActiveHolds :many
SELECT h.*, a.currency
FROM holds h
INNER JOIN accounts a ON a.id = h.account_id
WHERE h.account_id = @account_id
  AND h.released_at IS NULL
  AND h.expires_at > now()
ORDER BY h.expires_at;

-- name: ReleaseHoldsForTransfer :many
UPDATE holds
SET released_at = now()
FROM transfers t
WHERE holds.transfer_id = t.id
  AND t.id = @transfer_id
  AND holds.released_at IS NULL
RETURNING holds.id, holds.account_id, holds.amount, t.status AS transfer_status;

-- name: ReleaseExpiredHolds :exec
UPDATE holds
SET released_at = now()
WHERE released_at IS NULL
  AND expires_at <= now();

-- name: DeleteHoldsOfClosedAccounts :many
DELETE FROM holds
USING accounts
WHERE holds.account_id = accounts.id
  AND accounts.status = 'closed'
RETURNING holds.id, holds.account_id, holds.amount;

-- name: GetAvailableBalance :one
SELECT * FROM account_balances
WHERE account_id = @account_id;
