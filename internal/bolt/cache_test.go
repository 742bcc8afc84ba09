package bolt_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/sluice-dev/sluice"
)

// The decoded records GetFunction and GetVersion keep between reads are
// never handed out (a caller's change stays its own), a write is seen by
// the next read, and reads racing with writes never see a record older
// than the last write that returned.
func TestReadCache(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	fn := &sluice.Function{Name: "f", Version: sluice.LatestVersion, Runtime: "provided.al2023", Handler: "h", Role: "arn:aws:iam::123456789012:role/r",
		Timeout: 3, MemorySize: 128, Environment: map[string]string{"A": "1"}, RevisionID: "r0", State: sluice.StateActive}
	if err := s.CreateFunction(ctx, fn); err != nil {
		t.Fatal(err)
	}
	a, err := s.GetFunction(ctx, "f")
	if err != nil {
		t.Fatal(err)
	}
	a.Environment["A"] = "changed by a caller"
	a.Description = "changed by a caller"
	b, err := s.GetFunction(ctx, "f")
	if err != nil || b.Environment["A"] != "1" || b.Description != "" {
		t.Fatalf("a caller's change reached another caller: %+v, %v", b, err)
	}
	// A write is seen by the next read.
	rev := "r0"
	for i := range 200 {
		next := b.Clone()
		next.Description = fmt.Sprint(i)
		next.RevisionID = fmt.Sprintf("r%d", i+1)
		if err := s.UpdateFunction(ctx, next, rev); err != nil {
			t.Fatal(err)
		}
		rev = next.RevisionID
		got, err := s.GetFunction(ctx, "f")
		if err != nil || got.Description != fmt.Sprint(i) || got.RevisionID != rev {
			t.Fatalf("after write %d: read %q %q, %v", i, got.Description, got.RevisionID, err)
		}
	}
	// Readers racing with a writer: each reader's record is never older
	// than the last write that returned before its read began.
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		written = 200 // Description of the last write that returned
		stop    = make(chan struct{})
	)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				floor := written
				mu.Unlock()
				got, err := s.GetFunction(ctx, "f")
				var n int
				fmt.Sscan(got.Description, &n)
				if err != nil || n < floor-1 {
					t.Errorf("read %q after write %d returned, %v", got.Description, floor-1, err)
					return
				}
			}
		})
	}
	for i := 200; i < 400; i++ {
		next := b.Clone()
		next.Description = fmt.Sprint(i)
		next.RevisionID = fmt.Sprintf("r%d", i+1)
		if err := s.UpdateFunction(ctx, next, rev); err != nil {
			t.Error(err)
			break
		}
		rev = next.RevisionID
		mu.Lock()
		written = i + 1
		mu.Unlock()
	}
	close(stop)
	wg.Wait()
}
