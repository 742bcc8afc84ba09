package parity_test

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/api"
	"github.com/sluice-dev/sluice/internal/artifacts"
	"github.com/sluice-dev/sluice/internal/bolt"
	"github.com/sluice-dev/sluice/internal/iam"
	"github.com/sluice-dev/sluice/internal/lambdaclient"
	"github.com/sluice-dev/sluice/internal/service"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

// The control-plane cases of test_lambda_api.py's classes
// TestLambdaReservedConcurrency, TestLambdaAccountSettings, TestLambdaTag,
// TestLambdaTags, TestLambdaRecursion, TestLoggingConfig and (for
// GetFunctionCodeSigningConfig) TestCodeSigningConfig.
func init() {
	register("misc.excerpt.json", map[string]replay{
		"TestLambdaReservedConcurrency::test_function_concurrency_exceptions":            functionConcurrencyExceptions,
		"TestLambdaReservedConcurrency::test_function_concurrency":                       functionConcurrency,
		"TestLambdaReservedConcurrency::test_function_concurrency_limits":                functionConcurrencyLimits,
		"TestLambdaAccountSettings::test_account_settings":                               accountSettings,
		"TestLambdaAccountSettings::test_account_settings_total_code_size_config_update": totalCodeSizeConfigUpdate,

		"TestLambdaTag::test_create_tag_on_fn_create":        createTagOnFnCreate,
		"TestLambdaTag::test_tag_nonexisting_resource":       tagNonexistingResource,
		"TestLambdaTag::test_tag_lifecycle[lambda_function]": tagLifecycleFunction,
		// the recording of the test before it was parametrized (2024)
		"TestLambdaTag::test_tag_lifecycle":                        tagLifecycleFunction,
		"TestLambdaTag::test_tag_exceptions[lambda_function]":      tagExceptions("function"),
		"TestLambdaTag::test_tag_exceptions[event_source_mapping]": tagExceptions("event-source-mapping"),
		"TestLambdaTag::test_tag_exceptions[capacity_provider]":    tagExceptions("capacity-provider"),
		"TestLambdaTags::test_tag_exceptions":                      tagsExceptions,
		"TestLambdaTags::test_tag_limits":                          tagsLimits,
		"TestLambdaTags::test_tag_lifecycle":                       tagsLifecycle,
		"TestLambdaTags::test_tag_versions":                        tagsVersions,

		"TestLambdaRecursion::test_put_function_recursion_config_allow": func(r *run) {
			name := r.fixture("recursion-test", recursionFixture)
			r.Snap("put_recursion_config_response", func() error {
				_, err := r.C.PutFunctionRecursionConfig(r.Ctx, &lambda.PutFunctionRecursionConfigInput{FunctionName: &name, RecursiveLoop: types.RecursiveLoopAllow})
				return err
			})
			r.Snap("get_recursion_config_response", func() error {
				_, err := r.C.GetFunctionRecursionConfig(r.Ctx, &lambda.GetFunctionRecursionConfigInput{FunctionName: &name})
				return err
			})
		},
		"TestLambdaRecursion::test_put_function_recursion_config_default_terminate": func(r *run) {
			name := r.fixture("recursion-test", recursionFixture)
			r.Snap("get_recursion_default_terminate_response", func() error {
				_, err := r.C.GetFunctionRecursionConfig(r.Ctx, &lambda.GetFunctionRecursionConfigInput{FunctionName: &name})
				return err
			})
		},
		"TestLambdaRecursion::test_put_function_recursion_config_invalid_value": func(r *run) {
			name := r.fixture("recursion-test", recursionFixture)
			r.Snap("put_recursion_invalid_value_error", func() error {
				_, err := r.C.PutFunctionRecursionConfig(r.Ctx, &lambda.PutFunctionRecursionConfigInput{FunctionName: &name, RecursiveLoop: "InvalidValue"})
				return err
			})
		},

		"TestLoggingConfig::test_function_advanced_logging_configuration": func(r *run) {
			loggingConfigCase(r, &types.LoggingConfig{LogFormat: types.LogFormatJson},
				&types.LoggingConfig{LogFormat: types.LogFormatJson, ApplicationLogLevel: types.ApplicationLogLevelInfo, SystemLogLevel: types.SystemLogLevelInfo, LogGroup: aws.String("cool_lambda")})
		},
		"TestLoggingConfig::test_advanced_logging_configuration_format_switch": func(r *run) {
			name := loggingConfigCase(r, nil, &types.LoggingConfig{LogFormat: types.LogFormatJson})
			updateLogging(r, name, "_v2", &types.LoggingConfig{LogFormat: types.LogFormatText})
		},
		"TestLoggingConfig::test_function_partial_advanced_logging_configuration_update[partial_config0]": func(r *run) {
			loggingConfigCase(r, nil, &types.LoggingConfig{LogFormat: types.LogFormatJson})
		},
		"TestLoggingConfig::test_function_partial_advanced_logging_configuration_update[partial_config1]": func(r *run) {
			loggingConfigCase(r, nil, &types.LoggingConfig{LogFormat: types.LogFormatJson, ApplicationLogLevel: types.ApplicationLogLevelDebug})
		},
		"TestLoggingConfig::test_function_partial_advanced_logging_configuration_update[partial_config2]": func(r *run) {
			loggingConfigCase(r, nil, &types.LoggingConfig{LogFormat: types.LogFormatJson, SystemLogLevel: types.SystemLogLevelDebug})
		},
		"TestLoggingConfig::test_function_partial_advanced_logging_configuration_update[partial_config3]": func(r *run) {
			loggingConfigCase(r, nil, &types.LoggingConfig{LogGroup: aws.String("cool_lambda")})
		},

		// The excerpt keeps the two exchanges of GetFunctionCodeSigningConfig;
		// the others call code signing operations sluice does not implement.
		"TestCodeSigningConfig::test_code_signing_not_found_excs": func(r *run) {
			name := r.fixture("lambda_func")
			r.Snap("get_function_csc_fnwithoutcsc", func() error {
				_, err := r.C.GetFunctionCodeSigningConfig(r.Ctx, &lambda.GetFunctionCodeSigningConfigInput{FunctionName: &name})
				return err
			})
			r.Snap("get_function_csc_nonexistingfn", func() error {
				_, err := r.C.GetFunctionCodeSigningConfig(r.Ctx, &lambda.GetFunctionCodeSigningConfigInput{FunctionName: aws.String("csc-test-doesnotexist")})
				return err
			})
		},
	})
}

