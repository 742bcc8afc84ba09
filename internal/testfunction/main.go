// Command testfunction is the function sluice's tests and benchmarks run:
// an unmodified aws-lambda-go program, built as a provided.al2023
// `bootstrap`. The function's Handler setting picks its behaviour:
//
//	echo           returns the event unchanged (buffered)
//	stream         streams {"chunks":N,"pauseMs":M,"size":S}: N chunks, M ms apart
//	fail           returns an error
//	streamfail     streams two chunks, then fails mid-stream
//	urlreply       function URL: returns the request body (JSON) as its response, or the event (path /event); see url.go
//	urlstream      function URL: streams through the HTTP integration prelude; see url.go
//	sleep          sleeps {"ms":N}, then returns "slept"
//	crash          prints a line and exits with status 2 mid-invocation
//	panic          panics
//	logs           prints {"lines":N} lines to stdout and stderr ({"mb":M}: M MiB first), returns "logged"
//	clientcontext  returns the ClientContext it received
//	env            returns the Lambda environment variables it sees
//	big            streams {"mb":N} MiB as fast as possible (behind a function URL: ?mb=N)
//	initcrash      exits with status 3 before calling the Runtime API
//	probe          looks at and pokes its sandbox: {"op":"read",...}, see probe.go
//	recurse        invokes itself {"hops":N} more times through the AWS SDK, see recurse.go
//
// With INIT_CPU_MS=N in its environment, any handler first spends N ms of
// CPU time in init, as a heavier runtime (Node.js, Python, Java) does.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type streamEvent struct {
	Chunks  int `json:"chunks"`
	PauseMs int `json:"pauseMs"`
	Size    int `json:"size"`
	MB      int `json:"mb"`
	Ms      int `json:"ms"`
	Lines   int `json:"lines"`
	// Stamp makes stream write, after "chunk-N", the wall-clock time
	// (Unix nanoseconds) at which it wrote that chunk.
	Stamp bool `json:"stamp"`
	// Query is a function URL event's query: big takes ?mb=N there.
	Query map[string]string `json:"queryStringParameters"`
}

func main() {
	if ms, err := strconv.Atoi(os.Getenv("INIT_CPU_MS")); err == nil && ms > 0 {
		spinCPU(time.Duration(ms) * time.Millisecond)
	}
	handler := os.Getenv("_HANDLER")
	switch handler {
	case "initcrash":
		fmt.Println("initcrash: exiting during init")
		os.Exit(3)
	case "echo":
		lambda.Start(func(ev json.RawMessage) (json.RawMessage, error) { return ev, nil })
	case "stream":
		lambda.Start(stream)
	case "urlreply":
		lambda.Start(urlReply)
	case "urlstream":
		lambda.Start(urlStream)
	case "fail":
		lambda.Start(func() (string, error) { return "", errors.New("boom") })
	case "streamfail":
		lambda.Start(func() (io.Reader, error) {
			r, w := io.Pipe()
			go func() {
				w.Write([]byte("partial-1\n"))
				time.Sleep(50 * time.Millisecond)
				w.Write([]byte("partial-2\n"))
				time.Sleep(50 * time.Millisecond)
				w.CloseWithError(errors.New("disk on fire"))
			}()
			return r, nil
		})
	case "sleep":
		lambda.Start(func(ev streamEvent) (string, error) {
			time.Sleep(time.Duration(ev.Ms) * time.Millisecond)
			return "slept", nil
		})
	case "crash":
		lambda.Start(func() (string, error) {
			fmt.Println("about to crash")
			os.Exit(2)
			return "", nil
		})
	case "panic":
		lambda.Start(func() (string, error) { panic("something went badly wrong") })
	case "logs":
		lambda.Start(func(ctx context.Context, ev streamEvent) (string, error) {
			lc, _ := lambdacontext.FromContext(ctx)
			if ev.MB > 0 { // {"mb":N}: N MiB of 1 KiB lines to stdout
				chunk := bytes.Repeat([]byte(strings.Repeat("x", 1023)+"\n"), 64)
				for i := 0; i < ev.MB*16; i++ {
					os.Stdout.Write(chunk)
				}
			}
			for i := 0; i < ev.Lines; i++ {
				fmt.Printf("stdout line %d of %s\n", i, lc.AwsRequestID)
				fmt.Fprintf(os.Stderr, "stderr line %d\n", i)
			}
			log.Printf("last line of %s", lc.AwsRequestID)
			return "logged", nil
		})
	case "clientcontext":
		lambda.Start(func(ctx context.Context) (any, error) {
			lc, _ := lambdacontext.FromContext(ctx)
			return map[string]any{"client": lc.ClientContext, "arn": lc.InvokedFunctionArn, "requestId": lc.AwsRequestID}, nil
		})
	case "env":
		lambda.Start(func(ctx context.Context) (map[string]string, error) {
			out := map[string]string{}
			for _, kv := range os.Environ() {
				k, v, _ := strings.Cut(kv, "=")
				out[k] = v
			}
			deadline, _ := ctx.Deadline()
			out["_deadline_in_ms"] = fmt.Sprint(time.Until(deadline).Milliseconds())
			wd, _ := os.Getwd()
			out["_cwd"] = wd
			return out, nil
		})
	case "probe":
		lambda.Start(probe)
	case "recurse":
		lambda.Start(recurse)
	case "big":
		lambda.Start(func(ev streamEvent) (io.Reader, error) {
			if ev.MB == 0 {
				ev.MB, _ = strconv.Atoi(ev.Query["mb"])
			}
			// aws-lambda-go streams a reader only if it does not marshal to
			// JSON with fields: wrap it so that it marshals to {}.
			return opaqueReader{io.LimitReader(zeros{}, int64(ev.MB)<<20)}, nil
		})
	default:
		fmt.Fprintf(os.Stderr, "testfunction: unknown handler %q\n", handler)
		os.Exit(4)
	}
}

// spinCPU works until the process has used d of CPU time: a fixed amount
// of work, however much of the CPU the process gets.
func spinCPU(d time.Duration) {
	x := uint64(1)
	for {
		for range 1 << 16 {
			x = x*6364136223846793005 + 1442695040888963407
		}
		var ru syscall.Rusage
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil || time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) >= d {
			break
		}
	}
	if x == 0 {
		fmt.Println() // keeps the loop
	}
}

func stream(ev streamEvent) (io.Reader, error) {
	if ev.Chunks == 0 {
		ev.Chunks = 3
	}
	r, w := io.Pipe()
	go func() {
		for i := 0; i < ev.Chunks; i++ {
			if i > 0 {
				time.Sleep(time.Duration(ev.PauseMs) * time.Millisecond)
			}
			line := fmt.Sprintf("chunk-%d\n", i)
			if ev.Stamp {
				line = fmt.Sprintf("chunk-%d %d\n", i, time.Now().UnixNano())
			}
			if ev.Size > len(line) {
				line = line + strings.Repeat("x", ev.Size-len(line)-1) + "\n"
			}
			if _, err := w.Write([]byte(line)); err != nil {
				return
			}
		}
		w.Close()
	}()
	return r, nil
}

// opaqueReader hides its reader from encoding/json.
type opaqueReader struct{ r io.Reader }

func (o opaqueReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// zeros is an endless reader of 'z' bytes.
type zeros struct{}

var block = bytes.Repeat([]byte{'z'}, 64<<10)

func (zeros) Read(p []byte) (int, error) { return copy(p, block), nil }
