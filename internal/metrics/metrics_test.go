package metrics

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sluice-dev/sluice"
)

// fakeOutput is an invocation's output: body, then Result err; it ends
// at Close or at end() (the deadline).
type fakeOutput struct {
	io.Reader
	err   *sluice.FunctionError
	cold  bool
	mu    sync.Mutex
	onEnd []func()
	ended bool
}

func (o *fakeOutput) ContentType() string { return "application/json" }
func (o *fakeOutput) Result() sluice.Result {
	return sluice.Result{Err: o.err}
}
func (o *fakeOutput) Init() (bool, time.Duration) {
	if o.cold {
		return true, 30 * time.Millisecond
	}
	return false, 0
}
func (o *fakeOutput) OnEnd(f func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.onEnd = append(o.onEnd, f)
}
func (o *fakeOutput) end() {
	o.mu.Lock()
	fs := o.onEnd
	o.ended, o.onEnd = true, nil
	o.mu.Unlock()
	for _, f := range fs {
		f()
	}
}
func (o *fakeOutput) Close() error { o.end(); return nil }

type fakeInvoker struct {
	next    func() (sluice.Output, error)
	retired string
}

func (f *fakeInvoker) Invoke(context.Context, sluice.InvokeRequest) (sluice.Output, error) {
	return f.next()
}
func (f *fakeInvoker) InvokeAsync(sluice.InvokeRequest) error {
	return sluice.Errorf(sluice.EThrottled, "busy")
}
func (f *fakeInvoker) Retire(_ sluice.Scope, name, version, _ string) {
	f.retired = name + ":" + version
}

func request(name, arn string) sluice.InvokeRequest {
	return sluice.InvokeRequest{Function: &sluice.Function{Name: name}, Invocation: sluice.Invocation{InvokedFunctionARN: arn}}
}

func TestInvoker(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	fake := &fakeInvoker{}
	iv := m.Invoker(fake)
	const arn = "arn:aws:lambda:us-east-1:000000000000:function:f"

	// A cold start that streams 5 bytes and succeeds.
	fake.next = func() (sluice.Output, error) { return &fakeOutput{Reader: strings.NewReader("hello"), cold: true}, nil }
	out, err := iv.Invoke(context.Background(), request("f", arn+":live"))
	if err != nil {
		t.Fatal(err)
	}
	live := prometheus.Labels{"function": "f", "qualifier": "live"}
	if got := testutil.ToFloat64(m.concurrent.With(live)); got != 1 {
		t.Errorf("concurrent executions during the invocation = %v, want 1", got)
	}
	if b, _ := io.ReadAll(out); string(b) != "hello" {
		t.Errorf("read %q", b)
	}
	out.Close()
	// A warm one that fails, unqualified, ended by its deadline before
	// Close.
	fo := &fakeOutput{Reader: bytes.NewReader(nil), err: &sluice.FunctionError{Type: "Sandbox.Timedout"}}
	fake.next = func() (sluice.Output, error) { return fo, nil }
	out, err = iv.Invoke(context.Background(), request("f", arn))
	if err != nil {
		t.Fatal(err)
	}
	latest := prometheus.Labels{"function": "f", "qualifier": sluice.LatestVersion}
	fo.end()
	if got := testutil.ToFloat64(m.concurrent.With(latest)); got != 0 {
		t.Errorf("concurrent executions after the deadline = %v, want 0", got)
	}
	out.Close()
	// A throttle, synchronous and asynchronous.
	fake.next = func() (sluice.Output, error) { return nil, sluice.Errorf(sluice.EThrottled, "Rate Exceeded.") }
	if _, err := iv.Invoke(context.Background(), request("f", arn)); sluice.ErrorCodeOf(err) != sluice.EThrottled {
		t.Fatalf("Invoke error %v, want the throttle through", err)
	}
	if err := iv.InvokeAsync(request("f", arn)); sluice.ErrorCodeOf(err) != sluice.EThrottled {
		t.Fatalf("InvokeAsync error %v, want the throttle through", err)
	}
	iv.Retire(sluice.Scope{}, "f", "1", "")
	if fake.retired != "f:1" {
		t.Errorf("Retire not passed on: %q", fake.retired)
	}

	for _, c := range []struct {
		c    prometheus.Collector
		want float64
	}{
		{m.invocations.With(live), 1},
		{m.invocations.With(latest), 1},
		{m.errors.With(live), 0},
		{m.errors.With(latest), 1},
		{m.throttles.With(latest), 2},
		{m.coldStarts.With(live), 1},
		{m.coldStarts.With(latest), 0},
		{m.streamedBytes.With(live), 5},
		{m.concurrent.With(live), 0},
	} {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%v = %v, want %v", c.c, got, c.want)
		}
	}
	for _, c := range []struct {
		name   string
		labels prometheus.Labels
		want   uint64
	}{
		{"sluice_duration_seconds", live, 1},
		{"sluice_duration_seconds", latest, 1},
		{"sluice_time_to_first_byte_seconds", live, 1},
		{"sluice_time_to_first_byte_seconds", latest, 0}, // it wrote nothing
		{"sluice_init_duration_seconds", live, 1},
	} {
		if got := histogramCount(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v count %d, want %d", c.name, c.labels, got, c.want)
		}
	}
}

func TestAsyncQueueAndRequests(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	now := time.Unix(1000, 0)
	due, ok := now.Add(-90*time.Second), true
	m.AsyncQueue(func() int { return 7 }, func() (time.Time, bool, error) { return due, ok, nil }, func() time.Time { return now })
	m.Request("InvokeFunction", 200, time.Millisecond)
	m.Request("InvokeFunction", 429, time.Millisecond)
	want := `
# HELP sluice_async_queue_depth Event invocations queued, those being delivered included.
# TYPE sluice_async_queue_depth gauge
sluice_async_queue_depth 7
# HELP sluice_api_requests_total Requests to sluice's API and function URLs by operation and HTTP status.
# TYPE sluice_api_requests_total counter
sluice_api_requests_total{operation="InvokeFunction",status="200"} 1
sluice_api_requests_total{operation="InvokeFunction",status="429"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sluice_async_queue_depth", "sluice_api_requests_total"); err != nil {
		t.Error(err)
	}
	ages := func() float64 {
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() == "sluice_async_event_age_seconds" {
				return f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("no sluice_async_event_age_seconds")
		return 0
	}
	if got := ages(); got != 90 {
		t.Errorf("event age %v, want 90", got)
	}
	ok = false
	if got := ages(); got != 0 {
		t.Errorf("event age of an empty queue %v, want 0", got)
	}
}

// histogramCount is the sample count of the series of histogram name
// with labels.
func histogramCount(t *testing.T, reg *prometheus.Registry, name string, labels prometheus.Labels) uint64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			return m.GetHistogram().GetSampleCount()
		}
	}
	return 0
}

// BenchmarkInvoker is the decorator's cost per invocation (read, close).
func BenchmarkInvoker(b *testing.B) {
	m := New(prometheus.NewRegistry())
	fake := &fakeInvoker{next: func() (sluice.Output, error) { return &fakeOutput{Reader: strings.NewReader("{}")}, nil }}
	iv := m.Invoker(fake)
	req := request("f", "arn:aws:lambda:us-east-1:000000000000:function:f")
	buf := make([]byte, 64)
	b.ReportAllocs()
	for b.Loop() {
		out, err := iv.Invoke(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := out.Read(buf); err != nil {
				break
			}
		}
		out.Close()
	}
}
