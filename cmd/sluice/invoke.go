package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

const invokeUsage = `Usage:
  sluice invoke FUNCTION [--payload JSON|@FILE|-] [--qualifier Q] [--buffered] [--log]

Invokes FUNCTION (a name, ARN or name:qualifier) through
InvokeWithResponseStream and writes each chunk of the response to stdout
the moment it arrives. A function error (InvokeComplete's ErrorCode and
ErrorDetails) goes to stderr and the exit status is 1; so does an error of
the Lambda API (its AWS error code and message). --buffered uses Invoke
instead: the whole response at the end, a function error
(X-Amz-Function-Error) to stderr. --log asks for the last 4 KB of the
invocation's log (LogType Tail) and prints it to stderr after the response.

Exit status: 0 the function succeeded, 1 it failed or the call did,
2 usage error.
`

// invokeCommand is `sluice invoke`.
func invokeCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return invokeWithStdin(ctx, args, os.Stdin, stdout, stderr)
}

// invokeWithStdin is invokeCommand reading a --payload of "-" from stdin.
func invokeWithStdin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("invoke", stderr)
	var cf clientFlags
	cf.register(fs, nil)
	payloadArg := fs.String("payload", "{}", "the event: JSON, @FILE for a file's content, - for stdin")
	qualifier := fs.String("qualifier", "", "version or alias to invoke (default $LATEST, or the one in FUNCTION)")
	buffered := fs.Bool("buffered", false, "use Invoke: the response at once, when the function has returned")
	withLog := fs.Bool("log", false, "print the invocation's log tail (LogType Tail) to stderr after the response")
	// The function's name may come before, between or after the flags.
	var names []string
	rest := args
	for {
		if code, ok := parseFlags(fs, rest, invokeUsage, stdout, stderr); !ok {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		names = append(names, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(names) != 1 {
		if len(names) == 0 {
			fmt.Fprint(stderr, "sluice invoke: which function?\n\n")
		} else {
			fmt.Fprintf(stderr, "sluice invoke: one function at a time, got %q\n\n", names)
		}
		fmt.Fprint(stderr, invokeUsage)
		return 2
	}
	payload, err := readInvokePayload(*payloadArg, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "sluice invoke: --payload: %v\n", err)
		return 2
	}
	client := cf.lambda(ctx)
	var logType types.LogType
	if *withLog {
		logType = types.LogTypeTail
	}
	var q *string
	if *qualifier != "" {
		q = aws.String(*qualifier)
	}
	if *buffered {
		return bufferedInvoke(ctx, client, &lambda.InvokeInput{
			FunctionName: aws.String(names[0]),
			Qualifier:    q,
			Payload:      payload,
			LogType:      logType,
		}, stdout, stderr)
	}
	return streamInvoke(ctx, client, &lambda.InvokeWithResponseStreamInput{
		FunctionName: aws.String(names[0]),
		Qualifier:    q,
		Payload:      payload,
		LogType:      logType,
	}, stdout, stderr)
}

// readInvokePayload is --payload's event: the JSON itself, @FILE's content, or
// stdin's for "-".
func readInvokePayload(arg string, stdin io.Reader) ([]byte, error) {
	switch {
	case arg == "-":
		return io.ReadAll(stdin)
	case strings.HasPrefix(arg, "@"):
		return os.ReadFile(arg[1:])
	}
	return []byte(arg), nil
}

// flushWriter pushes w's buffered bytes out, when w buffers.
func flushWriter(w io.Writer) {
	if f, ok := w.(interface{ Flush() error }); ok {
		_ = f.Flush()
	}
}

// streamInvoke writes each PayloadChunk to stdout as it arrives.
func streamInvoke(ctx context.Context, client *lambda.Client, in *lambda.InvokeWithResponseStreamInput, stdout, stderr io.Writer) int {
	out, err := client.InvokeWithResponseStream(ctx, in)
	if err != nil {
		return printAPIError(stderr, err)
	}
	stream := out.GetStream()
	defer stream.Close()
	var complete *types.InvokeWithResponseStreamCompleteEvent
	for ev := range stream.Events() {
		switch v := ev.(type) {
		case *types.InvokeWithResponseStreamResponseEventMemberPayloadChunk:
			if _, err := stdout.Write(v.Value.Payload); err != nil {
				fmt.Fprintf(stderr, "sluice invoke: writing the response: %v\n", err)
				return 1
			}
			flushWriter(stdout)
		case *types.InvokeWithResponseStreamResponseEventMemberInvokeComplete:
			complete = &v.Value
		}
	}
	if err := stream.Err(); err != nil {
		fmt.Fprintf(stderr, "sluice invoke: the response stream broke: %v\n", err)
		return 1
	}
	if complete == nil {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "sluice invoke: %v\n", ctx.Err())
		} else {
			fmt.Fprint(stderr, "sluice invoke: the response stream ended without InvokeComplete\n")
		}
		return 1
	}
	printInvokeLog(stderr, complete.LogResult)
	if code := aws.ToString(complete.ErrorCode); code != "" {
		fmt.Fprintf(stderr, "sluice invoke: function error: %s", code)
		if d := aws.ToString(complete.ErrorDetails); d != "" {
			fmt.Fprintf(stderr, ": %s", d)
		}
		fmt.Fprintln(stderr)
		return 1
	}
	return 0
}

// bufferedInvoke is --buffered: Invoke, the response at once.
func bufferedInvoke(ctx context.Context, client *lambda.Client, in *lambda.InvokeInput, stdout, stderr io.Writer) int {
	out, err := client.Invoke(ctx, in)
	if err != nil {
		return printAPIError(stderr, err)
	}
	if fe := aws.ToString(out.FunctionError); fe != "" {
		printInvokeLog(stderr, out.LogResult)
		fmt.Fprintf(stderr, "sluice invoke: function error (%s): %s\n", fe, strings.TrimSpace(string(out.Payload)))
		return 1
	}
	if _, err := stdout.Write(out.Payload); err != nil {
		fmt.Fprintf(stderr, "sluice invoke: writing the response: %v\n", err)
		return 1
	}
	flushWriter(stdout)
	printInvokeLog(stderr, out.LogResult)
	return 0
}

// printInvokeLog writes the decoded LogResult (base64 of the log's last
// 4 KB), if any.
func printInvokeLog(w io.Writer, logResult *string) {
	if logResult == nil || *logResult == "" {
		return
	}
	b, err := base64.StdEncoding.DecodeString(*logResult)
	if err != nil {
		fmt.Fprintf(w, "sluice invoke: undecodable LogResult: %v\n", err)
		return
	}
	fmt.Fprint(w, string(b))
	if len(b) > 0 && b[len(b)-1] != '\n' {
		fmt.Fprintln(w)
	}
}

// printAPIError prints a failed call: the AWS error code and message of an
// API error, else the error; the exit status is 1.
func printAPIError(stderr io.Writer, err error) int {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		fmt.Fprintf(stderr, "sluice: %s: %s\n", ae.ErrorCode(), ae.ErrorMessage())
		return 1
	}
	fmt.Fprintf(stderr, "sluice: %v\n", err)
	return 1
}
