DROP TABLE ledger_entries;
DROP TABLE transfers;
DROP TABLE accounts;
DROP TABLE customers;
DROP TABLE currencies;
DROP TYPE transfer_status;
DROP TYPE account_status;
