package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestBoto3ResourcePolicies drives AddPermission, GetPolicy and
// RemovePermission with boto3 (test/clients/python/policy.py): typed
// exceptions, status codes and the policy JSON as botocore reads them.
func TestBoto3ResourcePolicies(t *testing.T) {
	t.Parallel()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is not on PATH (%v): the boto3 test needs a Python 3 with boto3 installed", err)
	}
	ts := startServer(t, nil)
	ts.createFunction(t, "web", "urlreply")
	c, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(c, python, filepath.Join(clientsDir, "python", "policy.py"), ts.URL, "web")
	cmd.Env = clientEnv(nil)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("policy.py: %v\n%s", err, stderr.String())
	}
	t.Logf("boto3: %s", b)
	type apiError struct {
		Typed         bool
		Code, Message string
		Status        int
	}
	var got struct {
		None apiError
		Add  struct {
			Status    int
			Statement string
		}
		AddURL      string
		Duplicate   apiError
		Org         apiError
		BadSid      apiError
		Get         struct{ Policy, Revision string }
		Stale       apiError
		Remove      int
		RemoveAgain apiError
		After       string
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	const arn = "arn:aws:lambda:us-east-1:000000000000:function:web"
	s3 := `{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"` + arn +
		`","Condition":{"StringEquals":{"AWS:SourceAccount":"000000000000"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::test-bucket"}}}`
	url := `{"Sid":"url","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"` + arn +
		`","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"}}}`
	if !got.None.Typed || got.None.Status != 404 || got.None.Message != "The resource you requested does not exist." {
		t.Errorf("GetPolicy without a policy: %+v", got.None)
	}
	if got.Add.Status != 201 || got.Add.Statement != s3 {
		t.Errorf("AddPermission: %d %s\nwant 201 %s", got.Add.Status, got.Add.Statement, s3)
	}
	if got.AddURL != url {
		t.Errorf("AddPermission of a URL permission: %s\nwant %s", got.AddURL, url)
	}
	if !got.Duplicate.Typed || got.Duplicate.Status != 409 ||
		got.Duplicate.Message != "The statement id (s3) provided already exists. Please provide a new statement id, or remove the existing statement." {
		t.Errorf("duplicate: %+v", got.Duplicate)
	}
	if !got.Org.Typed || got.Org.Status != 400 || got.Org.Code != "InvalidParameterValueException" {
		t.Errorf("PrincipalOrgID: %+v", got.Org)
	}
	if got.BadSid.Code != "ValidationException" || got.BadSid.Status != 400 {
		t.Errorf("bad statement id: %+v", got.BadSid)
	}
	if want := `{"Version":"2012-10-17","Id":"default","Statement":[` + s3 + `,` + url + `]}`; got.Get.Policy != want || got.Get.Revision == "" {
		t.Errorf("GetPolicy: %+v\nwant %s", got.Get, want)
	}
	if !got.Stale.Typed || got.Stale.Status != 412 {
		t.Errorf("RemovePermission with a stale RevisionId: %+v", got.Stale)
	}
	if got.Remove != 204 {
		t.Errorf("RemovePermission: %d", got.Remove)
	}
	if !got.RemoveAgain.Typed || got.RemoveAgain.Message != "Statement s3 is not found in resource policy." {
		t.Errorf("RemovePermission again: %+v", got.RemoveAgain)
	}
	if want := `{"Version":"2012-10-17","Id":"default","Statement":[` + url + `]}`; got.After != want {
		t.Errorf("GetPolicy after RemovePermission: %s\nwant %s", got.After, want)
	}
}
