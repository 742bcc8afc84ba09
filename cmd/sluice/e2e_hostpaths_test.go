package main

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// symlinkZip returns a zip whose only entry, bootstrap, is a symlink to
// target.
func symlinkZip(t *testing.T, target string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Store}
	h.SetMode(fs.ModeSymlink | 0o777)
	w, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(target)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestE2EBootstrapSymlinkHostPaths: a bootstrap symlink is resolved inside
// the task root only, so a package cannot probe the host: links to
// /etc/passwd (exists), /bin/sh (exists and runs) and /nonexistent give
// the same client-visible answer, and neither the answer nor the log tail
// names a host path.
func TestE2EBootstrapSymlinkHostPaths(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	var first string
	for i, target := range []string{"/nonexistent", "/etc/passwd", "/bin/sh"} {
		name := []string{"link-nowhere", "link-passwd", "link-sh"}[i]
		ts.createFunction(t, name, "echo", func(in *lambda.CreateFunctionInput) {
			in.Code = &types.FunctionCode{ZipFile: symlinkZip(t, target)}
		})
		out, err := ts.Client.Invoke(ctx(t), &lambda.InvokeInput{FunctionName: aws.String(name), LogType: types.LogTypeTail})
		if err != nil {
			t.Fatal(err)
		}
		doc := functionError(t, out)
		id := requestIDOf(t, out.ResultMetadata)
		msg := strings.TrimPrefix(doc.ErrorMessage, "RequestId: "+id+" ")
		if doc.ErrorType != "Runtime.InvalidEntrypoint" || msg != "Error: fork/exec /var/task/bootstrap: no such file or directory" {
			t.Errorf("bootstrap -> %s: %s %q; want Runtime.InvalidEntrypoint, no such file or directory", target, doc.ErrorType, doc.ErrorMessage)
		}
		if first == "" {
			first = doc.ErrorType + " " + msg
		} else if got := doc.ErrorType + " " + msg; got != first {
			t.Errorf("bootstrap -> %s answers %q, bootstrap -> /nonexistent %q", target, got, first)
		}
		tail := decodeTail(t, out.LogResult)
		for _, s := range []string{string(out.Payload), tail} {
			if strings.Contains(s, ts.cfg.DataDir) || strings.Contains(s, ts.cfg.RuntimesDir) {
				t.Errorf("bootstrap -> %s: a host path reaches the client: %s", target, s)
			}
		}
	}
}
