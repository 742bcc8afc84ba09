// Package bolt implements sluice.FunctionStore on bbolt, an embedded,
// single-file, copy-on-write B+tree key-value store written in pure Go.
//
// Every value is a versioned JSON record owned by this package (see
// record.go), so the root types can change without changing the file
// format. Every write runs inside one read-write transaction, guarded by
// a compare-and-swap on RevisionID where the contract asks for one, and
// bbolt fsyncs each committed transaction: a write that returned nil
// survives a crash. The same operations could be applied, in order, by a
// replicated log.
//
// The file has these top-level buckets (schema version 4):
//
//	meta            schema_version → decimal schema version
//	scopes          "region/account" → bucket: the scope's functions (below)
//	url_ids         URL id → {region, account, function, qualifier key} of its URL
//
// and each scope's bucket holds:
//
//	functions       function name → $LATEST record
//	versions        function name → bucket: 8-byte big-endian version number → version record
//	aliases         function name → bucket: alias name → alias record
//	version_counter function name → 8-byte big-endian number of the last version published
//	concurrency     function name → decimal reserved concurrency
//	urls            function name → bucket: qualifier key → function URL record
//
// A scope (sluice.Scope) is a namespace: a Store is the view of one scope
// (Open returns the default scope's, In another's, on the same file), and
// nothing of one scope is visible in another. A scope's bucket is created
// by its first write; a read of a scope without one sees no functions.
// url_ids is global, because a function URL request names its URL by id
// alone (its Host or path): the entry says which scope holds the URL.
//
// A resource-based policy has no bucket: it is a member of the $LATEST,
// version or alias record it belongs to (record.go), written by SetPolicy
// (policy.go) and deleted with its record; so is an asynchronous
// invocation configuration (EventInvokeConfig, SetEventInvokeConfig in
// eventconfig.go).
//
// Version keys are big-endian so that a cursor walks versions in numeric
// order. The counter outlives the versions it numbered, so numbers are
// never reused; DeleteFunction removes the function's key from every
// bucket, counter included, so a function created again under the same
// name starts at version 1.
//
// A function URL's qualifier key is its alias name, or $LATEST for the URL
// of the unqualified function (bbolt keys cannot be empty). url_ids is the
// index that serves a request by its Host; it is written in the same
// transaction as urls, and DeleteFunction and DeleteAlias remove the URLs
// (and their index entries) of what they delete.
//
// Schema versions: 1 had only meta and functions. 2 added the other
// buckets, and version 2 records (see recordVersion). Open migrates a
// version 1 file in place, in one transaction, by creating the new buckets
// (empty: a version 1 file has no versions, aliases or concurrency
// settings) and raising schema_version; version 1 records stay as they
// are and read as $LATEST records without the new fields. The schema
// version was raised, although the migration only adds buckets, so that
// an older sluice refuses the file: it would delete functions without
// their versions, aliases and counters, and drop the configuration an
// in-progress update serves. Open refuses a file written by a newer sluice
// rather than misreading it. 3 added urls and url_ids; Open migrates a
// version 1 or 2 file by creating them (empty). The version was raised for
// the same reason: an older sluice would delete functions and aliases
// without their URLs, leaving index entries that route to whatever takes
// their names next. 4 put every function into a scope: the six buckets of
// functions moved, whole, from the top level into the bucket of the scope
// given to Open (the --region and --account-id the file was served with),
// and every url_ids entry gained that scope's region and account. The
// migration is one transaction (bbolt's MoveBucket moves a bucket without
// copying its pages), so a crash in the middle leaves the file as it was.
// An older sluice would see a file without functions, and refuses it.
package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/sluice-dev/sluice"
	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the version of the file layout this package reads and
// writes. Raise it, and migrate in Open, when the layout or the meaning of
// a record changes incompatibly.
const SchemaVersion = 4

// lockTimeout is how long Open waits for the file lock another process
// holds before giving up.
const lockTimeout = time.Second

