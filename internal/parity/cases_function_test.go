package parity_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The remaining cases of LocalStack's TestLambdaFunction (those whose
// operations sluice implements), TestRuntimeValidation and
// TestLambdaSizeLimits: validation of names, qualifiers, ARNs, runtimes,
// architectures, roles, packages and sizes, and the not-found answers
// that name an ARN. Each replay redoes the call sequence of the test of
// its name in test_lambda_api.py at the excerpt's commit.
func init() {
	cases := map[string]replay{
		"TestLambdaFunction::test_create_lambda_exceptions": createLambdaExceptions,
		"TestLambdaFunction::test_update_lambda_exceptions": updateLambdaExceptions,
		"TestLambdaFunction::test_function_arns":            functionARNs,
		"TestLambdaFunction::test_invalid_invoke": func(r *run) {
			r.Snap("invoke_function_name_pattern_exc", func() error {
				_, err := r.C.Invoke(r.Ctx, &lambda.InvokeInput{
					FunctionName: aws.String("arn:aws:lambda:" + scope.Region + ":123400000000@function:myfn"),
					Payload:      []byte("{}"),
				})
				return err
			})
		},
		"TestLambdaFunction::test_ops_on_nonexisting_fn[get_function_code_signing_config]": nonexisting(func(r *run, name string) error {
			_, err := r.C.GetFunctionCodeSigningConfig(r.Ctx, &lambda.GetFunctionCodeSigningConfigInput{FunctionName: &name})
			return err
		}),
		"TestLambdaFunction::test_lambda_code_location_zipfile":     codeLocationZipfile,
		"TestLambdaFunction::test_lambda_concurrent_code_updates":   concurrentCodeUpdates,
		"TestLambdaFunction::test_lambda_concurrent_config_updates": concurrentConfigUpdates,
	}

	// test_name_and_qualifier_validation: every case of the matrix with
	// every operation, but incomplete_arn-create_function (the test skips
	// it: the name is valid for CreateFunction; nothing was recorded).
	for _, tc := range nameMatrix {
		for _, op := range []string{"get_function", "delete_function", "invoke", "create_function"} {
			if tc.id == "incomplete_arn" && op == "create_function" {
				continue
			}
			cases["TestLambdaFunction::test_function_name_and_qualifier_validation["+tc.id+"-"+op+"]"] = nameValidation(tc.name, tc.qualifier, op)
		}
	}

	// test_ops_with_arn_qualifier_mismatch: a qualified ARN with another
	// Qualifier, then with the same one (no function there either way).
	mismatch := map[string]func(r *run, name, q string) error{
		"delete_function": func(r *run, name, q string) error {
			_, err := r.C.DeleteFunction(r.Ctx, &lambda.DeleteFunctionInput{FunctionName: &name, Qualifier: &q})
			return err
		},
		"get_function": func(r *run, name, q string) error {
			_, err := r.C.GetFunction(r.Ctx, &lambda.GetFunctionInput{FunctionName: &name, Qualifier: &q})
			return err
		},
		"get_function_configuration": func(r *run, name, q string) error {
			_, err := r.C.GetFunctionConfiguration(r.Ctx, &lambda.GetFunctionConfigurationInput{FunctionName: &name, Qualifier: &q})
			return err
		},
	}
	for op, call := range mismatch {
		cases["TestLambdaFunction::test_ops_with_arn_qualifier_mismatch["+op+"]"] = func(r *run) {
			arn := "arn:aws:lambda:" + scope.Region + ":" + scope.Account + ":function:some-function"
			r.Snap("not_match_exception", func() error { return call(r, arn+":1", "$LATEST") })
			r.Snap("match_exception", func() error { return call(r, arn+":$LATEST", "$LATEST") })
		}
	}

	// test_get_function_wrong_region: the ARN of an existing function with
	// another region, sent to the client's region.
	wrongRegion := map[string]func(r *run, arn string) error{
		"get_function": func(r *run, arn string) error {
			_, err := r.C.GetFunction(r.Ctx, &lambda.GetFunctionInput{FunctionName: &arn})
			return err
		},
		"get_function_configuration": func(r *run, arn string) error {
			_, err := r.C.GetFunctionConfiguration(r.Ctx, &lambda.GetFunctionConfigurationInput{FunctionName: &arn})
			return err
		},
		"get_function_url_config": func(r *run, arn string) error {
			_, err := r.C.GetFunctionUrlConfig(r.Ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: &arn})
			return err
		},
		"get_function_code_signing_config": func(r *run, arn string) error {
			_, err := r.C.GetFunctionCodeSigningConfig(r.Ctx, &lambda.GetFunctionCodeSigningConfigInput{FunctionName: &arn})
			return err
		},
		"get_function_concurrency": func(r *run, arn string) error {
			_, err := r.C.GetFunctionConcurrency(r.Ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: &arn})
			return err
		},
		"delete_function": func(r *run, arn string) error {
			_, err := r.C.DeleteFunction(r.Ctx, &lambda.DeleteFunctionInput{FunctionName: &arn})
			return err
		},
		"invoke": func(r *run, arn string) error {
			_, err := r.C.Invoke(r.Ctx, &lambda.InvokeInput{FunctionName: &arn})
			return err
		},
	}
	for op, call := range wrongRegion {
		cases["TestLambdaFunction::test_get_function_wrong_region["+op+"]"] = func(r *run) {
			name := r.fixture("i-exist", func(in *lambda.CreateFunctionInput) { in.Description = aws.String("Initial description") })
			wrong := "eu-central-1" // the test's: us-east-1 unless the client's region is us-east-1
			if scope.Region != "us-east-1" {
				wrong = "us-east-1"
			}
			r.Snap("wrong_region_exception", func() error {
				return call(r, "arn:aws:lambda:"+wrong+":"+scope.Account+":function:"+name)
			})
		}
	}

	// TestRuntimeValidation: CreateFunction with each runtime LocalStack
	// lists as deprecated.
	for _, rt := range []string{"java8", "go1.x", "provided", "ruby2.7", "nodejs14.x", "python3.7", "dotnetcore3.1", "nodejs12.x"} {
		cases["TestRuntimeValidation::test_create_deprecated_function_runtime_with_validation_enabled["+rt+"]"] = func(r *run) {
			_, create := r.create("fn", func(in *lambda.CreateFunctionInput) { in.Runtime = types.Runtime(rt) })
			r.Snap("deprecation_error", create)
		}
	}

	cases["TestLambdaSizeLimits::test_large_environment_variables_fails"] = largeEnvironment("failed_create_fn_result", map[string]string{
		"LARGE_VAR": strings.Repeat("x", 4*1024-6-len("LARGE_VAR")),
	}, "LARGE_VAR")
	cases["TestLambdaSizeLimits::test_large_environment_fails_multiple_keys"] = largeEnvironment("failured_create_fn_result_multi_key", map[string]string{
		"SMALL_VAR": "ok",
		"LARGE_VAR": strings.Repeat("x", 4064),
	}, "SMALL_VAR", "LARGE_VAR")
	cases["TestLambdaSizeLimits::test_lambda_envvars_near_limit_succeeds"] = envvarsNearLimit
	cases["TestLambdaSizeLimits::test_oversized_zipped_create_lambda"] = oversizedZipped
	cases["TestLambdaSizeLimits::test_oversized_request_create_lambda"] = oversizedRequest
	cases["TestLambdaFunction::test_list_functions"] = listFunctions

	register("function.excerpt.json", cases)
}

