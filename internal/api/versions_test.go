package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sluice-dev/sluice/internal/service"
)

// Shared helpers of versions_test.go, aliases_test.go, concurrency_test.go
// and states_test.go. They take the testing.TB of the (sub)test that calls
// them, unlike the env methods, so that they can be used in subtests.

// fnARNPrefix is the unqualified ARN of a function without its name.
const fnARNPrefix = "arn:aws:lambda:us-east-1:123456789012:function:"

// msgRevisionMismatch is Lambda's PreconditionFailedException text.
const msgRevisionMismatch = "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"

// msgUpdateInProgress is Lambda's conflict message for a change during an
// update of the named function.
func msgUpdateInProgress(name string) string {
	return "The operation cannot be performed at this time. An update is in progress for resource: " + fnARNPrefix + name
}

// withWrappedCode wraps the deployment package store the server uses.
func withWrappedCode(wrap func(service.CodeStore) service.CodeStore) envOption {
	return func(c *service.Config) { c.Code = wrap(c.Code) }
}

// holdGate is a CodeStore that can hold every Dir call (the unpacking step
// of a deployment) until the test opens it again; it delegates everything
// to the real *artifacts.Store.
type holdGate struct {
	service.CodeStore
	mu   sync.Mutex
	hold chan struct{} // nil while open
	// entered receives the sha of each Dir call that the gate holds.
	entered chan string
}

func (g *holdGate) Dir(sha string) (string, error) {
	g.mu.Lock()
	hold := g.hold
	g.mu.Unlock()
	if hold != nil {
		select {
		case g.entered <- sha:
		default:
		}
		<-hold
	}
	return g.CodeStore.Dir(sha)
}

// shut makes later Dir calls wait until open.
func (g *holdGate) shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.hold == nil {
		g.hold = make(chan struct{})
	}
}

// open releases the held Dir calls and lets the later ones through.
func (g *holdGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.hold != nil {
		close(g.hold)
		g.hold = nil
	}
}

// waitHeld waits until a deployment is held in Dir and returns its sha.
func (g *holdGate) waitHeld(t testing.TB) string {
	t.Helper()
	select {
	case sha := <-g.entered:
		return sha
	case <-time.After(30 * time.Second):
		t.Fatal("no deployment reached the code gate")
		return ""
	}
}

// newHoldEnv returns an env whose deployments the returned gate can hold.
// The gate is opened at cleanup, before the server waits for deployments.
func newHoldEnv(t *testing.T) (*env, *holdGate) {
	t.Helper()
	g := &holdGate{entered: make(chan string, 64)}
	e := newEnv(t, withWrappedCode(func(c service.CodeStore) service.CodeStore {
		g.CodeStore = c
		return g
	}))
	t.Cleanup(g.open) // runs before e.svc.Close, registered earlier
	return e, g
}

// wantLambdaFailure checks that err is the Lambda error code with the HTTP
// status and message: the SDK's typed error where the model has one, the
// smithy.APIError code, the status of the HTTP response, and the message
// (exact; "x..." is a prefix, "...x" a suffix, "...x..." a substring; ""
// accepts any).
func wantLambdaFailure(t testing.TB, err error, status int, code, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("call succeeded, want %d %s %q", status, code, msg)
	}
	typed := true
	switch code {
	case "ResourceNotFoundException":
		typed = errors.As(err, new(*types.ResourceNotFoundException))
	case "ResourceConflictException":
		typed = errors.As(err, new(*types.ResourceConflictException))
	case "InvalidParameterValueException":
		typed = errors.As(err, new(*types.InvalidParameterValueException))
	case "PreconditionFailedException":
		typed = errors.As(err, new(*types.PreconditionFailedException))
	case "TooManyRequestsException":
		typed = errors.As(err, new(*types.TooManyRequestsException))
	}
	if !typed {
		t.Errorf("error %v (%T) is not the SDK's %s", err, err, code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error = %v (%T), want API error %s", err, err, code)
	}
	if ae.ErrorCode() != code {
		t.Errorf("error code = %s (%v), want %s", ae.ErrorCode(), err, code)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Errorf("error %v carries no HTTP response", err)
	} else if got := re.HTTPStatusCode(); got != status {
		t.Errorf("HTTP status = %d, want %d (%s)", got, status, code)
	}
	if !lambdaMessageMatches(ae.ErrorMessage(), msg) {
		t.Errorf("message = %q,\nwant      %q", ae.ErrorMessage(), msg)
	}
}

