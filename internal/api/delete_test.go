package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice"
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
	if r := e.invoker.Retired(); !slices.Equal(r, []string{"doomed:$LATEST"}) {
		t.Errorf("retired %v, want [doomed:$LATEST]", r)
	}

	// A function with versions, an alias and reserved concurrency loses
	// them all, and the environments of every version are retired.
	e.create("doomed2")
	v1, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("doomed2")})
	if err != nil {
		t.Fatal(err)
	}
	zip2 := makeZip(t, "doomed2 v2")
	if _, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("doomed2"), ZipFile: zip2}); err != nil {
		t.Fatal(err)
	}
	e.waitUpdated("doomed2")
	if r := e.invoker.waitRetired(t, 2); !slices.Equal(r, []string{"doomed:$LATEST", "doomed2:$LATEST"}) {
		t.Fatalf("retired %v", r)
	}
	// The package of version 1 stays: the version uses it.
	sha1 := sha256Hex(makeZip(t, "doomed2"))
	if st := e.codeStatus(sha1); st != http.StatusOK {
		t.Errorf("package of version 1 after $LATEST moved on: GET %d, want 200", st)
	}
	v2, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("doomed2")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(v1.Version) != "1" || aws.ToString(v2.Version) != "2" {
		t.Fatalf("published versions %s and %s, want 1 and 2", aws.ToString(v1.Version), aws.ToString(v2.Version))
	}
	if _, err := e.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("doomed2"), Name: aws.String("live"), FunctionVersion: v2.Version}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("doomed2"), ReservedConcurrentExecutions: aws.Int32(5)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:123456789012:function:doomed2")}); err != nil {
		t.Fatal(err)
	}
	if r := e.invoker.Retired(); !slices.Equal(r, []string{"doomed:$LATEST", "doomed2:$LATEST", "doomed2:$LATEST", "doomed2:1", "doomed2:2"}) {
		t.Errorf("retired %v, want doomed2:$LATEST, doomed2:1 and doomed2:2 retired by the delete", r)
	}
	for _, sha := range []string{sha1, sha256Hex(zip2)} {
		if st := e.codeStatus(sha); st != http.StatusNotFound {
			t.Errorf("package %s of a deleted function: GET %d, want 404", sha, st)
		}
	}
	for _, q := range []string{"1", "2", "live"} {
		_, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("doomed2"), Qualifier: aws.String(q)})
		wantTyped[*types.ResourceNotFoundException](t, err)
	}
	// A new function of that name starts afresh.
	e.create("doomed2")
	versions, err := e.client.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("doomed2")})
	if err != nil {
		t.Fatal(err)
	}
	if len(versions.Versions) != 1 || aws.ToString(versions.Versions[0].Version) != "$LATEST" {
		t.Errorf("versions of the new doomed2: %d, want $LATEST only", len(versions.Versions))
	}
	aliases, err := e.client.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: aws.String("doomed2")})
	if err != nil {
		t.Fatal(err)
	}
	if len(aliases.Aliases) != 0 {
		t.Errorf("aliases of the new doomed2: %d, want none", len(aliases.Aliases))
	}
	conc, err := e.client.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("doomed2")})
	if err != nil {
		t.Fatal(err)
	}
	if conc.ReservedConcurrentExecutions != nil {
		t.Errorf("reserved concurrency of the new doomed2: %d, want none", aws.ToInt32(conc.ReservedConcurrentExecutions))
	}
}

// DeleteFunction with a version number deletes that version only.
func TestDeleteFunctionVersion(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("versioned")
	sha1 := sha256Hex(makeZip(t, "versioned"))
	if _, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("versioned")}); err != nil {
		t.Fatal(err)
	}
	zip2 := makeZip(t, "versioned v2")
	if _, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("versioned"), ZipFile: zip2}); err != nil {
		t.Fatal(err)
	}
	e.waitUpdated("versioned")
	e.invoker.waitRetired(t, 1) // versioned:$LATEST, by the deployment
	if _, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("versioned")}); err != nil {
		t.Fatal(err)
	}
	// Version 2 shares its package with $LATEST: it stays.
	if _, err := e.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("versioned"), Qualifier: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	if st := e.codeStatus(sha256Hex(zip2)); st != http.StatusOK {
		t.Errorf("package of $LATEST after deleting version 2: GET %d, want 200", st)
	}
	// Version 1 alone used its package: it goes.
	if _, err := e.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("versioned:1")}); err != nil {
		t.Fatal(err)
	}
	if st := e.codeStatus(sha1); st != http.StatusNotFound {
		t.Errorf("package of deleted version 1: GET %d, want 404", st)
	}
	if r := e.invoker.Retired(); !slices.Equal(r, []string{"versioned:$LATEST", "versioned:2", "versioned:1"}) {
		t.Errorf("retired %v, want versioned:2 and versioned:1 after the deployment's versioned:$LATEST", r)
	}
	for _, q := range []string{"1", "2"} {
		_, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("versioned"), Qualifier: aws.String(q)})
		wantTyped[*types.ResourceNotFoundException](t, err)
	}
	// The function itself is untouched.
	got, err := e.client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("versioned")})
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(zip2); aws.ToString(got.CodeSha256) != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("$LATEST CodeSha256 = %s", aws.ToString(got.CodeSha256))
	}
	// Deleting it again succeeds: AWS answers 204 for a version that
	// does not exist (LocalStack's recording of
	// test_delete_on_nonexisting_version, replayed by internal/parity).
	if _, err = e.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("versioned"), Qualifier: aws.String("1")}); err != nil {
		t.Errorf("deleting a deleted version: %v, want 204", err)
	}
}

func TestDeleteFunctionErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("kept")
	if _, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("kept")}); err != nil {
		t.Fatal(err)
	}
	for _, alias := range []string{"zeta", "alpha"} {
		if _, err := e.client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("kept"), Name: aws.String(alias), FunctionVersion: aws.String("1")}); err != nil {
			t.Fatal(err)
		}
	}
	arn := "arn:aws:lambda:us-east-1:123456789012:function:"
	tests := []struct {
		name, fn, qualifier, code, msg string
	}{
		{"unknown", "ghost", "", "ResourceNotFoundException", "Function not found: " + arn + "ghost"},
		{"version of unknown function", "ghost", "1", "ResourceNotFoundException", "Function not found: " + arn + "ghost"},
		{"version of unknown function in name", "ghost:1", "", "ResourceNotFoundException", "Function not found: " + arn + "ghost"},
		{"aliased version", "kept", "1", "ResourceConflictException", "Unable to delete version because the following aliases reference it: [alpha, zeta]"},
		{"latest", "kept", "$LATEST", "InvalidParameterValueException", "$LATEST version cannot be deleted without deleting the function."},
		{"latest in name", "kept:$LATEST", "", "InvalidParameterValueException", "$LATEST version cannot be deleted without deleting the function."},
		{"alias", "kept", "alpha", "InvalidParameterValueException", "Deletion of aliases is not currently supported."},
		{"alias in name", arn + "kept:alpha", "", "InvalidParameterValueException", "Deletion of aliases is not currently supported."},
		{"alias of unknown function", "ghost", "$latest", "ResourceNotFoundException", "Function not found: " + arn + "ghost"},
		{"dotted name", "a.b", "", "ResourceNotFoundException", "Function not found: " + arn + "a.b"},
		{"long ARN", arn + strings.Repeat("a", 200), "", "ResourceNotFoundException", "Function not found: " + arn + strings.Repeat("a", 200)},
		{"bad name", "a!", "", "ValidationException", "1 validation error detected: Value 'a!' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: " + sluice.NamespacedFunctionNamePattern},
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
			switch tt.code {
			case "ResourceConflictException":
				wantTyped[*types.ResourceConflictException](t, err)
			case "InvalidParameterValueException":
				wantTyped[*types.InvalidParameterValueException](t, err)
			case "ResourceNotFoundException":
				wantTyped[*types.ResourceNotFoundException](t, err)
			}
		})
	}
	// A version that does not exist: 204, as on AWS.
	for _, in := range []*lambda.DeleteFunctionInput{
		{FunctionName: aws.String("kept"), Qualifier: aws.String("2")},
		{FunctionName: aws.String("kept:2")},
	} {
		if _, err := e.client.DeleteFunction(ctx, in); err != nil {
			t.Errorf("DeleteFunction(%s, %s) = %v, want 204", aws.ToString(in.FunctionName), aws.ToString(in.Qualifier), err)
		}
	}
	for _, q := range []string{"$LATEST", "1", "alpha", "zeta"} {
		if _, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("kept"), Qualifier: aws.String(q)}); err != nil {
			t.Errorf("kept:%s: %v", q, err)
		}
	}
	if st := e.codeStatus(sha256Hex(makeZip(t, "kept"))); st != http.StatusOK {
		t.Errorf("package of kept: GET %d", st)
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
	e.waitActive("two")
	// A published version is a user of the package too.
	if _, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("two")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("two"), ZipFile: makeZip(t, "own")}); err != nil {
		t.Fatal(err)
	}
	e.waitUpdated("two")
	// The deployment collects the package it replaced, then retires the
	// old environments: once they are retired, the collection is done.
	if r := e.invoker.waitRetired(t, 2); !slices.Equal(r, []string{"one:$LATEST", "two:$LATEST"}) {
		t.Fatalf("retired %v", r)
	}
	if st := e.codeStatus(sha); st != http.StatusOK {
		t.Fatalf("shared package still used by version two:1: GET %d, want 200", st)
	}
	if _, err := e.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("two"), Qualifier: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	if st := e.codeStatus(sha); st != http.StatusNotFound {
		t.Fatalf("shared package after its last user moved on: GET %d, want 404", st)
	}
	if st := e.codeStatus(sha256Hex(makeZip(t, "own"))); st != http.StatusOK {
		t.Fatalf("package of two: GET %d, want 200", st)
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
