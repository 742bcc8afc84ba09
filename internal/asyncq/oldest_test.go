package asyncq

import (
	"path/filepath"
	"testing"
	"time"
)

func TestOldestDue(t *testing.T) {
	q := open(t, filepath.Join(t.TempDir(), "q.db"), Options{})
	if _, ok, err := q.OldestDue(); ok || err != nil {
		t.Fatalf("empty queue: ok %v, err %v; want false, nil", ok, err)
	}
	base := time.Unix(1_800_000_000, 0)
	put(t, q, Event{ID: "late", Key: "a", Due: base.Add(time.Hour)})
	put(t, q, Event{ID: "early", Key: "b", Due: base})
	put(t, q, Event{ID: "middle", Key: "a", Due: base.Add(time.Minute)})
	due, ok, err := q.OldestDue()
	if err != nil || !ok || !due.Equal(base) {
		t.Fatalf("OldestDue = %v, %v, %v; want %v, true, nil", due, ok, err, base)
	}
	q.Close()
	if _, ok, err := q.OldestDue(); ok || err != nil {
		t.Fatalf("closed queue: ok %v, err %v; want false, nil", ok, err)
	}
}
