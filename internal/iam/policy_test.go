package iam

import (
	"encoding/json"
	"strings"
	"testing"
)

// Documents that parse, written compactly in AWS's element order, so that
// MarshalJSON must give each back byte for byte.
var validPolicies = []string{
	// A policy as Lambda's GetPolicy returns it.
	`{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:111111111111:function:f","Condition":{"StringEquals":{"AWS:SourceAccount":"222222222222"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::bucket"}}}]}`,
	`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`,
	`{"Version":"2008-10-17","Statement":[{"Effect":"Deny","NotAction":["lambda:Get*","lambda:List*"],"NotResource":"arn:aws:lambda:*:*:function:public-*"}]}`,
	`{"Statement":[{"Effect":"Allow","Action":["lambda:InvokeFunction"],"Resource":["arn:aws:lambda:us-east-1:111111111111:function:a","arn:aws:lambda:us-east-1:111111111111:function:b:*"]}]}`,
	`{"Version":"2012-10-17","Statement":[{"Sid":"AnyOne","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"*","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"}}}]}`,
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::222222222222:root","arn:aws:iam::333333333333:user/alice","arn:aws:iam::333333333333:role/path/to/r","arn:aws:sts::333333333333:assumed-role/r/fn"],"Service":["events.amazonaws.com"]},"Action":"lambda:*","Resource":"*"}]}`,
	`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"*"},"Action":"*","Resource":"*"}]}`,
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:*","Resource":"*","Condition":{"StringNotEquals":{"aws:SourceAccount":["1","2"]},"StringEqualsIgnoreCase":{"x:a":"A"},"StringNotEqualsIgnoreCase":{"x:b":"B"},"StringLike":{"x:c":"a*b?"},"StringNotLike":{"x:d":"*"},"ArnEquals":{"x:e":"arn:aws:s3:::b"},"ArnNotEquals":{"x:f":"arn:aws:s3:::b"},"ArnNotLike":{"x:g":"arn:aws:*:*:*:*"},"StringLikeIfExists":{"x:h":"v"},"ArnLikeIfExists":{"x:i":"*"},"Bool":{"aws:SecureTransport":true},"Null":{"x:j":"true"},"BoolIfExists":{"x:k":"false"}}}]}`,
	`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:*","Resource":"*","Condition":{"StringEquals":{"x:n":[1,2.5,"three",false]}}}]}`,
	// Policy variables are plain text in 2008-10-17 policies.
	`{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"lambda:*","Resource":"arn:aws:lambda:us-east-1:111111111111:function:${aws:username}"}]}`,
	// HTML characters are kept as written.
	`{"Version":"2012-10-17","Id":"<&>","Statement":[]}`,
}

func TestParsePolicyValid(t *testing.T) {
	for _, doc := range validPolicies {
		p, err := ParsePolicy([]byte(doc))
		if err != nil {
			t.Errorf("ParsePolicy(%s): %v", doc, err)
			continue
		}
		got, err := p.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != doc {
			t.Errorf("MarshalJSON:\n got %s\nwant %s", got, doc)
		}
		if !json.Valid(got) {
			t.Errorf("MarshalJSON gave invalid JSON %s", got)
		}
	}
}

func TestParsePolicyFields(t *testing.T) {
	p, err := ParsePolicy([]byte(validPolicies[0]))
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != Version2012 || p.ID != "default" || len(p.Statements) != 1 {
		t.Fatalf("got Version %q Id %q %d statements", p.Version, p.ID, len(p.Statements))
	}
	if st := p.Statements[0]; st.Sid != "s3" || st.Effect != EffectAllow {
		t.Fatalf("statement Sid %q Effect %q", st.Sid, st.Effect)
	}
	b, err := json.Marshal(&p.Statements[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), `{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"}`) {
		t.Fatalf("statement JSON %s", b)
	}
	var nilPolicy *Policy
	if b, _ := nilPolicy.MarshalJSON(); string(b) != "null" {
		t.Fatalf("nil policy marshals as %s", b)
	}
}

