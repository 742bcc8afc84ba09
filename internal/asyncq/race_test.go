package asyncq

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestPutWhileDispatching: Puts from many goroutines while the dispatcher
// loops (and finds nothing new between them) are delivered, each once,
// and race with nothing (go test -race: the dispatcher once ranged over
// the set of touched keys outside its lock when it was empty, while Put
// wrote it).
func TestPutWhileDispatching(t *testing.T) {
	q := open(t, filepath.Join(t.TempDir(), "q.db"), Options{})
	rec := newRecorder()
	run(t, q, func(ctx context.Context, ev Event) Outcome {
		rec.add(ev)
		return Done{}
	})
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := q.Put(context.Background(), Event{ID: fmt.Sprintf("%d-%d", w, i), Key: fmt.Sprintf("k%d", i%3)}); err != nil {
					t.Errorf("Put: %v", err)
				}
				time.Sleep(time.Millisecond) // let the dispatcher loop in between
			}
		}()
	}
	wg.Wait()
	got := rec.wait(t, writers*each, 30*time.Second)
	seen := map[string]int{}
	for _, ev := range got {
		seen[ev.ID]++
	}
	if len(seen) != writers*each {
		t.Errorf("%d distinct events delivered, want %d", len(seen), writers*each)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s delivered %d times, want once", id, n)
		}
	}
	waitLen(t, q, 0)
}
