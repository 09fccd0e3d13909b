module sqlpact.test/clients

go 1.25.0

require (
	example.com/kitchen v0.0.0-00010101000000-000000000000
	example.com/ledgerservice v0.0.0
	example.com/shelves v0.0.0-00010101000000-000000000000
	github.com/google/uuid v1.6.0
	github.com/jackc/pgx/v5 v5.12.0
	github.com/shopspring/decimal v1.6.0
	github.com/sqlpact/sqlpact/runtime/go v0.0.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)

replace example.com/ledgerservice => ../../../contracts/gen/go

replace example.com/kitchen => ../../fixtures/generate/kitchen_sink/gen/go

replace example.com/shelves => ../../fixtures/generate/array_elements/gen/go

replace github.com/sqlpact/sqlpact/runtime/go => ../../../runtime/go
