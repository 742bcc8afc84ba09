package bolt_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/bolt"
	"github.com/sluice-dev/sluice/internal/sluicetest"
)

// crashEnv names the store file a child test binary migrates and then
// kills itself in (TestMigrationCrash); crashStepEnv names the step.
const (
	crashEnv     = "SLUICE_BOLT_CRASH_FILE"
	crashStepEnv = "SLUICE_BOLT_CRASH_STEP"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(crashEnv); path != "" {
		crashInMigration(path, os.Getenv(crashStepEnv))
	}
	os.Exit(m.Run())
}

// crashInMigration opens the store at path, which migrates it, and kills
// the process with SIGKILL after the migration's step: a crash in the
// middle of the migration's transaction.
func crashInMigration(path, step string) {
	bolt.SetMigrateHook(func(s string) error {
		if s == step {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Minute) // the signal is on its way
		}
		return nil
	})
	_, err := bolt.Open(path, migratedScope)
	fmt.Fprintf(os.Stderr, "the migration did not reach step %q (Open: %v)\n", step, err)
	os.Exit(3)
}

// migratedScope is the scope the schema 3 test file is migrated into:
// not testScope, so that the tests see the functions move where Open
// says.
var migratedScope = sluice.Scope{Region: "eu-central-1", Account: "000000000000"}