func recursionFixture(in *lambda.CreateFunctionInput) {
	in.Description = aws.String("Lambda with recursion test")
}

// arnOf is the function ARN GetFunction answers for name.
func (r *run) arnOf(name string) string {
	r.T.Helper()
	out, err := r.C.GetFunction(r.Ctx, &lambda.GetFunctionInput{FunctionName: &name})
	if err != nil {
		r.T.Errorf("get_function %s: %v", name, err)
		return "arn:aws:lambda:" + scope.Region + ":" + scope.Account + ":function:" + name
	}
	return *out.Configuration.FunctionArn
}

func (r *run) tag(key, arn string, tags map[string]string) {
	r.Snap(key, func() error {
		_, err := r.C.TagResource(r.Ctx, &lambda.TagResourceInput{Resource: &arn, Tags: tags})
		return err
	})
}

func (r *run) untag(key, arn string, keys ...string) {
	r.Snap(key, func() error {
		_, err := r.C.UntagResource(r.Ctx, &lambda.UntagResourceInput{Resource: &arn, TagKeys: keys})
		return err
	})
}

func (r *run) listTags(key, arn string) {
	r.Snap(key, func() error {
		_, err := r.C.ListTags(r.Ctx, &lambda.ListTagsInput{Resource: &arn})
		return err
	})
}

// mustSucceed reports a call the LocalStack test expects to succeed
// (boto3 raised nothing) that sluice refused: the recording has no
// snapshot of it.
func (r *run) mustSucceed(what string, err error) {
	r.T.Helper()
	if err != nil {
		r.T.Errorf("MISMATCH %s: AWS succeeds, sluice: %v", what, err)
	}
}

func functionConcurrencyExceptions(r *run) {
	put := func(key, name string, n int32) {
		r.Snap(key, func() error {
			_, err := r.C.PutFunctionConcurrency(r.Ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: &name, ReservedConcurrentExecutions: &n})
			return err
		})
	}
	put("put_function_concurrency_with_function_name_doesnotexist", "doesnotexist", 1)
	put("put_function_concurrency_with_function_name_doesnotexist_and_invalid_concurrency", "doesnotexist", 0)
	name := r.fixture("lambda_func")
	fn, err := r.C.GetFunctionConfiguration(r.Ctx, &lambda.GetFunctionConfigurationInput{FunctionName: &name, Qualifier: aws.String("$LATEST")})
	r.mustSucceed("get_function_configuration $LATEST", err)
	qualified := name + ":$LATEST"
	if err == nil {
		qualified = *fn.FunctionArn
	}
	put("put_function_concurrency_with_qualified_arn", qualified, 0)
}