var (
	bucketMeta           = []byte("meta")
	bucketFunctions      = []byte("functions")
	bucketVersions       = []byte("versions")
	bucketAliases        = []byte("aliases")
	bucketVersionCounter = []byte("version_counter")
	bucketConcurrency    = []byte("concurrency")
	bucketURLs           = []byte("urls")
	bucketURLIDs         = []byte("url_ids")
	bucketScopes         = []byte("scopes")
	keySchema            = []byte("schema_version")

	// bucketsV2 are the buckets schema version 2 added.
	bucketsV2 = [][]byte{bucketVersions, bucketAliases, bucketVersionCounter, bucketConcurrency}
	// bucketsV3 are the buckets schema version 3 added.
	bucketsV3 = [][]byte{bucketURLs, bucketURLIDs}
	// scopedBuckets are the buckets of each scope (schema version 4).
	scopedBuckets = [][]byte{bucketFunctions, bucketVersions, bucketAliases, bucketVersionCounter, bucketConcurrency, bucketURLs}
)

// Store is the sluice.Namespace of one scope, kept in a bbolt file with
// the functions of every other scope: Open returns the default scope's
// Store, In the Store of any scope on the same file. It is safe for
// concurrent use.
type Store struct {
	db    *bbolt.DB
	scope sluice.Scope
	cache *readCache // shared by the Stores of db
}

var (
	_ sluice.FunctionStore    = (*Store)(nil)
	_ sluice.FunctionURLStore = (*Store)(nil)
	_ sluice.Namespace        = (*Store)(nil)
	_ sluice.Namespaces       = (*Store)(nil)
)

// Open opens the store in the database file at path, creating the file and
// its parent directory if needed, and migrating a file of an older schema
// version: the functions of a file from before namespaces (schema version
// 3 or older) move into scope. The Store it returns is scope's. Only one
// process can have a file open at a time: Open fails after a second when
// another holds it.
//
// Open refuses a store that is not whole, with a *CheckError
// (errors.Is(err, ErrNotWhole)): it runs Check's page walk and bbolt's
// Tx.Check first, so a corrupt page is an error here rather than a panic
// or a memory fault later, and one corrupt meta page is not silently
// taken as a rolled-back store. A missing or empty file is created only
// where no store was before: once a store is open, Open writes a marker
// next to it (MarkerPath), and a missing or empty file with the marker is
// refused rather than replaced by an empty store.
func Open(path string, scope sluice.Scope) (*Store, error) {
	if !scope.Valid() {
		return nil, fmt.Errorf("bolt: open %s: invalid default scope %q (a region such as us-east-1 and a 12-digit account)", path, scope)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("bolt: create data dir: %w", err)
	}
	st, err := os.Stat(path)
	existing := err == nil && st.Size() > 0
	if !existing {
		if err := lostStore(path, st); err != nil {
			return nil, err
		}
	} else {
		f, err := lockedFile(path, syscall.LOCK_SH)
		if err != nil {
			return nil, err
		}
		_, err = checkFile(f, path, false)
		f.Close() // bbolt takes its own, exclusive, lock
		if err != nil {
			return nil, err
		}
	}
	db, err := safeOpen(path, &bbolt.Options{Timeout: lockTimeout})
	if err != nil {
		return nil, err
	}
	if existing {
		if err := db.View(func(tx *bbolt.Tx) error { return checkTx(path, tx) }); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	if err := db.Update(func(tx *bbolt.Tx) error { return initSchema(tx, scope) }); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	if err := writeMarker(path); err != nil {
		_ = db.Close()
		return nil, err
	}
	return &Store{db: db, scope: scope, cache: newReadCache()}, nil
}

// Scope returns the scope whose functions s holds.
func (s *Store) Scope() sluice.Scope { return s.scope }

// In returns the Store of scope's functions, on the same file as s. It is
// closed with s (Close of either closes the file).
func (s *Store) In(scope sluice.Scope) sluice.Namespace {
	if scope == s.scope {
		return s
	}
	return &Store{db: s.db, scope: scope, cache: s.cache}
}

// Scopes returns every scope that holds or has held a function, in order
// of their String form.
func (s *Store) Scopes(ctx context.Context) ([]sluice.Scope, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var scopes []sluice.Scope
	err := wrap(s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketScopes)
		if b == nil {
			return errors.New("the scopes bucket is missing")
		}
		return b.ForEach(func(k, _ []byte) error {
			scope, ok := sluice.ParseScope(string(k))
			if !ok {
				return fmt.Errorf("invalid scope %q", k)
			}
			scopes = append(scopes, scope)
			return nil
		})
	}))
	return scopes, err
}