// writeSchema3File writes testdata/schema3.db.gz, a store written by
// sluice at schema version 3 (testdata/gen_schema3.go), to path.
func writeSchema3File(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "schema3.db.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// schema3Buckets are the top-level buckets of a schema 3 file.
var schema3Buckets = []string{"aliases", "concurrency", "functions", "meta", "url_ids", "urls", "version_counter", "versions"}

// schema3Function is a function of the schema 3 test file, as
// gen_schema3.go wrote it.
func schema3Function(name, rev string) *sluice.Function {
	return &sluice.Function{
		Name: name, Version: sluice.LatestVersion, Runtime: "provided.al2023",
		Role: "arn:aws:iam::000000000000:role/lambda-role", Handler: "bootstrap",
		Description: "written by schema 3", Timeout: 30, MemorySize: 256, EphemeralStorage: 1024,
		Architectures: []string{"x86_64"}, Environment: map[string]string{"A": "1"},
		CodeSHA256: "abab", CodeSize: 1234,
		LastModified: time.Date(2025, 1, 2, 3, 4, 5, 6_000_000, time.UTC),
		RevisionID:   rev, State: sluice.StateActive, LastUpdateStatus: sluice.UpdateSuccessful,
	}
}

// checkSchema3Content checks that s holds everything the schema 3 test
// file holds, whole.
func checkSchema3Content(t *testing.T, s *bolt.Store) {
	t.Helper()
	ctx := t.Context()
	alpha := schema3Function("alpha", "rev-alpha")
	alpha.FileSystemConfigs = []sluice.FileSystemConfig{{ARN: "arn:aws:elasticfilesystem:us-east-1:000000000000:access-point/fsap-1", LocalMountPath: "/mnt/data"}}
	beta := schema3Function("beta", "rev-beta")
	betaNext := beta.Clone()
	betaNext.RevisionID = "rev-beta-next"
	betaNext.CodeSHA256 = "cdcd"
	betaNext.LastUpdateStatus = sluice.UpdateInProgress
	betaNext.LastUpdateStatusReason = "The function is being created."
	betaNext.LastUpdateStatusReasonCode = "Creating"
	betaNext.Previous = beta.Clone()
	gamma := schema3Function("gamma", "rev-gamma")

	fns, err := s.ListFunctions(ctx, "", 0)
	if err != nil {
		t.Fatalf("ListFunctions: %v", err)
	}
	want := []*sluice.Function{alpha, betaNext, gamma}
	if len(fns) != len(want) {
		t.Fatalf("ListFunctions = %d functions, want %d", len(fns), len(want))
	}
	for i := range want {
		if d := sluicetest.DiffFunction(want[i], fns[i]); d != "" {
			t.Errorf("function %s: %s", want[i].Name, d)
		}
	}
	// Versions, with their numbers and the counter.
	vs, err := s.ListVersions(ctx, "alpha", 0, 0)
	if err != nil || len(vs) != 2 {
		t.Fatalf("ListVersions(alpha) = %d, %v; want 2", len(vs), err)
	}
	for i, v := range vs {
		w := alpha.Clone()
		w.Version = fmt.Sprint(i + 1)
		w.RevisionID = fmt.Sprintf("rev-alpha-v%d", i+1)
		w.Description = fmt.Sprintf("version %d", i+1)
		if d := sluicetest.DiffFunction(w, v); d != "" {
			t.Errorf("alpha version %d: %s", i+1, d)
		}
	}
	if vs, err := s.ListVersions(ctx, "beta", 0, 0); err != nil || len(vs) != 1 || vs[0].Version != "1" {
		t.Errorf("ListVersions(beta) = %v, %v; want version 1 only", vs, err)
	}
	// Aliases.
	as, err := s.ListAliases(ctx, "alpha", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	wantAliases := []*sluice.Alias{
		{FunctionName: "alpha", Name: "dev", FunctionVersion: sluice.LatestVersion, RevisionID: "rev-dev"},
		{FunctionName: "alpha", Name: "live", FunctionVersion: "1", Description: "live one", AdditionalVersionWeights: map[string]float64{"2": 0.25}, RevisionID: "rev-live"},
	}
	if len(as) != 2 {
		t.Fatalf("ListAliases(alpha) = %d aliases, want 2", len(as))
	}
	for i := range wantAliases {
		if d := sluicetest.DiffAlias(wantAliases[i], as[i]); d != "" {
			t.Errorf("alias %s: %s", wantAliases[i].Name, d)
		}
	}
	// Reserved concurrency.
	if m, err := s.ReservedConcurrency(ctx); err != nil || len(m) != 1 || m["alpha"] != 7 {
		t.Errorf("ReservedConcurrency = %v, %v; want alpha: 7", m, err)
	}
	// URLs, by function and by id.
	created := time.Date(2025, 1, 2, 3, 4, 5, 123456000, time.UTC)
	wantURLs := []*sluice.FunctionURLConfig{
		{FunctionName: "alpha", URLID: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", AuthType: sluice.URLAuthNone, InvokeMode: sluice.InvokeModeBuffered,
			Cors:         &sluice.Cors{AllowOrigins: []string{"https://example.com"}, AllowMethods: []string{"GET"}, MaxAge: 60},
			CreationTime: created, LastModifiedTime: created},
		{FunctionName: "alpha", Qualifier: "live", URLID: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2", AuthType: sluice.URLAuthIAM,
			InvokeMode: sluice.InvokeModeResponseStream, CreationTime: created, LastModifiedTime: created},
	}
	for _, w := range wantURLs {
		got, err := s.GetFunctionURL(ctx, w.FunctionName, w.Qualifier)
		if err != nil {
			t.Fatalf("GetFunctionURL(%s, %q): %v", w.FunctionName, w.Qualifier, err)
		}
		if d := sluicetest.DiffURL(w, got); d != "" {
			t.Errorf("URL of %s:%q: %s", w.FunctionName, w.Qualifier, d)
		}
		if got, err := s.GetFunctionURLByID(ctx, w.URLID); err != nil || got.FunctionName != w.FunctionName || got.Qualifier != w.Qualifier {
			t.Errorf("GetFunctionURLByID(%s) = %v, %v", w.URLID, got, err)
		}
		if sc, err := s.FunctionURLScope(ctx, w.URLID); err != nil || sc != s.Scope() {
			t.Errorf("FunctionURLScope(%s) = %v, %v; want %v", w.URLID, sc, err, s.Scope())
		}
	}
}

// TestOpenMigratesSchema3 opens a store written by sluice at schema
// version 3, with functions, versions, aliases, URLs, reserved
// concurrency and an update in progress: everything moves, whole, into
// the scope given to Open, and nothing shows in another scope.
func TestOpenMigratesSchema3(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "sluice.db")
	writeSchema3File(t, path)
	if got := bucketNames(t, path); !slices.Equal(got, schema3Buckets) {
		t.Fatalf("the test file's buckets = %q, want schema 3's %q", got, schema3Buckets)
	}
	if rep, err := bolt.Check(path); err != nil || rep.Schema != 3 || rep.Functions != 3 {
		t.Fatalf("Check of the schema 3 file = %+v, %v; want schema 3, 3 functions", rep, err)
	}

	s, err := bolt.Open(path, migratedScope)
	if err != nil {
		t.Fatalf("Open of a schema 3 file: %v", err)
	}
	checkSchema3Content(t, s)
	if got, err := s.Scopes(ctx); err != nil || !slices.Equal(got, []sluice.Scope{migratedScope}) {
		t.Errorf("Scopes = %v, %v; want only %v", got, err, migratedScope)
	}
	// Nothing in another scope, not even by URL id.
	other := s.In(testScope)
	if fns, err := other.ListFunctions(ctx, "", 0); err != nil || len(fns) != 0 {
		t.Errorf("ListFunctions in %s = %d, %v; want none", testScope, len(fns), err)
	}
	if _, err := other.GetFunctionURLByID(ctx, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1"); sluice.ErrorCodeOf(err) != sluice.ENotFound {
		t.Errorf("GetFunctionURLByID in %s: %v, want not found", testScope, err)
	}
	// The version counter came along: beta's next version is 3 (2 was
	// published and deleted).
	beta, err := s.GetFunction(ctx, "beta")
	if err != nil {
		t.Fatal(err)
	}
	v := beta.Clone()
	v.Previous, v.RevisionID = nil, "rev-beta-v3"
	if got, err := s.PublishVersion(ctx, v, beta.RevisionID); err != nil || got.Version != "3" {
		t.Errorf("PublishVersion(beta) after the migration = %v, %v; want version 3", got, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := string(getRaw(t, path, "meta", "schema_version")); got != "4" {
		t.Errorf("schema_version after migration = %q, want 4", got)
	}
	if got, want := bucketNames(t, path), []string{"meta", "scopes", "url_ids"}; !slices.Equal(got, want) {
		t.Errorf("buckets after migration = %q, want %q", got, want)
	}
	if rep, err := bolt.Check(path); err != nil || rep.Schema != 4 || rep.Functions != 3 {
		t.Errorf("Check after migration = %+v, %v; want schema 4, 3 functions", rep, err)
	}

	// Opened again with another default scope, it does not migrate again:
	// the functions stay where they went.
	s, err = bolt.Open(path, testScope)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer s.Close()
	if fns, err := s.ListFunctions(ctx, "", 0); err != nil || len(fns) != 0 {
		t.Errorf("ListFunctions in the second Open's scope = %d, %v; want none", len(fns), err)
	}
	if fns, err := s.In(migratedScope).ListFunctions(ctx, "", 0); err != nil || len(fns) != 3 {
		t.Errorf("ListFunctions in %s after reopening = %d, %v; want 3", migratedScope, len(fns), err)
	}
}

// TestMigrationIsOneTransaction fails the migration of a schema 3 file at
// each of its steps: Open fails, and the file is the schema 3 file it
// was, which migrates whole at the next Open.
func TestMigrationIsOneTransaction(t *testing.T) {
	for _, step := range []string{"moved functions", "moved urls", "indexed"} {
		t.Run(step, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sluice.db")
			writeSchema3File(t, path)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			bolt.SetMigrateHook(func(s string) error {
				if s == step {
					return errors.New("failed on purpose")
				}
				return nil
			})
			s, err := bolt.Open(path, migratedScope)
			bolt.SetMigrateHook(nil)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded although its migration failed")
			}
			if !strings.Contains(err.Error(), "failed on purpose") {
				t.Errorf("Open: %v, want the migration's error", err)
			}
			checkUnmigrated(t, path, before)
		})
	}
}

// TestMigrationCrash kills a process in the middle of the migration's
// transaction (SIGKILL, after each step): the file is the schema 3 file
// it was, whole, and migrates at the next Open.
func TestMigrationCrash(t *testing.T) {
	for _, step := range []string{"moved functions", "moved concurrency", "indexed"} {
		t.Run(step, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sluice.db")
			writeSchema3File(t, path)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), crashEnv+"="+path, crashStepEnv+"="+step)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || !ee.ProcessState.Sys().(syscall.WaitStatus).Signaled() {
				t.Fatalf("the child did not die of a signal in the migration: %v\n%s", err, out)
			}
			checkUnmigrated(t, path, before)
		})
	}
}

