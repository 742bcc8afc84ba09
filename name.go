package sluice

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Patterns of the Lambda model, shown verbatim in ValidationException
// messages. They are applied as full-string matches.
const (
	// NamespacedFunctionNamePattern is the pattern of FunctionName on
	// Invoke, InvokeWithResponseStream, GetFunction and the like.
	NamespacedFunctionNamePattern = `(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?`
	// FunctionNamePattern is the stricter pattern of CreateFunction.
	FunctionNamePattern = `(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`
	// QualifierPattern is the pattern of the Qualifier parameter.
	QualifierPattern = `\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+`

	// MaxNamespacedNameLength is the length limit of FunctionName on the
	// invoke and read operations (the current model's; the API reference
	// page still says 170, see docs/decisions.md).
	MaxNamespacedNameLength = 256
	// MaxFunctionNameLength is the length limit of FunctionName on
	// CreateFunction and the write operations.
	MaxFunctionNameLength = 140
	// MaxQualifierLength is the length limit of Qualifier.
	MaxQualifierLength = 128
)

var (
	namespacedNameRE = regexp.MustCompile(`^` + NamespacedFunctionNamePattern + `$`)
	functionNameRE   = regexp.MustCompile(`^` + FunctionNamePattern + `$`)
	qualifierRE      = regexp.MustCompile(`^(?:` + QualifierPattern + `)$`)
	roleRE           = regexp.MustCompile(`^` + RolePattern + `$`)
)

// RolePattern is the pattern of a function's execution role ARN.
const RolePattern = `arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`

// FunctionRef is a parsed FunctionName parameter: a name, a partial ARN or a
// full ARN, possibly qualified.
type FunctionRef struct {
	Name      string
	Region    string // "" unless given in an ARN
	Account   string // "" unless given
	Qualifier string // "" unless given as a ":qualifier" suffix
}

// IsPlainName reports whether the reference was a bare name (with or without
// qualifier), to which the 64-character limit applies.
func (r FunctionRef) IsPlainName() bool { return r.Region == "" && r.Account == "" }

// ParseFunctionName parses a FunctionName of the invoke and read operations
// (pattern NamespacedFunctionNamePattern, 1-256 characters). Violations are
// added to v under field "functionName"; the returned ok is false then.
func ParseFunctionName(s string, v *Violations) (FunctionRef, bool) {
	return parseName(s, namespacedNameRE, NamespacedFunctionNamePattern, MaxNamespacedNameLength, v)
}

// ParseStrictFunctionName parses a FunctionName of CreateFunction and the
// other write operations (pattern FunctionNamePattern, 1-140 characters).
func ParseStrictFunctionName(s string, v *Violations) (FunctionRef, bool) {
	return parseName(s, functionNameRE, FunctionNamePattern, MaxFunctionNameLength, v)
}

func parseName(s string, re *regexp.Regexp, pattern string, maxLen int, v *Violations) (FunctionRef, bool) {
	ok := true
	if utf8.RuneCountInString(s) > maxLen { // AWS counts characters, not bytes
		v.Add(s, "functionName", fmt.Sprintf("Member must have length less than or equal to %d", maxLen))
		ok = false
	}
	if len(s) < 1 {
		v.Add(s, "functionName", "Member must have length greater than or equal to 1")
		return FunctionRef{}, false
	}
	m := re.FindStringSubmatch(s)
	if m == nil {
		v.Add(s, "functionName", "Member must satisfy regular expression pattern: "+pattern)
		return FunctionRef{}, false
	}
	// Groups: 3 region+":", 9 account+":", 11 name, 13 qualifier.
	ref := FunctionRef{
		Region:    strings.TrimSuffix(m[3], ":"),
		Account:   strings.TrimSuffix(m[9], ":"),
		Name:      m[11],
		Qualifier: m[13],
	}
	return ref, ok
}

// ValidateQualifier adds a violation to v (field "qualifier") when q is not a
// valid Qualifier parameter. The empty string means "not given" and is valid.
func ValidateQualifier(q string, v *Violations) bool {
	if q == "" {
		return true
	}
	ok := true
	if utf8.RuneCountInString(q) > MaxQualifierLength {
		v.Add(q, "qualifier", fmt.Sprintf("Member must have length less than or equal to %d", MaxQualifierLength))
		ok = false
	}
	if !qualifierRE.MatchString(q) {
		v.Add(q, "qualifier", "Member must satisfy regular expression pattern: "+QualifierPattern)
		ok = false
	}
	return ok
}

// ValidRole reports whether role is an IAM role ARN.
func ValidRole(role string) bool { return roleRE.MatchString(role) }

// Scope is a namespace of functions, as on AWS: a region of an account.
// Every function lives in one scope, which its ARNs name; two scopes never
// see each other's functions, and a name can be taken in each.
type Scope struct {
	Region  string
	Account string
}

// RegionPattern is the pattern of a region, as in the Lambda model's
// function ARN patterns.
const RegionPattern = `(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}`

