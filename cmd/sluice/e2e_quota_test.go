package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/artifacts"
)

// storedSize is the storage sluice charges for package zipBytes: its zip
// and its tree as the central directory declares them.
func storedSize(t *testing.T, zipBytes []byte) int64 {
	t.Helper()
	s, err := artifacts.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var p artifacts.Package
	errMeasured := os.ErrClosed
	_, err = s.PutAdmitted(zipBytes, func(got artifacts.Package) error { p = got; return errMeasured })
	if err != errMeasured {
		t.Fatalf("measure a package: %v", err)
	}
	return p.StoredSize()
}

// codeDirs counts the stored zips and unpacked trees under dataDir.
func codeDirs(t *testing.T, dataDir string) (zips, trees int) {
	t.Helper()
	z, err := os.ReadDir(filepath.Join(dataDir, "code", "zip"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := os.ReadDir(filepath.Join(dataDir, "code", "unpacked"))
	if err != nil {
		t.Fatal(err)
	}
	return len(z), len(u)
}

// TestE2ECodeStorageQuota: with --code-storage-limit, creates and updates
// within the quota succeed, the one over it gets
// CodeStorageExceededException with nothing stored or unpacked, deleting a
// function frees room, a zip bomb is refused before it is unpacked, and
// GetAccountSettings reports the limit and the usage, after a restart too.
func TestE2ECodeStorageQuota(t *testing.T) {
	t.Parallel()
	zip1 := testFunctionZipWith(t, map[string][]byte{"which": []byte("1")})
	zip2 := testFunctionZipWith(t, map[string][]byte{"which": []byte("2")})
	zip3 := testFunctionZipWith(t, map[string][]byte{"which": []byte("3")})
	s1, s2, s3 := storedSize(t, zip1), storedSize(t, zip2), storedSize(t, zip3)
	limit := s1 + s2 + s3/2 // two packages fit, not three
	ts := startServer(t, func(c *Config) { c.CodeStorageLimit = limit })

	create := func(ts *testServer, name string, zipBytes []byte) error {
		_, err := ts.Client.CreateFunction(ctx(t), &lambda.CreateFunctionInput{
			FunctionName: aws.String(name),
			Runtime:      types.RuntimeProvidedal2023,
			Handler:      aws.String("echo"),
			Role:         aws.String("arn:aws:iam::000000000000:role/x"),
			Code:         &types.FunctionCode{ZipFile: zipBytes},
		})
		return err
	}
	usage := func(ts *testServer, want int64) {
		t.Helper()
		out, err := ts.Client.GetAccountSettings(ctx(t), &lambda.GetAccountSettingsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if out.AccountLimit.TotalCodeSize != limit || out.AccountUsage.TotalCodeSize != want {
			t.Fatalf("GetAccountSettings: limit %d usage %d; want %d and %d",
				out.AccountLimit.TotalCodeSize, out.AccountUsage.TotalCodeSize, limit, want)
		}
	}
	refused := func(what string, err error) {
		t.Helper()
		if !isA[*types.CodeStorageExceededException](err) || statusOf(err) != 400 {
			t.Fatalf("%s: %v (status %d); want CodeStorageExceededException, 400", what, err, statusOf(err))
		}
		if !strings.Contains(err.Error(), "Code storage limit exceeded.") {
			t.Fatalf("%s: message of %v", what, err)
		}
	}
	stored := func(wantZips, wantTrees int) {
		t.Helper()
		if z, u := codeDirs(t, ts.cfg.DataDir); z != wantZips || u != wantTrees {
			t.Fatalf("code store holds %d zips and %d trees, want %d and %d", z, u, wantZips, wantTrees)
		}
	}

	if err := create(ts, "one", zip1); err != nil {
		t.Fatal(err)
	}
	if err := create(ts, "two", zip2); err != nil {
		t.Fatal(err)
	}
	ts.waitActive(t, "one")
	ts.waitActive(t, "two")
	usage(ts, s1+s2)
	stored(2, 2)

	refused("CreateFunction over the quota", create(ts, "three", zip3))
	if _, err := ts.Client.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("three")}); !isA[*types.ResourceNotFoundException](err) {
		t.Fatalf("a refused function was stored: %v", err)
	}
	_, err := ts.Client.UpdateFunctionCode(ctx(t), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("one"), ZipFile: zip3})
	refused("UpdateFunctionCode over the quota", err)
	stored(2, 2)
	usage(ts, s1+s2)

	// A zip bomb: 200 KB that would unpack to 200 MB is refused at once,
	// from its central directory.
	bomb := zerosZip(t, 200<<20)
	start := time.Now()
	refused("CreateFunction of a zip bomb", create(ts, "bomb", bomb))
	t.Logf("FIGURE a %d-byte zip declaring 200 MiB refused in %v", len(bomb), time.Since(start))
	stored(2, 2)

	// Deleting a function frees its package's room.
	if _, err := ts.Client.DeleteFunction(ctx(t), &lambda.DeleteFunctionInput{FunctionName: aws.String("two")}); err != nil {
		t.Fatal(err)
	}
	usage(ts, s1)
	stored(1, 1)
	if err := create(ts, "three", zip3); err != nil {
		t.Fatalf("CreateFunction after a delete freed room: %v", err)
	}
	ts.waitActive(t, "three")
	succeeded(t, ts.invoke(t, "three", `{}`))
	usage(ts, s1+s3)

	// An update to a package the account keeps costs nothing, and frees
	// the package it replaces.
	if _, err := ts.Client.UpdateFunctionCode(ctx(t), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("one"), ZipFile: zip3}); err != nil {
		t.Fatalf("UpdateFunctionCode to a kept package: %v", err)
	}
	ts.waitUpdated(t, "one")
	usage(ts, s3)
	stored(1, 1)

	// The usage survives a restart.
	ts.stop(t)
	again := startServerWith(t, ts.cfg)
	usage(again, s3)
	if err := create(again, "two", zip2); err != nil {
		t.Fatalf("CreateFunction within the quota after a restart: %v", err)
	}
	refused("CreateFunction over the quota after a restart", create(again, "four", zip1))
}
