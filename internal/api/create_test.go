package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice"
)

func TestCreateFunction(t *testing.T) {
	var gc *gatedCode
	e := newEnv(t, withGatedCode(&gc))
	ctx := context.Background()
	zip := makeZip(t, "hello")
	entered, release := gc.hold(t, sha256Hex(zip))
	before := time.Now().UTC().Truncate(time.Millisecond)
	out, err := e.client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName:     aws.String("hello"),
		Role:             aws.String(testRole),
		Runtime:          types.RuntimeProvidedal2,
		Handler:          aws.String("my.handler"),
		Code:             &types.FunctionCode{ZipFile: zip},
		Description:      aws.String("says hello"),
		Timeout:          aws.Int32(30),
		MemorySize:       aws.Int32(256),
		Architectures:    []types.Architecture{types.ArchitectureArm64},
		EphemeralStorage: &types.EphemeralStorage{Size: aws.Int32(1024)},
		Environment:      &types.Environment{Variables: map[string]string{"GREETING": "hi", "LEVEL_2": ""}},
		PackageType:      types.PackageTypeZip,
		Publish:          false,
		Tags:             map[string]string{"ignored": "yes"},
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(zip)
	checks := []struct {
		name      string
		got, want any
	}{
		{"FunctionName", aws.ToString(out.FunctionName), "hello"},
		{"FunctionArn", aws.ToString(out.FunctionArn), "arn:aws:lambda:us-east-1:123456789012:function:hello"},
		{"Runtime", out.Runtime, types.RuntimeProvidedal2},
		{"Role", aws.ToString(out.Role), testRole},
		{"Handler", aws.ToString(out.Handler), "my.handler"},
		{"CodeSize", out.CodeSize, int64(len(zip))},
		{"CodeSha256", aws.ToString(out.CodeSha256), base64.StdEncoding.EncodeToString(sum[:])},
		{"Description", aws.ToString(out.Description), "says hello"},
		{"Timeout", aws.ToInt32(out.Timeout), int32(30)},
		{"MemorySize", aws.ToInt32(out.MemorySize), int32(256)},
		{"Version", aws.ToString(out.Version), "$LATEST"},
		{"State", out.State, types.StatePending},
		{"StateReason", aws.ToString(out.StateReason), "The function is being created."},
		{"StateReasonCode", out.StateReasonCode, types.StateReasonCodeCreating},
		{"LastUpdateStatus", out.LastUpdateStatus, types.LastUpdateStatus("")},
		{"LastUpdateStatusReason", out.LastUpdateStatusReason, (*string)(nil)},
		{"LastUpdateStatusReasonCode", out.LastUpdateStatusReasonCode, types.LastUpdateStatusReasonCode("")},
		{"PackageType", out.PackageType, types.PackageTypeZip},
		{"Architectures", slices.Equal(out.Architectures, []types.Architecture{types.ArchitectureArm64}), true},
		{"EphemeralStorage", aws.ToInt32(out.EphemeralStorage.Size), int32(1024)},
		{"TracingConfig", out.TracingConfig.Mode, types.TracingModePassThrough},
		{"LoggingConfig.LogFormat", out.LoggingConfig.LogFormat, types.LogFormatText},
		{"LoggingConfig.LogGroup", aws.ToString(out.LoggingConfig.LogGroup), "/aws/lambda/hello"},
		{"SnapStart.ApplyOn", out.SnapStart.ApplyOn, types.SnapStartApplyOnNone},
		{"SnapStart.OptimizationStatus", out.SnapStart.OptimizationStatus, types.SnapStartOptimizationStatusOff},
		{"Environment", out.Environment.Variables["GREETING"] + "," + out.Environment.Variables["LEVEL_2"], "hi,"},
		{"RevisionId is a UUID", len(aws.ToString(out.RevisionId)), 36},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	lm, err := time.Parse("2006-01-02T15:04:05.000-0700", aws.ToString(out.LastModified))
	if err != nil {
		t.Fatalf("LastModified %q: %v", aws.ToString(out.LastModified), err)
	}
	if !strings.HasSuffix(aws.ToString(out.LastModified), "+0000") || lm.Before(before) || lm.After(time.Now()) {
		t.Errorf("LastModified = %q, want a UTC time of this test", aws.ToString(out.LastModified))
	}
	if r := e.invoker.Retired(); len(r) != 0 {
		t.Errorf("create retired %v, want nothing", r)
	}

	// The function stays Pending until its package is unpacked, in the
	// background; meanwhile it cannot change.
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the deployment never started unpacking the package")
	}
	pending, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("hello")})
	if err != nil {
		t.Fatal(err)
	}
	if pending.State != types.StatePending || aws.ToString(pending.RevisionId) != aws.ToString(out.RevisionId) || pending.LastUpdateStatus != "" {
		t.Errorf("during the deployment: State %s, RevisionId %s, LastUpdateStatus %q; want the create response's",
			pending.State, aws.ToString(pending.RevisionId), pending.LastUpdateStatus)
	}
	_, err = e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("hello"), ZipFile: makeZip(t, "hello again")})
	wantTyped[*types.ResourceConflictException](t, err)
	wantAPIError(t, err, "ResourceConflictException", inProgressMessage+"hello")
	_, err = e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("hello")})
	wantAPIError(t, err, "ResourceConflictException", inProgressMessage+"hello")

	// Then it is Active, with a new RevisionId.
	release()
	e.waitActive("hello")
	got, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("hello")})
	if err != nil {
		t.Fatal(err)
	}
	c := got.Configuration
	if c.State != types.StateActive || c.StateReason != nil || c.StateReasonCode != "" ||
		c.LastUpdateStatus != types.LastUpdateStatusSuccessful || c.LastUpdateStatusReason != nil || c.LastUpdateStatusReasonCode != "" {
		t.Errorf("after the deployment: State %s (%q, %q), LastUpdateStatus %s (%q, %q); want Active, Successful, no reasons",
			c.State, aws.ToString(c.StateReason), c.StateReasonCode, c.LastUpdateStatus, aws.ToString(c.LastUpdateStatusReason), c.LastUpdateStatusReasonCode)
	}
	if rev := aws.ToString(c.RevisionId); rev == aws.ToString(out.RevisionId) || len(rev) != 36 {
		t.Errorf("RevisionId after the deployment = %q, want a new UUID (create response: %s)", rev, aws.ToString(out.RevisionId))
	}
	if aws.ToString(c.LastModified) != aws.ToString(out.LastModified) || aws.ToString(c.CodeSha256) != aws.ToString(out.CodeSha256) ||
		aws.ToString(c.Handler) != "my.handler" || aws.ToInt32(c.MemorySize) != 256 {
		t.Errorf("after the deployment: LastModified %s, CodeSha256 %s, Handler %s, MemorySize %d; want the created ones",
			aws.ToString(c.LastModified), aws.ToString(c.CodeSha256), aws.ToString(c.Handler), aws.ToInt32(c.MemorySize))
	}
	if r := e.invoker.Retired(); len(r) != 0 {
		t.Errorf("the first deployment retired %v, want nothing", r)
	}

}

