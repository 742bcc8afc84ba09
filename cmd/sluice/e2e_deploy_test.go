package main

// `sluice deploy` end to end, run as a user would: the real binary
// against a real `sluice serve` (unsandboxed, its own data dir, the tests'
// shared runtimes): a Go main package built and deployed, a Node.js folder
// zipped and deployed, updates, failures, and --watch picking up an edit.

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/sluice-dev/sluice/internal/lambdaclient"
)

// deployEnv is a sluice server and the binary to run `sluice deploy` with.
type deployEnv struct {
	bin    string
	url    string
	client *lambda.Client
}

// run runs `sluice deploy args...` and returns its stdout, stderr and
// exit code.
func (e *deployEnv) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := e.command(args...)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("sluice deploy: %v", err)
	}
	return stdout.String(), stderr.String(), code
}

func (e *deployEnv) command(args ...string) *exec.Cmd {
	cmd := exec.Command(e.bin, append([]string{"deploy"}, args...)...)
	// The endpoint from the environment, as the README has it; go build
	// may resolve the function's module requirements.
	cmd.Env = append(os.Environ(), "AWS_ENDPOINT_URL="+e.url, "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=mod"))
	return cmd
}

// invoke invokes name and returns the JSON string it answered.
func (e *deployEnv) invoke(t *testing.T, name string) string {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := e.client.Invoke(c, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"who":"e2e"}`)})
	if err != nil {
		t.Fatalf("Invoke %s: %v", name, err)
	}
	if out.FunctionError != nil {
		t.Fatalf("Invoke %s: %s: %s", name, *out.FunctionError, out.Payload)
	}
	var s string
	if err := json.Unmarshal(out.Payload, &s); err != nil {
		t.Fatalf("Invoke %s answered %s: %v", name, out.Payload, err)
	}
	return s
}

// inOrder fails t unless each of lines is a line of out, in this order.
func inOrder(t *testing.T, out string, lines ...*regexp.Regexp) {
	t.Helper()
	rest := strings.Split(out, "\n")
outer:
	for _, re := range lines {
		for i, l := range rest {
			if re.MatchString(l) {
				rest = rest[i+1:]
				continue outer
			}
		}
		t.Fatalf("no line %s (after the lines before it) in the output:\n%s", re, out)
	}
}

// aws-lambda-go's version in this repository's go.mod, for the Go
// function's own go.mod.
func lambdaGoVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/aws/aws-lambda-go (v\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no github.com/aws/aws-lambda-go in go.mod")
	}
	return string(m[1])
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const goHandler = `package main

import "github.com/aws/aws-lambda-go/lambda"

func main() {
	lambda.Start(func(ev struct{ Who string }) (string, error) { return "REPLY " + ev.Who, nil })
}
`

func nodeHandlerSource(reply string) string {
	return "export const handler = async (event) => `" + reply + " ${event.who}`;\n"
}

func TestE2EDeploy(t *testing.T) {
	t.Parallel()
	bin := buildSluice(t)
	srv := startSluice(t, bin, "--sandbox", "none", "--data-dir", t.TempDir(), "--runtimes-dir", testRuntimesDir)
	e := &deployEnv{bin: bin, url: srv.url, client: lambdaclient.New(srv.url, "test", "test")}

	t.Run("GoMainPackage", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "hello-go")
		writeFiles(t, dir, map[string]string{
			"go.mod":  "module hello\n\ngo 1.22\n\nrequire github.com/aws/aws-lambda-go " + lambdaGoVersion(t) + "\n",
			"main.go": strings.Replace(goHandler, "REPLY", "go v1", 1),
		})
		stdout, stderr, code := e.run(t, dir)
		if code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		inOrder(t, stdout, regexp.MustCompile(`^building$`), regexp.MustCompile(`^zipping 1 file \([0-9.]+ KiB\)$`),
			regexp.MustCompile(`^created hello-go$`), regexp.MustCompile(`^active$`))
		if got := e.invoke(t, "hello-go"); got != "go v1 e2e" {
			t.Errorf("hello-go answered %q, want %q", got, "go v1 e2e")
		}
		if _, err := os.Stat(filepath.Join(dir, "bootstrap")); !os.IsNotExist(err) {
			t.Errorf("the build wrote into DIR: %v", err)
		}
		cfg, err := e.client.GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("hello-go")})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Runtime != "provided.al2023" || aws.ToString(cfg.Handler) != "bootstrap" {
			t.Errorf("hello-go: runtime %s, handler %s", cfg.Runtime, aws.ToString(cfg.Handler))
		}

		// An edit, deployed again: an update of the code.
		writeFiles(t, dir, map[string]string{"main.go": strings.Replace(goHandler, "REPLY", "go v2", 1)})
		stdout, stderr, code = e.run(t, dir)
		if code != 0 {
			t.Fatalf("second deploy: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		inOrder(t, stdout, regexp.MustCompile(`^building$`), regexp.MustCompile(`^updated hello-go$`), regexp.MustCompile(`^active$`))
		if got := e.invoke(t, "hello-go"); got != "go v2 e2e" {
			t.Errorf("after the update hello-go answered %q, want %q", got, "go v2 e2e")
		}

		// A build error: go build's output on stderr, exit 1, the
		// function as it was.
		writeFiles(t, dir, map[string]string{"main.go": "package main\n\nfunc main() { undefinedThing() }\n"})
		stdout, stderr, code = e.run(t, dir)
		if code != 1 || !strings.Contains(stderr, "undefinedThing") || strings.Contains(stdout, "updated") {
			t.Errorf("a build error: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if got := e.invoke(t, "hello-go"); got != "go v2 e2e" {
			t.Errorf("after a failed build hello-go answered %q", got)
		}
	})

	t.Run("NodeFolder", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "src")
		writeFiles(t, dir, map[string]string{
			"index.mjs":                     "import { greet } from './lib/greet.mjs';\nimport dep from 'dep';\nexport const handler = async (event) => greet(event.who) + dep;\n",
			"lib/greet.mjs":                 "export const greet = (who) => `node hello ${who}`;\n",
			"node_modules/dep/package.json": `{"name": "dep", "main": "index.js"}`,
			"node_modules/dep/index.js":     "module.exports = ' (with dep)';\n",
			".git/HEAD":                     "ref: refs/heads/main\n",
		})
		stdout, stderr, code := e.run(t, dir, "--name", "hello-node")
		if code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		inOrder(t, stdout, regexp.MustCompile(`^zipping 4 files \([0-9.]+ KiB\)$`), regexp.MustCompile(`^created hello-node$`), regexp.MustCompile(`^active$`))
		if strings.Contains(stdout, "building") {
			t.Errorf("a Node folder was built:\n%s", stdout)
		}
		if got := e.invoke(t, "hello-node"); got != "node hello e2e (with dep)" {
			t.Errorf("hello-node answered %q", got)
		}
		cfg, err := e.client.GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("hello-node")})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Runtime != "nodejs20.x" || aws.ToString(cfg.Handler) != "index.handler" {
			t.Errorf("hello-node: runtime %s, handler %s", cfg.Runtime, aws.ToString(cfg.Handler))
		}

		// --handler on an update changes the configuration too.
		writeFiles(t, dir, map[string]string{"other.mjs": nodeHandlerSource("other")})
		stdout, stderr, code = e.run(t, dir, "--name", "hello-node", "--handler", "other.handler")
		if code != 0 {
			t.Fatalf("update with --handler: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		inOrder(t, stdout, regexp.MustCompile(`^updated hello-node$`), regexp.MustCompile(`^updated the configuration of hello-node$`), regexp.MustCompile(`^active$`))
		if got := e.invoke(t, "hello-node"); got != "other e2e" {
			t.Errorf("after --handler hello-node answered %q", got)
		}

		// An API error: its code and message on stderr, exit 1.
		stdout, stderr, code = e.run(t, dir, "--name", "bad-runtime", "--runtime", "nodejs99.x")
		if code != 1 || !strings.Contains(stderr, "CreateFunction: InvalidParameterValueException: ") || !strings.Contains(stderr, "nodejs99.x") {
			t.Errorf("an invalid runtime: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})

	t.Run("Watch", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "watched")
		writeFiles(t, dir, map[string]string{"index.mjs": nodeHandlerSource("v1")})
		cmd := e.command(dir, "--watch")
		var stderr syncBuffer
		cmd.Stderr = &stderr
		pipe, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		done := make(chan struct{})
		var stdout syncBuffer
		watching := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(pipe)
			once := false
			for sc.Scan() {
				stdout.Write([]byte(sc.Text() + "\n"))
				if !once && strings.HasPrefix(sc.Text(), "watching ") {
					once = true
					close(watching)
				}
			}
			exited <- cmd.Wait()
			close(done)
		}()
		t.Cleanup(func() {
			select {
			case <-done:
			default:
				_ = cmd.Process.Kill()
				<-done
			}
		})
		select {
		case <-watching:
		case err := <-exited:
			t.Fatalf("deploy --watch exited: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		case <-time.After(3 * time.Minute):
			t.Fatalf("deploy --watch did not start watching\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		if got := e.invoke(t, "watched"); got != "v1 e2e" {
			t.Fatalf("watched answered %q before the edit", got)
		}

		// An edit: the next invocations answer anew, without a deploy.
		writeFiles(t, dir, map[string]string{"index.mjs": nodeHandlerSource("v2")})
		deadline := time.Now().Add(2 * time.Minute)
		for got := ""; got != "v2 e2e"; got = e.invoke(t, "watched") {
			if time.Now().After(deadline) {
				t.Fatalf("watched still answers %q 2 minutes after the edit\nstdout:\n%s\nstderr:\n%s", got, stdout.String(), stderr.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
		inOrder(t, stdout.String(), regexp.MustCompile(`^created watched$`), regexp.MustCompile(`^watching `),
			regexp.MustCompile(`^changed: index\.mjs$`), regexp.MustCompile(`^updated watched$`), regexp.MustCompile(`^active$`))

		// An editor's swap file is no change.
		before := strings.Count(stdout.String(), "changed: ")
		writeFiles(t, dir, map[string]string{".index.mjs.swp": "swap", "index.mjs~": "backup"})
		time.Sleep(2 * time.Second)
		if n := strings.Count(stdout.String(), "changed: "); n != before {
			t.Errorf("editor temporaries were deployed:\n%s", stdout.String())
		}

		// Interrupted, it exits 0.
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("deploy --watch after SIGINT: %v\nstderr:\n%s", err, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("deploy --watch did not stop within 30 s of SIGINT")
		}
	})
}
