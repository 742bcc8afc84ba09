package main

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// bigZip returns the test function's package plus a file of n
// incompressible bytes, stored: a package that is slow to unpack. The
// bytes are an AES-CTR key stream (incompressible, and made in assembly:
// a pure-Go generator under the race detector took most of this test's
// time); n selects the package, so different sizes differ.
func bigZip(t *testing.T, n int) []byte {
	t.Helper()
	small := testFunctionZip
	zr, err := zip.NewReader(bytes.NewReader(small), int64(len(small)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.Grow(len(small) + n + 1024)
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
	block, err := aes.NewCipher(make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	stream := cipher.NewCTR(block, make([]byte, aes.BlockSize))
	chunk := make([]byte, 1<<20)
	for left := n; left > 0; left -= len(chunk) {
		c := chunk[:min(left, len(chunk))]
		clear(c)
		stream.XORKeyStream(c, c)
		if _, err := w.Write(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zerosZip returns a tiny zip that unpacks to n zero bytes. Its deflate
// stream is made once for a few MiB and repeated (compressing all n
// bytes took a minute and more under the race detector): a block of
// zeros whose matches reach back only into zeros decodes to the same
// zeros wherever it stands after 32 KiB of them. The CRC is computed
// over the n zeros, so the archive is valid and unpacks to exactly n
// zero bytes.
func zerosZip(t *testing.T, n int64) []byte {
	t.Helper()
	const lead, block = 64 << 10, 1 << 20
	if n < lead+block {
		t.Fatalf("zerosZip(%d): at least %d bytes", n, lead+block)
	}
	var raw bytes.Buffer
	fw, err := flate.NewWriter(&raw, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, block)
	deflate := func(k int) []byte {
		start := raw.Len()
		if _, err := fw.Write(zeros[:k]); err != nil {
			t.Fatal(err)
		}
		if err := fw.Flush(); err != nil {
			t.Fatal(err)
		}
		return bytes.Clone(raw.Bytes()[start:])
	}
	head := deflate(lead)
	body := deflate(block)
	reps := (n - lead) / block
	rest := (n - lead) % block
	raw.Reset()
	if _, err := fw.Write(zeros[:rest]); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	tail := raw.Bytes()

	var stream bytes.Buffer
	stream.Write(head)
	for range reps {
		stream.Write(body)
	}
	stream.Write(tail)
	var crc uint32
	for left := n; left > 0; left -= block {
		crc = crc32.Update(crc, crc32.IEEETable, zeros[:min(left, block)])
	}

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "zeros", Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(stream.Len()), UncompressedSize64: uint64(n)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(stream.Bytes()); err != nil {
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

	// The update's package is smaller: the states of an update do not
	// depend on its size, and the 40 MiB above already carried a package
	// near the limit through the SDK and the server.
	updated, err := ts.Client.UpdateFunctionCode(ctx(t), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("large"), ZipFile: bigZip(t, 8<<20)})
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
