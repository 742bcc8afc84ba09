package bolt

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the store to the file dst while the
// store is in use: the state of one read transaction, copied by bbolt's
// Tx.WriteTo (writers are not blocked), into a temporary file next to dst
// that is synced and then renamed to dst. It then checks the copy (a
// page that went bad on disk since Open would be copied as it is) and
// returns the copy's Report. A copy that is not whole is removed.
func (s *Store) Backup(dst string) (*Report, error) {
	err := s.db.View(func(tx *bbolt.Tx) error {
		return writeAtomic(dst, func(w io.Writer) error {
			_, err := tx.WriteTo(w)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: backup to %s: %w", dst, err)
	}
	return checkCopy(dst)
}

// BackupFile copies the store file at path, which no process has open
// for writing, to dst as Backup does. It checks path first: a backup of
// a store that is not whole fails.
func BackupFile(path, dst string) (*Report, error) {
	if _, err := Check(path); err != nil {
		return nil, err
	}
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		return nil, fmt.Errorf("bolt: backup: there is no store at %s", path)
	}
	db, err := safeOpen(path, &bbolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return (&Store{db: db}).Backup(dst)
}

// checkCopy checks a copy just written to dst, removing it if it is not
// whole.
func checkCopy(dst string) (*Report, error) {
	rep, err := Check(dst)
	if err != nil {
		_ = os.Remove(dst)
		return nil, fmt.Errorf("bolt: the copy at %s is not whole, removed: %w", dst, err)
	}
	return rep, nil
}

// Restore puts a copy of the backup file from in place of the store file
// at path, after checking that the backup is a whole sluice store. It
// never overwrites: a file at path is renamed aside (to
// path.broken-TIME, returned as aside, "" if there was none). No process
// may have the store open. Restore writes the store's marker.
func Restore(path, from string) (aside string, rep *Report, err error) {
	brep, err := Check(from)
	if err != nil {
		return "", nil, fmt.Errorf("bolt: restore: the backup %s: %w", from, err)
	}
	if brep.Schema < 1 {
		return "", nil, fmt.Errorf("bolt: restore: %s is not a backup of a sluice store (it has no data)", from)
	}
	src, err := os.Open(from)
	if err != nil {
		return "", nil, fmt.Errorf("bolt: restore: %w", err)
	}
	defer src.Close()
	return replace(path, func(w io.Writer) error {
		_, err := io.Copy(w, src)
		return err
	})
}

// Repair rewrites a store file whose only problem is one corrupt meta
// page (see CheckError.RepairableMeta): it copies the store as the other
// meta page has it, the state bbolt would otherwise fall back to
// silently, to a new file, checks it, and puts it in place of path,
// keeping the damaged file aside (returned as aside). The transaction the
// corrupt meta page recorded, if it was the newer one, is lost: Repair is
// for when there is no newer backup. A store that is whole is left alone
// (aside is ""); any other damage is not repaired (restore a backup).
// No process may have the store open.
func Repair(path string) (aside string, rep *Report, err error) {
	rep, err = Check(path)
	if err == nil {
		return "", rep, nil
	}
	var ce *CheckError
	if !errors.As(err, &ce) || !ce.RepairableMeta {
		return "", nil, err
	}
	f, err := lockedFile(path, syscall.LOCK_EX)
	if err != nil {
		return "", nil, err
	}
	_, err = checkFile(f, path, true)
	f.Close() // bbolt takes its own lock
	if err != nil {
		return "", nil, err
	}
	// Copy the tree the whole meta page points to, with bbolt, which
	// falls back to it; then put the copy in place (once bbolt's shared
	// lock on path is released).
	copied := path + ".repaired"
	db, err := safeOpen(path, &bbolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if err != nil {
		return "", nil, err
	}
	// bbolt's Tx.Check would stop at the corrupt meta page: the copy is
	// checked instead (replace).
	err = db.View(func(tx *bbolt.Tx) error {
		return writeAtomic(copied, func(w io.Writer) error {
			_, err := tx.WriteTo(w)
			return err
		})
	})
	db.Close()
	if err != nil {
		return "", nil, err
	}
	defer os.Remove(copied)
	src, err := os.Open(copied)
	if err != nil {
		return "", nil, err
	}
	defer src.Close()
	return replace(path, func(w io.Writer) error {
		_, err := io.Copy(w, src)
		return err
	})
}

// replace writes a new store file with write, checks it, and renames it
// to path, renaming a file at path aside first.
func replace(path string, write func(io.Writer) error) (aside string, rep *Report, err error) {
	// Hold the lock a server holds, so that a running server's store is
	// never replaced under it.
	if f, err := lockedFile(path, syscall.LOCK_EX); err == nil {
		defer f.Close()
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", nil, err
	}
	tmp := path + ".new"
	if err := writeAtomic(tmp, write); err != nil {
		return "", nil, fmt.Errorf("bolt: write %s: %w", tmp, err)
	}
	if rep, err = checkCopy(tmp); err != nil {
		return "", nil, err
	}
	if _, err := os.Lstat(path); err == nil {
		aside = fmt.Sprintf("%s.broken-%s", path, time.Now().UTC().Format("20060102T150405.000000000Z"))
		if err := os.Rename(path, aside); err != nil {
			return "", nil, fmt.Errorf("bolt: keep the old store aside: %w", err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return aside, nil, fmt.Errorf("bolt: put the new store in place (the old one is at %s): %w", aside, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return aside, nil, err
	}
	rep.Path = path
	return aside, rep, writeMarker(path)
}

// writeAtomic writes a file at path with write: into a temporary file
// next to it, synced, then renamed over path, so that path is either
// absent, its old content or the whole new content.
func writeAtomic(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename, nothing
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o600); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// writeFileSync writes data to the file at path atomically.
func writeFileSync(path string, data []byte) error {
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("bolt: sync %s: %w", dir, err)
	}
	return nil
}
