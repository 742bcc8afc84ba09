package main

// HTTPS on the API listener (--tls-cert, --tls-key; tls.go): a CA and a
// server certificate made at test time, the Go SDK with the CA as its root,
// the JS SDK v3, boto3 and the AWS CLI with it as their CA bundle.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sluice-dev/sluice/internal/lambdaclient"
)

// testPKI is a CA and a server certificate it signed, as PEM files.
type testPKI struct {
	caFile, certFile, keyFile string
	roots                     *x509.CertPool
}

// newTestPKI makes a CA and a certificate for 127.0.0.1, ::1, localhost and
// the host-style function URLs of us-east-1, valid for an hour.
func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	return newTestPKIAt(t, time.Now())
}

// newTestPKIAt makes them valid from an hour before now to an hour after.
func newTestPKIAt(t *testing.T, now time.Time) *testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sluice test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost", "*.lambda-url.us-east-1.localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{
		caFile:   filepath.Join(dir, "ca.pem"),
		certFile: filepath.Join(dir, "cert.pem"),
		keyFile:  filepath.Join(dir, "key.pem"),
		roots:    x509.NewCertPool(),
	}
	p.roots.AddCert(ca)
	for file, block := range map[string]*pem.Block{
		p.caFile:   {Type: "CERTIFICATE", Bytes: caDER},
		p.certFile: {Type: "CERTIFICATE", Bytes: der},
		p.keyFile:  {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// sdkTLSClient is the Go SDK's own HTTP client (which offers HTTP/2 by
// ALPN) trusting roots, as a user would configure a custom CA bundle.
func sdkTLSClient(roots *x509.CertPool) *http.Client {
	bc := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.TLSClientConfig.RootCAs = roots
	})
	return &http.Client{Transport: lambdaclient.OwnBodies(bc.GetTransport())}
}

// startTLSServer starts sluice with --tls-cert and --tls-key of a fresh
// PKI; its Client is the Go SDK trusting the CA.
func startTLSServer(t *testing.T) (*testServer, *testPKI) {
	t.Helper()
	pki := newTestPKI(t)
	ts := startServer(t, func(c *Config) { c.TLSCert, c.TLSKey = pki.certFile, pki.keyFile })
	if !strings.HasPrefix(ts.URL, "https://") {
		t.Fatalf("server URL %s, want https://", ts.URL)
	}
	ts.Client = lambda.New(lambda.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(ts.cfg.AccessKeyID, ts.cfg.SecretAccessKey, ""),
		BaseEndpoint:     aws.String(ts.URL),
		HTTPClient:       sdkTLSClient(pki.roots),
		RetryMaxAttempts: 1,
	})
	return ts, pki
}

