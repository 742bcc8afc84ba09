package sluice

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// LatestVersion is the qualifier of a function's unpublished version.
const LatestVersion = "$LATEST"

// Function states and update statuses, as in FunctionConfiguration.
const (
	StatePending  = "Pending"
	StateActive   = "Active"
	StateInactive = "Inactive"
	StateFailed   = "Failed"

	UpdateSuccessful = "Successful"
	UpdateInProgress = "InProgress"
	UpdateFailed     = "Failed"
)

// Limits and defaults of function configuration (Lambda's).
const (
	DefaultTimeout          = 3     // seconds
	MinTimeout              = 1     // seconds
	MaxTimeout              = 900   // seconds
	DefaultMemorySize       = 128   // MB
	MinMemorySize           = 128   // MB
	MaxMemorySize           = 10240 // MB
	DefaultEphemeralStorage = 512   // MB
	MinEphemeralStorage     = 512   // MB
	MaxEphemeralStorage     = 10240 // MB
	MaxEnvironmentBytes     = 4096  // total size of environment variables
	MaxDescriptionLength    = 256
	MaxHandlerLength        = 128
	MaxPlainNameLength      = 64 // a bare function name; ARNs may be longer

	// MaxZipSize is the largest deployment package accepted inline (zipped).
	MaxZipSize = 50 * 1024 * 1024
	// MaxUnzippedSize is the largest unpacked deployment package.
	MaxUnzippedSize = 262144000
)

// Function is the stored configuration of one version of a function: its
// $LATEST (which updates change) or one of its published versions (which
// never change).
//
// A Function value is a snapshot: stores return copies, and an update writes
// a whole new value with a new RevisionID.
type Function struct {
	Name string
	// Version is LatestVersion or the decimal number of a published
	// version. Empty is read as LatestVersion.
	Version          string
	Runtime          string
	Role             string
	Handler          string
	Description      string
	Timeout          int // seconds
	MemorySize       int // MB
	EphemeralStorage int // MB
	Architectures    []string
	Environment      map[string]string
	// FileSystemConfigs are the file systems mounted into the
	// environments (Lambda's EFS access points; sluice maps each to a
	// host directory).
	FileSystemConfigs []FileSystemConfig
	// Logging is the function's LoggingConfig. sluice stores and answers
	// it; it does not change what the function's logs look like.
	Logging LoggingConfig

	// CodeSHA256 is the hex SHA-256 of the deployment package (zip); the
	// package is stored content-addressed under it. For hot reload it is
	// HotReloadCode(dir) instead (hotreload.go).
	CodeSHA256 string
	CodeSize   int64

	LastModified     time.Time
	RevisionID       string
	State            string
	StateReason      string
	StateReasonCode  string
	LastUpdateStatus string
	// LastUpdateStatusReason and LastUpdateStatusReasonCode explain an
	// update that is in progress or failed.
	LastUpdateStatusReason     string
	LastUpdateStatusReasonCode string

	// Previous is the configuration that serves invocations while an
	// update of $LATEST is in progress (LastUpdateStatus InProgress): the
	// last one that was applied successfully. It is nil otherwise, and
	// always nil inside Previous.
	Previous *Function

	// Policy is the resource-based policy of this version ($LATEST or a
	// published one), nil when it has none. Only FunctionStore.SetPolicy
	// changes it: the other writes keep the stored one, and a published
	// version starts without one. It is not part of the configuration
	// (not in Fingerprint, not in RevisionID) and always nil inside
	// Previous.
	Policy *FunctionPolicy

	// PublishedFrom is, for a published version, the
	// ConfigurationFingerprint of the $LATEST it was published from ("" for
	// $LATEST, and for versions stored before sluice kept it):
	// PublishVersion publishes again only when $LATEST's has changed since.
	PublishedFrom string

	// Settings are what TagResource, PutFunctionRecursionConfig and
	// PutRuntimeManagementConfig set: only FunctionStore.SetSettings (and
	// CreateFunction) change them, the other writes keep the stored ones.
	// Tags and RecursiveLoop belong to the function and are held by its
	// $LATEST only; a published version keeps its own runtime management
	// settings. Not part of the configuration (not in Fingerprint, not in
	// RevisionID); always zero inside Previous.
	Settings FunctionSettings

	// EventInvokeConfig is the asynchronous invocation configuration of
	// this version ($LATEST or a published one), nil when it has none.
	// Only FunctionStore.SetEventInvokeConfig changes it: the other writes
	// keep the stored one, and a published version starts without one.
	// Not part of the configuration (not in Fingerprint, not in
	// RevisionID); always nil inside Previous.
	EventInvokeConfig *EventInvokeConfig
}

