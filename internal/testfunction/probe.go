package main

// The "probe" handler: a hostile function the sandbox tests drive. It takes
// {"op": "...", ...} and answers a JSON object. An expected failure is not a
// function error: the answer is {"ok": false, "error": "<errno text>",
// "detail": "<full error>"}, where "error" is the kernel's text for the
// errno (syscall.Errno.Error(), e.g. "no space left on device") when the
// error wraps one, else the error itself.
//
//	read       {path}          → content (first 4 KiB)
//	list       {path}          → names (sorted; [] when empty)
//	write      {path, data}    → ok
//	fill       {path, mb}      → bytes written before the error that stopped it
//	                             (the file is removed afterwards)
//	alloc      {mb}            → allocates mb MiB, touches every 4 KiB page, keeps it
//	forkbomb   {max}           → starts `sleep 30.<marker>` children until one fails
//	                             or max; started, the first error and marker (the
//	                             sleep argument, unique per call); kills and reaps
//	                             them all before answering
//	background {path, everyMs} → starts a detached (setsid) shell appending "x\n"
//	                             to path every everyMs (default 50); pid (as seen
//	                             inside); waits for its first line
//	count      {path}          → lines of the file
//	procs                      → procs: [{pid, comm, uid}] of every /proc/<pid>
//	environ    {pid}           → environ: /proc/<pid>/environ split at NULs
//	whoami                     → uid, gid, euid, egid, groups, hostname, cwd, capEff
//	http       {url}           → status and body (first 1 KiB), or the error
//	env                        → env: the process's environment as a map
//	statfs     {path}          → bytes (total size), free, type (f_type)
//	sleep      {ms}            → sleeps ms milliseconds
//	ticker     {everyMs}       → starts a goroutine of the runtime's own process that
//	                             counts a tick every everyMs (default 10) forever, and
//	                             answers at once: ticks (the count so far)
//	ticks                      → ticks: the count of the ticker goroutine
//	rlimit                     → soft, hard: RLIMIT_NOFILE (getrlimit(2)); the Go
//	                             runtime raises its own soft limit to the hard one
//	                             at start, so soft is the hard limit here (its
//	                             children get the original soft limit back)
//	dial       {addr}          → ok once a TCP connection to addr is made (and
//	                             closed), or the error; 3 s timeout
//	listen     {addr}          → listens on TCP addr for the environment's
//	                             lifetime, answering each connection with
//	                             "inside\n"; addr (as bound)
//	unixlisten {path}          → the same on the unix socket path ("@name":
//	                             the abstract name)
//	unixdial   {path}          → connects to the unix socket path, reads
//	                             what it says: body
//	lambda     {call, function, var} → calls sluice's API with the AWS SDK
//	                             for Go v2 at the endpoint in the variable
//	                             var (default $AWS_ENDPOINT_URL, else
//	                             $AWS_ENDPOINT_URL_LAMBDA), signed with the
//	                             credentials of the environment: call "list"
//	                             (default: names), "invoke" (status,
//	                             payload) or "delete" of function; a refusal
//	                             gives the API's error code in code

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"
)

type probeEvent struct {
	Op      string `json:"op"`
	Path    string `json:"path"`
	Data    string `json:"data"`
	URL     string `json:"url"`
	MB      int    `json:"mb"`
	Max     int    `json:"max"`
	EveryMs int    `json:"everyMs"`
	Pid     int    `json:"pid"`
	Ms      int    `json:"ms"`
	Addr    string `json:"addr"`
	// Call is what the "lambda" op asks sluice's API with the function's
	// own credentials: "list" (the default), "invoke" or "delete" of
	// Function (a name or an ARN).
	Call     string `json:"call"`
	Function string `json:"function"`
	// Var names the variable holding the endpoint ("": AWS_ENDPOINT_URL,
	// else AWS_ENDPOINT_URL_LAMBDA).
	Var string `json:"var"`
}

type result map[string]any

// ticks counts the ticks of the ticker goroutine.
var ticks atomic.Int64

// hoard keeps what alloc allocated alive for the environment's lifetime.
var hoard [][]byte

// listeners keeps what listen and unixlisten opened for the environment's
// lifetime.
var listeners []net.Listener

// serveInside listens on addr and answers every connection with "inside\n"
// until the environment ends.
func serveInside(network, addr string) result {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return failed(err)
	}
	listeners = append(listeners, ln)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("inside\n"))
			c.Close()
		}
	}()
	return ok("addr", ln.Addr().String())
}

