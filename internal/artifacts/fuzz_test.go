package artifacts_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/artifacts"
)

// FuzzPut feeds arbitrary bytes to Put and, when Put accepts them, to Dir.
// Neither may panic or write outside the store directory; both fail only
// with EInvalidZip or EInvalidParameter (Put checks the structure, Dir the
// content), and a failed Dir leaves no tree behind.
func FuzzPut(f *testing.F) {
	for _, entries := range [][]zent{
		{exe("bootstrap", script)},
		{dir("lib/"), file("lib/a.txt", "a"), link("l", "lib/a.txt")},
		{file("a/b/c", "deep"), zent{name: "plain", body: "no mode"}},
		{link("l", ".."), file("l/evil", "x")},
		{file("../evil", "x")},
		{file("/evil", "x")},
		{link("l", "/"), file("m", "x")},
		{file("f", "x"), file("f", "y")},
		{dir("./"), file("./x", "x")},
	} {
		f.Add(makeZip(f, entries...))
	}
	f.Add(corruptData(f, makeZip(f, file("a", text(2000)), link("l", "a")), "a"))
	f.Add(lyingZip(f, 100, 5000))
	f.Add([]byte{})
	f.Add([]byte("PK\x03\x04garbage"))
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))

	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		victim := filepath.Join(parent, "victim")
		if err := os.Mkdir(victim, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(victim, "sentinel"), []byte("untouched"), 0o644); err != nil {
			t.Fatal(err)
		}
		// Nested, so that escapes by a few ".." land in parent.
		storeDir := filepath.Join(parent, "a", "b", "store")
		s := openStore(t, storeDir)
		artifacts.SetMaxUnzipped(s, 1<<20) // keep each run fast

		sha, size, err := s.Put(data)
		if err != nil {
			if code := sluice.ErrorCodeOf(err); code != sluice.EInvalidZip && code != sluice.EInvalidParameter {
				t.Fatalf("Put: %v (code %s), want invalid zip or invalid parameter", err, code)
			}
		} else {
			sum := sha256.Sum256(data)
			if sha != hex.EncodeToString(sum[:]) || size != int64(len(data)) {
				t.Fatalf("Put = %s, %d; want the sha256 and size of the input", sha, size)
			}
			d, err := s.Dir(sha)
			if err != nil {
				if code := sluice.ErrorCodeOf(err); code != sluice.EInvalidZip && code != sluice.EInvalidParameter {
					t.Fatalf("Dir: %v (code %s), want invalid zip or invalid parameter", err, code)
				}
				if names := entriesOf(t, filepath.Join(storeDir, "unpacked")); len(names) != 0 {
					t.Errorf("unpacked directory holds %q after a failed Dir", names)
				}
			} else {
				// Everything in the tree is a directory, a regular file or a
				// symlink, and reading it goes nowhere outside.
				err = filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
					if err != nil {
						return err
					}
					if tp := de.Type(); tp != 0 && tp != fs.ModeDir && tp != fs.ModeSymlink {
						t.Errorf("%s has type %v", p, tp)
					}
					return nil
				})
				if err != nil {
					t.Fatalf("walk unpacked tree: %v", err)
				}
			}
		}

		// Nothing was written outside the store directory.
		if names := entriesOf(t, parent); !slices.Equal(names, []string{"a", "victim"}) {
			t.Errorf("parent holds %q", names)
		}
		if names := entriesOf(t, filepath.Join(parent, "a")); !slices.Equal(names, []string{"b"}) {
			t.Errorf("parent/a holds %q", names)
		}
		if names := entriesOf(t, filepath.Join(parent, "a", "b")); !slices.Equal(names, []string{"store"}) {
			t.Errorf("parent/a/b holds %q", names)
		}
		if names := entriesOf(t, victim); !slices.Equal(names, []string{"sentinel"}) {
			t.Errorf("victim holds %q", names)
		}
		if b, err := os.ReadFile(filepath.Join(victim, "sentinel")); err != nil || string(b) != "untouched" {
			t.Errorf("sentinel = %q, %v", b, err)
		}
		if names := entriesOf(t, storeDir); !slices.Equal(names, []string{"unpacked", "zip"}) {
			t.Errorf("store holds %q", names)
		}
	})
}
