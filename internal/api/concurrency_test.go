package api_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// msgBelowUnreserved is Lambda's text for a reservation that leaves fewer
// than 100 executions unreserved.
const msgBelowUnreserved = "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100]."

// msgFunctionsOnly is Lambda's text for PutFunctionConcurrency on a
// qualified name.
const msgFunctionsOnly = "This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN."

// reserveConcurrency calls PutFunctionConcurrency.
func reserveConcurrency(e *env, name string, n int32) (*lambda.PutFunctionConcurrencyOutput, error) {
	return e.client.PutFunctionConcurrency(context.Background(), &lambda.PutFunctionConcurrencyInput{
		FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(n),
	})
}

// reservedConcurrencyOf returns GetFunctionConcurrency's value, nil when none.
func reservedConcurrencyOf(t testing.TB, e *env, name string) *int32 {
	t.Helper()
	out, err := e.client.GetFunctionConcurrency(context.Background(), &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatalf("GetFunctionConcurrency(%s): %v", name, err)
	}
	return out.ReservedConcurrentExecutions
}

// getFunctionReserved returns GetFunction's Concurrency value, nil when
// the member is absent.
func getFunctionReserved(t testing.TB, e *env, name string) *int32 {
	t.Helper()
	out, err := e.client.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatalf("GetFunction(%s): %v", name, err)
	}
	if out.Concurrency == nil {
		return nil
	}
	if out.Concurrency.ReservedConcurrentExecutions == nil {
		t.Errorf("GetFunction(%s).Concurrency present without ReservedConcurrentExecutions", name)
	}
	return out.Concurrency.ReservedConcurrentExecutions
}

func accountSettingsOrFail(t testing.TB, e *env) *lambda.GetAccountSettingsOutput {
	t.Helper()
	out, err := e.client.GetAccountSettings(context.Background(), &lambda.GetAccountSettingsInput{})
	if err != nil {
		t.Fatalf("GetAccountSettings: %v", err)
	}
	return out
}

func int32String(p *int32) string {
	if p == nil {
		return "none"
	}
	return strconv.Itoa(int(*p))
}

func TestConcurrencyPutGetDelete(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("c")
	rev := aws.ToString(configOrFail(t, e, "c", "").RevisionId)

	t.Run("none at first", func(t *testing.T) {
		if n := reservedConcurrencyOf(t, e, "c"); n != nil {
			t.Errorf("GetFunctionConcurrency = %d, want none", *n)
		}
		if n := getFunctionReserved(t, e, "c"); n != nil {
			t.Errorf("GetFunction.Concurrency = %d, want absent", *n)
		}
	})
	for _, n := range []int32{5, 0, 7} {
		t.Run("put "+strconv.Itoa(int(n)), func(t *testing.T) {
			out, err := reserveConcurrency(e, "c", n)
			if err != nil {
				t.Fatal(err)
			}
			if st := successStatus(t, out.ResultMetadata); st != http.StatusOK {
				t.Errorf("status = %d, want 200", st)
			}
			if out.ReservedConcurrentExecutions == nil || *out.ReservedConcurrentExecutions != n {
				t.Errorf("response ReservedConcurrentExecutions = %s, want %d", int32String(out.ReservedConcurrentExecutions), n)
			}
			if got := reservedConcurrencyOf(t, e, "c"); got == nil || *got != n {
				t.Errorf("GetFunctionConcurrency = %s, want %d", int32String(got), n)
			}
			if got := getFunctionReserved(t, e, "c"); got == nil || *got != n {
				t.Errorf("GetFunction.Concurrency = %s, want %d", int32String(got), n)
			}
			if r := aws.ToString(configOrFail(t, e, "c", "").RevisionId); r != rev {
				t.Errorf("PutFunctionConcurrency changed the RevisionId: %q -> %q", rev, r)
			}
		})
	}
	t.Run("put by ARN", func(t *testing.T) {
		if _, err := reserveConcurrency(e, fnARNPrefix+"c", 8); err != nil {
			t.Fatal(err)
		}
		if got := reservedConcurrencyOf(t, e, fnARNPrefix+"c"); got == nil || *got != 8 {
			t.Errorf("GetFunctionConcurrency by ARN = %s, want 8", int32String(got))
		}
	})
	t.Run("delete", func(t *testing.T) {
		out, err := e.client.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("c")})
		if err != nil {
			t.Fatal(err)
		}
		if st := successStatus(t, out.ResultMetadata); st != http.StatusNoContent {
			t.Errorf("status = %d, want 204", st)
		}
		if n := reservedConcurrencyOf(t, e, "c"); n != nil {
			t.Errorf("GetFunctionConcurrency after delete = %d, want none", *n)
		}
		st, body := signedRaw(t, e, http.MethodGet, "/2019-09-30/functions/c/concurrency")
		if st != http.StatusOK || strings.TrimSpace(string(body)) != "{}" {
			t.Errorf("raw GetFunctionConcurrency after delete = %d %s, want 200 {}", st, body)
		}
		if n := getFunctionReserved(t, e, "c"); n != nil {
			t.Errorf("GetFunction.Concurrency after delete = %d, want absent", *n)
		}
		if r := aws.ToString(configOrFail(t, e, "c", "").RevisionId); r != rev {
			t.Errorf("DeleteFunctionConcurrency changed the RevisionId: %q -> %q", rev, r)
		}
	})
}

