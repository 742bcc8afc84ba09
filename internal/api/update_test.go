package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/service"
)

// gatedCode holds the unpacking (Dir) of chosen packages until released,
// so that a test sees a function Pending or its update InProgress for as
// long as it needs.
type gatedCode struct {
	service.CodeStore
	mu    sync.Mutex
	gates map[string]*codeGate
}

type codeGate struct {
	entered, released   chan struct{}
	enterOnce, freeOnce sync.Once
}

// withGatedCode returns an env option installing g.
func withGatedCode(g **gatedCode) envOption {
	return withCodeStore(func(c service.CodeStore) service.CodeStore {
		*g = &gatedCode{CodeStore: c, gates: map[string]*codeGate{}}
		return *g
	})
}

// hold makes Dir(sha) wait until release is called (at the latest when t
// ends); entered is closed when a Dir call reached the gate.
func (g *gatedCode) hold(t testing.TB, sha string) (entered <-chan struct{}, release func()) {
	gt := &codeGate{entered: make(chan struct{}), released: make(chan struct{})}
	g.mu.Lock()
	g.gates[sha] = gt
	g.mu.Unlock()
	release = func() { gt.freeOnce.Do(func() { close(gt.released) }) }
	t.Cleanup(release) // before the server's Close, which waits for deployments
	return gt.entered, release
}

func (g *gatedCode) Dir(sha string) (string, error) {
	g.mu.Lock()
	gt := g.gates[sha]
	g.mu.Unlock()
	if gt != nil {
		gt.enterOnce.Do(func() { close(gt.entered) })
		<-gt.released
	}
	return g.CodeStore.Dir(sha)
}

// corruptZip returns a package that passes the structural checks of
// UpdateFunctionCode but fails to unpack: its bootstrap is stored
// uncompressed and one byte of it is flipped, so its CRC-32 does not match.
func corruptZip(t testing.TB, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Store}
	h.SetMode(0o755)
	f, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho " + content + "\n"
	if _, err := io.WriteString(f, script); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	i := bytes.Index(b, []byte(script))
	if i < 0 || bytes.Index(b[i+1:], []byte(script)) >= 0 {
		t.Fatal("corruptZip: the stored script is not found exactly once")
	}
	b[i+len(script)-2] ^= 0x20 // flip the case of the last letter of content
	return b
}

const inProgressMessage = "The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:"

