package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// awsCLIv2 finds an AWS CLI of version 2 (`aws logs tail` is a v2
// command): aws on PATH or Debian's /usr/bin/aws (.ci/run installs it).
func awsCLIv2(t *testing.T) string {
	t.Helper()
	var tried []string
	cands := []string{"/usr/bin/aws", "/usr/local/bin/aws"}
	if p, err := exec.LookPath("aws"); err == nil {
		cands = append([]string{p}, cands...)
	}
	for _, c := range cands {
		out, err := exec.Command(c, "--version").CombinedOutput()
		if err == nil && strings.HasPrefix(string(out), "aws-cli/2.") {
			return c
		}
		tried = append(tried, c+": "+strings.TrimSpace(string(out)))
	}
	t.Fatalf("no AWS CLI v2 (for `aws logs tail`; Debian's awscli package is one): %v", tried)
	return ""
}

// tailProc runs a command that follows a log, its stdout gathered.
type tailProc struct {
	cmd *exec.Cmd
	out *syncBuffer
}

func startTailProc(t *testing.T, env []string, name string, args ...string) *tailProc {
	t.Helper()
	f := &tailProc{cmd: exec.Command(name, args...), out: &syncBuffer{}}
	f.cmd.Env = env
	f.cmd.Stdout = f.out
	var stderr syncBuffer
	f.cmd.Stderr = &stderr
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = f.cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = f.cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("%s stdout:\n%s\nstderr:\n%s", filepath.Base(name), f.out.String(), stderr.String())
		}
	})
	return f
}

// waitFor waits until the tailProc has printed a line matching re.
func (f *tailProc) waitFor(t *testing.T, what string, re *regexp.Regexp) {
	t.Helper()
	if !eventually(45*time.Second, func() bool { return re.MatchString(f.out.String()) }) {
		t.Fatalf("%s did not print %s (%s) within 45 s:\n%s", filepath.Base(f.cmd.Path), what, re, f.out.String())
	}
}

