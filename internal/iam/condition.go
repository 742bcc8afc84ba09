package iam

import (
	"strings"
)

// opKind is a condition operator without its IfExists suffix.
type opKind int

const (
	opStringEquals opKind = iota
	opStringNotEquals
	opStringEqualsIgnoreCase
	opStringNotEqualsIgnoreCase
	opStringLike
	opStringNotLike
	opArnEquals
	opArnLike
	opArnNotEquals
	opArnNotLike
	opBool
	opNull
)

var operators = map[string]opKind{
	"StringEquals":              opStringEquals,
	"StringNotEquals":           opStringNotEquals,
	"StringEqualsIgnoreCase":    opStringEqualsIgnoreCase,
	"StringNotEqualsIgnoreCase": opStringNotEqualsIgnoreCase,
	"StringLike":                opStringLike,
	"StringNotLike":             opStringNotLike,
	"ArnEquals":                 opArnEquals,
	"ArnLike":                   opArnLike,
	"ArnNotEquals":              opArnNotEquals,
	"ArnNotLike":                opArnNotLike,
	"Bool":                      opBool,
	"Null":                      opNull,
}

// unsupportedOps are operators of AWS's grammar that sluice does not
// evaluate (no condition key of sluice's has such values).
var unsupportedOps = []string{
	"NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals",
	"DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals",
	"BinaryEquals", "IpAddress", "NotIpAddress",
}

func (k opKind) negated() bool {
	switch k {
	case opStringNotEquals, opStringNotEqualsIgnoreCase, opStringNotLike, opArnNotEquals, opArnNotLike:
		return true
	}
	return false
}

func (k opKind) arn() bool {
	return k >= opArnEquals && k <= opArnNotLike
}

type condition struct {
	name     string // as written, e.g. "StringLikeIfExists"
	op       opKind
	ifExists bool
	keys     []condKey
}

type condKey struct {
	name   string // as written
	lower  string // lower-cased: condition key names are case-insensitive
	vals   []condValue
	single bool
}

type condValue struct {
	s       string
	literal bool // written as a JSON number or boolean
}

func (p *Policy) conditionsFrom(v *jvalue, path string) ([]condition, error) {
	if v.kind != kObject {
		return nil, errAt(path, "must be an object, not %s", v.kind)
	}
	if len(v.obj) == 0 {
		return nil, errAt(path, "must have at least one condition operator")
	}
	seen := map[string]bool{}
	conds := make([]condition, 0, len(v.obj))
	for _, m := range v.obj {
		at := join(path, m.name)
		if seen[m.name] {
			return nil, errAt(at, "appears more than once")
		}
		seen[m.name] = true
		c, err := p.conditionFrom(m.name, m.val, at)
		if err != nil {
			return nil, err
		}
		conds = append(conds, c)
	}
	return conds, nil
}

