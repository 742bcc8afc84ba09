package bolt

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice"
)

// eventInvokeConfigRecord is the stored form of a sluice.EventInvokeConfig,
// a member of the $LATEST, version or alias record it belongs to (record
// version 7). Absent numbers were not set.
type eventInvokeConfigRecord struct {
	MaximumRetryAttempts     *int   `json:"maximum_retry_attempts,omitempty"`
	MaximumEventAgeInSeconds *int   `json:"maximum_event_age_in_seconds,omitempty"`
	OnSuccess                string `json:"on_success,omitempty"`
	OnFailure                string `json:"on_failure,omitempty"`
	// LastModified is RFC 3339 with nanoseconds, in UTC; "" for the zero
	// time.
	LastModified string `json:"last_modified,omitempty"`
}

// toEventInvokeConfigRecord returns the record of c, nil for nil.
func toEventInvokeConfigRecord(c *sluice.EventInvokeConfig) *eventInvokeConfigRecord {
	if c == nil {
		return nil
	}
	c = c.Clone()
	r := &eventInvokeConfigRecord{
		MaximumRetryAttempts:     c.MaximumRetryAttempts,
		MaximumEventAgeInSeconds: c.MaximumEventAgeInSeconds,
		OnSuccess:                c.OnSuccess,
		OnFailure:                c.OnFailure,
	}
	if !c.LastModified.IsZero() {
		r.LastModified = c.LastModified.UTC().Format(time.RFC3339Nano)
	}
	return r
}

// fromEventInvokeConfigRecord returns the configuration r holds, nil for
// nil; key names its record in errors.
func fromEventInvokeConfigRecord(key string, r *eventInvokeConfigRecord) (*sluice.EventInvokeConfig, error) {
	if r == nil {
		return nil, nil
	}
	c := &sluice.EventInvokeConfig{
		MaximumRetryAttempts:     r.MaximumRetryAttempts,
		MaximumEventAgeInSeconds: r.MaximumEventAgeInSeconds,
		OnSuccess:                r.OnSuccess,
		OnFailure:                r.OnFailure,
	}
	if r.LastModified != "" {
		t, err := time.Parse(time.RFC3339Nano, r.LastModified)
		if err != nil {
			return nil, wrap(fmt.Errorf("decode %s: event_invoke_config.last_modified: %w", key, err))
		}
		c.LastModified = t.UTC()
	}
	return c, nil
}

// SetEventInvokeConfig calls update with a copy of the stored
// asynchronous invocation configuration (nil for none) of the function's
// $LATEST (qualifier "" or $LATEST), of a published version (a decimal
// number) or of an alias (any other qualifier), and stores what update
// returns (nil: none), in one transaction. The configuration is a member
// of the record, so it is written, and deleted, with it; nothing else of
// the record changes. Errors: ENotFound for the function, the version or
// the alias; update's error, with nothing stored.
func (s *Store) SetEventInvokeConfig(ctx context.Context, function, qualifier string, update func(*sluice.EventInvokeConfig) (*sluice.EventInvokeConfig, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(func(b *buckets) error {
		return b.changeQualified(function, qualifier, func(fn *sluice.Function) (err error) {
			fn.EventInvokeConfig, err = update(fn.EventInvokeConfig.Clone())
			return err
		}, func(a *sluice.Alias) (err error) {
			a.EventInvokeConfig, err = update(a.EventInvokeConfig.Clone())
			return err
		})
	})
}
