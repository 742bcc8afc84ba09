package main

// The two-hop loopback ceiling: the bytes of one large stream going function
// → server → client with nothing but TCP in between. Three processes: a
// writer (the function: 32 KiB writes, as aws-lambda-go's io.Copy of the
// handler's reader into its chunked POST), a copier (the server: reads into
// a 64 KiB buffer and writes what it read, as sluice and the relay do, no
// splice) and the reader (the benchmark: 1 MiB reads). The writer and the
// copier are the benchmark binary re-executed with ceilingEnv set.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// ceilingEnv makes the benchmark binary the ceiling's copier ("copy") or
// writer ("write"); ceilingAddrEnv is where the copier copies to, or where
// the writer connects; ceilingBytesEnv is how much the writer writes.
const (
	ceilingEnv      = "SLUICEBENCH_CEILING"
	ceilingAddrEnv  = "SLUICEBENCH_CEILING_ADDR"
	ceilingBytesEnv = "SLUICEBENCH_CEILING_BYTES"
)

// Write and copy sizes of the ceiling.
const (
	ceilingWrite = 32 << 10 // the function's writes
	ceilingCopy  = 64 << 10 // the server's reads (sluice's api.streamBuffer)
)

// childMain runs the benchmark binary as one of its child processes (the
// relay, the ceiling's copier or writer) if the environment says so.
func childMain() (code int, ok bool) {
	if bootstrap := os.Getenv(relayEnv); bootstrap != "" {
		return relayMain(bootstrap), true
	}
	switch os.Getenv(ceilingEnv) {
	case "copy":
		return report1(copierMain(os.Getenv(ceilingAddrEnv))), true
	case "write":
		n, err := strconv.ParseInt(os.Getenv(ceilingBytesEnv), 10, 64)
		if err != nil {
			return report1(err), true
		}
		return report1(writerMain(os.Getenv(ceilingAddrEnv), n)), true
	}
	return 0, false
}

func report1(err error) int {
	if err != nil {
		fmt.Fprintln(os.Stderr, "sluicebench:", err)
		return 1
	}
	return 0
}

// copierMain accepts connections until SIGTERM and copies each to a new
// connection to addr, one at a time.
func copierMain(addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); ln.Close() }()
	fmt.Printf("ceiling copier listening on http://%s\n", ln.Addr())
	buf := make([]byte, ceilingCopy)
	for {
		in, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		err = copyTo(addr, in, buf)
		in.Close()
		if err != nil {
			return err
		}
	}
}

// copyTo copies in to a new connection to addr with read and write calls
// of at most len(buf) (no splice, no sendfile).
func copyTo(addr string, in net.Conn, buf []byte) error {
	out, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer out.Close()
	for {
		n, err := in.Read(buf)
		if n > 0 {
			if _, werr := out.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// writerMain writes n bytes to addr in writes of ceilingWrite.
func writerMain(addr string, n int64) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	block := make([]byte, ceilingWrite)
	for i := range block {
		block[i] = 'z'
	}
	for n > 0 {
		w := min(n, int64(len(block)))
		if _, err := c.Write(block[:w]); err != nil {
			return err
		}
		n -= w
	}
	return nil
}

// ceiling is the reader's side: a listener the copier copies to and the
// copier itself.
type ceiling struct {
	ln     net.Listener
	copier *child
	self   string
}

// startCeiling starts the copier, with its log in dir.
func startCeiling(ctx context.Context, dir string) (*ceiling, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), ceilingEnv+"=copy", ceilingAddrEnv+"="+ln.Addr().String())
	cp, err := startChild(ctx, "ceiling copier", cmd, filepath.Join(dir, "ceiling.log"))
	if err != nil {
		ln.Close()
		return nil, err
	}
	return &ceiling{ln: ln, copier: cp, self: self}, nil
}

func (c *ceiling) stop() error {
	c.ln.Close()
	return c.copier.stop()
}

// run streams n bytes through the two hops once and returns the time from
// the copier's connection to the reader until the last byte.
func (c *ceiling) run(ctx context.Context, n int64) (time.Duration, error) {
	w := exec.CommandContext(ctx, c.self)
	w.Env = append(os.Environ(), ceilingEnv+"=write", ceilingAddrEnv+"="+c.copier.url[len("http://"):], ceilingBytesEnv+"="+strconv.FormatInt(n, 10))
	w.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out := &limitedBuffer{max: 4096}
	w.Stderr = out
	if err := w.Start(); err != nil {
		return 0, err
	}
	type result struct {
		d   time.Duration
		err error
	}
	done := make(chan result, 1)
	go func() {
		conn, err := c.ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer conn.Close()
		start := time.Now()
		buf := make([]byte, rawBuffer)
		var got int64
		for {
			k, err := conn.Read(buf)
			got += int64(k)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				done <- result{err: err}
				return
			}
		}
		d := time.Since(start)
		if got != n {
			done <- result{err: fmt.Errorf("%w: %d bytes, want %d", errShortStream, got, n)}
			return
		}
		done <- result{d: d}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(5 * time.Minute):
		r.err = errors.New("no stream within 5 minutes")
		c.ln.Close() // ends the reader; the ceiling is unusable from now on
		<-done
	}
	if err := w.Wait(); err != nil && r.err == nil {
		r.err = fmt.Errorf("writer: %v: %s", err, out.b)
	}
	return r.d, r.err
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	b   []byte
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
