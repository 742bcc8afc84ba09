package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// checkTail checks the LogResult of one "logs" invocation with
// {"lines":3}: START, the function's stdout and stderr lines in the order
// it wrote them, END and REPORT, all of the request id the function saw,
// which is the API request's id.
func checkTail(t *testing.T, tail, apiRequestID string) {
	t.Helper()
	m := regexp.MustCompile(`stdout line 0 of (\S+)\n`).FindStringSubmatch(tail)
	if m == nil {
		t.Fatalf("tail has no stdout line of the function:\n%s", tail)
	}
	id := m[1]
	if id != apiRequestID {
		t.Fatalf("function saw request id %s, the API answered with x-amzn-RequestId %s", id, apiRequestID)
	}
	report := regexp.MustCompile(`(?m)^REPORT RequestId: ` + regexp.QuoteMeta(id) +
		`\tDuration: \d+\.\d{2} ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\t.*\n`)
	if !report.MatchString(tail) {
		t.Fatalf("tail has no REPORT line of the form Lambda writes:\n%s", tail)
	}
	// Everything in order of writing.
	want := []string{
		"START RequestId: " + id + " Version: $LATEST\n",
		"stdout line 0 of " + id + "\n",
		"stderr line 0\n",
		"stdout line 1 of " + id + "\n",
		"stderr line 1\n",
		"stdout line 2 of " + id + "\n",
		"stderr line 2\n",
		"last line of " + id + "\n",
		"END RequestId: " + id + "\n",
		"REPORT RequestId: " + id + "\t",
	}
	at := 0
	for _, w := range want {
		i := strings.Index(tail[at:], w)
		if i < 0 {
			t.Fatalf("tail lacks %q after offset %d (or has it out of order):\n%s", w, at, tail)
		}
		at += i + len(w)
	}
	if rest := tail[at:]; strings.Index(rest, "\n") != len(rest)-1 {
		t.Fatalf("tail does not end with the REPORT line:\n%s", tail)
	}
}

func TestE2ELogTail(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "logger", "logs")

	t.Run("Invoke", func(t *testing.T) {
		for i := 0; i < 2; i++ { // cold, then warm: each tail is its own invocation's
			out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("logger"), LogType: types.LogTypeTail, Payload: []byte(`{"lines":3}`)})
			if err != nil {
				t.Fatal(err)
			}
			succeeded(t, out)
			if string(out.Payload) != `"logged"` {
				t.Fatalf("payload %s", out.Payload)
			}
			tail := decodeTail(t, out.LogResult)
			checkTail(t, tail, requestIDOf(t, out.ResultMetadata))
			if strings.Count(tail, "START RequestId:") != 1 {
				t.Fatalf("call %d: tail has more than its own invocation:\n%s", i, tail)
			}
		}
	})

	t.Run("Stream", func(t *testing.T) {
		s := openStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("logger"), LogType: types.LogTypeTail, Payload: []byte(`{"lines":3}`)})
		c := s.finish(t)
		cleanComplete(t, c)
		if got := s.payload(); got != `"logged"` {
			t.Fatalf("payload %q", got)
		}
		checkTail(t, decodeTail(t, c.LogResult), requestIDOf(t, s.out.ResultMetadata))
	})

	t.Run("TailIsLast4KB", func(t *testing.T) {
		out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("logger"), LogType: types.LogTypeTail, Payload: []byte(`{"lines":500}`)})
		if err != nil {
			t.Fatal(err)
		}
		succeeded(t, out)
		tail := decodeTail(t, out.LogResult)
		id := requestIDOf(t, out.ResultMetadata)
		if len(tail) > 4096 || len(tail) < 3000 {
			t.Fatalf("tail is %d bytes, want the last 4096 of a ~30 KB log", len(tail))
		}
		if strings.Contains(tail, "START RequestId:") || strings.Contains(tail, "stdout line 0 of") {
			t.Fatalf("tail has the beginning of the log, not its end:\n%s", tail)
		}
		if !strings.Contains(tail, fmt.Sprintf("stdout line 499 of %s\nstderr line 499\n", id)) {
			t.Fatalf("tail lacks the function's last lines:\n%s", tail)
		}
		lines := strings.Split(strings.TrimSuffix(tail, "\n"), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "REPORT RequestId: "+id+"\tDuration: ") {
			t.Fatalf("last line of the tail is %q, want the REPORT line", last)
		}
		if prev := lines[len(lines)-2]; prev != "END RequestId: "+id {
			t.Fatalf("line before REPORT is %q, want END", prev)
		}
	})

	t.Run("NoLogType", func(t *testing.T) {
		out := ts.invoke(t, "logger", `{"lines":1}`)
		succeeded(t, out)
		if out.LogResult != nil {
			t.Fatalf("LogResult %q without LogType Tail", aws.ToString(out.LogResult))
		}
		out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("logger"), LogType: types.LogTypeNone, Payload: []byte(`{"lines":1}`)})
		if err != nil {
			t.Fatal(err)
		}
		if out.LogResult != nil {
			t.Fatalf("LogResult %q with LogType None", aws.ToString(out.LogResult))
		}
		s := openStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("logger"), Payload: []byte(`{"lines":1}`)})
		c := s.finish(t)
		cleanComplete(t, c)
		if c.LogResult != nil {
			t.Fatalf("InvokeComplete.LogResult %q without LogType Tail", aws.ToString(c.LogResult))
		}
	})
}
