package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

func TestListFunctionsPaging(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("fn-%d", 6-i) // created out of order, listed by name
		e.create(name)
		want = append(want, name)
	}
	slices.Sort(want)

	var got []string
	var marker *string
	pages := 0
	for {
		out, err := e.client.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(3), Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(out.Functions) > 3 {
			t.Fatalf("page %d has %d functions, want at most 3", pages, len(out.Functions))
		}
		for _, f := range out.Functions {
			got = append(got, aws.ToString(f.FunctionName))
			if aws.ToString(f.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:"+aws.ToString(f.FunctionName) {
				t.Errorf("FunctionArn = %s", aws.ToString(f.FunctionArn))
			}
		}
		if out.NextMarker == nil {
			break
		}
		marker = out.NextMarker
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Errorf("listed %v in %d pages, want %v in 3", got, pages, want)
	}

	// The SDK paginator agrees, and the default page holds them all.
	var viaPaginator []string
	p := lambda.NewListFunctionsPaginator(e.client, &lambda.ListFunctionsInput{MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range out.Functions {
			viaPaginator = append(viaPaginator, aws.ToString(f.FunctionName))
		}
	}
	if !slices.Equal(viaPaginator, want) {
		t.Errorf("paginator listed %v", viaPaginator)
	}
	out, err := e.client.ListFunctions(ctx, &lambda.ListFunctionsInput{FunctionVersion: "ALL", MasterRegion: aws.String("us-west-2")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Functions) != 7 || out.NextMarker != nil {
		t.Errorf("default page: %d functions, NextMarker %v", len(out.Functions), out.NextMarker)
	}
}

func TestListFunctionsEmpty(t *testing.T) {
	e := newEnv(t)
	// Both spellings of the route: the Go SDK sends none, others a slash.
	for _, path := range []string{"/2015-03-31/functions", "/2015-03-31/functions/"} {
		resp, body := e.signedRequest(http.MethodGet, path, nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		if fns, ok := v["Functions"].([]any); !ok || len(fns) != 0 {
			t.Errorf("GET %s: body %s, want an empty Functions list", path, body)
		}
		if _, ok := v["NextMarker"]; ok {
			t.Errorf("GET %s: NextMarker in %s", path, body)
		}
	}
}

func TestListFunctionsErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.client.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(0)})
	wantAPIError(t, err, "ValidationException", "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1")
	_, err = e.client.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(10001)})
	wantAPIError(t, err, "ValidationException", "1 validation error detected: Value '10001' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 10000")
	_, err = e.client.ListFunctions(ctx, &lambda.ListFunctionsInput{Marker: aws.String("not a marker!")})
	wantAPIError(t, err, "InvalidParameterValueException", "Invalid Marker: not a marker!; pass the NextMarker of a previous ListFunctions response")
	_, err = e.client.ListFunctions(ctx, &lambda.ListFunctionsInput{FunctionVersion: "SOME"})
	wantAPIError(t, err, "ValidationException", "1 validation error detected: Value 'SOME' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]")
	resp, body := e.signedRequest(http.MethodGet, "/2015-03-31/functions?MaxItems=many", nil, nil)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Amzn-ErrorType") != "InvalidParameterValueException" {
		t.Errorf("MaxItems=many: %d %s %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body)
	}
}

// ListFunctions lists a subset of each configuration, as AWS documents and
// answers: no State, LastUpdateStatus (nor their reasons) and no
// RuntimeVersionConfig; with FunctionVersion=ALL, $LATEST by its qualified
// ARN.
func TestListFunctionsItems(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("listed")
	if _, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("listed")}); err != nil {
		t.Fatal(err)
	}
	const arn = "arn:aws:lambda:us-east-1:123456789012:function:listed"
	for _, tt := range []struct {
		version types.FunctionVersion
		arns    []string
	}{
		{"", []string{arn}},
		{types.FunctionVersionAll, []string{arn + ":$LATEST", arn + ":1"}},
	} {
		out, err := e.client.ListFunctions(ctx, &lambda.ListFunctionsInput{FunctionVersion: tt.version})
		if err != nil {
			t.Fatal(err)
		}
		var arns []string
		for _, f := range out.Functions {
			arns = append(arns, aws.ToString(f.FunctionArn))
			if f.State != "" || f.StateReason != nil || f.StateReasonCode != "" || f.LastUpdateStatus != "" ||
				f.LastUpdateStatusReason != nil || f.LastUpdateStatusReasonCode != "" || f.RuntimeVersionConfig != nil {
				t.Errorf("%s %s: listed with state, update status or runtime version: %+v", tt.version, aws.ToString(f.FunctionArn), f)
			}
			if aws.ToString(f.RevisionId) == "" || aws.ToString(f.CodeSha256) == "" {
				t.Errorf("%s: listed without RevisionId or CodeSha256", aws.ToString(f.FunctionArn))
			}
		}
		if !slices.Equal(arns, tt.arns) {
			t.Errorf("FunctionVersion=%q: ARNs %v, want %v", tt.version, arns, tt.arns)
		}
	}
}