// On the wire, LastUpdateStatus is absent until the first deployment ended,
// as on Lambda (the SDK cannot tell absent from empty).
func TestCreateFunctionOmitsLastUpdateStatus(t *testing.T) {
	e := newEnv(t)
	body := `{"FunctionName":"raw","Role":"` + testRole + `","Runtime":"` + testRuntime + `","Handler":"bootstrap","Code":{"ZipFile":"` +
		base64.StdEncoding.EncodeToString(makeZip(t, "raw")) + `"}}`
	resp, raw := e.signedRequest(http.MethodPost, "/2015-03-31/functions", []byte(body), http.Header{"Content-Type": {"application/json"}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("raw CreateFunction: %d %s", resp.StatusCode, raw)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"LastUpdateStatus", "LastUpdateStatusReason", "LastUpdateStatusReasonCode"} {
		if v, ok := m[k]; ok {
			t.Errorf("raw CreateFunction response has %s: %v", k, v)
		}
	}
	if m["State"] != "Pending" || m["StateReason"] != "The function is being created." || m["StateReasonCode"] != "Creating" {
		t.Errorf("raw CreateFunction response: State %v, StateReason %v, StateReasonCode %v", m["State"], m["StateReason"], m["StateReasonCode"])
	}
	e.waitActive("raw")
}

// With Publish, CreateFunction waits for the deployment and publishes
// version 1; it answers, as Lambda does, the $LATEST it stored (Pending,
// unqualified ARN, its first RevisionId) with Version 1.
func TestCreateFunctionPublish(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in := createInput(t, "published")
	in.Publish = true
	out, err := e.client.CreateFunction(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(in.Code.ZipFile)
	if aws.ToString(out.Version) != "1" || aws.ToString(out.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:published" ||
		out.State != types.StatePending || out.LastUpdateStatus != "" || aws.ToString(out.StateReason) != "The function is being created." ||
		aws.ToString(out.CodeSha256) != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("CreateFunction with Publish: Version %s, FunctionArn %s, State %s, LastUpdateStatus %s, StateReason %q, CodeSha256 %s",
			aws.ToString(out.Version), aws.ToString(out.FunctionArn), out.State, out.LastUpdateStatus, aws.ToString(out.StateReason), aws.ToString(out.CodeSha256))
	}
	// version 1 exists when the answer comes, Active, with its own RevisionId
	v1, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("published"), Qualifier: aws.String("1")})
	if err != nil {
		t.Fatalf("GetFunction(published, 1): %v", err)
	}
	if aws.ToString(v1.Configuration.Version) != "1" || v1.Configuration.State != types.StateActive ||
		aws.ToString(v1.Configuration.RevisionId) == aws.ToString(out.RevisionId) ||
		aws.ToString(v1.Configuration.CodeSha256) != aws.ToString(out.CodeSha256) {
		t.Errorf("GetFunction(published, 1): Version %s, State %s, RevisionId %s (create answered %s), CodeSha256 %s",
			aws.ToString(v1.Configuration.Version), v1.Configuration.State, aws.ToString(v1.Configuration.RevisionId), aws.ToString(out.RevisionId), aws.ToString(v1.Configuration.CodeSha256))
	}
	// $LATEST was deployed within the request.
	latest, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("published")})
	if err != nil {
		t.Fatal(err)
	}
	if latest.State != types.StateActive || latest.LastUpdateStatus != types.LastUpdateStatusSuccessful || aws.ToString(latest.Version) != "$LATEST" {
		t.Errorf("$LATEST: State %s, LastUpdateStatus %s, Version %s", latest.State, latest.LastUpdateStatus, aws.ToString(latest.Version))
	}
}

