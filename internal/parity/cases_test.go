package parity_test

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"encoding/hex"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/parity"
)

// replays maps an excerpt file to its cases' call sequences, each the
// sequence of LocalStack's test of that name (test_lambda_api.py at the
// excerpt's commit), with LocalStack's fixtures done by hand:
// create_lambda_function is a CreateFunction (python3.12 unless the test
// says otherwise, role any ARN) followed by the function_active_v2 waiter.
func init() {
	register("test_lambda_api.excerpt.json", map[string]replay{
		"TestLambdaFunction::test_function_lifecycle":            functionLifecycle,
		"TestLambdaFunction::test_redundant_updates":             redundantUpdates,
		"TestLambdaFunction::test_delete_on_nonexisting_version": deleteOnNonexistingVersion,
		"TestLambdaFunction::test_ops_on_nonexisting_version[get_function]": func(r *run) {
			name := r.fixture("i-exist", func(in *lambda.CreateFunctionInput) { in.Description = aws.String("Initial description") })
			r.Snap("version_not_found_exception", func() error {
				_, err := r.C.GetFunction(r.Ctx, &lambda.GetFunctionInput{FunctionName: &name, Qualifier: aws.String("1221")})
				return err
			})
		},
		"TestLambdaFunction::test_ops_on_nonexisting_version[get_function_configuration]": func(r *run) {
			name := r.fixture("i-exist", func(in *lambda.CreateFunctionInput) { in.Description = aws.String("Initial description") })
			r.Snap("version_not_found_exception", func() error {
				_, err := r.C.GetFunctionConfiguration(r.Ctx, &lambda.GetFunctionConfigurationInput{FunctionName: &name, Qualifier: aws.String("1221")})
				return err
			})
		},
		"TestLambdaFunction::test_ops_on_nonexisting_fn[delete_function]": nonexisting(func(r *run, name string) error {
			_, err := r.C.DeleteFunction(r.Ctx, &lambda.DeleteFunctionInput{FunctionName: &name})
			return err
		}),
		"TestLambdaFunction::test_ops_on_nonexisting_fn[get_function]": nonexisting(func(r *run, name string) error {
			_, err := r.C.GetFunction(r.Ctx, &lambda.GetFunctionInput{FunctionName: &name})
			return err
		}),
		"TestLambdaFunction::test_ops_on_nonexisting_fn[get_function_configuration]": nonexisting(func(r *run, name string) error {
			_, err := r.C.GetFunctionConfiguration(r.Ctx, &lambda.GetFunctionConfigurationInput{FunctionName: &name})
			return err
		}),
		"TestLambdaFunction::test_ops_on_nonexisting_fn[get_function_url_config]": nonexisting(func(r *run, name string) error {
			_, err := r.C.GetFunctionUrlConfig(r.Ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: &name})
			return err
		}),
		"TestLambdaFunction::test_ops_on_nonexisting_fn[get_function_concurrency]": nonexisting(func(r *run, name string) error {
			_, err := r.C.GetFunctionConcurrency(r.Ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: &name})
			return err
		}),
	})
}

// echoHandler and versionHandler stand for LocalStack's
// lambda_echo.py and lambda_version.py (their content is not compared).
const (
	echoHandler    = "def handler(event, context):\n    return event\n"
	versionHandler = "import os\n\ndef handler(event, context):\n    return {\"version\": \"v2\"}\n"
)

