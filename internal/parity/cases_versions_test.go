package parity_test

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// The versions, aliases and revisions cases of test_lambda_api.py
// (classes TestLambdaVersions, TestLambdaAlias, TestLambdaRevisions,
// TestPartialARNMatching), recorded in versions.excerpt.json. Not
// replayed: TestPartialARNMatching::test_cross_region_arn_function_access
// (despite its name, LocalStack's secondary_aws_client is another account
// in the same region, tests/conftest.py: a GetFunction by full ARN from a
// second account, which passed with LocalStack's validation credentials
// and snapshots nothing; the harness serves one account with one key, and
// sluice answers another account's caller by its authorization rules).
func init() {
	register("versions.excerpt.json", map[string]replay{
		"TestLambdaVersions::test_publish_version_on_create":                  publishVersionOnCreate,
		"TestLambdaVersions::test_version_lifecycle":                          versionLifecycle,
		"TestLambdaVersions::test_publish_with_wrong_sha256":                  publishWithWrongSha256,
		"TestLambdaVersions::test_publish_with_update":                        publishWithUpdate,
		"TestLambdaAlias::test_alias_lifecycle":                               aliasLifecycle,
		"TestLambdaAlias::test_non_existent_alias_deletion":                   nonExistentAliasDeletion,
		"TestLambdaAlias::test_non_existent_alias_update":                     nonExistentAliasUpdate,
		"TestLambdaAlias::test_notfound_and_invalid_routingconfigs":           notfoundAndInvalidRoutingconfigs,
		"TestLambdaRevisions::test_function_revisions_basic":                  functionRevisionsBasic,
		"TestLambdaRevisions::test_function_revisions_version_and_alias":      functionRevisionsVersionAndAlias,
		"TestPartialARNMatching::test_update_function_configuration_full_arn": updateFunctionConfigurationFullARN,
	})
}

// createAWS is LocalStack's create_lambda_function_aws fixture: the
// CreateFunction the test spells out (here: the echo handler as
// index.handler on python3.12), snapshotted under key, then a wait until
// the function is no longer Pending. Its response is the CreateFunction
// response itself.
func (r *run) createAWS(key string, opts ...func(*lambda.CreateFunctionInput)) string {
	r.T.Helper()
	name := "fn-" + uid()
	in := &lambda.CreateFunctionInput{
		FunctionName: &name,
		Handler:      aws.String("index.handler"),
		Code:         &types.FunctionCode{ZipFile: pyZip(echoHandler)},
		PackageType:  types.PackageTypeZip,
		Role:         aws.String(role),
		Runtime:      types.RuntimePython312,
	}
	for _, o := range opts {
		o(in)
	}
	r.Snap(key, func() error { _, err := r.C.CreateFunction(r.Ctx, in); return err })
	r.WaitActive(name)
	return name
}

// field is a top-level string member of the response kept under key (its
// Configuration's when it has one).
func (r *run) field(key, name string) string {
	m, _ := r.Got[key].(map[string]any)
	if c, ok := m["Configuration"].(map[string]any); ok {
		m = c
	}
	if c, ok := m["CreateFunctionResponse"].(map[string]any); ok {
		m = c
	}
	s, _ := m[name].(string)
	return s
}

func (r *run) getFunction(key, name string, qualifier *string) {
	r.Snap(key, func() error {
		_, err := r.C.GetFunction(r.Ctx, &lambda.GetFunctionInput{FunctionName: &name, Qualifier: qualifier})
		return err
	})
}

func (r *run) publish(key string, in *lambda.PublishVersionInput) {
	r.Snap(key, func() error { _, err := r.C.PublishVersion(r.Ctx, in); return err })
}

func (r *run) listVersions(key, name string) {
	r.Snap(key, func() error {
		_, err := r.C.ListVersionsByFunction(r.Ctx, &lambda.ListVersionsByFunctionInput{FunctionName: &name})
		return err
	})
}

func (r *run) createAlias(key string, in *lambda.CreateAliasInput) {
	r.Snap(key, func() error { _, err := r.C.CreateAlias(r.Ctx, in); return err })
}

func (r *run) getAlias(key, name, alias string) {
	r.Snap(key, func() error {
		_, err := r.C.GetAlias(r.Ctx, &lambda.GetAliasInput{FunctionName: &name, Name: &alias})
		return err
	})
}

