package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"
)

// TestStreamReachesPage checks the harness itself against a plain Go
// handler that streams two chunks 800 ms apart (with CORS, as the page
// runs on another origin): the page must see the first chunk well before
// the second, through fetch's stream reader and through EventSource.
func TestStreamReachesPage(t *testing.T) {
	if _, err := Binary(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if r.URL.Path == "/sse" {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "data: one\n\n")
			w.(http.Flusher).Flush()
			time.Sleep(800 * time.Millisecond)
			fmt.Fprint(w, "data: two\n\n")
			return
		}
		fmt.Fprint(w, "one")
		w.(http.Flusher).Flush()
		time.Sleep(800 * time.Millisecond)
		fmt.Fprint(w, "two")
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Run(ctx, StreamPage(srv.URL+"/fetch", srv.URL+"/sse", 2), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report %s: %v", b, err)
	}
	checkTwoChunks(t, "fetch", rep.Fetch)
	checkTwoChunks(t, "sse", rep.SSE)
}

func checkTwoChunks(t *testing.T, what string, r Reading) {
	t.Helper()
	if r.Error != "" {
		t.Fatalf("%s: %s", what, r.Error)
	}
	if len(r.Chunks) < 2 {
		t.Fatalf("%s: chunks %+v, want 2", what, r.Chunks)
	}
	if got := r.Text(); got != "onetwo" {
		t.Fatalf("%s: text %q", what, got)
	}
	// The second chunk is written 800 ms after the first: a page that saw
	// the first at once saw it well before the second.
	if gap := r.Chunks[len(r.Chunks)-1].At - r.Chunks[0].At; gap < 400 {
		t.Fatalf("%s: first chunk seen only %.0f ms before the last: buffered", what, gap)
	}
}
