package service

import (
	"context"
	"os"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/artifacts"
)

// Deployment packages: storing them and collecting the ones no function
// uses any more.

// putCode stores a package for the function name after the structural
// checks (a package that is not a usable zip fails the operation) and the
// code storage quota of its scope (storage.go); the deployment unpacks
// it. The caller holds codeMu and releases the package if the write that
// was to reference it fails.
func (s *Service) putCode(ctx context.Context, name string, zip []byte) (sha string, size int64, err error) {
	if err := s.loadUsage(ctx); err != nil {
		return "", 0, err
	}
	scope, limit := s.cfg.Scope, s.codeStorageLimit()
	p, err := s.cfg.Code.PutAdmitted(zip, func(p artifacts.Package) error {
		return s.usage.admit(scope, p, limit)
	})
	if err != nil {
		return "", 0, err
	}
	s.usage.charge(scope, p.SHA256, p.StoredSize())
	return p.SHA256, p.Size, nil
}

// OpenCode opens the stored package with the hex SHA-256 sha (the
// CodeSHA256 of a function). Errors: those of CodeStore.Open (a missing
// package is fs.ErrNotExist).
func (s *Service) OpenCode(sha string) (*os.File, error) {
	return s.cfg.Code.Open(sha)
}

// releaseCode stops charging the scope for the package sha, which the
// function name used, unless a function of the scope refers to it, and
// removes it unless a function of any scope does. The caller holds codeMu.
// Failures only leak a package (or a charge), so they are logged, not
// returned; the check runs even if the request was cancelled.
func (s *Service) releaseCode(ctx context.Context, name, sha string) {
	ctx = context.WithoutCancel(ctx)
	log := s.logger(ctx)
	here, err := codeInUse(ctx, s.cfg.Store, sha)
	if err != nil {
		log.Warn("code garbage collection: list functions", "sha256", sha, "err", err)
		return
	}
	if here {
		return
	}
	if s.usage.loaded[s.cfg.Scope] {
		s.usage.release(s.cfg.Scope, sha)
	}
	stores, err := s.stores(ctx)
	if err != nil {
		log.Warn("code garbage collection: list scopes", "sha256", sha, "err", err)
		return
	}
	for _, st := range stores {
		used, err := codeInUse(ctx, st, sha)
		if err != nil {
			log.Warn("code garbage collection: list functions", "sha256", sha, "err", err)
			return
		}
		if used {
			return // another scope's
		}
	}
	if err := s.cfg.Code.Remove(sha); err != nil {
		log.Warn("code garbage collection: remove package", "sha256", sha, "err", err)
		return
	}
	log.Debug("removed unused package", "sha256", sha)
}

// codeInUse reports whether any function, version, or configuration
// serving during an update that store holds refers to the package sha.
func codeInUse(ctx context.Context, store sluice.FunctionStore, sha string) (bool, error) {
	const page = 1000
	after := ""
	for {
		fns, err := store.ListFunctions(ctx, after, page)
		if err != nil {
			return true, err
		}
		for _, fn := range fns {
			if fn.CodeSHA256 == sha || (fn.Previous != nil && fn.Previous.CodeSHA256 == sha) {
				return true, nil
			}
			versions, err := store.ListVersions(ctx, fn.Name, 0, 0)
			if err != nil && sluice.ErrorCodeOf(err) != sluice.ENotFound {
				return true, err
			}
			for _, v := range versions {
				if v.CodeSHA256 == sha {
					return true, nil
				}
			}
		}
		if len(fns) < page {
			return false, nil
		}
		after = fns[len(fns)-1].Name
	}
}
