package clients

// Policies written in the registry take effect in the generated Go client run on the
// runtime (tests/fixtures/generate/kitchen_sink/sqlpact.yaml): a timeout, a retry
// limit, idempotent: false, expect_one_row and an idempotency key. The Rust client is
// held to the same in tests/clients/rust/tests/policies.rs.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"example.com/kitchen/kitchen"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	sqlpact "github.com/sqlpact/sqlpact/runtime/go"
)

// kitchenDB creates a database with the kitchen-sink schema; it is dropped when the
// test ends.
func kitchenDB(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	return fixtureDB(t, "kitchen_sink")
}

// fixtureDB creates a database with the schema of a fixture under
// tests/fixtures/generate; it is dropped when the test ends.
func fixtureDB(t *testing.T, fixture string) (string, *pgx.Conn) {
	t.Helper()
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		t.Fatal("DATABASE_URL is not set: run the tests through scripts/test.sh")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("sqlpact_%s_go_%d_%d", fixture, os.Getpid(), scratchCount.Add(1))
	for _, sql := range []string{"DROP DATABASE IF EXISTS " + name, "CREATE DATABASE " + name} {
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("postgresql://%s:%s@%s:%d/%s", cfg.User, cfg.Password, cfg.Host, cfg.Port, name)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close(ctx)
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = admin.Close(ctx)
	})
	schema, err := os.ReadFile("../../fixtures/generate/" + fixture + "/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, string(schema)); err != nil {
		t.Fatal(err)
	}
	return url, conn
}

func asError(t *testing.T, err error) *sqlpact.Error {
	t.Helper()
	var e *sqlpact.Error
	if !errors.As(err, &e) {
		t.Fatalf("not a *sqlpact.Error: %v", err)
	}
	return e
}

