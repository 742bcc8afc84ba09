package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice"
)

func TestUpdateFunctionCode(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	created := e.create("coder")
	oldSHA := sha256Hex(makeZip(t, "coder"))

	zip := makeZip(t, "version two")
	out, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
		FunctionName:  aws.String("coder"),
		ZipFile:       zip,
		Architectures: []types.Architecture{types.ArchitectureArm64},
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(zip)
	if got := aws.ToString(out.CodeSha256); got != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("CodeSha256 = %s", got)
	}
	if out.CodeSize != int64(len(zip)) {
		t.Errorf("CodeSize = %d, want %d", out.CodeSize, len(zip))
	}
	if aws.ToString(out.RevisionId) == aws.ToString(created.RevisionId) {
		t.Error("RevisionId did not change")
	}
	if aws.ToString(out.LastModified) < aws.ToString(created.LastModified) {
		t.Errorf("LastModified went back: %s < %s", aws.ToString(out.LastModified), aws.ToString(created.LastModified))
	}
	if !slices.Equal(out.Architectures, []types.Architecture{types.ArchitectureArm64}) {
		t.Errorf("Architectures = %v", out.Architectures)
	}
	if out.State != types.StateActive || out.LastUpdateStatus != types.LastUpdateStatusSuccessful {
		t.Errorf("State/LastUpdateStatus = %s/%s", out.State, out.LastUpdateStatus)
	}
	if r := e.invoker.Retired(); !slices.Equal(r, []string{"coder"}) {
		t.Errorf("retired %v, want [coder]", r)
	}
	// The new package is served, the old one was collected.
	if st := e.codeStatus(sha256Hex(zip)); st != http.StatusOK {
		t.Errorf("new package: GET %d", st)
	}
	if st := e.codeStatus(oldSHA); st != http.StatusNotFound {
		t.Errorf("old package: GET %d, want 404", st)
	}
	got, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("coder")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.RevisionId) != aws.ToString(out.RevisionId) || aws.ToString(got.CodeSha256) != aws.ToString(out.CodeSha256) {
		t.Error("the update was not stored")
	}

	// The same code again is a new revision of the same package, which
	// stays.
	again, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
		FunctionName: aws.String("coder"), ZipFile: zip, RevisionId: out.RevisionId,
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(again.RevisionId) == aws.ToString(out.RevisionId) {
		t.Error("RevisionId did not change")
	}
	if st := e.codeStatus(sha256Hex(zip)); st != http.StatusOK {
		t.Errorf("package after same-code update: GET %d", st)
	}
}

func TestUpdateFunctionCodeDryRun(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	created := e.create("dry")
	zip := makeZip(t, "dry two")
	out, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("dry"), ZipFile: zip, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(zip)
	if aws.ToString(out.CodeSha256) != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("dry run CodeSha256 = %s", aws.ToString(out.CodeSha256))
	}
	got, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("dry")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.RevisionId) != aws.ToString(created.RevisionId) || aws.ToString(got.CodeSha256) != aws.ToString(created.CodeSha256) {
		t.Error("a dry run changed the function")
	}
	if st := e.codeStatus(sha256Hex(zip)); st != http.StatusNotFound {
		t.Errorf("dry-run package: GET %d, want 404 (not kept)", st)
	}
	if st := e.codeStatus(sha256Hex(makeZip(t, "dry"))); st != http.StatusOK {
		t.Errorf("current package: GET %d", st)
	}
	if r := e.invoker.Retired(); len(r) != 0 {
		t.Errorf("a dry run retired %v", r)
	}
	in := &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("dry"), ZipFile: []byte("junk"), DryRun: true}
	_, err = e.client.UpdateFunctionCode(ctx, in)
	wantTyped[*types.InvalidZipFileException](t, err)
}

func TestUpdateFunctionCodeErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("target")
	zip := makeZip(t, "new")
	tests := []struct {
		name string
		in   lambda.UpdateFunctionCodeInput
		code string
		msg  string
	}{
		{"no code", lambda.UpdateFunctionCodeInput{FunctionName: aws.String("target")},
			"InvalidParameterValueException", "Please provide a source for function code."},
		{"s3", lambda.UpdateFunctionCodeInput{FunctionName: aws.String("target"), S3Bucket: aws.String("b"), S3Key: aws.String("k")},
			"InvalidParameterValueException", "sluice accepts only Code.ZipFile for now: S3Bucket, S3Key, S3ObjectVersion and ImageUri are not supported"},
		{"publish", lambda.UpdateFunctionCodeInput{FunctionName: aws.String("target"), ZipFile: zip, Publish: true},
			"InvalidParameterValueException", "Publish is not supported yet..."},
		{"stale revision", lambda.UpdateFunctionCodeInput{FunctionName: aws.String("target"), ZipFile: zip, RevisionId: aws.String("00000000-0000-4000-8000-000000000000")},
			"PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"},
		{"bad zip", lambda.UpdateFunctionCodeInput{FunctionName: aws.String("target"), ZipFile: []byte("PK nope")},
			"InvalidZipFileException", ""},
		{"unknown function", lambda.UpdateFunctionCodeInput{FunctionName: aws.String("ghost"), ZipFile: zip},
			"ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:123456789012:function:ghost"},
		{"version", lambda.UpdateFunctionCodeInput{FunctionName: aws.String("target:1"), ZipFile: zip},
			"ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:123456789012:function:target:1"},
		{"two architectures", lambda.UpdateFunctionCodeInput{FunctionName: aws.String("target"), ZipFile: zip, Architectures: []types.Architecture{"arm64", "arm64"}},
			"ValidationException", "1 validation error detected: Value '[arm64, arm64]' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1"},
		{"dotted name", lambda.UpdateFunctionCodeInput{FunctionName: aws.String("a.b"), ZipFile: zip},
			"ValidationException", "1 validation error detected: Value 'a.b' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: " + sluice.FunctionNamePattern},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.UpdateFunctionCode(ctx, &tt.in)
			wantAPIError(t, err, tt.code, tt.msg)
			switch tt.code {
			case "PreconditionFailedException":
				wantTyped[*types.PreconditionFailedException](t, err)
			case "InvalidZipFileException":
				wantTyped[*types.InvalidZipFileException](t, err)
			case "InvalidParameterValueException":
				wantTyped[*types.InvalidParameterValueException](t, err)
			}
		})
	}
	if r := e.invoker.Retired(); len(r) != 0 {
		t.Errorf("failed updates retired %v", r)
	}
	if st := e.codeStatus(sha256Hex(zip)); st != http.StatusNotFound {
		t.Errorf("package of failed updates: GET %d, want 404", st)
	}
}

func TestUpdateFunctionConfiguration(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in := createInput(t, "configured")
	in.Environment = &types.Environment{Variables: map[string]string{"OLD": "1"}}
	in.Description = aws.String("before")
	created, err := e.client.CreateFunction(ctx, in)
	if err != nil {
		t.Fatal(err)
	}

	out, err := e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName:     aws.String("configured"),
		Timeout:          aws.Int32(60),
		MemorySize:       aws.Int32(1024),
		Environment:      &types.Environment{Variables: map[string]string{"NEW": "2"}},
		EphemeralStorage: &types.EphemeralStorage{Size: aws.Int32(2048)},
		Handler:          aws.String("other"),
		Runtime:          types.RuntimeProvided,
		Role:             aws.String("arn:aws:iam::123456789012:role/other"),
		RevisionId:       created.RevisionId,
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(out.Timeout) != 60 || aws.ToInt32(out.MemorySize) != 1024 || aws.ToInt32(out.EphemeralStorage.Size) != 2048 ||
		aws.ToString(out.Handler) != "other" || out.Runtime != types.RuntimeProvided || aws.ToString(out.Role) != "arn:aws:iam::123456789012:role/other" {
		t.Errorf("update not applied: %+v", out)
	}
	if aws.ToString(out.Description) != "before" {
		t.Errorf("Description = %q, want it kept", aws.ToString(out.Description))
	}
	if v := out.Environment.Variables; len(v) != 1 || v["NEW"] != "2" {
		t.Errorf("Environment = %v, want it replaced", v)
	}
	if aws.ToString(out.RevisionId) == aws.ToString(created.RevisionId) {
		t.Error("RevisionId did not change")
	}
	if aws.ToString(out.CodeSha256) != aws.ToString(created.CodeSha256) {
		t.Error("CodeSha256 changed")
	}
	if r := e.invoker.Retired(); !slices.Equal(r, []string{"configured"}) {
		t.Errorf("retired %v", r)
	}

	// {"Variables":{}} clears the environment.
	cleared, err := e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("configured"),
		Environment:  &types.Environment{Variables: map[string]string{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if cleared.Environment != nil {
		t.Errorf("Environment = %+v, want none", cleared.Environment)
	}
	got, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("configured")})
	if err != nil {
		t.Fatal(err)
	}
	if got.Environment != nil || aws.ToInt32(got.Timeout) != 60 || aws.ToString(got.RevisionId) != aws.ToString(cleared.RevisionId) {
		t.Errorf("stored configuration: %+v", got)
	}

	// The old revision is now stale.
	_, err = e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("configured"), Timeout: aws.Int32(5), RevisionId: created.RevisionId,
	})
	wantTyped[*types.PreconditionFailedException](t, err)
	wantAPIError(t, err, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
}

