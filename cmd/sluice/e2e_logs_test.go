package main

import (
	"flag"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

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

// TestE2ELogLimit: a function that prints 100 MB in one invocation puts at
// most --function-log-limit bytes (1 MiB by default) and one LOGS_DROPPED
// line into sluice's function log; the invocation completes, its
// LogType=Tail is its last 4 KB, memory stays flat, and the next
// invocation logs in full (issue 9).
func TestE2ELogLimit(t *testing.T) {
	ts := startServer(t, nil)
	ts.createFunction(t, "chatty", "logs", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(120) })

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()

	before := len(ts.logs.String())
	cpu0 := cpuTime(t)
	out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("chatty"), LogType: types.LogTypeTail, Payload: []byte(`{"mb":100,"lines":2}`)})
	cpu := cpuTime(t) - cpu0
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	succeeded(t, out)
	if string(out.Payload) != `"logged"` {
		t.Fatalf("payload %s", out.Payload)
	}
	id := requestIDOf(t, out.ResultMetadata)
	logs := ts.logs.String()[before:]
	t.Logf("function log: %d bytes for a 100 MiB print; heap in use grew by %d bytes at most; sluice's CPU time %v", len(logs), int64(peak.Load())-int64(base), cpu)
	if limit := 1 << 20; len(logs) > limit+64<<10 {
		t.Errorf("function log got %d bytes, want at most the 1 MiB limit and the platform lines", len(logs))
	}
	if !strings.Contains(logs, "\nLOGS_DROPPED Dropped: ") || !strings.Contains(logs, "END RequestId: "+id) {
		t.Errorf("function log lacks LOGS_DROPPED or END:\n%s", logs[max(len(logs)-2000, 0):])
	}
	if grew := int64(peak.Load()) - int64(base); grew > 64<<20 {
		t.Errorf("heap in use grew by %d bytes while 100 MiB went by", grew)
	}
	tail := decodeTail(t, out.LogResult)
	if len(tail) > 4096 || !strings.Contains(tail, "stdout line 1 of "+id) || !strings.Contains(tail, "END RequestId: "+id+"\nREPORT RequestId: "+id) {
		t.Errorf("tail of %d bytes lacks the invocation's last lines:\n%s", len(tail), tail)
	}

	before = len(ts.logs.String())
	out = ts.invoke(t, "chatty", `{"lines":3}`)
	succeeded(t, out)
	id = requestIDOf(t, out.ResultMetadata)
	if logs := ts.logs.String()[before:]; !strings.Contains(logs, "stdout line 2 of "+id) || strings.Contains(logs, "LOGS_DROPPED") {
		t.Errorf("the next invocation's log is not whole:\n%s", logs)
	}
}

// cpuTime is the CPU time this process (sluice, in the tests) has used.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestFunctionLogLimitFlag: --function-log-limit is a byte count, 0 for no
// limit, 1 MiB by default.
func TestFunctionLogLimitFlag(t *testing.T) {
	parse := func(args ...string) (Config, error) {
		c := DefaultConfig()
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.flags(fs)
		if err := fs.Parse(args); err != nil {
			return c, err
		}
		return c, c.validate()
	}
	for _, tt := range []struct {
		args []string
		want int64 // the sandbox's FunctionLogLimit
	}{
		{nil, 1 << 20},
		{[]string{"--function-log-limit", "4096"}, 4096},
		{[]string{"--function-log-limit", "0"}, -1},
	} {
		c, err := parse(tt.args...)
		if err != nil || functionLogLimit(c.FunctionLogLimit) != tt.want {
			t.Errorf("%v: limit %d (%v), want %d", tt.args, functionLogLimit(c.FunctionLogLimit), err, tt.want)
		}
	}
	for _, bad := range []string{"-1", "1MB"} {
		if _, err := parse("--function-log-limit", bad); err == nil {
			t.Errorf("--function-log-limit %s accepted", bad)
		}
	}
}
