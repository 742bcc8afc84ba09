package main

// The baseline: the thinnest thing that does sluice's data-plane job. An HTTP
// server with the two invoke endpoints (no auth, no validation, no store),
// joined by Go channels to a bare Runtime API on another loopback port, with
// instances of the bootstrap per function name, one per concurrent
// invocation as on Lambda (an idle one is reused, else one more is started),
// with the few environment variables aws-lambda-go reads. The
// function's handler is the part of the name before the first "-" ("echo",
// "stream", "big", "echo-cold-07" runs "echo"), except that "node" and
// "python" ("node-cold-07") start node or python3 running a minimal Runtime
// API client (runtimes.go) instead of the bootstrap.
//
// It runs as a child process (the benchmark binary re-executed with relayEnv
// set), as sluice does, so that neither server shares a Go runtime with the
// client that measures them.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sluice-dev/sluice/internal/eventstream"
)

// relayEnv, set to the bootstrap's path, makes the benchmark binary run the
// relay instead of the benchmark.
const relayEnv = "SLUICEBENCH_RELAY_BOOTSTRAP"

// initTimesPath answers, per function name, the time from fork/exec of its
// bootstrap until the bootstrap's first GET /next, in nanoseconds.
const initTimesPath = "/relay/init-times"

// relayMain runs the relay until SIGTERM or SIGINT. It prints
// "relay listening on http://ADDR" once it accepts requests.
func relayMain(bootstrap string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		return 1
	}
	rl := &relay{bootstrap: bootstrap, node: os.Getenv(relayNodeEnv), python: os.Getenv(relayPythonEnv), pools: map[string]*pool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", rl.invoke)
	mux.HandleFunc("POST /2021-11-15/functions/{name}/response-streaming-invocations", rl.invokeStream)
	mux.HandleFunc("GET "+initTimesPath, rl.initTimes)
	srv := &http.Server{Handler: mux}
	fmt.Printf("relay listening on http://%s\n", ln.Addr())
	go srv.Serve(ln)
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutdown)
	rl.close()
	return 0
}

type relay struct {
	bootstrap string
	// node and python are the interpreters of the "node" and "python"
	// handlers.
	node, python string
	mu           sync.Mutex
	pools        map[string]*pool // by function name
}

// pool is the instances of one function.
type pool struct {
	all  []*instance // in start order: all[0]'s init time is the cold start
	idle []*instance
}

// instance is one running bootstrap (or interpreter) and its Runtime API.
type instance struct {
	calls     chan *call // the invocation waiting for GET /next
	cur       atomic.Pointer[call]
	srv       *http.Server
	cmd       *exec.Cmd
	started   time.Time
	initOnce  sync.Once
	initTime  time.Duration // fork/exec until the first GET /next; valid once ready is closed
	ready     chan struct{}
	exited    chan struct{}
	requestID atomic.Uint64
}

// call is one invocation, from the invoke endpoint to the runtime and back.
type call struct {
	id      string
	payload []byte
	resp    chan response // the runtime's answer, sent once
}

// response is the runtime's /response body (read until EOF, then done is
// closed and the runtime gets its 202) or its /error document.
type response struct {
	body      io.Reader
	done      chan struct{}
	errorType string
	errorBody []byte
}

// get returns an idle instance of a function, starting one if there is
// none; put gives it back.
func (rl *relay) get(name string) (*instance, error) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	p := rl.pools[name]
	if p == nil {
		p = &pool{}
		rl.pools[name] = p
	}
	if n := len(p.idle); n > 0 {
		in := p.idle[n-1]
		p.idle = p.idle[:n-1]
		return in, nil
	}
	handler, _, _ := strings.Cut(name, "-")
	in, err := startInstance(relayCommand(rl.bootstrap, rl.node, rl.python, handler), filepath.Dir(rl.bootstrap), name, handler)
	if err != nil {
		return nil, err
	}
	p.all = append(p.all, in)
	return in, nil
}

// put makes in idle again, unless it exited.
func (rl *relay) put(name string, in *instance) {
	select {
	case <-in.exited:
		return
	default:
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if p := rl.pools[name]; p != nil && slices.Contains(p.all, in) {
		p.idle = append(p.idle, in)
	}
}

func (rl *relay) close() {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	for _, p := range rl.pools {
		for _, in := range p.all {
			in.stop()
		}
	}
}

// stop kills the instance and closes its Runtime API.
func (in *instance) stop() {
	in.cmd.Process.Kill()
	<-in.exited
	in.srv.Close()
}

// startInstance starts argv in dir with its Runtime API.
func startInstance(argv []string, dir, name, handler string) (*instance, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	in := &instance{calls: make(chan *call, 1), ready: make(chan struct{}), exited: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", in.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", in.response)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", in.fail)
	in.srv = &http.Server{Handler: mux}

	in.cmd = exec.Command(argv[0], argv[1:]...)
	in.cmd.Dir = dir
	in.cmd.Env = []string{
		"AWS_LAMBDA_RUNTIME_API=" + ln.Addr().String(),
		"_HANDLER=" + handler,
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME=relay",
		"AWS_REGION=us-east-1",
		"LAMBDA_TASK_ROOT=" + dir,
		"TZ=:UTC",
	}
	in.cmd.Stdout, in.cmd.Stderr = os.Stderr, os.Stderr
	in.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in.started = time.Now()
	if err := in.cmd.Start(); err != nil {
		ln.Close()
		return nil, err
	}
	go in.srv.Serve(ln) // after started is set; connections wait in the listen queue
	go func() { in.cmd.Wait(); close(in.exited) }()
	return in, nil
}

// next is GET /next: hand the waiting invocation to the runtime.
func (in *instance) next(w http.ResponseWriter, r *http.Request) {
	in.initOnce.Do(func() { in.initTime = time.Since(in.started); close(in.ready) })
	var c *call
	select {
	case c = <-in.calls:
	case <-r.Context().Done():
		return
	}
	in.cur.Store(c)
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", c.id)
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(15*time.Minute).UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:relay")
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(c.payload)))
	w.Write(c.payload)
}

