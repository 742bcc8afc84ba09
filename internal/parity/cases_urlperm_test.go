package parity_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// The function URL and resource policy cases: LocalStack's TestLambdaUrl
// and TestLambdaPermissions of test_lambda_api.py, and the
// control-plane-only cases of TestLambdaURL of test_lambda.py, at the
// excerpt's commit. The cases that call a function URL or invoke the
// function are not here (the invocation replays own them), nor the
// recordings whose test is gone from test_lambda_api.py.
func init() {
	register("urlperm.excerpt.json", map[string]replay{
		"TestLambdaUrl::test_url_config_lifecycle":                       urlConfigLifecycle,
		"TestLambdaUrl::test_url_config_list_paging":                     urlConfigListPaging,
		"TestLambdaUrl::test_url_config_exceptions":                      urlConfigExceptions,
		"TestLambdaUrl::test_url_config_deletion_without_qualifier":      urlConfigDeletionWithoutQualifier,
		"TestLambdaURL::test_lambda_update_function_url_config":          lambdaUpdateFunctionURLConfig,
		"TestLambdaURL::test_lambda_url_invalid_invoke_mode":             lambdaURLInvalidInvokeMode,
		"TestLambdaPermissions::test_permission_exceptions":              permissionExceptions,
		"TestLambdaPermissions::test_add_lambda_permission_aws":          addLambdaPermissionAWS,
		"TestLambdaPermissions::test_lambda_permission_fn_versioning":    lambdaPermissionFnVersioning,
		"TestLambdaPermissions::test_add_lambda_permission_fields":       addLambdaPermissionFields,
		"TestLambdaPermissions::test_remove_multi_permissions":           removeMultiPermissions,
		"TestLambdaPermissions::test_create_multiple_lambda_permissions": createMultipleLambdaPermissions,
	})
}

// nodeHandler stands for LocalStack's lambda_handler.js and lambda_url.js
// (their content is not compared).
const nodeHandler = "exports.handler = async (event) => event;\n"

func nodeZip(file, src string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(file)
	if err != nil {
		panic(err)
	}
	w.Write([]byte(src))
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// nodeFixture is create_lambda_function with a nodejs20.x zip whose
// handler is file's module (lambda_handler.handler, lambda_url.handler).
func (r *run) nodeFixture(prefix, module string) string {
	return r.fixture(prefix, func(in *lambda.CreateFunctionInput) {
		in.Runtime = types.RuntimeNodejs20x
		in.Handler = aws.String(module + ".handler")
		in.Code = &types.FunctionCode{ZipFile: nodeZip(module+".js", nodeHandler)}
	})
}

// keyValue is LocalStack's transform.key_value(key, replacement,
// reference_replacement=False): every value of a member named key, in
// every response kept so far, becomes replacement.
func (r *run) keyValue(key, replacement string) {
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if _, isString := x.(string); k == key && isString {
					v[k] = replacement
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, v := range r.Got {
		walk(v)
	}
}

// parseJSONMembers is what LocalStack's snapshot does with a string
// member holding a JSON object (AddPermission's Statement, GetPolicy's
// Policy): it records the parsed object.
func (r *run) parseJSONMembers(key string) {
	m, ok := r.Got[key].(map[string]any)
	if !ok {
		return
	}
	for k, v := range m {
		s, ok := v.(string)
		if !ok || !strings.HasPrefix(s, "{") {
			continue
		}
		var obj map[string]any
		if json.Unmarshal([]byte(s), &obj) == nil {
			m[k] = obj
		}
	}
}

// sortURLConfigs is LocalStack's SortingTransformer("FunctionUrlConfigs",
// sorting_fn=FunctionArn) on the response kept under key.
func (r *run) sortURLConfigs(key string) {
	m, _ := r.Got[key].(map[string]any)
	list, _ := m["FunctionUrlConfigs"].([]any)
	arn := func(i int) string { c, _ := list[i].(map[string]any); s, _ := c["FunctionArn"].(string); return s }
	sort.SliceStable(list, func(i, j int) bool { return arn(i) < arn(j) })
}

func urlConfigLifecycle(r *run) {
	name := r.nodeFixture("test-function", "lambda_handler")
	create := func() error {
		_, err := r.C.CreateFunctionUrlConfig(r.Ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: &name, AuthType: types.FunctionUrlAuthTypeNone})
		return err
	}
	get := func() error {
		_, err := r.C.GetFunctionUrlConfig(r.Ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: &name})
		return err
	}
	r.Snap("url_creation", create)
	r.Snap("failed_duplication", create)
	r.Snap("get_url_config", get)
	r.Snap("updated_url_config", func() error {
		_, err := r.C.UpdateFunctionUrlConfig(r.Ctx, &lambda.UpdateFunctionUrlConfigInput{FunctionName: &name, AuthType: types.FunctionUrlAuthTypeAwsIam})
		return err
	})
	if _, err := r.C.DeleteFunctionUrlConfig(r.Ctx, &lambda.DeleteFunctionUrlConfigInput{FunctionName: &name}); err != nil {
		r.T.Errorf("MISMATCH delete_function_url_config: AWS succeeds, sluice: %v", err)
	}
	r.Snap("failed_getter", get)
	r.keyValue("FunctionUrl", "lambda-url")
}

