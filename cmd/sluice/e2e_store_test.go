package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/lambdaclient"
)

// runBin runs the sluice binary with args and returns its output and exit
// status.
func runBin(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(c, bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		code = ee.ExitCode()
	default:
		t.Fatalf("%s %q: %v\n%s", bin, args, err, e.String())
	}
	return o.String(), e.String(), code
}

// stopSluice sends SIGTERM and waits for a clean exit.
func stopSluice(t *testing.T, s *sluiceProcess) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
		if s.waitErr != nil {
			t.Fatalf("sluice exited with %v\n%s", s.waitErr, s.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("sluice did not exit within 30 s of SIGTERM")
	}
}

// newestBackup returns the newest of serve's backups in dir ("" if none).
func newestBackup(t *testing.T, dir string) string {
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "sluice-") && strings.HasSuffix(e.Name(), ".db") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	return filepath.Join(dir, names[len(names)-1])
}

func listNames(t *testing.T, c *lambda.Client) []string {
	t.Helper()
	out, err := c.ListFunctions(ctx(t), &lambda.ListFunctionsInput{})
	if err != nil {
		t.Fatalf("ListFunctions: %v", err)
	}
	var names []string
	for _, f := range out.Functions {
		names = append(names, aws.ToString(f.FunctionName))
	}
	return names
}