func functionConcurrency(r *run) {
	name := r.fixture("lambda_func")
	put := func(key string, n int32) {
		r.Snap(key, func() error {
			_, err := r.C.PutFunctionConcurrency(r.Ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: &name, ReservedConcurrentExecutions: &n})
			return err
		})
	}
	get := func(key string) {
		r.Snap(key, func() error {
			_, err := r.C.GetFunctionConcurrency(r.Ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: &name})
			return err
		})
	}
	put("put_function_concurrency_with_reserved_0", 0)
	put("put_function_concurrency_with_reserved_1", 1)
	get("get_function_concurrency")
	r.Snap("delete_response", func() error {
		_, err := r.C.DeleteFunctionConcurrency(r.Ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: &name})
		return err
	})
	get("get_function_concurrency_after_delete")
	// the maximum: what is unreserved less the test's minimum of 101
	// (LAMBDA_LIMITS_CONCURRENT_EXECUTIONS, which sluice's default
	// limit of 1000 allows); not snapshotted, asserted
	settings, err := r.C.GetAccountSettings(r.Ctx, &lambda.GetAccountSettingsInput{})
	r.mustSucceed("get_account_settings", err)
	if err != nil {
		return
	}
	max := *settings.AccountLimit.UnreservedConcurrentExecutions - 101
	out, err := r.C.PutFunctionConcurrency(r.Ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: &name, ReservedConcurrentExecutions: &max})
	r.mustSucceed(fmt.Sprintf("put_function_concurrency %d", max), err)
	if err == nil && *out.ReservedConcurrentExecutions != max {
		r.T.Errorf("MISMATCH put_function_concurrency %d: answered %d", max, *out.ReservedConcurrentExecutions)
	}
}

// functionConcurrencyLimits: reserving more than the account's limit,
// then all of it, both leave less than the minimum unreserved.
func functionConcurrencyLimits(r *run) {
	name := r.fixture("lambda_func")
	settings, err := r.C.GetAccountSettings(r.Ctx, &lambda.GetAccountSettingsInput{})
	r.mustSucceed("get_account_settings", err)
	if err != nil {
		return
	}
	limit := settings.AccountLimit.ConcurrentExecutions
	put := func(key string, n int32) {
		r.Snap(key, func() error {
			_, err := r.C.PutFunctionConcurrency(r.Ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: &name, ReservedConcurrentExecutions: &n})
			return err
		})
	}
	put("put_function_concurrency_account_limit_exceeded", limit+1)
	put("put_function_concurrency_below_unreserved_min_value", limit)
}

// accountSettings: the test snapshots the sorted key names of
// AccountLimit and AccountUsage in place of their values.
func accountSettings(r *run) {
	r.Snap("acc_settings_modded", func() error {
		_, err := r.C.GetAccountSettings(r.Ctx, &lambda.GetAccountSettingsInput{})
		return err
	})
	got := r.Got["acc_settings_modded"].(map[string]any)
	for _, k := range []string{"AccountLimit", "AccountUsage"} {
		if m, ok := got[k].(map[string]any); ok {
			var keys []any
			for _, name := range sortedKeys(m) {
				keys = append(keys, name)
			}
			got[k] = keys
		}
	}
}

// lambdaHandlerJS is LocalStack's functions/lambda_handler.js (its
// content, so that its package's size is alike).
const lambdaHandlerJS = `exports.handler = async (event) => {
   console.log(JSON.stringify(event))
   return {
     statusCode: 200,
     body: JSON.stringify(` + "`response from localstack lambda: ${JSON.stringify(event)}`" + `),
     isBase64Encoded: false,
     headers: {}
   }
}
`

