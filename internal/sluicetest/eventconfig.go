package sluicetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
)

// This file holds the StoreSuite tests of asynchronous invocation
// configurations (FunctionStore.SetEventInvokeConfig and the
// EventInvokeConfig members of the records).

// SampleEventInvokeConfig returns a configuration with every member set,
// told apart by n.
func SampleEventInvokeConfig(n int) *sluice.EventInvokeConfig {
	retries, age := n%3, 60+n
	return &sluice.EventInvokeConfig{
		MaximumRetryAttempts:     &retries,
		MaximumEventAgeInSeconds: &age,
		OnSuccess:                fmt.Sprintf("arn:aws:lambda:us-east-1:123456789012:function:ok-%d", n),
		OnFailure:                fmt.Sprintf("arn:aws:lambda:us-east-1:123456789012:function:failed-%d:live", n),
		LastModified:             time.Date(2024, 6, 1, 12, 0, n%60, 250_000_000, time.UTC),
	}
}

// DiffEventInvokeConfig describes how got differs from want, or returns
// "" when they are equal. An unset member differs from a member set to
// its default.
func DiffEventInvokeConfig(want, got *sluice.EventInvokeConfig) string {
	switch {
	case want.Equal(got):
		if want != nil && want.LastModified.Location() == time.UTC && got.LastModified.Location() != time.UTC {
			return fmt.Sprintf("LastModified: location %s, want UTC", got.LastModified.Location())
		}
		return ""
	case want == nil:
		return fmt.Sprintf("got %s, want nil", showEventInvokeConfig(got))
	case got == nil:
		return fmt.Sprintf("got nil, want %s", showEventInvokeConfig(want))
	}
	return fmt.Sprintf("got %s, want %s", showEventInvokeConfig(got), showEventInvokeConfig(want))
}

