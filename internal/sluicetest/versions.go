package sluicetest

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
)

// This file holds the StoreSuite tests of published versions, aliases and
// reserved concurrency.

// inProgress returns SampleFunction(name) in the middle of an update: a
// new configuration with LastUpdateStatus InProgress, its reasons, and the
// configuration it replaces as Previous.
func inProgress(name string) *sluice.Function {
	prev := SampleFunction(name)
	prev.Version = sluice.LatestVersion
	fn := SampleFunction(name)
	fn.Version = sluice.LatestVersion
	fn.Handler = "new-handler"
	fn.Environment = map[string]string{"NEW": "1"}
	fn.CodeSHA256 = "cd" + fn.CodeSHA256[2:]
	fn.RevisionID = "rev-in-progress"
	fn.LastModified = prev.LastModified.Add(time.Minute)
	fn.LastUpdateStatus = sluice.UpdateInProgress
	fn.LastUpdateStatusReason = "The function is being created."
	fn.LastUpdateStatusReasonCode = "Creating"
	fn.Previous = prev
	return fn
}

func testPreviousRoundTrip(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	fn := inProgress("prev")
	mustCreate(t, s, fn)
	got := checkGet(t, s, fn)
	if got.Previous == nil || got.Previous.Handler != "bootstrap" {
		t.Fatalf("GetFunction: Previous = %+v, want the configuration before the update", got.Previous)
	}
	if got.Serving().Handler != "bootstrap" {
		t.Errorf("Serving().Handler = %q, want the previous handler", got.Serving().Handler)
	}
	list, err := s.ListFunctions(ctx, "", 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListFunctions = %d functions, %v; want 1", len(list), err)
	}
	if d := DiffFunction(fn, list[0]); d != "" {
		t.Errorf("ListFunctions: %s", d)
	}

	// The update completes: Previous and the reasons go away.
	done := fn.Clone()
	done.Previous = nil
	done.LastUpdateStatus = sluice.UpdateSuccessful
	done.LastUpdateStatusReason = ""
	done.LastUpdateStatusReasonCode = ""
	done.RevisionID = "rev-done"
	if err := s.UpdateFunction(ctx, done, fn.RevisionID); err != nil {
		t.Fatalf("UpdateFunction: %v", err)
	}
	if got := checkGet(t, s, done); got.Previous != nil {
		t.Errorf("Previous = %+v after an update without one, want nil", got.Previous)
	}

	// A failed update keeps its reasons.
	failed := done.Clone()
	failed.LastUpdateStatus = sluice.UpdateFailed
	failed.LastUpdateStatusReason = "The bootstrap is not executable."
	failed.LastUpdateStatusReasonCode = "InvalidImage"
	failed.RevisionID = "rev-failed"
	if err := s.UpdateFunction(ctx, failed, done.RevisionID); err != nil {
		t.Fatalf("UpdateFunction: %v", err)
	}
	checkGet(t, s, failed)
}

func testPublishNumbering(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	fn := SampleFunction("pub")
	mustCreate(t, s, fn)
	var published []*sluice.Function
	for i := 1; i <= 3; i++ {
		v := fn.Clone()
		v.RevisionID = fmt.Sprintf("rev-v%d", i)
		v.Description = fmt.Sprintf("version %d", i)
		v.PublishedFrom = fmt.Sprintf("configuration %d", i)
		v.Version = sluice.LatestVersion // the store chooses the number
		if i == 2 {
			v.Previous = SampleFunction("pub") // not kept in a version
		}
		arg := v.Clone()
		got, err := s.PublishVersion(ctx, v, fn.RevisionID)
		if err != nil {
			t.Fatalf("PublishVersion %d: %v", i, err)
		}
		want := arg.Clone()
		want.Version = strconv.Itoa(i)
		want.Previous = nil
		if d := DiffFunction(want, got); d != "" {
			t.Errorf("PublishVersion %d returned: %s", i, d)
		}
		checkVersion(t, s, want)
		published = append(published, want)
	}
	// $LATEST is unchanged.
	checkGet(t, s, fn)
	checkVersions(t, s, "pub", 0, 0, "1", "2", "3")
	list, err := s.ListVersions(ctx, "pub", 0, 0)
	if err != nil {
		t.Fatalf("ListVersions: %v", err)
	}
	for i, v := range list {
		if i < len(published) {
			if d := DiffFunction(published[i], v); d != "" {
				t.Errorf("ListVersions[%d]: %s", i, d)
			}
		}
	}

	// Numbers are per function.
	mustCreate(t, s, SampleFunction("other"))
	got := mustPublish(t, s, "other", "rev-other-v1")
	if got.Version != "1" {
		t.Errorf("first version of a second function = %q, want 1", got.Version)
	}
	checkVersions(t, s, "pub", 0, 0, "1", "2", "3")

	// A function without versions lists none.
	mustCreate(t, s, SampleFunction("none"))
	checkVersions(t, s, "none", 0, 0)
}

func testPublishNumbersNotReused(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	mustCreate(t, s, SampleFunction("fn"))
	for i := 1; i <= 3; i++ {
		mustPublish(t, s, "fn", fmt.Sprintf("rev-v%d", i))
	}
	if err := s.DeleteVersion(ctx, "fn", "3"); err != nil {
		t.Fatalf("DeleteVersion(3): %v", err)
	}
	if v := mustPublish(t, s, "fn", "rev-v4"); v.Version != "4" {
		t.Errorf("version published after deleting the last one = %q, want 4", v.Version)
	}
	for _, n := range []string{"1", "4", "2"} {
		if err := s.DeleteVersion(ctx, "fn", n); err != nil {
			t.Fatalf("DeleteVersion(%s): %v", n, err)
		}
	}
	checkVersions(t, s, "fn", 0, 0)
	if v := mustPublish(t, s, "fn", "rev-v5"); v.Version != "5" {
		t.Errorf("version published after deleting all = %q, want 5", v.Version)
	}
	checkVersions(t, s, "fn", 0, 0, "5")
	_, err := s.GetVersion(ctx, "fn", "3")
	wantCode(t, err, sluice.ENotFound, "GetVersion of a deleted version")
}

