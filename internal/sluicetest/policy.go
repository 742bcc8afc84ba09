package sluicetest

import (
	"fmt"
	"testing"

	"github.com/sluice-dev/sluice"
)

// This file holds the StoreSuite tests of resource-based policies
// (FunctionStore.SetPolicy and the policy members of the records).

// policyFixture creates function name with version 1 and alias "live" of
// it, and returns them as stored.
func policyFixture(t *testing.T, s sluice.FunctionStore, name string) (*sluice.Function, *sluice.Function, *sluice.Alias) {
	t.Helper()
	fn := SampleFunction(name)
	fn.Version = sluice.LatestVersion
	mustCreate(t, s, fn)
	v1 := mustPublish(t, s, name, "rev-"+name+"-v1")
	live := SampleAlias(name, "live", "1")
	mustCreateAlias(t, s, live)
	return fn, v1, live
}

// mustSetPolicy sets a policy or fails the test.
func mustSetPolicy(t *testing.T, s sluice.FunctionStore, function, qualifier string, p *sluice.FunctionPolicy, prev string) {
	t.Helper()
	if err := s.SetPolicy(t.Context(), function, qualifier, p, prev); err != nil {
		t.Fatalf("SetPolicy(%s, %q, prev %q): %v", function, qualifier, prev, err)
	}
}

// testPolicyRoundTrip sets policies on $LATEST, a version and an alias and
// reads them back through every read, with nothing else of the records
// changed.
func testPolicyRoundTrip(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	fn, v1, live := policyFixture(t, s, "pol")
	pl, pv, pa := SamplePolicy("rev-pl", "a", "b", "c", "d"), SamplePolicy("rev-pv", "v"), SamplePolicy("rev-pa", "x", "y")
	mustSetPolicy(t, s, "pol", "", pl, "")
	mustSetPolicy(t, s, "pol", "1", pv, "")
	mustSetPolicy(t, s, "pol", "live", pa, "")

	fn.Policy, v1.Policy, live.Policy = pl, pv, pa
	checkGet(t, s, fn) // RevisionID and every other member as before
	checkVersion(t, s, v1)
	checkAlias(t, s, live)
	list, err := s.ListFunctions(ctx, "", 0)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListFunctions = %d, %v", len(list), err)
	}
	if d := DiffFunction(fn, list[0]); d != "" {
		t.Errorf("ListFunctions: %s", d)
	}
	versions, err := s.ListVersions(ctx, "pol", 0, 0)
	if err != nil || len(versions) != 1 {
		t.Fatalf("ListVersions = %d, %v", len(versions), err)
	}
	if d := DiffFunction(v1, versions[0]); d != "" {
		t.Errorf("ListVersions: %s", d)
	}
	aliases, err := s.ListAliases(ctx, "pol", "", 0)
	if err != nil || len(aliases) != 1 {
		t.Fatalf("ListAliases = %d, %v", len(aliases), err)
	}
	if d := DiffAlias(live, aliases[0]); d != "" {
		t.Errorf("ListAliases: %s", d)
	}

	// LatestVersion names $LATEST too; nil removes a policy; a policy
	// without statements is kept as such.
	pl2 := SamplePolicy("rev-pl2", "a")
	mustSetPolicy(t, s, "pol", sluice.LatestVersion, pl2, "rev-pl")
	mustSetPolicy(t, s, "pol", "1", nil, "rev-pv")
	empty := &sluice.FunctionPolicy{RevisionID: "rev-empty"}
	mustSetPolicy(t, s, "pol", "live", empty, "rev-pa")
	fn.Policy, v1.Policy, live.Policy = pl2, nil, empty
	checkGet(t, s, fn)
	checkVersion(t, s, v1)
	checkAlias(t, s, live)
	// A version without a policy takes one again from "".
	mustSetPolicy(t, s, "pol", "1", pv, "")
	v1.Policy = pv
	checkVersion(t, s, v1)
}