// lambdaCall calls sluice's API as a function that calls Lambda would.
func lambdaCall(ev probeEvent) result {
	var endpoint string
	if ev.Var != "" {
		endpoint = os.Getenv(ev.Var)
	} else if endpoint = os.Getenv("AWS_ENDPOINT_URL"); endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL_LAMBDA")
	}
	if endpoint == "" {
		return failed(errors.New("the endpoint variable is not set"))
	}
	client := lambda.New(lambda.Options{
		Region:       os.Getenv("AWS_REGION"),
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN")),
		Retryer:      aws.NopRetryer{},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	switch ev.Call {
	case "", "list":
		out, err := client.ListFunctions(ctx, &lambda.ListFunctionsInput{})
		if err != nil {
			return failed(err, "code", errorCode(err))
		}
		names := []string{}
		for _, f := range out.Functions {
			names = append(names, aws.ToString(f.FunctionName))
		}
		sort.Strings(names)
		return ok("names", names, "endpoint", endpoint)
	case "invoke":
		out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(ev.Function), Payload: []byte(`{}`)})
		if err != nil {
			return failed(err, "code", errorCode(err))
		}
		return ok("status", out.StatusCode, "payload", string(out.Payload))
	case "delete":
		if _, err := client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(ev.Function)}); err != nil {
			return failed(err, "code", errorCode(err))
		}
		return ok()
	}
	return failed(fmt.Errorf("unknown call %q", ev.Call))
}

// errorCode is the API error code of err ("" when it is not one).
func errorCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

func ok(kv ...any) result {
	r := result{"ok": true}
	for i := 0; i+1 < len(kv); i += 2 {
		r[kv[i].(string)] = kv[i+1]
	}
	return r
}

// failed reports an expected failure with the errno text when there is one.
func failed(err error, kv ...any) result {
	r := ok(kv...)
	r["ok"] = false
	r["error"] = errText(err)
	r["detail"] = err.Error()
	return r
}

func errText(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		return en.Error()
	}
	return err.Error()
}

func probe(ev probeEvent) (result, error) {
	switch ev.Op {
	case "read":
		f, err := os.Open(ev.Path)
		if err != nil {
			return failed(err), nil
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, 4<<10))
		if err != nil {
			return failed(err), nil
		}
		return ok("content", string(b)), nil
	case "list":
		ents, err := os.ReadDir(ev.Path)
		if err != nil {
			return failed(err), nil
		}
		names := make([]string, 0, len(ents))
		for _, e := range ents {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		return ok("names", names), nil
	case "write":
		if err := os.WriteFile(ev.Path, []byte(ev.Data), 0o644); err != nil {
			return failed(err), nil
		}
		return ok(), nil
	case "fill":
		return fill(ev.Path, ev.MB), nil
	case "alloc":
		b := make([]byte, ev.MB<<20)
		for i := 0; i < len(b); i += 4 << 10 {
			b[i] = 1
		}
		hoard = append(hoard, b)
		return ok("bytes", len(b)), nil
	case "forkbomb":
		return forkbomb(ev.Max), nil
	case "background":
		return background(ev.Path, ev.EveryMs), nil
	case "count":
		b, err := os.ReadFile(ev.Path)
		if err != nil {
			return failed(err), nil
		}
		return ok("lines", bytes.Count(b, []byte{'\n'})), nil
	case "procs":
		return procs(), nil
	case "environ":
		b, err := os.ReadFile("/proc/" + strconv.Itoa(ev.Pid) + "/environ")
		if err != nil {
			return failed(err), nil
		}
		env := []string{}
		for _, kv := range bytes.Split(b, []byte{0}) {
			if len(kv) > 0 {
				env = append(env, string(kv))
			}
		}
		return ok("environ", env), nil
	case "whoami":
		host, _ := os.Hostname()
		cwd, _ := os.Getwd()
		groups, _ := os.Getgroups()
		return ok("uid", os.Getuid(), "gid", os.Getgid(), "euid", os.Geteuid(), "egid", os.Getegid(),
			"groups", groups, "hostname", host, "cwd", cwd, "capEff", statusField("self", "CapEff")), nil
	case "http":
		return get(ev.URL), nil
	case "env":
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		return ok("env", env), nil
	case "statfs":
		var st syscall.Statfs_t
		if err := syscall.Statfs(ev.Path, &st); err != nil {
			return failed(err), nil
		}
		return ok("bytes", int64(st.Blocks)*st.Bsize, "free", int64(st.Bfree)*st.Bsize, "type", fmt.Sprintf("%#x", st.Type)), nil
	case "sleep":
		time.Sleep(time.Duration(ev.Ms) * time.Millisecond)
		return ok(), nil
	case "ticker":
		every := time.Duration(max(ev.EveryMs, 0)) * time.Millisecond
		if every == 0 {
			every = 10 * time.Millisecond
		}
		go func() {
			for range time.Tick(every) {
				ticks.Add(1)
			}
		}()
		return ok("ticks", ticks.Load()), nil
	case "ticks":
		return ok("ticks", ticks.Load()), nil
	case "dial":
		c, err := net.DialTimeout("tcp", ev.Addr, 3*time.Second)
		if err != nil {
			return failed(err), nil
		}
		c.Close()
		return ok(), nil
	case "listen":
		return serveInside("tcp", ev.Addr), nil
	case "unixlisten":
		return serveInside("unix", ev.Path), nil
	case "unixdial":
		c, err := net.DialTimeout("unix", ev.Path, 3*time.Second)
		if err != nil {
			return failed(err), nil
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil {
			return failed(err), nil
		}
		return ok("body", string(b)), nil
	case "lambda":
		return lambdaCall(ev), nil
	case "rlimit":
		var rl syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			return failed(err), nil
		}
		return ok("soft", rl.Cur, "hard", rl.Max), nil
	}
	return nil, fmt.Errorf("probe: unknown op %q", ev.Op)
}

