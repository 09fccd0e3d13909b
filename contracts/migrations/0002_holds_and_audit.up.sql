-- Holds reserve funds on an account; the audit log records every change.

CREATE DOMAIN positive_amount AS numeric(20,4) CHECK (VALUE > 0);

CREATE TABLE holds (
    id          uuid            PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id  uuid            NOT NULL REFERENCES accounts (id),
    transfer_id uuid            REFERENCES transfers (id),
    amount      positive_amount NOT NULL,
    reason      text            NOT NULL DEFAULT 'authorization',
    expires_at  timestamptz     NOT NULL,
    released_at timestamptz,
    created_at  timestamptz     NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor       text        NOT NULL,
    action      text        NOT NULL,
    entity_type text        NOT NULL,
    entity_id   uuid,
    payload     jsonb       NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE accounts RENAME COLUMN label TO display_name;

ALTER TABLE accounts ADD COLUMN overdraft_limit numeric(20,4) NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

UPDATE accounts SET metadata = '{}' WHERE metadata IS NULL;
ALTER TABLE accounts ALTER COLUMN metadata SET DEFAULT '{}';
ALTER TABLE accounts ALTER COLUMN metadata SET NOT NULL;

CREATE INDEX holds_account_id_idx ON holds (account_id) WHERE released_at IS NULL;
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id, created_at);
