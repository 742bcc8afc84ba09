// Temporary profiling driver (not committed).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/lambdaclient"
)

func main() {
	ep := flag.String("endpoint", "", "")
	zip := flag.String("zip", "", "")
	n := flag.Int("n", 1000, "")
	conc := flag.Int("c", 1, "")
	create := flag.Bool("create", false, "")
	flag.Parse()
	ctx := context.Background()
	c := lambdaclient.New(*ep, "test", "test")
	if *create {
		z, _ := os.ReadFile(*zip)
		_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("echo"), Runtime: types.RuntimeProvidedal2023,
			Handler: aws.String("echo"), Role: aws.String("arn:aws:iam::000000000000:role/x"), Code: &types.FunctionCode{ZipFile: z}})
		if err != nil {
			panic(err)
		}
		time.Sleep(time.Second)
	}
	in := &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"hello":"world","n":42}`)}
	start := time.Now()
	var wg sync.WaitGroup
	for range *conc {
		wg.Go(func() {
			for range *n / *conc {
				out, err := c.Invoke(ctx, in)
				if err != nil || out.FunctionError != nil {
					panic(fmt.Sprint(err))
				}
			}
		})
	}
	wg.Wait()
	d := time.Since(start)
	fmt.Printf("%d invokes in %v: %.0f/s, %.3f ms each\n", *n, d, float64(*n)/d.Seconds(), float64(d.Microseconds())/1000/float64(*n))
}
