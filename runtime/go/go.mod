module github.com/sqlpact/sqlpact/runtime/go

go 1.25.0
