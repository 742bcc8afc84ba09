package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice"
)

// The tests of AddPermission, RemovePermission and GetPolicy replay what
// LocalStack recorded from AWS (testdata/aws-permissions.snapshot.json, an
// excerpt of localstack/localstack@8b9a79f05846835cf4dff63ab7eefdde9df83783
// tests/aws/services/lambda_/test_lambda_api.snapshot.json) with the Go
// SDK and compare sluice's answers with the recorded ones: statements and
// policies byte for byte (AWS's member order, compact JSON), errors by
// code, message and status.

// recordedTests are the recorded test cases by test name (the part after
// the last "::").
var recordedTests = sync.OnceValues(func() (map[string]map[string]json.RawMessage, error) {
	b, err := os.ReadFile(filepath.Join("testdata", "aws-permissions.snapshot.json"))
	if err != nil {
		return nil, err
	}
	var file struct {
		Entries map[string]struct {
			Content map[string]json.RawMessage `json:"recorded-content"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		return nil, err
	}
	out := make(map[string]map[string]json.RawMessage)
	for k, e := range file.Entries {
		out[k[strings.LastIndex(k, "::")+2:]] = e.Content
	}
	return out, nil
})

// recording is one recorded response with LocalStack's placeholders
// replaced by this test's values.
type recording struct {
	t    testing.TB
	raw  json.RawMessage
	repl *strings.Replacer
}

// recorded returns the response recorded as key in test. repl maps
// placeholders (besides partition, region and account, which it knows)
// to values, in strings.NewReplacer's pairs.
func recorded(t testing.TB, test, key string, repl ...string) recording {
	t.Helper()
	tests, err := recordedTests()
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := tests[test][key]
	if !ok {
		t.Fatalf("no recording %s in %s", key, test)
	}
	pairs := append([]string{"arn:<partition>:", "arn:aws:", "<region>", testRegion, "111111111111", testAccount}, repl...)
	return recording{t: t, raw: raw, repl: strings.NewReplacer(pairs...)}
}

// member returns the compact JSON of a member of the recording, its
// member order kept, placeholders replaced.
func (r recording) member(name string) string {
	r.t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(r.raw, &m); err != nil {
		r.t.Fatal(err)
	}
	v, ok := m[name]
	if !ok {
		r.t.Fatalf("recording %s has no member %s", r.raw, name)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		r.t.Fatal(err)
	}
	out := r.repl.Replace(buf.String())
	for _, p := range []string{"<partition>", "<region>", "<resource:", "<function-name", "<user_arn>", "<uuid:"} {
		if strings.Contains(out, p) {
			r.t.Fatalf("recording %s keeps the placeholder %s", out, p)
		}
	}
	return out
}

// statement is the recorded AddPermission Statement.
func (r recording) statement() string { return r.member("Statement") }

// policy is the recorded GetPolicy Policy.
func (r recording) policy() string { return r.member("Policy") }

// wantError checks that err is the recorded error: code, message, status.
func (r recording) wantError(err error) {
	r.t.Helper()
	var rec struct {
		Error            struct{ Code, Message string }
		ResponseMetadata struct{ HTTPStatusCode int }
	}
	if e := json.Unmarshal(r.raw, &rec); e != nil {
		r.t.Fatal(e)
	}
	wantAPIError(r.t, err, rec.Error.Code, r.repl.Replace(rec.Error.Message))
	if got := httpStatusOf(err); got != rec.ResponseMetadata.HTTPStatusCode {
		r.t.Errorf("status of %s = %d, recorded %d", rec.Error.Code, got, rec.ResponseMetadata.HTTPStatusCode)
	}
}

// httpStatusOf is the HTTP status of an SDK error, 0 if it has none.
func httpStatusOf(err error) int {
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) {
		return 0
	}
	return re.HTTPStatusCode()
}

// addPermission calls AddPermission and returns the statement, failing
// the test on an error.
func (e *env) addPermission(in *lambda.AddPermissionInput) string {
	e.t.Helper()
	out, err := e.client.AddPermission(context.Background(), in)
	if err != nil {
		e.t.Fatalf("AddPermission(%s, %s): %v", aws.ToString(in.FunctionName), aws.ToString(in.StatementId), err)
	}
	return aws.ToString(out.Statement)
}

// getPolicy calls GetPolicy, failing the test on an error.
func (e *env) getPolicy(name, qualifier string) (policy, revision string) {
	e.t.Helper()
	in := &lambda.GetPolicyInput{FunctionName: aws.String(name)}
	if qualifier != "" {
		in.Qualifier = aws.String(qualifier)
	}
	out, err := e.client.GetPolicy(context.Background(), in)
	if err != nil {
		e.t.Fatalf("GetPolicy(%s, %q): %v", name, qualifier, err)
	}
	return aws.ToString(out.Policy), aws.ToString(out.RevisionId)
}

// s3Permission is the AddPermission input LocalStack's tests use most:
// s3.amazonaws.com may invoke, from the bucket test-bucket.
func s3Permission(name, sid string) *lambda.AddPermissionInput {
	return &lambda.AddPermissionInput{
		FunctionName: aws.String(name),
		Action:       aws.String("lambda:InvokeFunction"),
		StatementId:  aws.String(sid),
		Principal:    aws.String("s3.amazonaws.com"),
		SourceArn:    aws.String("arn:aws:s3:::test-bucket"),
	}
}

func equalJSON(t testing.TB, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s:\n got  %s\n want %s", what, got, want)
	}
}

// TestAddPermissionAsRecorded replays test_add_lambda_permission_aws.
func TestAddPermissionAsRecorded(t *testing.T) {
	e := newEnv(t)
	e.create("fn")
	rec := func(key string) recording {
		return recorded(t, "test_add_lambda_permission_aws", key, "<function-name:1>", "fn", "<resource:3>", "test-bucket")
	}
	equalJSON(t, "Statement", e.addPermission(s3Permission("fn", "s3")), rec("add_permission").statement())
	policy, revision := e.getPolicy("fn", "")
	equalJSON(t, "Policy", policy, rec("get_policy").policy())
	if revision == "" {
		t.Error("GetPolicy: no RevisionId")
	}
}

// TestAddPermissionFields replays test_add_lambda_permission_fields: every
// kind of principal and condition.
func TestAddPermissionFields(t *testing.T) {
	e := newEnv(t)
	e.create("fn")
	const userARN = "arn:aws:iam::123456789012:user/someone"
	rec := func(key string) recording {
		return recorded(t, "test_add_lambda_permission_fields", key,
			"<resource:1>", "fn", "<resource:2>", "root", "<resource:3>", "test-bucket", "<user_arn>", userARN)
	}
	in := func(sid, action, principal string) *lambda.AddPermissionInput {
		return &lambda.AddPermissionInput{FunctionName: aws.String("fn"), StatementId: aws.String(sid), Action: aws.String(action), Principal: aws.String(principal)}
	}
	withAccount := func(p *lambda.AddPermissionInput) *lambda.AddPermissionInput {
		p.SourceAccount = aws.String(testAccount)
		return p
	}
	equalJSON(t, "wildcard", e.addPermission(withAccount(in("wilcard", "lambda:InvokeFunction", "*"))),
		rec("add_permission_principal_wildcard").statement())
	equalJSON(t, "service", e.addPermission(withAccount(in("lambda", "lambda:InvokeFunction", "lambda.amazonaws.com"))),
		rec("add_permission_principal_service").statement())
	equalJSON(t, "account", e.addPermission(in("account-id", "lambda:InvokeFunction", testAccount)),
		rec("add_permission_principal_account").statement())
	equalJSON(t, "user ARN", e.addPermission(withAccount(in("user-arn", "lambda:InvokeFunction", userARN))),
		rec("add_permission_principal_arn").statement())

	// AWS adds aws:PrincipalOrgID; sluice has no organizations and says
	// so. Without it, the statement is the recorded one minus that key.
	url := withAccount(in("urlPermission", "lambda:InvokeFunctionUrl", "*"))
	url.SourceArn = aws.String("arn:aws:s3:::test-bucket")
	url.FunctionUrlAuthType = types.FunctionUrlAuthTypeNone
	url.PrincipalOrgID = aws.String("o-1234567890")
	_, err := e.client.AddPermission(context.Background(), url)
	wantAPIError(t, err, "InvalidParameterValueException", "PrincipalOrgID is not supported: sluice has no AWS Organizations, so no account belongs to an organization. Grant accounts by their ids (Principal) instead.")
	url.PrincipalOrgID = nil
	want := strings.Replace(rec("add_permission_optional_fields").statement(), `,"aws:PrincipalOrgID":"o-1234567890"`, "", 1)
	equalJSON(t, "function URL, without PrincipalOrgID", e.addPermission(url), want)

	alexa := in("alexaSkill", "lambda:InvokeFunction", "*")
	alexa.EventSourceToken = aws.String("amzn1.ask.skill.xxxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")
	equalJSON(t, "alexa", e.addPermission(alexa), rec("add_permission_alexa_skill").statement())
}

// TestRemovePermissionAsRecorded replays test_remove_multi_permissions and
// test_create_multiple_lambda_permissions.
func TestRemovePermissionAsRecorded(t *testing.T) {
	e := newEnv(t)
	e.create("fn")
	rec := func(key string) recording {
		return recorded(t, "test_remove_multi_permissions", key, "<resource:1>", "fn", "<resource:2>", "test-bucket")
	}
	first := s3Permission("fn", "s3")
	first.SourceArn = nil
	equalJSON(t, "add 1", e.addPermission(first), rec("add_permission_1").statement())
	second := s3Permission("fn", "sqs")
	second.Principal = aws.String("sqs.amazonaws.com")
	equalJSON(t, "add 2", e.addPermission(second), rec("add_permission_2").statement())
	policy, rev2 := e.getPolicy("fn", "")
	equalJSON(t, "policy after 2", policy, rec("policy_after_2_add").policy())

	_, err := e.client.RemovePermission(context.Background(), &lambda.RemovePermissionInput{FunctionName: aws.String("fn"), StatementId: aws.String("non-existent")})
	rec("remove_permission_exception_nonexisting_sid").wantError(err)

	if _, err := e.client.RemovePermission(context.Background(), &lambda.RemovePermissionInput{FunctionName: aws.String("fn"), StatementId: aws.String("sqs")}); err != nil {
		t.Fatal(err)
	}
	policy, rev3 := e.getPolicy("fn", "")
	equalJSON(t, "policy after removal", policy, rec("policy_after_removal").policy())
	if rev3 == rev2 {
		t.Errorf("RevisionId %s unchanged by RemovePermission", rev3)
	}
	// Reading again changes nothing (policy_after_removal_attempt).
	if _, again := e.getPolicy("fn", ""); again != rev3 {
		t.Errorf("RevisionId changed by GetPolicy: %s, then %s", rev3, again)
	}
	if _, err := e.client.RemovePermission(context.Background(), &lambda.RemovePermissionInput{FunctionName: aws.String("fn"), StatementId: aws.String("s3"), RevisionId: aws.String(rev3)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.GetPolicy(context.Background(), &lambda.GetPolicyInput{FunctionName: aws.String("fn")})
	rec("get_policy_exception_removed_all").wantError(err)
	wantTyped[*types.ResourceNotFoundException](t, err)

	e.create("multi")
	rec = func(key string) recording {
		return recorded(t, "test_create_multiple_lambda_permissions", key, "<resource:1>", "multi")
	}
	for i, p := range []string{"logs", "kinesis"} {
		in := s3Permission("multi", p)
		in.SourceArn, in.Principal = nil, aws.String(p+".amazonaws.com")
		equalJSON(t, p, e.addPermission(in), rec(fmt.Sprintf("add_permission_response_%d", i+1)).statement())
	}
	policy, _ = e.getPolicy("multi", "")
	equalJSON(t, "policy", policy, rec("policy_after_2_add").policy())
}

// TestPermissionVersionsAndAliases replays
// test_lambda_permission_fn_versioning: policies per version and alias,
// their RevisionIds, and what publishing does to them.
func TestPermissionVersionsAndAliases(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("fn")
	rec := func(key string) recording {
		return recorded(t, "test_lambda_permission_fn_versioning", key, "<function-name:1>", "fn", "<resource:1>", "test-bucket")
	}
	equalJSON(t, "add", e.addPermission(s3Permission("fn", "s3")), rec("add_permission").statement())
	policy, rev1 := e.getPolicy("fn", "")
	equalJSON(t, "policy", policy, rec("get_policy").policy())
	before, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("fn")})
	if err != nil {
		t.Fatal(err)
	}

	v, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fn")})
	if err != nil {
		t.Fatal(err)
	}
	after, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("fn")})
	if err != nil {
		t.Fatal(err)
	}
	// Publishing changes $LATEST's RevisionId but not its policy's
	// (uuid:3 and uuid:1 in the recording).
	if aws.ToString(after.Configuration.RevisionId) == aws.ToString(before.Configuration.RevisionId) {
		t.Error("PublishVersion kept $LATEST's RevisionId")
	}
	policy, rev := e.getPolicy("fn", "")
	equalJSON(t, "policy after publishing", policy, rec("get_policy_after_publishing_latest").policy())
	if rev != rev1 {
		t.Errorf("policy RevisionId after publishing = %s, want %s as before", rev, rev1)
	}
	// A new version has no policy.
	_, err = e.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("fn"), Qualifier: v.Version})
	rec("get_policy_after_publishing_new_version").wantError(err)

	// The same sid again, for the version (the name's suffix matching the
	// Qualifier).
	in := s3Permission("fn:1", "s3")
	in.Qualifier = aws.String("1")
	e.addPermission(in)
	policy, revV := e.getPolicy("fn", "1")
	equalJSON(t, "version policy", policy, rec("get_policy_version").policy())
	if revV == "" || revV == aws.ToString(v.RevisionId) || revV == rev1 {
		t.Errorf("version policy RevisionId %q: want a new one (version's %s, $LATEST policy's %s)", revV, aws.ToString(v.RevisionId), rev1)
	}

	alias, err := e.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("fn"), Name: aws.String("permission-alias"), FunctionVersion: aws.String("1")})
	if err != nil {
		t.Fatal(err)
	}
	in = s3Permission("fn", "s3")
	in.Qualifier, in.RevisionId = aws.String("permission-alias"), aws.String("wrong")
	_, err = e.client.AddPermission(ctx, in)
	rec("add_permission_alias_revision_exception").wantError(err)
	wantTyped[*types.PreconditionFailedException](t, err)
	// Without a policy yet, the alias's RevisionId is the one to give.
	in = s3Permission("fn:permission-alias", "s3")
	in.Qualifier, in.RevisionId = aws.String("permission-alias"), alias.RevisionId
	e.addPermission(in)
	policy, revA := e.getPolicy("fn", "permission-alias")
	equalJSON(t, "alias policy", policy, rec("get_policy_alias").policy())
	if revA == aws.ToString(alias.RevisionId) {
		t.Errorf("alias policy RevisionId = the alias's %s, want a new one", revA)
	}
	// The alias keeps its RevisionId (policies have their own).
	got, err := e.client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("fn"), Name: aws.String("permission-alias")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.RevisionId) != aws.ToString(alias.RevisionId) {
		t.Errorf("AddPermission changed the alias's RevisionId from %s to %s", aws.ToString(alias.RevisionId), aws.ToString(got.RevisionId))
	}

	policy, rev = e.getPolicy("fn", "")
	equalJSON(t, "unqualified policy", policy, rec("get_policy_after_adding_to_new_version").policy())
	in = s3Permission("fn", "s3_2")
	in.RevisionId = aws.String(rev)
	e.addPermission(in)
	policy, rev2 := e.getPolicy("fn", "")
	equalJSON(t, "policy after adding s3_2", policy, rec("get_policy_after_adding_2").policy())
	if rev2 == rev {
		t.Error("AddPermission kept the policy's RevisionId")
	}
	// The function's RevisionId did not change with the policy's.
	now, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("fn")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(now.Configuration.RevisionId) != aws.ToString(after.Configuration.RevisionId) {
		t.Errorf("AddPermission changed $LATEST's RevisionId from %s to %s", aws.ToString(after.Configuration.RevisionId), aws.ToString(now.Configuration.RevisionId))
	}
	// The stale RevisionId is refused by both AddPermission and
	// RemovePermission.
	in = s3Permission("fn", "s3_3")
	in.RevisionId = aws.String(rev)
	_, err = e.client.AddPermission(ctx, in)
	wantAPIError(t, err, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id")
	_, err = e.client.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("fn"), StatementId: aws.String("s3"), RevisionId: aws.String(rev)})
	wantAPIError(t, err, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id")
	if p, _ := e.getPolicy("fn", ""); p != policy {
		t.Errorf("refused changes changed the policy: %s", p)
	}
}

// TestPermissionExceptions replays test_permission_exceptions: every error
// with its recorded code, message and status.
func TestPermissionExceptions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("fn")
	rec := func(key string) recording {
		return recorded(t, "test_permission_exceptions", key, "<function-name>", "fn")
	}
	add := func(name, sid, principal, qualifier string) error {
		in := s3Permission(name, sid)
		in.Principal = aws.String(principal)
		if qualifier != "" {
			in.Qualifier = aws.String(qualifier)
		}
		_, err := e.client.AddPermission(ctx, in)
		return err
	}
	rec("add_permission_invalid_statement_id").wantError(add("fn", "example.com", "s3.amazonaws.com", ""))
	rec("add_permission_fn_qualifier_mismatch").wantError(add("fn:alias-not-42", "s3", "s3.amazonaws.com", "42"))
	rec("add_permission_fn_qualifier_latest").wantError(add("fn:$LATEST", "s3", "s3.amazonaws.com", "$LATEST"))
	{
		in := s3Permission("fn", "lambda")
		in.SourceArn, in.Principal, in.SourceAccount = nil, aws.String("invalid.nonaws.com"), aws.String(testAccount)
		_, err := e.client.AddPermission(ctx, in)
		rec("add_permission_principal_invalid").wantError(err)
	}
	_, err := e.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("doesnotexist")})
	rec("get_policy_fn_doesnotexist").wantError(err)
	_, err = e.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("fn"), Qualifier: aws.String("77")})
	rec("get_policy_fn_version_doesnotexist").wantError(err)
	rec("add_permission_fn_doesnotexist").wantError(add("doesnotexist", "s3", "s3.amazonaws.com", ""))
	_, err = e.client.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("fn"), StatementId: aws.String("s3")})
	rec("remove_permission_policy_doesnotexist").wantError(err)
	rec("add_permission_fn_alias_doesnotexist").wantError(add("fn:alias-doesnotexist", "s3", "s3.amazonaws.com", ""))
	rec("add_permission_fn_version_doesnotexist").wantError(add("fn", "s3", "s3.amazonaws.com", "42"))
	rec("add_permission_fn_qualifier_invalid").wantError(add("fn", "s3", "s3.amazonaws.com", "invalid-qualifier-with-?-char"))
	rec("add_permission_fn_qualifier_valid_doesnotexist").wantError(add("fn", "s3", "s3.amazonaws.com", "valid-with-$-but-doesnotexist"))
	if err := add("fn", "s3", "s3.amazonaws.com", ""); err != nil {
		t.Fatal(err)
	}
	err = add("fn", "s3", "s3.amazonaws.com", "")
	rec("add_permission_conflicting_statement_id").wantError(err)
	wantTyped[*types.ResourceConflictException](t, err)
	_, err = e.client.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("doesnotexist"), StatementId: aws.String("s3")})
	rec("remove_permission_fn_doesnotexist").wantError(err)
	_, err = e.client.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("fn"), StatementId: aws.String("s3"), Qualifier: aws.String("alias-doesnotexist")})
	rec("remove_permission_fn_alias_doesnotexist").wantError(err)
}

// TestPermissionValidation checks the model constraints of the members
// (one ValidationException listing them all) and Lambda's rules on their
// values.
func TestPermissionValidation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("fn")
	base := func() *lambda.AddPermissionInput { return s3Permission("fn", "sid") }
	long := strings.Repeat("a", 101)
	for _, c := range []struct {
		name   string
		change func(*lambda.AddPermissionInput)
		code   string
		msg    string
	}{
		{"sid too long", func(in *lambda.AddPermissionInput) { in.StatementId = aws.String(long) }, "ValidationException",
			"1 validation error detected: Value '" + long + "' at 'statementId' failed to satisfy constraint: Member must have length less than or equal to 100"},
		{"empty sid", func(in *lambda.AddPermissionInput) { in.StatementId = aws.String("") }, "ValidationException",
			"1 validation error detected: Value '' at 'statementId' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"action", func(in *lambda.AddPermissionInput) { in.Action = aws.String("s3:GetObject") }, "ValidationException",
			"1 validation error detected: Value 's3:GetObject' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])"},
		{"principal with a space", func(in *lambda.AddPermissionInput) { in.Principal = aws.String("a b") }, "ValidationException",
			`1 validation error detected: Value 'a b' at 'principal' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\s]+`},
		{"source ARN", func(in *lambda.AddPermissionInput) { in.SourceArn = aws.String("bucket") }, "ValidationException",
			`1 validation error detected: Value 'bucket' at 'sourceArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)`},
		{"source account", func(in *lambda.AddPermissionInput) { in.SourceAccount = aws.String("1234567890123") }, "ValidationException",
			`2 validation errors detected: Value '1234567890123' at 'sourceAccount' failed to satisfy constraint: Member must have length less than or equal to 12; Value '1234567890123' at 'sourceAccount' failed to satisfy constraint: Member must satisfy regular expression pattern: \d{12}`},
		{"event source token", func(in *lambda.AddPermissionInput) { in.EventSourceToken = aws.String("a token") }, "ValidationException",
			`1 validation error detected: Value 'a token' at 'eventSourceToken' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9._\-]+`},
		{"org id shape", func(in *lambda.AddPermissionInput) { in.PrincipalOrgID = aws.String("o-short") }, "ValidationException",
			"2 validation errors detected: Value 'o-short' at 'principalOrgID' failed to satisfy constraint: Member must have length greater than or equal to 12; Value 'o-short' at 'principalOrgID' failed to satisfy constraint: Member must satisfy regular expression pattern: o-[a-z0-9]{10,32}"},
		{"auth type", func(in *lambda.AddPermissionInput) { in.FunctionUrlAuthType = "BASIC" }, "ValidationException",
			"1 validation error detected: Value 'BASIC' at 'functionUrlAuthType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, AWS_IAM]"},
		{"all in order", func(in *lambda.AddPermissionInput) {
			in.StatementId, in.Action, in.Principal, in.Qualifier = aws.String("a.b"), aws.String("x"), aws.String(" "), aws.String("?")
		}, "ValidationException", "4 validation errors detected: Value '?' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: " + sluice.QualifierPattern +
			"; Value 'a.b' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)" +
			"; Value 'x' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])" +
			`; Value ' ' at 'principal' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\s]+`},

		{"principal not a service", func(in *lambda.AddPermissionInput) { in.Principal = aws.String("example.com") }, "InvalidParameterValueException",
			"The provided principal was invalid. Please check the principal and try again."},
		{"principal not an IAM ARN", func(in *lambda.AddPermissionInput) { in.Principal = aws.String("arn:aws:s3:::bucket") }, "InvalidParameterValueException",
			"The provided principal was invalid. Please check the principal and try again."},
		{"principal of 11 digits", func(in *lambda.AddPermissionInput) { in.Principal = aws.String("12345678901") }, "InvalidParameterValueException",
			"The provided principal was invalid. Please check the principal and try again."},
		{"org id refused", func(in *lambda.AddPermissionInput) { in.PrincipalOrgID = aws.String("o-abcdefghij") }, "InvalidParameterValueException",
			"PrincipalOrgID is not supported: sluice has no AWS Organizations, so no account belongs to an organization. Grant accounts by their ids (Principal) instead."},
		{"auth type without InvokeFunctionUrl", func(in *lambda.AddPermissionInput) { in.FunctionUrlAuthType = types.FunctionUrlAuthTypeAwsIam }, "InvalidParameterValueException",
			"FunctionUrlAuthType is only supported for lambda:InvokeFunctionUrl action"},
		{"invoked via URL without InvokeFunction", func(in *lambda.AddPermissionInput) {
			in.Action, in.InvokedViaFunctionUrl = aws.String("lambda:*"), aws.Bool(true)
		}, "InvalidParameterValueException", "InvokedViaFunctionUrl is only supported for lambda:InvokeFunction action"},
		{"another account's ARN", func(in *lambda.AddPermissionInput) {
			in.FunctionName = aws.String("arn:aws:lambda:us-east-1:999999999999:function:fn")
		}, "AccessDeniedException", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := base()
			c.change(in)
			_, err := e.client.AddPermission(ctx, in)
			wantAPIError(t, err, c.code, c.msg)
		})
	}
	if _, err := e.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("fn")}); err == nil {
		t.Error("a refused AddPermission made a policy")
	}

	// Missing required members, raw (the SDK checks them on its side).
	resp, body := e.signedRequest("POST", "/2015-03-31/functions/fn/policy", []byte(`{}`), http.Header{"Content-Type": {"application/json"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body),
		"3 validation errors detected: Value null at 'statementId' failed to satisfy constraint: Member must not be null; Value null at 'action' failed to satisfy constraint: Member must not be null; Value null at 'principal' failed to satisfy constraint: Member must not be null") {
		t.Errorf("AddPermission {}: %d %s", resp.StatusCode, body)
	}
	resp, body = e.signedRequest("POST", "/2015-03-31/functions/fn/policy", []byte(`{"StatementId":1}`), http.Header{"Content-Type": {"application/json"}})
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Amzn-ErrorType") != "InvalidRequestContentException" {
		t.Errorf("AddPermission with a number for StatementId: %d %s", resp.StatusCode, body)
	}

	// RemovePermission's statement id may have dots (NamespacedStatementId).
	_, err := e.client.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("fn"), StatementId: aws.String("a.b")})
	wantAPIError(t, err, "ResourceNotFoundException", "No policy is associated with the given resource.")
	_, err = e.client.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("fn"), StatementId: aws.String("a:b")})
	wantAPIError(t, err, "ValidationException", "1 validation error detected: Value 'a:b' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_.]+)")
	_, err = e.client.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("fn"), StatementId: aws.String(long)})
	wantAPIError(t, err, "ValidationException", "1 validation error detected: Value '"+long+"' at 'statementId' failed to satisfy constraint: Member must have length less than or equal to 100")
	_, err = e.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("fn"), Qualifier: aws.String("a?")})
	wantAPIError(t, err, "ValidationException", "1 validation error detected: Value 'a?' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: "+sluice.QualifierPattern)
}

