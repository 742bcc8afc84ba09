package sluice_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice"
)

// The patterns as the live service prints them in ValidationException
// messages (lambda-wire.md §7). Spelled out here, not taken from the
// package's constants, so that a change to those shows up as a failure.
const (
	wantNamespacedPattern = `(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?`
	wantStrictPattern     = `(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`
	wantQualifierPattern  = `\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+`
)

func namePatternViolation(input, pattern string) string {
	return "Value '" + input + "' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: " + pattern
}

// checkValidation asserts that v renders as exactly one ValidationException
// message.
func checkValidation(t *testing.T, v sluice.Violations, want string) {
	t.Helper()
	err := v.Err()
	var e *sluice.Error
	if !errors.As(err, &e) || e.Code != sluice.EValidation {
		t.Fatalf("Err() = %v, want an EValidation error", err)
	}
	if e.Message != want {
		t.Fatalf("message\n got %s\nwant %s", e.Message, want)
	}
}

func TestParseFunctionName(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	arnPrefix := "arn:aws:lambda:us-east-1:123456789012:function:"
	tests := []struct {
		in   string
		want sluice.FunctionRef
	}{
		{"my-function", sluice.FunctionRef{Name: "my-function"}},
		{"my_function.v2", sluice.FunctionRef{Name: "my_function.v2"}},
		{"my-function:1", sluice.FunctionRef{Name: "my-function", Qualifier: "1"}},
		{"my-function:live", sluice.FunctionRef{Name: "my-function", Qualifier: "live"}},
		{"my-function:$LATEST", sluice.FunctionRef{Name: "my-function", Qualifier: "$LATEST"}},
		{"my-function:$LATEST.PUBLISHED", sluice.FunctionRef{Name: "my-function", Qualifier: "$LATEST.PUBLISHED"}},
		{"function:my-function", sluice.FunctionRef{Name: "my-function"}},
		{"123456789012:function:my-function", sluice.FunctionRef{Name: "my-function", Account: "123456789012"}},
		{"123456789012:function:my-function:7", sluice.FunctionRef{Name: "my-function", Account: "123456789012", Qualifier: "7"}},
		{arnPrefix + "my-function", sluice.FunctionRef{Name: "my-function", Region: "us-east-1", Account: "123456789012"}},
		{arnPrefix + "my-function:$LATEST", sluice.FunctionRef{Name: "my-function", Region: "us-east-1", Account: "123456789012", Qualifier: "$LATEST"}},
		// An incomplete ARN parses, with "function" as the name (hence
		// AWS's 404 "Function not found: ...:function:function:$LATEST").
		{"arn:aws:lambda:us-east-1:123456789012:function", sluice.FunctionRef{Name: "function", Region: "us-east-1", Account: "123456789012"}},
		{"arn:aws:lambda:ap-southeast-1:123456789012:function:f", sluice.FunctionRef{Name: "f", Region: "ap-southeast-1", Account: "123456789012"}},
		{"arn:aws-cn:lambda:cn-north-1:123456789012:function:f", sluice.FunctionRef{Name: "f", Region: "cn-north-1", Account: "123456789012"}},
		{"arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f", sluice.FunctionRef{Name: "f", Region: "us-gov-west-1", Account: "123456789012"}},
		{"arn:aws-iso-b:lambda:us-isob-east-1:123456789012:function:f", sluice.FunctionRef{Name: "f", Region: "us-isob-east-1", Account: "123456789012"}},
		{"arn:aws-eusc:lambda:eusc-de-east-1:123456789012:function:f", sluice.FunctionRef{Name: "f", Region: "eusc-de-east-1", Account: "123456789012"}},
		// Invoke applies no 64-character limit to plain names (AWS: 404).
		{long(65), sluice.FunctionRef{Name: long(65)}},
		{long(256), sluice.FunctionRef{Name: long(256)}},
		{arnPrefix + long(256-len(arnPrefix)), sluice.FunctionRef{Name: long(256 - len(arnPrefix)), Region: "us-east-1", Account: "123456789012"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var v sluice.Violations
			got, ok := sluice.ParseFunctionName(tt.in, &v)
			if !ok || len(v) != 0 {
				t.Fatalf("ok = %v, violations %q", ok, v)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestParseFunctionNameViolations reproduces the outcomes recorded against
// AWS for Invoke (lambda-wire.md §7.2).
func TestParseFunctionNameViolations(t *testing.T) {
	for _, in := range []string{
		"*",
		"my-function!",
		"invalid-account:function:f",
		"arn:aws:lambda:invalid-region:123456789012:function:f",
		"arn:aws:iam::123456789012:role/lambda-role",
		"arn:aws:lambda:us-east-1:123456789012:function:f:1:2",
		"function:f:$LATEST:extra",
		"arn:aws:lambda::123456789012:function:f",
		"arn:aws:lambda:us-east-1::function:f",
		"arn:aws:lambda:us-east-1:123456789012:function:f:$LATES",
		"f:",
		"f:$latest",
		" f",
		"f\n",
	} {
		t.Run(in, func(t *testing.T) {
			var v sluice.Violations
			if _, ok := sluice.ParseFunctionName(in, &v); ok {
				t.Fatal("ok for an invalid name")
			}
			checkValidation(t, v, "1 validation error detected: "+namePatternViolation(in, wantNamespacedPattern))
		})
	}

	t.Run("too long", func(t *testing.T) {
		in := strings.Repeat("a", 257)
		var v sluice.Violations
		if _, ok := sluice.ParseFunctionName(in, &v); ok {
			t.Fatal("ok for a 257-character name")
		}
		checkValidation(t, v, "1 validation error detected: Value '"+in+"' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 256")
	})
	t.Run("too long and bad", func(t *testing.T) {
		in := strings.Repeat("!", 257)
		var v sluice.Violations
		sluice.ParseFunctionName(in, &v)
		if len(v) != 2 {
			t.Fatalf("%d violations, want length and pattern: %q", len(v), v)
		}
	})
	t.Run("empty", func(t *testing.T) {
		var v sluice.Violations
		if _, ok := sluice.ParseFunctionName("", &v); ok {
			t.Fatal("ok for an empty name")
		}
		err := v.Err()
		if sluice.ErrorCodeOf(err) != sluice.EValidation || !strings.Contains(err.Error(), "Value '' at 'functionName' failed to satisfy constraint: Member must have length greater than or equal to 1") {
			t.Fatalf("Err() = %v", err)
		}
	})
}

func TestParseStrictFunctionName(t *testing.T) {
	arn := "arn:aws:lambda:us-east-1:123456789012:function:my-function"
	for _, tt := range []struct {
		in   string
		want sluice.FunctionRef
	}{
		{"my-function", sluice.FunctionRef{Name: "my-function"}},
		{"my-function:$LATEST", sluice.FunctionRef{Name: "my-function", Qualifier: "$LATEST"}},
		{arn, sluice.FunctionRef{Name: "my-function", Region: "us-east-1", Account: "123456789012"}},
		{"123456789012:function:my-function:live", sluice.FunctionRef{Name: "my-function", Account: "123456789012", Qualifier: "live"}},
	} {
		var v sluice.Violations
		got, ok := sluice.ParseStrictFunctionName(tt.in, &v)
		if !ok || len(v) != 0 || got != tt.want {
			t.Errorf("ParseStrictFunctionName(%q) = %+v, %v, %q; want %+v", tt.in, got, ok, v, tt.want)
		}
	}
	// Allowed on Invoke, not on CreateFunction and the write operations.
	for _, in := range []string{"my.function", "my-function:$LATEST.PUBLISHED", "my-function!", "arn:aws:lambda::123456789012:function:f"} {
		var v sluice.Violations
		if _, ok := sluice.ParseStrictFunctionName(in, &v); ok {
			t.Errorf("ParseStrictFunctionName(%q) ok", in)
			continue
		}
		checkValidation(t, v, "1 validation error detected: "+namePatternViolation(in, wantStrictPattern))
	}
	long := arn + strings.Repeat("x", 141-len(arn))
	var v sluice.Violations
	if _, ok := sluice.ParseStrictFunctionName(long, &v); ok {
		t.Fatal("ok for 141 characters")
	}
	checkValidation(t, v, "1 validation error detected: Value '"+long+"' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 140")
	v = nil
	if _, ok := sluice.ParseStrictFunctionName(long[:140], &v); !ok {
		t.Fatalf("140 characters rejected: %q", v)
	}
}

func TestValidateQualifier(t *testing.T) {
	// "$latest" is pattern-valid: AWS answers 404, not 400.
	for _, q := range []string{"", "1", "42", "$LATEST", "$LATEST.PUBLISHED", "$latest", "live", "a-b_c", "a$b", strings.Repeat("a", 128)} {
		var v sluice.Violations
		if !sluice.ValidateQualifier(q, &v) || len(v) != 0 {
			t.Errorf("ValidateQualifier(%q) rejected: %q", q, v)
		}
	}
	for _, q := range []string{"invalid!", "$LATEST.published", "v1.0", "a:b", "a b", "$LATEST."} {
		var v sluice.Violations
		if sluice.ValidateQualifier(q, &v) {
			t.Errorf("ValidateQualifier(%q) accepted", q)
			continue
		}
		checkValidation(t, v, "1 validation error detected: Value '"+q+"' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: "+wantQualifierPattern)
	}

	long := strings.Repeat("a", 129)
	var v sluice.Violations
	if sluice.ValidateQualifier(long, &v) {
		t.Fatal("129 characters accepted")
	}
	checkValidation(t, v, "1 validation error detected: Value '"+long+"' at 'qualifier' failed to satisfy constraint: Member must have length less than or equal to 128")
}

// TestBothInvalid reproduces the recorded message for a bad qualifier and a
// bad name together. AWS lists the qualifier first, so callers validate it
// before the name.
func TestBothInvalid(t *testing.T) {
	var v sluice.Violations
	sluice.ValidateQualifier("invalid!", &v)
	sluice.ParseFunctionName("my-function!", &v)
	checkValidation(t, v, "2 validation errors detected: "+
		"Value 'invalid!' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: "+wantQualifierPattern+"; "+
		namePatternViolation("my-function!", wantNamespacedPattern))
}

func TestScopeResolve(t *testing.T) {
	scope := sluice.Scope{Region: "us-east-1", Account: "123456789012"}
	parse := func(s string) sluice.FunctionRef {
		t.Helper()
		var v sluice.Violations
		ref, ok := sluice.ParseFunctionName(s, &v)
		if !ok {
			t.Fatalf("ParseFunctionName(%q): %q", s, v)
		}
		return ref
	}
	arn := "arn:aws:lambda:us-east-1:123456789012:function:my-function"
	tests := []struct {
		name      string
		ref       string
		qualifier string
		want      string
		code      sluice.ErrorCode
		msg       string
	}{
		{name: "plain", ref: "my-function", want: ""},
		{name: "qualifier parameter", ref: "my-function", qualifier: "1", want: "1"},
		{name: "qualifier in name", ref: "my-function:live", want: "live"},
		{name: "both equal", ref: arn + ":$LATEST", qualifier: "$LATEST", want: "$LATEST"},
		{name: "lower-case latest passes through", ref: "my-function", qualifier: "$latest", want: "$latest"},
		{name: "partial ARN", ref: "123456789012:function:my-function", qualifier: "2", want: "2"},
		{name: "full ARN", ref: arn + ":7", want: "7"},
		{name: "qualifier mismatch", ref: arn + ":$LATEST", qualifier: "1",
			code: sluice.EInvalidParameter, msg: "The derived qualifier from the function name does not match the specified qualifier."},
		{name: "other region", ref: "arn:aws:lambda:ap-southeast-1:123456789012:function:my-function",
			code: sluice.ENotFound, msg: "Functions from 'ap-southeast-1' are not reachable in this region ('us-east-1')"},
		{name: "other region before mismatch", ref: "arn:aws:lambda:ap-southeast-1:123456789012:function:my-function:1", qualifier: "2",
			code: sluice.ENotFound, msg: "Functions from 'ap-southeast-1' are not reachable in this region ('us-east-1')"},
		{name: "other account", ref: "arn:aws:lambda:us-east-1:210987654321:function:my-function", code: sluice.EAccessDenied},
		{name: "other account, partial ARN", ref: "210987654321:function:my-function", code: sluice.EAccessDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scope.Resolve(parse(tt.ref), tt.qualifier)
			if tt.code == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Resolve = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			var e *sluice.Error
			if !errors.As(err, &e) || e.Code != tt.code {
				t.Fatalf("Resolve = %q, %v; want code %s", got, err, tt.code)
			}
			if tt.msg != "" && e.Message != tt.msg {
				t.Errorf("message %q, want %q", e.Message, tt.msg)
			}
		})
	}
}

var (
	fuzzNameRE       = regexp.MustCompile(`^[a-zA-Z0-9-_.]+$`)
	fuzzStrictNameRE = regexp.MustCompile(`^[a-zA-Z0-9-_]+$`)
)

// reassemble writes ref back as a FunctionName: a full ARN when it has a
// region and an account, else the parts it has.
func reassemble(ref sluice.FunctionRef) string {
	var b strings.Builder
	if ref.Region != "" && ref.Account != "" {
		b.WriteString("arn:aws:lambda:")
	}
	if ref.Region != "" {
		b.WriteString(ref.Region + ":")
	}
	if ref.Account != "" {
		b.WriteString(ref.Account + ":")
	}
	b.WriteString("function:" + ref.Name)
	if ref.Qualifier != "" {
		b.WriteString(":" + ref.Qualifier)
	}
	return b.String()
}

func FuzzParseFunctionName(f *testing.F) {
	for _, s := range []string{
		"my-function", "my-function:$LATEST", "f:$LATEST.PUBLISHED", "function:function",
		"123456789012:function:f:1", "arn:aws:lambda:us-east-1:123456789012:function",
		"arn:aws:lambda:us-east-1:123456789012:function:f:live", "us-east-1:f",
		"arn:aws-eusc:lambda:eusc-de-east-1:123456789012:function:f", "123456789012",
		"arn:aws:lambda::123456789012:function:f", "*", "",
	} {
		f.Add(s)
	}
	parsers := []struct {
		name   string
		parse  func(string, *sluice.Violations) (sluice.FunctionRef, bool)
		nameRE *regexp.Regexp
		max    int
	}{
		{"namespaced", sluice.ParseFunctionName, fuzzNameRE, sluice.MaxNamespacedNameLength},
		{"strict", sluice.ParseStrictFunctionName, fuzzStrictNameRE, sluice.MaxFunctionNameLength},
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range parsers {
			var v sluice.Violations
			ref, ok := p.parse(s, &v)
			if !ok {
				if len(v) == 0 || sluice.ErrorCodeOf(v.Err()) != sluice.EValidation {
					t.Fatalf("%s(%q): not ok without a violation", p.name, s)
				}
				continue
			}
			if len(v) != 0 {
				t.Fatalf("%s(%q): ok with violations %q", p.name, s, v)
			}
			if len(s) > p.max {
				t.Fatalf("%s(%q): ok for %d bytes", p.name, s, len(s))
			}
			if !p.nameRE.MatchString(ref.Name) {
				t.Fatalf("%s(%q): name %q", p.name, s, ref.Name)
			}
			again := reassemble(ref)
			if len(again) > p.max {
				continue // the reassembled form may be longer than the input
			}
			ref2, ok := p.parse(again, &v)
			if !ok || ref2 != ref {
				t.Fatalf("%s(%q) = %+v; reassembled %q parses as %+v, %v (%q)", p.name, s, ref, again, ref2, ok, v)
			}
		}
	})
}

func TestLengthsCountCharacters(t *testing.T) {
	var v sluice.Violations
	if _, ok := sluice.ParseStrictFunctionName(strings.Repeat("é", 71), &v); ok || len(v) != 1 || !strings.Contains(v[0], "regular expression") {
		t.Fatalf("71 two-byte characters: %v", v)
	}
}
