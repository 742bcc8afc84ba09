package service

import (
	"context"
	"fmt"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/artifacts"
)

// Code storage: each account may keep at most Config.CodeStorageLimit
// bytes of deployment packages in each region (each scope), Lambda's
// "function and layer storage" quota (CodeStorageExceededException), so
// that packages cannot fill the disk.
//
// What counts is what the packages take on this disk: a package's
// artifacts.Package.StoredSize, its zip and its unpacked tree as the
// central directory declares them (the unpacking never writes more). A
// package is charged once per scope however many functions, versions
// and updates in progress of that scope use it, since the store keeps
// it once. Lambda counts the zipped size of every version instead; see
// docs/decisions.md. A package that two scopes use is charged to both (it
// is stored once), and removed when no scope uses it any more.
//
// A package is judged before anything is written (CreateFunction,
// UpdateFunctionCode, DryRun included): one that would take the account
// over its limit is refused, nothing stored or unpacked. Publishing a
// version stores nothing, so it is never refused. A package is no longer
// charged once no function of the scope uses it (releaseCode), when its
// last user is deleted or replaced.
//
// The charges are not stored: they are derived from the functions in the
// store and the packages on disk, at the first operation of a scope that
// needs them after a start (load). Every change happens under codeMu.

// DefaultCodeStorageLimit is Lambda's default code storage quota, 75 GB.
const DefaultCodeStorageLimit int64 = 75 << 30

// codeStorageMessage is Lambda's message for CodeStorageExceededException.
const codeStorageMessage = "Code storage limit exceeded."

// codeUsage is what each scope is charged for its packages.
type codeUsage struct {
	// loaded has the scopes whose charges are known.
	loaded map[sluice.Scope]bool
	// charges maps a scope to the packages its functions use, each to its
	// StoredSize.
	charges map[sluice.Scope]map[string]int64
	totals  map[sluice.Scope]int64
}

// codeStorageLimit is the limit of each account.
func (s *Service) codeStorageLimit() int64 {
	if s.cfg.CodeStorageLimit > 0 {
		return s.cfg.CodeStorageLimit
	}
	return DefaultCodeStorageLimit
}

// loadUsage computes the charges of the service's scope from its store,
// once. The caller holds codeMu.
func (s *Service) loadUsage(ctx context.Context) error {
	scope := s.cfg.Scope
	if s.usage.loaded[scope] {
		return nil
	}
	charges := map[string]int64{}
	var total int64
	const page = 1000
	after := ""
	for {
		fns, err := s.cfg.Store.ListFunctions(ctx, after, page)
		if err != nil {
			return err
		}
		for _, fn := range fns {
			shas := []string{fn.CodeSHA256}
			if fn.Previous != nil {
				shas = append(shas, fn.Previous.CodeSHA256)
			}
			versions, err := s.cfg.Store.ListVersions(ctx, fn.Name, 0, 0)
			if err != nil && sluice.ErrorCodeOf(err) != sluice.ENotFound {
				return err
			}
			for _, v := range versions {
				shas = append(shas, v.CodeSHA256)
			}
			for _, sha := range shas {
				if _, ok := charges[sha]; ok || sha == "" {
					continue
				}
				if _, hot := sluice.HotReloadDir(sha); hot {
					continue // nothing stored
				}
				n := s.storedSize(ctx, sha, fn.CodeSize)
				charges[sha] = n
				total += n
			}
		}
		if len(fns) < page {
			break
		}
		after = fns[len(fns)-1].Name
	}
	u := s.usage
	if u.loaded == nil {
		u.loaded, u.charges, u.totals = map[sluice.Scope]bool{}, map[sluice.Scope]map[string]int64{}, map[sluice.Scope]int64{}
	}
	u.loaded[scope], u.charges[scope], u.totals[scope] = true, charges, total
	return nil
}

// storedSize is the StoredSize of the stored package sha. A package that
// cannot be read is charged what is known of it, codeSize (its zip), and
// logged: the charge must not block the account's other packages.
func (s *Service) storedSize(ctx context.Context, sha string, codeSize int64) int64 {
	p, err := s.cfg.Code.Stat(sha)
	if err != nil {
		s.logger(ctx).Warn("code storage: read a package's size", "sha256", sha, "err", err)
		return codeSize
	}
	return p.StoredSize()
}

// charge charges scope, whose charges are loaded, for the package sha.
func (u *codeUsage) charge(scope sluice.Scope, sha string, n int64) {
	if _, ok := u.charges[scope][sha]; ok {
		return
	}
	u.charges[scope][sha] = n
	u.totals[scope] += n
}

func (u *codeUsage) release(scope sluice.Scope, sha string) {
	n, ok := u.charges[scope][sha]
	if !ok {
		return
	}
	delete(u.charges[scope], sha)
	u.totals[scope] -= n
}

// admit refuses package p for scope when charging it would take the
// scope over limit; a package the scope already uses costs nothing.
func (u *codeUsage) admit(scope sluice.Scope, p artifacts.Package, limit int64) error {
	if _, ok := u.charges[scope][p.SHA256]; ok {
		return nil
	}
	if n := p.StoredSize(); n > limit-u.totals[scope] {
		return &sluice.Error{Code: sluice.ECodeStorageExceeded, Message: codeStorageMessage,
			Err: fmt.Errorf("scope %s: package %s takes %d bytes, %d of %d are in use", scope, p.SHA256, n, u.totals[scope], limit)}
	}
	return nil
}

// CodeStorage returns the code storage of the service's scope (an account
// in a region): what its packages take (see above) and its limit.
func (s *Service) CodeStorage(ctx context.Context) (used, limit int64, err error) {
	s.codeMu.Lock()
	defer s.codeMu.Unlock()
	if err := s.loadUsage(ctx); err != nil {
		return 0, 0, err
	}
	return s.usage.totals[s.cfg.Scope], s.codeStorageLimit(), nil
}
