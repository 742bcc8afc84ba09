package iam

import (
	"fmt"
	"strings"
	"testing"
)

const (
	acctA = "111111111111"
	acctB = "222222222222"
	fnA   = "arn:aws:lambda:us-east-1:" + acctA + ":function:f"
)

func mustPolicy(t testing.TB, doc string) *Policy {
	t.Helper()
	p, err := ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatalf("ParsePolicy(%s): %v", doc, err)
	}
	return p
}

// stmt builds a one-statement identity policy from the statement's
// elements after Effect.
func stmt(effect, rest string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"` + effect + `",` + rest + `}]}`
}

func req(action, resource string, ctx ...string) Request {
	r := Request{Action: action, Resource: resource}
	if len(ctx) > 0 {
		r.Context = map[string]string{}
		for i := 0; i+1 < len(ctx); i += 2 {
			r.Context[ctx[i]] = ctx[i+1]
		}
	}
	return r
}

func TestIdentity(t *testing.T) {
	type check struct {
		r    Request
		want Decision
	}
	const invoke = "lambda:InvokeFunction"
	for _, tc := range []struct {
		name   string
		doc    string
		checks []check
	}{
		{"allow all", stmt("Allow", `"Action":"*","Resource":"*"`), []check{
			{req(invoke, fnA), Allow},
			{req("lambda:ListFunctions", "*"), Allow},
			{req("s3:GetObject", "arn:aws:s3:::b/k"), Allow},
		}},
		{"action exact, case-insensitive", stmt("Allow", `"Action":"lambda:InvokeFunction","Resource":"*"`), []check{
			{req(invoke, fnA), Allow},
			{req("LAMBDA:invokefunction", fnA), Allow},
			{req("lambda:InvokeFunctionUrl", fnA), ImplicitDeny},
			{req("lambda:GetFunction", fnA), ImplicitDeny},
		}},
		{"action wildcards", stmt("Allow", `"Action":["lambda:Invoke*","lambda:Get?unction","Lambda:LIST*"],"Resource":"*"`), []check{
			{req(invoke, fnA), Allow},
			{req("lambda:InvokeFunctionUrl", fnA), Allow},
			{req("lambda:invokeasync", fnA), Allow},
			{req("lambda:GetFunction", fnA), Allow},
			{req("lambda:GetFunctionConfiguration", fnA), ImplicitDeny},
			{req("lambda:ListFunctions", "*"), Allow},
			{req("lambda:DeleteFunction", fnA), ImplicitDeny},
			{req("s3:InvokeFunction", fnA), ImplicitDeny},
		}},
		{"service wildcard", stmt("Allow", `"Action":"lambda:*","Resource":"*"`), []check{
			{req(invoke, fnA), Allow},
			{req("lambda:CreateFunction", "*"), Allow},
			{req("s3:GetObject", "*"), ImplicitDeny},
			{req("lambdax:GetObject", "*"), ImplicitDeny},
		}},
		{"resource exact, case-sensitive", stmt("Allow", `"Action":"*","Resource":"`+fnA+`"`), []check{
			{req(invoke, fnA), Allow},
			{req(invoke, strings.Replace(fnA, ":f", ":F", 1)), ImplicitDeny},
			{req(invoke, fnA+":prod"), ImplicitDeny},
			{req(invoke, fnA+"x"), ImplicitDeny},
			{req("lambda:ListFunctions", "*"), ImplicitDeny},
			{req("lambda:ListFunctions", ""), ImplicitDeny},
		}},
		{"resource wildcards by segment", stmt("Allow", `"Action":"*","Resource":["arn:aws:lambda:*:`+acctA+`:function:f*","arn:aws:lambda:us-east-?:`+acctB+`:function:g:*"]`), []check{
			{req(invoke, fnA), Allow},
			{req(invoke, fnA+":prod"), Allow},
			{req(invoke, "arn:aws:lambda:eu-west-1:"+acctA+":function:fx"), Allow},
			{req(invoke, "arn:aws:lambda:eu-west-1:"+acctB+":function:f"), ImplicitDeny},
			{req(invoke, "arn:aws:lambda:us-east-2:"+acctB+":function:g:1"), Allow},
			{req(invoke, "arn:aws:lambda:us-east-2:"+acctB+":function:g"), ImplicitDeny},
			{req(invoke, "arn:aws:lambda:us-east-12:"+acctB+":function:g:1"), ImplicitDeny},
		}},
		{"NotAction", stmt("Allow", `"NotAction":["lambda:Delete*","lambda:Put*"],"Resource":"*"`), []check{
			{req(invoke, fnA), Allow},
			{req("lambda:DeleteFunction", fnA), ImplicitDeny},
			{req("lambda:putfunctionconcurrency", fnA), ImplicitDeny},
		}},
		{"NotResource", stmt("Allow", `"Action":"lambda:*","NotResource":"arn:aws:lambda:*:*:function:secret*"`), []check{
			{req(invoke, fnA), Allow},
			{req(invoke, "arn:aws:lambda:us-east-1:"+acctA+":function:secret-x"), ImplicitDeny},
			{req("lambda:ListFunctions", "*"), Allow},
		}},
		{"explicit deny wins", `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":"*","Resource":"*"},
			{"Effect":"Deny","Action":"lambda:InvokeFunction","Resource":"` + fnA + `"},
			{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"` + fnA + `"}]}`, []check{
			{req(invoke, fnA), ExplicitDeny},
			{req(invoke, fnA+":1"), Allow},
			{req("lambda:GetFunction", fnA), Allow},
		}},
		{"deny only", stmt("Deny", `"Action":"*","Resource":"*"`), []check{
			{req(invoke, fnA), ExplicitDeny},
		}},
		{"deny with NotAction", `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":"*","Resource":"*"},
			{"Effect":"Deny","NotAction":"lambda:Get*","Resource":"*"}]}`, []check{
			{req("lambda:GetFunction", fnA), Allow},
			{req(invoke, fnA), ExplicitDeny},
		}},
		// Conditions: each operator, with the key present, different, missing.
		{"StringEquals", stmt("Allow", `"Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:SourceAccount":["`+acctA+`","`+acctB+`"]}}`), []check{
			{req(invoke, fnA, "aws:SourceAccount", acctA), Allow},
			{req(invoke, fnA, "aws:SourceAccount", acctB), Allow},
			{req(invoke, fnA, "AWS:SOURCEACCOUNT", acctB), Allow}, // key names are case-insensitive
			{req(invoke, fnA, "aws:SourceAccount", "333333333333"), ImplicitDeny},
			{req(invoke, fnA), ImplicitDeny},
			{req(invoke, fnA, "aws:SourceArn", acctA), ImplicitDeny},
		}},
		{"StringEquals is case-sensitive", stmt("Allow", `"Action":"*","Resource":"*","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"}}`), []check{
			{req(invoke, fnA, "lambda:FunctionUrlAuthType", "NONE"), Allow},
			{req(invoke, fnA, "lambda:FunctionUrlAuthType", "none"), ImplicitDeny},
		}},
		{"StringNotEquals", stmt("Allow", `"Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:SourceAccount":["`+acctA+`","`+acctB+`"]}}`), []check{
			{req(invoke, fnA, "aws:SourceAccount", acctA), ImplicitDeny},
			{req(invoke, fnA, "aws:SourceAccount", acctB), ImplicitDeny},
			{req(invoke, fnA, "aws:SourceAccount", "333333333333"), Allow},
			{req(invoke, fnA), Allow}, // negated operator, key missing: true
		}},
		{"StringEqualsIgnoreCase", stmt("Allow", `"Action":"*","Resource":"*","Condition":{"StringEqualsIgnoreCase":{"lambda:FunctionUrlAuthType":"aws_iam"}}`), []check{
			{req(invoke, fnA, "lambda:FunctionUrlAuthType", "AWS_IAM"), Allow},
			{req(invoke, fnA, "lambda:FunctionUrlAuthType", "NONE"), ImplicitDeny},
			{req(invoke, fnA), ImplicitDeny},
		}},
		{"StringNotEqualsIgnoreCase", stmt("Allow", `"Action":"*","Resource":"*","Condition":{"StringNotEqualsIgnoreCase":{"lambda:FunctionUrlAuthType":"none"}}`), []check{
			{req(invoke, fnA, "lambda:FunctionUrlAuthType", "NONE"), ImplicitDeny},
			{req(invoke, fnA, "lambda:FunctionUrlAuthType", "AWS_IAM"), Allow},
			{req(invoke, fnA), Allow},
		}},
		{"StringLike", stmt("Allow", `"Action":"*","Resource":"*","Condition":{"StringLike":{"aws:SourceArn":["arn:aws:s3:::logs-*","arn:aws:sns:*:?11111111111:*"]}}`), []check{
			{req(invoke, fnA, "aws:SourceArn", "arn:aws:s3:::logs-eu"), Allow},
			{req(invoke, fnA, "aws:SourceArn", "arn:aws:s3:::Logs-eu"), ImplicitDeny},
			// StringLike's star spans colons (unlike ArnLike's).
			{req(invoke, fnA, "aws:SourceArn", "arn:aws:sns:us-east-1:x:"+acctA+":topic"), Allow},
			{req(invoke, fnA, "aws:SourceArn", "arn:aws:sns:us-east-1:"+acctA), ImplicitDeny},
			{req(invoke, fnA, "aws:SourceArn", "arn:aws:sns:us-east-1:"+acctA+":topic"), Allow},
			{req(invoke, fnA), ImplicitDeny},
		}},
		{"StringLike spans parts", stmt("Allow", `"Action":"*","Resource":"*","Condition":{"StringLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"}}`), []check{
			{req(invoke, fnA, "aws:SourceArn", "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"), Allow},
		}},
		{"StringNotLike", stmt("Allow", `"Action":"*","Resource":"*","Condition":{"StringNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/temp-*"}}`), []check{
			{req(invoke, fnA, "aws:PrincipalArn", "arn:aws:iam::"+acctA+":user/temp-1"), ImplicitDeny},
			{req(invoke, fnA, "aws:PrincipalArn", "arn:aws:iam::"+acctA+":user/alice"), Allow},
			{req(invoke, fnA), Allow},
		}},
		{"ArnEquals and ArnLike", stmt("Allow", `"Action":"*","Resource":"*","Condition":{"ArnEquals":{"lambda:FunctionArn":"arn:aws:lambda:*:`+acctA+`:function:f"},"ArnLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"}}`), []check{
			{req(invoke, fnA, "lambda:FunctionArn", fnA, "aws:SourceArn", "arn:aws:someservice:us-east-2:111122223333:finance/x"), Allow},
			// AWS's example: ArnLike's star stays inside its part.
			{req(invoke, fnA, "lambda:FunctionArn", fnA, "aws:SourceArn", "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"), ImplicitDeny},
			{req(invoke, fnA, "lambda:FunctionArn", fnA+":1", "aws:SourceArn", "arn:aws:someservice:us-east-2:111122223333:finance/x"), ImplicitDeny},
			{req(invoke, fnA, "aws:SourceArn", "arn:aws:someservice:us-east-2:111122223333:finance/x"), ImplicitDeny}, // one key missing
		}},
		{"ArnNotEquals", stmt("Allow", `"Action":"*","Resource":"*","Condition":{"ArnNotEquals":{"lambda:FunctionArn":"`+fnA+`"}}`), []check{
			{req(invoke, fnA, "lambda:FunctionArn", fnA), ImplicitDeny},
			{req(invoke, fnA, "lambda:FunctionArn", fnA+":1"), Allow},
			{req(invoke, fnA), Allow},
		}},
		{"ArnNotLike", stmt("Allow", `"Action":"*","Resource":"*","Condition":{"ArnNotLike":{"lambda:FunctionArn":"arn:aws:lambda:*:*:function:f*"}}`), []check{
			{req(invoke, fnA, "lambda:FunctionArn", fnA+":1"), ImplicitDeny},
			{req(invoke, fnA, "lambda:FunctionArn", "arn:aws:lambda:us-east-1:"+acctA+":function:g"), Allow},
			{req(invoke, fnA, "lambda:FunctionArn", "not an arn"), Allow},
			{req(invoke, fnA), Allow},
		}},
		{"IfExists", stmt("Allow", `"Action":"*","Resource":"*","Condition":{"StringEqualsIfExists":{"aws:SourceAccount":"`+acctA+`"},"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:s3:::*"}}`), []check{
			{req(invoke, fnA), Allow},
			{req(invoke, fnA, "aws:SourceAccount", acctA), Allow},
			{req(invoke, fnA, "aws:SourceAccount", acctB), ImplicitDeny},
			{req(invoke, fnA, "aws:SourceArn", "arn:aws:s3:::b"), Allow},
			{req(invoke, fnA, "aws:SourceArn", "arn:aws:sns:us-east-1:"+acctA+":t"), ImplicitDeny},
		}},
		{"negated IfExists", stmt("Deny", `"Action":"*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:SourceAccount":"`+acctA+`"}}`), []check{
			{req(invoke, fnA), ExplicitDeny}, // "the request is still denied even if the tag is missing"
			{req(invoke, fnA, "aws:SourceAccount", acctB), ExplicitDeny},
			{req(invoke, fnA, "aws:SourceAccount", acctA), ImplicitDeny},
		}},
		{"Null", stmt("Allow", `"Action":"*","Resource":"*","Condition":{"Null":{"aws:SourceArn":"true","aws:SourceAccount":false}}`), []check{
			{req(invoke, fnA, "aws:SourceAccount", acctA), Allow},
			{req(invoke, fnA), ImplicitDeny},
			{req(invoke, fnA, "aws:SourceAccount", acctA, "aws:SourceArn", "arn:aws:s3:::b"), ImplicitDeny},
		}},
		{"Bool", stmt("Deny", `"Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}`), []check{
			{req(invoke, fnA, "aws:SecureTransport", "false"), ExplicitDeny},
			{req(invoke, fnA, "aws:SecureTransport", "FALSE"), ExplicitDeny},
			{req(invoke, fnA, "aws:SecureTransport", "true"), ImplicitDeny},
			{req(invoke, fnA), ImplicitDeny},
		}},
		{"BoolIfExists", stmt("Allow", `"Action":"*","Resource":"*","Condition":{"BoolIfExists":{"aws:SecureTransport":true}}`), []check{
			{req(invoke, fnA), Allow},
			{req(invoke, fnA, "aws:SecureTransport", "true"), Allow},
			{req(invoke, fnA, "aws:SecureTransport", "false"), ImplicitDeny},
		}},
		{"several operators and keys are ANDed", stmt("Allow", `"Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:SourceAccount":"`+acctA+`","lambda:FunctionUrlAuthType":"NONE"},"StringLike":{"aws:SourceArn":"arn:*"}}`), []check{
			{req(invoke, fnA, "aws:SourceAccount", acctA, "lambda:FunctionUrlAuthType", "NONE", "aws:SourceArn", "arn:x"), Allow},
			{req(invoke, fnA, "aws:SourceAccount", acctA, "lambda:FunctionUrlAuthType", "NONE"), ImplicitDeny},
			{req(invoke, fnA, "aws:SourceAccount", acctA, "aws:SourceArn", "arn:x"), ImplicitDeny},
		}},
		{"numbers as values", stmt("Allow", `"Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:SourceAccount":111111111111}}`), []check{
			{req(invoke, fnA, "aws:SourceAccount", acctA), Allow},
		}},
		{"principal element not considered in identity evaluation", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"` + acctB + `"},"Action":"*","Resource":"*"}}`, []check{
			{req(invoke, fnA), Allow},
		}},
		{"empty statement list", `{"Version":"2012-10-17","Statement":[]}`, []check{
			{req(invoke, fnA), ImplicitDeny},
		}},
	} {
		p := mustPolicy(t, tc.doc)
		for _, c := range tc.checks {
			if got := p.Identity(c.r); got != c.want {
				t.Errorf("%s: Identity(%s on %s, %v) = %v, want %v", tc.name, c.r.Action, c.r.Resource, c.r.Context, got, c.want)
			}
		}
	}
	var nilPolicy *Policy
	if got := nilPolicy.Identity(req(invoke, fnA)); got != ImplicitDeny {
		t.Errorf("nil policy: %v", got)
	}
}

func TestResourcePolicyPrincipals(t *testing.T) {
	user := func(acct, name string) *Principal {
		return &Principal{Account: acct, ARN: "arn:aws:iam::" + acct + ":user/" + name, AccessKeyID: name}
	}
	session := func(acct, role, fn string) *Principal {
		return &Principal{Account: acct, ARN: "arn:aws:sts::" + acct + ":assumed-role/" + role + "/" + fn, AccessKeyID: "ASIA", Role: role}
	}
	r := req("lambda:InvokeFunction", fnA)
	type check struct {
		caller  *Principal
		service string
		want    Decision
	}
	policy := func(principal string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + principal + `,"Action":"lambda:InvokeFunction","Resource":"` + fnA + `"}]}`
	}
	for _, tc := range []struct {
		name   string
		doc    string
		checks []check
	}{
		{"star", policy(`"Principal":"*"`), []check{
			{user(acctB, "bob"), "", Allow},
			{nil, "", Allow}, // anonymous
			{nil, "s3.amazonaws.com", Allow},
		}},
		{"AWS star", policy(`"Principal":{"AWS":"*"}`), []check{
			{user(acctB, "bob"), "", Allow},
			{nil, "", Allow},
		}},
		{"account id", policy(`"Principal":{"AWS":"` + acctB + `"}`), []check{
			{user(acctB, "bob"), "", Allow},
			{session(acctB, "r", "fn"), "", Allow},
			{user(acctA, "alice"), "", ImplicitDeny},
			{nil, "", ImplicitDeny},
			{nil, "s3.amazonaws.com", ImplicitDeny},
		}},
		{"account root ARN", policy(`"Principal":{"AWS":"arn:aws:iam::` + acctB + `:root"}`), []check{
			{user(acctB, "bob"), "", Allow},
			{user(acctA, "alice"), "", ImplicitDeny},
		}},
		{"user ARN", policy(`"Principal":{"AWS":["arn:aws:iam::` + acctB + `:user/bob"]}`), []check{
			{user(acctB, "bob"), "", Allow},
			{user(acctB, "Bob"), "", ImplicitDeny},
			{user(acctB, "carol"), "", ImplicitDeny},
			{user(acctA, "bob"), "", ImplicitDeny},
		}},
		{"role ARN: its sessions", policy(`"Principal":{"AWS":"arn:aws:iam::` + acctB + `:role/team/fn-role"}`), []check{
			{session(acctB, "fn-role", "any-function"), "", Allow},
			{session(acctB, "other", "any-function"), "", ImplicitDeny},
			{session(acctA, "fn-role", "any-function"), "", ImplicitDeny},
			{user(acctB, "fn-role"), "", ImplicitDeny},
		}},
		{"session ARN", policy(`"Principal":{"AWS":"arn:aws:sts::` + acctB + `:assumed-role/r/fn"}`), []check{
			{session(acctB, "r", "fn"), "", Allow},
			{session(acctB, "r", "other"), "", ImplicitDeny},
		}},
		{"service", policy(`"Principal":{"Service":["s3.amazonaws.com","events.amazonaws.com"]}`), []check{
			{nil, "s3.amazonaws.com", Allow},
			{nil, "events.amazonaws.com", Allow},
			{nil, "sns.amazonaws.com", ImplicitDeny},
			{user(acctA, "alice"), "", ImplicitDeny},
			{nil, "", ImplicitDeny},
		}},
		{"service and account", policy(`"Principal":{"Service":"s3.amazonaws.com","AWS":"` + acctB + `"}`), []check{
			{nil, "s3.amazonaws.com", Allow},
			{user(acctB, "bob"), "", Allow},
			{user(acctA, "alice"), "", ImplicitDeny},
		}},
		{"NotPrincipal", `{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},
			{"Effect":"Deny","NotPrincipal":{"AWS":"` + acctA + `"},"Action":"*","Resource":"*"}]}`, []check{
			{user(acctA, "alice"), "", Allow},
			{user(acctB, "bob"), "", ExplicitDeny},
			{nil, "s3.amazonaws.com", ExplicitDeny},
		}},
		{"statement without principal never applies", stmt("Allow", `"Action":"*","Resource":"*"`), []check{
			{user(acctA, "alice"), "", ImplicitDeny},
			{nil, "", ImplicitDeny},
		}},
		{"service with SourceAccount condition", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"` + fnA + `","Condition":{"StringEquals":{"AWS:SourceAccount":"` + acctA + `"}}}]}`, []check{
			{nil, "s3.amazonaws.com", ImplicitDeny}, // no aws:SourceAccount in the context
		}},
		{"aws:PrincipalAccount filled from the caller", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"` + acctB + `"}}}]}`, []check{
			{user(acctB, "bob"), "", Allow},
			{user(acctA, "alice"), "", ImplicitDeny},
			{nil, "", ImplicitDeny},
		}},
		{"aws:PrincipalArn of a session is its role's ARN", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::` + acctB + `:role/r"}}}]}`, []check{
			{session(acctB, "r", "fn"), "", Allow},
			{session(acctB, "r2", "fn"), "", ImplicitDeny},
			{user(acctB, "r"), "", ImplicitDeny},
		}},
	} {
		p := mustPolicy(t, tc.doc)
		for _, c := range tc.checks {
			if got := p.Resource(c.caller, c.service, r); got != c.want {
				t.Errorf("%s: Resource(%v, %q) = %v, want %v", tc.name, c.caller, c.service, got, c.want)
			}
		}
	}
	// The caller's context map is not modified.
	ctx := map[string]string{"aws:SourceAccount": acctA}
	mustPolicy(t, policy(`"Principal":"*"`)).Resource(user(acctB, "bob"), "", Request{Action: "lambda:InvokeFunction", Resource: fnA, Context: ctx})
	if len(ctx) != 1 {
		t.Errorf("Resource modified the request's context: %v", ctx)
	}
	// A context that sets the keys keeps them.
	p := mustPolicy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"`+acctA+`"}}}]}`)
	if got := p.Resource(user(acctB, "bob"), "", req("lambda:InvokeFunction", fnA, "aws:PrincipalAccount", acctA, "aws:PrincipalArn", "x")); got != Allow {
		t.Errorf("context keys were overridden: %v", got)
	}
}

func TestAuthorize(t *testing.T) {
	admin := func(acct string) *Principal {
		return &Principal{Account: acct, ARN: "arn:aws:iam::" + acct + ":user/ADMIN" + acct, AccessKeyID: "ADMIN" + acct, Admin: true}
	}
	withPolicy := func(acct, doc string) *Principal {
		return &Principal{Account: acct, ARN: "arn:aws:iam::" + acct + ":user/K" + acct, AccessKeyID: "K" + acct, Policy: mustPolicy(t, doc)}
	}
	fnRole := func(acct, role, fn, doc string) *Principal {
		p := &Principal{Account: acct, ARN: "arn:aws:sts::" + acct + ":assumed-role/" + role + "/" + fn, AccessKeyID: "ASIAAAAAAAAAAAAAAAAA", Role: role}
		if doc == "" {
			p.Admin = true
		} else {
			p.Policy = mustPolicy(t, doc)
		}
		return p
	}
	grant := func(principal string) *Policy {
		return mustPolicy(t, `{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"g","Effect":"Allow","Principal":`+principal+`,"Action":"lambda:InvokeFunction","Resource":"`+fnA+`"}]}`)
	}
	denyInvoke := stmt("Deny", `"Action":"lambda:InvokeFunction","Resource":"*"`)
	allowAll := stmt("Allow", `"Action":"*","Resource":"*"`)
	allowGet := stmt("Allow", `"Action":"lambda:Get*","Resource":"*"`)
	const invoke = "lambda:InvokeFunction"

	for _, tc := range []struct {
		name     string
		caller   *Principal
		account  string
		resource *Policy
		r        Request
		want     string // "" for allowed
	}{
		{"admin, own account", admin(acctA), acctA, nil, req(invoke, fnA), ""},
		{"admin, own account, account-wide action", admin(acctA), acctA, nil, req("lambda:ListFunctions", "*"), ""},
		{"identity allows", withPolicy(acctA, allowAll), acctA, nil, req(invoke, fnA), ""},
		{"identity allows Get only", withPolicy(acctA, allowGet), acctA, nil, req(invoke, fnA),
			"User: arn:aws:iam::111111111111:user/K111111111111 is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:111111111111:function:f because no identity-based policy allows the lambda:InvokeFunction action"},
		{"no policy at all", &Principal{Account: acctA, ARN: "arn:aws:iam::111111111111:user/x"}, acctA, nil, req("lambda:ListFunctions", "*"),
			"User: arn:aws:iam::111111111111:user/x is not authorized to perform: lambda:ListFunctions on resource: * because no identity-based policy allows the lambda:ListFunctions action"},
		{"empty resource is *", withPolicy(acctA, allowGet), acctA, nil, req("lambda:ListFunctions", ""),
			"User: arn:aws:iam::111111111111:user/K111111111111 is not authorized to perform: lambda:ListFunctions on resource: * because no identity-based policy allows the lambda:ListFunctions action"},
		{"identity denies", withPolicy(acctA, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"lambda:InvokeFunction","Resource":"*"}]}`), acctA, nil, req(invoke, fnA),
			"User: arn:aws:iam::111111111111:user/K111111111111 is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:111111111111:function:f with an explicit deny in an identity-based policy"},
		{"identity deny beats resource allow", withPolicy(acctA, denyInvoke), acctA, grant(`"*"`), req(invoke, fnA),
			"User: arn:aws:iam::111111111111:user/K111111111111 is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:111111111111:function:f with an explicit deny in an identity-based policy"},
		{"same account: resource policy alone allows", withPolicy(acctA, allowGet), acctA, grant(`{"AWS":"` + acctA + `"}`), req(invoke, fnA), ""},
		{"same account: resource policy for someone else", withPolicy(acctA, allowGet), acctA, grant(`{"AWS":"arn:aws:iam::111111111111:user/other"}`), req(invoke, fnA),
			"User: arn:aws:iam::111111111111:user/K111111111111 is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:111111111111:function:f because no identity-based policy allows the lambda:InvokeFunction action"},
		{"resource policy denies the admin", admin(acctA), acctA, mustPolicy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"lambda:InvokeFunction","Resource":"`+fnA+`"}]}`), req(invoke, fnA),
			"User: arn:aws:iam::111111111111:user/ADMIN111111111111 is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:111111111111:function:f with an explicit deny in a resource-based policy"},
		// Cross-account.
		{"admin of B on A, no resource policy", admin(acctB), acctA, nil, req(invoke, fnA),
			"User: arn:aws:iam::222222222222:user/ADMIN222222222222 is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:111111111111:function:f because no resource-based policy allows the lambda:InvokeFunction action"},
		{"admin of B on A, policy grants B's account", admin(acctB), acctA, grant(`{"AWS":"` + acctB + `"}`), req(invoke, fnA), ""},
		{"admin of B on A, policy grants B's root", admin(acctB), acctA, grant(`{"AWS":"arn:aws:iam::` + acctB + `:root"}`), req(invoke, fnA), ""},
		{"admin of B on A, policy grants another account", admin(acctB), acctA, grant(`{"AWS":"333333333333"}`), req(invoke, fnA),
			"User: arn:aws:iam::222222222222:user/ADMIN222222222222 is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:111111111111:function:f because no resource-based policy allows the lambda:InvokeFunction action"},
		{"admin of B on A, granted invoke but asks GetFunction", admin(acctB), acctA, grant(`{"AWS":"` + acctB + `"}`), req("lambda:GetFunction", fnA),
			"User: arn:aws:iam::222222222222:user/ADMIN222222222222 is not authorized to perform: lambda:GetFunction on resource: arn:aws:lambda:us-east-1:111111111111:function:f because no resource-based policy allows the lambda:GetFunction action"},
		{"key of B without identity permission, resource grants B", withPolicy(acctB, allowGet), acctA, grant(`{"AWS":"` + acctB + `"}`), req(invoke, fnA),
			"User: arn:aws:iam::222222222222:user/K222222222222 is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:111111111111:function:f because no identity-based policy allows the lambda:InvokeFunction action"},
		{"key of B allowed on both sides", withPolicy(acctB, allowAll), acctA, grant(`{"AWS":"` + acctB + `"}`), req(invoke, fnA), ""},
		{"key of B denied by identity", withPolicy(acctB, denyInvoke), acctA, grant(`"*"`), req(invoke, fnA),
			"User: arn:aws:iam::222222222222:user/K222222222222 is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:111111111111:function:f with an explicit deny in an identity-based policy"},
		{"resource policy denies B", admin(acctB), acctA, mustPolicy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Effect":"Deny","Principal":{"AWS":"`+acctB+`"},"Action":"*","Resource":"*"}]}`), req(invoke, fnA),
			"User: arn:aws:iam::222222222222:user/ADMIN222222222222 is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:111111111111:function:f with an explicit deny in a resource-based policy"},
		// Function credentials.
		{"function role admin of its own account", fnRole(acctA, "r", "caller", ""), acctA, nil, req(invoke, fnA), ""},
		{"function role admin, other account", fnRole(acctB, "r", "caller", ""), acctA, nil, req(invoke, fnA),
			"User: arn:aws:sts::222222222222:assumed-role/r/caller is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:111111111111:function:f because no resource-based policy allows the lambda:InvokeFunction action"},
		{"function role may invoke one ARN", fnRole(acctA, "r", "caller", stmt("Allow", `"Action":"lambda:InvokeFunction","Resource":"`+fnA+`"`)), acctA, nil, req(invoke, fnA), ""},
		{"function role may not list", fnRole(acctA, "r", "caller", stmt("Allow", `"Action":"lambda:InvokeFunction","Resource":"`+fnA+`"`)), acctA, nil, req("lambda:ListFunctions", "*"),
			"User: arn:aws:sts::111111111111:assumed-role/r/caller is not authorized to perform: lambda:ListFunctions on resource: * because no identity-based policy allows the lambda:ListFunctions action"},
		{"function role of B granted by role ARN", fnRole(acctB, "r", "caller", ""), acctA, grant(`{"AWS":"arn:aws:iam::` + acctB + `:role/r"}`), req(invoke, fnA), ""},
		// Anonymous.
		{"anonymous, no policy", nil, acctA, nil, req("lambda:InvokeFunctionUrl", fnA),
			"User: anonymous is not authorized to perform: lambda:InvokeFunctionUrl on resource: arn:aws:lambda:us-east-1:111111111111:function:f because no resource-based policy allows the lambda:InvokeFunctionUrl action"},
		{"anonymous, public URL policy", nil, acctA, mustPolicy(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"`+fnA+`","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"}}}]}`),
			req("lambda:InvokeFunctionUrl", fnA, "lambda:FunctionUrlAuthType", "NONE"), ""},
		{"anonymous, account grant", nil, acctA, grant(`{"AWS":"` + acctA + `"}`), req(invoke, fnA),
			"User: anonymous is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:111111111111:function:f because no resource-based policy allows the lambda:InvokeFunction action"},
	} {
		err := Authorize(tc.caller, tc.account, tc.resource, tc.r)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: Authorize: %v, want allowed", tc.name, err)
			}
			continue
		}
		se := asSluiceError(err)
		if se == nil {
			t.Errorf("%s: Authorize = %v, want AccessDenied %q", tc.name, err, tc.want)
			continue
		}
		if se.Code != "access_denied" || se.Message != tc.want {
			t.Errorf("%s:\n got %s %q\nwant access_denied %q", tc.name, se.Code, se.Message, tc.want)
		}
	}
}

func TestDecisionString(t *testing.T) {
	for d, want := range map[Decision]string{ImplicitDeny: "ImplicitDeny", Allow: "Allow", ExplicitDeny: "ExplicitDeny", Decision(7): "Decision(?)"} {
		if got := fmt.Sprint(d); got != want {
			t.Errorf("%d prints as %q, want %q", int(d), got, want)
		}
	}
}
