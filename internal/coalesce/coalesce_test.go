package coalesce

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// goroutines waits (a while) until the number of goroutines is at most n,
// and returns it.
func goroutines(n int) int {
	for range 200 {
		if g := runtime.NumGoroutine(); g <= n {
			return g
		}
		time.Sleep(10 * time.Millisecond)
	}
	return runtime.NumGoroutine()
}

// TestNoHoldBack: a byte that arrives while the consumer waits is handed
// over at once, while the source is still blocked.
func TestNoHoldBack(t *testing.T) {
	pr, pw := io.Pipe()
	r := New(pr, 1<<10, 3, 2)
	defer func() { pw.Close(); r.Stop() }()
	go pw.Write([]byte("a"))
	got := make(chan []byte, 1)
	go func() {
		p, _ := r.Next()
		got <- bytes.Clone(p)
	}()
	select {
	case p := <-got:
		if string(p[3:]) != "a" || len(p) != 4 || cap(p)-len(p) < 2 {
			t.Fatalf("piece %q (cap %d), want 3 bytes of room, \"a\", 2 of tail", p, cap(p))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the byte was held back while the source blocked")
	}
}

// chunky returns its data in reads of random size,
// pausing now and then.
type chunky struct {
	data []byte
	rnd  *rand.Rand
}

func (c *chunky) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	if c.rnd.IntN(50) == 0 {
		time.Sleep(time.Millisecond)
	}
	n := copy(p[:min(len(p), 1+c.rnd.IntN(40<<10))], c.data)
	c.data = c.data[n:]
	return n, nil
}

// TestExactAndCapped: a slow consumer gets the bytes exactly, in pieces of
// at most max, some of them larger than one read (coalesced).
func TestExactAndCapped(t *testing.T) {
	before := runtime.NumGoroutine()
	data := make([]byte, 3<<20)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rnd.Uint32())
	}
	const capBytes = 100 << 10
	r := New(&chunky{data: data, rnd: rnd}, capBytes, 7, 4)
	var got []byte
	largest := 0
	for {
		p, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
		n := len(p) - 7
		if n < 1 || n > capBytes || cap(p)-len(p) < 4 {
			t.Fatalf("piece of %d bytes (cap %d), want 1..%d and 4 of tail", n, cap(p), capBytes)
		}
		largest = max(largest, n)
		got = append(got, p[7:]...)
		p = append(p, 1, 2, 3, 4) // the tail is the consumer's
		time.Sleep(200 * time.Microsecond)
	}
	r.Stop()
	if !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, not the %d sent", len(got), len(data))
	}
	if largest <= 64<<10 {
		t.Errorf("largest piece %d bytes: nothing was coalesced", largest)
	}
	if g := goroutines(before); g > before {
		t.Errorf("%d goroutines after the stream, %d before", g, before)
	}
}

// TestStopDrains: Stop while the goroutine is blocked in Read and while it
// waits for room; the rest of the source is read to its end (and
// discarded), and the goroutine is gone when Stop returns.
func TestStopDrains(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, full := range []bool{false, true} {
		pr, pw := io.Pipe()
		r := New(pr, 16, 0, 0)
		wrote := make(chan error, 1)
		go func() {
			_, err := pw.Write([]byte("0123456789abcdefXYZ")) // 16 fill it, 3 wait
			if err == nil {
				_, err = pw.Write(bytes.Repeat([]byte("x"), 1<<20)) // discarded after Stop
			}
			wrote <- err
		}()
		if !full {
			p, err := r.Next()
			if err != nil || len(p) == 0 {
				t.Fatalf("Next: %q, %v", p, err)
			}
		}
		stopped := make(chan struct{})
		go func() { r.Stop(); close(stopped) }()
		select {
		case err := <-wrote:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the rest of the source was not read after Stop")
		}
		select {
		case <-stopped:
			t.Fatal("Stop returned before the source ended")
		case <-time.After(50 * time.Millisecond):
		}
		pw.Close()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Fatal("Stop did not return at the source's end")
		}
		if p, err := r.Next(); p != nil || err == nil {
			t.Errorf("Next after Stop: %q, %v; want nothing and an error", p, err)
		}
	}
	if g := goroutines(before); g > before {
		t.Errorf("%d goroutines after Stop, %d before", g, before)
	}
}

// TestErrorAfterBytes: the source's error comes after every byte before it.
func TestErrorAfterBytes(t *testing.T) {
	boom := errors.New("boom")
	r := New(io.MultiReader(bytes.NewReader([]byte("abc")), &errReader{boom}), 10, 0, 0)
	defer r.Stop()
	var got []byte
	for {
		p, err := r.Next()
		if err != nil {
			if !errors.Is(err, boom) {
				t.Fatalf("err %v, want boom", err)
			}
			break
		}
		got = append(got, p...)
	}
	if string(got) != "abc" {
		t.Errorf("got %q, want abc", got)
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

// countingReader counts the bytes read from it; its first read returns
// nothing, as io.Reader allows.
type countingReader struct {
	n, reads int
	left     int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	if c.reads == 1 {
		return 0, nil
	}
	if c.left == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.left)
	c.left -= n
	c.n += n
	return n, nil
}

// TestStopBeforeNext: Stop without any Next still reads the source to its
// end (the function's output is drained so that it can finish).
func TestStopBeforeNext(t *testing.T) {
	src := &countingReader{left: 1 << 20}
	r := New(src, 1<<10, 0, 0)
	r.Stop()
	if src.left != 0 {
		t.Fatalf("Stop returned with %d bytes of the source unread", src.left)
	}
	if p, err := r.Next(); len(p) != 0 || err == nil {
		t.Fatalf("Next after Stop = %d bytes, %v; want none and an error", len(p), err)
	}
}

// TestFirstReadEmpty: a first read that returns nothing is no end; the
// bytes after it come out whole.
func TestFirstReadEmpty(t *testing.T) {
	src := &countingReader{left: 100 << 10}
	r := New(src, 1<<20, 2, 1)
	defer r.Stop()
	got := 0
	for {
		p, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
		got += len(p) - 2
	}
	if got != 100<<10 {
		t.Fatalf("got %d bytes, want %d", got, 100<<10)
	}
}
