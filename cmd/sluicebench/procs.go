package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/lambdaclient"
)

// binaries are what the benchmark runs.
type binaries struct {
	bootstrap string // internal/testfunction, built as a provided.al2023 bootstrap
	zip       []byte // its deployment package
	sluice    string // cmd/sluice
	// testfunctionDir is internal/testfunction's source directory, where
	// the Node.js and Python test functions are.
	testfunctionDir string
}

// build compiles internal/testfunction (as the test harness does) and
// cmd/sluice into dir, concurrently.
func build(ctx context.Context, dir string) (*binaries, error) {
	b := &binaries{
		bootstrap: filepath.Join(dir, "function", "bootstrap"),
		sluice:    filepath.Join(dir, "sluice"),
	}
	builds := []*exec.Cmd{
		exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", b.bootstrap, "github.com/sluice-dev/sluice/internal/testfunction"),
		exec.CommandContext(ctx, "go", "build", "-o", b.sluice, "github.com/sluice-dev/sluice/cmd/sluice"),
	}
	builds[0].Env = append(os.Environ(), "CGO_ENABLED=0")
	list := exec.CommandContext(ctx, "go", "list", "-f", "{{.Dir}}", "github.com/sluice-dev/sluice/internal/testfunction")
	list.Stderr = new(bytes.Buffer)
	out, err := list.Output()
	if err != nil {
		return nil, fmt.Errorf("go list internal/testfunction: %v\n%s", err, list.Stderr)
	}
	b.testfunctionDir = strings.TrimSpace(string(out))
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, cmd := range builds {
		wg.Go(func() {
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(b.bootstrap)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(bin); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	b.zip = buf.Bytes()
	return b, nil
}

// child is a server run as a child process: sluice or the relay.
type child struct {
	name     string
	url      string // http://ADDR from its "listening on" line
	cmd      *exec.Cmd
	logPath  string // its stderr
	exited   chan struct{}
	waitErr  error // valid once exited is closed
	stopOnce sync.Once
	stopErr  error
}

// startChild starts cmd with stderr to logPath and waits for the line
// "... listening on http://ADDR ..." on its stdout.
func startChild(ctx context.Context, name string, cmd *exec.Cmd, logPath string) (*child, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), " listening on http://"); ok && !found {
				found = true
				a, _, _ := strings.Cut(rest, " ")
				addr <- a
			}
		}
		io.Copy(io.Discard, stdout)
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	select {
	case a := <-addr:
		c.url = "http://" + a
		return c, nil
	case <-c.exited:
		return nil, fmt.Errorf("%s exited before listening: %v\n%s", name, c.waitErr, c.logTail())
	case <-time.After(30 * time.Second):
		c.stop()
		return nil, fmt.Errorf("%s did not print its address within 30s\n%s", name, c.logTail())
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
}

// stop sends SIGTERM and waits (SIGKILL after 30 s); it returns the
// child's exit error. Safe to call more than once.
func (c *child) stop() error {
	c.stopOnce.Do(func() {
		c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(30 * time.Second):
			c.cmd.Process.Kill()
			<-c.exited
			c.stopErr = fmt.Errorf("%s did not stop within 30s of SIGTERM", c.name)
			return
		}
		if c.waitErr != nil {
			c.stopErr = fmt.Errorf("%s: %w", c.name, c.waitErr)
		}
	})
	return c.stopErr
}

// logLines returns the first n lines of the child's stderr holding any of
// marks.
func (c *child) logLines(n int, marks ...string) string {
	b, _ := os.ReadFile(c.logPath)
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		for _, m := range marks {
			if strings.Contains(line, m) {
				out = append(out, line)
				break
			}
		}
		if len(out) == n {
			break
		}
	}
	return strings.Join(out, "\n")
}

// logTail is the end of the child's stderr, for error messages.
func (c *child) logTail() string {
	b, _ := os.ReadFile(c.logPath)
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	if len(b) == 0 {
		return ""
	}
	return fmt.Sprintf("--- %s stderr (tail) ---\n%s\n", c.name, b)
}

// notIsolated starts the warning sluice logs when its execution
// environments are plain child processes (--sandbox none, or auto on a
// machine that cannot sandbox).
const notIsolated = "EXECUTION ENVIRONMENTS ARE NOT ISOLATED"

