package parity

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// Excerpt is one testdata/*.excerpt.json file: recorded exchanges of one
// LocalStack snapshot file, keyed by "Class::test[param]".
type Excerpt struct {
	Source string `json:"source"`
	Commit string `json:"commit"`
	// Unreferenced are the values LocalStack's transformers put in place
	// of recorded ones without a reference (key_value(...,
	// reference_replacement=False), e.g. "code-sha256" for every
	// CodeSha256 of test_lambda.py): each matches any non-empty value.
	Unreferenced []string                `json:"unreferenced,omitempty"`
	Cases        map[string]RecordedCase `json:"cases"`
}

type RecordedCase struct {
	LastValidated string         `json:"last_validated_date"`
	Recorded      map[string]any `json:"recorded"`
	// unreferenced is the Excerpt's Unreferenced (LoadExcerpt sets it).
	unreferenced []string
}

// Exchange is the last HTTP response the client saw.
type Exchange struct {
	Status int
	Header http.Header
	Body   []byte
}

// Recorder keeps a copy of the last response (the cases call the API one
// call at a time).
type Recorder struct {
	Base http.RoundTripper
	mu   sync.Mutex
	last Exchange
}

func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.Base.RoundTrip(req)
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
	r.last = Exchange{Status: resp.StatusCode, Header: resp.Header.Clone(), Body: b}
	r.mu.Unlock()
	return resp, nil
}

func (r *Recorder) reset() {
	r.mu.Lock()
	r.last = Exchange{}
	r.mu.Unlock()
}

func (r *Recorder) Last() Exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// TB is the part of testing.TB a replay uses (the package keeps
// "testing" out of its non-test code).
type TB interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
}

// Run is one replay: the responses it snapshotted under the recording's
// keys.
type Run struct {
	T   TB
	Ctx context.Context
	C   *lambda.Client
	Rec *Recorder
	Got map[string]any
	// Order is the keys of Got in the order of the calls: placeholders
	// bind in that order, as LocalStack's transformers numbered them.
	Order []string
}

// NewRun starts a replay with client c, whose transport includes rec.
func NewRun(t TB, ctx context.Context, c *lambda.Client, rec *Recorder) *Run {
	return &Run{T: t, Ctx: ctx, C: c, Rec: rec, Got: map[string]any{}}
}

// Snap calls f (one SDK call; its result and error are not looked at:
// the raw response is) and keeps the response as boto3 would have
// parsed it under key.
//
// A call the SDK refuses before sending it (a required member missing)
// is kept as {"<no request sent>": error}: never as the response of the
// call before it.
func (r *Run) Snap(key string, f func() error) {
	r.Rec.reset()
	err := f()
	if last := r.Rec.Last(); last.Status != 0 {
		r.Got[key] = BotoShape(last)
	} else {
		msg := "no error"
		if err != nil {
			msg = err.Error()
		}
		r.Got[key] = map[string]any{"<no request sent>": msg}
	}
	r.Order = append(r.Order, key)
}

// Status is the HTTP status of the response kept under key (0 when none).
func (r *Run) Status(key string) int {
	m, _ := r.Got[key].(map[string]any)
	md, _ := m["ResponseMetadata"].(map[string]any)
	st, _ := md["HTTPStatusCode"].(float64)
	return int(st)
}

// BotoShape is the response as botocore returns it for restJson1: the
// body's members, for errors also Error{Code, Message}, and
// ResponseMetadata (headers are left out, as LocalStack's snapshots do).
func BotoShape(e Exchange) map[string]any {
	m := map[string]any{}
	if len(bytes.TrimSpace(e.Body)) > 0 {
		if err := json.Unmarshal(e.Body, &m); err != nil {
			m = map[string]any{"<undecodable body>": string(e.Body)}
		} else if m == nil { // the body is JSON null
			m = map[string]any{}
		}
	}
	if e.Status >= 300 {
		code := e.Header.Get("X-Amzn-Errortype")
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
		if !modeledErrors[code] {
			// botocore parses the members of the body only for an
			// error of the service's model; of any other (e.g.
			// ValidationException) it keeps Error alone
			m = map[string]any{}
		}
		m["Error"] = map[string]any{"Code": code, "Message": msg}
	}
	m["ResponseMetadata"] = map[string]any{"HTTPHeaders": map[string]any{}, "HTTPStatusCode": float64(e.Status)}
	return m
}

