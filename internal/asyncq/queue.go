// Package asyncq is the durable queue of asynchronous (Event)
// invocations: events live in a bbolt file of their own, each one is
// fsync'd before Put returns, and a dispatcher (Run) delivers them at
// least once, round-robin over fairness keys (functions), within a
// global and a per-key concurrency limit, with delayed redelivery for
// retries and throttles. Events are opaque to the queue (Event.Data).
//
// Memory does not grow with the number of queued events: the dispatcher
// keeps, per key with queued events, the position of its next event and
// the events being delivered, nothing more; an event's data is read from
// the file when it is delivered.
//
// Layout of the file: bucket "keys" holds one bucket per fairness key,
// whose entries are due time (Unix nanoseconds, big-endian) + a sequence
// number (big-endian, from the "keys" bucket's sequence) → the encoded
// event (see encode). Iterating a key's bucket is its delivery order:
// earliest due first, first put first among equals.
package asyncq

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// Event is one queued event.
type Event struct {
	// ID names the event for the caller (the invocation's request id);
	// the queue does not require it to be unique.
	ID string
	// Key is the fairness key (e.g. region/account/function): deliveries
	// go round-robin over the keys that have due events, and
	// Options.Limit caps the deliveries of one key at once.
	Key string
	// Due is when the event may be delivered; zero means Enqueued.
	Due time.Time
	// Enqueued is when the event was accepted; zero means the time of Put.
	Enqueued time.Time
	// Attempts counts the deliveries that ended in Retry.
	Attempts int
	// Data is opaque to the queue.
	Data []byte
}

// MaxKeyLen is the longest Event.Key, in bytes.
const MaxKeyLen = 1024

// ErrClosed is returned by Put after Close.
var ErrClosed = errors.New("asyncq: the queue is closed")

// Options configure a Queue.
type Options struct {
	// Logger receives what cannot be returned (an outcome that could not
	// be recorded); nil discards.
	Logger *slog.Logger
	// MaxInFlight caps deliveries at once, all keys together; 0 means 64.
	MaxInFlight int
	// Limit, if not nil, says how many deliveries of key may run at once
	// (a function's reserved concurrency); n <= 0 means no limit but
	// MaxInFlight. It is asked at every dispatch decision, so a change
	// takes effect at once; it must be cheap and must not block.
	Limit func(key string) int
	// ShutdownGrace is how long deliveries under way may go on after
	// Run's context ends before their context is cancelled too; 0
	// cancels them at once.
	ShutdownGrace time.Duration
}

// Queue is a durable event queue on one bbolt file. Put may be called
// from any goroutine; Run is the one dispatcher.
type Queue struct {
	db   *bbolt.DB
	opts Options
	log  *slog.Logger

	ops        chan op // to the writer
	writerDone chan struct{}
	closeMu    sync.RWMutex
	closed     bool

	count   atomic.Int64 // events in the file
	running atomic.Bool

	wake    chan struct{} // cap 1: something changed for the dispatcher
	mu      sync.Mutex
	touched map[string]struct{} // keys put to since the dispatcher last looked
}

var errNew = errors.New("a new file")

var (
	keysBucket = []byte("keys")
	metaBucket = []byte("meta")
	versionKey = []byte("version")
)

const (
	formatVersion = 1
	maxBatch      = 4096 // operations in one transaction
)

