package parity_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/api"
	"github.com/sluice-dev/sluice/internal/artifacts"
	"github.com/sluice-dev/sluice/internal/bolt"
	"github.com/sluice-dev/sluice/internal/lambdaclient"
	"github.com/sluice-dev/sluice/internal/service"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

// The recordings were made in account 111111111111 (LocalStack's
// transformers replace the real one with it) and a region the snapshots
// replace by <region>; the server runs in that account so that the
// literal account id in recorded ARNs compares as is.
var scope = sluice.Scope{Region: "us-east-1", Account: "111111111111"}

const role = "arn:aws:iam::111111111111:role/lambda-test-role"

// excerpt is one testdata/*.excerpt.json file: recorded exchanges of one
// LocalStack snapshot file, keyed by "Class::test[param]".
type excerpt struct {
	Source string                  `json:"source"`
	Commit string                  `json:"commit"`
	Cases  map[string]recordedCase `json:"cases"`
}

type recordedCase struct {
	LastValidated string         `json:"last_validated_date"`
	Recorded      map[string]any `json:"recorded"`
}

// exchange is the last HTTP response the client saw.
type exchange struct {
	status int
	header http.Header
	body   []byte
}

// recorder keeps a copy of the last response (the cases call the API one
// call at a time).
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	last exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	r.mu.Lock()
	r.last = exchange{status: resp.StatusCode, header: resp.Header.Clone(), body: b}
	r.mu.Unlock()
	return resp, nil
}

func (r *recorder) Last() exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// nopInvoker is the data plane of the harness: the cases replayed so far
// are control-plane calls only.
type nopInvoker struct{}

func (nopInvoker) Invoke(context.Context, sluice.InvokeRequest) (sluice.Output, error) {
	return nil, sluice.Errorf(sluice.EInternal, "the parity harness does not invoke")
}
func (nopInvoker) InvokeAsync(sluice.InvokeRequest) error {
	return sluice.Errorf(sluice.EInternal, "the parity harness does not invoke")
}
func (nopInvoker) Retire(sluice.Scope, string, string, string) {}

// recordedRuntimes are the runtimes the recordings use, accepted by the
// API without being provisioned (nothing is invoked).
type recordedRuntimes struct{}

func (recordedRuntimes) Names() []string {
	return []string{"provided.al2023", "python3.11", "python3.12", "python3.13"}
}
func (r recordedRuntimes) Supported(rt string) bool { return slices.Contains(r.Names(), rt) }

// server is one sluice API server on a loopback port with a client whose
// responses are recorded.
type server struct {
	client *lambda.Client
	rec    *recorder
}

func newServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	store, err := bolt.Open(filepath.Join(dir, "sluice.db"), scope)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	code, err := artifacts.Open(filepath.Join(dir, "code"))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	cfg := service.Config{Scope: scope, Store: store, Code: code, Invoker: nopInvoker{}, Logger: logger}
	reg := service.NewRegistry(service.RegistryConfig{Default: scope, Stores: store, Service: cfg})
	srv := httptest.NewServer(api.New(api.Config{
		Services: reg,
		Verifier: &sigv4.Verifier{Secret: sigv4.StaticCredentials("test", "test"), Service: "lambda", Now: time.Now, MaxSkew: 5 * time.Minute},
		Logger:   logger,
		Now:      time.Now,
		Runtimes: recordedRuntimes{},
	}))
	t.Cleanup(reg.Close)
	t.Cleanup(srv.Close)
	rec := &recorder{base: http.DefaultTransport.(*http.Transport).Clone()}
	client := lambda.New(lambda.Options{
		Region:           scope.Region,
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint:     aws.String(srv.URL),
		HTTPClient:       &http.Client{Transport: lambdaclient.OwnBodies(rec)},
		RetryMaxAttempts: 1,
	})
	return &server{client: client, rec: rec}
}

// run is one replay: the responses it snapshotted under the recording's
// keys.
type run struct {
	t   *testing.T
	ctx context.Context
	c   *lambda.Client
	srv *server
	got map[string]any
	// order is the keys of got in the order of the calls: placeholders
	// bind in that order, as LocalStack's transformers numbered them
	order []string
}

// snap calls f (one SDK call; its result and error are not looked at:
// the raw response is) and keeps the response as boto3 would have
// parsed it under key.
func (r *run) snap(key string, f func() error) {
	_ = f()
	r.got[key] = botoShape(r.srv.rec.Last())
	r.order = append(r.order, key)
}