// LoggingConfig is a function's LoggingConfig: the format of its logs,
// the levels of a JSON format, and its log group. An empty LogFormat reads
// as LogFormatText and an empty LogGroup as DefaultLogGroup's; the levels
// are empty with LogFormatText.
type LoggingConfig struct {
	LogFormat           string
	ApplicationLogLevel string
	SystemLogLevel      string
	LogGroup            string
}

// Values of LoggingConfig and their limits, as Lambda has them.
const (
	LogFormatText = "Text"
	LogFormatJSON = "JSON"
	// DefaultLogLevel is both levels of a function switched to
	// LogFormatJSON without them.
	DefaultLogLevel   = "INFO"
	MaxLogGroupLength = 512
)

// DefaultLogGroup is the log group of the named function without one.
func DefaultLogGroup(function string) string { return "/aws/lambda/" + function }

// FunctionSettings are the settings of a function (or of one of its
// versions) that are not part of its configuration.
type FunctionSettings struct {
	// Tags are the function's tags (TagResource), nil when it has none.
	Tags map[string]string
	// RecursiveLoop is RecursiveLoopAllow or RecursiveLoopTerminate; ""
	// reads as RecursiveLoopTerminate.
	RecursiveLoop string
	// UpdateRuntimeOn is one of the UpdateRuntimeOn* values; "" reads as
	// UpdateRuntimeOnAuto.
	UpdateRuntimeOn string
	// RuntimeVersionARN is the runtime version pinned with
	// UpdateRuntimeOnManual, "" otherwise.
	RuntimeVersionARN string
}

// Values of FunctionSettings and their limits, as Lambda has them.
const (
	RecursiveLoopAllow     = "Allow"
	RecursiveLoopTerminate = "Terminate"

	UpdateRuntimeOnAuto           = "Auto"
	UpdateRuntimeOnManual         = "Manual"
	UpdateRuntimeOnFunctionUpdate = "FunctionUpdate"

	// MaxTags is the number of tags a function may have.
	MaxTags = 50
	// MaxTagKeyLength and MaxTagValueLength are the length limits of a
	// tag's key and value (Lambda's documented tag restrictions).
	MaxTagKeyLength   = 128
	MaxTagValueLength = 256
	// RuntimeVersionARNPattern is the pattern of RuntimeVersionArn
	// (26 to 2048 characters).
	RuntimeVersionARNPattern   = `^arn:(aws[a-zA-Z0-9-]*):lambda:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\d{1}::runtime:.+$`
	MinRuntimeVersionARNLength = 26
	MaxRuntimeVersionARNLength = 2048
)

// Clone returns a deep copy of s.
func (s FunctionSettings) Clone() FunctionSettings {
	if s.Tags != nil {
		tags := make(map[string]string, len(s.Tags))
		for k, v := range s.Tags {
			tags[k] = v
		}
		s.Tags = tags
	}
	return s
}

// FileSystemConfig is one file system mount of a function.
type FileSystemConfig struct {
	// ARN is the EFS access point's ARN.
	ARN string
	// LocalMountPath is where it appears, under /mnt/.
	LocalMountPath string
}

// VersionOrLatest returns f.Version, or LatestVersion when it is empty.
func (f *Function) VersionOrLatest() string {
	if f.Version == "" {
		return LatestVersion
	}
	return f.Version
}

// Serving returns the configuration that invocations of f run: f itself,
// or its Previous while an update is in progress.
func (f *Function) Serving() *Function {
	if f.LastUpdateStatus == UpdateInProgress && f.Previous != nil {
		return f.Previous
	}
	return f
}

// SameDeployment reports whether f and g would run identically: the same
// code and the same configuration (Description, revision, timestamps and
// states aside). PublishVersion uses it for versions stored without
// PublishedFrom (see ConfigurationFingerprint).
func (f *Function) SameDeployment(g *Function) bool { return f.Fingerprint() == g.Fingerprint() }

