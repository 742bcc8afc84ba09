package concurrency

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
)

// mustAcquire acquires n slots of function and fails the test otherwise.
func mustAcquire(t *testing.T, l *Limiter, function string, n int) []func() {
	t.Helper()
	var rel []func()
	for i := range n {
		r, err := l.Acquire(function)
		if err != nil {
			t.Fatalf("Acquire(%q) #%d: %v", function, i+1, err)
		}
		rel = append(rel, r)
	}
	return rel
}

func releaseAll(rel []func()) {
	for _, r := range rel {
		r()
	}
}

// wantThrottle asserts that err is the throttle error with reason.
func wantThrottle(t *testing.T, err error, reason string) {
	t.Helper()
	var e *sluice.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *sluice.Error", err)
	}
	if e.Code != sluice.EThrottled || e.Reason != reason || e.Message != "Rate Exceeded." {
		t.Fatalf("err = {Code:%q Reason:%q Message:%q}, want {%q %q %q}",
			e.Code, e.Reason, e.Message, sluice.EThrottled, reason, "Rate Exceeded.")
	}
}

// wantCounts asserts the Limiter's counters.
func wantCounts(t *testing.T, l *Limiter, total, unreservedInUse int, by map[string]int) {
	t.Helper()
	if got := l.InUse(); got != total {
		t.Errorf("InUse() = %d, want %d", got, total)
	}
	if got := l.UnreservedInUse(); got != unreservedInUse {
		t.Errorf("UnreservedInUse() = %d, want %d", got, unreservedInUse)
	}
	for fn, n := range by {
		if got := l.InUseBy(fn); got != n {
			t.Errorf("InUseBy(%q) = %d, want %d", fn, got, n)
		}
	}
}

func TestNewDefaults(t *testing.T) {
	for _, in := range []int{0, -5} {
		if got := New(in).AccountLimit(); got != DefaultAccountLimit {
			t.Errorf("New(%d).AccountLimit() = %d, want %d", in, got, DefaultAccountLimit)
		}
	}
	l := New(300)
	if l.AccountLimit() != 300 || l.Unreserved() != 300 || l.InUse() != 0 {
		t.Errorf("New(300): limit %d unreserved %d inUse %d", l.AccountLimit(), l.Unreserved(), l.InUse())
	}
	if _, ok := l.Reserved("f"); ok {
		t.Error("Reserved on a new Limiter reports a reservation")
	}
}

func TestReserveMinUnreserved(t *testing.T) {
	l := New(1000)
	if err := l.Reserve("a", 900, nil); err != nil { // leaves exactly 100
		t.Fatalf("Reserve(a, 900): %v", err)
	}
	if got := l.Unreserved(); got != 100 {
		t.Fatalf("Unreserved() = %d, want 100", got)
	}
	committed := false
	err := l.Reserve("b", 1, func() error { committed = true; return nil })
	var e *sluice.Error
	if !errors.As(err, &e) {
		t.Fatalf("Reserve(b, 1) = %v, want *sluice.Error", err)
	}
	const msg = "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100]."
	if e.Code != sluice.EInvalidParameter || e.Message != msg {
		t.Fatalf("Reserve(b, 1) = {%q %q}, want {%q %q}", e.Code, e.Message, sluice.EInvalidParameter, msg)
	}
	if committed {
		t.Error("commit called for a refused reservation")
	}
	if _, ok := l.Reserved("b"); ok {
		t.Error("refused reservation was applied")
	}
	// b = 0 is fine: it does not decrease the unreserved pool.
	if err := l.Reserve("b", 0, nil); err != nil {
		t.Fatalf("Reserve(b, 0): %v", err)
	}
	// Changing a's own reservation counts only the others: 900 -> 900 and
	// 900 -> 850 are fine, 901 is not.
	if err := l.Reserve("a", 900, nil); err != nil {
		t.Fatalf("Reserve(a, 900) again: %v", err)
	}
	if err := l.Reserve("a", 901, nil); sluice.ErrorCodeOf(err) != sluice.EInvalidParameter {
		t.Fatalf("Reserve(a, 901) = %v, want EInvalidParameter", err)
	}
	if n, _ := l.Reserved("a"); n != 900 {
		t.Fatalf("Reserved(a) = %d after refused change, want 900", n)
	}
	if err := l.Reserve("a", 850, nil); err != nil {
		t.Fatalf("Reserve(a, 850): %v", err)
	}
	if err := l.Reserve("c", 50, nil); err != nil {
		t.Fatalf("Reserve(c, 50): %v", err)
	}
	if err := l.Reserve("c", 51, nil); sluice.ErrorCodeOf(err) != sluice.EInvalidParameter {
		t.Fatalf("Reserve(c, 51) = %v, want EInvalidParameter", err)
	}
	// Removal is never checked.
	if err := l.Reserve("a", -1, nil); err != nil {
		t.Fatalf("remove a: %v", err)
	}
	if _, ok := l.Reserved("a"); ok {
		t.Error("a still reserved after removal")
	}
	if got := l.Unreserved(); got != 950 {
		t.Errorf("Unreserved() = %d, want 950", got)
	}
	// A limit too small for any reservation above zero.
	small := New(100)
	if err := small.Reserve("x", 1, nil); sluice.ErrorCodeOf(err) != sluice.EInvalidParameter {
		t.Errorf("New(100).Reserve(x, 1) = %v, want EInvalidParameter", err)
	}
}

