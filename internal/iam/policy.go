package iam

import (
	"fmt"
	"regexp"
	"strings"
)

// Policy versions ("Version" element).
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Policy is a parsed IAM policy document (identity-based or resource-based).
// A Policy is immutable once parsed and safe for concurrent use; treat its
// fields as read-only.
type Policy struct {
	// Version is the "Version" element, "" when the document has none (AWS
	// then applies 2008-10-17).
	Version string
	// ID is the "Id" element, "" when absent.
	ID string
	// Statements are the statements in document order.
	Statements []Statement

	singleStatement bool // "Statement" was one object, not an array
}

// Statement is one statement of a policy. Only Sid and Effect are exported;
// the rest is read through the policy's evaluation and MarshalJSON.
type Statement struct {
	Sid    string // "" when absent
	Effect string // EffectAllow or EffectDeny

	hasSid       bool
	principal    *principalSet // Principal, nil when absent
	notPrincipal *principalSet // NotPrincipal
	action       strList       // Action (as written) ...
	notAction    strList       // ... or NotAction; exactly one is set
	actionLower  []string      // the one that is set, lower-cased
	resource     strList       // Resource ...
	notResource  strList       // ... or NotResource; at most one is set
	conditions   []condition   // Condition, in document order
}

// Effects.
const (
	EffectAllow = "Allow"
	EffectDeny  = "Deny"
)

// ParsePolicy parses an IAM JSON policy document strictly, as AWS's grammar
// defines it (see docs/decisions.md, "Identities and policies"): element
// names spelled exactly, none repeated or unknown; Version "2012-10-17" or
// "2008-10-17"; Statement one object or an array; each statement with an
// Effect, Action or NotAction, Resource or NotResource, optionally Sid,
// Principal or NotPrincipal and Condition with the supported operators.
// What sluice does not evaluate (other condition operators, set operators,
// policy variables, federated principals) is refused rather than ignored.
// The error names the offending element, e.g.
// `Statement[1].Effect: must be "Allow" or "Deny", not "allow"`.
func ParsePolicy(doc []byte) (*Policy, error) {
	v, err := parseJSON(doc)
	if err != nil {
		return nil, err
	}
	return policyFrom(v, "")
}

// ParseIdentityPolicy is ParsePolicy for an identity-based policy: it also
// refuses a Principal or NotPrincipal element, as IAM does for policies
// attached to users and roles.
func ParseIdentityPolicy(doc []byte) (*Policy, error) {
	p, err := ParsePolicy(doc)
	if err != nil {
		return nil, err
	}
	if err := p.checkIdentity(""); err != nil {
		return nil, err
	}
	return p, nil
}

// ParseResourcePolicy is ParsePolicy for a resource-based policy: every
// statement must have a Principal or NotPrincipal element.
func ParseResourcePolicy(doc []byte) (*Policy, error) {
	p, err := ParsePolicy(doc)
	if err != nil {
		return nil, err
	}
	for i := range p.Statements {
		st := &p.Statements[i]
		if st.principal == nil && st.notPrincipal == nil {
			return nil, errAt(p.statementPath("", i), "a resource-based policy statement needs a Principal or NotPrincipal element")
		}
	}
	return p, nil
}

func (p *Policy) checkIdentity(path string) error {
	for i := range p.Statements {
		st := &p.Statements[i]
		if st.principal != nil {
			return errAt(join(p.statementPath(path, i), "Principal"), "an identity-based policy must not have a Principal element")
		}
		if st.notPrincipal != nil {
			return errAt(join(p.statementPath(path, i), "NotPrincipal"), "an identity-based policy must not have a NotPrincipal element")
		}
	}
	return nil
}

func (p *Policy) statementPath(path string, i int) string {
	if p.singleStatement {
		return join(path, "Statement")
	}
	return index(join(path, "Statement"), i)
}

