package artifacts

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"

	"github.com/sluice-dev/sluice"
)

// invalidZipMessage is Lambda's message for a package it cannot unzip.
const invalidZipMessage = "Could not unzip uploaded file. Please check your file, then try to upload again."

// Limits of entry names and symlink targets, those of Linux file systems.
const (
	maxNameLen      = 4095 // PATH_MAX less the terminating NUL
	maxComponentLen = 255  // NAME_MAX
	maxLinkLen      = 4095
)

// Creator systems of a zip entry (the high byte of "version made by")
// whose external attributes carry a Unix mode.
const (
	creatorUnix  = 3
	creatorMacOS = 19
)

type kind int

const (
	kindDir kind = iota
	kindFile
	kindSymlink
)

// entry is a zip entry that passed scan.
type entry struct {
	f    *zip.File
	name string // cleaned, relative, slash-separated; never "."
	kind kind
	perm fs.FileMode // of files; directories are always 0755
}

// errTooLarge reports that the unpacked package exceeds the size limit.
var errTooLarge = errors.New("unpacked size over the limit")

func invalidZip(err error) error {
	return &sluice.Error{Code: sluice.EInvalidZip, Message: invalidZipMessage, Err: err}
}

func tooLarge(limit int64) error {
	return sluice.Errorf(sluice.EInvalidParameter, "Unzipped size must be smaller than %d bytes", limit)
}

// readFailure classifies an error reading a stored zip: a failure of the
// system reading the file (an *fs.PathError carrying an errno, such as EIO,
// or a closed file) is EInternal; anything else is a bad package,
// EInvalidZip: a format or checksum error, corrupt compressed data, data
// ending early, or an offset in the headers that os.File refuses (a
// PathError without an errno, "negative offset").
func readFailure(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		if _, errno := errors.AsType[syscall.Errno](pe.Err); errno || errors.Is(pe.Err, fs.ErrClosed) {
			return internal("Could not read the deployment package.", err)
		}
	}
	return invalidZip(err)
}

// entryFailure is readFailure for an error reading entry f.
func entryFailure(f *zip.File, err error) error {
	return readFailure(fmt.Errorf("entry %q: %w", f.Name, err))
}

// BlockSize is the unit of the storage a package is charged for
// (Package.UnpackedSize): each file, symlink and directory of its tree
// takes a whole number of blocks, at least one, as on the usual file
// systems.
const BlockSize = 4096

// blocks returns n bytes rounded up to whole blocks, at least one.
func blocks(n uint64) int64 {
	if n == 0 {
		return BlockSize
	}
	return int64((n + BlockSize - 1) / BlockSize * BlockSize)
}

// layout is what scan finds in an archive's central directory.
type layout struct {
	entries []entry // to unpack, in archive order
	// declared is the sum of the uncompressed sizes the files and
	// symlinks declare: what unpacking them writes, at most the limit.
	declared int64
	// disk is the storage the unpacked tree takes: every file, symlink
	// and directory (those named, the implicit parents and the root)
	// rounded up to whole blocks.
	disk int64
}

// scan checks the entry names, types and declared sizes of an archive and
// returns the entries to unpack, in archive order, with the sizes they
// declare. It reads the central directory only, never entry data. The
// entries form a tree: names are unique and no entry lies under a file or
// a symlink, so unpacking never writes through a symlink.
func scan(zr *zip.Reader, limit int64) (layout, error) {
	kinds := make(map[string]kind, len(zr.File))
	entries := make([]entry, 0, len(zr.File))
	var total uint64
	disk := int64(BlockSize) // the root directory
	for _, f := range zr.File {
		e, skip, err := classify(f)
		if err != nil {
			return layout{}, invalidZip(fmt.Errorf("entry %q: %w", f.Name, err))
		}
		if skip {
			continue
		}
		if k, dup := kinds[e.name]; dup {
			if k == kindDir && e.kind == kindDir {
				continue
			}
			return layout{}, invalidZip(fmt.Errorf("entry %q: duplicate name", f.Name))
		}
		kinds[e.name] = e.kind
		if e.kind == kindSymlink {
			// The target's content is checked when it is read (readLink),
			// its declared length here.
			switch {
			case f.UncompressedSize64 == 0:
				return layout{}, invalidZip(fmt.Errorf("entry %q: empty symlink target", f.Name))
			case f.UncompressedSize64 > maxLinkLen:
				return layout{}, invalidZip(fmt.Errorf("entry %q: symlink target too long", f.Name))
			}
		}
		if e.kind != kindDir {
			// Each term is at most limit, so the sums cannot overflow.
			if f.UncompressedSize64 > uint64(limit) {
				return layout{}, tooLarge(limit)
			}
			total += f.UncompressedSize64
			if total > uint64(limit) {
				return layout{}, tooLarge(limit)
			}
			disk += blocks(f.UncompressedSize64)
		}
		entries = append(entries, e)
	}
	dirs := make(map[string]bool)
	for _, e := range entries {
		if e.kind == kindDir {
			dirs[e.name] = true
		}
		for p := path.Dir(e.name); p != "."; p = path.Dir(p) {
			if k, ok := kinds[p]; ok && k != kindDir {
				return layout{}, invalidZip(fmt.Errorf("entry %q lies under %q, which is not a directory", e.name, p))
			}
			dirs[p] = true
		}
	}
	disk += int64(len(dirs)) * BlockSize
	return layout{entries: entries, declared: int64(total), disk: disk}, nil
}

