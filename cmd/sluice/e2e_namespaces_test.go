package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/lambdaclient"
)

// createWith creates a function running the test function with handler
// through client, and waits until it is Active.
func createWith(t *testing.T, client *lambda.Client, name, handler string) *lambda.CreateFunctionOutput {
	t.Helper()
	out, err := client.CreateFunction(ctx(t), &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Runtime:      types.RuntimeProvidedal2023,
		Handler:      aws.String(handler),
		Role:         aws.String("arn:aws:iam::000000000000:role/x"),
		Code:         &types.FunctionCode{ZipFile: testFunctionZip},
	})
	if err != nil {
		t.Fatalf("CreateFunction %s: %v", name, err)
	}
	w := lambda.NewFunctionActiveV2Waiter(client, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
	})
	if err := w.Wait(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 60*time.Second); err != nil {
		t.Fatalf("waiting for %s to be Active: %v", name, err)
	}
	return out
}

// envWith invokes name (handler "env") through client and returns the
// environment the function saw.
func envWith(t *testing.T, client *lambda.Client, name string) map[string]string {
	t.Helper()
	out, err := client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{}`)})
	if err != nil {
		t.Fatalf("Invoke %s: %v", name, err)
	}
	succeeded(t, out)
	var env map[string]string
	if err := json.Unmarshal(out.Payload, &env); err != nil {
		t.Fatalf("env payload %.300s: %v", out.Payload, err)
	}
	return env
}

// TestE2ENamespaces: clients signing for us-east-1 and eu-west-1 with the
// same key see functions of their own, as on AWS. The same name is created
// in both; list, get, invoke and delete in one leave the other; ARNs carry
// the region; a full ARN works in its region and is not reachable from
// the other; the two functions never share an execution environment,
// although their code and configuration are the same.
func TestE2ENamespaces(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	east := ts.Client // us-east-1, the default region
	west := lambdaclient.NewInRegion(ts.URL, "eu-west-1", ts.cfg.AccessKeyID, ts.cfg.SecretAccessKey)
	const arnEast = "arn:aws:lambda:us-east-1:000000000000:function:fn"
	const arnWest = "arn:aws:lambda:eu-west-1:000000000000:function:fn"
	clients := []struct {
		name   string
		client *lambda.Client
		arn    string
		region string
	}{{"us-east-1", east, arnEast, "us-east-1"}, {"eu-west-1", west, arnWest, "eu-west-1"}}

	for _, c := range clients {
		if out := createWith(t, c.client, "fn", "env"); aws.ToString(out.FunctionArn) != c.arn {
			t.Errorf("%s: CreateFunction's FunctionArn = %s, want %s", c.name, aws.ToString(out.FunctionArn), c.arn)
		}
	}
	for _, c := range clients {
		list, err := c.client.ListFunctions(ctx(t), &lambda.ListFunctionsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Functions) != 1 || aws.ToString(list.Functions[0].FunctionArn) != c.arn {
			t.Errorf("%s: ListFunctions = %d functions (first %v), want only %s", c.name, len(list.Functions), list.Functions, c.arn)
		}
		got, err := c.client.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("fn")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(got.Configuration.FunctionArn) != c.arn {
			t.Errorf("%s: GetFunction's FunctionArn = %s", c.name, aws.ToString(got.Configuration.FunctionArn))
		}
	}

	// Each region's function runs in an environment of its own, with its
	// region: the second region's first invoke is a cold start, not the
	// first region's warm environment, although both are built from the
	// same code and configuration. Within a region the environment is
	// reused.
	envEast := envWith(t, east, "fn")
	envWest := envWith(t, west, "fn")
	if envEast["AWS_REGION"] != "us-east-1" || envWest["AWS_REGION"] != "eu-west-1" || envWest["AWS_DEFAULT_REGION"] != "eu-west-1" {
		t.Errorf("AWS_REGION: %q in us-east-1, %q in eu-west-1", envEast["AWS_REGION"], envWest["AWS_REGION"])
	}
	streamEast, streamWest := envEast["AWS_LAMBDA_LOG_STREAM_NAME"], envWest["AWS_LAMBDA_LOG_STREAM_NAME"]
	if streamEast == "" || streamEast == streamWest {
		t.Errorf("log streams %q and %q: the two regions' functions shared an environment", streamEast, streamWest)
	}
	if again := envWith(t, east, "fn"); again["AWS_LAMBDA_LOG_STREAM_NAME"] != streamEast {
		t.Errorf("the second invoke in us-east-1 ran in %q, not in its warm environment %q", again["AWS_LAMBDA_LOG_STREAM_NAME"], streamEast)
	}
	if live, _ := ts.pool.Stats(); live != 2 {
		t.Errorf("%d live environments, want one per region", live)
	}
	if n := strings.Count(ts.logs.String(), "INIT_START"); n != 2 {
		t.Errorf("%d cold starts in the function log, want 2", n)
	}

	// Invoked by full ARN in its region; the other region's ARN is not
	// reachable (AWS's answer).
	out, err := west.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(arnWest), Payload: []byte(`{}`)})
	if err != nil {
		t.Fatalf("Invoke by full ARN in eu-west-1: %v", err)
	}
	succeeded(t, out)
	_, err = west.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(arnEast)})
	apiError(t, err, "ResourceNotFoundException", "Functions from 'us-east-1' are not reachable in this region ('eu-west-1')")
	s := openStream(t, west, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String(arnWest)})
	cleanComplete(t, s.finish(t))
	if !strings.Contains(s.payload(), `"AWS_REGION":"eu-west-1"`) {
		t.Errorf("streamed invoke by full ARN in eu-west-1 saw %.300s", s.payload())
	}

	// Deleting one leaves the other, which still runs.
	if _, err := east.DeleteFunction(ctx(t), &lambda.DeleteFunctionInput{FunctionName: aws.String("fn")}); err != nil {
		t.Fatal(err)
	}
	_, err = east.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("fn")})
	apiError(t, err, "ResourceNotFoundException", "Function not found: "+arnEast)
	if got, err := west.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("fn")}); err != nil || aws.ToString(got.Configuration.FunctionArn) != arnWest {
		t.Fatalf("eu-west-1's function after the delete in us-east-1: %v, %v", got, err)
	}
	if env := envWith(t, west, "fn"); env["AWS_LAMBDA_LOG_STREAM_NAME"] != streamWest {
		t.Errorf("eu-west-1's function after the delete in us-east-1 ran in %q, not its warm environment %q", env["AWS_LAMBDA_LOG_STREAM_NAME"], streamWest)
	}
	if list, err := east.ListFunctions(ctx(t), &lambda.ListFunctionsInput{}); err != nil || len(list.Functions) != 0 {
		t.Errorf("ListFunctions in us-east-1 after the delete = %v, %v; want none", list, err)
	}
}

// TestE2ENamespacedURL: a function URL is found in the region of its
// function, whatever region the server's default is: path style by its id
// alone, host style only under its own region's name.
func TestE2ENamespacedURL(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	west := lambdaclient.NewInRegion(ts.URL, "eu-west-1", ts.cfg.AccessKeyID, ts.cfg.SecretAccessKey)
	createWith(t, west, "web", "env")
	u, err := west.CreateFunctionUrlConfig(ctx(t), &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("web"), AuthType: types.FunctionUrlAuthTypeNone})
	if err != nil {
		t.Fatal(err)
	}
	fu := aws.ToString(u.FunctionUrl)
	if !strings.Contains(fu, ".lambda-url.eu-west-1.localhost:") {
		t.Fatalf("FunctionUrl %s, want one of eu-west-1", fu)
	}
	hc := ts.urlClient()
	status, _, body := post(t, hc, fu, "application/json", []byte(`{}`))
	if status != 200 || !strings.Contains(string(body), `"AWS_REGION":"eu-west-1"`) {
		t.Errorf("host-style request: %d %.300s", status, body)
	}
	id := strings.SplitN(strings.TrimPrefix(fu, "http://"), ".", 2)[0]
	status, _, body = post(t, hc, ts.URL+"/lambda-url/"+id+"/", "application/json", []byte(`{}`))
	if status != 200 || !strings.Contains(string(body), `"AWS_REGION":"eu-west-1"`) {
		t.Errorf("path-style request: %d %.300s", status, body)
	}
	other := strings.Replace(fu, ".eu-west-1.", ".us-east-1.", 1)
	if status, h, body := post(t, hc, other, "application/json", []byte(`{}`)); status != 403 || h.Get("X-Amzn-Errortype") != "AccessDeniedException" {
		t.Errorf("the URL under the default region's name: %d %v %q", status, h, body)
	}
	// The default region's client does not see it.
	_, err = ts.Client.GetFunctionUrlConfig(ctx(t), &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("web")})
	apiError(t, err, "ResourceNotFoundException", "")

	// An AWS_IAM URL takes requests signed for its region only.
	if _, err := west.UpdateFunctionUrlConfig(ctx(t), &lambda.UpdateFunctionUrlConfigInput{FunctionName: aws.String("web"), AuthType: types.FunctionUrlAuthTypeAwsIam}); err != nil {
		t.Fatal(err)
	}
	for region, want := range map[string]int{"eu-west-1": 200, "us-east-1": 403} {
		req, err := http.NewRequest("POST", fu, bytes.NewReader([]byte(`{}`)))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(`{}`))
		if err := v4.NewSigner().SignHTTP(ctx(t), aws.Credentials{AccessKeyID: ts.cfg.AccessKeyID, SecretAccessKey: ts.cfg.SecretAccessKey},
			req, hex.EncodeToString(sum[:]), "lambda", region, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("AWS_IAM URL of eu-west-1 signed for %s: %d, want %d", region, resp.StatusCode, want)
		}
	}
}

// TestE2EMigratesDataDir starts sluice on a data dir whose store was written
// before namespaces (the schema 3 store of internal/bolt's tests): its
// functions, versions, aliases, reserved concurrency and URLs are those of
// the default scope (--region, --account-id), and of no other.
func TestE2EMigratesDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, err := os.Open(filepath.Join("..", "..", "internal", "bolt", "testdata", "schema3.db.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	old, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(storePath(dir), old, 0o600); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, func(c *Config) { c.DataDir, c.Region = dir, "eu-central-1" })
	central := lambdaclient.NewInRegion(ts.URL, "eu-central-1", ts.cfg.AccessKeyID, ts.cfg.SecretAccessKey)

	list, err := central.ListFunctions(ctx(t), &lambda.ListFunctionsInput{FunctionVersion: types.FunctionVersionAll})
	if err != nil {
		t.Fatal(err)
	}
	var arns []string
	for _, fn := range list.Functions {
		arns = append(arns, aws.ToString(fn.FunctionArn))
	}
	const prefix = "arn:aws:lambda:eu-central-1:000000000000:function:"
	// listing versions, AWS names $LATEST by its qualified ARN
	want := []string{prefix + "alpha:$LATEST", prefix + "alpha:1", prefix + "alpha:2", prefix + "beta:$LATEST", prefix + "beta:1", prefix + "gamma:$LATEST"}
	if strings.Join(arns, " ") != strings.Join(want, " ") {
		t.Errorf("ListFunctions in the default scope = %q, want %q", arns, want)
	}
	a, err := central.GetAlias(ctx(t), &lambda.GetAliasInput{FunctionName: aws.String("alpha"), Name: aws.String("live")})
	if err != nil || aws.ToString(a.AliasArn) != prefix+"alpha:live" || a.RoutingConfig == nil || a.RoutingConfig.AdditionalVersionWeights["2"] != 0.25 {
		t.Errorf("GetAlias(alpha, live) = %+v, %v", a, err)
	}
	c, err := central.GetFunctionConcurrency(ctx(t), &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("alpha")})
	if err != nil || aws.ToInt32(c.ReservedConcurrentExecutions) != 7 {
		t.Errorf("GetFunctionConcurrency(alpha) = %+v, %v; want 7", c, err)
	}
	u, err := central.GetFunctionUrlConfig(ctx(t), &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("alpha"), Qualifier: aws.String("live")})
	if err != nil || !strings.HasPrefix(aws.ToString(u.FunctionUrl), "http://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2.lambda-url.eu-central-1.localhost:") {
		t.Errorf("GetFunctionUrlConfig(alpha:live) = %+v, %v", u, err)
	}
	// Nothing in another region.
	if list, err := ts.Client.ListFunctions(ctx(t), &lambda.ListFunctionsInput{}); err != nil || len(list.Functions) != 0 {
		t.Errorf("ListFunctions in us-east-1 = %v, %v; want none", list, err)
	}
}
