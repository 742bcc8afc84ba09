package main

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads /_sluice/metrics as Prometheus would and parses it with
// the Prometheus text parser.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + metricsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s\n%s", metricsPath, resp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("the metrics do not parse: %v", err)
	}
	return fams
}

// sample is the value of the series of family name whose labels include
// want (0 when there is none): a counter's or gauge's value, a
// histogram's count.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	var sum float64
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// TestMetricsMoveWithInvocations: health and readiness answer without
// authentication, and the counters of /_sluice/metrics move with
// invocations: a success, a function error, a throttle, the cold start,
// the duration, the streamed bytes, the API's requests.
func TestMetricsMoveWithInvocations(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	ts := startServerLoggingJSON(t, &logs)

	resp, err := http.Get(ts.URL + healthPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"ok"`) {
		t.Fatalf("GET %s: %s %s, want 200 ok", healthPath, resp.Status, body)
	}
	resp, err = http.Get(ts.URL + readyPath)
	if err != nil {
		t.Fatal(err)
	}
	var ready readiness
	err = json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || !ready.Ready {
		t.Fatalf("GET %s: %s, %+v, %v; want 200 and ready", readyPath, resp.Status, ready, err)
	}
	for _, c := range []string{"store", "event_queue", "sandboxes"} {
		if ready.Checks[c] != "ok" {
			t.Errorf("readiness check %s = %q, want ok (%+v)", c, ready.Checks[c], ready)
		}
	}

	ts.createFunction(t, "ok", "echo")
	ts.createFunction(t, "bad", "fail")
	ts.createFunction(t, "busy", "echo")
	if _, err := ts.Client.PutFunctionConcurrency(ctx(t), &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("busy"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	before := scrape(t, ts.URL)
	if _, ok := before["sluice_async_queue_depth"]; !ok {
		t.Errorf("no sluice_async_queue_depth in the metrics")
	}

	ok := map[string]string{"function": "ok", "qualifier": "$LATEST"}
	var okID string
	for i := range 2 {
		out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("ok"), Payload: []byte(`{"n":1}`)})
		if err != nil {
			t.Fatal(err)
		}
		succeeded(t, out)
		if i == 0 {
			okID = requestIDOf(t, out.ResultMetadata)
		}
	}
	s := openStream(t, ts.Client, &lambda.InvokeWithResponseStreamInput{FunctionName: aws.String("ok"), Payload: []byte(`{"streamed":true}`)})
	cleanComplete(t, s.finish(t))
	out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("bad"), Payload: []byte(`{}`)})
	if err != nil || out.FunctionError == nil {
		t.Fatalf("invoking bad: %v, %+v; want a function error", err, out)
	}
	_, err = ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String("busy"), Payload: []byte(`{}`)})
	var throttled *types.TooManyRequestsException
	if !errors.As(err, &throttled) {
		t.Fatalf("invoking busy with reserved concurrency 0: %v, want TooManyRequestsException", err)
	}

	// An invocation's end is recorded when the API closes its output,
	// which may be a moment after the client has the response.
	var after map[string]*dto.MetricFamily
	deadline := time.Now().Add(10 * time.Second)
	for {
		after = scrape(t, ts.URL)
		if sample(after, "sluice_duration_seconds", ok) == 3 && sample(after, "sluice_errors_total", map[string]string{"function": "bad"}) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	delta := func(name string, labels map[string]string) float64 {
		return sample(after, name, labels) - sample(before, name, labels)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"sluice_invocations_total", ok, 3},
		{"sluice_duration_seconds", ok, 3},
		{"sluice_time_to_first_byte_seconds", ok, 3},
		{"sluice_cold_starts_total", ok, 1},
		{"sluice_init_duration_seconds", ok, 1},
		{"sluice_errors_total", ok, 0},
		{"sluice_invocations_total", map[string]string{"function": "bad"}, 1},
		{"sluice_errors_total", map[string]string{"function": "bad"}, 1},
		{"sluice_throttles_total", map[string]string{"function": "busy"}, 1},
		{"sluice_invocations_total", map[string]string{"function": "busy"}, 0},
		{"sluice_api_requests_total", map[string]string{"operation": "InvokeFunction", "status": "200"}, 4},
		{"sluice_api_requests_total", map[string]string{"operation": "InvokeFunction", "status": "429"}, 1},
	} {
		if got := delta(c.name, c.labels); got != c.want {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := sample(after, "sluice_concurrent_executions", ok); got != 0 {
		t.Errorf("sluice_concurrent_executions%v = %v after the invocations ended, want 0", ok, got)
	}
	if got := delta("sluice_streamed_outbound_bytes_total", ok); got < float64(3*len(`{"n":1}`)) {
		t.Errorf("sluice_streamed_outbound_bytes_total%v moved by %v, want at least the three responses", ok, got)
	}

	// The request log: one line per request at info, with the operation,
	// the function, the status, the duration and the request id.
	var found bool
	for _, line := range strings.Split(logs.String(), "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) != nil || l["msg"] != "request" || l["request_id"] != okID {
			continue
		}
		found = true
		if l["level"] != "INFO" || l["operation"] != "InvokeFunction" || l["function"] != "ok" || l["status"] != float64(200) {
			t.Errorf("request log line %s: want level INFO, operation InvokeFunction, function ok, status 200", line)
		}
		if d, ok := l["duration"].(float64); !ok || d <= 0 {
			t.Errorf("request log line %s: want a positive duration", line)
		}
	}
	if !found {
		t.Errorf("no request log line with request_id %s:\n%s", okID, logs.String())
	}
}

// startServerLoggingJSON is startServer with sluice's own log in JSON at
// info into logs.
func startServerLoggingJSON(t *testing.T, logs io.Writer) *testServer {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.ShutdownGrace = 3 * time.Second
	cfg.RuntimesDir = testRuntimesDir
	cfg.Sandbox = "none"
	logger, err := newServerLogger(logFormatJSON, slog.LevelInfo, logs)
	if err != nil {
		t.Fatal(err)
	}
	return startServerLogging(t, cfg, logger)
}

// TestMetricsExposure: --metrics off, and auto on an address that is
// not loopback, do not serve the metrics; health still answers.
func TestMetricsExposure(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.Metrics = metricsOff })
	resp, err := http.Get(ts.URL + metricsPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("GET %s with --metrics off: %s, want no metrics", metricsPath, resp.Status)
	}
	resp, err = http.Get(ts.URL + healthPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %s, want 200", healthPath, resp.Status)
	}
	for addr, want := range map[string]bool{"127.0.0.1:9000": true, "[::1]:9000": true, "localhost:9000": true, "0.0.0.0:9000": false, ":9000": false, "192.0.2.1:9000": false} {
		if got := loopbackListen(addr); got != want {
			t.Errorf("loopbackListen(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestLogFormat: auto is JSON when stderr is not a terminal, text and
// json are what they say, and `serve --log-format` refuses anything else.
func TestLogFormat(t *testing.T) {
	for format, want := range map[string]string{logFormatAuto: `{"time":`, logFormatJSON: `{"time":`, logFormatText: `time=`} {
		var b strings.Builder
		logger, err := newServerLogger(format, slog.LevelInfo, &b)
		if err != nil {
			t.Fatal(err)
		}
		logger.Info("hello")
		if !strings.HasPrefix(b.String(), want) {
			t.Errorf("--log-format %s wrote %q, want it to start with %q", format, b.String(), want)
		}
	}
	var stdout, stderr strings.Builder
	if code := serveCommand(ctx(t), []string{"--log-format", "xml"}, &stdout, &stderr); code != 2 {
		t.Errorf("serve --log-format xml exited %d, want 2 (%s)", code, stderr.String())
	}
	if code := serveCommand(ctx(t), []string{"--metrics", "maybe"}, &stdout, &stderr); code == 0 {
		t.Errorf("serve --metrics maybe exited 0")
	}
}

// TestMetricsNotServedToSandboxes: a function in an isolated sandbox
// reaches sluice's API at AWS_ENDPOINT_URL, and its health answer, but
// never the metrics, even with --metrics on.
func TestMetricsNotServedToSandboxes(t *testing.T) {
	t.Parallel()
	ts := startSandboxed(t, func(c *Config) { c.Metrics = metricsOn })
	ts.createProbe(t, "p")
	endpoint := ts.probe(t, "p", map[string]any{"op": "env"}).Env["AWS_ENDPOINT_URL"]
	if endpoint == "" {
		t.Fatal("no AWS_ENDPOINT_URL in the isolated sandbox")
	}
	if r := ts.probe(t, "p", map[string]any{"op": "http", "url": endpoint + healthPath}); !r.OK || r.Status != 200 {
		t.Fatalf("GET %s from the sandbox: %s, want 200", healthPath, r.raw)
	}
	if r := ts.probe(t, "p", map[string]any{"op": "http", "url": endpoint + metricsPath}); !r.OK || r.Status == 200 || strings.Contains(r.Body, "sluice_") {
		t.Errorf("GET %s from the sandbox: %s, want no metrics", metricsPath, r.raw)
	}
	// The same server serves them on its own listener.
	if fams := scrape(t, ts.URL); fams["sluice_invocations_total"] == nil {
		t.Errorf("no sluice_invocations_total on the server's listener")
	}
}
