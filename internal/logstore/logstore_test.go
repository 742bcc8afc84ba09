package logstore

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
)

var (
	scopeA = sluice.Scope{Region: "us-east-1", Account: "000000000000"}
	scopeB = sluice.Scope{Region: "eu-west-1", Account: "111111111111"}
)

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func open(t *testing.T, dir string, c *clock, o Options) *Store {
	t.Helper()
	o.Dir, o.Now = dir, c.Now
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func messages(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.Stream + ":" + e.Message)
	}
	return b.String()
}

func TestWriterLinesTimestampsAndReopen(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.UnixMilli(1_700_000_000_000)}
	s := open(t, dir, c, Options{})
	w := s.Writer(scopeA, "/aws/lambda/f", "2026/01/01/[$LATEST]aa")
	fmt.Fprint(w, "START RequestId: 1\nhel")
	c.Add(time.Second)
	fmt.Fprint(w, "lo\nno newline yet")
	s.Append(scopeB, "/aws/lambda/f", "other", "scope B\n")

	evs, _, done, ok, err := s.Read(scopeA, "/aws/lambda/f", Query{})
	if err != nil || !ok || !done {
		t.Fatal(err, ok, done)
	}
	if got, want := messages(evs), "2026/01/01/[$LATEST]aa:START RequestId: 1\n2026/01/01/[$LATEST]aa:hello\n"; got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
	if evs[0].Timestamp != 1_700_000_000_000 || evs[1].Timestamp != 1_700_000_001_000 {
		t.Fatalf("timestamps %d %d: a line is stamped when it is complete", evs[0].Timestamp, evs[1].Timestamp)
	}
	if evs[0].ID == evs[1].ID {
		t.Fatal("event ids repeat")
	}
	if g := s.Groups(scopeB, ""); len(g) != 1 || g[0].Name != "/aws/lambda/f" {
		t.Fatalf("scope B groups %+v", g)
	}
	if g := s.Groups(scopeA, "/aws/lambda/x"); len(g) != 0 {
		t.Fatalf("prefix: groups %+v", g)
	}

	// A torn line (a crash mid-write) is cut at Open; the rest is kept,
	// with the same ids.
	s.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "us-east-1", "000000000000", "*", "*.log"))
	if len(segs) != 1 {
		t.Fatalf("segments %v", segs)
	}
	f, _ := os.OpenFile(segs[0], os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"t":1,"s":"x","m":"tor`)
	f.Close()
	s2 := open(t, dir, c, Options{})
	evs2, _, _, _, err := s2.Read(scopeA, "/aws/lambda/f", Query{})
	if err != nil || messages(evs2) != messages(evs) || evs2[1].ID != evs[1].ID {
		t.Fatalf("after reopen: %q (%v), want %q", messages(evs2), err, messages(evs))
	}
	if err := s2.Append(scopeA, "/aws/lambda/f", "s2", "after\n"); err != nil {
		t.Fatal(err)
	}
	evs2, _, _, _, _ = s2.Read(scopeA, "/aws/lambda/f", Query{})
	if len(evs2) != 3 || evs2[2].Message != "after\n" {
		t.Fatalf("append after the cut: %q", messages(evs2))
	}
	st, ok := s2.Streams(scopeA, "/aws/lambda/f")
	if !ok || len(st) != 2 || st[0].Name != "2026/01/01/[$LATEST]aa" || st[0].FirstEvent != 1_700_000_000_000 || st[0].Last != 1_700_000_001_000 {
		t.Fatalf("streams %+v", st)
	}
	if _, ok := s2.Streams(scopeA, "/aws/lambda/none"); ok {
		t.Fatal("a missing group has streams")
	}
}

func TestLongLineSplit(t *testing.T) {
	s := open(t, t.TempDir(), &clock{t: time.Now()}, Options{})
	w := s.Writer(scopeA, "g", "s")
	long := strings.Repeat("x", MaxEventBytes+10) + "\n"
	w.Write([]byte(long[:1000]))
	w.Write([]byte(long[1000:]))
	evs, _, _, _, _ := s.Read(scopeA, "g", Query{})
	if len(evs) != 2 || len(evs[0].Message) != MaxEventBytes || evs[0].Message+evs[1].Message != long {
		t.Fatalf("%d events", len(evs))
	}
}

