package main

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// bigZip returns the test function's package plus a file of n
// incompressible bytes, stored: a package that is slow to unpack.
func bigZip(t *testing.T, n int) []byte {
	t.Helper()
	small := testFunctionZipWith(t, nil)
	zr, err := zip.NewReader(bytes.NewReader(small), int64(len(small)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "data.bin", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.NewChaCha8([32]byte{1})
	if _, err := io.CopyN(w, rng, int64(n)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zerosZip returns a tiny zip that unpacks to n zero bytes.
func zerosZip(t *testing.T, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "zeros", Method: zip.Deflate})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(w, zeroReader{}, n); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hasCode reports whether err is an API error with the given code.
func hasCode(code string) func(error) bool {
	return func(err error) bool {
		var api interface{ ErrorCode() string }
		return errors.As(err, &api) && api.ErrorCode() == code
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestE2EPackageStatesAndLimits: a large package is deployed in the
// background (Pending, then Active; InProgress, then Successful) and runs;
// the zipped and unzipped size limits are refused with Lambda's errors,
// before anything is stored.
func TestE2EPackageStatesAndLimits(t *testing.T) {
	// Not parallel: it loads the machine, and runs alone before the
	// parallel tests start, so that their timings do not suffer.
	ts := startServer(t, nil)
	big := bigZip(t, 40<<20)

	created, err := ts.Client.CreateFunction(ctx(t), &lambda.CreateFunctionInput{
		FunctionName: aws.String("large"),
		Runtime:      types.RuntimeProvidedal2023,
		Handler:      aws.String("echo"),
		Role:         aws.String("arn:aws:iam::000000000000:role/x"),
		Code:         &types.FunctionCode{ZipFile: big},
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.State != types.StatePending || aws.ToString(created.StateReason) != "The function is being created." ||
		created.StateReasonCode != types.StateReasonCodeCreating || created.LastUpdateStatus != "" {
		t.Fatalf("CreateFunction response: State %q %q %q LastUpdateStatus %q; want Pending, being created, Creating, none",
			created.State, aws.ToString(created.StateReason), created.StateReasonCode, created.LastUpdateStatus)
	}
	ts.waitActive(t, "large")
	out := ts.invoke(t, "large", `{"big":true}`)
	succeeded(t, out)
	if string(out.Payload) != `{"big":true}` {
		t.Fatalf("payload %s", out.Payload)
	}

	updated, err := ts.Client.UpdateFunctionCode(ctx(t), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("large"), ZipFile: bigZip(t, 41<<20)})
	if err != nil {
		t.Fatal(err)
	}
	if updated.State != types.StateActive || updated.LastUpdateStatus != types.LastUpdateStatusInProgress ||
		updated.LastUpdateStatusReasonCode != "Creating" {
		t.Fatalf("UpdateFunctionCode response: State %q LastUpdateStatus %q (%q)", updated.State, updated.LastUpdateStatus, updated.LastUpdateStatusReasonCode)
	}
	// Invocations go on during the update (served by the previous code).
	succeeded(t, ts.invoke(t, "large", `{}`))
	ts.waitUpdated(t, "large")
	got, err := ts.Client.GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("large")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.CodeSha256) != aws.ToString(updated.CodeSha256) || got.LastUpdateStatus != types.LastUpdateStatusSuccessful {
		t.Fatalf("after the update: sha %s status %q; want %s Successful", aws.ToString(got.CodeSha256), got.LastUpdateStatus, aws.ToString(updated.CodeSha256))
	}
	succeeded(t, ts.invoke(t, "large", `{}`))

	limits := []struct {
		name   string
		zip    []byte
		status int
		check  func(error) bool
		msg    string
	}{
		{"unzipped over 250 MB", zerosZip(t, 262144000+1), 400, isA[*types.InvalidParameterValueException], "Unzipped size must be smaller than 262144000 bytes"},
		{"request over Lambda's body limit", bigZip(t, 50<<20), 413, hasCode("RequestEntityTooLargeException"), "Request must be smaller than 70167211 bytes for the CreateFunction operation"},
		{"zipped over 50 MB", make([]byte, 52428800+1), 413, hasCode("RequestEntityTooLargeException"), "Zipped size must be smaller than 52428800 bytes"},
	}
	for _, tc := range limits {
		_, err := ts.Client.CreateFunction(ctx(t), &lambda.CreateFunctionInput{
			FunctionName: aws.String("toolarge"),
			Runtime:      types.RuntimeProvidedal2023,
			Handler:      aws.String("echo"),
			Role:         aws.String("arn:aws:iam::000000000000:role/x"),
			Code:         &types.FunctionCode{ZipFile: tc.zip},
		})
		if err == nil || statusOf(err) != tc.status || !tc.check(err) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v (status %d); want %d %q", tc.name, err, statusOf(err), tc.status, tc.msg)
		}
	}
	if _, err := ts.Client.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("toolarge")}); !isA[*types.ResourceNotFoundException](err) {
		t.Fatalf("a refused package left a function behind: %v", err)
	}
}
