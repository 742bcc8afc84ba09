package sluicetest_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	fns    map[string]*sluice.Function
	flaw   string
	file   string // where close saves the functions; "" = nowhere
	closed bool
}

func newMemStore(flaw string) *memStore {
	return &memStore{fns: make(map[string]*sluice.Function), flaw: flaw}
}

func (m *memStore) CreateFunction(ctx context.Context, fn *sluice.Function) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.fns[fn.Name]; ok && m.flaw != "no-conflict" {
		return sluice.Errorf(sluice.EConflict, "Function already exist: %s", fn.Name)
	}
	if m.flaw == "no-copy" {
		m.fns[fn.Name] = fn
		return nil
	}
	m.fns[fn.Name] = fn.Clone()
	return nil
}

func (m *memStore) GetFunction(ctx context.Context, name string) (*sluice.Function, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fn, ok := m.fns[name]
	if !ok {
		return nil, sluice.Errorf(sluice.ENotFound, "Function not found: %s", name)
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
	for name := range m.fns {
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
	if len(names) > limit {
		names = names[:limit]
	}
	out := make([]*sluice.Function, 0, len(names))
	for _, name := range names {
		out = append(out, m.fns[name].Clone())
	}
	return out, nil
}

func (m *memStore) UpdateFunction(ctx context.Context, fn *sluice.Function, prevRevision string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.fns[fn.Name]
	if !ok {
		return sluice.Errorf(sluice.ENotFound, "Function not found: %s", fn.Name)
	}
	if old.RevisionID != prevRevision && m.flaw != "no-cas" {
		return sluice.Errorf(sluice.EPrecondition, "revision mismatch")
	}
	m.fns[fn.Name] = fn.Clone()
	return nil
}

func (m *memStore) DeleteFunction(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.fns[name]; !ok {
		return sluice.Errorf(sluice.ENotFound, "Function not found: %s", name)
	}
	delete(m.fns, name)
	return nil
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
	return m, json.Unmarshal(b, &m.fns)
}

func (m *memStore) closeFile() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("closed twice")
	}
	m.closed = true
	b, err := json.Marshal(m.fns)
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
