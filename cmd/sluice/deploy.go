package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

const deployUsage = `Usage: sluice deploy DIR [flags]

Zips DIR and creates the function, or updates its code, then waits until
it is Active. A Go main package is built first (CGO_ENABLED=0 GOOS=linux
go build -tags lambda.norpc, into a temporary directory) and deployed as
a provided.al2023 bootstrap; a folder with package.json or *.js/*.mjs
files is a Node.js function (nodejs20.x, handler index.handler or the
"main" of package.json); a folder with *.py files is a Python function
(python3.12, handler app.handler or lambda_function.lambda_handler).
.git is left out of the zip; node_modules is kept.

With --watch, DIR is deployed again whenever a file in it changes, until
interrupted.

Flags:
`

// deployDefaultRole is the execution role of functions deploy creates
// (sluice checks only its form).
const deployDefaultRole = "arn:aws:iam::000000000000:role/sluice-deploy"

// deployWaitLimit bounds the wait for Active: the first function of a
// runtime may wait for its provisioning (minutes for Node.js).
const deployWaitLimit = 15 * time.Minute

// deployOptions are deploy's flags.
type deployOptions struct {
	dir, name, runtime, handler, role string
	watch                             bool
}

func deployCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o deployOptions
	var cf clientFlags
	fset := flag.NewFlagSet("deploy", flag.ContinueOnError)
	fset.SetOutput(stderr)
	cf.register(fset, nil)
	fset.StringVar(&o.name, "name", "", "the function's name (default: DIR's base name)")
	fset.StringVar(&o.runtime, "runtime", "", "the function's runtime (default: detected from DIR)")
	fset.StringVar(&o.handler, "handler", "", "the function's handler (default: detected from DIR)")
	fset.StringVar(&o.role, "role", deployDefaultRole, "the execution role of a new function")
	fset.BoolVar(&o.watch, "watch", false, "deploy again whenever a file in DIR changes, until interrupted")
	help := func(w io.Writer) {
		fmt.Fprint(w, deployUsage)
		deployPrintFlags(w, fset)
	}
	fset.Usage = func() {} // deploy prints its help itself, to stdout for --help
	var dirs []string
	rest := args
	for {
		if err := fset.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				help(stdout)
				return 0
			}
			fmt.Fprintln(stderr)
			help(stderr)
			return 2
		}
		if fset.NArg() == 0 {
			break
		}
		dirs = append(dirs, fset.Arg(0))
		rest = fset.Args()[1:]
	}
	if len(dirs) != 1 {
		fmt.Fprintf(stderr, "sluice deploy: one directory, got %d\n\n", len(dirs))
		help(stderr)
		return 2
	}
	dir, err := filepath.Abs(dirs[0])
	if err != nil {
		fmt.Fprintf(stderr, "sluice deploy: %v\n", err)
		return 2
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		fmt.Fprintf(stderr, "sluice deploy: %s is not a directory\n", dirs[0])
		return 2
	}
	o.dir = dir
	if o.name == "" {
		o.name = filepath.Base(dir)
	}
	d := &deployer{opts: o, client: cf.lambda(ctx), out: newProgress(stdout), stderr: stderr}
	if o.watch {
		return d.watch(ctx)
	}
	if err := d.deploy(ctx); err != nil {
		d.out.clear()
		fmt.Fprintf(stderr, "sluice deploy: %v\n", err)
		return 1
	}
	return 0
}

// deployPrintFlags prints fset's flags GNU-style (--name), with their
// defaults unless the usage text tells them.
func deployPrintFlags(w io.Writer, fset *flag.FlagSet) {
	fset.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		if arg != "" {
			arg = " " + arg
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && !strings.Contains(usage, "(default") {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  --%s%s\n    \t%s%s\n", f.Name, arg, usage, def)
	})
}

// A project is what detect found in a directory.
type project struct {
	// goMain: the directory is a Go main package, built into a bootstrap.
	goMain           bool
	runtime, handler string
}