// a is LocalStack's "a" * n.
func a(n int) string { return strings.Repeat("a", n) }

// nameMatrix is the parametrisation of test_function_name_and_qualifier_validation;
// {region_name} and {account_id} are the client's.
var nameMatrix = []struct{ id, name, qualifier string }{
	{"invalid_characters_in_function_name", "my-function!", ""},
	{"function_name_is_single_invalid", "*", ""},
	{"invalid_characters_in_qualifier", "my-function", "invalid!"},
	{"qualifier_too_long", "my-function", a(129)},
	{"invalid_account_id_in_partial_arn", "invalid-account:function:my-function", ""},
	{"invalid_region_in_arn", "arn:aws:lambda:invalid-region:{account_id}:function:my-function", ""},
	{"non_lambda_arn", "arn:aws:ec2:{region_name}:{account_id}:instance:i-1234567890abcdef0", ""},
	{"function_name_too_long", a(65), ""},
	{"function_name_too_long_and_invalid_region", "arn:aws:lambda:invalid-region:{account_id}:function:my-function" + a(170), ""},
	{"full_arn_and_qualifier_too_long_and_invalid_region", "arn:aws:lambda:invalid-region:{account_id}:function:my-function-" + a(170), a(129)},
	{"full_arn_with_multiple_qualifiers", "arn:aws:lambda:{region_name}:{account_id}:function:my-function:1:2", ""},
	{"incomplete_arn", "arn:aws:lambda:{region_name}:{account_id}:function", ""},
	{"partial_arn_with_extra_qualifier", "function:my-function:$LATEST:extra", ""},
	{"latest_version_with_additional_qualifier", "arn:aws:lambda:{region_name}:{account_id}:function:my-function:$LATEST", "1"},
	{"lowercase_latest_qualifier", "arn:aws:lambda:{region_name}:{account_id}:function:my-function", "$latest"},
	{"missing_region_in_arn", "arn:aws:lambda::{account_id}:function:my-function", ""},
	{"missing_account_id_in_arn", "arn:aws:lambda:{region_name}::function:my-function", ""},
	{"misspelled_latest_in_arn", "arn:aws:lambda:{region_name}:{account_id}:function:my-function:$LATES", ""},
}