func testPublishStaleRevision(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	fn := SampleFunction("stale")
	mustCreate(t, s, fn)
	v := fn.Clone()
	v.RevisionID = "rev-v"
	for _, rev := range []string{"", "wrong", "rev-v", fn.RevisionID + " "} {
		_, err := s.PublishVersion(ctx, v, rev)
		wantCode(t, err, sluice.EPrecondition, fmt.Sprintf("PublishVersion with latestRevision %q", rev))
	}
	checkVersions(t, s, "stale", 0, 0)

	// After an update, the old revision is stale.
	next := fn.Clone()
	next.RevisionID = "rev-next"
	if err := s.UpdateFunction(ctx, next, fn.RevisionID); err != nil {
		t.Fatalf("UpdateFunction: %v", err)
	}
	_, err := s.PublishVersion(ctx, v, fn.RevisionID)
	wantCode(t, err, sluice.EPrecondition, "PublishVersion with the revision before an update")
	checkVersions(t, s, "stale", 0, 0)
	checkGet(t, s, next)

	// The failed attempts used no number.
	if got := mustPublish(t, s, "stale", "rev-v1"); got.Version != "1" {
		t.Errorf("first successful PublishVersion = %q, want 1", got.Version)
	}

	// A missing function.
	missing := SampleFunction("missing")
	_, err = s.PublishVersion(ctx, missing, missing.RevisionID)
	wantCode(t, err, sluice.ENotFound, "PublishVersion of a missing function")
	_, err = s.ListVersions(ctx, "missing", 0, 0)
	wantCode(t, err, sluice.ENotFound, "ListVersions of a missing function")
}

func testVersionsAreSnapshots(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	fn := SampleFunction("snap")
	mustCreate(t, s, fn)
	v1 := mustPublish(t, s, "snap", "rev-v1")

	next := fn.Clone()
	next.Description = "changed after publishing"
	next.Environment = map[string]string{"CHANGED": "yes"}
	next.CodeSHA256 = "ef" + next.CodeSHA256[2:]
	next.RevisionID = "rev-next"
	if err := s.UpdateFunction(ctx, next, fn.RevisionID); err != nil {
		t.Fatalf("UpdateFunction: %v", err)
	}
	checkVersion(t, s, v1)
	checkGet(t, s, next)

	v2 := mustPublish(t, s, "snap", "rev-v2")
	if v2.Description != next.Description {
		t.Errorf("version 2 Description = %q, want %q", v2.Description, next.Description)
	}
	checkVersion(t, s, v1)
	checkVersion(t, s, v2)
}

func testGetVersionNotFound(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	mustCreate(t, s, SampleFunction("fn"))
	mustCreate(t, s, SampleFunction("fn2"))
	mustPublish(t, s, "fn", "rev-v1")
	mustPublish(t, s, "fn", "rev-v2")
	for _, version := range []string{
		sluice.LatestVersion, "", "0", "3", "01", "+1", "-1", "1.0", " 1", "1 ", "one", "0x1",
		"18446744073709551617", "99999999999999999999999",
	} {
		_, err := s.GetVersion(ctx, "fn", version)
		wantCode(t, err, sluice.ENotFound, fmt.Sprintf("GetVersion(fn, %q)", version))
		wantCode(t, s.DeleteVersion(ctx, "fn", version), sluice.ENotFound, fmt.Sprintf("DeleteVersion(fn, %q)", version))
	}
	// Another function's versions, and missing functions.
	for _, name := range []string{"fn2", "missing", "f", ""} {
		_, err := s.GetVersion(ctx, name, "1")
		wantCode(t, err, sluice.ENotFound, fmt.Sprintf("GetVersion(%q, 1)", name))
		wantCode(t, s.DeleteVersion(ctx, name, "1"), sluice.ENotFound, fmt.Sprintf("DeleteVersion(%q, 1)", name))
	}
	checkVersions(t, s, "fn", 0, 0, "1", "2")
	checkVersions(t, s, "fn2", 0, 0)
}

func testListVersionsPaging(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	mustCreate(t, s, SampleFunction("fn"))
	for i := 1; i <= 12; i++ {
		mustPublish(t, s, "fn", fmt.Sprintf("rev-v%d", i))
	}
	if err := s.DeleteVersion(ctx, "fn", "5"); err != nil {
		t.Fatalf("DeleteVersion: %v", err)
	}
	all := []string{"1", "2", "3", "4", "6", "7", "8", "9", "10", "11", "12"}

	// Walk the pages with after = number of the last version of the
	// previous page: numeric order, not string order ("10" < "2").
	var seen []string
	var sizes []int
	after := 0
	for range 20 {
		page, err := s.ListVersions(ctx, "fn", after, 3)
		if err != nil {
			t.Fatalf("ListVersions(%d, 3): %v", after, err)
		}
		if len(page) == 0 {
			break
		}
		sizes = append(sizes, len(page))
		seen = append(seen, versionsOf(page)...)
		n, err := strconv.Atoi(page[len(page)-1].Version)
		if err != nil {
			t.Fatalf("listed version %q: %v", page[len(page)-1].Version, err)
		}
		after = n
	}
	if !slices.Equal(seen, all) {
		t.Errorf("paged versions = %q, want %q", seen, all)
	}
	if !slices.Equal(sizes, []int{3, 3, 3, 2}) {
		t.Errorf("page sizes = %v, want [3 3 3 2]", sizes)
	}

	checkVersions(t, s, "fn", 0, 0, all...)
	checkVersions(t, s, "fn", 0, -1, all...)
	checkVersions(t, s, "fn", 0, 100, all...)
	checkVersions(t, s, "fn", 0, 1, "1")
	checkVersions(t, s, "fn", 4, 2, "6", "7") // after is exclusive
	checkVersions(t, s, "fn", 5, 2, "6", "7") // after need not exist
	checkVersions(t, s, "fn", 9, 100, "10", "11", "12")
	checkVersions(t, s, "fn", 11, 5, "12")
	checkVersions(t, s, "fn", 12, 5)
	checkVersions(t, s, "fn", 1000, 5)
}