// TestPermissionPrincipalsAndConditions checks the statements of the other
// principal forms, of InvokedViaFunctionUrl, and that nothing is
// HTML-escaped.
func TestPermissionPrincipalsAndConditions(t *testing.T) {
	e := newEnv(t)
	e.create("fn")
	arn := "arn:aws:lambda:us-east-1:" + testAccount + ":function:fn"
	for _, c := range []struct {
		principal, want string
	}{
		{"arn:aws:iam::111122223333:root", `{"AWS":"arn:aws:iam::111122223333:root"}`},
		{"arn:aws:iam::111122223333:role/path/caller", `{"AWS":"arn:aws:iam::111122223333:role/path/caller"}`},
		{"arn:aws:sts::111122223333:assumed-role/fn-role/fn", `{"AWS":"arn:aws:sts::111122223333:assumed-role/fn-role/fn"}`},
		{"alexa-appkit.amazon.com", `{"Service":"alexa-appkit.amazon.com"}`},
		{"apigateway.amazonaws.com", `{"Service":"apigateway.amazonaws.com"}`},
	} {
		in := s3Permission("fn", fmt.Sprintf("p%d", len(c.principal)))
		in.Principal, in.SourceArn = aws.String(c.principal), nil
		in.Action = aws.String("lambda:*")
		want := `{"Sid":"` + aws.ToString(in.StatementId) + `","Effect":"Allow","Principal":` + c.want + `,"Action":"lambda:*","Resource":"` + arn + `"}`
		equalJSON(t, c.principal, e.addPermission(in), want)
	}
	in := &lambda.AddPermissionInput{FunctionName: aws.String("fn"), StatementId: aws.String("url"), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("*"), InvokedViaFunctionUrl: aws.Bool(true)}
	equalJSON(t, "InvokedViaFunctionUrl", e.addPermission(in),
		`{"Sid":"url","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"`+arn+`","Condition":{"Bool":{"lambda:InvokedViaFunctionUrl":"true"}}}`)
	in = &lambda.AddPermissionInput{FunctionName: aws.String("fn"), StatementId: aws.String("notvia"), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("*"), InvokedViaFunctionUrl: aws.Bool(false)}
	equalJSON(t, "InvokedViaFunctionUrl false", e.addPermission(in),
		`{"Sid":"notvia","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunction","Resource":"`+arn+`"}`)
	in = &lambda.AddPermissionInput{FunctionName: aws.String("fn"), StatementId: aws.String("api"), Action: aws.String("*"),
		Principal: aws.String("apigateway.amazonaws.com"), SourceArn: aws.String("arn:aws:execute-api:us-east-1:111122223333:abc/*/GET/<a>&b")}
	equalJSON(t, "no HTML escaping", e.addPermission(in),
		`{"Sid":"api","Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"},"Action":"*","Resource":"`+arn+`","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:execute-api:us-east-1:111122223333:abc/*/GET/<a>&b"}}}`)

	// The wire: 201 {"Statement": string}, 200 {"Policy": string,
	// "RevisionId": string}, 204, unescaped.
	resp, body := e.signedRequest("POST", "/2015-03-31/functions/fn/policy",
		[]byte(`{"StatementId":"raw","Action":"lambda:InvokeFunction","Principal":"s3.amazonaws.com","SourceArn":"arn:aws:s3:::<b>"}`), http.Header{"Content-Type": {"application/json"}})
	wantBody := `{"Statement":"{\"Sid\":\"raw\",\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"s3.amazonaws.com\"},\"Action\":\"lambda:InvokeFunction\",\"Resource\":\"` + arn + `\",\"Condition\":{\"ArnLike\":{\"AWS:SourceArn\":\"arn:aws:s3:::<b>\"}}}"}`
	if resp.StatusCode != http.StatusCreated || string(body) != wantBody || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("AddPermission: %d %s %s\nwant 201 %s", resp.StatusCode, resp.Header.Get("Content-Type"), body, wantBody)
	}
	resp, body = e.signedRequest("GET", "/2015-03-31/functions/fn/policy", nil, nil)
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != http.StatusOK || len(got) != 2 || got["Policy"] == nil || got["RevisionId"] == nil {
		t.Errorf("GetPolicy: %d %s", resp.StatusCode, body)
	}
	resp, body = e.signedRequest("DELETE", "/2015-03-31/functions/fn/policy/raw", nil, nil)
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Errorf("RemovePermission: %d %s", resp.StatusCode, body)
	}
}

