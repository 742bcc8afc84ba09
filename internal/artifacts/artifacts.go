// Package artifacts stores deployment packages (zip files) on local disk,
// addressed by the hex SHA-256 of their bytes, and unpacks them on demand
// for execution environments.
//
// Layout under the store directory:
//
//	zip/<sha>.zip       the package as uploaded
//	unpacked/<sha>/     its unpacked tree, created by the first Dir call
//
// Both appear under their final names only complete: they are written under
// a temporary name (".tmp-" prefix) in the same directory, fsynced and
// renamed. Open removes temporaries a crash left behind. The unpacked tree is
// derived from the zip and can be deleted at any time; Dir recreates it.
//
// Checking a package is split in two, so that storing it is fast and the
// expensive part can run in the background, as Lambda's Pending state does:
//
//   - Put checks the structure only, without decompressing anything: the
//     central directory must be readable, every entry's name and type safe
//     and usable (see below), and the sum of the uncompressed sizes the
//     entries declare at most sluice.MaxUnzippedSize.
//   - Dir checks the content while it unpacks: it decompresses every entry,
//     checks its CRC-32, counts the bytes actually written against the
//     limit, and validates symlink targets. It also repeats Put's checks.
//     A package that fails leaves no tree behind, and fails the same way at
//     every Dir call; failures are not remembered.
//
// PutAdmitted lets the caller refuse a package between the checks and the
// write, from what the central directory declares (Package): the code
// storage quota of the service. Dir never writes more file data than the
// entries declared, so Package.UnpackedSize bounds the tree it makes.
//
// Both report a bad package with a *sluice.Error of code EInvalidZip
// ("Could not unzip uploaded file. Please check your file, then try to
// upload again.") or, for the size limit, EInvalidParameter ("Unzipped
// size must be smaller than 262144000 bytes"). EInternal means a failure
// of the store's own disk, never a property of the package.
//
// Unpacking never writes outside the tree: entries with absolute names or
// ".." components are refused, as are entries lying under a file or a
// symlink entry, duplicate names, and types other than file, directory and
// symlink. Symlinks are created as they are, whatever their target, after
// all files. Files keep the permission bits of their Unix mode (0644
// without one), directories get 0755.
//
// Only one process may use a store directory at a time.
package artifacts

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sluice-dev/sluice"
)

// tmpPrefix starts the names of files and directories being written.
const tmpPrefix = ".tmp-"

// Store is a content-addressed store of deployment packages. It is safe for
// concurrent use.
type Store struct {
	zipDir      string
	unpackedDir string
	// maxUnzipped is the largest total unpacked size accepted;
	// sluice.MaxUnzippedSize except in tests.
	maxUnzipped int64

	mu    sync.Mutex
	locks map[string]*shaLock // per-sha locks in use

	unpacks atomic.Int64 // completed extractions, for tests
}

// shaLock serializes the operations on one package.
type shaLock struct {
	mu   sync.Mutex
	refs int // holders and waiters; the lock is dropped from the map at 0
}

// Open opens the store in dir, creating the directory if needed, and
// removes the temporary files of interrupted writes.
func Open(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("artifacts: %w", err)
	}
	s := &Store{
		zipDir:      filepath.Join(abs, "zip"),
		unpackedDir: filepath.Join(abs, "unpacked"),
		maxUnzipped: sluice.MaxUnzippedSize,
		locks:       make(map[string]*shaLock),
	}
	for _, d := range []string{s.zipDir, s.unpackedDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("artifacts: %w", err)
		}
		entries, err := os.ReadDir(d)
		if err != nil {
			return nil, fmt.Errorf("artifacts: %w", err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), tmpPrefix) {
				if err := os.RemoveAll(filepath.Join(d, e.Name())); err != nil {
					return nil, fmt.Errorf("artifacts: remove leftover temporary: %w", err)
				}
			}
		}
	}
	return s, nil
}

// Package describes a stored, or about to be stored, deployment package.
type Package struct {
	// SHA256 is the hex SHA-256 of the zip, its name in the store.
	SHA256 string
	// Size is the size of the zip in bytes (Lambda's CodeSize).
	Size int64
	// UnpackedSize is the storage its unpacked tree takes, as the central
	// directory declares it: the files' and symlinks' sizes, and one
	// BlockSize for each directory, every term rounded up to whole
	// blocks. Dir never writes more file data than the entries declare.
	UnpackedSize int64
}

