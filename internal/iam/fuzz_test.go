package iam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParsePolicy: any input is refused with an error or parsed into a
// policy whose MarshalJSON is valid JSON that parses into the same policy
// (the same JSON again, the same decisions).
func FuzzParsePolicy(f *testing.F) {
	for _, doc := range validPolicies {
		f.Add([]byte(doc))
	}
	f.Add([]byte(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericEquals":{"a:b":1}}}]}`))
	f.Add([]byte(`{"Statement":{"Effect":"Deny","Principal":{"AWS":["*","arn:aws:iam::123456789012:user/u"]},"Action":"lambda:*","Resource":"arn:aws:lambda:*:*:function:*"}}`))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":{"a:b":"\u003c\u0000\ud800"}}}]}`))
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`))
	f.Add([]byte("\xff\xfe{"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := ParsePolicy(doc)
		if err != nil {
			if p != nil {
				t.Fatal("policy and error")
			}
			return
		}
		b, err := p.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(b) {
			t.Fatalf("MarshalJSON gave invalid JSON: %s", b)
		}
		p2, err := ParsePolicy(b)
		if err != nil {
			t.Fatalf("MarshalJSON's output does not parse: %v\n%s", err, b)
		}
		b2, _ := p2.MarshalJSON()
		if !bytes.Equal(b, b2) {
			t.Fatalf("not stable:\n%s\n%s", b, b2)
		}
		if len(p2.Statements) != len(p.Statements) || p2.Version != p.Version || p2.ID != p.ID {
			t.Fatal("re-parsed policy differs")
		}
		for _, r := range []Request{
			{Action: "lambda:InvokeFunction", Resource: fnA},
			{Action: "lambda:ListFunctions", Resource: "*"},
			{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: map[string]string{"aws:SourceAccount": acctA, "aws:SourceArn": "arn:aws:s3:::b"}},
		} {
			if d1, d2 := p.Identity(r), p2.Identity(r); d1 != d2 {
				t.Fatalf("Identity %v vs %v after a round trip", d1, d2)
			}
			caller := &Principal{Account: acctB, ARN: "arn:aws:iam::" + acctB + ":user/u"}
			if d1, d2 := p.Resource(caller, "", r), p2.Resource(caller, "", r); d1 != d2 {
				t.Fatalf("Resource %v vs %v after a round trip", d1, d2)
			}
		}
	})
}

// FuzzEvaluate: evaluation never panics and keeps the invariants of the
// grammar: a policy without Deny never denies explicitly, one without
// Allow never allows, and Authorize says what the decisions say.
func FuzzEvaluate(f *testing.F) {
	seeds := []struct{ doc, action, resource, key, value string }{
		{validPolicies[0], "lambda:InvokeFunction", fnA, "aws:SourceAccount", "222222222222"},
		{validPolicies[2], "lambda:DeleteFunction", "arn:aws:lambda:us-east-1:1:function:public-x", "", ""},
		{validPolicies[7], "lambda:GetFunction", "*", "x:c", "aXb?"},
		{stmt("Deny", `"Action":"lambda:*","Resource":"*","Condition":{"StringNotLike":{"aws:SourceArn":"arn:*"}}`), "lambda:invokefunction", fnA, "AWS:SOURCEARN", "x"},
		{stmt("Allow", `"Action":"*","Resource":"arn:aws:lambda:*:*:function:*:*"`), "lambda:InvokeFunction", fnA + ":prod", "", ""},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + acctB + `"},"Action":"*","Resource":"*","Condition":{"ArnLikeIfExists":{"aws:PrincipalArn":"arn:aws:iam::*:user/*"}}}]}`, "lambda:GetPolicy", fnA, "aws:PrincipalArn", "arn:aws:iam::1:user/x"},
	}
	for _, s := range seeds {
		f.Add(s.doc, s.action, s.resource, s.key, s.value)
	}
	f.Fuzz(func(t *testing.T, doc, action, resource, key, value string) {
		p, err := ParsePolicy([]byte(doc))
		if err != nil {
			return
		}
		hasAllow, hasDeny := false, false
		for _, st := range p.Statements {
			hasAllow = hasAllow || st.Effect == EffectAllow
			hasDeny = hasDeny || st.Effect == EffectDeny
		}
		r := Request{Action: action, Resource: resource, Context: map[string]string{key: value}}
		callers := []*Principal{
			nil,
			{Account: acctA, ARN: "arn:aws:iam::" + acctA + ":user/u", AccessKeyID: "u", Admin: true},
			{Account: acctB, ARN: "arn:aws:sts::" + acctB + ":assumed-role/r/f", AccessKeyID: "ASIA", Role: "r", Policy: p},
		}
		check := func(what string, d Decision) {
			if d == ExplicitDeny && !hasDeny {
				t.Fatalf("%s: ExplicitDeny from a policy without Deny", what)
			}
			if d == Allow && !hasAllow {
				t.Fatalf("%s: Allow from a policy without Allow", what)
			}
		}
		check("Identity", p.Identity(r))
		for _, c := range callers {
			for _, svc := range []string{"", "s3.amazonaws.com"} {
				check("Resource", p.Resource(c, svc, r))
			}
			rd := p.Resource(c, "", r)
			err := Authorize(c, acctA, p, r)
			msg := ""
			if err != nil {
				se := asSluiceError(err)
				if se == nil || se.Code != "access_denied" {
					t.Fatalf("Authorize: %v", err)
				}
				msg = se.Message
				if !strings.HasPrefix(msg, "User: ") || !strings.Contains(msg, " is not authorized to perform: ") {
					t.Fatalf("message %q", msg)
				}
			}
			switch {
			case c != nil && c.Admin && rd != ExplicitDeny:
				if err != nil {
					t.Fatalf("admin of the account refused: %v", err)
				}
			case rd == ExplicitDeny:
				if c == nil || c.Policy.Identity(withPrincipalKeys(c, r)) != ExplicitDeny {
					if !strings.HasSuffix(msg, "with an explicit deny in a resource-based policy") {
						t.Fatalf("resource policy denies, Authorize says %q", msg)
					}
				}
			case c == nil:
				if (rd == Allow) != (err == nil) {
					t.Fatalf("anonymous: resource policy %v, Authorize %v", rd, err)
				}
			}
		}
	})
}

// FuzzParseAuthFile: any input is refused or loads; no error and no
// printed or logged form of a Directory contains a secret of the input.
func FuzzParseAuthFile(f *testing.F) {
	f.Add([]byte(validAuthFile))
	f.Add([]byte(authFile(`{"AccessKeyId":"AKIA1","SecretAccessKey":"` + secretA + `","Policy":{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}}`)))
	f.Add([]byte(authFile(`{"AccessKeyId":"AKIA1","SecretAccessKey":"`+secretA+`"}`, `{"AccessKeyId":"AKIA1","SecretAccessKey":"`+secretB+`"}`)))
	f.Add([]byte(authFile(`{"AccessKeyId":"AKIA1","SecretAccessKey":"` + secretA + `\x"}`)))
	f.Add([]byte(authFile(`{"AccessKeyId":"AKIA1","SecretAccessKey":"` + secretA + ` "}`)))
	f.Fuzz(func(t *testing.T, doc []byte) {
		secrets := secretsIn(doc)
		d, err := ParseAuthFile(doc)
		if err != nil {
			if d != nil {
				t.Fatal("directory and error")
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error %q contains secret %q", err, s)
				}
			}
			return
		}
		var logs bytes.Buffer
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "d", d)
		out := fmt.Sprintf("%v %+v %#v %s %x %d", d, *d, d, d, d, d) + logs.String()
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Fatalf("secret %q printed: %s", s, out)
			}
		}
		if len(d.Accounts()) == 0 {
			t.Fatal("a directory without accounts")
		}
		for _, acct := range d.Accounts() {
			if !accountRE.MatchString(acct) {
				t.Fatalf("account %q", acct)
			}
		}
	})
}

// secretsIn returns the SecretAccessKey values of doc (when it is JSON)
// that are long enough and do not occur inside any other string of the
// document, so that finding one in an error or output means it leaked.
func secretsIn(doc []byte) []string {
	v, err := parseJSON(doc)
	if err != nil {
		return nil
	}
	var secrets, others []string
	var walk func(v *jvalue)
	walk = func(v *jvalue) {
		switch v.kind {
		case kString, kNumber, kBool:
			others = append(others, v.str)
		case kArray:
			for _, e := range v.arr {
				walk(e)
			}
		case kObject:
			for _, m := range v.obj {
				others = append(others, m.name)
				if m.name == "SecretAccessKey" && m.val.kind == kString {
					secrets = append(secrets, m.val.str)
					continue
				}
				walk(m.val)
			}
		}
	}
	walk(v)
	var out []string
	for _, s := range secrets {
		if len(s) < 8 {
			continue
		}
		leaked := true
		for _, o := range others {
			if strings.Contains(o, s) {
				leaked = false
				break
			}
		}
		if leaked {
			out = append(out, s)
		}
	}
	return out
}

// FuzzWildMatch: wildMatch agrees with the regular expression its pattern
// stands for ("*" → ".*", "?" → ".", the rest literal).
func FuzzWildMatch(f *testing.F) {
	for _, s := range [][2]string{{"a*c", "abbc"}, {"?", "é"}, {"*a*a*b", "aaaa"}, {"lambda:Invoke*", "lambda:InvokeFunction"}, {"*:*", "a\nb:c"}, {"a?", "a\xff"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if !utf8.ValidString(pattern) {
			return
		}
		var re strings.Builder
		re.WriteString(`(?s)\A`)
		for _, r := range pattern {
			switch r {
			case '*':
				re.WriteString(".*")
			case '?':
				re.WriteString(".")
			default:
				re.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		re.WriteString(`\z`)
		want := regexp.MustCompile(re.String()).MatchString(s)
		if got := wildMatch(pattern, s); got != want {
			t.Fatalf("wildMatch(%q, %q) = %v, regexp %s says %v", pattern, s, got, re.String(), want)
		}
	})
}

// FuzzMinterOpen: Open never panics, and what it accepts is what m minted.
func FuzzMinterOpen(f *testing.F) {
	m := NewMinter(testKey, func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) })
	cr := m.Mint("111111111111", "r", "f", time.Hour)
	f.Add(cr.AccessKeyID, cr.SessionToken)
	f.Add(cr.AccessKeyID, cr.SessionToken[1:])
	f.Add("ASIA", "AQ")
	f.Fuzz(func(t *testing.T, keyID, token string) {
		secret, p, err := m.Open(keyID, token)
		if err == nil {
			// Only tokens m minted open (the seeds'; the fuzzer's worker
			// processes mint their own): everything must be as minted.
			if p == nil || p.AccessKeyID != keyID || p.Account != "111111111111" || p.Role != "r" || secret != m.secret(keyID) || !strings.HasPrefix(keyID, "ASIA") {
				t.Fatalf("Open accepted %q, %q: %+v", keyID, token, p)
			}
			return
		}
		if se := asSluiceError(err); se == nil || (se.Code != "unrecognized_client" && se.Code != "expired_token") {
			t.Fatalf("Open: %v", err)
		}
	})
}