// publishAndAlias publishes version 1 of name and points alias at it,
// snapshotting both under the keys given (none when empty).
func (r *run) publishAndAlias(name, alias, versionKey, aliasKey, description string) {
	publish := func() error {
		_, err := r.C.PublishVersion(r.Ctx, &lambda.PublishVersionInput{FunctionName: &name})
		return err
	}
	createAlias := func() error {
		in := &lambda.CreateAliasInput{FunctionName: &name, Name: &alias, FunctionVersion: aws.String("1")}
		if description != "" {
			in.Description = &description
		}
		_, err := r.C.CreateAlias(r.Ctx, in)
		return err
	}
	if versionKey == "" {
		if err := publish(); err != nil {
			r.T.Errorf("publish_version: %v", err)
		}
		if err := createAlias(); err != nil {
			r.T.Errorf("create_alias: %v", err)
		}
		return
	}
	r.Snap(versionKey, publish)
	r.Snap(aliasKey, createAlias)
}

func urlConfigListPaging(r *run) {
	name := r.nodeFixture("test-function", "lambda_handler")
	alias := "urlalias"
	r.publishAndAlias(name, alias, "fn_version_result", "create_alias_result", "")
	list := func(fn string, max int32, marker *string) (*lambda.ListFunctionUrlConfigsOutput, error) {
		in := &lambda.ListFunctionUrlConfigsInput{FunctionName: &fn, Marker: marker}
		if max > 0 {
			in.MaxItems = &max
		}
		return r.C.ListFunctionUrlConfigs(r.Ctx, in)
	}
	r.Snap("list_function_notfound", func() error { _, err := list("doesnotexist", 0, nil); return err })
	r.Snap("list_all_empty", func() error { _, err := list(name, 0, nil); return err })
	var urls []string
	r.Snap("url_config_fn", func() error {
		out, err := r.C.CreateFunctionUrlConfig(r.Ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: &name, AuthType: types.FunctionUrlAuthTypeNone})
		if err == nil {
			urls = append(urls, *out.FunctionUrl)
		}
		return err
	})
	r.Snap("url_config_alias", func() error {
		out, err := r.C.CreateFunctionUrlConfig(r.Ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String(name + ":" + alias), Qualifier: &alias, AuthType: types.FunctionUrlAuthTypeNone})
		if err == nil {
			urls = append(urls, *out.FunctionUrl)
		}
		return err
	})
	r.Snap("list_all", func() error { _, err := list(name, 0, nil); return err })
	r.sortURLConfigs("list_all")
	// the test's assertions on paging, which it does not snapshot
	one, err := list(name, 1, nil)
	if err != nil || len(one.FunctionUrlConfigs) != 1 || one.NextMarker == nil {
		r.T.Errorf("MISMATCH list MaxItems=1: AWS answers one config and a NextMarker, sluice %+v %v", one, err)
		return
	}
	two, err := list(name, 2, nil)
	if err != nil || len(two.FunctionUrlConfigs) != 2 {
		r.T.Errorf("MISMATCH list MaxItems=2: AWS answers two configs, sluice %+v %v", two, err)
	}
	next, err := list(name, 1, one.NextMarker)
	if err != nil || len(next.FunctionUrlConfigs) != 1 || *next.FunctionUrlConfigs[0].FunctionUrl == *one.FunctionUrlConfigs[0].FunctionUrl {
		r.T.Errorf("MISMATCH list MaxItems=1 with the marker: AWS answers the other config, sluice %+v %v", next, err)
	}
	for _, page := range [][]types.FunctionUrlConfig{one.FunctionUrlConfigs, next.FunctionUrlConfigs} {
		for _, c := range page {
			if len(urls) != 2 || (*c.FunctionUrl != urls[0] && *c.FunctionUrl != urls[1]) {
				r.T.Errorf("MISMATCH list paging: %s is none of the created %q", *c.FunctionUrl, urls)
			}
		}
	}
	r.keyValue("FunctionUrl", "lambda-url")
}

