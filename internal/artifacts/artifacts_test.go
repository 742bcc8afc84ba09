package artifacts_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/artifacts"
)

const script = "#!/bin/sh\necho hi\n"

func TestRoundTrip(t *testing.T) {
	storeDir := t.TempDir()
	s := openStore(t, storeDir)
	mod := time.Date(2023, 6, 1, 12, 0, 0, 0, time.UTC)
	zipBytes := makeZip(t,
		exe("bootstrap", script),
		dir("lib/"),
		file("lib/a/b/c.txt", "deep"), // parents without entries of their own
		zent{name: "plain.bin", body: "no unix mode"},
		zent{name: "readonly.txt", body: "ro", mode: 0o444},
		zent{name: "private.txt", body: "secret", mode: 0o600},
		zent{name: "setuid", body: "x", mode: fs.ModeSetuid | 0o755},
		zent{name: "stored.txt", body: "stored, not deflated", mode: 0o644, store: true},
		zent{name: "dated.txt", body: "old", mode: 0o644, modified: mod},
		file("./dot/x.txt", "dot"),
		dir("empty/"),
		file("empty.txt", ""),
		link("link", "lib/a/b/c.txt"),
		link("lib/up", "../bootstrap"),
		link("abs", "/etc/hostname"),
	)

	sha, size, err := s.Put(zipBytes)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	sum := sha256.Sum256(zipBytes)
	if want := hex.EncodeToString(sum[:]); sha != want {
		t.Errorf("Put sha = %s, want %s", sha, want)
	}
	if size != int64(len(zipBytes)) {
		t.Errorf("Put size = %d, want %d", size, len(zipBytes))
	}
	stored, err := os.ReadFile(filepath.Join(storeDir, "zip", sha+".zip"))
	if err != nil || !bytes.Equal(stored, zipBytes) {
		t.Errorf("stored zip differs from the upload (err %v)", err)
	}

	if s.Unpacked(sha) {
		t.Error("Unpacked before Dir = true, want false")
	}
	d := mustDir(t, s, sha)
	if !s.Unpacked(sha) {
		t.Error("Unpacked after Dir = false, want true")
	}
	if want := filepath.Join(storeDir, "unpacked", sha); d != want {
		t.Errorf("Dir = %s, want %s", d, want)
	}
	want := map[string]string{
		"bootstrap":     "f 0755 " + script,
		"lib":           "d 0755",
		"lib/a":         "d 0755",
		"lib/a/b":       "d 0755",
		"lib/a/b/c.txt": "f 0644 deep",
		"lib/up":        "l -> ../bootstrap",
		"plain.bin":     "f 0644 no unix mode",
		"readonly.txt":  "f 0444 ro",
		"private.txt":   "f 0600 secret",
		"setuid":        "f 0755 x",
		"stored.txt":    "f 0644 stored, not deflated",
		"dated.txt":     "f 0644 old",
		"dot":           "d 0755",
		"dot/x.txt":     "f 0644 dot",
		"empty":         "d 0755",
		"empty.txt":     "f 0644 ",
		"link":          "l -> lib/a/b/c.txt",
		"abs":           "l -> /etc/hostname",
	}
	diffTree(t, tree(t, d), want)
	fi, err := os.Stat(d)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("unpacked root: %v, %v; want mode 0755", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(d, "dated.txt")); err != nil || !fi.ModTime().Equal(mod) {
		t.Errorf("dated.txt modification time = %v (%v), want %v", fi.ModTime(), err, mod)
	}
	// The symlink works inside the tree.
	if b, err := os.ReadFile(filepath.Join(d, "link")); err != nil || string(b) != "deep" {
		t.Errorf("read through link = %q, %v; want %q", b, err, "deep")
	}

	if runtime.GOOS != "windows" {
		out, err := exec.Command(filepath.Join(d, "bootstrap")).Output()
		if err != nil || string(out) != "hi\n" {
			t.Errorf("running bootstrap = %q, %v; want %q", out, err, "hi\n")
		}
	}

	// Dir again: the same tree, not unpacked again.
	if d2 := mustDir(t, s, sha); d2 != d {
		t.Errorf("second Dir = %s, want %s", d2, d)
	}
	if n := artifacts.Unpacks(s); n != 1 {
		t.Errorf("unpacked %d times, want 1", n)
	}

	// Open returns the zip.
	f, err := s.Open(sha)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(b, zipBytes) {
		t.Errorf("Open content differs from the upload (err %v)", err)
	}

	// No temporaries are left.
	for _, sub := range []string{"zip", "unpacked"} {
		for _, name := range entriesOf(t, filepath.Join(storeDir, sub)) {
			if strings.HasPrefix(name, ".tmp-") {
				t.Errorf("temporary %s left in %s", name, sub)
			}
		}
	}

	// A second Store on the same directory (a restart) finds everything.
	s2 := openStore(t, storeDir)
	if d2 := mustDir(t, s2, sha); d2 != d {
		t.Errorf("Dir after reopen = %s, want %s", d2, d)
	}
	if n := artifacts.Unpacks(s2); n != 0 {
		t.Errorf("reopened store unpacked %d times, want 0", n)
	}
}