// detect tells what kind of function dir holds: a Go main package, a
// Node.js folder or a Python folder.
func detect(dir string) (project, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return project{}, err
	}
	has := map[string]bool{}
	var goFiles, jsFiles, pyFiles []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || isEditorTemp(n) {
			continue
		}
		has[n] = true
		switch ext := filepath.Ext(n); {
		case ext == ".go" && !strings.HasSuffix(n, "_test.go"):
			goFiles = append(goFiles, n)
		case ext == ".js" || ext == ".mjs" || ext == ".cjs":
			jsFiles = append(jsFiles, n)
		case ext == ".py":
			pyFiles = append(pyFiles, n)
		}
	}
	if len(goFiles) > 0 {
		for _, f := range goFiles {
			af, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, f), nil, parser.PackageClauseOnly)
			if err != nil {
				return project{}, fmt.Errorf("%s: %v", f, err)
			}
			if af.Name.Name == "main" {
				return project{goMain: true, runtime: "provided.al2023", handler: "bootstrap"}, nil
			}
		}
		if !has["package.json"] && len(jsFiles) == 0 && len(pyFiles) == 0 {
			return project{}, fmt.Errorf("%s is a Go package, but not a main package", dir)
		}
	}
	if has["package.json"] || len(jsFiles) > 0 {
		return project{runtime: "nodejs20.x", handler: nodeHandler(dir, has, jsFiles)}, nil
	}
	if len(pyFiles) > 0 {
		return project{runtime: "python3.12", handler: pythonHandler(has, pyFiles)}, nil
	}
	if has["bootstrap"] {
		return project{runtime: "provided.al2023", handler: "bootstrap"}, nil
	}
	return project{}, fmt.Errorf("cannot tell what kind of function %s holds (no Go main package, package.json, *.js, *.mjs or *.py): pass --runtime and --handler", dir)
}

// nodeHandler is FILE.handler for the module package.json names as its
// main, else index.handler when an index module exists, else the only
// module's, else index.handler.
func nodeHandler(dir string, has map[string]bool, jsFiles []string) string {
	if has["package.json"] {
		var pkg struct {
			Main string `json:"main"`
		}
		if b, err := os.ReadFile(filepath.Join(dir, "package.json")); err == nil && json.Unmarshal(b, &pkg) == nil && pkg.Main != "" {
			m := filepath.ToSlash(filepath.Clean(pkg.Main))
			if ext := filepath.Ext(m); ext == ".js" || ext == ".mjs" || ext == ".cjs" {
				m = strings.TrimSuffix(m, ext)
			}
			if !strings.HasPrefix(m, "../") && m != ".." {
				return m + ".handler"
			}
		}
	}
	for _, f := range []string{"index.mjs", "index.js", "index.cjs"} {
		if has[f] {
			return "index.handler"
		}
	}
	if len(jsFiles) == 1 {
		return strings.TrimSuffix(jsFiles[0], filepath.Ext(jsFiles[0])) + ".handler"
	}
	return "index.handler"
}

// pythonHandler is app.handler or lambda_function.lambda_handler, by
// which file exists, else the only module's handler.
func pythonHandler(has map[string]bool, pyFiles []string) string {
	switch {
	case has["app.py"]:
		return "app.handler"
	case has["lambda_function.py"]:
		return "lambda_function.lambda_handler"
	case len(pyFiles) == 1:
		return strings.TrimSuffix(pyFiles[0], ".py") + ".handler"
	}
	return "app.handler"
}

// isEditorTemp reports whether a file name is an editor's temporary,
// backup or lock file (or a desktop's metadata), neither deployed nor
// watched.
func isEditorTemp(name string) bool {
	switch {
	case strings.HasSuffix(name, "~"),
		strings.HasPrefix(name, ".#"),
		strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"),
		strings.HasSuffix(name, ".swp"), strings.HasSuffix(name, ".swo"), strings.HasSuffix(name, ".swx"),
		name == "4913", // vim's probe of the directory
		strings.HasSuffix(name, "___jb_tmp___"), strings.HasSuffix(name, "___jb_old___"),
		name == ".DS_Store":
		return true
	}
	return false
}

// skipDir reports whether zip and watch leave out a directory by its name.
func skipDir(name string) bool {
	return name == ".git" || name == ".hg" || name == ".svn" || name == "__pycache__"
}

// zipped is a deployment package.
type zipped struct {
	data  []byte
	files int
}

