// Package logstore keeps the functions' log events on disk, as CloudWatch
// Logs has them: log groups of log streams of timestamped events, per scope
// (a region of an account), bounded by a total size and an age.
//
// Layout: DIR/<region>/<account>/<escaped group>/<seq>.log, append-only
// segment files of one JSON object per line ({"t":ms,"s":stream,"m":message}).
// A group's events are appended in the order they arrive, stamped with the
// time they arrive, so a group's segments are in time order; each segment's
// first and last timestamps (and the streams it holds) are kept in memory,
// rebuilt at Open by reading the segments: queries skip the segments outside
// their time range. Retention deletes whole segments, oldest first: those
// whose newest event is older than MaxAge, and the oldest ones while the
// store is over MaxBytes. A torn last line (a crash mid-write) is cut at
// Open.
package logstore

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-dev/sluice"
)

// Defaults of Options.
const (
	DefaultMaxBytes     = 1 << 30 // 1 GiB
	DefaultMaxAge       = 7 * 24 * time.Hour
	DefaultSegmentBytes = 4 << 20
	// MaxEventBytes is the most one event's message holds (CloudWatch's
	// event size limit); a longer line is split.
	MaxEventBytes = 256 << 10
	// DefaultFlushDelay: what a crash can lose of the newest log lines.
	DefaultFlushDelay = 20 * time.Millisecond
)

// maxPending is how many bytes a group holds before it writes them
// whatever the delay.
const maxPending = 64 << 10