// TestInfoZIP checks modes and symlinks of a zip made by Info-ZIP's zip,
// the tool most deployment packages are made with.
func TestInfoZIP(t *testing.T) {
	zipTool, err := exec.LookPath("zip")
	if err != nil {
		t.Fatal("Info-ZIP zip is not installed (apt-get install zip; .ci/run does)")
	}
	src := t.TempDir()
	for name, f := range map[string]struct {
		body string
		mode fs.FileMode
	}{
		"bootstrap":    {script, 0o755},
		"lib/data.txt": {"data", 0o640},
	} {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.body), f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("lib/data.txt", filepath.Join(src, "data")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "pkg.zip")
	cmd := exec.Command(zipTool, "-q", "-r", "-y", out, "bootstrap", "lib", "data")
	cmd.Dir = src
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("zip: %v\n%s", err, b)
	}
	zipBytes, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}

	s := openStore(t, t.TempDir())
	d := mustDir(t, s, mustPut(t, s, zipBytes))
	want := map[string]string{
		"bootstrap":    "f 0755 " + script,
		"lib":          "d 0755",
		"lib/data.txt": "f 0640 data",
		"data":         "l -> lib/data.txt",
	}
	diffTree(t, tree(t, d), want)
	if b, err := exec.Command(filepath.Join(d, "bootstrap")).Output(); err != nil || string(b) != "hi\n" {
		t.Errorf("running bootstrap = %q, %v; want %q", b, err, "hi\n")
	}
}

// TestModesWithoutPermissionBits checks the modes of entries whose Unix
// mode has no permission bits, or that come from other systems.
func TestModesWithoutPermissionBits(t *testing.T) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, h := range []*zip.FileHeader{
		{Name: "bare-ifreg", CreatorVersion: 3 << 8, ExternalAttrs: 0o100000 << 16},
		{Name: "no-attrs", CreatorVersion: 3 << 8},
		{Name: "msdos-readonly", CreatorVersion: 0, ExternalAttrs: 0x01},
		{Name: "ntfs", CreatorVersion: 11 << 8, ExternalAttrs: 0x20},
		{Name: "macos", CreatorVersion: 19 << 8, ExternalAttrs: 0o100750 << 16},
	} {
		fw, err := w.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(h.Name))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, t.TempDir())
	diffTree(t, tree(t, mustDir(t, s, mustPut(t, s, buf.Bytes()))), map[string]string{
		"bare-ifreg":     "f 0644 bare-ifreg",
		"no-attrs":       "f 0644 no-attrs",
		"msdos-readonly": "f 0644 msdos-readonly",
		"ntfs":           "f 0644 ntfs",
		"macos":          "f 0750 macos",
	})
}

func TestEmptyZip(t *testing.T) {
	s := openStore(t, t.TempDir())
	d := mustDir(t, s, mustPut(t, s, makeZip(t)))
	if got := tree(t, d); len(got) != 0 {
		t.Errorf("unpacked empty zip = %q, want an empty directory", got)
	}
	d = mustDir(t, s, mustPut(t, s, makeZip(t, dir("./"))))
	if got := tree(t, d); len(got) != 0 {
		t.Errorf("unpacked zip of ./ = %q, want an empty directory", got)
	}
}

