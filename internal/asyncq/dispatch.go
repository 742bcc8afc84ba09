package asyncq

import (
	"context"
	"errors"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// Outcome is what became of one delivery: Done, Retry or Throttled.
type Outcome interface{ outcome() }

// Done: the event is finished (delivered, or given up by the caller);
// it is deleted.
type Done struct{}

// Retry: the delivery failed; the event is delivered again at At (zero:
// at once) with Attempts one higher, and with Data in place of its data
// if Data is not nil (the caller may keep what it learnt, e.g. the last
// error, with the event).
type Retry struct {
	At   time.Time
	Data []byte
}

// Throttled: the delivery could not start (no capacity); the event is
// delivered again at At (zero: at once) with Attempts unchanged.
type Throttled struct{ At time.Time }

func (Done) outcome()      {}
func (Retry) outcome()     {}
func (Throttled) outcome() {}

// Deliver delivers one event and says what became of it. Its context is
// cancelled when Run stops (after Options.ShutdownGrace); a delivery
// that returns after that with anything but Done, or that returns nil,
// is abandoned: the event stays queued as it was, and is delivered again
// by the next Run.
type Deliver func(ctx context.Context, ev Event) Outcome

// keyState is the dispatcher's memory of one key with queued events:
// where its next deliverable event is, and which of its events are
// being delivered.
type keyState struct {
	name  string
	stale bool      // head must be read again from the file
	head  []byte    // entry key of the next event not busy; nil: none
	due   time.Time // head's due time
	// busy holds the entries being delivered (or whose outcome is being
	// recorded).
	busy     map[string]struct{}
	inflight int
}

// completion is the end of one delivery, for the dispatcher.
type completion struct {
	ks    *keyState
	entry string
}

// recordRetry is how long a delivery whose outcome could not be recorded
// (a full disk) waits before it tries again.
const recordRetry = 2 * time.Second

// Run is the dispatcher: it delivers due events, round-robin over the
// keys that have them, at most Options.MaxInFlight at once and at most
// Options.Limit(key) of one key, and records each outcome. It returns
// when ctx ends, once every delivery under way has returned (see Deliver
// for those cut short); what was not finished stays queued. One Run at a
// time per Queue; it returns an error only if it cannot start.
func (q *Queue) Run(ctx context.Context, deliver Deliver) error {
	if !q.running.CompareAndSwap(false, true) {
		return errors.New("asyncq: Run is already running")
	}
	defer q.running.Store(false)

	d := &dispatcher{
		q:       q,
		deliver: deliver,
		keys:    make(map[string]*keyState),
		results: make(chan completion, q.opts.MaxInFlight),
	}
	var names []string
	err := q.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(keysBucket).ForEachBucket(func(k []byte) error {
			names = append(names, string(k))
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, n := range names {
		d.add(n)
	}
	var cancel context.CancelFunc
	d.ctx, cancel = context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()

	d.loop(ctx)

	if g := q.opts.ShutdownGrace; g > 0 {
		t := time.AfterFunc(g, cancel)
		defer t.Stop()
	} else {
		cancel()
	}
	for d.inflight > 0 {
		d.complete(<-d.results)
	}
	return nil
}

type dispatcher struct {
	q        *Queue
	deliver  Deliver
	ctx      context.Context // deliveries'
	keys     map[string]*keyState
	ring     []*keyState // round-robin order
	next     int         // index in ring where the next round starts
	inflight int
	results  chan completion
}

func (d *dispatcher) add(name string) *keyState {
	ks := d.keys[name]
	if ks == nil {
		ks = &keyState{name: name, busy: make(map[string]struct{})}
		d.keys[name] = ks
		d.ring = append(d.ring, ks)
	}
	ks.stale = true
	return ks
}

func (d *dispatcher) loop(ctx context.Context) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for ctx.Err() == nil {
		// Take the set of touched keys only when it is not empty: the
		// map left in place is Put's to write, and must not be read
		// (ranged over) outside the lock.
		d.q.mu.Lock()
		var touched map[string]struct{}
		if len(d.q.touched) > 0 {
			touched = d.q.touched
			d.q.touched = make(map[string]struct{})
		}
		d.q.mu.Unlock()
		for name := range touched {
			d.add(name)
		}
		now := time.Now()
		if d.inflight < d.q.opts.MaxInFlight && d.dispatchOne(now) {
			continue
		}
		var wait <-chan time.Time
		if at, ok := d.nextWake(); ok {
			if timer == nil {
				timer = time.NewTimer(time.Until(at))
			} else {
				timer.Reset(time.Until(at))
			}
			wait = timer.C
		}
		select {
		case <-ctx.Done():
		case <-d.q.wake:
		case c := <-d.results:
			d.complete(c)
		case <-wait:
		}
	}
}

// limited reports whether ks may not start another delivery now.
func (d *dispatcher) limited(ks *keyState) bool {
	if d.q.opts.Limit == nil {
		return false
	}
	n := d.q.opts.Limit(ks.name)
	return n > 0 && ks.inflight >= n
}

// dispatchOne starts the delivery of one due event, of the first key in
// round-robin order that has one and is under its limit, and reports
// whether it did. Keys found empty are forgotten.
func (d *dispatcher) dispatchOne(now time.Time) bool {
	n := len(d.ring)
	var empty []*keyState
	defer func() {
		for _, ks := range empty {
			d.forget(ks)
		}
	}()
	for i := 0; i < n; i++ {
		idx := (d.next + i) % n
		ks := d.ring[idx]
		if d.limited(ks) {
			continue
		}
		if ks.stale {
			if err := d.loadHead(ks); err != nil {
				d.q.log.Error("asyncq: reading the queue", "key", ks.name, "err", err)
				continue
			}
		}
		if ks.head == nil {
			if len(ks.busy) == 0 {
				empty = append(empty, ks)
			}
			continue
		}
		if ks.due.After(now) {
			continue
		}
		if d.start(ks) {
			d.next = (idx + 1) % n
			return true
		}
	}
	return false
}

func (d *dispatcher) forget(ks *keyState) {
	delete(d.keys, ks.name)
	for i, r := range d.ring {
		if r == ks {
			d.ring = append(d.ring[:i], d.ring[i+1:]...)
			if d.next > i {
				d.next--
			}
			break
		}
	}
	if len(d.ring) == 0 || d.next >= len(d.ring) {
		d.next = 0
	}
}

// loadHead finds the first entry of ks's bucket that is not busy.
func (d *dispatcher) loadHead(ks *keyState) error {
	ks.head = nil
	err := d.q.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(keysBucket).Bucket([]byte(ks.name))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if _, busy := ks.busy[string(k)]; busy {
				continue
			}
			ks.head = append([]byte(nil), k...)
			ks.due = entryDue(k)
			return nil
		}
		return nil
	})
	if err == nil {
		ks.stale = false
	}
	return err
}