func urlConfigExceptions(r *run) {
	name := r.nodeFixture("test-function", "lambda_handler")
	alias := "urlalias"
	fn, err := r.C.GetFunction(r.Ctx, &lambda.GetFunctionInput{FunctionName: &name})
	if err != nil {
		r.T.Errorf("get_function: %v", err)
		return
	}
	arnDoesNotExist := strings.Replace(*fn.Configuration.FunctionArn, name, "doesnotexist", 1)
	r.publishAndAlias(name, alias, "fn_version_result", "create_alias_result", "")
	type target struct {
		snapshot, name, qualifier string
	}
	tests := []target{
		{"name_doesnotexist", "doesnotexist", ""},
		{"arn_doesnotexist", arnDoesNotExist, ""},
		{"name_doesnotexist_qualifier", "doesnotexist", "1"},
		{"qualifier_version", name, "1"},
		{"qualifier_version_doesnotexist", name, "2"},
		{"qualifier_alias_doesnotexist", name, "v1"},
		{"qualifier_alias_doesnotmatch_arn", name + ":" + alias + "-doesnotmatch", alias},
		{"qualifier_latest", name, "$LATEST"},
	}
	withConfig := append(tests[:len(tests):len(tests)], target{"config_doesnotexist", name, ""})
	q := func(t target) *string {
		if t.qualifier == "" {
			return nil
		}
		return aws.String(t.qualifier)
	}
	for _, t := range tests {
		r.Snap("create_function_url_config_"+t.snapshot, func() error {
			_, err := r.C.CreateFunctionUrlConfig(r.Ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String(t.name), Qualifier: q(t), AuthType: types.FunctionUrlAuthTypeNone})
			return err
		})
	}
	for _, t := range withConfig {
		r.Snap("get_function_url_config_"+t.snapshot, func() error {
			_, err := r.C.GetFunctionUrlConfig(r.Ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String(t.name), Qualifier: q(t)})
			return err
		})
	}
	for _, t := range withConfig {
		r.Snap("delete_function_url_config_"+t.snapshot, func() error {
			_, err := r.C.DeleteFunctionUrlConfig(r.Ctx, &lambda.DeleteFunctionUrlConfigInput{FunctionName: aws.String(t.name), Qualifier: q(t)})
			return err
		})
	}
	for _, t := range withConfig {
		r.Snap("update_function_url_config_"+t.snapshot, func() error {
			_, err := r.C.UpdateFunctionUrlConfig(r.Ctx, &lambda.UpdateFunctionUrlConfigInput{FunctionName: aws.String(t.name), Qualifier: q(t), AuthType: types.FunctionUrlAuthTypeAwsIam})
			return err
		})
	}
	r.keyValue("FunctionUrl", "lambda-url")
}

func urlConfigDeletionWithoutQualifier(r *run) {
	// create_lambda_function_aws: a CreateFunction of its own, no snapshot
	name := r.fixture("alias-fn", func(in *lambda.CreateFunctionInput) {
		in.Handler = aws.String("index.handler")
		in.Environment = &types.Environment{Variables: map[string]string{"testenv": "staging"}}
		in.Timeout = nil
	})
	alias := "test-alias"
	r.publishAndAlias(name, alias, "", "", "custom-alias")
	create := func(q *string) func() error {
		return func() error {
			_, err := r.C.CreateFunctionUrlConfig(r.Ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: &name, Qualifier: q, AuthType: types.FunctionUrlAuthTypeNone})
			return err
		}
	}
	get := func(q *string) func() error {
		return func() error {
			_, err := r.C.GetFunctionUrlConfig(r.Ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: &name, Qualifier: q})
			return err
		}
	}
	r.Snap("url_creation", create(nil))
	r.Snap("url_with_alias_creation", create(&alias))
	r.Snap("get_url_config", get(nil))
	r.Snap("get_url_config_with_alias", get(&alias))
	r.Snap("delete_function_url_config", func() error {
		_, err := r.C.DeleteFunctionUrlConfig(r.Ctx, &lambda.DeleteFunctionUrlConfigInput{FunctionName: &name})
		return err
	})
	r.Snap("get_url_config_after_deletion", get(nil))
	r.Snap("get_url_config_with_alias_after_deletion", get(&alias))
	r.keyValue("FunctionUrl", "lambda-url")
}

