package main

// Recursive loop detection end to end: a function built from
// aws-lambda-go invokes itself through the AWS SDK for Go v2 from inside
// its sandbox; the SDK sends back the trace header its runtime got, and
// sluice stops the chain as Lambda does (docs/decisions.md, "Recursive
// loops").

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sluice-dev/sluice/internal/lineage"
)

// recursion is the recurse handler's answer (internal/testfunction).
type recursion struct {
	Deepest int      `json:"deepest"`
	Code    string   `json:"code"`
	Error   string   `json:"error"`
	Traces  []string `json:"traces"`
}

// withTrace makes a client call send X-Amzn-Trace-Id: h, as an AWS SDK
// inside a function does.
func withTrace(h string) func(*lambda.Options) {
	return func(o *lambda.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Build.Add(middleware.BuildMiddlewareFunc("testTrace", func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok {
					req.Header.Set("X-Amzn-Trace-Id", h)
				}
				return next.HandleBuild(ctx, in)
			}), middleware.Before)
		})
	}
}

// TestE2ERecursiveLoop: a function that invokes itself (sandboxed, its
// own network, sluice's API at AWS_ENDPOINT_URL) runs 16 times in one
// chain; the 16th invocation's call to invoke itself gets
// RecursiveInvocationException. Every invocation's _X_AMZN_TRACE_ID keeps
// the client's trace and counts one more in its Lineage. With
// PutFunctionRecursionConfig Allow the chain runs on (20 hops, the bound
// the payload sets). An Event invocation past the limit is accepted and
// never runs.
func TestE2ERecursiveLoop(t *testing.T) {
	t.Parallel()
	ts := startSandboxed(t)
	ts.createFunction(t, "loop", "recurse", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(120) })
	hash := lineage.Hash(ts.scope().FunctionARN("loop"))
	const clientTrace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"

	run := func(t *testing.T, hops int) recursion {
		t.Helper()
		c, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out, err := ts.Client.Invoke(c, &lambda.InvokeInput{FunctionName: aws.String("loop"), Payload: []byte(`{"hops":` + strconv.Itoa(hops) + `}`)}, withTrace(clientTrace))
		if err != nil {
			t.Fatal(err)
		}
		if out.FunctionError != nil {
			t.Fatalf("the chain failed: %s", out.Payload)
		}
		var r recursion
		if err := json.Unmarshal(out.Payload, &r); err != nil {
			t.Fatalf("answer %q: %v", out.Payload, err)
		}
		// Each invocation saw the client's trace, its lineage one
		// count further.
		if len(r.Traces) != r.Deepest {
			t.Fatalf("%d traces for %d invocations: %q", len(r.Traces), r.Deepest, r.Traces)
		}
		for i, tr := range r.Traces {
			want := clientTrace + ";Lineage=" + strconv.Itoa(i+1) + ":" + hash + ":0"
			if tr != want {
				t.Fatalf("invocation %d saw _X_AMZN_TRACE_ID %q, want %q", i+1, tr, want)
			}
		}
		return r
	}

	t.Run("Terminate", func(t *testing.T) {
		r := run(t, 30)
		if r.Deepest != lineage.MaxInvocations || r.Code != "RecursiveInvocationException" || !strings.Contains(r.Error, "recursive loop") {
			t.Fatalf("the chain reached depth %d and ended with %q %q; want depth %d and RecursiveInvocationException", r.Deepest, r.Code, r.Error, lineage.MaxInvocations)
		}
	})

	t.Run("the 17th invocation on the wire", func(t *testing.T) {
		at16 := clientTrace + ";Lineage=16:" + hash + ":0"
		_, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("loop"), Payload: []byte(`{}`)}, withTrace(at16))
		apiErrorContains(t, err, "RecursiveInvocationException", "Lambda has detected your function being invoked in a recursive loop")
		if s := statusOf(err); s != http.StatusBadRequest {
			t.Errorf("status %d, want 400", s)
		}
		var rie *types.RecursiveInvocationException
		if !errors.As(err, &rie) {
			t.Errorf("the SDK did not raise its RecursiveInvocationException: %T %v", err, err)
		}
		// The Go SDK v2 percent-encodes "|": the list form is read too.
		other := lineage.Hash(ts.scope().FunctionARN("other"))
		list := clientTrace + ";Lineage=" + other + ":3%7C" + hash + ":16"
		_, err = ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("loop"), Payload: []byte(`{}`)}, withTrace(list))
		apiErrorContains(t, err, "RecursiveInvocationException", "recursive loop")

		out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("loop"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{}`)}, withTrace(at16))
		if err != nil || out.StatusCode != http.StatusAccepted {
			t.Fatalf("Event invocation past the limit: %v (status %d), want 202", err, statusOrZero(out))
		}
		id := requestIDOf(t, out.ResultMetadata)
		time.Sleep(2 * time.Second)
		if strings.Contains(ts.logs.String(), id) {
			t.Errorf("the stopped Event invocation %s ran:\n%s", id, ts.logs.String())
		}
	})

	t.Run("Allow", func(t *testing.T) {
		if _, err := ts.Client.PutFunctionRecursionConfig(ctx(t), &lambda.PutFunctionRecursionConfigInput{FunctionName: aws.String("loop"), RecursiveLoop: types.RecursiveLoopAllow}); err != nil {
			t.Fatal(err)
		}
		r := run(t, 20)
		if r.Deepest != 21 || r.Code != "" {
			t.Fatalf("with Allow the chain reached depth %d and ended with %q %q; want depth 21 and no error", r.Deepest, r.Code, r.Error)
		}
	})
}

func statusOrZero(out *lambda.InvokeOutput) int32 {
	if out == nil {
		return 0
	}
	return out.StatusCode
}
