package sigv4

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sluice-dev/sluice"
)

// TestLambdaClient drives the verifier with the real Go SDK Lambda client,
// which signs with the current time and its own header set.
func TestLambdaClient(t *testing.T) {
	v := &Verifier{Secret: StaticCredentials(testKey, testSecret), Region: testRegion}
	srv := echoServer(t, v, nil)

	client := func(key, secret string) *lambda.Client {
		return lambda.New(lambda.Options{
			Region:           testRegion,
			Credentials:      credentials.NewStaticCredentialsProvider(key, secret, ""),
			BaseEndpoint:     aws.String(srv.URL),
			RetryMaxAttempts: 1,
		})
	}
	ctx := context.Background()

	out, err := client(testKey, testSecret).Invoke(ctx, &lambda.InvokeInput{
		FunctionName: aws.String("arn:aws:lambda:us-east-1:123456789012:function:my-fn"),
		Qualifier:    aws.String("$LATEST"),
		Payload:      []byte(`{"hello":"world"}`),
		LogType:      "Tail",
	})
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if string(out.Payload) != `{"hello":"world"}` {
		t.Errorf("payload = %s", out.Payload)
	}

	// GET without a body.
	if _, err := client(testKey, testSecret).GetFunction(ctx, &lambda.GetFunctionInput{
		FunctionName: aws.String("my-fn:live"),
	}); err != nil {
		t.Fatalf("GetFunction: %v", err)
	}

	// The SDK told to sign UNSIGNED-PAYLOAD, as it does for S3: refused,
	// with its own body and with one swapped after signing (issue 9).
	for _, swap := range []bool{false, true} {
		unsigned := lambda.New(lambda.Options{
			Region:           testRegion,
			Credentials:      credentials.NewStaticCredentialsProvider(testKey, testSecret, ""),
			BaseEndpoint:     aws.String(srv.URL),
			RetryMaxAttempts: 1,
			APIOptions: []func(*middleware.Stack) error{
				v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware,
				v4.AddContentSHA256HeaderMiddleware,
				func(st *middleware.Stack) error {
					if !swap {
						return nil
					}
					return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("swapBody", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
						req := in.Request.(*smithyhttp.Request)
						r, err := req.SetStream(bytes.NewReader([]byte(`{"hello":"WORLD"}`)))
						if err != nil {
							return middleware.FinalizeOutput{}, middleware.Metadata{}, err
						}
						in.Request = r
						return next.HandleFinalize(ctx, in)
					}), middleware.After)
				},
			},
		})
		_, err := unsigned.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("my-fn"), Payload: []byte(`{"hello":"world"}`)})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != string(sluice.EInvalidSignature) {
			t.Errorf("Invoke signed with UNSIGNED-PAYLOAD (body swapped: %v): %v, want API error %s", swap, err, sluice.EInvalidSignature)
		}
	}

	for _, tt := range []struct {
		key, secret string
		code        sluice.ErrorCode
	}{
		{testKey, "wrong", sluice.EInvalidSignature},
		{"other", testSecret, sluice.EUnrecognizedClient},
	} {
		_, err := client(tt.key, tt.secret).Invoke(ctx, &lambda.InvokeInput{
			FunctionName: aws.String("my-fn"),
			Payload:      []byte(`{}`),
		})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != string(tt.code) {
			t.Errorf("Invoke with %s/%s: %v, want API error %s", tt.key, tt.secret, err, tt.code)
		}
	}
}

