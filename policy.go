package sluice

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
)

// Resource-based policies of functions: what AddPermission, RemovePermission
// and GetPolicy keep. A function's $LATEST (the unqualified function), each
// of its published versions and each of its aliases may have one policy,
// kept inside that record (Function.Policy, Alias.Policy), so that it goes
// away with it. The policy is kept as the AddPermission inputs that made
// its statements; Document renders the IAM policy document exactly as
// Lambda's GetPolicy shows it, which is also what authorization evaluates.

// The fixed members of a function policy document, as Lambda writes them.
const (
	PolicyVersion = "2012-10-17"
	PolicyID      = "default"
	// MaxPolicySize is the largest policy document Lambda keeps, in bytes
	// of its compact JSON (PolicyLengthExceededException beyond).
	MaxPolicySize = 20480
)

// Patterns and limits of the AddPermission and RemovePermission members
// (the Lambda model), shown verbatim in ValidationException messages.
const (
	StatementIDPattern           = `([a-zA-Z0-9-_]+)`
	NamespacedStatementIDPattern = `([a-zA-Z0-9-_.]+)` // RemovePermission's path
	MaxStatementIDLength         = 100
	ActionPattern                = `(lambda:[*]|lambda:[a-zA-Z]+|[*])`
	PrincipalPattern             = `[^\s]+`
	SourceARNPattern             = `arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)`
	SourceAccountPattern         = `\d{12}`
	MaxSourceAccountLength       = 12
	EventSourceTokenPattern      = `[a-zA-Z0-9._\-]+`
	MaxEventSourceTokenLength    = 256
	PrincipalOrgIDPattern        = `o-[a-z0-9]{10,32}`
	MinPrincipalOrgIDLength      = 12
	MaxPrincipalOrgIDLength      = 34
)

// Actions a statement's FunctionUrlAuthType and InvokedViaFunctionUrl are
// tied to.
const (
	ActionInvokeFunction    = "lambda:InvokeFunction"
	ActionInvokeFunctionURL = "lambda:InvokeFunctionUrl"
)

// Principal types: the member of a statement's Principal.
const (
	PrincipalAnyone  = "*"       // Principal "*"
	PrincipalAWS     = "AWS"     // {"AWS": account root or IAM ARN}
	PrincipalService = "Service" // {"Service": "s3.amazonaws.com"}
)

var (
	accountIDRE = regexp.MustCompile(`^\d{12}$`)
	// An IAM or STS principal ARN: an account root, user, role or an
	// assumed-role session.
	principalARNRE = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:(iam::\d{12}:(root|user/\S+|role/\S+)|sts::\d{12}:assumed-role/\S+)$`)
	// A service principal: a DNS name under amazonaws.com (or amazon.com,
	// as Alexa's alexa-appkit.amazon.com).
	servicePrincipalRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.(amazonaws\.com|amazon\.com)$`)
)

// PermissionStatement is one statement of a function policy: the members
// of the AddPermission request that made it. Empty strings are members
// that were not given.
type PermissionStatement struct {
	// StatementID is the statement's Sid, unique in its policy.
	StatementID string
	// Action is "lambda:InvokeFunction", another "lambda:<Action>",
	// "lambda:*" or "*".
	Action string
	// Principal is who may act, as given: "*", an account id, an IAM ARN
	// or a service principal (see ParsePrincipal).
	Principal string
	// SourceARN becomes the condition ArnLike AWS:SourceArn.
	SourceARN string
	// SourceAccount becomes the condition StringEquals AWS:SourceAccount.
	SourceAccount string
	// EventSourceToken becomes StringEquals lambda:EventSourceToken.
	EventSourceToken string
	// PrincipalOrgID becomes StringEquals aws:PrincipalOrgID. sluice has
	// no organizations: the service refuses it, so stored statements
	// never have one.
	PrincipalOrgID string
	// FunctionURLAuthType (URLAuthNone or URLAuthIAM) becomes
	// StringEquals lambda:FunctionUrlAuthType; only with
	// ActionInvokeFunctionURL.
	FunctionURLAuthType string
	// InvokedViaFunctionURL becomes Bool lambda:InvokedViaFunctionUrl
	// "true"; only with ActionInvokeFunction.
	InvokedViaFunctionURL bool
}

// ParsePrincipal returns how an AddPermission Principal appears in a
// policy: its type (PrincipalAnyone, PrincipalAWS or PrincipalService) and
// value; an account id becomes its root, arn:aws:iam::<id>:root. ok is
// false for a principal Lambda refuses.
func ParsePrincipal(p string) (typ, value string, ok bool) {
	switch {
	case p == "*":
		return PrincipalAnyone, "*", true
	case accountIDRE.MatchString(p):
		return PrincipalAWS, "arn:aws:iam::" + p + ":root", true
	case principalARNRE.MatchString(p):
		return PrincipalAWS, p, true
	case servicePrincipalRE.MatchString(p):
		return PrincipalService, p, true
	}
	return "", "", false
}

