package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// recordEvent is the event of the record handler.
type recordEvent struct {
	// ID names the event across its attempts (the file it appends to).
	ID string `json:"id"`
	// FailTimes makes the first FailTimes attempts of ID fail.
	FailTimes int `json:"failTimes"`
	// Ms is how long each attempt works.
	Ms int `json:"ms"`
}

// record appends one line per attempt to $RECORD_DIR/<id>.log: "<request
// id> <start ns> <end ns>" (so that a test sees how often and when an
// event ran, across execution environments), and fails while the event
// has run at most FailTimes times. Tests run it without a sandbox (the
// directory is the test's).
func record(ctx context.Context, ev recordEvent) (map[string]any, error) {
	dir := os.Getenv("RECORD_DIR")
	if dir == "" || ev.ID == "" || strings.ContainsAny(ev.ID, "/.") {
		return nil, fmt.Errorf("record: RECORD_DIR and a plain id are needed")
	}
	lc, _ := lambdacontext.FromContext(ctx)
	start := time.Now().UnixNano()
	time.Sleep(time.Duration(ev.Ms) * time.Millisecond)
	end := time.Now().UnixNano()
	path := filepath.Join(dir, ev.ID+".log")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	_, err = fmt.Fprintf(f, "%s %d %d\n", lc.AwsRequestID, start, end)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if ev.FailTimes == 0 {
		return map[string]any{"id": ev.ID}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	n := strings.Count(string(b), "\n")
	if n <= ev.FailTimes {
		return nil, fmt.Errorf("attempt %d of %s fails on purpose", n, ev.ID)
	}
	return map[string]any{"id": ev.ID, "attempt": n}, nil
}

// sink writes the event it gets to $RECORD_DIR/sink-<request id>.json:
// the destination of invocation records in tests.
func sink(ctx context.Context, ev json.RawMessage) (string, error) {
	dir := os.Getenv("RECORD_DIR")
	if dir == "" {
		return "", fmt.Errorf("sink: RECORD_DIR is needed")
	}
	lc, _ := lambdacontext.FromContext(ctx)
	tmp := filepath.Join(dir, ".sink-"+lc.AwsRequestID)
	if err := os.WriteFile(tmp, ev, 0o644); err != nil {
		return "", err
	}
	return "kept", os.Rename(tmp, filepath.Join(dir, "sink-"+lc.AwsRequestID+".json"))
}
