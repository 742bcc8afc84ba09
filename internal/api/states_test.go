package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

const (
	wantReasonCreating     = "The function is being created."
	wantReasonCodeCreating = "Creating"
)

// settledConfig polls GetFunction until done accepts the configuration,
// and returns it. Unlike the SDK waiters it also returns failed states.
func settledConfig(t testing.TB, e *env, name string, done func(*types.FunctionConfiguration) bool) *lambda.GetFunctionOutput {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := e.client.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatalf("GetFunction(%s): %v", name, err)
		}
		if done(out.Configuration) {
			return out
		}
		if time.Now().After(deadline) {
			c := out.Configuration
			t.Fatalf("%s did not settle: State %s LastUpdateStatus %s", name, c.State, c.LastUpdateStatus)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// getFunctionOrFail returns GetFunction of name or fails the test.
func getFunctionOrFail(t testing.TB, e *env, name string) *lambda.GetFunctionOutput {
	t.Helper()
	out, err := e.client.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String(name)})
	if err != nil {
		t.Fatalf("GetFunction(%s): %v", name, err)
	}
	return out
}

// TestStateCreatePendingThenActive holds the deployment of a new function
// to observe it Pending, then lets it become Active.
func TestStateCreatePendingThenActive(t *testing.T) {
	e, gate := newHoldEnv(t)
	ctx := context.Background()
	gate.shut()
	created, err := e.client.CreateFunction(ctx, createInput(t, "pend"))
	if err != nil {
		t.Fatal(err)
	}
	gate.waitHeld(t)

	t.Run("create response", func(t *testing.T) {
		if st := successStatus(t, created.ResultMetadata); st != http.StatusCreated {
			t.Errorf("status = %d, want 201", st)
		}
		if created.State != types.StatePending || aws.ToString(created.StateReason) != wantReasonCreating || created.StateReasonCode != types.StateReasonCodeCreating {
			t.Errorf("State = %s %q %s, want Pending %q Creating", created.State, aws.ToString(created.StateReason), created.StateReasonCode, wantReasonCreating)
		}
		if created.LastUpdateStatus != "" {
			t.Errorf("LastUpdateStatus = %q, want none", created.LastUpdateStatus)
		}
		if aws.ToString(created.Version) != "$LATEST" || aws.ToString(created.FunctionArn) != fnARNPrefix+"pend" {
			t.Errorf("Version %q FunctionArn %q", aws.ToString(created.Version), aws.ToString(created.FunctionArn))
		}
	})
	t.Run("GetFunction while pending", func(t *testing.T) {
		c := getFunctionOrFail(t, e, "pend").Configuration
		if c.State != types.StatePending || aws.ToString(c.StateReason) != wantReasonCreating || c.StateReasonCode != types.StateReasonCodeCreating {
			t.Errorf("State = %s %q %s, want Pending", c.State, aws.ToString(c.StateReason), c.StateReasonCode)
		}
		if c.LastUpdateStatus != "" {
			t.Errorf("LastUpdateStatus = %q, want none", c.LastUpdateStatus)
		}
		if aws.ToString(c.RevisionId) != aws.ToString(created.RevisionId) {
			t.Errorf("RevisionId = %q, want the create response's %q", aws.ToString(c.RevisionId), aws.ToString(created.RevisionId))
		}
	})
	t.Run("no LastUpdateStatus on the wire", func(t *testing.T) {
		// The create response as recorded from Lambda has no
		// LastUpdateStatus member at all; neither has the configuration
		// while Pending.
		req, err := json.Marshal(map[string]any{
			"FunctionName": "pend-raw", "Role": testRole, "Runtime": testRuntime, "Handler": "bootstrap",
			"Code": map[string]any{"ZipFile": base64.StdEncoding.EncodeToString(makeZip(t, "pend-raw"))},
		})
		if err != nil {
			t.Fatal(err)
		}
		st, body := signedRaw(t, e, http.MethodPost, "/2015-03-31/functions", req...)
		if st != http.StatusCreated {
			t.Fatalf("raw CreateFunction: %d %s", st, body)
		}
		st, got := signedRaw(t, e, http.MethodGet, "/2015-03-31/functions/pend/configuration")
		if st != http.StatusOK {
			t.Fatalf("GET configuration: %d %s", st, got)
		}
		for what, b := range map[string][]byte{"CreateFunction response": body, "GetFunctionConfiguration while Pending": got} {
			m := jsonObject(t, b)
			if m["State"] != "Pending" {
				t.Errorf("%s: State = %v, want Pending", what, m["State"])
			}
			for _, k := range []string{"LastUpdateStatus", "LastUpdateStatusReason", "LastUpdateStatusReasonCode"} {
				if v, ok := m[k]; ok {
					t.Errorf("%s has %s = %q; Lambda omits the member", what, k, v)
				}
			}
		}
	})
	t.Run("invoke while pending", func(t *testing.T) {
		_, err := e.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("pend"), Payload: []byte(`{}`)})
		wantLambdaFailure(t, err, 409, "ResourceConflictException", "The operation cannot be performed at this time. The function is currently in the following state: Pending")
	})
	t.Run("update code while pending", func(t *testing.T) {
		_, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("pend"), ZipFile: makeZip(t, "pend two")})
		wantLambdaFailure(t, err, 409, "ResourceConflictException", "The operation cannot be performed at this time. ...")
	})
	t.Run("update configuration while pending", func(t *testing.T) {
		_, err := e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("pend"), Timeout: aws.Int32(9)})
		wantLambdaFailure(t, err, 409, "ResourceConflictException", "The operation cannot be performed at this time. ...")
	})
	t.Run("publish while pending", func(t *testing.T) {
		_, err := e.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("pend")})
		wantLambdaFailure(t, err, 409, "ResourceConflictException", "The operation cannot be performed at this time. ...")
	})

	gate.open()
	e.waitActive("pend") // the SDK's FunctionActiveV2 waiter
	t.Run("active", func(t *testing.T) {
		c := getFunctionOrFail(t, e, "pend").Configuration
		if c.State != types.StateActive || c.LastUpdateStatus != types.LastUpdateStatusSuccessful {
			t.Errorf("State/LastUpdateStatus = %s/%s, want Active/Successful", c.State, c.LastUpdateStatus)
		}
		if c.StateReason != nil || c.StateReasonCode != "" {
			t.Errorf("StateReason %q StateReasonCode %q on an Active function", aws.ToString(c.StateReason), c.StateReasonCode)
		}
		if aws.ToString(c.RevisionId) == aws.ToString(created.RevisionId) {
			t.Error("RevisionId unchanged when the function became Active")
		}
	})
	e.waitUpdated("pend") // and FunctionUpdatedV2
}