// totalCodeSizeConfigUpdate snapshots differences of
// AccountUsage.TotalCodeSize (and whether they exceed 200 bytes), not
// responses: they are kept under the recording's keys as values.
func totalCodeSizeConfigUpdate(r *run) {
	total := func(when string) int64 {
		out, err := r.C.GetAccountSettings(r.Ctx, &lambda.GetAccountSettingsInput{})
		r.mustSucceed("get_account_settings "+when, err)
		if err != nil {
			return 0
		}
		return out.AccountUsage.TotalCodeSize
	}
	value := func(key string, v any) {
		r.Got[key] = v
		r.Order = append(r.Order, key)
	}
	size0 := total("before")
	name := r.fixture("lambda_func", func(in *lambda.CreateFunctionInput) {
		in.Runtime = types.RuntimeNodejs18x
		in.Code = &types.FunctionCode{ZipFile: nodeZip("index.js", lambdaHandlerJS)}
	})
	size1 := total("after create_function")
	value("is_total_code_size_diff_create_function_more_than_200", size1-size0 > 200)
	_, err := r.C.UpdateFunctionConfiguration(r.Ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: &name, Runtime: types.RuntimeNodejs20x})
	r.mustSucceed("update_function_configuration", err)
	r.WaitUpdated(name)
	size2 := total("after update_function_configuration")
	value("total_code_size_diff_update_function_configuration", float64(size2-size1))
	_, err = r.C.PublishVersion(r.Ctx, &lambda.PublishVersionInput{FunctionName: &name, Description: aws.String("actually publish the config update")})
	r.mustSucceed("publish_version", err)
	r.WaitActive(name)
	size3 := total("after publish_version")
	value("is_total_code_size_diff_publish_version_after_config_update_more_than_200", size3-size2 > 200)
}

func createTagOnFnCreate(r *run) {
	tag := "tag-" + uid()
	name := r.fixture("fn", func(in *lambda.CreateFunctionInput) { in.Tags = map[string]string{"testtag": tag} })
	r.getFunction("get_function_result", name, nil)
	r.listTags("list_tags_result", r.arnOf(name))
}

func tagNonexistingResource(r *run) {
	arn := r.arnOf(r.fixture("fn"))
	r.getFunction("pre_delete_get_function", arn, nil)
	_, err := r.C.DeleteFunction(r.Ctx, &lambda.DeleteFunctionInput{FunctionName: &arn})
	r.mustSucceed("delete_function", err)
	r.tag("not_found_exception_tag", arn, map[string]string{"A": "B"})
	r.untag("not_found_exception_untag", arn, "A")
	r.listTags("not_found_exception_list", arn)
}

func tagLifecycleFunction(r *run) {
	arn := r.arnOf(r.fixture("fn"))
	r.tag("tag_single_response", arn, map[string]string{"A": "tag-a"})
	r.listTags("tag_single_response_listtags", arn)
	r.tag("tag_multiple_response", arn, map[string]string{"B": "tag-b", "C": "tag-c"})
	r.listTags("tag_multiple_response_listtags", arn)
	r.tag("tag_overlap_response", arn, map[string]string{"C": "tag-c-newsuffix", "D": "tag-d"})
	r.listTags("tag_overlap_response_listtags", arn)
	r.untag("untag_single_response", arn, "A")
	r.listTags("untag_single_response_listtags", arn)
	r.untag("untag_multiple_response", arn, "B", "C")
	r.listTags("untag_multiple_response_listtags", arn)
	r.untag("untag_nonexisting_response", arn, "F")
	r.listTags("untag_nonexisting_response_listtags", arn)
	r.untag("untag_existing_and_nonexisting_response", arn, "D", "F")
	r.listTags("untag_existing_and_nonexisting_response_listtags", arn)
}

// tagExceptions: the ARN of a resource of the given type that does not
// exist (named by a uuid, long_uid), then with ":alias" and with "foobar"
// in place of the type.
func tagExceptions(resource string) replay {
	return func(r *run) {
		name := uuid()
		arn := "arn:aws:lambda:" + scope.Region + ":" + scope.Account + ":" + resource + ":" + name
		r.tag("not_found_exception_tag", arn, map[string]string{"A": "B"})
		r.untag("not_found_exception_untag", arn, "A")
		r.listTags("not_found_exception_list", arn)
		r.listTags("aliased_arn_exception", arn+":alias")
		r.listTags("invalid_arn_exception", "arn:aws:lambda:"+scope.Region+":"+scope.Account+":foobar:"+name)
	}
}

