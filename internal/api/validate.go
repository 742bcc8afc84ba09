package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/sluice-dev/sluice"
)

// Validation of control plane requests. Model constraints (lengths, ranges,
// patterns, enums) are collected in sluice.Violations and reported together
// as one ValidationException, in the order the members appear in the Lambda
// model; semantic checks then fail one at a time with
// InvalidParameterValueException, as Lambda does.

// Patterns of the Lambda model, shown verbatim in messages.
const (
	handlerPattern = `[^\s]+`
	envKeyPattern  = `[a-zA-Z]([a-zA-Z0-9_])+`
)

var (
	handlerRE = regexp.MustCompile(`^` + handlerPattern + `$`)
	envKeyRE  = regexp.MustCompile(`^` + envKeyPattern + `$`)
)

// architectureEnum is the enum of Architectures members.
const architectureEnum = "[x86_64, arm64]"

// reservedEnvKeys are the environment variables the platform sets; a
// function may not override them.
var reservedEnvKeys = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION",
	"AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
	"AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME",
	"AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}

// decodeJSON decodes a request body into v. An empty body is an empty
// object, so that missing members are reported by validation.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &sluice.Error{
			Code:    sluice.EInvalidContent,
			Message: "Could not parse request body into json: " + describeJSONError(err),
			Err:     err,
		}
	}
	return nil
}

// describeJSONError explains a decoding failure without naming Go types.
func describeJSONError(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var b64 base64.CorruptInputError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("%s (at offset %d)", syntax.Error(), syntax.Offset)
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Sprintf("the body must be a JSON object, not %s", typ.Value)
	case errors.As(err, &typ):
		// Members of embedded structs are members of the request itself.
		return fmt.Sprintf("unexpected %s for member %s", typ.Value, trimEmbedded(typ.Field))
	case errors.As(err, &b64):
		return fmt.Sprintf("a blob member is not valid base64 (illegal data at input byte %d)", int64(b64))
	}
	return "malformed JSON"
}

// trimEmbedded drops the name of an embedded struct from a JSON field path:
// its members are members of the request itself.
func trimEmbedded(field string) string {
	for _, p := range []string{"functionSettings.", "functionCode."} {
		if rest, ok := strings.CutPrefix(field, p); ok {
			return rest
		}
	}
	return field
}

// validateRole checks Role, which CreateFunction requires.
func validateRole(role *string, required bool, v *sluice.Violations) {
	switch {
	case role == nil && required:
		v.AddNull("role")
	case role != nil && !sluice.ValidRole(*role):
		v.Add(*role, "role", "Member must satisfy regular expression pattern: "+sluice.RolePattern)
	}
}

// validateHandler checks Handler when given; whether it is required is a
// semantic check (see newFunction).
func validateHandler(handler *string, v *sluice.Violations) {
	if handler == nil {
		return
	}
	if len(*handler) > sluice.MaxHandlerLength {
		v.Add(*handler, "handler", fmt.Sprintf("Member must have length less than or equal to %d", sluice.MaxHandlerLength))
	}
	if !handlerRE.MatchString(*handler) {
		v.Add(*handler, "handler", "Member must satisfy regular expression pattern: "+handlerPattern)
	}
}

func validateDescription(d *string, v *sluice.Violations) {
	if d != nil && len(*d) > sluice.MaxDescriptionLength {
		v.Add(*d, "description", fmt.Sprintf("Member must have length less than or equal to %d", sluice.MaxDescriptionLength))
	}
}

// validateRange checks an optional integer member against [lo, hi].
func validateRange(n *int, field string, lo, hi int, v *sluice.Violations) {
	switch {
	case n == nil:
	case *n < lo:
		v.Add(fmt.Sprint(*n), field, fmt.Sprintf("Member must have value greater than or equal to %d", lo))
	case *n > hi:
		v.Add(fmt.Sprint(*n), field, fmt.Sprintf("Member must have value less than or equal to %d", hi))
	}
}

func validateEphemeralStorage(e *ephemeralStorageSpec, v *sluice.Violations) {
	if e == nil {
		return
	}
	if e.Size == nil {
		v.AddNull("ephemeralStorage.size")
		return
	}
	validateRange(e.Size, "ephemeralStorage.size", sluice.MinEphemeralStorage, sluice.MaxEphemeralStorage, v)
}