// modeledErrors are the errors of the Lambda model (the SDK's
// types/errors.go): botocore parses their bodies' members into the
// response.
var modeledErrors = map[string]bool{}

func init() {
	for _, name := range strings.Fields(`AliasLimitExceededException CallbackTimeoutException
		CapacityProviderLimitExceededException CodeArtifactUserDeletedException
		CodeArtifactUserFailedException CodeArtifactUserPendingException
		CodeSigningConfigNotFoundException CodeStorageExceededException
		CodeVerificationFailedException DurableExecutionAlreadyStartedException EFSIOException
		EFSMountConnectivityException EFSMountFailureException EFSMountTimeoutException
		ENILimitReachedException ENINotReadyException
		FunctionVersionsPerCapacityProviderLimitExceededException InvalidCodeSignatureException
		InvalidParameterValueException InvalidRequestContentException InvalidRuntimeException
		InvalidSecurityGroupIDException InvalidSubnetIDException InvalidZipFileException
		KMSAccessDeniedException KMSDisabledException KMSInvalidStateException KMSNotFoundException
		ModeNotSupportedException NoPublishedVersionException PolicyLengthExceededException
		PreconditionFailedException ProvisionedConcurrencyConfigNotFoundException
		PublicPolicyException RecursiveInvocationException RequestTooLargeException
		ResourceConflictException ResourceInUseException ResourceNotFoundException
		ResourceNotReadyException SerializedRequestEntityTooLargeException ServiceException
		ServiceQuotaExceededException SnapStartException SnapStartNotReadyException
		SnapStartRegenerationFailureException SnapStartTimeoutException
		SubnetIPAddressLimitReachedException TooManyRequestsException
		UnsupportedMediaTypeException`) {
		modeledErrors[name] = true
	}
}

// WaitActive and WaitUpdated are botocore's function_active_v2 and
// function_updated_v2 waiters.
func (r *Run) WaitActive(name string) { r.wait(name, "State", "Active") }

func (r *Run) WaitUpdated(name string) { r.wait(name, "LastUpdateStatus", "Successful") }

func (r *Run) wait(name, field, want string) {
	r.T.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out, err := r.C.GetFunction(r.Ctx, &lambda.GetFunctionInput{FunctionName: &name})
		if err != nil {
			r.T.Logf("waiting for %s %s=%s: %v", name, field, want, err)
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
	r.T.Logf("waiting for %s %s=%s: timed out", name, field, want)
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
	// anyValue are the recording's unreferenced values (Excerpt.Unreferenced)
	anyValue []string
}

func newBinder() *binder { return &binder{val: map[string]string{}, ph: map[string]string{}} }

// free placeholders stand for any value, each time anew.
var free = map[string]bool{"<code-size>": true, "<location>": true}

func kind(p string) string {
	k, _, _ := strings.Cut(strings.Trim(p, "<>"), ":")
	return k
}

func (b *binder) match(want, got string) bool {
	if want == "date" || slices.Contains(b.anyValue, want) { // LocalStack's timestamp transformer, or an unreferenced value
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
			*out = append(*out, fmt.Sprintf("%s: AWS has an object %s, sluice %s", path, Short(want), Short(got)))
			return
		}
		for _, k := range sortedKeys(w) {
			gv, ok := g[k]
			if !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: missing in sluice (AWS: %s)", path, k, Short(w[k])))
				continue
			}
			compare(b, path+"."+k, w[k], gv, out)
		}
		for _, k := range sortedKeys(g) {
			if _, ok := w[k]; !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: extra in sluice (%s)", path, k, Short(g[k])))
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			*out = append(*out, fmt.Sprintf("%s: AWS %s, sluice %s", path, Short(want), Short(got)))
			return
		}
		for i := range w {
			compare(b, fmt.Sprintf("%s[%d]", path, i), w[i], g[i], out)
		}
	case string:
		if w == "datetime" { // LocalStack's transformer of a parsed timestamp member
			if g, ok := got.(float64); !ok || g <= 0 {
				*out = append(*out, fmt.Sprintf("%s: AWS a timestamp (epoch seconds), sluice %s", path, Short(got)))
			}
			return
		}
		var gs string
		switch g := got.(type) {
		case string:
			gs = g
		case float64, bool:
			if !placeholder.MatchString(w) {
				*out = append(*out, fmt.Sprintf("%s: AWS %s, sluice %s", path, Short(want), Short(got)))
				return
			}
			gs = fmt.Sprint(g)
		default:
			*out = append(*out, fmt.Sprintf("%s: AWS %s, sluice %s", path, Short(want), Short(got)))
			return
		}
		if !b.match(w, gs) {
			*out = append(*out, fmt.Sprintf("%s: AWS %s, sluice %s", path, Short(want), Short(got)))
		}
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) {
			*out = append(*out, fmt.Sprintf("%s: AWS %s, sluice %s", path, Short(want), Short(got)))
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

func Short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 160 {
		return string(b[:157]) + "..."
	}
	return string(b)
}