// classify checks one entry's name and type. skip is true for an entry
// that names the root directory itself.
func classify(f *zip.File) (e entry, skip bool, err error) {
	name := f.Name
	switch {
	case name == "":
		return e, false, errors.New("empty name")
	case strings.IndexByte(name, 0) >= 0:
		return e, false, errors.New("NUL in name")
	case strings.HasPrefix(name, "/"):
		return e, false, errors.New("absolute path")
	case len(name) > maxNameLen:
		return e, false, errors.New("name too long")
	}
	for c := range strings.SplitSeq(name, "/") {
		if c == ".." {
			return e, false, errors.New(`".." in path`)
		}
		if len(c) > maxComponentLen {
			return e, false, errors.New("path component too long")
		}
	}
	mode := f.Mode()
	e = entry{f: f, name: path.Clean(name), perm: 0o644}
	switch {
	case strings.HasSuffix(name, "/") || mode.IsDir():
		e.kind, e.perm = kindDir, 0o755
	case mode&fs.ModeSymlink != 0:
		e.kind = kindSymlink
	case mode.Type() == 0:
		e.kind = kindFile
	default:
		return e, false, fmt.Errorf("unsupported file type %v", mode.Type())
	}
	if e.name == "." {
		if e.kind == kindDir {
			return e, true, nil
		}
		return e, false, errors.New("entry names the root directory")
	}
	// A file keeps the permission bits of its Unix mode. Without one, or
	// with no bits at all (some archivers write a bare S_IFREG), it gets
	// 0644.
	creator := f.CreatorVersion >> 8
	if e.kind == kindFile && (creator == creatorUnix || creator == creatorMacOS) && mode.Perm() != 0 {
		e.perm = mode.Perm()
	}
	return e, false, nil
}

// copier copies entry contents while the unpacked size stays within a
// budget: the limit, or less, the sizes the archive declared (what the
// package was admitted and charged for, see Store.PutAdmitted). It counts
// the bytes actually read, whatever the headers say.
type copier struct {
	buf       []byte
	limit     int64 // sluice.MaxUnzippedSize, for the message
	budget    int64 // at most limit
	remaining int64
}

func newCopier(limit int64) *copier { return newBudgetCopier(limit, limit) }

// newBudgetCopier returns a copier that writes at most min(budget, limit)
// bytes.
func newBudgetCopier(limit, budget int64) *copier {
	budget = min(budget, limit)
	return &copier{buf: make([]byte, 32<<10), limit: limit, budget: budget, remaining: budget}
}

