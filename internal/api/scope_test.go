package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/api"
	"github.com/sluice-dev/sluice/internal/furl"
	"github.com/sluice-dev/sluice/internal/lambdaclient"
	"github.com/sluice-dev/sluice/internal/service"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

// otherAccount is the account of the key "other" of scopeServer.
const otherAccount = "210987654321"

// scopeServer serves e's registry with two keys: "test" of testAccount and
// "other" of otherAccount (Config.CallerAccount).
func scopeServer(t *testing.T, e *env) string {
	t.Helper()
	srv := httptest.NewServer(api.New(api.Config{
		Services: e.reg,
		Verifier: &sigv4.Verifier{Service: "lambda", Secret: func(key, _ string) (string, error) {
			switch key {
			case "test", "other":
				return key, nil
			}
			return "", sluice.Errorf(sluice.EUnrecognizedClient, "The security token included in the request is invalid.")
		}},
		CallerAccount: func(sig *sigv4.Signature) string {
			if sig.AccessKeyID == "other" {
				return otherAccount
			}
			return testAccount
		},
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// createIn creates name with client and waits until it is Active.
func createIn(t *testing.T, client *lambda.Client, name string) *lambda.CreateFunctionOutput {
	t.Helper()
	ctx := context.Background()
	out, err := client.CreateFunction(ctx, createInput(t, name))
	if err != nil {
		t.Fatalf("CreateFunction(%s): %v", name, err)
	}
	w := lambda.NewFunctionActiveV2Waiter(client, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
	})
	if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatalf("waiting for %s: %v", name, err)
	}
	return out
}

func listNames(t *testing.T, client *lambda.Client) []string {
	t.Helper()
	out, err := client.ListFunctions(context.Background(), &lambda.ListFunctionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fn := range out.Functions {
		names = append(names, aws.ToString(fn.FunctionArn))
	}
	return names
}

// The region a request is signed for and the caller's account are a
// namespace: the same name in each is a function of its own, with its own
// ARN, list, configuration and deletion.
func TestScopesAreNamespaces(t *testing.T) {
	e := newEnv(t)
	url := scopeServer(t, e)
	ctx := context.Background()
	east := lambdaclient.NewInRegion(url, "us-east-1", "test", "test")
	west := lambdaclient.NewInRegion(url, "eu-west-1", "test", "test")
	other := lambdaclient.NewInRegion(url, "us-east-1", "other", "other")
	arnEast := "arn:aws:lambda:us-east-1:" + testAccount + ":function:fn"
	arnWest := "arn:aws:lambda:eu-west-1:" + testAccount + ":function:fn"
	arnOther := "arn:aws:lambda:us-east-1:" + otherAccount + ":function:fn"
	for client, arn := range map[*lambda.Client]string{east: arnEast, west: arnWest, other: arnOther} {
		out := createIn(t, client, "fn")
		if got := aws.ToString(out.FunctionArn); got != arn {
			t.Errorf("CreateFunction's FunctionArn = %s, want %s", got, arn)
		}
	}
	for client, arn := range map[*lambda.Client]string{east: arnEast, west: arnWest, other: arnOther} {
		if got := listNames(t, client); len(got) != 1 || got[0] != arn {
			t.Errorf("ListFunctions = %v, want [%s]", got, arn)
		}
		got, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("fn")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(got.Configuration.FunctionArn) != arn {
			t.Errorf("GetFunction's FunctionArn = %s, want %s", aws.ToString(got.Configuration.FunctionArn), arn)
		}
		// The full ARN works where it lives.
		if _, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(arn)}); err != nil {
			t.Errorf("GetFunction(%s): %v", arn, err)
		}
	}

	// A change in one scope is not seen in the others.
	if _, err := west.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fn"), Description: aws.String("west")}); err != nil {
		t.Fatal(err)
	}
	if err := lambda.NewFunctionUpdatedV2Waiter(west, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
	}).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("fn")}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, _ := east.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("fn")}); aws.ToString(got.Description) == "west" {
		t.Error("an update in eu-west-1 changed the function of us-east-1")
	}
	if _, err := west.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fn")}); err != nil {
		t.Fatal(err)
	}
	if _, err := east.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("fn"), Qualifier: aws.String("1")}); err == nil {
		t.Error("a version published in eu-west-1 is seen in us-east-1")
	}
	settings := func(c *lambda.Client) int64 {
		s, err := c.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
		if err != nil {
			t.Fatal(err)
		}
		return s.AccountUsage.FunctionCount
	}
	if n := settings(west); n != 1 {
		t.Errorf("FunctionCount in eu-west-1 = %d, want 1", n)
	}

	// Another region's ARN: AWS's answer.
	_, err := east.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(arnWest)})
	wantAPIError(t, err, "ResourceNotFoundException", "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')")
	// Another account's ARN, full or partial: refused as before (until
	// authorization decides).
	for _, name := range []string{arnOther, otherAccount + ":function:fn"} {
		_, err = east.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		wantAPIError(t, err, "AccessDeniedException", "")
		_, err = east.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name)})
		wantAPIError(t, err, "AccessDeniedException", "")
	}

	// A delete in one scope leaves the others.
	if _, err := east.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("fn")}); err != nil {
		t.Fatal(err)
	}
	_, err = east.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("fn")})
	wantAPIError(t, err, "ResourceNotFoundException", "Function not found: "+arnEast)
	for _, client := range []*lambda.Client{west, other} {
		if _, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("fn")}); err != nil {
			t.Errorf("GetFunction after the delete in us-east-1: %v", err)
		}
	}
	if got := listNames(t, east); len(got) != 0 {
		t.Errorf("ListFunctions in us-east-1 after the delete = %v", got)
	}
}