// start reads ks's head event and starts its delivery.
func (d *dispatcher) start(ks *keyState) bool {
	entry := ks.head
	var ev Event
	var derr error
	err := d.q.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(keysBucket).Bucket([]byte(ks.name))
		var v []byte
		if b != nil {
			v = b.Get(entry)
		}
		if v == nil {
			return errors.New("the event is gone")
		}
		ev, derr = decode(ks.name, entry, v)
		return nil
	})
	ks.stale = true
	if err != nil {
		d.q.log.Error("asyncq: reading an event", "key", ks.name, "err", err)
		return false
	}
	if derr != nil {
		// Not deliverable, ever: say so loudly and take it out of the way.
		d.q.log.Error("asyncq: dropping an event whose record is not whole", "key", ks.name, "err", derr)
		d.q.removeEntry(ks.name, entry)
		return false
	}
	ks.busy[string(entry)] = struct{}{}
	ks.inflight++
	d.inflight++
	go func() {
		out := normalize(d.deliver(d.ctx, ev))
		c := completion{ks: ks, entry: string(entry)}
		_, done := out.(Done)
		if out == nil || (!done && d.ctx.Err() != nil) {
			d.results <- c // abandoned: left as it is
			return
		}
		// An outcome that cannot be recorded (a full disk) is tried again
		// until it is, or until shutdown: the delivery keeps its slot
		// meanwhile, so a disk that takes nothing more stops deliveries
		// instead of repeating them.
		for err := d.q.record(ev, entry, out); err != nil; err = d.q.record(ev, entry, out) {
			d.q.log.Error("asyncq: recording a delivery's outcome; trying again", "key", ev.Key, "id", ev.ID, "err", err)
			t := time.NewTimer(recordRetry)
			select {
			case <-t.C:
				continue
			case <-d.ctx.Done():
				t.Stop()
			}
			d.q.log.Error("asyncq: shutting down before a delivery's outcome was recorded; the event stays queued as it was", "key", ev.Key, "id", ev.ID)
			break
		}
		d.results <- c
	}()
	return true
}

