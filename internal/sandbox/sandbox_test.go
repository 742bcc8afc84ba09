package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
)

// The test binary doubles as a scripted Lambda runtime (the os/exec test
// pattern): Start runs <code dir>/bootstrap, a hard link to this binary, with
// SLUICE_TEST_RUNTIME set in the function's environment.
func TestMain(m *testing.M) {
	if os.Getenv("SLUICE_TEST_RUNTIME") != "" {
		fakeRuntime(os.Getenv("AWS_LAMBDA_RUNTIME_API"), os.Getenv("_HANDLER"))
		return
	}
	os.Exit(m.Run())
}

// fakeRuntime speaks the Runtime API over plain HTTP.
func fakeRuntime(api, handler string) {
	base := "http://" + api + "/2018-06-01/runtime"
	if handler == "initerror" {
		req, _ := http.NewRequest("POST", base+"/init/error", strings.NewReader(`{"errorType":"Runtime.TestInit","errorMessage":"cannot start"}`))
		req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.TestInit")
		http.DefaultClient.Do(req)
		os.Exit(1)
	}
	for {
		resp, err := http.Get(base + "/invocation/next")
		if err != nil {
			os.Exit(3)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		post := func(path, body string, hdr ...string) int {
			req, _ := http.NewRequest("POST", base+"/invocation/"+path, strings.NewReader(body))
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			r, err := http.DefaultClient.Do(req)
			if err != nil {
				return -1
			}
			r.Body.Close()
			return r.StatusCode
		}
		switch handler {
		case "bootinfo":
			// What a runtime started through a Bootstrap sees.
			cwd, _ := os.Getwd()
			rt := os.Getenv("LAMBDA_RUNTIME_DIR")
			werr := os.WriteFile(filepath.Join(rt, "written"), []byte("x"), 0o644)
			werrTask := os.WriteFile(filepath.Join(os.Getenv("LAMBDA_TASK_ROOT"), "written"), []byte("x"), 0o644)
			script, _ := os.ReadFile(filepath.Join(rt, "run.sh"))
			info := map[string]any{
				"cwd": cwd, "args": os.Args[1:], "werr": fmt.Sprint(werr), "werrTask": fmt.Sprint(werrTask), "script": string(script),
				"LAMBDA_RUNTIME_DIR": rt, "LAMBDA_TASK_ROOT": os.Getenv("LAMBDA_TASK_ROOT"),
				"AWS_EXECUTION_ENV": os.Getenv("AWS_EXECUTION_ENV"), "PATH": os.Getenv("PATH"),
				"RUNTIME_VAR": os.Getenv("RUNTIME_VAR"), "TMPDIR": os.Getenv("TMPDIR"),
			}
			b, _ := json.Marshal(info)
			post(id+"/response", string(b))
		case "fds":
			// The runtime's descriptors above 2 that are pipes: what a
			// sandbox passed on to it (Go's own are an epoll, an eventfd
			// and sockets).
			var pipes []string
			ents, _ := os.ReadDir("/proc/self/fd")
			for _, ent := range ents {
				if n, _ := strconv.Atoi(ent.Name()); n > 2 {
					if l, _ := os.Readlink("/proc/self/fd/" + ent.Name()); strings.HasPrefix(l, "pipe:") {
						pipes = append(pipes, ent.Name()+" "+l)
					}
				}
			}
			b, _ := json.Marshal(pipes)
			post(id+"/response", string(b))
		case "env":
			// The runtime's environment, as a JSON object.
			env := map[string]string{}
			for _, kv := range os.Environ() {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
			b, _ := json.Marshal(env)
			post(id+"/response", string(b))
		case "logs":
			fmt.Println("stdout of " + id)
			fmt.Fprintln(os.Stderr, "stderr of "+id)
			post(id+"/response", "ok")
		case "exitafter":
			post(id+"/response", "bye")
			os.Exit(0)
		case "badmode":
			post(id+"/response", "x", "Lambda-Runtime-Function-Response-Mode", "sideways")
		case "wrongid":
			code := post("not-"+id+"/response", "x")
			post(id+"/response", fmt.Sprint(code))
		case "truncate":
			// A streaming response whose connection ends before the
			// terminating chunk: no trailers, no end.
			c, err := net.Dial("tcp", api)
			if err != nil {
				os.Exit(4)
			}
			fmt.Fprintf(c, "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nLambda-Runtime-Function-Response-Mode: streaming\r\n\r\n5\r\nhello\r\n", id)
			time.Sleep(100 * time.Millisecond)
			c.Close()
		case "endless":
			// A streaming response that never ends.
			pr, pw := io.Pipe()
			req, _ := http.NewRequest("POST", base+"/invocation/"+id+"/response", pr)
			req.Header.Set("Lambda-Runtime-Function-Response-Mode", "streaming")
			go func() {
				block := bytes.Repeat([]byte("e"), 64<<10)
				for {
					if _, err := pw.Write(block); err != nil {
						return
					}
				}
			}()
			if r, err := http.DefaultClient.Do(req); err == nil {
				r.Body.Close()
			}
		case "streamtrailer":
			// What the Node.js runtime sends for a streaming handler that throws.
			pr, pw := io.Pipe()
			req, _ := http.NewRequest("POST", base+"/invocation/"+id+"/response", pr)
			req.Header.Set("Lambda-Runtime-Function-Response-Mode", "streaming")
			req.Header.Set("Content-Type", "text/plain")
			req.Trailer = http.Header{"Lambda-Runtime-Function-Error-Type": nil, "Lambda-Runtime-Function-Error-Body": nil}
			go func() {
				pw.Write([]byte("one "))
				time.Sleep(50 * time.Millisecond)
				pw.Write([]byte("two"))
				req.Trailer.Set("Lambda-Runtime-Function-Error-Type", "RangeError")
				req.Trailer.Set("Lambda-Runtime-Function-Error-Body", "eyJlcnJvclR5cGUiOiJSYW5nZUVycm9yIiwiZXJyb3JNZXNzYWdlIjoib3V0IG9mIHJhbmdlIn0=")
				pw.Close()
			}()
			if r, err := http.DefaultClient.Do(req); err == nil {
				r.Body.Close()
			}
		default:
			post(id+"/error", `{"errorType":"Unknown","errorMessage":"no such handler"}`)
		}
	}
}

// start launches an Env running this test binary as handler.
func start(t *testing.T, handler string, opts Options) *Env {
	t.Helper()
	return startTimeout(t, handler, opts, 5)
}

// startTimeout is start with the function's timeout in seconds.
func startTimeout(t *testing.T, handler string, opts Options, timeout int) *Env {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// A hard link, not a symlink: a bootstrap that links outside the
	// task root is refused (checkEntrypoint).
	if err := os.Link(exe, filepath.Join(dir, "bootstrap")); err != nil {
		b, err := os.ReadFile(exe)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "bootstrap"), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fn := &sluice.Function{Name: "fn", Runtime: "provided.al2023", Handler: handler, Timeout: timeout, MemorySize: 128,
		RevisionID: "r1", Environment: map[string]string{"SLUICE_TEST_RUNTIME": "1"}}
	e, err := Start(context.Background(), Spec{Function: fn, CodeDir: dir, Scope: sluice.Scope{Region: "us-east-1", Account: "000000000000"}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	return e
}

// run invokes e and reads the whole output.
func run(t *testing.T, e *Env) (string, sluice.Result) {
	t.Helper()
	out, err := e.Invoke(sluice.Invocation{RequestID: sluice.NewRequestID(), Payload: []byte("{}"), InvokedFunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:fn"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(out)
	out.Close()
	return string(b), out.Result()
}

func TestLogAttributionIsExact(t *testing.T) {
	e := start(t, "logs", Options{})
	for i := 0; i < 20; i++ { // the runtime prints right before it responds: no line may slip to the next invocation
		out, res := run(t, e)
		if out != "ok" || res.Err != nil {
			t.Fatalf("output %q err %v", out, res.Err)
		}
		lines := strings.Split(strings.TrimSpace(string(res.LogTail)), "\n")
		var id string
		// the init phase (INIT_START) is in the log, not in the tail: every
		// tail starts with START, as Lambda's LogResult does
		if _, err := fmt.Sscanf(lines[0], "START RequestId: %s", &id); err != nil || len(lines) != 5 {
			t.Fatalf("invocation %d tail: %q", i, lines)
		}
		want := []string{"stdout of " + id, "stderr of " + id, "END RequestId: " + id}
		for j, w := range want {
			if lines[1+j] != w {
				t.Fatalf("invocation %d line %d = %q, want %q (tail %q)", i, 1+j, lines[1+j], w, lines)
			}
		}
		if !strings.HasPrefix(lines[4], "REPORT RequestId: "+id+"\tDuration: ") {
			t.Fatalf("REPORT line %q", lines[4])
		}
		if (i == 0) != strings.Contains(lines[4], "Init Duration: ") {
			t.Fatalf("invocation %d: Init Duration only on the cold one: %q", i, lines[4])
		}
	}
}

func TestFunctionLogSink(t *testing.T) {
	var sink syncWriter
	var stream LogStream
	e := start(t, "logs", Options{FunctionLog: func(ls LogStream) io.Writer {
		if ls.Function.Name != "fn" || ls.Group != "/aws/lambda/fn" {
			t.Errorf("FunctionLog(%+v)", ls)
		}
		stream = ls
		return &sink
	}})
	// Lambda's stream name: the start date, the version, 32 hex digits.
	if !regexp.MustCompile(`^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`).MatchString(stream.Stream) {
		t.Errorf("log stream %q", stream.Stream)
	}
	run(t, e)
	run(t, e)
	e.Stop()
	sc := bufio.NewScanner(strings.NewReader(sink.String()))
	var starts, reports int
	for sc.Scan() {
		switch {
		case strings.HasPrefix(sc.Text(), "START "):
			starts++
		case strings.HasPrefix(sc.Text(), "REPORT "):
			reports++
		}
	}
	if starts != 2 || reports != 2 {
		t.Fatalf("sink: %d START, %d REPORT lines:\n%s", starts, reports, sink.String())
	}
}

// TestGoneWhileIdle: a runtime that exits after answering leaves a warm
// environment that cannot take the next invocation; Invoke reports ErrGone
// (nothing ran, so the caller may retry elsewhere) and logs nothing for it.
func TestGoneWhileIdle(t *testing.T) {
	var sink syncWriter
	e := start(t, "exitafter", Options{FunctionLog: func(LogStream) io.Writer { return &sink }})
	if out, res := run(t, e); out != "bye" || res.Err != nil {
		t.Fatalf("first invocation: %q %v", out, res.Err)
	}
	_, err := e.Invoke(sluice.Invocation{RequestID: "second", Payload: []byte("{}")})
	if !errors.Is(err, ErrGone) {
		t.Fatalf("Invoke on an exited warm environment: %v", err)
	}
	e.Stop()
	if n := strings.Count(sink.String(), "START RequestId:"); n != 1 || strings.Contains(sink.String(), "second") {
		t.Fatalf("%d START lines, log:\n%s", n, sink.String())
	}
}

func TestInitError(t *testing.T) {
	e := start(t, "initerror", Options{})
	_, res := run(t, e)
	if res.Err == nil || res.Err.Type != "Runtime.TestInit" || !strings.Contains(string(res.Err.Payload), "cannot start") {
		t.Fatalf("result %+v", res.Err)
	}
	if e.Alive() {
		t.Fatal("environment alive after an init error")
	}
	if !strings.Contains(string(res.LogTail), "INIT_REPORT") {
		t.Fatalf("no INIT_REPORT in %q", res.LogTail)
	}
}

func TestInvalidResponseMode(t *testing.T) {
	e := start(t, "badmode", Options{})
	_, res := run(t, e)
	if res.Err == nil || res.Err.Type != "Runtime.InvalidResponseModeHeader" {
		t.Fatalf("result %+v", res.Err)
	}
}

func TestWrongRequestID(t *testing.T) {
	e := start(t, "wrongid", Options{})
	out, res := run(t, e)
	if out != "400" || res.Err != nil {
		t.Fatalf("a response for another request id got %q (err %v), want the runtime to see 400", out, res.Err)
	}
}

func TestTruncatedResponse(t *testing.T) {
	e := start(t, "truncate", Options{})
	out, res := run(t, e)
	if out != "hello" || res.Err == nil || res.Err.Type != "Runtime.TruncatedResponse" {
		t.Fatalf("output %q result %+v", out, res.Err)
	}
	if e.Alive() {
		t.Fatal("environment kept after a truncated response")
	}
}

func TestStreamingErrorTrailer(t *testing.T) {
	e := start(t, "streamtrailer", Options{})
	out, res := run(t, e)
	if out != "one two" || res.Err == nil || res.Err.Type != "RangeError" || !strings.Contains(string(res.Err.Payload), "out of range") {
		t.Fatalf("output %q result %+v", out, res.Err)
	}
	if !e.Alive() {
		t.Fatal("a function error must not end the environment")
	}
}

func TestInvalidEntrypoint(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fn := &sluice.Function{Name: "fn", Runtime: "provided", Handler: "x", Timeout: 3, MemorySize: 128, RevisionID: "r"}
	e, err := Start(context.Background(), Spec{Function: fn, CodeDir: dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	_, res := run(t, e)
	if res.Err == nil || res.Err.Type != "Runtime.InvalidEntrypoint" || !strings.Contains(string(res.Err.Payload), "permission denied") {
		t.Fatalf("result %+v", res.Err)
	}
	if strings.Contains(string(res.Err.Payload), dir) {
		t.Fatalf("error document leaks a host path: %s", res.Err.Payload)
	}
}

func TestStopIsIdempotentAndKillsTheProcess(t *testing.T) {
	e := start(t, "logs", Options{})
	run(t, e)
	pid := e.proc.(*child).cmd.Process.Pid
	e.Stop()
	e.Stop()
	if err := syscallKill0(pid); err == nil {
		t.Fatalf("runtime process %d still exists after Stop", pid)
	}
}

type syncWriter struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestTimeoutEndsUnreadInvocation: a caller that stops reading a stream
// (stuck on a client that does not read) and does not close it does not
// hold the invocation past the function's timeout: the invocation ends
// then (OnEnd runs, REPORT says timeout), the Env is dead, and the
// caller's later Read and Close return at once with Sandbox.Timedout.
func TestTimeoutEndsUnreadInvocation(t *testing.T) {
	logs := &syncWriter{}
	e := startTimeout(t, "endless", Options{FunctionLog: func(LogStream) io.Writer { return logs }}, 1)
	started := time.Now()
	out, err := e.Invoke(sluice.Invocation{RequestID: "stuck", Payload: []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := out.Read(make([]byte, 1024)); n == 0 || err != nil {
		t.Fatalf("first read: %d bytes, %v", n, err)
	}
	ended := make(chan time.Duration, 1)
	out.OnEnd(func() { ended <- time.Since(started) })
	select {
	case d := <-ended:
		if d < time.Second || d > 3*time.Second {
			t.Fatalf("the unread invocation ended after %v, want its 1 s timeout", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the unread invocation did not end at its timeout")
	}
	if !strings.Contains(logs.String(), "END RequestId: stuck\n") || !strings.Contains(logs.String(), "Status: timeout") {
		t.Fatalf("log:\n%s", logs.String())
	}
	if e.Alive() {
		t.Fatalf("the timed-out environment is alive")
	}
	again := make(chan struct{})
	out.OnEnd(func() { close(again) }) // after the end: runs at once
	<-again

	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, out)
		out.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("Read and Close after the timeout did not return")
	}
	if res := out.Result(); res.Err == nil || res.Err.Type != "Sandbox.Timedout" {
		t.Fatalf("result %+v, want Sandbox.Timedout", res.Err)
	}
}
