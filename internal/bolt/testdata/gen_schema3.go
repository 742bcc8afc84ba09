//go:build ignore

// gen_schema3 writes schema3.db.gz, the store file of the migration test
// (TestOpenMigratesSchema3), with internal/bolt as it was at schema
// version 3 (the sluice of commit c1c4a66). To make it again, copy this
// file into internal/bolt/testdata of a checkout of that commit and run
//
//	go run ./internal/bolt/testdata/gen_schema3.go OUTDIR
//
// from the checkout's root.
package main

import (
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/bolt"
)

func main() {
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func fn(name, rev string) *sluice.Function {
	return &sluice.Function{
		Name: name, Version: sluice.LatestVersion, Runtime: "provided.al2023",
		Role: "arn:aws:iam::000000000000:role/lambda-role", Handler: "bootstrap",
		Description: "written by schema 3", Timeout: 30, MemorySize: 256, EphemeralStorage: 1024,
		Architectures: []string{"x86_64"}, Environment: map[string]string{"A": "1"},
		CodeSHA256: "abab", CodeSize: 1234,
		LastModified: time.Date(2025, 1, 2, 3, 4, 5, 6_000_000, time.UTC),
		RevisionID:   rev, State: sluice.StateActive, LastUpdateStatus: sluice.UpdateSuccessful,
	}
}

func run(dir string) error {
	ctx := context.Background()
	path := filepath.Join(dir, "sluice.db")
	s, err := bolt.Open(path)
	if err != nil {
		return err
	}
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}

	// alpha: two versions, two aliases (one weighted), reserved
	// concurrency, a URL of its own and one of an alias.
	alpha := fn("alpha", "rev-alpha")
	alpha.FileSystemConfigs = []sluice.FileSystemConfig{{ARN: "arn:aws:elasticfilesystem:us-east-1:000000000000:access-point/fsap-1", LocalMountPath: "/mnt/data"}}
	must(s.CreateFunction(ctx, alpha))
	for i, rev := range []string{"rev-alpha-v1", "rev-alpha-v2"} {
		v := alpha.Clone()
		v.RevisionID = rev
		v.Description = fmt.Sprintf("version %d", i+1)
		_, err := s.PublishVersion(ctx, v, alpha.RevisionID)
		must(err)
	}
	must(s.CreateAlias(ctx, &sluice.Alias{FunctionName: "alpha", Name: "live", FunctionVersion: "1", Description: "live one",
		AdditionalVersionWeights: map[string]float64{"2": 0.25}, RevisionID: "rev-live"}))
	must(s.CreateAlias(ctx, &sluice.Alias{FunctionName: "alpha", Name: "dev", FunctionVersion: sluice.LatestVersion, RevisionID: "rev-dev"}))
	must(s.SetReservedConcurrency(ctx, "alpha", 7))
	created := time.Date(2025, 1, 2, 3, 4, 5, 123456000, time.UTC)
	must(s.CreateFunctionURL(ctx, &sluice.FunctionURLConfig{FunctionName: "alpha", URLID: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1",
		AuthType: sluice.URLAuthNone, InvokeMode: sluice.InvokeModeBuffered,
		Cors:         &sluice.Cors{AllowOrigins: []string{"https://example.com"}, AllowMethods: []string{"GET"}, MaxAge: 60},
		CreationTime: created, LastModifiedTime: created}))
	must(s.CreateFunctionURL(ctx, &sluice.FunctionURLConfig{FunctionName: "alpha", Qualifier: "live", URLID: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2",
		AuthType: sluice.URLAuthIAM, InvokeMode: sluice.InvokeModeResponseStream, CreationTime: created, LastModifiedTime: created}))

	// beta: an update in progress (Previous), and a deleted version, so
	// that the counter (2) is ahead of the versions (1).
	beta := fn("beta", "rev-beta")
	must(s.CreateFunction(ctx, beta))
	for _, rev := range []string{"rev-beta-v1", "rev-beta-v2"} {
		v := beta.Clone()
		v.RevisionID = rev
		_, err := s.PublishVersion(ctx, v, beta.RevisionID)
		must(err)
	}
	must(s.DeleteVersion(ctx, "beta", "2"))
	next := beta.Clone()
	next.RevisionID = "rev-beta-next"
	next.CodeSHA256 = "cdcd"
	next.LastUpdateStatus = sluice.UpdateInProgress
	next.LastUpdateStatusReason = "The function is being created."
	next.LastUpdateStatusReasonCode = "Creating"
	next.Previous = beta.Clone()
	must(s.UpdateFunction(ctx, next, beta.RevisionID))

	// gamma: a function and nothing else.
	must(s.CreateFunction(ctx, fn("gamma", "rev-gamma")))
	if err := s.Close(); err != nil {
		return err
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := os.Create(filepath.Join(dir, "schema3.db.gz"))
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(out)
	if _, err := zw.Write(raw); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return out.Close()
}
