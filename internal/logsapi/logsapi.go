// Package logsapi serves the subset of the CloudWatch Logs API that the
// AWS CLI's `aws logs tail` and the SDKs use to read a function's logs:
// DescribeLogGroups, DescribeLogStreams, GetLogEvents and FilterLogEvents,
// over the store of internal/logstore.
//
// The wire is AWS JSON 1.1: POST / with X-Amz-Target
// Logs_20140328.<Operation>, signed with SigV4 for the service "logs". A
// request acts in the scope of its signature: the region it is signed for
// and the account of the key that signed it. Authorization: the
// administrator key of an account may do everything in it; any other key
// needs its identity policy to allow logs:<Operation> on the log group's
// ARN (arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*, or
// arn:aws:logs:REGION:ACCOUNT:log-group:* for DescribeLogGroups), as IAM
// names CloudWatch Logs' actions. There is no cross-account access.
package logsapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/iam"
	"github.com/sluice-dev/sluice/internal/logstore"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

// TargetPrefix is what X-Amz-Target starts with for this API.
const TargetPrefix = "Logs_20140328."

// maxBody bounds a request's body.
const maxBody = 1 << 20

// Config configures the Handler.
type Config struct {
	Store *logstore.Store
	// Verifier checks signatures; its Service should be "logs".
	Verifier *sigv4.Verifier
	// Principal returns who signed a verified request; nil makes every
	// signed request the administrator of DefaultScope's account.
	Principal func(sig *sigv4.Signature) (*iam.Principal, error)
	// DefaultScope's account is the caller's without Principal.
	DefaultScope sluice.Scope
	// Next serves every request that is not for this API.
	Next   http.Handler
	Logger *slog.Logger
}

// Handler serves the Logs API and hands every other request to Next.
type Handler struct {
	cfg Config
	log *slog.Logger
}

// New returns the Handler.
func New(cfg Config) *Handler {
	l := cfg.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	if cfg.Next == nil {
		cfg.Next = http.NotFoundHandler()
	}
	return &Handler{cfg: cfg, log: l}
}

// apiError is an error of the Logs protocol.
type apiError struct {
	status int
	typ    string
	msg    string
}

func (e *apiError) Error() string { return e.typ + ": " + e.msg }

func invalidParam(msg string) error {
	return &apiError{http.StatusBadRequest, "InvalidParameterException", msg}
}

var (
	errNoGroup  = &apiError{http.StatusBadRequest, "ResourceNotFoundException", "The specified log group does not exist."}
	errNoStream = &apiError{http.StatusBadRequest, "ResourceNotFoundException", "The specified log stream does not exist."}
	errToken    = invalidParam("The specified nextToken is invalid.")
)

// ServeHTTP routes by X-Amz-Target.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if r.Method != http.MethodPost || !strings.HasPrefix(target, TargetPrefix) {
		h.cfg.Next.ServeHTTP(w, r)
		return
	}
	op := strings.TrimPrefix(target, TargetPrefix)
	reqID := sluice.NewRequestID()
	w.Header().Set("X-Amzn-RequestId", reqID)
	out, err := h.serve(r, op)
	if err != nil {
		h.writeError(w, op, reqID, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	b, _ := json.Marshal(out)
	_, _ = w.Write(b)
}

func (h *Handler) serve(r *http.Request, op string) (any, error) {
	signed, err := h.cfg.Verifier.CheckHeader(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, invalidParam("could not read the request body")
	}
	if len(body) > maxBody {
		return nil, &apiError{http.StatusRequestEntityTooLarge, "SerializationException", "the request body is too large"}
	}
	sig, err := signed.Verify(r, body)
	if err != nil {
		return nil, err
	}
	scope := sluice.Scope{Region: sig.Region, Account: h.cfg.DefaultScope.Account}
	var caller *iam.Principal
	if h.cfg.Principal != nil {
		if caller, err = h.cfg.Principal(sig); err != nil {
			return nil, err
		}
		scope.Account = caller.Account
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	c := &call{h: h, scope: scope, caller: caller, op: op}
	switch op {
	case "DescribeLogGroups":
		var in describeGroupsIn
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		return c.describeGroups(in)
	case "DescribeLogStreams":
		var in describeStreamsIn
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		return c.describeStreams(in)
	case "GetLogEvents":
		var in getEventsIn
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		return c.getEvents(in)
	case "FilterLogEvents":
		var in filterEventsIn
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		return c.filterEvents(in)
	default:
		return nil, &apiError{http.StatusBadRequest, "UnknownOperationException", "sluice does not implement the CloudWatch Logs operation " + op}
	}
}

func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return &apiError{http.StatusBadRequest, "SerializationException", "the request body is not a JSON object of the operation's input: " + err.Error()}
	}
	return nil
}