// sandboxed reports whether sluice's log says nothing of running
// environments unsandboxed.
func (c *child) sandboxed() (bool, error) {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return false, err
	}
	return !bytes.Contains(b, []byte(notIsolated)), nil
}

// startSluice runs the real binary: sluice serve on 127.0.0.1:0 with a
// fresh data dir and default settings (more environments only if the cold
// starts need them). With -runtimes it also gets the runtimes dir kept
// across runs and the interpreters the relay runs.
func startSluice(ctx context.Context, b *binaries, dir string, cfg config, in interpreters) (*child, error) {
	args := []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"), "--log-level", "warn", "--sandbox", cfg.sandbox}
	need := cfg.cold + cfg.conc + 2
	if cfg.runtimes {
		args = append(args, "--runtimes-dir", cfg.runtimesDir, "--node", in.node, "--python", in.python)
		need += 2 * cfg.cold
	}
	// echo (cfg.conc of it), stream, big and the cold-start functions stay
	// warm; keep them under the cap so that no eviction runs during
	// measurements.
	if many := max(cfg.burst, cfg.open); many > 0 {
		// Limits above the burst or the open streams: what they measure is
		// how sluice starts environments and holds streams, not its caps.
		limit := strconv.Itoa(many + need + 200)
		args = append(args, "--max-environments", limit, "--account-concurrency", limit)
	} else if need > 32 {
		args = append(args, "--max-environments", strconv.Itoa(need))
	}
	return startChild(ctx, "sluice", exec.Command(b.sluice, args...), filepath.Join(dir, "sluice.log"))
}

// startRelay runs the relay: this binary again, with relayEnv set.
func startRelay(ctx context.Context, b *binaries, dir string, in interpreters) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), relayEnv+"="+b.bootstrap, relayNodeEnv+"="+in.node, relayPythonEnv+"="+in.python)
	return startChild(ctx, "relay", cmd, filepath.Join(dir, "relay.log"))
}

// target is one side of the comparison, as the client sees it.
type target struct {
	name   string
	url    string // http://ADDR
	pid    int    // of the server process
	client *lambda.Client
	// create makes a function ready to invoke.
	create func(ctx context.Context, name string, fn function) error
	// initTimes, if not nil, reports fork/exec → first GET /next per function.
	initTimes func(ctx context.Context) (map[string]time.Duration, error)
}

// pid is the child's process id, 0 for a child known by its URL only.
func (c *child) pid() int {
	if c.cmd == nil || c.cmd.Process == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// Credentials of sluice's default config; the relay ignores them.
const accessKeyID, secretAccessKey = "test", "test"

func (c *child) sluiceTarget() *target {
	client := lambdaclient.New(c.url, accessKeyID, secretAccessKey)
	return &target{
		name:   "sluice",
		url:    c.url,
		pid:    c.pid(),
		client: client,
		create: func(ctx context.Context, name string, fn function) error {
			_, err := client.CreateFunction(ctx, &lambda.CreateFunctionInput{
				FunctionName: aws.String(name),
				Runtime:      fn.runtime,
				Handler:      aws.String(fn.handler),
				Role:         aws.String("arn:aws:iam::000000000000:role/sluicebench"),
				Timeout:      aws.Int32(300), // a large stream on a slow machine
				Code:         &types.FunctionCode{ZipFile: fn.zip},
			})
			if err != nil {
				return err
			}
			// The package is deployed (and the runtime provisioned) in the
			// background, as on Lambda.
			w := lambda.NewFunctionActiveV2Waiter(client, func(o *lambda.FunctionActiveV2WaiterOptions) {
				o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
			})
			return w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, fn.activeTimeout())
		},
	}
}

func (c *child) relayTarget() *target {
	return &target{
		name:   "relay",
		url:    c.url,
		pid:    c.pid(),
		client: lambdaclient.New(c.url, accessKeyID, secretAccessKey),
		create: func(context.Context, string, function) error { return nil }, // the name says the handler
		initTimes: func(ctx context.Context) (map[string]time.Duration, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url+initTimesPath, nil)
			if err != nil {
				return nil, err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			var ns map[string]int64
			if err := json.NewDecoder(resp.Body).Decode(&ns); err != nil {
				return nil, err
			}
			out := make(map[string]time.Duration, len(ns))
			for k, v := range ns {
				out[k] = time.Duration(v)
			}
			return out, nil
		},
	}
}
