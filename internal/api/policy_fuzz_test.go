package api

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzAddPermission feeds arbitrary bodies and qualifiers to AddPermission
// on an existing function: every answer is a success or a rendered Lambda
// error, and what succeeds is valid JSON that GetPolicy then shows and
// RemovePermission removes.
func FuzzAddPermission(f *testing.F) {
	s := fuzzServer(f)
	mux := http.NewServeMux()
	mux.Handle("POST /2015-03-31/functions", s.wrapUnsigned(s.createFunction))
	mux.Handle("POST /2015-03-31/functions/{name}/versions", s.wrapUnsigned(s.publishVersion))
	mux.Handle("POST /2015-03-31/functions/{name}/policy", s.wrapUnsigned(s.addPermission))
	mux.Handle("GET /2015-03-31/functions/{name}/policy", s.wrapUnsigned(s.getPolicy))
	mux.Handle("DELETE /2015-03-31/functions/{name}/policy/{sid}", s.wrapUnsigned(s.removePermission))
	do := func(method, path string, body []byte) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "http://sluice"+path, bytes.NewReader(body))
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}

	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	if w, err := zw.Create("bootstrap"); err != nil {
		f.Fatal(err)
	} else if _, err := w.Write([]byte("#!/bin/sh\n")); err != nil {
		f.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		f.Fatal(err)
	}
	create, _ := json.Marshal(map[string]any{
		"FunctionName": "f", "Runtime": "provided.al2023", "Handler": "h", "Role": "arn:aws:iam::000000000000:role/x",
		"Code": map[string]string{"ZipFile": base64.StdEncoding.EncodeToString(zipped.Bytes())},
	})
	if w := do("POST", "/2015-03-31/functions", create); w.Code != http.StatusCreated {
		f.Fatalf("CreateFunction: %d %s", w.Code, w.Body)
	}

	f.Add("", []byte(`{"StatementId":"s3","Action":"lambda:InvokeFunction","Principal":"s3.amazonaws.com","SourceArn":"arn:aws:s3:::b"}`))
	f.Add("", []byte(`{"StatementId":"u","Action":"lambda:InvokeFunctionUrl","Principal":"*","FunctionUrlAuthType":"NONE","SourceAccount":"000000000000"}`))
	f.Add("", []byte(`{"StatementId":"v","Action":"lambda:InvokeFunction","Principal":"123456789012","InvokedViaFunctionUrl":true,"EventSourceToken":"a.b"}`))
	f.Add("1", []byte(`{"StatementId":"x","Action":"*","Principal":"arn:aws:iam::123456789012:role/r","RevisionId":"r"}`))
	f.Add("$LATEST", []byte(`{"StatementId":"x","Action":"*","Principal":"*","PrincipalOrgID":"o-abcdefghij"}`))
	f.Add("live", []byte(`{"StatementId":"\u2028","Action":"lambda:*","Principal":"a\u0000","SourceArn":"arn:aws:s3:::\"<&>"}`))
	f.Add("", []byte(`{"StatementId":null,"Action":[],"InvokedViaFunctionUrl":"yes"}`))
	f.Fuzz(func(t *testing.T, qualifier string, body []byte) {
		path := "/2015-03-31/functions/f/policy"
		if qualifier != "" {
			path += "?Qualifier=" + url.QueryEscape(qualifier)
		}
		w := do("POST", path, body)
		if w.Code >= 500 {
			t.Fatalf("AddPermission %q %q: status %d body %s", qualifier, body, w.Code, w.Body)
		}
		if w.Code >= 400 {
			if w.Header().Get(headerErrorType) == "" {
				t.Fatalf("error without X-Amzn-ErrorType: %d %s", w.Code, w.Body)
			}
			return
		}
		var out struct{ Statement string }
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != http.StatusCreated {
			t.Fatalf("AddPermission %q: %d %s: %v", body, w.Code, w.Body, err)
		}
		var st struct{ Sid string }
		if err := json.Unmarshal([]byte(out.Statement), &st); err != nil || st.Sid == "" {
			t.Fatalf("Statement %q is not a statement: %v", out.Statement, err)
		}
		get := do("GET", path, nil)
		var pol struct{ Policy, RevisionId string }
		if err := json.Unmarshal(get.Body.Bytes(), &pol); err != nil || get.Code != http.StatusOK || pol.RevisionId == "" {
			t.Fatalf("GetPolicy after AddPermission %q: %d %s", body, get.Code, get.Body)
		}
		var doc struct{ Statement []json.RawMessage }
		if err := json.Unmarshal([]byte(pol.Policy), &doc); err != nil || len(doc.Statement) != 1 || string(doc.Statement[0]) != out.Statement {
			t.Fatalf("Policy %s does not hold just the statement %s: %v", pol.Policy, out.Statement, err)
		}
		del := "/2015-03-31/functions/f/policy/" + url.PathEscape(st.Sid)
		if qualifier != "" {
			del += "?Qualifier=" + url.QueryEscape(qualifier)
		}
		if w := do("DELETE", del, nil); w.Code != http.StatusNoContent {
			t.Fatalf("RemovePermission %q: %d %s", st.Sid, w.Code, w.Body)
		}
	})
}
