package bolt

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice"
	bbolt "go.etcd.io/bbolt"
)

// PublishVersion stores v as the function's next version if the function's
// $LATEST has RevisionID latestRevision, and returns a copy of what it
// stored: v with Version set to the new number, no Previous, no Policy
// and no EventInvokeConfig. It does not change v, nor the function's $LATEST. Errors:
// ENotFound; EPrecondition if $LATEST changed.
func (s *Store) PublishVersion(ctx context.Context, v *sluice.Function, latestRevision string) (*sluice.Function, error) {
	if err := checkWrite(ctx, v); err != nil {
		return nil, err
	}
	stored := v.Clone()
	stored.Previous, stored.Policy, stored.EventInvokeConfig = nil, nil, nil
	// Tags and the recursion setting belong to the function ($LATEST);
	// the version keeps the runtime management settings it was
	// published with.
	stored.Settings.Tags, stored.Settings.RecursiveLoop = nil, ""
	name := []byte(v.Name)
	err := s.update(func(b *buckets) error {
		latest, err := b.latest(v.Name)
		if err != nil {
			return err
		}
		if latest.RevisionID != latestRevision {
			return sluice.Errorf(sluice.EPrecondition, "The Revision Id provided does not match the latest Revision Id. Call the GetFunction API to retrieve the latest Revision Id")
		}
		last, err := b.lastVersion(name)
		if err != nil {
			return err
		}
		if last == math.MaxUint64 {
			return fmt.Errorf("function %s: no version number left", v.Name)
		}
		n := last + 1
		stored.Version = strconv.FormatUint(n, 10)
		value, err := encode(stored)
		if err != nil {
			return err
		}
		versions, err := b.versions.CreateBucketIfNotExists(name)
		if err != nil {
			return err
		}
		if err := versions.Put(versionKey(n), value); err != nil {
			return err
		}
		return b.counter.Put(name, versionKey(n))
	})
	if err != nil {
		return nil, err
	}
	return stored, nil // a deep copy of v that nothing else holds
}

// GetVersion returns a published version of the named function. Errors:
// ENotFound, for the function or the version (which must be the decimal
// number of a published version: $LATEST is not one).
func (s *Store) GetVersion(ctx context.Context, name, version string) (*sluice.Function, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.cache.function(cacheKey{s.scope, name, version}, func() (*sluice.Function, error) {
		var fn *sluice.Function
		err := s.view(func(b *buckets) error {
			if err := b.exists(name); err != nil {
				return err
			}
			var err error
			fn, err = b.version(name, version)
			return err
		})
		return fn, err
	})
}