// readError is an error reading an entry, as opposed to writing it out.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// copy copies src to dst. Errors: errTooLarge when the limit is exceeded,
// *readError when src fails, and dst's errors as they are.
func (c *copier) copy(dst io.Writer, src io.Reader) error {
	for {
		n, rerr := src.Read(c.buf)
		if n > 0 {
			if int64(n) > c.remaining {
				c.remaining = -1
				return errTooLarge
			}
			c.remaining -= int64(n)
			if _, err := dst.Write(c.buf[:n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return &readError{rerr}
		}
	}
}

// readEntry decompresses file f into dst, checking its checksum. Errors:
// EInvalidZip when f's data is bad, EInvalidParameter when the limit is
// exceeded, EInternal when the zip file cannot be read (see readFailure),
// and dst's errors as they are.
//
// archive/zip fails a read past f's declared size (ErrFormat), so an entry
// whose header lies is EInvalidZip before the limit is reached; counting
// the bytes read guards the limit all the same.
func (c *copier) readEntry(f *zip.File, dst io.Writer) error {
	rc, err := f.Open()
	if err != nil {
		return entryFailure(f, err)
	}
	defer rc.Close()
	err = c.copy(dst, rc)
	var re *readError
	switch {
	case errors.Is(err, errTooLarge) && c.budget < c.limit:
		// More than the entries declared: their headers lie.
		return invalidZip(fmt.Errorf("entry %q: the entries inflate beyond the %d bytes they declare", f.Name, c.budget))
	case errors.Is(err, errTooLarge):
		return tooLarge(c.limit)
	case errors.As(err, &re):
		return entryFailure(f, re.err)
	}
	return err
}

// readLink returns the target of symlink entry f.
func readLink(f *zip.File) (string, error) {
	if f.UncompressedSize64 > maxLinkLen {
		return "", invalidZip(fmt.Errorf("entry %q: symlink target too long", f.Name))
	}
	rc, err := f.Open()
	if err != nil {
		return "", entryFailure(f, err)
	}
	defer rc.Close()
	// archive/zip fails a read past the declared size.
	b, err := io.ReadAll(rc)
	switch {
	case err != nil:
		return "", entryFailure(f, err)
	case len(b) == 0:
		return "", invalidZip(fmt.Errorf("entry %q: empty symlink target", f.Name))
	case bytes.IndexByte(b, 0) >= 0:
		return "", invalidZip(fmt.Errorf("entry %q: NUL in symlink target", f.Name))
	}
	return string(b), nil
}

// unpack extracts zr into final, a directory that must not exist. It
// extracts into a temporary directory beside final, fsyncs everything and
// renames it, so that final is either missing or complete, even after a
// crash.
//
// Directories get mode 0755 and files the permission bits of their entry;
// symlinks are created last, and no entry lies under a symlink (see scan).
// All writes go through an os.Root, which refuses paths that leave the
// tree in any case.
func (s *Store) unpack(zr *zip.Reader, sha, final string) (err error) {
	l, err := scan(zr, s.maxUnzipped)
	if err != nil {
		return err
	}
	entries := l.entries
	tmp, err := os.MkdirTemp(s.unpackedDir, tmpPrefix+sha+"-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(tmp)
		}
	}()
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return err
	}
	defer root.Close()

	// Directories: those named and the parents of every entry. A parent
	// sorts before its children.
	dirSet := make(map[string]bool)
	for _, e := range entries {
		if e.kind == kindDir {
			dirSet[e.name] = true
		}
		for p := path.Dir(e.name); p != "."; p = path.Dir(p) {
			dirSet[p] = true
		}
	}
	dirs := slices.Sorted(maps.Keys(dirSet))
	for _, d := range dirs {
		if err := root.Mkdir(d, 0o755); err != nil {
			return err
		}
		if err := root.Chmod(d, 0o755); err != nil { // whatever the umask
			return err
		}
	}

	// Never more than the entries declared, whatever archive/zip checks:
	// the declared sizes are what the package was charged for.
	c := newBudgetCopier(s.maxUnzipped, l.declared)
	for _, e := range entries {
		if e.kind == kindFile {
			if err := writeEntry(root, c, e); err != nil {
				return err
			}
		}
	}
	for _, e := range entries {
		if e.kind != kindSymlink {
			continue
		}
		target, err := readLink(e.f)
		if err != nil {
			return err
		}
		if err := root.Symlink(target, e.name); err != nil {
			return err
		}
	}

	for _, d := range append(dirs, ".") {
		if err := syncRootDir(root, d); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	return syncDir(s.unpackedDir)
}

// writeEntry creates file entry e in root, with its content, permission
// bits and modification time, and fsyncs it. O_EXCL makes the creation
// fail rather than follow anything already at that name.
func writeEntry(root *os.Root, c *copier, e entry) (err error) {
	f, err := root.OpenFile(e.name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, e.perm)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if err := c.readEntry(e.f, f); err != nil {
		return err
	}
	if err := f.Chmod(e.perm); err != nil { // whatever the umask
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if mod := e.f.Modified; !mod.IsZero() {
		if err := root.Chtimes(e.name, mod, mod); err != nil {
			return err
		}
	}
	return nil
}

func syncRootDir(root *os.Root, name string) error { return syncClose(root.Open(name)) }
