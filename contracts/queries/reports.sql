-- name: DailyTransferVolume :many
SELECT
    date_trunc('day', t.created_at) AS period_start,
    t.currency,
    count(*) AS transfer_count,
    sum(t.amount) AS total_amount,
    avg(t.amount) AS average_amount,
    min(t.amount) AS smallest_amount,
    max(t.amount) AS largest_amount,
    sum(t.fee) AS total_fees
FROM transfers t
WHERE t.status = 'posted'
  AND t.created_at >= @since
  AND t.created_at < @until
GROUP BY date_trunc('day', t.created_at), t.currency
ORDER BY period_start, t.currency;

-- name: MonthlyStatement :many
SELECT
    CAST(extract(year FROM le.created_at) AS integer) AS statement_year,
    extract(month FROM le.created_at)::integer AS statement_month,
    count(*) AS entry_count,
    sum(le.amount) AS net_change,
    min(le.balance_after) AS lowest_balance,
    max(le.balance_after) AS highest_balance
FROM ledger_entries le
WHERE le.account_id = @account_id
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: GetCustomerOverview :one
SELECT
    c.id,
    upper(c.country) AS country,
    array_agg(a.id ORDER BY a.created_at) AS account_ids,
    string_agg(DISTINCT a.currency::text, ', ') AS currencies,
    (SELECT count(*) FROM api_keys k WHERE k.customer_id = c.id AND k.revoked_at IS NULL) AS active_api_keys,
    greatest(max(a.updated_at), c.updated_at) AS last_activity_at
FROM customers c
INNER JOIN accounts a ON a.customer_id = c.id
WHERE c.id = @id
GROUP BY c.id;

-- name: ListAccountActivity :many
-- One feed of transfers, holds and audit events; audit events carry no
-- reference id or amount.
SELECT 'transfer' AS kind, t.id AS ref_id, t.amount, t.created_at
FROM transfers t
WHERE t.from_account_id = @account_id OR t.to_account_id = @account_id
UNION ALL
SELECT 'hold', h.id, h.amount, h.created_at
FROM holds h
WHERE h.account_id = @account_id
UNION ALL
SELECT 'audit:' || al.action, NULL, NULL, al.created_at
FROM audit_log al
WHERE al.entity_type = 'account' AND al.entity_id = @account_id
ORDER BY created_at DESC
LIMIT @page_size;

-- name: ClassifyAccounts :many
SELECT
    ab.account_id,
    ab.available,
    CASE
        WHEN ab.available < 0 THEN 'overdrawn'
        WHEN ab.available = 0 THEN 'empty'
        ELSE 'funded'
    END AS balance_state,
    CASE ab.status
        WHEN 'frozen' THEN 'compliance'
        WHEN 'suspended' THEN 'risk'
    END AS review_queue,
    greatest(ab.available, 0) AS withdrawable,
    least(ab.held, ab.balance) AS effectively_held
FROM account_balances ab
WHERE ab.customer_id = @customer_id
ORDER BY ab.available;

-- name: ListUnusualTransfers :many
-- Transfers larger than twice their source account's 30-day average.
WITH stats AS (
    SELECT from_account_id AS account_id, avg(amount) AS avg_amount
    FROM transfers
    WHERE from_account_id IS NOT NULL
      AND created_at >= now() - INTERVAL '30 days'
    GROUP BY from_account_id
)
SELECT
    t.id,
    t.from_account_id,
    t.amount,
    s.avg_amount,
    t.amount / s.avg_amount AS ratio
FROM transfers t
INNER JOIN stats s ON s.account_id = t.from_account_id
WHERE t.amount > s.avg_amount * 2
  AND t.created_at >= @since
ORDER BY ratio DESC;

-- name: ListBalancesConverted :many
-- Balances converted at a caller-supplied rate, rounded to the source
-- currency's minor units.
SELECT
    a.id,
    a.currency,
    a.balance,
    round(a.balance * @fx_rate::numeric, cur.minor_units) AS converted_balance
FROM accounts a
INNER JOIN currencies cur ON cur.code = a.currency
WHERE a.customer_id = @customer_id
ORDER BY a.created_at;
