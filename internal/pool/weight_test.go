package pool

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
)

func acquireW(p *Pool[*fake], l *launcher, key string, w int64) (*Lease[*fake], error) {
	return p.AcquireWeighted(context.Background(), key, "r1", w, l.launch(key, "r1"))
}

// Weights of busy environments add up to at most MaxWeight; one more is
// refused with OverWeight's error, and fits again once one is released.
func TestWeightAdmission(t *testing.T) {
	var got [3]int64
	over := errors.New("over")
	p := New[*fake](Options{MaxEnvironments: 32, MaxWeight: 300, OverWeight: func(want, inUse, limit int64) error {
		got = [3]int64{want, inUse, limit}
		return over
	}})
	defer p.Close()
	l := &launcher{}
	a, err := acquireW(p, l, "a", 128)
	if err != nil {
		t.Fatal(err)
	}
	b, err := acquireW(p, l, "a", 128)
	if err != nil {
		t.Fatal(err)
	}
	if w := p.Weight(); w != 256 {
		t.Errorf("Weight = %d, want 256", w)
	}
	if _, err := acquireW(p, l, "b", 128); err != over {
		t.Fatalf("third 128 in 300: %v, want OverWeight's error", err)
	}
	if got != [3]int64{128, 256, 300} {
		t.Errorf("OverWeight(want, inUse, limit) = %v, want [128 256 300]", got)
	}
	if l.count() != 2 {
		t.Errorf("launched %d, want 2 (nothing for the refused one)", l.count())
	}
	// A smaller one fits beside them.
	c, err := acquireW(p, l, "c", 44)
	if err != nil {
		t.Fatalf("44 beside 256 in 300: %v", err)
	}
	c.Release(false)

	// Once a is idle, b's function evicts it: stopped before the launch.
	a.Release(true)
	launch := func(context.Context) (*fake, error) {
		if a.Sandbox.stops.Load() == 0 {
			t.Error("the new environment launched before the evicted one was stopped")
		}
		return &fake{key: "b", rev: "r1"}, nil
	}
	d, err := p.AcquireWeighted(context.Background(), "b", "r1", 128, launch)
	if err != nil {
		t.Fatalf("after a went idle: %v", err)
	}
	if w := p.Weight(); w != 256 {
		t.Errorf("Weight = %d, want 256", w)
	}
	b.Release(false)
	d.Release(false)
	if w := p.Weight(); w != 0 {
		t.Errorf("Weight after all released unused = %d, want 0", w)
	}
}

// Without OverWeight the error is Lambda's throttling; a weight above
// MaxWeight never fits and evicts nothing.
func TestWeightTooBig(t *testing.T) {
	p := New[*fake](Options{MaxWeight: 1000})
	defer p.Close()
	l := &launcher{}
	a, err := acquireW(p, l, "a", 500)
	if err != nil {
		t.Fatal(err)
	}
	a.Release(true)
	_, err = acquireW(p, l, "big", 1001)
	if sluice.ErrorCodeOf(err) != sluice.EThrottled {
		t.Fatalf("1001 in 1000: %v, want EThrottled", err)
	}
	if a.Sandbox.stops.Load() != 0 {
		t.Error("an idle environment was stopped for one that can never fit")
	}
	// Weight 0 is not counted (Acquire).
	for range 3 {
		if _, err := p.Acquire(context.Background(), "z", "r1", l.launch("z", "r1")); err != nil {
			t.Fatal(err)
		}
	}
	if w := p.Weight(); w != 500 {
		t.Errorf("Weight = %d, want 500", w)
	}
}

// Idle reaping, Retire and launch failures give the weight back.
func TestWeightReturned(t *testing.T) {
	p := New[*fake](Options{MaxWeight: 1000, IdleTimeout: time.Hour})
	defer p.Close()
	l := &launcher{}
	a, _ := acquireW(p, l, "a", 100)
	b, _ := acquireW(p, l, "b", 200)
	a.Release(true)
	b.Release(true)
	p.reap(time.Now().Add(2 * time.Hour))
	if w := p.Weight(); w != 0 {
		t.Errorf("Weight after reaping = %d, want 0", w)
	}
	c, _ := acquireW(p, l, "c", 300)
	c.Release(true)
	p.Retire(c.Sandbox.Key(), "")
	if w := p.Weight(); w != 0 {
		t.Errorf("Weight after Retire = %d, want 0", w)
	}
	_, err := p.AcquireWeighted(context.Background(), "d", "r1", 400, func(context.Context) (*fake, error) { return nil, errors.New("no") })
	if err == nil || p.Weight() != 0 {
		t.Errorf("failed launch: err %v, Weight %d; want an error and 0", err, p.Weight())
	}
}