func (r *run) listAliases(key string, in *lambda.ListAliasesInput) {
	r.Snap(key, func() error { _, err := r.C.ListAliases(r.Ctx, in); return err })
}

func weights(w map[string]float64) *types.AliasRoutingConfiguration {
	return &types.AliasRoutingConfiguration{AdditionalVersionWeights: w}
}

func publishVersionOnCreate(r *run) {
	name := r.createAWS("create_response", func(in *lambda.CreateFunctionInput) { in.Publish = true })
	r.getFunction("get_function_result", name, nil)
	r.getFunction("get_function_version_result", name, aws.String("1"))
	r.getFunction("get_function_latest_result", name, aws.String("$LATEST"))
	r.listVersions("list_versions_result", name)
	// republishing an unchanged function publishes no new version
	r.publish("repeated_publish_response", &lambda.PublishVersionInput{FunctionName: &name, Description: aws.String("Repeated version description :)")})
	r.listVersions("list_versions_result_after_publish", name)
}

func versionLifecycle(r *run) {
	name := r.createAWS("create_response", func(in *lambda.CreateFunctionInput) { in.Description = aws.String("No version :(") })
	r.getFunction("get_function_result", name, nil)
	r.listVersions("list_versions_result", name)
	update := func(key, desc string) {
		r.Snap(key, func() error {
			_, err := r.C.UpdateFunctionConfiguration(r.Ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: &name, Description: &desc})
			return err
		})
		r.WaitUpdated(name)
	}
	update("first_update_response", "First version :)")
	r.getFunction("first_update_get_function", name, nil)
	r.publish("first_publish_response", &lambda.PublishVersionInput{FunctionName: &name, Description: aws.String("First version description :)")})
	v := r.field("first_publish_response", "Version")
	r.getFunction("first_publish_get_function", name, &v)
	r.Snap("first_publish_get_function_config", func() error {
		_, err := r.C.GetFunctionConfiguration(r.Ctx, &lambda.GetFunctionConfigurationInput{FunctionName: &name, Qualifier: &v})
		return err
	})
	update("second_update_response", "Second version :))")
	r.getFunction("first_publish_get_function_after_update", name, &v)
	r.publish("second_publish_response", &lambda.PublishVersionInput{FunctionName: &name})
	r.publish("third_publish_response", &lambda.PublishVersionInput{FunctionName: &name, Description: aws.String("Third version description :)))")})
	r.listVersions("list_versions_result_after_third_publish", name)
	r.must("delete_function of version "+v, func() error {
		_, err := r.C.DeleteFunction(r.Ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name + ":" + v)})
		return err
	})
	r.listVersions("list_versions_result_after_deletion_of_first_version", name)
}

func publishWithWrongSha256(r *run) {
	name := r.createAWS("create_response")
	r.getFunction("get_fn_response", name, nil)
	r.publish("publish_wrong_sha256_exc", &lambda.PublishVersionInput{FunctionName: &name, CodeSha256: aws.String("somenonexistentsha256")})
	r.publish("publish_result", &lambda.PublishVersionInput{FunctionName: &name, CodeSha256: aws.String(r.field("get_fn_response", "CodeSha256"))})
}

func publishWithUpdate(r *run) {
	name := r.createAWS("create_response")
	r.getFunction("get_function_result", name, nil)
	r.Snap("update_function_code_result", func() error {
		_, err := r.C.UpdateFunctionCode(r.Ctx, &lambda.UpdateFunctionCodeInput{FunctionName: &name, ZipFile: pyZip(versionHandler), Publish: true})
		return err
	})
	r.getFunction("get_function_version_result", name, aws.String("1"))
	r.getFunction("get_function_latest_result", name, aws.String("$LATEST"))
}

