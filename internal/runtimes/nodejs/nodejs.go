// Package nodejs provisions the Node.js runtime: AWS's official runtime
// interface client (npm aws-lambda-ric) installed into a directory that an
// execution environment sees read-only at /var/runtime, and the command and
// environment that start it there.
//
// The directory Install fills looks like this:
//
//	index.mjs                      the entry point (as /var/runtime/index.mjs on Lambda)
//	node_modules/aws-lambda-ric/   the client, its native part built for this machine
//	package.json, package-lock.json
//	.sluice-nodejs.json            the marker: RIC and Node versions (written last)
//
// Nothing in it is written at run time.
package nodejs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// RICVersion is the aws-lambda-ric version installed.
//
// 3.3.0, not 4.x: 4.x declares Node >= 22 (npm warns EBADENGINE on Node 20,
// the Node of Debian 12 and of nodejs20.x), takes the handler only from
// _HANDLER and crashes after taking an event when any of six environment
// variables is missing. 3.3.0 supports Node 18 and later, which covers every
// Node a user is likely to have. Our entry point (index.mjs) passes the task
// root and handler the way Lambda's own /var/runtime/index.mjs does, so the
// switch to 4.x is this constant plus a test run.
const RICVersion = "3.3.0"

// MarkerFile is the file, in an installed runtime directory, that records
// what was installed. Install writes it last: a directory without it is not
// a finished installation.
const MarkerFile = ".sluice-nodejs.json"

// Marker is the content of MarkerFile.
type Marker struct {
	RIC         string    `json:"ric"`
	NodeVersion string    `json:"nodeVersion"` // as `node --version` prints it: v20.20.2
	Installed   time.Time `json:"installed"`
}

// ReadMarker reads the marker of an installed runtime directory. An error
// wrapping fs.ErrNotExist means the directory holds no finished installation.
func ReadMarker(dir string) (Marker, error) {
	var m Marker
	b, err := os.ReadFile(filepath.Join(dir, MarkerFile))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("nodejs: %s: %w", MarkerFile, err)
	}
	return m, nil
}

// entryPoint is /var/runtime/index.mjs. Lambda's own starts the client with
// the task root and handler from the environment; aws-lambda-ric's bin
// script takes the handler from argv, uses the working directory and prints
// an "Executing ..." line Lambda does not print. This does neither: the
// handler comes from argv (Command) or else _HANDLER.
const entryPoint = `// Started by sluice as: node /var/runtime/index.mjs <handler>
import { run } from "./node_modules/aws-lambda-ric/dist/index.mjs";

const handler = process.argv[2] || process.env._HANDLER;
const appRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
await run(appRoot, handler);
`

// BuildToolsHint says what the native build of the client needs.
const BuildToolsHint = "the Node.js runtime client needs cmake, autoconf, automake, libtool, make and g++ to build: apt-get install -y cmake autoconf automake libtool make g++"

// buildTools are the programs the client's install scripts run (curl's
// buildconf and configure, aws-lambda-cpp's cmake, node-gyp). python3 is
// node-gyp's.
var buildTools = []string{"cmake", "autoreconf", "aclocal", "libtoolize", "make", "g++", "python3"}

// Install provisions the Node.js runtime interface client into dir, which
// must not exist yet or be empty. It runs npm (next to node, or on PATH)
// with --no-audit --no-fund --prefer-offline, so an installation works
// offline when npm's cache holds the packages, and writes MarkerFile last.
// npm's output goes to log at debug level; on failure its last lines are in
// the error, with what to install when a build tool is missing.
func Install(ctx context.Context, dir, node string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := emptyDir(dir); err != nil {
		return err
	}
	nodePath, version, err := nodeVersion(ctx, node)
	if err != nil {
		return err
	}
	npm, err := findNPM(nodePath)
	if err != nil {
		return err
	}
	if missing := missingTools(); len(missing) > 0 {
		return fmt.Errorf("nodejs: %s not found: %s", strings.Join(missing, ", "), BuildToolsHint)
	}
	pkg := fmt.Sprintf(`{"name":"sluice-nodejs-runtime","private":true,"dependencies":{"aws-lambda-ric":%q}}`+"\n", RICVersion)
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(pkg), 0o644); err != nil {
		return fmt.Errorf("nodejs: %w", err)
	}
	start := time.Now()
	log.Info("installing the Node.js runtime client (a native build, about a minute)",
		"ric", RICVersion, "node", nodePath, "nodeVersion", version, "npm", npm, "dir", dir)
	cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--prefer-offline",
		"--omit=dev", "--foreground-scripts", "--no-update-notifier")
	cmd.Dir = dir
	cmd.Env = npmEnv(nodePath)
	// npm runs sh, make, cmake and the compilers: on cancellation the
	// whole process group goes, not npm alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out := newTail(40)
	w := &logWriter{log: log, tail: out}
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Run()
	w.flush()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("nodejs: installing aws-lambda-ric@%s: %w", RICVersion, ctx.Err())
		}
		return fmt.Errorf("nodejs: npm install aws-lambda-ric@%s failed (%v): %s\n%s",
			RICVersion, err, diagnose(out.all()), strings.Join(out.lines(), "\n"))
	}
	if err := finish(ctx, dir, nodePath); err != nil {
		return err
	}
	m, err := json.Marshal(Marker{RIC: RICVersion, NodeVersion: version, Installed: time.Now().UTC()})
	if err != nil {
		return fmt.Errorf("nodejs: %w", err)
	}
	if err := writeFileSync(filepath.Join(dir, MarkerFile), append(m, '\n')); err != nil {
		return fmt.Errorf("nodejs: %w", err)
	}
	log.Info("installed the Node.js runtime client", "ric", RICVersion, "nodeVersion", version,
		"took", time.Since(start).Round(time.Millisecond))
	return nil
}

