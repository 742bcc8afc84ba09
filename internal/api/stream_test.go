package api

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"syscall"
	"testing"
	"time"

	awses "github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/eventstream"
)

// payloads decodes PayloadChunk frames from r (with the SDK's decoder) and
// sends their payloads on the channel, closed at the first error.
func payloads(r io.Reader) <-chan []byte {
	c := make(chan []byte, 1024)
	go func() {
		defer close(c)
		dec := awses.NewDecoder()
		for {
			m, err := dec.Decode(r, nil)
			if err != nil {
				return
			}
			if m.Headers.Get(":event-type").String() == "PayloadChunk" {
				c <- bytes.Clone(m.Payload)
			}
		}
	}()
	return c
}

// goroutinesAtMost waits (a while) until there are at most n goroutines,
// and returns how many there are.
func goroutinesAtMost(n int) int {
	for range 300 {
		if g := runtime.NumGoroutine(); g <= n {
			return g
		}
		time.Sleep(10 * time.Millisecond)
	}
	return runtime.NumGoroutine()
}

// TestWriteChunksNoHoldBack: a function that writes a few bytes and then
// blocks has them on the client's side while it still blocks.
func TestWriteChunksNoHoldBack(t *testing.T) {
	src, fn := io.Pipe()
	cr, cw := io.Pipe()
	got := payloads(cr)
	done := make(chan error, 1)
	go func() {
		_, err := writeChunks(eventstream.NewWriter(cw, nil), src)
		cw.Close()
		done <- err
	}()
	if _, err := fn.Write([]byte("first")); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if string(p) != "first" {
			t.Fatalf("first frame %q, want \"first\"", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the first write did not reach the client while the function blocked")
	}
	rest := bytes.Repeat([]byte("r"), 300<<10)
	if _, err := fn.Write(rest); err != nil {
		t.Fatal(err)
	}
	fn.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var all []byte
	for p := range got {
		all = append(all, p...)
	}
	if !bytes.Equal(all, rest) {
		t.Errorf("after the first frame: %d bytes, want the %d written", len(all), len(rest))
	}
}

// chunky returns its data in reads of random size (up to 40 KiB), pausing
// now and then, as a runtime's chunked body does.
type chunky struct {
	data []byte
	rnd  *rand.Rand
	read int
}

func (c *chunky) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	if c.rnd.IntN(100) == 0 {
		time.Sleep(time.Millisecond)
	}
	n := copy(p[:min(len(p), 1+c.rnd.IntN(40<<10))], c.data)
	c.data = c.data[n:]
	c.read += n
	return n, nil
}

// slowClient takes each write after a pause, keeping every write.
type slowClient struct{ writes [][]byte }

func (s *slowClient) Write(p []byte) (int, error) {
	time.Sleep(300 * time.Microsecond)
	s.writes = append(s.writes, bytes.Clone(p))
	return len(p), nil
}

// TestWriteChunksExactAndCapped: against a client slower than the
// function, frames grow past one read but never past streamFrame, each is
// one write, and the bytes are exact.
func TestWriteChunksExactAndCapped(t *testing.T) {
	before := runtime.NumGoroutine()
	data := make([]byte, 4<<20)
	rnd := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rnd.Uint32())
	}
	var client slowClient
	flushes := 0
	ew := eventstream.NewWriter(&client, func() error { flushes++; return nil })
	tooLarge, err := writeChunks(ew, &chunky{data: data, rnd: rnd})
	if err != nil || tooLarge {
		t.Fatalf("writeChunks: %v, tooLarge %v", err, tooLarge)
	}
	var all []byte
	largest := 0
	for i, w := range client.writes {
		c := payloads(bytes.NewReader(w))
		p, ok := <-c
		if !ok {
			t.Fatalf("write %d is not a PayloadChunk frame", i)
		}
		if _, more := <-c; more {
			t.Fatalf("write %d holds more than one frame", i)
		}
		if len(p) == 0 || len(p) > streamFrame {
			t.Fatalf("frame %d: %d bytes, want 1..%d", i, len(p), streamFrame)
		}
		largest = max(largest, len(p))
		all = append(all, p...)
	}
	if !bytes.Equal(all, data) {
		t.Fatalf("%d bytes relayed, not the %d written", len(all), len(data))
	}
	if largest <= 64<<10 {
		t.Errorf("largest frame %d bytes: nothing was coalesced", largest)
	}
	if flushes == 0 || flushes > len(client.writes) {
		t.Errorf("%d flushes for %d frames", flushes, len(client.writes))
	}
	if g := goroutinesAtMost(before); g > before {
		t.Errorf("%d goroutines after the stream, %d before", g, before)
	}
}

// zeros is an endless function output of zero bytes, counting what is read.
type zeros struct {
	left, read int64
}

func (z *zeros) Read(p []byte) (int, error) {
	if z.left == 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), z.left, 32<<10))
	clear(p[:n])
	z.left -= int64(n)
	z.read += int64(n)
	return n, nil
}