// FunctionURLScope returns the scope of the function URL whose id is id.
// Errors: ENotFound.
func (s *Store) FunctionURLScope(ctx context.Context, id string) (sluice.Scope, error) {
	if err := ctx.Err(); err != nil {
		return sluice.Scope{}, err
	}
	var scope sluice.Scope
	err := wrap(s.db.View(func(tx *bbolt.Tx) error {
		ix, err := urlIndex(tx.Bucket(bucketURLIDs), id)
		if err != nil {
			return err
		}
		scope = ix.scope()
		return nil
	}))
	return scope, err
}

// openError describes an error of bbolt.Open.
func openError(path string, err error) error {
	if errors.Is(err, berrors.ErrTimeout) {
		return fmt.Errorf("bolt: open %s: could not lock the file within %s (data dir is in use by another sluice process?): %w", path, lockTimeout, err)
	}
	if errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrChecksum) || errors.Is(err, berrors.ErrVersionMismatch) {
		return &CheckError{Path: path, Problems: []string{err.Error()}}
	}
	return fmt.Errorf("bolt: open %s: %w", path, err)
}

// writeMarker writes the marker of the store at path if it is missing.
func writeMarker(path string) error {
	marker := MarkerPath(path)
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	if err := writeFileSync(marker, []byte(markerText)); err != nil {
		return fmt.Errorf("bolt: write the store's marker: %w", err)
	}
	return nil
}

// initSchema creates the buckets of a new file, or checks that an existing
// file has a schema version this package can read and migrates it to
// SchemaVersion, its functions into scope.
func initSchema(tx *bbolt.Tx, scope sluice.Scope) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		// A new file has no buckets at all; one with other buckets but no
		// meta bucket was not written by sluice.
		empty := true
		_ = tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
			empty = false
			return nil
		})
		if !empty {
			return errors.New("not a sluice database: it has no meta bucket")
		}
		meta, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		if err := meta.Put(keySchema, []byte(strconv.Itoa(SchemaVersion))); err != nil {
			return err
		}
		for _, name := range [][]byte{bucketScopes, bucketURLIDs} {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return nil
	}
	raw := meta.Get(keySchema)
	v, err := strconv.Atoi(string(raw))
	if err != nil || v < 1 {
		return fmt.Errorf("not a sluice database: invalid schema version %q", raw)
	}
	if v > SchemaVersion {
		return fmt.Errorf("the database has schema version %d, newer than the version %d this sluice supports: it was written by a newer sluice; upgrade sluice to open it", v, SchemaVersion)
	}
	if v < 4 && tx.Bucket(bucketFunctions) == nil {
		return errors.New("corrupt sluice database: the functions bucket is missing")
	}
	if v == 1 {
		// Version 1 → 2: add the (empty) buckets of versions, aliases,
		// version counters and concurrency settings.
		for _, name := range bucketsV2 {
			if _, err := tx.CreateBucket(name); err != nil {
				return fmt.Errorf("migrate schema version 1 to 2: create bucket %s: %w", name, err)
			}
		}
	}
	if v <= 2 {
		// Version 2 → 3: add the (empty) buckets of function URLs.
		for _, name := range bucketsV3 {
			if _, err := tx.CreateBucket(name); err != nil {
				return fmt.Errorf("migrate schema version %d to 3: create bucket %s: %w", v, name, err)
			}
		}
	}
	if v <= 3 {
		// Version 3 → 4: the functions move into scope.
		if err := migrateToScopes(tx, scope); err != nil {
			return fmt.Errorf("migrate schema version %d to 4: %w", v, err)
		}
	}
	if v < SchemaVersion {
		if err := meta.Put(keySchema, []byte(strconv.Itoa(SchemaVersion))); err != nil {
			return fmt.Errorf("migrate schema version %d to %d: %w", v, SchemaVersion, err)
		}
	}
	return checkScopes(tx)
}