// Options configure a Store.
type Options struct {
	Dir string
	// MaxBytes bounds the segments' total size; 0 means DefaultMaxBytes.
	MaxBytes int64
	// MaxAge is how long events are kept; 0 means DefaultMaxAge.
	MaxAge time.Duration
	// SegmentBytes is the size at which a group starts a new segment; 0
	// means DefaultSegmentBytes (at most MaxBytes/4).
	SegmentBytes int64
	// FlushDelay is the longest an appended event waits in memory before
	// it is written to its segment file (reads write it first); 0 means
	// DefaultFlushDelay, < 0 writes every append at once.
	FlushDelay time.Duration
	// Now returns the current time; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Event is one log event.
type Event struct {
	// ID is stable and unique within its group: the event's segment and
	// offset.
	ID        string
	Stream    string
	Timestamp int64 // ms since the epoch
	Message   string
	// Pos is where the event is stored and End where the next one is:
	// Query.From and Query.Before take either.
	Pos, End Position
}

// Stream describes a log stream.
type Stream struct {
	Name             string
	FirstEvent, Last int64 // ms; the stream's creation is its first event
	LastIngestion    int64
	StoredBytes      int64
}

// Group describes a log group.
type Group struct {
	Name        string
	Created     int64 // ms: its oldest kept event
	StoredBytes int64
}

// Store is the log store. Its methods are safe for concurrent use.
type Store struct {
	opts Options
	log  *slog.Logger

	mu     sync.Mutex
	groups map[groupKey]*group
	total  int64
	nextID int64         // next segment number, store-wide
	notify chan struct{} // closed and replaced on every append
	closed bool
	buf    []byte // AppendAll's encoding buffer, reused
	// flushing is the timer that writes what groups hold pending (nil
	// when nothing is pending): appends are written at most FlushDelay
	// after they are made, so that an invocation's START, END and REPORT
	// lines cost no write(2) on its path (issue 14). Reads, retention and
	// Close write what is pending first.
	flushing *time.Timer
}

type groupKey struct {
	scope sluice.Scope
	name  string
}

type group struct {
	dir  string
	segs []*segment // oldest first; the last one is appended to
	f    *os.File   // the last segment, open for appending (nil until used)
	// pending are appended lines of the last segment, counted in its
	// size but not yet written to f.
	pending []byte
}

type segment struct {
	id           int64
	path         string
	size         int64
	first, last  int64 // ms
	streams      map[string]*Stream
	lastIngested int64
}

// record is the on-disk form of an event.
type record struct {
	T int64  `json:"t"`
	S string `json:"s"`
	M string `json:"m"`
}

// Open opens (creating) the store in opts.Dir and applies retention.
func Open(opts Options) (*Store, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	opts.SegmentBytes = min(opts.SegmentBytes, max(opts.MaxBytes/4, 1))
	if opts.FlushDelay == 0 {
		opts.FlushDelay = DefaultFlushDelay
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	s := &Store{opts: opts, log: opts.Logger, groups: map[groupKey]*group{}, notify: make(chan struct{}), nextID: 1}
	if err := s.load(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.retainLocked()
	s.mu.Unlock()
	return s, nil
}

// load reads DIR/<region>/<account>/<group>/<seq>.log.
func (s *Store) load() error {
	paths, err := filepath.Glob(filepath.Join(s.opts.Dir, "*", "*", "*", "*.log"))
	if err != nil {
		return err
	}
	for _, p := range paths {
		rel, _ := filepath.Rel(s.opts.Dir, p)
		parts := strings.Split(rel, string(filepath.Separator))
		name, err := url.PathUnescape(parts[2])
		id, err2 := strconv.ParseInt(strings.TrimSuffix(parts[3], ".log"), 10, 64)
		if err != nil || err2 != nil {
			continue
		}
		seg, err := readSegment(p, id)
		if err != nil {
			return err
		}
		k := groupKey{sluice.Scope{Region: parts[0], Account: parts[1]}, name}
		g := s.groups[k]
		if g == nil {
			g = &group{dir: filepath.Dir(p)}
			s.groups[k] = g
		}
		g.segs = append(g.segs, seg)
		s.total += seg.size
		s.nextID = max(s.nextID, id+1)
	}
	for _, g := range s.groups {
		sort.Slice(g.segs, func(i, j int) bool { return g.segs[i].id < g.segs[j].id })
	}
	return nil
}

// readSegment indexes one segment, cutting a torn last line.
func readSegment(path string, id int64) (*segment, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seg := &segment{id: id, path: path, streams: map[string]*Stream{}}
	r := bufio.NewReaderSize(f, 64<<10)
	var off int64
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			if len(line) > 0 { // torn
				if err := f.Truncate(off); err != nil {
					return nil, err
				}
			}
			break
		}
		if err != nil {
			return nil, err
		}
		var rec record
		if json.Unmarshal(line, &rec) == nil {
			seg.add(rec, int64(len(line)), rec.T)
		}
		off += int64(len(line))
	}
	seg.size = off
	return seg, nil
}

func (seg *segment) add(rec record, n, ingested int64) {
	if seg.first == 0 || rec.T < seg.first {
		seg.first = rec.T
	}
	seg.last = max(seg.last, rec.T)
	seg.lastIngested = max(seg.lastIngested, ingested)
	st := seg.streams[rec.S]
	if st == nil {
		st = &Stream{Name: rec.S, FirstEvent: rec.T}
		seg.streams[rec.S] = st
	}
	st.Last = max(st.Last, rec.T)
	st.LastIngestion = max(st.LastIngestion, ingested)
	st.StoredBytes += n
}

// Close closes the open segments; the Store is unusable afterwards.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.flushing != nil {
		s.flushing.Stop()
		s.flushing = nil
	}
	var errs []error
	for _, g := range s.groups {
		if err := s.flushLocked(g); err != nil {
			errs = append(errs, err)
		}
		if g.f != nil {
			errs = append(errs, g.f.Close())
			g.f = nil
		}
	}
	return errors.Join(errs...)
}

// ErrClosed is Append's error after Close.
var ErrClosed = errors.New("logstore: closed")

// Append stores one event, stamped now, in group and stream of scope.
func (s *Store) Append(scope sluice.Scope, groupName, stream, message string) error {
	return s.AppendAll(scope, groupName, stream, message)
}

