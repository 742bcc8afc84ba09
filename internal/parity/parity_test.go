package parity_test

import (
	"context"
	"flag"
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
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go/middleware"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/api"
	"github.com/sluice-dev/sluice/internal/artifacts"
	"github.com/sluice-dev/sluice/internal/bolt"
	"github.com/sluice-dev/sluice/internal/furl"
	"github.com/sluice-dev/sluice/internal/lambdaclient"
	"github.com/sluice-dev/sluice/internal/parity"
	"github.com/sluice-dev/sluice/internal/service"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

// The recordings were made in account 111111111111 (LocalStack's
// transformers replace the real one with it) and a region the snapshots
// replace by <region>; the server runs in that account so that the
// literal account id in recorded ARNs compares as is.
var scope = sluice.Scope{Region: "us-east-1", Account: "111111111111"}

const role = "arn:aws:iam::111111111111:role/lambda-test-role"

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
	return []string{"nodejs18.x", "nodejs20.x", "provided.al2023", "python3.8", "python3.9", "python3.11", "python3.12", "python3.13"}
}
func (r recordedRuntimes) Supported(rt string) bool { return slices.Contains(r.Names(), rt) }

// server is one sluice API server on a loopback port with a client whose
// responses are recorded.
type server struct {
	client *lambda.Client
	rec    *parity.Recorder
	// deploys holds the server's deployments while a replay wants them
	// in progress
	deploys *gate
}

// gate is the harness's runtime preparation (service.Runtimes): nothing
// to prepare, unless a replay holds it; then deployments stay in progress
// until it is released, as LocalStack's concurrent-update tests patch
// their runtime to hold them.
type gate struct {
	mu   sync.Mutex
	held chan struct{}
}

func (g *gate) Prepare(ctx context.Context, _ string) error {
	g.mu.Lock()
	held := g.held
	g.mu.Unlock()
	if held == nil {
		return nil
	}
	select {
	case <-held:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) Ready(string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held == nil
}

func (g *gate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held == nil {
		g.held = make(chan struct{})
	}
}

func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held != nil {
		close(g.held)
		g.held = nil
	}
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
	deploys := &gate{}
	cfg := service.Config{Scope: scope, Store: store, Code: code, Invoker: nopInvoker{}, Logger: logger, NewURLID: furl.NewURLID, Runtimes: deploys}
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
	t.Cleanup(deploys.release)
	rec := &parity.Recorder{Base: http.DefaultTransport.(*http.Transport).Clone()}
	client := lambda.New(lambda.Options{
		Region:           scope.Region,
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint:     aws.String(srv.URL),
		HTTPClient:       &http.Client{Transport: lambdaclient.OwnBodies(rec)},
		RetryMaxAttempts: 1,
		APIOptions:       []func(*middleware.Stack) error{countOperation},
	})
	return &server{client: client, rec: rec, deploys: deploys}
}

// called holds the operations the replays called (countOperation).
var called sync.Map

// countOperation is a client middleware that notes each operation called.
func countOperation(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("parityCalled", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		called.Store(awsmiddleware.GetOperationName(ctx), true)
		return next.HandleInitialize(ctx, in)
	}), middleware.After)
}

// notReplayedHere are the implemented operations the control-plane
// replays do not call, and why.
var notReplayedHere = map[string]string{
	"InvokeWithResponseStream":   "LocalStack keeps no recording of it; its wire format is tested against AWS's documentation (internal/eventstream, cmd/sluice)",
	"GetRuntimeManagementConfig": "LocalStack keeps no recording of it (docs/decisions.md: its messages are ours)",
	"PutRuntimeManagementConfig": "LocalStack keeps no recording of it (docs/decisions.md: its messages are ours)",
}

// implementedOperations are the operations docs/operations.md marks
// implemented (internal/api's TestOperationsTable keeps it true).
func implementedOperations(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) > 3 && strings.TrimSpace(cells[2]) == "implemented" {
			ops = append(ops, strings.TrimSpace(cells[1]))
		}
	}
	if len(ops) < 30 {
		t.Fatalf("docs/operations.md: %d implemented operations found; the table's format changed?", len(ops))
	}
	return ops
}

