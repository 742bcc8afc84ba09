package hotreload

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"io/fs"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// CostShare bounds the time a Watcher spends walking one key's
// directory: it walks it again only once CostShare times the duration of
// the previous walk has passed since that walk (at most a tenth of a core
// per hot-reloaded function, however often it is invoked).
const CostShare = 10

// Watcher tells whether the directory of a hot-reloaded function changed
// since it last looked, by a fingerprint of the tree (each entry's path,
// type and mode, size, modification time and inode, and where the
// directory's symlinks lead). It walks the tree when asked, unless the
// previous walk of the same key was less than max(Interval, CostShare ×
// its duration) ago: a small tree (a walk of tens of microseconds) is
// walked at every invocation, a big one (node_modules: tens of
// milliseconds) at most every few hundred milliseconds. It keeps no
// goroutine and no inotify watches. Safe for concurrent use.
type Watcher struct {
	// Interval is the least time between two walks of one key's
	// directory; 0 means none but the cost bound.
	Interval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu   sync.Mutex
	seen map[string]*tree
}

// tree is what a Watcher last saw of one key.
type tree struct {
	mu     sync.Mutex // serializes the walks of one key
	dir    string
	sum    [sha256.Size]byte
	walked time.Time
	cost   time.Duration // of the last walk
}

// Changed reports whether dir (for key: an execution environment key)
// differs from what Changed saw for key the last time it walked it. The
// first call for a key, or for another dir of it, records the tree and
// reports true only for another dir.
func (w *Watcher) Changed(key, dir string) bool {
	now := w.now()
	w.mu.Lock()
	if w.seen == nil {
		w.seen = map[string]*tree{}
	}
	t := w.seen[key]
	fresh := t == nil
	if fresh {
		t = &tree{}
		w.seen[key] = t
	}
	w.mu.Unlock()

	t.mu.Lock()
	defer t.mu.Unlock()
	if !fresh && t.dir == dir && now.Sub(t.walked) < max(w.Interval, CostShare*t.cost) {
		return false
	}
	start := time.Now()
	sum := Fingerprint(dir)
	changed := !fresh && (t.dir != dir || t.sum != sum)
	t.dir, t.sum, t.walked, t.cost = dir, sum, now, time.Since(start)
	return changed
}

// Forget drops what the Watcher knows of key (its environments are gone).
func (w *Watcher) Forget(key string) {
	w.mu.Lock()
	delete(w.seen, key)
	w.mu.Unlock()
}

func (w *Watcher) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// Fingerprint sums the tree dir: where its symlinks lead, and each
// entry's relative path, type and mode, size, modification time and inode
// (an editor that replaces a file by renaming changes the inode). Entries
// it cannot read count by their error, so a tree that cannot be walked
// has a fingerprint too (and changes when it can be again).
func Fingerprint(dir string) [sha256.Size]byte {
	h := sha256.New()
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		writeString(h, "error: "+err.Error())
		return sum(h)
	}
	writeString(h, real)
	_ = filepath.WalkDir(real, func(path string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(real, path)
		writeString(h, rel)
		if err != nil {
			writeString(h, "error: "+err.Error())
			return nil // WalkDir skips an unreadable directory
		}
		info, err := d.Info()
		if err != nil {
			writeString(h, "error: "+err.Error())
			return nil
		}
		var b [8 * 4]byte
		binary.LittleEndian.PutUint64(b[0:], uint64(info.Mode()))
		binary.LittleEndian.PutUint64(b[8:], uint64(info.Size()))
		binary.LittleEndian.PutUint64(b[16:], uint64(info.ModTime().UnixNano()))
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			binary.LittleEndian.PutUint64(b[24:], uint64(st.Ino))
		}
		h.Write(b[:])
		return nil
	})
	return sum(h)
}

func writeString(h hash.Hash, s string) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}

func sum(h hash.Hash) (s [sha256.Size]byte) {
	copy(s[:], h.Sum(nil))
	return s
}
