package sluice

import "time"

// Limits and defaults of asynchronous invocation (Lambda's
// PutFunctionEventInvokeConfig).
const (
	// DefaultRetryAttempts is how often a failed event is retried when
	// its configuration does not say.
	DefaultRetryAttempts = 2
	// MaxRetryAttempts is the most MaximumRetryAttempts can be (the least
	// is 0).
	MaxRetryAttempts = 2
	// DefaultEventAge is how long, in seconds, an event may wait to run
	// when its configuration does not say.
	DefaultEventAge = 21600
	// MinEventAge and MaxEventAge bound MaximumEventAgeInSeconds.
	MinEventAge = 60
	MaxEventAge = 21600
	// MaxDestinationARNLength is the length limit of a destination ARN.
	MaxDestinationARNLength = 350
	// MaxEventInvokeConfigsPerPage is the most
	// ListFunctionEventInvokeConfigs returns in one page (MaxItems 1 to
	// 50).
	MaxEventInvokeConfigsPerPage = 50
)

// EventInvokeConfig is how the asynchronous (Event) invocations of a
// function's $LATEST, of one of its published versions or of one of its
// aliases are handled (PutFunctionEventInvokeConfig): how often a failed
// event is retried, how long an event may wait, and where the record of
// its outcome goes. An invocation through an alias uses the alias's
// configuration; any other uses the configuration of the version it runs.
//
// Unset members are nil or "": Lambda answers only what was set, and
// RetryAttempts and MaxAge apply the defaults.
type EventInvokeConfig struct {
	// MaximumRetryAttempts is how often a failed event is retried (0 to
	// MaxRetryAttempts), nil when not set.
	MaximumRetryAttempts *int
	// MaximumEventAgeInSeconds is how long an event may wait to run
	// (MinEventAge to MaxEventAge seconds), nil when not set.
	MaximumEventAgeInSeconds *int
	// OnSuccess and OnFailure are the ARNs of the destinations of the
	// records of successful and failed events, "" for none. sluice
	// delivers to Lambda functions only (any qualifier).
	OnSuccess string
	OnFailure string
	// LastModified is when the configuration was last written.
	LastModified time.Time
}

// RetryAttempts returns MaximumRetryAttempts, or DefaultRetryAttempts when
// it is not set. It may be called on a nil configuration (none).
func (c *EventInvokeConfig) RetryAttempts() int {
	if c == nil || c.MaximumRetryAttempts == nil {
		return DefaultRetryAttempts
	}
	return *c.MaximumRetryAttempts
}

// MaxAge returns MaximumEventAgeInSeconds as a duration, or
// DefaultEventAge seconds when it is not set. It may be called on a nil
// configuration (none).
func (c *EventInvokeConfig) MaxAge() time.Duration {
	if c == nil || c.MaximumEventAgeInSeconds == nil {
		return DefaultEventAge * time.Second
	}
	return time.Duration(*c.MaximumEventAgeInSeconds) * time.Second
}

// Clone returns a deep copy of c; nil for nil.
func (c *EventInvokeConfig) Clone() *EventInvokeConfig {
	if c == nil {
		return nil
	}
	d := *c
	if c.MaximumRetryAttempts != nil {
		n := *c.MaximumRetryAttempts
		d.MaximumRetryAttempts = &n
	}
	if c.MaximumEventAgeInSeconds != nil {
		n := *c.MaximumEventAgeInSeconds
		d.MaximumEventAgeInSeconds = &n
	}
	return &d
}

// Equal reports whether c and d hold the same configuration (LastModified
// compared as an instant); two nils are equal.
func (c *EventInvokeConfig) Equal(d *EventInvokeConfig) bool {
	if c == nil || d == nil {
		return c == d
	}
	eq := func(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	return eq(c.MaximumRetryAttempts, d.MaximumRetryAttempts) && eq(c.MaximumEventAgeInSeconds, d.MaximumEventAgeInSeconds) &&
		c.OnSuccess == d.OnSuccess && c.OnFailure == d.OnFailure && c.LastModified.Equal(d.LastModified)
}