func policyFrom(v *jvalue, path string) (*Policy, error) {
	f, err := fields(v, path, "Version", "Id", "Statement")
	if err != nil {
		return nil, err
	}
	p := &Policy{}
	if ver, ok := f["Version"]; ok {
		if ver.kind != kString {
			return nil, errAt(join(path, "Version"), "must be a string, not %s", ver.kind)
		}
		if ver.str != Version2012 && ver.str != Version2008 {
			return nil, errAt(join(path, "Version"), "must be %q or %q, not %q", Version2012, Version2008, ver.str)
		}
		p.Version = ver.str
	}
	if id, ok := f["Id"]; ok {
		if id.kind != kString {
			return nil, errAt(join(path, "Id"), "must be a string, not %s", id.kind)
		}
		p.ID = id.str
	}
	sv, ok := f["Statement"]
	if !ok {
		return nil, errAt(path, "missing required element \"Statement\"")
	}
	sp := join(path, "Statement")
	var list []*jvalue
	switch sv.kind {
	case kObject:
		p.singleStatement = true
		list = []*jvalue{sv}
	case kArray:
		list = sv.arr
	default:
		return nil, errAt(sp, "must be an object or an array of objects, not %s", sv.kind)
	}
	p.Statements = make([]Statement, len(list))
	sids := map[string]int{}
	for i, e := range list {
		stPath := p.statementPath(path, i)
		if err := p.statementFrom(&p.Statements[i], e, stPath); err != nil {
			return nil, err
		}
		if st := &p.Statements[i]; st.Sid != "" {
			if j, dup := sids[st.Sid]; dup {
				return nil, errAt(join(stPath, "Sid"), "%q is also the Sid of %s; Sids must be unique within a policy", st.Sid, p.statementPath(path, j))
			}
			sids[st.Sid] = i
		}
	}
	return p, nil
}

