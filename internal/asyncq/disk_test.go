package asyncq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// mountSmall mounts a tmpfs of size bytes at a new directory and
// unmounts it at cleanup. It needs root (CAP_SYS_ADMIN): where it cannot
// mount, the test fails, saying so; it never skips.
func mountSmall(t *testing.T, size int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		t.Fatalf("this test needs to mount a small tmpfs to fill a disk (run it as root): mount -t tmpfs %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fill writes a file at path until the disk is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			return
		}
	}
}

// On a full disk Put fails (never a silent loss), and every event
// accepted before, or after space was freed, is delivered.
func TestFullDisk(t *testing.T) {
	dir := mountSmall(t, 4<<20)
	path := filepath.Join(dir, "q.db")
	q := open(t, path, Options{})
	data := make([]byte, 8<<10)
	var accepted []string
	putOK := func(id string) error {
		err := q.Put(context.Background(), Event{ID: id, Key: "k", Data: data})
		if err == nil {
			accepted = append(accepted, id)
		}
		return err
	}
	for i := range 20 {
		if err := putOK(fmt.Sprint("before-", i)); err != nil {
			t.Fatalf("Put on a disk with room: %v", err)
		}
	}

	// The disk fills up: Puts fail, each one.
	fill(t, filepath.Join(dir, "filler"))
	failed := 0
	for i := range 50 {
		if err := putOK(fmt.Sprint("full-", i)); err != nil {
			failed++
			if failed == 1 {
				t.Logf("Put on a full disk: %v", err)
			}
		}
	}
	if failed < 45 {
		t.Fatalf("%d of 50 Puts failed on a full disk; the file cannot hold the %d accepted ones there", failed, len(accepted))
	}
	n := len(accepted)
	if q.Len() != n {
		t.Fatalf("Len = %d, want the %d accepted", q.Len(), n)
	}

	// A restart on the full disk: the queue opens, with what was accepted.
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q = open(t, path, Options{})
	if q.Len() != n {
		t.Fatalf("Len = %d after reopening on the full disk, want the %d accepted", q.Len(), n)
	}

	// Room again: Puts succeed, and everything accepted is delivered, by
	// a reopened queue.
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := putOK(fmt.Sprint("after-", i)); err != nil {
			t.Fatalf("Put once there is room again: %v", err)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q = open(t, path, Options{})
	if q.Len() != len(accepted) {
		t.Fatalf("Len = %d after reopening, want the %d accepted", q.Len(), len(accepted))
	}
	rec := newRecorder()
	stop := run(t, q, func(ctx context.Context, ev Event) Outcome { rec.add(ev); return Done{} })
	evs := rec.wait(t, len(accepted), 0x7fffffff)
	stop()
	got := map[string]int{}
	for _, ev := range evs {
		got[ev.ID]++
	}
	for _, id := range accepted {
		if got[id] != 1 {
			t.Errorf("event %s delivered %d times, want once", id, got[id])
		}
	}
	if len(got) != len(accepted) {
		t.Errorf("%d events delivered, %d accepted", len(got), len(accepted))
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// An outcome that cannot be recorded on a full disk is tried again until
// it is: the event is not delivered again meanwhile, and is then as the
// outcome said.
func TestFullDiskOutcome(t *testing.T) {
	dir := mountSmall(t, 4<<20)
	path := filepath.Join(dir, "q.db")
	logs := &syncBuffer{}
	q := open(t, path, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	put(t, q, Event{ID: "x", Key: "k", Data: make([]byte, 8<<10)})
	fill(t, filepath.Join(dir, "filler"))
	rec := newRecorder()
	stop := run(t, q, func(ctx context.Context, ev Event) Outcome {
		if rec.add(ev) == 2 {
			return Done{}
		}
		return Retry{Data: make([]byte, 1<<20)} // cannot be stored while the disk is full
	})
	rec.wait(t, 1, 10*time.Second)
	for deadline := time.Now().Add(10 * time.Second); strings.Count(logs.String(), "recording a delivery's outcome") < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the Retry that cannot be stored was not tried twice in 10s; log: %s", logs.String())
		}
	}
	if n := len(rec.events()); n != 1 {
		t.Fatalf("%d deliveries while the outcome of the first could not be recorded, want 1", n)
	}
	t.Logf("logged: %s", logs.String())
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	evs := rec.wait(t, 2, 30*time.Second)
	stop()
	if evs[1].ID != "x" || evs[1].Attempts != 1 || len(evs[1].Data) != 1<<20 {
		t.Fatalf("redelivered %s with Attempts %d and %d bytes, want x, 1 and the Retry's 1 MiB", evs[1].ID, evs[1].Attempts, len(evs[1].Data))
	}
	if q.Len() != 0 {
		t.Fatalf("Len = %d, want 0", q.Len())
	}
}