func TestUpdateFunctionCode(t *testing.T) {
	var gc *gatedCode
	e := newEnv(t, withGatedCode(&gc))
	ctx := context.Background()
	e.create("coder")
	active, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("coder")})
	if err != nil {
		t.Fatal(err)
	}
	oldSHA := sha256Hex(makeZip(t, "coder"))

	zip := makeZip(t, "version two")
	_, release := gc.hold(t, sha256Hex(zip))
	out, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
		FunctionName:  aws.String("coder"),
		ZipFile:       zip,
		Architectures: []types.Architecture{types.ArchitectureArm64},
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(zip)
	newSHA256 := base64.StdEncoding.EncodeToString(sum[:])
	if got := aws.ToString(out.CodeSha256); got != newSHA256 {
		t.Errorf("CodeSha256 = %s", got)
	}
	if out.CodeSize != int64(len(zip)) {
		t.Errorf("CodeSize = %d, want %d", out.CodeSize, len(zip))
	}
	if aws.ToString(out.RevisionId) == aws.ToString(active.RevisionId) {
		t.Error("RevisionId did not change")
	}
	if aws.ToString(out.LastModified) < aws.ToString(active.LastModified) {
		t.Errorf("LastModified went back: %s < %s", aws.ToString(out.LastModified), aws.ToString(active.LastModified))
	}
	if !slices.Equal(out.Architectures, []types.Architecture{types.ArchitectureArm64}) {
		t.Errorf("Architectures = %v", out.Architectures)
	}
	// The update is accepted; the package is unpacked in the background.
	if out.State != types.StateActive || out.LastUpdateStatus != types.LastUpdateStatusInProgress {
		t.Errorf("State/LastUpdateStatus = %s/%s, want Active/InProgress", out.State, out.LastUpdateStatus)
	}
	if aws.ToString(out.LastUpdateStatusReason) != "The function is being created." || out.LastUpdateStatusReasonCode != "Creating" {
		t.Errorf("LastUpdateStatusReason/Code = %q/%q, want %q/Creating",
			aws.ToString(out.LastUpdateStatusReason), out.LastUpdateStatusReasonCode, "The function is being created.")
	}
	if aws.ToString(out.Version) != "$LATEST" || aws.ToString(out.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:coder" {
		t.Errorf("Version/FunctionArn = %s/%s", aws.ToString(out.Version), aws.ToString(out.FunctionArn))
	}

	// While the deployment runs, $LATEST shows it in progress, the old
	// package still serves, and every other change is refused (a stale
	// RevisionId is reported first).
	inProgress, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("coder")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(inProgress.RevisionId) != aws.ToString(out.RevisionId) || inProgress.LastUpdateStatus != types.LastUpdateStatusInProgress ||
		aws.ToString(inProgress.CodeSha256) != newSHA256 {
		t.Errorf("during the deployment: RevisionId %s, LastUpdateStatus %s, CodeSha256 %s; want the update response's",
			aws.ToString(inProgress.RevisionId), inProgress.LastUpdateStatus, aws.ToString(inProgress.CodeSha256))
	}
	if st := e.codeStatus(oldSHA); st != http.StatusOK {
		t.Errorf("old package during the deployment: GET %d, want 200", st)
	}
	if r := e.invoker.Retired(); len(r) != 0 {
		t.Errorf("retired %v before the deployment ended", r)
	}
	third := makeZip(t, "version three")
	_, err = e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("coder"), ZipFile: third})
	wantTyped[*types.ResourceConflictException](t, err)
	wantAPIError(t, err, "ResourceConflictException", inProgressMessage+"coder")
	_, err = e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("coder"), ZipFile: third, RevisionId: active.RevisionId})
	wantTyped[*types.PreconditionFailedException](t, err)
	_, err = e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("coder"), Timeout: aws.Int32(7)})
	wantAPIError(t, err, "ResourceConflictException", inProgressMessage+"coder")
	_, err = e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("coder")})
	wantAPIError(t, err, "ResourceConflictException", inProgressMessage+"coder")
	if st := e.codeStatus(sha256Hex(third)); st != http.StatusNotFound {
		t.Errorf("package of a refused update: GET %d, want 404", st)
	}

	release()
	done := e.waitUpdated("coder").Configuration
	if done.State != types.StateActive || done.LastUpdateStatus != types.LastUpdateStatusSuccessful ||
		done.LastUpdateStatusReason != nil || done.LastUpdateStatusReasonCode != "" {
		t.Errorf("after the deployment: State %s, LastUpdateStatus %s (%q, %q), want Active, Successful, no reason",
			done.State, done.LastUpdateStatus, aws.ToString(done.LastUpdateStatusReason), done.LastUpdateStatusReasonCode)
	}
	if aws.ToString(done.RevisionId) == aws.ToString(out.RevisionId) || aws.ToString(done.RevisionId) == aws.ToString(active.RevisionId) {
		t.Error("the deployment did not give $LATEST a new RevisionId")
	}
	if aws.ToString(done.CodeSha256) != newSHA256 || aws.ToString(done.LastModified) != aws.ToString(out.LastModified) ||
		!slices.Equal(done.Architectures, []types.Architecture{types.ArchitectureArm64}) {
		t.Errorf("after the deployment: CodeSha256 %s, LastModified %s, Architectures %v; want the update's",
			aws.ToString(done.CodeSha256), aws.ToString(done.LastModified), done.Architectures)
	}
	if r := e.invoker.waitRetired(t, 1); !slices.Equal(r, []string{"coder:$LATEST"}) {
		t.Errorf("retired %v, want [coder:$LATEST]", r)
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
	if aws.ToString(got.RevisionId) != aws.ToString(done.RevisionId) || aws.ToString(got.CodeSha256) != aws.ToString(out.CodeSha256) {
		t.Error("the update was not stored")
	}

	// The same code again is a new revision of the same package, which
	// stays.
	again, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
		FunctionName: aws.String("coder"), ZipFile: zip, RevisionId: done.RevisionId,
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(again.RevisionId) == aws.ToString(done.RevisionId) {
		t.Error("RevisionId did not change")
	}
	if again.LastUpdateStatus != types.LastUpdateStatusInProgress {
		t.Errorf("LastUpdateStatus = %s, want InProgress", again.LastUpdateStatus)
	}
	e.waitUpdated("coder")
	if r := e.invoker.waitRetired(t, 2); !slices.Equal(r, []string{"coder:$LATEST", "coder:$LATEST"}) {
		t.Errorf("retired %v", r)
	}
	if st := e.codeStatus(sha256Hex(zip)); st != http.StatusOK {
		t.Errorf("package after same-code update: GET %d", st)
	}

	// Publish=true waits for the deployment and publishes version 1 of it.
	pub, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("coder"), ZipFile: third, Publish: true})
	if err != nil {
		t.Fatal(err)
	}
	thirdSum := sha256.Sum256(third)
	thirdSHA256 := base64.StdEncoding.EncodeToString(thirdSum[:])
	if aws.ToString(pub.Version) != "1" || aws.ToString(pub.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:coder:1" ||
		pub.State != types.StateActive || pub.LastUpdateStatus != types.LastUpdateStatusSuccessful || aws.ToString(pub.CodeSha256) != thirdSHA256 {
		t.Errorf("published: Version %s, FunctionArn %s, State %s, LastUpdateStatus %s, CodeSha256 %s",
			aws.ToString(pub.Version), aws.ToString(pub.FunctionArn), pub.State, pub.LastUpdateStatus, aws.ToString(pub.CodeSha256))
	}
	v1, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("coder"), Qualifier: aws.String("1")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(v1.Configuration.Version) != "1" || aws.ToString(v1.Configuration.CodeSha256) != thirdSHA256 ||
		aws.ToString(v1.Configuration.RevisionId) != aws.ToString(pub.RevisionId) {
		t.Errorf("GetFunction(coder, 1): Version %s, CodeSha256 %s, RevisionId %s",
			aws.ToString(v1.Configuration.Version), aws.ToString(v1.Configuration.CodeSha256), aws.ToString(v1.Configuration.RevisionId))
	}
	latest, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("coder")})
	if err != nil {
		t.Fatal(err)
	}
	if latest.LastUpdateStatus != types.LastUpdateStatusSuccessful || aws.ToString(latest.CodeSha256) != thirdSHA256 || aws.ToString(latest.Version) != "$LATEST" {
		t.Errorf("$LATEST after the published update: %s %s %s", latest.LastUpdateStatus, aws.ToString(latest.CodeSha256), aws.ToString(latest.Version))
	}
	// The deployment ended within the request.
	if r := e.invoker.Retired(); len(r) != 3 || r[2] != "coder:$LATEST" {
		t.Errorf("retired %v, want a third coder:$LATEST", r)
	}
	if st := e.codeStatus(sha256Hex(zip)); st != http.StatusNotFound {
		t.Errorf("package replaced by the published update: GET %d, want 404", st)
	}
}

