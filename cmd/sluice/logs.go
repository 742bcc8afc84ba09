package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"

	"github.com/sluice-dev/sluice"
)

const logsUsage = `Usage: sluice logs FUNCTION [--follow] [--since 10m] [--filter PATTERN]

Prints the log of a function (START/END/REPORT lines and what the function
printed), each line with its timestamp, from sluice's CloudWatch Logs API
(FilterLogEvents on the function's log group, /aws/lambda/FUNCTION unless
its LoggingConfig names another). With --follow it keeps printing new lines
until interrupted.

Flags:
`

// logsPoll is how often `sluice logs --follow` asks for new lines.
const logsPoll = time.Second

func logsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs, nil)
	follow := fs.Bool("follow", false, "keep printing new lines until interrupted")
	since := fs.Duration("since", 10*time.Minute, "print lines from this long ago on")
	filter := fs.String("filter", "", "a CloudWatch Logs text filter pattern (terms, \"phrases\", ?terms, -terms, %regex%)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), logsUsage)
		logsPrintFlags(fs)
	}
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
	}
	// FUNCTION may come before or after the flags.
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(pos) != 1 || pos[0] == "" {
		fmt.Fprintln(stderr, "sluice logs: want exactly one FUNCTION")
		fs.Usage()
		return 2
	}
	if *since <= 0 {
		fmt.Fprintln(stderr, "sluice logs: --since must be positive")
		return 2
	}
	name := pos[0]
	// The function must exist; its LoggingConfig may name its log group.
	fn, err := cf.lambda(ctx).GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
	if err != nil {
		fmt.Fprintf(stderr, "sluice logs: %s\n", logsAPIMessage(err))
		return 1
	}
	group := sluice.DefaultLogGroup(aws.ToString(fn.FunctionName))
	if fn.LoggingConfig != nil && aws.ToString(fn.LoggingConfig.LogGroup) != "" {
		group = aws.ToString(fn.LoggingConfig.LogGroup)
	}
	t := &logTailer{client: cf.logs(), group: group, filter: *filter, out: stdout, start: time.Now().Add(-*since).UnixMilli()}
	for {
		if err := t.poll(ctx); err != nil {
			if ctx.Err() != nil {
				return 0
			}
			fmt.Fprintf(stderr, "sluice logs: %s\n", logsAPIMessage(err))
			return 1
		}
		if !*follow {
			return 0
		}
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(logsPoll):
		}
	}
}

// logs returns a CloudWatch Logs client for the flags: sluice serves the
// Logs API on the same endpoint as the Lambda API.
func (c *clientFlags) logs() *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:       c.region,
		Credentials:  c.credentials(),
		BaseEndpoint: aws.String(c.endpoint),
	})
}

// logTailer prints a group's events from start on, each once: as the AWS
// CLI's `logs tail --follow`, it reads pages until there is no nextToken,
// then asks again from the newest timestamp it printed, skipping the
// events of that millisecond it has printed already.
type logTailer struct {
	client *cloudwatchlogs.Client
	group  string
	filter string
	out    io.Writer
	start  int64
	seen   map[string]bool // ids of the events printed with timestamp start
}

func (t *logTailer) poll(ctx context.Context) error {
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(t.group), StartTime: aws.Int64(t.start), Interleaved: aws.Bool(true)}
	if t.filter != "" {
		in.FilterPattern = aws.String(t.filter)
	}
	for {
		out, err := t.client.FilterLogEvents(ctx, in)
		var nf *cwtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil // the function has not logged yet
		}
		if err != nil {
			return err
		}
		for _, e := range out.Events {
			ts, id := aws.ToInt64(e.Timestamp), aws.ToString(e.EventId)
			if ts < t.start || (ts == t.start && t.seen[id]) {
				continue
			}
			if ts > t.start {
				t.start, t.seen = ts, map[string]bool{}
			}
			if t.seen == nil {
				t.seen = map[string]bool{}
			}
			t.seen[id] = true
			msg := aws.ToString(e.Message)
			if !strings.HasSuffix(msg, "\n") {
				msg += "\n"
			}
			if _, err := fmt.Fprintf(t.out, "%s %s", time.UnixMilli(ts).UTC().Format("2006-01-02T15:04:05.000Z"), msg); err != nil {
				return err
			}
		}
		if out.NextToken == nil {
			return nil
		}
		in.NextToken = out.NextToken
	}
}

// logsAPIMessage is an API error's code and message, or the error.
func logsAPIMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return err.Error()
}

// logsPrintFlags prints fs's flags GNU-style (--name), as the usage text
// and the README write them.
func logsPrintFlags(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		line += "\n    \t" + usage
		if f.DefValue != "" && f.DefValue != "false" {
			line += " (default " + f.DefValue + ")"
		}
		fmt.Fprintln(fs.Output(), line)
	})
}