// Open opens (creating it if needed) the queue file at path. The file is
// locked: a second Open of the same file waits up to a second, then fails.
func Open(path string, opts Options) (*Queue, error) {
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 64
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("asyncq: open %s: %w", path, err)
	}
	var n int64
	count := func(tx *bbolt.Tx) error {
		keys := tx.Bucket(keysBucket)
		return keys.ForEachBucket(func(k []byte) error {
			n += int64(keys.Bucket(k).Stats().KeyN)
			return nil
		})
	}
	// A file made before is only read, so that it opens on a full disk.
	err = db.View(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		if meta == nil || tx.Bucket(keysBucket) == nil {
			return errNew
		}
		if v := meta.Get(versionKey); len(v) != 1 || v[0] != formatVersion {
			return fmt.Errorf("the file is of format %v, this sluice reads %d", v, formatVersion)
		}
		return count(tx)
	})
	if err == errNew {
		err = db.Update(func(tx *bbolt.Tx) error {
			meta, err := tx.CreateBucketIfNotExists(metaBucket)
			if err != nil {
				return err
			}
			if err := meta.Put(versionKey, []byte{formatVersion}); err != nil {
				return err
			}
			_, err = tx.CreateBucketIfNotExists(keysBucket)
			return err
		})
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("asyncq: open %s: %w", path, err)
	}
	q := &Queue{
		db:         db,
		opts:       opts,
		log:        log,
		ops:        make(chan op, maxBatch),
		writerDone: make(chan struct{}),
		wake:       make(chan struct{}, 1),
		touched:    make(map[string]struct{}),
	}
	q.count.Store(n)
	go q.writer()
	return q, nil
}

// Len returns how many events are queued, those being delivered included.
func (q *Queue) Len() int { return int(q.count.Load()) }

// Put queues ev durably: when Put returns nil, ev is in the file and
// fsync'd, and will be delivered at least once. Concurrent Puts share
// one transaction and one fsync (group commit). ctx bounds the wait for a
// place in the writer's queue only: once handed over, Put waits for the
// commit, so that its answer is never wrong. An error means ev was not
// stored (a full disk, an I/O error, Close).
func (q *Queue) Put(ctx context.Context, ev Event) error {
	if ev.Key == "" || len(ev.Key) > MaxKeyLen {
		return fmt.Errorf("asyncq: an event's key must have 1 to %d bytes, has %d", MaxKeyLen, len(ev.Key))
	}
	if ev.Attempts < 0 {
		return fmt.Errorf("asyncq: an event's attempts must not be negative, is %d", ev.Attempts)
	}
	if ev.Enqueued.IsZero() {
		ev.Enqueued = time.Now()
	}
	if ev.Due.IsZero() {
		ev.Due = ev.Enqueued
	}
	key := []byte(ev.Key)
	val := encode(ev)
	due := ev.Due
	err := q.submit(ctx, func(tx *bbolt.Tx) error {
		keys := tx.Bucket(keysBucket)
		b, err := keys.CreateBucketIfNotExists(key)
		if err != nil {
			return err
		}
		seq, err := keys.NextSequence()
		if err != nil {
			return err
		}
		return b.Put(entryKey(due, seq), val)
	})
	if err != nil {
		return err
	}
	q.count.Add(1)
	q.touch(ev.Key)
	return nil
}

// Close stops accepting Puts, waits for those under way, and closes the
// file. Call it after Run has returned.
func (q *Queue) Close() error {
	q.closeMu.Lock()
	if q.closed {
		q.closeMu.Unlock()
		return nil
	}
	q.closed = true
	close(q.ops)
	q.closeMu.Unlock()
	<-q.writerDone
	return q.db.Close()
}

// touch tells the dispatcher that key has a new event.
func (q *Queue) touch(key string) {
	q.mu.Lock()
	q.touched[key] = struct{}{}
	q.mu.Unlock()
	q.poke()
}