func TestUpdateFunctionCodeDryRun(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("dry")
	before, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("dry")})
	if err != nil {
		t.Fatal(err)
	}
	zip := makeZip(t, "dry two")
	out, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
		FunctionName: aws.String("dry"), ZipFile: zip, DryRun: true,
		Architectures: []types.Architecture{types.ArchitectureArm64},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The response shows what would be stored...
	sum := sha256.Sum256(zip)
	if aws.ToString(out.CodeSha256) != base64.StdEncoding.EncodeToString(sum[:]) || out.CodeSize != int64(len(zip)) ||
		!slices.Equal(out.Architectures, []types.Architecture{types.ArchitectureArm64}) {
		t.Errorf("dry run CodeSha256/CodeSize/Architectures = %s/%d/%v", aws.ToString(out.CodeSha256), out.CodeSize, out.Architectures)
	}
	// ...but nothing was: no revision, no update in progress, no deployment.
	got, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("dry")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.RevisionId) != aws.ToString(before.RevisionId) || aws.ToString(got.CodeSha256) != aws.ToString(before.CodeSha256) ||
		got.CodeSize != before.CodeSize || aws.ToString(got.LastModified) != aws.ToString(before.LastModified) ||
		got.State != types.StateActive || got.LastUpdateStatus != types.LastUpdateStatusSuccessful || got.LastUpdateStatusReason != nil ||
		!slices.Equal(got.Architectures, before.Architectures) {
		t.Errorf("a dry run changed the function: %+v, was %+v", got, before)
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

	// No update is in progress: the next one is accepted, on the revision
	// from before the dry run.
	next, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("dry"), ZipFile: zip, RevisionId: before.RevisionId})
	if err != nil {
		t.Fatalf("update after a dry run: %v", err)
	}
	if next.LastUpdateStatus != types.LastUpdateStatusInProgress || aws.ToString(next.CodeSha256) != aws.ToString(out.CodeSha256) {
		t.Errorf("update after a dry run: %s %s", next.LastUpdateStatus, aws.ToString(next.CodeSha256))
	}
	e.waitUpdated("dry")
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
			"InvalidParameterValueException", msgOnlyZip},
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

	// A package that passes the structural checks but cannot be unpacked
	// is accepted; its deployment fails, and $LATEST returns to the code
	// and configuration from before, with the reason.
	before, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("target")})
	if err != nil {
		t.Fatal(err)
	}
	bad := corruptZip(t, "corrupt")
	out, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
		FunctionName: aws.String("target"), ZipFile: bad, Architectures: []types.Architecture{types.ArchitectureArm64},
	})
	if err != nil {
		t.Fatalf("update with a corrupt package: %v", err)
	}
	badSum := sha256.Sum256(bad)
	if out.LastUpdateStatus != types.LastUpdateStatusInProgress || aws.ToString(out.CodeSha256) != base64.StdEncoding.EncodeToString(badSum[:]) {
		t.Errorf("update with a corrupt package: %s %s", out.LastUpdateStatus, aws.ToString(out.CodeSha256))
	}
	w := lambda.NewFunctionUpdatedV2Waiter(e.client, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
	})
	err = w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("target")}, 30*time.Second)
	if err == nil || !strings.Contains(err.Error(), "waiter state transitioned to Failure") {
		t.Fatalf("waiting for the failed update: %v, want the waiter's failure", err)
	}
	failed, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("target")})
	if err != nil {
		t.Fatal(err)
	}
	if failed.State != types.StateActive || failed.LastUpdateStatus != types.LastUpdateStatusFailed ||
		aws.ToString(failed.LastUpdateStatusReason) != "Could not unzip uploaded file. Please check your file, then try to upload again." ||
		failed.LastUpdateStatusReasonCode != types.LastUpdateStatusReasonCodeInvalidZipFileException {
		t.Errorf("after the failed deployment: State %s, LastUpdateStatus %s, reason %q (%s)",
			failed.State, failed.LastUpdateStatus, aws.ToString(failed.LastUpdateStatusReason), failed.LastUpdateStatusReasonCode)
	}
	if aws.ToString(failed.CodeSha256) != aws.ToString(before.CodeSha256) || failed.CodeSize != before.CodeSize ||
		!slices.Equal(failed.Architectures, before.Architectures) {
		t.Errorf("after the failed deployment: CodeSha256 %s, CodeSize %d, Architectures %v; want the previous %s, %d, %v",
			aws.ToString(failed.CodeSha256), failed.CodeSize, failed.Architectures,
			aws.ToString(before.CodeSha256), before.CodeSize, before.Architectures)
	}
	if rev := aws.ToString(failed.RevisionId); rev == aws.ToString(before.RevisionId) || rev == aws.ToString(out.RevisionId) {
		t.Error("the failed deployment did not give $LATEST a new RevisionId")
	}
	if r := e.invoker.waitRetired(t, 1); !slices.Equal(r, []string{"target:$LATEST"}) {
		t.Errorf("the failed deployment retired %v, want [target:$LATEST]", r)
	}
	if st := e.codeStatus(sha256Hex(bad)); st != http.StatusNotFound {
		t.Errorf("corrupt package after its deployment failed: GET %d, want 404", st)
	}
	if st := e.codeStatus(sha256Hex(makeZip(t, "target"))); st != http.StatusOK {
		t.Errorf("previous package after a failed deployment: GET %d, want 200", st)
	}
	// A failed update is over: the next one is accepted.
	if _, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("target"), ZipFile: zip, RevisionId: failed.RevisionId}); err != nil {
		t.Fatalf("update after a failed one: %v", err)
	}
	zipSum := sha256.Sum256(zip)
	if got := e.waitUpdated("target").Configuration; aws.ToString(got.CodeSha256) != base64.StdEncoding.EncodeToString(zipSum[:]) {
		t.Errorf("CodeSha256 after a failed update and a good one = %s", aws.ToString(got.CodeSha256))
	}
}

