package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/service"
)

// JSON request and response bodies of the control plane, member for member
// as the AWS SDKs send and read them (restJson1, Lambda 2015-03-31).
// Request members are pointers so that "absent" and "zero" differ; members
// sluice does not know are ignored, as AWS ignores unknown members.

// createFunctionRequest is the body of CreateFunction.
type createFunctionRequest struct {
	FunctionName  *string       `json:"FunctionName"`
	Code          *functionCode `json:"Code"`
	Publish       *bool         `json:"Publish"`
	PackageType   *string       `json:"PackageType"`
	Architectures []string      `json:"Architectures"`
	// Tags are the function's first tags (TagResource's rules).
	Tags map[string]string `json:"Tags"`
	functionSettings
}

// functionSettings are the members CreateFunction and
// UpdateFunctionConfiguration share; a nil member was not given.
type functionSettings struct {
	Runtime           *string               `json:"Runtime"`
	Role              *string               `json:"Role"`
	Handler           *string               `json:"Handler"`
	Description       *string               `json:"Description"`
	Timeout           *int                  `json:"Timeout"`
	MemorySize        *int                  `json:"MemorySize"`
	Environment       *environment          `json:"Environment"`
	EphemeralStorage  *ephemeralStorageSpec `json:"EphemeralStorage"`
	FileSystemConfigs []fileSystemConfig    `json:"FileSystemConfigs"`
	LoggingConfig     *loggingConfigSpec    `json:"LoggingConfig"` // logging.go
	// DeadLetterConfig is refused unless empty (eventconfig.go).
	DeadLetterConfig *deadLetterConfig `json:"DeadLetterConfig"`
}

// fileSystemConfig is one FileSystemConfigs member, in and out.
type fileSystemConfig struct {
	Arn            string `json:"Arn"`
	LocalMountPath string `json:"LocalMountPath"`
}

// functionCode is the Code member of CreateFunction. ZipFile is base64 in
// JSON, which encoding/json decodes into []byte.
type functionCode struct {
	ZipFile         []byte  `json:"ZipFile"`
	S3Bucket        *string `json:"S3Bucket"`
	S3Key           *string `json:"S3Key"`
	S3ObjectVersion *string `json:"S3ObjectVersion"`
	ImageURI        *string `json:"ImageUri"`
}

// updateFunctionCodeRequest is the body of UpdateFunctionCode.
type updateFunctionCodeRequest struct {
	functionCode           // the same members, at the top level
	Publish       *bool    `json:"Publish"`
	DryRun        *bool    `json:"DryRun"`
	RevisionID    *string  `json:"RevisionId"`
	Architectures []string `json:"Architectures"`
}

// updateFunctionConfigurationRequest is the body of
// UpdateFunctionConfiguration.
type updateFunctionConfigurationRequest struct {
	RevisionID *string `json:"RevisionId"`
	functionSettings
}

type environment struct {
	Variables map[string]string `json:"Variables"`
	// order is the order of the variables in the request, in which AWS
	// measures (and shows) them when they exceed the limit
	order []string
}

func (e *environment) UnmarshalJSON(b []byte) error {
	type plain environment
	if err := json.Unmarshal(b, (*plain)(e)); err != nil {
		return err
	}
	e.order = variableOrder(b)
	return nil
}

// variableOrder returns the names of Variables in the order of the
// environment object b (nil when b is not an object with a Variables
// object).
func variableOrder(b []byte) []string {
	var members map[string]json.RawMessage
	if json.Unmarshal(b, &members) != nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(members["Variables"]))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var names []string
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil
		}
		if k, ok := t.(string); ok && !seen[k] {
			seen[k] = true
			names = append(names, k)
		}
	}
	return names
}

type ephemeralStorageSpec struct {
	Size *int `json:"Size"`
}

// functionConfiguration is the FunctionConfiguration shape, the response of
// most control plane operations.
type functionConfiguration struct {
	FunctionName     string          `json:"FunctionName"`
	FunctionArn      string          `json:"FunctionArn"`
	Runtime          string          `json:"Runtime"`
	Role             string          `json:"Role"`
	Handler          string          `json:"Handler"`
	CodeSize         int64           `json:"CodeSize"`
	Description      string          `json:"Description"`
	Timeout          int             `json:"Timeout"`
	MemorySize       int             `json:"MemorySize"`
	LastModified     string          `json:"LastModified"`
	CodeSha256       string          `json:"CodeSha256"`
	Version          string          `json:"Version"`
	Environment      *environmentOut `json:"Environment,omitempty"`
	TracingConfig    tracingConfig   `json:"TracingConfig"`
	RevisionID       string          `json:"RevisionId"`
	State            string          `json:"State,omitempty"` // never empty but in list items
	StateReason      string          `json:"StateReason,omitempty"`
	StateReasonCode  string          `json:"StateReasonCode,omitempty"`
	LastUpdateStatus string          `json:"LastUpdateStatus,omitempty"`

	LastUpdateStatusReason     string `json:"LastUpdateStatusReason,omitempty"`
	LastUpdateStatusReasonCode string `json:"LastUpdateStatusReasonCode,omitempty"`

	PackageType       string              `json:"PackageType"`
	Architectures     []string            `json:"Architectures"`
	EphemeralStorage  ephemeralStorageOut `json:"EphemeralStorage"`
	FileSystemConfigs []fileSystemConfig  `json:"FileSystemConfigs,omitempty"`
	LoggingConfig     loggingConfig       `json:"LoggingConfig"`
	SnapStart         snapStart           `json:"SnapStart"`
	// RuntimeVersionConfig is in every configuration on AWS: the runtime
	// version the function runs (see runtimeVersionARN).
	RuntimeVersionConfig *runtimeVersionConfig `json:"RuntimeVersionConfig,omitempty"`
}

