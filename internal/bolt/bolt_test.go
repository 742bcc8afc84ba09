package bolt_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/bolt"
	"github.com/sluice-dev/sluice/internal/sluicetest"
	bbolt "go.etcd.io/bbolt"
)

// testScope is the default scope of the tests' stores.
var testScope = sluice.Scope{Region: "us-east-1", Account: "123456789012"}

// scopedNames are the buckets of a scope (schema version 4).
var scopedNames = []string{"functions", "versions", "aliases", "version_counter", "concurrency", "urls"}

// bucketOf returns the bucket name of a file in tx: one of a scope's
// (scopedNames) is testScope's when the file has scopes (schema version
// 4), the top-level bucket otherwise. It is nil when missing; with create
// set it is created (scopes first), as bolt would.
func bucketOf(tx *bbolt.Tx, name string, create bool) (*bbolt.Bucket, error) {
	if !slices.Contains(scopedNames, name) || tx.Bucket([]byte("scopes")) == nil {
		if create {
			return tx.CreateBucketIfNotExists([]byte(name))
		}
		return tx.Bucket([]byte(name)), nil
	}
	scopes := tx.Bucket([]byte("scopes"))
	sb := scopes.Bucket([]byte(testScope.String()))
	if sb == nil {
		if !create {
			return nil, nil
		}
		var err error
		if sb, err = scopes.CreateBucket([]byte(testScope.String())); err != nil {
			return nil, err
		}
		for _, n := range scopedNames {
			if _, err := sb.CreateBucket([]byte(n)); err != nil {
				return nil, err
			}
		}
	}
	return sb.Bucket([]byte(name)), nil
}

func openTemp(t *testing.T) (*bolt.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sluice.db")
	s, err := bolt.Open(path, testScope)
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
			s, err := bolt.Open(filepath.Join(dir, "sluice.db"), testScope)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			return s
		},
		func(s sluice.FunctionStore) error { return s.(*bolt.Store).Close() })
}

func TestOpenCreatesParentDirAndPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "nested", "sluice.db")
	s, err := bolt.Open(path, testScope)
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
	s2, err := bolt.Open(path, testScope)
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
	s3, err := bolt.Open(path, testScope)
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
		b, err := bucketOf(tx, bucket, true)
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
		b, _ := bucketOf(tx, bucket, false)
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
	if got := string(getRaw(t, path, "meta", "schema_version")); got != "4" {
		t.Fatalf("schema_version = %q, want %q", got, "4")
	}

	setRaw(t, path, "meta", "schema_version", []byte("5"))
	s2, err := bolt.Open(path, testScope)
	if err == nil {
		s2.Close()
		t.Fatal("Open of a file with a newer schema version succeeded")
	}
	for _, want := range []string{"schema version 5", "newer", "upgrade sluice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error = %q, want it to contain %q", err, want)
		}
	}
	// Open did not touch the file.
	if got := string(getRaw(t, path, "meta", "schema_version")); got != "5" {
		t.Errorf("schema_version after refused Open = %q, want %q", got, "5")
	}

	// The lock was released: the file can be opened again.
	setRaw(t, path, "meta", "schema_version", []byte("4"))
	s3, err := bolt.Open(path, testScope)
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
	if s, err := bolt.Open(foreign, testScope); err == nil {
		s.Close()
		t.Error("Open of a bbolt file without a meta bucket succeeded")
	} else if !strings.Contains(err.Error(), "not a sluice database") {
		t.Errorf("error = %q, want it to say not a sluice database", err)
	}

	badVersion := filepath.Join(dir, "bad-version.db")
	setRaw(t, badVersion, "meta", "schema_version", []byte("one"))
	if s, err := bolt.Open(badVersion, testScope); err == nil {
		s.Close()
		t.Error("Open of a file with an unreadable schema version succeeded")
	}

	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := bolt.Open(garbage, testScope); err == nil {
		s.Close()
		t.Error("Open of a garbage file succeeded")
	}
}