func TestReservedZeroThrottles(t *testing.T) {
	l := New(1000)
	if err := l.Reserve("f", 0, nil); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		rel, err := l.Acquire("f")
		if rel != nil {
			t.Fatal("Acquire returned a release with an error")
		}
		wantThrottle(t, err, "ReservedFunctionConcurrentInvocationLimitExceeded")
	}
	wantCounts(t, l, 0, 0, map[string]int{"f": 0})
	// Others are unaffected.
	releaseAll(mustAcquire(t, l, "g", 1))
}

func TestReservedLimit(t *testing.T) {
	l := New(1000)
	if err := l.Reserve("f", 3, nil); err != nil {
		t.Fatal(err)
	}
	rel := mustAcquire(t, l, "f", 3)
	_, err := l.Acquire("f")
	wantThrottle(t, err, ReasonReserved)
	wantCounts(t, l, 3, 0, map[string]int{"f": 3})
	if got := l.Unreserved(); got != 997 {
		t.Errorf("Unreserved() = %d, want 997", got)
	}
	rel[0]()
	rel = append(rel[1:], mustAcquire(t, l, "f", 1)...)
	releaseAll(rel)
	wantCounts(t, l, 0, 0, map[string]int{"f": 0})
}

func TestUnreservedExhausted(t *testing.T) {
	l := New(150)
	if err := l.Reserve("r", 40, nil); err != nil {
		t.Fatal(err)
	}
	// The unreserved pool is 110, shared by a and b.
	rel := mustAcquire(t, l, "a", 60)
	rel = append(rel, mustAcquire(t, l, "b", 50)...)
	for _, fn := range []string{"a", "b", "c"} {
		_, err := l.Acquire(fn)
		wantThrottle(t, err, "ConcurrentInvocationLimitExceeded")
	}
	// The reservation is still fully available.
	rrel := mustAcquire(t, l, "r", 40)
	_, err := l.Acquire("r")
	wantThrottle(t, err, ReasonReserved)
	wantCounts(t, l, 150, 110, map[string]int{"a": 60, "b": 50, "r": 40})
	rel[0]()
	rel = append(rel[1:], mustAcquire(t, l, "c", 1)...)
	releaseAll(rel)
	releaseAll(rrel)
	wantCounts(t, l, 0, 0, map[string]int{"a": 0, "b": 0, "c": 0, "r": 0})
}

func TestReleaseIdempotent(t *testing.T) {
	l := New(1000)
	if err := l.Reserve("r", 2, nil); err != nil {
		t.Fatal(err)
	}
	r1 := mustAcquire(t, l, "r", 1)[0]
	r2 := mustAcquire(t, l, "r", 1)[0]
	u1 := mustAcquire(t, l, "u", 1)[0]
	u2 := mustAcquire(t, l, "u", 1)[0]
	for range 3 {
		r1()
		u1()
	}
	wantCounts(t, l, 2, 1, map[string]int{"r": 1, "u": 1})
	// Concurrent double release.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(r2)
		wg.Go(u2)
	}
	wg.Wait()
	wantCounts(t, l, 0, 0, map[string]int{"r": 0, "u": 0})
}