func (q *Queue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// op is one change to the file, run by the writer in a transaction with
// the others waiting at the time; done receives the commit's result.
type op struct {
	apply func(*bbolt.Tx) error
	done  chan error
}

// submit hands apply to the writer and waits for its commit.
func (q *Queue) submit(ctx context.Context, apply func(*bbolt.Tx) error) error {
	o := op{apply: apply, done: make(chan error, 1)}
	q.closeMu.RLock()
	if q.closed {
		q.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case q.ops <- o:
	case <-ctx.Done():
		q.closeMu.RUnlock()
		return ctx.Err()
	}
	q.closeMu.RUnlock()
	return <-o.done
}

// writer commits operations: it takes what is waiting (at most maxBatch),
// applies it in one transaction (one fsync), answers each, and loops.
// While it commits, new operations gather for the next transaction, so
// concurrent callers share an fsync and a lone caller waits for no timer
// (bbolt's DB.Batch waits up to MaxBatchDelay for company). It ends when
// Close closes ops.
func (q *Queue) writer() {
	defer close(q.writerDone)
	batch := make([]op, 0, maxBatch)
	for {
		first, ok := <-q.ops
		if !ok {
			return
		}
		batch = append(batch[:0], first)
	more:
		for len(batch) < maxBatch {
			select {
			case o, ok := <-q.ops:
				if !ok {
					break more
				}
				batch = append(batch, o)
			default:
				break more
			}
		}
		err := q.db.Update(func(tx *bbolt.Tx) error {
			for _, o := range batch {
				if err := o.apply(tx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			err = fmt.Errorf("asyncq: storing: %w", err)
		}
		for _, o := range batch {
			o.done <- err
		}
		clear(batch)
	}
}

// entryKey is an event's key in its key's bucket: due, then seq.
func entryKey(due time.Time, seq uint64) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, uint64(unixNano(due)))
	binary.BigEndian.PutUint64(k[8:], seq)
	return k
}

// unixNano is t in Unix nanoseconds, clamped to [0, MaxInt64] (1970 to
// 2262), so that the order of entry keys is the order of times.
func unixNano(t time.Time) int64 {
	if t.Before(time.Unix(0, 0)) {
		return 0
	}
	if t.After(time.Unix(0, math.MaxInt64)) {
		return math.MaxInt64
	}
	return t.UnixNano()
}

func entryDue(k []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(k)))
}

// encode is an event's value: format version 1, the ID's length
// (uvarint) and bytes, Enqueued (varint Unix nanoseconds), Attempts
// (uvarint), and the rest is Data. Key and Due are in the entry's place.
func encode(ev Event) []byte {
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64+len(ev.ID)+len(ev.Data))
	b = append(b, formatVersion)
	b = binary.AppendUvarint(b, uint64(len(ev.ID)))
	b = append(b, ev.ID...)
	b = binary.AppendVarint(b, unixNano(ev.Enqueued))
	b = binary.AppendUvarint(b, uint64(ev.Attempts))
	return append(b, ev.Data...)
}

var errCorrupt = errors.New("asyncq: an event's record is not whole")

// decode is the event stored under entry k of bucket key; v may belong
// to a transaction: decode copies.
func decode(key string, k, v []byte) (Event, error) {
	ev := Event{Key: key}
	if len(k) != 16 || len(v) < 1 || v[0] != formatVersion {
		return ev, errCorrupt
	}
	ev.Due = entryDue(k)
	r := bytes.NewReader(v[1:])
	n, err := binary.ReadUvarint(r)
	if err != nil || n > uint64(r.Len()) {
		return ev, errCorrupt
	}
	id := make([]byte, n)
	_, _ = r.Read(id)
	ev.ID = string(id)
	enq, err := binary.ReadVarint(r)
	if err != nil {
		return ev, errCorrupt
	}
	ev.Enqueued = time.Unix(0, enq)
	att, err := binary.ReadUvarint(r)
	if err != nil || att > math.MaxInt32 {
		return ev, errCorrupt
	}
	ev.Attempts = int(att)
	ev.Data = make([]byte, r.Len())
	_, _ = r.Read(ev.Data)
	return ev, nil
}

// OldestDue returns the earliest due time of the queued events (those
// being delivered included); ok is false when the queue is empty or
// closed. It reads the head of each key's bucket, so its cost grows with
// the number of keys, not of events (a metrics scrape can afford it).
func (q *Queue) OldestDue() (due time.Time, ok bool, err error) {
	q.closeMu.RLock()
	defer q.closeMu.RUnlock()
	if q.closed {
		return time.Time{}, false, nil
	}
	err = q.db.View(func(tx *bbolt.Tx) error {
		keys := tx.Bucket(keysBucket)
		return keys.ForEachBucket(func(k []byte) error {
			head, _ := keys.Bucket(k).Cursor().First()
			if head == nil {
				return nil
			}
			if d := entryDue(head); !ok || d.Before(due) {
				due, ok = d, true
			}
			return nil
		})
	})
	return due, ok, err
}