// migrateHook, when set (by tests), is called after each step of the
// migration to schema version 4, inside its transaction; an error it
// returns fails the migration.
var migrateHook func(step string) error

// migrateToScopes moves the buckets of a schema 3 file's functions into
// the bucket of scope, and adds scope to every url_ids entry. It runs in
// the transaction of Open: a failure or a crash anywhere in it leaves the
// file as it was.
func migrateToScopes(tx *bbolt.Tx, scope sluice.Scope) error {
	for _, name := range scopedBuckets {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("corrupt sluice database: the %s bucket is missing", name)
		}
	}
	if tx.Bucket(bucketURLIDs) == nil {
		return fmt.Errorf("corrupt sluice database: the %s bucket is missing", bucketURLIDs)
	}
	scopes, err := tx.CreateBucket(bucketScopes)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketScopes, err)
	}
	dst, err := scopes.CreateBucket([]byte(scope.String()))
	if err != nil {
		return fmt.Errorf("create the bucket of scope %s: %w", scope, err)
	}
	for _, name := range scopedBuckets {
		if err := tx.MoveBucket(name, nil, dst); err != nil {
			return fmt.Errorf("move bucket %s into scope %s: %w", name, scope, err)
		}
		if migrateHook != nil {
			if err := migrateHook("moved " + string(name)); err != nil {
				return err
			}
		}
	}
	ids := tx.Bucket(bucketURLIDs)
	type entry struct{ k, v []byte }
	var entries []entry // bbolt forbids writes to a bucket while ForEach walks it
	err = ids.ForEach(func(k, v []byte) error {
		var ix urlIndexRecord
		if err := json.Unmarshal(v, &ix); err != nil {
			return fmt.Errorf("decode url id %s: %w", k, err)
		}
		ix.Region, ix.Account = scope.Region, scope.Account
		b, err := json.Marshal(ix)
		if err != nil {
			return err
		}
		entries = append(entries, entry{slices.Clone(k), b})
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := ids.Put(e.k, e.v); err != nil {
			return err
		}
	}
	if migrateHook != nil {
		if err := migrateHook("indexed"); err != nil {
			return err
		}
	}
	return nil
}

// checkScopes checks the buckets of a schema 4 file: meta, scopes and
// url_ids, and each scope's buckets.
func checkScopes(tx *bbolt.Tx) error {
	for _, name := range [][]byte{bucketScopes, bucketURLIDs} {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("corrupt sluice database: the %s bucket is missing", name)
		}
	}
	return tx.Bucket(bucketScopes).ForEach(func(k, v []byte) error {
		if _, ok := sluice.ParseScope(string(k)); !ok || v != nil {
			return fmt.Errorf("corrupt sluice database: %q in the scopes bucket is not a scope's bucket", k)
		}
		sb := tx.Bucket(bucketScopes).Bucket(k)
		for _, name := range scopedBuckets {
			if sb.Bucket(name) == nil {
				return fmt.Errorf("corrupt sluice database: the %s bucket of scope %s is missing", name, k)
			}
		}
		return nil
	})
}

// Close closes the database file, for s and every Store In made from the
// same file. Closing a closed Store does nothing.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("bolt: close: %w", err)
	}
	return nil
}

// CreateFunction stores fn. Errors: EConflict if a function of that name
// exists.
func (s *Store) CreateFunction(ctx context.Context, fn *sluice.Function) error {
	if err := checkWrite(ctx, fn); err != nil {
		return err
	}
	value, err := encodeLatest(fn)
	if err != nil {
		return err
	}
	key := []byte(fn.Name)
	return s.update(func(b *buckets) error {
		if b.functions.Get(key) != nil {
			return sluice.Errorf(sluice.EConflict, "Function already exist: %s", fn.Name)
		}
		return b.functions.Put(key, value)
	})
}

// GetFunction returns the named function. Its Version is LatestVersion.
// Errors: ENotFound.
func (s *Store) GetFunction(ctx context.Context, name string) (*sluice.Function, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.cache.function(cacheKey{s.scope, name, sluice.LatestVersion}, func() (*sluice.Function, error) {
		var fn *sluice.Function
		err := s.view(func(b *buckets) error {
			var err error
			fn, err = b.latest(name)
			return err
		})
		return fn, err
	})
}