func showEventInvokeConfig(c *sluice.EventInvokeConfig) string {
	n := func(p *int) string {
		if p == nil {
			return "unset"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprintf("{retries %s, age %s, on success %q, on failure %q, modified %s}",
		n(c.MaximumRetryAttempts), n(c.MaximumEventAgeInSeconds), c.OnSuccess, c.OnFailure, c.LastModified.Format(time.RFC3339Nano))
}

// mustSetEventInvokeConfig stores c (nil: none) as the configuration of a
// qualifier, or fails the test.
func mustSetEventInvokeConfig(t *testing.T, s sluice.FunctionStore, function, qualifier string, c *sluice.EventInvokeConfig) {
	t.Helper()
	err := s.SetEventInvokeConfig(t.Context(), function, qualifier, func(*sluice.EventInvokeConfig) (*sluice.EventInvokeConfig, error) {
		return c, nil
	})
	if err != nil {
		t.Fatalf("SetEventInvokeConfig(%s, %q): %v", function, qualifier, err)
	}
}

// eventInvokeConfigOf reads the configuration of $LATEST, a version or an
// alias.
func eventInvokeConfigOf(t *testing.T, s sluice.FunctionStore, function, q string) *sluice.EventInvokeConfig {
	t.Helper()
	ctx := t.Context()
	switch {
	case q == "" || q == sluice.LatestVersion:
		fn, err := s.GetFunction(ctx, function)
		if err != nil {
			t.Fatal(err)
		}
		return fn.EventInvokeConfig
	case sluice.IsVersionNumber(q):
		v, err := s.GetVersion(ctx, function, q)
		if err != nil {
			t.Fatal(err)
		}
		return v.EventInvokeConfig
	}
	a, err := s.GetAlias(ctx, function, q)
	if err != nil {
		t.Fatal(err)
	}
	return a.EventInvokeConfig
}

// testEventInvokeConfigRoundTrip sets configurations on $LATEST, a
// version and an alias and reads them back through every read, with
// nothing else of the records changed; update sees the stored value.
func testEventInvokeConfigRoundTrip(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	fn, v1, live := policyFixture(t, s, "eic")
	cl, cv, ca := SampleEventInvokeConfig(1), SampleEventInvokeConfig(2), SampleEventInvokeConfig(3)
	// Only some members set: unset ones stay unset.
	ca.MaximumRetryAttempts, ca.OnSuccess = nil, ""
	mustSetEventInvokeConfig(t, s, "eic", "", cl)
	mustSetEventInvokeConfig(t, s, "eic", "1", cv)
	mustSetEventInvokeConfig(t, s, "eic", "live", ca)

	fn.EventInvokeConfig, v1.EventInvokeConfig, live.EventInvokeConfig = cl, cv, ca
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
	versions, err := s.ListVersions(ctx, "eic", 0, 0)
	if err != nil || len(versions) != 1 {
		t.Fatalf("ListVersions = %d, %v", len(versions), err)
	}
	if d := DiffFunction(v1, versions[0]); d != "" {
		t.Errorf("ListVersions: %s", d)
	}
	aliases, err := s.ListAliases(ctx, "eic", "", 0)
	if err != nil || len(aliases) != 1 {
		t.Fatalf("ListAliases = %d, %v", len(aliases), err)
	}
	if d := DiffAlias(live, aliases[0]); d != "" {
		t.Errorf("ListAliases: %s", d)
	}

	// update is called with the stored value; LatestVersion names
	// $LATEST; nil removes a configuration.
	for _, c := range []struct {
		q    string
		want *sluice.EventInvokeConfig
	}{{sluice.LatestVersion, cl}, {"1", cv}, {"live", ca}} {
		err := s.SetEventInvokeConfig(ctx, "eic", c.q, func(have *sluice.EventInvokeConfig) (*sluice.EventInvokeConfig, error) {
			if d := DiffEventInvokeConfig(c.want, have); d != "" {
				t.Errorf("SetEventInvokeConfig(%q) called update with: %s", c.q, d)
			}
			return nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	fn.EventInvokeConfig, v1.EventInvokeConfig, live.EventInvokeConfig = nil, nil, nil
	checkGet(t, s, fn)
	checkVersion(t, s, v1)
	checkAlias(t, s, live)
	err = s.SetEventInvokeConfig(ctx, "eic", "", func(have *sluice.EventInvokeConfig) (*sluice.EventInvokeConfig, error) {
		if have != nil {
			t.Errorf("SetEventInvokeConfig after removal called update with %s, want nil", showEventInvokeConfig(have))
		}
		return SampleEventInvokeConfig(4), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fn.EventInvokeConfig = SampleEventInvokeConfig(4)
	checkGet(t, s, fn)
}

// testEventInvokeConfigUpdateError checks that an error of update is
// returned and nothing is stored.
func testEventInvokeConfigUpdateError(t *testing.T, s sluice.FunctionStore) {
	policyFixture(t, s, "err")
	boom := errors.New("boom")
	for i, q := range []string{"", "1", "live"} {
		mustSetEventInvokeConfig(t, s, "err", q, SampleEventInvokeConfig(i))
		err := s.SetEventInvokeConfig(t.Context(), "err", q, func(have *sluice.EventInvokeConfig) (*sluice.EventInvokeConfig, error) {
			have.OnSuccess = "changed by a failed update"
			return SampleEventInvokeConfig(9), boom
		})
		if !errors.Is(err, boom) {
			t.Errorf("SetEventInvokeConfig(%q) with a failing update = %v, want its error", q, err)
		}
		if d := DiffEventInvokeConfig(SampleEventInvokeConfig(i), eventInvokeConfigOf(t, s, "err", q)); d != "" {
			t.Errorf("qualifier %q: a failed update changed the stored configuration: %s", q, d)
		}
	}
}

// testEventInvokeConfigNotFound checks SetEventInvokeConfig on what does
// not exist: update is not called.
func testEventInvokeConfigNotFound(t *testing.T, s sluice.FunctionStore) {
	policyFixture(t, s, "nf")
	for _, c := range []struct{ function, q string }{
		{"missing", ""}, {"missing", "1"}, {"missing", "live"},
		{"nf", "2"}, {"nf", "0"}, {"nf", "dev"},
	} {
		called := false
		err := s.SetEventInvokeConfig(t.Context(), c.function, c.q, func(*sluice.EventInvokeConfig) (*sluice.EventInvokeConfig, error) {
			called = true
			return SampleEventInvokeConfig(1), nil
		})
		wantCode(t, err, sluice.ENotFound, fmt.Sprintf("SetEventInvokeConfig(%s, %q)", c.function, c.q))
		if called {
			t.Errorf("SetEventInvokeConfig(%s, %q) called update for what does not exist", c.function, c.q)
		}
	}
}

// testEventInvokeConfigKeptByUpdates checks that UpdateFunction and
// UpdateAlias keep the stored configuration whatever their value holds.
func testEventInvokeConfigKeptByUpdates(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	fn, _, live := policyFixture(t, s, "keep")
	cl, ca := SampleEventInvokeConfig(1), SampleEventInvokeConfig(2)
	mustSetEventInvokeConfig(t, s, "keep", "", cl)
	mustSetEventInvokeConfig(t, s, "keep", "live", ca)

	next := fn.Clone()
	next.Description, next.RevisionID = "updated", "rev-next"
	next.EventInvokeConfig = nil // as read before the configuration was set
	if err := s.UpdateFunction(ctx, next, fn.RevisionID); err != nil {
		t.Fatal(err)
	}
	next2 := next.Clone()
	next2.RevisionID = "rev-next2"
	next2.EventInvokeConfig = SampleEventInvokeConfig(7)
	if err := s.UpdateFunction(ctx, next2, next.RevisionID); err != nil {
		t.Fatal(err)
	}
	next2.EventInvokeConfig = cl
	checkGet(t, s, next2)

	a := live.Clone()
	a.Description, a.RevisionID = "updated", "rev-live-2"
	if err := s.UpdateAlias(ctx, a, live.RevisionID); err != nil {
		t.Fatal(err)
	}
	a2 := a.Clone()
	a2.RevisionID = "rev-live-3"
	a2.EventInvokeConfig = SampleEventInvokeConfig(8)
	if err := s.UpdateAlias(ctx, a2, a.RevisionID); err != nil {
		t.Fatal(err)
	}
	a2.EventInvokeConfig = ca
	checkAlias(t, s, a2)
}

// testEventInvokeConfigNotPublished checks that a new version has no
// configuration, whatever $LATEST's (Lambda's: a configuration belongs to
// one qualifier).
func testEventInvokeConfigNotPublished(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	policyFixture(t, s, "pub")
	mustSetEventInvokeConfig(t, s, "pub", "", SampleEventInvokeConfig(1))
	latest, err := s.GetFunction(ctx, "pub")
	if err != nil {
		t.Fatal(err)
	}
	if latest.EventInvokeConfig == nil {
		t.Fatal("GetFunction: the configuration just set is missing")
	}
	v := latest.Clone()
	v.RevisionID = "rev-v2"
	got, err := s.PublishVersion(ctx, v, latest.RevisionID)
	if err != nil {
		t.Fatal(err)
	}
	if got.EventInvokeConfig != nil {
		t.Errorf("PublishVersion returned a version with configuration %s, want none", showEventInvokeConfig(got.EventInvokeConfig))
	}
	if c := eventInvokeConfigOf(t, s, "pub", got.Version); c != nil {
		t.Errorf("GetVersion: the new version has configuration %s, want none", showEventInvokeConfig(c))
	}
}

// testEventInvokeConfigGoesWithRecords checks that a configuration is
// deleted with its version, alias or function.
func testEventInvokeConfigGoesWithRecords(t *testing.T, s sluice.FunctionStore) {
	ctx := t.Context()
	policyFixture(t, s, "gone")
	mustSetEventInvokeConfig(t, s, "gone", "", SampleEventInvokeConfig(1))
	mustSetEventInvokeConfig(t, s, "gone", "1", SampleEventInvokeConfig(2))
	mustSetEventInvokeConfig(t, s, "gone", "live", SampleEventInvokeConfig(3))

	if err := s.DeleteAlias(ctx, "gone", "live"); err != nil {
		t.Fatal(err)
	}
	mustCreateAlias(t, s, SampleAlias("gone", "live", "1"))
	if c := eventInvokeConfigOf(t, s, "gone", "live"); c != nil {
		t.Errorf("alias created again has the deleted alias's configuration %s", showEventInvokeConfig(c))
	}
	if err := s.DeleteAlias(ctx, "gone", "live"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVersion(ctx, "gone", "1"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.SetEventInvokeConfig(ctx, "gone", "1", func(c *sluice.EventInvokeConfig) (*sluice.EventInvokeConfig, error) { return c, nil }),
		sluice.ENotFound, "SetEventInvokeConfig of a deleted version")

	if err := s.DeleteFunction(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, SampleFunction("gone"))
	if c := eventInvokeConfigOf(t, s, "gone", ""); c != nil {
		t.Errorf("function created again has the deleted function's configuration %s", showEventInvokeConfig(c))
	}
	v := mustPublish(t, s, "gone", "rev-again")
	if c := eventInvokeConfigOf(t, s, "gone", v.Version); c != nil {
		t.Errorf("version %s of the function created again has a configuration %s", v.Version, showEventInvokeConfig(c))
	}
}

// testEventInvokeConfigCopies checks that configurations are not shared
// with callers: neither what update returns, nor what it is given, nor
// what a read returns.
func testEventInvokeConfigCopies(t *testing.T, s sluice.FunctionStore) {
	policyFixture(t, s, "cp")
	for i, q := range []string{"", "1", "live"} {
		c := SampleEventInvokeConfig(i)
		mustSetEventInvokeConfig(t, s, "cp", q, c)
		*c.MaximumRetryAttempts = 99
		c.OnSuccess = "changed after SetEventInvokeConfig"
		if d := DiffEventInvokeConfig(SampleEventInvokeConfig(i), eventInvokeConfigOf(t, s, "cp", q)); d != "" {
			t.Fatalf("qualifier %q: the caller's value changed the stored configuration: %s", q, d)
		}
		got := eventInvokeConfigOf(t, s, "cp", q)
		*got.MaximumEventAgeInSeconds = 99
		got.OnFailure = "changed after read"
		if d := DiffEventInvokeConfig(SampleEventInvokeConfig(i), eventInvokeConfigOf(t, s, "cp", q)); d != "" {
			t.Fatalf("qualifier %q: changing a read changed the stored configuration: %s", q, d)
		}
		// update changes what it is given, then fails: nothing changes
		_ = s.SetEventInvokeConfig(t.Context(), "cp", q, func(have *sluice.EventInvokeConfig) (*sluice.EventInvokeConfig, error) {
			*have.MaximumRetryAttempts = 42
			have.OnSuccess = "changed by update"
			return nil, errors.New("refused")
		})
		if d := DiffEventInvokeConfig(SampleEventInvokeConfig(i), eventInvokeConfigOf(t, s, "cp", q)); d != "" {
			t.Fatalf("qualifier %q: update's changes to its argument reached the store: %s", q, d)
		}
	}
}
