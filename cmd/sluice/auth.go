package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/iam"
	"github.com/sluice-dev/sluice/internal/service"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

// authn holds who may call the server: the identities of the auth file (or
// the development ones), re-read on SIGHUP, and the minter of the
// temporary credentials of execution roles. Its methods are the hooks of
// sigv4 (Secret), api (Principal), invoke (Credentials) and service
// (AssumeRole); each reads the current directory, so that a reload applies
// to the next request, including the role policies of credentials minted
// before it.
type authn struct {
	path   string // the auth file; "" in the development default
	dir    atomic.Pointer[iam.Directory]
	minter *iam.Minter
	cfg    Config
	log    *slog.Logger
}

// newAuthn loads the auth file of cfg, or the development identities, and
// makes a minter with a key of its own: credentials minted by an earlier
// run are refused (their environments ended with it).
func newAuthn(cfg Config, log *slog.Logger) (*authn, error) {
	key := make([]byte, iam.MinMinterKey)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	a := &authn{path: cfg.AuthFile, minter: iam.NewMinter(key, nil), cfg: cfg, log: log}
	if a.path == "" {
		a.dir.Store(iam.Development(cfg.AccountID, cfg.AccessKeyID, cfg.SecretAccessKey))
		return a, nil
	}
	if err := a.Reload(); err != nil {
		return nil, err
	}
	return a, nil
}

// Reload re-reads the auth file; on an error the identities in use stay.
func (a *authn) Reload() error {
	if a.path == "" {
		return nil
	}
	d, err := iam.LoadAuthFile(a.path)
	if err != nil {
		return fmt.Errorf("--auth-file: %w", err)
	}
	a.dir.Store(d)
	a.log.Info("identities loaded", "auth_file", a.path, "accounts", len(d.Accounts()))
	return nil
}

// Development reports whether the server runs with the development
// identities.
func (a *authn) Development() bool { return a.dir.Load().IsDevelopment() }

// minted reports whether accessKeyID is one of the minter's (the auth file
// cannot hold such ids).
func minted(accessKeyID string) bool { return strings.HasPrefix(accessKeyID, "ASIA") }

var errUnknownClient = &sluice.Error{Code: sluice.EUnrecognizedClient, Message: "The security token included in the request is invalid."}

// Secret is sigv4.Verifier's Secret: a key of the directory without a
// session token, or minted credentials with theirs.
func (a *authn) Secret(accessKeyID, sessionToken string) (string, error) {
	if minted(accessKeyID) {
		secret, _, err := a.minter.Open(accessKeyID, sessionToken)
		return secret, err
	}
	secret, _, ok := a.dir.Load().Key(accessKeyID)
	if !ok || sessionToken != "" {
		return "", errUnknownClient
	}
	return secret, nil
}

// Principal is who signed sig (already verified). Minted credentials get
// their role's policy as the directory has it now: a role removed from
// the file leaves them no permission at all.
func (a *authn) Principal(sig *sigv4.Signature) (*iam.Principal, error) {
	if minted(sig.AccessKeyID) {
		_, p, err := a.minter.Open(sig.AccessKeyID, sig.SessionToken)
		if err != nil {
			return nil, err
		}
		pol, ok := a.dir.Load().Role(p.Account, p.Role)
		switch {
		case ok && pol == nil:
			p.Admin = true
		case ok:
			p.Policy = pol
		}
		return p, nil
	}
	_, p, ok := a.dir.Load().Key(sig.AccessKeyID)
	if !ok {
		return nil, errUnknownClient
	}
	return p, nil
}

// roleName is the name of an execution role ARN
// (arn:aws:iam::ACCOUNT:role/path/NAME) and its account.
func roleName(roleARN string) (account, name string, ok bool) {
	parts := strings.SplitN(roleARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || !strings.HasPrefix(parts[5], "role/") {
		return "", "", false
	}
	rest := parts[5][len("role/"):]
	return parts[4], rest[strings.LastIndex(rest, "/")+1:], rest != ""
}

// AssumeRole is the service's hook: with an auth file, the role must be
// one of the file's roles of the function's own account.
func (a *authn) AssumeRole(scope sluice.Scope, roleARN string) error {
	d := a.dir.Load()
	if d.IsDevelopment() {
		return nil
	}
	account, name, ok := roleName(roleARN)
	if !ok || account != scope.Account {
		return service.CannotAssumeRole()
	}
	if _, ok := d.Role(account, name); !ok {
		return service.CannotAssumeRole()
	}
	return nil
}

// Credentials is the invoker's hook: temporary credentials of fn's
// execution role, in fn's account, for --function-credentials-ttl. A role
// that is not (or no longer) in the auth file still gets credentials: they
// carry no permission (Principal), and the environment still runs.
func (a *authn) Credentials(_ context.Context, scope sluice.Scope, fn *sluice.Function) (sluice.Credentials, error) {
	_, name, ok := roleName(fn.Role)
	if !ok {
		name = "unknown"
	}
	return a.minter.Mint(scope.Account, name, fn.Name, a.cfg.FunctionCredentialsTTL), nil
}

// reloadOnHUP re-reads the auth file on every SIGHUP until ctx ends; a
// file that does not load is logged and the identities in use stay.
func (a *authn) reloadOnHUP(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := a.Reload(); err != nil {
				a.log.Error("SIGHUP: the auth file was not reloaded; the identities loaded before stay", "err", err)
			}
		}
	}
}
