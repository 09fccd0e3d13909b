-- name: EnqueueTransferEvent :one
-- Writes the outbox event for a transfer, built from its current state.
INSERT INTO outbox_events (aggregate_type, aggregate_id, event_type, payload)
SELECT
    'transfer',
    t.id,
    'transfer.' || t.status::text,
    jsonb_build_object(
        'transfer_id', t.id,
        'amount', t.amount::text,
        'currency', t.currency,
        'posted_at', t.posted_at
    )
FROM transfers t
WHERE t.id = @transfer_id
RETURNING *;

-- name: ClaimOutboxEvents :many
-- Claims a batch of unpublished events; concurrent workers skip each
-- other's rows.
WITH claimed AS (
    UPDATE outbox_events
    SET attempts = attempts + 1
    WHERE id IN (
        SELECT id
        FROM outbox_events
        WHERE published_at IS NULL AND attempts < @max_attempts
        ORDER BY created_at
        LIMIT @batch_size
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id, aggregate_id, event_type, payload, attempts, created_at
)
SELECT
    claimed.id,
    claimed.aggregate_id,
    claimed.event_type,
    claimed.payload,
    claimed.payload ->> 'currency' AS currency,
    claimed.attempts
FROM claimed
ORDER BY claimed.created_at;

-- name: MarkEventsPublished :exec
UPDATE outbox_events
SET published_at = now()
WHERE id = ANY(@ids::uuid[]);

-- name: UpsertWebhookEndpoint :one
INSERT INTO webhook_endpoints (customer_id, url, secret, event_types)
VALUES (@customer_id, @url, @secret, @event_types)
ON CONFLICT (customer_id, url) DO UPDATE
SET secret = EXCLUDED.secret,
    event_types = EXCLUDED.event_types,
    active = true
RETURNING *;

-- name: ListEndpointsForEvent :many
SELECT id, url, secret
FROM webhook_endpoints
WHERE customer_id = @customer_id
  AND active
  AND @event_type::text = ANY(event_types);

-- name: RecordDelivery :exec
INSERT INTO webhook_deliveries (endpoint_id, event_id, status_code, response_body, duration_ms)
VALUES (@endpoint_id, @event_id, sqlc.narg(status_code), sqlc.narg(response_body), @duration_ms);

-- name: GetDeliveryStats :many
-- Every endpoint of the customer, including those never called.
SELECT
    e.id AS endpoint_id,
    e.url,
    count(d.id) AS deliveries,
    sum(CASE WHEN d.status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS succeeded,
    avg(d.duration_ms) AS avg_duration_ms,
    max(d.duration_ms) / 1000.0 AS max_duration_seconds,
    min(d.attempted_at) AS first_attempt_at
FROM webhook_deliveries d
RIGHT JOIN webhook_endpoints e ON e.id = d.endpoint_id
WHERE e.customer_id = @customer_id
GROUP BY e.id, e.url
ORDER BY e.url;

-- name: InsertAuditLog :exec
INSERT INTO audit_log (actor, action, entity_type, entity_id, payload)
VALUES (@actor, @action, @entity_type, sqlc.narg(entity_id), @payload);

-- name: ListAuditLog :many
SELECT id, actor, action, payload ->> 'reason' AS reason, created_at
FROM audit_log
WHERE entity_type = @entity_type
  AND entity_id = @entity_id
ORDER BY created_at DESC, id DESC
LIMIT @page_size;
