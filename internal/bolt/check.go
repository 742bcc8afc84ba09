package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// ErrNotWhole is the error (under errors.Is) of Open, Check and Restore
// when a store file is not whole: missing or emptied where a store was,
// truncated, a corrupt meta page, or pages that do not form a consistent
// tree. A *CheckError carries what is wrong.
var ErrNotWhole = errors.New("the store is not whole")

// CheckError is the error of a store file that is not whole.
type CheckError struct {
	Path     string
	Problems []string
	// RepairableMeta is set when the only problem is one corrupt meta
	// page while the other meta page and the tree it points to are whole:
	// Repair can rewrite the file from that meta page (losing, at worst,
	// the last transaction).
	RepairableMeta bool
}

func (e *CheckError) Error() string {
	return fmt.Sprintf("bolt: %s is not whole: %s", e.Path, strings.Join(e.Problems, "; "))
}

// Is makes errors.Is(err, ErrNotWhole) true.
func (e *CheckError) Is(target error) bool { return target == ErrNotWhole }

// Report describes a whole store file.
type Report struct {
	Path      string
	Size      int64  // bytes
	PageSize  int    // bytes
	Pages     uint64 // the high water mark: pages in use or free
	TxID      uint64 // the last committed transaction
	Schema    int    // schema version
	Functions int    // functions ($LATEST records)
	Took      time.Duration
}

// maxProblems is the most problems a check reports.
const maxProblems = 20

// MarkerPath is the marker file Open writes next to the store file at
// path once the store is whole and open: a store file that is then
// missing or empty was lost, not never created, and Open refuses to
// start an empty store in its place.
func MarkerPath(path string) string { return path + ".marker" }

const markerText = `This data directory has a sluice store (the file next to this one).
Do not remove this file: without it a lost or emptied store file would
silently start an empty store. To start an empty store on purpose, remove
the store file and this marker.
`

