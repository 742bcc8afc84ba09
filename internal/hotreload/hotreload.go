// Package hotreload owns hot reload's host side: which host directories
// functions may run from (Root, the tree under `sluice serve
// --hot-reload-root`), resolving a hot-reloaded function's code to its
// directory (Code), and telling cheaply whether a directory changed since
// the environments of a function were started (Watcher).
//
// See docs/security.md (who may point a function at host directories) and
// docs/decisions.md (why a polled tree fingerprint).
package hotreload

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluice-dev/sluice"
)

// Root is the host directory under which hot-reloaded functions' code
// must lie. A nil *Root is hot reload switched off: every path is refused.
type Root struct {
	dir string // absolute, symlinks resolved
}

// NewRoot returns the Root dir: an existing directory, made absolute and
// with its symlinks resolved.
func NewRoot(dir string) (*Root, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("hot reload root: %w", err)
	}
	st, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("hot reload root: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("hot reload root %s: not a directory", dir)
	}
	return &Root{dir: real}, nil
}

// Dir is the root, absolute and with its symlinks resolved.
func (r *Root) Dir() string { return r.dir }

// Resolve checks path, an S3Key of the hot-reload bucket, and returns the
// directory it names with its symlinks resolved: it must be absolute, an
// existing directory, and inside the root once resolved. Errors are
// EInvalidParameter (InvalidParameterValueException), with messages that
// name the path as the client gave it and never the root.
func (r *Root) Resolve(path string) (string, error) {
	if r == nil {
		return "", sluice.Errorf(sluice.EInvalidParameter, "Hot reloading is disabled: the S3 bucket %q is only accepted when sluice serve runs with --hot-reload-root DIR", sluice.HotReloadBucket)
	}
	if !filepath.IsAbs(path) {
		// LocalStack's message
		return "", sluice.Errorf(sluice.EInvalidParameter, "When using hot reloading, the archive key has to be an absolute path! Your archive key: %s", path)
	}
	real, err := filepath.EvalSymlinks(filepath.Clean(path))
	if errors.Is(err, fs.ErrNotExist) {
		return "", sluice.Errorf(sluice.EInvalidParameter, "When using hot reloading, the archive key must name an existing directory: %s does not exist", path)
	}
	if err != nil {
		return "", sluice.Errorf(sluice.EInvalidParameter, "When using hot reloading, the archive key must name a directory sluice can read: %s", path)
	}
	if !within(r.dir, real) {
		return "", sluice.Errorf(sluice.EInvalidParameter, "When using hot reloading, the archive key must name a directory under the server's --hot-reload-root: %s is not", path)
	}
	st, err := os.Stat(real)
	if err != nil || !st.IsDir() {
		return "", sluice.Errorf(sluice.EInvalidParameter, "When using hot reloading, the archive key must name a directory: %s is not one", path)
	}
	return real, nil
}

// within reports whether path is root or below it; both are clean and
// absolute.
func within(root, path string) bool {
	if path == root {
		return true
	}
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// Dirs resolves stored packages to their unpacked trees
// (*artifacts.Store).
type Dirs interface {
	Dir(sha string) (string, error)
}

// Code resolves a function's CodeSHA256 to the directory it runs from:
// for hot reload (sluice.HotReloadDir) the directory, checked against Root
// again (the server may have been restarted with another root, or none,
// and a symlink may point elsewhere now), else the stored package's tree.
type Code struct {
	Store Dirs
	Root  *Root // nil: hot reload is off
}

// Dir implements invoke.CodeStore.
func (c Code) Dir(sha string) (string, error) {
	if dir, ok := sluice.HotReloadDir(sha); ok {
		return c.Root.Resolve(dir)
	}
	return c.Store.Dir(sha)
}
