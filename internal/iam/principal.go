package iam

import (
	"log/slog"
	"regexp"
	"strings"
)

// Principal is an authenticated caller.
type Principal struct {
	// Account is the caller's account, 12 digits.
	Account string
	// ARN is arn:aws:iam::ACCT:user/<AccessKeyId> for an auth file's keys
	// (ACCT:root is not used), arn:aws:sts::ACCT:assumed-role/<Role>/<FunctionName>
	// for function credentials.
	ARN         string
	AccessKeyID string
	// Admin is set for a key without Policy: the administrator of Account
	// (Allow * on *). Policy is then ignored.
	Admin bool
	// Policy is the identity policy (nil when Admin).
	Policy *Policy
	// Role is the role name of function credentials ("" for keys).
	Role string
}

// String returns the principal's ARN. A Principal holds no secret; this
// and LogValue keep what is printed and logged to who the caller is.
func (p *Principal) String() string {
	if p == nil {
		return "anonymous"
	}
	return p.ARN
}

// LogValue logs the principal as its account, ARN, access key id and role.
func (p *Principal) LogValue() slog.Value {
	if p == nil {
		return slog.StringValue("anonymous")
	}
	attrs := []slog.Attr{slog.String("arn", p.ARN), slog.String("account", p.Account), slog.String("access_key_id", p.AccessKeyID)}
	if p.Role != "" {
		attrs = append(attrs, slog.String("role", p.Role))
	}
	if p.Admin {
		attrs = append(attrs, slog.Bool("admin", true))
	}
	return slog.GroupValue(attrs...)
}

// principalARN is the ARN a resource policy's aws:PrincipalArn sees: the
// role's ARN for a role session (as AWS does), the caller's ARN otherwise.
func (p *Principal) principalARN() string {
	if p.Role != "" {
		return "arn:aws:iam::" + p.Account + ":role/" + p.Role
	}
	return p.ARN
}

// principalSet is a Principal or NotPrincipal element.
type principalSet struct {
	star    bool // the string "*"
	aws     strList
	service strList
	order   []string // "AWS" and "Service" in the order written
	awsIDs  []awsPrincipal
}

type awsKind int

const (
	awsAny     awsKind = iota // "*"
	awsAccount                // "123456789012" or arn:aws:iam::123456789012:root: every principal of the account
	awsUser                   // arn:aws:iam::ACCT:user/NAME: that user
	awsRole                   // arn:aws:iam::ACCT:role/[PATH/]NAME: every session of that role
	awsSession                // arn:aws:sts::ACCT:assumed-role/ROLE/SESSION: that session
)

type awsPrincipal struct {
	kind    awsKind
	account string
	name    string // user ARN or session ARN (compared whole), role name
}

