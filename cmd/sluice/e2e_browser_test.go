package main

// Function URLs read by a real browser: headless Chromium (Debian's
// chromium; CI installs it) loads a page that reads a RESPONSE_STREAM URL
// with fetch() and a stream reader, and with EventSource, timing every
// piece (internal/browsertest). A missing Chromium fails the test.

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/browsertest"
)

// browserPause is the pause between the pieces the function writes.
const browserPause = 1000

// runBrowserPage opens the stream page on fetchURL and sseURL (each
// writing two pieces browserPause ms apart) and returns what it read.
func runBrowserPage(t *testing.T, fetchURL, sseURL string) browsertest.Report {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var log syncBuffer
	b, err := browsertest.Run(c, browsertest.StreamPage(fetchURL, sseURL, 2), &log)
	if err != nil {
		t.Fatalf("%v\nchromium:\n%s", err, abbreviate(log.String(), 4000))
	}
	var rep browsertest.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report %s: %v", b, err)
	}
	t.Logf("page report: %s", b)
	return rep
}

// checkBrowserStream checks that the page read two pieces, that want
// accepts the whole text, and that the first piece came well before the
// last: the function wrote them browserPause ms apart, so a page that got
// the first only with the last saw a buffered response.
func checkBrowserStream(t *testing.T, what string, r browsertest.Reading, want func(string) bool) {
	t.Helper()
	if r.Error != "" {
		t.Fatalf("%s: the page failed: %s", what, r.Error)
	}
	if got := r.Text(); !want(got) {
		t.Fatalf("%s: the page read %q", what, got)
	}
	if len(r.Chunks) < 2 {
		t.Fatalf("%s: the page got everything in one piece %+v: not streamed", what, r.Chunks)
	}
	if gap := r.Chunks[len(r.Chunks)-1].At - r.Chunks[0].At; gap < browserPause/2 {
		t.Fatalf("%s: first piece at %.0f ms, last at %.0f ms: the page saw the first only when the function had finished",
			what, r.Chunks[0].At, r.Chunks[len(r.Chunks)-1].At)
	}
}

// streamURL gives fn a RESPONSE_STREAM URL that any origin may read.
func streamURL(t *testing.T, ts *testServer, fn string) string {
	fu := ts.createURL(t, fn, "", func(in *lambda.CreateFunctionUrlConfigInput) {
		in.InvokeMode = types.InvokeModeResponseStream
		in.Cors = &types.Cors{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, MaxAge: aws.Int32(60)}
	})
	if !strings.Contains(fu, ".localhost:") {
		t.Fatalf("FunctionUrl %s is not a *.localhost URL a browser resolves itself", fu)
	}
	return fu
}

// TestBrowserReadsStreamingURL: a Go function
// (LambdaFunctionURLStreamingResponse) and a Node.js function
// (awslambda.HttpResponseStream.from) behind RESPONSE_STREAM URLs, read by
// the browser with fetch() and EventSource.
func TestBrowserReadsStreamingURL(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	q := "?chunks=2&pauseMs=" + itoa(browserPause)
	t.Run("go", func(t *testing.T) {
		ts.createFunction(t, "live", "urlstream")
		fu := streamURL(t, ts, "live")
		rep := runBrowserPage(t, fu+q, fu+q+"&sse=1")
		if rep.Fetch.Status != 201 {
			t.Errorf("fetch: status %d, want the function's 201", rep.Fetch.Status)
		}
		checkBrowserStream(t, "fetch", rep.Fetch, func(s string) bool { return s == "part-0\npart-1\n" })
		checkBrowserStream(t, "EventSource", rep.SSE, func(s string) bool { return s == "part-0part-1" })
	})
	t.Run("node", func(t *testing.T) {
		ts.createRuntimeFunction(t, "nlive", "nodejs22.x", "index.handler", nodeZip(t, "http"))
		fu := streamURL(t, ts, "nlive")
		rep := runBrowserPage(t, fu+q+"&status=203", fu+"sse"+q)
		if rep.Fetch.Status != 203 || rep.Fetch.Headers["content-type"] != "text/plain; charset=utf-8" {
			t.Errorf("fetch: status %d headers %v, want the prelude's 203 and content type", rep.Fetch.Status, rep.Fetch.Headers)
		}
		checkBrowserStream(t, "fetch", rep.Fetch, func(s string) bool {
			return strings.HasPrefix(s, "part 1 at ") && strings.Count(s, "\npart ") == 1
		})
		checkBrowserStream(t, "EventSource", rep.SSE, func(s string) bool {
			return strings.HasPrefix(s, `{"n":1,`) && strings.Contains(s, `{"n":2,`)
		})
	})
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