// TestE2ELogsAPI: a function's printed lines reach `aws logs tail
// --follow` (the AWS CLI v2) and `sluice logs --follow`, each with its
// timestamp and Lambda's log stream name; a line printed after the
// tailProc started shows up too (issue 13).
func TestE2ELogsAPI(t *testing.T) {
	t.Parallel()
	awsBin := awsCLIv2(t)
	bin := buildSluice(t)
	ts := startServer(t, nil)
	ts.createFunction(t, "tailed", "logs")
	first := requestIDOf(t, ts.invoke(t, "tailed", `{"lines":1}`).ResultMetadata)

	home := t.TempDir()
	env := clientEnv(map[string]string{
		"HOME":                  home,
		"AWS_ACCESS_KEY_ID":     "test",
		"AWS_SECRET_ACCESS_KEY": "test",
		"AWS_DEFAULT_REGION":    "us-east-1",
		"AWS_PAGER":             "",
		"PYTHONUNBUFFERED":      "1",
	})
	stream := `\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}`
	stamp := `\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\S*`
	lineOf := func(id string) *regexp.Regexp { // aws logs tail: time, stream, message
		return regexp.MustCompile(`(?m)^` + stamp + ` ` + stream + ` stdout line 0 of ` + regexp.QuoteMeta(id) + `$`)
	}

	t.Run("AWSCLITail", func(t *testing.T) {
		tail := startTailProc(t, env, awsBin, "logs", "tail", "/aws/lambda/tailed", "--follow", "--since", "1h", "--endpoint-url", ts.URL)
		tail.waitFor(t, "the line printed before it started", lineOf(first))
		second := requestIDOf(t, ts.invoke(t, "tailed", `{"lines":1}`).ResultMetadata)
		tail.waitFor(t, "the line printed while it follows", lineOf(second))
		out := tail.out.String()
		if i, j := strings.Index(out, "of "+first), strings.Index(out, "of "+second); i > j {
			t.Fatalf("lines out of order:\n%s", out)
		}
		if !regexp.MustCompile(`(?m)^`+stamp+` `+stream+` START RequestId: `+regexp.QuoteMeta(second)+` Version: \$LATEST$`).MatchString(out) ||
			!strings.Contains(out, "REPORT RequestId: "+second) {
			t.Fatalf("no START or REPORT line of %s:\n%s", second, out)
		}
		if n := strings.Count(out, "stdout line 0 of "+first); n != 1 {
			t.Fatalf("the first line printed %d times:\n%s", n, out)
		}
	})

	t.Run("SluiceLogs", func(t *testing.T) {
		slEnv := append(env, "AWS_ENDPOINT_URL="+ts.URL)
		logs := startTailProc(t, slEnv, bin, "logs", "tailed", "--follow", "--since", "1h")
		sluiceLine := func(id string) *regexp.Regexp {
			return regexp.MustCompile(`(?m)^` + stamp + ` stdout line 0 of ` + regexp.QuoteMeta(id) + `$`)
		}
		logs.waitFor(t, "the line printed before it started", sluiceLine(first))
		third := requestIDOf(t, ts.invoke(t, "tailed", `{"lines":1}`).ResultMetadata)
		logs.waitFor(t, "the line printed while it follows", sluiceLine(third))

		// Without --follow: what there is, then exit 0.
		cmd := exec.Command(bin, "logs", "--since", "1h", "tailed")
		cmd.Env = slEnv
		out, err := cmd.Output()
		if err != nil || !strings.Contains(string(out), "REPORT RequestId: "+third) || strings.Count(string(out), "stdout line 0 of "+first) != 1 {
			t.Fatalf("sluice logs: %v\n%s", err, out)
		}
		// A function that does not exist: exit 1, the API's error.
		cmd = exec.Command(bin, "logs", "nosuch")
		cmd.Env = slEnv
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); logsExitCode(err) != 1 || !strings.Contains(stderr.String(), "ResourceNotFoundException") {
			t.Fatalf("sluice logs nosuch: %v, stderr %q", err, stderr.String())
		}
		// Usage: --help exits 0 with the flags on stdout; no FUNCTION exits 2.
		cmd = exec.Command(bin, "logs", "--help")
		cmd.Env = slEnv
		if out, err := cmd.Output(); err != nil || !strings.Contains(string(out), "--follow") || !strings.Contains(string(out), "--since") {
			t.Fatalf("sluice logs --help: %v\n%s", err, out)
		}
		cmd = exec.Command(bin, "logs")
		cmd.Env, cmd.Stderr = slEnv, io.Discard
		if err := cmd.Run(); logsExitCode(err) != 2 {
			t.Fatalf("sluice logs without FUNCTION: %v, want exit 2", err)
		}
	})

	// The store is in the data dir: the log outlives the server's run.
	if st, err := os.Stat(filepath.Join(ts.cfg.DataDir, "logs", "us-east-1", "000000000000")); err != nil || !st.IsDir() {
		t.Fatalf("no function logs in the data dir: %v", err)
	}
}

func logsExitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// TestE2ELogsJSONFormat: a function whose LoggingConfig.LogFormat is JSON
// has its platform lines stored as Lambda's JSON records (read through the
// Logs API with the SDK) and gets AWS_LAMBDA_LOG_FORMAT; what it prints
// stays as it printed it.
func TestE2ELogsJSONFormat(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	ts.createFunction(t, "jsonlog", "logs", func(in *lambda.CreateFunctionInput) {
		in.LoggingConfig = &lambdatypes.LoggingConfig{LogFormat: lambdatypes.LogFormatJson}
	})
	id := requestIDOf(t, ts.invoke(t, "jsonlog", `{"lines":1}`).ResultMetadata)
	client := cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	var msgs []string
	if !eventually(10*time.Second, func() bool {
		out, err := client.FilterLogEvents(ctx(t), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/jsonlog")})
		if err != nil {
			return false
		}
		msgs = msgs[:0]
		for _, e := range out.Events {
			msgs = append(msgs, aws.ToString(e.Message))
		}
		return strings.Contains(strings.Join(msgs, ""), `"type":"platform.report"`)
	}) {
		t.Fatalf("no platform.report record within 10 s:\n%s", strings.Join(msgs, ""))
	}
	all := strings.Join(msgs, "")
	for _, want := range []string{
		`"type":"platform.start","record":{"requestId":"` + id + `","version":"$LATEST"}}`,
		"stdout line 0 of " + id + "\n",
		`"type":"platform.runtimeDone","record":{"requestId":"` + id + `","status":"success"}}`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("log lacks %s:\n%s", want, all)
		}
	}
	if strings.Contains(all, "START RequestId:") {
		t.Errorf("a text START line in a JSON log:\n%s", all)
	}
}
