package sandbox

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"
)

// readConnPair returns a readConn over one end of a loopback TCP
// connection and the other end.
func readConnPair(t *testing.T) (*readConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := readListener{ln}.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); peer.Close() })
	return c.(*readConn), peer
}

// Whatever the sizes of the writes and of the reads, the bytes come out
// whole and in order, and the read size grows while reads fill it and
// shrinks back when the writer trickles.
func TestReadConnBytesInOrder(t *testing.T) {
	c, peer := readConnPair(t)
	want := make([]byte, 8<<20)
	for i := range want {
		want[i] = byte(rand.IntN(256))
	}
	go func() {
		for p := want; len(p) > 0; {
			n := min(len(p), 1+rand.IntN(96<<10))
			if _, err := peer.Write(p[:n]); err != nil {
				return
			}
			p = p[n:]
		}
		peer.(*net.TCPConn).CloseWrite()
	}()
	var got bytes.Buffer
	grew := false
	buf := make([]byte, 80<<10)
	for {
		n, err := c.Read(buf[:1+rand.IntN(len(buf))])
		got.Write(buf[:n])
		grew = grew || c.size > minConnRead
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("read %d bytes, not the %d written in order", got.Len(), len(want))
	}
	if !grew {
		t.Error("the read size never grew while 8 MiB poured in")
	}
	if c.buf != nil {
		t.Error("a drained connection still holds its buffer")
	}
	// A trickle: the size shrinks back.
	c2, peer2 := readConnPair(t)
	c2.size = maxConnRead
	for range 8 {
		peer2.Write([]byte("x"))
		if n, err := c2.Read(make([]byte, minBufferedRead)); n != 1 || err != nil {
			t.Fatalf("Read = %d, %v", n, err)
		}
	}
	if c2.size != minConnRead {
		t.Errorf("read size %d after 8 one-byte reads, want it back at %d", c2.size, minConnRead)
	}
}

// A read deadline (net/http's abortPendingRead) ends a pending read with
// the timeout and loses nothing: bytes buffered before it come out after.
func TestReadConnDeadline(t *testing.T) {
	c, peer := readConnPair(t)
	peer.Write([]byte("hello world"))
	p := make([]byte, 1) // net/http's background read: one byte
	if n, err := c.Read(p); n != 1 || err != nil || p[0] != 'h' {
		t.Fatalf("Read = %d %q, %v", n, p[:n], err)
	}
	if c.buf != nil {
		t.Error("a one-byte read took a buffer")
	}
	rest := make([]byte, 64)
	n, err := c.Read(rest)
	if err != nil || string(rest[:n]) != "ello world" {
		t.Fatalf("Read = %q, %v; want the buffered rest", rest[:n], err)
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := c.Read(rest); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline: %v, want a timeout", err)
	}
	c.SetReadDeadline(time.Time{})
	peer.Write([]byte("again"))
	if n, err := c.Read(rest); err != nil || string(rest[:n]) != "again" {
		t.Fatalf("Read after the deadline = %q, %v", rest[:n], err)
	}
}

func TestConnBufferClasses(t *testing.T) {
	for size := minConnRead; size <= maxConnRead; size *= 2 {
		b := getConnBuffer(size)
		if len(b) != size {
			t.Fatalf("getConnBuffer(%d) has %d bytes", size, len(b))
		}
		putConnBuffer(b)
		if b2 := getConnBuffer(size); len(b2) != size {
			t.Fatalf("reused buffer of class %d has %d bytes", size, len(b2))
		}
	}
}
