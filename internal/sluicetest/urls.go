package sluicetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
)

// URLStore is a store of functions and of their URLs: the references
// between them are kept whole inside one store (see
// sluice.FunctionURLStore).
type URLStore interface {
	sluice.FunctionStore
	sluice.FunctionURLStore
}

// SampleURL returns a function URL configuration with every field set,
// CORS included, as a store must round-trip it. Times are at millisecond
// precision in UTC.
func SampleURL(function, qualifier, id string) *sluice.FunctionURLConfig {
	return &sluice.FunctionURLConfig{
		FunctionName: function,
		Qualifier:    qualifier,
		URLID:        id,
		AuthType:     sluice.URLAuthIAM,
		InvokeMode:   sluice.InvokeModeResponseStream,
		Cors: &sluice.Cors{
			AllowCredentials: true,
			AllowHeaders:     []string{"content-type", "x-custom-header"},
			AllowMethods:     []string{"GET", "POST"},
			AllowOrigins:     []string{"https://example.com", "http://localhost:5173"},
			ExposeHeaders:    []string{"x-ünïcode"},
			MaxAge:           300,
		},
		CreationTime:     time.Date(2024, 5, 17, 9, 30, 15, 123_000_000, time.UTC),
		LastModifiedTime: time.Date(2024, 5, 18, 10, 0, 0, 456_000_000, time.UTC),
	}
}

// URLID returns a URL id of the right shape made from n, for tests.
func URLID(n int) string {
	s := fmt.Sprintf("%032d", n)
	return strings.Map(func(r rune) rune { return 'a' + (r - '0') }, s)
}

// DiffURL describes how got differs from want, or returns "" when they are
// equal. Nil and empty Cors lists are equal; a nil and a non-nil Cors are
// not; times are compared as instants, and got's must be in UTC when
// want's are.
func DiffURL(want, got *sluice.FunctionURLConfig) string {
	switch {
	case want == nil && got == nil:
		return ""
	case want == nil:
		return fmt.Sprintf("got %+v, want nil", got)
	case got == nil:
		return "got nil URL config"
	}
	var d []string
	add := func(field string, w, g any) {
		d = append(d, fmt.Sprintf("%s: got %#v, want %#v", field, g, w))
	}
	if want.FunctionName != got.FunctionName {
		add("FunctionName", want.FunctionName, got.FunctionName)
	}
	if want.Qualifier != got.Qualifier {
		add("Qualifier", want.Qualifier, got.Qualifier)
	}
	if want.URLID != got.URLID {
		add("URLID", want.URLID, got.URLID)
	}
	if want.AuthType != got.AuthType {
		add("AuthType", want.AuthType, got.AuthType)
	}
	if want.InvokeMode != got.InvokeMode {
		add("InvokeMode", want.InvokeMode, got.InvokeMode)
	}
	for _, tm := range []struct {
		field     string
		want, got time.Time
	}{{"CreationTime", want.CreationTime, got.CreationTime}, {"LastModifiedTime", want.LastModifiedTime, got.LastModifiedTime}} {
		if !tm.want.Equal(tm.got) {
			add(tm.field, tm.want.Format(time.RFC3339Nano), tm.got.Format(time.RFC3339Nano))
		} else if tm.want.Location() == time.UTC && tm.got.Location() != time.UTC {
			d = append(d, fmt.Sprintf("%s: location %s, want UTC", tm.field, tm.got.Location()))
		}
	}
	switch w, g := want.Cors, got.Cors; {
	case w == nil && g != nil:
		add("Cors", w, g)
	case w != nil && g == nil:
		add("Cors", w, g)
	case w != nil:
		if w.AllowCredentials != g.AllowCredentials {
			add("Cors.AllowCredentials", w.AllowCredentials, g.AllowCredentials)
		}
		if w.MaxAge != g.MaxAge {
			add("Cors.MaxAge", w.MaxAge, g.MaxAge)
		}
		for _, l := range []struct {
			field     string
			want, got []string
		}{
			{"Cors.AllowHeaders", w.AllowHeaders, g.AllowHeaders},
			{"Cors.AllowMethods", w.AllowMethods, g.AllowMethods},
			{"Cors.AllowOrigins", w.AllowOrigins, g.AllowOrigins},
			{"Cors.ExposeHeaders", w.ExposeHeaders, g.ExposeHeaders},
		} {
			if !slices.Equal(l.want, l.got) {
				add(l.field, l.want, l.got)
			}
		}
	}
	return strings.Join(d, "; ")
}

