package hotreload

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
)

// makeTree makes root/fn (a directory with a file), root/file, outside (a
// directory beside root) and symlinks in root to each.
func makeTree(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root, outside = filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(root, "fn", "sub"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(root, "fn", "index.py"), "v1")
	write(t, filepath.Join(root, "file"), "x")
	must(t, os.Symlink(outside, filepath.Join(root, "escape")))
	must(t, os.Symlink(filepath.Join(root, "fn"), filepath.Join(root, "alias")))
	must(t, os.Symlink("fn", filepath.Join(outside, "back"))) // dangling, relative
	return root, outside
}

func write(t *testing.T, path, content string) {
	t.Helper()
	must(t, os.WriteFile(path, []byte(content), 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestResolve(t *testing.T) {
	root, outside := makeTree(t)
	r, err := NewRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	fn := filepath.Join(root, "fn")
	for _, c := range []struct {
		path, want, msg string
	}{
		{fn, fn, ""},
		{fn + "/", fn, ""},
		{filepath.Join(root, "fn", "sub", ".."), fn, ""},
		{filepath.Join(root, "alias"), fn, ""},                           // a symlink inside the root, to inside
		{root, root, ""},                                                 // the root itself
		{filepath.Join(root, "fn", "sub"), filepath.Join(fn, "sub"), ""}, // any depth
		{"fn", "", "When using hot reloading, the archive key has to be an absolute path! Your archive key: fn"},
		{"./" + fn, "", "has to be an absolute path"},
		{filepath.Join(root, "missing"), "", "does not exist"},
		{filepath.Join(root, "file"), "", "is not one"},
		{outside, "", "under the server's --hot-reload-root"},
		{filepath.Join(root, "..", "outside"), "", "under the server's --hot-reload-root"},
		{filepath.Join(root, "escape"), "", "under the server's --hot-reload-root"}, // symlink to outside
		{root + "-sibling", "", "does not exist"},
		{"/", "", "under the server's --hot-reload-root"},
	} {
		got, err := r.Resolve(c.path)
		if c.msg == "" {
			if err != nil || got != c.want {
				t.Errorf("Resolve(%q) = %q, %v; want %q", c.path, got, err, c.want)
			}
			continue
		}
		var e *sluice.Error
		if !errors.As(err, &e) || e.Code != sluice.EInvalidParameter || !strings.Contains(e.Message, c.msg) {
			t.Errorf("Resolve(%q) = %q, %v; want InvalidParameterValue %q", c.path, got, err, c.msg)
			continue
		}
		// The message names the path as given, never what it resolves to.
		if !strings.Contains(c.path, outside) && strings.Contains(e.Message, outside) {
			t.Errorf("Resolve(%q): the message names where a symlink leads: %s", c.path, e.Message)
		}
	}
	// A sibling whose name starts with the root's is outside.
	must(t, os.Mkdir(root+"-sibling", 0o755))
	if _, err := r.Resolve(root + "-sibling"); err == nil || !strings.Contains(err.Error(), "--hot-reload-root") {
		t.Errorf("a sibling directory named like the root: %v", err)
	}
}

func TestResolveOff(t *testing.T) {
	var r *Root
	_, err := r.Resolve(t.TempDir())
	var e *sluice.Error
	if !errors.As(err, &e) || e.Code != sluice.EInvalidParameter || !strings.Contains(e.Message, "--hot-reload-root") {
		t.Fatalf("nil root: %v, want InvalidParameterValue naming --hot-reload-root", err)
	}
}

func TestNewRoot(t *testing.T) {
	root, _ := makeTree(t)
	if _, err := NewRoot(filepath.Join(root, "missing")); err == nil {
		t.Error("a missing root was accepted")
	}
	if _, err := NewRoot(filepath.Join(root, "file")); err == nil {
		t.Error("a file was accepted as root")
	}
	r, err := NewRoot(filepath.Join(root, "alias"))
	if err != nil || r.Dir() != filepath.Join(root, "fn") {
		t.Errorf("NewRoot(symlink) = %v, %v; want the resolved directory", r, err)
	}
}

type dirs map[string]string

func (d dirs) Dir(sha string) (string, error) {
	if p, ok := d[sha]; ok {
		return p, nil
	}
	return "", os.ErrNotExist
}

func TestCode(t *testing.T) {
	root, outside := makeTree(t)
	r, err := NewRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	c := Code{Store: dirs{"abcd": "/unpacked/abcd"}, Root: r}
	if got, err := c.Dir("abcd"); err != nil || got != "/unpacked/abcd" {
		t.Errorf("a stored package: %q, %v", got, err)
	}
	if got, err := c.Dir(sluice.HotReloadCode(filepath.Join(root, "alias"))); err != nil || got != filepath.Join(root, "fn") {
		t.Errorf("hot reload: %q, %v; want the resolved directory", got, err)
	}
	if _, err := c.Dir(sluice.HotReloadCode(outside)); err == nil {
		t.Error("hot reload outside the root resolved")
	}
	off := Code{Store: c.Store}
	if _, err := off.Dir(sluice.HotReloadCode(filepath.Join(root, "fn"))); err == nil {
		t.Error("hot reload resolved with hot reload off (a server restarted without the flag)")
	}
}

func TestWatcher(t *testing.T) {
	root, _ := makeTree(t)
	fn := filepath.Join(root, "fn")
	now := time.Unix(1000, 0)
	w := &Watcher{Now: func() time.Time { return now }}
	step := func() { now = now.Add(time.Second) }
	check := func(what, key, dir string, want bool) {
		t.Helper()
		step()
		if got := w.Changed(key, dir); got != want {
			t.Errorf("%s: Changed = %v, want %v", what, got, want)
		}
	}
	check("first look", "k", fn, false)
	check("nothing changed", "k", fn, false)
	write(t, filepath.Join(fn, "index.py"), "version two")
	check("a file edited", "k", fn, true)
	check("after the edit", "k", fn, false)
	write(t, filepath.Join(fn, "sub", "new.py"), "x")
	check("a file added in a subdirectory", "k", fn, true)
	must(t, os.Remove(filepath.Join(fn, "sub", "new.py")))
	check("a file removed", "k", fn, true)
	// An editor that writes a new file and renames it over the old one,
	// with the same size and modification time.
	old := filepath.Join(fn, "index.py")
	st, err := os.Stat(old)
	must(t, err)
	tmp := filepath.Join(root, "index.py.tmp")
	write(t, tmp, "version 2!!")
	must(t, os.Chtimes(tmp, st.ModTime(), st.ModTime()))
	must(t, os.Rename(tmp, old))
	check("a file replaced by rename", "k", fn, true)
	must(t, os.Chmod(old, 0o600))
	check("a mode changed", "k", fn, true)
	check("another key looks first", "other", fn, false)
	check("another directory for a key", "k", filepath.Join(fn, "sub"), true)

	// Through a symlink, a change of where it leads is a change.
	link := filepath.Join(root, "current")
	must(t, os.Symlink(fn, link))
	check("first look through a link", "l", link, false)
	must(t, os.Remove(link))
	must(t, os.Symlink(filepath.Join(fn, "sub"), link))
	check("the link retargeted", "l", link, true)
	must(t, os.Remove(link))
	check("the directory gone", "l", link, true)
	check("still gone", "l", link, false)

	w.Forget("k")
	check("forgotten: a first look again", "k", fn, false)

	// Within Interval of the previous walk, nothing is walked.
	w.Interval = time.Minute
	write(t, filepath.Join(fn, "index.py"), "version three")
	check("within the interval", "k", fn, false)
	now = now.Add(time.Minute)
	check("after the interval", "k", fn, true)
}