// botoShape is the response as botocore returns it for restJson1: the
// body's members, for errors also Error{Code, Message}, and
// ResponseMetadata (headers are left out, as LocalStack's snapshots do).
func botoShape(e exchange) map[string]any {
	m := map[string]any{}
	if len(bytes.TrimSpace(e.body)) > 0 {
		if err := json.Unmarshal(e.body, &m); err != nil {
			m = map[string]any{"<undecodable body>": string(e.body)}
		}
	}
	if e.status >= 300 {
		code := e.header.Get("X-Amzn-Errortype")
		if code == "" {
			code, _ = m["__type"].(string)
		}
		code, _, _ = strings.Cut(code, ":")
		if i := strings.LastIndex(code, "#"); i >= 0 {
			code = code[i+1:]
		}
		msg, ok := m["message"].(string)
		if !ok {
			msg, _ = m["Message"].(string)
		}
		delete(m, "__type")
		m["Error"] = map[string]any{"Code": code, "Message": msg}
	}
	m["ResponseMetadata"] = map[string]any{"HTTPHeaders": map[string]any{}, "HTTPStatusCode": float64(e.status)}
	return m
}

// waitActive and waitUpdated are botocore's function_active_v2 and
// function_updated_v2 waiters.
func (r *run) waitActive(name string) { r.wait(name, "State", "Active") }

func (r *run) waitUpdated(name string) { r.wait(name, "LastUpdateStatus", "Successful") }

func (r *run) wait(name, field, want string) {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out, err := r.c.GetFunction(r.ctx, &lambda.GetFunctionInput{FunctionName: &name})
		if err != nil {
			r.t.Logf("waiting for %s %s=%s: %v", name, field, want, err)
			return
		}
		{
			cfg := out.Configuration
			got := string(cfg.State)
			if field == "LastUpdateStatus" {
				got = string(cfg.LastUpdateStatus)
			}
			if got == want {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	// the replay goes on: the differences it then meets are the report
	r.t.Logf("waiting for %s %s=%s: timed out", name, field, want)
}

// placeholder is a value LocalStack's transformers put in place of a
// recorded one: "<function-name:1>", "<uuid:2>", "<region>", ...
var placeholder = regexp.MustCompile(`<[a-zA-Z0-9_-]+(?::\d+)?>`)

// binder matches recorded strings with placeholders against sluice's
// values: a placeholder stands for one value throughout a case, and two
// numbered placeholders of one kind (<uuid:1>, <uuid:2>) for two
// different values, as the transformers that made them guarantee.
type binder struct {
	val map[string]string // placeholder -> sluice's value
	ph  map[string]string // kind + "\x00" + value -> placeholder
}

func newBinder() *binder { return &binder{val: map[string]string{}, ph: map[string]string{}} }

// free placeholders stand for any value, each time anew.
var free = map[string]bool{"<code-size>": true, "<location>": true}

func kind(p string) string {
	k, _, _ := strings.Cut(strings.Trim(p, "<>"), ":")
	return k
}

func (b *binder) match(want, got string) bool {
	if want == "date" { // LocalStack's timestamp transformer
		return got != ""
	}
	locs := placeholder.FindAllStringIndex(want, -1)
	if locs == nil {
		return want == got
	}
	var re strings.Builder
	re.WriteString("^")
	var names []string
	prev := 0
	for _, l := range locs {
		re.WriteString(regexp.QuoteMeta(want[prev:l[0]]))
		re.WriteString("(.+?)")
		names = append(names, want[l[0]:l[1]])
		prev = l[1]
	}
	re.WriteString(regexp.QuoteMeta(want[prev:]))
	re.WriteString("$")
	sub := regexp.MustCompile(re.String()).FindStringSubmatch(got)
	if sub == nil {
		return false
	}
	// bind all or nothing
	newVal := map[string]string{}
	newPh := map[string]string{}
	for i, p := range names {
		v := sub[i+1]
		if free[p] {
			continue
		}
		if old, ok := b.val[p]; ok {
			if old != v {
				return false
			}
			continue
		}
		if old, ok := newVal[p]; ok && old != v {
			return false
		}
		key := kind(p) + "\x00" + v
		if other, ok := b.ph[key]; ok && other != p && strings.Contains(p, ":") {
			return false
		}
		newVal[p] = v
		newPh[key] = p
	}
	for k, v := range newVal {
		b.val[k] = v
	}
	for k, v := range newPh {
		b.ph[k] = v
	}
	return true
}

// compare appends one line per difference between the recorded value
// want and sluice's got under path.
func compare(b *binder, path string, want, got any, out *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: AWS has an object %s, sluice %s", path, short(want), short(got)))
			return
		}
		for _, k := range sortedKeys(w) {
			gv, ok := g[k]
			if !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: missing in sluice (AWS: %s)", path, k, short(w[k])))
				continue
			}
			compare(b, path+"."+k, w[k], gv, out)
		}
		for _, k := range sortedKeys(g) {
			if _, ok := w[k]; !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: extra in sluice (%s)", path, k, short(g[k])))
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			*out = append(*out, fmt.Sprintf("%s: AWS %s, sluice %s", path, short(want), short(got)))
			return
		}
		for i := range w {
			compare(b, fmt.Sprintf("%s[%d]", path, i), w[i], g[i], out)
		}
	case string:
		var gs string
		switch g := got.(type) {
		case string:
			gs = g
		case float64, bool:
			if !placeholder.MatchString(w) {
				*out = append(*out, fmt.Sprintf("%s: AWS %s, sluice %s", path, short(want), short(got)))
				return
			}
			gs = fmt.Sprint(g)
		default:
			*out = append(*out, fmt.Sprintf("%s: AWS %s, sluice %s", path, short(want), short(got)))
			return
		}
		if !b.match(w, gs) {
			*out = append(*out, fmt.Sprintf("%s: AWS %s, sluice %s", path, short(want), short(got)))
		}
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) {
			*out = append(*out, fmt.Sprintf("%s: AWS %s, sluice %s", path, short(want), short(got)))
		}
	}
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 160 {
		return string(b[:157]) + "..."
	}
	return string(b)
}