func lambdaMessageMatches(got, want string) bool {
	pre, suf := strings.HasPrefix(want, "..."), strings.HasSuffix(want, "...")
	core := strings.TrimSuffix(strings.TrimPrefix(want, "..."), "...")
	switch {
	case want == "":
		return true
	case pre && suf:
		return strings.Contains(got, core)
	case suf:
		return strings.HasPrefix(got, core)
	case pre:
		return strings.HasSuffix(got, core)
	}
	return got == want
}

// successStatus returns the HTTP status of a successful SDK call.
func successStatus(t testing.TB, md middleware.Metadata) int {
	t.Helper()
	resp, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response)
	if !ok {
		t.Fatal("no raw HTTP response in the result metadata")
	}
	return resp.StatusCode
}

// signedRaw sends a signed request with an optional JSON body and returns
// the status and the response body.
func signedRaw(t testing.TB, e *env, method, path string, body ...byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, sha256Hex(body), "lambda", testRegion, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// jsonObject decodes a JSON object body.
func jsonObject(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return m
}

// publishOrFail publishes a version of name or fails the test.
func publishOrFail(t testing.TB, e *env, name, description string) *lambda.PublishVersionOutput {
	t.Helper()
	in := &lambda.PublishVersionInput{FunctionName: aws.String(name)}
	if description != "" {
		in.Description = aws.String(description)
	}
	out, err := e.client.PublishVersion(context.Background(), in)
	if err != nil {
		t.Fatalf("PublishVersion(%s): %v", name, err)
	}
	return out
}

// setTimeoutOrFail changes the Timeout of $LATEST (a configuration change, which
// Lambda applies at once) or fails the test.
func setTimeoutOrFail(t testing.TB, e *env, name string, timeout int32) *lambda.UpdateFunctionConfigurationOutput {
	t.Helper()
	out, err := e.client.UpdateFunctionConfiguration(context.Background(), &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(name), Timeout: aws.Int32(timeout),
	})
	if err != nil {
		t.Fatalf("UpdateFunctionConfiguration(%s): %v", name, err)
	}
	e.waitUpdated(name)
	return out
}

// configOrFail returns GetFunctionConfiguration of name and qualifier ("" for
// none) or fails the test.
func configOrFail(t testing.TB, e *env, name, qualifier string) *lambda.GetFunctionConfigurationOutput {
	t.Helper()
	in := &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)}
	if qualifier != "" {
		in.Qualifier = aws.String(qualifier)
	}
	out, err := e.client.GetFunctionConfiguration(context.Background(), in)
	if err != nil {
		t.Fatalf("GetFunctionConfiguration(%s, %q): %v", name, qualifier, err)
	}
	return out
}

// listedVersions lists all versions of name in one call, as "Version ARN".
func listedVersions(t testing.TB, e *env, name string) []string {
	t.Helper()
	out, err := e.client.ListVersionsByFunction(context.Background(), &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatalf("ListVersionsByFunction(%s): %v", name, err)
	}
	var got []string
	for _, v := range out.Versions {
		got = append(got, aws.ToString(v.Version)+" "+aws.ToString(v.FunctionArn))
	}
	return got
}