// ListVersions returns up to limit (<= 0: all) published versions of the
// named function with numbers above `after`, in ascending order. Errors:
// ENotFound for the function.
func (s *Store) ListVersions(ctx context.Context, name string, after, limit int) ([]*sluice.Function, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	after = max(after, 0)
	var fns []*sluice.Function
	err := s.view(func(b *buckets) error {
		if err := b.exists(name); err != nil {
			return err
		}
		return each(b.versions.Bucket([]byte(name)), versionKey(uint64(after)), limit, func(k, v []byte) error {
			n, err := versionNumber(name, k)
			if err != nil {
				return err
			}
			fn, err := decode(name, strconv.FormatUint(n, 10), v)
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

// DeleteVersion removes a published version. Errors: ENotFound for the
// function or the version; EConflict when an alias routes to it.
func (s *Store) DeleteVersion(ctx context.Context, name, version string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(func(b *buckets) error {
		if err := b.exists(name); err != nil {
			return err
		}
		n, ok := parseVersion(version)
		versions := b.versions.Bucket([]byte(name))
		if !ok || versions == nil || versions.Get(versionKey(n)) == nil {
			return versionNotFound(name, version)
		}
		var users []string
		err := each(b.aliases.Bucket([]byte(name)), nil, 0, func(k, v []byte) error {
			a, err := decodeAlias(name, string(k), v)
			if err != nil {
				return err
			}
			if _, weighted := a.AdditionalVersionWeights[version]; a.FunctionVersion == version || weighted {
				users = append(users, a.Name)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return sluice.Errorf(sluice.EConflict, "Unable to delete version because the following aliases reference it: [%s]", strings.Join(users, ", "))
		}
		return versions.Delete(versionKey(n))
	})
}

// CreateAlias stores a new alias. Errors: ENotFound for the function or a
// version it routes to; EConflict if the alias exists.
func (s *Store) CreateAlias(ctx context.Context, a *sluice.Alias) error {
	if err := checkAlias(ctx, a); err != nil {
		return err
	}
	value, err := encodeAlias(a)
	if err != nil {
		return err
	}
	fnKey, key := []byte(a.FunctionName), []byte(a.Name)
	return s.update(func(b *buckets) error {
		if err := b.exists(a.FunctionName); err != nil {
			return err
		}
		if aliases := b.aliases.Bucket(fnKey); aliases != nil && aliases.Get(key) != nil {
			return sluice.Errorf(sluice.EConflict, "Alias already exists: %s:%s", a.FunctionName, a.Name)
		}
		if err := b.checkRoutes(a); err != nil {
			return err
		}
		aliases, err := b.aliases.CreateBucketIfNotExists(fnKey)
		if err != nil {
			return err
		}
		return aliases.Put(key, value)
	})
}

// GetAlias returns an alias. Errors: ENotFound, for the function or the
// alias.
func (s *Store) GetAlias(ctx context.Context, function, name string) (*sluice.Alias, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var a *sluice.Alias
	err := s.view(func(b *buckets) error {
		var err error
		a, err = b.alias(function, name)
		return err
	})
	return a, err
}

// ListAliases returns up to limit (<= 0: all) aliases of the function
// whose names sort after `after`, in byte order. Errors: ENotFound for the
// function.
func (s *Store) ListAliases(ctx context.Context, function, after string, limit int) ([]*sluice.Alias, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var as []*sluice.Alias
	err := s.view(func(b *buckets) error {
		if err := b.exists(function); err != nil {
			return err
		}
		return each(b.aliases.Bucket([]byte(function)), []byte(after), limit, func(k, v []byte) error {
			a, err := decodeAlias(function, string(k), v)
			if err != nil {
				return err
			}
			as = append(as, a)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return as, nil
}

// UpdateAlias replaces the alias a.Name of a.FunctionName if its stored
// RevisionID equals prevRevision, keeping its stored policy and event
// invoke configuration (a.Policy and a.EventInvokeConfig are ignored). Errors: ENotFound (function, alias or a version it routes
// to); EPrecondition.
func (s *Store) UpdateAlias(ctx context.Context, a *sluice.Alias, prevRevision string) error {
	if err := checkAlias(ctx, a); err != nil {
		return err
	}
	return s.update(func(b *buckets) error {
		stored, err := b.alias(a.FunctionName, a.Name)
		if err != nil {
			return err
		}
		if stored.RevisionID != prevRevision {
			return sluice.Errorf(sluice.EPrecondition, "The Revision Id provided does not match the latest Revision Id. Call the GetAlias API to retrieve the latest Revision Id")
		}
		if err := b.checkRoutes(a); err != nil {
			return err
		}
		c := *a // shallow: encodeAlias only reads it
		c.Policy, c.EventInvokeConfig = stored.Policy, stored.EventInvokeConfig
		value, err := encodeAlias(&c)
		if err != nil {
			return err
		}
		return b.aliases.Bucket([]byte(a.FunctionName)).Put([]byte(a.Name), value)
	})
}

// DeleteAlias removes an alias and its function URL. Errors: ENotFound,
// for the function or the alias.
func (s *Store) DeleteAlias(ctx context.Context, function, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(func(b *buckets) error {
		if err := b.exists(function); err != nil {
			return err
		}
		aliases := b.aliases.Bucket([]byte(function))
		if name == "" || aliases == nil || aliases.Get([]byte(name)) == nil {
			return aliasNotFound(function, name)
		}
		if err := aliases.Delete([]byte(name)); err != nil {
			return err
		}
		return b.deleteURL(function, name)
	})
}

// SetReservedConcurrency sets the function's reserved concurrency (n >= 0)
// or removes it (n < 0). It does not touch the function's record. Errors:
// ENotFound.
func (s *Store) SetReservedConcurrency(ctx context.Context, name string, n int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(func(b *buckets) error {
		if err := b.exists(name); err != nil {
			return err
		}
		if n < 0 {
			return b.concurrency.Delete([]byte(name))
		}
		return b.concurrency.Put([]byte(name), []byte(strconv.Itoa(n)))
	})
}

// ReservedConcurrency returns every function's reserved concurrency, by
// function name; functions without one are absent.
func (s *Store) ReservedConcurrency(ctx context.Context) (map[string]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m := make(map[string]int)
	err := s.view(func(b *buckets) error {
		return each(b.concurrency, nil, 0, func(k, v []byte) error {
			n, err := strconv.Atoi(string(v))
			if err != nil || n < 0 {
				return fmt.Errorf("function %s: invalid reserved concurrency %q", k, v)
			}
			m[string(k)] = n
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// exists returns nil if the named function exists, ENotFound otherwise.
func (b *buckets) exists(name string) error {
	if name == "" || b.functions == nil || b.functions.Get([]byte(name)) == nil {
		return notFound(name)
	}
	return nil
}

// lastVersion returns the number of the function's last published version,
// 0 if none was.
func (b *buckets) lastVersion(name []byte) (uint64, error) {
	v := b.counter.Get(name)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("function %s: invalid version counter %x", name, v)
	}
	return binary.BigEndian.Uint64(v), nil
}

// version returns a published version of the named function, which must
// exist. Errors: ENotFound.
func (b *buckets) version(name, version string) (*sluice.Function, error) {
	n, ok := parseVersion(version)
	if !ok {
		return nil, versionNotFound(name, version)
	}
	if b.versions == nil {
		return nil, versionNotFound(name, version)
	}
	versions := b.versions.Bucket([]byte(name))
	if versions == nil {
		return nil, versionNotFound(name, version)
	}
	value := versions.Get(versionKey(n))
	if value == nil {
		return nil, versionNotFound(name, version)
	}
	return decode(name, version, value)
}

// alias returns an alias. Errors: ENotFound for the function or the alias.
func (b *buckets) alias(function, name string) (*sluice.Alias, error) {
	if err := b.exists(function); err != nil {
		return nil, err
	}
	aliases := b.aliases.Bucket([]byte(function))
	if name == "" || aliases == nil {
		return nil, aliasNotFound(function, name)
	}
	value := aliases.Get([]byte(name))
	if value == nil {
		return nil, aliasNotFound(function, name)
	}
	return decodeAlias(function, name, value)
}

// checkRoutes checks that the versions a routes to exist: FunctionVersion
// is $LATEST or published, and the keys of AdditionalVersionWeights are
// published. Errors: ENotFound.
func (b *buckets) checkRoutes(a *sluice.Alias) error {
	if err := b.exists(a.FunctionName); err != nil {
		return err
	}
	if a.FunctionVersion != sluice.LatestVersion {
		if _, err := b.version(a.FunctionName, a.FunctionVersion); err != nil {
			return err
		}
	}
	for _, v := range slices.Sorted(maps.Keys(a.AdditionalVersionWeights)) {
		if _, err := b.version(a.FunctionName, v); err != nil {
			return err
		}
	}
	return nil
}

// checkAlias checks an alias to be written: it needs a function name and a
// name that fit in bbolt keys.
func checkAlias(ctx context.Context, a *sluice.Alias) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if a == nil || a.FunctionName == "" || a.Name == "" {
		return sluice.Errorf(sluice.EInvalidParameter, "An alias must have a name and a function name.")
	}
	if len(a.FunctionName) > bbolt.MaxKeySize || len(a.Name) > bbolt.MaxKeySize {
		return sluice.Errorf(sluice.EInvalidParameter, "The alias or function name is too long.")
	}
	return nil
}

// versionKey returns the key of version n: big-endian, so that keys sort
// in numeric order.
func versionKey(n uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, n)
}

// versionNumber returns the number stored as key k of function name's
// versions.
func versionNumber(name string, k []byte) (uint64, error) {
	if len(k) != 8 {
		return 0, fmt.Errorf("function %s: invalid version key %x", name, k)
	}
	return binary.BigEndian.Uint64(k), nil
}

// parseVersion returns the number of a published version: a decimal
// number from 1 up without sign or leading zeros.
func parseVersion(s string) (uint64, bool) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 || strconv.FormatUint(n, 10) != s {
		return 0, false
	}
	return n, true
}

func versionNotFound(name, version string) error {
	return sluice.Errorf(sluice.ENotFound, "Function not found: %s:%s", name, version)
}

func aliasNotFound(function, name string) error {
	return sluice.Errorf(sluice.ENotFound, "Alias not found: %s:%s", function, name)
}