type runtimeVersionConfig struct {
	RuntimeVersionArn string `json:"RuntimeVersionArn"`
}

type environmentOut struct {
	Variables map[string]string `json:"Variables"`
}

type tracingConfig struct {
	Mode string `json:"Mode"`
}

type ephemeralStorageOut struct {
	Size int `json:"Size"`
}

type snapStart struct {
	ApplyOn            string `json:"ApplyOn"`
	OptimizationStatus string `json:"OptimizationStatus"`
}

// getFunctionResponse is the response of GetFunction.
type getFunctionResponse struct {
	Configuration functionConfiguration `json:"Configuration"`
	Code          codeLocation          `json:"Code"`
	Concurrency   *concurrencyBody      `json:"Concurrency,omitempty"`
	// Tags are the function's tags, absent when it has none (as AWS
	// answers).
	Tags map[string]string `json:"Tags,omitempty"`
}

// concurrencyBody is the body of PutFunctionConcurrency (request and
// response), GetFunctionConcurrency and GetFunction's Concurrency member.
type concurrencyBody struct {
	ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions,omitempty"`
}

// publishVersionRequest is the body of PublishVersion.
type publishVersionRequest struct {
	CodeSha256  *string `json:"CodeSha256"`
	Description *string `json:"Description"`
	RevisionID  *string `json:"RevisionId"`
}

// listVersionsResponse is the response of ListVersionsByFunction.
type listVersionsResponse struct {
	Versions   []functionConfiguration `json:"Versions"`
	NextMarker string                  `json:"NextMarker,omitempty"`
}

// aliasRouting is an alias's RoutingConfig.
type aliasRouting struct {
	AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights"`
}

// createAliasRequest is the body of CreateAlias.
type createAliasRequest struct {
	Name *string `json:"Name"`
	aliasSettings
}

// aliasSettings are the members CreateAlias and UpdateAlias share.
type aliasSettings struct {
	FunctionVersion *string       `json:"FunctionVersion"`
	Description     *string       `json:"Description"`
	RoutingConfig   *aliasRouting `json:"RoutingConfig"`
}

// updateAliasRequest is the body of UpdateAlias.
type updateAliasRequest struct {
	RevisionID *string `json:"RevisionId"`
	aliasSettings
}

// aliasConfiguration is the AliasConfiguration shape.
type aliasConfiguration struct {
	AliasArn        string        `json:"AliasArn"`
	Name            string        `json:"Name"`
	FunctionVersion string        `json:"FunctionVersion"`
	Description     string        `json:"Description"`
	RoutingConfig   *aliasRouting `json:"RoutingConfig,omitempty"`
	RevisionID      string        `json:"RevisionId"`
}

// listAliasesResponse is the response of ListAliases.
type listAliasesResponse struct {
	Aliases    []aliasConfiguration `json:"Aliases"`
	NextMarker string               `json:"NextMarker,omitempty"`
}

// aliasConfigurationOf renders a in the Lambda wire shape.
func aliasConfigurationOf(scope sluice.Scope, a *sluice.Alias) aliasConfiguration {
	c := aliasConfiguration{
		AliasArn:        scope.AliasARN(a.FunctionName, a.Name),
		Name:            a.Name,
		FunctionVersion: a.FunctionVersion,
		Description:     a.Description,
		RevisionID:      a.RevisionID,
	}
	if len(a.AdditionalVersionWeights) > 0 {
		c.RoutingConfig = &aliasRouting{AdditionalVersionWeights: a.AdditionalVersionWeights}
	}
	return c
}

// accountSettings is the response of GetAccountSettings.
type accountSettings struct {
	AccountLimit accountLimit `json:"AccountLimit"`
	AccountUsage accountUsage `json:"AccountUsage"`
}

type accountLimit struct {
	TotalCodeSize                  int64 `json:"TotalCodeSize"`
	CodeSizeUnzipped               int64 `json:"CodeSizeUnzipped"`
	CodeSizeZipped                 int64 `json:"CodeSizeZipped"`
	ConcurrentExecutions           int   `json:"ConcurrentExecutions"`
	UnreservedConcurrentExecutions int   `json:"UnreservedConcurrentExecutions"`
}