// wireSHA is the CodeSha256 of a package as the API shows it.
func wireSHA(t testing.TB, zip []byte) string {
	t.Helper()
	sum := sha256.Sum256(zip)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func TestPublishVersion(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	created := e.create("pub")
	latest := configOrFail(t, e, "pub", "")

	v1, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("pub"), Description: aws.String("first release")})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("first version", func(t *testing.T) {
		if st := successStatus(t, v1.ResultMetadata); st != http.StatusCreated {
			t.Errorf("status = %d, want 201", st)
		}
		if aws.ToString(v1.Version) != "1" {
			t.Errorf("Version = %q, want 1", aws.ToString(v1.Version))
		}
		if got := aws.ToString(v1.FunctionArn); got != fnARNPrefix+"pub:1" {
			t.Errorf("FunctionArn = %q", got)
		}
		if v1.State != types.StateActive {
			t.Errorf("State = %q, want Active", v1.State)
		}
		if v1.LastUpdateStatus != types.LastUpdateStatusSuccessful {
			t.Errorf("LastUpdateStatus = %q, want Successful", v1.LastUpdateStatus)
		}
		if r := aws.ToString(v1.RevisionId); r == "" || r == aws.ToString(latest.RevisionId) || r == aws.ToString(created.RevisionId) {
			t.Errorf("RevisionId = %q, want its own (latest has %q)", r, aws.ToString(latest.RevisionId))
		}
		if aws.ToString(v1.CodeSha256) != aws.ToString(created.CodeSha256) || aws.ToString(v1.CodeSha256) != wireSHA(t, makeZip(t, "pub")) {
			t.Errorf("CodeSha256 = %q, want %q", aws.ToString(v1.CodeSha256), aws.ToString(created.CodeSha256))
		}
		if aws.ToString(v1.Description) != "first release" {
			t.Errorf("Description = %q", aws.ToString(v1.Description))
		}
		if aws.ToInt32(v1.Timeout) != aws.ToInt32(latest.Timeout) || aws.ToString(v1.Handler) != "bootstrap" {
			t.Errorf("Timeout/Handler = %d/%s, want $LATEST's", aws.ToInt32(v1.Timeout), aws.ToString(v1.Handler))
		}
		if got := configOrFail(t, e, "pub", "1"); aws.ToString(got.RevisionId) != aws.ToString(v1.RevisionId) || aws.ToString(got.Description) != "first release" {
			t.Errorf("stored version: RevisionId %q, Description %q", aws.ToString(got.RevisionId), aws.ToString(got.Description))
		}
	})

	t.Run("unchanged returns the newest version", func(t *testing.T) {
		again, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("pub")})
		if err != nil {
			t.Fatal(err)
		}
		if st := successStatus(t, again.ResultMetadata); st != http.StatusCreated {
			t.Errorf("status = %d, want 201", st)
		}
		if aws.ToString(again.Version) != "1" || aws.ToString(again.RevisionId) != aws.ToString(v1.RevisionId) {
			t.Errorf("republish = version %q rev %q, want 1 %q", aws.ToString(again.Version), aws.ToString(again.RevisionId), aws.ToString(v1.RevisionId))
		}
		if got := listedVersions(t, e, "pub"); len(got) != 2 {
			t.Errorf("versions = %q, want $LATEST and 1", got)
		}
	})

	t.Run("another Description of the version alone publishes nothing", func(t *testing.T) {
		again := publishOrFail(t, e, "pub", "another description")
		if aws.ToString(again.Version) != "1" || aws.ToString(again.Description) != "first release" {
			t.Errorf("republish with a Description = version %q Description %q, want 1 %q", aws.ToString(again.Version), aws.ToString(again.Description), "first release")
		}
	})

	var v2 *lambda.PublishVersionOutput
	t.Run("after a configuration change", func(t *testing.T) {
		_, err := e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String("pub"),
			Timeout:      aws.Int32(10),
			Environment:  &types.Environment{Variables: map[string]string{"STAGE": "two"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		e.waitUpdated("pub")
		v2 = publishOrFail(t, e, "pub", "")
		if aws.ToString(v2.Version) != "2" || aws.ToString(v2.FunctionArn) != fnARNPrefix+"pub:2" {
			t.Errorf("Version %q ARN %q, want 2", aws.ToString(v2.Version), aws.ToString(v2.FunctionArn))
		}
		if aws.ToString(v2.RevisionId) == aws.ToString(v1.RevisionId) {
			t.Error("version 2 has the RevisionId of version 1")
		}
		if aws.ToInt32(v2.Timeout) != 10 || v2.Environment == nil || v2.Environment.Variables["STAGE"] != "two" {
			t.Errorf("version 2: Timeout %d, Environment %+v", aws.ToInt32(v2.Timeout), v2.Environment)
		}
		if aws.ToString(v2.Description) != "" {
			t.Errorf("Description = %q, want $LATEST's (empty)", aws.ToString(v2.Description))
		}
	})
	if v2 == nil {
		t.FailNow()
	}

	t.Run("versions keep their code and configuration", func(t *testing.T) {
		newZip := makeZip(t, "pub three")
		if _, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("pub"), ZipFile: newZip}); err != nil {
			t.Fatal(err)
		}
		e.waitUpdated("pub")
		if _, err := e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String("pub"),
			Timeout:      aws.Int32(20),
			Environment:  &types.Environment{Variables: map[string]string{"STAGE": "three"}},
		}); err != nil {
			t.Fatal(err)
		}
		e.waitUpdated("pub")
		oldSHA := aws.ToString(created.CodeSha256)
		c1 := configOrFail(t, e, "pub", "1")
		if aws.ToString(c1.CodeSha256) != oldSHA || aws.ToInt32(c1.Timeout) != aws.ToInt32(latest.Timeout) || c1.Environment != nil {
			t.Errorf("version 1 changed: sha %s timeout %d env %+v", aws.ToString(c1.CodeSha256), aws.ToInt32(c1.Timeout), c1.Environment)
		}
		if aws.ToString(c1.RevisionId) != aws.ToString(v1.RevisionId) || aws.ToString(c1.Version) != "1" {
			t.Errorf("version 1: RevisionId %q Version %q", aws.ToString(c1.RevisionId), aws.ToString(c1.Version))
		}
		c2 := configOrFail(t, e, "pub", "2")
		if aws.ToString(c2.CodeSha256) != oldSHA || aws.ToInt32(c2.Timeout) != 10 || c2.Environment == nil || c2.Environment.Variables["STAGE"] != "two" {
			t.Errorf("version 2 changed: sha %s timeout %d env %+v", aws.ToString(c2.CodeSha256), aws.ToInt32(c2.Timeout), c2.Environment)
		}
		cl := configOrFail(t, e, "pub", "")
		if aws.ToString(cl.CodeSha256) != wireSHA(t, newZip) || aws.ToInt32(cl.Timeout) != 20 {
			t.Errorf("$LATEST: sha %s timeout %d", aws.ToString(cl.CodeSha256), aws.ToInt32(cl.Timeout))
		}
		// The package of version 1 is still served.
		g, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("pub"), Qualifier: aws.String("1")})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(aws.ToString(g.Code.Location))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, makeZip(t, "pub")) {
			t.Errorf("version 1 Code.Location: %d, %d bytes; want its package", resp.StatusCode, len(body))
		}

		v3 := publishOrFail(t, e, "pub", "")
		if aws.ToString(v3.Version) != "3" || aws.ToString(v3.CodeSha256) != wireSHA(t, newZip) || aws.ToInt32(v3.Timeout) != 20 {
			t.Errorf("version 3: %q sha %s timeout %d", aws.ToString(v3.Version), aws.ToString(v3.CodeSha256), aws.ToInt32(v3.Timeout))
		}
	})
}