func lambdaUpdateFunctionURLConfig(r *run) {
	name := r.nodeFixture("test-fnurl-echo", "lambda_url")
	get := func() error {
		_, err := r.C.GetFunctionUrlConfig(r.Ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: &name})
		return err
	}
	r.Snap("create_lambda_url_config", func() error {
		_, err := r.C.CreateFunctionUrlConfig(r.Ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: &name, AuthType: types.FunctionUrlAuthTypeNone, InvokeMode: types.InvokeModeBuffered})
		return err
	})
	r.Snap("get_url_config", get)
	r.Snap("modify_lambda_url_config", func() error {
		_, err := r.C.UpdateFunctionUrlConfig(r.Ctx, &lambda.UpdateFunctionUrlConfigInput{FunctionName: &name, InvokeMode: types.InvokeModeResponseStream})
		return err
	})
	r.Snap("get_url_config_2", get)
	r.Snap("modify_lambda_url_config_none", func() error {
		_, err := r.C.UpdateFunctionUrlConfig(r.Ctx, &lambda.UpdateFunctionUrlConfigInput{FunctionName: &name})
		return err
	})
	r.Snap("get_url_config_3", get)
	r.keyValue("FunctionUrl", "<function-url>")
}

func lambdaURLInvalidInvokeMode(r *run) {
	name := r.fixture("test-fn-echo", func(in *lambda.CreateFunctionInput) { in.Handler = aws.String("lambda_echo_json_body.handler") })
	r.Snap("invoke_function_invalid_invoke_type", func() error {
		_, err := r.C.CreateFunctionUrlConfig(r.Ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: &name, AuthType: types.FunctionUrlAuthTypeNone, InvokeMode: "UNKNOWN"})
		return err
	})
}

// s3BucketARN is LocalStack's arns.s3_bucket_arn("test-bucket").
const s3BucketARN = "arn:aws:s3:::test-bucket"

// permission is one AddPermission call.
func (r *run) permission(in lambda.AddPermissionInput) func() error {
	return func() error {
		_, err := r.C.AddPermission(r.Ctx, &in)
		return err
	}
}

func (r *run) policy(name, qualifier string) func() error {
	return func() error {
		in := &lambda.GetPolicyInput{FunctionName: &name}
		if qualifier != "" {
			in.Qualifier = &qualifier
		}
		_, err := r.C.GetPolicy(r.Ctx, in)
		return err
	}
}

// snapPolicy snapshots a GetPolicy or AddPermission call as the recording
// has it: with its Policy or Statement parsed.
func (r *run) snapPolicy(key string, f func() error) {
	r.Snap(key, f)
	r.parseJSONMembers(key)
}

// must runs a call the test does not snapshot but expects to succeed.
func (r *run) must(what string, f func() error) {
	r.T.Helper()
	if err := f(); err != nil {
		r.T.Errorf("MISMATCH %s: AWS succeeds, sluice: %v", what, err)
	}
}

func s3Permission(name string) lambda.AddPermissionInput {
	return lambda.AddPermissionInput{
		FunctionName: aws.String(name), Action: aws.String("lambda:InvokeFunction"), StatementId: aws.String("s3"),
		Principal: aws.String("s3.amazonaws.com"), SourceArn: aws.String(s3BucketARN),
	}
}

