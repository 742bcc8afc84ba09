package sluicetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
)

// StoreSuite runs the contract tests of sluice.FunctionStore as subtests of
// t. open must return a new, empty store for each subtest and arrange (with
// t.Cleanup) for it to be closed when the subtest ends.
//
// Beyond the interface's documentation, the suite expects names to be
// listed in byte-wise lexical order, and LastModified to keep its instant
// with at least millisecond precision (and its location when that is UTC).
func StoreSuite(t *testing.T, open func(t *testing.T) sluice.FunctionStore) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s sluice.FunctionStore)
	}{
		{"CreateGet", testCreateGet},
		{"CreateGetZeroValues", testCreateGetZeroValues},
		{"LastModifiedOtherZone", testLastModifiedOtherZone},
		{"CreateDuplicate", testCreateDuplicate},
		{"NotFound", testNotFound},
		{"Delete", testDelete},
		{"Update", testUpdate},
		{"UpdateWrongRevision", testUpdateWrongRevision},
		{"ListOrder", testListOrder},
		{"ListPaging", testListPaging},
		{"ListEmpty", testListEmpty},
		{"ReturnsCopies", testReturnsCopies},
		{"ConcurrentCreateSameName", testConcurrentCreateSameName},
		{"ConcurrentCreateDistinctNames", testConcurrentCreateDistinct},
		{"ConcurrentUpdateCAS", testConcurrentUpdateCAS},
		{"ConcurrentReadsSeeWholeValues", testConcurrentReads},

		{"PreviousRoundTrip", testPreviousRoundTrip},
		{"PublishNumbering", testPublishNumbering},
		{"PublishNumbersNotReused", testPublishNumbersNotReused},
		{"PublishStaleRevision", testPublishStaleRevision},
		{"VersionsAreSnapshots", testVersionsAreSnapshots},
		{"GetVersionNotFound", testGetVersionNotFound},
		{"ListVersionsPaging", testListVersionsPaging},
		{"DeleteVersion", testDeleteVersion},
		{"DeleteVersionReferencedByAlias", testDeleteVersionReferencedByAlias},
		{"AliasCRUD", testAliasCRUD},
		{"AliasNotFound", testAliasNotFound},
		{"UpdateAliasWrongRevision", testUpdateAliasWrongRevision},
		{"ListAliasesPaging", testListAliasesPaging},
		{"DeleteFunctionCascades", testDeleteFunctionCascades},
		{"UpdateKeepsVersionsAndAliases", testUpdateKeepsVersionsAndAliases},
		{"ReservedConcurrency", testReservedConcurrency},
		{"VersionAndAliasCopies", testVersionAndAliasCopies},
		{"ConcurrentPublish", testConcurrentPublish},
		{"ConcurrentAliasCAS", testConcurrentAliasCAS},
		{"ConcurrentDeleteVersionAndAlias", testConcurrentDeleteVersionAndAlias},

		{"PolicyRoundTrip", testPolicyRoundTrip},
		{"PolicyCAS", testPolicyCAS},
		{"PolicyNotFound", testPolicyNotFound},
		{"PolicyKeptByUpdates", testPolicyKeptByUpdates},
		{"PolicyNotPublished", testPolicyNotPublished},
		{"PolicyGoesWithRecords", testPolicyGoesWithRecords},
		{"PolicyCopies", testPolicyCopies},

		{"EventInvokeConfigRoundTrip", testEventInvokeConfigRoundTrip},
		{"EventInvokeConfigUpdateError", testEventInvokeConfigUpdateError},
		{"EventInvokeConfigNotFound", testEventInvokeConfigNotFound},
		{"EventInvokeConfigKeptByUpdates", testEventInvokeConfigKeptByUpdates},
		{"EventInvokeConfigNotPublished", testEventInvokeConfigNotPublished},
		{"EventInvokeConfigGoesWithRecords", testEventInvokeConfigGoesWithRecords},
		{"EventInvokeConfigCopies", testEventInvokeConfigCopies},
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

// DurableStoreSuite runs tests that check a sluice.FunctionStore keeps its
// data across close and reopen of the same directory. open opens (creating
// if needed) the store kept in dir; closeStore closes it. The suite closes
// every store it opens, so open must not arrange to close it.
func DurableStoreSuite(t *testing.T, open func(t *testing.T, dir string) sluice.FunctionStore, closeStore func(sluice.FunctionStore) error) {
	t.Helper()
	// reopen opens the store in dir and closes it at the end of the test
	// unless the test closed it before.
	reopen := func(t *testing.T, dir string) (sluice.FunctionStore, func()) {
		t.Helper()
		s := open(t, dir)
		if s == nil {
			t.Fatal("open returned a nil store")
		}
		var once sync.Once
		closeNow := func() {
			t.Helper()
			once.Do(func() {
				if err := closeStore(s); err != nil {
					t.Errorf("close: %v", err)
				}
			})
		}
		t.Cleanup(closeNow)
		return s, closeNow
	}

	t.Run("SurvivesReopen", func(t *testing.T) {
		ctx := t.Context()
		dir := t.TempDir()
		s, closeS := reopen(t, dir)
		a, b, c := SampleFunction("a"), SampleFunction("b"), SampleFunction("c")
		for _, fn := range []*sluice.Function{a, b, c} {
			mustCreate(t, s, fn)
		}
		b2 := b.Clone()
		b2.Description = "updated"
		b2.Environment["NEW"] = "1"
		b2.RevisionID = "rev-b2"
		b2.LastModified = b.LastModified.Add(time.Second)
		if err := s.UpdateFunction(ctx, b2, b.RevisionID); err != nil {
			t.Fatalf("UpdateFunction: %v", err)
		}
		if err := s.DeleteFunction(ctx, "c"); err != nil {
			t.Fatalf("DeleteFunction: %v", err)
		}
		closeS()

		s, closeS = reopen(t, dir)
		checkGet(t, s, a)
		checkGet(t, s, b2)
		_, err := s.GetFunction(ctx, "c")
		wantCode(t, err, sluice.ENotFound, "GetFunction of a deleted function after reopen")
		checkNames(t, s, "", 100, "a", "b")

		// Compare-and-swap goes on from the persisted revision.
		stale := b2.Clone()
		stale.RevisionID = "rev-stale"
		wantCode(t, s.UpdateFunction(ctx, stale, b.RevisionID), sluice.EPrecondition, "UpdateFunction with a revision from before the reopen")
		b3 := b2.Clone()
		b3.RevisionID = "rev-b3"
		if err := s.UpdateFunction(ctx, b3, b2.RevisionID); err != nil {
			t.Fatalf("UpdateFunction after reopen: %v", err)
		}
		wantCode(t, s.CreateFunction(ctx, SampleFunction("a")), sluice.EConflict, "CreateFunction of an existing function after reopen")
		closeS()

		s, _ = reopen(t, dir)
		checkGet(t, s, a)
		checkGet(t, s, b3)
		checkNames(t, s, "", 100, "a", "b")
	})

	t.Run("VersionsAliasesConcurrencySurviveReopen", func(t *testing.T) {
		ctx := t.Context()
		dir := t.TempDir()
		s, closeS := reopen(t, dir)
		fn := inProgress("fn")
		mustCreate(t, s, fn)
		mustCreate(t, s, SampleFunction("other"))
		v1 := mustPublish(t, s, "fn", "rev-v1")
		v2 := mustPublish(t, s, "fn", "rev-v2")
		mustPublish(t, s, "fn", "rev-v3")
		if err := s.DeleteVersion(ctx, "fn", "3"); err != nil {
			t.Fatalf("DeleteVersion: %v", err)
		}
		live := SampleAlias("fn", "live", "2")
		live.AdditionalVersionWeights = map[string]float64{"1": 0.25}
		dev := SampleAlias("fn", "dev", sluice.LatestVersion)
		mustCreateAlias(t, s, live)
		mustCreateAlias(t, s, dev)
		if err := s.SetReservedConcurrency(ctx, "fn", 7); err != nil {
			t.Fatal(err)
		}
		if err := s.SetReservedConcurrency(ctx, "other", 0); err != nil {
			t.Fatal(err)
		}
		closeS()

		s, closeS = reopen(t, dir)
		checkGet(t, s, fn) // with its Previous
		checkVersions(t, s, "fn", 0, 0, "1", "2")
		checkVersion(t, s, v1)
		checkVersion(t, s, v2)
		checkAlias(t, s, live)
		checkAlias(t, s, dev)
		checkAliasNames(t, s, "fn", "", 0, "dev", "live")
		checkConcurrency(t, s, map[string]int{"fn": 7, "other": 0})
		// The references and the counter hold after the reopen.
		wantCode(t, s.DeleteVersion(ctx, "fn", "1"), sluice.EConflict, "DeleteVersion of a weighted version after reopen")
		if v := mustPublish(t, s, "fn", "rev-v4"); v.Version != "4" {
			t.Errorf("version published after reopen = %q, want 4", v.Version)
		}
		next := live.Clone()
		next.FunctionVersion = "4"
		next.RevisionID = "rev-live-2"
		wantCode(t, s.UpdateAlias(ctx, next, "rev-stale"), sluice.EPrecondition, "UpdateAlias with a stale revision after reopen")
		if err := s.UpdateAlias(ctx, next, live.RevisionID); err != nil {
			t.Fatalf("UpdateAlias after reopen: %v", err)
		}
		closeS()

		s, closeS = reopen(t, dir)
		checkVersions(t, s, "fn", 0, 0, "1", "2", "4")
		checkAlias(t, s, next)
		if err := s.DeleteFunction(ctx, "fn"); err != nil {
			t.Fatalf("DeleteFunction: %v", err)
		}
		closeS()

		// The deletion of everything of fn, counter included, persisted.
		s, _ = reopen(t, dir)
		mustCreate(t, s, SampleFunction("fn"))
		checkVersions(t, s, "fn", 0, 0)
		checkAliasNames(t, s, "fn", "", 0)
		checkConcurrency(t, s, map[string]int{"other": 0})
		if v := mustPublish(t, s, "fn", "rev-again-v1"); v.Version != "1" {
			t.Errorf("first version of fn created again after reopen = %q, want 1", v.Version)
		}
	})

	t.Run("PoliciesSurviveReopen", func(t *testing.T) {
		ctx := t.Context()
		dir := t.TempDir()
		s, closeS := reopen(t, dir)
		fn, v1, live := policyFixture(t, s, "fn")
		fn.Policy, v1.Policy, live.Policy = SamplePolicy("rev-pl", "a", "b", "c", "d"), SamplePolicy("rev-pv", "v"), SamplePolicy("rev-pa", "x")
		mustSetPolicy(t, s, "fn", "", fn.Policy, "")
		mustSetPolicy(t, s, "fn", "1", v1.Policy, "")
		mustSetPolicy(t, s, "fn", "live", live.Policy, "")
		closeS()

		s, closeS = reopen(t, dir)
		checkGet(t, s, fn)
		checkVersion(t, s, v1)
		checkAlias(t, s, live)
		// The compare-and-swap goes on from the persisted revisions.
		wantCode(t, s.SetPolicy(ctx, "fn", "live", nil, ""), sluice.EPrecondition, "SetPolicy with a stale revision after reopen")
		mustSetPolicy(t, s, "fn", "live", nil, "rev-pa")
		live.Policy = nil
		closeS()

		s, _ = reopen(t, dir)
		checkAlias(t, s, live)
		checkGet(t, s, fn)
	})

	t.Run("EventInvokeConfigsSurviveReopen", func(t *testing.T) {
		dir := t.TempDir()
		s, closeS := reopen(t, dir)
		fn, v1, live := policyFixture(t, s, "fn")
		fn.EventInvokeConfig, v1.EventInvokeConfig, live.EventInvokeConfig = SampleEventInvokeConfig(1), SampleEventInvokeConfig(2), SampleEventInvokeConfig(3)
		live.EventInvokeConfig.MaximumEventAgeInSeconds = nil // unset stays unset
		mustSetEventInvokeConfig(t, s, "fn", "", fn.EventInvokeConfig)
		mustSetEventInvokeConfig(t, s, "fn", "1", v1.EventInvokeConfig)
		mustSetEventInvokeConfig(t, s, "fn", "live", live.EventInvokeConfig)
		closeS()

		s, closeS = reopen(t, dir)
		checkGet(t, s, fn)
		checkVersion(t, s, v1)
		checkAlias(t, s, live)
		mustSetEventInvokeConfig(t, s, "fn", "live", nil)
		live.EventInvokeConfig = nil
		closeS()

		s, _ = reopen(t, dir)
		checkAlias(t, s, live)
		checkGet(t, s, fn)
	})

	t.Run("EmptyReopen", func(t *testing.T) {
		dir := t.TempDir()
		_, closeS := reopen(t, dir)
		closeS()
		s, _ := reopen(t, dir)
		checkNames(t, s, "", 100)
		mustCreate(t, s, SampleFunction("x"))
		checkGet(t, s, SampleFunction("x"))
	})

	t.Run("ManyFunctions", func(t *testing.T) {
		dir := t.TempDir()
		s, closeS := reopen(t, dir)
		var names []string
		for i := range 200 {
			name := fmt.Sprintf("fn-%03d", i)
			names = append(names, name)
			mustCreate(t, s, SampleFunction(name))
		}
		closeS()
		s, _ = reopen(t, dir)
		checkNames(t, s, "", 1000, names...)
		checkGet(t, s, SampleFunction("fn-199"))
	})
}

func testCreateGet(t *testing.T, s sluice.FunctionStore) {
	fn := SampleFunction("my-function")
	orig := fn.Clone()
	mustCreate(t, s, fn)
	if d := DiffFunction(orig, fn); d != "" {
		t.Errorf("CreateFunction changed its argument: %s", d)
	}
	checkGet(t, s, orig)

	// A second function does not disturb the first.
	other := SampleFunction("my-function-2")
	other.Architectures = []string{"arm64"}
	other.Environment = map[string]string{"ONLY": "other"}
	mustCreate(t, s, other)
	checkGet(t, s, orig)
	checkGet(t, s, other)
}

func testCreateGetZeroValues(t *testing.T, s sluice.FunctionStore) {
	fn := &sluice.Function{Name: "bare"}
	mustCreate(t, s, fn)
	got := checkGet(t, s, fn)
	if !got.LastModified.IsZero() {
		t.Errorf("LastModified = %v, want the zero time", got.LastModified)
	}
}

func testLastModifiedOtherZone(t *testing.T, s sluice.FunctionStore) {
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	fn := SampleFunction("zoned")
	fn.LastModified = time.Date(2025, 1, 2, 3, 4, 5, 678_000_000, zone)
	mustCreate(t, s, fn)
	got, err := s.GetFunction(t.Context(), "zoned")
	if err != nil {
		t.Fatalf("GetFunction: %v", err)
	}
	if !got.LastModified.Equal(fn.LastModified) {
		t.Errorf("LastModified = %v, want the instant %v", got.LastModified, fn.LastModified)
	}
}

func testCreateDuplicate(t *testing.T, s sluice.FunctionStore) {
	fn := SampleFunction("dup")
	mustCreate(t, s, fn)
	second := SampleFunction("dup")
	second.Description = "second"
	second.RevisionID = "rev-second"
	wantCode(t, s.CreateFunction(t.Context(), second), sluice.EConflict, "CreateFunction of an existing name")
	checkGet(t, s, fn)
}

func testNotFound(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	// Neighbours of the missing names must not be mistaken for them.
	mustCreate(t, s, SampleFunction("fn"))
	mustCreate(t, s, SampleFunction("fn-longer"))
	for _, name := range []string{"missing", "f", "fn-", "fn-long", "FN"} {
		_, err := s.GetFunction(ctx, name)
		wantCode(t, err, sluice.ENotFound, "GetFunction("+name+")")
		wantCode(t, s.DeleteFunction(ctx, name), sluice.ENotFound, "DeleteFunction("+name+")")
		fn := SampleFunction(name)
		wantCode(t, s.UpdateFunction(ctx, fn, fn.RevisionID), sluice.ENotFound, "UpdateFunction("+name+")")
		wantCode(t, s.UpdateFunction(ctx, fn, ""), sluice.ENotFound, "UpdateFunction("+name+`, "")`)
	}
	// Updating a missing function must not create it.
	_, err := s.GetFunction(ctx, "missing")
	wantCode(t, err, sluice.ENotFound, "GetFunction after UpdateFunction of a missing function")
	checkNames(t, s, "", 100, "fn", "fn-longer")
}

func testDelete(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	mustCreate(t, s, SampleFunction("a"))
	mustCreate(t, s, SampleFunction("b"))
	if err := s.DeleteFunction(ctx, "a"); err != nil {
		t.Fatalf("DeleteFunction: %v", err)
	}
	_, err := s.GetFunction(ctx, "a")
	wantCode(t, err, sluice.ENotFound, "GetFunction after DeleteFunction")
	wantCode(t, s.DeleteFunction(ctx, "a"), sluice.ENotFound, "second DeleteFunction")
	checkNames(t, s, "", 100, "b")
	checkGet(t, s, SampleFunction("b"))

	// The name is free again.
	again := SampleFunction("a")
	again.RevisionID = "rev-again"
	mustCreate(t, s, again)
	checkGet(t, s, again)
}

func testUpdate(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	fn := SampleFunction("upd")
	mustCreate(t, s, fn)

	next := fn.Clone()
	next.Description = "second version"
	next.Timeout = 60
	next.Architectures = []string{"arm64"}
	next.Environment = map[string]string{"ONLY": "this"}
	next.CodeSHA256 = strings.Repeat("cd", 32)
	next.LastModified = fn.LastModified.Add(90 * time.Second)
	next.RevisionID = "rev-2"
	next.State = sluice.StatePending
	next.LastUpdateStatus = sluice.UpdateInProgress
	orig := next.Clone()
	if err := s.UpdateFunction(ctx, next, fn.RevisionID); err != nil {
		t.Fatalf("UpdateFunction: %v", err)
	}
	if d := DiffFunction(orig, next); d != "" {
		t.Errorf("UpdateFunction changed its argument: %s", d)
	}
	checkGet(t, s, orig)

	// Fields can be cleared.
	third := SampleFunction("upd")
	third.Environment = nil
	third.Architectures = nil
	third.Description = ""
	third.RevisionID = "rev-3"
	if err := s.UpdateFunction(ctx, third, "rev-2"); err != nil {
		t.Fatalf("UpdateFunction: %v", err)
	}
	checkGet(t, s, third)
	checkNames(t, s, "", 100, "upd")
}

func testUpdateWrongRevision(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	fn := SampleFunction("cas")
	mustCreate(t, s, fn)
	next := fn.Clone()
	next.Description = "must not be stored"
	next.RevisionID = "rev-next"
	for _, prev := range []string{"", "wrong", "rev-next", strings.ToUpper(fn.RevisionID), fn.RevisionID + " "} {
		wantCode(t, s.UpdateFunction(ctx, next, prev), sluice.EPrecondition, fmt.Sprintf("UpdateFunction with prevRevision %q", prev))
		checkGet(t, s, fn)
	}

	// A successful update makes the old revision stale.
	if err := s.UpdateFunction(ctx, next, fn.RevisionID); err != nil {
		t.Fatalf("UpdateFunction: %v", err)
	}
	stale := fn.Clone()
	stale.RevisionID = "rev-stale"
	wantCode(t, s.UpdateFunction(ctx, stale, fn.RevisionID), sluice.EPrecondition, "UpdateFunction with a stale revision")
	checkGet(t, s, next)
}

func testListOrder(t *testing.T, s sluice.FunctionStore) {
	names := []string{"b", "a", "A", "a-1", "a_1", "a1", "Z", "zz", "z", "fn-10", "fn-9", "fn-1", "0"}
	want := slices.Clone(names)
	slices.Sort(want) // byte-wise: digits < upper case < '_' < lower case
	for _, name := range names {
		fn := SampleFunction(name)
		fn.Description = "desc of " + name
		mustCreate(t, s, fn)
	}
	got, err := s.ListFunctions(t.Context(), "", 100)
	if err != nil {
		t.Fatalf("ListFunctions: %v", err)
	}
	if g := namesOf(got); !slices.Equal(g, want) {
		t.Fatalf("ListFunctions names = %q, want %q", g, want)
	}
	for _, fn := range got {
		want := SampleFunction(fn.Name)
		want.Description = "desc of " + fn.Name
		if d := DiffFunction(want, fn); d != "" {
			t.Errorf("listed %s: %s", fn.Name, d)
		}
	}
}

func testListPaging(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	var all []string
	for i := range 10 {
		all = append(all, fmt.Sprintf("fn-%02d", i))
	}
	for _, i := range rand.Perm(len(all)) {
		mustCreate(t, s, SampleFunction(all[i]))
	}

	// Walk the pages with after = last name of the previous page.
	var seen []string
	var sizes []int
	after := ""
	for range 20 {
		page, err := s.ListFunctions(ctx, after, 3)
		if err != nil {
			t.Fatalf("ListFunctions(%q, 3): %v", after, err)
		}
		if len(page) == 0 {
			break
		}
		sizes = append(sizes, len(page))
		seen = append(seen, namesOf(page)...)
		after = page[len(page)-1].Name
	}
	if !slices.Equal(seen, all) {
		t.Errorf("paged names = %q, want %q", seen, all)
	}
	if !slices.Equal(sizes, []int{3, 3, 3, 1}) {
		t.Errorf("page sizes = %v, want [3 3 3 1]", sizes)
	}

	checkNames(t, s, "", 1, "fn-00")
	checkNames(t, s, "", 10, all...)
	checkNames(t, s, "", 1000, all...)             // limit larger than the count
	checkNames(t, s, "fn-04", 2, "fn-05", "fn-06") // after is exclusive
	checkNames(t, s, "fn-04", 100, all[5:]...)
	checkNames(t, s, "fn-045", 2, "fn-05", "fn-06") // after need not exist
	checkNames(t, s, "fn-", 2, "fn-00", "fn-01")
	checkNames(t, s, "a", 2, "fn-00", "fn-01")
	checkNames(t, s, "fn-09", 5)          // after the last name
	checkNames(t, s, "zzz", 5)            // after past the end
	checkNames(t, s, "fn-08", 5, "fn-09") // short last page
	checkNames(t, s, "fn-09\x00", 5)      // just past the last name
	checkNames(t, s, "fn-0", 3, "fn-00", "fn-01", "fn-02")
}

func testListEmpty(t *testing.T, s sluice.FunctionStore) {
	checkNames(t, s, "", 10)
	checkNames(t, s, "x", 10)
}

func testReturnsCopies(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	fn := SampleFunction("copy")
	want := fn.Clone()
	mustCreate(t, s, fn)

	// Changing the argument after CreateFunction returned.
	mutate(fn)
	checkGet(t, s, want)

	// Changing a GetFunction result.
	got, err := s.GetFunction(ctx, "copy")
	if err != nil {
		t.Fatalf("GetFunction: %v", err)
	}
	mutate(got)
	checkGet(t, s, want)

	// Changing a ListFunctions result.
	list, err := s.ListFunctions(ctx, "", 10)
	if err != nil {
		t.Fatalf("ListFunctions: %v", err)
	}
	if len(list) != 1 {
		t.Fatalf("ListFunctions returned %d functions, want 1", len(list))
	}
	mutate(list[0])
	checkGet(t, s, want)

	// Two reads do not share maps or slices.
	g1, _ := s.GetFunction(ctx, "copy")
	g2, _ := s.GetFunction(ctx, "copy")
	if g1 == nil || g2 == nil {
		t.Fatal("GetFunction returned nil")
	}
	g1.Environment["SHARED?"] = "yes"
	g1.Architectures[0] = "changed"
	if _, ok := g2.Environment["SHARED?"]; ok || g2.Architectures[0] != want.Architectures[0] {
		t.Error("two GetFunction results share their Environment or Architectures")
	}

	// Changing the argument after UpdateFunction returned.
	next := want.Clone()
	next.RevisionID = "rev-2"
	wantNext := next.Clone()
	if err := s.UpdateFunction(ctx, next, want.RevisionID); err != nil {
		t.Fatalf("UpdateFunction: %v", err)
	}
	mutate(next)
	checkGet(t, s, wantNext)
}

// mutate changes every mutable part of fn except its name.
func mutate(fn *sluice.Function) {
	fn.Description = "mutated"
	fn.Timeout++
	fn.RevisionID = "mutated"
	fn.LastModified = fn.LastModified.Add(time.Hour)
	if len(fn.Architectures) > 0 {
		fn.Architectures[0] = "mutated"
	}
	fn.Architectures = append(fn.Architectures, "more")
	for k := range fn.Environment {
		fn.Environment[k] = "mutated"
	}
	if fn.Environment != nil {
		fn.Environment["ADDED"] = "1"
	}
}

func testConcurrentCreateSameName(t *testing.T, s sluice.FunctionStore) {
	const n = 32
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			fn := SampleFunction("race")
			fn.RevisionID = fmt.Sprintf("rev-%d", i)
			fn.Description = fn.RevisionID
			<-start
			errs[i] = s.CreateFunction(t.Context(), fn)
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("creates %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		default:
			wantCode(t, err, sluice.EConflict, fmt.Sprintf("losing CreateFunction %d", i))
		}
	}
	if winner < 0 {
		t.Fatal("no CreateFunction succeeded")
	}
	want := SampleFunction("race")
	want.RevisionID = fmt.Sprintf("rev-%d", winner)
	want.Description = want.RevisionID
	checkGet(t, s, want)
	checkNames(t, s, "", 100, "race")
}