// URLStoreSuite runs the contract tests of sluice.FunctionURLStore, and of
// its cascades from sluice.FunctionStore, as subtests of t. open must
// return a new, empty store for each subtest and arrange for it to be
// closed when the subtest ends.
func URLStoreSuite(t *testing.T, open func(t *testing.T) URLStore) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s URLStore)
	}{
		{"CRUD", testURLCRUD},
		{"NilAndEmptyCors", testURLNilAndEmptyCors},
		{"CreateNeedsFunctionAndAlias", testURLCreateNotFound},
		{"CreateConflicts", testURLCreateConflicts},
		{"NotFound", testURLNotFound},
		{"ListPaging", testURLListPaging},
		{"ReturnsCopies", testURLCopies},
		{"DeleteAliasCascades", testURLDeleteAliasCascades},
		{"DeleteFunctionCascades", testURLDeleteFunctionCascades},
		{"ConcurrentCreate", testURLConcurrentCreate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			if s == nil {
				t.Fatal("open returned a nil store")
			}
			tc.run(t, s)
		})
	}
}

// DurableURLStoreSuite checks that a URLStore keeps function URLs, their
// index by id and the effects of cascades across close and reopen of the
// same directory. open opens (creating if needed) the store kept in dir;
// closeStore closes it. The suite closes every store it opens.
func DurableURLStoreSuite(t *testing.T, open func(t *testing.T, dir string) URLStore, closeStore func(URLStore) error) {
	t.Helper()
	t.Run("SurvivesReopen", func(t *testing.T) {
		ctx := t.Context()
		dir := t.TempDir()
		// reopen opens the store in dir; it is closed by the returned
		// function or at the end of the test, once.
		reopen := func() (URLStore, func()) {
			s := open(t, dir)
			if s == nil {
				t.Fatal("open returned a nil store")
			}
			var once sync.Once
			closeNow := func() {
				once.Do(func() {
					if err := closeStore(s); err != nil {
						t.Errorf("close: %v", err)
					}
				})
			}
			t.Cleanup(closeNow)
			return s, closeNow
		}
		s, closeS := reopen()
		urls := urlFixture(t, s, "fn", "live", "old")
		live, old := urls[1], urls[2]
		updated := live.Clone()
		updated.AuthType = sluice.URLAuthNone
		updated.InvokeMode = sluice.InvokeModeBuffered
		updated.Cors = nil
		updated.LastModifiedTime = live.LastModifiedTime.Add(time.Hour)
		if _, err := s.UpdateFunctionURL(ctx, updated); err != nil {
			t.Fatalf("UpdateFunctionURL: %v", err)
		}
		if err := s.DeleteAlias(ctx, "fn", "old"); err != nil {
			t.Fatalf("DeleteAlias: %v", err)
		}
		mustCreate(t, s, SampleFunction("gone"))
		mustCreateURL(t, s, SampleURL("gone", "", URLID(99)))
		if err := s.DeleteFunction(ctx, "gone"); err != nil {
			t.Fatalf("DeleteFunction: %v", err)
		}
		closeS()

		s, _ = reopen()
		checkURL(t, s, urls[0])
		checkURL(t, s, updated)
		checkURLByID(t, s, updated)
		_, err := s.GetFunctionURL(ctx, "fn", "old")
		wantCode(t, err, sluice.ENotFound, "GetFunctionURL of a deleted alias after reopen")
		_, err = s.GetFunctionURLByID(ctx, old.URLID)
		wantCode(t, err, sluice.ENotFound, "GetFunctionURLByID of a deleted alias's URL after reopen")
		_, err = s.GetFunctionURLByID(ctx, URLID(99))
		wantCode(t, err, sluice.ENotFound, "GetFunctionURLByID of a deleted function's URL after reopen")
		checkURLKeys(t, s, "fn", "", 0, sluice.LatestVersion, "live")
	})
}

