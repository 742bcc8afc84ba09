package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// recurseEvent is the event of the recurse handler.
type recurseEvent struct {
	// Hops is how many more times the function invokes itself.
	Hops int `json:"hops"`
	// Depth is this invocation's place in the chain (0 or 1: the first).
	Depth int `json:"depth"`
}

// recurseResult is what the deepest invocation reports, with the trace
// header every invocation on the way saw.
type recurseResult struct {
	// Deepest is the depth of the deepest invocation that ran.
	Deepest int `json:"deepest"`
	// Code and Error are the API error of the deepest invocation's call
	// to invoke itself ("" when it made none or it succeeded).
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
	// Traces are the _X_AMZN_TRACE_ID of each invocation, outermost
	// first.
	Traces []string `json:"traces"`
}

// recurse is a function that invokes itself, synchronously, through the
// AWS SDK for Go v2 at sluice's API (AWS_ENDPOINT_URL_LAMBDA, else
// AWS_ENDPOINT_URL), as a function caught in a recursive loop does: while
// Hops > 0 it invokes its own function (AWS_LAMBDA_FUNCTION_NAME) with
// Hops-1. The SDK sends the trace header it finds in _X_AMZN_TRACE_ID
// (its recursion detection middleware); nothing here touches it.
func recurse(ctx context.Context, ev recurseEvent) (recurseResult, error) {
	depth := max(ev.Depth, 1)
	here := recurseResult{Deepest: depth, Traces: []string{os.Getenv("_X_AMZN_TRACE_ID")}}
	if ev.Hops <= 0 {
		return here, nil
	}
	endpoint := os.Getenv("AWS_ENDPOINT_URL_LAMBDA")
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	if endpoint == "" {
		return here, errors.New("neither AWS_ENDPOINT_URL_LAMBDA nor AWS_ENDPOINT_URL is set")
	}
	client := lambda.New(lambda.Options{
		Region:       os.Getenv("AWS_REGION"),
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN")),
		Retryer:      aws.NopRetryer{},
	})
	payload, _ := json.Marshal(recurseEvent{Hops: ev.Hops - 1, Depth: depth + 1})
	out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(os.Getenv("AWS_LAMBDA_FUNCTION_NAME")), Payload: payload})
	if err != nil {
		here.Code, here.Error = errorCode(err), err.Error()
		return here, nil
	}
	if out.FunctionError != nil {
		return here, fmt.Errorf("depth %d failed: %s", depth+1, out.Payload)
	}
	var inner recurseResult
	if err := json.Unmarshal(out.Payload, &inner); err != nil {
		return here, fmt.Errorf("depth %d answered %q: %v", depth+1, out.Payload, err)
	}
	inner.Traces = append(here.Traces, inner.Traces...)
	return inner, nil
}