// Lambda publishes a new version after any change of $LATEST's
// configuration, its Description alone included (recorded: LocalStack
// snapshot test_version_lifecycle), and then returns it again while
// nothing changes.
func TestPublishVersionAfterDescriptionChange(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("desc")
	if v := publishOrFail(t, e, "desc", "one"); aws.ToString(v.Version) != "1" {
		t.Fatalf("first publish: version %q", aws.ToString(v.Version))
	}
	if _, err := e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("desc"), Description: aws.String("changed"),
	}); err != nil {
		t.Fatal(err)
	}
	e.waitUpdated("desc")
	v2 := publishOrFail(t, e, "desc", "")
	if aws.ToString(v2.Version) != "2" || aws.ToString(v2.Description) != "changed" {
		t.Errorf("after a Description change: version %q Description %q, want 2 %q", aws.ToString(v2.Version), aws.ToString(v2.Description), "changed")
	}
	if again := publishOrFail(t, e, "desc", "three"); aws.ToString(again.Version) != "2" || aws.ToString(again.RevisionId) != aws.ToString(v2.RevisionId) {
		t.Errorf("unchanged since: version %q RevisionId %q, want 2 %q", aws.ToString(again.Version), aws.ToString(again.RevisionId), aws.ToString(v2.RevisionId))
	}
}

// Lambda gives $LATEST a new RevisionId when a version is published from
// it (recorded: LocalStack snapshot test_function_revisions_version_and_alias,
// "publish_version changes the revision id of $LATEST"); CreateAlias does
// not change it.
func TestPublishVersionChangesLatestRevisionID(t *testing.T) {
	e := newEnv(t)
	e.create("rev")
	before := configOrFail(t, e, "rev", "")
	v := publishOrFail(t, e, "rev", "")
	after := configOrFail(t, e, "rev", "")
	if aws.ToString(after.RevisionId) == aws.ToString(before.RevisionId) {
		t.Errorf("$LATEST RevisionId %q unchanged by PublishVersion, want a new one", aws.ToString(after.RevisionId))
	}
	if aws.ToString(after.RevisionId) == aws.ToString(v.RevisionId) {
		t.Error("$LATEST shares the RevisionId of version 1")
	}
}

func TestPublishVersionErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("perr")
	cur := configOrFail(t, e, "perr", "")
	sha := aws.ToString(cur.CodeSha256)

	tests := []struct {
		name   string
		in     *lambda.PublishVersionInput
		status int
		code   string
		msg    string
	}{
		{"revision mismatch", &lambda.PublishVersionInput{FunctionName: aws.String("perr"), RevisionId: aws.String("00000000-0000-0000-0000-000000000000")},
			412, "PreconditionFailedException", msgRevisionMismatch},
		{"code sha mismatch", &lambda.PublishVersionInput{FunctionName: aws.String("perr"), CodeSha256: aws.String("bm90IHRoZSBzaGE=")},
			400, "InvalidParameterValueException", "CodeSHA256 (bm90IHRoZSBzaGE=) is different from current CodeSHA256 in $LATEST (" + sha + "). Please try again with the CodeSHA256 in $LATEST."},
		{"missing function", &lambda.PublishVersionInput{FunctionName: aws.String("ghost")},
			404, "ResourceNotFoundException", "Function not found: " + fnARNPrefix + "ghost"},
		{"missing function by ARN", &lambda.PublishVersionInput{FunctionName: aws.String(fnARNPrefix + "ghost")},
			404, "ResourceNotFoundException", "Function not found: " + fnARNPrefix + "ghost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.PublishVersion(ctx, tt.in)
			wantLambdaFailure(t, err, tt.status, tt.code, tt.msg)
		})
	}
	if got := listedVersions(t, e, "perr"); len(got) != 1 {
		t.Errorf("failed publishes left versions %q", got)
	}

	t.Run("matching revision and sha", func(t *testing.T) {
		out, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{
			FunctionName: aws.String("perr"), RevisionId: cur.RevisionId, CodeSha256: aws.String(sha),
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.Version) != "1" {
			t.Errorf("Version = %q", aws.ToString(out.Version))
		}
	})
}

// A version cannot be published while $LATEST is being deployed.
func TestPublishVersionDuringUpdate(t *testing.T) {
	e, gate := newHoldEnv(t)
	ctx := context.Background()
	e.create("busy")

	gate.shut()
	newZip := makeZip(t, "busy two")
	if _, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("busy"), ZipFile: newZip}); err != nil {
		t.Fatal(err)
	}
	gate.waitHeld(t)
	_, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("busy")})
	wantLambdaFailure(t, err, 409, "ResourceConflictException", msgUpdateInProgress("busy"))
	if got := listedVersions(t, e, "busy"); len(got) != 1 {
		t.Errorf("versions during the update = %q, want only $LATEST", got)
	}

	gate.open()
	e.waitUpdated("busy")
	v := publishOrFail(t, e, "busy", "")
	if aws.ToString(v.Version) != "1" || aws.ToString(v.CodeSha256) != wireSHA(t, newZip) {
		t.Errorf("after the update: version %q sha %s, want 1 with the new code", aws.ToString(v.Version), aws.ToString(v.CodeSha256))
	}
}

// Version numbers are never reused, even after the newest was deleted.
func TestPublishVersionNumbersNotReused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("num")
	publishOrFail(t, e, "num", "")
	setTimeoutOrFail(t, e, "num", 11)
	if v := publishOrFail(t, e, "num", ""); aws.ToString(v.Version) != "2" {
		t.Fatalf("second version = %q", aws.ToString(v.Version))
	}
	out, err := e.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("num"), Qualifier: aws.String("2")})
	if err != nil {
		t.Fatal(err)
	}
	if st := successStatus(t, out.ResultMetadata); st != http.StatusNoContent {
		t.Errorf("DeleteFunction(num:2) status = %d, want 204", st)
	}
	setTimeoutOrFail(t, e, "num", 12)
	if v := publishOrFail(t, e, "num", ""); aws.ToString(v.Version) != "3" {
		t.Errorf("version after deleting 2 = %q, want 3", aws.ToString(v.Version))
	}
	want := []string{"$LATEST " + fnARNPrefix + "num:$LATEST", "1 " + fnARNPrefix + "num:1", "3 " + fnARNPrefix + "num:3"}
	if got := listedVersions(t, e, "num"); !slices.Equal(got, want) {
		t.Errorf("versions = %q, want %q", got, want)
	}
}