// JSON returns the statement as Lambda shows it (AddPermission's
// Statement, one element of GetPolicy's Statement array): compact JSON,
// members in Lambda's order, resource being the ARN the policy belongs to
// (the function's, or its version's or alias's).
func (st *PermissionStatement) JSON(resource string) string {
	return string(st.appendJSON(nil, resource))
}

func (st *PermissionStatement) appendJSON(b []byte, resource string) []byte {
	o := object{
		{"Sid", st.StatementID},
		{"Effect", "Allow"},
		{"Principal", principalValue(st.Principal)},
		{"Action", st.Action},
		{"Resource", resource},
	}
	// The order of the operators and keys is Lambda's, as recorded from
	// AWS: StringEquals (AWS:SourceAccount, lambda:FunctionUrlAuthType,
	// aws:PrincipalOrgID) before ArnLike. Where lambda:EventSourceToken
	// and Bool go among them is unrecorded (see docs/decisions.md).
	var equals object
	if st.SourceAccount != "" {
		equals = append(equals, member{"AWS:SourceAccount", st.SourceAccount})
	}
	if st.EventSourceToken != "" {
		equals = append(equals, member{"lambda:EventSourceToken", st.EventSourceToken})
	}
	if st.FunctionURLAuthType != "" {
		equals = append(equals, member{"lambda:FunctionUrlAuthType", st.FunctionURLAuthType})
	}
	if st.PrincipalOrgID != "" {
		equals = append(equals, member{"aws:PrincipalOrgID", st.PrincipalOrgID})
	}
	var cond object
	if len(equals) > 0 {
		cond = append(cond, member{"StringEquals", equals})
	}
	if st.SourceARN != "" {
		cond = append(cond, member{"ArnLike", object{{"AWS:SourceArn", st.SourceARN}}})
	}
	if st.InvokedViaFunctionURL {
		cond = append(cond, member{"Bool", object{{"lambda:InvokedViaFunctionUrl", "true"}}})
	}
	if len(cond) > 0 {
		o = append(o, member{"Condition", cond})
	}
	return o.appendJSON(b)
}

// principalValue is the Principal member of a statement: "*" or an object
// {type: value}. A principal ParsePrincipal refuses (never stored) shows
// as {"AWS": p}.
func principalValue(p string) any {
	typ, value, ok := ParsePrincipal(p)
	switch {
	case !ok:
		return object{{PrincipalAWS, p}}
	case typ == PrincipalAnyone:
		return "*"
	}
	return object{{typ, value}}
}

// FunctionPolicy is the resource-based policy of a function's $LATEST, of
// one published version or of one alias.
//
// A FunctionPolicy value is a snapshot: stores return copies, and a change
// writes a whole new value with a new RevisionID.
type FunctionPolicy struct {
	// RevisionID identifies this state of the policy: GetPolicy's
	// RevisionId, which AddPermission and RemovePermission compare with
	// theirs. It is the policy's own, apart from the RevisionId of the
	// function or alias (as on AWS, where publishing a version changes
	// $LATEST's RevisionId but not its policy's).
	RevisionID string
	// Statements are the policy's statements in the order they were
	// added; their StatementIDs are unique.
	Statements []PermissionStatement
}

// Clone returns a deep copy of p; nil for nil.
func (p *FunctionPolicy) Clone() *FunctionPolicy {
	if p == nil {
		return nil
	}
	c := *p
	c.Statements = slices.Clone(p.Statements)
	return &c
}

// Index returns the position of the statement whose StatementID is sid,
// or -1. p may be nil.
func (p *FunctionPolicy) Index(sid string) int {
	if p == nil {
		return -1
	}
	return slices.IndexFunc(p.Statements, func(st PermissionStatement) bool { return st.StatementID == sid })
}

// Document returns the policy as Lambda's GetPolicy shows it:
// {"Version":"2012-10-17","Id":"default","Statement":[...]}, compact JSON,
// each statement's Resource being resource. Its length is what
// MaxPolicySize bounds.
func (p *FunctionPolicy) Document(resource string) string {
	b := []byte(`{"Version":`)
	b = appendString(b, PolicyVersion)
	b = append(b, `,"Id":`...)
	b = appendString(b, PolicyID)
	b = append(b, `,"Statement":[`...)
	for i := range p.Statements {
		if i > 0 {
			b = append(b, ',')
		}
		b = p.Statements[i].appendJSON(b, resource)
	}
	return string(append(b, "]}"...))
}

// object is a JSON object whose members keep their order; a member's
// value is a string or an object.
type object []member

type member struct {
	key   string
	value any
}

func (o object) appendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, m := range o {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, m.key)
		b = append(b, ':')
		switch v := m.value.(type) {
		case object:
			b = v.appendJSON(b)
		case string:
			b = appendString(b, v)
		default:
			panic("sluice: policy member of unexpected type")
		}
	}
	return append(b, '}')
}

// appendString appends s as a JSON string without HTML escaping, as AWS
// writes its documents.
func appendString(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}