// LoadExcerpt reads one excerpt file.
func LoadExcerpt(path string) (Excerpt, error) {
	var e Excerpt
	b, err := os.ReadFile(path)
	if err != nil {
		return e, err
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return e, fmt.Errorf("%s: %w", path, err)
	}
	for name, rc := range e.Cases {
		rc.unreferenced = e.Unreferenced
		e.Cases[name] = rc
	}
	return e, nil
}

// Diff compares a replay with its recording: one line per difference,
// keys in the order of the replay's calls (then the recording's other
// keys, which the replay did not snapshot: "not replayed"). It returns
// the number of recorded exchanges and of those without a difference.
func Diff(rc RecordedCase, r *Run) (diffs []string, exchanges, matched int) {
	b := newBinder()
	b.anyValue = rc.unreferenced
	keys := slices.Clone(r.Order)
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
		got, ok := r.Got[key]
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
	return diffs, exchanges, matched
}

// Deviation is one line of a deviations file: differences from AWS that
// sluice keeps on purpose. A difference of a case whose id matches Case,
// and whose text matches Diff, is documented by the section Decision of
// docs/decisions.md.
type Deviation struct {
	Case     *regexp.Regexp
	Diff     *regexp.Regexp
	Decision string
}

// Deviations is a deviations file.
type Deviations []Deviation

// LoadDeviations reads a deviations file: lines of three tab-separated
// fields (case regexp, difference regexp, the heading of the section of
// docs/decisions.md that explains it, without its #), # comments.
func LoadDeviations(path string) (Deviations, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ds Deviations
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, "\t")
		if len(parts) != 3 {
			return nil, fmt.Errorf("%s:%d: want 3 tab-separated fields, have %d", path, n, len(parts))
		}
		c, err := regexp.Compile(parts[0])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		d, err := regexp.Compile(parts[1])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		ds = append(ds, Deviation{Case: c, Diff: d, Decision: strings.TrimSpace(parts[2])})
	}
	return ds, sc.Err()
}

// Explain returns the deviation that documents difference diff of case
// id, or nil.
func (ds Deviations) Explain(id, diff string) *Deviation {
	for i := range ds {
		if ds[i].Case.MatchString(id) && ds[i].Diff.MatchString(diff) {
			return &ds[i]
		}
	}
	return nil
}

// CheckDecisions returns an error naming every deviation whose decision
// is not a heading of the markdown file at path.
func (ds Deviations) CheckDecisions(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	headings := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "#") {
			headings[strings.TrimSpace(strings.TrimLeft(line, "#"))] = true
		}
	}
	var missing []string
	for _, d := range ds {
		if !headings[d.Decision] {
			missing = append(missing, d.Decision)
		}
	}
	if missing != nil {
		return fmt.Errorf("%s has no section %q", path, missing)
	}
	return nil
}
