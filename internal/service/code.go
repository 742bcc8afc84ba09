package service

import (
	"context"
	"io/fs"
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
//
// With hotDir (a hot reload, sluice.HotReloadBucket) nothing is stored:
// the directory is checked against Config.HotReload and the code is
// sluice.HotReloadCode(hotDir), of size 0, as LocalStack answers it.
func (s *Service) putCode(ctx context.Context, name string, zip []byte, hotDir string) (sha string, size int64, err error) {
	if hotDir != "" {
		if _, err := s.cfg.HotReload.Resolve(hotDir); err != nil {
			return "", 0, err
		}
		return sluice.HotReloadCode(hotDir), 0, nil
	}
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
	if _, ok := sluice.HotReloadDir(sha); ok {
		return nil, fs.ErrNotExist // not a stored package
	}
	return s.cfg.Code.Open(sha)
}

// codeDir is the directory of the code sha: the unpacked package, or
// the hot-reloaded directory, checked against Config.HotReload.
func (s *Service) codeDir(sha string) (string, error) {
	if dir, ok := sluice.HotReloadDir(sha); ok {
		return s.cfg.HotReload.Resolve(dir)
	}
	return s.cfg.Code.Dir(sha)
}

// releaseCode stops charging the scope for the package sha, which the
// function name used, unless a function of the scope refers to it, and
// removes it unless a function of any scope does. The caller holds codeMu.
// Failures only leak a package (or a charge), so they are logged, not
// returned; the check runs even if the request was cancelled.
func (s *Service) releaseCode(ctx context.Context, name, sha string) {
	if _, ok := sluice.HotReloadDir(sha); ok {
		return // nothing stored, nothing charged
	}
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
