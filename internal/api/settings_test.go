package api_test

import (
	"context"
	"fmt"
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Expected texts below are AWS's, as recorded in LocalStack's
// tests/aws/services/lambda_/test_lambda_api.snapshot.json at commit
// 8b9a79f05846835cf4dff63ab7eefdde9df83783 (TestLambdaTags::test_tag_exceptions,
// test_tag_limits, test_tag_versions, TestLambdaTag::test_tag_exceptions,
// TestLambdaRecursion::*, TestCodeSigningConfig::test_code_signing_not_found_excs).

const msgTagsOnQualified = "Tags on function aliases and versions are not supported. Please specify a function ARN."

func listTags(t *testing.T, e *env, arn string) map[string]string {
	t.Helper()
	out, err := e.client.ListTags(context.Background(), &lambda.ListTagsInput{Resource: aws.String(arn)})
	if err != nil {
		t.Fatalf("ListTags(%s): %v", arn, err)
	}
	if out.Tags == nil {
		t.Fatalf("ListTags(%s): Tags absent, AWS answers {}", arn)
	}
	return out.Tags
}

func TestTagLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in := createInput(t, "tagged")
	in.Tags = map[string]string{"a": "1"}
	out, err := e.client.CreateFunction(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	e.waitActive("tagged")
	arn := *out.FunctionArn
	if got := listTags(t, e, arn); !maps.Equal(got, map[string]string{"a": "1"}) {
		t.Fatalf("tags after create = %v", got)
	}
	if _, err := e.client.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{"a": "2", "b": "3"}}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "2", "b": "3"}
	if got := listTags(t, e, arn); !maps.Equal(got, want) {
		t.Fatalf("tags = %v, want %v", got, want)
	}
	fn, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("tagged")})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(fn.Tags, want) {
		t.Fatalf("GetFunction Tags = %v, want %v", fn.Tags, want)
	}
	// Untagging keys that do not exist is no error (untag_nomatch).
	if _, err := e.client.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: []string{"a", "b", "nope"}}); err != nil {
		t.Fatal(err)
	}
	if got := listTags(t, e, arn); len(got) != 0 {
		t.Fatalf("tags after untag = %v", got)
	}
	fn, err = e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("tagged")})
	if err != nil {
		t.Fatal(err)
	}
	if fn.Tags != nil {
		t.Fatalf("GetFunction Tags = %v, AWS leaves the member out", fn.Tags)
	}
	// Updating the configuration keeps the tags.
	if _, err := e.client.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("tagged"), Description: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	e.waitUpdated("tagged")
	if got := listTags(t, e, arn); !maps.Equal(got, map[string]string{"k": "v"}) {
		t.Fatalf("tags after update = %v", got)
	}
	// Deleted with the function (list_tags_postdelete).
	if _, err := e.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("tagged")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(arn)})
	wantAPIError(t, err, "ResourceNotFoundException", "Function not found: "+arn)
}

func TestTagErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	arn := *e.create("fn").FunctionArn
	missing := arn[:len(arn)-len("fn")] + "doesnotexist"

	_, err := e.client.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(missing), Tags: map[string]string{"a": "b"}})
	wantAPIError(t, err, "ResourceNotFoundException", "Function not found: "+missing)
	_, err = e.client.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(missing), TagKeys: []string{"a"}})
	wantAPIError(t, err, "ResourceNotFoundException", "Function not found: "+missing)
	_, err = e.client.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(missing)})
	wantAPIError(t, err, "ResourceNotFoundException", "Function not found: "+missing)

	for _, q := range []string{":$LATEST", ":1", ":alias"} {
		_, err = e.client.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn + q), Tags: map[string]string{"a": "b"}})
		wantAPIError(t, err, "InvalidParameterValueException", msgTagsOnQualified)
	}

	bad := "arn:aws:lambda:us-east-1:111111111111:foobar:fn"
	_, err = e.client.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(bad)})
	wantAPIError(t, err, "ValidationException", "1 validation error detected: Value '"+bad+"' at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:...")

	_, err = e.client.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: []string{}})
	wantAPIError(t, err, "ValidationException", "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null")
	_, err = e.client.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{}})
	wantAPIError(t, err, "InvalidParameterValueException", "An error occurred and the request cannot be processed.")

	many := map[string]string{}
	for k := range 51 {
		many[fmt.Sprintf("%d_key", k)] = fmt.Sprintf("%d_value", k)
	}
	_, err = e.client.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: many})
	wantAPIError(t, err, "InvalidParameterValueException", "Number of tags exceeds resource tag limit.")
	delete(many, "50_key")
	if _, err := e.client.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: many}); err != nil {
		t.Fatalf("50 tags: %v", err)
	}
	_, err = e.client.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{"one_more": "x"}})
	wantAPIError(t, err, "InvalidParameterValueException", "Number of tags exceeds resource tag limit.")
	if got := listTags(t, e, arn); len(got) != 50 {
		t.Fatalf("%d tags after a refused TagResource, want 50", len(got))
	}
	many["50_key"] = "x"
	in := createInput(t, "toomany")
	in.Tags = many
	_, err = e.client.CreateFunction(ctx, in)
	wantAPIError(t, err, "InvalidParameterValueException", "Number of tags exceeds resource tag limit.")
}