type accountUsage struct {
	TotalCodeSize int64 `json:"TotalCodeSize"`
	FunctionCount int64 `json:"FunctionCount"`
}

type codeLocation struct {
	RepositoryType string `json:"RepositoryType"`
	Location       string `json:"Location"`
}

// listFunctionsResponse is the response of ListFunctions.
type listFunctionsResponse struct {
	Functions  []listedConfiguration `json:"Functions"`
	NextMarker string                `json:"NextMarker,omitempty"`
}

// listedConfiguration is a configuration as ListFunctions lists it: as
// AWS documents and answers, without the state and the last update's
// status (and their reasons) and without RuntimeVersionConfig, which
// GetFunction answers. Its members hide the embedded ones of their name.
type listedConfiguration struct {
	functionConfiguration
	State                string                `json:"State,omitempty"`
	RuntimeVersionConfig *runtimeVersionConfig `json:"RuntimeVersionConfig,omitempty"`
}

func listed(c functionConfiguration) listedConfiguration {
	c.StateReason, c.StateReasonCode = "", ""
	c.LastUpdateStatus, c.LastUpdateStatusReason, c.LastUpdateStatusReasonCode = "", "", ""
	return listedConfiguration{functionConfiguration: c}
}

// lastModifiedLayout is Lambda's LastModified format,
// e.g. "2026-11-24T20:07:30.123+0000".
const lastModifiedLayout = "2006-01-02T15:04:05.000-0700"

// runtimeVersionARN is the RuntimeVersionArn sluice answers for a
// runtime: AWS names a runtime version by a 64-digit hex id
// ("arn:aws:lambda:us-east-1::runtime:<id>"); sluice's runtimes have no
// versions of their own, so the id is the SHA-256 of the runtime's name
// and architecture, the same for every function of that runtime and
// architecture, different per runtime and per architecture (AWS's
// versions are per architecture: a function moved to arm64 answers
// another ARN, as recorded in test_mixed_architecture).
func runtimeVersionARN(region, runtime, arch string) string {
	name := "sluice runtime " + runtime
	if arch != service.DefaultArchitecture {
		name += " " + arch
	}
	sum := sha256.Sum256([]byte(name))
	return "arn:aws:lambda:" + region + "::runtime:" + hex.EncodeToString(sum[:])
}

// configurationOf renders fn in the Lambda wire shape. A published
// version's FunctionArn is qualified with its number, $LATEST's is not.
func configurationOf(scope sluice.Scope, fn *sluice.Function) functionConfiguration {
	arn := scope.FunctionARN(fn.Name)
	if v := fn.VersionOrLatest(); v != sluice.LatestVersion {
		arn += ":" + v
	}
	c := functionConfiguration{
		FunctionName:     fn.Name,
		FunctionArn:      arn,
		Runtime:          fn.Runtime,
		Role:             fn.Role,
		Handler:          fn.Handler,
		CodeSize:         fn.CodeSize,
		Description:      fn.Description,
		Timeout:          fn.Timeout,
		MemorySize:       fn.MemorySize,
		LastModified:     fn.LastModified.UTC().Format(lastModifiedLayout),
		CodeSha256:       service.CodeSHA256(fn.CodeSHA256),
		Version:          fn.VersionOrLatest(),
		TracingConfig:    tracingConfig{Mode: "PassThrough"},
		RevisionID:       fn.RevisionID,
		State:            fn.State,
		StateReason:      fn.StateReason,
		StateReasonCode:  fn.StateReasonCode,
		LastUpdateStatus: fn.LastUpdateStatus,

		LastUpdateStatusReason:     fn.LastUpdateStatusReason,
		LastUpdateStatusReasonCode: fn.LastUpdateStatusReasonCode,

		PackageType:      "Zip",
		Architectures:    fn.Architectures,
		EphemeralStorage: ephemeralStorageOut{Size: fn.EphemeralStorage},
		LoggingConfig:    loggingConfigOf(fn),
		SnapStart:        snapStart{ApplyOn: "None", OptimizationStatus: "Off"},
	}
	// AWS answers Environment whenever it was set, even to no variables
	if fn.Environment != nil {
		c.Environment = &environmentOut{Variables: fn.Environment}
	}
	for _, f := range fn.FileSystemConfigs {
		c.FileSystemConfigs = append(c.FileSystemConfigs, fileSystemConfig{Arn: f.ARN, LocalMountPath: f.LocalMountPath})
	}
	if c.Architectures == nil {
		c.Architectures = []string{service.DefaultArchitecture}
	}
	c.RuntimeVersionConfig = &runtimeVersionConfig{RuntimeVersionArn: fn.Settings.RuntimeVersionARN}
	if c.RuntimeVersionConfig.RuntimeVersionArn == "" {
		c.RuntimeVersionConfig.RuntimeVersionArn = runtimeVersionARN(scope.Region, fn.Runtime, c.Architectures[0])
	}
	return c
}