// TestE2ETLS: the Go SDK over HTTPS with a custom CA: control plane,
// Invoke, InvokeWithResponseStream streaming chunk by chunk over HTTP/1.1
// (offered h2, the server picks HTTP/1.1), package download and function
// URLs on the same listener; plain HTTP and unknown CAs are refused.
func TestE2ETLS(t *testing.T) {
	t.Parallel()
	ts, pki := startTLSServer(t)
	ts.createFunction(t, "echo", "echo")
	ts.createFunction(t, "streamer", "stream")

	out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"over":"tls"}`)})
	if err != nil {
		t.Fatalf("Invoke over TLS: %v", err)
	}
	if string(out.Payload) != `{"over":"tls"}` {
		t.Fatalf("Invoke payload %s", out.Payload)
	}
	raw, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response)
	if !ok || raw.TLS == nil {
		t.Fatalf("the Invoke response did not come over TLS: %#v", raw)
	}
	if raw.ProtoMajor != 1 || raw.TLS.NegotiatedProtocol != "http/1.1" {
		t.Errorf("protocol %s (ALPN %q), want HTTP/1.1: sluice does not serve HTTP/2", raw.Proto, raw.TLS.NegotiatedProtocol)
	}

	// Streaming: the first chunk arrives long before the function ends.
	start := time.Now()
	s := openStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{
		FunctionName: aws.String("streamer"), Payload: []byte(`{"chunks":4,"pauseMs":400}`),
	})
	if got := string(s.firstChunk(t)); got != "chunk-0\n" {
		t.Fatalf("first chunk %q", got)
	}
	first := time.Since(start)
	if s.done != nil {
		t.Fatalf("InvokeComplete came with the first chunk")
	}
	c := s.finish(t)
	last := time.Since(start)
	if c.ErrorCode != nil || s.payload() != "chunk-0\nchunk-1\nchunk-2\nchunk-3\n" {
		t.Fatalf("stream %q, InvokeComplete %q %q", s.payload(), aws.ToString(c.ErrorCode), aws.ToString(c.ErrorDetails))
	}
	if last-first < 800*time.Millisecond {
		t.Errorf("first chunk at %v, end at %v: the chunks were not streamed as written (the function pauses 3 x 400 ms)", first, last)
	}
	t.Logf("stream over TLS: first chunk after %v, end after %v", first.Round(time.Millisecond), last.Round(time.Millisecond))

	// The package's download link names the scheme the client used.
	got, err := ts.Client.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("echo")})
	if err != nil {
		t.Fatal(err)
	}
	loc := aws.ToString(got.Code.Location)
	if !strings.HasPrefix(loc, ts.URL+"/") {
		t.Fatalf("Code.Location %s, want it under %s", loc, ts.URL)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.roots}}}
	t.Cleanup(hc.CloseIdleConnections)
	resp, err := hc.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	zip, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(zip, testFunctionZip) {
		t.Errorf("GET Code.Location: %d, %d bytes", resp.StatusCode, len(zip))
	}

	// Function URLs share the listener: https:// URLs, host and path style.
	cu, err := ts.Client.CreateFunctionUrlConfig(ctx(t), &lambda.CreateFunctionUrlConfigInput{
		FunctionName: aws.String("echo"), AuthType: types.FunctionUrlAuthTypeNone,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ts.Addr())
	fu, err := url.Parse(aws.ToString(cu.FunctionUrl))
	if err != nil || fu.Scheme != "https" || fu.Port() != port || !strings.HasSuffix(fu.Hostname(), ".lambda-url.us-east-1.localhost") {
		t.Fatalf("FunctionUrl %s, want https://<id>.lambda-url.us-east-1.localhost:%s/", aws.ToString(cu.FunctionUrl), port)
	}
	urlClient := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pki.roots},
		// <id>.lambda-url.us-east-1.localhost is sluice, whatever the resolver says.
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, ts.Addr())
		},
	}}
	t.Cleanup(urlClient.CloseIdleConnections)
	id, _, _ := strings.Cut(fu.Hostname(), ".")
	for _, u := range []string{fu.String(), ts.URL + "/lambda-url/" + id + "/"} {
		resp, err := urlClient.Post(u, "application/json", strings.NewReader(`{"via":"url"}`))
		if err != nil {
			t.Fatalf("POST %s: %v", u, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// echo answers with the function URL event it got.
		var ev struct {
			Headers map[string]string
			Body    string
		}
		if err := json.Unmarshal(body, &ev); err != nil || resp.StatusCode != 200 || ev.Body != `{"via":"url"}` || ev.Headers["x-forwarded-proto"] != "https" {
			t.Errorf("POST %s: %d %s (%v); want the event of an HTTPS request", u, resp.StatusCode, body, err)
		}
	}

	// Plain HTTP to the TLS listener is answered with a 400, not served.
	plainURL := "http://" + ts.Addr() + "/2015-03-31/functions/"
	if resp, err := http.Get(plainURL); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "HTTPS") {
			t.Errorf("plain HTTP to the TLS listener: %d %s", resp.StatusCode, body)
		}
	}
	// A client that does not trust the CA refuses the server.
	_, err = lambdaclient.New(ts.URL, "test", "test").ListFunctions(ctx(t), &lambda.ListFunctionsInput{})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("ListFunctions without the CA: %v, want an unknown-authority error", err)
	}
}

// TestE2ETLSStalledClient: a client that stops reading a stream over TLS
// loses it after --client-write-timeout, as over plain HTTP (the TLS
// records go through the bound connection), and the function's
// environment is free for the next invocation.
func TestE2ETLSStalledClient(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	ts := startServer(t, func(c *Config) {
		c.TLSCert, c.TLSKey = pki.certFile, pki.keyFile
		c.ClientWriteTimeout = time.Second
	})
	ts.Client = lambda.New(lambda.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint:     aws.String(ts.URL),
		HTTPClient:       sdkTLSClient(pki.roots),
		RetryMaxAttempts: 1,
	})
	ts.createFunction(t, "streamer", "stream", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(60) })
	if _, err := ts.Client.PutFunctionConcurrency(ctx(t), &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String("streamer"), ReservedConcurrentExecutions: aws.Int32(1),
	}); err != nil {
		t.Fatal(err)
	}

	// A raw TLS client sends a signed stream request and reads nothing of
	// the 32 MiB the function writes.
	body := []byte(`{"chunks":512,"pauseMs":0,"size":65536}`)
	req, err := http.NewRequest("POST", ts.URL+"/2021-11-15/functions/streamer/response-streaming-invocations", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	signRequest(t, req, body)
	conn, err := tls.Dial("tcp", ts.Addr(), &tls.Config{RootCAs: pki.roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	// The stream has started (its headers are in), then the client reads
	// nothing more.
	resp, err := http.ReadResponse(bufio.NewReaderSize(conn, 4096), req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v %v", resp, err)
	}
	stalled := time.Now()
	// While the stalled stream holds the only slot, another invoke is
	// throttled; once the server has given up on the client (1 s without
	// progress) the slot is free again.
	throttled := 0
	for {
		out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("streamer"), Payload: []byte(`{"chunks":1}`)})
		if err == nil {
			if string(out.Payload) != "chunk-0\n" {
				t.Fatalf("Invoke after the stall: %q", out.Payload)
			}
			break
		}
		var tooMany *types.TooManyRequestsException
		if !errors.As(err, &tooMany) {
			t.Fatalf("Invoke during the stall: %v", err)
		}
		throttled++
		if time.Since(stalled) > 30*time.Second {
			t.Fatalf("the stalled TLS client still holds the function's slot after 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("the slot was free %v after the client stalled (%d invokes throttled before)", time.Since(stalled).Round(10*time.Millisecond), throttled)
	if throttled == 0 {
		t.Fatalf("no invoke was throttled: the stalled stream did not hold the slot")
	}
}

// signRequest signs req with the development key, as the SDK would.
func signRequest(t *testing.T, req *http.Request, body []byte) {
	t.Helper()
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
}

// TestE2ETLSClients runs the JS SDK v3 and boto3 client checks over HTTPS.
// boto3 trusts the test CA through AWS_CA_BUNDLE; the JS SDK v3 does not
// read AWS_CA_BUNDLE (aws/aws-sdk-js#2970; the test fails with "unable to
// verify the first certificate" with it alone) and leaves CAs to Node.js:
// NODE_EXTRA_CA_CERTS.
func TestE2ETLSClients(t *testing.T) {
	t.Parallel()
	node, dir := jsClient(t)
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is not on PATH (%v): the boto3 test needs a Python 3 with boto3 installed", err)
	}
	t.Run("js", func(t *testing.T) {
		ts, pki := startTLSServer(t)
		runClientChecksAgainst(t, ts, node, filepath.Join(dir, "stream.mjs"), goClientFunctions, map[string]string{"NODE_EXTRA_CA_CERTS": pki.caFile})
	})
	t.Run("boto3", func(t *testing.T) {
		ts, pki := startTLSServer(t)
		runClientChecksAgainst(t, ts, python, filepath.Join(clientsDir, "python", "stream.py"), goClientFunctions, map[string]string{"AWS_CA_BUNDLE": pki.caFile})
	})
}

// TestE2ETLSAWSCLI: the AWS CLI with --ca-bundle over HTTPS, and refusing
// the server without it.
func TestE2ETLSAWSCLI(t *testing.T) {
	t.Parallel()
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		t.Fatalf("aws (the AWS CLI) is not on PATH (%v): the image's pip awscli v1 provides it", err)
	}
	ts, pki := startTLSServer(t)
	ts.createFunction(t, "echo", "echo")
	dir := t.TempDir()
	env := clientEnv(map[string]string{
		"HOME":                  dir,
		"AWS_ACCESS_KEY_ID":     "test",
		"AWS_SECRET_ACCESS_KEY": "test",
		"AWS_DEFAULT_REGION":    "us-east-1",
		"AWS_PAGER":             "",
	})
	cli := func(args ...string) (string, string, error) {
		c, cancel := context.WithTimeout(context.Background(), clientTimeout)
		defer cancel()
		cmd := exec.CommandContext(c, awsBin, append(args, "--endpoint-url", ts.URL, "--output", "json")...)
		cmd.Env, cmd.Dir = env, dir
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		t.Logf("aws %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, abbreviate(stdout.String(), 300), abbreviate(stderr.String(), 300))
		return stdout.String(), stderr.String(), err
	}

	outFile := filepath.Join(dir, "out.json")
	args := []string{"--ca-bundle", pki.caFile, "lambda", "invoke", "--function-name", "echo", "--payload", `{"cli":"tls"}`}
	if v, _ := exec.Command(awsBin, "--version").CombinedOutput(); bytes.Contains(v, []byte("aws-cli/2.")) {
		args = append(args, "--cli-binary-format", "raw-in-base64-out")
	}
	out, stderr, err := cli(append(args, outFile)...)
	if err != nil {
		t.Fatalf("aws lambda invoke --ca-bundle: %v\n%s", err, stderr)
	}
	var invoked struct{ StatusCode int }
	if err := json.Unmarshal([]byte(out), &invoked); err != nil || invoked.StatusCode != 200 {
		t.Fatalf("invoke printed %q (%v)", out, err)
	}
	if b, err := os.ReadFile(outFile); err != nil || string(b) != `{"cli":"tls"}` {
		t.Fatalf("invoke wrote %q (%v)", b, err)
	}
	out, _, err = cli("--ca-bundle", pki.caFile, "lambda", "list-functions")
	if err != nil || !strings.Contains(out, `"FunctionName": "echo"`) {
		t.Fatalf("list-functions: %v %s", err, out)
	}
	_, stderr, err = cli("lambda", "list-functions")
	if err == nil || !strings.Contains(stderr, "CERTIFICATE_VERIFY_FAILED") {
		t.Fatalf("list-functions without the CA bundle: %v %s; want a certificate verification failure", err, stderr)
	}
}

// TestServeTLSFlags runs `sluice serve` with the TLS flags: both, one
// alone, files that cannot be read or do not match.
func TestServeTLSFlags(t *testing.T) {
	pki := newTestPKI(t)
	other := newTestPKI(t)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"cert alone", []string{"--tls-cert", pki.certFile}, "--tls-cert needs --tls-key"},
		{"key alone", []string{"--tls-key", pki.keyFile}, "--tls-key needs --tls-cert"},
		{"cert missing", []string{"--tls-cert", missing, "--tls-key", pki.keyFile}, "--tls-cert: open " + missing + ": no such file or directory"},
		{"key missing", []string{"--tls-cert", pki.certFile, "--tls-key", missing}, "--tls-key: open " + missing + ": no such file or directory"},
		{"cert not PEM", []string{"--tls-cert", garbage, "--tls-key", pki.keyFile}, "failed to find any PEM data in certificate input"},
		{"key of another cert", []string{"--tls-cert", pki.certFile, "--tls-key", other.keyFile}, "private key does not match public key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--sandbox", "none"}, tt.args...)
			c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			code := run(c, args, &out, &errs)
			if code != 1 || !strings.Contains(errs.String(), tt.want) || strings.Contains(out.String(), "listening") {
				t.Errorf("serve %s: status %d\nstdout: %s\nstderr: %s\nwant status 1 and %q", strings.Join(tt.args, " "), code, out.String(), errs.String(), tt.want)
			}
		})
	}

	t.Run("both", func(t *testing.T) {
		var out, errs syncBuffer
		c, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		go func() {
			done <- run(c, []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--sandbox", "none",
				"--tls-cert", pki.certFile, "--tls-key", pki.keyFile}, &out, &errs)
		}()
		defer func() {
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("serve exited with %d: %s", code, errs.String())
			}
		}()
		var base string
		for deadline := time.Now().Add(30 * time.Second); base == ""; {
			if rest, ok := strings.CutPrefix(out.String(), "sluice listening on "); ok {
				base, _, _ = strings.Cut(rest, " ")
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no startup line within 30 s\nstdout: %s\nstderr: %s", out.String(), errs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.HasPrefix(base, "https://127.0.0.1:") {
			t.Fatalf("startup line %q, want https://127.0.0.1:<port>", out.String())
		}
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.roots}}}
		defer hc.CloseIdleConnections()
		resp, err := hc.Get(base + "/2015-03-31/functions/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// Served, unsigned: what AWS answers an unsigned request.
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" {
			t.Errorf("unsigned GET over TLS: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
		}
	})
}

// TestServerTLSWarnsExpired: a certificate out of its validity is loaded
// (the operator may be replacing it) with a warning that clients will
// refuse it.
func TestServerTLSWarnsExpired(t *testing.T) {
	for _, tt := range []struct {
		at   time.Time
		want string
	}{
		{time.Now().Add(-3 * time.Hour), "the TLS certificate has expired"},
		{time.Now().Add(3 * time.Hour), "the TLS certificate is not valid yet"},
		{time.Now(), ""},
	} {
		pki := newTestPKIAt(t, tt.at)
		var log bytes.Buffer
		conf, err := serverTLS(Config{TLSCert: pki.certFile, TLSKey: pki.keyFile}, slog.New(slog.NewTextHandler(&log, nil)))
		if err != nil || conf == nil || len(conf.Certificates) != 1 {
			t.Fatalf("serverTLS: %v, %v", conf, err)
		}
		if !slices.Equal(conf.NextProtos, []string{"http/1.1"}) || conf.MinVersion != tls.VersionTLS12 {
			t.Errorf("NextProtos %q, MinVersion %x; want HTTP/1.1 only, TLS 1.2 or later", conf.NextProtos, conf.MinVersion)
		}
		if tt.want == "" && log.Len() > 0 || tt.want != "" && !strings.Contains(log.String(), "level=WARN msg=\""+tt.want) {
			t.Errorf("certificate valid around %v: log %q, want %q", tt.at, log.String(), tt.want)
		}
	}
	if conf, err := serverTLS(Config{}, slog.Default()); conf != nil || err != nil {
		t.Errorf("serverTLS without the flags = %v, %v; want nil, nil", conf, err)
	}
}