func testDeleteVersion(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	fn := SampleFunction("fn")
	mustCreate(t, s, fn)
	v1 := mustPublish(t, s, "fn", "rev-v1")
	mustPublish(t, s, "fn", "rev-v2")
	v3 := mustPublish(t, s, "fn", "rev-v3")
	if err := s.DeleteVersion(ctx, "fn", "2"); err != nil {
		t.Fatalf("DeleteVersion: %v", err)
	}
	_, err := s.GetVersion(ctx, "fn", "2")
	wantCode(t, err, sluice.ENotFound, "GetVersion of a deleted version")
	wantCode(t, s.DeleteVersion(ctx, "fn", "2"), sluice.ENotFound, "second DeleteVersion")
	wantCode(t, s.DeleteVersion(ctx, "fn", sluice.LatestVersion), sluice.ENotFound, "DeleteVersion($LATEST)")
	checkVersions(t, s, "fn", 0, 0, "1", "3")
	checkVersion(t, s, v1)
	checkVersion(t, s, v3)
	checkGet(t, s, fn)
}

func testDeleteVersionReferencedByAlias(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	mustCreate(t, s, SampleFunction("fn"))
	for i := 1; i <= 5; i++ {
		mustPublish(t, s, "fn", fmt.Sprintf("rev-v%d", i))
	}
	primary := SampleAlias("fn", "primary", "1")
	weighted := SampleAlias("fn", "weighted", "3")
	weighted.AdditionalVersionWeights = map[string]float64{"2": 0.25}
	both := SampleAlias("fn", "both", "4")
	both2 := SampleAlias("fn", "both2", "5")
	both2.AdditionalVersionWeights = map[string]float64{"4": 0.5}
	for _, a := range []*sluice.Alias{primary, weighted, both, both2} {
		mustCreateAlias(t, s, a)
	}
	for _, v := range []string{"1", "2", "3", "4", "5"} {
		wantCode(t, s.DeleteVersion(ctx, "fn", v), sluice.EConflict, "DeleteVersion("+v+") of a version an alias routes to")
	}
	checkVersions(t, s, "fn", 0, 0, "1", "2", "3", "4", "5")

	// Once no alias routes to it, a version can go.
	next := primary.Clone()
	next.FunctionVersion = sluice.LatestVersion
	next.RevisionID = "rev-primary-2"
	if err := s.UpdateAlias(ctx, next, primary.RevisionID); err != nil {
		t.Fatalf("UpdateAlias: %v", err)
	}
	if err := s.DeleteVersion(ctx, "fn", "1"); err != nil {
		t.Errorf("DeleteVersion(1) after moving its alias: %v", err)
	}
	nextW := weighted.Clone()
	nextW.AdditionalVersionWeights = nil
	nextW.RevisionID = "rev-weighted-2"
	if err := s.UpdateAlias(ctx, nextW, weighted.RevisionID); err != nil {
		t.Fatalf("UpdateAlias: %v", err)
	}
	if err := s.DeleteVersion(ctx, "fn", "2"); err != nil {
		t.Errorf("DeleteVersion(2) after removing its weight: %v", err)
	}
	wantCode(t, s.DeleteVersion(ctx, "fn", "3"), sluice.EConflict, "DeleteVersion(3), still routed to")
	if err := s.DeleteAlias(ctx, "fn", "both"); err != nil {
		t.Fatalf("DeleteAlias: %v", err)
	}
	wantCode(t, s.DeleteVersion(ctx, "fn", "4"), sluice.EConflict, "DeleteVersion(4), still a weight of both2")
	if err := s.DeleteAlias(ctx, "fn", "both2"); err != nil {
		t.Fatalf("DeleteAlias: %v", err)
	}
	if err := s.DeleteVersion(ctx, "fn", "4"); err != nil {
		t.Errorf("DeleteVersion(4) after deleting its aliases: %v", err)
	}
	checkVersions(t, s, "fn", 0, 0, "3", "5")

	// An alias of another function does not hold this one's versions.
	mustCreate(t, s, SampleFunction("other"))
	mustPublish(t, s, "other", "rev-other-v1")
	mustCreateAlias(t, s, SampleAlias("other", "live", "1"))
	if err := s.DeleteVersion(ctx, "fn", "5"); err != nil {
		t.Errorf("DeleteVersion(fn, 5), routed to by no alias of fn: %v", err)
	}
}

