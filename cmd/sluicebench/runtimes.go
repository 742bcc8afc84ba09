package main

// The cold starts per runtime: a Go function (provided.al2023, the
// aws-lambda-go bootstrap of internal/testfunction), a Node.js function
// (nodejs20.x, internal/testfunction/node/buffered under AWS's runtime
// interface client) and a Python function (python3.12,
// internal/testfunction/python under sluice's bootstrap), each beside the
// relay starting the same interpreter: the Go bootstrap itself, or `node -e`
// and `python3 -c` running the smallest Runtime API client there is (GET
// /next, POST /response, again). The baseline is the interpreter's start
// until its first GET /next; the runtime client's own start (loading the
// handler, its imports) is part of what it leaves out, as is the sandbox.

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// function is what a target creates. sluice deploys it; the relay knows
// what to run from the function's name alone.
type function struct {
	runtime types.Runtime
	handler string
	zip     []byte
}

// activeTimeout is how long sluice may take to make fn Active: the first
// nodejs function provisions the runtime client (a native build of a
// minute or more on a machine that has not built it yet).
func (fn function) activeTimeout() time.Duration {
	if fn.runtime == types.RuntimeProvidedal2023 {
		return time.Minute
	}
	return 10 * time.Minute
}

// runtimeCase is one runtime whose cold start is measured.
type runtimeCase struct {
	// key names the rows ("nodejs" → cold_start_nodejs_p50) and, as the
	// part of the cold functions' names before "-", tells the relay what
	// to start. Empty for Go, whose rows and names predate the others
	// (cold_start_p50, echo-cold-000).
	key string
	// prefix of the function names: PREFIX-cold-000, ...
	prefix string
	fn     function
}

// Relay handlers that start an interpreter instead of the bootstrap.
const (
	relayNode   = "node"
	relayPython = "python"
)

// Environment variables that pass the interpreters' paths to the relay.
const (
	relayNodeEnv   = "SLUICEBENCH_RELAY_NODE"
	relayPythonEnv = "SLUICEBENCH_RELAY_PYTHON"
)

// nodeBaseline is the relay's Node.js "runtime": a loop of GET /next and
// POST /response with the event wrapped as {"event": ...}, as the buffered
// test function answers. CommonJS, node:http only.
const nodeBaseline = `const http = require("node:http");
const api = "http://" + process.env.AWS_LAMBDA_RUNTIME_API + "/2018-06-01/runtime/invocation/";
(function loop() {
  http.get(api + "next", (res) => {
    const id = res.headers["lambda-runtime-aws-request-id"];
    const body = [];
    res.on("data", (c) => body.push(c));
    res.on("end", () => {
      const req = http.request(api + id + "/response", { method: "POST" }, (r) => { r.resume(); r.on("end", loop); });
      req.end('{"event":' + Buffer.concat(body) + "}");
    });
  });
})();
`

// pythonBaseline is the same loop in Python, with http.client only.
const pythonBaseline = `import http.client, os
c = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"])
while True:
    c.request("GET", "/2018-06-01/runtime/invocation/next")
    r = c.getresponse()
    rid = r.getheader("Lambda-Runtime-Aws-Request-Id")
    event = r.read()
    c.request("POST", "/2018-06-01/runtime/invocation/%s/response" % rid, b'{"event":' + event + b"}")
    c.getresponse().read()
`

// relayCommand is the argv the relay starts for handler: the interpreter
// with its baseline script, or the bootstrap.
func relayCommand(bootstrap, node, python, handler string) []string {
	switch handler {
	case relayNode:
		return []string{node, "-e", nodeBaseline}
	case relayPython:
		return []string{python, "-c", pythonBaseline}
	}
	return []string{bootstrap}
}

// interpreters are the node and python3 that both sides run.
type interpreters struct {
	node, python               string // paths
	nodeVersion, pythonVersion string // as --version prints them
}

// findInterpreters resolves node and python3 as sluice does by default
// (node on PATH; /usr/bin/python3, else python3 on PATH); sluice is then
// given the same paths.
func findInterpreters(ctx context.Context) (interpreters, error) {
	var in interpreters
	var err error
	if in.node, err = exec.LookPath("node"); err != nil {
		return in, fmt.Errorf("the nodejs20.x cold start needs node (or -runtimes=false): %w", err)
	}
	in.python = "/usr/bin/python3"
	if _, err := os.Stat(in.python); err != nil {
		if in.python, err = exec.LookPath("python3"); err != nil {
			return in, fmt.Errorf("the python3.12 cold start needs python3 (or -runtimes=false): %w", err)
		}
	}
	version := func(bin string) (string, error) {
		out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("%s --version: %v: %s", bin, err, out)
		}
		return strings.TrimSpace(string(out)), nil
	}
	if in.nodeVersion, err = version(in.node); err != nil {
		return in, err
	}
	if in.pythonVersion, err = version(in.python); err != nil {
		return in, err
	}
	return in, nil
}

// runtimeCases are the interpreted runtimes' cold starts, their code read
// from internal/testfunction (testfunctionDir).
func runtimeCases(testfunctionDir string) ([]runtimeCase, error) {
	nodeZip, err := zipDir(filepath.Join(testfunctionDir, "node", "buffered"))
	if err != nil {
		return nil, err
	}
	pyZip, err := zipDir(filepath.Join(testfunctionDir, "python"))
	if err != nil {
		return nil, err
	}
	return []runtimeCase{
		{key: "nodejs", prefix: relayNode, fn: function{runtime: types.RuntimeNodejs20x, handler: "index.handler", zip: nodeZip}},
		{key: "python", prefix: relayPython, fn: function{runtime: types.RuntimePython312, handler: "app.context", zip: pyZip}},
	}, nil
}

// zipDir zips the regular files under dir, paths relative to it.
func zipDir(dir string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "__pycache__" {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		h := &zip.FileHeader{Name: filepath.ToSlash(rel), Method: zip.Deflate}
		h.SetMode(0o644)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("zipping %s: %w", dir, err)
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
