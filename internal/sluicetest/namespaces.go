package sluicetest

import (
	"slices"
	"testing"

	"github.com/sluice-dev/sluice"
)

// Scopes used by NamespacesSuite: two regions of one account, and a second
// account in the first region.
var (
	ScopeA = sluice.Scope{Region: "us-east-1", Account: "111111111111"}
	ScopeB = sluice.Scope{Region: "eu-west-1", Account: "111111111111"}
	ScopeC = sluice.Scope{Region: "us-east-1", Account: "222222222222"}
)

// NamespacesSuite runs the contract tests of sluice.Namespaces as subtests
// of t: every scope is a namespace of its own, and URL ids are unique
// across them. open must return a new, empty store for each subtest and
// arrange for it to be closed when the subtest ends. (Each scope's
// Namespace is a FunctionStore and a FunctionURLStore: run StoreSuite and
// URLStoreSuite on one as well, see FilledNeighbours.)
func NamespacesSuite(t *testing.T, open func(t *testing.T) sluice.Namespaces) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, ns sluice.Namespaces)
	}{
		{"SameNameInEveryScope", testSameNameInEveryScope},
		{"VersionsAliasesConcurrencyPerScope", testVersionsPerScope},
		{"URLsPerScope", testURLsPerScope},
		{"Scopes", testScopes},
		{"InvalidScope", testInvalidScope},
		{"UnknownScopeIsEmpty", testUnknownScopeIsEmpty},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := open(t)
			if ns == nil {
				t.Fatal("open returned a nil store")
			}
			tc.run(t, ns)
		})
	}
}

// FilledNeighbours fills the scopes around scope (ScopeA, ScopeB and
// ScopeC, but scope) with functions, versions, aliases, reserved
// concurrency and URLs under the names the suites use, so that StoreSuite
// and URLStoreSuite run on ns.In(scope) check that nothing of another
// scope shows through. URL ids are taken from the top of URLID's range.
func FilledNeighbours(t *testing.T, ns sluice.Namespaces, scope sluice.Scope) {
	t.Helper()
	ctx := t.Context()
	for i, other := range []sluice.Scope{ScopeA, ScopeB, ScopeC} {
		if other == scope {
			continue
		}
		s := ns.In(other)
		for _, name := range []string{"fn", "a", "b", "c", "f", "x", "alpha", "beta", "zeta"} {
			fn := SampleFunction(name)
			mustCreate(t, s, fn)
			v := fn.Clone()
			v.RevisionID = "rev-v1-" + name
			if _, err := s.PublishVersion(ctx, v, fn.RevisionID); err != nil {
				t.Fatalf("PublishVersion(%s): %v", name, err)
			}
			if err := s.CreateAlias(ctx, SampleAlias(name, "live", "1")); err != nil {
				t.Fatalf("CreateAlias(%s): %v", name, err)
			}
			if err := s.SetReservedConcurrency(ctx, name, 3); err != nil {
				t.Fatalf("SetReservedConcurrency(%s): %v", name, err)
			}
		}
		if err := s.CreateFunctionURL(ctx, SampleURL("fn", "", URLID(999_000+i))); err != nil {
			t.Fatalf("CreateFunctionURL: %v", err)
		}
	}
}