// nameValidation is one case of the matrix: op called with the name (and
// the qualifier, which create_function appends to the name), its error
// snapshotted as the test's _extract_from_error_message shapes it, after
// the test's regex transformers ("a" * n becomes "<a:len(n)>": the
// operation's longest ARN first, then the qualifier's, then the name's).
func nameValidation(name, qualifier, op string) replay {
	return func(r *run) {
		name := strings.NewReplacer("{region_name}", scope.Region, "{account_id}", scope.Account).Replace(name)
		var q *string
		if qualifier != "" {
			q = aws.String(qualifier)
		}
		key := op + "_exception"
		r.Snap(key, func() error {
			var err error
			switch op {
			case "get_function":
				_, err = r.C.GetFunction(r.Ctx, &lambda.GetFunctionInput{FunctionName: &name, Qualifier: q})
			case "delete_function":
				_, err = r.C.DeleteFunction(r.Ctx, &lambda.DeleteFunctionInput{FunctionName: &name, Qualifier: q})
			case "invoke":
				_, err = r.C.Invoke(r.Ctx, &lambda.InvokeInput{FunctionName: &name, Qualifier: q})
			case "create_function":
				full := name
				if qualifier != "" {
					full += ":" + qualifier
				}
				_, err = r.C.CreateFunction(r.Ctx, &lambda.CreateFunctionInput{
					FunctionName: &full,
					Handler:      aws.String("index.handler"),
					Code:         &types.FunctionCode{ZipFile: pyZip(echoHandler)},
					PackageType:  types.PackageTypeZip,
					Role:         aws.String(role),
					Runtime:      types.RuntimePython312,
				})
			}
			return err
		})
		maxARN := 140
		if op == "invoke" || op == "get_function" {
			maxARN = 170
		}
		r.Got[key] = transformStrings(extractViolations(r.Got[key]), strings.NewReplacer(
			a(maxARN), "<a:len("+itoa(maxARN)+")>",
		), strings.NewReplacer(a(129), "<a:len(129)>"), strings.NewReplacer(a(65), "<a:len(65)>"))
	}
}