// Check checks the store file at path without writing to it: the file's
// size, both meta pages, every page of the tree (read with bounds checks,
// before bbolt maps the file, so that a corrupt page is reported rather
// than crashing the process), then bbolt's own consistency check
// (Tx.Check) and the schema. It fails with a *CheckError (ErrNotWhole)
// when the store is not whole, and with another error when it cannot
// check (for example, another process has the file open for writing).
// A missing or empty file is whole only when there is no marker next to
// it (a store that was never created).
func Check(path string) (*Report, error) {
	start := time.Now()
	st, err := os.Stat(path)
	if err != nil || st.Size() == 0 {
		if e := lostStore(path, st); e != nil {
			return nil, e
		}
		if err != nil {
			return nil, fmt.Errorf("bolt: %w", err)
		}
		return &Report{Path: path, Took: time.Since(start)}, nil
	}
	f, err := lockedFile(path, syscall.LOCK_SH)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	layout, err := checkFile(f, path, false)
	if err != nil {
		return nil, err
	}
	db, err := safeOpen(path, &bbolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rep := &Report{Path: path, Size: layout.size, PageSize: layout.pageSize, Pages: layout.meta.pgid, TxID: layout.meta.txid}
	err = db.View(func(tx *bbolt.Tx) error {
		if err := checkTx(path, tx); err != nil {
			return err
		}
		v, err := schemaOf(tx)
		if err != nil {
			return &CheckError{Path: path, Problems: []string{err.Error()}}
		}
		rep.Schema = v
		rep.Functions = countFunctions(tx, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep.Took = time.Since(start)
	return rep, nil
}

// lostStore returns a *CheckError when the store file at path is missing
// or empty (st is its FileInfo, nil if missing) although the marker says
// a store was created there; nil otherwise.
func lostStore(path string, st os.FileInfo) error {
	if _, err := os.Stat(MarkerPath(path)); err != nil {
		return nil
	}
	what := "missing"
	if st != nil {
		what = "empty (0 bytes)"
	}
	return &CheckError{Path: path, Problems: []string{fmt.Sprintf("the store file is %s, but %s says a store was created here: its functions would all vanish", what, MarkerPath(path))}}
}

// checkTx runs bbolt's consistency check in a read transaction.
func checkTx(path string, tx *bbolt.Tx) error {
	var problems []string
	for err := range tx.Check() {
		if len(problems) < maxProblems {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return &CheckError{Path: path, Problems: problems}
	}
	return nil
}

// schemaOf returns the schema version of the store in tx and checks that
// its buckets are there. An empty file (no buckets) is version 0.
func schemaOf(tx *bbolt.Tx) (int, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		n := 0
		_ = tx.ForEach(func([]byte, *bbolt.Bucket) error { n++; return nil })
		if n > 0 {
			return 0, errors.New("not a sluice database: it has no meta bucket")
		}
		return 0, nil
	}
	raw := meta.Get(keySchema)
	version, err := strconv.Atoi(string(raw))
	if err != nil || version < 1 {
		return 0, fmt.Errorf("not a sluice database: invalid schema version %q", raw)
	}
	if version > SchemaVersion {
		return version, fmt.Errorf("the database has schema version %d, newer than the version %d this sluice supports", version, SchemaVersion)
	}
	if version >= 4 {
		return version, checkScopes(tx)
	}
	want := [][]byte{bucketFunctions}
	if version >= 2 {
		want = append(want, bucketsV2...)
	}
	if version >= 3 {
		want = append(want, bucketsV3...)
	}
	for _, name := range want {
		if tx.Bucket(name) == nil {
			return version, fmt.Errorf("corrupt sluice database: the %s bucket is missing", name)
		}
	}
	return version, nil
}

// countFunctions returns the number of functions in a file of schema
// version: of every scope since version 4.
func countFunctions(tx *bbolt.Tx, version int) int {
	if version < 4 {
		if b := tx.Bucket(bucketFunctions); b != nil {
			return b.Stats().KeyN
		}
		return 0
	}
	n := 0
	scopes := tx.Bucket(bucketScopes)
	if scopes == nil {
		return 0
	}
	_ = scopes.ForEach(func(k, _ []byte) error {
		if sb := scopes.Bucket(k); sb != nil {
			if b := sb.Bucket(bucketFunctions); b != nil {
				n += b.Stats().KeyN
			}
		}
		return nil
	})
	return n
}

// safeOpen opens path with bbolt, turning a panic or a memory fault in
// bbolt (a page it trusted was not what it claimed) into a *CheckError
// rather than a crash. checkFile has checked every page bbolt reads
// before this runs; this is the last line.
func safeOpen(path string, opts *bbolt.Options) (db *bbolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, &CheckError{Path: path, Problems: []string{fmt.Sprintf("bbolt failed reading the file: %v", r)}}
		}
	}()
	db, err = bbolt.Open(path, 0o600, opts)
	if err != nil {
		return nil, openError(path, err)
	}
	return db, nil
}

// lockedFile opens path read-only and takes a flock of kind how on it,
// waiting up to lockTimeout: bbolt takes the same lock (exclusive when it
// writes), so a file another sluice has open for writing is not read
// while it changes.
func lockedFile(path string, how int) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bolt: %w", err)
	}
	deadline := time.Now().Add(lockTimeout)
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("bolt: open %s: could not lock the file within %s (data dir is in use by another sluice process?): %w", path, lockTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The bbolt file format (go.etcd.io/bbolt/internal/common), version 2.
const (
	pageHeaderSize = 16 // id u64, flags u16, count u16, overflow u32
	elemSize       = 16 // branch: pos u32, ksize u32, pgid u64; leaf: flags u32, pos u32, ksize u32, vsize u32
	metaSize       = 64 // magic u32, version u32, pageSize u32, flags u32, root u64, sequence u64, freelist u64, pgid u64, txid u64, checksum u64
	inBucketSize   = 16 // root u64, sequence u64

	branchPage   = 0x01
	leafPage     = 0x02
	metaPage     = 0x04
	freelistPage = 0x10
	bucketLeaf   = 0x01

	boltMagic   = 0xED0CDAED
	boltVersion = 2
	noFreelist  = ^uint64(0)
	// maxDepth bounds the nesting of pages and buckets a walk follows.
	maxDepth = 256
)

// le is bbolt's byte order on the platforms sluice runs on (bbolt writes
// its structs in native order; amd64 and arm64 are little-endian).
var le = binary.LittleEndian

type metaInfo struct {
	pageSize                 int
	root, freelist, pgid, id uint64
	txid                     uint64
}

// parseMeta parses a meta page (buf starts at the page) and validates it
// as bbolt does: magic, version and checksum.
func parseMeta(buf []byte) (metaInfo, error) {
	if len(buf) < pageHeaderSize+metaSize {
		return metaInfo{}, errors.New("short")
	}
	m := buf[pageHeaderSize : pageHeaderSize+metaSize]
	if le.Uint32(m[0:]) != boltMagic {
		return metaInfo{}, errors.New("bad magic number")
	}
	if le.Uint32(m[4:]) != boltVersion {
		return metaInfo{}, fmt.Errorf("file format version %d, not %d", le.Uint32(m[4:]), boltVersion)
	}
	h := fnv.New64a()
	h.Write(m[:56])
	if h.Sum64() != le.Uint64(m[56:]) {
		return metaInfo{}, errors.New("checksum mismatch")
	}
	mi := metaInfo{
		pageSize: int(le.Uint32(m[8:])),
		root:     le.Uint64(m[16:]),
		freelist: le.Uint64(m[32:]),
		pgid:     le.Uint64(m[40:]),
		txid:     le.Uint64(m[48:]),
		id:       le.Uint64(buf[0:]),
	}
	if mi.pageSize < 512 || mi.pageSize > 1<<24 || mi.pageSize&(mi.pageSize-1) != 0 {
		return metaInfo{}, fmt.Errorf("page size %d", mi.pageSize)
	}
	return mi, nil
}

type fileLayout struct {
	size     int64
	pageSize int
	meta     metaInfo // the meta page bbolt uses
}

// checkFile checks the file's size, its meta pages and every page bbolt
// reads from the meta page it would use, reading with bounds checks
// (ReadAt, no memory map), so that bbolt, which trusts what its pages
// say, can then map the file without faulting or panicking. allowOneMeta
// accepts one corrupt meta page (for Repair).
func checkFile(f *os.File, path string, allowOneMeta bool) (fileLayout, error) {
	fail := func(problems ...string) (fileLayout, error) {
		return fileLayout{}, &CheckError{Path: path, Problems: problems}
	}
	st, err := f.Stat()
	if err != nil {
		return fileLayout{}, fmt.Errorf("bolt: %w", err)
	}
	size := st.Size()
	buf := make([]byte, 0x1000)
	n, _ := f.ReadAt(buf, 0)
	m0, err0 := parseMeta(buf[:n])
	// Page 1 is at the page size meta 0 gives; if meta 0 is corrupt,
	// try the sizes bbolt tries.
	var m1 metaInfo
	err1 := errors.New("no valid meta page at any page size")
	offsets := []int64{int64(m0.pageSize)}
	if err0 != nil {
		offsets = nil
		for i := 0; i <= 14; i++ {
			offsets = append(offsets, 1024<<i)
		}
	}
	for _, off := range offsets {
		if off >= size {
			break
		}
		n, _ := f.ReadAt(buf, off)
		if m, err := parseMeta(buf[:n]); err == nil && int64(m.pageSize) == off {
			m1, err1 = m, nil
			break
		} else if err0 == nil {
			err1 = err
		}
	}
	switch {
	case err0 != nil && err1 != nil:
		if size < 2*1024 {
			return fail(fmt.Sprintf("the file is %d bytes, too small to hold its two meta pages: truncated", size))
		}
		return fail(fmt.Sprintf("both meta pages are corrupt (page 0: %v; page 1: %v)", err0, err1))
	case err0 == nil && err1 == nil && m0.pageSize != m1.pageSize:
		return fail(fmt.Sprintf("the meta pages disagree on the page size (%d and %d)", m0.pageSize, m1.pageSize))
	}
	use := m0
	if err0 != nil || (err1 == nil && m1.txid > m0.txid) {
		use = m1
	}
	var metaProblems []string
	if err0 != nil || err1 != nil {
		bad, badErr := 0, err0
		if err1 != nil {
			bad, badErr = 1, err1
		}
		metaProblems = append(metaProblems, fmt.Sprintf("meta page %d is corrupt (%v): bbolt would silently fall back to meta page %d, the state after transaction %d, and lose any transaction committed after it", bad, badErr, 1-bad, use.txid))
	}
	ps := use.pageSize
	if size < int64(2*ps) {
		return fail(fmt.Sprintf("the file is %d bytes, smaller than its two meta pages (%d bytes): truncated", size, 2*ps))
	}
	if end := int64(use.pgid) * int64(ps); use.pgid < 2 || end/int64(ps) != int64(use.pgid) || end > size {
		return fail(append(metaProblems, fmt.Sprintf("the file is %d bytes, but its meta page says its pages reach %d pages of %d bytes (%d bytes): truncated", size, use.pgid, ps, int64(use.pgid)*int64(ps)))...)
	}
	w, err := walk(f, size, ps, use)
	if err != nil {
		return fileLayout{}, err
	}
	problems := append(metaProblems, w.problems...)
	if len(problems) > 0 {
		if allowOneMeta && len(w.problems) == 0 {
			return fileLayout{size: size, pageSize: ps, meta: use}, nil
		}
		return fileLayout{}, &CheckError{Path: path, Problems: problems, RepairableMeta: len(w.problems) == 0}
	}
	return fileLayout{size: size, pageSize: ps, meta: use}, nil
}

// walker reads the pages of a bbolt file with bounds checks.
type walker struct {
	data     []byte // the file, mapped read-only
	ps       int
	hwm      uint64 // pages below it exist in the file
	seen     []bool // by page id
	problems []string
}

// walk maps the file read-only and walks the freelist and the tree of
// meta page m. Every access is within the file's size (mapped memory
// past the end of a file faults); a fault nonetheless (the file shrank
// under the lock) is a problem, not a crash.
func walk(f *os.File, size int64, ps int, m metaInfo) (w *walker, err error) {
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("bolt: map %s: %w", f.Name(), err)
	}
	defer syscall.Munmap(data)
	w = &walker{data: data, ps: ps, hwm: m.pgid, seen: make([]bool, m.pgid)}
	w.seen[0], w.seen[1] = true, true
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			w.problem("reading the file failed: %v", r)
		}
	}()
	w.freelist(m.freelist)
	w.tree(m.root, 0, ref{"the root bucket", 0})
	return w, nil
}