func testAliasCRUD(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	mustCreate(t, s, SampleFunction("fn"))
	mustPublish(t, s, "fn", "rev-v1")
	mustPublish(t, s, "fn", "rev-v2")

	live := SampleAlias("fn", "live", "1")
	live.AdditionalVersionWeights = map[string]float64{"2": 0.1}
	orig := live.Clone()
	mustCreateAlias(t, s, live)
	if d := DiffAlias(orig, live); d != "" {
		t.Errorf("CreateAlias changed its argument: %s", d)
	}
	checkAlias(t, s, orig)

	dev := SampleAlias("fn", "dev", sluice.LatestVersion)
	mustCreateAlias(t, s, dev)
	checkAlias(t, s, dev)
	checkAliasNames(t, s, "fn", "", 0, "dev", "live")

	// A duplicate is refused and changes nothing.
	dup := SampleAlias("fn", "live", "2")
	dup.RevisionID = "rev-dup"
	wantCode(t, s.CreateAlias(ctx, dup), sluice.EConflict, "CreateAlias of an existing alias")
	checkAlias(t, s, orig)

	// Update.
	next := orig.Clone()
	next.FunctionVersion = "2"
	next.AdditionalVersionWeights = map[string]float64{"1": 0.5}
	next.Description = "moved"
	next.RevisionID = "rev-live-2"
	wantNext := next.Clone()
	if err := s.UpdateAlias(ctx, next, orig.RevisionID); err != nil {
		t.Fatalf("UpdateAlias: %v", err)
	}
	checkAlias(t, s, wantNext)
	checkGet(t, s, SampleFunction("fn")) // aliases do not touch $LATEST

	// Delete.
	if err := s.DeleteAlias(ctx, "fn", "live"); err != nil {
		t.Fatalf("DeleteAlias: %v", err)
	}
	_, err := s.GetAlias(ctx, "fn", "live")
	wantCode(t, err, sluice.ENotFound, "GetAlias after DeleteAlias")
	wantCode(t, s.DeleteAlias(ctx, "fn", "live"), sluice.ENotFound, "second DeleteAlias")
	wantCode(t, s.UpdateAlias(ctx, wantNext, wantNext.RevisionID), sluice.ENotFound, "UpdateAlias of a deleted alias")
	checkAliasNames(t, s, "fn", "", 0, "dev")
	checkAlias(t, s, dev)

	// The name is free again.
	again := SampleAlias("fn", "live", "2")
	again.RevisionID = "rev-again"
	mustCreateAlias(t, s, again)
	checkAlias(t, s, again)

	// Aliases are per function: the same name in another function is
	// another alias.
	mustCreate(t, s, SampleFunction("fn2"))
	other := SampleAlias("fn2", "live", sluice.LatestVersion)
	other.Description = "fn2's"
	mustCreateAlias(t, s, other)
	checkAlias(t, s, other)
	checkAlias(t, s, again)
	checkAliasNames(t, s, "fn2", "", 0, "live")
	_, err = s.GetAlias(ctx, "fn2", "dev")
	wantCode(t, err, sluice.ENotFound, "GetAlias of another function's alias")
}

func testAliasNotFound(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	mustCreate(t, s, SampleFunction("fn"))
	mustPublish(t, s, "fn", "rev-v1")
	mustPublish(t, s, "fn", "rev-v2")
	if err := s.DeleteVersion(ctx, "fn", "2"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, SampleFunction("fn2"))
	mustPublish(t, s, "fn2", "rev-fn2-v1")
	mustPublish(t, s, "fn2", "rev-fn2-v2")
	mustPublish(t, s, "fn2", "rev-fn2-v3")

	// A missing function.
	wantCode(t, s.CreateAlias(ctx, SampleAlias("missing", "live", sluice.LatestVersion)), sluice.ENotFound, "CreateAlias of a missing function")
	_, err := s.GetAlias(ctx, "missing", "live")
	wantCode(t, err, sluice.ENotFound, "GetAlias of a missing function")
	_, err = s.ListAliases(ctx, "missing", "", 0)
	wantCode(t, err, sluice.ENotFound, "ListAliases of a missing function")
	wantCode(t, s.DeleteAlias(ctx, "missing", "live"), sluice.ENotFound, "DeleteAlias of a missing function")
	wantCode(t, s.UpdateAlias(ctx, SampleAlias("missing", "live", sluice.LatestVersion), "rev-alias-live"), sluice.ENotFound, "UpdateAlias of a missing function")

	// Missing versions: never published, deleted, another function's,
	// and $LATEST as a weight (only published versions take weights).
	bad := map[string]*sluice.Alias{}
	for _, v := range []string{"3", "2", "0", "01", "x", ""} {
		bad["version "+v] = SampleAlias("fn", "bad", v)
	}
	for _, v := range []string{"3", "2", sluice.LatestVersion, "01", "x"} {
		a := SampleAlias("fn", "bad", "1")
		a.AdditionalVersionWeights = map[string]float64{v: 0.5}
		bad["weight "+v] = a
	}
	for what, a := range bad {
		wantCode(t, s.CreateAlias(ctx, a), sluice.ENotFound, "CreateAlias routing to "+what)
	}
	checkAliasNames(t, s, "fn", "", 0)

	// The same for updates, which change nothing.
	good := SampleAlias("fn", "bad", "1")
	mustCreateAlias(t, s, good)
	for what, a := range bad {
		a := a.Clone()
		a.RevisionID = "rev-bad"
		wantCode(t, s.UpdateAlias(ctx, a, good.RevisionID), sluice.ENotFound, "UpdateAlias routing to "+what)
	}
	checkAlias(t, s, good)

	// Missing aliases.
	for _, name := range []string{"missing", "ba", "bad-", "BAD"} {
		_, err := s.GetAlias(ctx, "fn", name)
		wantCode(t, err, sluice.ENotFound, "GetAlias("+name+")")
		wantCode(t, s.DeleteAlias(ctx, "fn", name), sluice.ENotFound, "DeleteAlias("+name+")")
		wantCode(t, s.UpdateAlias(ctx, SampleAlias("fn", name, "1"), "rev-alias-"+name), sluice.ENotFound, "UpdateAlias("+name+")")
		_, err = s.GetAlias(ctx, "fn2", name)
		wantCode(t, err, sluice.ENotFound, "GetAlias(fn2, "+name+")")
	}
	checkAliasNames(t, s, "fn", "", 0, "bad")
}