// urlFixture creates function fn with a URL (id URLID(1)) and, for each
// alias name, an alias with a URL (ids URLID(2), URLID(3), ...). It
// returns the URLs.
func urlFixture(t *testing.T, s URLStore, fn string, aliases ...string) []*sluice.FunctionURLConfig {
	t.Helper()
	mustCreate(t, s, SampleFunction(fn))
	u := SampleURL(fn, "", URLID(1))
	u.Cors = nil
	u.AuthType = sluice.URLAuthNone
	u.InvokeMode = ""
	mustCreateURL(t, s, u)
	urls := []*sluice.FunctionURLConfig{u}
	for i, a := range aliases {
		mustCreateAlias(t, s, SampleAlias(fn, a, sluice.LatestVersion))
		u := SampleURL(fn, a, URLID(i+2))
		mustCreateURL(t, s, u)
		urls = append(urls, u)
	}
	return urls
}

func testURLCRUD(t *testing.T, s URLStore) {
	ctx := t.Context()
	urls := urlFixture(t, s, "fn", "live")
	for _, u := range urls {
		checkURL(t, s, u)
		checkURLByID(t, s, u)
	}
	checkURLKeys(t, s, "fn", "", 0, sluice.LatestVersion, "live")

	// Update keeps the URL id and the creation time, whatever it is given.
	up := urls[1].Clone()
	up.URLID = URLID(42)
	up.CreationTime = up.CreationTime.Add(-time.Hour)
	up.AuthType = sluice.URLAuthNone
	up.InvokeMode = sluice.InvokeModeBuffered
	up.Cors.AllowOrigins = []string{"*"}
	up.Cors.MaxAge = 0
	up.LastModifiedTime = up.LastModifiedTime.Add(time.Minute)
	got, err := s.UpdateFunctionURL(ctx, up)
	if err != nil {
		t.Fatalf("UpdateFunctionURL: %v", err)
	}
	want := up.Clone()
	want.URLID = urls[1].URLID
	want.CreationTime = urls[1].CreationTime
	if d := DiffURL(want, got); d != "" {
		t.Errorf("UpdateFunctionURL returned: %s", d)
	}
	checkURL(t, s, want)
	checkURLByID(t, s, want)
	_, err = s.GetFunctionURLByID(ctx, URLID(42))
	wantCode(t, err, sluice.ENotFound, "GetFunctionURLByID of the id an update asked for")

	// Delete frees the id.
	if err := s.DeleteFunctionURL(ctx, "fn", "live"); err != nil {
		t.Fatalf("DeleteFunctionURL: %v", err)
	}
	_, err = s.GetFunctionURL(ctx, "fn", "live")
	wantCode(t, err, sluice.ENotFound, "GetFunctionURL after delete")
	_, err = s.GetFunctionURLByID(ctx, urls[1].URLID)
	wantCode(t, err, sluice.ENotFound, "GetFunctionURLByID after delete")
	checkURLKeys(t, s, "fn", "", 0, sluice.LatestVersion)
	again := SampleURL("fn", "live", urls[1].URLID)
	mustCreateURL(t, s, again)
	checkURLByID(t, s, again)

	// The unqualified URL is deleted with qualifier "".
	if err := s.DeleteFunctionURL(ctx, "fn", ""); err != nil {
		t.Fatalf("DeleteFunctionURL(fn, \"\"): %v", err)
	}
	checkURLKeys(t, s, "fn", "", 0, "live")
	checkURL(t, s, again)
}

func testURLNilAndEmptyCors(t *testing.T, s URLStore) {
	mustCreate(t, s, SampleFunction("fn"))
	u := SampleURL("fn", "", URLID(1))
	u.Cors = nil
	mustCreateURL(t, s, u)
	if got := checkURL(t, s, u); got != nil && got.Cors != nil {
		t.Errorf("Cors = %+v, want nil", got.Cors)
	}
	up := u.Clone()
	up.Cors = &sluice.Cors{}
	if _, err := s.UpdateFunctionURL(t.Context(), up); err != nil {
		t.Fatal(err)
	}
	if got := checkURL(t, s, up); got != nil && got.Cors == nil {
		t.Error("Cors = nil after storing an empty (non-nil) Cors")
	}
}