// TestStateCreateCorruptPackage: a package that passes the upload checks
// but cannot be unpacked leaves the new function Failed.
func TestStateCreateCorruptPackage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in := createInput(t, "broken")
	in.Code.ZipFile = corruptZip(t, "broken")
	created, err := e.client.CreateFunction(ctx, in)
	if err != nil {
		t.Fatalf("CreateFunction with a package whose data is corrupt: %v, want accepted (the structure is fine)", err)
	}
	if created.State != types.StatePending {
		t.Errorf("create response State = %s, want Pending", created.State)
	}
	c := settledConfig(t, e, "broken", func(c *types.FunctionConfiguration) bool { return c.State != types.StatePending }).Configuration
	if c.State != types.StateFailed {
		t.Errorf("State = %s, want Failed", c.State)
	}
	if c.StateReasonCode != types.StateReasonCodeInvalidZipFileException {
		t.Errorf("StateReasonCode = %q, want InvalidZipFileException", c.StateReasonCode)
	}
	if aws.ToString(c.StateReason) == "" {
		t.Error("no StateReason")
	}
	if c.LastUpdateStatus != types.LastUpdateStatusFailed {
		t.Errorf("LastUpdateStatus = %q, want Failed", c.LastUpdateStatus)
	}
	if c.LastUpdateStatusReasonCode != types.LastUpdateStatusReasonCodeInvalidZipFileException {
		t.Errorf("LastUpdateStatusReasonCode = %q, want InvalidZipFileException", c.LastUpdateStatusReasonCode)
	}

	t.Run("FunctionActiveV2 fails", func(t *testing.T) {
		w := lambda.NewFunctionActiveV2Waiter(e.client, func(o *lambda.FunctionActiveV2WaiterOptions) {
			o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
		})
		start := time.Now()
		err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("broken")}, 20*time.Second)
		if err == nil {
			t.Fatal("the FunctionActiveV2 waiter succeeded on a Failed function")
		}
		if time.Since(start) > 10*time.Second {
			t.Errorf("the waiter failed only after %v (%v), want at once", time.Since(start), err)
		}
	})
	t.Run("invoke", func(t *testing.T) {
		_, err := e.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("broken")})
		wantLambdaFailure(t, err, 409, "ResourceConflictException", "The operation cannot be performed at this time. The function is currently in the following state: Failed")
	})
}