// TestPermissionRevisions checks the RevisionId rules: the policy's own,
// apart from the function's and the alias's.
func TestPermissionRevisions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("fn")
	fn, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("fn")})
	if err != nil {
		t.Fatal(err)
	}
	fnRev := aws.ToString(fn.Configuration.RevisionId)
	// Without a policy, the function's RevisionId is accepted.
	in := s3Permission("fn", "a")
	in.RevisionId = aws.String("wrong")
	_, err = e.client.AddPermission(ctx, in)
	wantAPIError(t, err, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id")
	in.RevisionId = aws.String(fnRev)
	e.addPermission(in)
	_, rev1 := e.getPolicy("fn", "")
	// Neither the function's RevisionId nor its configuration changes.
	if fn2, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("fn")}); err != nil || aws.ToString(fn2.Configuration.RevisionId) != fnRev {
		t.Errorf("GetFunction after AddPermission: %v, RevisionId %s, want %s", err, aws.ToString(fn2.Configuration.RevisionId), fnRev)
	}
	// Updating the function keeps the policy and its RevisionId.
	if _, err := e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fn"), Description: aws.String("changed")}); err != nil {
		t.Fatal(err)
	}
	e.waitUpdated("fn")
	if p, rev := e.getPolicy("fn", ""); rev != rev1 || !strings.Contains(p, `"Sid":"a"`) {
		t.Errorf("after UpdateFunctionConfiguration: policy %s revision %s, want the same as before (%s)", p, rev, rev1)
	}
	// $LATEST as a qualifier of GetPolicy and RemovePermission is the
	// unqualified function's policy.
	if _, rev := e.getPolicy("fn", sluice.LatestVersion); rev != rev1 {
		t.Errorf("GetPolicy($LATEST) revision %s, want %s", rev, rev1)
	}
	_, err = e.client.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("fn"), StatementId: aws.String("a"), Qualifier: aws.String("$LATEST"), RevisionId: aws.String(fnRev)})
	wantAPIError(t, err, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id")
	if _, err := e.client.RemovePermission(ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("fn"), StatementId: aws.String("a"), Qualifier: aws.String("$LATEST"), RevisionId: aws.String(rev1)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("fn")})
	wantAPIError(t, err, "ResourceNotFoundException", "The resource you requested does not exist.")
}