func testUpdateAliasWrongRevision(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	mustCreate(t, s, SampleFunction("fn"))
	mustPublish(t, s, "fn", "rev-v1")
	a := SampleAlias("fn", "live", "1")
	mustCreateAlias(t, s, a)
	next := a.Clone()
	next.FunctionVersion = sluice.LatestVersion
	next.RevisionID = "rev-next"
	for _, prev := range []string{"", "wrong", "rev-next", a.RevisionID + " "} {
		wantCode(t, s.UpdateAlias(ctx, next, prev), sluice.EPrecondition, fmt.Sprintf("UpdateAlias with prevRevision %q", prev))
		checkAlias(t, s, a)
	}
	if err := s.UpdateAlias(ctx, next, a.RevisionID); err != nil {
		t.Fatalf("UpdateAlias: %v", err)
	}
	stale := a.Clone()
	stale.RevisionID = "rev-stale"
	wantCode(t, s.UpdateAlias(ctx, stale, a.RevisionID), sluice.EPrecondition, "UpdateAlias with a stale revision")
	checkAlias(t, s, next)
}

func testListAliasesPaging(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	mustCreate(t, s, SampleFunction("fn"))
	mustCreate(t, s, SampleFunction("fn2"))
	mustCreateAlias(t, s, SampleAlias("fn2", "not-fn", sluice.LatestVersion))
	names := []string{"b", "a", "A", "a-1", "a_1", "a1", "Z", "zz", "z", "alias-10", "alias-9", "0"}
	all := slices.Clone(names)
	slices.Sort(all) // byte-wise
	for _, i := range rand.Perm(len(names)) {
		a := SampleAlias("fn", names[i], sluice.LatestVersion)
		a.Description = "desc of " + names[i]
		mustCreateAlias(t, s, a)
	}
	list, err := s.ListAliases(ctx, "fn", "", 0)
	if err != nil {
		t.Fatalf("ListAliases: %v", err)
	}
	if g := aliasNamesOf(list); !slices.Equal(g, all) {
		t.Fatalf("ListAliases names = %q, want %q", g, all)
	}
	for _, a := range list {
		want := SampleAlias("fn", a.Name, sluice.LatestVersion)
		want.Description = "desc of " + a.Name
		if d := DiffAlias(want, a); d != "" {
			t.Errorf("listed %s: %s", a.Name, d)
		}
	}

	var seen []string
	after := ""
	for range 20 {
		page, err := s.ListAliases(ctx, "fn", after, 5)
		if err != nil {
			t.Fatalf("ListAliases(%q, 5): %v", after, err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 5 {
			t.Fatalf("ListAliases(%q, 5) returned %d aliases", after, len(page))
		}
		seen = append(seen, aliasNamesOf(page)...)
		after = page[len(page)-1].Name
	}
	if !slices.Equal(seen, all) {
		t.Errorf("paged aliases = %q, want %q", seen, all)
	}
	checkAliasNames(t, s, "fn", "", -1, all...)
	checkAliasNames(t, s, "fn", "", 100, all...)
	checkAliasNames(t, s, "fn", "", 1, all[0])
	checkAliasNames(t, s, "fn", "a", 2, "a-1", "a1")  // after is exclusive
	checkAliasNames(t, s, "fn", "a0", 2, "a1", "a_1") // after need not exist
	checkAliasNames(t, s, "fn", "z", 5, "zz")
	checkAliasNames(t, s, "fn", "zz", 5)
	checkAliasNames(t, s, "fn", "zzz", 5)
	checkAliasNames(t, s, "fn2", "", 0, "not-fn")
}

func testDeleteFunctionCascades(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	for _, name := range []string{"fn", "keep"} {
		mustCreate(t, s, SampleFunction(name))
		mustPublish(t, s, name, "rev-"+name+"-v1")
		mustPublish(t, s, name, "rev-"+name+"-v2")
		a := SampleAlias(name, "live", "1")
		a.AdditionalVersionWeights = map[string]float64{"2": 0.5}
		mustCreateAlias(t, s, a)
		mustCreateAlias(t, s, SampleAlias(name, "dev", sluice.LatestVersion))
		if err := s.SetReservedConcurrency(ctx, name, 3); err != nil {
			t.Fatalf("SetReservedConcurrency: %v", err)
		}
	}
	if err := s.DeleteFunction(ctx, "fn"); err != nil {
		t.Fatalf("DeleteFunction: %v", err)
	}
	_, err := s.GetVersion(ctx, "fn", "1")
	wantCode(t, err, sluice.ENotFound, "GetVersion of a deleted function")
	_, err = s.GetAlias(ctx, "fn", "live")
	wantCode(t, err, sluice.ENotFound, "GetAlias of a deleted function")
	checkConcurrency(t, s, map[string]int{"keep": 3})

	// A function created again under the name starts afresh.
	again := SampleFunction("fn")
	again.RevisionID = "rev-again"
	mustCreate(t, s, again)
	checkVersions(t, s, "fn", 0, 0)
	checkAliasNames(t, s, "fn", "", 0)
	_, err = s.GetVersion(ctx, "fn", "2")
	wantCode(t, err, sluice.ENotFound, "GetVersion of the deleted function's version")
	_, err = s.GetAlias(ctx, "fn", "dev")
	wantCode(t, err, sluice.ENotFound, "GetAlias of the deleted function's alias")
	checkConcurrency(t, s, map[string]int{"keep": 3})
	if v := mustPublish(t, s, "fn", "rev-again-v1"); v.Version != "1" {
		t.Errorf("first version of a function created again = %q, want 1", v.Version)
	}
	mustCreateAlias(t, s, SampleAlias("fn", "live", "1"))

	// The other function kept everything.
	checkVersions(t, s, "keep", 0, 0, "1", "2")
	checkAliasNames(t, s, "keep", "", 0, "dev", "live")
	if v := mustPublish(t, s, "keep", "rev-keep-v3"); v.Version != "3" {
		t.Errorf("next version of the other function = %q, want 3", v.Version)
	}
}

func testUpdateKeepsVersionsAndAliases(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	fn := SampleFunction("fn")
	mustCreate(t, s, fn)
	v1 := mustPublish(t, s, "fn", "rev-v1")
	v2 := mustPublish(t, s, "fn", "rev-v2")
	if err := s.DeleteVersion(ctx, "fn", "2"); err != nil {
		t.Fatal(err)
	}
	a := SampleAlias("fn", "live", "1")
	mustCreateAlias(t, s, a)
	if err := s.SetReservedConcurrency(ctx, "fn", 9); err != nil {
		t.Fatal(err)
	}

	next := fn.Clone()
	next.Description = "updated"
	next.RevisionID = "rev-updated"
	if err := s.UpdateFunction(ctx, next, fn.RevisionID); err != nil {
		t.Fatalf("UpdateFunction: %v", err)
	}
	checkVersions(t, s, "fn", 0, 0, "1")
	checkVersion(t, s, v1)
	checkAlias(t, s, a)
	checkConcurrency(t, s, map[string]int{"fn": 9})
	if v := mustPublish(t, s, "fn", "rev-v3"); v.Version != "3" {
		t.Errorf("version published after UpdateFunction = %q, want 3 (2 = %s was deleted)", v.Version, v2.RevisionID)
	}
}

func testReservedConcurrency(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	checkConcurrency(t, s, map[string]int{})
	a, b := SampleFunction("a"), SampleFunction("b")
	mustCreate(t, s, a)
	mustCreate(t, s, b)
	mustCreate(t, s, SampleFunction("c"))
	checkConcurrency(t, s, map[string]int{})

	if err := s.SetReservedConcurrency(ctx, "a", 5); err != nil {
		t.Fatalf("SetReservedConcurrency: %v", err)
	}
	if err := s.SetReservedConcurrency(ctx, "b", 0); err != nil {
		t.Fatalf("SetReservedConcurrency(0): %v", err)
	}
	checkConcurrency(t, s, map[string]int{"a": 5, "b": 0})
	// The function's record, RevisionID included, is unchanged.
	checkGet(t, s, a)
	checkGet(t, s, b)

	if err := s.SetReservedConcurrency(ctx, "a", 1000); err != nil {
		t.Fatalf("SetReservedConcurrency: %v", err)
	}
	checkConcurrency(t, s, map[string]int{"a": 1000, "b": 0})
	if err := s.SetReservedConcurrency(ctx, "b", -1); err != nil {
		t.Fatalf("SetReservedConcurrency(-1): %v", err)
	}
	checkConcurrency(t, s, map[string]int{"a": 1000})
	if err := s.SetReservedConcurrency(ctx, "c", -1); err != nil {
		t.Errorf("SetReservedConcurrency(-1) of a function without one: %v", err)
	}
	checkConcurrency(t, s, map[string]int{"a": 1000})
	checkGet(t, s, a)

	// An update from the revision before still succeeds.
	next := a.Clone()
	next.RevisionID = "rev-next"
	if err := s.UpdateFunction(ctx, next, a.RevisionID); err != nil {
		t.Errorf("UpdateFunction with the revision from before SetReservedConcurrency: %v", err)
	}
	checkConcurrency(t, s, map[string]int{"a": 1000})

	wantCode(t, s.SetReservedConcurrency(ctx, "missing", 1), sluice.ENotFound, "SetReservedConcurrency of a missing function")
	wantCode(t, s.SetReservedConcurrency(ctx, "missing", -1), sluice.ENotFound, "SetReservedConcurrency(-1) of a missing function")
	checkConcurrency(t, s, map[string]int{"a": 1000})
	_, err := s.GetFunction(ctx, "missing")
	wantCode(t, err, sluice.ENotFound, "GetFunction after SetReservedConcurrency of a missing function")
}

func testVersionAndAliasCopies(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	fn := SampleFunction("copy")
	mustCreate(t, s, fn)

	// PublishVersion's argument and result.
	v := fn.Clone()
	v.RevisionID = "rev-v1"
	want := v.Clone()
	want.Version = "1"
	got, err := s.PublishVersion(ctx, v, fn.RevisionID)
	if err != nil {
		t.Fatalf("PublishVersion: %v", err)
	}
	mutate(v)
	checkVersion(t, s, want)
	mutate(got)
	checkVersion(t, s, want)

	// GetVersion and ListVersions results.
	g, err := s.GetVersion(ctx, "copy", "1")
	if err != nil {
		t.Fatalf("GetVersion: %v", err)
	}
	mutate(g)
	checkVersion(t, s, want)
	list, err := s.ListVersions(ctx, "copy", 0, 0)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListVersions = %d versions, %v; want 1", len(list), err)
	}
	mutate(list[0])
	checkVersion(t, s, want)

	// A published version does not share with $LATEST.
	checkGet(t, s, fn)

	// Alias arguments and results.
	mustPublish(t, s, "copy", "rev-v2")
	a := SampleAlias("copy", "live", "1")
	a.AdditionalVersionWeights = map[string]float64{"2": 0.5}
	wantA := a.Clone()
	mustCreateAlias(t, s, a)
	mutateAlias(a)
	checkAlias(t, s, wantA)
	ga, err := s.GetAlias(ctx, "copy", "live")
	if err != nil {
		t.Fatalf("GetAlias: %v", err)
	}
	mutateAlias(ga)
	checkAlias(t, s, wantA)
	la, err := s.ListAliases(ctx, "copy", "", 0)
	if err != nil || len(la) != 1 {
		t.Fatalf("ListAliases = %d aliases, %v; want 1", len(la), err)
	}
	mutateAlias(la[0])
	checkAlias(t, s, wantA)
	next := wantA.Clone()
	next.RevisionID = "rev-next"
	wantNext := next.Clone()
	if err := s.UpdateAlias(ctx, next, wantA.RevisionID); err != nil {
		t.Fatalf("UpdateAlias: %v", err)
	}
	mutateAlias(next)
	checkAlias(t, s, wantNext)

	// ReservedConcurrency's map.
	if err := s.SetReservedConcurrency(ctx, "copy", 2); err != nil {
		t.Fatal(err)
	}
	m, err := s.ReservedConcurrency(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m["copy"] = 99
	m["added"] = 1
	checkConcurrency(t, s, map[string]int{"copy": 2})
}

// mutateAlias changes every mutable part of a except its names.
func mutateAlias(a *sluice.Alias) {
	a.FunctionVersion = "mutated"
	a.Description = "mutated"
	a.RevisionID = "mutated"
	for k := range a.AdditionalVersionWeights {
		a.AdditionalVersionWeights[k] = 0.99
	}
	if a.AdditionalVersionWeights != nil {
		a.AdditionalVersionWeights["added"] = 0.1
	}
}

func testConcurrentPublish(t *testing.T, s sluice.FunctionStore) {
	const n = 20
	fn := SampleFunction("race")
	mustCreate(t, s, fn)
	got := make([]*sluice.Function, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v := fn.Clone()
			v.RevisionID = fmt.Sprintf("rev-pub-%d", i)
			v.Description = v.RevisionID
			<-start
			got[i], errs[i] = s.PublishVersion(t.Context(), v, fn.RevisionID)
		})
	}
	close(start)
	wg.Wait()

	byNumber := make(map[string]int)
	for i := range n {
		if errs[i] != nil {
			t.Errorf("PublishVersion %d: %v", i, errs[i])
			continue
		}
		if got[i] == nil {
			t.Errorf("PublishVersion %d returned nil", i)
			continue
		}
		if j, dup := byNumber[got[i].Version]; dup {
			t.Errorf("PublishVersion %d and %d both got version %s", j, i, got[i].Version)
		}
		byNumber[got[i].Version] = i
	}
	var want []string
	for i := 1; i <= n; i++ {
		want = append(want, strconv.Itoa(i))
	}
	if g := slices.SortedFunc(maps.Keys(byNumber), func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	}); !slices.Equal(g, want) {
		t.Errorf("published numbers = %q, want %q", g, want)
	}
	checkVersions(t, s, "race", 0, 0, want...)
	// Each number holds what the call that got it published.
	for number, i := range byNumber {
		w := fn.Clone()
		w.Version = number
		w.RevisionID = fmt.Sprintf("rev-pub-%d", i)
		w.Description = w.RevisionID
		checkVersion(t, s, w)
	}
	checkGet(t, s, fn)
}