// frameSizes counts the payload bytes of the frames written to it (each
// Write is one frame).
type frameSizes struct {
	payload int64
	frames  int
	fail    error // returned by every write after the first
}

func (f *frameSizes) Write(p []byte) (int, error) {
	if f.fail != nil && f.frames > 0 {
		return 0, f.fail
	}
	f.frames++
	f.payload += int64(binary.BigEndian.Uint32(p)) - eventstream.ChunkHead - eventstream.ChunkTail
	return len(p), nil
}

// TestWriteChunksTooLarge: past sluice.MaxStreamedResponse the stream is
// cut after exactly that many bytes, and the rest of the output is read
// (discarded) so the function can finish.
func TestWriteChunksTooLarge(t *testing.T) {
	src := &zeros{left: sluice.MaxStreamedResponse + 100<<10 + 7}
	var client frameSizes
	tooLarge, err := writeChunks(eventstream.NewWriter(&client, nil), src)
	if err != nil || !tooLarge {
		t.Fatalf("writeChunks: %v, tooLarge %v; want the cut", err, tooLarge)
	}
	if client.payload != sluice.MaxStreamedResponse {
		t.Errorf("%d bytes relayed, want exactly %d", client.payload, sluice.MaxStreamedResponse)
	}
	if src.left != 0 {
		t.Errorf("%d bytes of the output left unread", src.left)
	}
}

// TestWriteChunksClientGone: a failed write ends the relay with its error,
// after the rest of the output has been read, and leaves no goroutine.
func TestWriteChunksClientGone(t *testing.T) {
	before := runtime.NumGoroutine()
	gone := errors.New("client gone")
	src := &zeros{left: 10 << 20}
	client := frameSizes{fail: gone}
	if _, err := writeChunks(eventstream.NewWriter(&client, nil), src); !errors.Is(err, gone) {
		t.Fatalf("writeChunks: %v, want %v", err, gone)
	}
	if src.left != 0 {
		t.Errorf("%d bytes of the output left unread", src.left)
	}
	if g := goroutinesAtMost(before); g > before {
		t.Errorf("%d goroutines after the stream, %d before", g, before)
	}
}

// perRead is the relay loop before coalescing (and cmd/sluicebench's
// relay's): one frame per read, flushed at once.
func perRead(ew *eventstream.Writer, out io.Reader) (bool, error) {
	buf := make([]byte, 64<<10)
	for {
		n, err := out.Read(buf)
		if n > 0 {
			if err := ew.Chunk(buf[:n]); err != nil {
				return false, err
			}
		}
		if err != nil {
			return false, nil
		}
	}
}

// processCPU is the user and system time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkStreamFrames measures the stream-writing path on loopback
// sockets: a "function" writes 32 KiB at a time (as aws-lambda-go does) to
// a TCP connection, the handler relays it as PayloadChunk frames over HTTP
// (net/http's chunked writer), and a raw client reads the body. "coalesced"
// is writeChunks, "per-read" the loop before it, for a comparison in one
// run:
//
//	go test -run '^$' -bench StreamFrames -count 6 ./internal/api | benchstat -col /relay -
func BenchmarkStreamFrames(b *testing.B) {
	const size = 16 << 20
	for _, bm := range []struct {
		name  string
		relay func(*eventstream.Writer, io.Reader) (bool, error)
	}{{"coalesced", writeChunks}, {"per-read", perRead}} {
		b.Run("relay="+bm.name, func(b *testing.B) {
			fnLn, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer fnLn.Close()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				src, err := fnLn.Accept()
				if err != nil {
					return
				}
				defer src.Close()
				w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
				w.WriteHeader(http.StatusOK)
				rc := http.NewResponseController(w)
				rc.Flush()
				ew := eventstream.NewWriter(w, rc.Flush)
				if _, err := bm.relay(ew, src); err == nil {
					ew.Complete(eventstream.Complete{})
				}
			}))
			defer srv.Close()
			block := bytes.Repeat([]byte("s"), 32<<10)
			b.SetBytes(size)
			b.ReportAllocs()
			cpu0, streams := processCPU(), 0
			defer func() {
				// CPU of the whole process (function, relay and client):
				// steadier than the wall clock on a shared machine.
				b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(streams*size>>20), "cpu-us/MiB")
			}()
			for b.Loop() {
				streams++
				fnErr := make(chan error, 1)
				go func() { // the function
					c, err := net.Dial("tcp", fnLn.Addr().String())
					if err == nil {
						for i := 0; i < size/len(block) && err == nil; i++ {
							_, err = c.Write(block)
						}
						c.Close()
					}
					fnErr <- err
				}()
				res, err := http.Get(srv.URL)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if err != nil || n < size {
					b.Fatalf("read %d bytes: %v", n, err)
				}
				if err := <-fnErr; err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