// StoredSize is the storage the package takes once unpacked: its zip and
// its tree, the zip rounded up to whole blocks.
func (p Package) StoredSize() int64 { return blocks(uint64(p.Size)) + p.UnpackedSize }

// Put checks the structure of a deployment package and stores it under
// the hex SHA-256 of its bytes, which it returns with its size. Storing a
// package that is already stored does nothing.
//
// Put decompresses nothing: it reads the central directory, judges the
// entries' names and types and the sum of their declared uncompressed
// sizes. Corrupt entry data, or data that inflates beyond its declared
// size, is found by Dir. Put does not limit the size of b itself: the API
// refuses packages over sluice.MaxZipSize before calling it.
//
// Errors: EInvalidZip when the archive cannot be read, or has an entry
// with an unsafe or unusable name or type (see the package documentation);
// EInvalidParameter when its entries declare more than
// sluice.MaxUnzippedSize bytes in all; EInternal when it cannot be written.
func (s *Store) Put(b []byte) (sha string, size int64, err error) {
	p, err := s.PutAdmitted(b, nil)
	return p.SHA256, p.Size, err
}

// PutAdmitted is Put with a say before anything is written: after the
// structural checks, it calls admit (when not nil) with the package as it
// would be stored, and stores nothing when admit returns an error, which
// it returns as it is. admit runs with the package's lock held, so it
// must not call the Store about the same package.
func (s *Store) PutAdmitted(b []byte, admit func(Package) error) (Package, error) {
	l, err := s.check(b)
	if err != nil {
		return Package{}, err
	}
	sum := sha256.Sum256(b)
	p := Package{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b)), UnpackedSize: l.disk}
	if admit != nil {
		if err := admit(p); err != nil {
			return Package{}, err
		}
	}

	defer s.lock(p.SHA256)()
	final := s.zipPath(p.SHA256)
	if fi, err := os.Stat(final); err == nil && fi.Mode().IsRegular() && fi.Size() == p.Size {
		return p, nil
	}
	if err := writeFileAtomic(s.zipDir, final, b); err != nil {
		return Package{}, internal("Could not store the deployment package.", err)
	}
	return p, nil
}

// Stat describes the stored package sha, from its central directory.
//
// Errors: ENotFound when the package is not stored; EInvalidParameter when
// sha is not a hex SHA-256; EInvalidZip when its central directory cannot
// be read (or declares what Put refuses); EInternal when the disk fails.
func (s *Store) Stat(sha string) (Package, error) {
	if err := checkSHA(sha); err != nil {
		return Package{}, err
	}
	zr, err := zip.OpenReader(s.zipPath(sha))
	if errors.Is(err, fs.ErrNotExist) {
		return Package{}, notFound(sha)
	}
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return Package{}, readFailure(err)
	}
	defer zr.Close()
	l, err := scan(&zr.Reader, s.maxUnzipped)
	if err != nil {
		return Package{}, err
	}
	fi, err := os.Stat(s.zipPath(sha))
	if err != nil {
		return Package{}, internal("Could not read the deployment package.", err)
	}
	return Package{SHA256: sha, Size: fi.Size(), UnpackedSize: l.disk}, nil
}

// check runs the structural checks of Put on b: the central directory,
// entry names and types, declared sizes.
func (s *Store) check(b []byte) (layout, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	// ErrInsecurePath comes with a usable reader; scan judges the names.
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return layout{}, invalidZip(err)
	}
	return scan(zr, s.maxUnzipped)
}

// Dir returns the directory holding the unpacked package sha, unpacking it
// first if needed. Concurrent calls for one package unpack it once.
//
// Dir is where a package's content is checked (see the package
// documentation); it may take long for a large package. When the check
// fails, nothing is left under the unpacked directory, and the next Dir
// call tries again, failing the same way.
//
// Errors: ENotFound when the package is not stored; EInvalidParameter when
// sha is not a hex SHA-256, or when the package unpacks to more than
// sluice.MaxUnzippedSize bytes; EInvalidZip when it cannot be unpacked
// (corrupt data, a checksum mismatch, an entry inflating beyond its
// declared size, a bad symlink target, or anything Put refuses should the
// zip not have come through Put); EInternal when the store's disk fails.
func (s *Store) Dir(sha string) (string, error) {
	if err := checkSHA(sha); err != nil {
		return "", err
	}
	final := filepath.Join(s.unpackedDir, sha)
	if isDir(final) {
		return final, nil
	}

	defer s.lock(sha)()
	if isDir(final) {
		return final, nil // unpacked while we waited for the lock
	}
	zr, err := zip.OpenReader(s.zipPath(sha))
	if errors.Is(err, fs.ErrNotExist) {
		return "", notFound(sha)
	}
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return "", readFailure(err)
	}
	defer zr.Close()
	if err := s.unpack(&zr.Reader, sha, final); err != nil {
		if _, ok := errors.AsType[*sluice.Error](err); ok {
			return "", err // judged already: a bad package, or a read failure
		}
		return "", internal("Could not unpack the deployment package.", err)
	}
	s.unpacks.Add(1)
	return final, nil
}