var (
	regionRE  = regexp.MustCompile(`^` + RegionPattern + `$`)
	accountRE = regexp.MustCompile(`^\d{12}$`)
)

// ValidRegion reports whether region has the form of an AWS region (e.g.
// us-east-1), the only form that fits in the function ARNs Lambda accepts.
func ValidRegion(region string) bool { return regionRE.MatchString(region) }

// ValidAccount reports whether account is an account id: 12 digits.
func ValidAccount(account string) bool { return accountRE.MatchString(account) }

// Valid reports whether s has a valid region and account.
func (s Scope) Valid() bool { return ValidRegion(s.Region) && ValidAccount(s.Account) }

// String returns "region/account".
func (s Scope) String() string { return s.Region + "/" + s.Account }

// ParseScope parses the String form of a scope. ok is false when s is not
// the String of a valid Scope.
func ParseScope(s string) (scope Scope, ok bool) {
	region, account, found := strings.Cut(s, "/")
	scope = Scope{Region: region, Account: account}
	return scope, found && scope.Valid()
}

// FunctionARN returns the unqualified ARN of the named function.
func (s Scope) FunctionARN(name string) string {
	return "arn:aws:lambda:" + s.Region + ":" + s.Account + ":function:" + name
}

// Resolve checks that ref belongs to this scope and merges its qualifier
// with the separate Qualifier parameter (either may be empty). It returns
// the effective qualifier ("" when neither gave one).
// Errors: ENotFound for another region, EAccessDenied for another account,
// EInvalidParameter when the two qualifiers differ.
func (s Scope) Resolve(ref FunctionRef, qualifier string) (string, error) {
	if ref.Region != "" && ref.Region != s.Region {
		return "", Errorf(ENotFound, "Functions from '%s' are not reachable in this region ('%s')", ref.Region, s.Region)
	}
	if ref.Account != "" && ref.Account != s.Account {
		return "", Errorf(EAccessDenied, "User is not authorized to access function %s in account %s: sluice serves account %s", ref.Name, ref.Account, s.Account)
	}
	if ref.Qualifier != "" && qualifier != "" && ref.Qualifier != qualifier {
		return "", Errorf(EInvalidParameter, "The derived qualifier from the function name does not match the specified qualifier.")
	}
	if qualifier == "" {
		qualifier = ref.Qualifier
	}
	return qualifier, nil
}

// Patterns of alias names and version numbers, as the Lambda model shows
// them in ValidationException messages.
const (
	// AliasPattern is the pattern of an alias name: not all digits, which
	// Go's regexp (no lookahead) checks apart.
	AliasPattern = `(?!^[0-9]+$)([a-zA-Z0-9-_]+)`
	// VersionPattern is the pattern of FunctionVersion members.
	VersionPattern = `(\$LATEST|[0-9]+)`
	// MaxAliasLength is the length limit of an alias name.
	MaxAliasLength = 128
	// MaxVersionLength is the length limit of a FunctionVersion member.
	MaxVersionLength = 1024
)

var (
	aliasCharsRE = regexp.MustCompile(`^[a-zA-Z0-9-_]+$`)
	versionRE    = regexp.MustCompile(`^` + VersionPattern + `$`)
	numberRE     = regexp.MustCompile(`^[0-9]+$`)
)

// IsVersionNumber reports whether q is a published version's number (all
// digits), as opposed to $LATEST or an alias name.
func IsVersionNumber(q string) bool { return numberRE.MatchString(q) }

// ValidateAlias adds the violations of an alias name to v under field.
func ValidateAlias(name, field string, v *Violations) bool {
	ok := true
	if n := utf8.RuneCountInString(name); n > MaxAliasLength {
		v.Add(name, field, fmt.Sprintf("Member must have length less than or equal to %d", MaxAliasLength))
		ok = false
	} else if n < 1 {
		v.Add(name, field, "Member must have length greater than or equal to 1")
		return false
	}
	if !aliasCharsRE.MatchString(name) || IsVersionNumber(name) {
		v.Add(name, field, "Member must satisfy regular expression pattern: "+AliasPattern)
		ok = false
	}
	return ok
}

// ValidateVersion adds the violations of a FunctionVersion member to v
// under field.
func ValidateVersion(version, field string, v *Violations) bool {
	ok := true
	if n := utf8.RuneCountInString(version); n > MaxVersionLength {
		v.Add(version, field, fmt.Sprintf("Member must have length less than or equal to %d", MaxVersionLength))
		ok = false
	} else if n < 1 {
		v.Add(version, field, "Member must have length greater than or equal to 1")
		return false
	}
	if !versionRE.MatchString(version) {
		v.Add(version, field, "Member must satisfy regular expression pattern: "+VersionPattern)
		ok = false
	}
	return ok
}

// AliasARN returns the ARN of the named alias of a function.
func (s Scope) AliasARN(function, alias string) string {
	return s.FunctionARN(function) + ":" + alias
}
