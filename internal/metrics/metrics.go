// Package metrics owns sluice's Prometheus metrics: the invocation
// metrics, named after Lambda's CloudWatch metrics where one exists
// (Invocations, Errors, Throttles, Duration, ConcurrentExecutions, the
// init duration of cold starts, StreamedOutboundBytes, AsyncEventAge),
// the event queue's depth and age, and the API's request counts and
// latencies.
//
// The invocation metrics are taken by a decorator of the sluice.Invoker
// (Metrics.Invoker), so the invocation path itself knows nothing of
// them; the queue's are read at scrape time (Metrics.AsyncQueue); the
// API's are reported by the request middleware (Metrics.Request). The
// collectors are registered in the prometheus.Registerer given to New:
// no package-level state.
//
// Labels are bounded: function (a function's name) and qualifier (the
// alias or version the caller named, $LATEST when none) grow with the
// functions and qualifiers invoked since the start; operation (a Lambda
// operation name) and status (an HTTP status code) are finite sets.
//
// It may import sluice and the Prometheus client library.
package metrics

import (
	"context"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-dev/sluice"
)

// Namespace prefixes every metric name.
const Namespace = "sluice"

// Metrics are the collectors of one server.
type Metrics struct {
	invocations   *prometheus.CounterVec
	errors        *prometheus.CounterVec
	throttles     *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	concurrent    *prometheus.GaugeVec
	coldStarts    *prometheus.CounterVec
	initDuration  *prometheus.HistogramVec
	firstByte     *prometheus.HistogramVec
	streamedBytes *prometheus.CounterVec

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec

	reg prometheus.Registerer
	// series caches the collectors of each function and qualifier, so
	// that an invocation hashes its labels once.
	series sync.Map // function + "\x00" + qualifier → *series
}

// series are the collectors of one function and qualifier.
type series struct {
	invocations, errors, throttles, coldStarts, streamedBytes prometheus.Counter
	duration, initDuration, firstByte                         prometheus.Observer
	concurrent                                                prometheus.Gauge
}

func (m *Metrics) seriesOf(req sluice.InvokeRequest) *series {
	fn, q := req.Function.Name, qualifier(req)
	key := fn + "\x00" + q
	if s, ok := m.series.Load(key); ok {
		return s.(*series)
	}
	l := prometheus.Labels{"function": fn, "qualifier": q}
	s, _ := m.series.LoadOrStore(key, &series{
		invocations:   m.invocations.With(l),
		errors:        m.errors.With(l),
		throttles:     m.throttles.With(l),
		coldStarts:    m.coldStarts.With(l),
		streamedBytes: m.streamedBytes.With(l),
		duration:      m.duration.With(l),
		initDuration:  m.initDuration.With(l),
		firstByte:     m.firstByte.With(l),
		concurrent:    m.concurrent.With(l),
	})
	return s.(*series)
}

var fnLabels = []string{"function", "qualifier"}

// New returns Metrics whose collectors are registered in reg. It panics
// when reg already has them (a wiring mistake).
func New(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets}, labels)
	}
	// 1 ms to about 15 minutes (Lambda's longest timeout).
	durations := prometheus.ExponentialBuckets(0.001, 2.5, 16)
	m := &Metrics{
		invocations:   counter("invocations_total", "Invocations that ran (Lambda's Invocations): successful and failed ones, not throttled ones.", fnLabels...),
		errors:        counter("errors_total", "Invocations that ended in a function error, timeouts and crashes included (Lambda's Errors).", fnLabels...),
		throttles:     counter("throttles_total", "Invocation requests refused for want of concurrency (Lambda's Throttles, TooManyRequestsException).", fnLabels...),
		duration:      histogram("duration_seconds", "Time from the start of an invocation to its end (Lambda's Duration).", durations, fnLabels...),
		concurrent:    prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: "concurrent_executions", Help: "Invocations running now (Lambda's ConcurrentExecutions)."}, fnLabels),
		coldStarts:    counter("cold_starts_total", "Invocations that were the first of a new execution environment.", fnLabels...),
		initDuration:  histogram("init_duration_seconds", "Init phase of the execution environments of cold starts (REPORT's Init Duration).", durations, fnLabels...),
		firstByte:     histogram("time_to_first_byte_seconds", "Time from the start of an invocation to the first byte of its response.", durations, fnLabels...),
		streamedBytes: counter("streamed_outbound_bytes_total", "Bytes of function responses read by callers, streamed and buffered (Lambda's StreamedOutboundBytes counts streamed ones).", fnLabels...),

		requests:        counter("api_requests_total", "Requests to sluice's API and function URLs by operation and HTTP status.", "operation", "status"),
		requestDuration: histogram("api_request_duration_seconds", "Time from a request's arrival to the end of its response, by operation.", prometheus.ExponentialBuckets(0.001, 4, 9), "operation"),
		reg:             reg,
	}
	reg.MustRegister(m.invocations, m.errors, m.throttles, m.duration, m.concurrent, m.coldStarts, m.initDuration,
		m.firstByte, m.streamedBytes, m.requests, m.requestDuration)
	return m
}