func testConcurrentCreateDistinct(t *testing.T, s sluice.FunctionStore) {
	const n = 32
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("fn-%02d", i))
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { errs[i] = s.CreateFunction(t.Context(), SampleFunction(name)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("CreateFunction(%s): %v", names[i], err)
		}
	}
	checkNames(t, s, "", 100, names...)
}

func testConcurrentUpdateCAS(t *testing.T, s sluice.FunctionStore) {
	const (
		rounds  = 5
		writers = 16
	)
	current := SampleFunction("cas")
	mustCreate(t, s, current)
	for round := range rounds {
		winner := casRound(t, round, writers, "UpdateFunction", current.RevisionID, func(w int) error {
			fn := current.Clone()
			fn.RevisionID = fmt.Sprintf("rev-%d-%d", round, w)
			fn.Description = fn.RevisionID
			return s.UpdateFunction(t.Context(), fn, current.RevisionID)
		})
		next := current.Clone()
		next.RevisionID = fmt.Sprintf("rev-%d-%d", round, winner)
		next.Description = next.RevisionID
		checkGet(t, s, next)
		current = next
	}
}

// casRound runs writers compare-and-swap writes from revision rev at once
// and returns the index of the one that won: every other must fail with
// EPrecondition. what names the operation in failures.
func casRound(t *testing.T, round, writers int, what, rev string, write func(w int) error) int {
	t.Helper()
	errs := make([]error, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			errs[w] = write(w)
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for w, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("round %d: %ss %d and %d both succeeded from revision %s", round, what, winner, w, rev)
		case err == nil:
			winner = w
		default:
			wantCode(t, err, sluice.EPrecondition, fmt.Sprintf("round %d: losing %s %d", round, what, w))
		}
	}
	if winner < 0 {
		t.Fatalf("round %d: no %s succeeded", round, what)
	}
	return winner
}