func pyZip(src string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("handler.py")
	if err != nil {
		panic(err)
	}
	w.Write([]byte(src))
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func uid() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// create is LocalStack's create_lambda_function fixture without its
// waiter: a CreateFunction of the echo handler.
func (r *run) create(prefix string, opts ...func(*lambda.CreateFunctionInput)) (string, func() error) {
	name := prefix + "-" + uid()
	in := &lambda.CreateFunctionInput{
		FunctionName: &name,
		Runtime:      types.RuntimePython312,
		Role:         aws.String(role),
		Handler:      aws.String("handler.handler"),
		Code:         &types.FunctionCode{ZipFile: pyZip(echoHandler)},
		Timeout:      aws.Int32(30), // the fixture's default
		// testutil.create_lambda_function always sends these two
		Environment: &types.Environment{Variables: map[string]string{}},
		Tags:        map[string]string{},
	}
	for _, o := range opts {
		o(in)
	}
	return name, func() error { _, err := r.C.CreateFunction(r.Ctx, in); return err }
}

// fixture is create_lambda_function: create, then wait until Active. A
// failure is logged and the replay goes on (its differences are the report).
func (r *run) fixture(prefix string, opts ...func(*lambda.CreateFunctionInput)) string {
	r.T.Helper()
	name, create := r.create(prefix, opts...)
	if err := create(); err != nil {
		r.T.Logf("create_lambda_function fixture: %v", err)
	}
	r.WaitActive(name)
	return name
}

func nonexisting(call func(r *run, name string) error) replay {
	return func(r *run) {
		name := "i-dont-exist-" + uid()
		r.Snap("not_found_exception", func() error { return call(r, name) })
	}
}

func functionLifecycle(r *run) {
	name, create := r.create("fn", func(in *lambda.CreateFunctionInput) {
		in.MemorySize = aws.Int32(256)
		in.Timeout = aws.Int32(5)
	})
	// the fixture returns {"CreateEventSourceMappingResponse": None,
	// "CreateFunctionResponse": ...}; the snapshot keeps that shape
	r.Snap("create_response", create)
	resp := r.Got["create_response"]
	r.Got["create_response"] = map[string]any{"CreateEventSourceMappingResponse": nil, "CreateFunctionResponse": resp}
	r.WaitActive(name)
	r.Snap("get_function_response", func() error {
		_, err := r.C.GetFunction(r.Ctx, &lambda.GetFunctionInput{FunctionName: &name})
		return err
	})
	r.Snap("update_func_conf_response", func() error {
		_, err := r.C.UpdateFunctionConfiguration(r.Ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: &name,
			Runtime:      types.RuntimePython311,
			Description:  aws.String("Changed-Description"),
			MemorySize:   aws.Int32(512),
			Timeout:      aws.Int32(10),
			Environment:  &types.Environment{Variables: map[string]string{"ENV_A": "a"}},
		})
		return err
	})
	r.WaitUpdated(name)
	r.Snap("get_function_response_postupdate", func() error {
		_, err := r.C.GetFunction(r.Ctx, &lambda.GetFunctionInput{FunctionName: &name})
		return err
	})
	r.Snap("update_code_response", func() error {
		_, err := r.C.UpdateFunctionCode(r.Ctx, &lambda.UpdateFunctionCodeInput{FunctionName: &name, ZipFile: pyZip(versionHandler)})
		return err
	})
	r.WaitUpdated(name)
	r.Snap("get_function_response_postcodeupdate", func() error {
		_, err := r.C.GetFunction(r.Ctx, &lambda.GetFunctionInput{FunctionName: &name})
		return err
	})
	r.Snap("delete_response", func() error {
		_, err := r.C.DeleteFunction(r.Ctx, &lambda.DeleteFunctionInput{FunctionName: &name})
		return err
	})
	// botocore's DeleteFunction output has StatusCode, bound to the HTTP status
	del := r.Got["delete_response"].(map[string]any)
	del["StatusCode"] = del["ResponseMetadata"].(map[string]any)["HTTPStatusCode"]
	r.Snap("delete_postdelete", func() error {
		_, err := r.C.DeleteFunction(r.Ctx, &lambda.DeleteFunctionInput{FunctionName: &name})
		return err
	})
}

func redundantUpdates(r *run) {
	name, create := r.create("fn", func(in *lambda.CreateFunctionInput) { in.Description = aws.String("Initial description") })
	r.Snap("create_response", create)
	r.Got["create_response"] = map[string]any{"CreateEventSourceMappingResponse": nil, "CreateFunctionResponse": r.Got["create_response"]}
	r.WaitActive(name) // the fixture's waiter
	update := func() error {
		_, err := r.C.UpdateFunctionConfiguration(r.Ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: &name, Description: aws.String("1st update description")})
		return err
	}
	get := func() error {
		_, err := r.C.GetFunction(r.Ctx, &lambda.GetFunctionInput{FunctionName: &name})
		return err
	}
	r.Snap("first_update_result", update)
	r.WaitUpdated(name)
	r.Snap("get_fn_config_result", func() error {
		_, err := r.C.GetFunctionConfiguration(r.Ctx, &lambda.GetFunctionConfigurationInput{FunctionName: &name})
		return err
	})
	r.Snap("get_fn_result", get)
	r.Snap("redundant_update_result", update)
	r.WaitUpdated(name)
	r.Snap("get_fn_result_after_redundant_update", get)
}

func deleteOnNonexistingVersion(r *run) {
	name := r.fixture("i-exist", func(in *lambda.CreateFunctionInput) { in.Description = aws.String("Initial description") })
	del := func(q *string) error {
		_, err := r.C.DeleteFunction(r.Ctx, &lambda.DeleteFunctionInput{FunctionName: &name, Qualifier: q})
		return err
	}
	// "it seems delete function on a random qualifier is idempotent": the
	// recording has no snapshot of these, the test asserts they succeed
	r.Snap("delete_random_qualifier_1", func() error { return del(aws.String("1233")) })
	r.Snap("delete_random_qualifier_2", func() error { return del(aws.String("1233")) })
	r.Snap("delete_function", func() error { return del(nil) })
	for _, k := range []string{"delete_random_qualifier_1", "delete_random_qualifier_2", "delete_function"} {
		if st := r.Got[k].(map[string]any)["ResponseMetadata"].(map[string]any)["HTTPStatusCode"]; st != float64(204) {
			r.T.Errorf("MISMATCH %s: AWS answers 204 (boto3 raised nothing), sluice %v: %s", k, st, parity.Short(r.Got[k]))
		}
	}
	r.Snap("delete_function_response_non_existent", func() error { return del(nil) })
	r.Snap("delete_function_response_non_existent_with_qualifier", func() error { return del(aws.String("1233")) })
}

// wrapFixture gives a CreateFunction response kept under key the shape of
// LocalStack's create_lambda_function fixture's return value.
func (r *run) wrapFixture(key string) {
	r.Got[key] = map[string]any{"CreateEventSourceMappingResponse": nil, "CreateFunctionResponse": r.Got[key]}
}