// take returns the current invocation if its id is id.
func (in *instance) take(id string) *call {
	c := in.cur.Load()
	if c == nil || c.id != id || !in.cur.CompareAndSwap(c, nil) {
		return nil
	}
	return c
}

// response is POST /{id}/response: hand the body to the invoke endpoint and
// answer 202 once it has read it to the end.
func (in *instance) response(w http.ResponseWriter, r *http.Request) {
	c := in.take(r.PathValue("id"))
	if c == nil {
		http.Error(w, "unknown request id", http.StatusBadRequest)
		return
	}
	done := make(chan struct{})
	c.resp <- response{body: r.Body, done: done}
	<-done
	w.WriteHeader(http.StatusAccepted)
}

// fail is POST /{id}/error.
func (in *instance) fail(w http.ResponseWriter, r *http.Request) {
	c := in.take(r.PathValue("id"))
	if c == nil {
		http.Error(w, "unknown request id", http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(r.Body)
	typ := r.Header.Get("Lambda-Runtime-Function-Error-Type")
	if typ == "" {
		typ = "Unhandled"
	}
	c.resp <- response{errorType: typ, errorBody: body}
	w.WriteHeader(http.StatusAccepted)
}

// call sends one invocation to an instance of the function and waits for
// the runtime's answer. The caller calls release once it has read the
// answer (closed its done), which makes the instance idle again.
func (rl *relay) call(r *http.Request) (resp response, release func(), err error) {
	name := r.PathValue("name")
	in, err := rl.get(name)
	if err != nil {
		return response{}, nil, err
	}
	release = func() { rl.put(name, in) }
	payload, err := io.ReadAll(r.Body)
	if err != nil {
		release()
		return response{}, nil, err
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	c := &call{id: strconv.FormatUint(in.requestID.Add(1), 10), payload: payload, resp: make(chan response, 1)}
	select {
	case in.calls <- c:
	case <-in.exited:
		return response{}, nil, fmt.Errorf("bootstrap exited: %v", in.cmd.ProcessState)
	case <-r.Context().Done():
		release()
		return response{}, nil, r.Context().Err()
	}
	select {
	case resp := <-c.resp:
		return resp, release, nil
	case <-in.exited:
		return response{}, nil, fmt.Errorf("bootstrap exited: %v", in.cmd.ProcessState)
	case <-r.Context().Done():
		go func() { // let the function finish, discarding its output
			select {
			case resp := <-c.resp:
				if resp.done != nil {
					io.Copy(io.Discard, resp.body)
					close(resp.done)
				}
				release()
			case <-in.exited:
			}
		}()
		return response{}, nil, r.Context().Err()
	}
}

// invoke is Invoke: the runtime's body, copied.
func (rl *relay) invoke(w http.ResponseWriter, r *http.Request) {
	resp, release, err := rl.call(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer release()
	w.Header().Set("Content-Type", "application/json")
	if resp.done == nil {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		w.Write(resp.errorBody)
		return
	}
	b, err := io.ReadAll(resp.body)
	close(resp.done)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Write(b)
}

// invokeStream is InvokeWithResponseStream: each read of the runtime's body
// is one PayloadChunk, flushed at once; then InvokeComplete.
func (rl *relay) invokeStream(w http.ResponseWriter, r *http.Request) {
	resp, release, err := rl.call(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer release()
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	ew := eventstream.NewWriter(w, rc.Flush)
	rc.Flush()
	if resp.done == nil {
		ew.Complete(eventstream.Complete{ErrorCode: resp.errorType, ErrorDetails: string(resp.errorBody)})
		return
	}
	buf := make([]byte, 64<<10) // as sluice's api.streamBuffer
	for {
		n, err := resp.body.Read(buf)
		if n > 0 {
			if ew.Chunk(buf[:n]) != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	io.Copy(io.Discard, resp.body) // if the client went away
	close(resp.done)
	ew.Complete(eventstream.Complete{})
}

// initTimes is GET /relay/init-times: {"name": nanoseconds} of the first
// instance of every function whose bootstrap (or interpreter) has called
// GET /next.
func (rl *relay) initTimes(w http.ResponseWriter, r *http.Request) {
	rl.mu.Lock()
	out := map[string]int64{}
	for name, p := range rl.pools {
		in := p.all[0]
		select {
		case <-in.ready:
			out[name] = int64(in.initTime)
		default:
		}
	}
	rl.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}