func TestListVersionsByFunction(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("lv")
	revs := map[string]string{}
	for i := range 3 {
		if i > 0 {
			setTimeoutOrFail(t, e, "lv", int32(10+i))
		}
		v := publishOrFail(t, e, "lv", "")
		revs[aws.ToString(v.Version)] = aws.ToString(v.RevisionId)
	}
	latest := configOrFail(t, e, "lv", "")
	revs["$LATEST"] = aws.ToString(latest.RevisionId)
	wantOrder := []string{"$LATEST", "1", "2", "3"}

	t.Run("all", func(t *testing.T) {
		out, err := e.client.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("lv")})
		if err != nil {
			t.Fatal(err)
		}
		if st := successStatus(t, out.ResultMetadata); st != http.StatusOK {
			t.Errorf("status = %d", st)
		}
		var got []string
		for _, v := range out.Versions {
			ver := aws.ToString(v.Version)
			got = append(got, ver)
			if arn := aws.ToString(v.FunctionArn); arn != fnARNPrefix+"lv:"+ver {
				t.Errorf("version %s: FunctionArn = %q, want %q", ver, arn, fnARNPrefix+"lv:"+ver)
			}
			if aws.ToString(v.RevisionId) != revs[ver] {
				t.Errorf("version %s: RevisionId = %q, want %q", ver, aws.ToString(v.RevisionId), revs[ver])
			}
		}
		if !slices.Equal(got, wantOrder) {
			t.Errorf("versions = %q, want %q", got, wantOrder)
		}
		// Lambda's list items have no state, update status or
		// RuntimeVersionConfig (recorded: test_publish_version_on_create)
		for _, item := range listedRaw(t, e, "/2015-03-31/functions/lv/versions")["Versions"].([]any) {
			for _, k := range []string{"State", "StateReason", "LastUpdateStatus", "RuntimeVersionConfig"} {
				if v, ok := item.(map[string]any)[k]; ok {
					t.Errorf("list item %v has %s: %v", item.(map[string]any)["Version"], k, v)
				}
			}
		}
		if out.NextMarker != nil {
			t.Errorf("NextMarker = %q on a complete list", aws.ToString(out.NextMarker))
		}
	})

	for _, size := range []int32{1, 2, 3} {
		t.Run(fmt.Sprint("paging by ", size), func(t *testing.T) {
			var got []string
			var marker *string
			for pages := 0; ; pages++ {
				if pages > 10 {
					t.Fatalf("no end after %d pages: %q", pages, got)
				}
				out, err := e.client.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{
					FunctionName: aws.String("lv"), MaxItems: aws.Int32(size), Marker: marker,
				})
				if err != nil {
					t.Fatal(err)
				}
				if len(out.Versions) > int(size) || len(out.Versions) == 0 {
					t.Errorf("page %d has %d items, MaxItems %d", pages, len(out.Versions), size)
				}
				for _, v := range out.Versions {
					got = append(got, aws.ToString(v.Version))
				}
				if out.NextMarker == nil {
					break
				}
				marker = out.NextMarker
			}
			if !slices.Equal(got, wantOrder) {
				t.Errorf("paged versions = %q, want each of %q once", got, wantOrder)
			}
		})
	}

	errs := []struct {
		name   string
		in     *lambda.ListVersionsByFunctionInput
		status int
		code   string
		msg    string
	}{
		{"bad marker", &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("lv"), Marker: aws.String("!!not-a-marker!!")},
			400, "InvalidParameterValueException", ""},
		{"marker of no version", &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("lv"), Marker: aws.String(base64.RawURLEncoding.EncodeToString([]byte("abc")))},
			400, "InvalidParameterValueException", ""},
		{"MaxItems 0", &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("lv"), MaxItems: aws.Int32(0)},
			400, "ValidationException", "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"MaxItems 10001", &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("lv"), MaxItems: aws.Int32(10001)},
			400, "ValidationException", "1 validation error detected: Value '10001' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 10000"},
		{"missing function", &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("ghost")},
			404, "ResourceNotFoundException", "Function not found: " + fnARNPrefix + "ghost"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.ListVersionsByFunction(ctx, tt.in)
			wantLambdaFailure(t, err, tt.status, tt.code, tt.msg)
		})
	}
}