// TestPermissionLifecycle checks that a policy goes with its version,
// alias or function, and that alias updates keep it.
func TestPermissionLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("fn")
	if _, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fn")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("fn"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"", "1", "live"} {
		in := s3Permission("fn", "s3")
		if q != "" {
			in.Qualifier = aws.String(q)
		}
		e.addPermission(in)
	}
	if _, err := e.client.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String("fn"), Name: aws.String("live"), Description: aws.String("d")}); err != nil {
		t.Fatal(err)
	}
	if p, _ := e.getPolicy("fn", "live"); !strings.Contains(p, `:function:fn:live"`) {
		t.Errorf("alias policy after UpdateAlias: %s", p)
	}
	gone := func(q string) {
		t.Helper()
		_, err := e.client.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String("fn"), Qualifier: aws.String(q)})
		wantAPIError(t, err, "ResourceNotFoundException", "The resource you requested does not exist.")
	}
	if _, err := e.client.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String("fn"), Name: aws.String("live")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("fn"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	gone("live")
	if _, err := e.client.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String("fn"), Name: aws.String("live")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("fn"), Qualifier: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	gone("1")
	if _, err := e.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("fn")}); err != nil {
		t.Fatal(err)
	}
	e.create("fn")
	gone(sluice.LatestVersion)
	if v, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fn")}); err != nil || aws.ToString(v.Version) != "1" {
		t.Fatalf("PublishVersion: %v", err)
	}
	gone("1")
}