// validateArchitectures checks Architectures when given (nil means not
// given): exactly one of x86_64 and arm64.
func validateArchitectures(archs []string, v *sluice.Violations) {
	if archs == nil {
		return
	}
	value := "[" + strings.Join(archs, ", ") + "]"
	switch {
	case len(archs) == 0:
		v.Add(value, "architectures", "Member must have length greater than or equal to 1")
	case len(archs) > 1:
		v.Add(value, "architectures", "Member must have length less than or equal to 1")
	case archs[0] != "x86_64" && archs[0] != "arm64":
		v.Add(value, "architectures", "Member must satisfy constraint: [Member must satisfy enum value set: "+architectureEnum+", Member must not be null]")
	}
}

// validateEnvironmentKeys checks the variable names. Like Lambda, the
// message does not repeat the variables, which may be secrets.
func validateEnvironmentKeys(env *environment, v *sluice.Violations) {
	if env == nil {
		return
	}
	for k := range env.Variables {
		if !envKeyRE.MatchString(k) {
			*v = append(*v, "Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: "+envKeyPattern+"]")
			return
		}
	}
}

// checkEnvironment applies the semantic limits of environment variables:
// no reserved names, and at most 4 KB measured as AWS measures them: the
// compact JSON object of the variables, in the order of the request.
func checkEnvironment(env *environment) error {
	var reserved []string
	for k := range env.Variables {
		if slices.Contains(reservedEnvKeys, k) {
			reserved = append(reserved, k)
		}
	}
	if len(reserved) > 0 {
		sort.Strings(reserved)
		return sluice.Errorf(sluice.EInvalidParameter, "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ", "))
	}
	if measured := measureEnvironment(env); len(measured) > sluice.MaxEnvironmentBytes {
		return sluice.Errorf(sluice.EInvalidParameter, "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %s", measured)
	}
	return nil
}

// measureEnvironment is the string AWS measures: {"name":"value",...}
// in the request's order (names the order misses, sorted, after).
func measureEnvironment(env *environment) string {
	names := make([]string, 0, len(env.Variables))
	seen := map[string]bool{}
	for _, k := range env.order {
		if _, ok := env.Variables[k]; ok && !seen[k] {
			seen[k] = true
			names = append(names, k)
		}
	}
	var rest []string
	for k := range env.Variables {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	names = append(names, rest...)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		kj, _ := marshalJSON(k)
		vj, _ := marshalJSON(env.Variables[k])
		b.Write(kj)
		b.WriteByte(':')
		b.Write(vj)
	}
	b.WriteByte('}')
	return b.String()
}

// Patterns of FileSystemConfigs, from the Lambda model.
const (
	efsARNPattern      = `arn:aws[a-zA-Z-]*:elasticfilesystem:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\d{1}:\d{12}:access-point/fsap-[a-f0-9]{17}`
	mountPathPattern   = `/mnt/[a-zA-Z0-9-_.]+`
	maxEFSARNLength    = 200
	maxMountPathLength = 160
)

var (
	efsARNRE    = regexp.MustCompile(`^` + efsARNPattern + `$`)
	mountPathRE = regexp.MustCompile(`^` + mountPathPattern + `$`)
)

// validateFileSystems adds the violations of FileSystemConfigs to v: at
// most one, each with an access point ARN and a mount path under /mnt/.
func validateFileSystems(fs []fileSystemConfig, v *sluice.Violations) {
	if len(fs) > 1 {
		v.Add(fmt.Sprint(len(fs)), "fileSystemConfigs", "Member must have length less than or equal to 1")
	}
	for i, f := range fs {
		field := fmt.Sprintf("fileSystemConfigs.%d.member", i+1)
		if len(f.Arn) > maxEFSARNLength || !efsARNRE.MatchString(f.Arn) {
			v.Add(f.Arn, field+".arn", "Member must satisfy regular expression pattern: "+efsARNPattern)
		}
		if len(f.LocalMountPath) > maxMountPathLength || !mountPathRE.MatchString(f.LocalMountPath) {
			v.Add(f.LocalMountPath, field+".localMountPath", "Member must satisfy regular expression pattern: "+mountPathPattern)
		}
	}
}

// Runtimes is what the API asks of the runtime registry
// (internal/runtimes.Registry).
type Runtimes interface {
	Supported(runtime string) bool
	Names() []string
}

// providedOnly is the Runtimes of a Config without one: the OS-only
// runtimes, whose functions ship their own bootstrap.
type providedOnly struct{}

func (providedOnly) Names() []string { return []string{"provided.al2023", "provided.al2", "provided"} }
func (p providedOnly) Supported(runtime string) bool {
	return slices.Contains(p.Names(), runtime)
}

// awsRuntimeEnum is the set of runtimes AWS accepts in CreateFunction and
// UpdateFunctionConfiguration, in the order of its message for any other
// value (as recorded from AWS on 2026-01-12; see docs/decisions.md).
const awsRuntimeEnum = "[nodejs20.x, python3.14, provided.al2023, python3.12, python3.13, nodejs24.x, nodejs22.x, java25, python3.10, python3.11, java21, ruby3.3, ruby3.4, ruby3.2, python3.8, python3.9, java17, nodejs16.x, dotnet10, dotnet8, java11, dotnet6, nodejs18.x, provided.al2, java8.al2]"

var awsRuntimes = strings.Split(strings.Trim(awsRuntimeEnum, "[]"), ", ")

// retiredRuntimes are the values of the Lambda model's Runtime enum that
// AWS no longer accepts for creating or updating a function: it answers
// them with its deprecation message, not the enum message.
var retiredRuntimes = []string{
	"nodejs", "nodejs4.3", "nodejs4.3-edge", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x",
	"java8", "python2.7", "python3.6", "python3.7", "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1",
	"dotnetcore3.1", "dotnet7", "go1.x", "ruby2.5", "ruby2.7", "provided",
}

// checkRuntime rejects runtimes sluice cannot run: with AWS's messages
// for a runtime AWS retired and for a value that is no runtime of AWS's,
// with sluice's for a runtime of AWS's this server does not provide.
func checkRuntime(rt Runtimes, runtime string) error {
	if rt == nil {
		rt = providedOnly{}
	}
	if rt.Supported(runtime) {
		return nil
	}
	if slices.Contains(retiredRuntimes, runtime) {
		return sluice.Errorf(sluice.EInvalidParameter, "The runtime parameter of %s is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.", runtime)
	}
	if !slices.Contains(awsRuntimes, runtime) {
		return sluice.Errorf(sluice.EInvalidParameter, "Value %s at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: %s or be a valid ARN", runtime, awsRuntimeEnum)
	}
	// a runtime of AWS's that this server does not provide
	return sluice.Errorf(sluice.EInvalidParameter, "The runtime parameter of %s is not supported by sluice; supported runtimes: %s", runtime, strings.Join(rt.Names(), ", "))
}

// checkPackageType rejects image packages.
func checkPackageType(pt *string) error {
	if pt == nil || *pt == "Zip" {
		return nil
	}
	return sluice.Errorf(sluice.EInvalidParameter, "The package type %s is not supported by sluice; only Zip packages are", *pt)
}

// check requires an inline ZipFile, or hot reload (S3Bucket
// sluice.HotReloadBucket, S3Key the directory, which it returns as
// hotDir; the service checks the directory): sluice does not fetch code
// from S3 or container registries.
func (c *functionCode) check() (hotDir string, err error) {
	zip := c.ZipFile
	if c.S3Bucket != nil && *c.S3Bucket == sluice.HotReloadBucket {
		if len(zip) > 0 || c.S3ObjectVersion != nil || c.ImageURI != nil {
			return "", sluice.Errorf(sluice.EInvalidParameter, "Please provide only one source for function code: the %s bucket's S3Key, and neither ZipFile, S3ObjectVersion nor ImageUri.", sluice.HotReloadBucket)
		}
		if c.S3Key == nil || *c.S3Key == "" {
			return "", sluice.Errorf(sluice.EInvalidParameter, "When using hot reloading, the archive key has to be an absolute path! Your archive key: ")
		}
		return *c.S3Key, nil
	}
	if c.S3Bucket != nil || c.S3Key != nil || c.S3ObjectVersion != nil || c.ImageURI != nil {
		return "", sluice.Errorf(sluice.EInvalidParameter, "sluice accepts only Code.ZipFile, or the S3Bucket %q with a directory as S3Key (hot reload): other S3 buckets, S3ObjectVersion and ImageUri are not supported", sluice.HotReloadBucket)
	}
	if len(zip) == 0 {
		return "", sluice.Errorf(sluice.EInvalidParameter, "Please provide a source for function code.")
	}
	if len(zip) > sluice.MaxZipSize {
		return "", sluice.Errorf(sluice.EEntityTooLarge, "Zipped size must be smaller than %d bytes", sluice.MaxZipSize)
	}
	return "", nil
}

// cloneEnv returns a copy of vars, never nil: an Environment given
// without variables is kept as set (AWS answers it as {"Variables": {}}).
func cloneEnv(vars map[string]string) map[string]string {
	c := make(map[string]string, len(vars))
	for k, val := range vars {
		c[k] = val
	}
	return c
}