// AppendAll stores events in group and stream of scope, in order, all
// stamped now. They reach the segment file with the group's other pending
// lines, at most FlushDelay later (at once past maxPending).
func (s *Store) AppendAll(scope sluice.Scope, groupName, stream string, messages ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	now := s.opts.Now().UnixMilli()
	k := groupKey{scope, groupName}
	g := s.groups[k]
	if g == nil {
		g = &group{dir: filepath.Join(s.opts.Dir, scope.Region, scope.Account, url.PathEscape(groupName))}
		s.groups[k] = g
	}
	buf := s.buf[:0]
	var recs []record // encoded in buf, not yet handed to writeLocked
	for i, m := range messages {
		rec := record{T: now, S: stream, M: m}
		buf = appendRecord(buf, rec)
		recs = append(recs, rec)
		if len(buf) < 64<<10 && i < len(messages)-1 {
			continue // more to come in this batch
		}
		if err := s.writeLocked(g, buf, recs, now); err != nil {
			return err
		}
		buf, recs = buf[:0], recs[:0]
	}
	if cap(buf) <= 64<<10 {
		s.buf = buf
	}
	close(s.notify)
	s.notify = make(chan struct{})
	return nil
}

// writeLocked adds lines, the encoding of recs, to g's last segment (a new
// one when it is full): counted at once, held in g.pending until the flush
// timer, a read, a full segment or maxPending writes them.
func (s *Store) writeLocked(g *group, lines []byte, recs []record, now int64) error {
	var seg *segment
	if n := len(g.segs); n > 0 && g.segs[n-1].size < s.opts.SegmentBytes {
		seg = g.segs[n-1]
	}
	if seg == nil || g.f == nil {
		if g.f != nil {
			_ = s.flushLocked(g)
			g.f.Close()
			g.f = nil
		}
		if seg == nil {
			if err := os.MkdirAll(g.dir, 0o755); err != nil {
				return err
			}
			seg = &segment{id: s.nextID, streams: map[string]*Stream{}}
			seg.path = filepath.Join(g.dir, fmt.Sprintf("%012d.log", seg.id))
			s.nextID++
		}
		f, err := os.OpenFile(seg.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		g.f = f
		if len(g.segs) == 0 || g.segs[len(g.segs)-1] != seg {
			g.segs = append(g.segs, seg)
		}
	}
	g.pending = append(g.pending, lines...)
	rest := lines
	for _, rec := range recs {
		n := int64(bytes.IndexByte(rest, '\n') + 1)
		rest = rest[n:]
		seg.add(rec, n, now)
		seg.size += n
		s.total += n
	}
	switch {
	case seg.size >= s.opts.SegmentBytes:
		err := s.flushLocked(g)
		g.f.Close()
		g.f = nil
		s.retainLocked()
		return err
	case s.total > s.opts.MaxBytes:
		s.retainLocked()
	}
	switch {
	case len(g.pending) >= maxPending || s.opts.FlushDelay < 0:
		return s.flushLocked(g)
	case len(g.pending) > 0 && s.flushing == nil:
		s.flushing = time.AfterFunc(s.opts.FlushDelay, s.flushAll)
	}
	return nil
}

// flushLocked writes what g holds pending to its open segment.
func (s *Store) flushLocked(g *group) error {
	if len(g.pending) == 0 || g.f == nil {
		g.pending = g.pending[:0]
		return nil
	}
	_, err := g.f.Write(g.pending)
	if err != nil {
		s.log.Warn("writing log events", "path", g.f.Name(), "bytes", len(g.pending), "err", err)
	}
	if cap(g.pending) > maxPending {
		g.pending = nil
	} else {
		g.pending = g.pending[:0]
	}
	return err
}

// flushAll writes what every group holds pending; the flush timer calls it.
func (s *Store) flushAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushing = nil
	if s.closed {
		return
	}
	for _, g := range s.groups {
		_ = s.flushLocked(g)
	}
}