// run is one replay of this harness: parity.Run on an API server.
type run struct {
	*parity.Run
	srv *server
}

// replay is one case's call sequence: it calls r.Snap under the keys of
// the recording.
type replay func(r *run)

// replays maps an excerpt file of testdata to its cases' replays; each
// cases_*_test.go file registers its own in an init function.
var replays = map[string]map[string]replay{}

func register(file string, cases map[string]replay) {
	if replays[file] == nil {
		replays[file] = map[string]replay{}
	}
	for name, r := range cases {
		if _, dup := replays[file][name]; dup {
			panic("parity: two replays of " + file + "::" + name)
		}
		replays[file][name] = r
	}
}

// TestParity replays every case of every excerpt that has a replay and
// fails for every difference from the recording that
// testdata/deviations.tsv does not name as a documented deviation (those
// are logged as DEVIATION lines). The closing line counts the exchanges
// replayed and matched.
func TestParity(t *testing.T) {
	devs, err := parity.LoadDeviations(filepath.Join("testdata", "deviations.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := devs.CheckDecisions(filepath.Join("..", "..", "docs", "decisions.md")); err != nil {
		t.Fatal(err)
	}
	used := map[*parity.Deviation]bool{}
	var exchanges, matched, cases, clean, deviating int
	for _, file := range sortedKeys(replays) {
		ex, err := parity.LoadExcerpt(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range sortedKeys(replays[file]) {
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
				r := &run{Run: parity.NewRun(t, ctx, srv.client, srv.rec), srv: srv}
				replays[file][name](r)
				diffs, n, m := parity.Diff(rc, r.Run)
				exchanges += n
				matched += m
				cases++
				documented := 0
				for _, d := range diffs {
					if dev := devs.Explain(id, d); dev != nil {
						used[dev] = true
						documented++
						t.Logf("DEVIATION %s: %s (docs/decisions.md: %s)", name, d, dev.Decision)
						continue
					}
					t.Errorf("MISMATCH %s (validated %s): %s", name, rc.LastValidated, d)
				}
				switch {
				case len(diffs) == 0:
					clean++
				case documented == len(diffs):
					deviating++
				}
			})
		}
	}
	// every operation sluice implements is replayed from a recording
	if f := flag.Lookup("test.run"); f == nil || f.Value.String() == "" {
		for _, op := range implementedOperations(t) {
			_, ok := called.Load(op)
			why, exempt := notReplayedHere[op]
			switch {
			case !ok && !exempt:
				t.Errorf("no replayed recording calls %s, which sluice implements (docs/operations.md): replay one, or say in notReplayedHere why not", op)
			case ok && exempt:
				t.Errorf("%s is replayed here, yet notReplayedHere says %q", op, why)
			}
		}
	}
	// a deviation that no longer explains a difference is stale: the
	// difference was fixed, or its line no longer matches what it meant
	// (only those of the cases replayed here: cmd/sluice's TestParityInvoke
	// checks the invocation cases' own)
	if f := flag.Lookup("test.run"); f == nil || f.Value.String() == "" {
		for i := range devs {
			if !used[&devs[i]] && ownCase(devs[i].Case) {
				t.Errorf("deviations.tsv: %s / %s explains no difference", devs[i].Case, devs[i].Diff)
			}
		}
	}
	t.Logf("parity: %d cases (%d without a difference, %d with documented deviations only), %d recorded exchanges replayed, %d match", cases, clean, deviating, exchanges, matched)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// ownCase reports whether re matches the id of a case replayed here.
func ownCase(re *regexp.Regexp) bool {
	for file, cases := range replays {
		for name := range cases {
			if re.MatchString(file + "::" + name) {
				return true
			}
		}
	}
	return false
}