// finish writes the entry point, checks that node loads the client with
// its native part, and removes what the runtime does not need: the build
// dependencies (node-gyp and its 100-odd packages), which on Lambda would
// not be on NODE_PATH either, and the bundled C++ sources.
func finish(ctx context.Context, dir, node string) error {
	if err := os.WriteFile(filepath.Join(dir, "index.mjs"), []byte(entryPoint), 0o644); err != nil {
		return fmt.Errorf("nodejs: %w", err)
	}
	ric := filepath.Join(dir, "node_modules", "aws-lambda-ric")
	check := exec.CommandContext(ctx, node, "--input-type=module", "-e",
		`const m = await import(process.argv[1]); if (typeof m.run !== "function") throw new Error("no run export");`,
		filepath.Join(ric, "dist", "index.mjs"))
	check.Dir = dir
	if out, err := check.CombinedOutput(); err != nil {
		return fmt.Errorf("nodejs: the installed aws-lambda-ric does not load (%v): %s", err, lastLines(string(out), 10))
	}
	native := exec.CommandContext(ctx, node, "-e", `require(process.argv[1])`, filepath.Join(ric, "dist", "rapid-client.node"))
	// Loading the addon reads AWS_LAMBDA_RUNTIME_API (and aborts without
	// it); it does not connect.
	native.Env = append(os.Environ(), "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9")
	if out, err := native.CombinedOutput(); err != nil {
		return fmt.Errorf("nodejs: the native part of aws-lambda-ric does not load (%v): %s", err, lastLines(string(out), 10))
	}
	modules := filepath.Join(dir, "node_modules")
	entries, err := os.ReadDir(modules)
	if err != nil {
		return fmt.Errorf("nodejs: %w", err)
	}
	for _, e := range entries {
		if e.Name() == "aws-lambda-ric" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(modules, e.Name())); err != nil {
			return fmt.Errorf("nodejs: %w", err)
		}
	}
	for _, d := range []string{"deps", "build", "src"} {
		if err := os.RemoveAll(filepath.Join(ric, d)); err != nil {
			return fmt.Errorf("nodejs: %w", err)
		}
	}
	return nil
}

// Command is the argv that starts the runtime inside the environment, where
// the installed directory is bound read-only at /var/runtime and node is the
// node binary's path as seen inside (e.g. /usr/bin/node).
func Command(node, handler string) []string {
	return []string{node, "/var/runtime/index.mjs", handler}
}

// Env is the runtime-specific environment of a nodejs<major>.x function, as
// Lambda sets it. The client also needs the common Lambda variables
// (_HANDLER, LAMBDA_TASK_ROOT, AWS_LAMBDA_RUNTIME_API,
// AWS_LAMBDA_FUNCTION_NAME/VERSION/MEMORY_SIZE,
// AWS_LAMBDA_LOG_GROUP_NAME/STREAM_NAME), which are not specific to Node.
func Env(major int) map[string]string {
	return map[string]string{
		"NODE_PATH": fmt.Sprintf("/opt/nodejs/node%d/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task", major),
		// Lambda's value; the client reads it for its user agent.
		"AWS_EXECUTION_ENV": fmt.Sprintf("AWS_Lambda_nodejs%d.x", major),
	}
}

// NodeMajor returns the major version of a `node --version` string
// (v20.20.2 → 20).
func NodeMajor(version string) (int, error) {
	v := strings.TrimPrefix(strings.TrimSpace(version), "v")
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("nodejs: not a Node.js version: %q", version)
	}
	return n, nil
}

// NodeVersion runs node --version; node is a path or a name on PATH. It
// returns the absolute path of the binary and the version (v20.20.2).
func NodeVersion(ctx context.Context, node string) (path, version string, err error) {
	return nodeVersion(ctx, node)
}

