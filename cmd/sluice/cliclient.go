package main

import (
	"context"
	"flag"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// clientFlags are what every client subcommand (invoke, deploy, logs, ls)
// takes to reach a sluice server: --endpoint and --region, with the AWS
// tools' environment variables as defaults (AWS_ENDPOINT_URL_LAMBDA,
// AWS_ENDPOINT_URL; AWS_REGION, AWS_DEFAULT_REGION) and the usual
// credential variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN; sluice's development key test/test when unset).
type clientFlags struct {
	endpoint string
	region   string
	getenv   func(string) string
}

// defaultEndpoint is where `sluice serve` listens by default.
const defaultEndpoint = "http://127.0.0.1:9000"

// register adds --endpoint and --region to fs, with their defaults from
// getenv (os.Getenv when nil).
func (c *clientFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c.getenv = getenv
	endpoint := firstSet(getenv("AWS_ENDPOINT_URL_LAMBDA"), getenv("AWS_ENDPOINT_URL"), defaultEndpoint)
	region := firstSet(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), "us-east-1")
	fs.StringVar(&c.endpoint, "endpoint", endpoint, "sluice's Lambda API (default: $AWS_ENDPOINT_URL_LAMBDA, $AWS_ENDPOINT_URL, "+defaultEndpoint+")")
	fs.StringVar(&c.region, "region", region, "region to sign for (default: $AWS_REGION, $AWS_DEFAULT_REGION, us-east-1)")
}

// credentials are the AWS credential variables, or sluice's development
// key.
func (c *clientFlags) credentials() aws.CredentialsProvider {
	id, secret := c.getenv("AWS_ACCESS_KEY_ID"), c.getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return credentials.NewStaticCredentialsProvider("test", "test", "")
	}
	return credentials.NewStaticCredentialsProvider(id, secret, c.getenv("AWS_SESSION_TOKEN"))
}

// lambda returns a Lambda client for the flags.
func (c *clientFlags) lambda(context.Context) *lambda.Client {
	return lambda.New(lambda.Options{
		Region:       c.region,
		Credentials:  c.credentials(),
		BaseEndpoint: aws.String(c.endpoint),
	})
}

func firstSet(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