// Unpacked reports whether package sha is unpacked, that is whether Dir
// would return at once. It is false for an invalid sha.
func (s *Store) Unpacked(sha string) bool {
	return checkSHA(sha) == nil && isDir(filepath.Join(s.unpackedDir, sha))
}

func isDir(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.IsDir()
}

// Open returns the stored zip of package sha, for reading.
//
// Errors: ENotFound when the package is not stored; EInvalidParameter when
// sha is not a hex SHA-256.
func (s *Store) Open(sha string) (*os.File, error) {
	if err := checkSHA(sha); err != nil {
		return nil, err
	}
	f, err := os.Open(s.zipPath(sha))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound(sha)
	}
	if err != nil {
		return nil, internal("Could not read the deployment package.", err)
	}
	return f, nil
}

// Remove deletes package sha and its unpacked tree. Removing a package that
// is not stored is not an error.
//
// The unpacked tree goes first, atomically, so that a crash in between
// leaves a stored zip that Dir unpacks again rather than a tree without its
// zip.
func (s *Store) Remove(sha string) error {
	if err := checkSHA(sha); err != nil {
		return err
	}
	defer s.lock(sha)()
	final := filepath.Join(s.unpackedDir, sha)
	if _, err := os.Lstat(final); err == nil {
		// The sha lock makes the name unique; a leftover of an earlier,
		// failed Remove goes first.
		doomed := filepath.Join(s.unpackedDir, tmpPrefix+"rm-"+sha)
		if err := os.RemoveAll(doomed); err != nil {
			return internal("Could not remove the deployment package.", err)
		}
		if err := os.Rename(final, doomed); err != nil {
			return internal("Could not remove the deployment package.", err)
		}
		if err := syncDir(s.unpackedDir); err != nil {
			return internal("Could not remove the deployment package.", err)
		}
		if err := os.RemoveAll(doomed); err != nil {
			return internal("Could not remove the deployment package.", err)
		}
	}
	if err := os.Remove(s.zipPath(sha)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return internal("Could not remove the deployment package.", err)
	}
	if err := syncDir(s.zipDir); err != nil {
		return internal("Could not remove the deployment package.", err)
	}
	return nil
}

func (s *Store) zipPath(sha string) string {
	return filepath.Join(s.zipDir, sha+".zip")
}

// lock takes the lock of package sha and returns its release.
func (s *Store) lock(sha string) (unlock func()) {
	s.mu.Lock()
	l := s.locks[sha]
	if l == nil {
		l = &shaLock{}
		s.locks[sha] = l
	}
	l.refs++
	s.mu.Unlock()

	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		s.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(s.locks, sha)
		}
		s.mu.Unlock()
	}
}

// checkSHA checks that sha is a hex SHA-256 in lower case, so that it is
// safe to use in a file name.
func checkSHA(sha string) error {
	if len(sha) != 2*sha256.Size {
		return sluice.Errorf(sluice.EInvalidParameter, "Invalid code SHA-256: %q", sha)
	}
	for _, c := range []byte(sha) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return sluice.Errorf(sluice.EInvalidParameter, "Invalid code SHA-256: %q", sha)
		}
	}
	return nil
}

func notFound(sha string) error {
	return sluice.Errorf(sluice.ENotFound, "Code package not found: %s", sha)
}

func internal(msg string, err error) error {
	return &sluice.Error{Code: sluice.EInternal, Message: msg, Err: fmt.Errorf("artifacts: %w", err)}
}

// writeFileAtomic writes b to path, a file in dir, so that path holds
// either its old content or all of b, even after a crash.
func writeFileAtomic(dir, path string, b []byte) (err error) {
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(b); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir fsyncs directory dir, making the creation, renaming and removal
// of its entries durable.
func syncDir(dir string) error { return syncClose(os.Open(dir)) }

// syncClose fsyncs and closes the directory os.Open or os.Root.Open
// returned.
func syncClose(d *os.File, err error) error {
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