func testConcurrentAliasCAS(t *testing.T, s sluice.FunctionStore) {
	const (
		rounds  = 5
		writers = 16
	)
	mustCreate(t, s, SampleFunction("fn"))
	mustPublish(t, s, "fn", "rev-v1")
	current := SampleAlias("fn", "live", "1")
	mustCreateAlias(t, s, current)
	for round := range rounds {
		winner := casRound(t, round, writers, "UpdateAlias", current.RevisionID, func(w int) error {
			a := current.Clone()
			a.RevisionID = fmt.Sprintf("rev-%d-%d", round, w)
			a.Description = a.RevisionID
			return s.UpdateAlias(t.Context(), a, current.RevisionID)
		})
		next := current.Clone()
		next.RevisionID = fmt.Sprintf("rev-%d-%d", round, winner)
		next.Description = next.RevisionID
		checkAlias(t, s, next)
		current = next
	}
}

// testConcurrentDeleteVersionAndAlias races DeleteVersion of a version
// against CreateAlias of an alias routing to it: exactly one may win, and
// an alias never routes to a missing version.
func testConcurrentDeleteVersionAndAlias(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	mustCreate(t, s, SampleFunction("fn"))
	for round := range 20 {
		v := mustPublish(t, s, "fn", fmt.Sprintf("rev-v%d", round))
		a := SampleAlias("fn", fmt.Sprintf("alias-%02d", round), sluice.LatestVersion)
		if round%2 == 0 {
			a.FunctionVersion = v.Version
		} else {
			a.AdditionalVersionWeights = map[string]float64{v.Version: 0.5}
		}
		var delErr, aliasErr error
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { <-start; delErr = s.DeleteVersion(ctx, "fn", v.Version) })
		wg.Go(func() { <-start; aliasErr = s.CreateAlias(ctx, a) })
		close(start)
		wg.Wait()

		_, getErr := s.GetVersion(ctx, "fn", v.Version)
		switch {
		case delErr == nil && aliasErr == nil:
			t.Fatalf("round %d: both DeleteVersion and CreateAlias of an alias routing to it succeeded", round)
		case delErr == nil:
			wantCode(t, aliasErr, sluice.ENotFound, fmt.Sprintf("round %d: CreateAlias after DeleteVersion", round))
			wantCode(t, getErr, sluice.ENotFound, fmt.Sprintf("round %d: GetVersion after DeleteVersion", round))
		case aliasErr == nil:
			wantCode(t, delErr, sluice.EConflict, fmt.Sprintf("round %d: DeleteVersion after CreateAlias", round))
			if getErr != nil {
				t.Errorf("round %d: alias created but its version is gone: %v", round, getErr)
			}
			checkAlias(t, s, a)
		default:
			t.Fatalf("round %d: both failed: DeleteVersion: %v; CreateAlias: %v", round, delErr, aliasErr)
		}
	}
}