// TestStateUpdateCorruptPackage: an update whose package cannot be
// unpacked fails, and the function keeps its previous code.
func TestStateUpdateCorruptPackage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	created := e.create("revert")
	bad := corruptZip(t, "revert two")
	up, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("revert"), ZipFile: bad})
	if err != nil {
		t.Fatalf("UpdateFunctionCode with a package whose data is corrupt: %v, want accepted", err)
	}
	if up.LastUpdateStatus != types.LastUpdateStatusInProgress {
		t.Errorf("update response LastUpdateStatus = %s, want InProgress", up.LastUpdateStatus)
	}
	if aws.ToString(up.CodeSha256) != wireSHA(t, bad) {
		t.Errorf("update response CodeSha256 = %s, want the new package's", aws.ToString(up.CodeSha256))
	}
	out := settledConfig(t, e, "revert", func(c *types.FunctionConfiguration) bool {
		return c.LastUpdateStatus != types.LastUpdateStatusInProgress
	})
	c := out.Configuration
	if c.LastUpdateStatus != types.LastUpdateStatusFailed {
		t.Errorf("LastUpdateStatus = %s, want Failed", c.LastUpdateStatus)
	}
	if c.LastUpdateStatusReasonCode != types.LastUpdateStatusReasonCodeInvalidZipFileException || aws.ToString(c.LastUpdateStatusReason) == "" {
		t.Errorf("LastUpdateStatusReason(Code) = %q/%q, want a reason and InvalidZipFileException", aws.ToString(c.LastUpdateStatusReason), c.LastUpdateStatusReasonCode)
	}
	if c.State != types.StateActive {
		t.Errorf("State = %s, want Active (the old code runs)", c.State)
	}
	if aws.ToString(c.CodeSha256) != aws.ToString(created.CodeSha256) || c.CodeSize != created.CodeSize {
		t.Errorf("CodeSha256/CodeSize = %s/%d, want the old %s/%d", aws.ToString(c.CodeSha256), c.CodeSize, aws.ToString(created.CodeSha256), created.CodeSize)
	}
	resp, err := http.Get(aws.ToString(out.Code.Location))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, makeZip(t, "revert")) {
		t.Errorf("Code.Location after the failed update: %d, %d bytes; want the old package", resp.StatusCode, len(body))
	}

	t.Run("FunctionUpdatedV2 fails", func(t *testing.T) {
		w := lambda.NewFunctionUpdatedV2Waiter(e.client, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
			o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
		})
		if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("revert")}, 20*time.Second); err == nil {
			t.Error("the FunctionUpdatedV2 waiter succeeded after a failed update")
		}
	})
	t.Run("a good update afterwards", func(t *testing.T) {
		good := makeZip(t, "revert three")
		if _, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("revert"), ZipFile: good}); err != nil {
			t.Fatal(err)
		}
		c := settledConfig(t, e, "revert", func(c *types.FunctionConfiguration) bool {
			return c.LastUpdateStatus != types.LastUpdateStatusInProgress
		}).Configuration
		if c.LastUpdateStatus != types.LastUpdateStatusSuccessful || aws.ToString(c.CodeSha256) != wireSHA(t, good) {
			t.Errorf("after a good update: %s %s", c.LastUpdateStatus, aws.ToString(c.CodeSha256))
		}
	})
}

