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
// code storage quota of its account (storage.go); the deployment unpacks
// it. The caller holds codeMu and releases the package if the write that
// was to reference it fails.
func (s *Service) putCode(ctx context.Context, name string, zip []byte) (sha string, size int64, err error) {
	if err := s.loadUsage(ctx); err != nil {
		return "", 0, err
	}
	acct, limit := s.account(name), s.codeStorageLimit()
	p, err := s.cfg.Code.PutAdmitted(zip, func(p artifacts.Package) error {
		return s.usage.admit(acct, p, limit)
	})
	if err != nil {
		return "", 0, err
	}
	s.usage.charge(acct, p.SHA256, p.StoredSize())
	return p.SHA256, p.Size, nil
}

// OpenCode opens the stored package with the hex SHA-256 sha (the
// CodeSHA256 of a function). Errors: those of CodeStore.Open (a missing
// package is fs.ErrNotExist).
func (s *Service) OpenCode(sha string) (*os.File, error) {
	return s.cfg.Code.Open(sha)
}

// releaseCode removes the package sha, which the function name used,
// unless a stored function refers to it, and stops charging name's
// account for it. The caller holds codeMu. Failures only leak a package, so they are
// logged, not returned; the check runs even if the request was cancelled.
func (s *Service) releaseCode(ctx context.Context, name, sha string) {
	ctx = context.WithoutCancel(ctx)
	log := s.logger(ctx)
	used, err := s.codeInUse(ctx, sha)
	if err != nil {
		log.Warn("code garbage collection: list functions", "sha256", sha, "err", err)
		return
	}
	if used {
		return
	}
	if s.usage.loaded {
		s.usage.release(s.account(name), sha)
	}
	if err := s.cfg.Code.Remove(sha); err != nil {
		log.Warn("code garbage collection: remove package", "sha256", sha, "err", err)
		return
	}
	log.Debug("removed unused package", "sha256", sha)
}

// codeInUse reports whether any stored function, version, or
// configuration serving during an update refers to the package sha.
func (s *Service) codeInUse(ctx context.Context, sha string) (bool, error) {
	const page = 1000
	after := ""
	for {
		fns, err := s.cfg.Store.ListFunctions(ctx, after, page)
		if err != nil {
			return true, err
		}
		for _, fn := range fns {
			if fn.CodeSHA256 == sha || (fn.Previous != nil && fn.Previous.CodeSHA256 == sha) {
				return true, nil
			}
			versions, err := s.cfg.Store.ListVersions(ctx, fn.Name, 0, 0)
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