func (p *Policy) conditionFrom(name string, v *jvalue, path string) (condition, error) {
	c := condition{name: name}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		switch name[:i] {
		case "ForAllValues", "ForAnyValue":
			return c, errAt(path, "the set operators ForAllValues and ForAnyValue are not supported by sluice (its condition keys have one value each)")
		}
		return c, errAt(path, "unknown condition operator %q", name)
	}
	base := name
	if b, ok := strings.CutSuffix(name, "IfExists"); ok && b != "Null" {
		base, c.ifExists = b, true
	}
	op, ok := operators[base]
	if !ok {
		for _, u := range unsupportedOps {
			if base == u {
				return c, errAt(path, "the condition operator %s is not supported by sluice (supported: String..., Arn..., Bool, Null and their ...IfExists forms)", name)
			}
		}
		return c, errAt(path, "unknown condition operator %q", name)
	}
	c.op = op
	if v.kind != kObject {
		return c, errAt(path, "must be an object of condition keys and values, not %s", v.kind)
	}
	if len(v.obj) == 0 {
		return c, errAt(path, "must have at least one condition key")
	}
	seen := map[string]string{}
	for _, m := range v.obj {
		at := join(path, m.name)
		if !condKeyRE.MatchString(m.name) {
			return c, errAt(at, "a condition key must be prefix:name, such as \"aws:SourceArn\" or \"lambda:FunctionArn\"")
		}
		lower := strings.ToLower(m.name)
		if prev, dup := seen[lower]; dup {
			return c, errAt(at, "repeats the condition key %q (condition key names are not case-sensitive)", prev)
		}
		seen[lower] = m.name
		k := condKey{name: m.name, lower: lower}
		var list []*jvalue
		switch m.val.kind {
		case kArray:
			if len(m.val.arr) == 0 {
				return c, errAt(at, "must not be an empty array")
			}
			list = m.val.arr
		default:
			k.single = true
			list = []*jvalue{m.val}
		}
		for i, e := range list {
			vp := at
			if !k.single {
				vp = index(at, i)
			}
			var cv condValue
			switch e.kind {
			case kString:
				cv.s = e.str
			case kNumber, kBool:
				cv.s, cv.literal = e.str, true
			default:
				return c, errAt(vp, "a condition value must be a string, number or boolean, not %s", e.kind)
			}
			switch {
			case op == opNull || op == opBool:
				if !strings.EqualFold(cv.s, "true") && !strings.EqualFold(cv.s, "false") {
					return c, errAt(vp, "%q: %s takes \"true\" or \"false\"", cv.s, base)
				}
			case op.arn():
				if cv.s != "*" && !isARN(cv.s) {
					return c, errAt(vp, "%q: %s compares ARNs; the value must be \"*\" or an ARN of six colon-separated parts (wildcards allowed in each)", cv.s, base)
				}
			}
			if op != opNull {
				if err := p.checkNoVariables(cv.s, vp); err != nil {
					return c, err
				}
			}
			k.vals = append(k.vals, cv)
		}
		c.keys = append(c.keys, k)
	}
	return c, nil
}

// lookup finds a condition key in the request context; key names are not
// case-sensitive.
func lookup(ctx map[string]string, key, lower string) (string, bool) {
	if v, ok := ctx[key]; ok {
		return v, true
	}
	for k, v := range ctx {
		if strings.EqualFold(k, lower) {
			return v, true
		}
	}
	return "", false
}

// eval reports whether the condition holds for the request context. Keys
// of one operator must all hold (AND); the values of one key are
// alternatives (OR), and a negated operator holds when none matches. A key
// missing from the context fails the condition, except for ...IfExists
// and negated operators, which then hold, and Null, which tests for it
// (AWS, "IAM JSON policy elements: Condition operators").
func (c *condition) eval(ctx map[string]string) bool {
	for i := range c.keys {
		k := &c.keys[i]
		v, present := lookup(ctx, k.name, k.lower)
		if c.op == opNull {
			ok := false
			for _, want := range k.vals {
				if strings.EqualFold(want.s, "true") != present {
					ok = true
					break
				}
			}
			if !ok {
				return false
			}
			continue
		}
		if !present {
			if c.ifExists || c.op.negated() {
				continue
			}
			return false
		}
		matched := false
		for _, want := range k.vals {
			if c.op.matchOne(want.s, v) {
				matched = true
				break
			}
		}
		if matched == c.op.negated() {
			return false
		}
	}
	return true
}

func (k opKind) matchOne(want, got string) bool {
	switch k {
	case opStringEquals, opStringNotEquals:
		return got == want
	case opStringEqualsIgnoreCase, opStringNotEqualsIgnoreCase:
		return strings.EqualFold(got, want)
	case opStringLike, opStringNotLike:
		return wildMatch(want, got)
	case opArnEquals, opArnLike, opArnNotEquals, opArnNotLike:
		// ArnEquals and ArnLike behave identically (AWS).
		return arnMatch(want, got)
	case opBool:
		return strings.EqualFold(got, want)
	}
	return false
}

func appendConditions(b []byte, conds []condition) []byte {
	b = append(b, '{')
	for i := range conds {
		c := &conds[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, quote(c.name)...)
		b = append(b, ':', '{')
		for j := range c.keys {
			k := &c.keys[j]
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, quote(k.name)...)
			b = append(b, ':')
			if !k.single {
				b = append(b, '[')
			}
			for n, v := range k.vals {
				if n > 0 {
					b = append(b, ',')
				}
				if v.literal {
					b = append(b, v.s...)
				} else {
					b = append(b, quote(v.s)...)
				}
			}
			if !k.single {
				b = append(b, ']')
			}
		}
		b = append(b, '}')
	}
	return append(b, '}')
}
