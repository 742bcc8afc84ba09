package iam

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Directory is one loaded auth file (immutable; a reload makes a new one),
// or the development directory. It is safe for concurrent use.
//
// Printing or logging a Directory never shows a secret: it formats itself
// (every fmt verb) and logs itself as a summary, and keeps each secret
// inside a closure, which no fmt verb or reflection-based printer can
// show, for when a Directory is printed as an unexported field of another
// value (where fmt does not call its methods).
type Directory struct {
	dev      bool
	keys     map[string]*keyEntry          // by access key id
	roles    map[string]map[string]*Policy // account → role name → policy
	accounts []string                      // sorted
}

type keyEntry struct {
	secret    func() string
	principal Principal
}

// sealed hides s in a closure (see Directory).
func sealed(s string) func() string { return func() string { return s } }

// The auth file's limits.
const (
	// MaxAuthFileSize is the largest auth file LoadAuthFile reads.
	MaxAuthFileSize = 16 << 20
	maxSecretLen    = 256
)

var (
	accessKeyIDRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,128}$`)
	roleNameRE    = regexp.MustCompile(`^[A-Za-z0-9_+=,.@-]{1,64}$`)
)

// ParseAuthFile parses an auth file (the contract of issue 10):
//
//	{"Accounts": {
//	   "111111111111": {
//	     "AccessKeys": [{"AccessKeyId": "...", "SecretAccessKey": "...", "Policy": {...}}],
//	     "Roles": {"fn-role": {"Policy": {...}}}
//	   }
//	}}
//
// A key without Policy is its account's administrator. Validation is
// strict: names spelled exactly, no unknown or repeated element, account
// ids of 12 digits, access key ids of 1 to 128 letters, digits and '_'
// (none beginning with "ASIA", which sluice's temporary credentials use)
// and unique across the file, non-empty secrets, policies parsed as
// identity-based policies (ParseIdentityPolicy), role names as IAM's, at
// least one key in the file. Errors name the offending place, as in
// `auth file: Accounts["111111111111"].AccessKeys[0].Policy.Statement[1].Effect: ...`,
// and never contain a secret.
func ParseAuthFile(b []byte) (*Directory, error) {
	d, err := parseAuthFile(b)
	if err != nil {
		return nil, fmt.Errorf("auth file: %w", err)
	}
	return d, nil
}

// LoadAuthFile reads and parses the auth file at path (see ParseAuthFile).
func LoadAuthFile(path string) (*Directory, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("auth file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxAuthFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("auth file %s: %w", path, err)
	}
	if len(b) > MaxAuthFileSize {
		return nil, fmt.Errorf("auth file %s: larger than %d bytes", path, MaxAuthFileSize)
	}
	d, err := parseAuthFile(b)
	if err != nil {
		return nil, fmt.Errorf("auth file %s: %w", path, err)
	}
	return d, nil
}

func parseAuthFile(b []byte) (*Directory, error) {
	root, err := parseJSON(b)
	if err != nil {
		return nil, err
	}
	top, err := fields(root, "", "Accounts")
	if err != nil {
		return nil, err
	}
	accts, ok := top["Accounts"]
	if !ok {
		return nil, errors.New(`missing required element "Accounts"`)
	}
	if accts.kind != kObject {
		return nil, errAt("Accounts", "must be an object of account ids, not %s", accts.kind)
	}
	d := &Directory{
		keys:  map[string]*keyEntry{},
		roles: map[string]map[string]*Policy{},
	}
	keyAt := map[string]string{} // access key id → where it was defined
	for _, am := range accts.obj {
		acct := am.name
		ap := "Accounts[" + strconv.Quote(acct) + "]"
		if !accountRE.MatchString(acct) {
			return nil, errAt(ap, "an account id must be 12 digits")
		}
		if _, dup := d.roles[acct]; dup {
			return nil, errAt(ap, "appears more than once")
		}
		f, err := fields(am.val, ap, "AccessKeys", "Roles")
		if err != nil {
			return nil, err
		}
		d.roles[acct] = map[string]*Policy{}
		d.accounts = append(d.accounts, acct)
		if ks, ok := f["AccessKeys"]; ok {
			kp := join(ap, "AccessKeys")
			if ks.kind != kArray {
				return nil, errAt(kp, "must be an array of access keys, not %s", ks.kind)
			}
			for i, kv := range ks.arr {
				at := index(kp, i)
				e, err := keyFrom(acct, kv, at)
				if err != nil {
					return nil, err
				}
				id := e.principal.AccessKeyID
				if prev, dup := keyAt[id]; dup {
					return nil, errAt(join(at, "AccessKeyId"), "%q is also defined at %s; access key ids must be unique across the file", id, prev)
				}
				keyAt[id] = at
				d.keys[id] = e
			}
		}
		if rs, ok := f["Roles"]; ok {
			rp := join(ap, "Roles")
			if rs.kind != kObject {
				return nil, errAt(rp, "must be an object of role names, not %s", rs.kind)
			}
			for _, rm := range rs.obj {
				at := rp + "[" + strconv.Quote(rm.name) + "]"
				if !roleNameRE.MatchString(rm.name) {
					return nil, errAt(at, "a role name must be 1 to 64 characters of letters, digits and _+=,.@-")
				}
				if _, dup := d.roles[acct][rm.name]; dup {
					return nil, errAt(at, "appears more than once")
				}
				rf, err := fields(rm.val, at, "Policy")
				if err != nil {
					return nil, err
				}
				pv, ok := rf["Policy"]
				if !ok {
					return nil, errAt(at, "missing required element \"Policy\" (the role's identity policy)")
				}
				pol, err := identityPolicyFrom(pv, join(at, "Policy"))
				if err != nil {
					return nil, err
				}
				d.roles[acct][rm.name] = pol
			}
		}
	}
	if len(d.keys) == 0 {
		return nil, errors.New("defines no access keys: nobody could use sluice")
	}
	slices.Sort(d.accounts)
	return d, nil
}

func keyFrom(acct string, v *jvalue, path string) (*keyEntry, error) {
	f, err := fields(v, path, "AccessKeyId", "SecretAccessKey", "Policy")
	if err != nil {
		return nil, err
	}
	idv, ok := f["AccessKeyId"]
	if !ok {
		return nil, errAt(path, "missing required element \"AccessKeyId\"")
	}
	if idv.kind != kString {
		return nil, errAt(join(path, "AccessKeyId"), "must be a string, not %s", idv.kind)
	}
	id := idv.str
	if !accessKeyIDRE.MatchString(id) {
		return nil, errAt(join(path, "AccessKeyId"), "%q: an access key id must be 1 to 128 letters, digits or '_'", id)
	}
	if strings.HasPrefix(id, tempKeyPrefix) {
		return nil, errAt(join(path, "AccessKeyId"), "%q: access key ids beginning with %q are reserved for sluice's temporary credentials", id, tempKeyPrefix)
	}
	// Nothing of a secret's value goes into an error.
	sv, ok := f["SecretAccessKey"]
	if !ok {
		return nil, errAt(path, "missing required element \"SecretAccessKey\"")
	}
	if sv.kind != kString {
		return nil, errAt(join(path, "SecretAccessKey"), "must be a string, not %s", sv.kind)
	}
	if !validSecret(sv.str) {
		return nil, errAt(join(path, "SecretAccessKey"), "must be 1 to %d printable ASCII characters, without spaces", maxSecretLen)
	}
	e := &keyEntry{
		secret: sealed(sv.str),
		principal: Principal{
			Account:     acct,
			ARN:         "arn:aws:iam::" + acct + ":user/" + id,
			AccessKeyID: id,
			Admin:       true,
		},
	}
	if pv, ok := f["Policy"]; ok {
		pol, err := identityPolicyFrom(pv, join(path, "Policy"))
		if err != nil {
			return nil, err
		}
		e.principal.Admin, e.principal.Policy = false, pol
	}
	return e, nil
}

func validSecret(s string) bool {
	if s == "" || len(s) > maxSecretLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func identityPolicyFrom(v *jvalue, path string) (*Policy, error) {
	if v.kind != kObject {
		return nil, errAt(path, "must be a policy document (an object), not %s; leave Policy out for an administrator key", v.kind)
	}
	p, err := policyFrom(v, path)
	if err != nil {
		return nil, err
	}
	if err := p.checkIdentity(path); err != nil {
		return nil, err
	}
	return p, nil
}

// Development returns the development directory: one key, accessKeyID with
// secret, the administrator of account. Every role of every account is
// then an administrator of its account (Role answers nil, true).
func Development(account, accessKeyID, secret string) *Directory {
	return &Directory{
		dev: true,
		keys: map[string]*keyEntry{accessKeyID: {
			secret: sealed(secret),
			principal: Principal{
				Account:     account,
				ARN:         "arn:aws:iam::" + account + ":user/" + accessKeyID,
				AccessKeyID: accessKeyID,
				Admin:       true,
			},
		}},
		accounts: []string{account},
	}
}

// IsDevelopment reports whether d is the development directory.
func (d *Directory) IsDevelopment() bool { return d.dev }

// Key returns the secret of accessKeyID and who it is (a new Principal on
// each call), or ok false for a key d does not have.
func (d *Directory) Key(accessKeyID string) (secret string, p *Principal, ok bool) {
	e, ok := d.keys[accessKeyID]
	if !ok {
		return "", nil, false
	}
	pr := e.principal
	return e.secret(), &pr, true
}

// Role returns the identity policy of role name in account, ok false when
// the file does not define it. In the development directory every role
// exists and is its account's administrator: policy nil, ok true.
func (d *Directory) Role(account, name string) (policy *Policy, ok bool) {
	if d.dev {
		return nil, true
	}
	policy, ok = d.roles[account][name]
	return policy, ok
}

// Accounts returns the accounts d defines, sorted.
func (d *Directory) Accounts() []string {
	return slices.Clone(d.accounts)
}

// String describes d without its secrets.
func (d Directory) String() string {
	nroles := 0
	for _, r := range d.roles {
		nroles += len(r)
	}
	kind := "auth file"
	if d.dev {
		kind = "development"
	}
	return fmt.Sprintf("iam.Directory{%s, accounts: %s, keys: %d, roles: %d}", kind, strings.Join(d.accounts, ","), len(d.keys), nroles)
}

// Format prints d as String does, whatever the verb (%v, %+v, %#v, %s, %q,
// %x, %d, ...), so that no verb prints its fields.
func (d Directory) Format(f fmt.State, verb rune) {
	_, _ = io.WriteString(f, d.String())
}

// LogValue logs d as a summary without secrets.
func (d Directory) LogValue() slog.Value {
	nroles := 0
	for _, r := range d.roles {
		nroles += len(r)
	}
	return slog.GroupValue(
		slog.Bool("development", d.dev),
		slog.Any("accounts", slices.Clone(d.accounts)),
		slog.Int("keys", len(d.keys)),
		slog.Int("roles", nroles),
	)
}