// checkUnmigrated checks that the file at path is still the schema 3 file
// (before: its bytes), and that it migrates now.
func checkUnmigrated(t *testing.T, path string, before []byte) {
	t.Helper()
	if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, before) {
		t.Errorf("the failed migration changed the file (%v)", err)
	}
	if got := bucketNames(t, path); !slices.Equal(got, schema3Buckets) {
		t.Errorf("buckets after a failed migration = %q, want schema 3's %q", got, schema3Buckets)
	}
	if rep, err := bolt.Check(path); err != nil || rep.Schema != 3 || rep.Functions != 3 {
		t.Errorf("Check after a failed migration = %+v, %v; want a whole schema 3 file", rep, err)
	}
	s, err := bolt.Open(path, migratedScope)
	if err != nil {
		t.Fatalf("Open after a failed migration: %v", err)
	}
	defer s.Close()
	checkSchema3Content(t, s)
}

func TestNamespacesSuite(t *testing.T) {
	sluicetest.NamespacesSuite(t, func(t *testing.T) sluice.Namespaces {
		s, _ := openTemp(t)
		return s
	})
}

// TestStoreSuiteInAScope runs the store suites on one scope of a file
// whose other scopes hold functions of the same names.
func TestStoreSuiteInAScope(t *testing.T) {
	open := func(t *testing.T) *bolt.Store {
		s, _ := openTemp(t)
		sluicetest.FilledNeighbours(t, s, sluicetest.ScopeB)
		return s.In(sluicetest.ScopeB).(*bolt.Store)
	}
	t.Run("Functions", func(t *testing.T) {
		sluicetest.StoreSuite(t, func(t *testing.T) sluice.FunctionStore { return open(t) })
	})
	t.Run("URLs", func(t *testing.T) {
		sluicetest.URLStoreSuite(t, func(t *testing.T) sluicetest.URLStore { return open(t) })
	})
}

func TestOpenRefusesInvalidScope(t *testing.T) {
	for _, sc := range []sluice.Scope{{}, {Region: "us-east-1"}, {Region: "local", Account: "000000000000"}, {Region: "us-east-1", Account: "0"}} {
		path := filepath.Join(t.TempDir(), "sluice.db")
		if s, err := bolt.Open(path, sc); err == nil {
			s.Close()
			t.Errorf("Open with scope %q succeeded", sc)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("Open with scope %q made a file", sc)
		}
	}
}
