package sluicetest_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/sluicetest"
)

// memStore is a reference sluice.FunctionStore kept in memory. Its flaw
// field switches on one deliberate bug, to check that the suite notices.
type memStore struct {
	mu     sync.Mutex
	data   memData
	flaw   string
	file   string // where close saves the data; "" = nowhere
	closed bool
}

// memData is what a memStore holds, and saves as JSON.
type memData struct {
	Fns         map[string]*sluice.Function
	Versions    map[string]map[int]*sluice.Function // function → number → version
	Counters    map[string]int                      // function → last number published
	Aliases     map[string]map[string]*sluice.Alias // function → name → alias
	Concurrency map[string]int
}

func newMemStore(flaw string) *memStore {
	return &memStore{flaw: flaw, data: memData{
		Fns:         make(map[string]*sluice.Function),
		Versions:    make(map[string]map[int]*sluice.Function),
		Counters:    make(map[string]int),
		Aliases:     make(map[string]map[string]*sluice.Alias),
		Concurrency: make(map[string]int),
	}}
}

func notFound(format string, args ...any) error {
	return sluice.Errorf(sluice.ENotFound, format, args...)
}

func (m *memStore) CreateFunction(ctx context.Context, fn *sluice.Function) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.data.Fns[fn.Name]; ok && m.flaw != "no-conflict" {
		return sluice.Errorf(sluice.EConflict, "Function already exist: %s", fn.Name)
	}
	if m.flaw == "no-copy" {
		m.data.Fns[fn.Name] = fn
		return nil
	}
	m.data.Fns[fn.Name] = fn.Clone()
	return nil
}

func (m *memStore) GetFunction(ctx context.Context, name string) (*sluice.Function, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fn, ok := m.data.Fns[name]
	if !ok {
		return nil, notFound("Function not found: %s", name)
	}
	if m.flaw == "no-copy" {
		return fn, nil
	}
	return fn.Clone(), nil
}

func (m *memStore) ListFunctions(ctx context.Context, after string, limit int) ([]*sluice.Function, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var names []string
	for name := range m.data.Fns {
		if name > after || (m.flaw == "inclusive-after" && name == after) {
			names = append(names, name)
		}
	}
	if m.flaw != "unsorted" {
		slices.Sort(names)
	} else {
		slices.Sort(names)
		slices.Reverse(names)
	}
	if limit > 0 && len(names) > limit {
		names = names[:limit]
	}
	out := make([]*sluice.Function, 0, len(names))
	for _, name := range names {
		out = append(out, m.data.Fns[name].Clone())
	}
	return out, nil
}

func (m *memStore) UpdateFunction(ctx context.Context, fn *sluice.Function, prevRevision string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.data.Fns[fn.Name]
	if !ok {
		return notFound("Function not found: %s", fn.Name)
	}
	if old.RevisionID != prevRevision && m.flaw != "no-cas" {
		return sluice.Errorf(sluice.EPrecondition, "revision mismatch")
	}
	next := fn.Clone()
	if m.flaw != "update-writes-policy" {
		next.Policy = old.Policy
	}
	if m.flaw != "update-writes-eic" {
		next.EventInvokeConfig = old.EventInvokeConfig
	}
	m.data.Fns[fn.Name] = next
	return nil
}

func (m *memStore) DeleteFunction(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.data.Fns[name]; !ok {
		return notFound("Function not found: %s", name)
	}
	delete(m.data.Fns, name)
	if m.flaw != "no-cascade" {
		delete(m.data.Versions, name)
		delete(m.data.Counters, name)
		delete(m.data.Aliases, name)
		delete(m.data.Concurrency, name)
	}
	return nil
}