func TestUnsafeOrUnusableEntriesRejected(t *testing.T) {
	outside := t.TempDir()
	sentinel := filepath.Join(outside, "sentinel")
	if err := os.WriteFile(sentinel, []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, entries := range map[string][]zent{
		"dotdot":                  {file("../evil", "x")},
		"dotdot inside":           {file("a/../../evil", "x")},
		"dotdot harmless":         {file("a/../b", "x")}, // stays inside, still refused
		"dotdot alone":            {dir("../")},
		"dotdot to sentinel":      {file("../../../../../../.."+sentinel, "x")},
		"absolute":                {file("/tmp/evil", "x")},
		"absolute sentinel":       {file(sentinel, "overwritten")},
		"absolute dir":            {dir("/")},
		"through symlink":         {link("l", outside), file("l/sentinel", "overwritten")},
		"through symlink first":   {file("l/sentinel", "overwritten"), link("l", outside)},
		"through relative link":   {link("l", ".."), file("l/evil", "x")},
		"through nested symlink":  {dir("a/"), link("a/l", outside), file("a/l/b/c", "x")},
		"symlink over dir":        {file("d/x", "x"), link("d", outside)},
		"under a file":            {file("f", "x"), file("f/g", "y")},
		"duplicate file":          {file("f", "x"), file("f", "y")},
		"duplicate cleaned":       {file("f", "x"), file("./f", "y")},
		"file and dir":            {dir("f/"), file("f", "y")},
		"symlink and file":        {file("f", "x"), link("f", "g")},
		"empty name":              {file("", "x")},
		"NUL in name":             {file("a\x00b", "x")},
		"root as file":            {file(".", "x")},
		"named pipe":              {{name: "fifo", mode: fs.ModeNamedPipe | 0o644}},
		"device":                  {{name: "dev", mode: fs.ModeDevice | 0o644}},
		"empty symlink":           {link("l", "")},
		"long component":          {file(strings.Repeat("a", 256), "x")},
		"long name":               {file(strings.Repeat("a/", 2048)+"x", "x")},
		"long symlink target":     {link("l", strings.Repeat("a", 4096))},
		"symlink parent of entry": {link("bin", "usr/bin"), exe("bin/sh", "x")},
	} {
		t.Run(name, func(t *testing.T) {
			storeDir := t.TempDir()
			s := openStore(t, storeDir)
			_, _, err := s.Put(makeZip(t, entries...))
			t.Logf("Put: %v", err)
			wantError(t, err, sluice.EInvalidZip, artifacts.InvalidZipMessage, "Put")
			if names := entriesOf(t, filepath.Join(storeDir, "zip")); len(names) != 0 {
				t.Errorf("zip directory holds %q after a refused Put", names)
			}
			if names := entriesOf(t, outside); !slices.Equal(names, []string{"sentinel"}) {
				t.Errorf("outside directory holds %q", names)
			}
			if b, _ := os.ReadFile(sentinel); string(b) != "untouched" {
				t.Errorf("sentinel = %q", b)
			}
		})
	}
}

// TestDirRefusesUnsafeStoredZip checks that Dir judges the stored zip
// again, should one bypass Put, and calls it an invalid zip.
func TestDirRefusesUnsafeStoredZip(t *testing.T) {
	parent := t.TempDir()
	storeDir := filepath.Join(parent, "store")
	s := openStore(t, storeDir)
	evil := makeZip(t, file("../../evil", "x"), link("l", parent), file("l/evil2", "x"))
	sha := strings.Repeat("0", 64)
	if err := os.WriteFile(filepath.Join(storeDir, "zip", sha+".zip"), evil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := s.Dir(sha)
	wantError(t, err, sluice.EInvalidZip, artifacts.InvalidZipMessage, "Dir of an unsafe stored zip")
	if names := entriesOf(t, parent); !slices.Equal(names, []string{"store"}) {
		t.Errorf("parent directory holds %q", names)
	}
	if names := entriesOf(t, filepath.Join(storeDir, "unpacked")); len(names) != 0 {
		t.Errorf("unpacked directory holds %q", names)
	}
}

// corruptData returns a copy of zipBytes with bytes flipped in the middle
// of the compressed data of entry name; the central directory is intact.
func corruptData(t testing.TB, zipBytes []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(zipBytes), int64(len(zipBytes)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name != name {
			continue
		}
		off, err := f.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		if f.CompressedSize64 < 4 {
			t.Fatalf("entry %q has only %d bytes of data", name, f.CompressedSize64)
		}
		b := bytes.Clone(zipBytes)
		mid := off + int64(f.CompressedSize64)/2
		b[mid-1] ^= 0xff
		b[mid] ^= 0x55
		return b
	}
	t.Fatalf("no entry %q", name)
	return nil
}

// text returns n bytes of text that deflate compresses somewhat, not to
// nothing.
func text(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteString(strconv.Itoa(i * i * 7919))
		b.WriteByte(' ')
	}
	return b.String()[:n]
}

// wantDirFails checks that Dir of package sha fails with code and msg,
// twice (failures are not remembered, nor do they change), and leaves no
// unpacked tree nor temporary behind, while the zip stays stored.
func wantDirFails(t *testing.T, s *artifacts.Store, storeDir, sha string, code sluice.ErrorCode, msg string) {
	t.Helper()
	for i := range 2 {
		d, err := s.Dir(sha)
		t.Logf("Dir: %v", err)
		wantError(t, err, code, msg, fmt.Sprintf("Dir #%d", i+1))
		if d != "" {
			t.Errorf("Dir #%d returned %q with its error", i+1, d)
		}
		if names := entriesOf(t, filepath.Join(storeDir, "unpacked")); len(names) != 0 {
			t.Errorf("unpacked directory holds %q after a failed Dir", names)
		}
		if s.Unpacked(sha) {
			t.Error("Unpacked after a failed Dir = true")
		}
	}
	if names := entriesOf(t, filepath.Join(storeDir, "zip")); !slices.Equal(names, []string{sha + ".zip"}) {
		t.Errorf("zip directory holds %q, want only the package", names)
	}
	if n := artifacts.Unpacks(s); n != 0 {
		t.Errorf("unpacked %d times, want 0", n)
	}
}

// TestCorruptDataFailsDir checks that Put, which does not decompress,
// accepts packages whose entry data is bad, and that Dir refuses them as
// invalid zips, leaving nothing behind.
func TestCorruptDataFailsDir(t *testing.T) {
	body := text(4000)
	for name, zipBytes := range map[string][]byte{
		// Stored: the bytes read are the bytes stored, only the CRC-32
		// catches the change.
		"checksum": corruptData(t, makeZip(t,
			file("first.txt", "fine"),
			zent{name: "second.txt", body: body, mode: 0o644, store: true},
			file("third.txt", "fine")), "second.txt"),
		"deflate data": corruptData(t, makeZip(t,
			file("first.txt", "fine"), file("second.txt", body), file("third.txt", "fine")), "second.txt"),
		"deflate data, nested": corruptData(t, makeZip(t,
			dir("lib/"), file("lib/a/b.txt", body), exe("bootstrap", script)), "lib/a/b.txt"),
		"symlink target checksum": corruptData(t, makeZip(t,
			file("a", "a"), zent{name: "l", body: "some/target/far/away", mode: fs.ModeSymlink | 0o777, store: true}), "l"),
		"NUL in symlink target": makeZip(t, file("a", "a"), link("l", "a\x00b")),
		// The local header's signature, which the central directory does
		// not repeat.
		"local header": func() []byte {
			b := makeZip(t, file("a", body))
			b[0] ^= 0xff
			return b
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			storeDir := t.TempDir()
			s := openStore(t, storeDir)
			sha, _, err := s.Put(zipBytes)
			if err != nil {
				t.Fatalf("Put: %v, want success: Put checks the structure only", err)
			}
			wantDirFails(t, s, storeDir, sha, sluice.EInvalidZip, artifacts.InvalidZipMessage)
		})
	}
}