// TestPermissionPolicyLength checks Lambda's 20 KB limit of a policy.
func TestPermissionPolicyLength(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("fn")
	src := "arn:aws:s3:::" + strings.Repeat("b", 3000)
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		in := s3Permission("fn", fmt.Sprintf("s%d", i))
		in.SourceArn = aws.String(src)
		_, err = e.client.AddPermission(ctx, in)
	}
	policy, _ := e.getPolicy("fn", "")
	// The statements are all of the same length.
	k := strings.Count(policy, `"Sid"`)
	head := `{"Version":"2012-10-17","Id":"default","Statement":[`
	statement := (len(policy) - len(head) - len("]}") - (k - 1)) / k
	want := fmt.Sprintf("The final policy size (%d) is bigger than the limit (20480).", len(policy)+1+statement)
	wantAPIError(t, err, "PolicyLengthExceededException", want)
	if got := httpStatusOf(err); got != http.StatusBadRequest {
		t.Errorf("status %d, want 400", got)
	}
	if len(policy) > sluice.MaxPolicySize {
		t.Errorf("stored policy of %d bytes", len(policy))
	}
}

// TestPermissionConcurrentAdds checks that concurrent AddPermission calls
// without RevisionId all land, as on AWS (Terraform adds the permissions of
// one function in parallel).
func TestPermissionConcurrentAdds(t *testing.T) {
	e := newEnv(t)
	e.create("fn")
	const n = 12
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = e.client.AddPermission(context.Background(), s3Permission("fn", fmt.Sprintf("s%d", i)))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("AddPermission %d: %v", i, err)
		}
	}
	policy, _ := e.getPolicy("fn", "")
	for i := range n {
		if !strings.Contains(policy, fmt.Sprintf(`"Sid":"s%d"`, i)) {
			t.Errorf("statement s%d is missing from %s", i, policy)
		}
	}
}