func tagsExceptions(r *run) {
	name := r.fixture("fn-tag")
	arn := r.arnOf(name)
	prefix := "arn:aws:lambda:" + scope.Region + ":" + scope.Account + ":function:"
	r.tag("tag_lambda_invalidarn", "arn:aws:something", map[string]string{"key_a": "value_a"})
	r.tag("tag_lambda_doesnotexist", prefix+"doesnotexist", map[string]string{"key_a": "value_a"})
	r.tag("tag_lambda_qualifier_doesnotexist", arn+":v1", map[string]string{"key_a": "value_a"})
	r.listTags("list_tag_lambda_empty", arn)
	r.untag("untag_nomatch", arn, "somekey")
	// TagKeys=[]: boto3 sends the request without tagKeys; the Go SDK
	// refuses a nil TagKeys before sending, an empty one it sends so
	r.Snap("untag_empty_keys", func() error {
		_, err := r.C.UntagResource(r.Ctx, &lambda.UntagResourceInput{Resource: &arn, TagKeys: []string{}})
		return err
	})
	r.tag("tag_empty_tags", arn, map[string]string{})
	// partial delete (one exists, one doesn't): asserted, not snapshotted
	_, err := r.C.TagResource(r.Ctx, &lambda.TagResourceInput{Resource: &arn, Tags: map[string]string{"a_key": "a_value", "b_key": "b_value"}})
	r.mustSucceed("tag_resource a_key, b_key", err)
	_, err = r.C.UntagResource(r.Ctx, &lambda.UntagResourceInput{Resource: &arn, TagKeys: []string{"a_key", "c_key"}})
	r.mustSucceed("untag_resource a_key, c_key", err)
	out, err := r.C.ListTags(r.Ctx, &lambda.ListTagsInput{Resource: &arn})
	r.mustSucceed("list_tags", err)
	if err == nil {
		if _, ok := out.Tags["a_key"]; ok {
			r.T.Errorf("MISMATCH list_tags after the partial untag: a_key is still there: %v", out.Tags)
		}
		if _, ok := out.Tags["b_key"]; !ok {
			r.T.Errorf("MISMATCH list_tags after the partial untag: b_key is gone: %v", out.Tags)
		}
	}
}

func manyTags(n int) map[string]string {
	tags := map[string]string{}
	for k := range n {
		tags[fmt.Sprintf("%d_key", k)] = fmt.Sprintf("%d_value", k)
	}
	return tags
}

func tagsLimits(r *run) {
	name := r.fixture("fn-tag")
	arn := r.arnOf(name)
	r.tag("tag_lambda_too_many_tags", arn, manyTags(51))
	r.tag("tag_response", arn, manyTags(50))
	r.listTags("list_tags_response", arn)
	r.getFunction("get_fn_response", name, nil)
	r.tag("tag_lambda_too_many_tags_additional", arn, map[string]string{"a_key": "a_value"})
	other := "fn-tag-" + uid()
	r.Snap("create_function_invalid_tags", func() error {
		_, err := r.C.CreateFunction(r.Ctx, &lambda.CreateFunctionInput{
			FunctionName: &other,
			Handler:      aws.String("index.handler"),
			Code:         &types.FunctionCode{ZipFile: pyZip(echoHandler)},
			PackageType:  types.PackageTypeZip,
			Role:         aws.String(role),
			Runtime:      types.RuntimePython312,
			Tags:         manyTags(51),
		})
		return err
	})
}

func tagsLifecycle(r *run) {
	name := r.fixture("fn-tag", func(in *lambda.CreateFunctionInput) { in.Tags = map[string]string{"key_a": "value_a"} })
	arn := r.arnOf(name)
	both := func(suffix string) {
		r.listTags("list_tags_response_"+suffix, arn)
		r.getFunction("get_fn_response_"+suffix, arn, nil)
	}
	both("postfncreate")
	r.tag("tag_resource_response", arn, map[string]string{"key_b": "value_b", "key_c": "value_c", "key_d": "value_d", "key_e": "value_e"})
	both("postaddtags")
	r.tag("tag_resource_overwrite", arn, map[string]string{"key_b": "value_b", "key_c": "value_x"})
	both("overwrite")
	_, err := r.C.UntagResource(r.Ctx, &lambda.UntagResourceInput{Resource: &arn, TagKeys: []string{"key_c", "key_d"}})
	r.mustSucceed("untag_resource key_c, key_d", err)
	both("postuntag")
	_, err = r.C.UntagResource(r.Ctx, &lambda.UntagResourceInput{Resource: &arn, TagKeys: []string{"key_a", "key_b", "key_e"}})
	r.mustSucceed("untag_resource key_a, key_b, key_e", err)
	both("postuntagall")
	_, err = r.C.DeleteFunction(r.Ctx, &lambda.DeleteFunctionInput{FunctionName: &name})
	r.mustSucceed("delete_function", err)
	r.listTags("list_tags_postdelete", arn)
}

