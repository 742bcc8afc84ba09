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

// runBrowserPage points the stream page at fu (a RESPONSE_STREAM URL that
// writes "part-0", then "part-1" browserPause ms later, as plain text or
// as server-sent events) and returns what the page read.
func runBrowserPage(t *testing.T, fu string) browsertest.Report {
	t.Helper()
	q := "?chunks=2&pauseMs=" + itoa(browserPause)
	c, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var log syncBuffer
	b, err := browsertest.Run(c, browsertest.StreamPage(fu+q, fu+q+"&sse=1", 2), &log)
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

// checkBrowserStream checks that the page read want and that the first
// piece came well before the last: the function wrote them browserPause ms
// apart, so a page that got the first only with the last saw a buffered
// response.
func checkBrowserStream(t *testing.T, what string, r browsertest.Reading, want string) {
	t.Helper()
	if r.Error != "" {
		t.Fatalf("%s: the page failed: %s", what, r.Error)
	}
	if got := r.Text(); got != want {
		t.Fatalf("%s: the page read %q, want %q", what, got, want)
	}
	if len(r.Chunks) < 2 {
		t.Fatalf("%s: the page got everything in one piece %+v: not streamed", what, r.Chunks)
	}
	if gap := r.Chunks[len(r.Chunks)-1].At - r.Chunks[0].At; gap < browserPause/2 {
		t.Fatalf("%s: first piece at %.0f ms, last at %.0f ms: the page saw the first only when the function had finished",
			what, r.Chunks[0].At, r.Chunks[len(r.Chunks)-1].At)
	}
}

func TestBrowserReadsStreamingURL(t *testing.T) {
	ts := startServer(t, nil)
	ts.createFunction(t, "live", "urlstream")
	fu := ts.createURL(t, "live", "", func(in *lambda.CreateFunctionUrlConfigInput) {
		in.InvokeMode = types.InvokeModeResponseStream
		in.Cors = &types.Cors{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, MaxAge: aws.Int32(60)}
	})
	if !strings.Contains(fu, ".localhost:") {
		t.Fatalf("FunctionUrl %s is not a *.localhost URL a browser resolves itself", fu)
	}
	rep := runBrowserPage(t, fu)
	if rep.Fetch.Status != 201 {
		t.Errorf("fetch: status %d, want the function's 201", rep.Fetch.Status)
	}
	checkBrowserStream(t, "fetch", rep.Fetch, "part-0\npart-1\n")
	checkBrowserStream(t, "EventSource", rep.SSE, "part-0part-1")
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