// mustPublish publishes the named function's $LATEST, with RevisionID rev,
// checks what the store returned and holds, and returns it.
func mustPublish(t *testing.T, s sluice.FunctionStore, name, rev string) *sluice.Function {
	t.Helper()
	latest, err := s.GetFunction(t.Context(), name)
	if err != nil {
		t.Fatalf("GetFunction(%s): %v", name, err)
	}
	v := latest.Clone()
	v.RevisionID = rev
	got, err := s.PublishVersion(t.Context(), v, latest.RevisionID)
	if err != nil {
		t.Fatalf("PublishVersion(%s): %v", name, err)
	}
	if got == nil {
		t.Fatalf("PublishVersion(%s) returned nil", name)
	}
	if n, err := strconv.Atoi(got.Version); err != nil || n < 1 || strconv.Itoa(n) != got.Version {
		t.Fatalf("PublishVersion(%s) returned Version %q, want a decimal number from 1", name, got.Version)
	}
	want := v.Clone()
	want.Version = got.Version
	want.Previous, want.Policy = nil, nil // a new version has no policy
	if d := DiffFunction(want, got); d != "" {
		t.Errorf("PublishVersion(%s) returned: %s", name, d)
	}
	checkVersion(t, s, want)
	return got
}

// checkVersion checks that the store holds the published version want.
func checkVersion(t *testing.T, s sluice.FunctionStore, want *sluice.Function) {
	t.Helper()
	got, err := s.GetVersion(t.Context(), want.Name, want.Version)
	if err != nil {
		t.Fatalf("GetVersion(%s, %s): %v", want.Name, want.Version, err)
	}
	if d := DiffFunction(want, got); d != "" {
		t.Errorf("GetVersion(%s, %s): %s", want.Name, want.Version, d)
	}
}

