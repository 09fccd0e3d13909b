// Arrays whose elements may be NULL (tests/fixtures/generate/array_elements): the
// generated row holds them as []*T, so a NULL element reads as nil where []T could not
// hold it, against PostgreSQL.

package clients

import (
	"context"
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
