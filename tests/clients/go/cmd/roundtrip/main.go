// Command roundtrip echoes rows of the kitchen-sink fixture through the generated Go
// client: for every id given, it reads the sample and inserts the values it read as a
// new sample, then prints the new ids as a JSON array. The Rust test
// tests/clients/rust/tests/roundtrip.rs writes the originals from Rust and checks that
// the echoes hold identical values, read back from Rust.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"example.com/kitchen/kitchen"
	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	if len(os.Args) < 2 || os.Getenv("DATABASE_URL") == "" {
		fmt.Fprintln(os.Stderr, "usage: DATABASE_URL=... roundtrip ID...")
		os.Exit(2)
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		fail(err)
	}
	defer pool.Close()
	q := kitchen.New(pool)
	var echoed []int64
	for _, arg := range os.Args[1:] {
		id, err := strconv.ParseInt(arg, 10, 64)
		if err != nil {
			fail(err)
		}
		s, err := q.GetSample(ctx, id)
		if err != nil {
			fail(fmt.Errorf("GetSample(%d): %w", id, err))
		}
		row, err := q.InsertSample(ctx, kitchen.InsertSampleParams{
			Flag: s.Flag, Small: s.Small, Medium: s.Medium, Big: s.Big, Ratio4: s.Ratio4,
			Ratio8: s.Ratio8, Amount: s.Amount, Note: s.Note, Label: s.Label, Code: s.Code,
			Blob: s.Blob, Ref: s.Ref, Day: s.Day, AtTime: s.AtTime, Stamp: s.Stamp,
			StampTz: s.StampTz, Span: s.Span, Doc: s.Doc, Docb: s.Docb, Addr: s.Addr,
			Net: s.Net, Mac: s.Mac, Scores: s.Scores, Words: s.Words, Feeling: s.Feeling,
			MaybeMood: s.MaybeMood, Pct: s.Pct, Type: s.Type, Fn: s.Fn, Self: s.Self,
			Range: s.Range,
		})
		if err != nil {
			fail(fmt.Errorf("InsertSample echo of %d: %w", id, err))
		}
		echoed = append(echoed, row.ID)
	}
	if err := json.NewEncoder(os.Stdout).Encode(echoed); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "roundtrip:", err)
	os.Exit(1)
}
