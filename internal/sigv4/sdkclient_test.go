package sigv4

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

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
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if _, err := v.Verify(r, body); err != nil {
			var e *sluice.Error
			errors.As(err, &e)
			w.Header().Set("X-Amzn-ErrorType", string(e.Code))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": e.Message})
			return
		}
		w.Header().Set("X-Amz-Executed-Version", "$LATEST")
		if len(body) == 0 {
			body = []byte("{}")
		}
		w.Write(body) // echo the payload
	}))
	defer srv.Close()

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
