package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestBoundWrites: a write to a client that reads nothing fails after the
// bound, and later writes fail too; a client that reads gets every byte of
// a write far larger than one piece, however long the whole write takes.
func TestBoundWrites(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := boundWrites(raw, 300*time.Millisecond)
	defer ln.Close()

	accept := func() (server, client net.Conn) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(); s.Close() })
		return s, c
	}

	// A client that never reads.
	s, _ := accept()
	big := bytes.Repeat([]byte("x"), 64<<20)
	start := time.Now()
	n, err := s.Write(big)
	if !errors.Is(err, os.ErrDeadlineExceeded) || n >= len(big) {
		t.Fatalf("write to a client that reads nothing: %d bytes, %v; want a deadline error", n, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the write failed after %v, want about 300 ms", d)
	}
	// The handler's server clears the deadline between requests; it stays.
	_ = s.SetWriteDeadline(time.Time{})
	if _, err := s.Write([]byte("more")); err == nil {
		t.Fatalf("a write after a failed one succeeded")
	}

	// A client that reads slowly but steadily: each piece is taken within
	// the bound, so a write of 8 MiB that takes longer than it succeeds.
	s, c := accept()
	got := make(chan int, 1)
	go func() {
		buf := make([]byte, 256<<10)
		total := 0
		for {
			time.Sleep(20 * time.Millisecond)
			n, err := c.Read(buf)
			total += n
			if err != nil {
				got <- total
				return
			}
		}
	}()
	payload := bytes.Repeat([]byte("y"), 8<<20)
	start = time.Now()
	if n, err := s.Write(payload); err != nil || n != len(payload) {
		t.Fatalf("write to a reading client: %d bytes, %v", n, err)
	}
	took := time.Since(start)
	s.Close()
	if total := <-got; total != len(payload) {
		t.Fatalf("the reading client got %d bytes of %d", total, len(payload))
	}
	t.Logf("8 MiB to a client reading 256 KiB every 20 ms took %v (bound 300 ms per piece)", took)
}

// BenchmarkClientWrites: writes of 4 KiB to a loopback client that reads
// everything, on a plain connection and on a bound one (one deadline per
// write).
func BenchmarkClientWrites(b *testing.B) {
	for _, bound := range []bool{false, true} {
		name := "plain"
		if bound {
			name = "bound"
		}
		b.Run(name, func(b *testing.B) {
			raw, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			var ln net.Listener = raw
			if bound {
				ln = boundWrites(raw, DefaultClientWriteTimeout)
			}
			defer ln.Close()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			s, err := ln.Accept()
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			go func() { _, _ = io.Copy(io.Discard, c) }()
			p := make([]byte, 4<<10)
			b.SetBytes(int64(len(p)))
			b.ResetTimer()
			for range b.N {
				if _, err := s.Write(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