func testSameNameInEveryScope(t *testing.T, ns sluice.Namespaces) {
	ctx := t.Context()
	scopes := []sluice.Scope{ScopeA, ScopeB, ScopeC}
	for i, sc := range scopes {
		fn := SampleFunction("fn")
		fn.Description = "in " + sc.String()
		fn.RevisionID = "rev-" + sc.Region + "-" + sc.Account
		fn.MemorySize = 128 * (i + 1)
		mustCreate(t, ns.In(sc), fn)
	}
	// Each scope has its own.
	for i, sc := range scopes {
		fn, err := ns.In(sc).GetFunction(ctx, "fn")
		if err != nil {
			t.Fatalf("GetFunction in %s: %v", sc, err)
		}
		if fn.Description != "in "+sc.String() || fn.MemorySize != 128*(i+1) {
			t.Errorf("GetFunction in %s = %q, %d MB: another scope's function", sc, fn.Description, fn.MemorySize)
		}
		checkNames(t, ns.In(sc), "", 0, "fn")
	}
	// A second create in one scope conflicts; a new name in one is not in
	// the others.
	wantCode(t, ns.In(ScopeA).CreateFunction(ctx, SampleFunction("fn")), sluice.EConflict, "CreateFunction of an existing name")
	mustCreate(t, ns.In(ScopeB), SampleFunction("only-b"))
	checkNames(t, ns.In(ScopeA), "", 0, "fn")
	checkNames(t, ns.In(ScopeB), "", 0, "fn", "only-b")
	checkNames(t, ns.In(ScopeC), "", 0, "fn")
	_, err := ns.In(ScopeA).GetFunction(ctx, "only-b")
	wantCode(t, err, sluice.ENotFound, "GetFunction of another scope's function")

	// An update needs the scope's own revision and changes that scope only.
	next := SampleFunction("fn")
	next.RevisionID = "rev-next"
	wantCode(t, ns.In(ScopeA).UpdateFunction(ctx, next, "rev-"+ScopeB.Region+"-"+ScopeB.Account), sluice.EPrecondition, "UpdateFunction with another scope's revision")
	if err := ns.In(ScopeA).UpdateFunction(ctx, next, "rev-"+ScopeA.Region+"-"+ScopeA.Account); err != nil {
		t.Fatalf("UpdateFunction: %v", err)
	}
	if fn, err := ns.In(ScopeB).GetFunction(ctx, "fn"); err != nil || fn.RevisionID == "rev-next" {
		t.Errorf("GetFunction in %s after an update in %s = %v, %v; want it unchanged", ScopeB, ScopeA, fn, err)
	}

	// A delete in one scope leaves the others.
	if err := ns.In(ScopeB).DeleteFunction(ctx, "fn"); err != nil {
		t.Fatalf("DeleteFunction: %v", err)
	}
	_, err = ns.In(ScopeB).GetFunction(ctx, "fn")
	wantCode(t, err, sluice.ENotFound, "GetFunction after DeleteFunction")
	for _, sc := range []sluice.Scope{ScopeA, ScopeC} {
		if _, err := ns.In(sc).GetFunction(ctx, "fn"); err != nil {
			t.Errorf("GetFunction in %s after a delete in %s: %v", sc, ScopeB, err)
		}
	}
	wantCode(t, ns.In(ScopeB).DeleteFunction(ctx, "fn"), sluice.ENotFound, "second DeleteFunction")
}

func testVersionsPerScope(t *testing.T, ns sluice.Namespaces) {
	ctx := t.Context()
	a, b := ns.In(ScopeA), ns.In(ScopeB)
	fa, fb := SampleFunction("fn"), SampleFunction("fn")
	mustCreate(t, a, fa)
	mustCreate(t, b, fb)
	publish := func(s sluice.FunctionStore, fn *sluice.Function, rev string) *sluice.Function {
		t.Helper()
		v := fn.Clone()
		v.RevisionID = rev
		got, err := s.PublishVersion(ctx, v, fn.RevisionID)
		if err != nil {
			t.Fatalf("PublishVersion: %v", err)
		}
		return got
	}
	publish(a, fa, "a1")
	publish(a, fa, "a2")
	// Numbers count per scope.
	if v := publish(b, fb, "b1"); v.Version != "1" {
		t.Errorf("first version in %s = %s, want 1 (numbers are per scope)", ScopeB, v.Version)
	}
	if vs, err := a.ListVersions(ctx, "fn", 0, 0); err != nil || len(vs) != 2 {
		t.Errorf("ListVersions in %s = %d, %v; want 2", ScopeA, len(vs), err)
	}
	if vs, err := b.ListVersions(ctx, "fn", 0, 0); err != nil || len(vs) != 1 || vs[0].RevisionID != "b1" {
		t.Errorf("ListVersions in %s = %v, %v; want b1 only", ScopeB, vs, err)
	}
	_, err := b.GetVersion(ctx, "fn", "2")
	wantCode(t, err, sluice.ENotFound, "GetVersion of a version of another scope")

	// Aliases are per scope; an alias cannot route to another scope's
	// version.
	if err := a.CreateAlias(ctx, SampleAlias("fn", "live", "2")); err != nil {
		t.Fatalf("CreateAlias: %v", err)
	}
	wantCode(t, b.CreateAlias(ctx, SampleAlias("fn", "live", "2")), sluice.ENotFound, "CreateAlias to a version only another scope has")
	if err := b.CreateAlias(ctx, SampleAlias("fn", "live", "1")); err != nil {
		t.Fatalf("CreateAlias of the same name in another scope: %v", err)
	}
	if got, err := b.GetAlias(ctx, "fn", "live"); err != nil || got.FunctionVersion != "1" {
		t.Errorf("GetAlias in %s = %v, %v; want version 1", ScopeB, got, err)
	}
	wantCode(t, a.DeleteVersion(ctx, "fn", "2"), sluice.EConflict, "DeleteVersion of a version an alias routes to")
	wantCode(t, b.DeleteVersion(ctx, "fn", "2"), sluice.ENotFound, "DeleteVersion of another scope's version")

	// Reserved concurrency is per scope.
	if err := a.SetReservedConcurrency(ctx, "fn", 5); err != nil {
		t.Fatal(err)
	}
	if m, err := b.ReservedConcurrency(ctx); err != nil || len(m) != 0 {
		t.Errorf("ReservedConcurrency in %s = %v, %v; want none", ScopeB, m, err)
	}
	if m, err := a.ReservedConcurrency(ctx); err != nil || m["fn"] != 5 || len(m) != 1 {
		t.Errorf("ReservedConcurrency in %s = %v, %v; want fn: 5", ScopeA, m, err)
	}
	wantCode(t, ns.In(ScopeC).SetReservedConcurrency(ctx, "fn", 5), sluice.ENotFound, "SetReservedConcurrency of a function of other scopes")

	// Deleting the function in one scope cascades there only.
	if err := a.DeleteFunction(ctx, "fn"); err != nil {
		t.Fatal(err)
	}
	if vs, err := b.ListVersions(ctx, "fn", 0, 0); err != nil || len(vs) != 1 {
		t.Errorf("ListVersions in %s after a delete in %s = %d, %v; want 1", ScopeB, ScopeA, len(vs), err)
	}
	if as, err := b.ListAliases(ctx, "fn", "", 0); err != nil || len(as) != 1 {
		t.Errorf("ListAliases in %s after a delete in %s = %d, %v; want 1", ScopeB, ScopeA, len(as), err)
	}
}

