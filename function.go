package sluice

import (
	"context"
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

// Supported runtimes. Only OS-only runtimes for now: the function ships its
// own bootstrap.
var SupportedRuntimes = []string{"provided.al2023", "provided.al2", "provided"}

// Function is the stored configuration of one function ($LATEST).
//
// A Function value is a snapshot: stores return copies, and an update writes
// a whole new value with a new RevisionID.
type Function struct {
	Name             string
	Runtime          string
	Role             string
	Handler          string
	Description      string
	Timeout          int // seconds
	MemorySize       int // MB
	EphemeralStorage int // MB
	Architectures    []string
	Environment      map[string]string

	// CodeSHA256 is the hex SHA-256 of the deployment package (zip); the
	// package is stored content-addressed under it.
	CodeSHA256 string
	CodeSize   int64

	LastModified     time.Time
	RevisionID       string
	State            string
	StateReason      string
	StateReasonCode  string
	LastUpdateStatus string
}

// Clone returns a deep copy of f.
func (f *Function) Clone() *Function {
	c := *f
	c.Architectures = append([]string(nil), f.Architectures...)
	if f.Environment != nil {
		c.Environment = make(map[string]string, len(f.Environment))
		for k, v := range f.Environment {
			c.Environment[k] = v
		}
	}
	return &c
}

// FunctionStore keeps function configurations. Implementations must be safe
// for concurrent use and durable: a write that returned nil survives a crash.
//
// Writes are whole-value compare-and-swap on RevisionID so that a replicated
// implementation can apply them deterministically; callers generate
// RevisionID and LastModified, never the store.
type FunctionStore interface {
	// CreateFunction stores fn. Errors: EConflict if a function of that
	// name exists.
	CreateFunction(ctx context.Context, fn *Function) error
	// GetFunction returns a copy of the named function. Errors: ENotFound.
	GetFunction(ctx context.Context, name string) (*Function, error)
	// ListFunctions returns up to limit functions (limit <= 0: all) whose
	// names sort after `after` ("" = from the start), in byte order of
	// their names.
	ListFunctions(ctx context.Context, after string, limit int) ([]*Function, error)
	// UpdateFunction replaces the function named fn.Name if its stored
	// RevisionID equals prevRevision. Errors: ENotFound; EPrecondition if
	// the stored revision differs.
	UpdateFunction(ctx context.Context, fn *Function, prevRevision string) error
	// DeleteFunction removes the named function. Errors: ENotFound.
	DeleteFunction(ctx context.Context, name string) error
}