// TestRecordFormat pins the stored form of functions, versions, aliases,
// version counters and concurrency settings: changing it changes the file
// format, which needs a record or schema version change.
func TestRecordFormat(t *testing.T) {
	s, path := openTemp(t)
	ctx := t.Context()
	fn := sluicetest.SampleFunction("fmt")
	fn.LastModified = time.Date(2024, 5, 17, 11, 30, 15, 123_000_000, time.FixedZone("CEST", 2*3600))
	fn.FileSystemConfigs = []sluice.FileSystemConfig{{ARN: "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-1", LocalMountPath: "/mnt/data"}}
	fn.Logging = sluice.LoggingConfig{LogFormat: "JSON", ApplicationLogLevel: "DEBUG", SystemLogLevel: "WARN", LogGroup: "/custom/group"}
	if err := s.CreateFunction(ctx, fn); err != nil {
		t.Fatal(err)
	}
	v := fn.Clone()
	v.RevisionID = "rev-v1"
	if _, err := s.PublishVersion(ctx, v, fn.RevisionID); err != nil {
		t.Fatal(err)
	}
	next := fn.Clone()
	next.RevisionID = "rev-next"
	next.LastUpdateStatus = sluice.UpdateInProgress
	next.LastUpdateStatusReason = "updating"
	next.LastUpdateStatusReasonCode = "Updating"
	next.Previous = fn.Clone()
	if err := s.UpdateFunction(ctx, next, fn.RevisionID); err != nil {
		t.Fatal(err)
	}
	a := &sluice.Alias{FunctionName: "fmt", Name: "live", FunctionVersion: "1", Description: "d",
		AdditionalVersionWeights: map[string]float64{"1": 0.25}, RevisionID: "rev-a"}
	if err := s.CreateAlias(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.SetReservedConcurrency(ctx, "fmt", 5); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPolicy(ctx, "fmt", "", sluicetest.SamplePolicy("rev-pl", "a", "b", "c", "d"), ""); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPolicy(ctx, "fmt", "live", &sluice.FunctionPolicy{RevisionID: "rev-pa", Statements: []sluice.PermissionStatement{
		{StatementID: "x", Action: "lambda:*", Principal: "123456789012"},
	}}, ""); err != nil {
		t.Fatal(err)
	}
	zero, sixty := 0, 60
	eicTime := time.Date(2024, 5, 17, 9, 30, 15, 500_000_000, time.UTC)
	if err := s.SetEventInvokeConfig(ctx, "fmt", "", func(*sluice.EventInvokeConfig) (*sluice.EventInvokeConfig, error) {
		return &sluice.EventInvokeConfig{MaximumEventAgeInSeconds: &sixty}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEventInvokeConfig(ctx, "fmt", "live", func(*sluice.EventInvokeConfig) (*sluice.EventInvokeConfig, error) {
		return &sluice.EventInvokeConfig{MaximumRetryAttempts: &zero, OnFailure: "arn:aws:lambda:us-east-1:123456789012:function:dlq:live", LastModified: eicTime}, nil
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	record := func(version, rev, status, reason, reasonCode string) map[string]any {
		return map[string]any{
			"v":                              7.0,
			"name":                           "fmt",
			"version":                        version,
			"runtime":                        fn.Runtime,
			"role":                           fn.Role,
			"handler":                        fn.Handler,
			"description":                    fn.Description,
			"timeout":                        30.0,
			"memory_size":                    256.0,
			"ephemeral_storage":              1024.0,
			"architectures":                  []any{"x86_64"},
			"environment":                    map[string]any{"GREETING": "hello", "EMPTY": "", "JSON": `{"a":[1,2]}`},
			"file_systems":                   []any{map[string]any{"arn": "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-1", "local_mount_path": "/mnt/data"}},
			"code_sha256":                    fn.CodeSHA256,
			"code_size":                      123456.0,
			"last_modified":                  "2024-05-17T09:30:15.123Z",
			"revision_id":                    rev,
			"state":                          "Active",
			"state_reason":                   fn.StateReason,
			"state_reason_code":              fn.StateReasonCode,
			"last_update_status":             status,
			"last_update_status_reason":      reason,
			"last_update_status_reason_code": reasonCode,
			"logging":                        map[string]any{"log_format": "JSON", "application_log_level": "DEBUG", "system_log_level": "WARN", "log_group": "/custom/group"},
		}
	}
	latest := record("$LATEST", "rev-next", "InProgress", "updating", "Updating")
	latest["previous"] = record("$LATEST", fn.RevisionID, "Successful", "", "")
	latest["event_invoke_config"] = map[string]any{"maximum_event_age_in_seconds": 60.0}
	latest["policy"] = map[string]any{
		"revision_id": "rev-pl",
		"statements": []any{
			map[string]any{"sid": "a", "action": "lambda:InvokeFunction", "principal": "s3.amazonaws.com", "source_arn": "arn:aws:s3:::bucket-a"},
			map[string]any{"sid": "b", "action": "lambda:InvokeFunction", "principal": "111122223333", "source_account": "111122223333"},
			map[string]any{"sid": "c", "action": "lambda:InvokeFunctionUrl", "principal": "*", "function_url_auth_type": "NONE",
				"event_source_token": "amzn1.ask.skill.ünïcode", "principal_org_id": "o-abcdefghij"},
			map[string]any{"sid": "d", "action": "lambda:InvokeFunction", "principal": "arn:aws:iam::111122223333:role/caller", "invoked_via_function_url": true},
		},
	}
	checkJSON(t, "$LATEST", getRaw(t, path, "functions", "fmt"), latest)
	checkJSON(t, "version 1", getRawNested(t, path, "versions", "fmt", "\x00\x00\x00\x00\x00\x00\x00\x01"),
		record("1", "rev-v1", "Successful", "", ""))
	checkJSON(t, "alias", getRawNested(t, path, "aliases", "fmt", "live"), map[string]any{
		"v": 7.0,
		"event_invoke_config": map[string]any{"maximum_retry_attempts": 0.0, "on_failure": "arn:aws:lambda:us-east-1:123456789012:function:dlq:live",
			"last_modified": "2024-05-17T09:30:15.5Z"},
		"policy": map[string]any{"revision_id": "rev-pa", "statements": []any{
			map[string]any{"sid": "x", "action": "lambda:*", "principal": "123456789012"},
		}},
		"function_name":              "fmt",
		"name":                       "live",
		"function_version":           "1",
		"description":                "d",
		"additional_version_weights": map[string]any{"1": 0.25},
		"revision_id":                "rev-a",
	})
	if got := getRaw(t, path, "version_counter", "fmt"); string(got) != "\x00\x00\x00\x00\x00\x00\x00\x01" {
		t.Errorf("version counter = %q, want 8-byte big-endian 1", got)
	}
	if got := string(getRaw(t, path, "concurrency", "fmt")); got != "5" {
		t.Errorf("concurrency = %q, want %q", got, "5")
	}
}

func checkJSON(t *testing.T, what string, raw []byte, want map[string]any) {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("stored %s is not JSON: %v: %q", what, err, raw)
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("stored %s:\n got %s\nwant %s", what, gotJSON, wantJSON)
	}
}

// getRawNested reads the value under key in the nested bucket inner of the
// top-level bucket outer.
func getRawNested(t *testing.T, path, outer, inner, key string) []byte {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []byte
	err = db.View(func(tx *bbolt.Tx) error {
		b, _ := bucketOf(tx, outer, false)
		if b == nil {
			t.Fatalf("bucket %s missing", outer)
		}
		if b = b.Bucket([]byte(inner)); b == nil {
			t.Fatalf("bucket %s/%s missing", outer, inner)
		}
		out = append([]byte(nil), b.Get([]byte(key))...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// v1Record is a function record as schema version 1 wrote it.
const v1Record = `{"v":1,"name":"old","runtime":"provided.al2023","role":"arn:aws:iam::123456789012:role/lambda-role",` +
	`"handler":"bootstrap","description":"written by schema 1","timeout":30,"memory_size":256,"ephemeral_storage":1024,` +
	`"architectures":["x86_64"],"environment":{"A":"1"},"code_sha256":"abab","code_size":123456,` +
	`"last_modified":"2024-05-17T09:30:15.123Z","revision_id":"rev-old","state":"Active","state_reason":"",` +
	`"state_reason_code":"","last_update_status":"Successful"}`

// writeV1File writes a database file as schema version 1 did: a meta and a
// functions bucket, and nothing else.
func writeV1File(t *testing.T, path string, functions map[string]string) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		if err := meta.Put([]byte("schema_version"), []byte("1")); err != nil {
			return err
		}
		if functions == nil {
			return nil
		}
		fns, err := tx.CreateBucket([]byte("functions"))
		if err != nil {
			return err
		}
		for k, v := range functions {
			if err := fns.Put([]byte(k), []byte(v)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// bucketNames returns the names of the top-level buckets of the file.
func bucketNames(t *testing.T, path string) []string {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var names []string
	_ = db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
			names = append(names, string(name))
			return nil
		})
	})
	return names
}

func TestOpenMigratesSchema1(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "sluice.db")
	writeV1File(t, path, map[string]string{"old": v1Record, "bare": `{"v":1,"name":"bare"}`})

	s, err := bolt.Open(path, testScope)
	if err != nil {
		t.Fatalf("Open of a schema 1 file: %v", err)
	}
	want := &sluice.Function{
		Name: "old", Version: sluice.LatestVersion, Runtime: "provided.al2023",
		Role: "arn:aws:iam::123456789012:role/lambda-role", Handler: "bootstrap",
		Description: "written by schema 1", Timeout: 30, MemorySize: 256, EphemeralStorage: 1024,
		Architectures: []string{"x86_64"}, Environment: map[string]string{"A": "1"},
		CodeSHA256: "abab", CodeSize: 123456,
		LastModified: time.Date(2024, 5, 17, 9, 30, 15, 123_000_000, time.UTC),
		RevisionID:   "rev-old", State: sluice.StateActive, LastUpdateStatus: sluice.UpdateSuccessful,
	}
	got, err := s.GetFunction(ctx, "old")
	if err != nil {
		t.Fatalf("GetFunction of a schema 1 record: %v", err)
	}
	if d := sluicetest.DiffFunction(want, got); d != "" {
		t.Errorf("schema 1 record: %s", d)
	}
	if got.Version != sluice.LatestVersion || got.Previous != nil || got.LastUpdateStatusReason != "" {
		t.Errorf("schema 1 record read as Version %q, Previous %v, LastUpdateStatusReason %q; want $LATEST, nil, empty", got.Version, got.Previous, got.LastUpdateStatusReason)
	}
	if fns, err := s.ListFunctions(ctx, "", 0); err != nil || len(fns) != 2 {
		t.Errorf("ListFunctions = %d functions, %v; want 2", len(fns), err)
	}

	// Everything new works on the migrated file.
	if vs, err := s.ListVersions(ctx, "old", 0, 0); err != nil || len(vs) != 0 {
		t.Errorf("ListVersions = %d, %v; want none", len(vs), err)
	}
	if as, err := s.ListAliases(ctx, "old", "", 0); err != nil || len(as) != 0 {
		t.Errorf("ListAliases = %d, %v; want none", len(as), err)
	}
	if m, err := s.ReservedConcurrency(ctx); err != nil || len(m) != 0 {
		t.Errorf("ReservedConcurrency = %v, %v; want empty", m, err)
	}
	v := got.Clone()
	v.RevisionID = "rev-v1"
	pub, err := s.PublishVersion(ctx, v, "rev-old")
	if err != nil || pub.Version != "1" {
		t.Fatalf("PublishVersion on a migrated file = %v, %v; want version 1", pub, err)
	}
	if err := s.CreateAlias(ctx, &sluice.Alias{FunctionName: "old", Name: "live", FunctionVersion: "1", RevisionID: "r"}); err != nil {
		t.Errorf("CreateAlias: %v", err)
	}
	if err := s.SetReservedConcurrency(ctx, "old", 4); err != nil {
		t.Errorf("SetReservedConcurrency: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The file is schema 4 now, with every bucket, the functions' in the
	// default scope; the old records were left as they were.
	if got := string(getRaw(t, path, "meta", "schema_version")); got != "4" {
		t.Errorf("schema_version after migration = %q, want 4", got)
	}
	if got, want := bucketNames(t, path), []string{"meta", "scopes", "url_ids"}; !slices.Equal(got, want) {
		t.Errorf("buckets after migration = %q, want %q", got, want)
	}
	if got := string(getRaw(t, path, "functions", "old")); got != v1Record {
		t.Errorf("migration rewrote the schema 1 record:\n%s", got)
	}

	// It opens again, without migrating, and kept what was written.
	s, err = bolt.Open(path, testScope)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer s.Close()
	if _, err := s.GetVersion(ctx, "old", "1"); err != nil {
		t.Errorf("GetVersion after reopen: %v", err)
	}
	if a, err := s.GetAlias(ctx, "old", "live"); err != nil || a.FunctionVersion != "1" {
		t.Errorf("GetAlias after reopen = %v, %v", a, err)
	}
	if m, err := s.ReservedConcurrency(ctx); err != nil || m["old"] != 4 {
		t.Errorf("ReservedConcurrency after reopen = %v, %v; want old: 4", m, err)
	}
	// Updating a schema 1 record rewrites it as a version 2 record.
	up := want.Clone()
	up.RevisionID = "rev-up"
	if err := s.UpdateFunction(ctx, up, "rev-old"); err != nil {
		t.Fatalf("UpdateFunction of a schema 1 record: %v", err)
	}
	checkGetFn(t, s, up)
}

func checkGetFn(t *testing.T, s *bolt.Store, want *sluice.Function) {
	t.Helper()
	got, err := s.GetFunction(t.Context(), want.Name)
	if err != nil {
		t.Fatalf("GetFunction(%s): %v", want.Name, err)
	}
	if d := sluicetest.DiffFunction(want, got); d != "" {
		t.Errorf("GetFunction(%s): %s", want.Name, d)
	}
}

func TestOpenRefusesCorruptFiles(t *testing.T) {
	dir := t.TempDir()

	// A schema 1 file without its functions bucket: the failed migration
	// leaves it as it was.
	v1 := filepath.Join(dir, "v1.db")
	writeV1File(t, v1, nil)
	if s, err := bolt.Open(v1, testScope); err == nil {
		s.Close()
		t.Error("Open of a schema 1 file without a functions bucket succeeded")
	} else if !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("error = %q, want it to say corrupt", err)
	}
	if got := string(getRaw(t, v1, "meta", "schema_version")); got != "1" {
		t.Errorf("schema_version after a refused migration = %q, want 1", got)
	}

	// A schema 2 file without one of the buckets schema 2 added.
	v2 := filepath.Join(dir, "v2.db")
	writeV2File(t, v2)
	db, err := bbolt.Open(v2, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error { return tx.DeleteBucket([]byte("aliases")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := bolt.Open(v2, testScope); err == nil {
		s.Close()
		t.Error("Open of a schema 2 file without an aliases bucket succeeded")
	} else if !strings.Contains(err.Error(), "aliases bucket is missing") {
		t.Errorf("error = %q, want it to name the missing bucket", err)
	}

	// A schema 4 file whose scope lost one of its buckets.
	v4 := filepath.Join(dir, "v4.db")
	s, err := bolt.Open(v4, testScope)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateFunction(t.Context(), sluicetest.SampleFunction("fn")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err = bbolt.Open(v4, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("scopes")).Bucket([]byte(testScope.String())).DeleteBucket([]byte("versions"))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := bolt.Open(v4, testScope); err == nil {
		s.Close()
		t.Error("Open of a schema 4 file whose scope has no versions bucket succeeded")
	} else if !strings.Contains(err.Error(), "versions bucket of scope "+testScope.String()+" is missing") {
		t.Errorf("error = %q, want it to name the missing bucket", err)
	}
	if _, err := bolt.Check(v4); !errors.Is(err, bolt.ErrNotWhole) {
		t.Errorf("Check of a schema 4 file whose scope has no versions bucket: %v, want ErrNotWhole", err)
	}
}

// writeV2File writes a database file as schema version 2 left it: a meta
// bucket, the functions bucket with one function, and the (empty) buckets
// version 2 added.
func writeV2File(t *testing.T, path string) {
	t.Helper()
	writeV1File(t, path, map[string]string{"old": v1Record})
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range []string{"versions", "aliases", "version_counter", "concurrency"} {
			if _, err := tx.CreateBucket([]byte(b)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), []byte("2"))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUnreadableRecords(t *testing.T) {
	for name, value := range map[string]string{
		"newer":     `{"v":99,"name":"newer"}`,
		"notlatest": `{"v":2,"name":"notlatest","version":"3"}`,
		"prevtime":  `{"v":2,"name":"prevtime","previous":{"v":2,"name":"prevtime","last_modified":"yesterday"}}`,
		"nov":       `{"name":"nov"}`,
		"json":      `{not json`,
		"other":     `{"v":1,"name":"someone-else"}`,
		"time":      `{"v":1,"name":"time","last_modified":"yesterday"}`,
	} {
		t.Run(name, func(t *testing.T) {
			s, path := openTemp(t)
			s.Close()
			setRaw(t, path, "functions", name, []byte(value))
			s, err := bolt.Open(path, testScope)
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

func TestInvalidVersionAndAliasWrites(t *testing.T) {
	s, _ := openTemp(t)
	ctx := t.Context()
	fn := sluicetest.SampleFunction("fn")

	// A $LATEST cannot claim a published version.
	withVersion := fn.Clone()
	withVersion.Version = "3"
	wantCode(t, s.CreateFunction(ctx, withVersion), sluice.EInvalidParameter, "CreateFunction with Version 3")
	if _, err := s.GetFunction(ctx, "fn"); sluice.ErrorCodeOf(err) != sluice.ENotFound {
		t.Errorf("a refused CreateFunction stored the function: %v", err)
	}
	latest := fn.Clone()
	latest.Version = sluice.LatestVersion
	if err := s.CreateFunction(ctx, latest); err != nil {
		t.Fatalf("CreateFunction with Version $LATEST: %v", err)
	}
	wantCode(t, s.UpdateFunction(ctx, withVersion, fn.RevisionID), sluice.EInvalidParameter, "UpdateFunction with Version 3")
	checkGetFn(t, s, latest)

	long := strings.Repeat("x", bbolt.MaxKeySize+1)
	for _, v := range []*sluice.Function{nil, {}, {Name: long}} {
		_, err := s.PublishVersion(ctx, v, "")
		wantCode(t, err, sluice.EInvalidParameter, "PublishVersion of an unnamed or oversized function")
	}
	for _, a := range []*sluice.Alias{nil, {}, {FunctionName: "fn"}, {Name: "live", FunctionVersion: "$LATEST"},
		{FunctionName: "fn", Name: long, FunctionVersion: "$LATEST"}, {FunctionName: long, Name: "live"}} {
		wantCode(t, s.CreateAlias(ctx, a), sluice.EInvalidParameter, fmt.Sprintf("CreateAlias(%+v)", a))
		wantCode(t, s.UpdateAlias(ctx, a, ""), sluice.EInvalidParameter, fmt.Sprintf("UpdateAlias(%+v)", a))
	}
	_, err := s.GetAlias(ctx, "fn", "")
	wantCode(t, err, sluice.ENotFound, `GetAlias(fn, "")`)
	wantCode(t, s.DeleteAlias(ctx, "fn", ""), sluice.ENotFound, `DeleteAlias(fn, "")`)
	_, err = s.ListVersions(ctx, "", 0, 0)
	wantCode(t, err, sluice.ENotFound, `ListVersions("")`)
	wantCode(t, s.SetReservedConcurrency(ctx, "", 1), sluice.ENotFound, `SetReservedConcurrency("")`)
	if as, err := s.ListAliases(ctx, "fn", "", 0); err != nil || len(as) != 0 {
		t.Errorf("ListAliases after refused writes = %d aliases, %v; want none", len(as), err)
	}
}

func TestListVersionsNegativeAfter(t *testing.T) {
	s, _ := openTemp(t)
	ctx := t.Context()
	fn := sluicetest.SampleFunction("fn")
	if err := s.CreateFunction(ctx, fn); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.PublishVersion(ctx, fn, fn.RevisionID); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := s.ListVersions(ctx, "fn", -5, 0)
	if err != nil || len(vs) != 2 || vs[0].Version != "1" {
		t.Errorf("ListVersions(after -5) = %d versions, %v; want 1 and 2", len(vs), err)
	}
}

func TestUnreadableVersionsAndAliases(t *testing.T) {
	ctx := t.Context()
	setup := func(t *testing.T) (*bolt.Store, string) {
		t.Helper()
		s, path := openTemp(t)
		fn := sluicetest.SampleFunction("fn")
		if err := s.CreateFunction(ctx, fn); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PublishVersion(ctx, fn, fn.RevisionID); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateAlias(ctx, &sluice.Alias{FunctionName: "fn", Name: "live", FunctionVersion: "1"}); err != nil {
			t.Fatal(err)
		}
		s.Close()
		return s, path
	}
	reopen := func(t *testing.T, path string) *bolt.Store {
		t.Helper()
		s, err := bolt.Open(path, testScope)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	key1 := "\x00\x00\x00\x00\x00\x00\x00\x01"

	for name, value := range map[string]string{
		"json":          `{not json`,
		"newer":         `{"v":99,"name":"fn","version":"1"}`,
		"other-version": `{"v":2,"name":"fn","version":"2"}`,
		"latest":        `{"v":2,"name":"fn","version":"$LATEST"}`,
		"other-name":    `{"v":2,"name":"other","version":"1"}`,
	} {
		t.Run("version-"+name, func(t *testing.T) {
			_, path := setup(t)
			setRawNested(t, path, "versions", "fn", key1, []byte(value))
			s := reopen(t, path)
			_, err := s.GetVersion(ctx, "fn", "1")
			wantCode(t, err, sluice.EInternal, "GetVersion")
			_, err = s.ListVersions(ctx, "fn", 0, 0)
			wantCode(t, err, sluice.EInternal, "ListVersions")
		})
	}
	for name, value := range map[string]string{
		"json":       `{not json`,
		"v1":         `{"v":1,"function_name":"fn","name":"live"}`,
		"newer":      `{"v":99,"function_name":"fn","name":"live"}`,
		"other-name": `{"v":2,"function_name":"fn","name":"dead"}`,
		"other-fn":   `{"v":2,"function_name":"fn2","name":"live"}`,
	} {
		t.Run("alias-"+name, func(t *testing.T) {
			_, path := setup(t)
			setRawNested(t, path, "aliases", "fn", "live", []byte(value))
			s := reopen(t, path)
			_, err := s.GetAlias(ctx, "fn", "live")
			wantCode(t, err, sluice.EInternal, "GetAlias")
			_, err = s.ListAliases(ctx, "fn", "", 0)
			wantCode(t, err, sluice.EInternal, "ListAliases")
			wantCode(t, s.DeleteVersion(ctx, "fn", "1"), sluice.EInternal, "DeleteVersion, which reads the aliases")
			wantCode(t, s.UpdateAlias(ctx, &sluice.Alias{FunctionName: "fn", Name: "live", FunctionVersion: "1"}, ""), sluice.EInternal, "UpdateAlias")
			// The alias and the function can still be deleted.
			if err := s.DeleteAlias(ctx, "fn", "live"); err != nil {
				t.Errorf("DeleteAlias: %v", err)
			}
			if err := s.DeleteFunction(ctx, "fn"); err != nil {
				t.Errorf("DeleteFunction: %v", err)
			}
		})
	}
	t.Run("counter", func(t *testing.T) {
		_, path := setup(t)
		setRaw(t, path, "version_counter", "fn", []byte("1"))
		s := reopen(t, path)
		fn := sluicetest.SampleFunction("fn")
		_, err := s.PublishVersion(ctx, fn, fn.RevisionID)
		wantCode(t, err, sluice.EInternal, "PublishVersion with a corrupt counter")
		if err := s.DeleteFunction(ctx, "fn"); err != nil {
			t.Errorf("DeleteFunction: %v", err)
		}
	})
	t.Run("concurrency", func(t *testing.T) {
		_, path := setup(t)
		setRaw(t, path, "concurrency", "fn", []byte("many"))
		s := reopen(t, path)
		_, err := s.ReservedConcurrency(ctx)
		wantCode(t, err, sluice.EInternal, "ReservedConcurrency with a corrupt setting")
		if err := s.SetReservedConcurrency(ctx, "fn", 2); err != nil {
			t.Fatalf("SetReservedConcurrency over a corrupt setting: %v", err)
		}
		if m, err := s.ReservedConcurrency(ctx); err != nil || m["fn"] != 2 {
			t.Errorf("ReservedConcurrency = %v, %v; want fn: 2", m, err)
		}
	})
	t.Run("version-key", func(t *testing.T) {
		_, path := setup(t)
		setRawNested(t, path, "versions", "fn", "1", []byte(`{"v":2,"name":"fn","version":"1"}`))
		s := reopen(t, path)
		_, err := s.ListVersions(ctx, "fn", 0, 0)
		wantCode(t, err, sluice.EInternal, "ListVersions with a key that is not 8 bytes")
	})
}

// setRawNested writes value under key in the nested bucket inner of the
// top-level bucket outer, bypassing the Store.
func setRawNested(t *testing.T, path, outer, inner, key string, value []byte) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := bucketOf(tx, outer, true)
		if err != nil {
			return err
		}
		if b, err = b.CreateBucketIfNotExists([]byte(inner)); err != nil {
			return err
		}
		return b.Put([]byte(key), value)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCanceledContextVersionsAndAliases(t *testing.T) {
	s, _ := openTemp(t)
	fn := sluicetest.SampleFunction("fn")
	if err := s.CreateFunction(t.Context(), fn); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	a := &sluice.Alias{FunctionName: "fn", Name: "live", FunctionVersion: sluice.LatestVersion}
	checks := map[string]error{}
	_, checks["PublishVersion"] = s.PublishVersion(ctx, fn, fn.RevisionID)
	_, checks["GetVersion"] = s.GetVersion(ctx, "fn", "1")
	_, checks["ListVersions"] = s.ListVersions(ctx, "fn", 0, 0)
	checks["DeleteVersion"] = s.DeleteVersion(ctx, "fn", "1")
	checks["CreateAlias"] = s.CreateAlias(ctx, a)
	_, checks["GetAlias"] = s.GetAlias(ctx, "fn", "live")
	_, checks["ListAliases"] = s.ListAliases(ctx, "fn", "", 0)
	checks["UpdateAlias"] = s.UpdateAlias(ctx, a, "")
	checks["DeleteAlias"] = s.DeleteAlias(ctx, "fn", "live")
	checks["SetReservedConcurrency"] = s.SetReservedConcurrency(ctx, "fn", 1)
	_, checks["ReservedConcurrency"] = s.ReservedConcurrency(ctx)
	for op, err := range checks {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: %v, want context.Canceled", op, err)
		}
	}
	// Nothing was written.
	if vs, err := s.ListVersions(t.Context(), "fn", 0, 0); err != nil || len(vs) != 0 {
		t.Errorf("ListVersions = %d versions, %v; want none", len(vs), err)
	}
	if as, err := s.ListAliases(t.Context(), "fn", "", 0); err != nil || len(as) != 0 {
		t.Errorf("ListAliases = %d aliases, %v; want none", len(as), err)
	}
	if m, err := s.ReservedConcurrency(t.Context()); err != nil || len(m) != 0 {
		t.Errorf("ReservedConcurrency = %v, %v; want empty", m, err)
	}
}

func TestClosedStoreVersionsAndAliases(t *testing.T) {
	s, _ := openTemp(t)
	fn := sluicetest.SampleFunction("fn")
	if err := s.CreateFunction(t.Context(), fn); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	a := &sluice.Alias{FunctionName: "fn", Name: "live", FunctionVersion: sluice.LatestVersion}
	checks := map[string]error{}
	_, checks["PublishVersion"] = s.PublishVersion(ctx, fn, fn.RevisionID)
	_, checks["GetVersion"] = s.GetVersion(ctx, "fn", "1")
	_, checks["ListVersions"] = s.ListVersions(ctx, "fn", 0, 0)
	checks["DeleteVersion"] = s.DeleteVersion(ctx, "fn", "1")
	checks["CreateAlias"] = s.CreateAlias(ctx, a)
	_, checks["GetAlias"] = s.GetAlias(ctx, "fn", "live")
	_, checks["ListAliases"] = s.ListAliases(ctx, "fn", "", 0)
	checks["UpdateAlias"] = s.UpdateAlias(ctx, a, "")
	checks["DeleteAlias"] = s.DeleteAlias(ctx, "fn", "live")
	checks["SetReservedConcurrency"] = s.SetReservedConcurrency(ctx, "fn", 1)
	_, checks["ReservedConcurrency"] = s.ReservedConcurrency(ctx)
	for op, err := range checks {
		wantCode(t, err, sluice.EInternal, op+" after Close")
	}
}

func TestDeleteVersionConflictMessage(t *testing.T) {
	s, _ := openTemp(t)
	ctx := t.Context()
	fn := sluicetest.SampleFunction("fn")
	if err := s.CreateFunction(ctx, fn); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.PublishVersion(ctx, fn, fn.RevisionID); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []*sluice.Alias{
		{FunctionName: "fn", Name: "zeta", FunctionVersion: "1"},
		{FunctionName: "fn", Name: "alpha", FunctionVersion: "2", AdditionalVersionWeights: map[string]float64{"1": 0.5}},
		{FunctionName: "fn", Name: "other", FunctionVersion: "2"},
	} {
		if err := s.CreateAlias(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	err := s.DeleteVersion(ctx, "fn", "1")
	var se *sluice.Error
	if !errors.As(err, &se) || se.Code != sluice.EConflict {
		t.Fatalf("DeleteVersion = %v, want a conflict", err)
	}
	if want := "Unable to delete version because the following aliases reference it: [alpha, zeta]"; se.Message != want {
		t.Errorf("message = %q, want %q", se.Message, want)
	}
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

func TestURLStoreSuite(t *testing.T) {
	sluicetest.URLStoreSuite(t, func(t *testing.T) sluicetest.URLStore {
		s, _ := openTemp(t)
		return s
	})
}

func TestDurableURLStoreSuite(t *testing.T) {
	sluicetest.DurableURLStoreSuite(t,
		func(t *testing.T, dir string) sluicetest.URLStore {
			s, err := bolt.Open(filepath.Join(dir, "sluice.db"), testScope)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			return s
		},
		func(s sluicetest.URLStore) error { return s.(*bolt.Store).Close() })
}

// TestOpenMigratesSchema2 opens a file as schema 2 left it (no URL
// buckets) and checks that Open adds them and function URLs work.
func TestOpenMigratesSchema2(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "sluice.db")
	writeV2File(t, path)

	s, err := bolt.Open(path, testScope)
	if err != nil {
		t.Fatalf("Open of a schema 2 file: %v", err)
	}
	defer s.Close()
	if _, err := s.GetFunction(ctx, "old"); err != nil {
		t.Fatalf("GetFunction of the schema 2 function: %v", err)
	}
	u := sluicetest.SampleURL("old", "", sluicetest.URLID(1))
	if err := s.CreateFunctionURL(ctx, u); err != nil {
		t.Fatalf("CreateFunctionURL on a migrated file: %v", err)
	}
	got, err := s.GetFunctionURLByID(ctx, u.URLID)
	if err != nil {
		t.Fatalf("GetFunctionURLByID: %v", err)
	}
	if d := sluicetest.DiffURL(u, got); d != "" {
		t.Error(d)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := string(getRaw(t, path, "meta", "schema_version")); got != "4" {
		t.Errorf("schema_version after migration = %q, want 4", got)
	}
}

// TestOpenRefusesWithoutURLBuckets: a schema 3 or 4 file must have the
// URL buckets.
func TestOpenRefusesWithoutURLBuckets(t *testing.T) {
	for _, tc := range []struct{ name, bucket string }{{"schema 3", "urls"}, {"schema 3", "url_ids"}, {"schema 4", "url_ids"}} {
		t.Run(tc.name+" "+tc.bucket, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sluice.db")
			if tc.name == "schema 3" {
				writeSchema3File(t, path)
			} else {
				s, err := bolt.Open(path, testScope)
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
			}
			db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bbolt.Tx) error { return tx.DeleteBucket([]byte(tc.bucket)) })
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			if s, err := bolt.Open(path, testScope); err == nil {
				s.Close()
				t.Errorf("Open of a %s file without a %s bucket succeeded", tc.name, tc.bucket)
			} else if !strings.Contains(err.Error(), tc.bucket+" bucket is missing") {
				t.Errorf("error = %q, want it to name the missing bucket", err)
			}
		})
	}
}

func TestUnreadableURLRecords(t *testing.T) {
	for name, value := range map[string]string{
		"newer":  `{"v":99,"function_name":"fn","qualifier":""}`,
		"older":  `{"v":2,"function_name":"fn","qualifier":""}`,
		"other":  `{"v":3,"function_name":"someone-else","qualifier":""}`,
		"json":   `{not json`,
		"time":   `{"v":3,"function_name":"fn","qualifier":"","creation_time":"yesterday"}`,
		"mtime":  `{"v":3,"function_name":"fn","qualifier":"","last_modified_time":"yesterday"}`,
		"wrongq": `{"v":3,"function_name":"fn","qualifier":"alias"}`,
	} {
		t.Run(name, func(t *testing.T) {
			s, path := openTemp(t)
			ctx := t.Context()
			if err := s.CreateFunction(ctx, sluicetest.SampleFunction("fn")); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateFunctionURL(ctx, sluicetest.SampleURL("fn", "", sluicetest.URLID(1))); err != nil {
				t.Fatal(err)
			}
			s.Close()
			db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bbolt.Tx) error {
				urls, _ := bucketOf(tx, "urls", false)
				return urls.Bucket([]byte("fn")).Put([]byte("$LATEST"), []byte(value))
			})
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			s, err = bolt.Open(path, testScope)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, err = s.GetFunctionURL(ctx, "fn", "")
			if sluice.ErrorCodeOf(err) != sluice.EInternal {
				t.Errorf("GetFunctionURL of record %s: %v, want an internal error", value, err)
			}
			_, err = s.GetFunctionURLByID(ctx, sluicetest.URLID(1))
			if sluice.ErrorCodeOf(err) != sluice.EInternal {
				t.Errorf("GetFunctionURLByID of record %s: %v, want an internal error", value, err)
			}
		})
	}
}
