package artifacts_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/artifacts"
)

// A package's storage is its zip and its tree as the central directory
// declares them, every file, symlink and directory in whole blocks; Stat
// reads the same from the stored zip, and the tree Dir writes takes no
// more.
func TestPackageStorage(t *testing.T) {
	const b = artifacts.BlockSize
	zipBytes := makeZip(t,
		file("a", "ten bytes!"),                   // 1 block
		file("d/e/big", strings.Repeat("x", b+1)), // 2 blocks, under 2 implicit directories
		exe("bootstrap", ""),                      // empty: 1 block
		link("l", "a"),                            // 1 block
		dir("empty/"),                             // 1 block
	)
	want := int64(b + 1*b + 2*b + 2*b + b + b + b) // root, a, big, d and d/e, bootstrap, l, empty
	s := openStore(t, t.TempDir())

	var admitted artifacts.Package
	p, err := s.PutAdmitted(zipBytes, func(p artifacts.Package) error { admitted = p; return nil })
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(zipBytes)
	if p != admitted || p.SHA256 != hex.EncodeToString(sum[:]) || p.Size != int64(len(zipBytes)) || p.UnpackedSize != want {
		t.Errorf("PutAdmitted = %+v, admitted %+v; want sha %x, size %d, unpacked %d", p, admitted, sum, len(zipBytes), want)
	}
	if got := p.StoredSize(); got != b+want {
		t.Errorf("StoredSize = %d, want %d", got, b+want)
	}
	st, err := s.Stat(p.SHA256)
	if err != nil || st != p {
		t.Errorf("Stat = %+v, %v; want %+v", st, err, p)
	}
	if got := diskUsage(t, mustDir(t, s, p.SHA256)); got > p.UnpackedSize {
		t.Errorf("the unpacked tree takes %d bytes, more than the %d charged", got, p.UnpackedSize)
	}

	_, err = s.Stat(strings.Repeat("0", 64))
	wantError(t, err, sluice.ENotFound, "", "Stat of a package not stored")
}

// A 300 KB zip of zeros is charged for the 250 MB it unpacks to, not for
// its 300 KB: the central directory says so, nothing is inflated.
func TestPackageStorageOfZeros(t *testing.T) {
	bomb := zeroBomb(t, "zeros", 250<<20)
	s := openStore(t, t.TempDir())
	p, err := s.PutAdmitted(bomb, func(artifacts.Package) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	// The file, a whole number of blocks, and the root.
	if want := int64(250<<20 + artifacts.BlockSize); p.UnpackedSize != want {
		t.Errorf("UnpackedSize = %d, want %d", p.UnpackedSize, want)
	}
	if artifacts.Unpacks(s) != 0 {
		t.Error("PutAdmitted unpacked the package")
	}
}

// A package admit refuses is not stored, and the refusal is PutAdmitted's
// error; a package that fails the structural checks never reaches admit.
func TestPutAdmittedRefusal(t *testing.T) {
	storeDir := t.TempDir()
	s := openStore(t, storeDir)
	refusal := sluice.Errorf(sluice.ECodeStorageExceeded, "Code storage limit exceeded.")
	for name, zipBytes := range map[string][]byte{
		"small":       makeZip(t, exe("bootstrap", "#!/bin/sh\n")),
		"200 MB bomb": zeroBomb(t, "zeros", 200<<20),
	} {
		_, err := s.PutAdmitted(zipBytes, func(artifacts.Package) error { return refusal })
		if !errors.Is(err, refusal) {
			t.Errorf("%s: PutAdmitted = %v, want the refusal", name, err)
		}
	}
	if names := entriesOf(t, filepath.Join(storeDir, "zip")); len(names) != 0 {
		t.Errorf("zip directory holds %q after refusals", names)
	}
	if names := entriesOf(t, filepath.Join(storeDir, "unpacked")); len(names) != 0 {
		t.Errorf("unpacked directory holds %q after refusals", names)
	}

	called := false
	_, err := s.PutAdmitted([]byte("not a zip"), func(artifacts.Package) error { called = true; return nil })
	wantError(t, err, sluice.EInvalidZip, artifacts.InvalidZipMessage, "PutAdmitted of garbage")
	_, err = s.PutAdmitted(zeroBomb(t, "zeros", 300<<20), func(artifacts.Package) error { called = true; return nil })
	wantError(t, err, sluice.EInvalidParameter, "Unzipped size must be smaller than 262144000 bytes", "PutAdmitted of a 300 MB bomb")
	if called {
		t.Error("admit was asked about a package that fails the structural checks")
	}
}

// The copier of Dir writes at most what the entries declared, below the
// limit, whatever archive/zip lets through.
func TestCopierBudget(t *testing.T) {
	for _, tc := range []struct {
		n, limit, budget int64
		tooLarge         bool
	}{
		{100, 1000, 100, false},
		{101, 1000, 100, true},
		{2000, 1000, 5000, true}, // the budget never exceeds the limit
		{1000, 1000, 5000, false},
	} {
		var dst bytes.Buffer
		err := artifacts.CopyBudget(&dst, bytes.NewReader(make([]byte, tc.n)), tc.limit, tc.budget)
		if got := artifacts.IsTooLarge(err); got != tc.tooLarge {
			t.Errorf("copy %d bytes, limit %d, budget %d: error %v, want too large = %v", tc.n, tc.limit, tc.budget, err, tc.tooLarge)
		}
		if int64(dst.Len()) > min(tc.limit, tc.budget) {
			t.Errorf("copy %d bytes, limit %d, budget %d: wrote %d", tc.n, tc.limit, tc.budget, dst.Len())
		}
	}
}

// diskUsage sums the blocks the files and directories under dir take.
func diskUsage(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		n += st.Blocks * 512
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
