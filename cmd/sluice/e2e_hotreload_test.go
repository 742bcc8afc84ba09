package main

// Hot reload end to end: a python function created with LocalStack's
// convention (S3Bucket "hot-reload", the directory as S3Key) runs from a
// directory under --hot-reload-root; an edit of its handler is what the
// next invocation runs, without UpdateFunctionCode; without an edit its
// environment stays warm. Unsandboxed and in bubblewrap sandboxes, where
// the directory is read-only at /var/task.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// hotHandler is a python handler answering its version, how many
// invocations its environment ran, and, for an event {"probe": true},
// whether it could write into its task root.
func hotHandler(version int) string {
	return fmt.Sprintf(`import os

COUNT = 0


def handler(event, context):
    global COUNT
    COUNT += 1
    if not event.get("probe"):
        return {"version": %d, "count": COUNT}
    try:
        with open(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "written"), "w") as f:
            f.write("x")
        writable = True
    except OSError:
        writable = False
    return {"version": %d, "count": COUNT, "writable": writable}
`, version, version)
}

func TestE2EHotReload(t *testing.T) {
	t.Parallel()
	for _, sb := range []string{"none", "bwrap"} {
		t.Run("sandbox="+sb, func(t *testing.T) { testHotReload(t, sb) })
	}
}

func testHotReload(t *testing.T, sb string) {
	root := t.TempDir()
	dir := filepath.Join(root, "fn")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The sandboxes' uids read the directory: testing's temporary
	// directories are private.
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	app := filepath.Join(dir, "app.py")
	if err := os.WriteFile(app, []byte(hotHandler(1)), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, func(c *Config) {
		c.Sandbox = sb
		c.HotReloadRoot = root
	})
	ts.createRuntimeFunction(t, "hot", "python3.12", "app.handler", nil, func(in *lambda.CreateFunctionInput) {
		in.Code = &types.FunctionCode{S3Bucket: aws.String("hot-reload"), S3Key: aws.String(dir)}
	})
	before, err := ts.Client.GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("hot")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(before.CodeSha256) != "hot-reloading-hash-not-available" || before.CodeSize != 0 {
		t.Errorf("CodeSha256 %q CodeSize %d, want LocalStack's hot-reloading-hash-not-available, 0", aws.ToString(before.CodeSha256), before.CodeSize)
	}

	type answer struct {
		Version  int  `json:"version"`
		Count    int  `json:"count"`
		Writable bool `json:"writable"`
	}
	invoke := func(payload string) answer {
		t.Helper()
		out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("hot"), Payload: []byte(payload)})
		if err != nil {
			t.Fatal(err)
		}
		succeeded(t, out)
		var a answer
		if err := json.Unmarshal(out.Payload, &a); err != nil {
			t.Fatalf("payload %s: %v", out.Payload, err)
		}
		return a
	}
	call := func() answer { t.Helper(); return invoke(`{}`) }
	if got := call(); got.Version != 1 || got.Count != 1 {
		t.Fatalf("first invocation: %+v, want version 1, count 1", got)
	}
	// Nothing changed: the same warm environment answers.
	if got := call(); got.Version != 1 || got.Count != 2 {
		t.Fatalf("second invocation without an edit: %+v, want version 1 in the same environment (count 2)", got)
	}
	if sb != "none" {
		// In the sandbox the directory is read-only (unsandboxed, the
		// function could write it, which would be a change too).
		if got := invoke(`{"probe": true}`); got.Version != 1 || got.Count != 3 || got.Writable {
			t.Fatalf("probe: %+v, want version 1, count 3, the task root not writable", got)
		}
	}

	// The edit, and a generous pause (the test asserts order, not speed).
	if err := os.WriteFile(app, []byte(hotHandler(2)), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if got := call(); got.Version != 2 || got.Count != 1 {
		t.Fatalf("after the edit: %+v, want version 2 in a fresh environment (count 1)", got)
	}
	// An editor's save: a new file renamed over the old one.
	tmp := filepath.Join(dir, ".app.py.swp")
	if err := os.WriteFile(tmp, []byte(hotHandler(3)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, app); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if got := call(); got.Version != 3 || got.Count != 1 {
		t.Fatalf("after a save by rename: %+v, want version 3 in a fresh environment", got)
	}

	after, err := ts.Client.GetFunctionConfiguration(ctx(t), &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("hot")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(after.RevisionId) != aws.ToString(before.RevisionId) || aws.ToString(after.LastModified) != aws.ToString(before.LastModified) {
		t.Errorf("the function's configuration changed (RevisionId %s -> %s): an edit must not be a deployment", aws.ToString(before.RevisionId), aws.ToString(after.RevisionId))
	}
}
