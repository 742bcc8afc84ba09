package bolt_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/bolt"
	"github.com/sluice-dev/sluice/internal/sluicetest"
	bbolt "go.etcd.io/bbolt"
)

func openTemp(t *testing.T) (*bolt.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sluice.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, path
}

func TestStoreSuite(t *testing.T) {
	sluicetest.StoreSuite(t, func(t *testing.T) sluice.FunctionStore {
		s, _ := openTemp(t)
		return s
	})
}

func TestDurableStoreSuite(t *testing.T) {
	sluicetest.DurableStoreSuite(t,
		func(t *testing.T, dir string) sluice.FunctionStore {
			s, err := bolt.Open(filepath.Join(dir, "sluice.db"))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			return s
		},
		func(s sluice.FunctionStore) error { return s.(*bolt.Store).Close() })
}

func TestOpenCreatesParentDirAndPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "nested", "sluice.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("database file: %v", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("database file mode = %v, want no access for group and others", perm)
	}
}

func TestOpenTwiceTimesOut(t *testing.T) {
	s, path := openTemp(t)
	start := time.Now()
	s2, err := bolt.Open(path)
	elapsed := time.Since(start)
	if err == nil {
		s2.Close()
		t.Fatal("second Open of the same file succeeded")
	}
	if !strings.Contains(err.Error(), "data dir is in use by another sluice process?") {
		t.Errorf("error = %q, want it to mention the data dir in use", err)
	}
	if elapsed < 500*time.Millisecond || elapsed > 10*time.Second {
		t.Errorf("second Open failed after %v, want after about a second", elapsed)
	}
	// The first store still works, and once it is closed the file opens.
	if err := s.CreateFunction(t.Context(), sluicetest.SampleFunction("still-works")); err != nil {
		t.Fatalf("CreateFunction on the first store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s3, err := bolt.Open(path)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	defer s3.Close()
	if _, err := s3.GetFunction(t.Context(), "still-works"); err != nil {
		t.Errorf("GetFunction after reopen: %v", err)
	}
}

// setRaw writes value under key in bucket of the database file at path,
// bypassing the Store.
func setRaw(t *testing.T, path, bucket, key string, value []byte) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucket))
		if err != nil {
			return err
		}
		return b.Put([]byte(key), value)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// getRaw reads the value under key in bucket of the database file at path.
func getRaw(t *testing.T, path, bucket, key string) []byte {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []byte
	err = db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			t.Fatalf("bucket %s missing", bucket)
		}
		out = append([]byte(nil), b.Get([]byte(key))...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNewerSchemaRefused(t *testing.T) {
	s, path := openTemp(t)
	if err := s.CreateFunction(t.Context(), sluicetest.SampleFunction("fn")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if got := string(getRaw(t, path, "meta", "schema_version")); got != "1" {
		t.Fatalf("schema_version = %q, want %q", got, "1")
	}

	setRaw(t, path, "meta", "schema_version", []byte("2"))
	s2, err := bolt.Open(path)
	if err == nil {
		s2.Close()
		t.Fatal("Open of a file with a newer schema version succeeded")
	}
	for _, want := range []string{"schema version 2", "newer", "upgrade sluice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error = %q, want it to contain %q", err, want)
		}
	}
	// Open did not touch the file.
	if got := string(getRaw(t, path, "meta", "schema_version")); got != "2" {
		t.Errorf("schema_version after refused Open = %q, want %q", got, "2")
	}

	// The lock was released: the file can be opened again.
	setRaw(t, path, "meta", "schema_version", []byte("1"))
	s3, err := bolt.Open(path)
	if err != nil {
		t.Fatalf("Open after restoring the schema version: %v", err)
	}
	defer s3.Close()
	if _, err := s3.GetFunction(t.Context(), "fn"); err != nil {
		t.Errorf("GetFunction: %v", err)
	}
}

func TestOpenRefusesForeignFiles(t *testing.T) {
	dir := t.TempDir()

	foreign := filepath.Join(dir, "foreign.db")
	setRaw(t, foreign, "other", "k", []byte("v"))
	if s, err := bolt.Open(foreign); err == nil {
		s.Close()
		t.Error("Open of a bbolt file without a meta bucket succeeded")
	} else if !strings.Contains(err.Error(), "not a sluice database") {
		t.Errorf("error = %q, want it to say not a sluice database", err)
	}

	badVersion := filepath.Join(dir, "bad-version.db")
	setRaw(t, badVersion, "meta", "schema_version", []byte("one"))
	if s, err := bolt.Open(badVersion); err == nil {
		s.Close()
		t.Error("Open of a file with an unreadable schema version succeeded")
	}

	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := bolt.Open(garbage); err == nil {
		s.Close()
		t.Error("Open of a garbage file succeeded")
	}
}

// TestRecordFormat pins the stored form of a function: changing it changes
// the file format, which needs a record or schema version change.
func TestRecordFormat(t *testing.T) {
	s, path := openTemp(t)
	fn := sluicetest.SampleFunction("fmt")
	fn.LastModified = time.Date(2024, 5, 17, 11, 30, 15, 123_000_000, time.FixedZone("CEST", 2*3600))
	if err := s.CreateFunction(t.Context(), fn); err != nil {
		t.Fatal(err)
	}
	s.Close()

	var got map[string]any
	if err := json.Unmarshal(getRaw(t, path, "functions", "fmt"), &got); err != nil {
		t.Fatalf("stored value is not JSON: %v", err)
	}
	want := map[string]any{
		"v":                  1.0,
		"name":               "fmt",
		"runtime":            fn.Runtime,
		"role":               fn.Role,
		"handler":            fn.Handler,
		"description":        fn.Description,
		"timeout":            30.0,
		"memory_size":        256.0,
		"ephemeral_storage":  1024.0,
		"architectures":      []any{"x86_64"},
		"environment":        map[string]any{"GREETING": "hello", "EMPTY": "", "JSON": `{"a":[1,2]}`},
		"code_sha256":        fn.CodeSHA256,
		"code_size":          123456.0,
		"last_modified":      "2024-05-17T09:30:15.123Z",
		"revision_id":        fn.RevisionID,
		"state":              "Active",
		"state_reason":       fn.StateReason,
		"state_reason_code":  fn.StateReasonCode,
		"last_update_status": "Successful",
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("stored record:\n got %s\nwant %s", gotJSON, wantJSON)
	}
}