// ref names what points to a page: a kind and the page it is on (0:
// none).
type ref struct {
	kind string
	page uint64
}

func (r ref) String() string {
	if r.page == 0 {
		return r.kind
	}
	return fmt.Sprintf("%s %d", r.kind, r.page)
}

func (w *walker) problem(format string, args ...any) {
	if len(w.problems) < maxProblems {
		w.problems = append(w.problems, fmt.Sprintf(format, args...))
	}
}

// page reads page id with its overflow pages, checking that it lies in
// the file, has the id it is at, and was not reached before (a page two
// parents point to is a corrupt tree, and a cycle would never end).
func (w *walker) page(id uint64, what ref) []byte {
	if id < 2 || id >= w.hwm {
		w.problem("%s points to page %d, outside the pages of the file (2 to %d)", what, id, w.hwm-1)
		return nil
	}
	if w.seen[id] {
		w.problem("%s points to page %d, which another page points to as well", what, id)
		return nil
	}
	off := id * uint64(w.ps)
	hdr := w.data[off : off+pageHeaderSize]
	if got := le.Uint64(hdr); got != id {
		w.problem("page %d (%s) has the header of page %d: garbage", id, what, got)
		return nil
	}
	overflow := uint64(le.Uint32(hdr[12:]))
	if id+overflow >= w.hwm || id+overflow < id {
		w.problem("page %d (%s) runs %d pages past the end of the file", id, what, id+overflow-w.hwm+1)
		return nil
	}
	for i := id; i <= id+overflow; i++ {
		if w.seen[i] {
			w.problem("page %d (%s) overlaps page %d", id, what, i)
			return nil
		}
		w.seen[i] = true
	}
	return w.data[off : (id+overflow+1)*uint64(w.ps)]
}

