package main

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// TestE2EEventInvokeConfigSurvivesRestart: asynchronous invocation
// configurations are kept with their functions across a restart on the
// same data dir, and go with them.
func TestE2EEventInvokeConfigSurvivesRestart(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.ShutdownGrace = 3 * time.Second

	ts1 := startServerWith(t, cfg)
	ts1.createFunction(t, "src", "echo")
	ts1.createFunction(t, "dst", "echo")
	dst, err := ts1.Client.GetFunction(ctx(t), &lambda.GetFunctionInput{FunctionName: aws.String("dst")})
	if err != nil {
		t.Fatal(err)
	}
	dstARN := aws.ToString(dst.Configuration.FunctionArn)
	put, err := ts1.Client.PutFunctionEventInvokeConfig(ctx(t), &lambda.PutFunctionEventInvokeConfigInput{
		FunctionName: aws.String("src"), MaximumRetryAttempts: aws.Int32(0),
		DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String(dstARN)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts1.stop(t)

	ts2 := startServerWith(t, cfg)
	got, err := ts2.Client.GetFunctionEventInvokeConfig(ctx(t), &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("src")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(got.MaximumRetryAttempts) != 0 || got.MaximumEventAgeInSeconds != nil || got.DestinationConfig == nil ||
		got.DestinationConfig.OnFailure == nil || aws.ToString(got.DestinationConfig.OnFailure.Destination) != dstARN ||
		aws.ToString(got.FunctionArn) != aws.ToString(put.FunctionArn) || !got.LastModified.Equal(*put.LastModified) {
		t.Fatalf("after restart: %+v; put %+v", got, put)
	}
	if _, err := ts2.Client.DeleteFunction(ctx(t), &lambda.DeleteFunctionInput{FunctionName: aws.String("src")}); err != nil {
		t.Fatal(err)
	}
	_, err = ts2.Client.GetFunctionEventInvokeConfig(ctx(t), &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("src")})
	if statusOf(err) != 404 {
		t.Fatalf("configuration of a deleted function: %v, want 404", err)
	}
}
