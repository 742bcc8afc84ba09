package logsapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/iam"
	"github.com/sluice-dev/sluice/internal/logsapi"
	"github.com/sluice-dev/sluice/internal/logstore"
	"github.com/sluice-dev/sluice/internal/sigv4"
)

const (
	acctA = "000000000000"
	acctB = "111111111111"
)

var east = sluice.Scope{Region: "us-east-1", Account: acctA}

type fixture struct {
	store *logstore.Store
	url   string
}

// keys: admin (administrator of A), other (administrator of B), reader
// (of A, allowed logs:FilterLogEvents and logs:GetLogEvents on
// /aws/lambda/f only).
func newFixture(t *testing.T) *fixture {
	t.Helper()
	store, err := logstore.Open(logstore.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	policy, err := iam.ParseIdentityPolicy([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:FilterLogEvents","logs:GetLogEvents"],"Resource":"arn:aws:logs:*:` + acctA + `:log-group:/aws/lambda/f:*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	principals := map[string]*iam.Principal{
		"admin":  {Account: acctA, ARN: "arn:aws:iam::" + acctA + ":user/admin", AccessKeyID: "admin", Admin: true},
		"other":  {Account: acctB, ARN: "arn:aws:iam::" + acctB + ":user/other", AccessKeyID: "other", Admin: true},
		"reader": {Account: acctA, ARN: "arn:aws:iam::" + acctA + ":user/reader", AccessKeyID: "reader", Policy: policy},
	}
	verifier := &sigv4.Verifier{Service: "logs", Secret: func(id, token string) (string, error) {
		if principals[id] == nil || token != "" {
			return "", &sluice.Error{Code: sluice.EUnrecognizedClient, Message: "The security token included in the request is invalid."}
		}
		return "secret-" + id, nil
	}}
	h := logsapi.New(logsapi.Config{
		Store:        store,
		Verifier:     verifier,
		Principal:    func(sig *sigv4.Signature) (*iam.Principal, error) { return principals[sig.AccessKeyID], nil },
		DefaultScope: east,
		Next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTeapot)
		}),
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{store: store, url: srv.URL}
}

func (f *fixture) client(key, region string) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       region,
		BaseEndpoint: aws.String(f.url),
		Credentials:  credentials.NewStaticCredentialsProvider(key, "secret-"+key, ""),
		Retryer:      aws.NopRetryer{},
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return fmt.Sprint(err)
}

// fill writes n lines into two streams of /aws/lambda/f, alternating.
func (f *fixture) fill(t *testing.T, n int) {
	for i := 0; i < n; i++ {
		if err := f.store.Append(east, "/aws/lambda/f", fmt.Sprintf("2026/01/01/[$LATEST]%032d", i%2), fmt.Sprintf("line %d\n", i)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDescribe(t *testing.T) {
	f := newFixture(t)
	f.fill(t, 4)
	f.store.Append(east, "/aws/lambda/g", "s", "g\n")
	f.store.Append(sluice.Scope{Region: "eu-west-1", Account: acctA}, "/aws/lambda/eu", "s", "eu\n")
	f.store.Append(sluice.Scope{Region: "us-east-1", Account: acctB}, "/aws/lambda/b", "s", "b\n")
	c := f.client("admin", "us-east-1")

	// Pages of one, in name order; the scope's groups only.
	var names []string
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(c, &cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(1)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range out.LogGroups {
			names = append(names, aws.ToString(g.LogGroupName))
			if aws.ToString(g.Arn) != "arn:aws:logs:us-east-1:"+acctA+":log-group:"+aws.ToString(g.LogGroupName)+":*" || aws.ToInt64(g.StoredBytes) == 0 || aws.ToInt64(g.CreationTime) == 0 {
				t.Errorf("group %+v", g)
			}
		}
	}
	if strings.Join(names, ",") != "/aws/lambda/f,/aws/lambda/g" {
		t.Fatalf("groups %v", names)
	}
	out, err := f.client("other", "us-east-1").DescribeLogGroups(ctx(t), &cloudwatchlogs.DescribeLogGroupsInput{})
	if err != nil || len(out.LogGroups) != 1 || aws.ToString(out.LogGroups[0].LogGroupName) != "/aws/lambda/b" {
		t.Fatalf("account B sees %+v (%v)", out, err)
	}
	out, err = f.client("admin", "eu-west-1").DescribeLogGroups(ctx(t), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/e")})
	if err != nil || len(out.LogGroups) != 1 || aws.ToString(out.LogGroups[0].LogGroupName) != "/aws/lambda/eu" {
		t.Fatalf("eu-west-1 sees %+v (%v)", out, err)
	}

	st, err := c.DescribeLogStreams(ctx(t), &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/lambda/f"), OrderBy: types.OrderByLastEventTime, Descending: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.LogStreams) != 2 || aws.ToString(st.LogStreams[0].LogStreamName) != fmt.Sprintf("2026/01/01/[$LATEST]%032d", 1) {
		t.Fatalf("streams %+v", st.LogStreams)
	}
	for _, s := range st.LogStreams {
		if aws.ToInt64(s.FirstEventTimestamp) == 0 || aws.ToInt64(s.LastEventTimestamp) < aws.ToInt64(s.FirstEventTimestamp) {
			t.Errorf("stream %+v", s)
		}
	}
	st, err = c.DescribeLogStreams(ctx(t), &cloudwatchlogs.DescribeLogStreamsInput{LogGroupIdentifier: aws.String("arn:aws:logs:us-east-1:" + acctA + ":log-group:/aws/lambda/f"), LogStreamNamePrefix: aws.String("2026/01/01/[$LATEST]0000"), Limit: aws.Int32(1)})
	if err != nil || len(st.LogStreams) != 1 || st.NextToken == nil {
		t.Fatalf("by ARN with a prefix, limit 1: %+v (%v)", st, err)
	}

	for name, call := range map[string]func() error{
		"missing group": func() error {
			_, err := c.DescribeLogStreams(ctx(t), &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/lambda/none")})
			return err
		},
		"another account's ARN": func() error {
			_, err := c.DescribeLogStreams(ctx(t), &cloudwatchlogs.DescribeLogStreamsInput{LogGroupIdentifier: aws.String("arn:aws:logs:us-east-1:" + acctB + ":log-group:/aws/lambda/b")})
			return err
		},
	} {
		if err := call(); errorCode(err) != "ResourceNotFoundException" {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err = c.DescribeLogStreams(ctx(t), &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/lambda/f"), OrderBy: types.OrderByLastEventTime, LogStreamNamePrefix: aws.String("x")})
	if errorCode(err) != "InvalidParameterException" {
		t.Errorf("LastEventTime with a prefix: %v", err)
	}
	_, err = c.DescribeLogGroups(ctx(t), &cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(51)})
	if errorCode(err) != "InvalidParameterException" {
		t.Errorf("limit 51: %v", err)
	}
}

func TestGetLogEvents(t *testing.T) {
	f := newFixture(t)
	f.fill(t, 10)
	c := f.client("admin", "us-east-1")
	stream := fmt.Sprintf("2026/01/01/[$LATEST]%032d", 0)
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/aws/lambda/f"), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true), Limit: aws.Int32(2)}
	// Forward from the head, until the token repeats.
	var got []string
	for i := 0; i < 10; i++ {
		out, err := c.GetLogEvents(ctx(t), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			got = append(got, aws.ToString(e.Message))
		}
		if aws.ToString(out.NextForwardToken) == aws.ToString(in.NextToken) {
			break
		}
		in.NextToken = out.NextForwardToken
	}
	if strings.Join(got, "") != "line 0\nline 2\nline 4\nline 6\nline 8\n" {
		t.Fatalf("forward: %q", got)
	}
	// New events appear at the last forward token.
	f.fill(t, 1)
	out, err := c.GetLogEvents(ctx(t), in)
	if err != nil || len(out.Events) != 1 || aws.ToString(out.Events[0].Message) != "line 0\n" {
		t.Fatalf("after an append: %+v (%v)", out, err)
	}
	// Without startFromHead: the last events, then back from there.
	out, err = c.GetLogEvents(ctx(t), &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/aws/lambda/f"), LogStreamName: aws.String(stream), Limit: aws.Int32(2)})
	if err != nil || len(out.Events) != 2 || aws.ToString(out.Events[0].Message) != "line 8\n" || aws.ToString(out.Events[1].Message) != "line 0\n" {
		t.Fatalf("tail: %+v (%v)", out, err)
	}
	out, err = c.GetLogEvents(ctx(t), &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/aws/lambda/f"), LogStreamName: aws.String(stream), Limit: aws.Int32(2), NextToken: out.NextBackwardToken})
	if err != nil || len(out.Events) != 2 || aws.ToString(out.Events[0].Message) != "line 4\n" || aws.ToString(out.Events[1].Message) != "line 6\n" {
		t.Fatalf("backward: %+v (%v)", out, err)
	}
	_, err = c.GetLogEvents(ctx(t), &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/aws/lambda/f"), LogStreamName: aws.String("nope")})
	if errorCode(err) != "ResourceNotFoundException" {
		t.Fatalf("missing stream: %v", err)
	}
	_, err = c.GetLogEvents(ctx(t), &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/aws/lambda/f"), LogStreamName: aws.String(stream), NextToken: aws.String("zz")})
	if errorCode(err) != "InvalidParameterException" {
		t.Fatalf("bad token: %v", err)
	}
}

func TestFilterLogEvents(t *testing.T) {
	f := newFixture(t)
	f.fill(t, 25)
	c := f.client("admin", "us-east-1")
	var got []string
	ids := map[string]bool{}
	p := cloudwatchlogs.NewFilterLogEventsPaginator(c, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/f"), Limit: aws.Int32(7)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range out.Events {
			got = append(got, strings.TrimSuffix(aws.ToString(e.Message), "\n"))
			ids[aws.ToString(e.EventId)] = true
			if aws.ToInt64(e.Timestamp) == 0 || !strings.HasPrefix(aws.ToString(e.LogStreamName), "2026/01/01/[$LATEST]") {
				t.Errorf("event %+v", e)
			}
		}
	}
	if len(got) != 25 || len(ids) != 25 || got[0] != "line 0" || got[24] != "line 24" || pages != 4 {
		t.Fatalf("%d events in %d pages, %d ids: %v", len(got), pages, len(ids), got)
	}
	for pat, want := range map[string]int{
		`"line 1"`:            11, // 1, 10..19
		`line -1`:             25 - 12,
		`?"line 3" ?"line 4"`: 2,
		`%line [0-2]$%`:       3,
	} {
		out, err := c.FilterLogEvents(ctx(t), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/f"), FilterPattern: aws.String(pat)})
		if err != nil || len(out.Events) != want {
			t.Errorf("pattern %s: %d events (%v), want %d", pat, len(out.Events), err, want)
		}
	}
	out, err := c.FilterLogEvents(ctx(t), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/f"), LogStreamNames: []string{fmt.Sprintf("2026/01/01/[$LATEST]%032d", 1)}, StartTime: aws.Int64(time.Now().Add(-time.Minute).UnixMilli())})
	if err != nil || len(out.Events) != 12 {
		t.Fatalf("one stream: %d events (%v)", len(out.Events), err)
	}
	out, err = c.FilterLogEvents(ctx(t), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/f"), StartTime: aws.Int64(time.Now().Add(time.Hour).UnixMilli())})
	if err != nil || len(out.Events) != 0 || out.NextToken != nil {
		t.Fatalf("the future: %+v (%v)", out, err)
	}
	_, err = c.FilterLogEvents(ctx(t), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/f"), FilterPattern: aws.String(`{ $.level = "ERROR" }`)})
	if errorCode(err) != "InvalidParameterException" {
		t.Fatalf("JSON pattern: %v", err)
	}
}

func TestAuth(t *testing.T) {
	f := newFixture(t)
	f.fill(t, 2)
	f.store.Append(east, "/aws/lambda/g", "s", "g\n")
	reader := f.client("reader", "us-east-1")
	if out, err := reader.FilterLogEvents(ctx(t), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/f")}); err != nil || len(out.Events) != 2 {
		t.Fatalf("reader on its group: %v", err)
	}
	for name, err := range map[string]error{
		"other group": func() error {
			_, err := reader.FilterLogEvents(ctx(t), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/g")})
			return err
		}(),
		"other action": func() error {
			_, err := reader.DescribeLogGroups(ctx(t), &cloudwatchlogs.DescribeLogGroupsInput{})
			return err
		}(),
	} {
		if errorCode(err) != "AccessDeniedException" {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad := cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: aws.String(f.url), Credentials: credentials.NewStaticCredentialsProvider("admin", "wrong", ""), Retryer: aws.NopRetryer{}})
	if _, err := bad.DescribeLogGroups(ctx(t), &cloudwatchlogs.DescribeLogGroupsInput{}); errorCode(err) != "InvalidSignatureException" {
		t.Errorf("wrong secret: %v", err)
	}
	unknown := cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: aws.String(f.url), Credentials: credentials.NewStaticCredentialsProvider("nobody", "x", ""), Retryer: aws.NopRetryer{}})
	if _, err := unknown.DescribeLogGroups(ctx(t), &cloudwatchlogs.DescribeLogGroupsInput{}); errorCode(err) != "UnrecognizedClientException" {
		t.Errorf("unknown key: %v", err)
	}
	// Unsigned and other requests: the Lambda API's (Next) unless they
	// name a Logs target.
	resp, err := http.Post(f.url+"/2015-03-31/functions", "application/json", strings.NewReader("{}"))
	if err != nil || resp.StatusCode != http.StatusTeapot {
		t.Fatalf("a Lambda request: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodPost, f.url+"/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "Logs_20140328.DescribeLogGroups")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unsigned Logs request: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
}
