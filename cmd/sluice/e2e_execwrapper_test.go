package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// TestExecWrapper: a python function with AWS_LAMBDA_EXEC_WRAPPER runs its
// runtime through the wrapper script of its package, which gets the
// runtime's command as its arguments (unsandboxed, where /var/task is the
// code directory, and in a sandbox); a wrapper that does not exist ends
// the invocation as Lambda's bootstrap does (Runtime.ExitError, exit
// status 127, its line in the tail).
func TestExecWrapper(t *testing.T) {
	t.Parallel()
	inEachSandbox(t, func(t *testing.T, ts *testServer, sandboxed bool) {
		zip := zipFiles(map[string][]byte{
			"wrap.sh": []byte("#!/bin/sh\nexport WRAPPED_ARGS=\"$*\"\nexec \"$@\"\n"),
			"app.py":  []byte("import os\n\ndef handler(event, context):\n    return {\"args\": os.environ.get(\"WRAPPED_ARGS\")}\n"),
		}, 0o755)
		env := func(w string) func(*lambda.CreateFunctionInput) {
			return func(in *lambda.CreateFunctionInput) {
				in.Environment = &types.Environment{Variables: map[string]string{"AWS_LAMBDA_EXEC_WRAPPER": w}}
			}
		}
		ts.createRuntimeFunction(t, "wrapped", "python3.12", "app.handler", zip, env("/var/task/wrap.sh"))
		out := ts.invoke(t, "wrapped", "{}")
		succeeded(t, out)
		var got struct{ Args string }
		if err := json.Unmarshal(out.Payload, &got); err != nil {
			t.Fatalf("payload %s: %v", out.Payload, err)
		}
		// the runtime's command: python3 ... bootstrap.py (under
		// /var/runtime in a sandbox, its host directory without)
		if !strings.Contains(got.Args, "python3") || !strings.Contains(got.Args, "bootstrap.py") ||
			sandboxed && !strings.Contains(got.Args, "/var/runtime/bootstrap.py") {
			t.Errorf("the wrapper got %q, want the runtime's command", got.Args)
		}

		ts.createRuntimeFunction(t, "wrapper-missing", "python3.12", "app.handler", zip, env("/idontexist.sh"))
		out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("wrapper-missing"), LogType: types.LogTypeTail})
		if err != nil {
			t.Fatal(err)
		}
		doc := functionError(t, out)
		id := requestIDOf(t, out.ResultMetadata)
		if doc.ErrorType != "Runtime.ExitError" || doc.ErrorMessage != "RequestId: "+id+" Error: Runtime exited with error: exit status 127" {
			t.Errorf("missing wrapper: %+v", doc)
		}
		if tail := decodeTail(t, out.LogResult); !strings.Contains(tail, "/idontexist.sh: does not exist\n") {
			t.Errorf("tail lacks the wrapper's line:\n%s", tail)
		}
	})
}