func (d *dispatcher) complete(c completion) {
	ks := c.ks
	ks.inflight--
	d.inflight--
	delete(ks.busy, c.entry)
	ks.stale = true
	if d.keys[ks.name] != ks {
		// forgotten while its delivery ran (cannot happen: a busy key is
		// never forgotten), or the key came back: keep what the file says.
		d.add(ks.name)
	}
}

// nextWake is the earliest time something may become deliverable
// without a Put or a completion: the due time of a head under its limit.
func (d *dispatcher) nextWake() (time.Time, bool) {
	var at time.Time
	ok := false
	min := func(t time.Time) {
		if !ok || t.Before(at) {
			at, ok = t, true
		}
	}
	for _, ks := range d.ring {
		if d.inflight < d.q.opts.MaxInFlight && ks.head != nil && !ks.stale && !d.limited(ks) {
			min(ks.due)
		}
	}
	return at, ok
}

// normalize returns out as Done{}, Retry or Throttled, or nil for
// anything else (nil, a nil pointer).
func normalize(out Outcome) Outcome {
	switch o := out.(type) {
	case Done, Retry, Throttled:
		return o
	case *Done:
		if o != nil {
			return Done{}
		}
	case *Retry:
		if o != nil {
			return *o
		}
	case *Throttled:
		if o != nil {
			return *o
		}
	}
	return nil
}

// record writes the outcome (normalized, not nil) of ev's delivery,
// stored under entry.
func (q *Queue) record(ev Event, entry []byte, out Outcome) error {
	key := []byte(ev.Key)
	switch o := out.(type) {
	case Done:
		err := q.submit(context.Background(), func(tx *bbolt.Tx) error { return deleteEntry(tx, key, entry) })
		if err == nil {
			q.count.Add(-1)
		}
		return err
	case Retry:
		ev.Attempts++
		if o.Data != nil {
			ev.Data = o.Data
		}
		return q.move(ev, key, entry, o.At)
	case Throttled:
		return q.move(ev, key, entry, o.At)
	}
	return fmt.Errorf("asyncq: unknown outcome %T", out)
}

// move stores ev again, due at at, in place of entry.
func (q *Queue) move(ev Event, key, entry []byte, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	val := encode(ev)
	return q.submit(context.Background(), func(tx *bbolt.Tx) error {
		keys := tx.Bucket(keysBucket)
		b, err := keys.CreateBucketIfNotExists(key)
		if err != nil {
			return err
		}
		if err := b.Delete(entry); err != nil {
			return err
		}
		seq, err := keys.NextSequence()
		if err != nil {
			return err
		}
		return b.Put(entryKey(at, seq), val)
	})
}

// removeEntry deletes one entry (an event that cannot be decoded).
func (q *Queue) removeEntry(key string, entry []byte) {
	err := q.submit(context.Background(), func(tx *bbolt.Tx) error { return deleteEntry(tx, []byte(key), entry) })
	if err != nil {
		q.log.Error("asyncq: removing an event", "key", key, "err", err)
		return
	}
	q.count.Add(-1)
}

// deleteEntry deletes entry from key's bucket, and the bucket once empty.
func deleteEntry(tx *bbolt.Tx, key, entry []byte) error {
	keys := tx.Bucket(keysBucket)
	b := keys.Bucket(key)
	if b == nil {
		return nil
	}
	if err := b.Delete(entry); err != nil {
		return err
	}
	if k, _ := b.Cursor().First(); k == nil {
		return keys.DeleteBucket(key)
	}
	return nil
}