func tagsVersions(r *run) {
	name, create := r.create("fn-tag", func(in *lambda.CreateFunctionInput) { in.Tags = map[string]string{"key_a": "value_a"} })
	r.mustSucceed("create_function", create())
	r.WaitActive(name)
	arn := r.arnOf(name)
	v, err := r.C.PublishVersion(r.Ctx, &lambda.PublishVersionInput{FunctionName: &name})
	r.mustSucceed("publish_version", err)
	versionARN := arn + ":1"
	if err == nil {
		versionARN = *v.FunctionArn
	}
	tags := map[string]string{"key_b": "value_b", "key_c": "value_c", "key_d": "value_d", "key_e": "value_e"}
	r.tag("tag_resource_exception", versionARN, tags)
	r.tag("tag_resource_latest_exception", arn+":$LATEST", tags)
}

// loggingConfigCase is the common part of TestLoggingConfig's tests: a
// function (python3.12, 256 MB, 5 s, with create's LoggingConfig when not
// nil), its GetFunction and GetFunctionConfiguration, then an update of
// its LoggingConfig to update. It returns the function's name.
func loggingConfigCase(r *run, create, update *types.LoggingConfig) string {
	name, call := r.create("fn", func(in *lambda.CreateFunctionInput) {
		in.MemorySize = aws.Int32(256)
		in.Timeout = aws.Int32(5)
		in.LoggingConfig = create
	})
	r.Snap("create_response", call)
	r.wrapFixture("create_response")
	r.WaitActive(name) // the fixture's waiter, then the test's
	r.getFunction("get_function_response", name, nil)
	r.Snap("function_config", func() error {
		_, err := r.C.GetFunctionConfiguration(r.Ctx, &lambda.GetFunctionConfigurationInput{FunctionName: &name})
		return err
	})
	updateLogging(r, name, "", update)
	return name
}

// updateLogging updates name's LoggingConfig and snapshots the answer
// ("updated_config"+suffix) and the configuration once the update
// settled ("received_config"+suffix).
func updateLogging(r *run, name, suffix string, cfg *types.LoggingConfig) {
	r.Snap("updated_config"+suffix, func() error {
		_, err := r.C.UpdateFunctionConfiguration(r.Ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: &name, LoggingConfig: cfg})
		return err
	})
	r.WaitUpdated(name)
	r.Snap("received_config"+suffix, func() error {
		_, err := r.C.GetFunctionConfiguration(r.Ctx, &lambda.GetFunctionConfigurationInput{FunctionName: &name})
		return err
	})
}