func aliasLifecycle(r *run) {
	name := r.createAWS("create_response", func(in *lambda.CreateFunctionInput) {
		in.Environment = &types.Environment{Variables: map[string]string{"testenv": "staging"}}
	})
	r.publish("publish_v1", &lambda.PublishVersionInput{FunctionName: &name})
	r.must("update_function_configuration", func() error {
		_, err := r.C.UpdateFunctionConfiguration(r.Ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: &name, Environment: &types.Environment{Variables: map[string]string{"testenv": "prod"}},
		})
		return err
	})
	r.WaitUpdated(name)
	r.publish("publish_v2", &lambda.PublishVersionInput{FunctionName: &name})
	r.createAlias("create_alias_1_1", &lambda.CreateAliasInput{
		FunctionName: &name, Name: aws.String("aliasname1_1"), FunctionVersion: aws.String("1"),
		Description: aws.String("custom-alias"), RoutingConfig: weights(map[string]float64{"2": 0.2}),
	})
	r.getAlias("get_alias_1_1", name, "aliasname1_1")
	r.getFunction("get_function_alias_1_1", name, aws.String("aliasname1_1"))
	aliasARN, _ := r.Got["create_alias_1_1"].(map[string]any)["AliasArn"].(string)
	r.getFunction("get_function_byarn_alias_1_1", aliasARN, nil)
	r.getFunction("get_function_alias_notfound_exc", name, aws.String("aliasdoesnotexist"))
	r.getFunction("get_function_alias_byarn_notfound_exc", strings.Replace(aliasARN, "aliasname1_1", "aliasdoesnotexist", 1), nil)
	r.createAlias("create_alias_1_2", &lambda.CreateAliasInput{
		FunctionName: &name, Name: aws.String("aliasname1_2"), FunctionVersion: aws.String("1"), Description: aws.String("custom-alias"),
	})
	r.getAlias("get_alias_1_2", name, "aliasname1_2")
	r.createAlias("create_alias_1_3", &lambda.CreateAliasInput{FunctionName: &name, Name: aws.String("aliasname1_3"), FunctionVersion: aws.String("1")})
	r.getAlias("get_alias_1_3", name, "aliasname1_3")
	r.createAlias("create_alias_2", &lambda.CreateAliasInput{
		FunctionName: &name, Name: aws.String("aliasname2"), FunctionVersion: aws.String("2"), Description: aws.String("custom-alias"),
	})
	r.getAlias("get_alias_2", name, "aliasname2")
	// botocore's paginator with PageSize 1, build_full_result: the
	// pages' Aliases in one list, nothing else
	r.paginateAliases("list_aliases_for_fnname", name)
	r.Snap("update_alias_1_1", func() error {
		_, err := r.C.UpdateAlias(r.Ctx, &lambda.UpdateAliasInput{FunctionName: &name, Name: aws.String("aliasname1_1"), RoutingConfig: weights(map[string]float64{})})
		return err
	})
	r.getAlias("get_alias_1_1_after_update", name, "aliasname1_1")
	r.listAliases("list_aliases_for_fnname_after_update", &lambda.ListAliasesInput{FunctionName: &name})
	r.Snap("update_alias_1_2", func() error {
		_, err := r.C.UpdateAlias(r.Ctx, &lambda.UpdateAliasInput{FunctionName: &name, Name: aws.String("aliasname1_2")})
		return err
	})
	r.getAlias("get_alias_1_2_after_update", name, "aliasname1_2")
	r.listAliases("list_aliases_for_fnname_after_update_2", &lambda.ListAliasesInput{FunctionName: &name})
	r.listAliases("list_aliases_for_version", &lambda.ListAliasesInput{FunctionName: &name, FunctionVersion: aws.String("1")})
	r.Snap("delete_alias_response", func() error {
		_, err := r.C.DeleteAlias(r.Ctx, &lambda.DeleteAliasInput{FunctionName: &name, Name: aws.String("aliasname1_1")})
		return err
	})
	r.listAliases("list_aliases_for_fnname_afterdelete", &lambda.ListAliasesInput{FunctionName: &name})
}

// paginateAliases is botocore's list_aliases paginator (PageSize 1) and
// build_full_result, kept under key.
func (r *run) paginateAliases(key, name string) {
	var all []any
	var marker *string
	for page := 0; page < 20; page++ {
		pkey := key + "#page"
		r.Snap(pkey, func() error {
			_, err := r.C.ListAliases(r.Ctx, &lambda.ListAliasesInput{FunctionName: &name, MaxItems: aws.Int32(1), Marker: marker})
			return err
		})
		m, _ := r.Got[pkey].(map[string]any)
		delete(r.Got, pkey)
		r.Order = r.Order[:len(r.Order)-1]
		as, _ := m["Aliases"].([]any)
		all = append(all, as...)
		next, _ := m["NextMarker"].(string)
		if next == "" {
			break
		}
		marker = &next
	}
	r.Got[key] = map[string]any{"Aliases": all}
	r.Order = append(r.Order, key)
}