// echoServer answers like Lambda's Invoke: a verification failure as the
// Lambda error it is, else the request's body back. verified, when not nil,
// receives the signature of each verified request.
func echoServer(t *testing.T, v *Verifier, verified chan<- *Signature) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sig, err := v.Verify(r, body)
		if err != nil {
			var e *sluice.Error
			errors.As(err, &e)
			w.Header().Set("X-Amzn-ErrorType", string(e.Code))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": e.Message})
			return
		}
		if verified != nil {
			verified <- sig
		}
		w.Header().Set("X-Amz-Executed-Version", "$LATEST")
		if len(body) == 0 {
			body = []byte("{}")
		}
		w.Write(body) // echo the payload
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestLambdaClientSessionToken: the Go SDK's Lambda client with temporary
// credentials (key, secret, session token) against a verifier whose Secret
// checks the token.
func TestLambdaClientSessionToken(t *testing.T) {
	v := &Verifier{Secret: tokenSecret, Region: testRegion}
	verified := make(chan *Signature, 8)
	srv := echoServer(t, v, verified)
	client := func(key, secret, token string) *lambda.Client {
		return lambda.New(lambda.Options{
			Region:           testRegion,
			Credentials:      credentials.NewStaticCredentialsProvider(key, secret, token),
			BaseEndpoint:     aws.String(srv.URL),
			RetryMaxAttempts: 1,
		})
	}
	ctx := context.Background()
	out, err := client(tempKey, tempSecret, tempToken).Invoke(ctx, &lambda.InvokeInput{
		FunctionName: aws.String("my-fn"),
		Payload:      []byte(`{"with":"token"}`),
	})
	if err != nil {
		t.Fatalf("Invoke with temporary credentials: %v", err)
	}
	if string(out.Payload) != `{"with":"token"}` {
		t.Errorf("payload = %s", out.Payload)
	}
	if sig := <-verified; sig.AccessKeyID != tempKey || sig.SessionToken != tempToken || sig.Region != testRegion {
		t.Errorf("verified as %+v", sig)
	}

	for _, tt := range []struct {
		key, secret, token string
		code               sluice.ErrorCode
	}{
		{tempKey, tempSecret, "", sluice.EUnrecognizedClient},
		{tempKey, tempSecret, "not-the-token", sluice.EUnrecognizedClient},
		{tempKey, "wrong", tempToken, sluice.EInvalidSignature},
		{testKey, testSecret, tempToken, sluice.EUnrecognizedClient},
		{expiredKey, "x", "old", sluice.EExpiredToken},
	} {
		_, err := client(tt.key, tt.secret, tt.token).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("my-fn"), Payload: []byte(`{}`)})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != string(tt.code) {
			t.Errorf("Invoke with %s/%s/%q: %v, want API error %s", tt.key, tt.secret, tt.token, err, tt.code)
		}
	}
}

// TestPresignedInvokeWithToken presigns a Lambda Invoke with temporary
// credentials (the token goes into the query) and sends it with a plain
// HTTP client.
func TestPresignedInvokeWithToken(t *testing.T) {
	v := &Verifier{Secret: tokenSecret, Region: testRegion}
	verified := make(chan *Signature, 1)
	srv := echoServer(t, v, verified)
	payload := []byte(`{"presigned":true}`)
	req, err := http.NewRequest("POST", srv.URL+"/2015-03-31/functions/my-fn/invocations", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	uri, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), tempCreds, req, sha256Hex(payload), "lambda", testRegion, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	post := func(uri string) (int, string) {
		r, err := http.NewRequest("POST", uri, bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		for k, vs := range hdr {
			if k != "Host" {
				r.Header[k] = vs
			}
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType") + " " + string(b)
	}
	if status, body := post(uri); status != 200 || body != " "+string(payload) {
		t.Fatalf("presigned Invoke: %d %s", status, body)
	}
	if sig := <-verified; sig.SessionToken != tempToken || sig.AccessKeyID != tempKey {
		t.Errorf("verified as %+v", sig)
	}
	// Without its token the key is unknown.
	u, _ := url.Parse(uri)
	q := u.Query()
	q.Del("X-Amz-Security-Token")
	u.RawQuery = q.Encode()
	if status, body := post(u.String()); status != 403 || !strings.HasPrefix(body, string(sluice.EUnrecognizedClient)) {
		t.Errorf("presigned Invoke without its token: %d %s", status, body)
	}
}