func testURLCreateNotFound(t *testing.T, s URLStore) {
	ctx := t.Context()
	wantCode(t, s.CreateFunctionURL(ctx, SampleURL("missing", "", URLID(1))), sluice.ENotFound, "CreateFunctionURL of a missing function")
	mustCreate(t, s, SampleFunction("fn"))
	wantCode(t, s.CreateFunctionURL(ctx, SampleURL("fn", "nope", URLID(1))), sluice.ENotFound, "CreateFunctionURL of a missing alias")
	// Nothing was left behind: the id is free.
	_, err := s.GetFunctionURLByID(ctx, URLID(1))
	wantCode(t, err, sluice.ENotFound, "GetFunctionURLByID after failed creates")
	mustCreateURL(t, s, SampleURL("fn", "", URLID(1)))
}

func testURLCreateConflicts(t *testing.T, s URLStore) {
	ctx := t.Context()
	urls := urlFixture(t, s, "fn", "live")
	wantCode(t, s.CreateFunctionURL(ctx, SampleURL("fn", "", URLID(7))), sluice.EConflict, "second URL of a function")
	wantCode(t, s.CreateFunctionURL(ctx, SampleURL("fn", "live", URLID(8))), sluice.EConflict, "second URL of an alias")
	mustCreate(t, s, SampleFunction("other"))
	wantCode(t, s.CreateFunctionURL(ctx, SampleURL("other", "", urls[1].URLID)), sluice.EConflict, "URL with an id in use")
	// The losers changed nothing.
	for _, u := range urls {
		checkURL(t, s, u)
		checkURLByID(t, s, u)
	}
	for _, id := range []string{URLID(7), URLID(8)} {
		_, err := s.GetFunctionURLByID(ctx, id)
		wantCode(t, err, sluice.ENotFound, "GetFunctionURLByID of a refused create's id")
	}
	_, err := s.GetFunctionURL(ctx, "other", "")
	wantCode(t, err, sluice.ENotFound, "GetFunctionURL of a refused create")
}

func testURLNotFound(t *testing.T, s URLStore) {
	ctx := t.Context()
	mustCreate(t, s, SampleFunction("fn"))
	mustCreateAlias(t, s, SampleAlias("fn", "live", sluice.LatestVersion))
	for _, c := range []struct{ fn, q string }{{"fn", ""}, {"fn", "live"}, {"missing", ""}, {"", ""}, {"fn", sluice.LatestVersion}} {
		_, err := s.GetFunctionURL(ctx, c.fn, c.q)
		wantCode(t, err, sluice.ENotFound, fmt.Sprintf("GetFunctionURL(%q, %q)", c.fn, c.q))
		wantCode(t, s.DeleteFunctionURL(ctx, c.fn, c.q), sluice.ENotFound, fmt.Sprintf("DeleteFunctionURL(%q, %q)", c.fn, c.q))
		if c.fn != "" {
			_, err = s.UpdateFunctionURL(ctx, SampleURL(c.fn, c.q, URLID(1)))
			wantCode(t, err, sluice.ENotFound, fmt.Sprintf("UpdateFunctionURL(%q, %q)", c.fn, c.q))
		}
	}
	for _, id := range []string{"", URLID(1), strings.Repeat("x", 5000)} {
		_, err := s.GetFunctionURLByID(ctx, id)
		wantCode(t, err, sluice.ENotFound, fmt.Sprintf("GetFunctionURLByID(%.10q)", id))
	}
	_, err := s.ListFunctionURLs(ctx, "missing", "", 0)
	wantCode(t, err, sluice.ENotFound, "ListFunctionURLs of a missing function")
	checkURLKeys(t, s, "fn", "", 0)
}

