ALTER TABLE accounts ALTER COLUMN metadata DROP NOT NULL;
ALTER TABLE accounts ALTER COLUMN metadata DROP DEFAULT;

ALTER TABLE accounts DROP COLUMN updated_at;
ALTER TABLE accounts DROP COLUMN overdraft_limit;

ALTER TABLE accounts RENAME COLUMN display_name TO label;

DROP TABLE audit_log;
DROP TABLE holds;

DROP DOMAIN positive_amount;
