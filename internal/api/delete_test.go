package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func TestDeleteFunction(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("doomed")
	sha := sha256Hex(makeZip(t, "doomed"))

	resp, body := e.signedRequest(http.MethodDelete, "/2015-03-31/functions/doomed", nil, nil)
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("DELETE: %d %q, want 204 and no body", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Amzn-RequestId") == "" {
		t.Error("no X-Amzn-RequestId")
	}
	_, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("doomed")})
	wantTyped[*types.ResourceNotFoundException](t, err)
	if st := e.codeStatus(sha); st != http.StatusNotFound {
		t.Errorf("package of a deleted function: GET %d, want 404", st)
	}
	if r := e.invoker.Retired(); !slices.Equal(r, []string{"doomed"}) {
		t.Errorf("retired %v", r)
	}

	e.create("doomed2")
	if _, err := e.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:123456789012:function:doomed2")}); err != nil {
		t.Fatal(err)
	}
}

func TestDeleteFunctionErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("kept")
	arn := "arn:aws:lambda:us-east-1:123456789012:function:"
	tests := []struct {
		name, fn, qualifier, code, msg string
	}{
		{"unknown", "ghost", "", "ResourceNotFoundException", "Function not found: " + arn + "ghost"},
		{"version", "kept", "1", "ResourceNotFoundException", "Function not found: " + arn + "kept:1"},
		{"latest", "kept", "$LATEST", "InvalidParameterValueException", "$LATEST version cannot be deleted without deleting the function."},
		{"bad qualifier", "kept", "no!", "ValidationException", "1 validation error detected: Value 'no!' at 'qualifier' ..."},
		{"other account", "arn:aws:lambda:us-east-1:999999999999:function:kept", "", "AccessDeniedException", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &lambda.DeleteFunctionInput{FunctionName: aws.String(tt.fn)}
			if tt.qualifier != "" {
				in.Qualifier = aws.String(tt.qualifier)
			}
			_, err := e.client.DeleteFunction(ctx, in)
			wantAPIError(t, err, tt.code, tt.msg)
		})
	}
	if _, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("kept")}); err != nil {
		t.Fatalf("kept: %v", err)
	}
	if r := e.invoker.Retired(); len(r) != 0 {
		t.Errorf("failed deletes retired %v", r)
	}
}

// A package shared by several functions stays until the last one is gone.
func TestSharedCodeCollection(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	zip := makeZip(t, "shared")
	sha := sha256Hex(zip)
	for _, name := range []string{"one", "two"} {
		in := createInput(t, name)
		in.Code.ZipFile = zip
		if _, err := e.client.CreateFunction(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("one")}); err != nil {
		t.Fatal(err)
	}
	if st := e.codeStatus(sha); st != http.StatusOK {
		t.Fatalf("shared package after the first delete: GET %d", st)
	}
	if _, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("two"), ZipFile: makeZip(t, "own")}); err != nil {
		t.Fatal(err)
	}
	if st := e.codeStatus(sha); st != http.StatusNotFound {
		t.Fatalf("shared package after its last user moved on: GET %d, want 404", st)
	}
}

// Creates and deletes racing on one package never leave a stored function
// without its code.
func TestConcurrentCreateDeleteKeepsCode(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	zip := makeZip(t, "contended")
	const rounds = 10
	for i := range rounds {
		a, b := fmt.Sprintf("a-%d", i), fmt.Sprintf("b-%d", i)
		in := createInput(t, a)
		in.Code.ZipFile = zip
		if _, err := e.client.CreateFunction(ctx, in); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		wg.Go(func() {
			_, err := e.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(a)})
			errs <- err
		})
		wg.Go(func() {
			in := createInput(t, b)
			in.Code.ZipFile = zip
			_, err := e.client.CreateFunction(ctx, in)
			errs <- err
		})
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if st := e.codeStatus(sha256Hex(zip)); st != http.StatusOK {
			t.Fatalf("round %d: package of %s: GET %d", i, b, st)
		}
		if _, err := e.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
}