func permissionExceptions(r *run) {
	name := r.fixture("lambda_func")
	r.Snap("add_permission_invalid_statement_id", r.permission(lambda.AddPermissionInput{
		FunctionName: &name, Action: aws.String("lambda:InvokeFunction"), StatementId: aws.String("example.com"), Principal: aws.String("s3.amazonaws.com"),
	}))
	in := s3Permission(name + ":alias-not-42")
	in.Qualifier = aws.String("42")
	r.Snap("add_permission_fn_qualifier_mismatch", r.permission(in))
	in = s3Permission(name + ":$LATEST")
	in.Qualifier = aws.String("$LATEST")
	r.Snap("add_permission_fn_qualifier_latest", r.permission(in))
	r.Snap("add_permission_principal_invalid", r.permission(lambda.AddPermissionInput{
		FunctionName: &name, Action: aws.String("lambda:InvokeFunction"), StatementId: aws.String("lambda"),
		Principal: aws.String("invalid.nonaws.com"), SourceAccount: aws.String(scope.Account),
	}))
	r.Snap("get_policy_fn_doesnotexist", r.policy("doesnotexist", ""))
	r.Snap("get_policy_fn_version_doesnotexist", r.policy(name, "77"))
	r.Snap("add_permission_fn_doesnotexist", r.permission(s3Permission("doesnotexist")))
	r.Snap("remove_permission_policy_doesnotexist", func() error {
		_, err := r.C.RemovePermission(r.Ctx, &lambda.RemovePermissionInput{FunctionName: &name, StatementId: aws.String("s3")})
		return err
	})
	r.Snap("add_permission_fn_alias_doesnotexist", r.permission(s3Permission(name+":alias-doesnotexist")))
	in = s3Permission(name)
	in.Qualifier = aws.String("42")
	r.Snap("add_permission_fn_version_doesnotexist", r.permission(in))
	in = s3Permission(name)
	in.Qualifier = aws.String("invalid-qualifier-with-?-char")
	r.Snap("add_permission_fn_qualifier_invalid", r.permission(in))
	in = s3Permission(name)
	in.Qualifier = aws.String("valid-with-$-but-doesnotexist")
	r.Snap("add_permission_fn_qualifier_valid_doesnotexist", r.permission(in))
	r.must("add_permission", r.permission(s3Permission(name)))
	r.Snap("add_permission_conflicting_statement_id", r.permission(s3Permission(name)))
	r.Snap("remove_permission_fn_doesnotexist", func() error {
		_, err := r.C.RemovePermission(r.Ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("doesnotexist"), StatementId: aws.String("s3")})
		return err
	})
	r.Snap("remove_permission_fn_alias_doesnotexist", func() error {
		_, err := r.C.RemovePermission(r.Ctx, &lambda.RemovePermissionInput{FunctionName: &name, StatementId: aws.String("s3"), Qualifier: aws.String("alias-doesnotexist")})
		return err
	})
}

func addLambdaPermissionAWS(r *run) {
	name, create := r.create("lambda_func")
	r.Snap("create_lambda", create)
	r.Got["create_lambda"] = map[string]any{"CreateEventSourceMappingResponse": nil, "CreateFunctionResponse": r.Got["create_lambda"]}
	r.WaitActive(name)
	r.snapPolicy("add_permission", r.permission(s3Permission(name)))
	r.snapPolicy("get_policy", r.policy(name, ""))
}

func lambdaPermissionFnVersioning(r *run) {
	name := r.fixture("lambda_func")
	r.snapPolicy("add_permission", r.permission(s3Permission(name)))
	r.snapPolicy("get_policy", r.policy(name, ""))
	r.Snap("publish_version_result", func() error {
		_, err := r.C.PublishVersion(r.Ctx, &lambda.PublishVersionInput{FunctionName: &name})
		return err
	})
	version, _ := r.Got["publish_version_result"].(map[string]any)["Version"].(string)
	// published_version_active without a Qualifier: it waits on $LATEST
	r.WaitActive(name)
	r.Snap("get_function_result_after_publishing", func() error {
		_, err := r.C.GetFunction(r.Ctx, &lambda.GetFunctionInput{FunctionName: &name})
		return err
	})
	r.snapPolicy("get_policy_after_publishing_latest", r.policy(name, ""))
	r.Snap("get_policy_after_publishing_new_version", r.policy(name, version))
	in := s3Permission(name + ":" + version)
	in.Qualifier = &version
	r.must("add_permission to the version", r.permission(in))
	r.snapPolicy("get_policy_version", r.policy(name, version))
	alias := "permission-alias"
	var aliasRevision string
	r.Snap("create_alias_response", func() error {
		out, err := r.C.CreateAlias(r.Ctx, &lambda.CreateAliasInput{FunctionName: &name, Name: &alias, FunctionVersion: &version})
		if err == nil {
			aliasRevision = *out.RevisionId
		}
		return err
	})
	r.Snap("get_alias", func() error {
		out, err := r.C.GetAlias(r.Ctx, &lambda.GetAliasInput{FunctionName: &name, Name: &alias})
		if err == nil && *out.RevisionId != aliasRevision {
			r.T.Errorf("MISMATCH get_alias: AWS answers the RevisionId of create_alias, sluice %s (created %s)", *out.RevisionId, aliasRevision)
		}
		return err
	})
	in = s3Permission(name)
	in.Qualifier = &alias
	in.RevisionId = aws.String("wrong")
	r.Snap("add_permission_alias_revision_exception", r.permission(in))
	in = s3Permission(name + ":" + alias)
	in.Qualifier = &alias
	in.RevisionId = &aliasRevision
	r.must("add_permission to the alias", r.permission(in))
	r.snapPolicy("get_policy_alias", r.policy(name, alias))
	var policyRevision string
	r.snapPolicy("get_policy_after_adding_to_new_version", func() error {
		out, err := r.C.GetPolicy(r.Ctx, &lambda.GetPolicyInput{FunctionName: &name})
		if err == nil {
			policyRevision = *out.RevisionId
		}
		return err
	})
	in = s3Permission(name)
	in.StatementId = aws.String("s3_2")
	in.RevisionId = &policyRevision
	r.must("add_permission s3_2", r.permission(in))
	r.snapPolicy("get_policy_after_adding_2", r.policy(name, ""))
}