func itoa(n int) string {
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// violationRE is the test's error_pattern, `(Value '.*?' at '.*?' failed
// to satisfy constraint: .+?(?=;|$))`, without the lookahead RE2 lacks.
var violationRE = regexp.MustCompile(`Value '.*?' at '.*?' failed to satisfy constraint: [^;]+`)

// extractViolations is the test's _extract_from_error_message: the
// sorted model violations of the message with their count, or the
// message itself. A response without an error (the test would have
// failed: it expects one) is kept whole, so that the diff shows it.
func extractViolations(resp any) any {
	m, _ := resp.(map[string]any)
	e, ok := m["Error"].(map[string]any)
	if !ok {
		return resp
	}
	msg, _ := e["Message"].(string)
	if found := violationRE.FindAllString(msg, -1); found != nil {
		sort.Strings(found)
		errs := make([]any, len(found))
		for i, f := range found {
			errs[i] = f
		}
		return map[string]any{"Code": e["Code"], "Errors": errs, "Count": float64(len(found))}
	}
	return map[string]any{"Code": e["Code"], "Message": msg}
}

// transformStrings applies the replacers, in order, to every string in v
// (LocalStack's regex transformers, which rewrite the snapshot's text).
func transformStrings(v any, rs ...*strings.Replacer) any {
	switch x := v.(type) {
	case string:
		for _, r := range rs {
			x = r.Replace(x)
		}
		return x
	case []any:
		for i := range x {
			x[i] = transformStrings(x[i], rs...)
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = transformStrings(x[k], rs...)
		}
		return x
	}
	return v
}

// createIn is the test's create_function call: index.handler, the echo
// handler's zip, Zip package type, python3.12.
func createIn(name string, opts ...func(*lambda.CreateFunctionInput)) *lambda.CreateFunctionInput {
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Handler:      aws.String("index.handler"),
		Code:         &types.FunctionCode{ZipFile: pyZip(echoHandler)},
		PackageType:  types.PackageTypeZip,
		Role:         aws.String(role),
		Runtime:      types.RuntimePython312,
	}
	for _, o := range opts {
		o(in)
	}
	return in
}

func (r *run) snapCreate(key string, in *lambda.CreateFunctionInput) {
	r.Snap(key, func() error { _, err := r.C.CreateFunction(r.Ctx, in); return err })
}

func createLambdaExceptions(r *run) {
	name := "invalid-function-" + uid()
	r.snapCreate("invalid_role_arn_exc", createIn(name, func(in *lambda.CreateFunctionInput) { in.Role = aws.String("r1") }))
	r.snapCreate("invalid_runtime_exc", createIn(name, func(in *lambda.CreateFunctionInput) { in.Runtime = "non-existent-runtime" }))
	r.snapCreate("uppercase_runtime_exc", createIn(name, func(in *lambda.CreateFunctionInput) { in.Runtime = "PYTHON3.9" }))
	// empty_architectures is botocore's client-side ParamValidationError:
	// the request never left boto3, there is no response to replay (see
	// deviations.tsv)
	r.snapCreate("multiple_architectures", createIn(name, func(in *lambda.CreateFunctionInput) {
		in.Architectures = []types.Architecture{types.ArchitectureX8664, types.ArchitectureArm64}
	}))
	r.snapCreate("uppercase_architecture", createIn(name, func(in *lambda.CreateFunctionInput) { in.Architectures = []types.Architecture{"X86_64"} }))
	r.snapCreate("invalid_zip_exc", createIn(name, func(in *lambda.CreateFunctionInput) {
		in.Code = &types.FunctionCode{ZipFile: []byte("this is not a zipfile, just a random string")}
		in.Runtime = "python3.9"
	}))
}

func updateLambdaExceptions(r *run) {
	name := "invalid-function-" + uid()
	// create_lambda_function_aws: a CreateFunction, waiting until Active
	if _, err := r.C.CreateFunction(r.Ctx, createIn(name)); err != nil {
		r.T.Errorf("create: %v", err)
	}
	r.WaitActive(name)
	update := func(key string, in *lambda.UpdateFunctionConfigurationInput) {
		in.FunctionName = &name
		r.Snap(key, func() error { _, err := r.C.UpdateFunctionConfiguration(r.Ctx, in); return err })
	}
	update("invalid_role_arn_exc", &lambda.UpdateFunctionConfigurationInput{Role: aws.String("r1")})
	update("invalid_runtime_exc", &lambda.UpdateFunctionConfigurationInput{Runtime: "non-existent-runtime"})
	update("uppercase_runtime_exc", &lambda.UpdateFunctionConfigurationInput{Runtime: "PYTHON3.9"})
}

