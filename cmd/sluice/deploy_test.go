package main

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/fsnotify/fsnotify"
)

// writeTree writes files (path → content) below a new temporary
// directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDeployDetect(t *testing.T) {
	for _, tc := range []struct {
		name             string
		files            map[string]string
		goMain           bool
		runtime, handler string
		err              string
	}{
		{name: "go main", files: map[string]string{"go.mod": "module x\n", "main.go": "package main\nfunc main() {}\n", "main_test.go": "package main_test\n"},
			goMain: true, runtime: "provided.al2023", handler: "bootstrap"},
		{name: "go main among other files", files: map[string]string{"util.go": "// Doc.\npackage main\n", "index.js": ""},
			goMain: true, runtime: "provided.al2023", handler: "bootstrap"},
		{name: "go library", files: map[string]string{"lib.go": "package lib\n"}, err: "not a main package"},
		{name: "go library beside a Node.js handler", files: map[string]string{"tool.go": "package tool\n", "index.mjs": ""},
			runtime: "nodejs20.x", handler: "index.handler"},
		{name: "go syntax error", files: map[string]string{"main.go": "pack main\n"}, err: "main.go"},
		{name: "node index.mjs", files: map[string]string{"index.mjs": "export const handler = async () => 1;\n", "lib.mjs": ""},
			runtime: "nodejs20.x", handler: "index.handler"},
		{name: "node package.json main", files: map[string]string{"package.json": `{"main": "src/app.js"}`, "src/app.js": ""},
			runtime: "nodejs20.x", handler: "src/app.handler"},
		{name: "node package.json main outside", files: map[string]string{"package.json": `{"main": "../x.js"}`, "index.js": ""},
			runtime: "nodejs20.x", handler: "index.handler"},
		{name: "node package.json without main", files: map[string]string{"package.json": `{}`, "node_modules/a/index.js": ""},
			runtime: "nodejs20.x", handler: "index.handler"},
		{name: "node one module", files: map[string]string{"fn.cjs": ""}, runtime: "nodejs20.x", handler: "fn.handler"},
		{name: "python app", files: map[string]string{"app.py": "", "lambda_function.py": "", "util.py": ""}, runtime: "python3.12", handler: "app.handler"},
		{name: "python lambda_function", files: map[string]string{"lambda_function.py": "", "util.py": ""},
			runtime: "python3.12", handler: "lambda_function.lambda_handler"},
		{name: "python one module", files: map[string]string{"fn.py": ""}, runtime: "python3.12", handler: "fn.handler"},
		{name: "bootstrap", files: map[string]string{"bootstrap": "#!/bin/sh\n"}, runtime: "provided.al2023", handler: "bootstrap"},
		{name: "editor temporaries only", files: map[string]string{"index.js~": "", ".#app.py": ""}, err: "cannot tell"},
		{name: "empty", files: map[string]string{}, err: "cannot tell"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := detect(writeTree(t, tc.files))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("detect: %+v, %v; want an error with %q", p, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.goMain != tc.goMain || p.runtime != tc.runtime || p.handler != tc.handler {
				t.Errorf("detect: %+v, want goMain %v, %s, %s", p, tc.goMain, tc.runtime, tc.handler)
			}
		})
	}
}