func (m *memStore) PublishVersion(ctx context.Context, v *sluice.Function, latestRevision string) (*sluice.Function, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	latest, ok := m.data.Fns[v.Name]
	if !ok {
		return nil, notFound("Function not found: %s", v.Name)
	}
	if latest.RevisionID != latestRevision && m.flaw != "no-publish-cas" {
		return nil, sluice.Errorf(sluice.EPrecondition, "revision mismatch")
	}
	n := m.data.Counters[v.Name] + 1
	if m.flaw == "reuse-numbers" {
		n = 1
		for k := range m.data.Versions[v.Name] {
			n = max(n, k+1)
		}
	}
	stored := v.Clone()
	stored.Version = strconv.Itoa(n)
	stored.Previous = nil
	if m.flaw != "version-inherits-policy" {
		stored.Policy = nil
	}
	if m.flaw != "version-inherits-eic" {
		stored.EventInvokeConfig = nil
	}
	if m.data.Versions[v.Name] == nil {
		m.data.Versions[v.Name] = make(map[int]*sluice.Function)
	}
	m.data.Versions[v.Name][n] = stored
	m.data.Counters[v.Name] = n
	if m.flaw == "no-version-copy" {
		return stored, nil
	}
	return stored.Clone(), nil
}

// version returns a published version. Callers hold m.mu.
func (m *memStore) version(name, version string) (*sluice.Function, error) {
	if _, ok := m.data.Fns[name]; !ok {
		return nil, notFound("Function not found: %s", name)
	}
	n, err := strconv.Atoi(version)
	if err != nil || strconv.Itoa(n) != version {
		return nil, notFound("Function not found: %s:%s", name, version)
	}
	v, ok := m.data.Versions[name][n]
	if !ok {
		return nil, notFound("Function not found: %s:%s", name, version)
	}
	if m.flaw == "versions-follow-latest" {
		v = m.data.Fns[name].Clone()
		v.Version = version
	}
	return v, nil
}

func (m *memStore) GetVersion(ctx context.Context, name, version string) (*sluice.Function, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, err := m.version(name, version)
	if err != nil {
		return nil, err
	}
	if m.flaw == "no-version-copy" {
		return v, nil
	}
	return v.Clone(), nil
}

func (m *memStore) ListVersions(ctx context.Context, name string, after, limit int) ([]*sluice.Function, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.data.Fns[name]; !ok {
		return nil, notFound("Function not found: %s", name)
	}
	var out []*sluice.Function
	for _, n := range slices.Sorted(maps.Keys(m.data.Versions[name])) {
		if n > after && (limit <= 0 || len(out) < limit) {
			out = append(out, m.data.Versions[name][n].Clone())
		}
	}
	return out, nil
}

func (m *memStore) DeleteVersion(ctx context.Context, name, version string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.version(name, version); err != nil {
		return err
	}
	var users []string
	for _, a := range m.data.Aliases[name] {
		if _, ok := a.AdditionalVersionWeights[version]; a.FunctionVersion == version || ok {
			users = append(users, a.Name)
		}
	}
	if len(users) > 0 && m.flaw != "delete-referenced-version" {
		slices.Sort(users)
		return sluice.Errorf(sluice.EConflict, "Unable to delete version because the following aliases reference it: %v", users)
	}
	n, _ := strconv.Atoi(version)
	delete(m.data.Versions[name], n)
	return nil
}

// checkRoutes checks the versions a routes to. Callers hold m.mu.
func (m *memStore) checkRoutes(a *sluice.Alias) error {
	if _, ok := m.data.Fns[a.FunctionName]; !ok {
		return notFound("Function not found: %s", a.FunctionName)
	}
	if a.FunctionVersion != sluice.LatestVersion {
		if _, err := m.version(a.FunctionName, a.FunctionVersion); err != nil {
			return err
		}
	}
	if m.flaw == "unchecked-weights" {
		return nil
	}
	for v := range a.AdditionalVersionWeights {
		if _, err := m.version(a.FunctionName, v); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) CreateAlias(ctx context.Context, a *sluice.Alias) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkRoutes(a); err != nil {
		return err
	}
	if _, ok := m.data.Aliases[a.FunctionName][a.Name]; ok {
		return sluice.Errorf(sluice.EConflict, "Alias already exists: %s", a.Name)
	}
	if m.data.Aliases[a.FunctionName] == nil {
		m.data.Aliases[a.FunctionName] = make(map[string]*sluice.Alias)
	}
	m.data.Aliases[a.FunctionName][a.Name] = a.Clone()
	return nil
}

func (m *memStore) GetAlias(ctx context.Context, function, name string) (*sluice.Alias, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.data.Fns[function]; !ok {
		return nil, notFound("Function not found: %s", function)
	}
	a, ok := m.data.Aliases[function][name]
	if !ok {
		return nil, notFound("Alias not found: %s", name)
	}
	if m.flaw == "no-version-copy" {
		return a, nil
	}
	return a.Clone(), nil
}