func nonExistentAliasDeletion(r *run) {
	name := r.createAWS("create_response", func(in *lambda.CreateFunctionInput) {
		in.Environment = &types.Environment{Variables: map[string]string{"testenv": "staging"}}
	})
	r.Snap("delete_alias_response", func() error {
		_, err := r.C.DeleteAlias(r.Ctx, &lambda.DeleteAliasInput{FunctionName: &name, Name: aws.String("non-existent")})
		return err
	})
}

func nonExistentAliasUpdate(r *run) {
	name := r.createAWS("create_response", func(in *lambda.CreateFunctionInput) {
		in.Environment = &types.Environment{Variables: map[string]string{"testenv": "staging"}}
	})
	r.Snap("update_alias_response", func() error {
		_, err := r.C.UpdateAlias(r.Ctx, &lambda.UpdateAliasInput{FunctionName: &name, Name: aws.String("non-existent")})
		return err
	})
}

func notfoundAndInvalidRoutingconfigs(r *run) {
	// the test's client has parameter_validation=False: the Go SDK checks
	// required members only, which every call here has
	name := r.createAWS("create_response", func(in *lambda.CreateFunctionInput) {
		in.Publish = true
		in.Environment = &types.Environment{Variables: map[string]string{"testenv": "staging"}}
	})
	r.publish("publish_v1", &lambda.PublishVersionInput{FunctionName: &name})
	r.must("update_function_configuration", func() error {
		_, err := r.C.UpdateFunctionConfiguration(r.Ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: &name, Environment: &types.Environment{Variables: map[string]string{"testenv": "prod"}},
		})
		return err
	})
	r.WaitUpdated(name)
	r.publish("publish_v2", &lambda.PublishVersionInput{FunctionName: &name})
	alias := func(key, fn, aliasName, version string, w map[string]float64) {
		in := &lambda.CreateAliasInput{FunctionName: aws.String(fn), Name: aws.String(aliasName), FunctionVersion: aws.String(version)}
		if w != nil {
			in.RoutingConfig = weights(w)
		}
		r.createAlias(key, in)
	}
	alias("routing_config_exc_toomany", name, "custom", "1", map[string]float64{"1": 0.8, "2": 0.2})
	alias("routing_config_exc_toohigh", name, "custom", "1", map[string]float64{"2": 2})
	alias("routing_config_exc_subzero", name, "custom", "1", map[string]float64{"2": -1})
	alias("routing_config_exc_sameversion", name, "custom", "1", map[string]float64{"1": 0.5})
	alias("target_version_doesnotexist", name, "custom", "10", map[string]float64{"2": 0.5})
	alias("routing_config_exc_version_doesnotexist", name, "custom", "1", map[string]float64{"10": 0.5})
	alias("target_version_exc_version_latest", name, "custom", "$LATEST", map[string]float64{"1": 0.5})
	alias("routing_config_exc_version_latest", name, "custom", "1", map[string]float64{"$LATEST": 0.5})
	alias("create-alias-latest", name, "custom-latest", "$LATEST", nil)
	alias("routing_config_exc_fn_doesnotexist", name+"-unknown", "custom", "1", map[string]float64{"2": 0.5})
	alias("create_alias_empty_routingconfig", name, "custom-empty-routingconfig", "1", map[string]float64{})
	alias("create_alias_response", name, "custom", "1", map[string]float64{"2": 0.5})
	alias("routing_config_exc_already_exist", name, "custom", "1", map[string]float64{"2": 0.5})
	r.getAlias("alias_does_not_exist_esc", name, "non-existent")
}