// zipDirectory zips the files below dir (leaving out skipDir's
// directories and editor temporaries), keeping each file's permission
// bits; a symbolic link to a file is zipped as the file.
func zipDirectory(dir string) (zipped, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	n := 0
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if path != dir && skipDir(e.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if isEditorTemp(e.Name()) {
			return nil
		}
		st, err := os.Stat(path) // follows a link
		if err != nil || !st.Mode().IsRegular() {
			return nil // a dangling link, a link to a directory, a socket
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if err := addFile(zw, filepath.ToSlash(rel), path, st); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return zipped{}, err
	}
	if err := zw.Close(); err != nil {
		return zipped{}, err
	}
	return zipped{data: buf.Bytes(), files: n}, nil
}

func addFile(zw *zip.Writer, name, path string, st fs.FileInfo) error {
	h, err := zip.FileInfoHeader(st)
	if err != nil {
		return err
	}
	h.Name, h.Method = name, zip.Deflate
	h.SetMode(st.Mode().Perm())
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// buildGo builds the Go main package in dir into tmp/bootstrap for
// Linux on this machine's architecture; a failure carries go build's
// output.
func buildGo(ctx context.Context, dir, tmp string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", filepath.Join(tmp, "bootstrap"), ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goruntime.GOARCH)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build failed (%v):\n%s", err, strings.TrimRight(string(out), "\n"))
	}
	return nil
}

// A deployer deploys one directory as one function.
type deployer struct {
	opts   deployOptions
	client *lambda.Client
	out    *progress
	stderr io.Writer
}

// deploy builds (when DIR is a Go main package) and zips DIR, creates or
// updates the function and waits until it is Active and its update
// Successful.
func (d *deployer) deploy(ctx context.Context) error {
	start := time.Now()
	d.out.start = start
	proj, err := detect(d.opts.dir)
	if err != nil && d.opts.runtime == "" {
		return err
	}
	if d.opts.runtime != "" {
		proj.runtime = d.opts.runtime
	}
	if d.opts.handler != "" {
		proj.handler = d.opts.handler
	}
	if proj.handler == "" {
		return fmt.Errorf("no handler for %s: pass --handler", d.opts.dir)
	}
	src := d.opts.dir
	if proj.goMain {
		d.out.step("building")
		tmp, err := os.MkdirTemp("", "sluice-deploy-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := buildGo(ctx, d.opts.dir, tmp); err != nil {
			return err
		}
		src = tmp
	}
	z, err := zipDirectory(src)
	if err != nil {
		return fmt.Errorf("zipping %s: %v", src, err)
	}
	files := "files"
	if z.files == 1 {
		files = "file"
	}
	d.out.step(fmt.Sprintf("zipping %d %s (%s)", z.files, files, kib(len(z.data))))

	name, verb := d.opts.name, "updated"
	cur, err := d.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	var nf *types.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		in := &lambda.CreateFunctionInput{
			FunctionName: aws.String(name),
			Runtime:      types.Runtime(proj.runtime),
			Handler:      aws.String(proj.handler),
			Role:         aws.String(d.opts.role),
			Code:         &types.FunctionCode{ZipFile: z.data},
		}
		if goruntime.GOARCH == "arm64" {
			in.Architectures = []types.Architecture{types.ArchitectureArm64}
		}
		if _, err := d.client.CreateFunction(ctx, in); err != nil {
			return deployAPIError("CreateFunction", err)
		}
		verb = "created"
		d.out.step("created " + name)
		if err := d.waitActive(ctx, name); err != nil {
			return err
		}
	case err != nil:
		return deployAPIError("GetFunction", err)
	default:
		if err := d.waitUpdated(ctx, name); err != nil { // a previous update may still run
			return err
		}
		if _, err := d.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: z.data}); err != nil {
			return deployAPIError("UpdateFunctionCode", err)
		}
		d.out.step("updated " + name)
		if err := d.waitUpdated(ctx, name); err != nil {
			return err
		}
		if in := configChange(cur.Configuration, d.opts); in != nil {
			in.FunctionName = aws.String(name)
			if _, err := d.client.UpdateFunctionConfiguration(ctx, in); err != nil {
				return deployAPIError("UpdateFunctionConfiguration", err)
			}
			d.out.step("updated the configuration of " + name)
			if err := d.waitUpdated(ctx, name); err != nil {
				return err
			}
		}
		if err := d.waitActive(ctx, name); err != nil {
			return err
		}
	}
	if d.out.tty {
		d.out.line(fmt.Sprintf("%s %s: active (%.1fs)", verb, name, time.Since(start).Seconds()))
	} else {
		d.out.line("active")
	}
	return nil
}

// configChange is the UpdateFunctionConfiguration that --runtime and
// --handler ask for, or nil when they are not given or already hold.
func configChange(cur *types.FunctionConfiguration, o deployOptions) *lambda.UpdateFunctionConfigurationInput {
	in := &lambda.UpdateFunctionConfigurationInput{}
	change := false
	if cur == nil {
		cur = &types.FunctionConfiguration{}
	}
	if o.runtime != "" && string(cur.Runtime) != o.runtime {
		in.Runtime, change = types.Runtime(o.runtime), true
	}
	if o.handler != "" && aws.ToString(cur.Handler) != o.handler {
		in.Handler, change = aws.String(o.handler), true
	}
	if !change {
		return nil
	}
	return in
}

