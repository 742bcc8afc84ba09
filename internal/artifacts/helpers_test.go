package artifacts_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/artifacts"
)

// zent describes one entry of a test zip.
type zent struct {
	name string
	body string
	// mode, when not zero, is set on the entry (a Unix mode in the
	// external attributes); otherwise the entry has no Unix mode.
	mode     fs.FileMode
	modified time.Time
	store    bool // Store instead of Deflate
}

// file, exe, dir and link build common entries.
func file(name, body string) zent { return zent{name: name, body: body, mode: 0o644} }
func exe(name, body string) zent  { return zent{name: name, body: body, mode: 0o755} }
func dir(name string) zent        { return zent{name: name, mode: fs.ModeDir | 0o755} }
func link(name, target string) zent {
	return zent{name: name, body: target, mode: fs.ModeSymlink | 0o777}
}

// makeZip returns a zip archive of the entries, in order.
func makeZip(t testing.TB, entries ...zent) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: e.modified}
		if e.store {
			h.Method = zip.Store
		}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		fw, err := w.CreateHeader(h)
		if err != nil {
			t.Fatalf("zip entry %q: %v", e.name, err)
		}
		if _, err := fw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func openStore(t testing.TB, dir string) *artifacts.Store {
	t.Helper()
	s, err := artifacts.Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func mustPut(t testing.TB, s *artifacts.Store, b []byte) string {
	t.Helper()
	sha, _, err := s.Put(b)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	return sha
}

func mustDir(t testing.TB, s *artifacts.Store, sha string) string {
	t.Helper()
	d, err := s.Dir(sha)
	if err != nil {
		t.Fatalf("Dir: %v", err)
	}
	return d
}

// wantError checks that err is a *sluice.Error of the given code, and with
// the given message unless msg is "".
func wantError(t testing.TB, err error, code sluice.ErrorCode, msg, what string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %s", what, code)
		return
	}
	if got := sluice.ErrorCodeOf(err); got != code {
		t.Errorf("%s: %v (code %s), want code %s", what, err, got, code)
		return
	}
	if msg != "" {
		if e, _ := err.(*sluice.Error); e == nil || e.Message != msg {
			t.Errorf("%s: message of %v, want %q", what, err, msg)
		}
	}
}

// tree lists the paths under dir, relative and slash-separated, with a
// description of each: "d 0755", "f 0644 <content>" or "l -> <target>".
func tree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "l -> " + target
		case fi.IsDir():
			out[rel] = "d " + modeString(fi.Mode())
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = "f " + modeString(fi.Mode()) + " " + string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return out
}

// modeString formats the permission bits of m in octal, with the setuid,
// setgid and sticky bits, e.g. "0755" or "4755".
func modeString(m fs.FileMode) string {
	p := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		p |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		p |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		p |= 0o1000
	}
	return fmt.Sprintf("%04o", p)
}

// entriesOf lists the names in dir.
func entriesOf(t testing.TB, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// diffTree reports the differences between two results of tree.
func diffTree(t testing.TB, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: missing, want %q", k, w)
		} else if g != w {
			t.Errorf("%s: got %q, want %q", k, g, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected %q", k, g)
		}
	}
}