func TestLowerReservationBelowInUse(t *testing.T) {
	l := New(1000)
	if err := l.Reserve("f", 5, nil); err != nil {
		t.Fatal(err)
	}
	rel := mustAcquire(t, l, "f", 5)
	if err := l.Reserve("f", 2, nil); err != nil { // running ones keep running
		t.Fatalf("lowering a reservation below in-use: %v", err)
	}
	wantCounts(t, l, 5, 0, map[string]int{"f": 5})
	for i := range 3 { // 5, 4, 3 running: still throttled
		_, err := l.Acquire("f")
		wantThrottle(t, err, ReasonReserved)
		rel[i]()
	}
	// 2 running: still at the reservation.
	_, err := l.Acquire("f")
	wantThrottle(t, err, ReasonReserved)
	rel[3]()
	// 1 running: one more fits.
	rel = append(rel[4:], mustAcquire(t, l, "f", 1)...)
	_, err = l.Acquire("f")
	wantThrottle(t, err, ReasonReserved)
	releaseAll(rel)
	wantCounts(t, l, 0, 0, map[string]int{"f": 0})
}

func TestRemoveReservationWhileRunning(t *testing.T) {
	l := New(200)
	if err := l.Reserve("f", 50, nil); err != nil {
		t.Fatal(err)
	}
	frel := mustAcquire(t, l, "f", 30)
	grel := mustAcquire(t, l, "g", 150) // the whole unreserved pool
	_, err := l.Acquire("g")
	wantThrottle(t, err, ReasonUnreserved)

	// Remove: f's 30 move into the unreserved pool, which grows to 200 and
	// now holds 180.
	if err := l.Reserve("f", -1, nil); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, l, 180, 180, map[string]int{"f": 30, "g": 150})
	if got := l.Unreserved(); got != 200 {
		t.Fatalf("Unreserved() = %d, want 200", got)
	}
	more := mustAcquire(t, l, "g", 20)
	_, err = l.Acquire("f")
	wantThrottle(t, err, ReasonUnreserved)
	// Releasing f's old executions frees unreserved capacity.
	frel[0]()
	wantCounts(t, l, 199, 199, map[string]int{"f": 29})
	more = append(more, mustAcquire(t, l, "h", 1)...)

	releaseAll(frel)
	releaseAll(grel)
	releaseAll(more)
	wantCounts(t, l, 0, 0, map[string]int{"f": 0, "g": 0, "h": 0})
	releaseAll(frel) // again: harmless
	wantCounts(t, l, 0, 0, map[string]int{"f": 0})
}