func addLambdaPermissionFields(r *run) {
	name := r.fixture("lambda_func")
	account := scope.Account
	fields := func(sid, principal string, opts ...func(*lambda.AddPermissionInput)) func() error {
		in := lambda.AddPermissionInput{FunctionName: &name, Action: aws.String("lambda:InvokeFunction"), StatementId: &sid, Principal: &principal}
		for _, o := range opts {
			o(&in)
		}
		return r.permission(in)
	}
	sourceAccount := func(in *lambda.AddPermissionInput) { in.SourceAccount = &account }
	r.snapPolicy("add_permission_principal_wildcard", fields("wilcard", "*", sourceAccount))
	r.snapPolicy("add_permission_principal_service", fields("lambda", "lambda.amazonaws.com", sourceAccount))
	r.snapPolicy("add_permission_principal_account", fields("account-id", account))
	// sts.get_caller_identity()["Arn"] of the recording's caller, by hand
	userARN := "arn:aws:iam::" + account + ":user/parity"
	r.snapPolicy("add_permission_principal_arn", fields("user-arn", userARN, sourceAccount))
	r.snapPolicy("add_permission_optional_fields", fields("urlPermission", "*", func(in *lambda.AddPermissionInput) {
		in.Action = aws.String("lambda:InvokeFunctionUrl")
		in.SourceArn = aws.String(s3BucketARN)
		in.SourceAccount = &account
		in.PrincipalOrgID = aws.String("o-1234567890")
		in.FunctionUrlAuthType = types.FunctionUrlAuthTypeNone
	}))
	r.snapPolicy("add_permission_alexa_skill", fields("alexaSkill", "*", func(in *lambda.AddPermissionInput) {
		in.EventSourceToken = aws.String("amzn1.ask.skill.xxxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")
	}))
}

func removeMultiPermissions(r *run) {
	name := r.fixture("lambda_func")
	in := s3Permission(name)
	in.SourceArn = nil
	r.snapPolicy("add_permission_1", r.permission(in))
	in = s3Permission(name)
	in.StatementId = aws.String("sqs")
	in.Principal = aws.String("sqs.amazonaws.com")
	r.snapPolicy("add_permission_2", r.permission(in))
	r.snapPolicy("policy_after_2_add", r.policy(name, ""))
	remove := func(sid string, revision *string) func() error {
		return func() error {
			_, err := r.C.RemovePermission(r.Ctx, &lambda.RemovePermissionInput{FunctionName: &name, StatementId: &sid, RevisionId: revision})
			return err
		}
	}
	r.Snap("remove_permission_exception_nonexisting_sid", remove("non-existent", nil))
	r.must("remove_permission sqs", remove("sqs", nil))
	r.snapPolicy("policy_after_removal", r.policy(name, ""))
	r.snapPolicy("policy_after_removal_attempt", r.policy(name, ""))
	revision, _ := r.Got["policy_after_removal_attempt"].(map[string]any)["RevisionId"].(string)
	r.must("remove_permission s3", remove("s3", &revision))
	r.Snap("get_policy_exception_removed_all", r.policy(name, ""))
}

func createMultipleLambdaPermissions(r *run) {
	name := r.fixture("test-function")
	add := func(sid, principal string) func() error {
		return r.permission(lambda.AddPermissionInput{FunctionName: &name, Action: aws.String("lambda:InvokeFunction"), StatementId: &sid, Principal: &principal})
	}
	r.snapPolicy("add_permission_response_1", add("logs", "logs.amazonaws.com"))
	r.snapPolicy("add_permission_response_2", add("kinesis", "kinesis.amazonaws.com"))
	r.snapPolicy("policy_after_2_add", r.policy(name, ""))
}
