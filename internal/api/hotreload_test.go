package api_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/sluice-dev/sluice/internal/hotreload"
	"github.com/sluice-dev/sluice/internal/service"
)

// withHotReload turns hot reload on under a new root holding the
// directory fn, and returns the root.
func withHotReload(t *testing.T, root *string) envOption {
	*root = filepath.Join(t.TempDir(), "root")
	if err := os.MkdirAll(filepath.Join(*root, "fn"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := hotreload.NewRoot(*root)
	if err != nil {
		t.Fatal(err)
	}
	return func(c *service.Config) { c.HotReload = r }
}

func hotCode(dir string) *types.FunctionCode {
	return &types.FunctionCode{S3Bucket: aws.String("hot-reload"), S3Key: aws.String(dir)}
}

// LocalStack's convention through the SDK: the function answers
// LocalStack's CodeSha256, CodeSize 0, and GetFunction's Code.Location is
// the directory as a file URL.
func TestHotReloadCreateFunction(t *testing.T) {
	var root string
	e := newEnv(t, withHotReload(t, &root))
	ctx := context.Background()
	dir := filepath.Join(root, "fn")
	in := createInput(t, "hot")
	in.Code = hotCode(dir)
	out, err := e.client.CreateFunction(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.CodeSha256) != "hot-reloading-hash-not-available" || out.CodeSize != 0 {
		t.Errorf("CreateFunction: CodeSha256 %q CodeSize %d", aws.ToString(out.CodeSha256), out.CodeSize)
	}
	e.waitActive("hot")
	got, err := e.client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("hot")})
	if err != nil {
		t.Fatal(err)
	}
	if loc := aws.ToString(got.Code.Location); loc != "file://"+dir || aws.ToString(got.Code.RepositoryType) != "S3" {
		t.Errorf("Code = %q %q, want S3 file://%s", aws.ToString(got.Code.RepositoryType), loc, dir)
	}
	if aws.ToString(got.Configuration.CodeSha256) != "hot-reloading-hash-not-available" {
		t.Errorf("GetFunction CodeSha256 %q", aws.ToString(got.Configuration.CodeSha256))
	}

	// UpdateFunctionCode takes the same members at its top level.
	e.create("zipped")
	up, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("zipped"), S3Bucket: aws.String("hot-reload"), S3Key: aws.String(dir)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(up.CodeSha256) != "hot-reloading-hash-not-available" || up.CodeSize != 0 {
		t.Errorf("UpdateFunctionCode: CodeSha256 %q CodeSize %d", aws.ToString(up.CodeSha256), up.CodeSize)
	}
	if cfg := e.waitUpdated("zipped"); cfg.Configuration.LastUpdateStatus != types.LastUpdateStatusSuccessful {
		t.Errorf("update to hot reload: %s", cfg.Configuration.LastUpdateStatus)
	}
}

func TestHotReloadRefused(t *testing.T) {
	var root string
	e := newEnv(t, withHotReload(t, &root))
	ctx := context.Background()
	outside := t.TempDir()
	for _, c := range []struct {
		name string
		code *types.FunctionCode
		msg  string
	}{
		{"relative", hotCode("fn"), "When using hot reloading, the archive key has to be an absolute path! Your archive key: fn"},
		{"no key", &types.FunctionCode{S3Bucket: aws.String("hot-reload")}, "When using hot reloading, the archive key has to be an absolute path! Your archive key: "},
		{"missing", hotCode(filepath.Join(root, "missing")), "When using hot reloading, the archive key must name an existing directory: " + filepath.Join(root, "missing") + " does not exist"},
		{"outside", hotCode(outside), "When using hot reloading, the archive key must name a directory under the server's --hot-reload-root: " + outside + " is not"},
		{"dot-dot", hotCode(filepath.Join(root, "..")), "When using hot reloading, the archive key must name a directory under the server's --hot-reload-root: " + filepath.Join(root, "..") + " is not"},
		{"and a zip", &types.FunctionCode{S3Bucket: aws.String("hot-reload"), S3Key: aws.String(filepath.Join(root, "fn")), ZipFile: makeZip(t, "x")},
			"Please provide only one source for function code: the hot-reload bucket's S3Key, and neither ZipFile, S3ObjectVersion nor ImageUri."},
		{"another bucket", &types.FunctionCode{S3Bucket: aws.String("code"), S3Key: aws.String(filepath.Join(root, "fn"))}, msgOnlyZip},
	} {
		in := createInput(t, "f-"+c.name[:2])
		in.Code = c.code
		_, err := e.client.CreateFunction(ctx, in)
		wantAPIError(t, err, "InvalidParameterValueException", c.msg)
	}
	e.create("zipped")
	_, err := e.client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("zipped"), S3Bucket: aws.String("hot-reload"), S3Key: aws.String(outside)})
	wantAPIError(t, err, "InvalidParameterValueException", "When using hot reloading, the archive key must name a directory under the server's --hot-reload-root: "+outside+" is not")
}

// Without --hot-reload-root the bucket is refused, saying how to turn it on.
func TestHotReloadOff(t *testing.T) {
	e := newEnv(t)
	in := createInput(t, "hot")
	in.Code = hotCode(t.TempDir())
	_, err := e.client.CreateFunction(context.Background(), in)
	wantAPIError(t, err, "InvalidParameterValueException", `Hot reloading is disabled: the S3 bucket "hot-reload" is only accepted when sluice serve runs with --hot-reload-root DIR`)
}
