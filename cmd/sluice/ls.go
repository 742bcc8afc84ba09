package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

const lsUsage = `Usage:
  sluice ls [--json]

Lists the functions of the region (and account) the client signs for:
name, runtime, state, last modified and memory. --json prints them as a
JSON array instead.
`

// lsFunction is one function of `sluice ls`, as --json prints it.
type lsFunction struct {
	FunctionName string `json:"FunctionName"`
	FunctionArn  string `json:"FunctionArn"`
	Runtime      string `json:"Runtime,omitempty"`
	PackageType  string `json:"PackageType,omitempty"`
	Handler      string `json:"Handler,omitempty"`
	State        string `json:"State,omitempty"`
	LastModified string `json:"LastModified"`
	MemorySize   int32  `json:"MemorySize"`
	Timeout      int32  `json:"Timeout"`
	CodeSize     int64  `json:"CodeSize"`
}

// lsCommand is `sluice ls`.
func lsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("ls", stderr)
	var cf clientFlags
	cf.register(fs, nil)
	asJSON := fs.Bool("json", false, "print the functions as a JSON array")
	if code, ok := parseFlags(fs, args, lsUsage, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sluice ls: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	client := cf.lambda(ctx)
	fns := []lsFunction{}
	pages := lambda.NewListFunctionsPaginator(client, &lambda.ListFunctionsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return printAPIError(stderr, err)
		}
		for _, f := range page.Functions {
			fn := lsFunction{
				FunctionName: aws.ToString(f.FunctionName),
				FunctionArn:  aws.ToString(f.FunctionArn),
				Runtime:      string(f.Runtime),
				PackageType:  string(f.PackageType),
				Handler:      aws.ToString(f.Handler),
				State:        string(f.State),
				LastModified: aws.ToString(f.LastModified),
				MemorySize:   aws.ToInt32(f.MemorySize),
				Timeout:      aws.ToInt32(f.Timeout),
				CodeSize:     f.CodeSize,
			}
			if fn.State == "" {
				// As on AWS, ListFunctions may leave the state out:
				// GetFunctionConfiguration has it.
				c, err := client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: f.FunctionName})
				if err != nil {
					return printAPIError(stderr, err)
				}
				fn.State = string(c.State)
			}
			fns = append(fns, fn)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(fns); err != nil {
			fmt.Fprintf(stderr, "sluice ls: %v\n", err)
			return 1
		}
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tRUNTIME\tSTATE\tLAST MODIFIED\tMEMORY")
	for _, f := range fns {
		rt := f.Runtime
		if rt == "" {
			rt = f.PackageType
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d MB\n", f.FunctionName, rt, f.State, f.LastModified, f.MemorySize)
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(stderr, "sluice ls: %v\n", err)
		return 1
	}
	return 0
}
