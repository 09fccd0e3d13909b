-- Customer-facing integration: API keys, webhook endpoints and the
-- transactional outbox that feeds them.

ALTER TYPE account_status ADD VALUE 'suspended' AFTER 'active';

CREATE TABLE api_keys (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id  uuid        NOT NULL REFERENCES customers (id),
    prefix       text        NOT NULL UNIQUE,
    key_hash     bytea       NOT NULL,
    scopes       text[]      NOT NULL DEFAULT '{}',
    last_used_at timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_endpoints (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id uuid        NOT NULL REFERENCES customers (id),
    url         text        NOT NULL,
    secret      text        NOT NULL,
    event_types text[]      NOT NULL DEFAULT '{}',
    active      boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (customer_id, url)
);

CREATE TABLE outbox_events (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    aggregate_type text        NOT NULL,
    aggregate_id   uuid        NOT NULL,
    event_type     text        NOT NULL,
    payload        jsonb       NOT NULL,
    attempts       integer     NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    published_at   timestamptz
);

CREATE TABLE webhook_deliveries (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    endpoint_id   uuid        NOT NULL REFERENCES webhook_endpoints (id),
    event_id      uuid        NOT NULL REFERENCES outbox_events (id),
    status_code   integer,
    response_body text,
    duration_ms   double precision,
    attempted_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE transfers RENAME COLUMN reference TO description;
ALTER TABLE customers ALTER COLUMN full_name TYPE text;
ALTER TABLE accounts DROP COLUMN legacy_number;

CREATE INDEX outbox_events_unpublished_idx ON outbox_events (created_at) WHERE published_at IS NULL;