// ListFunctions returns up to limit functions whose names sort after
// `after` ("" = from the start), in byte-wise name order. A limit of zero
// or less means no limit.
func (s *Store) ListFunctions(ctx context.Context, after string, limit int) ([]*sluice.Function, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var fns []*sluice.Function
	err := s.view(func(b *buckets) error {
		return each(b.functions, []byte(after), limit, func(k, v []byte) error {
			fn, err := decode(string(k), sluice.LatestVersion, v)
			if err != nil {
				return err
			}
			fns = append(fns, fn)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return fns, nil
}

// UpdateFunction replaces the function named fn.Name if its stored
// RevisionID equals prevRevision, keeping its stored policy and settings
// (fn.Policy, fn.Settings and fn.EventInvokeConfig are ignored). It leaves the function's versions, aliases and concurrency
// setting alone. Errors: ENotFound; EPrecondition if the stored revision
// differs.
func (s *Store) UpdateFunction(ctx context.Context, fn *sluice.Function, prevRevision string) error {
	if err := checkWrite(ctx, fn); err != nil {
		return err
	}
	if _, err := encodeLatest(fn); err != nil { // refuse a bad value before the transaction
		return err
	}
	return s.update(func(b *buckets) error {
		stored, err := b.latest(fn.Name)
		if err != nil {
			return err
		}
		if stored.RevisionID != prevRevision {
			return sluice.Errorf(sluice.EPrecondition, "The Revision Id provided does not match the latest Revision Id. Call the GetFunction API to retrieve the latest Revision Id")
		}
		c := *fn // shallow: encode only reads it
		c.Policy, c.Settings, c.EventInvokeConfig = stored.Policy, stored.Settings, stored.EventInvokeConfig
		value, err := encodeLatest(&c)
		if err != nil {
			return err
		}
		return b.functions.Put([]byte(fn.Name), value)
	})
}

// DeleteFunction removes the named function with its versions, aliases,
// version counter, concurrency setting and function URLs. Errors:
// ENotFound.
func (s *Store) DeleteFunction(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if name == "" {
		return notFound(name)
	}
	key := []byte(name)
	return s.update(func(b *buckets) error {
		if b.functions.Get(key) == nil {
			return notFound(name)
		}
		if err := b.functions.Delete(key); err != nil {
			return err
		}
		for _, parent := range []*bbolt.Bucket{b.versions, b.aliases} {
			if err := parent.DeleteBucket(key); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
				return err
			}
		}
		if err := b.counter.Delete(key); err != nil {
			return err
		}
		if err := b.concurrency.Delete(key); err != nil {
			return err
		}
		return b.deleteURLs(name)
	})
}

// buckets are the buckets of one scope, and the global url_ids, in one
// transaction. In a read of a scope that has no bucket yet, the scope's
// buckets are nil: it has no functions.
type buckets struct {
	functions, versions, aliases, counter, concurrency, urls *bbolt.Bucket
	urlIDs                                                   *bbolt.Bucket
	scope                                                    sluice.Scope
}

// bucketsOf returns the buckets of scope in tx, creating the scope's when
// create is set and it has none.
func bucketsOf(tx *bbolt.Tx, scope sluice.Scope, create bool) (*buckets, error) {
	scopes, urlIDs := tx.Bucket(bucketScopes), tx.Bucket(bucketURLIDs)
	if scopes == nil || urlIDs == nil {
		return nil, errors.New("a bucket is missing")
	}
	b := &buckets{urlIDs: urlIDs, scope: scope}
	key := []byte(scope.String())
	sb := scopes.Bucket(key)
	if sb == nil {
		if !create {
			return b, nil
		}
		var err error
		if sb, err = scopes.CreateBucket(key); err != nil {
			return nil, err
		}
		for _, name := range scopedBuckets {
			if _, err := sb.CreateBucket(name); err != nil {
				return nil, err
			}
		}
	}
	b.functions = sb.Bucket(bucketFunctions)
	b.versions = sb.Bucket(bucketVersions)
	b.aliases = sb.Bucket(bucketAliases)
	b.counter = sb.Bucket(bucketVersionCounter)
	b.concurrency = sb.Bucket(bucketConcurrency)
	b.urls = sb.Bucket(bucketURLs)
	if b.functions == nil || b.versions == nil || b.aliases == nil || b.counter == nil || b.concurrency == nil || b.urls == nil {
		return nil, fmt.Errorf("a bucket of scope %s is missing", scope)
	}
	return b, nil
}

// latest returns the $LATEST of the named function. Errors: ENotFound.
func (b *buckets) latest(name string) (*sluice.Function, error) {
	if b.functions == nil || name == "" {
		return nil, notFound(name)
	}
	value := b.functions.Get([]byte(name))
	if value == nil {
		return nil, notFound(name)
	}
	return decode(name, sluice.LatestVersion, value)
}

// update runs fn in a read-write transaction on the buckets of s's scope,
// which it creates if needed. The transaction commits, and is fsynced,
// only if fn returns nil (so a failed write leaves no empty scope behind).
func (s *Store) update(fn func(*buckets) error) error {
	if !s.scope.Valid() {
		return sluice.Errorf(sluice.EInvalidParameter, "%q is not a valid scope: a region such as us-east-1 and a 12-digit account.", s.scope)
	}
	defer s.cache.written() // after the commit (or the rollback)
	return wrap(s.db.Update(func(tx *bbolt.Tx) error {
		b, err := bucketsOf(tx, s.scope, true)
		if err != nil {
			return err
		}
		return fn(b)
	}))
}

// view runs fn in a read-only transaction on the buckets of s's scope.
func (s *Store) view(fn func(*buckets) error) error {
	return wrap(s.db.View(func(tx *bbolt.Tx) error {
		b, err := bucketsOf(tx, s.scope, false)
		if err != nil {
			return err
		}
		return fn(b)
	}))
}

// each calls fn with the keys and values of b that sort after `after`, in
// order, up to limit of them (<= 0: all). It skips nested buckets. b may
// be nil: it is then empty.
func each(b *bbolt.Bucket, after []byte, limit int, fn func(k, v []byte) error) error {
	if b == nil {
		return nil
	}
	c := b.Cursor()
	k, v := c.Seek(after)
	if k != nil && bytes.Equal(k, after) {
		k, v = c.Next()
	}
	for n := 0; k != nil && (limit <= 0 || n < limit); k, v = c.Next() {
		if v == nil { // a nested bucket; there are none
			continue
		}
		if err := fn(k, v); err != nil {
			return err
		}
		n++
	}
	return nil
}

// wrap returns err as is when it is a *sluice.Error, and as an EInternal
// error otherwise: the cause is for logs, not for API clients.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	var se *sluice.Error
	if errors.As(err, &se) {
		return err
	}
	return &sluice.Error{Code: sluice.EInternal, Message: "The function store failed.", Err: fmt.Errorf("bolt: %w", err)}
}

func notFound(name string) error {
	return sluice.Errorf(sluice.ENotFound, "Function not found: %s", name)
}

// checkWrite checks a function to be written: it must have a name that
// fits in a bbolt key.
func checkWrite(ctx context.Context, fn *sluice.Function) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if fn == nil || fn.Name == "" {
		return sluice.Errorf(sluice.EInvalidParameter, "A function must have a name.")
	}
	if len(fn.Name) > bbolt.MaxKeySize {
		return sluice.Errorf(sluice.EInvalidParameter, "The function name is too long.")
	}
	return nil
}

// encodeLatest returns the stored form of fn as a $LATEST, with Version
// LatestVersion. Errors: EInvalidParameter when fn.Version names a
// published version.
func encodeLatest(fn *sluice.Function) ([]byte, error) {
	if fn.VersionOrLatest() != sluice.LatestVersion {
		return nil, sluice.Errorf(sluice.EInvalidParameter, "The $LATEST of function %s cannot have version %s.", fn.Name, fn.Version)
	}
	c := *fn // shallow: encode only reads it
	c.Version = sluice.LatestVersion
	return encode(&c)
}
