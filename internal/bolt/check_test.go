package bolt_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/bolt"
	bbolt "go.etcd.io/bbolt"
)

// fillStore creates a store at path with n functions, in one
// transaction per function (so that both meta pages are written).
func fillStore(t *testing.T, path string, n int) {
	t.Helper()
	s, err := bolt.Open(path, testScope)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	for i := range n {
		fn := &sluice.Function{Name: fmt.Sprintf("fn-%05d", i), Runtime: "provided.al2023", Handler: "bootstrap", Role: "arn:aws:iam::000000000000:role/r", Description: strings.Repeat("d", 200)}
		if err := s.CreateFunction(context.Background(), fn); err != nil {
			t.Fatalf("CreateFunction: %v", err)
		}
	}
}

const pageSize = 4096 // bbolt's page size is the OS's; the tests check it

// metaTxID returns the transaction id meta page i records.
func metaTxID(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i*pageSize+16+48:]) }

// newerMeta returns the index of the meta page with the higher txid.
func newerMeta(b []byte) int {
	if metaTxID(b, 1) > metaTxID(b, 0) {
		return 1
	}
	return 0
}

// functionsRoot returns the root page of the functions bucket.
func functionsRoot(t *testing.T, path string) uint64 {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var root uint64
	if err := db.View(func(tx *bbolt.Tx) error {
		fns, _ := bucketOf(tx, "functions", false)
		root = uint64(fns.Root())
		if db.Info().PageSize != pageSize {
			return fmt.Errorf("page size %d, the test assumes %d", db.Info().PageSize, pageSize)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return root
}

func garbage(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// corruptions are the ways a store file breaks, each applied to the
// bytes of a whole store with 2,000 functions (b) whose functions bucket
// is rooted at a branch page (root). want is in the error Open returns.
var corruptions = []struct {
	name    string
	corrupt func(t *testing.T, path string, b []byte, root uint64) []byte
	want    string
}{
	{"empty file", func(t *testing.T, _ string, b []byte, _ uint64) []byte { return []byte{} }, "empty (0 bytes)"},
	{"missing file", func(t *testing.T, _ string, b []byte, _ uint64) []byte { return nil }, "missing"},
	{"truncated to half", func(t *testing.T, _ string, b []byte, _ uint64) []byte { return b[:len(b)/2/pageSize*pageSize] }, "truncated"},
	{"truncated to one page", func(t *testing.T, _ string, b []byte, _ uint64) []byte { return b[:pageSize] }, "truncated"},
	{"newer meta page zeroed", func(t *testing.T, _ string, b []byte, _ uint64) []byte {
		m := newerMeta(b)
		clear(b[m*pageSize : (m+1)*pageSize])
		return b
	}, "would silently fall back"},
	{"both meta pages garbage", func(t *testing.T, _ string, b []byte, _ uint64) []byte {
		copy(b[:2*pageSize], garbage(2*pageSize))
		return b
	}, "both meta pages are corrupt"},
	{"freelist page garbage", func(t *testing.T, _ string, b []byte, _ uint64) []byte {
		fl := binary.LittleEndian.Uint64(b[newerMeta(b)*pageSize+16+32:])
		copy(b[fl*pageSize:(fl+1)*pageSize], garbage(pageSize))
		return b
	}, "freelist"},
	{"freelist page with a leaf page's flags", func(t *testing.T, _ string, b []byte, _ uint64) []byte {
		fl := binary.LittleEndian.Uint64(b[newerMeta(b)*pageSize+16+32:])
		binary.LittleEndian.PutUint16(b[fl*pageSize+8:], 0x02)
		return b
	}, "should be the freelist"},
	{"branch page garbage", func(t *testing.T, _ string, b []byte, root uint64) []byte {
		copy(b[root*pageSize:(root+1)*pageSize], garbage(pageSize))
		return b
	}, "garbage"},
	{"branch page points past the end of the file", func(t *testing.T, _ string, b []byte, root uint64) []byte {
		binary.LittleEndian.PutUint64(b[root*pageSize+16+8:], 1<<30)
		return b
	}, "outside the pages of the file"},
	{"leaf page element points outside its page", func(t *testing.T, _ string, b []byte, root uint64) []byte {
		leaf := root
		for binary.LittleEndian.Uint16(b[leaf*pageSize+8:]) == 0x01 { // down the first branch to a leaf
			leaf = binary.LittleEndian.Uint64(b[leaf*pageSize+16+8:])
		}
		binary.LittleEndian.PutUint32(b[leaf*pageSize+16+4:], 1<<30)
		return b
	}, "outside the page"},
	{"two branch elements point to the same page", func(t *testing.T, _ string, b []byte, root uint64) []byte {
		first := binary.LittleEndian.Uint64(b[root*pageSize+16+8:])
		binary.LittleEndian.PutUint64(b[root*pageSize+16+16+8:], first)
		return b
	}, "another page points to as well"},
}

// TestOpenRefusesCorruptStores breaks a whole store in each way a disk
// breaks one and checks that Open refuses it with a clear error: no
// panic or memory fault (either would end this test binary), no empty
// store in its place, and the file left as it was.
func TestOpenRefusesCorruptStores(t *testing.T) {
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.db")
	fillStore(t, whole, 2000)
	orig, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	root := functionsRoot(t, whole)
	if flags := binary.LittleEndian.Uint16(orig[root*pageSize+8:]); flags != 0x01 {
		t.Fatalf("the functions bucket's root page %d has flags %#x, want a branch page", root, flags)
	}
	for _, c := range corruptions {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sluice.db")
			if err := os.WriteFile(bolt.MarkerPath(path), nil, 0o600); err != nil { // a store was created here
				t.Fatal(err)
			}
			broken := c.corrupt(t, path, bytes.Clone(orig), root)
			if broken != nil {
				if err := os.WriteFile(path, broken, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s, err := bolt.Open(path, testScope)
			if err == nil {
				fns, _ := s.ListFunctions(context.Background(), "", 0)
				s.Close()
				t.Fatalf("Open succeeded on the corrupt store, which lists %d functions of 2000", len(fns))
			}
			if !errors.Is(err, bolt.ErrNotWhole) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Open: %v, want ErrNotWhole saying %q", err, c.want)
			}
			t.Logf("Open: %v", err)
			after, statErr := os.ReadFile(path)
			if broken == nil && !errors.Is(statErr, os.ErrNotExist) {
				t.Errorf("Open created a file in place of the missing store")
			}
			if broken != nil && !bytes.Equal(after, broken) {
				t.Errorf("Open changed the corrupt file (%d bytes, now %d)", len(broken), len(after))
			}
			if _, err := bolt.Check(path); !errors.Is(err, bolt.ErrNotWhole) {
				t.Errorf("Check: %v, want ErrNotWhole", err)
			}
		})
	}
}

func TestCheckWholeStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sluice.db")
	fillStore(t, path, 100)
	rep, err := bolt.Check(path)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if rep.Functions != 100 || rep.Schema != bolt.SchemaVersion || rep.PageSize != pageSize || rep.TxID < 100 {
		t.Errorf("Check report = %+v", rep)
	}
	// A new data dir has no store and no marker: whole (nothing to lose),
	// and Open creates it.
	fresh := filepath.Join(t.TempDir(), "sluice.db")
	if _, err := bolt.Check(fresh); err == nil || errors.Is(err, bolt.ErrNotWhole) {
		t.Errorf("Check of a missing store without marker: %v, want a not-exist error that is not ErrNotWhole", err)
	}
	if err := os.WriteFile(fresh, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := bolt.Check(fresh); err != nil {
		t.Errorf("Check of an empty file without marker (a store being created): %v", err)
	}
	s, err := bolt.Open(fresh, testScope)
	if err != nil {
		t.Fatalf("Open of an empty file without marker: %v", err)
	}
	s.Close()
	if _, err := os.Stat(bolt.MarkerPath(fresh)); err != nil {
		t.Errorf("Open wrote no marker: %v", err)
	}
}

// TestCheckWhileOpen: Check waits for the lock of the process that has
// the store open for writing, and says so.
func TestCheckWhileOpen(t *testing.T) {
	s, path := openTemp(t)
	_ = s
	if _, err := bolt.Check(path); err == nil || !strings.Contains(err.Error(), "in use by another sluice") {
		t.Errorf("Check of an open store: %v", err)
	}
}

func TestBackupWhileWriting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sluice.db")
	s, err := bolt.Open(path, testScope)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	done := make(chan error)
	go func() {
		for i := range 300 {
			if err := s.CreateFunction(ctx, &sluice.Function{Name: fmt.Sprintf("fn-%d", i)}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	var reps []*bolt.Report
	for i := range 5 {
		rep, err := s.Backup(filepath.Join(dir, "backups", fmt.Sprintf("b%d.db", i)))
		if err != nil {
			t.Fatalf("Backup while writing: %v", err)
		}
		reps = append(reps, rep)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rep, err := s.Backup(filepath.Join(dir, "backups", "last.db"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Functions != 300 {
		t.Errorf("the last backup has %d functions, want 300", rep.Functions)
	}
	for i, r := range reps {
		if r.Functions > 300 || (i > 0 && r.Functions < reps[i-1].Functions) {
			t.Errorf("backup %d has %d functions (the one before %d)", i, r.Functions, reps[i-1].Functions)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "backups"))
	if len(entries) != 6 {
		t.Errorf("backups dir has %d entries (temporary files left?), want 6", len(entries))
	}
}

func TestRestoreKeepsTheBrokenStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sluice.db")
	fillStore(t, path, 10)
	backup := filepath.Join(dir, "backup.db")
	rep, err := bolt.BackupFile(path, backup)
	if err != nil {
		t.Fatalf("BackupFile: %v", err)
	}
	// Half of the pages in use (the file itself is larger: bbolt grows it
	// ahead of them).
	broken, _ := os.ReadFile(path)
	broken = broken[:rep.Pages/2*pageSize]
	if err := os.WriteFile(path, broken, 0o600); err != nil {
		t.Fatal(err)
	}
	// A backup that is not whole is refused, and nothing moves.
	bad := filepath.Join(dir, "bad.db")
	os.WriteFile(bad, broken, 0o600)
	if _, _, err := bolt.Restore(path, bad); !errors.Is(err, bolt.ErrNotWhole) {
		t.Errorf("Restore from a broken backup: %v, want ErrNotWhole", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, broken) {
		t.Errorf("a refused Restore changed the store")
	}
	aside, rep, err := bolt.Restore(path, backup)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if rep.Functions != 10 {
		t.Errorf("restored store has %d functions, want 10", rep.Functions)
	}
	if got, _ := os.ReadFile(aside); !bytes.Equal(got, broken) {
		t.Errorf("the broken store was not kept aside at %q", aside)
	}
	s, err := bolt.Open(path, testScope)
	if err != nil {
		t.Fatalf("Open after Restore: %v", err)
	}
	defer s.Close()
	if _, err := s.GetFunction(context.Background(), "fn-00009"); err != nil {
		t.Errorf("GetFunction after Restore: %v", err)
	}
	// Restore refuses while the store is open.
	if _, _, err := bolt.Restore(path, backup); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("Restore of an open store: %v", err)
	}
}

func TestRepairOneCorruptMetaPage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sluice.db")
	fillStore(t, path, 10)
	b, _ := os.ReadFile(path)
	m := newerMeta(b)
	olderTx := metaTxID(b, 1-m)
	clear(b[m*pageSize : (m+1)*pageSize])
	os.WriteFile(path, b, 0o600)
	var ce *bolt.CheckError
	if _, err := bolt.Check(path); !errors.As(err, &ce) || !ce.RepairableMeta {
		t.Fatalf("Check: %v, want a repairable CheckError", err)
	}
	aside, rep, err := bolt.Repair(path)
	if err != nil {
		t.Fatalf("Repair: %v", err)
	}
	if rep.TxID != olderTx || rep.Functions != 9 {
		t.Errorf("repaired store: txid %d, %d functions; want the older meta's txid %d and its 9 functions", rep.TxID, rep.Functions, olderTx)
	}
	if got, _ := os.ReadFile(aside); !bytes.Equal(got, b) {
		t.Errorf("the damaged store was not kept aside")
	}
	if _, err := bolt.Check(path); err != nil {
		t.Errorf("Check after Repair: %v", err)
	}
	// Other damage is not repaired.
	b, _ = os.ReadFile(path)
	os.WriteFile(path, b[:len(b)/2], 0o600)
	if _, _, err := bolt.Repair(path); !errors.Is(err, bolt.ErrNotWhole) {
		t.Errorf("Repair of a truncated store: %v, want ErrNotWhole", err)
	}
}

// BenchmarkOpen10000Functions measures what the checks cost at start:
// Open (page walk, Tx.Check, schema) and Check of a store of 10,000
// functions, against bbolt's plain Open.
//
//	go test -run '^$' -bench Open10000 -benchtime 20x ./internal/bolt
func BenchmarkOpen10000Functions(b *testing.B) {
	path := filepath.Join(b.TempDir(), "sluice.db")
	s, err := bolt.Open(path, testScope)
	if err != nil {
		b.Fatal(err)
	}
	fn := &sluice.Function{Name: "fn-00000", Runtime: "provided.al2023", Handler: "bootstrap", Role: "arn:aws:iam::000000000000:role/r",
		Description: strings.Repeat("d", 256), Environment: map[string]string{"A": strings.Repeat("a", 256), "B": strings.Repeat("b", 256)}}
	if err := s.CreateFunction(context.Background(), fn); err != nil {
		b.Fatal(err)
	}
	s.Close()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		fns, err := bucketOf(tx, "functions", false)
		if err != nil {
			return err
		}
		v := bytes.Clone(fns.Get([]byte("fn-00000")))
		for i := 1; i < 10000; i++ {
			if err := fns.Put([]byte(fmt.Sprintf("fn-%05d", i)), v); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		b.Fatal(err)
	}
	rep, err := bolt.Check(path)
	if err != nil || rep.Functions != 10000 {
		b.Fatalf("Check: %+v, %v", rep, err)
	}
	b.Logf("store of %d functions: %d bytes, %d pages", rep.Functions, rep.Size, rep.Pages)
	b.Run("bolt.Open", func(b *testing.B) {
		for b.Loop() {
			s, err := bolt.Open(path, testScope)
			if err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
	b.Run("bolt.Check", func(b *testing.B) {
		for b.Loop() {
			if _, err := bolt.Check(path); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bbolt.Open", func(b *testing.B) {
		for b.Loop() {
			db, err := bbolt.Open(path, 0o600, nil)
			if err != nil {
				b.Fatal(err)
			}
			db.Close()
		}
	})
}

// FuzzOpenCorruptStore mutates a whole store (re-sealing the meta pages'
// checksums, so that mutations reach the pages below them) and checks
// that Check and Open never crash: either the store is refused as not
// whole, or it opens and every function reads.
//
//	go test -run '^$' -fuzz FuzzOpenCorruptStore -fuzztime 60s ./internal/bolt
func FuzzOpenCorruptStore(f *testing.F) {
	path := filepath.Join(f.TempDir(), "seed.db")
	s, err := bolt.Open(path, testScope)
	if err != nil {
		f.Fatal(err)
	}
	for i := range 40 {
		if err := s.CreateFunction(context.Background(), &sluice.Function{Name: fmt.Sprintf("fn-%02d", i), Description: strings.Repeat("x", 300)}); err != nil {
			f.Fatal(err)
		}
	}
	s.Close()
	seed, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed, uint32(0), []byte{})
	f.Add(seed, uint32(3*pageSize+10), []byte{0xff, 0xff})
	f.Add(seed, uint32(2*pageSize+16+8), []byte{0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, file []byte, at uint32, patch []byte) { openPatched(t, file, at, patch) })
}

// TestOpenRandomCorruptions runs what FuzzOpenCorruptStore runs on 400
// random patches of a store (the fuzzing engine, which minimizes inputs
// of this size, is slow).
func TestOpenRandomCorruptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seed.db")
	fillStore(t, path, 60)
	seed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 9))
	refused := 0
	for range 400 {
		patch := make([]byte, 1+r.IntN(16))
		for i := range patch {
			patch[i] = byte(r.Uint32())
		}
		// Mostly into the headers and element tables of the pages in use.
		hwm := int(binary.LittleEndian.Uint64(seed[newerMeta(seed)*pageSize+16+40:]))
		at := r.IntN(len(seed))
		if r.IntN(10) < 8 {
			at = r.IntN(hwm)*pageSize + r.IntN(80)
		}
		if !openPatched(t, seed, uint32(at), patch) {
			refused++
		}
	}
	t.Logf("%d of 400 patched stores refused, none crashed", refused)
	if refused == 0 {
		t.Errorf("no patched store was refused")
	}
}

// openPatched writes file with patch at offset at and the meta pages'
// checksums re-sealed, then checks and opens it: it must be refused, or
// open and read. It reports whether it opened.
func openPatched(t *testing.T, file []byte, at uint32, patch []byte) bool {
	if len(file) > 1<<20 {
		return false
	}
	b := bytes.Clone(file)
	if int(at) < len(b) {
		copy(b[at:], patch)
	}
	for i := range 2 { // re-seal each meta page's checksum
		if m := i*pageSize + 16; len(b) >= m+64 {
			h := fnv.New64a()
			h.Write(b[m : m+56])
			binary.LittleEndian.PutUint64(b[m+56:], h.Sum64())
		}
	}
	path := filepath.Join(t.TempDir(), "sluice.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, checkErr := bolt.Check(path)
	s, err := bolt.Open(path, testScope)
	if err != nil {
		return false
	}
	defer s.Close()
	if errors.Is(checkErr, bolt.ErrNotWhole) {
		t.Errorf("Check refused the store (%v) but Open took it", checkErr)
	}
	fns, err := s.ListFunctions(context.Background(), "", 0)
	if err != nil {
		return true
	}
	for _, fn := range fns {
		_, _ = s.GetFunction(context.Background(), fn.Name)
	}
	return true
}