// fixtureResponse is the shape of create_lambda_function's return value
// that the snapshots keep.
func (r *run) fixtureResponse(key string) {
	r.Got[key] = map[string]any{"CreateEventSourceMappingResponse": nil, "CreateFunctionResponse": r.Got[key]}
}

// listFunctions is test_list_functions.

func listFunctions(r *run) {
	name1, create1 := r.create("list-fn-1", func(in *lambda.CreateFunctionInput) { in.Publish = true })
	r.Snap("create_response_1", create1)
	r.fixtureResponse("create_response_1")
	r.WaitActive(name1)
	name2, create2 := r.create("list-fn-2", func(in *lambda.CreateFunctionInput) {
		in.Code = &types.FunctionCode{ZipFile: zipAt(echoHandler, time.Now().Add(time.Minute))} // an archive of its own
	})
	r.Snap("create_response_2", create2)
	r.fixtureResponse("create_response_2")
	r.WaitActive(name2)
	r.Snap("list_functions_invalid_functionversion", func() error {
		_, err := r.C.ListFunctions(r.Ctx, &lambda.ListFunctionsInput{FunctionVersion: "invalid"})
		return err
	})
	// the paginator with PageSize 1, build_full_result: the pages'
	// Functions together, only this test's, sorted by FunctionArn
	list := func(key string, version types.FunctionVersion) {
		var fns []any
		var marker *string
		for page := 0; page < 100; page++ {
			r.Snap(key, func() error {
				out, err := r.C.ListFunctions(r.Ctx, &lambda.ListFunctionsInput{FunctionVersion: version, MaxItems: aws.Int32(1), Marker: marker})
				marker = nil
				if err == nil {
					marker = out.NextMarker
				}
				return err
			})
			r.Order = r.Order[:len(r.Order)-1]
			resp, _ := r.Got[key].(map[string]any)
			if _, failed := resp["Error"]; failed {
				break // kept as the response: the diff shows it
			}
			items, _ := resp["Functions"].([]any)
			for _, it := range items {
				if fn, _ := it.(map[string]any); fn["FunctionName"] == name1 || fn["FunctionName"] == name2 {
					fns = append(fns, fn)
				}
			}
			if marker == nil {
				sort.Slice(fns, func(i, j int) bool {
					return fns[i].(map[string]any)["FunctionArn"].(string) < fns[j].(map[string]any)["FunctionArn"].(string)
				})
				r.Got[key] = map[string]any{"Functions": fns}
				break
			}
		}
		r.Order = append(r.Order, key)
	}
	list("list_all", types.FunctionVersionAll)
	list("list_default", "")
}

func functionARNs(r *run) {
	prefix := "arn:aws:lambda:" + scope.Region + ":" + scope.Account + ":function:"
	// create_lambda_function with the name given as a full, then a
	// partial ARN; each builds its archive anew (another modification
	// time, another CodeSha256)
	fixture := func(key, name string, archive []byte) {
		_, create := r.create("", func(in *lambda.CreateFunctionInput) {
			in.FunctionName = aws.String(name)
			in.Code = &types.FunctionCode{ZipFile: archive}
		})
		r.Snap(key, create)
		r.fixtureResponse(key)
	}
	name1 := "test-function-arn-" + uid()
	fixture("create-function-arn-response", prefix+name1, pyZip(echoHandler))
	r.WaitActive(name1)
	name2 := "test-partial-arn-" + uid()
	fixture("create-function-partial-arn-response", scope.Account+":function:"+name2, zipAt(echoHandler, time.Now().Add(time.Minute)))
	r.WaitActive(name2)

	r.snapCreate("invalid_function_name_exc", createIn("invalid:function:name"))
	r.snapCreate("long_function_name_exc", createIn(a(65)))
	long := a(140 - len(prefix) + 1)
	r.snapCreate("long_function_arn_exc", createIn(prefix+long))
	// the test's transformer: the long name becomes <function-name>
	if m, ok := r.Got["long_function_arn_exc"].(map[string]any); ok {
		transformStrings(m, strings.NewReplacer(long, "<function-name>"))
	}
	r.snapCreate("function_arn_other_region_exc", createIn("arn:aws:lambda:ap-southeast-1:"+scope.Account+":function:test-function-arn-"+uid()))
	r.snapCreate("function_arn_other_account_exc", createIn("arn:aws:lambda:"+scope.Region+":123456789012:function:test-function-arn-"+uid()))
}