var (
	accountRE    = regexp.MustCompile(`^[0-9]{12}$`)
	principalRE  = regexp.MustCompile(`^arn:(aws[a-z-]*):(iam|sts)::([0-9]{12}):(.+)$`)
	iamNameRE    = regexp.MustCompile(`^[A-Za-z0-9_+=,.@-]+$`)
	iamPathRE    = regexp.MustCompile(`^([A-Za-z0-9_+=,.@-]+/)*$`)
	serviceRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$`)
	unsupportedP = map[string]string{
		"Federated":     "federated principals are not supported by sluice",
		"CanonicalUser": "canonical user principals are an Amazon S3 feature, not supported by sluice",
	}
)

func principalFrom(v *jvalue, path string) (*principalSet, error) {
	if v.kind == kString {
		if v.str != "*" {
			return nil, errAt(path, "%q: must be \"*\" or an object such as {\"AWS\": \"123456789012\"} or {\"Service\": \"s3.amazonaws.com\"}", v.str)
		}
		return &principalSet{star: true}, nil
	}
	if v.kind != kObject {
		return nil, errAt(path, "must be \"*\" or an object with \"AWS\" or \"Service\", not %s", v.kind)
	}
	for _, m := range v.obj {
		if why, ok := unsupportedP[m.name]; ok {
			return nil, errAt(join(path, m.name), "%s", why)
		}
	}
	f, err := fields(v, path, "AWS", "Service")
	if err != nil {
		return nil, err
	}
	if len(f) == 0 {
		return nil, errAt(path, "must name at least one principal (\"AWS\" or \"Service\")")
	}
	ps := &principalSet{}
	for _, m := range v.obj {
		ps.order = append(ps.order, m.name)
	}
	if a, ok := f["AWS"]; ok {
		at := join(path, "AWS")
		if ps.aws, err = stringOrList(a, at); err != nil {
			return nil, err
		}
		for i, s := range ps.aws.vals {
			vp := at
			if !ps.aws.single {
				vp = index(at, i)
			}
			id, err := parseAWSPrincipal(s, vp)
			if err != nil {
				return nil, err
			}
			ps.awsIDs = append(ps.awsIDs, id)
		}
	}
	if s, ok := f["Service"]; ok {
		at := join(path, "Service")
		if ps.service, err = stringOrList(s, at); err != nil {
			return nil, err
		}
		for i, name := range ps.service.vals {
			if !serviceRE.MatchString(name) {
				vp := at
				if !ps.service.single {
					vp = index(at, i)
				}
				return nil, errAt(vp, "%q: a service principal is a service's lower-case DNS name, such as \"s3.amazonaws.com\" (no wildcards)", name)
			}
		}
	}
	return ps, nil
}

func parseAWSPrincipal(s, path string) (awsPrincipal, error) {
	if s == "*" {
		return awsPrincipal{kind: awsAny}, nil
	}
	if accountRE.MatchString(s) {
		return awsPrincipal{kind: awsAccount, account: s}, nil
	}
	if strings.ContainsAny(s, "*?") {
		return awsPrincipal{}, errAt(path, "%q: a principal cannot have wildcards (only \"*\" alone, meaning everyone)", s)
	}
	m := principalRE.FindStringSubmatch(s)
	if m == nil {
		return awsPrincipal{}, errAt(path, "%q: an AWS principal must be \"*\", an account id (12 digits), or the ARN of an account (arn:aws:iam::ACCOUNT:root), a user, a role or an assumed-role session", s)
	}
	service, account, res := m[2], m[3], m[4]
	bad := func() (awsPrincipal, error) {
		return awsPrincipal{}, errAt(path, "%q: not a supported principal ARN (arn:aws:iam::ACCOUNT:root, arn:aws:iam::ACCOUNT:user/NAME, arn:aws:iam::ACCOUNT:role/NAME, arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION)", s)
	}
	if service == "iam" {
		if res == "root" {
			return awsPrincipal{kind: awsAccount, account: account}, nil
		}
		typ, rest, _ := strings.Cut(res, "/")
		name := rest
		if i := strings.LastIndexByte(rest, '/'); i >= 0 {
			if !iamPathRE.MatchString(rest[:i+1]) {
				return bad()
			}
			name = rest[i+1:]
		}
		if !iamNameRE.MatchString(name) {
			return bad()
		}
		switch typ {
		case "user":
			return awsPrincipal{kind: awsUser, account: account, name: s}, nil
		case "role":
			return awsPrincipal{kind: awsRole, account: account, name: name}, nil
		}
		return bad()
	}
	// sts
	typ, rest, _ := strings.Cut(res, "/")
	role, session, ok := strings.Cut(rest, "/")
	if typ != "assumed-role" || !ok || !iamNameRE.MatchString(role) || session == "" || strings.Contains(session, "/") {
		return bad()
	}
	return awsPrincipal{kind: awsSession, account: account, name: s}, nil
}

// matches reports whether the element names the caller: a service (when
// service is not ""), an authenticated principal, or, with both nil and
// "", an anonymous caller (whom only "*" names).
func (ps *principalSet) matches(caller *Principal, service string) bool {
	if ps.star {
		return true
	}
	for _, id := range ps.awsIDs {
		switch id.kind {
		case awsAny:
			return true
		case awsAccount:
			if caller != nil && caller.Account == id.account {
				return true
			}
		case awsUser, awsSession:
			if caller != nil && caller.ARN == id.name {
				return true
			}
		case awsRole:
			if caller != nil && caller.Role != "" && caller.Account == id.account && caller.Role == id.name {
				return true
			}
		}
	}
	if service != "" {
		for _, s := range ps.service.vals {
			if s == service {
				return true
			}
		}
	}
	return false
}

func (ps *principalSet) appendJSON(b []byte) []byte {
	if ps.star {
		return append(b, `"*"`...)
	}
	b = append(b, '{')
	for i, name := range ps.order {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, quote(name)...)
		b = append(b, ':')
		if name == "AWS" {
			b = ps.aws.appendJSON(b)
		} else {
			b = ps.service.appendJSON(b)
		}
	}
	return append(b, '}')
}
