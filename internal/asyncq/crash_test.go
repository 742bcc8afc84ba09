package asyncq

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const crashChildEnv = "ASYNCQ_CRASH_CHILD_FILE"

// The child of TestDurableAcrossKill: 8 goroutines Put events as fast as
// they can and print each event's id once Put returned, until killed.
func crashChild(path string) {
	q, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("g%d-%d", g, i)
				if err := q.Put(context.Background(), Event{ID: id, Key: fmt.Sprint("k", g%3), Data: []byte(strings.Repeat("x", 200))}); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				// os.Stdout is unbuffered: the line is in the pipe when
				// Println returns.
				fmt.Println(id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// Every event whose Put returned before a kill -9 is in the file after
// it, and is delivered.
func TestDurableAcrossKill(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "q.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestDurableAcrossKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	accepted := map[string]bool{}
	r := bufio.NewReader(out)
	killed := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break // a last line cut short by the kill has no newline: not counted
		}
		accepted[strings.TrimSuffix(line, "\n")] = true
		if len(accepted) == 2000 && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	werr := cmd.Wait()
	if !killed {
		t.Fatalf("the child ended before it was killed: %v, %s", werr, stderr.String())
	}
	t.Logf("%d events accepted before kill -9", len(accepted))

	q := open(t, path, Options{})
	n := q.Len()
	if n < len(accepted) {
		t.Fatalf("Len = %d after the kill, fewer than the %d events accepted", n, len(accepted))
	}
	rec := newRecorder()
	run(t, q, func(ctx context.Context, ev Event) Outcome { rec.add(ev); return Done{} })
	evs := rec.wait(t, n, 60*time.Second)
	got := map[string]bool{}
	for _, ev := range evs {
		got[ev.ID] = true
	}
	missing := 0
	for id := range accepted {
		if !got[id] {
			missing++
			if missing < 10 {
				t.Errorf("event %s was accepted before the kill but is not delivered", id)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d accepted events lost", missing, len(accepted))
	}
}