func (h *Handler) writeError(w http.ResponseWriter, op, reqID string, err error) {
	var ae *apiError
	var se *sluice.Error
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &se):
		ae = &apiError{http.StatusBadRequest, "InvalidSignatureException", se.Message}
		switch se.Code {
		case sluice.EUnrecognizedClient:
			ae.typ = "UnrecognizedClientException"
		case sluice.EExpiredToken:
			ae.typ = "ExpiredTokenException"
		case sluice.EMissingToken:
			ae.status, ae.typ = http.StatusForbidden, "MissingAuthenticationTokenException"
		case sluice.EAccessDenied:
			ae.typ = "AccessDeniedException"
		case sluice.EInvalidSignature:
		default:
			h.log.Error("logs API", "op", op, "err", err, "request_id", reqID)
			ae = &apiError{http.StatusInternalServerError, "ServiceUnavailableException", "An internal error occurred."}
		}
	default:
		h.log.Error("logs API", "op", op, "err", err, "request_id", reqID)
		ae = &apiError{http.StatusInternalServerError, "ServiceUnavailableException", "An internal error occurred."}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", ae.typ)
	w.WriteHeader(ae.status)
	b, _ := json.Marshal(map[string]string{"__type": ae.typ, "message": ae.msg})
	_, _ = w.Write(b)
}

// call is one request in its scope.
type call struct {
	h      *Handler
	scope  sluice.Scope
	caller *iam.Principal
	op     string
}

// groupARN is the ARN of a log group, or of them all for name "*"
// (without the ":*" of its streams).
func (c *call) groupARN(name string) string {
	return "arn:aws:logs:" + c.scope.Region + ":" + c.scope.Account + ":log-group:" + name
}

// authorize checks logs:<op> on resource.
func (c *call) authorize(resource string) error {
	p := c.caller
	if p == nil || (p.Admin && p.Account == c.scope.Account) {
		return nil
	}
	if p.Policy != nil && p.Policy.Identity(iam.Request{Action: "logs:" + c.op, Resource: resource}) == iam.Allow {
		return nil
	}
	return &apiError{http.StatusBadRequest, "AccessDeniedException", "User: " + p.ARN + " is not authorized to perform: logs:" + c.op + " on resource: " + resource}
}

var groupNameRE = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]{1,512}$`)

// groupName resolves logGroupName or logGroupIdentifier (a name or an
// ARN of this scope) and authorizes the call on it.
func (c *call) groupName(name, ident string) (string, error) {
	switch {
	case name != "" && ident != "":
		return "", invalidParam("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case name == "" && ident == "":
		return "", invalidParam("Either the logGroupName or the logGroupIdentifier must be given.")
	case ident != "":
		name = ident
		if strings.HasPrefix(ident, "arn:") {
			prefix := c.groupARN("")
			if !strings.HasPrefix(ident, prefix) {
				return "", errNoGroup // another region's or account's
			}
			name = strings.TrimSuffix(strings.TrimPrefix(ident, prefix), ":*")
		}
	}
	if !groupNameRE.MatchString(name) {
		return "", invalidParam("1 validation error detected: Value '" + name + "' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+")
	}
	if err := c.authorize(c.groupARN(name) + ":*"); err != nil {
		return "", err
	}
	return name, nil
}

func checkLimit(limit *int, def, most int) error {
	if *limit == 0 && def > 0 {
		*limit = def
		return nil
	}
	if *limit < 1 || *limit > most {
		return invalidParam("1 validation error detected: Value '" + itoa(*limit) + "' at 'limit' failed to satisfy constraint: Member must have value between 1 and " + itoa(most))
	}
	return nil
}

type describeGroupsIn struct {
	LogGroupNamePrefix  string `json:"logGroupNamePrefix"`
	LogGroupNamePattern string `json:"logGroupNamePattern"`
	NextToken           string `json:"nextToken"`
	Limit               int    `json:"limit"`
}

type logGroup struct {
	LogGroupName      string `json:"logGroupName"`
	CreationTime      int64  `json:"creationTime"`
	MetricFilterCount int    `json:"metricFilterCount"`
	Arn               string `json:"arn"`
	LogGroupArn       string `json:"logGroupArn"`
	StoredBytes       int64  `json:"storedBytes"`
	LogGroupClass     string `json:"logGroupClass"`
}

func (c *call) describeGroups(in describeGroupsIn) (any, error) {
	if err := checkLimit(&in.Limit, 50, 50); err != nil {
		return nil, err
	}
	if in.LogGroupNamePrefix != "" && in.LogGroupNamePattern != "" {
		return nil, invalidParam("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	if err := c.authorize(c.groupARN("*")); err != nil {
		return nil, err
	}
	out := struct {
		LogGroups []logGroup `json:"logGroups"`
		NextToken string     `json:"nextToken,omitempty"`
	}{LogGroups: []logGroup{}}
	for _, g := range c.h.cfg.Store.Groups(c.scope, in.LogGroupNamePrefix) {
		if in.NextToken != "" && g.Name <= in.NextToken {
			continue
		}
		// logGroupNamePattern: a case-sensitive substring, as AWS has it.
		if in.LogGroupNamePattern != "" && !strings.Contains(g.Name, in.LogGroupNamePattern) {
			continue
		}
		if len(out.LogGroups) == in.Limit {
			out.NextToken = out.LogGroups[len(out.LogGroups)-1].LogGroupName
			break
		}
		arn := c.groupARN(g.Name)
		out.LogGroups = append(out.LogGroups, logGroup{LogGroupName: g.Name, CreationTime: g.Created, Arn: arn + ":*", LogGroupArn: arn, StoredBytes: g.StoredBytes, LogGroupClass: "STANDARD"})
	}
	return out, nil
}

type describeStreamsIn struct {
	LogGroupName        string `json:"logGroupName"`
	LogGroupIdentifier  string `json:"logGroupIdentifier"`
	LogStreamNamePrefix string `json:"logStreamNamePrefix"`
	OrderBy             string `json:"orderBy"`
	Descending          bool   `json:"descending"`
	NextToken           string `json:"nextToken"`
	Limit               int    `json:"limit"`
}

type logStream struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp int64  `json:"firstEventTimestamp"`
	LastEventTimestamp  int64  `json:"lastEventTimestamp"`
	LastIngestionTime   int64  `json:"lastIngestionTime"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