// TestConcurrentDirOfCorruptPackage checks that concurrent Dir calls of a
// package that fails all fail the same way, and leave nothing behind.
func TestConcurrentDirOfCorruptPackage(t *testing.T) {
	storeDir := t.TempDir()
	s := openStore(t, storeDir)
	sha := mustPut(t, s, corruptData(t, makeZip(t, file("a", text(10000)), file("b", "b")), "a"))
	const n = 16
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = s.Dir(sha)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		wantError(t, err, sluice.EInvalidZip, artifacts.InvalidZipMessage, fmt.Sprintf("Dir in goroutine %d", i))
	}
	wantDirFails(t, s, storeDir, sha, sluice.EInvalidZip, artifacts.InvalidZipMessage)
}

// TestDirOfGarbageStoredZip checks that a stored zip whose central
// directory cannot be read, which Put would have refused, is an invalid
// zip for Dir too.
func TestDirOfGarbageStoredZip(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":     {},
		"text":      []byte("this is not a zip file"),
		"truncated": makeZip(t, file("a", text(1000)))[:500],
	} {
		t.Run(name, func(t *testing.T) {
			storeDir := t.TempDir()
			s := openStore(t, storeDir)
			sha := strings.Repeat("3", 64)
			if err := os.WriteFile(filepath.Join(storeDir, "zip", sha+".zip"), b, 0o600); err != nil {
				t.Fatal(err)
			}
			wantDirFails(t, s, storeDir, sha, sluice.EInvalidZip, artifacts.InvalidZipMessage)
		})
	}
}