func codeLocationZipfile(r *run) {
	name := "code-function-" + uid()
	r.snapCreate("create-response-zip-file", createIn(name))
	r.WaitActive(name)
	get := func() error {
		_, err := r.C.GetFunction(r.Ctx, &lambda.GetFunctionInput{FunctionName: &name})
		return err
	}
	r.Snap("get-function-response", get)
	r.Snap("update-function-response", func() error {
		_, err := r.C.UpdateFunctionCode(r.Ctx, &lambda.UpdateFunctionCodeInput{FunctionName: &name, ZipFile: pyZip(versionHandler)})
		return err
	})
	// The test reads the function right away, and AWS was still deploying
	// the code (InProgress). sluice deploys a package in milliseconds; the
	// replay waits for the deployment, so that what it compares does not
	// depend on timing (the difference is a documented deviation).
	r.WaitUpdated(name)
	r.Snap("get-function-response-updated", get)
}

// largeEnvironment is test_large_environment_variables_fails and
// test_large_environment_fails_multiple_keys: the fixture's
// CreateFunction with env, then a GetFunction that must not find it.
func largeEnvironment(key string, env map[string]string, order ...string) replay {
	return func(r *run) {
		var in *lambda.CreateFunctionInput
		name, _ := r.create("large-envvar-lambda", func(i *lambda.CreateFunctionInput) {
			i.Environment = &types.Environment{Variables: env}
			in = i
		})
		r.Snap(key, func() error { _, err := r.C.CreateFunction(r.Ctx, in, inOrder(order...)); return err })
		if _, err := r.C.GetFunction(r.Ctx, &lambda.GetFunctionInput{FunctionName: &name}); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
			r.T.Errorf("MISMATCH %s: GetFunction after the failed create: AWS ResourceNotFoundException, sluice %v", key, err)
		}
	}
}

func envvarsNearLimit(r *run) {
	name, create := r.create("large-envvar-lambda", func(in *lambda.CreateFunctionInput) {
		in.Environment = &types.Environment{Variables: map[string]string{"LARGE_VAR": strings.Repeat("x", 4*1024-7-len("LARGE_VAR"))}}
	})
	r.Snap("successful_create_fn_result", create)
	r.fixtureResponse("successful_create_fn_result")
	r.WaitActive(name)
}

// LocalStack's config.LAMBDA_LIMITS_CODE_SIZE_ZIPPED and
// LAMBDA_LIMITS_CREATE_FUNCTION_REQUEST_SIZE: AWS's limits.
const (
	limitZipped  = 52428800
	limitRequest = 69905067
)

// sizedPython is the test's _generate_sized_python_str: the echo
// handler padded with '#' to size bytes.
func sizedPython(size int) string {
	return echoHandler + strings.Repeat("#", size-len(echoHandler))
}

// zipAt is pyZip's archive with the file modified at t.
func zipAt(src string, t time.Time) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "handler.py", Method: zip.Deflate, Modified: t})
	if err != nil {
		panic(err)
	}
	w.Write([]byte(src))
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// storedZip is create_lambda_archive's zip: Python's zipfile default,
// no compression, so that the package is as large as its content.
func storedZip(src string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "handler.py", Method: zip.Store})
	if err != nil {
		panic(err)
	}
	w.Write([]byte(src))
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func oversizedZipped(r *run) {
	_, create := r.create("test_lambda", func(in *lambda.CreateFunctionInput) {
		in.Handler = aws.String("handler.handler")
		in.Code = &types.FunctionCode{ZipFile: storedZip(sizedPython(limitZipped))}
		in.Timeout = aws.Int32(10)
	})
	r.Snap("invalid_param_exc", create)
}

