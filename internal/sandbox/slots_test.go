package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sluice-dev/sluice"
)

// slotCounts is the pool's ready slots and running fillers.
func slotCounts(iso *Isolation) (ready, fillers int) {
	iso.slots.mu.Lock()
	defer iso.slots.mu.Unlock()
	return len(iso.slots.ready), iso.slots.fillers
}

// TestSlotRefillAfterStart: a start that leaves a prepared slot for the
// next one does not refill beside itself; the refill follows its first
// invocation.
func TestSlotRefillAfterStart(t *testing.T) {
	late := slotRefillLate
	slotRefillLate = time.Minute // only the first invocation's end refills here
	t.Cleanup(func() { slotRefillLate = late })
	iso := testIsolation(t)
	d := Slots(iso)
	t.Cleanup(d.Close)
	iso.refill()
	if !eventually(20*time.Second, func() bool { r, f := slotCounts(iso); return r == slotsWanted && f == 0 }) {
		r, f := slotCounts(iso)
		t.Fatalf("%d slots ready, %d fillers running; want %d ready, none running", r, f, slotsWanted)
	}
	e := startInSlot(t, d, "env")
	if r, f := slotCounts(iso); r != slotsWanted-1 || f != 0 {
		t.Fatalf("after the start: %d slots ready, %d fillers running; want %d ready and the refill left for later", r, f, slotsWanted-1)
	}
	if _, res := run(t, e); res.Err != nil {
		t.Fatalf("invoke: %s %s", res.Err.Type, res.Err.Payload)
	}
	if !eventually(20*time.Second, func() bool { r, _ := slotCounts(iso); return r == slotsWanted }) {
		r, f := slotCounts(iso)
		t.Fatalf("after the first invocation: %d slots ready, %d fillers running; want the pool refilled to %d", r, f, slotsWanted)
	}
}

// TestBindReadOnlyDetached: the mount API's bind is read-only, nosuid and
// nodev from the moment it is attached (on kernels that have the API, as
// the sandbox tests' machines do).
func TestBindReadOnlyDetached(t *testing.T) {
	src, target := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := bindReadOnlyDetached(src, target); err != nil {
		t.Fatalf("bindReadOnlyDetached: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(target, syscall.MNT_DETACH) })
	if b, err := os.ReadFile(filepath.Join(target, "f")); err != nil || string(b) != "x" {
		t.Fatalf("reading through the bind: %q, %v", b, err)
	}
	if err := os.WriteFile(filepath.Join(target, "g"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("writing through the bind: %v, want EROFS", err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(target, &st); err != nil {
		t.Fatal(err)
	}
	const want = unix.ST_RDONLY | unix.ST_NOSUID | unix.ST_NODEV
	if st.Flags&want != want {
		t.Errorf("mount flags %#x, want read-only, nosuid and nodev (%#x)", st.Flags, want)
	}
}

// TestSlotPassesNoPipes: the runtime started in a prepared slot holds none
// of the slot's pipes (the launch script's, bwrap's info pipe), with its
// own network namespace or without.
func TestSlotPassesNoPipes(t *testing.T) {
	for _, network := range []string{NetworkHost, NetworkNone} {
		t.Run(network, func(t *testing.T) {
			iso := testIsolation(t)
			iso.Network = network
			d := Slots(iso)
			t.Cleanup(d.Close)
			waitSlots(t, iso)
			e := startInSlot(t, d, "fds")
			out, res := run(t, e)
			if res.Err != nil {
				t.Fatalf("invoke: %s %s", res.Err.Type, res.Err.Payload)
			}
			var pipes []string
			if err := json.Unmarshal([]byte(out), &pipes); err != nil {
				t.Fatalf("output %q: %v", out, err)
			}
			// Pipes this test process inherited without close-on-exec
			// (from whoever started it) reach every child: not the slot's.
			own := map[string]bool{}
			ents, _ := os.ReadDir("/proc/self/fd")
			for _, ent := range ents {
				l, _ := os.Readlink("/proc/self/fd/" + ent.Name())
				own[l] = true
			}
			for _, p := range pipes {
				if _, l, _ := strings.Cut(p, " "); !own[l] {
					t.Errorf("the runtime holds a pipe of the slot: fd %s", p)
				}
			}
		})
	}
}

// startInSlot starts an environment of the test runtime (this test binary
// as its bootstrap, running handler) with the slots driver d, and fails
// the test unless it started in a prepared slot.
func startInSlot(t *testing.T, d Driver, handler string) *Env {
	t.Helper()
	code := reachableDir(t)
	if err := os.Link(must(os.Executable()), filepath.Join(code, "bootstrap")); err != nil {
		t.Fatal(err)
	}
	fn := &sluice.Function{Name: "fn", Runtime: "provided.al2023", Handler: handler, Timeout: 10, MemorySize: 128,
		EphemeralStorage: sluice.DefaultEphemeralStorage, RevisionID: "r1", Environment: map[string]string{"SLUICE_TEST_RUNTIME": "1"}}
	e, err := Start(context.Background(), Spec{Function: fn, CodeDir: code, Scope: sluice.Scope{Region: "us-east-1", Account: "000000000000"}}, Options{Driver: d})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	if s := e.proc.(*child).iso; s == nil || s.slot == nil {
		t.Fatal("the environment did not start in a prepared slot")
	}
	return e
}