// TestDirDiskFailureIsInternal checks that a failure of the store's own
// disk is EInternal, not blamed on the package, and that Dir succeeds once
// the disk is repaired.
func TestDirDiskFailureIsInternal(t *testing.T) {
	storeDir := t.TempDir()
	s := openStore(t, storeDir)
	sha := mustPut(t, s, makeZip(t, exe("bootstrap", script)))
	unpacked := filepath.Join(storeDir, "unpacked")
	// A file where the unpacked directory should be: every write fails.
	if err := os.Remove(unpacked); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(unpacked, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := s.Dir(sha)
	wantError(t, err, sluice.EInternal, "", "Dir with a broken store directory")
	if err := os.Remove(unpacked); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(unpacked, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, mustDir(t, s, sha)); got["bootstrap"] != "f 0755 "+script {
		t.Errorf("bootstrap after repair = %q", got["bootstrap"])
	}
}

func TestGarbageRejected(t *testing.T) {
	valid := makeZip(t, exe("bootstrap", script))
	for name, b := range map[string][]byte{
		"nil":       nil,
		"empty":     {},
		"text":      []byte("this is not a zip file"),
		"truncated": valid[:len(valid)/2],
		"tail only": valid[len(valid)-22:],
		"zeros":     make([]byte, 4096),
	} {
		t.Run(name, func(t *testing.T) {
			storeDir := t.TempDir()
			s := openStore(t, storeDir)
			_, _, err := s.Put(b)
			wantError(t, err, sluice.EInvalidZip, artifacts.InvalidZipMessage, "Put")
			if names := entriesOf(t, filepath.Join(storeDir, "zip")); len(names) != 0 {
				t.Errorf("zip directory holds %q after a refused Put", names)
			}
		})
	}
}

// zeroBomb returns a zip of one entry of n zero bytes, deflated.
func zeroBomb(t testing.TB, name string, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	w.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	fw, err := w.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, int64(len(zeros)))
		if _, err := fw.Write(zeros[:k]); err != nil {
			t.Fatal(err)
		}
		n -= k
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestZipBombRejected(t *testing.T) {
	if testing.Short() {
		t.Skip("compresses 300 MB")
	}
	bomb := zeroBomb(t, "zeros", 300<<20)
	if len(bomb) > 5<<20 {
		t.Fatalf("bomb is %d bytes, want a few hundred KB", len(bomb))
	}
	storeDir := t.TempDir()
	s := openStore(t, storeDir)
	_, _, err := s.Put(bomb)
	wantError(t, err, sluice.EInvalidParameter, "Unzipped size must be smaller than 262144000 bytes", "Put of a 300 MB bomb")
	if names := entriesOf(t, filepath.Join(storeDir, "zip")); len(names) != 0 {
		t.Errorf("zip directory holds %q after a refused Put", names)
	}
}

func TestUnzippedSizeLimit(t *testing.T) {
	s := openStore(t, t.TempDir())
	artifacts.SetMaxUnzipped(s, 1000)
	body := strings.Repeat("x", 600)

	// Each entry is within the limit, their sum is not.
	_, _, err := s.Put(makeZip(t, file("a", body), file("b", body)))
	wantError(t, err, sluice.EInvalidParameter, "Unzipped size must be smaller than 1000 bytes", "Put of two 600-byte files")
	// One entry over the limit.
	_, _, err = s.Put(makeZip(t, file("a", strings.Repeat("y", 1001))))
	wantError(t, err, sluice.EInvalidParameter, "Unzipped size must be smaller than 1000 bytes", "Put of a 1001-byte file")

	// Exactly at the limit is fine.
	mustDir(t, s, mustPut(t, s, makeZip(t, file("a", body), file("b", body[:400]))))

	// Directories add nothing; symlink targets count.
	mustDir(t, s, mustPut(t, s, makeZip(t, file("a", body[:590]), dir("d/"), link("l", "a"))))

	// Symlink targets count.
	_, _, err = s.Put(makeZip(t, file("a", strings.Repeat("z", 995)), link("l", "a"), link("m", "bcdef")))
	wantError(t, err, sluice.EInvalidParameter, "Unzipped size must be smaller than 1000 bytes", "Put of 1001 bytes with symlinks")
}

// TestDirSizeLimit checks that Dir judges the size of a package against
// the limit in force when it unpacks, and reports it like Put.
func TestDirSizeLimit(t *testing.T) {
	storeDir := t.TempDir()
	s := openStore(t, storeDir)
	artifacts.SetMaxUnzipped(s, 1000)
	// A package Put before the limit was lowered fails Dir.
	big := mustPut(t, s, makeZip(t, file("a", strings.Repeat("x", 300)), file("b", strings.Repeat("x", 300))))
	artifacts.SetMaxUnzipped(s, 500)
	wantDirFails(t, s, storeDir, big, sluice.EInvalidParameter, "Unzipped size must be smaller than 500 bytes")
}

// lyingZip returns a zip of one entry whose headers declare a size of
// declared bytes while its data inflates to n zero bytes; the CRC-32 is
// that of the real content.
func lyingZip(t testing.TB, declared uint64, n int) []byte {
	t.Helper()
	var compressed bytes.Buffer
	fw, _ := flate.NewWriter(&compressed, flate.BestSpeed)
	content := make([]byte, n)
	fw.Write(content)
	fw.Close()

	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	h := &zip.FileHeader{
		Name:               "liar",
		Method:             zip.Deflate,
		CRC32:              crc32.ChecksumIEEE(content),
		CompressedSize64:   uint64(compressed.Len()),
		UncompressedSize64: declared, // the lie
	}
	raw, err := w.CreateRaw(h)
	if err != nil {
		t.Fatal(err)
	}
	raw.Write(compressed.Bytes())
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestLyingHeaderRejected checks that an entry inflating to more than its
// header declares is accepted by Put, which reads only the headers, and
// refused by Dir before it fills the disk.
//
// archive/zip fails reading an entry past its declared size (ErrFormat),
// and declared sizes add up to at most the limit, so the entry is refused
// as an invalid zip, however far it would inflate: Dir never gets to count
// more bytes than the limit.
func TestLyingHeaderRejected(t *testing.T) {
	for name, tc := range map[string]struct {
		limit    int64
		declared uint64
		n        int
	}{
		"10 MB declared 100":                 {0, 100, 10 << 20},
		"over a small limit":                 {1000, 100, 5000},
		"over a small limit, declared limit": {1000, 1000, 5000},
		"declared 0":                         {1000, 0, 5000},
	} {
		t.Run(name, func(t *testing.T) {
			storeDir := t.TempDir()
			s := openStore(t, storeDir)
			if tc.limit != 0 {
				artifacts.SetMaxUnzipped(s, tc.limit)
			}
			sha, _, err := s.Put(lyingZip(t, tc.declared, tc.n))
			if err != nil {
				t.Fatalf("Put of a lying zip: %v, want success: its headers are fine", err)
			}
			wantDirFails(t, s, storeDir, sha, sluice.EInvalidZip, artifacts.InvalidZipMessage)
		})
	}
}

func TestCopierCountsActualBytes(t *testing.T) {
	for _, tc := range []struct {
		n, limit int64
		tooLarge bool
	}{
		{0, 0, false},
		{10, 10, false},
		{11, 10, true},
		{100 << 10, 64 << 10, true},
		{100 << 10, 100 << 10, false},
	} {
		var dst bytes.Buffer
		err := artifacts.CopyLimited(&dst, bytes.NewReader(make([]byte, tc.n)), tc.limit)
		if got := artifacts.IsTooLarge(err); got != tc.tooLarge {
			t.Errorf("copy %d bytes under limit %d: error %v, want too large = %v", tc.n, tc.limit, err, tc.tooLarge)
		}
		if int64(dst.Len()) > tc.limit {
			t.Errorf("copy %d bytes under limit %d wrote %d bytes", tc.n, tc.limit, dst.Len())
		}
		if !tc.tooLarge && int64(dst.Len()) != tc.n {
			t.Errorf("copy %d bytes under limit %d wrote %d bytes", tc.n, tc.limit, dst.Len())
		}
	}
}

func TestPutIdempotent(t *testing.T) {
	storeDir := t.TempDir()
	s := openStore(t, storeDir)
	zipBytes := makeZip(t, exe("bootstrap", script))
	sha := mustPut(t, s, zipBytes)
	path := filepath.Join(storeDir, "zip", sha+".zip")
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	sha2, size2, err := s.Put(zipBytes)
	if err != nil || sha2 != sha || size2 != int64(len(zipBytes)) {
		t.Fatalf("second Put = %s, %d, %v; want %s, %d, nil", sha2, size2, err, sha, len(zipBytes))
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("second Put rewrote the stored zip")
	}
	if names := entriesOf(t, filepath.Join(storeDir, "zip")); !slices.Equal(names, []string{sha + ".zip"}) {
		t.Errorf("zip directory holds %q", names)
	}

	// A damaged copy (of the wrong size) is replaced.
	if err := os.Truncate(path, 10); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, zipBytes)
	if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, zipBytes) {
		t.Errorf("Put did not repair a truncated stored zip (err %v)", err)
	}
}