// fill writes path in 1 MiB blocks until mb MiB are written or a write
// fails, then removes the file.
func fill(path string, mb int) result {
	f, err := os.Create(path)
	if err != nil {
		return failed(err, "bytes", 0)
	}
	defer os.Remove(path)
	defer f.Close()
	buf := bytes.Repeat([]byte{'f'}, 1<<20)
	var written int64
	for i := 0; i < mb; i++ {
		n, err := f.Write(buf)
		written += int64(n)
		if err != nil {
			return failed(err, "bytes", written)
		}
	}
	if err := f.Sync(); err != nil {
		return failed(err, "bytes", written)
	}
	return ok("bytes", written)
}

// forkbomb starts sleeps until the kernel refuses one or max are running.
// It uses syscall.ForkExec rather than os/exec: os.StartProcess keeps a
// pidfd per child, and RLIMIT_NOFILE would stop it before the pid limit.
func forkbomb(max int) result {
	marker := fmt.Sprintf("30.%09d", time.Now().UnixNano()%1e9)
	argv := []string{"sleep", marker}
	var pids []int
	var firstErr error
	for len(pids) < max {
		pid, err := syscall.ForkExec("/usr/bin/sleep", argv, &syscall.ProcAttr{Env: []string{}})
		if err != nil {
			firstErr = err
			break
		}
		pids = append(pids, pid)
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, pid := range pids {
		for {
			_, err := syscall.Wait4(pid, nil, 0, nil)
			if err != syscall.EINTR {
				break
			}
		}
	}
	if firstErr != nil {
		return failed(firstErr, "started", len(pids), "marker", marker)
	}
	return ok("started", len(pids), "marker", marker)
}

// background starts a shell, in a session of its own, that appends a line
// to path every everyMs milliseconds forever, and waits for its first line.
func background(path string, everyMs int) result {
	if everyMs <= 0 {
		everyMs = 50
	}
	script := fmt.Sprintf("while :; do echo x >> %s; sleep %s; done", path, strconv.FormatFloat(float64(everyMs)/1000, 'f', 3, 64))
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return failed(err)
	}
	pid := cmd.Process.Pid
	go cmd.Wait() // reap it should it die
	deadline := time.Now().Add(5 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return ok("pid", pid)
		}
		if time.Now().After(deadline) {
			return failed(errors.New("the background shell wrote nothing within 5s"), "pid", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type probeProc struct {
	Pid  int    `json:"pid"`
	Comm string `json:"comm"`
	Uid  int    `json:"uid"` // real uid; -1 if unreadable
}

func procs() result {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return failed(err)
	}
	out := []probeProc{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		uid := -1
		if f := strings.Fields(statusField(e.Name(), "Uid")); len(f) > 0 {
			uid, _ = strconv.Atoi(f[0])
		}
		out = append(out, probeProc{Pid: pid, Comm: strings.TrimSpace(string(comm)), Uid: uid})
	}
	return ok("procs", out)
}

// statusField returns a field of /proc/<pid>/status ("" if absent).
func statusField(pid, key string) string {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, found := strings.Cut(line, ":"); found && k == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func get(url string) result {
	c := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
	}
	resp, err := c.Get(url)
	if err != nil {
		return failed(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	return ok("status", resp.StatusCode, "body", string(b))
}