func TestUpdateFunctionConfiguration(t *testing.T) {
	var gc *gatedCode
	e := newEnv(t, withGatedCode(&gc))
	ctx := context.Background()
	in := createInput(t, "configured")
	in.Environment = &types.Environment{Variables: map[string]string{"OLD": "1"}}
	in.Description = aws.String("before")
	_, release := gc.hold(t, sha256Hex(in.Code.ZipFile))
	created, err := e.client.CreateFunction(ctx, in)
	if err != nil {
		t.Fatal(err)
	}

	// While the function is Pending, its configuration cannot change; a
	// RevisionId that does not match is reported first.
	_, err = e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("configured"), Timeout: aws.Int32(5), RevisionId: created.RevisionId,
	})
	wantTyped[*types.ResourceConflictException](t, err)
	wantAPIError(t, err, "ResourceConflictException", inProgressMessage+"configured")
	_, err = e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("configured"), Timeout: aws.Int32(5), RevisionId: aws.String("00000000-0000-4000-8000-000000000000"),
	})
	wantTyped[*types.PreconditionFailedException](t, err)
	release()
	e.waitActive("configured")
	active, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("configured")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(active.Timeout) != 3 {
		t.Errorf("Timeout = %d: a refused update was applied", aws.ToInt32(active.Timeout))
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
		RevisionId:       active.RevisionId,
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
	if aws.ToString(out.RevisionId) == aws.ToString(active.RevisionId) {
		t.Error("RevisionId did not change")
	}
	if aws.ToString(out.CodeSha256) != aws.ToString(created.CodeSha256) {
		t.Error("CodeSha256 changed")
	}
	// As on AWS, the change is InProgress, then settles with a new
	// RevisionId (LocalStack's recording of test_function_lifecycle).
	if out.State != types.StateActive || out.LastUpdateStatus != types.LastUpdateStatusInProgress ||
		aws.ToString(out.LastUpdateStatusReason) != "The function is being created." || out.LastUpdateStatusReasonCode != "Creating" {
		t.Errorf("State/LastUpdateStatus = %s/%s (%q, %q), want Active/InProgress (The function is being created., Creating)",
			out.State, out.LastUpdateStatus, aws.ToString(out.LastUpdateStatusReason), out.LastUpdateStatusReasonCode)
	}
	settled := e.waitUpdated("configured").Configuration
	if settled.LastUpdateStatus != types.LastUpdateStatusSuccessful || settled.LastUpdateStatusReason != nil || settled.LastUpdateStatusReasonCode != "" {
		t.Errorf("settled: %s (%q, %q), want Successful", settled.LastUpdateStatus, aws.ToString(settled.LastUpdateStatusReason), settled.LastUpdateStatusReasonCode)
	}
	if aws.ToString(settled.RevisionId) == aws.ToString(out.RevisionId) {
		t.Error("the RevisionId did not change when the update settled")
	}
	if aws.ToInt32(settled.Timeout) != 60 {
		t.Errorf("settled Timeout = %d, want 60", aws.ToInt32(settled.Timeout))
	}
	if r := e.invoker.waitRetired(t, 1); !slices.Equal(r, []string{"configured:$LATEST"}) {
		t.Errorf("retired %v, want [configured:$LATEST]", r)
	}

	// {"Variables":{}} clears the environment; AWS then answers
	// Environment with no variables.
	cleared, err := e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("configured"),
		Environment:  &types.Environment{Variables: map[string]string{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if cleared.Environment == nil || len(cleared.Environment.Variables) != 0 {
		t.Errorf("Environment = %+v, want {Variables: {}}", cleared.Environment)
	}
	got := e.waitUpdated("configured").Configuration
	if got.Environment == nil || len(got.Environment.Variables) != 0 || aws.ToInt32(got.Timeout) != 60 ||
		got.LastUpdateStatus != types.LastUpdateStatusSuccessful {
		t.Errorf("stored configuration: %+v", got)
	}
	if r := e.invoker.waitRetired(t, 2); !slices.Equal(r, []string{"configured:$LATEST", "configured:$LATEST"}) {
		t.Errorf("retired %v", r)
	}

	// The old revisions are now stale.
	for _, rev := range []*string{created.RevisionId, active.RevisionId} {
		_, err = e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String("configured"), Timeout: aws.Int32(5), RevisionId: rev,
		})
		wantTyped[*types.PreconditionFailedException](t, err)
		wantAPIError(t, err, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
	}
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
			"InvalidParameterValueException", "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {\"..."}, // in the request's order, which the Go SDK does not keep
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

// racingStore makes every UpdateFunction lose against a concurrent writer
// once armed.
type racingStore struct {
	sluice.FunctionStore
	armed *atomic.Bool
}

func (s racingStore) UpdateFunction(ctx context.Context, fn *sluice.Function, prev string) error {
	if !s.armed.Load() {
		return s.FunctionStore.UpdateFunction(ctx, fn, prev)
	}
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
	var armed atomic.Bool
	e := newEnv(t, withStore(func(s sluice.FunctionStore) sluice.FunctionStore { return racingStore{s, &armed} }))
	ctx := context.Background()
	// The deployment of the create settles with UpdateFunction too: let it.
	e.create("contended")
	active, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("contended")})
	if err != nil {
		t.Fatal(err)
	}
	armed.Store(true)

	_, err = e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("contended"), Timeout: aws.Int32(9)})
	wantTyped[*types.ResourceConflictException](t, err)
	wantAPIError(t, err, "ResourceConflictException", inProgressMessage+"contended")

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
	if aws.ToString(active.RevisionId) == aws.ToString(cur.RevisionId) {
		t.Error("the racing writer did not write")
	}
	// The lost updates left nothing in progress.
	after, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("contended")})
	if err != nil {
		t.Fatal(err)
	}
	if after.LastUpdateStatus != types.LastUpdateStatusSuccessful || aws.ToInt32(after.Timeout) != 3 || aws.ToString(after.CodeSha256) != aws.ToString(active.CodeSha256) {
		t.Errorf("after the lost updates: LastUpdateStatus %s, Timeout %d, CodeSha256 %s",
			after.LastUpdateStatus, aws.ToInt32(after.Timeout), aws.ToString(after.CodeSha256))
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