func TestConcurrentPutAndDir(t *testing.T) {
	storeDir := t.TempDir()
	s := openStore(t, storeDir)
	var entries []zent
	for i := range 50 {
		entries = append(entries, file(path.Join("dir", string(rune('a'+i%26)), strings.Repeat("f", i+1)), strings.Repeat("content ", i)))
	}
	entries = append(entries, exe("bootstrap", script), link("link", "bootstrap"))
	zipBytes := makeZip(t, entries...)

	const n = 32
	dirs := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			var sha string
			sha, _, errs[i] = s.Put(zipBytes)
			if errs[i] == nil {
				dirs[i], errs[i] = s.Dir(sha)
			}
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if dirs[i] != dirs[0] {
			t.Errorf("goroutine %d got %s, goroutine 0 got %s", i, dirs[i], dirs[0])
		}
	}
	if got := artifacts.Unpacks(s); got != 1 {
		t.Errorf("unpacked %d times, want once", got)
	}
	got := tree(t, dirs[0])
	if got["bootstrap"] != "f 0755 "+script || got["link"] != "l -> bootstrap" || len(got) != 50+2+1+26 {
		t.Errorf("unpacked tree has %d entries, bootstrap %q, link %q", len(got), got["bootstrap"], got["link"])
	}
	for _, sub := range []string{"zip", "unpacked"} {
		if names := entriesOf(t, filepath.Join(storeDir, sub)); len(names) != 1 {
			t.Errorf("%s holds %q, want one entry", sub, names)
		}
	}
}