// uuid is a random version 4 UUID, as Python's str(uuid.uuid4()).
func uuid() string {
	h := uid() + uid() + uid() + uid()
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

// The control-plane cases of test_lambda.py's TestLambdaConcurrency and
// TestLambdaMultiAccounts.
func init() {
	register("misc_lambda.excerpt.json", map[string]replay{
		"TestLambdaConcurrency::test_lambda_concurrency_crud": func(r *run) {
			name := r.fixture("fn-concurrency")
			get := func(key string) {
				r.Snap(key, func() error {
					_, err := r.C.GetFunctionConcurrency(r.Ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: &name})
					return err
				})
			}
			get("get_function_concurrency_default")
			r.Snap("put_function_concurrency", func() error {
				_, err := r.C.PutFunctionConcurrency(r.Ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: &name, ReservedConcurrentExecutions: aws.Int32(0)})
				return err
			})
			get("get_function_concurrency_updated")
			_, err := r.C.DeleteFunctionConcurrency(r.Ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: &name})
			r.mustSucceed("delete_function_concurrency", err)
			get("get_function_concurrency_deleted")
		},
		"TestLambdaConcurrency::test_lambda_concurrency_update": func(r *run) {
			name := r.fixture("fn-concurrency")
			get := func(key string) {
				r.Snap(key, func() error {
					_, err := r.C.GetFunctionConcurrency(r.Ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: &name})
					return err
				})
			}
			r.Snap("put_function_concurrency", func() error {
				_, err := r.C.PutFunctionConcurrency(r.Ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: &name, ReservedConcurrentExecutions: aws.Int32(3)})
				return err
			})
			get("get_function_concurrency_updated")
			r.getFunction("get_function_concurrency_info", name, nil)
			_, err := r.C.DeleteFunctionConcurrency(r.Ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: &name})
			r.mustSucceed("delete_function_concurrency", err)
			get("get_function_concurrency_deleted")
		},

		// TestLambdaMultiAccounts: AWS answers each call of a second
		// account on a function whose policy allows it lambda:* (the
		// recordings are empty: the tests assert that nothing raises).
		"TestLambdaMultiAccounts::test_get_function": multiAccount(func(r *run, c *lambda.Client, arn string) {
			_, err := c.GetFunction(r.Ctx, &lambda.GetFunctionInput{FunctionName: &arn})
			r.mustSucceed("get_function", err)
		}),
		"TestLambdaMultiAccounts::test_get_function_configuration": multiAccount(func(r *run, c *lambda.Client, arn string) {
			_, err := c.GetFunctionConfiguration(r.Ctx, &lambda.GetFunctionConfigurationInput{FunctionName: &arn})
			r.mustSucceed("get_function_configuration", err)
		}),
		// (the test calls get_function_configuration, not
		// list_versions_by_function)
		"TestLambdaMultiAccounts::test_list_versions_by_function": multiAccount(func(r *run, c *lambda.Client, arn string) {
			_, err := c.GetFunctionConfiguration(r.Ctx, &lambda.GetFunctionConfigurationInput{FunctionName: &arn})
			r.mustSucceed("get_function_configuration", err)
		}),
		"TestLambdaMultiAccounts::test_function_concurrency": multiAccount(func(r *run, c *lambda.Client, arn string) {
			_, err := c.PutFunctionConcurrency(r.Ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: &arn, ReservedConcurrentExecutions: aws.Int32(1)})
			r.mustSucceed("put_function_concurrency", err)
			_, err = c.DeleteFunctionConcurrency(r.Ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: &arn})
			r.mustSucceed("delete_function_concurrency", err)
		}),
		"TestLambdaMultiAccounts::test_function_alias": multiAccount(func(r *run, c *lambda.Client, arn string) {
			alias := "alias-" + uid()
			_, err := c.CreateAlias(r.Ctx, &lambda.CreateAliasInput{FunctionName: &arn, FunctionVersion: aws.String("$LATEST"), Name: &alias})
			r.mustSucceed("create_alias", err)
			_, err = c.GetAlias(r.Ctx, &lambda.GetAliasInput{FunctionName: &arn, Name: &alias})
			r.mustSucceed("get_alias", err)
			desc := "alias-description-" + uid()
			_, err = c.UpdateAlias(r.Ctx, &lambda.UpdateAliasInput{FunctionName: &arn, Name: &alias, Description: &desc})
			r.mustSucceed("update_alias", err)
			out, err := c.ListAliases(r.Ctx, &lambda.ListAliasesInput{FunctionName: &arn})
			r.mustSucceed("list_aliases", err)
			if err == nil && (len(out.Aliases) != 1 || aws.ToString(out.Aliases[0].Description) != desc) {
				r.T.Errorf("MISMATCH list_aliases: want the one alias with description %q, sluice: %+v", desc, out.Aliases)
			}
			_, err = c.DeleteAlias(r.Ctx, &lambda.DeleteAliasInput{FunctionName: &arn, Name: &alias})
			r.mustSucceed("delete_alias", err)
		}),
		"TestLambdaMultiAccounts::test_function_tags": multiAccount(func(r *run, c *lambda.Client, arn string) {
			_, err := c.TagResource(r.Ctx, &lambda.TagResourceInput{Resource: &arn, Tags: map[string]string{"foo": "bar"}})
			r.mustSucceed("tag_resource", err)
			out, err := c.ListTags(r.Ctx, &lambda.ListTagsInput{Resource: &arn})
			r.mustSucceed("list_tags", err)
			if err == nil && (len(out.Tags) != 1 || out.Tags["foo"] != "bar") {
				r.T.Errorf("MISMATCH list_tags: want {foo: bar}, sluice %v", out.Tags)
			}
			_, err = c.UntagResource(r.Ctx, &lambda.UntagResourceInput{Resource: &arn, TagKeys: []string{"lorem"}})
			r.mustSucceed("untag_resource", err)
		}),
		"TestLambdaMultiAccounts::test_publish_version": multiAccount(func(r *run, c *lambda.Client, arn string) {
			_, err := c.PublishVersion(r.Ctx, &lambda.PublishVersionInput{FunctionName: &arn})
			r.mustSucceed("publish_version", err)
		}),
		"TestLambdaMultiAccounts::test_delete_function": multiAccount(func(r *run, c *lambda.Client, arn string) {
			_, err := c.DeleteFunction(r.Ctx, &lambda.DeleteFunctionInput{FunctionName: &arn})
			r.mustSucceed("delete_function", err)
		}),
	})
}