// testPolicyCAS checks SetPolicy's compare-and-swap on the policy's own
// revision, alone and under concurrent writers.
func testPolicyCAS(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	policyFixture(t, s, "cas")
	for _, q := range []string{"", "1", "live"} {
		wantCode(t, s.SetPolicy(ctx, "cas", q, SamplePolicy("r1", "a"), "not-none"), sluice.EPrecondition,
			fmt.Sprintf("SetPolicy(%q) with a revision where there is no policy", q))
		mustSetPolicy(t, s, "cas", q, SamplePolicy("r1", "a"), "")
		wantCode(t, s.SetPolicy(ctx, "cas", q, SamplePolicy("r2", "b"), ""), sluice.EPrecondition,
			fmt.Sprintf("SetPolicy(%q) with no revision where there is a policy", q))
		wantCode(t, s.SetPolicy(ctx, "cas", q, SamplePolicy("r2", "b"), "r0"), sluice.EPrecondition,
			fmt.Sprintf("SetPolicy(%q) with a stale revision", q))
		rev := "r1"
		for round := range 5 {
			const writers = 6
			w := casRound(t, round, writers, "policy writer", rev, func(w int) error {
				return s.SetPolicy(ctx, "cas", q, SamplePolicy(fmt.Sprintf("r1-%d-%d", round, w), fmt.Sprintf("s%d", w)), rev)
			})
			rev = fmt.Sprintf("r1-%d-%d", round, w)
			got := policyOf(t, s, "cas", q)
			if d := DiffPolicy(SamplePolicy(rev, fmt.Sprintf("s%d", w)), got); d != "" {
				t.Fatalf("round %d, qualifier %q: stored policy is not the winner's: %s", round, q, d)
			}
		}
	}
}

// policyOf reads the policy of $LATEST, a version or an alias.
func policyOf(t *testing.T, s sluice.FunctionStore, function, q string) *sluice.FunctionPolicy {
	t.Helper()
	ctx := t.Context()
	switch {
	case q == "" || q == sluice.LatestVersion:
		fn, err := s.GetFunction(ctx, function)
		if err != nil {
			t.Fatal(err)
		}
		return fn.Policy
	case sluice.IsVersionNumber(q):
		v, err := s.GetVersion(ctx, function, q)
		if err != nil {
			t.Fatal(err)
		}
		return v.Policy
	}
	a, err := s.GetAlias(ctx, function, q)
	if err != nil {
		t.Fatal(err)
	}
	return a.Policy
}

// testPolicyNotFound checks SetPolicy on what does not exist.
func testPolicyNotFound(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	policyFixture(t, s, "nf")
	p := SamplePolicy("r", "a")
	for _, c := range []struct{ function, q string }{
		{"missing", ""}, {"missing", "1"}, {"missing", "live"},
		{"nf", "2"}, {"nf", "0"}, {"nf", "dev"},
	} {
		wantCode(t, s.SetPolicy(ctx, c.function, c.q, p, ""), sluice.ENotFound, fmt.Sprintf("SetPolicy(%s, %q)", c.function, c.q))
	}
}

// testPolicyKeptByUpdates checks that UpdateFunction and UpdateAlias keep
// the stored policy whatever their value holds.
func testPolicyKeptByUpdates(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	fn, _, live := policyFixture(t, s, "keep")
	pl, pa := SamplePolicy("rev-pl", "a", "b"), SamplePolicy("rev-pa", "x")
	mustSetPolicy(t, s, "keep", "", pl, "")
	mustSetPolicy(t, s, "keep", "live", pa, "")

	next := fn.Clone()
	next.Description, next.RevisionID = "updated", "rev-next"
	next.Policy = nil // as read before the policy was set
	if err := s.UpdateFunction(ctx, next, fn.RevisionID); err != nil {
		t.Fatal(err)
	}
	next2 := next.Clone()
	next2.RevisionID = "rev-next2"
	next2.Policy = SamplePolicy("rev-other", "other")
	if err := s.UpdateFunction(ctx, next2, next.RevisionID); err != nil {
		t.Fatal(err)
	}
	next2.Policy = pl
	checkGet(t, s, next2)

	a := live.Clone()
	a.Description, a.RevisionID = "updated", "rev-live-2"
	if err := s.UpdateAlias(ctx, a, live.RevisionID); err != nil {
		t.Fatal(err)
	}
	a2 := a.Clone()
	a2.RevisionID = "rev-live-3"
	a2.Policy = SamplePolicy("rev-other", "other")
	if err := s.UpdateAlias(ctx, a2, a.RevisionID); err != nil {
		t.Fatal(err)
	}
	a2.Policy = pa
	checkAlias(t, s, a2)
}

