// Command roundtrip echoes rows of the kitchen-sink fixture through the generated Go
// client: for every id given, it reads the sample and inserts the values it read as a
// new sample, then prints, per id, the new id and the row's wire message (hex of its
// protobuf bytes) as a JSON array. The Rust test tests/clients/rust/tests/roundtrip.rs
// writes the originals from Rust and checks that the echoes hold identical values, read
// back from Rust, and that Go's wire bytes are the bytes Rust writes for the same row.
//
// Before printing a message it checks that the way back loses nothing: the row
// FromWire makes of the decoded bytes writes the very same bytes again.
//
// With `lists HEX`, it decodes an EchoListsRow message written by the Rust client,
// sends its lists through the EchoLists query and prints the hex of the row the server
// returned, as Go writes it.
package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"example.com/kitchen/kitchen"
	"example.com/kitchen/kitchen/wire"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
)

// echo is what the command reports of one sample.
type echo struct {
	ID   int64  `json:"id"`
	Wire string `json:"wire"`
}

// wireBytes converts a row to its message and encodes it, then checks that decoding
// and converting back gives a row that encodes to the same bytes.
func wireBytes(s kitchen.GetSampleRow) ([]byte, error) {
	enc := proto.MarshalOptions{Deterministic: true}
	b, err := enc.Marshal(s.ToWire())
	if err != nil {
		return nil, err
	}
	var m wire.GetSampleRow
	if err := proto.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	back, err := kitchen.GetSampleRowFromWire(&m)
	if err != nil {
		return nil, fmt.Errorf("back from the wire: %w", err)
	}
	again, err := enc.Marshal(back.ToWire())
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, b) {
		return nil, fmt.Errorf("the way back changes the message:\n%x\n%x", b, again)
	}
	return b, nil
}

func main() {
	if len(os.Args) < 2 || os.Getenv("DATABASE_URL") == "" {
		fmt.Fprintln(os.Stderr, "usage: DATABASE_URL=... roundtrip ID...")
		os.Exit(2)
	}
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		fail(err)
	}
	cfg.AfterConnect = kitchen.RegisterTypes
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		fail(err)
	}
	defer pool.Close()
	q := kitchen.New(pool)
	if os.Args[1] == "lists" && len(os.Args) == 3 {
		out, err := echoLists(ctx, q, os.Args[2])
		if err != nil {
			fail(err)
		}
		fmt.Println(out)
		return
	}
	var echoed []echo
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
		b, err := wireBytes(s)
		if err != nil {
			fail(fmt.Errorf("sample %d on the wire: %w", id, err))
		}
		echoed = append(echoed, echo{ID: row.ID, Wire: hex.EncodeToString(b)})
	}
	if err := json.NewEncoder(os.Stdout).Encode(echoed); err != nil {
		fail(err)
	}
}

// echoLists reads an EchoListsRow message, runs EchoLists with its lists and writes
// the returned row's message.
func echoLists(ctx context.Context, q *kitchen.Queries, in string) (string, error) {
	b, err := hex.DecodeString(in)
	if err != nil {
		return "", err
	}
	var m wire.EchoListsRow
	if err := proto.Unmarshal(b, &m); err != nil {
		return "", err
	}
	r, err := kitchen.EchoListsRowFromWire(&m)
	if err != nil {
		return "", err
	}
	row, err := q.EchoLists(ctx, kitchen.EchoListsParams{Moods: r.Moods, Stamps: r.Stamps, Refs: r.Refs, Spans: r.Spans})
	if err != nil {
		return "", fmt.Errorf("EchoLists: %w", err)
	}
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(row.ToWire())
	return hex.EncodeToString(out), err
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "roundtrip:", err)
	os.Exit(1)
}