func TestDirReunpacks(t *testing.T) {
	s := openStore(t, t.TempDir())
	sha := mustPut(t, s, makeZip(t, exe("bootstrap", script), file("lib/x", "x")))
	d := mustDir(t, s, sha)
	want := tree(t, d)
	if err := os.RemoveAll(d); err != nil {
		t.Fatal(err)
	}
	if s.Unpacked(sha) {
		t.Error("Unpacked after the tree was deleted = true")
	}
	if d2 := mustDir(t, s, sha); d2 != d {
		t.Errorf("Dir after removal = %s, want %s", d2, d)
	}
	if got := tree(t, d); !maps.Equal(got, want) {
		t.Errorf("re-unpacked tree = %q, want %q", got, want)
	}
	if n := artifacts.Unpacks(s); n != 2 {
		t.Errorf("unpacked %d times, want 2", n)
	}
}

func TestNotFound(t *testing.T) {
	s := openStore(t, t.TempDir())
	sha := strings.Repeat("ab", 32)
	_, err := s.Dir(sha)
	wantError(t, err, sluice.ENotFound, "", "Dir of an unknown package")
	_, err = s.Open(sha)
	wantError(t, err, sluice.ENotFound, "", "Open of an unknown package")
	if err := s.Remove(sha); err != nil {
		t.Errorf("Remove of an unknown package: %v", err)
	}
}

