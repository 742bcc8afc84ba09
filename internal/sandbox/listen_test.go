package sandbox

import (
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestListenWaitsForAddress: in a network namespace where the address is
// not yet assigned (as between the two steps of bwrap's loopback set-up),
// listenWhenUp waits for it instead of failing with EADDRNOTAVAIL, which
// once per 1,000-stream burst answered a client 500.
func TestListenWaitsForAddress(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root (a network namespace of its own)")
	}
	const addr = "10.254.0.9:9001" // assigned to lo below, 100 ms later
	nsFD := make(chan int, 1)
	type result struct {
		err error
		at  int64
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies in its namespace
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			nsFD <- -1
			done <- result{err: err}
			return
		}
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			nsFD <- -1
			done <- result{err: err}
			return
		}
		// lo up, without the address: a bind of it fails (with lo down,
		// the kernel lets any address be bound).
		if err := loUp(); err != nil {
			nsFD <- -1
			done <- result{err: err}
			return
		}
		nsFD <- fd
		ln, err := listenWhenUp(addr)
		at := time.Now().UnixNano()
		if ln != nil {
			ln.Close()
		}
		done <- result{err: err, at: at}
	}()
	fd := <-nsFD
	if fd < 0 {
		t.Fatal((<-done).err)
	}
	defer unix.Close(fd)
	var assignedAt atomic.Int64
	assigned := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked, as above
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			assigned <- err
			return
		}
		time.Sleep(100 * time.Millisecond) // the listener tries meanwhile
		s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		if err != nil {
			assigned <- err
			return
		}
		defer unix.Close(s)
		ifr, err := unix.NewIfreq("lo")
		if err != nil {
			assigned <- err
			return
		}
		if err := ifr.SetInet4Addr([]byte{10, 254, 0, 9}); err != nil {
			assigned <- err
			return
		}
		assignedAt.Store(time.Now().UnixNano())
		assigned <- unix.IoctlIfreq(s, unix.SIOCSIFADDR, ifr)
	}()
	if err := <-assigned; err != nil {
		t.Fatalf("assigning the address: %v", err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("listenWhenUp: %v", r.err)
	}
	if r.at < assignedAt.Load() {
		t.Fatal("the listener was bound before its address existed")
	}
}

// loUp brings lo up in the calling thread's network namespace.
func loUp() error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr)
}