func functionRevisionsBasic(r *run) {
	zip := pyZip(echoHandler)
	name, create := r.create("fn", func(in *lambda.CreateFunctionInput) {
		in.Handler = aws.String("index.handler")
		in.Code = &types.FunctionCode{ZipFile: zip}
	})
	r.Snap("create_function_response_rev1", create)
	r.wrapFixture("create_function_response_rev1")
	r.WaitActive(name)
	r.getFunction("get_function_response_rev2", name, nil)
	rev2 := r.field("get_function_response_rev2", "RevisionId")
	if rev2 == r.field("create_function_response_rev1", "RevisionId") {
		r.T.Errorf("MISMATCH: the RevisionId does not change when the function becomes Active")
	}
	r.Snap("update_function_revision_exception", func() error {
		_, err := r.C.UpdateFunctionCode(r.Ctx, &lambda.UpdateFunctionCodeInput{FunctionName: &name, ZipFile: zip, RevisionId: aws.String("wrong")})
		return err
	})
	r.Snap("update_function_code_response_rev3", func() error {
		_, err := r.C.UpdateFunctionCode(r.Ctx, &lambda.UpdateFunctionCodeInput{FunctionName: &name, ZipFile: zip, RevisionId: &rev2})
		return err
	})
	rev3 := r.field("update_function_code_response_rev3", "RevisionId")
	r.WaitUpdated(name)
	r.getFunction("get_function_response_rev4", name, nil)
	rev4 := r.field("get_function_response_rev4", "RevisionId")
	if rev3 == rev4 || rev2 == rev3 {
		r.T.Errorf("MISMATCH: the RevisionId changes on UpdateFunctionCode and again when it settles (AWS), sluice: %s, %s, %s", rev2, rev3, rev4)
	}
	r.Snap("update_function_configuration_revision_exception", func() error {
		_, err := r.C.UpdateFunctionConfiguration(r.Ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: &name, Runtime: types.RuntimePython38, RevisionId: aws.String("wrong")})
		return err
	})
	r.Snap("update_function_configuration_response_rev5", func() error {
		_, err := r.C.UpdateFunctionConfiguration(r.Ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: &name, Runtime: types.RuntimePython38, RevisionId: &rev4})
		return err
	})
	r.WaitUpdated(name)
	r.getFunction("get_function_response_rev6", name, nil)
}

func functionRevisionsVersionAndAlias(r *run) {
	name, create := r.create("fn")
	r.Snap("create_function_response_rev1", create)
	r.wrapFixture("create_function_response_rev1")
	r.WaitActive(name)
	r.getFunction("get_function_active_rev2", name, nil)
	rev2 := r.field("get_function_active_rev2", "RevisionId")
	r.publish("publish_version_revision_exception", &lambda.PublishVersionInput{FunctionName: &name, RevisionId: aws.String("wrong")})
	r.publish("publish_version_response_rev_v1", &lambda.PublishVersionInput{FunctionName: &name, RevisionId: &rev2})
	v := r.field("publish_version_response_rev_v1", "Version")
	r.getFunction("get_function_published_version_rev_v2", name, &v)
	r.getFunction("get_function_latest_rev3", name, nil)
	const alias = "revision_alias"
	r.createAlias("create_alias_response_rev_a1", &lambda.CreateAliasInput{FunctionName: &name, Name: aws.String(alias), FunctionVersion: &v})
	revA1 := r.field("create_alias_response_rev_a1", "RevisionId")
	r.getFunction("get_function_latest_rev4", name, nil)
	r.getFunction("get_function_published_version_rev_v3", name, &v)
	r.Snap("update_alias_revision_exception", func() error {
		_, err := r.C.UpdateAlias(r.Ctx, &lambda.UpdateAliasInput{FunctionName: &name, Name: aws.String(alias), RevisionId: aws.String("wrong")})
		return err
	})
	r.Snap("update_alias_response_rev_a2", func() error {
		_, err := r.C.UpdateAlias(r.Ctx, &lambda.UpdateAliasInput{FunctionName: &name, Name: aws.String(alias), Description: aws.String("something changed"), RevisionId: &revA1})
		return err
	})
}

// The TestPartialARNMatching cases snapshot nothing: the test passes when
// every call succeeds.
func updateFunctionConfigurationFullARN(r *run) {
	name, create := r.create("fn", func(in *lambda.CreateFunctionInput) {
		in.MemorySize = aws.Int32(256)
		in.Timeout = aws.Int32(5)
	})
	r.Snap("create_response", create)
	r.WaitActive(name)
	full := r.field("create_response", "FunctionArn")
	parts := strings.Split(full, ":")
	partial := strings.Join(parts[max(0, len(parts)-3):], ":")
	for _, n := range []string{full, name, partial} {
		r.must("update_function_configuration "+n, func() error {
			_, err := r.C.UpdateFunctionConfiguration(r.Ctx, &lambda.UpdateFunctionConfigurationInput{
				FunctionName: aws.String(n),
				Description:  aws.String("Changed-Description"),
				MemorySize:   aws.Int32(512),
				Timeout:      aws.Int32(10),
				Environment:  &types.Environment{Variables: map[string]string{"ENV_A": "a"}},
			})
			return err
		})
		r.WaitUpdated(name)
	}
}