func TestQueryTimePagingAndMatch(t *testing.T) {
	c := &clock{t: time.UnixMilli(1_000_000)}
	s := open(t, t.TempDir(), c, Options{SegmentBytes: 200})
	for i := 0; i < 20; i++ {
		s.Append(scopeA, "g", fmt.Sprintf("s%d", i%2), fmt.Sprintf("line %d\n", i))
		c.Add(time.Second)
	}
	all, end, done, _, _ := s.Read(scopeA, "g", Query{})
	if len(all) != 20 || !done {
		t.Fatalf("%d events, done %v", len(all), done)
	}
	// Pages of 3 give back every event once, in order.
	var paged []Event
	var pos Position
	for i := 0; ; i++ {
		evs, next, done, _, err := s.Read(scopeA, "g", Query{From: pos, Limit: 3})
		if err != nil || i > 20 {
			t.Fatal(err, i)
		}
		paged = append(paged, evs...)
		pos = next
		if done {
			break
		}
		if p, ok := ParsePosition(next.String()); !ok || p != next {
			t.Fatalf("position %v does not round-trip", next)
		}
	}
	if messages(paged) != messages(all) || pos != end {
		t.Fatalf("paged %q\nall %q", messages(paged), messages(all))
	}
	// Time bounds, Before and Match.
	evs, _, _, _, _ := s.Read(scopeA, "g", Query{Start: 1_005_000, End: 1_008_000})
	if messages(evs) != "s1:line 5\ns0:line 6\ns1:line 7\n" {
		t.Fatalf("time range: %q", messages(evs))
	}
	evs, _, _, _, _ = s.Read(scopeA, "g", Query{Match: func(st, m string) bool { return st == "s0" && strings.Contains(m, "1") }})
	if messages(evs) != "s0:line 10\ns0:line 12\ns0:line 14\ns0:line 16\ns0:line 18\n" {
		t.Fatalf("match: %q", messages(evs))
	}
	_, p3, _, _, _ := s.Read(scopeA, "g", Query{Limit: 3})
	evs, _, _, _, _ = s.Read(scopeA, "g", Query{Before: p3})
	if messages(evs) != messages(all[:3]) {
		t.Fatalf("before: %q", messages(evs))
	}
}

func TestRetentionBySizeAndAge(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.UnixMilli(1_000_000_000)}
	s := open(t, dir, c, Options{MaxBytes: 4000, SegmentBytes: 500, MaxAge: time.Hour})
	for i := 0; i < 400; i++ {
		s.Append(scopeA, "g", "s", fmt.Sprintf("line %03d\n", i))
		c.Add(time.Millisecond)
	}
	if n := s.Size(); n > 4000 || n < 2000 {
		t.Fatalf("size %d, want at most the 4000-byte retention and most of it used", n)
	}
	evs, _, _, _, _ := s.Read(scopeA, "g", Query{})
	if len(evs) == 0 || evs[len(evs)-1].Message != "line 399\n" || evs[0].Message == "line 000\n" {
		t.Fatalf("retention kept %d events from %q", len(evs), evs[0].Message)
	}
	var onDisk int64
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			onDisk += fi.Size()
		}
		return nil
	})
	if onDisk != s.Size() {
		t.Fatalf("%d bytes on disk, store counts %d", onDisk, s.Size())
	}

	// A group of another scope, written now; then an hour goes by.
	c.Add(30 * time.Minute)
	s.Append(scopeB, "h", "s", "fresh\n")
	c.Add(31 * time.Minute)
	s.Retain()
	if s.HasGroup(scopeA, "g") || !s.HasGroup(scopeB, "h") {
		t.Fatalf("after an hour: g kept %v, h kept %v", s.HasGroup(scopeA, "g"), s.HasGroup(scopeB, "h"))
	}
	if _, err := os.Stat(filepath.Join(dir, "us-east-1", "000000000000", "g")); !os.IsNotExist(err) {
		t.Fatalf("the expired group's directory remains: %v", err)
	}
	// Retention applies at Open too.
	s.Close()
	c.Add(2 * time.Hour)
	s = open(t, dir, c, Options{MaxAge: time.Hour})
	if s.HasGroup(scopeB, "h") || s.Size() != 0 {
		t.Fatal("expired events survive a restart")
	}
}

func TestChanged(t *testing.T) {
	s := open(t, t.TempDir(), &clock{t: time.Now()}, Options{})
	ch := s.Changed()
	select {
	case <-ch:
		t.Fatal("changed before an append")
	default:
	}
	s.Append(scopeA, "g", "s", "x\n")
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("Changed not closed by Append")
	}
	s.Close()
	if err := s.Append(scopeA, "g", "s", "x\n"); err != ErrClosed {
		t.Fatalf("append after close: %v", err)
	}
}