// Changed returns a channel closed at the next Append.
func (s *Store) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notify
}

// Retain applies the retention limits now (Append does when it fills a
// segment or the store is over MaxBytes; a server calls it now and then
// for the age limit).
func (s *Store) Retain() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retainLocked()
}

func (s *Store) retainLocked() {
	cutoff := s.opts.Now().Add(-s.opts.MaxAge).UnixMilli()
	for k, g := range s.groups {
		for len(g.segs) > 0 && g.segs[0].last < cutoff {
			s.dropOldest(k, g)
		}
	}
	for s.total > s.opts.MaxBytes {
		var oldest *group
		var ok groupKey
		for k, g := range s.groups {
			if len(g.segs) > 0 && (oldest == nil || g.segs[0].last < oldest.segs[0].last) {
				oldest, ok = g, k
			}
		}
		if oldest == nil {
			return
		}
		s.dropOldest(ok, oldest)
	}
}

// dropOldest deletes the oldest segment of g (and g when it is empty).
func (s *Store) dropOldest(k groupKey, g *group) {
	seg := g.segs[0]
	if len(g.segs) == 1 && g.f != nil {
		g.pending = g.pending[:0] // of the segment being removed
		g.f.Close()
		g.f = nil
	}
	if err := os.Remove(seg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("removing an expired log segment", "path", seg.path, "err", err)
	}
	g.segs = g.segs[1:]
	s.total -= seg.size
	if len(g.segs) == 0 {
		delete(s.groups, k)
		_ = os.Remove(g.dir)
	}
}