func TestUpdateFunctionConfigurationErrors(t *testing.T) {
	e := newEnv(t)
	e.create("cfg")
	tests := []struct {
		name string
		in   lambda.UpdateFunctionConfigurationInput
		code string
		msg  string
	}{
		{"timeout", lambda.UpdateFunctionConfigurationInput{Timeout: aws.Int32(0)},
			"ValidationException", "1 validation error detected: Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"memory and storage", lambda.UpdateFunctionConfigurationInput{MemorySize: aws.Int32(20000), EphemeralStorage: &types.EphemeralStorage{Size: aws.Int32(1)}},
			"ValidationException", "2 validation errors detected: Value '20000' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to 10240; Value '1' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value greater than or equal to 512"},
		{"role", lambda.UpdateFunctionConfigurationInput{Role: aws.String("nobody")},
			"ValidationException", "1 validation error detected: Value 'nobody' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: " + sluice.RolePattern},
		{"handler", lambda.UpdateFunctionConfigurationInput{Handler: aws.String("")},
			"ValidationException", `1 validation error detected: Value '' at 'handler' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\s]+`},
		{"description", lambda.UpdateFunctionConfigurationInput{Description: aws.String(strings.Repeat("x", 300))},
			"ValidationException", "1 validation error detected: Value '" + strings.Repeat("x", 300) + "' at 'description' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{"runtime", lambda.UpdateFunctionConfigurationInput{Runtime: types.RuntimeNodejs22x},
			"InvalidParameterValueException", "The runtime parameter of nodejs22.x is not supported by sluice; supported runtimes: provided.al2023, provided.al2, provided"},
		{"reserved env", lambda.UpdateFunctionConfigurationInput{Environment: &types.Environment{Variables: map[string]string{"AWS_LAMBDA_RUNTIME_API": "x"}}},
			"InvalidParameterValueException", "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: AWS_LAMBDA_RUNTIME_API"},
		{"big env", lambda.UpdateFunctionConfigurationInput{Environment: &types.Environment{Variables: map[string]string{"AB": strings.Repeat("x", 2048), "CD": strings.Repeat("y", 2048)}}},
			"InvalidParameterValueException", "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {\"AB\":\"xxx..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.FunctionName = aws.String("cfg")
			_, err := e.client.UpdateFunctionConfiguration(context.Background(), &tt.in)
			wantAPIError(t, err, tt.code, tt.msg)
		})
	}
	_, err := e.client.UpdateFunctionConfiguration(context.Background(), &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("ghost"), Timeout: aws.Int32(5)})
	wantTyped[*types.ResourceNotFoundException](t, err)
	wantAPIError(t, err, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:123456789012:function:ghost")
	if r := e.invoker.Retired(); len(r) != 0 {
		t.Errorf("failed updates retired %v", r)
	}
}

// racingStore makes every UpdateFunction lose against a concurrent writer.
type racingStore struct{ sluice.FunctionStore }

func (s racingStore) UpdateFunction(ctx context.Context, fn *sluice.Function, prev string) error {
	cur, err := s.GetFunction(ctx, fn.Name)
	if err != nil {
		return err
	}
	other := cur.Clone()
	other.RevisionID = sluice.NewRequestID()
	if err := s.FunctionStore.UpdateFunction(ctx, other, cur.RevisionID); err != nil {
		return err
	}
	return s.FunctionStore.UpdateFunction(ctx, fn, prev)
}

func TestUpdateLosesRace(t *testing.T) {
	e := newEnv(t, withStore(func(s sluice.FunctionStore) sluice.FunctionStore { return racingStore{s} }))
	ctx := context.Background()
	created := e.create("contended")

	_, err := e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("contended"), Timeout: aws.Int32(9)})
	wantTyped[*types.ResourceConflictException](t, err)
	wantAPIError(t, err, "ResourceConflictException", "The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:contended")

	cur, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("contended")})
	if err != nil {
		t.Fatal(err)
	}
	zip := makeZip(t, "contended two")
	_, err = e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("contended"), ZipFile: zip, RevisionId: cur.RevisionId})
	wantTyped[*types.PreconditionFailedException](t, err)
	if st := e.codeStatus(sha256Hex(zip)); st != http.StatusNotFound {
		t.Errorf("package of the lost update: GET %d, want 404", st)
	}
	if st := e.codeStatus(sha256Hex(makeZip(t, "contended"))); st != http.StatusOK {
		t.Errorf("current package: GET %d, want 200", st)
	}
	if aws.ToString(created.RevisionId) == aws.ToString(cur.RevisionId) {
		t.Error("the racing writer did not write")
	}
	if r := e.invoker.Retired(); len(r) != 0 {
		t.Errorf("lost updates retired %v", r)
	}
}

// failingStore fails every read with an error that is not a sluice.Error.
type failingStore struct{ sluice.FunctionStore }

var errDisk = errors.New("disk on fire at /secret/path")

func (failingStore) GetFunction(context.Context, string) (*sluice.Function, error) {
	return nil, errDisk
}

func TestInternalErrorIsGeneric(t *testing.T) {
	e := newEnv(t, withStore(func(s sluice.FunctionStore) sluice.FunctionStore { return failingStore{s} }))
	_, err := e.client.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("any")})
	wantTyped[*types.ServiceException](t, err)
	wantAPIError(t, err, "ServiceException", "An internal error occurred.")
	if !strings.Contains(e.logs.String(), "disk on fire") {
		t.Errorf("the cause is not in the log:\n%s", e.logs.String())
	}
}
