package api_test

import (
	"context"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// sdkOperations are the operations of the Lambda API as the Go SDK has
// them: the methods of *lambda.Client taking a context and an *<Op>Input.
func sdkOperations() []string {
	ctxType := reflect.TypeOf((*context.Context)(nil)).Elem()
	t := reflect.TypeOf(&lambda.Client{})
	var ops []string
	for i := range t.NumMethod() {
		m := t.Method(i)
		if m.Type.NumIn() < 3 || m.Type.In(1) != ctxType {
			continue
		}
		in := m.Type.In(2)
		if in.Kind() == reflect.Pointer && in.Elem().Name() == m.Name+"Input" {
			ops = append(ops, m.Name)
		}
	}
	return ops
}

// TestOperationsTable checks docs/operations.md: one row per SDK
// operation, and "implemented" exactly for the operations the server
// routes.
func TestOperationsTable(t *testing.T) {
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	var order []string
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 5 || strings.TrimSpace(cells[1]) == "Operation" || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") {
			continue
		}
		op, st := strings.TrimSpace(cells[1]), strings.TrimSpace(cells[2])
		if _, dup := status[op]; dup {
			t.Errorf("docs/operations.md: %s twice", op)
		}
		if st != "implemented" && st != "not implemented" {
			t.Errorf("docs/operations.md: %s has status %q, want implemented or not implemented", op, st)
		}
		status[op] = st
		order = append(order, op)
	}
	sdk := sdkOperations()
	if len(sdk) < 50 {
		t.Fatalf("found only %d SDK operations: %v", len(sdk), sdk)
	}
	for _, op := range sdk {
		if _, ok := status[op]; !ok {
			t.Errorf("docs/operations.md lacks the SDK operation %s", op)
		}
	}
	for _, op := range order {
		if !slices.Contains(sdk, op) {
			t.Errorf("docs/operations.md lists %s, which the SDK does not have", op)
		}
	}
	if !slices.IsSorted(order) {
		t.Errorf("docs/operations.md rows are not sorted by operation")
	}

	routed := map[string]bool{}
	for _, name := range newEnv(t).api.Operations() {
		switch name {
		case "InvokeFunction": // Invoke and InvokeWithResponseStream share the name of their limit
			routed["Invoke"], routed["InvokeWithResponseStream"] = true, true
		case "GetCode", "Unknown": // sluice's own routes
		default:
			routed[name] = true
		}
	}
	for op := range routed {
		if !slices.Contains(sdk, op) {
			t.Errorf("the server routes %s, which the SDK does not have", op)
		}
	}
	for _, op := range sdk {
		if got, want := status[op] == "implemented", routed[op]; got != want {
			t.Errorf("docs/operations.md says %s is %q, but routed = %v", op, status[op], want)
		}
	}
}