func testURLsPerScope(t *testing.T, ns sluice.Namespaces) {
	ctx := t.Context()
	a, b := ns.In(ScopeA), ns.In(ScopeB)
	mustCreate(t, a, SampleFunction("fn"))
	mustCreate(t, b, SampleFunction("fn"))
	ua := SampleURL("fn", "", URLID(1))
	if err := a.CreateFunctionURL(ctx, ua); err != nil {
		t.Fatalf("CreateFunctionURL: %v", err)
	}
	// The id is taken in every scope; the function of another scope has
	// no URL yet and gets one of its own.
	wantCode(t, b.CreateFunctionURL(ctx, SampleURL("fn", "", URLID(1))), sluice.EConflict, "CreateFunctionURL with an id another scope uses")
	_, err := b.GetFunctionURL(ctx, "fn", "")
	wantCode(t, err, sluice.ENotFound, "GetFunctionURL of a function whose namesake in another scope has one")
	ub := SampleURL("fn", "", URLID(2))
	if err := b.CreateFunctionURL(ctx, ub); err != nil {
		t.Fatalf("CreateFunctionURL in %s: %v", ScopeB, err)
	}
	// By id: only in the URL's own scope, and FunctionURLScope says which.
	for _, tc := range []struct {
		url         *sluice.FunctionURLConfig
		own, other  sluice.Namespace
		scope, from sluice.Scope
	}{{ua, a, b, ScopeA, ScopeB}, {ub, b, a, ScopeB, ScopeA}} {
		got, err := tc.own.GetFunctionURLByID(ctx, tc.url.URLID)
		if err != nil {
			t.Fatalf("GetFunctionURLByID in %s: %v", tc.scope, err)
		}
		if d := DiffURL(tc.url, got); d != "" {
			t.Errorf("GetFunctionURLByID in %s: %s", tc.scope, d)
		}
		_, err = tc.other.GetFunctionURLByID(ctx, tc.url.URLID)
		wantCode(t, err, sluice.ENotFound, "GetFunctionURLByID of another scope's URL")
		if sc, err := ns.FunctionURLScope(ctx, tc.url.URLID); err != nil || sc != tc.scope {
			t.Errorf("FunctionURLScope(%s) = %v, %v; want %s", tc.url.URLID, sc, err, tc.scope)
		}
	}
	_, err = ns.FunctionURLScope(ctx, URLID(3))
	wantCode(t, err, sluice.ENotFound, "FunctionURLScope of an unknown id")

	// Deleting one scope's function deletes its URL and frees its id.
	if err := a.DeleteFunction(ctx, "fn"); err != nil {
		t.Fatal(err)
	}
	_, err = ns.FunctionURLScope(ctx, ua.URLID)
	wantCode(t, err, sluice.ENotFound, "FunctionURLScope of a deleted function's URL")
	if got, err := b.GetFunctionURLByID(ctx, ub.URLID); err != nil || got.URLID != ub.URLID {
		t.Errorf("GetFunctionURLByID in %s after a delete in %s = %v, %v", ScopeB, ScopeA, got, err)
	}
	mustCreate(t, ns.In(ScopeC), SampleFunction("fn"))
	if err := ns.In(ScopeC).CreateFunctionURL(ctx, SampleURL("fn", "", ua.URLID)); err != nil {
		t.Errorf("CreateFunctionURL with a freed id in another scope: %v", err)
	}
	if sc, err := ns.FunctionURLScope(ctx, ua.URLID); err != nil || sc != ScopeC {
		t.Errorf("FunctionURLScope of the reused id = %v, %v; want %s", sc, err, ScopeC)
	}
}