func TestParsePolicyIndentedInput(t *testing.T) {
	doc := `{
	  "Version": "2012-10-17",
	  "Statement": [
	    {
	      "Effect": "Allow",
	      "Action": "lambda:InvokeFunction",
	      "Resource": "arn:aws:lambda:us-east-1:111111111111:function:f"
	    }
	  ]
	}`
	p, err := ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := p.MarshalJSON()
	want := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:111111111111:function:f"}]}`
	if string(got) != want {
		t.Fatalf("got %s", got)
	}
}

// Each invalid document is refused with an error naming what is wrong.
func TestParsePolicyInvalid(t *testing.T) {
	const allow = `"Effect":"Allow","Action":"*","Resource":"*"`
	for _, tc := range []struct{ doc, want string }{
		{``, "not valid JSON: unexpected end of input"},
		{`{"Statement":[}`, "not valid JSON at line 1, column 15"},
		{"{\n\"Statement\": x}", "not valid JSON at line 2, column 14"},
		{`{"Statement":[]} {}`, "not valid JSON"},
		{`[]`, "must be an object, not an array"},
		{`"x"`, "must be an object, not a string"},
		{`{}`, `missing required element "Statement"`},
		{`{"Version":"2012-10-17","Version":"2012-10-17","Statement":[]}`, "Version: appears more than once"},
		{`{"version":"2012-10-17","Statement":[]}`, `unknown element "version" (expected "Version", "Id" or "Statement")`},
		{`{"Version":"2012-10-18","Statement":[]}`, `Version: must be "2012-10-17" or "2008-10-17", not "2012-10-18"`},
		{`{"Version":2012,"Statement":[]}`, "Version: must be a string, not a number"},
		{`{"Id":1,"Statement":[]}`, "Id: must be a string, not a number"},
		{`{"Statement":"x"}`, "Statement: must be an object or an array of objects, not a string"},
		{`{"Statement":["x"]}`, "Statement[0]: must be an object, not a string"},
		{`{"Statement":[{"Action":"*","Resource":"*"}]}`, `Statement[0]: missing required element "Effect"`},
		{`{"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}`, `Statement.Effect: must be "Allow" or "Deny", not "allow"`},
		{`{"Statement":[{` + allow + `},{"Effect":true,"Action":"*","Resource":"*"}]}`, `Statement[1].Effect: must be "Allow" or "Deny", not a boolean`},
		{`{"Statement":[{"Effect":"Allow","Resource":"*"}]}`, `Statement[0]: missing required element "Action" (or "NotAction")`},
		{`{"Statement":[{"Effect":"Allow","Action":"*"}]}`, `Statement[0]: missing required element "Resource" (or "NotResource")`},
		{`{"Statement":[{"Effect":"Allow","Action":"*","NotAction":"*","Resource":"*"}]}`, "has both Action and NotAction"},
		{`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}]}`, "has both Resource and NotResource"},
		{`{"Statement":[{"Effect":"Allow","Principal":"*","NotPrincipal":"*","Action":"*","Resource":"*"}]}`, "has both Principal and NotPrincipal"},
		{`{"Statement":[{` + allow + `,"effect":"Deny"}]}`, `Statement[0]: unknown element "effect"`},
		{`{"Statement":[{` + allow + `,"Effect":"Deny"}]}`, "Statement[0].Effect: appears more than once"},
		{`{"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}`, "Statement[0].Action: must not be an empty array"},
		{`{"Statement":[{"Effect":"Allow","Action":["*",1],"Resource":"*"}]}`, "Statement[0].Action[1]: must be a string, not a number"},
		{`{"Statement":[{"Effect":"Allow","Action":{},"Resource":"*"}]}`, "Statement[0].Action: must be a string or an array of strings, not an object"},
		{`{"Statement":[{"Effect":"Allow","Action":"InvokeFunction","Resource":"*"}]}`, `Statement[0].Action: "InvokeFunction": an action must be "*" or service:action`},
		{`{"Statement":[{"Effect":"Allow","Action":["lambda:Get*","lambda:"],"Resource":"*"}]}`, `Statement[0].Action[1]: "lambda:": an action must be`},
		{`{"Statement":[{"Effect":"Allow","NotAction":"lambda: x","Resource":"*"}]}`, `Statement[0].NotAction: "lambda: x"`},
		{`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"my-function"}]}`, `Statement[0].Resource: "my-function": a resource must be "*" or an ARN of six colon-separated parts`},
		{`{"Statement":[{"Effect":"Allow","Action":"*","Resource":["*","arn:aws:lambda:*"]}]}`, `Statement[0].Resource[1]: "arn:aws:lambda:*"`},
		{`{"Statement":[{"Effect":"Allow","Action":"*","NotResource":""}]}`, `Statement[0].NotResource: ""`},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:lambda:us-east-1:1:function:${aws:username}"}]}`, "policy variables (${...}) are not supported"},
		{`{"Statement":[{"Sid":"a b",` + allow + `}]}`, `Statement[0].Sid: "a b": must be at most 100 characters`},
		{`{"Statement":[{"Sid":1,` + allow + `}]}`, "Statement[0].Sid: must be a string"},
		{`{"Statement":[{"Sid":"x",` + allow + `},{"Sid":"y",` + allow + `},{"Sid":"x",` + allow + `}]}`, `Statement[2].Sid: "x" is also the Sid of Statement[0]`},
		// Principal
		{`{"Statement":[{` + allow + `,"Principal":"arn:aws:iam::123456789012:root"}]}`, `Statement[0].Principal: "arn:aws:iam::123456789012:root": must be "*" or an object`},
		{`{"Statement":[{` + allow + `,"Principal":["*"]}]}`, `Statement[0].Principal: must be "*" or an object with "AWS" or "Service", not an array`},
		{`{"Statement":[{` + allow + `,"Principal":{}}]}`, "Statement[0].Principal: must name at least one principal"},
		{`{"Statement":[{` + allow + `,"Principal":{"Federated":"cognito-identity.amazonaws.com"}}]}`, "Statement[0].Principal.Federated: federated principals are not supported"},
		{`{"Statement":[{` + allow + `,"Principal":{"CanonicalUser":"79a5"}}]}`, "Statement[0].Principal.CanonicalUser: canonical user principals"},
		{`{"Statement":[{` + allow + `,"Principal":{"aws":"*"}}]}`, `Statement[0].Principal: unknown element "aws" (expected "AWS" or "Service")`},
		{`{"Statement":[{` + allow + `,"Principal":{"AWS":"1234"}}]}`, `Statement[0].Principal.AWS: "1234": an AWS principal must be`},
		{`{"Statement":[{` + allow + `,"Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:user/*"]}}]}`, `Statement[0].Principal.AWS[1]: "arn:aws:iam::123456789012:user/*": a principal cannot have wildcards`},
		{`{"Statement":[{` + allow + `,"Principal":{"AWS":"arn:aws:iam::123456789012:group/g"}}]}`, "not a supported principal ARN"},
		{`{"Statement":[{` + allow + `,"Principal":{"AWS":"arn:aws:sts::123456789012:assumed-role/r"}}]}`, "not a supported principal ARN"},
		{`{"Statement":[{` + allow + `,"Principal":{"AWS":"arn:aws:sts::123456789012:federated-user/u"}}]}`, "not a supported principal ARN"},
		{`{"Statement":[{` + allow + `,"Principal":{"AWS":"arn:aws:iam::123456789012:user/a b"}}]}`, "not a supported principal ARN"},
		{`{"Statement":[{` + allow + `,"Principal":{"Service":"*"}}]}`, `Statement[0].Principal.Service: "*": a service principal is a service's lower-case DNS name`},
		{`{"Statement":[{` + allow + `,"NotPrincipal":{"Service":["s3.amazonaws.com","S3.amazonaws.com"]}}]}`, `Statement[0].NotPrincipal.Service[1]: "S3.amazonaws.com"`},
		// Condition
		{`{"Statement":[{` + allow + `,"Condition":[]}]}`, "Statement[0].Condition: must be an object, not an array"},
		{`{"Statement":[{` + allow + `,"Condition":{}}]}`, "Statement[0].Condition: must have at least one condition operator"},
		{`{"Statement":[{` + allow + `,"Condition":{"StringEquals":{}}}]}`, "Statement[0].Condition.StringEquals: must have at least one condition key"},
		{`{"Statement":[{` + allow + `,"Condition":{"StringEquals":"x"}}]}`, "Statement[0].Condition.StringEquals: must be an object of condition keys and values, not a string"},
		{`{"Statement":[{` + allow + `,"Condition":{"StringEquals":{"a:b":"1"},"StringEquals":{"a:b":"1"}}}]}`, "Statement[0].Condition.StringEquals: appears more than once"},
		{`{"Statement":[{` + allow + `,"Condition":{"StringEqual":{"a:b":"1"}}}]}`, `Statement[0].Condition.StringEqual: unknown condition operator "StringEqual"`},
		{`{"Statement":[{` + allow + `,"Condition":{"stringEquals":{"a:b":"1"}}}]}`, `unknown condition operator "stringEquals"`},
		{`{"Statement":[{` + allow + `,"Condition":{"NullIfExists":{"a:b":"true"}}}]}`, `unknown condition operator "NullIfExists"`},
		{`{"Statement":[{` + allow + `,"Condition":{"IfExists":{"a:b":"true"}}}]}`, `unknown condition operator "IfExists"`},
		{`{"Statement":[{` + allow + `,"Condition":{"NumericLessThan":{"a:b":"1"}}}]}`, "Statement[0].Condition.NumericLessThan: the condition operator NumericLessThan is not supported by sluice"},
		{`{"Statement":[{` + allow + `,"Condition":{"DateGreaterThanIfExists":{"a:b":"1"}}}]}`, "the condition operator DateGreaterThanIfExists is not supported"},
		{`{"Statement":[{` + allow + `,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`, "the condition operator IpAddress is not supported"},
		{`{"Statement":[{` + allow + `,"Condition":{"ForAnyValue:StringLike":{"a:b":"1"}}}]}`, "the set operators ForAllValues and ForAnyValue are not supported"},
		{`{"Statement":[{` + allow + `,"Condition":{"Foo:StringLike":{"a:b":"1"}}}]}`, `unknown condition operator "Foo:StringLike"`},
		{`{"Statement":[{` + allow + `,"Condition":{"StringEquals":{"SourceArn":"1"}}}]}`, "Statement[0].Condition.StringEquals.SourceArn: a condition key must be prefix:name"},
		{`{"Statement":[{` + allow + `,"Condition":{"StringEquals":{"aws:SourceAccount":"1","AWS:sourceaccount":"2"}}}]}`, `Statement[0].Condition.StringEquals.AWS:sourceaccount: repeats the condition key "aws:SourceAccount"`},
		{`{"Statement":[{` + allow + `,"Condition":{"StringEquals":{"a:b":[]}}}]}`, "Statement[0].Condition.StringEquals.a:b: must not be an empty array"},
		{`{"Statement":[{` + allow + `,"Condition":{"StringEquals":{"a:b":null}}}]}`, "Statement[0].Condition.StringEquals.a:b: a condition value must be a string, number or boolean, not null"},
		{`{"Statement":[{` + allow + `,"Condition":{"StringEquals":{"a:b":["x",{}]}}}]}`, "Statement[0].Condition.StringEquals.a:b[1]: a condition value must be a string, number or boolean, not an object"},
		{`{"Statement":[{` + allow + `,"Condition":{"Null":{"a:b":"yes"}}}]}`, `Statement[0].Condition.Null.a:b: "yes": Null takes "true" or "false"`},
		{`{"Statement":[{` + allow + `,"Condition":{"BoolIfExists":{"a:b":1}}}]}`, `"1": Bool takes "true" or "false"`},
		{`{"Statement":[{` + allow + `,"Condition":{"ArnLike":{"aws:SourceArn":"bucket"}}}]}`, `Statement[0].Condition.ArnLike.aws:SourceArn: "bucket": ArnLike compares ARNs`},
		{`{"Statement":[{` + allow + `,"Condition":{"ArnNotEqualsIfExists":{"aws:SourceArn":["arn:aws:s3:::b","arn:aws"]}}}]}`, `ArnNotEqualsIfExists.aws:SourceArn[1]: "arn:aws": ArnNotEquals compares ARNs`},
		{`{"Version":"2012-10-17","Statement":[{` + allow + `,"Condition":{"StringLike":{"aws:SourceArn":"arn:${aws:username}"}}}]}`, "policy variables (${...}) are not supported"},
		// Depth
		{`{"Statement":[{` + allow + `,"Condition":{"StringEquals":{"a:b":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}}]}`, "nested deeper than 32 levels"},
	} {
		_, err := ParsePolicy([]byte(tc.doc))
		if err == nil {
			t.Errorf("ParsePolicy(%s) succeeded, want error %q", tc.doc, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParsePolicy(%s):\n got error %q\nwant it to contain %q", tc.doc, err, tc.want)
		}
	}
}

func TestParseIdentityAndResourcePolicy(t *testing.T) {
	withPrincipal := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`
	withNotPrincipal := `{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"*","Resource":"*"}}`
	without := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

	if _, err := ParseIdentityPolicy([]byte(without)); err != nil {
		t.Errorf("identity policy: %v", err)
	}
	if _, err := ParseIdentityPolicy([]byte(withPrincipal)); err == nil || err.Error() != "Statement[1].Principal: an identity-based policy must not have a Principal element" {
		t.Errorf("identity policy with Principal: %v", err)
	}
	if _, err := ParseIdentityPolicy([]byte(withNotPrincipal)); err == nil || err.Error() != "Statement.NotPrincipal: an identity-based policy must not have a NotPrincipal element" {
		t.Errorf("identity policy with NotPrincipal: %v", err)
	}
	if _, err := ParseResourcePolicy([]byte(withNotPrincipal)); err != nil {
		t.Errorf("resource policy: %v", err)
	}
	if _, err := ParseResourcePolicy([]byte(withPrincipal)); err == nil || err.Error() != "Statement[0]: a resource-based policy statement needs a Principal or NotPrincipal element" {
		t.Errorf("resource policy without Principal: %v", err)
	}
	if _, err := ParseIdentityPolicy([]byte(`{`)); err == nil {
		t.Error("ParseIdentityPolicy accepted invalid JSON")
	}
	if _, err := ParseResourcePolicy([]byte(`{`)); err == nil {
		t.Error("ParseResourcePolicy accepted invalid JSON")
	}
}

func TestWildMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "anything:at/all", true},
		{"a*", "a", true},
		{"a*", "abc", true},
		{"a*", "ba", false},
		{"*c", "abc", true},
		{"*c", "abcd", false},
		{"a*c", "ac", true},
		{"a*c", "abbbbc", true},
		{"a*c", "abbbbcd", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "abbc", false},
		{"?", "é", true}, // one character, two bytes
		{"??", "é", false},
		{"a*b*c", "a-b-b-c", true},
		{"a*b*c", "a-c-b", false},
		{"*a*a*a*a*b", strings.Repeat("a", 200), false},
		{"Invoke*", "invokefunction", false}, // case-sensitive
		{"x", "X", false},
	} {
		if got := wildMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("wildMatch(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestArnMatch(t *testing.T) {
	const fn = "arn:aws:lambda:us-east-1:111111111111:function:f"
	for _, tc := range []struct {
		pattern, arn string
		want         bool
	}{
		{"*", fn, true},
		{"*", "*", true},
		{fn, fn, true},
		{fn, fn + ":prod", false},
		{fn + ":*", fn + ":prod", true},
		{fn + ":*", fn, false},
		{fn + "*", fn + ":prod", true}, // the resource part keeps its colons
		{"arn:aws:lambda:*:*:function:*", fn + ":3", true},
		{"arn:aws:lambda:*:111111111111:*", fn, true},
		{"arn:aws:lambda:us-*-1:111111111111:function:?", fn, true},
		{"arn:aws:lambda:us-east-1:222222222222:function:f", fn, false},
		{"arn:aws:lambda:us-east-1:111111111111:function:F", fn, false}, // case-sensitive
		{"ARN:aws:lambda:us-east-1:111111111111:function:f", fn, false},
		{"arn:aws:lambda:*:function:f", fn, false}, // too few parts: a star does not span parts
		// AWS's own example: a star does not cross a part boundary.
		{"arn:aws:someservice:*:111122223333:finance/*", "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt", false},
		{"arn:aws:s3:::bucket", "arn:aws:s3:::bucket", true},
		{"arn:aws:s3:::*", "arn:aws:s3:::bucket/key", true},
		{fn, "*", false},
		{"arn:aws:lambda:*:*:*:*", "*", false},
		{fn, "arn:aws:lambda", false},
	} {
		if got := arnMatch(tc.pattern, tc.arn); got != tc.want {
			t.Errorf("arnMatch(%q, %q) = %v, want %v", tc.pattern, tc.arn, got, tc.want)
		}
	}
}