// TestQualifiedRead covers GetFunction and GetFunctionConfiguration with
// every way of naming a version or an alias.
func TestQualifiedRead(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("q")
	v1 := publishOrFail(t, e, "q", "one")
	setTimeoutOrFail(t, e, "q", 9)
	v2 := publishOrFail(t, e, "q", "")
	if _, err := e.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("q"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	latest := configOrFail(t, e, "q", "")

	type want struct {
		arn, version, revision string
		timeout                int32
	}
	w1 := want{fnARNPrefix + "q:1", "1", aws.ToString(v1.RevisionId), aws.ToInt32(v1.Timeout)}
	w2 := want{fnARNPrefix + "q:2", "2", aws.ToString(v2.RevisionId), 9}
	live := w1
	live.arn = fnARNPrefix + "q:live"
	tests := []struct {
		fn, qualifier string
		want          want
	}{
		{"q", "1", w1},
		{"q", "2", w2},
		{"q:1", "", w1},
		{"q:1", "1", w1},
		{fnARNPrefix + "q:1", "", w1},
		{fnARNPrefix + "q", "2", w2},
		{"123456789012:function:q:2", "", w2},
		{"123456789012:function:q", "1", w1},
		{"q", "$LATEST", want{fnARNPrefix + "q:$LATEST", "$LATEST", aws.ToString(latest.RevisionId), 9}},
		{"q", "live", live},
		{"q:live", "", live},
		{fnARNPrefix + "q:live", "", live},
		{fnARNPrefix + "q", "live", live},
	}
	for _, tt := range tests {
		t.Run(tt.fn+" "+tt.qualifier, func(t *testing.T) {
			var q *string
			if tt.qualifier != "" {
				q = aws.String(tt.qualifier)
			}
			check := func(op string, c *types.FunctionConfiguration) {
				t.Helper()
				if got := aws.ToString(c.FunctionArn); got != tt.want.arn {
					t.Errorf("%s: FunctionArn = %q, want %q", op, got, tt.want.arn)
				}
				if got := aws.ToString(c.Version); got != tt.want.version {
					t.Errorf("%s: Version = %q, want %q", op, got, tt.want.version)
				}
				if got := aws.ToString(c.RevisionId); got != tt.want.revision {
					t.Errorf("%s: RevisionId = %q, want %q (the version's)", op, got, tt.want.revision)
				}
				if got := aws.ToInt32(c.Timeout); got != tt.want.timeout {
					t.Errorf("%s: Timeout = %d, want %d", op, got, tt.want.timeout)
				}
				if aws.ToString(c.FunctionName) != "q" {
					t.Errorf("%s: FunctionName = %q", op, aws.ToString(c.FunctionName))
				}
			}
			g, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(tt.fn), Qualifier: q})
			if err != nil {
				t.Fatalf("GetFunction: %v", err)
			}
			check("GetFunction", g.Configuration)
			c, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(tt.fn), Qualifier: q})
			if err != nil {
				t.Fatalf("GetFunctionConfiguration: %v", err)
			}
			check("GetFunctionConfiguration", &types.FunctionConfiguration{
				FunctionArn: c.FunctionArn, Version: c.Version, RevisionId: c.RevisionId, Timeout: c.Timeout, FunctionName: c.FunctionName,
			})
		})
	}

	errs := []struct {
		name, fn, qualifier string
		status              int
		code, msg           string
	}{
		{"missing version", "q", "7", 404, "ResourceNotFoundException", "Function not found: " + fnARNPrefix + "q:7"},
		{"missing version in name", "q:7", "", 404, "ResourceNotFoundException", "Function not found: " + fnARNPrefix + "q:7"},
		{"missing alias", "q", "nope", 404, "ResourceNotFoundException", "Function not found: " + fnARNPrefix + "q:nope"},
		{"missing alias in ARN", fnARNPrefix + "q:nope", "", 404, "ResourceNotFoundException", "Function not found: " + fnARNPrefix + "q:nope"},
		{"missing function, version", "ghost", "1", 404, "ResourceNotFoundException", "Function not found: " + fnARNPrefix + "ghost:1"},
		{"conflicting qualifiers", "q:1", "2", 400, "InvalidParameterValueException", "The derived qualifier from the function name does not match the specified qualifier."},
		{"conflicting alias and version", fnARNPrefix + "q:live", "1", 400, "InvalidParameterValueException", "The derived qualifier from the function name does not match the specified qualifier."},
		{"other region", "arn:aws:lambda:eu-west-1:123456789012:function:q:1", "", 404, "ResourceNotFoundException", "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"},
		{"other account", "arn:aws:lambda:us-east-1:210987654321:function:q:1", "", 403, "AccessDeniedException", ""},
		{"invalid qualifier", "q", "bad!", 400, "ValidationException", "1 validation error detected: Value 'bad!' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ..."},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			var q *string
			if tt.qualifier != "" {
				q = aws.String(tt.qualifier)
			}
			_, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(tt.fn), Qualifier: q})
			wantLambdaFailure(t, err, tt.status, tt.code, tt.msg)
			_, err = e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(tt.fn), Qualifier: q})
			wantLambdaFailure(t, err, tt.status, tt.code, tt.msg)
		})
	}
}