func testScopes(t *testing.T, ns sluice.Namespaces) {
	ctx := t.Context()
	if got, err := ns.Scopes(ctx); err != nil || len(got) != 0 {
		t.Errorf("Scopes of an empty store = %v, %v; want none", got, err)
	}
	// Reads and failed writes make no scope.
	if _, err := ns.In(ScopeB).GetFunction(ctx, "fn"); sluice.ErrorCodeOf(err) != sluice.ENotFound {
		t.Errorf("GetFunction in an empty scope: %v, want not found", err)
	}
	wantCode(t, ns.In(ScopeB).DeleteFunction(ctx, "fn"), sluice.ENotFound, "DeleteFunction in an empty scope")
	if got, err := ns.Scopes(ctx); err != nil || len(got) != 0 {
		t.Errorf("Scopes after reads and failed writes = %v, %v; want none", got, err)
	}
	for _, sc := range []sluice.Scope{ScopeC, ScopeA, ScopeB} {
		mustCreate(t, ns.In(sc), SampleFunction("fn"))
	}
	want := []sluice.Scope{ScopeB, ScopeA, ScopeC} // by String: eu-west-1/1..., us-east-1/1..., us-east-1/2...
	if got, err := ns.Scopes(ctx); err != nil || !slices.Equal(got, want) {
		t.Errorf("Scopes = %v, %v; want %v", got, err, want)
	}
}

func testInvalidScope(t *testing.T, ns sluice.Namespaces) {
	ctx := t.Context()
	for _, sc := range []sluice.Scope{{}, {Region: "us-east-1"}, {Account: "111111111111"}, {Region: "us-east-1", Account: "1234"},
		{Region: "us-east-1/x", Account: "111111111111"}, {Region: "not a region", Account: "111111111111"}} {
		s := ns.In(sc)
		wantCode(t, s.CreateFunction(ctx, SampleFunction("fn")), sluice.EInvalidParameter, "CreateFunction in scope "+sc.String())
		if _, err := s.GetFunction(ctx, "fn"); sluice.ErrorCodeOf(err) != sluice.ENotFound {
			t.Errorf("GetFunction in scope %q: %v, want not found", sc, err)
		}
	}
	if got, err := ns.Scopes(ctx); err != nil || len(got) != 0 {
		t.Errorf("Scopes after writes to invalid scopes = %v, %v; want none", got, err)
	}
}

func testUnknownScopeIsEmpty(t *testing.T, ns sluice.Namespaces) {
	ctx := t.Context()
	mustCreate(t, ns.In(ScopeA), SampleFunction("fn"))
	s := ns.In(ScopeB)
	checkNames(t, s, "", 0)
	_, err := s.GetVersion(ctx, "fn", "1")
	wantCode(t, err, sluice.ENotFound, "GetVersion in an empty scope")
	_, err = s.ListVersions(ctx, "fn", 0, 0)
	wantCode(t, err, sluice.ENotFound, "ListVersions in an empty scope")
	_, err = s.GetAlias(ctx, "fn", "live")
	wantCode(t, err, sluice.ENotFound, "GetAlias in an empty scope")
	_, err = s.ListAliases(ctx, "fn", "", 0)
	wantCode(t, err, sluice.ENotFound, "ListAliases in an empty scope")
	if m, err := s.ReservedConcurrency(ctx); err != nil || len(m) != 0 {
		t.Errorf("ReservedConcurrency in an empty scope = %v, %v", m, err)
	}
	_, err = s.GetFunctionURL(ctx, "fn", "")
	wantCode(t, err, sluice.ENotFound, "GetFunctionURL in an empty scope")
	_, err = s.GetFunctionURLByID(ctx, URLID(1))
	wantCode(t, err, sluice.ENotFound, "GetFunctionURLByID in an empty scope")
	_, err = s.ListFunctionURLs(ctx, "fn", "", 0)
	wantCode(t, err, sluice.ENotFound, "ListFunctionURLs in an empty scope")
}