// waitActive waits with the SDK's FunctionActiveV2 waiter, showing the
// state it sees.
func (d *deployer) waitActive(ctx context.Context, name string) error {
	w := lambda.NewFunctionActiveV2Waiter(d.client, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 2*time.Second
		o.Retryable = d.showing(o.Retryable)
	})
	if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, deployWaitLimit); err != nil {
		return d.waitError(ctx, name, err)
	}
	return nil
}

// waitUpdated waits with the SDK's FunctionUpdatedV2 waiter.
func (d *deployer) waitUpdated(ctx context.Context, name string) error {
	w := lambda.NewFunctionUpdatedV2Waiter(d.client, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 2*time.Second
		o.Retryable = d.showing(o.Retryable)
	})
	if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, deployWaitLimit); err != nil {
		return d.waitError(ctx, name, err)
	}
	return nil
}

type retryable = func(context.Context, *lambda.GetFunctionInput, *lambda.GetFunctionOutput, error) (bool, error)

// showing wraps a waiter's Retryable to show the states it polls.
func (d *deployer) showing(next retryable) retryable {
	return func(ctx context.Context, in *lambda.GetFunctionInput, out *lambda.GetFunctionOutput, err error) (bool, error) {
		if out != nil && out.Configuration != nil {
			c := out.Configuration
			if c.State != types.StateActive || c.LastUpdateStatus == types.LastUpdateStatusInProgress {
				s := "waiting: " + string(c.State)
				if c.LastUpdateStatus != "" {
					s += ", last update " + string(c.LastUpdateStatus)
				}
				if r := firstSet(aws.ToString(c.StateReason), aws.ToString(c.LastUpdateStatusReason)); r != "" {
					s += " (" + r + ")"
				}
				d.out.status(s)
			}
		}
		return next(ctx, in, out, err)
	}
}

// waitError explains a waiter's failure: the function's Failed state and
// its reason when it has one.
func (d *deployer) waitError(ctx context.Context, name string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	out, gerr := d.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if gerr == nil && out.Configuration != nil {
		c := out.Configuration
		if c.State == types.StateFailed {
			return fmt.Errorf("%s is Failed: %s: %s", name, c.StateReasonCode, aws.ToString(c.StateReason))
		}
		if c.LastUpdateStatus == types.LastUpdateStatusFailed {
			return fmt.Errorf("the update of %s Failed: %s: %s", name, c.LastUpdateStatusReasonCode, aws.ToString(c.LastUpdateStatusReason))
		}
		return fmt.Errorf("waiting for %s (state %s, last update %s): %v", name, c.State, c.LastUpdateStatus, err)
	}
	return fmt.Errorf("waiting for %s: %v", name, deployAPIError("GetFunction", err))
}

// deployAPIError names the operation, the error code and the message of an
// API error.
func deployAPIError(op string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("%s: %s: %s", op, ae.ErrorCode(), ae.ErrorMessage())
	}
	return fmt.Errorf("%s: %v", op, err)
}

func kib(n int) string { return fmt.Sprintf("%.1f KiB", float64(n)/1024) }

// progress prints deploy's steps: on a terminal a live status line that
// each step replaces, otherwise a plain line per step (and per distinct
// status).
type progress struct {
	w        io.Writer
	start    time.Time // of the current deploy, for the elapsed time (tty)
	tty      bool
	shown    bool   // a status line is on screen (tty)
	lastPlan string // the last status printed (plain)
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

// step shows a step: the status line on a terminal, a line otherwise.
func (p *progress) step(s string) {
	if p.tty {
		p.status(s)
		return
	}
	p.line(s)
}

// line prints a line that stays.
func (p *progress) line(s string) {
	p.clear()
	fmt.Fprintln(p.w, s)
	p.lastPlan = ""
}

// status shows a passing state: replaced in place on a terminal, a line
// when it changes otherwise.
func (p *progress) status(s string) {
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s (%.1fs)", s, time.Since(p.start).Seconds())
		p.shown = true
		return
	}
	if s != p.lastPlan {
		fmt.Fprintln(p.w, s)
		p.lastPlan = s
	}
}

// clear removes the status line from a terminal.
func (p *progress) clear() {
	if p.tty && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}