func (w *walker) freelist(id uint64) {
	if id == noFreelist {
		return
	}
	buf := w.page(id, ref{"the meta page's freelist", 0})
	if buf == nil {
		return
	}
	if flags := le.Uint16(buf[8:]); flags != freelistPage {
		w.problem("page %d should be the freelist but has page flags %#x: garbage", id, flags)
		return
	}
	count, start := uint64(le.Uint16(buf[10:])), uint64(pageHeaderSize)
	if count == 0xFFFF { // the real count is the first element
		count, start = le.Uint64(buf[pageHeaderSize:]), pageHeaderSize+8
	}
	if count > (uint64(len(buf))-start)/8 {
		w.problem("the freelist (page %d) says it lists %d pages, more than it can hold", id, count)
		return
	}
	for i := uint64(0); i < count; i++ {
		if free := le.Uint64(buf[start+8*i:]); free < 2 || free >= w.hwm {
			w.problem("the freelist (page %d) lists page %d, outside the pages of the file", id, free)
			return
		}
	}
}

// tree walks the pages of a bucket rooted at page id.
func (w *walker) tree(id uint64, depth int, what ref) {
	if depth > maxDepth {
		w.problem("%s: pages nest deeper than %d", what, maxDepth)
		return
	}
	buf := w.page(id, what)
	if buf == nil {
		return
	}
	switch flags := le.Uint16(buf[8:]); flags {
	case branchPage:
		count := int(le.Uint16(buf[10:]))
		if count == 0 || pageHeaderSize+count*elemSize > len(buf) {
			w.problem("branch page %d (%s) has %d elements: garbage", id, what, count)
			return
		}
		for i := range count {
			off := pageHeaderSize + i*elemSize
			pos, ksize := int(le.Uint32(buf[off:])), int(le.Uint32(buf[off+4:]))
			if pos < 0 || ksize < 0 || off+pos+ksize > len(buf) || off+pos+ksize < off {
				w.problem("branch page %d (%s): element %d lies outside the page", id, what, i)
				return
			}
			w.tree(le.Uint64(buf[off+8:]), depth+1, ref{"branch page", id})
		}
	case leafPage:
		w.leaf(buf, depth, ref{"leaf page", id})
	default:
		w.problem("page %d (%s) should be a branch or leaf page but has page flags %#x: garbage", id, what, flags)
	}
}