func loadExcerpt(t *testing.T, file string) excerpt {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var e excerpt
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return e
}

// expectedToMatch is testdata/expected-to-match.txt: the cases that must
// replay without a difference (one "file::Class::test[param]" a line, #
// comments). Every other case only reports.
func expectedToMatch(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "expected-to-match.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			m[line] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// replay is one case's call sequence: it calls r.snap under the keys of
// the recording.
type replay func(r *run)

// TestParity replays every case of every excerpt that has a replay. A
// difference fails the test only for the cases listed as expected to
// match; the closing line counts the exchanges replayed and matched.
func TestParity(t *testing.T) {
	must := expectedToMatch(t)
	var exchanges, matched, cases, clean int
	for _, file := range sortedFiles(replays) {
		ex := loadExcerpt(t, file)
		for _, name := range sortedCases(replays[file]) {
			rc, ok := ex.Cases[name]
			if !ok {
				t.Errorf("%s: %s has a replay but no recording", file, name)
				continue
			}
			id := file + "::" + name
			t.Run(name, func(t *testing.T) {
				srv := newServer(t)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				r := &run{t: t, ctx: ctx, c: srv.client, srv: srv, got: map[string]any{}}
				replays[file][name](r)
				b := newBinder()
				var diffs []string
				keys := slices.Clone(r.order)
				for _, k := range sortedKeys(rc.Recorded) {
					if !slices.Contains(keys, k) {
						keys = append(keys, k)
					}
				}
				for _, key := range keys {
					if _, ok := rc.Recorded[key]; !ok {
						continue // a call the recording did not snapshot
					}
					exchanges++
					got, ok := r.got[key]
					if !ok {
						diffs = append(diffs, key+": not replayed")
						continue
					}
					n := len(diffs)
					compare(b, key, rc.Recorded[key], got, &diffs)
					if len(diffs) == n {
						matched++
					}
				}
				cases++
				if len(diffs) == 0 {
					clean++
				}
				report := t.Logf
				if must[id] {
					report = t.Errorf
				}
				for _, d := range diffs {
					report("MISMATCH %s (validated %s): %s", name, rc.LastValidated, d)
				}
			})
		}
	}
	t.Logf("parity: %d cases (%d without a difference), %d recorded exchanges replayed, %d match", cases, clean, exchanges, matched)
}

func sortedFiles(m map[string]map[string]replay) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func sortedCases(m map[string]replay) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