func TestCreateFunctionDefaults(t *testing.T) {
	e := newEnv(t)
	out := e.create("defaults")
	if aws.ToInt32(out.Timeout) != 3 || aws.ToInt32(out.MemorySize) != 128 || aws.ToInt32(out.EphemeralStorage.Size) != 512 {
		t.Errorf("Timeout/MemorySize/EphemeralStorage = %d/%d/%d, want 3/128/512",
			aws.ToInt32(out.Timeout), aws.ToInt32(out.MemorySize), aws.ToInt32(out.EphemeralStorage.Size))
	}
	if !slices.Equal(out.Architectures, []types.Architecture{types.ArchitectureX8664}) {
		t.Errorf("Architectures = %v, want [x86_64]", out.Architectures)
	}
	if out.Environment != nil {
		t.Errorf("Environment = %+v, want none", out.Environment)
	}
	if aws.ToString(out.Description) != "" {
		t.Errorf("Description = %q", aws.ToString(out.Description))
	}
}

func TestCreateFunctionByARN(t *testing.T) {
	e := newEnv(t)
	in := createInput(t, "arn:aws:lambda:us-east-1:123456789012:function:by-arn")
	out, err := e.client.CreateFunction(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.FunctionName) != "by-arn" {
		t.Errorf("FunctionName = %q", aws.ToString(out.FunctionName))
	}
	in = createInput(t, "123456789012:function:by-partial-arn")
	if _, err := e.client.CreateFunction(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

func TestCreateFunctionConflict(t *testing.T) {
	e := newEnv(t)
	e.create("twice")
	_, err := e.client.CreateFunction(context.Background(), createInput(t, "twice"))
	wantTyped[*types.ResourceConflictException](t, err)
	wantAPIError(t, err, "ResourceConflictException", "Function already exist: twice")
}

func TestCreateFunctionInvalidZip(t *testing.T) {
	e := newEnv(t)
	in := createInput(t, "broken")
	in.Code.ZipFile = []byte("this is not a zip file")
	_, err := e.client.CreateFunction(context.Background(), in)
	// at create time AWS answers 400 InvalidParameterValueException
	// (recorded: test_create_lambda_exceptions), not InvalidZipFileException
	wantTyped[*types.InvalidParameterValueException](t, err)
	wantAPIError(t, err, "InvalidParameterValueException", "Could not unzip uploaded file. Please check your file, then try to upload again.")
	if _, err := e.client.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("broken")}); err == nil {
		t.Fatal("a function with a broken package was stored")
	}
}