// Function URLs are per scope too: the URL names its scope's region and
// its FunctionArn the scope's ARN.
func TestScopedFunctionURLs(t *testing.T) {
	e := newEnv(t, func(c *service.Config) { c.NewURLID = furl.NewURLID })
	url := scopeServer(t, e)
	ctx := context.Background()
	west := lambdaclient.NewInRegion(url, "eu-west-1", "test", "test")
	east := lambdaclient.NewInRegion(url, "us-east-1", "test", "test")
	createIn(t, west, "web")
	createIn(t, east, "web")
	out, err := west.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("web"), AuthType: types.FunctionUrlAuthTypeNone})
	if err != nil {
		t.Fatal(err)
	}
	if u := aws.ToString(out.FunctionUrl); !strings.Contains(u, ".lambda-url.eu-west-1.localhost") {
		t.Errorf("FunctionUrl = %s, want one in eu-west-1", u)
	}
	if arn := aws.ToString(out.FunctionArn); arn != "arn:aws:lambda:eu-west-1:"+testAccount+":function:web" {
		t.Errorf("FunctionArn = %s", arn)
	}
	_, err = east.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("web")})
	wantAPIError(t, err, "ResourceNotFoundException", "The resource you requested does not exist.")
}

// A signature scoped to what is not a region is refused, as AWS refuses
// one scoped to a region it does not serve.
func TestSignedForNoRegion(t *testing.T) {
	e := newEnv(t)
	url := scopeServer(t, e)
	for _, region := range []string{"local", "US-EAST-1", "us-east-1x"} {
		c := lambdaclient.NewInRegion(url, region, "test", "test")
		_, err := c.ListFunctions(context.Background(), &lambda.ListFunctionsInput{})
		wantAPIError(t, err, "InvalidSignatureException", "Credential should be scoped to a valid region, not '"+region+"'.")
	}
	// The plain HTTP status too.
	req, err := http.NewRequest(http.MethodGet, url+"/2015-03-31/functions", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, req, sha256Hex(nil), "lambda", "local", time.Now()); err != nil {
		t.Fatal(err)
	}
	if resp, body := do(t, req); resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Amzn-Errortype") != "InvalidSignatureException" {
		t.Errorf("status %d (%s), want 403 InvalidSignatureException", resp.StatusCode, body)
	}
}