func TestConcurrencyErrors(t *testing.T) {
	e := newEnv(t)
	e.create("ce")
	publishOrFail(t, e, "ce", "")
	if _, err := e.client.CreateAlias(context.Background(), &lambda.CreateAliasInput{FunctionName: aws.String("ce"), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		fn     string
		n      int32
		status int
		code   string
		msg    string
	}{
		{"version in name", "ce:1", 5, 400, "InvalidParameterValueException", msgFunctionsOnly},
		{"alias in name", "ce:live", 5, 400, "InvalidParameterValueException", msgFunctionsOnly},
		{"qualified $LATEST ARN", fnARNPrefix + "ce:$LATEST", 0, 400, "InvalidParameterValueException", msgFunctionsOnly},
		{"qualified version ARN", fnARNPrefix + "ce:1", 5, 400, "InvalidParameterValueException", msgFunctionsOnly},
		{"missing function", "doesnotexist", 1, 404, "ResourceNotFoundException", "Function not found: " + fnARNPrefix + "doesnotexist:$LATEST"},
		{"missing function, 0", "doesnotexist", 0, 404, "ResourceNotFoundException", "Function not found: " + fnARNPrefix + "doesnotexist:$LATEST"},
		{"negative", "ce", -1, 400, "ValidationException", "1 validation error detected: Value '-1' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{"over the account", "ce", 1000, 400, "InvalidParameterValueException", msgBelowUnreserved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := reserveConcurrency(e, tt.fn, tt.n)
			wantLambdaFailure(t, err, tt.status, tt.code, tt.msg)
		})
	}
	if n := reservedConcurrencyOf(t, e, "ce"); n != nil {
		t.Errorf("failed puts reserved %d", *n)
	}
	if u := aws.ToInt32(accountSettingsOrFail(t, e).AccountLimit.UnreservedConcurrentExecutions); u != 1000 {
		t.Errorf("UnreservedConcurrentExecutions = %d after failed puts, want 1000", u)
	}
}

func TestConcurrencyUnreservedMinimum(t *testing.T) {
	e := newEnv(t)
	e.create("big")
	e.create("small")

	if _, err := reserveConcurrency(e, "big", 900); err != nil {
		t.Fatalf("reserving 900 of 1000: %v", err)
	}
	t.Run("one more fails", func(t *testing.T) {
		_, err := reserveConcurrency(e, "small", 1)
		wantLambdaFailure(t, err, 400, "InvalidParameterValueException", msgBelowUnreserved)
		if n := reservedConcurrencyOf(t, e, "small"); n != nil {
			t.Errorf("small reserved %d after the failure", *n)
		}
	})
	t.Run("same function again", func(t *testing.T) {
		if _, err := reserveConcurrency(e, "big", 900); err != nil {
			t.Fatalf("re-reserving the same 900: %v", err)
		}
	})
	t.Run("exactly 100 left", func(t *testing.T) {
		if _, err := reserveConcurrency(e, "small", 0); err != nil {
			t.Fatalf("reserving 0 with 100 unreserved: %v", err)
		}
	})
	t.Run("raising the same function fails", func(t *testing.T) {
		_, err := reserveConcurrency(e, "big", 901)
		wantLambdaFailure(t, err, 400, "InvalidParameterValueException", msgBelowUnreserved)
		if n := reservedConcurrencyOf(t, e, "big"); n == nil || *n != 900 {
			t.Errorf("big = %s after the failure, want 900", int32String(n))
		}
	})
	if u := aws.ToInt32(accountSettingsOrFail(t, e).AccountLimit.UnreservedConcurrentExecutions); u != 100 {
		t.Errorf("UnreservedConcurrentExecutions = %d, want 100", u)
	}
	t.Run("freed by delete", func(t *testing.T) {
		if _, err := e.client.DeleteFunctionConcurrency(context.Background(), &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("big")}); err != nil {
			t.Fatal(err)
		}
		if _, err := reserveConcurrency(e, "small", 800); err != nil {
			t.Fatalf("reserving 800 after freeing 900: %v", err)
		}
	})
}