// TestResourcePolicy checks the service method the authorization check
// uses.
func TestResourcePolicy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("fn")
	if p, err := e.svc.ResourcePolicy(ctx, "fn", ""); err != nil || p != "" {
		t.Errorf("ResourcePolicy without a policy = %q, %v; want \"\"", p, err)
	}
	e.addPermission(s3Permission("fn", "latest"))
	for i, v := range []string{"1", "2"} {
		// A new version needs a change.
		if _, err := e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fn"), Timeout: aws.Int32(int32(10 + i))}); err != nil {
			t.Fatal(err)
		}
		e.waitUpdated("fn")
		if _, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fn")}); err != nil {
			t.Fatal(err)
		}
		in := s3Permission("fn", "v"+v)
		in.Qualifier = aws.String(v)
		e.addPermission(in)
	}
	if _, err := e.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("fn"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	latest, _ := e.getPolicy("fn", "")
	v2, _ := e.getPolicy("fn", "2")
	for _, c := range []struct{ name, qualifier, want string }{
		{"fn", "", latest},
		{"fn", "$LATEST", latest},
		{"fn:$LATEST", "", latest},
		{"arn:aws:lambda:us-east-1:" + testAccount + ":function:fn", "", latest},
		{"fn", "2", v2},
		{"fn:2", "", v2},
		{"fn", "$LATEST.PUBLISHED", v2},
		{"fn", "live", ""}, // the alias's own policy (none), not version 1's
	} {
		if p, err := e.svc.ResourcePolicy(ctx, c.name, c.qualifier); err != nil || p != c.want {
			t.Errorf("ResourcePolicy(%s, %q) = %q, %v; want %q", c.name, c.qualifier, p, err, c.want)
		}
	}
	for _, c := range []struct{ name, qualifier, msg string }{
		{"nope", "", "Function not found: arn:aws:lambda:us-east-1:" + testAccount + ":function:nope"},
		{"fn", "3", "Function not found: arn:aws:lambda:us-east-1:" + testAccount + ":function:fn:3"},
		{"fn", "dev", "Function not found: arn:aws:lambda:us-east-1:" + testAccount + ":function:fn:dev"},
	} {
		_, err := e.svc.ResourcePolicy(ctx, c.name, c.qualifier)
		var se *sluice.Error
		if !errors.As(err, &se) || se.Code != sluice.ENotFound || se.Message != c.msg {
			t.Errorf("ResourcePolicy(%s, %q) error = %v, want ENotFound %q", c.name, c.qualifier, err, c.msg)
		}
	}
	var doc struct {
		Version, Id string
		Statement   []struct{ Sid, Resource string }
	}
	if err := json.Unmarshal([]byte(v2), &doc); err != nil || doc.Version != "2012-10-17" || doc.Id != "default" ||
		len(doc.Statement) != 1 || doc.Statement[0].Sid != "v2" || !strings.HasSuffix(doc.Statement[0].Resource, ":function:fn:2") {
		t.Errorf("version 2 policy %s: %+v, %v", v2, doc, err)
	}
}
