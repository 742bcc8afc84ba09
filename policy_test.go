package sluice_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice"
)

func TestParsePrincipal(t *testing.T) {
	for _, c := range []struct {
		in, typ, value string
		ok             bool
	}{
		{"*", sluice.PrincipalAnyone, "*", true},
		{"123456789012", sluice.PrincipalAWS, "arn:aws:iam::123456789012:root", true},
		{"arn:aws:iam::123456789012:root", sluice.PrincipalAWS, "arn:aws:iam::123456789012:root", true},
		{"arn:aws:iam::123456789012:user/a/b", sluice.PrincipalAWS, "arn:aws:iam::123456789012:user/a/b", true},
		{"arn:aws:iam::123456789012:role/r", sluice.PrincipalAWS, "arn:aws:iam::123456789012:role/r", true},
		{"arn:aws:sts::123456789012:assumed-role/r/fn", sluice.PrincipalAWS, "arn:aws:sts::123456789012:assumed-role/r/fn", true},
		{"s3.amazonaws.com", sluice.PrincipalService, "s3.amazonaws.com", true},
		{"events.eu-west-1.amazonaws.com", sluice.PrincipalService, "events.eu-west-1.amazonaws.com", true},
		{"alexa-connectedhome.amazon.com", sluice.PrincipalService, "alexa-connectedhome.amazon.com", true},

		{"invalid.nonaws.com", "", "", false}, // recorded: AWS refuses it
		{"amazonaws.com", "", "", false},
		{"-s3.amazonaws.com", "", "", false},
		{"S3.amazonaws.com", "", "", false},
		{"1234567890123", "", "", false},
		{"arn:aws:iam::123456789012:group/g", "", "", false},
		{"arn:aws:iam::12345678901:root", "", "", false},
		{"arn:aws:lambda:us-east-1:123456789012:function:f", "", "", false},
		{"**", "", "", false},
		{"", "", "", false},
	} {
		typ, value, ok := sluice.ParsePrincipal(c.in)
		if typ != c.typ || value != c.value || ok != c.ok {
			t.Errorf("ParsePrincipal(%q) = %q, %q, %v; want %q, %q, %v", c.in, typ, value, ok, c.typ, c.value, c.ok)
		}
	}
}

// The statement of LocalStack's test_add_lambda_permission_fields,
// add_permission_optional_fields, as recorded from AWS
// (localstack/localstack@8b9a79f05846835cf4dff63ab7eefdde9df83783
// tests/aws/services/lambda_/test_lambda_api.snapshot.json; placeholders
// filled in): every condition key of StringEquals in AWS's order. The
// service refuses PrincipalOrgID, but the rendering keeps AWS's place
// for it.
const recordedOptionalFields = `{"Sid":"urlPermission","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl",` +
	`"Resource":"arn:aws:lambda:us-east-1:111111111111:function:fn",` +
	`"Condition":{"StringEquals":{"AWS:SourceAccount":"111111111111","lambda:FunctionUrlAuthType":"NONE","aws:PrincipalOrgID":"o-1234567890"},` +
	`"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::test-bucket"}}}`

func TestStatementJSON(t *testing.T) {
	st := sluice.PermissionStatement{
		StatementID: "urlPermission", Action: sluice.ActionInvokeFunctionURL, Principal: "*",
		SourceARN: "arn:aws:s3:::test-bucket", SourceAccount: "111111111111", PrincipalOrgID: "o-1234567890",
		FunctionURLAuthType: sluice.URLAuthNone,
	}
	const arn = "arn:aws:lambda:us-east-1:111111111111:function:fn"
	if got := st.JSON(arn); got != recordedOptionalFields {
		t.Errorf("JSON:\n got  %s\n want %s", got, recordedOptionalFields)
	}

	// Every member at once: sluice's order for the keys AWS's recordings
	// do not place (lambda:EventSourceToken, Bool).
	all := sluice.PermissionStatement{
		StatementID: "all", Action: sluice.ActionInvokeFunction, Principal: "123456789012",
		SourceARN: "arn:aws:s3:::b", SourceAccount: "123456789012", EventSourceToken: "tok",
		InvokedViaFunctionURL: true,
	}
	want := `{"Sid":"all","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"lambda:InvokeFunction","Resource":"` + arn + `",` +
		`"Condition":{"StringEquals":{"AWS:SourceAccount":"123456789012","lambda:EventSourceToken":"tok"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::b"},"Bool":{"lambda:InvokedViaFunctionUrl":"true"}}}`
	if got := all.JSON(arn); got != want {
		t.Errorf("JSON:\n got  %s\n want %s", got, want)
	}

	// Strings are escaped as JSON needs, and no more (no HTML escaping).
	odd := sluice.PermissionStatement{StatementID: "odd", Action: "*", Principal: "*", SourceARN: "arn:aws:x:::\"<&>\\\u00e9\n"}
	got := odd.JSON(arn)
	if !strings.Contains(got, `"arn:aws:x:::\"<&>\\`+"\u00e9"+`\n"`) {
		t.Errorf("JSON of odd characters: %s", got)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(got), &v); err != nil {
		t.Errorf("JSON is not valid: %v: %s", err, got)
	}
}

func TestPolicyDocument(t *testing.T) {
	p := &sluice.FunctionPolicy{RevisionID: "r", Statements: []sluice.PermissionStatement{
		{StatementID: "logs", Action: sluice.ActionInvokeFunction, Principal: "logs.amazonaws.com"},
		{StatementID: "kinesis", Action: sluice.ActionInvokeFunction, Principal: "kinesis.amazonaws.com"},
	}}
	const arn = "arn:aws:lambda:us-east-1:111111111111:function:fn"
	// test_create_multiple_lambda_permissions, policy_after_2_add, as
	// recorded from AWS (same source as above).
	want := `{"Version":"2012-10-17","Id":"default","Statement":[` +
		`{"Sid":"logs","Effect":"Allow","Principal":{"Service":"logs.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"` + arn + `"},` +
		`{"Sid":"kinesis","Effect":"Allow","Principal":{"Service":"kinesis.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"` + arn + `"}]}`
	if got := p.Document(arn); got != want {
		t.Errorf("Document:\n got  %s\n want %s", got, want)
	}
	if i := p.Index("kinesis"); i != 1 {
		t.Errorf("Index(kinesis) = %d", i)
	}
	if i := (*sluice.FunctionPolicy)(nil).Index("x"); i != -1 {
		t.Errorf("Index on nil = %d", i)
	}
	c := p.Clone()
	c.Statements[0].Principal = "changed"
	if p.Statements[0].Principal != "logs.amazonaws.com" {
		t.Error("Clone shares its statements")
	}
	if (*sluice.FunctionPolicy)(nil).Clone() != nil {
		t.Error("Clone of nil is not nil")
	}
	fn := &sluice.Function{Name: "f", Policy: p}
	if fc := fn.Clone(); fc.Policy == p || fc.Policy.Statements[0] != p.Statements[0] {
		t.Error("Function.Clone does not copy the policy deeply")
	}
	a := &sluice.Alias{Name: "a", Policy: p}
	if ac := a.Clone(); ac.Policy == p {
		t.Error("Alias.Clone shares the policy")
	}
}