// testPolicyNotPublished checks that a new version has no policy, whatever
// $LATEST's.
func testPolicyNotPublished(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	policyFixture(t, s, "pub")
	mustSetPolicy(t, s, "pub", "", SamplePolicy("rev-pl", "a"), "")
	latest, err := s.GetFunction(ctx, "pub")
	if err != nil {
		t.Fatal(err)
	}
	if latest.Policy == nil {
		t.Fatal("GetFunction: the policy just set is missing")
	}
	v := latest.Clone()
	v.RevisionID = "rev-v2"
	got, err := s.PublishVersion(ctx, v, latest.RevisionID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Policy != nil {
		t.Errorf("PublishVersion returned a version with policy %+v, want none", *got.Policy)
	}
	stored, err := s.GetVersion(ctx, "pub", got.Version)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Policy != nil {
		t.Errorf("GetVersion: the new version has policy %+v, want none", *stored.Policy)
	}
}

// testPolicyGoesWithRecords checks that a policy is deleted with its
// version, alias or function.
func testPolicyGoesWithRecords(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	policyFixture(t, s, "gone")
	mustSetPolicy(t, s, "gone", "", SamplePolicy("rev-pl", "a"), "")
	mustSetPolicy(t, s, "gone", "1", SamplePolicy("rev-pv", "a"), "")
	mustSetPolicy(t, s, "gone", "live", SamplePolicy("rev-pa", "a"), "")

	if err := s.DeleteAlias(ctx, "gone", "live"); err != nil {
		t.Fatal(err)
	}
	mustCreateAlias(t, s, SampleAlias("gone", "live", "1"))
	if p := policyOf(t, s, "gone", "live"); p != nil {
		t.Errorf("alias created again has the deleted alias's policy %+v", *p)
	}
	if err := s.DeleteAlias(ctx, "gone", "live"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVersion(ctx, "gone", "1"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.SetPolicy(ctx, "gone", "1", nil, "rev-pv"), sluice.ENotFound, "SetPolicy of a deleted version")

	if err := s.DeleteFunction(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	fn := SampleFunction("gone")
	mustCreate(t, s, fn)
	if p := policyOf(t, s, "gone", ""); p != nil {
		t.Errorf("function created again has the deleted function's policy %+v", *p)
	}
	v := mustPublish(t, s, "gone", "rev-again")
	if p := policyOf(t, s, "gone", v.Version); p != nil {
		t.Errorf("version %s of the function created again has a policy %+v", v.Version, *p)
	}
}

// testPolicyCopies checks that policies are not shared with callers.
func testPolicyCopies(t *testing.T, s sluice.FunctionStore) {
	policyFixture(t, s, "cp")
	for _, q := range []string{"", "1", "live"} {
		p := SamplePolicy("rev", "a", "b")
		mustSetPolicy(t, s, "cp", q, p, "")
		p.Statements[0].Principal = "changed after SetPolicy"
		p.RevisionID = "changed"
		got := policyOf(t, s, "cp", q)
		if d := DiffPolicy(SamplePolicy("rev", "a", "b"), got); d != "" {
			t.Fatalf("qualifier %q: the caller's value changed the stored policy: %s", q, d)
		}
		got.Statements[1].Action = "changed after read"
		if d := DiffPolicy(SamplePolicy("rev", "a", "b"), policyOf(t, s, "cp", q)); d != "" {
			t.Fatalf("qualifier %q: changing a policy read changed the stored one: %s", q, d)
		}
	}
}