func TestDeployZip(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"index.mjs":                     "export const handler = async () => 'hi';\n",
		"lib/util.mjs":                  "export const x = 1;\n",
		"node_modules/dep/index.js":     "module.exports = 1;\n",
		".git/HEAD":                     "ref: refs/heads/main\n",
		"sub/.git/config":               "",
		"__pycache__/x.pyc":             "",
		"index.mjs~":                    "",
		".index.mjs.swp":                "",
		"#index.mjs#":                   "",
		".#index.mjs":                   "",
		"index.mjs___jb_tmp___":         "",
		".DS_Store":                     "",
		"lib/4913":                      "",
		"node_modules/dep/package.json": "{}",
	})
	if err := os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("index.mjs", filepath.Join(dir, "link.mjs")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("lib", filepath.Join(dir, "linkdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("missing", filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}
	z, err := zipDirectory(dir)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(z.data), int64(len(z.data)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		names = append(names, f.Name)
		files[f.Name] = f
	}
	sort.Strings(names)
	want := []string{"index.mjs", "lib/util.mjs", "link.mjs", "node_modules/dep/index.js", "node_modules/dep/package.json", "run.sh"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("zipped %q, want %q", names, want)
	}
	if z.files != len(want) {
		t.Errorf("files = %d, want %d", z.files, len(want))
	}
	if m := files["run.sh"].Mode().Perm(); m != 0o755 {
		t.Errorf("run.sh mode %v, want 0755", m)
	}
	if m := files["index.mjs"].Mode().Perm(); m != 0o644 {
		t.Errorf("index.mjs mode %v, want 0644", m)
	}
	rc, err := files["link.mjs"].Open()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "export const handler = async () => 'hi';\n" {
		t.Errorf("link.mjs holds %q, want index.mjs's content", b)
	}
}

func TestDeployGoBuildError(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"go.mod":  "module broken\n\ngo 1.22\n",
		"main.go": "package main\n\nfunc main() { undefinedThing() }\n",
	})
	tmp := t.TempDir()
	err := buildGo(context.Background(), dir, tmp)
	if err == nil || !strings.Contains(err.Error(), "undefinedThing") {
		t.Fatalf("buildGo: %v; want go build's output naming undefinedThing", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("the build wrote into DIR: %d entries", len(ents))
	}
}

func TestDeployConfigChange(t *testing.T) {
	cur := &types.FunctionConfiguration{Runtime: types.RuntimeNodejs20x, Handler: aws.String("index.handler")}
	if in := configChange(cur, deployOptions{}); in != nil {
		t.Errorf("no flags: %+v, want nil", in)
	}
	if in := configChange(cur, deployOptions{runtime: "nodejs20.x", handler: "index.handler"}); in != nil {
		t.Errorf("flags as the function is: %+v, want nil", in)
	}
	in := configChange(cur, deployOptions{runtime: "nodejs22.x", handler: "index.handler"})
	if in == nil || in.Runtime != "nodejs22.x" || in.Handler != nil {
		t.Errorf("new runtime: %+v", in)
	}
	in = configChange(cur, deployOptions{handler: "app.main"})
	if in == nil || in.Runtime != "" || aws.ToString(in.Handler) != "app.main" {
		t.Errorf("new handler: %+v", in)
	}
}

func TestDeployWatchRelevant(t *testing.T) {
	d := &deployer{opts: deployOptions{dir: "/src/fn"}}
	for name, want := range map[string]bool{
		"/src/fn/index.mjs":                 true,
		"/src/fn/lib/a.mjs":                 true,
		"/src/fn/node_modules":              true,
		"/src/fn/.git":                      false,
		"/src/fn/.git/index":                false,
		"/src/fn/lib/.git/x/y":              false,
		"/src/fn/.index.mjs.swp":            false,
		"/src/fn/index.mjs~":                false,
		"/src/fn/go.sum":                    false,
		"/src/fn/__pycache__/app.cpython.c": false,
	} {
		if got := d.relevant(fsnotify.Event{Name: name, Op: fsnotify.Write}); got != want {
			t.Errorf("relevant(%s) = %v, want %v", name, got, want)
		}
	}
	if d.relevant(fsnotify.Event{Name: "/src/fn/index.mjs", Op: fsnotify.Chmod}) {
		t.Error("a change of permissions only is relevant")
	}
}

func TestDeployUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := deployCommand(context.Background(), []string{"--help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "--watch") || !strings.Contains(out.String(), "Usage: sluice deploy DIR") {
		t.Errorf("--help: exit %d, stdout %q", code, out.String())
	}
	for _, args := range [][]string{{}, {"a", "b"}, {"--bogus", "."}, {filepath.Join(t.TempDir(), "missing")}} {
		out.Reset()
		errOut.Reset()
		if code := deployCommand(context.Background(), args, &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a message", args, code, errOut.String())
		}
	}
}

func TestDeployProgressPlain(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b)
	p.step("building")
	p.status("waiting: Pending")
	p.status("waiting: Pending")
	p.status("waiting: Active, last update InProgress")
	p.line("active")
	want := "building\nwaiting: Pending\nwaiting: Active, last update InProgress\nactive\n"
	if b.String() != want {
		t.Errorf("plain progress:\n%q\nwant\n%q", b.String(), want)
	}
}