func (m *memStore) ListAliases(ctx context.Context, function, after string, limit int) ([]*sluice.Alias, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.data.Fns[function]; !ok {
		return nil, notFound("Function not found: %s", function)
	}
	var out []*sluice.Alias
	for _, name := range slices.Sorted(maps.Keys(m.data.Aliases[function])) {
		if name > after && (limit <= 0 || len(out) < limit) {
			out = append(out, m.data.Aliases[function][name].Clone())
		}
	}
	return out, nil
}

func (m *memStore) UpdateAlias(ctx context.Context, a *sluice.Alias, prevRevision string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.data.Fns[a.FunctionName]; !ok {
		return notFound("Function not found: %s", a.FunctionName)
	}
	old, ok := m.data.Aliases[a.FunctionName][a.Name]
	if !ok {
		return notFound("Alias not found: %s", a.Name)
	}
	if old.RevisionID != prevRevision && m.flaw != "no-alias-cas" {
		return sluice.Errorf(sluice.EPrecondition, "revision mismatch")
	}
	if err := m.checkRoutes(a); err != nil {
		return err
	}
	next := a.Clone()
	next.Policy, next.EventInvokeConfig = old.Policy, old.EventInvokeConfig
	m.data.Aliases[a.FunctionName][a.Name] = next
	return nil
}

func (m *memStore) SetPolicy(ctx context.Context, function, qualifier string, p *sluice.FunctionPolicy, prevPolicyRevision string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.data.Fns[function]; !ok {
		return notFound("Function not found: %s", function)
	}
	var stored **sluice.FunctionPolicy
	switch {
	case qualifier == "" || qualifier == sluice.LatestVersion:
		stored = &m.data.Fns[function].Policy
	case sluice.IsVersionNumber(qualifier):
		v, err := m.version(function, qualifier)
		if err != nil {
			return err
		}
		stored = &v.Policy
	default:
		a, ok := m.data.Aliases[function][qualifier]
		if !ok {
			return notFound("Alias not found: %s", qualifier)
		}
		stored = &a.Policy
	}
	have := ""
	if *stored != nil {
		have = (*stored).RevisionID
	}
	if have != prevPolicyRevision && m.flaw != "no-policy-cas" {
		return sluice.Errorf(sluice.EPrecondition, "policy revision mismatch")
	}
	*stored = p.Clone()
	return nil
}

func (m *memStore) SetSettings(ctx context.Context, function, qualifier string, update func(*sluice.FunctionSettings) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.data.Fns[function]; !ok {
		return notFound("Function not found: %s", function)
	}
	fn := m.data.Fns[function]
	if qualifier != "" && qualifier != sluice.LatestVersion {
		v, err := m.version(function, qualifier)
		if err != nil {
			return err
		}
		fn = v
	}
	next := fn.Settings.Clone()
	if err := update(&next); err != nil {
		return err
	}
	fn.Settings = next.Clone()
	return nil
}

func (m *memStore) SetEventInvokeConfig(ctx context.Context, function, qualifier string, update func(*sluice.EventInvokeConfig) (*sluice.EventInvokeConfig, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.data.Fns[function]; !ok {
		return notFound("Function not found: %s", function)
	}
	var stored **sluice.EventInvokeConfig
	switch {
	case qualifier == "" || qualifier == sluice.LatestVersion:
		stored = &m.data.Fns[function].EventInvokeConfig
	case sluice.IsVersionNumber(qualifier):
		v, err := m.version(function, qualifier)
		if err != nil {
			return err
		}
		stored = &v.EventInvokeConfig
	default:
		a, ok := m.data.Aliases[function][qualifier]
		if !ok {
			return notFound("Alias not found: %s", qualifier)
		}
		stored = &a.EventInvokeConfig
	}
	in := (*stored).Clone()
	if m.flaw == "eic-shared" {
		in = *stored
	}
	next, err := update(in)
	if err != nil {
		return err
	}
	*stored = next.Clone()
	return nil
}

func (m *memStore) DeleteAlias(ctx context.Context, function, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.data.Fns[function]; !ok {
		return notFound("Function not found: %s", function)
	}
	if _, ok := m.data.Aliases[function][name]; !ok {
		return notFound("Alias not found: %s", name)
	}
	delete(m.data.Aliases[function], name)
	return nil
}

func (m *memStore) SetReservedConcurrency(ctx context.Context, name string, n int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	fn, ok := m.data.Fns[name]
	if !ok {
		return notFound("Function not found: %s", name)
	}
	if m.flaw == "concurrency-bumps-revision" {
		fn.RevisionID += "-c"
	}
	if n < 0 {
		delete(m.data.Concurrency, name)
	} else {
		m.data.Concurrency[name] = n
	}
	return nil
}

func (m *memStore) ReservedConcurrency(ctx context.Context) (map[string]int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.data.Concurrency), nil
}