// TestE2EStoreBackupCheckRestore runs the sluice binary: backups while it
// serves (at start and on SIGUSR1), store check, a server that refuses
// an emptied and a damaged store with the way out, store restore (which
// keeps the broken file) and store repair.
func TestE2EStoreBackupCheckRestore(t *testing.T) {
	t.Parallel()
	bin := buildSluice(t)
	dir := t.TempDir()
	data, bk := filepath.Join(dir, "data"), filepath.Join(dir, "backups")
	serveArgs := []string{"--data-dir", data, "--sandbox", "none", "--shutdown-grace", "2s"}
	s := startSluice(t, bin, append(serveArgs, "--backup-dir", bk, "--backup-interval", "1h")...)
	client := lambdaclient.New(s.url, "test", "test")
	want := []string{"alpha", "bravo", "charlie"}
	for _, name := range want {
		_, err := client.CreateFunction(ctx(t), &lambda.CreateFunctionInput{
			FunctionName: aws.String(name),
			Runtime:      types.RuntimeProvidedal2023,
			Handler:      aws.String("echo"),
			Role:         aws.String("arn:aws:iam::000000000000:role/x"),
			Code:         &types.FunctionCode{ZipFile: testFunctionZip},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The backup at start has none of them; SIGUSR1 makes one that has
	// all three, while the server serves.
	if !eventually(10*time.Second, func() bool { return newestBackup(t, bk) != "" }) {
		t.Fatalf("no backup at start in %s\n%s", bk, s.stderr.String())
	}
	first := newestBackup(t, bk)
	if err := s.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if !eventually(10*time.Second, func() bool { return newestBackup(t, bk) != first }) {
		t.Fatalf("no backup after SIGUSR1\n%s", s.stderr.String())
	}
	backup := newestBackup(t, bk)
	if out, errs, code := runBin(t, bin, "store", "check", "--file", backup); code != 0 || !strings.Contains(out, "whole: 3 functions") {
		t.Errorf("store check --file of the SIGUSR1 backup: status %d\n%s%s", code, out, errs)
	}
	if got := listNames(t, client); !slices.Equal(got, want) {
		t.Errorf("functions while backing up: %q", got)
	}
	// A second process cannot read the store while the server holds it:
	// backup and check say so.
	if _, errs, code := runBin(t, bin, "store", "backup", "--data-dir", data, "--to", filepath.Join(dir, "x.db")); code != 1 || !strings.Contains(errs, "SIGUSR1") {
		t.Errorf("store backup while serving: status %d, want 1 and the way to back up a running server\n%s", code, errs)
	}
	if _, errs, code := runBin(t, bin, "store", "check", "--data-dir", data); code != 3 || !strings.Contains(errs, "in use by another sluice") {
		t.Errorf("store check while serving: status %d, want 3\n%s", code, errs)
	}
	stopSluice(t, s)
	if out, errs, code := runBin(t, bin, "store", "check", "--data-dir", data); code != 0 || !strings.Contains(out, "whole: 3 functions") {
		t.Fatalf("store check of the stopped server's store: status %d\n%s%s", code, out, errs)
	}
	offline := filepath.Join(dir, "offline.db")
	if out, errs, code := runBin(t, bin, "store", "backup", "--data-dir", data, "--to", offline); code != 0 || !strings.Contains(out, "3 functions") {
		t.Fatalf("store backup: status %d\n%s%s", code, out, errs)
	}

	// The store file emptied (a disk full at the wrong moment, an
	// operator's mistake): the server refuses it, and says what to do.
	db := filepath.Join(data, "sluice.db")
	if err := os.Truncate(db, 0); err != nil {
		t.Fatal(err)
	}
	_, errs, code := runBin(t, bin, append([]string{"serve", "--listen", "127.0.0.1:0"}, serveArgs...)...)
	if code != 1 || !strings.Contains(errs, "is not whole") || !strings.Contains(errs, "sluice store restore --data-dir "+data) {
		t.Fatalf("serve on an emptied store: status %d, want 1 with the way out\n%s", code, errs)
	}
	if st, err := os.Stat(db); err != nil || st.Size() != 0 {
		t.Fatalf("the refused store changed: %v %v", st, err)
	}
	if _, errs, code := runBin(t, bin, "store", "check", "--data-dir", data); code != 1 || !strings.Contains(errs, "NOT WHOLE") || !strings.Contains(errs, "empty (0 bytes)") {
		t.Errorf("store check of the emptied store: status %d, want 1\n%s", code, errs)
	}
	out, errs, code := runBin(t, bin, "store", "restore", "--data-dir", data, "--from", backup)
	if code != 0 || !strings.Contains(out, "kept the store that was there as "+db+".broken-") {
		t.Fatalf("store restore: status %d\n%s%s", code, out, errs)
	}
	s = startSluice(t, bin, serveArgs...)
	if got := listNames(t, lambdaclient.New(s.url, "test", "test")); !slices.Equal(got, want) {
		t.Errorf("functions after restore: %q, want %q", got, want)
	}
	stopSluice(t, s)

	// The newer meta page corrupt: bbolt would silently roll back a
	// transaction; the server refuses, and store repair rewrites the
	// store from the other meta page.
	b, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	const ps = 4096
	newer := 0
	if binary.LittleEndian.Uint64(b[ps+64:]) > binary.LittleEndian.Uint64(b[64:]) {
		newer = 1
	}
	clear(b[newer*ps+16 : newer*ps+32]) // magic, version, page size, flags
	if err := os.WriteFile(db, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, errs, code = runBin(t, bin, append([]string{"serve", "--listen", "127.0.0.1:0"}, serveArgs...)...)
	if code != 1 || !strings.Contains(errs, "would silently fall back") || !strings.Contains(errs, "sluice store repair") {
		t.Fatalf("serve on a store with a corrupt meta page: status %d, want 1\n%s", code, errs)
	}
	out, errs, code = runBin(t, bin, "store", "repair", "--data-dir", data)
	if code != 0 || !strings.Contains(out, "kept the damaged file as") {
		t.Fatalf("store repair: status %d\n%s%s", code, out, errs)
	}
	if out, errs, code := runBin(t, bin, "store", "check", "--data-dir", data); code != 0 {
		t.Fatalf("store check after repair: status %d\n%s%s", code, out, errs)
	}
	// A restore from a backup that is not whole changes nothing.
	if err := os.WriteFile(filepath.Join(dir, "bad.db"), b[:len(b)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(db)
	if _, errs, code := runBin(t, bin, "store", "restore", "--data-dir", data, "--from", filepath.Join(dir, "bad.db")); code != 1 || !strings.Contains(errs, "not whole") {
		t.Errorf("store restore from a broken backup: status %d\n%s", code, errs)
	}
	if after, _ := os.ReadFile(db); !bytes.Equal(before, after) {
		t.Errorf("a refused restore changed the store")
	}
}

// TestServeRefusesLostStoreOfOldDataDir: a data dir written before the
// store had a marker, with code but no store file, is refused rather
// than served as an empty store.
func TestServeRefusesLostStoreOfOldDataDir(t *testing.T) {
	data := t.TempDir()
	zipDir := filepath.Join(data, "code", "zip")
	if err := os.MkdirAll(zipDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(zipDir, "0123abcd.zip"), testFunctionZip, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "sluice.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	// A server that starts anyway serves an empty store until c ends.
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code := run(c, []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", data, "--sandbox", "none"}, &out, &errs)
	if strings.Contains(out.String(), "sluice listening") {
		t.Fatalf("serve started on a data dir with code but no store: it serves an empty store\n%s", out.String())
	}
	if code != 1 || !strings.Contains(errs.String(), "holds the code of 1 deployment packages") || !strings.Contains(errs.String(), "sluice store restore") {
		t.Errorf("serve: status %d, want 1 with the way out\n%s%s", code, out.String(), errs.String())
	}
	if code := run(context.Background(), []string{"store", "check", "--data-dir", data}, &out, &errs); code != 1 {
		t.Errorf("store check: status %d, want 1", code)
	}
}

func TestStoreHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "store"}, {"store", "--help"}, {"store", "help"}} {
		var out, errs bytes.Buffer
		if code := run(context.Background(), args, &out, &errs); code != 0 || !strings.Contains(out.String(), "sluice store restore [--data-dir DIR] --from FILE") {
			t.Errorf("sluice %q: status %d\n%s%s", args, code, out.String(), errs.String())
		}
	}
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"store", "frobnicate"}, &out, &errs); code != 2 {
		t.Errorf("sluice store frobnicate: status %d, want 2", code)
	}
}