// testConcurrentReads checks that readers never see a torn value while a
// writer replaces it: every value read is one the writer wrote, and a
// reader never goes back to an older one.
func testConcurrentReads(t *testing.T, s sluice.FunctionStore) {
	const (
		updates = 30
		readers = 8
	)
	version := func(i int) *sluice.Function {
		fn := SampleFunction("rw")
		fn.RevisionID = fmt.Sprintf("rev-%03d", i)
		fn.Description = "description " + fn.RevisionID
		fn.Environment = map[string]string{"REV": fn.RevisionID}
		fn.Timeout = i + 1
		return fn
	}
	mustCreate(t, s, version(0))

	done := make(chan struct{})
	var wg sync.WaitGroup
	for r := range readers {
		wg.Go(func() {
			last := -1
			for {
				select {
				case <-done:
					return
				default:
				}
				var got *sluice.Function
				if r%2 == 0 {
					fn, err := s.GetFunction(t.Context(), "rw")
					if err != nil {
						t.Errorf("GetFunction: %v", err)
						return
					}
					got = fn
				} else {
					list, err := s.ListFunctions(t.Context(), "", 10)
					if err != nil || len(list) != 1 {
						t.Errorf("ListFunctions = %d functions, %v; want 1, nil", len(list), err)
						return
					}
					got = list[0]
				}
				i := got.Timeout - 1
				if i < 0 || i > updates {
					t.Errorf("read unknown version with Timeout %d", got.Timeout)
					return
				}
				if d := DiffFunction(version(i), got); d != "" {
					t.Errorf("torn read of version %d: %s", i, d)
					return
				}
				if i < last {
					t.Errorf("read version %d after version %d", i, last)
					return
				}
				last = i
			}
		})
	}
	for i := 1; i <= updates; i++ {
		if err := s.UpdateFunction(t.Context(), version(i), version(i-1).RevisionID); err != nil {
			t.Errorf("UpdateFunction to version %d: %v", i, err)
			break
		}
	}
	close(done)
	wg.Wait()
	checkGet(t, s, version(updates))
}

