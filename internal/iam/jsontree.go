package iam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The policy grammar and the auth file are read through a small tree of
// JSON values rather than encoding/json's struct decoding, which matches
// field names case-insensitively ("effect" would set Effect) and keeps the
// last of duplicate names: both would let a document mean something other
// than what a reader sees. Here names are exact, duplicates and unknown
// names are refused, and key order is kept (for error paths and for
// MarshalJSON).

type kind int

const (
	kString kind = iota
	kNumber
	kBool
	kNull
	kArray
	kObject
)

func (k kind) String() string {
	switch k {
	case kString:
		return "a string"
	case kNumber:
		return "a number"
	case kBool:
		return "a boolean"
	case kNull:
		return "null"
	case kArray:
		return "an array"
	default:
		return "an object"
	}
}

type member struct {
	name string
	val  *jvalue
}

type jvalue struct {
	kind kind
	str  string // string value, or the literal text of a number or boolean
	arr  []*jvalue
	obj  []member
}

// maxDepth bounds nesting: the deepest legitimate document (an auth file's
// condition values) is 11 levels deep.
const maxDepth = 32

// errSyntax is a JSON syntax error, reported by position only: the
// decoder's own message can quote a character of the input, and the input
// may be an auth file with secrets in it.
type errSyntax struct {
	line, col int
	eof       bool
}

func (e *errSyntax) Error() string {
	if e.eof {
		return "not valid JSON: unexpected end of input"
	}
	return fmt.Sprintf("not valid JSON at line %d, column %d", e.line, e.col)
}

// parseJSON reads exactly one JSON value from b.
func parseJSON(b []byte) (*jvalue, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := readValue(dec, 0)
	if err != nil {
		return nil, syntaxErr(b, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("trailing data")
		}
		return nil, syntaxErr(b, err)
	}
	return v, nil
}

func syntaxErr(b []byte, err error) error {
	var depth *errDepth
	if errors.As(err, &depth) {
		return depth
	}
	// The decoder's offsets are not exact; those of Unmarshal's validity
	// check are (the offending byte is the last one it read).
	var se *json.SyntaxError
	if !errors.As(json.Unmarshal(b, new(json.RawMessage)), &se) {
		// Unmarshal accepts what the decoder refused: cannot happen, but say
		// something true.
		return &errSyntax{eof: true}
	}
	if se.Offset >= int64(len(b)) && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.HasPrefix(se.Error(), "unexpected end")) {
		return &errSyntax{eof: true}
	}
	pos := int(se.Offset) - 1
	if pos < 0 {
		pos = 0
	}
	if pos > len(b) {
		pos = len(b)
	}
	line := 1 + bytes.Count(b[:pos], []byte{'\n'})
	col := pos - bytes.LastIndexByte(b[:pos], '\n')
	return &errSyntax{line: line, col: col}
}

type errDepth struct{}

func (*errDepth) Error() string {
	return fmt.Sprintf("not valid here: JSON nested deeper than %d levels", maxDepth)
}

func readValue(dec *json.Decoder, depth int) (*jvalue, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	return readFrom(dec, tok, depth)
}

func readFrom(dec *json.Decoder, tok json.Token, depth int) (*jvalue, error) {
	switch t := tok.(type) {
	case string:
		return &jvalue{kind: kString, str: t}, nil
	case json.Number:
		return &jvalue{kind: kNumber, str: t.String()}, nil
	case bool:
		return &jvalue{kind: kBool, str: strconv.FormatBool(t)}, nil
	case nil:
		return &jvalue{kind: kNull}, nil
	case json.Delim:
		if depth >= maxDepth {
			return nil, &errDepth{}
		}
		switch t {
		case '[':
			v := &jvalue{kind: kArray}
			for dec.More() {
				e, err := readValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				v.arr = append(v.arr, e)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return nil, err
			}
			return v, nil
		case '{':
			v := &jvalue{kind: kObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				name, ok := kt.(string)
				if !ok {
					return nil, errors.New("object key is not a string")
				}
				e, err := readValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				v.obj = append(v.obj, member{name, e})
			}
			if _, err := dec.Token(); err != nil { // '}'
				return nil, err
			}
			return v, nil
		}
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// pathError is a validation error at a place in a document, such as
// Statement[1].Effect.
type pathError struct {
	path string
	msg  string
}

func (e *pathError) Error() string {
	if e.path == "" {
		return e.msg
	}
	return e.path + ": " + e.msg
}

func errAt(path, format string, args ...any) error {
	return &pathError{path: path, msg: fmt.Sprintf(format, args...)}
}

// under prefixes the path of err (a *pathError) with prefix.
func under(prefix string, err error) error {
	var pe *pathError
	if errors.As(err, &pe) {
		p := prefix
		if pe.path != "" {
			if strings.HasPrefix(pe.path, "[") {
				p += pe.path
			} else {
				p += "." + pe.path
			}
		}
		return &pathError{path: p, msg: pe.msg}
	}
	return &pathError{path: prefix, msg: err.Error()}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// fields checks that v is an object whose names are all in allowed (exact
// spelling) and none is repeated, and returns its members by name.
func fields(v *jvalue, path string, allowed ...string) (map[string]*jvalue, error) {
	if v.kind != kObject {
		return nil, errAt(path, "must be an object, not %s", v.kind)
	}
	m := make(map[string]*jvalue, len(v.obj))
	for _, mem := range v.obj {
		if _, dup := m[mem.name]; dup {
			return nil, errAt(join(path, mem.name), "appears more than once")
		}
		known := false
		for _, a := range allowed {
			if mem.name == a {
				known = true
				break
			}
		}
		if !known {
			return nil, errAt(path, "unknown element %q (expected %s)", mem.name, orList(allowed))
		}
		m[mem.name] = mem.val
	}
	return m, nil
}

func orList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// stringOrList reads a string or a non-empty array of strings.
func stringOrList(v *jvalue, path string) (strList, error) {
	switch v.kind {
	case kString:
		return strList{vals: []string{v.str}, single: true}, nil
	case kArray:
		if len(v.arr) == 0 {
			return strList{}, errAt(path, "must not be an empty array")
		}
		l := strList{vals: make([]string, len(v.arr))}
		for i, e := range v.arr {
			if e.kind != kString {
				return strList{}, errAt(index(path, i), "must be a string, not %s", e.kind)
			}
			l.vals[i] = e.str
		}
		return l, nil
	}
	return strList{}, errAt(path, "must be a string or an array of strings, not %s", v.kind)
}

// strList is a policy value given as one string or an array of strings;
// single remembers which, so that MarshalJSON gives the document back as
// it was written.
type strList struct {
	vals   []string
	single bool
}

// quote renders s as a JSON string without HTML escaping (AWS writes
// policies with "<" as is).
func quote(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'})
}

func (l strList) appendJSON(b []byte) []byte {
	if l.single && len(l.vals) == 1 {
		return append(b, quote(l.vals[0])...)
	}
	b = append(b, '[')
	for i, s := range l.vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, quote(s)...)
	}
	return append(b, ']')
}