// TestQualifiedDelete covers DeleteFunction with a qualifier: a version is
// deleted alone; $LATEST and aliases cannot be; a version an alias uses
// neither.
func TestQualifiedDelete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("d")
	for i := range 3 {
		if i > 0 {
			setTimeoutOrFail(t, e, "d", int32(20+i))
		}
		publishOrFail(t, e, "d", "")
	}
	if _, err := e.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("d"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	del := func(fn, qualifier string) error {
		in := &lambda.DeleteFunctionInput{FunctionName: aws.String(fn)}
		if qualifier != "" {
			in.Qualifier = aws.String(qualifier)
		}
		out, err := e.client.DeleteFunction(ctx, in)
		if err == nil {
			if st := successStatus(t, out.ResultMetadata); st != http.StatusNoContent {
				t.Errorf("DeleteFunction(%s, %q) status = %d, want 204", fn, qualifier, st)
			}
		}
		return err
	}

	t.Run("version", func(t *testing.T) {
		if err := del("d", "3"); err != nil {
			t.Fatal(err)
		}
		_, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("d"), Qualifier: aws.String("3")})
		wantLambdaFailure(t, err, 404, "ResourceNotFoundException", "Function not found: "+fnARNPrefix+"d:3")
		// again: a version that does not exist is deleted without error (AWS's 204)
		if _, err = e.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("d"), Qualifier: aws.String("3")}); err != nil {
			t.Errorf("deleting a deleted version: %v", err)
		}
	})
	t.Run("version in the ARN", func(t *testing.T) {
		if err := del(fnARNPrefix+"d:2", ""); err != nil {
			t.Fatal(err)
		}
		_, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("d:2")})
		wantLambdaFailure(t, err, 404, "ResourceNotFoundException", "Function not found: "+fnARNPrefix+"d:2")
	})

	errs := []struct {
		name, fn, qualifier string
		status              int
		code, msg           string
	}{
		{"$LATEST", "d", "$LATEST", 400, "InvalidParameterValueException", "$LATEST version cannot be deleted without deleting the function."},
		{"$LATEST in name", "d:$LATEST", "", 400, "InvalidParameterValueException", "$LATEST version cannot be deleted without deleting the function."},
		{"alias", "d", "live", 400, "InvalidParameterValueException", "Deletion of aliases is not currently supported."},
		{"alias in ARN", fnARNPrefix + "d:live", "", 400, "InvalidParameterValueException", "Deletion of aliases is not currently supported."},
		{"version used by an alias", "d", "1", 409, "ResourceConflictException", "Unable to delete version because the following aliases reference it: [live]"},
		{"missing function", "ghost", "1", 404, "ResourceNotFoundException", "Function not found: " + fnARNPrefix + "ghost"},
		{"conflicting qualifiers", "d:1", "2", 400, "InvalidParameterValueException", "The derived qualifier from the function name does not match the specified qualifier."},
		{"invalid qualifier", "d", "bad!", 400, "ValidationException", "1 validation error detected: Value 'bad!' at 'qualifier' failed to satisfy constraint: ..."},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			wantLambdaFailure(t, del(tt.fn, tt.qualifier), tt.status, tt.code, tt.msg)
		})
	}

	want := []string{"$LATEST " + fnARNPrefix + "d:$LATEST", "1 " + fnARNPrefix + "d:1"}
	if got := listedVersions(t, e, "d"); !slices.Equal(got, want) {
		t.Errorf("versions after the deletes = %q, want %q", got, want)
	}
	if a, err := e.client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("d"), Name: aws.String("live")}); err != nil || aws.ToString(a.FunctionVersion) != "1" {
		t.Errorf("alias live after the deletes: %v", err)
	}
	// Once no alias uses it, version 1 can go.
	if _, err := e.client.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String("d"), Name: aws.String("live")}); err != nil {
		t.Fatal(err)
	}
	if err := del("d", "1"); err != nil {
		t.Errorf("deleting version 1 without alias: %v", err)
	}
}

// listedRaw is the JSON body of a signed GET of path, which must answer 200.
func listedRaw(t *testing.T, e *env, path string) map[string]any {
	t.Helper()
	resp, body := e.signedRequest(http.MethodGet, path, nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return jsonObject(t, body)
}
