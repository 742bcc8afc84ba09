// Package bolt implements sluice.FunctionStore on bbolt, an embedded,
// single-file, copy-on-write B+tree key-value store written in pure Go.
//
// Each function is one key (its name) in the "functions" bucket; its value
// is a versioned JSON record owned by this package, so the root Function
// type can change without changing the file format. Every write is a
// whole-value put inside one read-write transaction, guarded by a
// compare-and-swap on RevisionID, and bbolt fsyncs each committed
// transaction: a write that returned nil survives a crash. The same
// operations could be applied, in order, by a replicated log.
//
// The "meta" bucket holds the schema version of the file. Open refuses a
// file written by a newer sluice rather than misreading it.
package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sluice-dev/sluice"
	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the version of the file layout this package reads and
// writes. Raise it, and migrate in Open, when the layout or the meaning of
// a record changes incompatibly.
const SchemaVersion = 1

// lockTimeout is how long Open waits for the file lock another process
// holds before giving up.
const lockTimeout = time.Second

var (
	bucketMeta      = []byte("meta")
	bucketFunctions = []byte("functions")
	keySchema       = []byte("schema_version")
)

// Store is a sluice.FunctionStore kept in one bbolt file. It is safe for
// concurrent use.
type Store struct {
	db *bbolt.DB
}

var _ sluice.FunctionStore = (*Store)(nil)

// Open opens the store in the database file at path, creating the file and
// its parent directory if needed. Only one process can have a file open at
// a time: Open fails after a second when another holds it.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("bolt: create data dir: %w", err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: lockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("bolt: open %s: could not lock the file within %s (data dir is in use by another sluice process?): %w", path, lockTimeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	if err := db.Update(initSchema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// initSchema creates the buckets of a new file, or checks that an existing
// file has a schema version this package can read.
func initSchema(tx *bbolt.Tx) error {
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
		_, err = tx.CreateBucket(bucketFunctions)
		return err
	}
	raw := meta.Get(keySchema)
	v, err := strconv.Atoi(string(raw))
	if err != nil || v < 1 {
		return fmt.Errorf("not a sluice database: invalid schema version %q", raw)
	}
	if v > SchemaVersion {
		return fmt.Errorf("the database has schema version %d, newer than the version %d this sluice supports: it was written by a newer sluice; upgrade sluice to open it", v, SchemaVersion)
	}
	// Versions older than SchemaVersion would be migrated here.
	if tx.Bucket(bucketFunctions) == nil {
		return errors.New("corrupt sluice database: the functions bucket is missing")
	}
	return nil
}

// Close closes the database file. Closing a closed Store does nothing.
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
	value, err := encode(fn)
	if err != nil {
		return err
	}
	key := []byte(fn.Name)
	return s.update(func(b *bbolt.Bucket) error {
		if b.Get(key) != nil {
			return sluice.Errorf(sluice.EConflict, "Function already exist: %s", fn.Name)
		}
		return b.Put(key, value)
	})
}

// GetFunction returns the named function. Errors: ENotFound.
func (s *Store) GetFunction(ctx context.Context, name string) (*sluice.Function, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var fn *sluice.Function
	err := s.view(func(b *bbolt.Bucket) error {
		value := b.Get([]byte(name))
		if value == nil || name == "" {
			return notFound(name)
		}
		var err error
		fn, err = decode(name, value)
		return err
	})
	return fn, err
}

// ListFunctions returns up to limit functions whose names sort after
// `after` ("" = from the start), in byte-wise name order. A limit of zero
// or less means no limit.
func (s *Store) ListFunctions(ctx context.Context, after string, limit int) ([]*sluice.Function, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var fns []*sluice.Function
	err := s.view(func(b *bbolt.Bucket) error {
		c := b.Cursor()
		k, v := c.Seek([]byte(after))
		if k != nil && bytes.Equal(k, []byte(after)) {
			k, v = c.Next()
		}
		for ; k != nil && (limit <= 0 || len(fns) < limit); k, v = c.Next() {
			if v == nil { // a nested bucket; there are none
				continue
			}
			fn, err := decode(string(k), v)
			if err != nil {
				return err
			}
			fns = append(fns, fn)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return fns, nil
}

// UpdateFunction replaces the function named fn.Name if its stored
// RevisionID equals prevRevision. Errors: ENotFound; EPrecondition if the
// stored revision differs.
func (s *Store) UpdateFunction(ctx context.Context, fn *sluice.Function, prevRevision string) error {
	if err := checkWrite(ctx, fn); err != nil {
		return err
	}
	value, err := encode(fn)
	if err != nil {
		return err
	}
	key := []byte(fn.Name)
	return s.update(func(b *bbolt.Bucket) error {
		old := b.Get(key)
		if old == nil {
			return notFound(fn.Name)
		}
		stored, err := decode(fn.Name, old)
		if err != nil {
			return err
		}
		if stored.RevisionID != prevRevision {
			return sluice.Errorf(sluice.EPrecondition, "The Revision Id provided does not match the latest Revision Id. Call the GetFunction API to retrieve the latest Revision Id")
		}
		return b.Put(key, value)
	})
}

// DeleteFunction removes the named function. Errors: ENotFound.
func (s *Store) DeleteFunction(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if name == "" {
		return notFound(name)
	}
	key := []byte(name)
	return s.update(func(b *bbolt.Bucket) error {
		if b.Get(key) == nil {
			return notFound(name)
		}
		return b.Delete(key)
	})
}

// update runs fn in a read-write transaction on the functions bucket. The
// transaction commits, and is fsynced, only if fn returns nil.
func (s *Store) update(fn func(*bbolt.Bucket) error) error {
	return wrap(s.db.Update(func(tx *bbolt.Tx) error { return fn(tx.Bucket(bucketFunctions)) }))
}

// view runs fn in a read-only transaction on the functions bucket.
func (s *Store) view(fn func(*bbolt.Bucket) error) error {
	return wrap(s.db.View(func(tx *bbolt.Tx) error { return fn(tx.Bucket(bucketFunctions)) }))
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
