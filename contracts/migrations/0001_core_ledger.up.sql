-- Core ledger: currencies, customers, accounts, transfers and ledger entries.

CREATE TYPE account_status AS ENUM ('pending', 'active', 'frozen', 'closed');

CREATE TYPE transfer_status AS ENUM ('pending', 'posted', 'failed');

CREATE TABLE currencies (
    code        char(3)     PRIMARY KEY,
    name        text        NOT NULL,
    minor_units smallint    NOT NULL,
    active      boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (code ~ '^[A-Z]{3}$'),
    CHECK (minor_units BETWEEN 0 AND 4)
);

CREATE TABLE customers (
    id         uuid         PRIMARY KEY DEFAULT gen_random_uuid(),
    email      text         NOT NULL UNIQUE,
    full_name  varchar(120) NOT NULL,
    country    char(2)      NOT NULL,
    created_at timestamptz  NOT NULL DEFAULT now(),
    updated_at timestamptz  NOT NULL DEFAULT now()
);

CREATE TABLE accounts (
    id            uuid           PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id   uuid           NOT NULL REFERENCES customers (id),
    currency      char(3)        NOT NULL REFERENCES currencies (code),
    label         text,
    status        account_status NOT NULL DEFAULT 'pending',
    balance       numeric(20,4)  NOT NULL DEFAULT 0,
    metadata      jsonb,
    tags          text[]         NOT NULL DEFAULT '{}',
    legacy_number text,
    version       integer        NOT NULL DEFAULT 1,
    created_at    timestamptz    NOT NULL DEFAULT now(),
    closed_at     timestamptz
);

-- A transfer moves money between two accounts. Deposits have no source
-- account and withdrawals have no destination account.
CREATE TABLE transfers (
    id              uuid            PRIMARY KEY DEFAULT gen_random_uuid(),
    from_account_id uuid            REFERENCES accounts (id),
    to_account_id   uuid            REFERENCES accounts (id),
    amount          numeric(20,4)   NOT NULL CHECK (amount > 0),
    currency        char(3)         NOT NULL REFERENCES currencies (code),
    status          transfer_status NOT NULL DEFAULT 'pending',
    reference       varchar(140),
    idempotency_key text            UNIQUE,
    created_at      timestamptz     NOT NULL DEFAULT now(),
    posted_at       timestamptz,
    CHECK (from_account_id IS NOT NULL OR to_account_id IS NOT NULL),
    CHECK (from_account_id IS DISTINCT FROM to_account_id)
);

-- Double-entry postings: a signed amount per account, one or two per transfer.
CREATE TABLE ledger_entries (
    id            bigint        GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    uuid          NOT NULL REFERENCES accounts (id),
    transfer_id   uuid          REFERENCES transfers (id),
    amount        numeric(20,4) NOT NULL,
    balance_after numeric(20,4),
    created_at    timestamptz   NOT NULL DEFAULT now()
);

CREATE INDEX accounts_customer_id_idx ON accounts (customer_id);
CREATE INDEX transfers_created_at_id_idx ON transfers (created_at DESC, id DESC);
CREATE INDEX ledger_entries_account_id_created_at_idx ON ledger_entries (account_id, created_at);
