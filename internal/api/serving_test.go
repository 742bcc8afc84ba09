package api_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/service"
)

// recordingInvoker records what each invocation was asked to run and fails
// it (the test looks at the request, not at a result).
type recordingInvoker struct {
	fakeInvoker
	mu   sync.Mutex
	runs []sluice.InvokeRequest
}

func (r *recordingInvoker) Invoke(_ context.Context, req sluice.InvokeRequest) (sluice.Output, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs = append(r.runs, req)
	return nil, sluice.Errorf(sluice.EInternal, "recorded")
}

func (r *recordingInvoker) last(t *testing.T) sluice.InvokeRequest {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.runs) == 0 {
		t.Fatal("nothing was invoked")
	}
	return r.runs[len(r.runs)-1]
}

// TestStateUpdateServesPrevious: while an update of $LATEST is being
// deployed, invocations run the previous code and configuration (as on
// Lambda); once it is deployed, the new ones. Versions and aliases resolve
// to their own configuration, and the invoked ARN keeps the caller's
// qualifier.
func TestStateUpdateServesPrevious(t *testing.T) {
	rec := &recordingInvoker{}
	g := &holdGate{entered: make(chan string, 64)}
	e := newEnv(t, withWrappedCode(func(c service.CodeStore) service.CodeStore { g.CodeStore = c; return g }),
		func(c *service.Config) { c.Invoker = rec })
	e.create("served")
	before, err := e.client.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("served")})
	if err != nil {
		t.Fatal(err)
	}
	oldSHA := sha256Hex(makeZip(t, "served"))

	g.shut()
	t.Cleanup(g.open)
	upd, err := e.client.UpdateFunctionCode(context.Background(), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("served"), ZipFile: makeZip(t, "v2")})
	if err != nil {
		t.Fatal(err)
	}
	g.waitHeld(t)
	invoke := func(name string) sluice.InvokeRequest {
		t.Helper()
		_, _ = e.client.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(name)})
		return rec.last(t)
	}
	if got := invoke("served"); got.Function.CodeSHA256 != oldSHA || got.Function.RevisionID != aws.ToString(before.Configuration.RevisionId) {
		t.Fatalf("during the update the invocation ran code %s revision %s; want the previous %s %s",
			got.Function.CodeSHA256, got.Function.RevisionID, oldSHA, aws.ToString(before.Configuration.RevisionId))
	}
	g.open()
	e.waitUpdated("served")
	got := invoke("served")
	if got.Function.CodeSHA256 != sha256Hex(makeZip(t, "v2")) || got.Function.CodeSHA256 == oldSHA {
		t.Fatalf("after the update the invocation ran code %s", got.Function.CodeSHA256)
	}
	if aws.ToString(upd.CodeSha256) == aws.ToString(before.Configuration.CodeSha256) {
		t.Fatal("the update response shows the old CodeSha256")
	}

	// A version and an alias run their own snapshot, under the caller's ARN.
	if _, err := e.client.PublishVersion(context.Background(), &lambda.PublishVersionInput{FunctionName: aws.String("served")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CreateAlias(context.Background(), &lambda.CreateAliasInput{FunctionName: aws.String("served"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:lambda:us-east-1:123456789012:function:served"
	for name, want := range map[string]struct{ version, arn string }{
		"served":      {"$LATEST", arn},
		"served:1":    {"1", arn + ":1"},
		"served:live": {"1", arn + ":live"},
	} {
		got := invoke(name)
		if got.Function.VersionOrLatest() != want.version || got.Invocation.InvokedFunctionARN != want.arn {
			t.Errorf("Invoke %s ran version %s as %s; want %s as %s", name, got.Function.VersionOrLatest(), got.Invocation.InvokedFunctionARN, want.version, want.arn)
		}
	}
}

// TestWeightedRoutingDraw: the routing draw picks the additional version
// exactly when it falls below its weight (a fixed sequence of draws, so
// the split is exact, not statistical).
func TestWeightedRoutingDraw(t *testing.T) {
	rec := &recordingInvoker{}
	draws := []float64{0, 0.29, 0.3, 0.31, 0.99, 0.1}
	var mu sync.Mutex
	e := newEnv(t, func(c *service.Config) {
		c.Invoker = rec
		c.Rand = func() float64 {
			mu.Lock()
			defer mu.Unlock()
			x := draws[0]
			draws = draws[1:]
			return x
		}
	})
	e.create("routed")
	ctx := context.Background()
	if _, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("routed")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("routed"), Timeout: aws.Int32(9)}); err != nil {
		t.Fatal(err)
	}
	e.waitUpdated("routed")
	if _, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("routed")}); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.CreateAlias(ctx, &lambda.CreateAliasInput{
		FunctionName: aws.String("routed"), Name: aws.String("canary"), FunctionVersion: aws.String("1"),
		RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.3}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2", "2", "1", "1", "1", "2"}
	for i, w := range want {
		_, _ = e.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("routed:canary")})
		got := rec.last(t)
		if got.Function.VersionOrLatest() != w || (w == "2") != (got.Function.Timeout == 9) {
			t.Errorf("draw %d: ran version %s (timeout %d), want %s", i, got.Function.VersionOrLatest(), got.Function.Timeout, w)
		}
	}
}

// TestListFunctionsAllVersions: FunctionVersion=ALL lists each function's
// published versions after its $LATEST; without it only $LATEST.
func TestListFunctionsAllVersions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("la")
	e.create("lb")
	if _, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("la")}); err != nil {
		t.Fatal(err)
	}
	list := func(in *lambda.ListFunctionsInput) []string {
		t.Helper()
		out, err := e.client.ListFunctions(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range out.Functions {
			got = append(got, aws.ToString(f.FunctionName)+":"+aws.ToString(f.Version))
		}
		return got
	}
	if got := strings.Join(list(&lambda.ListFunctionsInput{FunctionVersion: types.FunctionVersionAll}), " "); got != "la:$LATEST la:1 lb:$LATEST" {
		t.Errorf("ListFunctions ALL = %s", got)
	}
	if got := strings.Join(list(&lambda.ListFunctionsInput{}), " "); got != "la:$LATEST lb:$LATEST" {
		t.Errorf("ListFunctions = %s", got)
	}
}

// TestLatestPublishedWithoutVersions: $LATEST.PUBLISHED names the newest
// published version; a function without one → NoPublishedVersionException.
func TestLatestPublishedWithoutVersions(t *testing.T) {
	e := newEnv(t)
	e.create("unpublished")
	_, err := e.client.GetFunctionConfiguration(context.Background(), &lambda.GetFunctionConfigurationInput{
		FunctionName: aws.String("unpublished"), Qualifier: aws.String("$LATEST.PUBLISHED"),
	})
	var api interface{ ErrorCode() string }
	if !errors.As(err, &api) || api.ErrorCode() != "NoPublishedVersionException" || !strings.Contains(err.Error(), "StatusCode: 400") {
		t.Fatalf("GetFunctionConfiguration $LATEST.PUBLISHED without versions: %v", err)
	}
	if _, err := e.client.PublishVersion(context.Background(), &lambda.PublishVersionInput{FunctionName: aws.String("unpublished")}); err != nil {
		t.Fatal(err)
	}
	got, err := e.client.GetFunctionConfiguration(context.Background(), &lambda.GetFunctionConfigurationInput{
		FunctionName: aws.String("unpublished"), Qualifier: aws.String("$LATEST.PUBLISHED"),
	})
	if err != nil || aws.ToString(got.Version) != "1" {
		t.Fatalf("after publishing: %v %v", err, got)
	}
}