func TestFunctionRecursionConfig(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("rec")
	get := func() types.RecursiveLoop {
		t.Helper()
		out, err := e.client.GetFunctionRecursionConfig(ctx, &lambda.GetFunctionRecursionConfigInput{FunctionName: aws.String("rec")})
		if err != nil {
			t.Fatal(err)
		}
		return out.RecursiveLoop
	}
	if got := get(); got != types.RecursiveLoopTerminate {
		t.Fatalf("default = %q, want Terminate", got)
	}
	out, err := e.client.PutFunctionRecursionConfig(ctx, &lambda.PutFunctionRecursionConfigInput{FunctionName: aws.String("rec"), RecursiveLoop: types.RecursiveLoopAllow})
	if err != nil {
		t.Fatal(err)
	}
	if out.RecursiveLoop != types.RecursiveLoopAllow {
		t.Fatalf("Put answered %q", out.RecursiveLoop)
	}
	if got := get(); got != types.RecursiveLoopAllow {
		t.Fatalf("after Put = %q, want Allow", got)
	}
	_, err = e.client.PutFunctionRecursionConfig(ctx, &lambda.PutFunctionRecursionConfigInput{FunctionName: aws.String("rec"), RecursiveLoop: "InvalidValue"})
	wantAPIError(t, err, "ValidationException", "1 validation error detected: Value 'InvalidValue' at 'recursiveLoop' failed to satisfy constraint: Member must satisfy enum value set: [Terminate, Allow]")
	_, err = e.client.GetFunctionRecursionConfig(ctx, &lambda.GetFunctionRecursionConfigInput{FunctionName: aws.String("nope")})
	wantAPIError(t, err, "ResourceNotFoundException", "Function not found: arn:aws:lambda:...")
}

func TestFunctionCodeSigningConfig(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("csc")
	out, err := e.client.GetFunctionCodeSigningConfig(ctx, &lambda.GetFunctionCodeSigningConfigInput{FunctionName: aws.String("csc")})
	if err != nil {
		t.Fatal(err)
	}
	if out.CodeSigningConfigArn != nil || out.FunctionName != nil {
		t.Fatalf("got %v %v, AWS answers a function without one with {}", out.CodeSigningConfigArn, out.FunctionName)
	}
	_, err = e.client.GetFunctionCodeSigningConfig(ctx, &lambda.GetFunctionCodeSigningConfigInput{FunctionName: aws.String("csc-test-doesnotexist")})
	wantAPIError(t, err, "ResourceNotFoundException", "Function not found: arn:aws:lambda:...")
}

func TestRuntimeManagementConfig(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	arn := *e.create("rt").FunctionArn
	out, err := e.client.GetRuntimeManagementConfig(ctx, &lambda.GetRuntimeManagementConfigInput{FunctionName: aws.String("rt")})
	if err != nil {
		t.Fatal(err)
	}
	if out.UpdateRuntimeOn != types.UpdateRuntimeOnAuto || aws.ToString(out.FunctionArn) != arn+":$LATEST" || out.RuntimeVersionArn != nil {
		t.Fatalf("default = %q %q %v", out.UpdateRuntimeOn, aws.ToString(out.FunctionArn), out.RuntimeVersionArn)
	}
	rv := "arn:aws:lambda:us-east-1::runtime:0123456789abcdef"
	put, err := e.client.PutRuntimeManagementConfig(ctx, &lambda.PutRuntimeManagementConfigInput{FunctionName: aws.String("rt"), UpdateRuntimeOn: types.UpdateRuntimeOnManual, RuntimeVersionArn: aws.String(rv)})
	if err != nil {
		t.Fatal(err)
	}
	if put.UpdateRuntimeOn != types.UpdateRuntimeOnManual || aws.ToString(put.RuntimeVersionArn) != rv {
		t.Fatalf("Put answered %q %v", put.UpdateRuntimeOn, put.RuntimeVersionArn)
	}
	out, err = e.client.GetRuntimeManagementConfig(ctx, &lambda.GetRuntimeManagementConfigInput{FunctionName: aws.String("rt"), Qualifier: aws.String("$LATEST")})
	if err != nil {
		t.Fatal(err)
	}
	if out.UpdateRuntimeOn != types.UpdateRuntimeOnManual || aws.ToString(out.RuntimeVersionArn) != rv {
		t.Fatalf("after Put = %q %v", out.UpdateRuntimeOn, out.RuntimeVersionArn)
	}
	_, err = e.client.PutRuntimeManagementConfig(ctx, &lambda.PutRuntimeManagementConfigInput{FunctionName: aws.String("rt"), UpdateRuntimeOn: "Sometimes"})
	wantAPIError(t, err, "ValidationException", "1 validation error detected: Value 'Sometimes' at 'updateRuntimeOn' failed to satisfy constraint: Member must satisfy enum value set: [Auto, Manual, FunctionUpdate]")
	_, err = e.client.GetRuntimeManagementConfig(ctx, &lambda.GetRuntimeManagementConfigInput{FunctionName: aws.String("rt"), Qualifier: aws.String("7")})
	wantAPIError(t, err, "ResourceNotFoundException", "Function not found: "+arn+":7")
}