// ConfigurationFingerprint identifies f's code and whole configuration:
// its Fingerprint and its Description, what UpdateFunctionCode and
// UpdateFunctionConfiguration change. Lambda publishes a new version
// when it differs from the one the newest version was published from.
func (f *Function) ConfigurationFingerprint() string {
	b, _ := json.Marshal([]string{f.Fingerprint(), f.Description})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Fingerprint identifies what an execution environment of f is built from:
// its code and every setting a runtime sees. Environments are reused only
// for the same fingerprint, so changes of the RevisionId alone (a publish,
// a new Description) keep them warm.
func (f *Function) Fingerprint() string {
	b, _ := json.Marshal(struct {
		Code, Runtime, Role, Handler string
		Timeout, Memory, Ephemeral   int
		Architectures                []string
		Environment                  map[string]string // encoding/json sorts the keys
		FileSystems                  []FileSystemConfig
	}{f.CodeSHA256, f.Runtime, f.Role, f.Handler, f.Timeout, f.MemorySize, f.EphemeralStorage, f.Architectures, f.Environment, f.FileSystemConfigs})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Clone returns a deep copy of f.
func (f *Function) Clone() *Function {
	c := *f
	c.Architectures = append([]string(nil), f.Architectures...)
	c.FileSystemConfigs = append([]FileSystemConfig(nil), f.FileSystemConfigs...)
	if f.Environment != nil {
		c.Environment = make(map[string]string, len(f.Environment))
		for k, v := range f.Environment {
			c.Environment[k] = v
		}
	}
	if f.Previous != nil {
		c.Previous = f.Previous.Clone()
	}
	c.Policy = f.Policy.Clone()
	c.Settings = f.Settings.Clone()
	c.EventInvokeConfig = f.EventInvokeConfig.Clone()
	return &c
}

// Alias is a named pointer to a published version (or $LATEST) of a
// function, optionally routing a share of invocations to a second version.
type Alias struct {
	FunctionName string
	Name         string
	// FunctionVersion is the version the alias points to.
	FunctionVersion string
	Description     string
	// AdditionalVersionWeights routes the given share (0 to 1) of
	// invocations to another published version (RoutingConfig). At most
	// one entry.
	AdditionalVersionWeights map[string]float64
	RevisionID               string
	// Policy is the alias's resource-based policy, nil when it has none.
	// Only FunctionStore.SetPolicy changes it; UpdateAlias keeps the
	// stored one.
	Policy *FunctionPolicy
	// EventInvokeConfig is the alias's asynchronous invocation
	// configuration, nil when it has none. Only
	// FunctionStore.SetEventInvokeConfig changes it; UpdateAlias keeps the
	// stored one.
	EventInvokeConfig *EventInvokeConfig
}

// Clone returns a deep copy of a.
func (a *Alias) Clone() *Alias {
	c := *a
	if a.AdditionalVersionWeights != nil {
		c.AdditionalVersionWeights = make(map[string]float64, len(a.AdditionalVersionWeights))
		for k, v := range a.AdditionalVersionWeights {
			c.AdditionalVersionWeights[k] = v
		}
	}
	c.Policy = a.Policy.Clone()
	c.EventInvokeConfig = a.EventInvokeConfig.Clone()
	return &c
}

// FunctionStore keeps functions: their $LATEST configuration, their
// published versions, their aliases and their reserved concurrency.
// Implementations must be safe for concurrent use and durable: a write that
// returned nil survives a crash.
//
// Writes are whole-value compare-and-swap on RevisionID so that a replicated
// implementation can apply them deterministically; callers generate
// RevisionID and LastModified, never the store. The store keeps the
// references whole inside its transactions: a version an alias routes to
// cannot be deleted, an alias cannot name a missing version, and deleting a
// function deletes its versions, aliases and concurrency setting.
//
// Resource-based policies live inside the records they belong to
// (Function.Policy of $LATEST and of each version, Alias.Policy), so they
// go with them. Only SetPolicy changes one, with a compare-and-swap on the
// policy's own RevisionID: UpdateFunction and UpdateAlias keep the stored
// policy whatever the value they write holds, and PublishVersion stores a
// version without one. Asynchronous invocation configurations
// (EventInvokeConfig) live inside their records the same way, changed only
// by SetEventInvokeConfig.
//
// Version numbers are the store's: they count up from 1 per function and
// are never reused, even after a version (but not the function) was deleted.
type FunctionStore interface {
	// CreateFunction stores fn, the $LATEST of a new function. Errors:
	// EConflict if a function of that name exists.
	CreateFunction(ctx context.Context, fn *Function) error
	// GetFunction returns a copy of the named function's $LATEST. Errors:
	// ENotFound.
	GetFunction(ctx context.Context, name string) (*Function, error)
	// ListFunctions returns the $LATEST of up to limit functions (limit <=
	// 0: all) whose names sort after `after` ("" = from the start), in byte
	// order of their names.
	ListFunctions(ctx context.Context, after string, limit int) ([]*Function, error)
	// UpdateFunction replaces the $LATEST of the function named fn.Name if
	// its stored RevisionID equals prevRevision, keeping its stored
	// Policy. Errors: ENotFound; EPrecondition if the stored revision
	// differs.
	UpdateFunction(ctx context.Context, fn *Function, prevRevision string) error
	// DeleteFunction removes the named function with its versions, aliases
	// and concurrency setting. Errors: ENotFound.
	DeleteFunction(ctx context.Context, name string) error

	// PublishVersion stores v (a snapshot of $LATEST, with its own
	// RevisionID) as the function's next version, if the function's
	// $LATEST still has RevisionID latestRevision. It sets v.Version to
	// the new number, stores no Policy (a new version has none) and
	// returns a copy of what it stored. Errors:
	// ENotFound; EPrecondition if $LATEST changed.
	PublishVersion(ctx context.Context, v *Function, latestRevision string) (*Function, error)
	// GetVersion returns a published version (a decimal number). Errors:
	// ENotFound, for the function or the version.
	GetVersion(ctx context.Context, name, version string) (*Function, error)
	// ListVersions returns up to limit (<= 0: all) published versions of
	// the function with numbers above `after` (0 = from the start), in
	// ascending order. Errors: ENotFound for the function.
	ListVersions(ctx context.Context, name string, after, limit int) ([]*Function, error)
	// DeleteVersion removes a published version. Errors: ENotFound;
	// EConflict when an alias routes to it.
	DeleteVersion(ctx context.Context, name, version string) error

	// CreateAlias stores a new alias. Errors: ENotFound for the function or
	// a version it routes to; EConflict if the alias exists.
	CreateAlias(ctx context.Context, a *Alias) error
	// GetAlias returns an alias. Errors: ENotFound.
	GetAlias(ctx context.Context, function, name string) (*Alias, error)
	// ListAliases returns up to limit (<= 0: all) aliases of the function
	// whose names sort after `after`, in byte order. Errors: ENotFound for
	// the function.
	ListAliases(ctx context.Context, function, after string, limit int) ([]*Alias, error)
	// UpdateAlias replaces the alias a.Name if its stored RevisionID equals
	// prevRevision, keeping its stored Policy. Errors: ENotFound (alias,
	// function or a version it routes to); EPrecondition.
	UpdateAlias(ctx context.Context, a *Alias, prevRevision string) error
	// DeleteAlias removes an alias. Errors: ENotFound.
	DeleteAlias(ctx context.Context, function, name string) error

	// SetReservedConcurrency sets the function's reserved concurrency
	// (n >= 0) or removes it (n < 0). It does not change the function's
	// RevisionID. Errors: ENotFound.
	SetReservedConcurrency(ctx context.Context, name string, n int) error
	// ReservedConcurrency returns every function's reserved concurrency,
	// by function name; functions without one are absent.
	ReservedConcurrency(ctx context.Context) (map[string]int, error)

	// SetPolicy replaces the resource-based policy of the function's
	// $LATEST (qualifier "" or LatestVersion), of one of its published
	// versions (a decimal number) or of one of its aliases (any other
	// qualifier) with p (nil: none), if the stored policy's RevisionID is
	// prevPolicyRevision ("" when it has no policy). It changes nothing
	// else of the record, its RevisionID included. Errors: ENotFound for
	// the function, the version or the alias; EPrecondition if the
	// stored policy's revision differs.
	SetPolicy(ctx context.Context, function, qualifier string, p *FunctionPolicy, prevPolicyRevision string) error

	// SetSettings calls update with the stored Settings of the function's
	// $LATEST (qualifier "" or LatestVersion) or of one of its published
	// versions (a decimal number) and stores what update leaves in it,
	// atomically; an error of update is returned and nothing is stored.
	// It changes nothing else of the record, its RevisionID included.
	// Errors: ENotFound for the function or the version.
	SetSettings(ctx context.Context, function, qualifier string, update func(*FunctionSettings) error) error

	// SetEventInvokeConfig calls update with a copy of the stored
	// EventInvokeConfig (nil when there is none) of the function's
	// $LATEST (qualifier "" or LatestVersion), of one of its published
	// versions (a decimal number) or of one of its aliases (any other
	// qualifier), and stores what update returns (nil: none),
	// atomically; an error of update is returned and nothing is stored.
	// It changes nothing else of the record, its RevisionID included.
	// Errors: ENotFound for the function, the version or the alias.
	SetEventInvokeConfig(ctx context.Context, function, qualifier string, update func(*EventInvokeConfig) (*EventInvokeConfig, error)) error
}