func TestLambdaJSON(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)}
	s := open(t, t.TempDir(), c, Options{})
	w := s.WriterFunc(scopeA, "g", "s", LambdaJSON("fn", "$LATEST", "INFO"))
	fmt.Fprint(w, "INIT_START Runtime Version: sluice:provided.al2023\n")
	fmt.Fprint(w, "START RequestId: r1 Version: $LATEST\nhello\n")
	fmt.Fprint(w, "END RequestId: r1\nREPORT RequestId: r1\tDuration: 1.50 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tInit Duration: 3.25 ms\t\n")
	fmt.Fprint(w, "END RequestId: r2\nREPORT RequestId: r2\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tStatus: timeout\n")
	evs, _, _, _, _ := s.Read(scopeA, "g", Query{})
	want := []string{
		`{"time":"2026-01-02T03:04:05.006Z","type":"platform.initStart","record":{"functionName":"fn","functionVersion":"$LATEST","initializationType":"on-demand","phase":"init","runtimeVersion":"sluice:provided.al2023"}}` + "\n",
		`{"time":"2026-01-02T03:04:05.006Z","type":"platform.start","record":{"requestId":"r1","version":"$LATEST"}}` + "\n",
		"hello\n",
		`{"time":"2026-01-02T03:04:05.006Z","type":"platform.runtimeDone","record":{"requestId":"r1","status":"success"}}` + "\n",
		`{"time":"2026-01-02T03:04:05.006Z","type":"platform.report","record":{"metrics":{"billedDurationMs":2,"durationMs":1.5,"initDurationMs":3.25,"maxMemoryUsedMB":20,"memorySizeMB":128},"requestId":"r1","status":"success"}}` + "\n",
		`{"time":"2026-01-02T03:04:05.006Z","type":"platform.runtimeDone","record":{"requestId":"r2","status":"timeout"}}` + "\n",
		`{"time":"2026-01-02T03:04:05.006Z","type":"platform.report","record":{"metrics":{"billedDurationMs":3000,"durationMs":3000,"maxMemoryUsedMB":20,"memorySizeMB":128},"requestId":"r2","status":"timeout"}}` + "\n",
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events:\n%s", len(evs), messages(evs))
	}
	for i, e := range evs {
		if e.Message != want[i] {
			t.Errorf("event %d:\n got %s\nwant %s", i, e.Message, want[i])
		}
	}

	// SystemLogLevel WARN drops the INFO platform records.
	w = s.WriterFunc(scopeA, "h", "s", LambdaJSON("fn", "$LATEST", "WARN"))
	fmt.Fprint(w, "START RequestId: r1 Version: $LATEST\nhello\nEND RequestId: r1\nREPORT RequestId: r1\tDuration: 1.50 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\t\n")
	fmt.Fprint(w, "INIT_REPORT Init Duration: 10.00 ms\tPhase: init\tStatus: error\tError Type: Runtime.ExitError\n")
	evs, _, _, _, _ = s.Read(scopeA, "h", Query{})
	if len(evs) != 2 || evs[0].Message != "hello\n" || !strings.Contains(evs[1].Message, `"type":"platform.initReport"`) || !strings.Contains(evs[1].Message, `"errorType":"Runtime.ExitError"`) {
		t.Fatalf("WARN:\n%s", messages(evs))
	}
}

// The lines of one Write are stored as one append, each its own event, in
// order; a batch larger than a segment still lands whole and readable.
func TestWriteBatchesLines(t *testing.T) {
	s := open(t, t.TempDir(), &clock{t: time.Now()}, Options{SegmentBytes: 300})
	w := s.Writer(scopeA, "g", "s")
	var want []string
	var all strings.Builder
	for i := range 12 {
		line := fmt.Sprintf("line %02d of one write\n", i)
		want = append(want, line)
		all.WriteString(line)
	}
	w.Write([]byte(all.String()))
	w.Write([]byte("next\n"))
	want = append(want, "next\n")
	evs, _, _, _, _ := s.Read(scopeA, "g", Query{})
	var got []string
	for _, e := range evs {
		got = append(got, e.Message)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	st, ok := s.Streams(scopeA, "g")
	if !ok || len(st) != 1 || st[0].StoredBytes == 0 {
		t.Fatalf("streams %+v", st)
	}
}

// Appends reach the segment file within FlushDelay (not at once), a Read
// sees them at once, and Close writes what is pending.
func TestDelayedWrites(t *testing.T) {
	dir := t.TempDir()
	onDisk := func() string {
		var all strings.Builder
		files, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*", "*.log"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			all.Write(b)
		}
		return all.String()
	}
	s := open(t, dir, &clock{t: time.Now()}, Options{FlushDelay: time.Hour})
	w := s.Writer(scopeA, "g", "s")
	w.Write([]byte("one\n"))
	if got := onDisk(); got != "" {
		t.Fatalf("written before the delay: %q", got)
	}
	evs, _, _, _, _ := s.Read(scopeA, "g", Query{})
	if messages(evs) != "s:one\n" || !strings.Contains(onDisk(), `"m":"one\n"`) {
		t.Fatalf("read %q, on disk %q", messages(evs), onDisk())
	}
	w.Write([]byte("two\n"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(onDisk(), `"m":"two\n"`) {
		t.Fatalf("Close did not write what was pending: %q", onDisk())
	}

	dir = t.TempDir()
	s = open(t, dir, &clock{t: time.Now()}, Options{FlushDelay: 20 * time.Millisecond})
	s.Writer(scopeA, "g", "s").Write([]byte("three\n"))
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(onDisk(), `"m":"three\n"`) {
		if time.Now().After(deadline) {
			t.Fatal("not written after the delay")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