func mustCreate(t *testing.T, s sluice.FunctionStore, fn *sluice.Function) {
	t.Helper()
	if err := s.CreateFunction(t.Context(), fn); err != nil {
		t.Fatalf("CreateFunction(%s): %v", fn.Name, err)
	}
}

// checkGet checks that the store holds want and returns what it read.
func checkGet(t *testing.T, s sluice.FunctionStore, want *sluice.Function) *sluice.Function {
	t.Helper()
	got, err := s.GetFunction(t.Context(), want.Name)
	if err != nil {
		t.Fatalf("GetFunction(%s): %v", want.Name, err)
	}
	if d := DiffFunction(want, got); d != "" {
		t.Errorf("GetFunction(%s): %s", want.Name, d)
	}
	return got
}

// checkNames checks the names ListFunctions(after, limit) returns.
func checkNames(t *testing.T, s sluice.FunctionStore, after string, limit int, want ...string) {
	t.Helper()
	got, err := s.ListFunctions(t.Context(), after, limit)
	if err != nil {
		t.Fatalf("ListFunctions(%q, %d): %v", after, limit, err)
	}
	if g := namesOf(got); !slices.Equal(g, want) {
		t.Errorf("ListFunctions(%q, %d) = %q, want %q", after, limit, g, want)
	}
}

func namesOf(fns []*sluice.Function) []string {
	names := make([]string, 0, len(fns))
	for _, fn := range fns {
		if fn == nil {
			names = append(names, "<nil>")
			continue
		}
		names = append(names, fn.Name)
	}
	return names
}

// wantCode checks that err is a *sluice.Error of the given code.
func wantCode(t *testing.T, err error, code sluice.ErrorCode, what string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got no error, want %s", what, code)
		return
	}
	if got := sluice.ErrorCodeOf(err); got != code {
		t.Errorf("%s: got error %v (code %s), want code %s", what, err, got, code)
	}
}