func TestRegistryPoliciesTakeEffectThroughTheRuntime(t *testing.T) {
	ctx := context.Background()
	url, conn := kitchenDB(t)
	db, err := sqlpact.Open(ctx, kitchen.Policies, sqlpact.Options{Hosts: []string{url}, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	q := kitchen.New(db)

	// SlowEcho: { timeout: 200ms }.
	if r, err := q.SlowEcho(ctx, "hi", 0.01); err != nil || r.V != "hi" {
		t.Fatalf("SlowEcho: %+v %v", r, err)
	}
	start := time.Now()
	if _, err := q.SlowEcho(ctx, "late", 3); sqlpact.ClassOf(err) != sqlpact.ClassTimeout || time.Since(start) > 2*time.Second {
		t.Fatalf("SlowEcho past its timeout: %v after %v", err, time.Since(start))
	}

	// DropMyConnection: { idempotent: true, retry: twice }: retried, twice in all.
	_, err = q.DropMyConnection(ctx)
	if e := asError(t, err); e.Class != sqlpact.ClassServerShutdown || e.Attempts != 2 {
		t.Fatalf("DropMyConnection: %v (%+v)", err, e)
	}

	// DropMyConnectionOnce: { idempotent: false, retry: twice }: sent, so never again.
	_, err = q.DropMyConnectionOnce(ctx)
	if e := asError(t, err); !e.Ambiguous() || e.Attempts != 1 {
		t.Fatalf("DropMyConnectionOnce: %v (%+v)", err, e)
	}

	// BumpSampleVersion: { expect_one_row: true }.
	if _, err := q.BumpSampleVersion(ctx, 999, 1); sqlpact.ClassOf(err) != sqlpact.ClassConflict {
		t.Fatalf("BumpSampleVersion: %v", err)
	}

	// AddNoteOnce: { idempotency_key: body }.
	if err := db.InstallIdempotencyTable(ctx); err != nil {
		t.Fatal(err)
	}
	first, err := q.AddNoteOnce(ctx, pgtype.Int8{}, "note-1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := q.AddNoteOnce(ctx, pgtype.Int8{}, "note-1")
	if err != nil || again != first {
		t.Fatalf("replay: %+v %v; first %+v", again, err, first)
	}
	var n int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM notes").Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d notes (%v)", n, err)
	}
	if r := db.Stats().Replays; r != 1 {
		t.Fatalf("replays %d", r)
	}
}

// TestAPlainConnectionKeepsTheRowCountContract: without the runtime each statement is
// sent once, yet a write declared to affect one row still reports a conflict.
func TestAPlainConnectionKeepsTheRowCountContract(t *testing.T) {
	_, conn := kitchenDB(t)
	_, err := kitchen.New(conn).BumpSampleVersion(context.Background(), 999, 1)
	if sqlpact.ClassOf(err) != sqlpact.ClassConflict {
		t.Fatalf("%v", err)
	}
}

// A list of enum values is sent once the connection knows the enum's array type:
// the generated RegisterTypes, run by the runtime on every new connection. Without it
// pgx cannot encode the list, and the error says so.
func TestRegisterTypesLetsEnumListsThrough(t *testing.T) {
	ctx := context.Background()
	url, _ := kitchenDB(t)
	moods := []kitchen.Mood{kitchen.MoodHappy, kitchen.MoodSoSo}
	open := func(after func(context.Context, *pgx.Conn) error) *kitchen.Queries {
		db, err := sqlpact.Open(ctx, kitchen.Policies, sqlpact.Options{Hosts: []string{url}, Seed: 9, AfterConnect: after})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(db.Close)
		if err := db.Ready(ctx); err != nil {
			t.Fatal(err)
		}
		return kitchen.New(db)
	}
	if _, err := open(nil).EchoLists(ctx, kitchen.EchoListsParams{Moods: moods}); err == nil {
		t.Fatal("an enum list went through without its type registered: the test shows nothing")
	}
	row, err := open(kitchen.RegisterTypes).EchoLists(ctx, kitchen.EchoListsParams{Moods: moods, Refs: []uuid.UUID{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(row.Moods) != 2 || row.Moods[0] != kitchen.MoodHappy || row.Moods[1] != kitchen.MoodSoSo {
		t.Fatalf("moods back: %v", row.Moods)
	}
	if row.Stamps != nil || row.Refs == nil || len(row.Refs) != 0 {
		t.Fatalf("NULL and empty lists back: %#v, %#v", row.Stamps, row.Refs)
	}
}

// TestVoidCallsRunForTheirEffect: `:exec` queries of functions that return void
// (`pg_advisory_xact_lock`, `pg_notify`) take their lock and send their notification,
// whether on a plain transaction or through the runtime.
func TestVoidCallsRunForTheirEffect(t *testing.T) {
	ctx := context.Background()
	url, conn := kitchenDB(t)
	other, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	db, err := sqlpact.Open(ctx, kitchen.Policies, sqlpact.Options{Hosts: []string{url}, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	const key = 4242
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := kitchen.New(conn).WithTx(tx).HoldAdvisoryLock(ctx, key); err != nil {
		t.Fatal(err)
	}
	if locked, err := kitchen.New(other).TryAdvisoryLock(ctx, key); err != nil || locked {
		t.Fatalf("the lock held by the transaction was taken again: %v %v", locked, err)
	}
	if locked, err := kitchen.New(db).TryAdvisoryLock(ctx, key); err != nil || locked {
		t.Fatalf("through the runtime: the lock held by the transaction was taken again: %v %v", locked, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if locked, err := kitchen.New(db).TryAdvisoryLock(ctx, key); err != nil || !locked {
		t.Fatalf("the lock was not released with its transaction: %v %v", locked, err)
	}

	if _, err := other.Exec(ctx, "LISTEN kitchen_news"); err != nil {
		t.Fatal(err)
	}
	if err := kitchen.New(db).Announce(ctx, "kitchen_news", "soup is ready"); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := other.WaitForNotification(wait)
	if err != nil {
		t.Fatal(err)
	}
	if n.Channel != "kitchen_news" || n.Payload != "soup is ready" {
		t.Fatalf("notification %+v", n)
	}
}

func TestFunctionsInFromYieldTheirRows(t *testing.T) {
	ctx := context.Background()
	url, conn := kitchenDB(t)
	if _, err := conn.Exec(ctx, "INSERT INTO notes (body) VALUES ('soup: leek'), ('bread'), ('soup: pea')"); err != nil {
		t.Fatal(err)
	}
	db, err := sqlpact.Open(ctx, kitchen.Policies, sqlpact.Options{Hosts: []string{url}, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// `RETURNS TABLE (...)` selected from, numbered WITH ORDINALITY, through the
	// runtime (a STABLE function: a read) and over a plain connection.
	rows, err := kitchen.New(db).NotesMatching(ctx, "soup%")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Body.String != "soup: leek" || rows[0].N != 1 ||
		rows[1].Body.String != "soup: pea" || rows[1].N != 2 || rows[0].NoteID.Int64 >= rows[1].NoteID.Int64 {
		t.Fatalf("NotesMatching: %+v", rows)
	}
	if rows, err := kitchen.New(conn).NotesMatching(ctx, "tea%"); err != nil || len(rows) != 0 {
		t.Fatalf("no match: %+v %v", rows, err)
	}

	// jsonb_to_recordset's columns come from the column definition list; a key the
	// document leaves out is NULL.
	got, err := kitchen.New(db).NotesFromJSON(ctx, []byte(`[{"body": "a", "weight": 3}, {"body": "b"}]`))
	if err != nil {
		t.Fatal(err)
	}
	want := []kitchen.NotesFromJSONRow{
		{Body: pgtype.Text{String: "a", Valid: true}, Weight: pgtype.Int4{Int32: 3, Valid: true}},
		{Body: pgtype.Text{String: "b", Valid: true}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("NotesFromJSON: %+v, want %+v", got, want)
	}
}

// wholeRowsSQL seeds two samples, the first with two notes, the second with none.
const wholeRowsSQL = `
INSERT INTO samples (flag, small, big, ratio8, amount, label, ref, stamp_tz, docb, scores, feeling)
VALUES (true, 1, 1, 1, 1, 'a', gen_random_uuid(), now(), '{}', '{}', 'happy'),
       (true, 2, 2, 2, 2, 'b', gen_random_uuid(), now(), '{}', '{}', 'sad');
INSERT INTO notes (sample_id, body)
SELECT id, b FROM samples, (VALUES ('pea'), ('leek')) AS v (b) WHERE label = 'a';`

func TestWholeRowsAndRollupsKeepTheirNulls(t *testing.T) {
	ctx := context.Background()
	url, conn := kitchenDB(t)
	if _, err := conn.Exec(ctx, wholeRowsSQL); err != nil {
		t.Fatal(err)
	}
	db, err := sqlpact.Open(ctx, kitchen.Policies, sqlpact.Options{Hosts: []string{url}, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := kitchen.New(db)

	// A whole row as JSON; NULL on the side of the LEFT JOIN that matched nothing.
	rows, err := q.SampleNotesJSON(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, r := range rows {
		if r.Note == nil {
			bodies = append(bodies, "NULL")
			continue
		}
		var n struct {
			ID       int64  `json:"id"`
			SampleID int64  `json:"sample_id"`
			Body     string `json:"body"`
		}
		if err := json.Unmarshal(r.Note, &n); err != nil || n.SampleID != r.ID || n.ID == 0 {
			t.Fatalf("note %s of sample %d: %+v %v", r.Note, r.ID, n, err)
		}
		bodies = append(bodies, n.Body)
	}
	if fmt.Sprint(bodies) != "[pea leek NULL]" {
		t.Fatalf("SampleNotesJSON: %v", bodies)
	}

	// A group's rows collected by json_agg.
	groups, err := q.NotesBySampleJSON(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var notes []struct {
		Body string `json:"body"`
	}
	if len(groups) != 1 || !groups[0].SampleID.Valid || json.Unmarshal(groups[0].Notes, &notes) != nil ||
		fmt.Sprint(notes) != "[{pea} {leek}]" {
		t.Fatalf("NotesBySampleJSON: %+v", groups)
	}

	// ROLLUP's total row: the body it leaves out is NULL, GROUPING says so.
	totals, err := kitchen.New(conn).NoteTotals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []kitchen.NoteTotalsRow{
		{Body: pgtype.Text{String: "leek", Valid: true}, N: 1},
		{Body: pgtype.Text{String: "pea", Valid: true}, N: 1},
		{N: 2, Total: 1},
	}
	if fmt.Sprint(totals) != fmt.Sprint(want) {
		t.Fatalf("NoteTotals: %+v, want %+v", totals, want)
	}
}

func TestMergeUpdatesOrInserts(t *testing.T) {
	ctx := context.Background()
	url, conn := kitchenDB(t)
	db, err := sqlpact.Open(ctx, kitchen.Policies, sqlpact.Options{Hosts: []string{url}, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := kitchen.New(db)
	// No note has id 1000: the MERGE inserts one (its id comes from the identity).
	if n, err := q.SaveNote(ctx, 1000, "first"); err != nil || n != 1 {
		t.Fatalf("insert: %d %v", n, err)
	}
	var id int64
	if err := conn.QueryRow(ctx, "SELECT id FROM notes WHERE body = 'first'").Scan(&id); err != nil {
		t.Fatal(err)
	}
	// That id now matches: the MERGE updates the note in place.
	if n, err := q.SaveNote(ctx, id, "second"); err != nil || n != 1 {
		t.Fatalf("update: %d %v", n, err)
	}
	var bodies []string
	rows, err := conn.Query(ctx, "SELECT body FROM notes ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, b)
	}
	if rows.Err() != nil || fmt.Sprint(bodies) != "[second]" {
		t.Fatalf("notes: %v %v", bodies, rows.Err())
	}
}
