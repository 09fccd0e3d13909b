// Arrays whose elements may be NULL (tests/fixtures/generate/array_elements): the
// generated row holds them as []*T, so a NULL element reads as nil where []T could not
// hold it, against PostgreSQL. Multidimensional arrays are pgtype.Array[T]: elements,
// dimensions and lower bounds.

package clients

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"example.com/shelves/shelves"
	"github.com/jackc/pgx/v5/pgtype"
)

// texts spells a []*string with "<nil>" for a NULL element, to compare it as a whole.
func texts(xs []*string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = "<nil>"
		if x != nil {
			out[i] = *x
		}
	}
	return out
}

func TestNullArrayElementsReadAsNil(t *testing.T) {
	ctx := context.Background()
	_, conn := fixtureDB(t, "array_elements")
	q := shelves.New(conn)
	bio := "writes"
	ann, err := q.AddAuthor(ctx, "Ann", nil)
	if err != nil {
		t.Fatal(err)
	}
	bo, err := q.AddAuthor(ctx, "Bo", &bio)
	if err != nil {
		t.Fatal(err)
	}
	pages := int32(320)
	for _, b := range []shelves.AddBookParams{
		{AuthorID: ann, Title: "One", Pages: &pages},
		{AuthorID: ann, Title: "Two", Loan: pgtype.Interval{Days: 14, Valid: true}},
	} {
		if err := q.AddBook(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := q.Shelves(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].ID != ann || rows[1].ID != bo {
		t.Fatalf("rows %+v", rows)
	}
	a, b := rows[0], rows[1]
	check := func(what string, got, want []string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %q, want %q", what, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: %q, want %q", what, got, want)
			}
		}
	}
	check("Ann's titles", texts(a.Titles), []string{"One", "Two"})
	check("Ann's name and bio", texts(a.NameAndBio), []string{"Ann", "<nil>"})
	check("Ann's known titles", a.KnownTitles, []string{"One", "Two"})
	if len(a.Pages) != 2 || a.Pages[0] == nil || *a.Pages[0] != 320 || a.Pages[1] != nil {
		t.Fatalf("Ann's pages %v", a.Pages)
	}
	if len(a.Loans) != 2 || a.Loans[0].Valid || !a.Loans[1].Valid || a.Loans[1].Days != 14 {
		t.Fatalf("Ann's loans %+v", a.Loans)
	}
	// Bo has no book: the LEFT JOIN's one row aggregates to {NULL}.
	check("Bo's titles", texts(b.Titles), []string{"<nil>"})
	if len(b.Pages) != 1 || b.Pages[0] != nil {
		t.Fatalf("Bo's pages %v", b.Pages)
	}
	if len(b.Loans) != 1 || b.Loans[0].Valid {
		t.Fatalf("Bo's loans %+v", b.Loans)
	}
	check("Bo's known titles", b.KnownTitles, []string{})
	check("Bo's name and bio", texts(b.NameAndBio), []string{"Bo", "writes"})

	// Through a view whose query builds the array.
	viewed, err := q.TitlesFromView(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(viewed) != 2 {
		t.Fatalf("view rows %+v", viewed)
	}
	check("Ann's titles through the view", texts(viewed[0].Titles), []string{"One", "Two"})
	check("Bo's titles through the view", texts(viewed[1].Titles), []string{"<nil>"})
}

// rackJSON is a layout as encoding/json writes a pgtype.Array[int32]; the Rust test
// reads the same text (tests/clients/rust/tests/array_elements.rs).
const rackJSON = `{"Elements":[1,2,3,4,5,6],"Dims":[{"Length":2,"LowerBound":1},{"Length":3,"LowerBound":1}],"Valid":true}`