// TestStateUpdateInProgress holds an update's deployment to observe
// LastUpdateStatus InProgress and the conflicts it causes.
func TestStateUpdateInProgress(t *testing.T) {
	e, gate := newHoldEnv(t)
	ctx := context.Background()
	created := e.create("prog")

	gate.shut()
	newZip := makeZip(t, "prog two")
	up, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("prog"), ZipFile: newZip})
	if err != nil {
		t.Fatal(err)
	}
	gate.waitHeld(t)

	t.Run("update response", func(t *testing.T) {
		if up.State != types.StateActive || up.LastUpdateStatus != types.LastUpdateStatusInProgress {
			t.Errorf("State/LastUpdateStatus = %s/%s, want Active/InProgress", up.State, up.LastUpdateStatus)
		}
		if aws.ToString(up.LastUpdateStatusReason) != wantReasonCreating || up.LastUpdateStatusReasonCode != wantReasonCodeCreating {
			t.Errorf("reason = %q/%q, want %q/%q", aws.ToString(up.LastUpdateStatusReason), up.LastUpdateStatusReasonCode, wantReasonCreating, wantReasonCodeCreating)
		}
		if aws.ToString(up.CodeSha256) != wireSHA(t, newZip) {
			t.Errorf("CodeSha256 = %s, want the new package's", aws.ToString(up.CodeSha256))
		}
		if aws.ToString(up.RevisionId) == aws.ToString(created.RevisionId) {
			t.Error("RevisionId unchanged by the update")
		}
	})
	t.Run("GetFunction", func(t *testing.T) {
		c := getFunctionOrFail(t, e, "prog").Configuration
		if c.State != types.StateActive || c.LastUpdateStatus != types.LastUpdateStatusInProgress {
			t.Errorf("State/LastUpdateStatus = %s/%s, want Active/InProgress", c.State, c.LastUpdateStatus)
		}
		if aws.ToString(c.LastUpdateStatusReason) != wantReasonCreating || c.LastUpdateStatusReasonCode != wantReasonCodeCreating {
			t.Errorf("reason = %q/%q, want %q/%q", aws.ToString(c.LastUpdateStatusReason), c.LastUpdateStatusReasonCode, wantReasonCreating, wantReasonCodeCreating)
		}
		if aws.ToString(c.RevisionId) != aws.ToString(up.RevisionId) {
			t.Errorf("RevisionId = %q, want the update response's %q", aws.ToString(c.RevisionId), aws.ToString(up.RevisionId))
		}
	})
	t.Run("second UpdateFunctionCode", func(t *testing.T) {
		_, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("prog"), ZipFile: makeZip(t, "prog three")})
		wantLambdaFailure(t, err, 409, "ResourceConflictException", msgUpdateInProgress("prog"))
	})
	t.Run("UpdateFunctionConfiguration", func(t *testing.T) {
		_, err := e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("prog"), Timeout: aws.Int32(30)})
		wantLambdaFailure(t, err, 409, "ResourceConflictException", msgUpdateInProgress("prog"))
	})
	t.Run("UpdateFunctionConfiguration by ARN", func(t *testing.T) {
		_, err := e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(fnARNPrefix + "prog"), Description: aws.String("x")})
		wantLambdaFailure(t, err, 409, "ResourceConflictException", msgUpdateInProgress("prog"))
	})

	gate.open()
	done := e.waitUpdated("prog") // the SDK's FunctionUpdatedV2 waiter
	e.waitActive("prog")          // and FunctionActiveV2
	t.Run("settled", func(t *testing.T) {
		c := done.Configuration
		if c.LastUpdateStatus != types.LastUpdateStatusSuccessful || c.State != types.StateActive {
			t.Errorf("State/LastUpdateStatus = %s/%s", c.State, c.LastUpdateStatus)
		}
		if c.LastUpdateStatusReason != nil || c.LastUpdateStatusReasonCode != "" {
			t.Errorf("reason %q/%q after success", aws.ToString(c.LastUpdateStatusReason), c.LastUpdateStatusReasonCode)
		}
		if aws.ToString(c.CodeSha256) != wireSHA(t, newZip) || aws.ToInt32(c.Timeout) != aws.ToInt32(created.Timeout) {
			t.Errorf("CodeSha256 %s Timeout %d: want the new code and the untouched timeout", aws.ToString(c.CodeSha256), aws.ToInt32(c.Timeout))
		}
		if aws.ToString(c.RevisionId) == aws.ToString(up.RevisionId) {
			t.Error("RevisionId unchanged when the update finished")
		}
	})
	t.Run("changes allowed again", func(t *testing.T) {
		out := setTimeoutOrFail(t, e, "prog", 30)
		if aws.ToInt32(out.Timeout) != 30 {
			t.Errorf("Timeout = %d", aws.ToInt32(out.Timeout))
		}
	})
}

func TestStateRevisionMismatch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create("revs")
	cur := configOrFail(t, e, "revs", "")
	stale := "00000000-0000-0000-0000-000000000000"

	t.Run("UpdateFunctionConfiguration", func(t *testing.T) {
		_, err := e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("revs"), Timeout: aws.Int32(9), RevisionId: aws.String(stale)})
		wantLambdaFailure(t, err, 412, "PreconditionFailedException", msgRevisionMismatch)
	})
	t.Run("UpdateFunctionCode", func(t *testing.T) {
		_, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("revs"), ZipFile: makeZip(t, "revs two"), RevisionId: aws.String(stale)})
		wantLambdaFailure(t, err, 412, "PreconditionFailedException", msgRevisionMismatch)
	})
	if got := configOrFail(t, e, "revs", ""); aws.ToString(got.RevisionId) != aws.ToString(cur.RevisionId) || aws.ToInt32(got.Timeout) != aws.ToInt32(cur.Timeout) {
		t.Error("a failed precondition changed the function")
	}
	t.Run("matching RevisionId", func(t *testing.T) {
		out, err := e.client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("revs"), Timeout: aws.Int32(9), RevisionId: cur.RevisionId})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt32(out.Timeout) != 9 {
			t.Errorf("Timeout = %d", aws.ToInt32(out.Timeout))
		}
	})
}