func oversizedRequest(r *run) {
	_, create := r.create("test_lambda", func(in *lambda.CreateFunctionInput) {
		in.Handler = aws.String("handler.handler")
		in.Code = &types.FunctionCode{ZipFile: storedZip(sizedPython(limitZipped - 1024))}
		in.Timeout = aws.Int32(10)
		in.Environment = &types.Environment{Variables: map[string]string{"largeKey": sizedPython(limitRequest - limitZipped + 1024*1024)}}
	})
	r.Snap("invalid_param_exc", create)
}

// inOrder is a client option that sends the Environment variables of a
// request in the order names gives (Python's dicts keep their order and
// boto3 sends it; the Go SDK sends a map's in any order).
func inOrder(names ...string) func(*lambda.Options) {
	return func(o *lambda.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
			return stack.Build.Add(middleware.BuildMiddlewareFunc("parityEnvironmentOrder", func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
				req, ok := in.Request.(*smithyhttp.Request)
				if !ok || req.GetStream() == nil {
					return next.HandleBuild(ctx, in)
				}
				body, err := io.ReadAll(req.GetStream())
				if err != nil {
					return middleware.BuildOutput{}, middleware.Metadata{}, err
				}
				var members map[string]json.RawMessage
				var env struct{ Variables map[string]string }
				if json.Unmarshal(body, &members) == nil && json.Unmarshal(members["Environment"], &env) == nil && env.Variables != nil {
					var b bytes.Buffer
					b.WriteString(`{"Variables":{`)
					for i, k := range names {
						if i > 0 {
							b.WriteByte(',')
						}
						kj, _ := json.Marshal(k)
						vj, _ := json.Marshal(env.Variables[k])
						b.Write(kj)
						b.WriteByte(':')
						b.Write(vj)
					}
					b.WriteString(`}}`)
					members["Environment"] = b.Bytes()
					if body, err = json.Marshal(members); err != nil {
						return middleware.BuildOutput{}, middleware.Metadata{}, err
					}
				}
				if req, err = req.SetStream(bytes.NewReader(body)); err != nil {
					return middleware.BuildOutput{}, middleware.Metadata{}, err
				}
				in.Request = req
				return next.HandleBuild(ctx, in)
			}), middleware.Before)
		})
	}
}

// concurrentCodeUpdates is test_lambda_concurrent_code_updates: a second
// UpdateFunctionCode while the first is in progress.
func concurrentCodeUpdates(r *run) {
	name := "test-lambda-" + uid()
	in := createIn(name, func(in *lambda.CreateFunctionInput) { in.Handler = aws.String("handler.handler"); in.PackageType = "" })
	r.snapCreate("create-function-response", in)
	r.WaitActive(name)
	r.srv.deploys.hold() // the test's update_finish_event.clear()
	if _, err := r.C.UpdateFunctionCode(r.Ctx, &lambda.UpdateFunctionCodeInput{FunctionName: &name, ZipFile: pyZip(versionHandler + "# version1\n")}); err != nil {
		r.T.Errorf("first update: %v", err)
	}
	r.Snap("update-during-in-progress-update-exc", func() error {
		_, err := r.C.UpdateFunctionCode(r.Ctx, &lambda.UpdateFunctionCodeInput{FunctionName: &name, ZipFile: pyZip(versionHandler + "# version2\n")})
		return err
	})
	r.srv.deploys.release()
	r.WaitUpdated(name)
}

// concurrentConfigUpdates is test_lambda_concurrent_config_updates: a
// second UpdateFunctionConfiguration while the first is in progress.
func concurrentConfigUpdates(r *run) {
	name, create := r.create("test-lambda")
	r.Snap("create-function-response", create)
	r.fixtureResponse("create-function-response")
	r.WaitActive(name)
	r.srv.deploys.hold() // the test's update_finish_event.clear()
	update := func(v string) error {
		_, err := r.C.UpdateFunctionConfiguration(r.Ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: &name, Environment: &types.Environment{Variables: map[string]string{"TEST": v}}})
		return err
	}
	if err := update("TEST1"); err != nil {
		r.T.Errorf("first update: %v", err)
	}
	r.Snap("update-during-in-progress-update-exc", func() error { return update("TEST2") })
	r.srv.deploys.release()
	r.WaitUpdated(name)
}