// openFile loads a memStore saved by closeFile.
func openFile(dir string) (*memStore, error) {
	m := newMemStore("")
	m.file = filepath.Join(dir, "functions.json")
	b, err := os.ReadFile(m.file)
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	return m, json.Unmarshal(b, &m.data)
}

func (m *memStore) closeFile() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("closed twice")
	}
	m.closed = true
	b, err := json.Marshal(m.data)
	if err != nil {
		return err
	}
	return os.WriteFile(m.file, b, 0o600)
}

func TestStoreSuiteOnReferenceStore(t *testing.T) {
	sluicetest.StoreSuite(t, func(t *testing.T) sluice.FunctionStore { return newMemStore("") })
}

func TestDurableStoreSuiteOnReferenceStore(t *testing.T) {
	sluicetest.DurableStoreSuite(t,
		func(t *testing.T, dir string) sluice.FunctionStore {
			m, err := openFile(dir)
			if err != nil {
				t.Fatal(err)
			}
			return m
		},
		func(s sluice.FunctionStore) error { return s.(*memStore).closeFile() })
}

// TestFlawedStore runs the suite on a flawed store when the test binary is
// started by TestSuiteCatchesFlaws; it is skipped otherwise.
func TestFlawedStore(t *testing.T) {
	flaw := os.Getenv("SLUICETEST_FLAW")
	if flaw == "" {
		t.Skip("run by TestSuiteCatchesFlaws")
	}
	sluicetest.StoreSuite(t, func(t *testing.T) sluice.FunctionStore { return newMemStore(flaw) })
}

// TestSuiteCatchesFlaws checks that the suite fails, in the expected
// subtest, for stores with one deliberate bug each.
func TestSuiteCatchesFlaws(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the test binary once per flaw")
	}
	for flaw, subtest := range map[string]string{
		"no-conflict":     "CreateDuplicate",
		"no-copy":         "ReturnsCopies",
		"unsorted":        "ListOrder",
		"inclusive-after": "ListPaging",
		"no-cas":          "UpdateWrongRevision",

		"no-cascade":                 "DeleteFunctionCascades",
		"no-publish-cas":             "PublishStaleRevision",
		"reuse-numbers":              "PublishNumbersNotReused",
		"versions-follow-latest":     "VersionsAreSnapshots",
		"delete-referenced-version":  "DeleteVersionReferencedByAlias",
		"unchecked-weights":          "AliasNotFound",
		"no-alias-cas":               "UpdateAliasWrongRevision",
		"no-version-copy":            "VersionAndAliasCopies",
		"concurrency-bumps-revision": "ReservedConcurrency",
		"update-writes-policy":       "PolicyKeptByUpdates",
		"version-inherits-policy":    "PolicyNotPublished",
		"no-policy-cas":              "PolicyCAS",
		"update-writes-eic":          "EventInvokeConfigKeptByUpdates",
		"version-inherits-eic":       "EventInvokeConfigNotPublished",
		"eic-shared":                 "EventInvokeConfigCopies",
	} {
		t.Run(flaw, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestFlawedStore$", "-test.v")
			cmd.Env = append(os.Environ(), "SLUICETEST_FLAW="+flaw)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("suite passed on a store with flaw %s:\n%s", flaw, out)
			}
			if want := "--- FAIL: TestFlawedStore/" + subtest; !strings.Contains(string(out), want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		})
	}
}