var (
	sidRE     = regexp.MustCompile(`^[A-Za-z0-9_.-]{0,100}$`)
	actionRE  = regexp.MustCompile(`^[A-Za-z0-9_*?-]+:[A-Za-z0-9_*?-]+$`)
	condKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+:[!-~]+$`) // prefix:name, name printable ASCII
)

func (p *Policy) statementFrom(st *Statement, v *jvalue, path string) error {
	f, err := fields(v, path, "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition")
	if err != nil {
		return err
	}
	if sid, ok := f["Sid"]; ok {
		if sid.kind != kString {
			return errAt(join(path, "Sid"), "must be a string, not %s", sid.kind)
		}
		if !sidRE.MatchString(sid.str) {
			return errAt(join(path, "Sid"), "%q: must be at most 100 characters of A-Z, a-z, 0-9, '_', '.' and '-'", sid.str)
		}
		st.Sid, st.hasSid = sid.str, true
	}

	eff, ok := f["Effect"]
	if !ok {
		return errAt(path, "missing required element \"Effect\"")
	}
	if eff.kind != kString || (eff.str != EffectAllow && eff.str != EffectDeny) {
		return errAt(join(path, "Effect"), "must be \"Allow\" or \"Deny\", not %s", describe(eff))
	}
	st.Effect = eff.str

	pr, hasP := f["Principal"]
	npr, hasNP := f["NotPrincipal"]
	switch {
	case hasP && hasNP:
		return errAt(path, "has both Principal and NotPrincipal; use one")
	case hasP:
		if st.principal, err = principalFrom(pr, join(path, "Principal")); err != nil {
			return err
		}
	case hasNP:
		if st.notPrincipal, err = principalFrom(npr, join(path, "NotPrincipal")); err != nil {
			return err
		}
	}

	actions, actPath, negated, err := oneOf(f, path, "Action")
	if err != nil {
		return err
	}
	if negated {
		st.notAction = actions
	} else {
		st.action = actions
	}
	st.actionLower = make([]string, len(actions.vals))
	for i, a := range actions.vals {
		if a != "*" && !actionRE.MatchString(a) {
			at := actPath
			if !actions.single {
				at = index(actPath, i)
			}
			return errAt(at, "%q: an action must be \"*\" or service:action (such as \"lambda:InvokeFunction\" or \"lambda:Get*\")", a)
		}
		st.actionLower[i] = strings.ToLower(a)
	}

	resources, resPath, negated, err := oneOf(f, path, "Resource")
	if err != nil {
		return err
	}
	if negated {
		st.notResource = resources
	} else {
		st.resource = resources
	}
	for i, r := range resources.vals {
		at := resPath
		if !resources.single {
			at = index(resPath, i)
		}
		if r != "*" && !isARN(r) {
			return errAt(at, "%q: a resource must be \"*\" or an ARN of six colon-separated parts (arn:partition:service:region:account:resource), wildcards allowed in each", r)
		}
		if err := p.checkNoVariables(r, at); err != nil {
			return err
		}
	}

	if c, ok := f["Condition"]; ok {
		if st.conditions, err = p.conditionsFrom(c, join(path, "Condition")); err != nil {
			return err
		}
	}
	return nil
}

// checkNoVariables refuses policy variables: in a 2012-10-17 policy,
// "${aws:username}" and the like are replaced at evaluation time by AWS;
// sluice does not, and matching the text literally would grant or deny
// something else than the author meant. (In 2008-10-17 policies they are
// plain text, as on AWS.)
func (p *Policy) checkNoVariables(s, path string) error {
	if p.Version == Version2012 && strings.Contains(s, "${") {
		return errAt(path, "%q: policy variables (${...}) are not supported by sluice", s)
	}
	return nil
}

func describe(v *jvalue) string {
	if v.kind == kString {
		return fmt.Sprintf("%q", v.str)
	}
	return v.kind.String()
}

// MarshalJSON returns the document in AWS's element order (Version, Id,
// Statement; in each statement Sid, Effect, Principal or NotPrincipal,
// Action or NotAction, Resource or NotResource, Condition), with every
// value in the form it was written in (a string or an array). Parsing the
// result gives the same policy.
func (p *Policy) MarshalJSON() ([]byte, error) {
	if p == nil {
		return []byte("null"), nil
	}
	b := []byte{'{'}
	comma := false
	field := func(name string) {
		if comma {
			b = append(b, ',')
		}
		comma = true
		b = append(b, quote(name)...)
		b = append(b, ':')
	}
	if p.Version != "" {
		field("Version")
		b = append(b, quote(p.Version)...)
	}
	if p.ID != "" {
		field("Id")
		b = append(b, quote(p.ID)...)
	}
	field("Statement")
	if p.singleStatement && len(p.Statements) == 1 {
		b = p.Statements[0].appendJSON(b)
	} else {
		b = append(b, '[')
		for i := range p.Statements {
			if i > 0 {
				b = append(b, ',')
			}
			b = p.Statements[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

// MarshalJSON returns the statement as it appears in its policy.
func (st Statement) MarshalJSON() ([]byte, error) {
	return st.appendJSON(nil), nil
}

func (st *Statement) appendJSON(b []byte) []byte {
	b = append(b, '{')
	comma := false
	field := func(name string) {
		if comma {
			b = append(b, ',')
		}
		comma = true
		b = append(b, quote(name)...)
		b = append(b, ':')
	}
	if st.hasSid {
		field("Sid")
		b = append(b, quote(st.Sid)...)
	}
	field("Effect")
	b = append(b, quote(st.Effect)...)
	if st.principal != nil {
		field("Principal")
		b = st.principal.appendJSON(b)
	}
	if st.notPrincipal != nil {
		field("NotPrincipal")
		b = st.notPrincipal.appendJSON(b)
	}
	if st.action.vals != nil {
		field("Action")
		b = st.action.appendJSON(b)
	} else {
		field("NotAction")
		b = st.notAction.appendJSON(b)
	}
	if st.resource.vals != nil {
		field("Resource")
		b = st.resource.appendJSON(b)
	} else if st.notResource.vals != nil {
		field("NotResource")
		b = st.notResource.appendJSON(b)
	}
	if st.conditions != nil {
		field("Condition")
		b = appendConditions(b, st.conditions)
	}
	return append(b, '}')
}

// oneOf reads the element name or its negation "Not"+name of a statement
// (exactly one of them, a string or a list of strings): the values, the
// path of the element, and whether it was the negation.
func oneOf(f map[string]*jvalue, path, name string) (vals strList, at string, negated bool, err error) {
	v, has := f[name]
	nv, hasNot := f["Not"+name]
	switch {
	case has && hasNot:
		return vals, "", false, errAt(path, "has both %s and Not%s; use one", name, name)
	case has:
		at = join(path, name)
		vals, err = stringOrList(v, at)
		return vals, at, false, err
	case hasNot:
		at = join(path, "Not"+name)
		vals, err = stringOrList(nv, at)
		return vals, at, true, err
	}
	return vals, "", false, errAt(path, "missing required element %q (or \"Not%s\")", name, name)
}