func testURLListPaging(t *testing.T, s URLStore) {
	urlFixture(t, s, "fn", "e", "a", "c", "b", "d")
	all := []string{sluice.LatestVersion, "a", "b", "c", "d", "e"}
	checkURLKeys(t, s, "fn", "", 0, all...)
	checkURLKeys(t, s, "fn", "", 2, all[:2]...)
	checkURLKeys(t, s, "fn", sluice.LatestVersion, 2, "a", "b")
	checkURLKeys(t, s, "fn", "b", 2, "c", "d")
	checkURLKeys(t, s, "fn", "d", 2, "e")
	checkURLKeys(t, s, "fn", "e", 2)
	checkURLKeys(t, s, "fn", "bb", 0, "c", "d", "e")
	// Pages chained by the last key return every URL once.
	var got []string
	for after := ""; ; {
		page, err := s.ListFunctionURLs(t.Context(), "fn", after, 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, u := range page {
			got = append(got, u.QualifierKey())
		}
		after = page[len(page)-1].QualifierKey()
	}
	if !slices.Equal(got, all) {
		t.Errorf("chained pages = %q, want %q", got, all)
	}
}

func testURLCopies(t *testing.T, s URLStore) {
	ctx := t.Context()
	mustCreate(t, s, SampleFunction("fn"))
	u := SampleURL("fn", "", URLID(1))
	want := u.Clone()
	if err := s.CreateFunctionURL(ctx, u); err != nil {
		t.Fatal(err)
	}
	mutateURL(u) // the caller's value is not the store's
	checkURL(t, s, want)

	got, err := s.GetFunctionURL(ctx, "fn", "")
	if err != nil {
		t.Fatal(err)
	}
	mutateURL(got)
	checkURL(t, s, want)
	byID, err := s.GetFunctionURLByID(ctx, want.URLID)
	if err != nil {
		t.Fatal(err)
	}
	mutateURL(byID)
	list, err := s.ListFunctionURLs(ctx, "fn", "", 0)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListFunctionURLs = %d, %v", len(list), err)
	}
	mutateURL(list[0])
	up := want.Clone()
	up.AuthType = sluice.URLAuthNone
	stored, err := s.UpdateFunctionURL(ctx, up)
	if err != nil {
		t.Fatal(err)
	}
	mutateURL(up)
	mutateURL(stored)
	want.AuthType = sluice.URLAuthNone
	checkURL(t, s, want)
}

func mutateURL(u *sluice.FunctionURLConfig) {
	u.AuthType = "MUTATED"
	u.InvokeMode = "MUTATED"
	if u.Cors != nil {
		u.Cors.MaxAge = 1
		for _, l := range [][]string{u.Cors.AllowHeaders, u.Cors.AllowMethods, u.Cors.AllowOrigins, u.Cors.ExposeHeaders} {
			for i := range l {
				l[i] = "mutated"
			}
		}
	}
}

func testURLDeleteAliasCascades(t *testing.T, s URLStore) {
	ctx := t.Context()
	urls := urlFixture(t, s, "fn", "live", "next")
	if err := s.DeleteAlias(ctx, "fn", "live"); err != nil {
		t.Fatalf("DeleteAlias: %v", err)
	}
	_, err := s.GetFunctionURL(ctx, "fn", "live")
	wantCode(t, err, sluice.ENotFound, "GetFunctionURL of a deleted alias")
	_, err = s.GetFunctionURLByID(ctx, urls[1].URLID)
	wantCode(t, err, sluice.ENotFound, "GetFunctionURLByID of a deleted alias's URL")
	checkURL(t, s, urls[0])
	checkURL(t, s, urls[2])
	checkURLByID(t, s, urls[2])
	checkURLKeys(t, s, "fn", "", 0, sluice.LatestVersion, "next")

	// An alias created again under the name has no URL; the old id is free.
	mustCreateAlias(t, s, SampleAlias("fn", "live", sluice.LatestVersion))
	_, err = s.GetFunctionURL(ctx, "fn", "live")
	wantCode(t, err, sluice.ENotFound, "GetFunctionURL of an alias created again")
	mustCreateURL(t, s, SampleURL("fn", "live", urls[1].URLID))
}