func TestUnreadableRecords(t *testing.T) {
	for name, value := range map[string]string{
		"newer": `{"v":2,"name":"newer"}`,
		"nov":   `{"name":"nov"}`,
		"json":  `{not json`,
		"other": `{"v":1,"name":"someone-else"}`,
		"time":  `{"v":1,"name":"time","last_modified":"yesterday"}`,
	} {
		t.Run(name, func(t *testing.T) {
			s, path := openTemp(t)
			s.Close()
			setRaw(t, path, "functions", name, []byte(value))
			s, err := bolt.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, err = s.GetFunction(t.Context(), name)
			if code := sluice.ErrorCodeOf(err); code != sluice.EInternal {
				t.Errorf("GetFunction: %v (code %q), want an internal error", err, code)
			}
			_, err = s.ListFunctions(t.Context(), "", 10)
			if code := sluice.ErrorCodeOf(err); code != sluice.EInternal {
				t.Errorf("ListFunctions: %v (code %q), want an internal error", err, code)
			}
			fn := sluicetest.SampleFunction(name)
			err = s.UpdateFunction(t.Context(), fn, "")
			if code := sluice.ErrorCodeOf(err); code != sluice.EInternal {
				t.Errorf("UpdateFunction: %v (code %q), want an internal error", err, code)
			}
			// The record can still be deleted.
			if err := s.DeleteFunction(t.Context(), name); err != nil {
				t.Errorf("DeleteFunction: %v", err)
			}
		})
	}
}

func TestListWithoutLimit(t *testing.T) {
	s, _ := openTemp(t)
	for _, name := range []string{"c", "a", "b"} {
		if err := s.CreateFunction(t.Context(), sluicetest.SampleFunction(name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, limit := range []int{0, -1} {
		fns, err := s.ListFunctions(t.Context(), "a", limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(fns) != 2 || fns[0].Name != "b" || fns[1].Name != "c" {
			t.Errorf("ListFunctions(a, %d) returned %d functions, want b and c", limit, len(fns))
		}
	}
}

func TestInvalidWrites(t *testing.T) {
	s, _ := openTemp(t)
	ctx := t.Context()
	for _, fn := range []*sluice.Function{nil, {}, {Name: strings.Repeat("x", bbolt.MaxKeySize+1)}} {
		if code := sluice.ErrorCodeOf(s.CreateFunction(ctx, fn)); code != sluice.EInvalidParameter {
			t.Errorf("CreateFunction of an unnamed or oversized function: code %q, want %q", code, sluice.EInvalidParameter)
		}
		if code := sluice.ErrorCodeOf(s.UpdateFunction(ctx, fn, "")); code != sluice.EInvalidParameter {
			t.Errorf("UpdateFunction of an unnamed or oversized function: code %q, want %q", code, sluice.EInvalidParameter)
		}
	}
	if _, err := s.GetFunction(ctx, ""); sluice.ErrorCodeOf(err) != sluice.ENotFound {
		t.Errorf(`GetFunction(""): %v, want not found`, err)
	}
	if err := s.DeleteFunction(ctx, ""); sluice.ErrorCodeOf(err) != sluice.ENotFound {
		t.Errorf(`DeleteFunction(""): %v, want not found`, err)
	}
}

func TestCanceledContext(t *testing.T) {
	s, _ := openTemp(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	fn := sluicetest.SampleFunction("fn")
	if err := s.CreateFunction(ctx, fn); err == nil {
		t.Error("CreateFunction with a canceled context succeeded")
	}
	if _, err := s.GetFunction(t.Context(), "fn"); sluice.ErrorCodeOf(err) != sluice.ENotFound {
		t.Errorf("a canceled CreateFunction stored the function: GetFunction: %v", err)
	}
	if _, err := s.GetFunction(ctx, "fn"); err == nil {
		t.Error("GetFunction with a canceled context succeeded")
	}
	if _, err := s.ListFunctions(ctx, "", 1); err == nil {
		t.Error("ListFunctions with a canceled context succeeded")
	}
	if err := s.UpdateFunction(ctx, fn, ""); err == nil {
		t.Error("UpdateFunction with a canceled context succeeded")
	}
	if err := s.DeleteFunction(ctx, "fn"); err == nil {
		t.Error("DeleteFunction with a canceled context succeeded")
	}
}

func TestClosedStore(t *testing.T) {
	s, _ := openTemp(t) // the cleanup closes it a second time
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	err := s.CreateFunction(t.Context(), sluicetest.SampleFunction("fn"))
	if code := sluice.ErrorCodeOf(err); code != sluice.EInternal {
		t.Errorf("CreateFunction after Close: %v (code %q), want an internal error", err, code)
	}
	_, err = s.GetFunction(t.Context(), "fn")
	if code := sluice.ErrorCodeOf(err); code != sluice.EInternal {
		t.Errorf("GetFunction after Close: %v (code %q), want an internal error", err, code)
	}
}