// leaf checks the elements of a leaf page (buf starts at its header) and
// walks the buckets it holds.
func (w *walker) leaf(buf []byte, depth int, what ref) {
	if len(buf) < pageHeaderSize {
		w.problem("%s: shorter than a page header", what)
		return
	}
	count := int(le.Uint16(buf[10:]))
	if pageHeaderSize+count*elemSize > len(buf) {
		w.problem("%s has %d elements, more than it can hold: garbage", what, count)
		return
	}
	for i := range count {
		off := pageHeaderSize + i*elemSize
		flags := le.Uint32(buf[off:])
		pos, ksize, vsize := uint64(le.Uint32(buf[off+4:])), uint64(le.Uint32(buf[off+8:])), uint64(le.Uint32(buf[off+12:]))
		end := uint64(off) + pos + ksize + vsize
		if end > uint64(len(buf)) {
			w.problem("%s: element %d lies outside the page", what, i)
			return
		}
		if flags&bucketLeaf == 0 {
			continue
		}
		value := buf[uint64(off)+pos+ksize : end]
		if len(value) < inBucketSize {
			w.problem("%s: element %d is a bucket with a %d-byte header", what, i, len(value))
			return
		}
		if depth > maxDepth {
			w.problem("%s: buckets nest deeper than %d", what, maxDepth)
			return
		}
		if root := le.Uint64(value); root == 0 { // an inline bucket: its page follows
			inline := value[inBucketSize:]
			if len(inline) < pageHeaderSize || le.Uint16(inline[8:]) != leafPage {
				w.problem("%s: element %d is an inline bucket without a leaf page", what, i)
				return
			}
			w.leaf(inline, depth+1, ref{"an inline bucket in " + what.kind, what.page})
		} else {
			w.tree(root, depth+1, ref{"a bucket in " + what.kind, what.page})
		}
	}
}