// Runtimes get AWS's messages: the retired ones its deprecation message,
// values that are no runtime of AWS's its enum message (as recorded by
// LocalStack's TestRuntimeValidation and test_create_lambda_exceptions).
func TestCreateFunctionRuntimeMessages(t *testing.T) {
	e := newEnv(t)
	for rt, msg := range map[string]string{
		"java8":     "The runtime parameter of java8 is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.",
		"PYTHON3.9": "Value PYTHON3.9 at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [nodejs20.x, python3.14, provided.al2023, python3.12, python3.13, nodejs24.x, nodejs22.x, java25, python3.10, python3.11, java21, ruby3.3, ruby3.4, ruby3.2, python3.8, python3.9, java17, nodejs16.x, dotnet10, dotnet8, java11, dotnet6, nodejs18.x, provided.al2, java8.al2] or be a valid ARN",
		"java21":    "The runtime parameter of java21 is not supported by sluice; supported runtimes: provided.al2023, provided.al2, provided",
	} {
		in := createInput(t, "rt")
		in.Runtime = types.Runtime(rt)
		_, err := e.client.CreateFunction(context.Background(), in)
		wantTyped[*types.InvalidParameterValueException](t, err)
		wantAPIError(t, err, "InvalidParameterValueException", msg)
	}
}

