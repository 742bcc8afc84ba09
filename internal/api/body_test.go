package api_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/internal/api"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

// bodyServer serves the API of a fresh env with the given body limits.
func bodyServer(t *testing.T, limits api.BodyLimits) string {
	t.Helper()
	e := newEnv(t)
	srv := httptest.NewServer(api.New(api.Config{
		Services: e.reg,
		Verifier: &sigv4.Verifier{Secret: sigv4.StaticCredentials("test", "test"), Service: "lambda"},
		Bodies:   limits,
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// rawRequest writes head (a request line and headers, without the blank
// line), then body, on a new connection, and returns the status line and
// headers of the answer, read within d.
func rawRequest(t *testing.T, addr, head, body string, d time.Duration) (string, http.Header) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := fmt.Fprintf(c, "%s\r\n\r\n%s", head, body); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer within %v: %v", d, err)
	}
	resp.Body.Close()
	return resp.Status, resp.Header
}

// signedHead is the head of a CreateFunction whose signature's header
// part is valid (key, date, scope) for key, announcing size body bytes.
func signedHead(addr, key string, size int) string {
	now := time.Now().UTC()
	return fmt.Sprintf("POST /2015-03-31/functions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"+
		"X-Amz-Date: %s\r\nAuthorization: AWS4-HMAC-SHA256 Credential=%s/%s/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=%s",
		addr, size, now.Format("20060102T150405Z"), key, now.Format("20060102"), strings.Repeat("0", 64))
}

// TestBodyNotReadBeforeTheKeyIsKnown: a client with an unknown key that
// announces a 60 MB body and sends none is refused at once; the server
// never waits for (nor holds) the body.
func TestBodyNotReadBeforeTheKeyIsKnown(t *testing.T) {
	addr := bodyServer(t, api.BodyLimits{})
	status, h := rawRequest(t, addr, signedHead(addr, "AKIDUNKNOWN", 60<<20), "", 5*time.Second)
	if !strings.HasPrefix(status, "403") || h.Get("X-Amzn-ErrorType") != "UnrecognizedClientException" {
		t.Fatalf("unknown key with a 60 MB body announced: %s %s", status, h.Get("X-Amzn-ErrorType"))
	}
	// No signature at all: the same, before any body.
	status, h = rawRequest(t, addr, "POST /2015-03-31/functions HTTP/1.1\r\nHost: "+addr+"\r\nContent-Length: 60000000", "", 5*time.Second)
	if !strings.HasPrefix(status, "403") || h.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Fatalf("unsigned with a 60 MB body announced: %s %s", status, h.Get("X-Amzn-ErrorType"))
	}
}

// TestBodyStallEnds: a body that stops arriving ends the request after
// the idle limit instead of holding the connection.
func TestBodyStallEnds(t *testing.T) {
	addr := bodyServer(t, api.BodyLimits{Idle: 300 * time.Millisecond})
	start := time.Now()
	status, h := rawRequest(t, addr, signedHead(addr, "test", 1000), `{"FunctionName":`, 10*time.Second)
	if !strings.HasPrefix(status, "400") || h.Get("X-Amzn-ErrorType") != "InvalidRequestContentException" {
		t.Fatalf("stalled body: %s %s", status, h.Get("X-Amzn-ErrorType"))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the stalled body was given %v", d)
	}
}

// TestBodyBudget: bodies in flight share one memory budget; a body that
// would exceed it gets TooManyRequestsException, and the budget is whole
// again once that request ended.
func TestBodyBudget(t *testing.T) {
	addr := bodyServer(t, api.BodyLimits{InFlight: 64 << 10})
	status, h := rawRequest(t, addr, signedHead(addr, "test", 100<<10), strings.Repeat(" ", 100<<10), 10*time.Second)
	if !strings.HasPrefix(status, "429") || h.Get("X-Amzn-ErrorType") != "TooManyRequestsException" {
		t.Fatalf("a 100 KiB body over a 64 KiB budget: %s %s", status, h.Get("X-Amzn-ErrorType"))
	}
	// A small body fits again: it reaches the signature check (its
	// signature is a dummy), not the budget.
	status, h = rawRequest(t, addr, signedHead(addr, "test", 2), "{}", 10*time.Second)
	if !strings.HasPrefix(status, "403") || h.Get("X-Amzn-ErrorType") != "InvalidSignatureException" {
		t.Fatalf("a 2-byte body after the refused one: %s %s", status, h.Get("X-Amzn-ErrorType"))
	}
}
