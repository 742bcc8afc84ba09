package sandbox

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestLogEndWhileWriting: a function that writes without pause while its
// invocation ends does not keep end (or begin) draining forever: they take
// what was in the pipe when they were called, and return.
func TestLogEndWhileWriting(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	l := newLogCapture(&countingSink{}, 1<<20)
	l.attach(r)
	go l.run()
	// Another process writes as fast as it can, as a function would, into
	// a pipe it made as large as it may.
	if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, 1<<20); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("cat", "/dev/zero")
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		<-l.done
	}()
	for i := 0; i < 200; i++ {
		returned := make(chan struct{})
		go func() {
			l.begin("START\n", true)
			l.end("END\n")
			close(returned)
		}()
		select {
		case <-returned:
		case <-time.After(10 * time.Second):
			t.Fatalf("begin/end %d did not return within 10 s while the function kept writing", i)
		}
	}
}