func TestCreateFunctionValidation(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("a", 65)
	bigEnv := map[string]string{"BIG": strings.Repeat("x", 4094)}
	tests := []struct {
		name   string
		modify func(*lambda.CreateFunctionInput)
		code   string
		msg    string
	}{
		{"bad name", func(in *lambda.CreateFunctionInput) { in.FunctionName = aws.String("my function!") },
			"ValidationException", "1 validation error detected: Value 'my function!' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: " + sluice.FunctionNamePattern},
		{"dot in name", func(in *lambda.CreateFunctionInput) { in.FunctionName = aws.String("a.b") },
			"ValidationException", "1 validation error detected: Value 'a.b' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: " + sluice.FunctionNamePattern},
		{"name over 64", func(in *lambda.CreateFunctionInput) { in.FunctionName = aws.String(long) },
			"InvalidParameterValueException", "1 validation error detected: Value '" + long + "' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64"},
		{"qualified name", func(in *lambda.CreateFunctionInput) { in.FunctionName = aws.String("f:prod") },
			"InvalidParameterValueException", "The function name f:prod is qualified (:prod); CreateFunction takes an unqualified name"},
		{"other region", func(in *lambda.CreateFunctionInput) {
			in.FunctionName = aws.String("arn:aws:lambda:eu-west-1:123456789012:function:f")
		}, "ResourceNotFoundException", "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"},
		{"other account", func(in *lambda.CreateFunctionInput) {
			in.FunctionName = aws.String("arn:aws:lambda:us-east-1:210987654321:function:f")
		}, "AccessDeniedException", "User is not authorized to access function f in account 210987654321: sluice serves account 123456789012"},
		{"bad role", func(in *lambda.CreateFunctionInput) { in.Role = aws.String("admin") },
			"ValidationException", "1 validation error detected: Value 'admin' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: " + sluice.RolePattern},
		{"empty code", func(in *lambda.CreateFunctionInput) { in.Code = &types.FunctionCode{} },
			"InvalidParameterValueException", "Please provide a source for function code."},
		{"s3 code", func(in *lambda.CreateFunctionInput) {
			in.Code = &types.FunctionCode{S3Bucket: aws.String("b"), S3Key: aws.String("k")}
		}, "InvalidParameterValueException", msgOnlyZip},
		{"image code", func(in *lambda.CreateFunctionInput) {
			in.Code = &types.FunctionCode{ImageUri: aws.String("repo/img:1")}
		},
			"InvalidParameterValueException", msgOnlyZip},
		{"no runtime", func(in *lambda.CreateFunctionInput) { in.Runtime = "" },
			"InvalidParameterValueException", "Runtime and Handler are mandatory parameters for functions created with deployment packages."},
		{"no handler", func(in *lambda.CreateFunctionInput) { in.Handler = nil },
			"InvalidParameterValueException", "Runtime and Handler are mandatory parameters for functions created with deployment packages."},
		{"unsupported runtime", func(in *lambda.CreateFunctionInput) { in.Runtime = types.RuntimePython312 },
			"InvalidParameterValueException", "The runtime parameter of python3.12 is not supported by sluice; supported runtimes: provided.al2023, provided.al2, provided"},
		{"image package", func(in *lambda.CreateFunctionInput) { in.PackageType = types.PackageTypeImage },
			"InvalidParameterValueException", "The package type Image is not supported by sluice; only Zip packages are"},
		{"empty handler", func(in *lambda.CreateFunctionInput) { in.Handler = aws.String("") },
			"ValidationException", `1 validation error detected: Value '' at 'handler' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\s]+`},
		{"handler with space", func(in *lambda.CreateFunctionInput) { in.Handler = aws.String("a b") },
			"ValidationException", `1 validation error detected: Value 'a b' at 'handler' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\s]+`},
		{"long handler", func(in *lambda.CreateFunctionInput) { in.Handler = aws.String(strings.Repeat("h", 129)) },
			"ValidationException", "1 validation error detected: Value '" + strings.Repeat("h", 129) + "' at 'handler' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"long description", func(in *lambda.CreateFunctionInput) { in.Description = aws.String(strings.Repeat("d", 257)) },
			"ValidationException", "1 validation error detected: Value '" + strings.Repeat("d", 257) + "' at 'description' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{"timeout 0", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(0) },
			"ValidationException", "1 validation error detected: Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"timeout 901", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(901) },
			"ValidationException", "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900"},
		{"memory 127", func(in *lambda.CreateFunctionInput) { in.MemorySize = aws.Int32(127) },
			"ValidationException", "1 validation error detected: Value '127' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128"},
		{"memory 10241", func(in *lambda.CreateFunctionInput) { in.MemorySize = aws.Int32(10241) },
			"ValidationException", "1 validation error detected: Value '10241' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to 10240"},
		{"ephemeral 511", func(in *lambda.CreateFunctionInput) {
			in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(511)}
		},
			"ValidationException", "1 validation error detected: Value '511' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value greater than or equal to 512"},
		{"ephemeral 10241", func(in *lambda.CreateFunctionInput) {
			in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(10241)}
		},
			"ValidationException", "1 validation error detected: Value '10241' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value less than or equal to 10240"},
		{"two architectures", func(in *lambda.CreateFunctionInput) {
			in.Architectures = []types.Architecture{types.ArchitectureX8664, types.ArchitectureArm64}
		}, "ValidationException", "1 validation error detected: Value '[x86_64, arm64]' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1"},
		{"unknown architecture", func(in *lambda.CreateFunctionInput) { in.Architectures = []types.Architecture{"riscv64"} },
			"ValidationException", "1 validation error detected: Value '[riscv64]' at 'architectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]"},
		{"bad env key", func(in *lambda.CreateFunctionInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"1ABC": "x"}}
		}, "ValidationException", "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]"},
		{"one-letter env key", func(in *lambda.CreateFunctionInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"A": "x"}}
		}, "ValidationException", "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]"},
		{"reserved env keys", func(in *lambda.CreateFunctionInput) {
			in.Environment = &types.Environment{Variables: map[string]string{"AWS_REGION": "x", "LAMBDA_TASK_ROOT": "y", "MINE": "z"}}
		}, "InvalidParameterValueException", "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: AWS_REGION, LAMBDA_TASK_ROOT"},
		{"env over 4KB", func(in *lambda.CreateFunctionInput) { in.Environment = &types.Environment{Variables: bigEnv} },
			"InvalidParameterValueException", `Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {"BIG":"` + bigEnv["BIG"] + `"}`},
		{"several violations", func(in *lambda.CreateFunctionInput) {
			in.Timeout = aws.Int32(0)
			in.MemorySize = aws.Int32(64)
			in.Role = aws.String("x")
		}, "ValidationException", "3 validation errors detected: Value 'x' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: " + sluice.RolePattern + "; " +
			"Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
			"Value '64' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := createInput(t, "validated")
			tt.modify(in)
			_, err := e.client.CreateFunction(context.Background(), in)
			wantAPIError(t, err, tt.code, tt.msg)
			switch tt.code {
			case "InvalidParameterValueException":
				wantTyped[*types.InvalidParameterValueException](t, err)
			case "ResourceNotFoundException":
				wantTyped[*types.ResourceNotFoundException](t, err)
			}
		})
	}
	// Nothing was created, and no package was left behind.
	if _, err := e.client.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("validated")}); err == nil {
		t.Error("an invalid request created the function")
	}
	if st := e.codeStatus(sha256Hex(makeZip(t, "validated"))); st != http.StatusNotFound {
		t.Errorf("package of failed creates: GET status %d, want 404", st)
	}
}