func nodeVersion(ctx context.Context, node string) (string, string, error) {
	if node == "" {
		node = "node"
	}
	path, err := exec.LookPath(node)
	if err != nil {
		return "", "", fmt.Errorf("nodejs: Node.js not found (%q): install Node.js 18 or later (apt-get install -y nodejs npm) or name the binary with --node", node)
	}
	if path, err = filepath.Abs(path); err != nil {
		return "", "", fmt.Errorf("nodejs: %w", err)
	}
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return "", "", fmt.Errorf("nodejs: %s --version: %v", path, err)
	}
	version := strings.TrimSpace(string(out))
	major, err := NodeMajor(version)
	if err != nil {
		return "", "", err
	}
	if major < 18 {
		return "", "", fmt.Errorf("nodejs: %s is Node.js %s; aws-lambda-ric %s needs Node.js 18 or later", path, version, RICVersion)
	}
	return path, version, nil
}

// findNPM looks for npm next to node (also next to the file a symlinked
// node points at), then on PATH.
func findNPM(node string) (string, error) {
	dirs := []string{filepath.Dir(node)}
	if real, err := filepath.EvalSymlinks(node); err == nil && filepath.Dir(real) != dirs[0] {
		dirs = append(dirs, filepath.Dir(real))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "npm")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath("npm"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("nodejs: npm not found next to %s or on PATH: install it (apt-get install -y npm)", node)
}

// npmEnv is this process's environment with node's directory first on PATH
// (npm and node-gyp run `node` from PATH, and must build against this
// one), and node's own headers for node-gyp when they are installed with
// it, so the build needs no download.
func npmEnv(node string) []string {
	env := os.Environ()
	env = append(env, "PATH="+filepath.Dir(node)+string(os.PathListSeparator)+os.Getenv("PATH"))
	if os.Getenv("npm_config_nodedir") == "" {
		prefix := filepath.Dir(filepath.Dir(node))
		if real, err := filepath.EvalSymlinks(node); err == nil {
			prefix = filepath.Dir(filepath.Dir(real))
		}
		if _, err := os.Stat(filepath.Join(prefix, "include", "node", "node_api.h")); err == nil {
			env = append(env, "npm_config_nodedir="+prefix)
		}
	}
	return env
}

func missingTools() []string {
	var missing []string
	for _, t := range buildTools {
		if _, err := exec.LookPath(t); err != nil {
			missing = append(missing, t)
		}
	}
	return missing
}

// diagnose turns npm's output into a sentence about what to do.
func diagnose(out string) string {
	switch {
	case strings.Contains(out, "cmake is not installed"), strings.Contains(out, "autoreconf: not found"),
		strings.Contains(out, "libtoolize: not found"), strings.Contains(out, "g++: not found"),
		strings.Contains(out, "make: not found"), strings.Contains(out, "No CMAKE_CXX_COMPILER could be found"):
		return BuildToolsHint
	case strings.Contains(out, "ENOTFOUND"), strings.Contains(out, "EAI_AGAIN"), strings.Contains(out, "ENETUNREACH"),
		strings.Contains(out, "ECONNREFUSED"), strings.Contains(out, "ETIMEDOUT"), strings.Contains(out, "ENOTCACHED"):
		return fmt.Sprintf("the npm registry cannot be reached and npm's cache does not hold aws-lambda-ric@%s and its dependencies: connect once, or fill the cache elsewhere with `npm cache add aws-lambda-ric@%s`", RICVersion, RICVersion)
	case strings.Contains(out, "gyp ERR!"):
		return "node-gyp could not build the client's native part (it needs Node's headers: install the nodejs dev headers, or let node-gyp download them); " + BuildToolsHint
	default:
		return BuildToolsHint
	}
}

func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("nodejs: %w", err)
		}
	case err != nil:
		return fmt.Errorf("nodejs: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("nodejs: install into %s: the directory is not empty", dir)
	}
	// The sandbox runs functions as a uid of their own: they must be able
	// to read the runtime (a directory from os.MkdirTemp is 0700).
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("nodejs: %w", err)
	}
	return nil
}

func writeFileSync(name string, b []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// tail keeps the last n lines written to it, and everything for diagnose.
type tail struct {
	n   int
	buf []string
	sb  strings.Builder
}

func newTail(n int) *tail { return &tail{n: n} }

func (t *tail) add(line string) {
	t.sb.WriteString(line)
	t.sb.WriteByte('\n')
	t.buf = append(t.buf, line)
	if len(t.buf) > t.n {
		t.buf = t.buf[len(t.buf)-t.n:]
	}
}

func (t *tail) lines() []string { return t.buf }
func (t *tail) all() string     { return t.sb.String() }

// logWriter splits npm's output (stdout and stderr, from two copying
// goroutines of os/exec) into lines for the log and the tail.
type logWriter struct {
	mu      sync.Mutex
	log     *slog.Logger
	tail    *tail
	partial []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.line(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
	return len(p), nil
}

func (w *logWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.line(string(w.partial))
		w.partial = nil
	}
}

func (w *logWriter) line(s string) {
	s = strings.TrimRight(s, "\r")
	if strings.TrimSpace(s) == "" {
		return
	}
	w.tail.add(s)
	w.log.Debug("npm", "line", s)
}

var _ io.Writer = (*logWriter)(nil)
