ALTER TABLE accounts ADD COLUMN legacy_number text;
ALTER TABLE customers ALTER COLUMN full_name TYPE varchar(120);
ALTER TABLE transfers RENAME COLUMN description TO reference;

DROP TABLE webhook_deliveries;
DROP TABLE outbox_events;
DROP TABLE webhook_endpoints;
DROP TABLE api_keys;

-- PostgreSQL cannot drop a value from an enum: rebuild the type without it.
UPDATE accounts SET status = 'frozen' WHERE status = 'suspended';
ALTER TYPE account_status RENAME TO account_status_old;
CREATE TYPE account_status AS ENUM ('pending', 'active', 'frozen', 'closed');
ALTER TABLE accounts ALTER COLUMN status DROP DEFAULT;
ALTER TABLE accounts ALTER COLUMN status TYPE account_status USING status::text::account_status;
ALTER TABLE accounts ALTER COLUMN status SET DEFAULT 'pending';
DROP TYPE account_status_old;