// The env limit counts the compact JSON of the variables, as AWS measures
// them ({"BIG":"..."} is 10 bytes more than the value): 4096 bytes pass,
// 4097 do not (LocalStack's recordings of test_lambda_envvars_near_limit_succeeds
// and test_large_environment_variables_fails).
func TestCreateFunctionEnvironmentAtLimit(t *testing.T) {
	e := newEnv(t)
	in := createInput(t, "env-limit")
	in.Environment = &types.Environment{Variables: map[string]string{"BIG": strings.Repeat("x", 4086)}}
	if _, err := e.client.CreateFunction(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	in = createInput(t, "env-over")
	in.Environment = &types.Environment{Variables: map[string]string{"BIG": strings.Repeat("x", 4087)}}
	_, err := e.client.CreateFunction(context.Background(), in)
	wantAPIError(t, err, "InvalidParameterValueException", "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {\"BIG\":\"xxx...")
}

func TestGetFunction(t *testing.T) {
	e := newEnv(t)
	created := e.create("getme")
	ctx := context.Background()
	const arn = "arn:aws:lambda:us-east-1:123456789012:function:getme"
	// The deployment settled $LATEST after the create response: State,
	// LastUpdateStatus and RevisionId differ from it, the rest does not.
	var active *types.FunctionConfiguration
	for _, tt := range []struct{ name, arn string }{
		{"getme", arn},
		{"getme:$LATEST", arn + ":$LATEST"},
		{arn, arn},
		{arn + ":$LATEST", arn + ":$LATEST"},
		{"123456789012:function:getme", arn},
		{"function:getme", arn},
	} {
		out, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(tt.name)})
		if err != nil {
			t.Fatalf("GetFunction(%s): %v", tt.name, err)
		}
		c := out.Configuration
		if active == nil {
			active = c
		}
		if aws.ToString(c.RevisionId) == aws.ToString(created.RevisionId) || aws.ToString(c.RevisionId) != aws.ToString(active.RevisionId) ||
			aws.ToString(c.CodeSha256) != aws.ToString(created.CodeSha256) ||
			aws.ToString(c.LastModified) != aws.ToString(created.LastModified) ||
			c.State != types.StateActive || c.LastUpdateStatus != types.LastUpdateStatusSuccessful {
			t.Errorf("GetFunction(%s).Configuration: RevisionId %s (created %s), CodeSha256 %s, LastModified %s, State %s, LastUpdateStatus %s",
				tt.name, aws.ToString(c.RevisionId), aws.ToString(created.RevisionId), aws.ToString(c.CodeSha256),
				aws.ToString(c.LastModified), c.State, c.LastUpdateStatus)
		}
		if aws.ToString(c.FunctionArn) != tt.arn || aws.ToString(c.Version) != "$LATEST" {
			t.Errorf("GetFunction(%s): FunctionArn %s, Version %s; want %s, $LATEST", tt.name, aws.ToString(c.FunctionArn), aws.ToString(c.Version), tt.arn)
		}
		if aws.ToString(out.Code.RepositoryType) != "S3" {
			t.Errorf("RepositoryType = %q", aws.ToString(out.Code.RepositoryType))
		}
	}

	out, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("getme"), Qualifier: aws.String("$LATEST")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Configuration.FunctionArn) != arn+":$LATEST" {
		t.Errorf("GetFunction(getme, Qualifier $LATEST).FunctionArn = %s", aws.ToString(out.Configuration.FunctionArn))
	}
	loc := aws.ToString(out.Code.Location)
	if !strings.HasPrefix(loc, e.srv.URL+"/_sluice/code/") {
		t.Fatalf("Location = %q", loc)
	}
	resp, err := http.Get(loc) // no SigV4: the URL is signed, like a presigned URL
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, makeZip(t, "getme")) || resp.Header.Get("Content-Type") != "application/zip" {
		t.Errorf("GET Location: %d %s, %d bytes; want the package", resp.StatusCode, resp.Header.Get("Content-Type"), len(got))
	}

	cfg, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("getme")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(cfg.FunctionArn) != arn || aws.ToString(cfg.RevisionId) != aws.ToString(active.RevisionId) {
		t.Errorf("GetFunctionConfiguration = %s %s", aws.ToString(cfg.FunctionArn), aws.ToString(cfg.RevisionId))
	}
	cfg, err = e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("getme"), Qualifier: aws.String("$LATEST")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(cfg.FunctionArn) != arn+":$LATEST" {
		t.Errorf("GetFunctionConfiguration(getme, Qualifier $LATEST).FunctionArn = %s", aws.ToString(cfg.FunctionArn))
	}

	// A version and an alias: the ARN names them as the caller did, the
	// Version is the one they resolve to.
	pub, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("getme")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("getme"), Name: aws.String("live"), FunctionVersion: pub.Version}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, qualifier, arn string }{
		{"getme", "1", arn + ":1"},
		{"getme:1", "", arn + ":1"},
		{"getme", "live", arn + ":live"},
		{arn + ":live", "", arn + ":live"},
	} {
		var q *string
		if tt.qualifier != "" {
			q = aws.String(tt.qualifier)
		}
		out, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(tt.name), Qualifier: q})
		if err != nil {
			t.Fatalf("GetFunction(%s, %s): %v", tt.name, tt.qualifier, err)
		}
		cfg, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(tt.name), Qualifier: q})
		if err != nil {
			t.Fatalf("GetFunctionConfiguration(%s, %s): %v", tt.name, tt.qualifier, err)
		}
		for _, c := range []*types.FunctionConfiguration{out.Configuration, {FunctionArn: cfg.FunctionArn, Version: cfg.Version, RevisionId: cfg.RevisionId}} {
			if aws.ToString(c.FunctionArn) != tt.arn || aws.ToString(c.Version) != "1" || aws.ToString(c.RevisionId) != aws.ToString(pub.RevisionId) {
				t.Errorf("(%s, %s): FunctionArn %s, Version %s, RevisionId %s; want %s, 1, %s",
					tt.name, tt.qualifier, aws.ToString(c.FunctionArn), aws.ToString(c.Version), aws.ToString(c.RevisionId), tt.arn, aws.ToString(pub.RevisionId))
			}
		}
	}
}