// Size is the total size of the kept segments.
func (s *Store) Size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// Groups lists scope's groups whose name starts with prefix, by name.
func (s *Store) Groups(scope sluice.Scope, prefix string) []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Group
	for k, g := range s.groups {
		if k.scope != scope || !strings.HasPrefix(k.name, prefix) || len(g.segs) == 0 {
			continue
		}
		gr := Group{Name: k.name, Created: g.segs[0].first}
		for _, seg := range g.segs {
			gr.StoredBytes += seg.size
		}
		out = append(out, gr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// HasGroup says whether scope has the group.
func (s *Store) HasGroup(scope sluice.Scope, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupKey{scope, name}]
	return g != nil && len(g.segs) > 0
}

// Streams lists the streams of a group (nil, false when there is no such
// group), by name.
func (s *Store) Streams(scope sluice.Scope, name string) ([]Stream, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[groupKey{scope, name}]
	if g == nil || len(g.segs) == 0 {
		return nil, false
	}
	m := map[string]*Stream{}
	for _, seg := range g.segs {
		for n, st := range seg.streams {
			cur := m[n]
			if cur == nil {
				c := *st
				m[n] = &c
				continue
			}
			cur.FirstEvent = min(cur.FirstEvent, st.FirstEvent)
			cur.Last = max(cur.Last, st.Last)
			cur.LastIngestion = max(cur.LastIngestion, st.LastIngestion)
			cur.StoredBytes += st.StoredBytes
		}
	}
	out := make([]Stream, 0, len(m))
	for _, st := range m {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, true
}

// Position is a place in a group's events: a segment and an offset in it.
// The zero Position is the group's beginning.
type Position struct {
	Segment, Offset int64
}

func (p Position) String() string { return fmt.Sprintf("%d.%d", p.Segment, p.Offset) }

// ParsePosition reads Position.String's form.
func ParsePosition(s string) (Position, bool) {
	a, b, ok := strings.Cut(s, ".")
	seg, err := strconv.ParseInt(a, 10, 64)
	off, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err != nil || err2 != nil || seg < 0 || off < 0 {
		return Position{}, false
	}
	return Position{seg, off}, true
}

// Query selects events of one group.
type Query struct {
	// From is where to start reading (the zero Position: the beginning).
	From Position
	// Before, when not zero, is where to stop reading.
	Before Position
	// Start and End bound the timestamps: Start <= t < End; 0 is unbounded.
	Start, End int64
	// Match says whether an event is wanted; nil takes them all.
	Match func(stream, message string) bool
	// Limit is the most events returned (0: 10000); MaxBytes the most
	// message bytes (0: 1 MB).
	Limit    int
	MaxBytes int
}

// Read returns the events q selects, in the order they were stored, and
// the position after the last event it read (which equals the end of the
// group's events when done is true). ok is false when there is no such
// group.
func (s *Store) Read(scope sluice.Scope, name string, q Query) (events []Event, next Position, done, ok bool, err error) {
	if q.Limit <= 0 {
		q.Limit = 10000
	}
	if q.MaxBytes <= 0 {
		q.MaxBytes = 1 << 20
	}
	s.mu.Lock()
	g := s.groups[groupKey{scope, name}]
	if g == nil || len(g.segs) == 0 {
		s.mu.Unlock()
		return nil, q.From, true, false, nil
	}
	if err := s.flushLocked(g); err != nil {
		s.mu.Unlock()
		return nil, q.From, false, true, err
	}
	type span struct {
		seg  segment
		size int64
	}
	var spans []span
	for _, seg := range g.segs {
		spans = append(spans, span{*seg, seg.size}) // sizes as of now: appends go on
	}
	s.mu.Unlock()

	next = q.From
	bytes_ := 0
	for _, sp := range spans {
		if sp.seg.id < q.From.Segment {
			continue
		}
		if q.Before != (Position{}) && sp.seg.id > q.Before.Segment {
			break
		}
		from := int64(0)
		if sp.seg.id == q.From.Segment {
			from = q.From.Offset
		}
		end := sp.size
		if q.Before != (Position{}) && sp.seg.id == q.Before.Segment {
			end = min(end, q.Before.Offset)
		}
		next = Position{sp.seg.id, from}
		if from >= end {
			continue
		}
		if (q.Start > 0 && sp.seg.last < q.Start) || (q.End > 0 && sp.seg.first >= q.End) {
			next = Position{sp.seg.id, end}
			continue
		}
		evs, pos, full, err := readRange(sp.seg.path, sp.seg.id, from, end, q, len(events), &bytes_)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) { // retention removed it meanwhile
				continue
			}
			return events, next, false, true, err
		}
		events = append(events, evs...)
		next = Position{sp.seg.id, pos}
		if full {
			return events, next, false, true, nil
		}
	}
	return events, next, true, true, nil
}

// readRange reads the events of one segment between offsets from and end.
func readRange(path string, id, from, end int64, q Query, have int, nbytes *int) (events []Event, pos int64, full bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, from, false, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(io.NewSectionReader(f, from, end-from), 64<<10)
	pos = from
	for {
		line, err := r.ReadBytes('\n')
		if len(line) == 0 || line[len(line)-1] != '\n' {
			if err != nil && err != io.EOF {
				return events, pos, false, err
			}
			return events, pos, false, nil
		}
		at := pos
		var rec record
		if json.Unmarshal(bytes.TrimSpace(line), &rec) != nil ||
			(q.Start > 0 && rec.T < q.Start) || (q.End > 0 && rec.T >= q.End) ||
			(q.Match != nil && !q.Match(rec.S, rec.M)) {
			pos += int64(len(line))
			continue
		}
		if have+len(events) >= q.Limit || (*nbytes+len(rec.M) > q.MaxBytes && have+len(events) > 0) {
			return events, at, true, nil
		}
		*nbytes += len(rec.M)
		pos += int64(len(line))
		events = append(events, Event{ID: fmt.Sprintf("%020d%020d", id, at), Stream: rec.S, Timestamp: rec.T, Message: rec.M,
			Pos: Position{id, at}, End: Position{id, pos}})
	}
}
