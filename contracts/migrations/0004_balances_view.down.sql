DROP INDEX transfers_status_idx;
DROP VIEW account_balances;

ALTER TABLE ledger_entries ALTER COLUMN balance_after DROP NOT NULL;
ALTER TABLE currencies ALTER COLUMN minor_units DROP DEFAULT;
ALTER TABLE transfers DROP COLUMN fee;

UPDATE customers SET country = 'ZZ' WHERE country IS NULL;
ALTER TABLE customers ALTER COLUMN country SET NOT NULL;