func TestGetFunctionErrors(t *testing.T) {
	e := newEnv(t)
	e.create("exists")
	arn := "arn:aws:lambda:us-east-1:123456789012:function:"
	tests := []struct {
		name, fn, qualifier string
		code, msg           string
	}{
		{"unknown", "nope", "", "ResourceNotFoundException", "Function not found: " + arn + "nope"},
		{"unknown by ARN", arn + "nope", "", "ResourceNotFoundException", "Function not found: " + arn + "nope"},
		{"version", "exists", "1", "ResourceNotFoundException", "Function not found: " + arn + "exists:1"},
		{"alias in name", "exists:prod", "", "ResourceNotFoundException", "Function not found: " + arn + "exists:prod"},
		{"qualifier mismatch", "exists:$LATEST", "1", "InvalidParameterValueException", "The derived qualifier from the function name does not match the specified qualifier."},
		{"other region", "arn:aws:lambda:ap-southeast-1:123456789012:function:exists", "", "ResourceNotFoundException", "Functions from 'ap-southeast-1' are not reachable in this region ('us-east-1')"},
		{"other account", "arn:aws:lambda:us-east-1:210987654321:function:exists", "", "AccessDeniedException", ""},
		{"bad name", "my-function!", "", "ValidationException", "1 validation error detected: Value 'my-function!' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: " + sluice.NamespacedFunctionNamePattern},
		{"bad qualifier", "exists", "invalid!", "ValidationException", "1 validation error detected: Value 'invalid!' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: " + sluice.QualifierPattern},
		{"both bad", "my-function!", "invalid!", "ValidationException", "2 validation errors detected: Value 'invalid!' at 'qualifier' ..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q *string
			if tt.qualifier != "" {
				q = aws.String(tt.qualifier)
			}
			_, err := e.client.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(tt.fn), Qualifier: q})
			wantAPIError(t, err, tt.code, tt.msg)
			_, err = e.client.GetFunctionConfiguration(context.Background(), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(tt.fn), Qualifier: q})
			wantAPIError(t, err, tt.code, tt.msg)
			if tt.code == "ResourceNotFoundException" {
				wantTyped[*types.ResourceNotFoundException](t, err)
			}
		})
	}
}
