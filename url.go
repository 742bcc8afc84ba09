package sluice

import (
	"context"
	"slices"
	"time"
)

// Function URL auth types (FunctionUrlAuthType).
const (
	URLAuthNone = "NONE"
	URLAuthIAM  = "AWS_IAM"
)

// Function URL invoke modes (InvokeMode). An empty InvokeMode reads as
// InvokeModeBuffered, Lambda's default.
const (
	InvokeModeBuffered       = "BUFFERED"
	InvokeModeResponseStream = "RESPONSE_STREAM"
)

// Limits of a function URL configuration (Lambda's model).
const (
	// URLIDLength is the length of a URL id: lowercase letters and digits.
	URLIDLength = 32
	// MaxURLQualifierLength is the longest Qualifier (an alias name).
	MaxURLQualifierLength = 128
	// MaxCorsMaxAge is the largest Cors.MaxAge, in seconds.
	MaxCorsMaxAge = 86400
	// MaxCorsMethods is the most AllowMethods entries, each at most
	// MaxCorsMethodLength bytes.
	MaxCorsMethods      = 6
	MaxCorsMethodLength = 6
	// MaxCorsOrigins is the most AllowOrigins entries, each 1 to
	// MaxCorsOriginLength bytes.
	MaxCorsOrigins      = 100
	MaxCorsOriginLength = 253
	// MaxCorsHeaders is the most AllowHeaders or ExposeHeaders entries,
	// each at most MaxCorsHeaderLength bytes.
	MaxCorsHeaders      = 100
	MaxCorsHeaderLength = 1024
	// MaxURLConfigsPerPage is the most ListFunctionUrlConfigs returns in
	// one page (MaxItems 1 to 50).
	MaxURLConfigsPerPage = 50
)

// FunctionURLConfig is the function URL of a function (Qualifier "") or
// of one of its aliases.
//
// A FunctionURLConfig value is a snapshot: stores return copies.
type FunctionURLConfig struct {
	FunctionName string
	// Qualifier is "" for the URL of the unqualified function (which runs
	// $LATEST) or the name of an alias. Lambda accepts no other
	// qualifier: neither $LATEST nor a version number.
	Qualifier string
	// URLID is the host label that names the URL: URLIDLength lowercase
	// letters and digits, unique among all URLs, never changed.
	URLID string
	// AuthType is URLAuthNone or URLAuthIAM.
	AuthType string
	// InvokeMode is InvokeModeBuffered or InvokeModeResponseStream; ""
	// reads as InvokeModeBuffered.
	InvokeMode string
	// Cors is the URL's CORS configuration, nil when it has none.
	Cors             *Cors
	CreationTime     time.Time
	LastModifiedTime time.Time
}

// Cors is the cross-origin resource sharing configuration of a function
// URL, as in Lambda's Cors shape. Zero values are Lambda's defaults.
type Cors struct {
	AllowCredentials bool
	AllowHeaders     []string
	AllowMethods     []string
	AllowOrigins     []string
	ExposeHeaders    []string
	// MaxAge is how long, in seconds, browsers may cache a preflight
	// answer (0 to MaxCorsMaxAge; 0: not at all).
	MaxAge int
}

// InvokeModeOrDefault returns c.InvokeMode, or InvokeModeBuffered when it is
// empty.
func (c *FunctionURLConfig) InvokeModeOrDefault() string {
	if c.InvokeMode == "" {
		return InvokeModeBuffered
	}
	return c.InvokeMode
}

// QualifierKey returns the key that orders and pages a function's URL
// configurations: the Qualifier, or LatestVersion for the unqualified URL
// (which thus sorts before every alias name).
func (c *FunctionURLConfig) QualifierKey() string {
	if c.Qualifier == "" {
		return LatestVersion
	}
	return c.Qualifier
}

// Clone returns a deep copy of c.
func (c *FunctionURLConfig) Clone() *FunctionURLConfig {
	d := *c
	if c.Cors != nil {
		d.Cors = c.Cors.Clone()
	}
	return &d
}

// Clone returns a deep copy of c.
func (c *Cors) Clone() *Cors {
	d := *c
	d.AllowHeaders = slices.Clone(c.AllowHeaders)
	d.AllowMethods = slices.Clone(c.AllowMethods)
	d.AllowOrigins = slices.Clone(c.AllowOrigins)
	d.ExposeHeaders = slices.Clone(c.ExposeHeaders)
	return &d
}

// FunctionURLStore keeps function URL configurations. It is implemented by
// the same store as the FunctionStore of the functions the URLs belong to,
// because the references between them are kept whole inside the store's
// transactions:
//
//   - a URL is created only for an existing function, and, when it has a
//     Qualifier, an existing alias of it;
//   - FunctionStore.DeleteFunction deletes the function's URLs, and
//     FunctionStore.DeleteAlias the alias's URL, in the same transaction
//     (on AWS the alias's URL goes away too, recorded by LocalStack's
//     test_lambda_url_persists_after_alias_delete);
//   - a URL id names at most one URL; after its URL is deleted it is free.
//
// Implementations must be safe for concurrent use and durable. Callers
// generate URLID and the times, never the store.
type FunctionURLStore interface {
	// CreateFunctionURL stores a new URL configuration. Errors: ENotFound
	// for the function or the alias; EConflict if the function (or alias)
	// has a URL already, or if another URL has the same URLID.
	CreateFunctionURL(ctx context.Context, c *FunctionURLConfig) error
	// GetFunctionURL returns the URL of a function (qualifier "") or of
	// one of its aliases. Errors: ENotFound.
	GetFunctionURL(ctx context.Context, function, qualifier string) (*FunctionURLConfig, error)
	// GetFunctionURLByID returns the URL whose URLID is id. Errors:
	// ENotFound.
	GetFunctionURLByID(ctx context.Context, id string) (*FunctionURLConfig, error)
	// UpdateFunctionURL replaces the stored URL of c.FunctionName and
	// c.Qualifier with c, keeping the stored URLID and CreationTime, and
	// returns a copy of what it stored. Errors: ENotFound.
	UpdateFunctionURL(ctx context.Context, c *FunctionURLConfig) (*FunctionURLConfig, error)
	// DeleteFunctionURL removes the URL of a function (qualifier "") or
	// of one of its aliases. Errors: ENotFound.
	DeleteFunctionURL(ctx context.Context, function, qualifier string) error
	// ListFunctionURLs returns up to limit (<= 0: all) URLs of the
	// function whose QualifierKey sorts after `after` ("" = from the
	// start), in byte order of their QualifierKey: the unqualified URL
	// first, then the aliases' by name. Errors: ENotFound for the
	// function.
	ListFunctionURLs(ctx context.Context, function, after string, limit int) ([]*FunctionURLConfig, error)
}