func testURLDeleteFunctionCascades(t *testing.T, s URLStore) {
	ctx := t.Context()
	urls := urlFixture(t, s, "fn", "live", "next")
	mustCreate(t, s, SampleFunction("other"))
	other := SampleURL("other", "", URLID(50))
	mustCreateURL(t, s, other)
	if err := s.DeleteFunction(ctx, "fn"); err != nil {
		t.Fatalf("DeleteFunction: %v", err)
	}
	for _, u := range urls {
		_, err := s.GetFunctionURL(ctx, u.FunctionName, u.Qualifier)
		wantCode(t, err, sluice.ENotFound, "GetFunctionURL of a deleted function's URL")
		_, err = s.GetFunctionURLByID(ctx, u.URLID)
		wantCode(t, err, sluice.ENotFound, "GetFunctionURLByID of a deleted function's URL")
	}
	checkURL(t, s, other)
	checkURLByID(t, s, other)

	// A function created again under the name has no URLs.
	mustCreate(t, s, SampleFunction("fn"))
	checkURLKeys(t, s, "fn", "", 0)
	mustCreateAlias(t, s, SampleAlias("fn", "live", sluice.LatestVersion))
	_, err := s.GetFunctionURL(ctx, "fn", "live")
	wantCode(t, err, sluice.ENotFound, "GetFunctionURL of a function and alias created again")
	mustCreateAlias(t, s, SampleAlias("fn", "next", sluice.LatestVersion))
	for _, u := range urls {
		mustCreateURL(t, s, u) // names and ids are free again
	}
}

func testURLConcurrentCreate(t *testing.T, s URLStore) {
	ctx := t.Context()
	mustCreate(t, s, SampleFunction("fn"))
	const writers = 8
	errs := make([]error, writers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[w] = s.CreateFunctionURL(ctx, SampleURL("fn", "", URLID(100+w)))
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for w, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("writers %d and %d both created the function's URL", winner, w)
		case err == nil:
			winner = w
		default:
			wantCode(t, err, sluice.EConflict, fmt.Sprintf("writer %d", w))
		}
	}
	if winner < 0 {
		t.Fatal("no writer created the URL")
	}
	checkURL(t, s, SampleURL("fn", "", URLID(100+winner)))
	for w := range writers {
		_, err := s.GetFunctionURLByID(ctx, URLID(100+w))
		if w == winner && err != nil {
			t.Errorf("GetFunctionURLByID of the winner: %v", err)
		}
		if w != winner {
			wantCode(t, err, sluice.ENotFound, fmt.Sprintf("GetFunctionURLByID of loser %d", w))
		}
	}
}

func mustCreateURL(t *testing.T, s URLStore, u *sluice.FunctionURLConfig) {
	t.Helper()
	if err := s.CreateFunctionURL(t.Context(), u.Clone()); err != nil {
		t.Fatalf("CreateFunctionURL(%s:%s): %v", u.FunctionName, u.QualifierKey(), err)
	}
}

// checkURL checks that the store holds want and returns what it read.
func checkURL(t *testing.T, s URLStore, want *sluice.FunctionURLConfig) *sluice.FunctionURLConfig {
	t.Helper()
	got, err := s.GetFunctionURL(t.Context(), want.FunctionName, want.Qualifier)
	if err != nil {
		t.Errorf("GetFunctionURL(%s, %q): %v", want.FunctionName, want.Qualifier, err)
		return nil
	}
	if d := DiffURL(want, got); d != "" {
		t.Errorf("GetFunctionURL(%s, %q): %s", want.FunctionName, want.Qualifier, d)
	}
	return got
}

// checkURLByID checks that want's URL id finds want.
func checkURLByID(t *testing.T, s URLStore, want *sluice.FunctionURLConfig) {
	t.Helper()
	got, err := s.GetFunctionURLByID(t.Context(), want.URLID)
	if err != nil {
		t.Errorf("GetFunctionURLByID(%s): %v", want.URLID, err)
		return
	}
	if d := DiffURL(want, got); d != "" {
		t.Errorf("GetFunctionURLByID(%s): %s", want.URLID, d)
	}
}

// checkURLKeys checks the qualifier keys ListFunctionURLs returns.
func checkURLKeys(t *testing.T, s URLStore, function, after string, limit int, want ...string) {
	t.Helper()
	got, err := s.ListFunctionURLs(t.Context(), function, after, limit)
	if err != nil {
		t.Fatalf("ListFunctionURLs(%s, %q, %d): %v", function, after, limit, err)
	}
	keys := []string{}
	for _, u := range got {
		keys = append(keys, u.QualifierKey())
		if u.FunctionName != function {
			t.Errorf("ListFunctionURLs(%s) returned a URL of %s", function, u.FunctionName)
		}
	}
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(keys, want) {
		t.Errorf("ListFunctionURLs(%s, %q, %d) = %q, want %q", function, after, limit, keys, want)
	}
}