func TestReserveWhileRunningUnreserved(t *testing.T) {
	l := New(200)
	frel := mustAcquire(t, l, "f", 30)
	grel := mustAcquire(t, l, "g", 100)
	// Reserving is allowed whatever runs; f's executions move into its
	// reservation, so the unreserved pool (200-40=160) holds only g's 100.
	if err := l.Reserve("f", 40, nil); err != nil {
		t.Fatalf("Reserve with running executions: %v", err)
	}
	wantCounts(t, l, 130, 100, map[string]int{"f": 30, "g": 100})
	frel = append(frel, mustAcquire(t, l, "f", 10)...)
	_, err := l.Acquire("f")
	wantThrottle(t, err, ReasonReserved)
	grel = append(grel, mustAcquire(t, l, "g", 60)...)
	_, err = l.Acquire("g")
	wantThrottle(t, err, ReasonUnreserved)
	wantCounts(t, l, 200, 160, nil)

	// Raise the reservation: 200-45 = 155 >= 100 is allowed. The unreserved
	// pool (155) is now over its capacity (160 running) and the account is
	// full, so f cannot use its new room yet: the account limit is a hard cap.
	if err := l.Reserve("f", 45, nil); err != nil {
		t.Fatalf("Reserve(f, 45): %v", err)
	}
	_, err = l.Acquire("f")
	wantThrottle(t, err, ReasonUnreserved)
	for _, r := range grel[:10] {
		r()
	}
	grel = grel[10:]
	// 150 of g, 40 of f: f takes its 5, g the 5 left in its pool of 155.
	frel = append(frel, mustAcquire(t, l, "f", 5)...)
	_, err = l.Acquire("f")
	wantThrottle(t, err, ReasonReserved)
	grel = append(grel, mustAcquire(t, l, "g", 5)...)
	_, err = l.Acquire("g")
	wantThrottle(t, err, ReasonUnreserved)
	wantCounts(t, l, 200, 155, map[string]int{"f": 45, "g": 155})

	for i, r := range frel {
		r()
		switch i {
		case 5:
			if err := l.Reserve("f", -1, nil); err != nil {
				t.Fatal(err)
			}
		case 20:
			if err := l.Reserve("f", 1, nil); err != nil {
				t.Fatal(err)
			}
		case 30:
			if err := l.Reserve("f", -1, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	releaseAll(grel)
	wantCounts(t, l, 0, 0, map[string]int{"f": 0, "g": 0})
	if got := l.Unreserved(); got != 200 {
		t.Errorf("Unreserved() = %d, want 200", got)
	}
}

func TestReservationSetWhilePoolFullKeepsAccountCap(t *testing.T) {
	l := New(1000)
	grel := mustAcquire(t, l, "g", 1000)
	if err := l.Reserve("f", 10, nil); err != nil {
		t.Fatal(err)
	}
	// The pool is over its new capacity (990): nobody may start, and f's
	// guarantee takes effect as soon as the account has room.
	_, err := l.Acquire("f")
	wantThrottle(t, err, ReasonUnreserved)
	_, err = l.Acquire("g")
	wantThrottle(t, err, ReasonUnreserved)
	for _, r := range grel[:15] {
		r()
	}
	// 985 unreserved running, pool 990: f can take its 10, g 5 more.
	frel := mustAcquire(t, l, "f", 10)
	_, err = l.Acquire("f")
	wantThrottle(t, err, ReasonReserved)
	wantCounts(t, l, 995, 985, map[string]int{"f": 10, "g": 985})
	grel = append(grel[15:], mustAcquire(t, l, "g", 5)...)
	_, err = l.Acquire("g")
	wantThrottle(t, err, ReasonUnreserved)
	wantCounts(t, l, 1000, 990, nil)
	releaseAll(frel)
	releaseAll(grel)
	wantCounts(t, l, 0, 0, map[string]int{"f": 0, "g": 0})
}

func TestLoad(t *testing.T) {
	l := New(500)
	rel := mustAcquire(t, l, "a", 3)
	l.Load(map[string]int{"a": 5, "b": 0, "c": 450}) // no MinUnreserved check
	if got := l.Unreserved(); got != 45 {
		t.Fatalf("Unreserved() = %d, want 45", got)
	}
	if n, ok := l.Reserved("c"); !ok || n != 450 {
		t.Fatalf("Reserved(c) = %d, %v", n, ok)
	}
	wantCounts(t, l, 3, 0, map[string]int{"a": 3}) // a's executions moved in
	_, err := l.Acquire("b")
	wantThrottle(t, err, ReasonReserved)
	rel = append(rel, mustAcquire(t, l, "a", 2)...)
	_, err = l.Acquire("a")
	wantThrottle(t, err, ReasonReserved)

	l.Load(nil) // replaces everything
	if _, ok := l.Reserved("a"); ok {
		t.Fatal("Load(nil) kept a reservation")
	}
	if len(l.Reservations()) != 0 || l.Unreserved() != 500 {
		t.Fatalf("after Load(nil): %v, unreserved %d", l.Reservations(), l.Unreserved())
	}
	wantCounts(t, l, 5, 5, map[string]int{"a": 5})
	releaseAll(rel)
	wantCounts(t, l, 0, 0, map[string]int{"a": 0})
}

func TestCommitErrorLeavesStateUnchanged(t *testing.T) {
	l := New(1000)
	if err := l.Reserve("f", 10, nil); err != nil {
		t.Fatal(err)
	}
	rel := mustAcquire(t, l, "f", 4)
	boom := errors.New("disk full")
	before := l.Reservations()

	calls := 0
	fail := func() error { calls++; return boom }
	for _, n := range []int{20, 0, -1} { // change, zero, remove
		if err := l.Reserve("f", n, fail); !errors.Is(err, boom) {
			t.Fatalf("Reserve(f, %d) = %v, want the commit error", n, err)
		}
	}
	if err := l.Reserve("g", 5, fail); !errors.Is(err, boom) {
		t.Fatalf("Reserve(g, 5) = %v, want the commit error", err)
	}
	if calls != 4 {
		t.Errorf("commit called %d times, want 4", calls)
	}
	if got := l.Reservations(); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("Reservations() = %v, want %v", got, before)
	}
	if got := l.Unreserved(); got != 990 {
		t.Errorf("Unreserved() = %d, want 990", got)
	}
	wantCounts(t, l, 4, 0, map[string]int{"f": 4})
	rel = append(rel, mustAcquire(t, l, "f", 6)...)
	_, err := l.Acquire("f")
	wantThrottle(t, err, ReasonReserved)

	// A successful commit applies.
	ok := 0
	if err := l.Reserve("f", 11, func() error { ok++; return nil }); err != nil || ok != 1 {
		t.Fatalf("Reserve(f, 11) = %v, commit calls %d", err, ok)
	}
	rel = append(rel, mustAcquire(t, l, "f", 1)...)
	releaseAll(rel)
	wantCounts(t, l, 0, 0, map[string]int{"f": 0})
}

func TestCommitDoesNotBlockAcquire(t *testing.T) {
	l := New(1000)
	if err := l.Reserve("f", 2, nil); err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	unblock := make(chan struct{})
	reserved := make(chan error, 1)
	go func() {
		reserved <- l.Reserve("f", 800, func() error {
			close(entered)
			<-unblock
			return nil
		})
	}()
	<-entered

	// While commit is blocked, Acquire, release and the readers run and see
	// the old reservation.
	acquired := make(chan error, 1)
	go func() {
		var rels []func()
		for range 2 {
			rel, err := l.Acquire("f")
			if err != nil {
				acquired <- fmt.Errorf("Acquire(f) under the old reservation: %w", err)
				return
			}
			rels = append(rels, rel)
		}
		_, err := l.Acquire("f") // the old reservation of 2 still applies
		releaseAll(rels)
		if rel, gerr := l.Acquire("g"); gerr != nil {
			err = gerr
		} else {
			rel()
		}
		if n, _ := l.Reserved("f"); n != 2 {
			err = fmt.Errorf("Reserved(f) = %d during commit, want 2", n)
		}
		_ = l.InUse()
		_ = l.Unreserved()
		acquired <- err
	}()
	select {
	case err := <-acquired:
		if err == nil {
			t.Fatal("third Acquire under the old reservation succeeded")
		}
		var e *sluice.Error
		if !errors.As(err, &e) || e.Reason != ReasonReserved {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Acquire blocked while a commit was running")
	}

	// Another Reserve waits for the first and is checked against its
	// result: 1000 - 800 - 150 < 100.
	second := make(chan error, 1)
	go func() { second <- l.Reserve("h", 150, nil) }()
	select {
	case err := <-second:
		t.Fatalf("second Reserve returned (%v) while the first was committing", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(unblock)
	if err := <-reserved; err != nil {
		t.Fatalf("first Reserve: %v", err)
	}
	if err := <-second; sluice.ErrorCodeOf(err) != sluice.EInvalidParameter {
		t.Fatalf("second Reserve = %v, want EInvalidParameter (checked after the first applied)", err)
	}
	if n, _ := l.Reserved("f"); n != 800 {
		t.Fatalf("Reserved(f) = %d, want 800", n)
	}
	wantCounts(t, l, 0, 0, nil)
}

// burstSetup is the Limiter of the burst tests: account 200, r reserved 20,
// z reserved 0, u1 and u2 sharing the unreserved pool of 180.
func burstSetup(t *testing.T) (*Limiter, []string, map[string]int) {
	l := New(200)
	res := map[string]int{"r": 20, "z": 0}
	for fn, n := range res {
		if err := l.Reserve(fn, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	return l, []string{"r", "z", "u1", "u2"}, res
}

// burstCounters tracks what the goroutines hold, and the maxima seen.
type burstCounters struct {
	total, unres, r          atomic.Int64
	maxTotal, maxUnres, maxR atomic.Int64
	ok, throttled, other     atomic.Int64
}

func storeMax(m *atomic.Int64, v int64) {
	for {
		old := m.Load()
		if v <= old || m.CompareAndSwap(old, v) {
			return
		}
	}
}

// run does one Acquire of fn, holds the slot through hold, and records.
func (c *burstCounters) run(t *testing.T, l *Limiter, fn string, hold func()) {
	rel, err := l.Acquire(fn)
	if err != nil {
		var e *sluice.Error
		want := ReasonUnreserved
		if fn == "r" || fn == "z" {
			want = ReasonReserved
		}
		if errors.As(err, &e) && e.Code == sluice.EThrottled && e.Reason == want && e.Message == ThrottleMessage {
			c.throttled.Add(1)
		} else {
			c.other.Add(1)
			t.Errorf("Acquire(%s): unexpected error %v", fn, err)
		}
		hold()
		return
	}
	if rel == nil {
		c.other.Add(1)
		t.Errorf("Acquire(%s): nil release without error", fn)
		hold()
		return
	}
	c.ok.Add(1)
	storeMax(&c.maxTotal, c.total.Add(1))
	var pool, max *atomic.Int64
	switch fn {
	case "r":
		pool, max = &c.r, &c.maxR
	case "z":
		t.Errorf("Acquire(z) succeeded with reservation 0")
	default:
		pool, max = &c.unres, &c.maxUnres
	}
	if pool != nil {
		storeMax(max, pool.Add(1))
	}
	hold()
	if pool != nil {
		pool.Add(-1)
	}
	c.total.Add(-1)
	rel()
	if rand.IntN(4) == 0 {
		rel() // double release is harmless
	}
}

func (c *burstCounters) check(t *testing.T, l *Limiter, n int) {
	t.Helper()
	if got := c.ok.Load() + c.throttled.Load(); got != int64(n) || c.other.Load() != 0 {
		t.Errorf("%d slots + %d throttles + %d other, want %d calls", c.ok.Load(), c.throttled.Load(), c.other.Load(), n)
	}
	if m := c.maxTotal.Load(); m > int64(l.AccountLimit()) {
		t.Errorf("max held %d > account limit %d", m, l.AccountLimit())
	}
	if m := c.maxR.Load(); m > 20 {
		t.Errorf("max held by r %d > reservation 20", m)
	}
	if m := c.maxUnres.Load(); m > 180 {
		t.Errorf("max held in the unreserved pool %d > 180", m)
	}
	wantCounts(t, l, 0, 0, map[string]int{"r": 0, "z": 0, "u1": 0, "u2": 0})
}

// TestBurstExact: 1000 goroutines each Acquire once and hold their slot
// until all have tried, so the number of slots granted is exact.
func TestBurstExact(t *testing.T) {
	l, fns, _ := burstSetup(t)
	const n = 1000
	var c burstCounters
	var tried, wg sync.WaitGroup
	tried.Add(n)
	start := make(chan struct{})
	allTried := make(chan struct{})
	go func() { tried.Wait(); close(allTried) }()
	for i := range n {
		fn := fns[i%len(fns)] // 250 calls each
		wg.Go(func() {
			<-start
			c.run(t, l, fn, func() {
				tried.Done()
				<-allTried
				if l.InUse() > l.AccountLimit() {
					t.Errorf("InUse() %d > account limit", l.InUse())
				}
			})
		})
	}
	close(start)
	wg.Wait()
	c.check(t, l, n)
	// Every pool was oversubscribed, so each filled up exactly.
	if c.maxR.Load() != 20 || c.maxUnres.Load() != 180 || c.ok.Load() != 200 {
		t.Errorf("granted: r %d (want 20), unreserved %d (want 180), total %d (want 200)",
			c.maxR.Load(), c.maxUnres.Load(), c.ok.Load())
	}
}

// TestBurstChurn: 1000 goroutines Acquire, hold briefly and release, with
// random timing, while reservations of other functions change.
func TestBurstChurn(t *testing.T) {
	l, fns, _ := burstSetup(t)
	const n = 1000
	var c burstCounters
	var wg sync.WaitGroup
	start := make(chan struct{})
	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Go(func() { // reservation changes of an unrelated function
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := l.Reserve("other", (i%3)-1, nil); err != nil { // -1, 0, 1
				t.Errorf("Reserve(other): %v", err)
				return
			}
			time.Sleep(100 * time.Microsecond)
		}
	})
	for range n {
		fn := fns[rand.IntN(len(fns))]
		wg.Go(func() {
			<-start
			c.run(t, l, fn, func() {
				time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
			})
		})
	}
	close(start)
	wg.Wait()
	close(stop)
	churn.Wait()
	// "other" holds at most 1, so the unreserved pool is at least 179;
	// its maximum is still bounded by 180.
	c.check(t, l, n)
	if c.ok.Load() == 0 {
		t.Error("no Acquire succeeded")
	}
}