func TestAccountSettings(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	check := func(t *testing.T, fnCount, codeSize int64, unreserved int32) {
		t.Helper()
		s := accountSettingsOrFail(t, e)
		if st := successStatus(t, s.ResultMetadata); st != http.StatusOK {
			t.Errorf("status = %d", st)
		}
		l := s.AccountLimit
		if l == nil || s.AccountUsage == nil {
			t.Fatalf("AccountLimit %v AccountUsage %v", l, s.AccountUsage)
		}
		if l.ConcurrentExecutions != 1000 || l.CodeSizeZipped != 52428800 || l.CodeSizeUnzipped != 262144000 || l.TotalCodeSize != 80530636800 {
			t.Errorf("AccountLimit = concurrent %d zipped %d unzipped %d total %d", l.ConcurrentExecutions, l.CodeSizeZipped, l.CodeSizeUnzipped, l.TotalCodeSize)
		}
		if got := aws.ToInt32(l.UnreservedConcurrentExecutions); got != unreserved {
			t.Errorf("UnreservedConcurrentExecutions = %d, want %d", got, unreserved)
		}
		if s.AccountUsage.FunctionCount != fnCount {
			t.Errorf("FunctionCount = %d, want %d", s.AccountUsage.FunctionCount, fnCount)
		}
		if s.AccountUsage.TotalCodeSize != codeSize {
			t.Errorf("TotalCodeSize = %d, want %d", s.AccountUsage.TotalCodeSize, codeSize)
		}
	}

	t.Run("empty", func(t *testing.T) { check(t, 0, 0, 1000) })

	// TotalCodeSize is the storage the packages take (service/storage.go):
	// each of these one-file packages takes three 4 KiB blocks (its zip,
	// and the root directory and bootstrap of its tree), once however
	// many versions use it.
	const pkg = 3 * 4096
	zipA2 := makeZip(t, "acct-a two, a bit longer")
	e.create("acct-a")
	e.create("acct-b")
	t.Run("two functions", func(t *testing.T) { check(t, 2, 2*pkg, 1000) })

	// Versions: v1 with zipA, v2 with zipA2, $LATEST with zipA2, which
	// counts once.
	publishOrFail(t, e, "acct-a", "")
	if _, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("acct-a"), ZipFile: zipA2}); err != nil {
		t.Fatal(err)
	}
	e.waitUpdated("acct-a")
	publishOrFail(t, e, "acct-a", "")
	const withVersions = 3 * pkg
	t.Run("versions count once", func(t *testing.T) { check(t, 2, withVersions, 1000) })

	if _, err := reserveConcurrency(e, "acct-a", 300); err != nil {
		t.Fatal(err)
	}
	if _, err := reserveConcurrency(e, "acct-b", 50); err != nil {
		t.Fatal(err)
	}
	t.Run("reservations", func(t *testing.T) { check(t, 2, withVersions, 650) })

	if _, err := e.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("acct-a")}); err != nil {
		t.Fatal(err)
	}
	t.Run("delete releases the reservation", func(t *testing.T) { check(t, 1, pkg, 950) })

	if _, err := e.client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("acct-b")}); err != nil {
		t.Fatal(err)
	}
	t.Run("all deleted", func(t *testing.T) { check(t, 0, 0, 1000) })

	e.create("acct-a")
	t.Run("a new function of the same name has no reservation", func(t *testing.T) {
		if n := reservedConcurrencyOf(t, e, "acct-a"); n != nil {
			t.Errorf("recreated function has reservation %d", *n)
		}
		if n := getFunctionReserved(t, e, "acct-a"); n != nil {
			t.Errorf("recreated function: GetFunction.Concurrency = %d", *n)
		}
	})
}