// Request records one API request.
func (m *Metrics) Request(operation string, status int, d time.Duration) {
	m.requests.WithLabelValues(operation, strconv.Itoa(status)).Inc()
	m.requestDuration.WithLabelValues(operation).Observe(d.Seconds())
}

// AsyncQueue registers the gauges of the event queue, read at scrape
// time: depth says how many Event invocations are queued, oldestDue when
// the most overdue of them became due (ok false when there is none).
func (m *Metrics) AsyncQueue(depth func() int, oldestDue func() (time.Time, bool, error), now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: "async_queue_depth",
			Help: "Event invocations queued, those being delivered included."},
			func() float64 { return float64(depth()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: "async_event_age_seconds",
			Help: "How long the queue's most overdue Event invocation has waited since it became due (since it was queued, for a first attempt); 0 when none is due (Lambda's AsyncEventAge, as a gauge)."},
			func() float64 {
				due, ok, err := oldestDue()
				if err != nil || !ok {
					return 0
				}
				return max(0, now().Sub(due).Seconds())
			}),
	)
}

// Invoker returns next with the invocation metrics taken around it.
func (m *Metrics) Invoker(next sluice.Invoker) sluice.Invoker {
	return &invoker{next: next, m: m}
}

type invoker struct {
	next sluice.Invoker
	m    *Metrics
}

// qualifier is the qualifier the caller named in the function's ARN,
// $LATEST when none.
func qualifier(req sluice.InvokeRequest) string {
	arn := req.Invocation.InvokedFunctionARN
	// arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
	if strings.Count(arn, ":") == 7 {
		return arn[strings.LastIndexByte(arn, ':')+1:]
	}
	return sluice.LatestVersion
}

func (iv *invoker) Invoke(ctx context.Context, req sluice.InvokeRequest) (sluice.Output, error) {
	start := time.Now()
	out, err := iv.next.Invoke(ctx, req)
	s := iv.m.seriesOf(req)
	if err != nil {
		if sluice.ErrorCodeOf(err) == sluice.EThrottled {
			s.throttles.Inc()
		}
		return out, err
	}
	s.invocations.Inc()
	if c, ok := out.(interface {
		Init() (bool, time.Duration)
	}); ok {
		if cold, d := c.Init(); cold {
			s.coldStarts.Inc()
			if d > 0 {
				s.initDuration.Observe(d.Seconds())
			}
		}
	}
	s.concurrent.Inc()
	o := &output{Output: out, s: s, start: start}
	// The invocation ends at its Close, or earlier at the function's
	// deadline when the output says so.
	if e, ok := out.(interface{ OnEnd(func()) }); ok {
		e.OnEnd(o.end)
	}
	return o, nil
}

func (iv *invoker) InvokeAsync(req sluice.InvokeRequest) error {
	err := iv.next.InvokeAsync(req)
	if sluice.ErrorCodeOf(err) == sluice.EThrottled {
		iv.m.seriesOf(req).throttles.Inc()
	}
	return err
}

func (iv *invoker) Retire(scope sluice.Scope, functionName, version, keep string) {
	iv.next.Retire(scope, functionName, version, keep)
}

// output counts what the caller reads and ends the invocation's
// measurements.
type output struct {
	sluice.Output
	s         *series
	start     time.Time
	first     atomic.Bool  // a byte was read
	bytes     atomic.Int64 // read and not yet added to streamedBytes
	endOnce   sync.Once
	closeOnce sync.Once
}

func (o *output) Read(p []byte) (int, error) {
	n, err := o.Output.Read(p)
	if n > 0 {
		if o.first.CompareAndSwap(false, true) {
			o.s.firstByte.Observe(time.Since(o.start).Seconds())
		}
		o.bytes.Add(int64(n))
	}
	if err == io.EOF {
		o.flushBytes()
	}
	return n, err
}

func (o *output) flushBytes() {
	if n := o.bytes.Swap(0); n > 0 {
		o.s.streamedBytes.Add(float64(n))
	}
}

func (o *output) end() {
	o.endOnce.Do(func() {
		o.s.duration.Observe(time.Since(o.start).Seconds())
		o.s.concurrent.Dec()
	})
}

func (o *output) Close() error {
	err := o.Output.Close()
	o.closeOnce.Do(func() {
		o.flushBytes()
		o.end()
		if o.Output.Result().Err != nil {
			o.s.errors.Inc()
		}
	})
	return err
}