func (c *call) describeStreams(in describeStreamsIn) (any, error) {
	name, err := c.groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if err := checkLimit(&in.Limit, 50, 50); err != nil {
		return nil, err
	}
	switch in.OrderBy {
	case "", "LogStreamName":
	case "LastEventTime":
		if in.LogStreamNamePrefix != "" {
			return nil, invalidParam("Cannot order by LastEventTime with a logStreamNamePrefix.")
		}
	default:
		return nil, invalidParam("1 validation error detected: Value '" + in.OrderBy + "' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]")
	}
	streams, ok := c.h.cfg.Store.Streams(c.scope, name)
	if !ok {
		return nil, errNoGroup
	}
	var sel []logstore.Stream
	for _, st := range streams {
		if strings.HasPrefix(st.Name, in.LogStreamNamePrefix) {
			sel = append(sel, st)
		}
	}
	if in.OrderBy == "LastEventTime" {
		sort.SliceStable(sel, func(i, j int) bool { return sel[i].Last < sel[j].Last })
	}
	if in.Descending {
		for i, j := 0, len(sel)-1; i < j; i, j = i+1, j-1 {
			sel[i], sel[j] = sel[j], sel[i]
		}
	}
	start := 0
	if in.NextToken != "" {
		n, ok := atoi(in.NextToken)
		if !ok || n > len(sel) {
			return nil, errToken
		}
		start = n
	}
	out := struct {
		LogStreams []logStream `json:"logStreams"`
		NextToken  string      `json:"nextToken,omitempty"`
	}{LogStreams: []logStream{}}
	end := min(start+in.Limit, len(sel))
	for _, st := range sel[start:end] {
		out.LogStreams = append(out.LogStreams, logStream{LogStreamName: st.Name, CreationTime: st.FirstEvent, FirstEventTimestamp: st.FirstEvent,
			LastEventTimestamp: st.Last, LastIngestionTime: st.LastIngestion, StoredBytes: st.StoredBytes,
			Arn: c.groupARN(name) + ":log-stream:" + st.Name})
	}
	if end < len(sel) {
		out.NextToken = itoa(end)
	}
	return out, nil
}

type getEventsIn struct {
	LogGroupName       string `json:"logGroupName"`
	LogGroupIdentifier string `json:"logGroupIdentifier"`
	LogStreamName      string `json:"logStreamName"`
	StartTime          int64  `json:"startTime"`
	EndTime            int64  `json:"endTime"`
	NextToken          string `json:"nextToken"`
	Limit              int    `json:"limit"`
	StartFromHead      bool   `json:"startFromHead"`
}

type outputEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

