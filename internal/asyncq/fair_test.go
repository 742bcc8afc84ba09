package asyncq

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// A key with 100,000 queued events does not starve another key's event,
// and the events are not held in memory (1 KiB each: 100 MB on disk).
func TestFairnessAndMemory(t *testing.T) {
	const n = 100_000
	q := open(t, filepath.Join(t.TempDir(), "q.db"), Options{MaxInFlight: 1})
	data := make([]byte, 1024)
	before := heapInuse()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > n {
					return
				}
				if err := q.Put(context.Background(), Event{ID: fmt.Sprint("a", i), Key: "fn-a", Data: data}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	took := time.Since(start)
	put(t, q, Event{ID: "b", Key: "fn-b", Data: data})
	queued := heapInuse()
	t.Logf("%d events put by 64 goroutines in %v (%.0f/s); HeapInuse %d KiB before, %d KiB with them queued", n, took.Round(time.Millisecond), n/took.Seconds(), before>>10, queued>>10)
	if q.Len() != n+1 {
		t.Fatalf("Len = %d, want %d", q.Len(), n+1)
	}

	rec := newRecorder()
	started := time.Now()
	stop := run(t, q, func(ctx context.Context, ev Event) Outcome {
		rec.add(ev)
		return Done{}
	})
	var pos int
	for pos = 0; ; pos++ {
		evs := rec.wait(t, pos+1, 30*time.Second)
		if evs[pos].Key == "fn-b" {
			break
		}
		if pos >= 2 {
			t.Fatalf("fn-b's event not among the first 3 deliveries: %v", evs[:pos+1])
		}
	}
	bAfter := time.Since(started)
	rec.wait(t, 1000, 30*time.Second)
	running := heapInuse()
	stop()
	t.Logf("fn-b's event was delivery %d, %v after Run started; HeapInuse %d KiB while delivering", pos+1, bAfter.Round(time.Microsecond), running>>10)
	const bound = 16 << 20 // 100,000 events are 100 MB of data
	if queued > before+bound || running > before+bound {
		t.Fatalf("memory grew with the queue: HeapInuse %d KiB before, %d KiB queued, %d KiB delivering", before>>10, queued>>10, running>>10)
	}
}
