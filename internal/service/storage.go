package service

import (
	"context"
	"fmt"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/artifacts"
)

// Code storage: each account may keep at most Config.CodeStorageLimit
// bytes of deployment packages, Lambda's "function and layer storage"
// quota (CodeStorageExceededException), so that packages cannot fill the
// disk.
//
// What counts is what the packages take on this disk: a package's
// artifacts.Package.StoredSize, its zip and its unpacked tree as the
// central directory declares them (the unpacking never writes more). A
// package is charged once per account however many functions, versions
// and updates in progress of that account use it, since the store keeps
// it once. Lambda counts the zipped size of every version instead; see
// docs/decisions.md.
//
// A package is judged before anything is written (CreateFunction,
// UpdateFunctionCode, DryRun included): one that would take the account
// over its limit is refused, nothing stored or unpacked. Publishing a
// version stores nothing, so it is never refused. A package is no longer
// charged once no function of the account uses it (releaseCode), when its
// last user is deleted or replaced.
//
// The charges are not stored: they are derived from the functions in the
// store and the packages on disk, at the first operation that needs them
// after a start (load). Every change happens under codeMu.

// DefaultCodeStorageLimit is Lambda's default code storage quota, 75 GB.
const DefaultCodeStorageLimit int64 = 75 << 30

// codeStorageMessage is Lambda's message for CodeStorageExceededException.
const codeStorageMessage = "Code storage limit exceeded."

// codeUsage is what each account is charged for its packages.
type codeUsage struct {
	loaded bool
	// charges maps an account id to the packages its functions use, each
	// to its StoredSize.
	charges map[string]map[string]int64
	totals  map[string]int64
}

// codeStorageLimit is the limit of each account.
func (s *Service) codeStorageLimit() int64 {
	if s.cfg.CodeStorageLimit > 0 {
		return s.cfg.CodeStorageLimit
	}
	return DefaultCodeStorageLimit
}

// account is the account that owns the function name. There is one
// today, the scope's; issue 10 will take it from the function's ARN.
func (s *Service) account(string) string { return s.cfg.Scope.Account }

// loadUsage computes the charges from the store, once. The caller holds
// codeMu.
func (s *Service) loadUsage(ctx context.Context) error {
	if s.usage.loaded {
		return nil
	}
	u := codeUsage{charges: map[string]map[string]int64{}, totals: map[string]int64{}}
	const page = 1000
	after := ""
	for {
		fns, err := s.cfg.Store.ListFunctions(ctx, after, page)
		if err != nil {
			return err
		}
		for _, fn := range fns {
			acct := s.account(fn.Name)
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
				if _, ok := u.charges[acct][sha]; ok || sha == "" {
					continue
				}
				u.charge(acct, sha, s.storedSize(ctx, sha, fn.CodeSize))
			}
		}
		if len(fns) < page {
			break
		}
		after = fns[len(fns)-1].Name
	}
	u.loaded = true
	s.usage = u
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

func (u *codeUsage) charge(acct, sha string, n int64) {
	if u.charges[acct] == nil {
		u.charges[acct] = map[string]int64{}
	}
	if _, ok := u.charges[acct][sha]; ok {
		return
	}
	u.charges[acct][sha] = n
	u.totals[acct] += n
}

func (u *codeUsage) release(acct, sha string) {
	n, ok := u.charges[acct][sha]
	if !ok {
		return
	}
	delete(u.charges[acct], sha)
	u.totals[acct] -= n
}

// admit refuses package p for acct when charging it would take the
// account over limit; a package the account already uses costs nothing.
func (u *codeUsage) admit(acct string, p artifacts.Package, limit int64) error {
	if _, ok := u.charges[acct][p.SHA256]; ok {
		return nil
	}
	if n := p.StoredSize(); n > limit-u.totals[acct] {
		return &sluice.Error{Code: sluice.ECodeStorageExceeded, Message: codeStorageMessage,
			Err: fmt.Errorf("account %s: package %s takes %d bytes, %d of %d are in use", acct, p.SHA256, n, u.totals[acct], limit)}
	}
	return nil
}

// CodeStorage returns the code storage of the account: what its packages
// take (see above) and its limit.
func (s *Service) CodeStorage(ctx context.Context, account string) (used, limit int64, err error) {
	s.codeMu.Lock()
	defer s.codeMu.Unlock()
	if err := s.loadUsage(ctx); err != nil {
		return 0, 0, err
	}
	return s.usage.totals[account], s.codeStorageLimit(), nil
}
