package sandbox

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
)

// freezeDriver starts no process: its Process records freezes and thaws,
// and the test plays the runtime over the Runtime API.
type freezeDriver struct{ p *freezeProc }

func (d freezeDriver) Start(ctx context.Context, l *Launch) (Process, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l.Serve(ln)
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	d.p.out, d.p.w, d.p.api = r, w, ln.Addr().String()
	return d.p, nil
}

func (freezeDriver) Close() {}

type freezeProc struct {
	out, w   *os.File
	api      string
	killOnce sync.Once
	killed   chan struct{}

	mu     sync.Mutex
	frozen bool
	events []string // "freeze" / "thaw", with what the runtime was doing
	doing  *atomic.Value
}

func (p *freezeProc) Output() *os.File  { return p.out }
func (p *freezeProc) Wait() error       { <-p.killed; p.w.Close(); return nil }
func (p *freezeProc) Kill()             { p.killOnce.Do(func() { close(p.killed) }) }
func (p *freezeProc) InitDone()         {}
func (p *freezeProc) Freeze()           { p.record("freeze", true) }
func (p *freezeProc) Thaw()             { p.record("thaw", false) }
func (p *freezeProc) PeakMemoryMB() int { return -1 }
func (p *freezeProc) OOMKilled() bool   { return false }

// record notes a freeze, or a thaw of a frozen environment (as isolated
// does nothing for the others).
func (p *freezeProc) record(what string, freeze bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if freeze != p.frozen {
		p.frozen = freeze
		p.events = append(p.events, what+" while "+p.doing.Load().(string))
	}
}

func (p *freezeProc) log() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.events...)
}

// startFreezeEnv starts an Env on freezeDriver; doing is what the fake
// runtime says it is doing.
func startFreezeEnv(t *testing.T) (*Env, *freezeProc) {
	t.Helper()
	code := t.TempDir()
	if err := os.WriteFile(filepath.Join(code, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	doing := &atomic.Value{}
	doing.Store("init")
	p := &freezeProc{killed: make(chan struct{}), doing: doing}
	fn := &sluice.Function{Name: "fn", Runtime: "provided.al2023", Handler: "x", Timeout: 30, MemorySize: 128, EphemeralStorage: 512, RevisionID: "r"}
	e, err := Start(context.Background(), Spec{Function: fn, CodeDir: code}, Options{Driver: freezeDriver{p}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	return e, p
}

// runtimeNext is the fake runtime's GET /next: it returns the request id.
func runtimeNext(t *testing.T, api string) string {
	resp, err := http.Get("http://" + api + "/2018-06-01/runtime/invocation/next")
	if err != nil {
		t.Error(err)
		return ""
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
}

func runtimeRespond(t *testing.T, api, id string) {
	resp, err := http.Post("http://"+api+"/2018-06-01/runtime/invocation/"+id+"/response", "application/json", strings.NewReader(`"ok"`))
	if err != nil {
		t.Error(err)
		return
	}
	resp.Body.Close()
}

func invokeOnce(t *testing.T, e *Env, id string) {
	t.Helper()
	out, err := e.Invoke(sluice.Invocation{RequestID: id, Payload: []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out)
	out.Close()
	if string(b) != `"ok"` {
		t.Fatalf("invocation %s answered %q (%v)", id, b, out.Result().Err)
	}
}

// TestFreezeWhenBackInNext: the environment is frozen once its runtime is
// back in GET /next after an invocation (so the next invocation is handed
// to a request already waiting), and thawed before the next one is handed
// over.
func TestFreezeWhenBackInNext(t *testing.T) {
	e, p := startFreezeEnv(t)
	go func() {
		for range 2 {
			p.doing.Store("waiting in next")
			id := runtimeNext(t, p.api)
			if id == "" {
				return
			}
			p.doing.Store("running " + id)
			runtimeRespond(t, p.api, id)
			p.doing.Store("between response and next")
		}
		p.doing.Store("waiting in next")
		// Until Stop, which may answer or just close the connection: no
		// error of it is the test's.
		if resp, err := http.Get("http://" + p.api + "/2018-06-01/runtime/invocation/next"); err == nil {
			resp.Body.Close()
		}
	}()
	invokeOnce(t, e, "one")
	if !eventually(2*time.Second, func() bool { return len(p.log()) == 1 }) {
		t.Fatalf("events after the first invocation: %q, want one freeze", p.log())
	}
	invokeOnce(t, e, "two")
	if !eventually(2*time.Second, func() bool { return len(p.log()) == 3 }) {
		t.Fatalf("events after the second invocation: %q", p.log())
	}
	want := []string{"freeze while waiting in next", "thaw while waiting in next", "freeze while waiting in next"}
	if got := p.log(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("events %q, want %q", got, want)
	}
}

// TestFreezeWithoutNext: a runtime that does not come back to GET /next
// after its response is frozen all the same, freezeGrace later.
func TestFreezeWithoutNext(t *testing.T) {
	e, p := startFreezeEnv(t)
	go func() {
		id := runtimeNext(t, p.api)
		runtimeRespond(t, p.api, id)
		p.doing.Store("not back in next")
	}()
	invokeOnce(t, e, "one")
	if !eventually(2*time.Second, func() bool { return len(p.log()) == 1 }) {
		t.Fatalf("events after the invocation: %q, want one freeze", p.log())
	}
	if got := p.log()[0]; got != "freeze while not back in next" {
		t.Errorf("event %q", got)
	}
}

func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}