// checkVersions checks the version numbers ListVersions returns.
func checkVersions(t *testing.T, s sluice.FunctionStore, name string, after, limit int, want ...string) {
	t.Helper()
	got, err := s.ListVersions(t.Context(), name, after, limit)
	if err != nil {
		t.Fatalf("ListVersions(%s, %d, %d): %v", name, after, limit, err)
	}
	if g := versionsOf(got); !slices.Equal(g, want) {
		t.Errorf("ListVersions(%s, %d, %d) = %q, want %q", name, after, limit, g, want)
	}
	for _, v := range got {
		if v != nil && v.Name != name {
			t.Errorf("ListVersions(%s) listed version %s of %s", name, v.Version, v.Name)
		}
	}
}

func versionsOf(fns []*sluice.Function) []string {
	out := make([]string, 0, len(fns))
	for _, fn := range fns {
		if fn == nil {
			out = append(out, "<nil>")
			continue
		}
		out = append(out, fn.Version)
	}
	return out
}

func mustCreateAlias(t *testing.T, s sluice.FunctionStore, a *sluice.Alias) {
	t.Helper()
	if err := s.CreateAlias(t.Context(), a); err != nil {
		t.Fatalf("CreateAlias(%s:%s): %v", a.FunctionName, a.Name, err)
	}
}

// checkAlias checks that the store holds want.
func checkAlias(t *testing.T, s sluice.FunctionStore, want *sluice.Alias) {
	t.Helper()
	got, err := s.GetAlias(t.Context(), want.FunctionName, want.Name)
	if err != nil {
		t.Fatalf("GetAlias(%s, %s): %v", want.FunctionName, want.Name, err)
	}
	if d := DiffAlias(want, got); d != "" {
		t.Errorf("GetAlias(%s, %s): %s", want.FunctionName, want.Name, d)
	}
}

// checkAliasNames checks the names ListAliases returns.
func checkAliasNames(t *testing.T, s sluice.FunctionStore, function, after string, limit int, want ...string) {
	t.Helper()
	got, err := s.ListAliases(t.Context(), function, after, limit)
	if err != nil {
		t.Fatalf("ListAliases(%s, %q, %d): %v", function, after, limit, err)
	}
	if g := aliasNamesOf(got); !slices.Equal(g, want) {
		t.Errorf("ListAliases(%s, %q, %d) = %q, want %q", function, after, limit, g, want)
	}
	for _, a := range got {
		if a != nil && a.FunctionName != function {
			t.Errorf("ListAliases(%s) listed alias %s of %s", function, a.Name, a.FunctionName)
		}
	}
}

func aliasNamesOf(as []*sluice.Alias) []string {
	out := make([]string, 0, len(as))
	for _, a := range as {
		if a == nil {
			out = append(out, "<nil>")
			continue
		}
		out = append(out, a.Name)
	}
	return out
}

// checkConcurrency checks what ReservedConcurrency returns.
func checkConcurrency(t *testing.T, s sluice.FunctionStore, want map[string]int) {
	t.Helper()
	got, err := s.ReservedConcurrency(t.Context())
	if err != nil {
		t.Fatalf("ReservedConcurrency: %v", err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("ReservedConcurrency = %v, want %v", got, want)
	}
}