// GetLogEvents' tokens are f/<position> (read on from there) and
// b/<position> (read back from there).
func (c *call) getEvents(in getEventsIn) (any, error) {
	name, err := c.groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if in.LogStreamName == "" {
		return nil, invalidParam("1 validation error detected: Value null at 'logStreamName' failed to satisfy constraint: Member must not be null")
	}
	if err := checkLimit(&in.Limit, 10000, 10000); err != nil {
		return nil, err
	}
	streams, ok := c.h.cfg.Store.Streams(c.scope, name)
	if !ok {
		return nil, errNoGroup
	}
	if !hasStream(streams, in.LogStreamName) {
		return nil, errNoStream
	}
	forward := in.StartFromHead
	var at logstore.Position
	if in.NextToken != "" {
		dir, pos, ok := strings.Cut(in.NextToken, "/")
		p, ok2 := logstore.ParsePosition(pos)
		if !ok || !ok2 || (dir != "f" && dir != "b") {
			return nil, errToken
		}
		forward, at = dir == "f", p
	}
	q := logstore.Query{Start: in.StartTime, End: in.EndTime, Match: func(stream, _ string) bool { return stream == in.LogStreamName }}
	var events []logstore.Event
	var end logstore.Position
	if forward {
		q.From, q.Limit = at, in.Limit
		events, end, _, _, err = c.h.cfg.Store.Read(c.scope, name, q)
		if err != nil {
			return nil, err
		}
	} else {
		// The last Limit events before at (the end without a token).
		q.Before = at
		for {
			evs, next, done, _, err := c.h.cfg.Store.Read(c.scope, name, q)
			if err != nil {
				return nil, err
			}
			events = append(events, evs...)
			if len(events) > in.Limit {
				events = events[len(events)-in.Limit:]
			}
			q.From, end = next, next
			if done {
				break
			}
		}
		if at != (logstore.Position{}) {
			end = at
		}
	}
	out := struct {
		Events            []outputEvent `json:"events"`
		NextForwardToken  string        `json:"nextForwardToken"`
		NextBackwardToken string        `json:"nextBackwardToken"`
	}{Events: []outputEvent{}}
	first := at
	if len(events) > 0 {
		first = events[0].Pos
		end = events[len(events)-1].End
	}
	for _, e := range events {
		out.Events = append(out.Events, outputEvent{e.Timestamp, e.Message, e.Timestamp})
	}
	out.NextForwardToken = "f/" + end.String()
	out.NextBackwardToken = "b/" + first.String()
	return out, nil
}

func hasStream(streams []logstore.Stream, name string) bool {
	for _, st := range streams {
		if st.Name == name {
			return true
		}
	}
	return false
}

type filterEventsIn struct {
	LogGroupName        string   `json:"logGroupName"`
	LogGroupIdentifier  string   `json:"logGroupIdentifier"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix string   `json:"logStreamNamePrefix"`
	StartTime           int64    `json:"startTime"`
	EndTime             int64    `json:"endTime"`
	FilterPattern       string   `json:"filterPattern"`
	NextToken           string   `json:"nextToken"`
	Limit               int      `json:"limit"`
	Interleaved         bool     `json:"interleaved"`
}

type filteredEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

type searchedStream struct {
	LogStreamName      string `json:"logStreamName"`
	SearchedCompletely bool   `json:"searchedCompletely"`
}

// FilterLogEvents' events are always interleaved (in time order across
// the streams); its nextToken is the store position to go on from.
func (c *call) filterEvents(in filterEventsIn) (any, error) {
	name, err := c.groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if err := checkLimit(&in.Limit, 10000, 10000); err != nil {
		return nil, err
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != "" {
		return nil, invalidParam("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	if len(in.LogStreamNames) > 100 {
		return nil, invalidParam("1 validation error detected: Value at 'logStreamNames' failed to satisfy constraint: Member must have length less than or equal to 100")
	}
	if in.StartTime < 0 || in.EndTime < 0 {
		return nil, invalidParam("startTime and endTime must not be negative")
	}
	pattern, err := parsePattern(in.FilterPattern)
	if err != nil {
		return nil, err
	}
	q := logstore.Query{Start: in.StartTime, Limit: in.Limit}
	if in.EndTime > 0 {
		q.End = in.EndTime + 1 // inclusive
	}
	if in.NextToken != "" {
		p, ok := logstore.ParsePosition(in.NextToken)
		if !ok {
			return nil, errToken
		}
		q.From = p
	}
	want := map[string]bool{}
	for _, n := range in.LogStreamNames {
		want[n] = true
	}
	q.Match = func(stream, message string) bool {
		if len(want) > 0 && !want[stream] {
			return false
		}
		return strings.HasPrefix(stream, in.LogStreamNamePrefix) && pattern.match(message)
	}
	events, next, done, ok, err := c.h.cfg.Store.Read(c.scope, name, q)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errNoGroup
	}
	out := struct {
		Events             []filteredEvent  `json:"events"`
		SearchedLogStreams []searchedStream `json:"searchedLogStreams"`
		NextToken          string           `json:"nextToken,omitempty"`
	}{Events: []filteredEvent{}, SearchedLogStreams: []searchedStream{}}
	for _, e := range events {
		out.Events = append(out.Events, filteredEvent{e.Stream, e.Timestamp, e.Message, e.Timestamp, e.ID})
	}
	if !done {
		out.NextToken = next.String()
	}
	return out, nil
}