func TestMultidimensionalArraysKeepTheirDimensions(t *testing.T) {
	ctx := context.Background()
	_, conn := fixtureDB(t, "array_elements")
	q := shelves.New(conn)
	dims := func(d ...int32) []pgtype.ArrayDimension {
		out := make([]pgtype.ArrayDimension, len(d)/2)
		for i := range out {
			out[i] = pgtype.ArrayDimension{Length: d[2*i], LowerBound: d[2*i+1]}
		}
		return out
	}
	layout := pgtype.Array[int32]{Elements: []int32{1, 2, 3, 4, 5, 6}, Dims: dims(2, 1, 3, 1), Valid: true}
	first, err := q.AddRack(ctx, layout, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A text[][] column holds a one-dimensional array with lower bound 0 as well.
	labels := pgtype.Array[string]{Elements: []string{"top", "é"}, Dims: dims(2, 0), Valid: true}
	empty := pgtype.Array[int32]{Elements: []int32{}, Dims: []pgtype.ArrayDimension{}, Valid: true}
	second, err := q.AddRack(ctx, empty, &labels)
	if err != nil {
		t.Fatal(err)
	}
	// The server prints what the client wrote.
	for id, want := range map[int64]string{first: "{{1,2,3},{4,5,6}}|<null>", second: "{}|[0:1]={top,é}"} {
		var got string
		if err := conn.QueryRow(ctx, "SELECT layout::text || '|' || COALESCE(labels::text, '<null>') FROM racks WHERE id = $1", id).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("rack %d as the server prints it: %q, want %q", id, got, want)
		}
	}
	row, err := q.Rack(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(row.Layout, layout) || row.Labels != nil {
		t.Fatalf("first rack %+v", row)
	}
	one, two := int32(1), int32(2)
	if len(row.Corners.Elements) != 4 || *row.Corners.Elements[0] != 1 || row.Corners.Elements[1] != nil ||
		*row.Corners.Elements[2] != one || *row.Corners.Elements[3] != two ||
		!reflect.DeepEqual(row.Corners.Dims, dims(2, 1, 2, 1)) {
		t.Fatalf("corners %+v", row.Corners)
	}
	text, err := json.Marshal(row.Layout)
	if err != nil {
		t.Fatal(err)
	}
	if string(text) != rackJSON {
		t.Fatalf("layout as JSON: %s\nwant %s", text, rackJSON)
	}
	row, err = q.Rack(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	if row.Labels == nil || !reflect.DeepEqual(*row.Labels, labels) || len(row.Layout.Elements) != 0 || !row.Layout.Valid {
		t.Fatalf("second rack %+v", row)
	}
	// layout[1][1] of an empty array is NULL.
	if row.Corners.Elements[0] != nil {
		t.Fatalf("corners of an empty layout %+v", row.Corners)
	}
}

// shiftsJSON and firstShiftsJSON are a rack's shifts as encoding/json writes the
// Go client's pgtype.Array[pgtype.Interval]; the Rust test (array_elements.rs) reads
// these very texts and writes them back.
const (
	shiftsJSON      = `{"Elements":[{"Microseconds":3,"Days":2,"Months":1,"Valid":true},{"Microseconds":-5,"Days":0,"Months":0,"Valid":true},{"Microseconds":7200000000,"Days":0,"Months":0,"Valid":true},{"Microseconds":86400000000,"Days":0,"Months":-14,"Valid":true}],"Dims":[{"Length":2,"LowerBound":0},{"Length":2,"LowerBound":1}],"Valid":true}`
	firstShiftsJSON = `{"Elements":[{"Microseconds":7200000000,"Days":0,"Months":0,"Valid":true},{"Microseconds":0,"Days":1,"Months":0,"Valid":true}],"Dims":[{"Length":2,"LowerBound":1},{"Length":1,"LowerBound":1}],"Valid":true}`
)

func TestMultidimensionalIntervalArraysKeepTheirDimensions(t *testing.T) {
	ctx := context.Background()
	_, conn := fixtureDB(t, "array_elements")
	q := shelves.New(conn)
	layout := pgtype.Array[int32]{Elements: []int32{}, Dims: []pgtype.ArrayDimension{}, Valid: true}
	id, err := q.AddRack(ctx, layout, nil)
	if err != nil {
		t.Fatal(err)
	}
	iv := func(months, days int32, us int64) pgtype.Interval {
		return pgtype.Interval{Months: months, Days: days, Microseconds: us, Valid: true}
	}
	shifts := pgtype.Array[pgtype.Interval]{
		Elements: []pgtype.Interval{iv(1, 2, 3), iv(0, 0, -5), iv(0, 0, 7_200_000_000), iv(-14, 0, 86_400_000_000)},
		Dims:     []pgtype.ArrayDimension{{Length: 2, LowerBound: 0}, {Length: 2, LowerBound: 1}},
		Valid:    true,
	}
	if err := q.SetRackShifts(ctx, &shifts, id); err != nil {
		t.Fatal(err)
	}
	// The server holds what the client wrote.
	var dims string
	var second, last bool
	if err := conn.QueryRow(ctx, "SELECT array_dims(shifts), shifts[0][2] = interval '-5 microseconds', "+
		"shifts[1][2] = interval '-1 year -2 months 24 hours' FROM racks WHERE id = $1", id).Scan(&dims, &second, &last); err != nil {
		t.Fatal(err)
	}
	if dims != "[0:1][1:2]" || !second || !last {
		t.Fatalf("the server holds dims %s, [0][2] as written %v, [1][2] as written %v", dims, second, last)
	}
	row, err := q.RackShifts(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if row.Shifts == nil || !reflect.DeepEqual(*row.Shifts, shifts) {
		t.Fatalf("shifts %+v", row.Shifts)
	}
	for _, c := range []struct {
		v    any
		want string
	}{{row.Shifts, shiftsJSON}, {row.FirstShifts, firstShiftsJSON}} {
		text, err := json.Marshal(c.v)
		if err != nil {
			t.Fatal(err)
		}
		if string(text) != c.want {
			t.Fatalf("as JSON: %s\nwant %s", text, c.want)
		}
	}
	// NULL shifts: the first corner is a NULL element.
	if err := q.SetRackShifts(ctx, nil, id); err != nil {
		t.Fatal(err)
	}
	row, err = q.RackShifts(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if row.Shifts != nil || len(row.FirstShifts.Elements) != 2 || row.FirstShifts.Elements[0].Valid || row.FirstShifts.Elements[1] != iv(0, 1, 0) {
		t.Fatalf("without shifts %+v", row)
	}
}