// secondAccount is the account of TestLambdaMultiAccounts's
// secondary_aws_client.
const secondAccount = "222222222222"

// multiAccount is TestLambdaMultiAccounts's created_lambda_arn fixture
// then call: on a server that knows two keys, each the administrator of
// its account ("test" of the recordings' account, "second" of
// secondAccount), the first creates a function and allows the second
// account lambda:* on it (AddPermission), and call acts as the second
// with the function's ARN.
func multiAccount(call func(r *run, c *lambda.Client, arn string)) replay {
	return func(r *run) {
		t, ok := r.T.(*testing.T)
		if !ok {
			r.T.Errorf("multiAccount: the replay needs a *testing.T")
			return
		}
		url := twoAccountServer(t)
		primary := lambdaclient.NewInRegion(url, scope.Region, "test", "test")
		secondary := lambdaclient.NewInRegion(url, scope.Region, "second", "second")
		name := "func-" + uid()
		out, err := primary.CreateFunction(r.Ctx, &lambda.CreateFunctionInput{
			FunctionName: &name,
			Runtime:      types.RuntimePython312,
			Role:         aws.String(role),
			Handler:      aws.String("handler.handler"),
			Code:         &types.FunctionCode{ZipFile: pyZip(echoHandler)},
			Timeout:      aws.Int32(30),
		})
		if err != nil {
			r.T.Errorf("create_lambda_function: %v", err)
			return
		}
		waitActive(r, primary, name)
		_, err = primary.AddPermission(r.Ctx, &lambda.AddPermissionInput{
			FunctionName: &name, StatementId: aws.String("stm-" + uid()), Principal: aws.String(secondAccount), Action: aws.String("lambda:*"),
		})
		r.mustSucceed("add_permission", err)
		call(r, secondary, *out.FunctionArn)
	}
}

func waitActive(r *run, c *lambda.Client, name string) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out, err := c.GetFunction(r.Ctx, &lambda.GetFunctionInput{FunctionName: &name})
		if err != nil || out.Configuration.State == types.StateActive {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// twoAccountServer is newServer's API server with two keys: "test"
// (secret "test") the administrator of the recordings' account, "second"
// (secret "second") of secondAccount. It returns its URL.
func twoAccountServer(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	store, err := bolt.Open(filepath.Join(dir, "sluice.db"), scope)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	code, err := artifacts.Open(filepath.Join(dir, "code"))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	accounts := map[string]string{"test": scope.Account, "second": secondAccount}
	secret := func(id, token string) (string, error) {
		if _, ok := accounts[id]; !ok || token != "" {
			return "", sluice.Errorf(sluice.EUnrecognizedClient, "The security token included in the request is invalid.")
		}
		return id, nil
	}
	principal := func(sig *sigv4.Signature) (*iam.Principal, error) {
		acct := accounts[sig.AccessKeyID]
		return &iam.Principal{Account: acct, ARN: "arn:aws:iam::" + acct + ":user/" + sig.AccessKeyID, AccessKeyID: sig.AccessKeyID, Admin: true}, nil
	}
	cfg := service.Config{Scope: scope, Store: store, Code: code, Invoker: nopInvoker{}, Logger: logger}
	reg := service.NewRegistry(service.RegistryConfig{Default: scope, Stores: store, Service: cfg})
	srv := httptest.NewServer(api.New(api.Config{
		Services:  reg,
		Verifier:  &sigv4.Verifier{Secret: secret, Service: "lambda", Now: time.Now, MaxSkew: 5 * time.Minute},
		Principal: principal,
		Logger:    logger,
		Now:       time.Now,
		Runtimes:  recordedRuntimes{},
	}))
	t.Cleanup(reg.Close)
	t.Cleanup(srv.Close)
	return srv.URL
}