func TestInvalidSHA(t *testing.T) {
	s := openStore(t, t.TempDir())
	for _, sha := range []string{
		"",
		"abc",
		strings.Repeat("AB", 32),
		strings.Repeat("a", 63) + "g",
		strings.Repeat("a", 65),
		"../" + strings.Repeat("a", 61),
		strings.Repeat("a", 60) + "/../",
		strings.Repeat("a", 63) + "\x00",
	} {
		_, err := s.Dir(sha)
		wantError(t, err, sluice.EInvalidParameter, "", "Dir("+sha+")")
		_, err = s.Open(sha)
		wantError(t, err, sluice.EInvalidParameter, "", "Open("+sha+")")
		wantError(t, s.Remove(sha), sluice.EInvalidParameter, "", "Remove("+sha+")")
		if s.Unpacked(sha) {
			t.Errorf("Unpacked(%q) = true", sha)
		}
	}
}

func TestRemove(t *testing.T) {
	storeDir := t.TempDir()
	s := openStore(t, storeDir)
	keep := mustPut(t, s, makeZip(t, file("keep", "k")))
	mustDir(t, s, keep)
	zipBytes := makeZip(t, exe("bootstrap", script), dir("d/"), zent{name: "d/ro", body: "r", mode: 0o400}, link("l", "/"))
	sha := mustPut(t, s, zipBytes)
	d := mustDir(t, s, sha)

	if err := s.Remove(sha); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := os.Lstat(d); !os.IsNotExist(err) {
		t.Errorf("unpacked tree still there: %v", err)
	}
	if s.Unpacked(sha) {
		t.Error("Unpacked after Remove = true")
	}
	_, err := s.Open(sha)
	wantError(t, err, sluice.ENotFound, "", "Open after Remove")
	_, err = s.Dir(sha)
	wantError(t, err, sluice.ENotFound, "", "Dir after Remove")
	if err := s.Remove(sha); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	for _, sub := range []string{"zip", "unpacked"} {
		if names := entriesOf(t, filepath.Join(storeDir, sub)); len(names) != 1 {
			t.Errorf("%s holds %q, want only the kept package", sub, names)
		}
	}
	if _, err := os.Stat(filepath.Join(mustDir(t, s, keep), "keep")); err != nil {
		t.Errorf("the other package suffered: %v", err)
	}

	// Removing a package never unpacked, then storing it again.
	if err := s.Remove(keep); err != nil {
		t.Fatal(err)
	}
	if got := mustPut(t, s, zipBytes); got != sha {
		t.Errorf("Put after Remove = %s, want %s", got, sha)
	}
	if got := tree(t, mustDir(t, s, sha)); got["bootstrap"] != "f 0755 "+script {
		t.Errorf("bootstrap after Remove and Put = %q", got["bootstrap"])
	}
}

func TestOpenRemovesTemporaries(t *testing.T) {
	storeDir := t.TempDir()
	s := openStore(t, storeDir)
	sha := mustPut(t, s, makeZip(t, file("x", "x")))
	d := mustDir(t, s, sha)

	// What a crash during Put, Dir and Remove leaves behind.
	leftovers := []string{
		filepath.Join(storeDir, "zip", ".tmp-123456"),
		filepath.Join(storeDir, "unpacked", ".tmp-"+sha+"-789", "half", "file"),
		filepath.Join(storeDir, "unpacked", ".tmp-rm-"+sha, "file"),
	}
	for _, p := range leftovers {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s = openStore(t, storeDir)
	if names := entriesOf(t, filepath.Join(storeDir, "zip")); !slices.Equal(names, []string{sha + ".zip"}) {
		t.Errorf("zip directory holds %q", names)
	}
	if names := entriesOf(t, filepath.Join(storeDir, "unpacked")); !slices.Equal(names, []string{sha}) {
		t.Errorf("unpacked directory holds %q", names)
	}
	if got := tree(t, mustDir(t, s, sha)); got["x"] != "f 0644 x" {
		t.Errorf("tree after reopen = %q", got)
	}
	if mustDir(t, s, sha) != d {
		t.Error("Dir changed after reopen")
	}
}

func TestOpenRelativeDirGivesAbsolutePaths(t *testing.T) {
	t.Chdir(t.TempDir())
	s := openStore(t, "store")
	d := mustDir(t, s, mustPut(t, s, makeZip(t, file("x", "x"))))
	if !filepath.IsAbs(d) {
		t.Errorf("Dir = %s, want an absolute path", d)
	}
}
