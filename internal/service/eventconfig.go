package service

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/sluice-dev/sluice"
)

// Asynchronous invocation configurations (PutFunctionEventInvokeConfig
// and the other EventInvokeConfig operations), one per $LATEST, published
// version and alias, stored as a member of its record
// (sluice.FunctionStore.SetEventInvokeConfig). The rules and messages are
// AWS's, as LocalStack's recordings of TestLambdaEventInvokeConfig show
// them:
//
//   - Put and Update need at least one member: "You must specify at least
//     one of error handling or destination setting.", checked before the
//     function is looked up;
//   - Put, Update and List of a function, version or alias that does not
//     exist: ResourceNotFoundException "The function doesn't exist.";
//   - Get, Update and Delete of a configuration that does not exist
//     (whether or not the function does): "The function <ARN qualified by
//     the qualifier, $LATEST when none> doesn't have an EventInvokeConfig";
//   - Put replaces the whole configuration; Update replaces the members it
//     is given (a DestinationConfig replaces both destinations).
//
// sluice delivers invocation records to Lambda functions only: a
// destination of SQS, SNS, EventBridge or S3, which AWS accepts, is refused
// with a message that says so (docs/decisions.md, "Destinations of
// asynchronous invocations").

// EventInvokeConfigInput is the members of a Put or Update request; nil
// members were not given.
type EventInvokeConfigInput struct {
	MaximumRetryAttempts     *int
	MaximumEventAgeInSeconds *int
	// Destinations is the DestinationConfig, nil when not given.
	Destinations *Destinations
}

// Destinations is a DestinationConfig: the destination ARNs of successful
// and failed events, "" for none.
type Destinations struct {
	OnSuccess string
	OnFailure string
}

func (in EventInvokeConfigInput) empty() bool {
	return in.MaximumRetryAttempts == nil && in.MaximumEventAgeInSeconds == nil && in.Destinations == nil
}

// EventInvokeConfigEntry is one stored configuration with what it belongs
// to.
type EventInvokeConfigEntry struct {
	// Qualifier is $LATEST, a version number or an alias name.
	Qualifier string
	// FunctionARN is the function's ARN qualified by Qualifier.
	FunctionARN string
	Config      *sluice.EventInvokeConfig
}

func errNoEventInvokeConfig(arn string) error {
	return sluice.Errorf(sluice.ENotFound, "The function %s doesn't have an EventInvokeConfig", arn)
}

func errFunctionDoesNotExist(cause error) error {
	return &sluice.Error{Code: sluice.ENotFound, Message: "The function doesn't exist.", Err: cause}
}

// eventConfigTarget resolves ref and qualifier to the function name and
// the qualifier key of the configuration ($LATEST when none was given).
func (s *Service) eventConfigTarget(ref sluice.FunctionRef, qualifier string) (name, key string, err error) {
	q, err := s.cfg.Scope.Resolve(ref, qualifier)
	if err != nil {
		return "", "", err
	}
	if q == "" {
		q = sluice.LatestVersion
	}
	return ref.Name, q, nil
}

// qualifiedARN is the ARN of a function qualified by key.
func (s *Service) qualifiedARN(name, key string) string {
	return s.cfg.Scope.FunctionARN(name) + ":" + key
}

// storedEventInvokeConfig reads the configuration of the qualifier key of
// a function, nil when it has none. Errors: ENotFound for the function or
// the qualifier (which must be $LATEST, a version number or an alias
// name).
func (s *Service) storedEventInvokeConfig(ctx context.Context, name, key string) (*sluice.EventInvokeConfig, error) {
	switch {
	case key == sluice.LatestVersion:
		fn, err := s.cfg.Store.GetFunction(ctx, name)
		if err != nil {
			return nil, err
		}
		return fn.EventInvokeConfig, nil
	case sluice.IsVersionNumber(key):
		fn, err := s.cfg.Store.GetVersion(ctx, name, key)
		if err != nil {
			return nil, err
		}
		return fn.EventInvokeConfig, nil
	case sluice.ValidateAlias(key, "qualifier", new(sluice.Violations)):
		a, err := s.cfg.Store.GetAlias(ctx, name, key)
		if err != nil {
			return nil, err
		}
		return a.EventInvokeConfig, nil
	}
	return nil, sluice.Errorf(sluice.ENotFound, "no such qualifier: %s", key)
}

// PutFunctionEventInvokeConfig replaces the configuration of the function,
// version or alias ref and qualifier name with in, and returns it.
func (s *Service) PutFunctionEventInvokeConfig(ctx context.Context, ref sluice.FunctionRef, qualifier string, in EventInvokeConfigInput) (*EventInvokeConfigEntry, error) {
	if in.empty() {
		return nil, sluice.Errorf(sluice.EInvalidParameter, "You must specify at least one of error handling or destination setting.")
	}
	name, key, err := s.eventConfigTarget(ref, qualifier)
	if err != nil {
		return nil, err
	}
	if _, err := s.storedEventInvokeConfig(ctx, name, key); err != nil {
		return nil, s.eventConfigLookupError(err)
	}
	if d := in.Destinations; d != nil {
		if err := s.checkDestinations(ctx, name, *d); err != nil {
			return nil, err
		}
	}
	c := &sluice.EventInvokeConfig{LastModified: s.now().UTC()}
	apply(c, in)
	err = s.cfg.Store.SetEventInvokeConfig(ctx, name, key, func(*sluice.EventInvokeConfig) (*sluice.EventInvokeConfig, error) {
		return c, nil
	})
	if err != nil {
		return nil, s.eventConfigLookupError(err)
	}
	return &EventInvokeConfigEntry{Qualifier: key, FunctionARN: s.qualifiedARN(name, key), Config: c}, nil
}

// UpdateFunctionEventInvokeConfig changes the members in gives of the
// existing configuration of the function, version or alias ref and
// qualifier name, and returns it.
func (s *Service) UpdateFunctionEventInvokeConfig(ctx context.Context, ref sluice.FunctionRef, qualifier string, in EventInvokeConfigInput) (*EventInvokeConfigEntry, error) {
	if in.empty() {
		return nil, sluice.Errorf(sluice.EInvalidParameter, "You must specify at least one of error handling or destination setting.")
	}
	name, key, err := s.eventConfigTarget(ref, qualifier)
	if err != nil {
		return nil, err
	}
	stored, err := s.storedEventInvokeConfig(ctx, name, key)
	if err != nil {
		return nil, s.eventConfigLookupError(err)
	}
	if stored == nil {
		return nil, errNoEventInvokeConfig(s.qualifiedARN(name, key))
	}
	if d := in.Destinations; d != nil {
		if err := s.checkDestinations(ctx, name, *d); err != nil {
			return nil, err
		}
	}
	var out *sluice.EventInvokeConfig
	err = s.cfg.Store.SetEventInvokeConfig(ctx, name, key, func(c *sluice.EventInvokeConfig) (*sluice.EventInvokeConfig, error) {
		if c == nil { // deleted meanwhile
			return nil, errNoEventInvokeConfig(s.qualifiedARN(name, key))
		}
		apply(c, in)
		c.LastModified = s.now().UTC()
		out = c.Clone()
		return c, nil
	})
	if err != nil {
		return nil, s.eventConfigLookupError(err)
	}
	return &EventInvokeConfigEntry{Qualifier: key, FunctionARN: s.qualifiedARN(name, key), Config: out}, nil
}

// apply sets the members in gives on c.
func apply(c *sluice.EventInvokeConfig, in EventInvokeConfigInput) {
	if n := in.MaximumRetryAttempts; n != nil {
		v := *n
		c.MaximumRetryAttempts = &v
	}
	if n := in.MaximumEventAgeInSeconds; n != nil {
		v := *n
		c.MaximumEventAgeInSeconds = &v
	}
	if d := in.Destinations; d != nil {
		c.OnSuccess, c.OnFailure = d.OnSuccess, d.OnFailure
	}
}

// eventConfigLookupError turns the not-found of a function, version or
// alias into Put's and Update's answer.
func (s *Service) eventConfigLookupError(err error) error {
	var se *sluice.Error
	if errors.As(err, &se) && se.Code == sluice.ENotFound && !strings.HasSuffix(se.Message, "doesn't have an EventInvokeConfig") {
		return errFunctionDoesNotExist(err)
	}
	return err
}

// GetFunctionEventInvokeConfig returns the configuration of the function,
// version or alias ref and qualifier name. A function, version or alias
// that does not exist has none (AWS's answer).
func (s *Service) GetFunctionEventInvokeConfig(ctx context.Context, ref sluice.FunctionRef, qualifier string) (*EventInvokeConfigEntry, error) {
	name, key, err := s.eventConfigTarget(ref, qualifier)
	if err != nil {
		return nil, err
	}
	c, err := s.storedEventInvokeConfig(ctx, name, key)
	if sluice.ErrorCodeOf(err) == sluice.ENotFound || (err == nil && c == nil) {
		return nil, errNoEventInvokeConfig(s.qualifiedARN(name, key))
	}
	if err != nil {
		return nil, err
	}
	return &EventInvokeConfigEntry{Qualifier: key, FunctionARN: s.qualifiedARN(name, key), Config: c}, nil
}

// DeleteFunctionEventInvokeConfig removes the configuration of the
// function, version or alias ref and qualifier name.
func (s *Service) DeleteFunctionEventInvokeConfig(ctx context.Context, ref sluice.FunctionRef, qualifier string) error {
	name, key, err := s.eventConfigTarget(ref, qualifier)
	if err != nil {
		return err
	}
	missing := errNoEventInvokeConfig(s.qualifiedARN(name, key))
	if _, err := s.storedEventInvokeConfig(ctx, name, key); sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return missing
	} else if err != nil {
		return err
	}
	err = s.cfg.Store.SetEventInvokeConfig(ctx, name, key, func(c *sluice.EventInvokeConfig) (*sluice.EventInvokeConfig, error) {
		if c == nil {
			return nil, missing
		}
		return nil, nil
	})
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return missing
	}
	return err
}

// ListFunctionEventInvokeConfigs returns up to limit (1 to
// sluice.MaxEventInvokeConfigsPerPage) configurations of the function ref
// names, after marker ("" = from the start; else a next marker it
// returned): $LATEST's, then the versions' in ascending order, then the
// aliases' by name. next is "" on the last page. A qualifier in ref is
// ignored: the list is the whole function's.
func (s *Service) ListFunctionEventInvokeConfigs(ctx context.Context, ref sluice.FunctionRef, marker string, limit int) (list []*EventInvokeConfigEntry, next string, err error) {
	if _, err := s.cfg.Scope.Resolve(ref, ""); err != nil {
		return nil, "", err
	}
	after := ""
	if marker != "" {
		b, err := base64.RawURLEncoding.DecodeString(marker)
		if err != nil || len(b) == 0 {
			return nil, "", sluice.Errorf(sluice.EInvalidParameter, "Invalid Marker: %s; pass the NextMarker of a previous ListFunctionEventInvokeConfigs response", marker)
		}
		after = string(b)
	}
	if limit < 1 || limit > sluice.MaxEventInvokeConfigsPerPage {
		limit = sluice.MaxEventInvokeConfigsPerPage
	}
	name := ref.Name
	fn, err := s.cfg.Store.GetFunction(ctx, name)
	if err != nil {
		return nil, "", s.eventConfigLookupError(err)
	}
	var all []*EventInvokeConfigEntry
	add := func(key string, c *sluice.EventInvokeConfig) {
		if c != nil && listKey(key) > after {
			all = append(all, &EventInvokeConfigEntry{Qualifier: key, FunctionARN: s.qualifiedARN(name, key), Config: c})
		}
	}
	add(sluice.LatestVersion, fn.EventInvokeConfig)
	versions, err := s.cfg.Store.ListVersions(ctx, name, 0, 0)
	if err != nil {
		return nil, "", s.eventConfigLookupError(err)
	}
	for _, v := range versions {
		add(v.Version, v.EventInvokeConfig)
	}
	aliases, err := s.cfg.Store.ListAliases(ctx, name, "", 0)
	if err != nil {
		return nil, "", s.eventConfigLookupError(err)
	}
	for _, a := range aliases {
		add(a.Name, a.EventInvokeConfig)
	}
	if len(all) > limit {
		all = all[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(listKey(all[len(all)-1].Qualifier)))
	}
	return all, next, nil
}

// listKey orders a function's configurations: $LATEST, the versions by
// number, the aliases by name.
func listKey(qualifier string) string {
	switch {
	case qualifier == sluice.LatestVersion:
		return "0"
	case sluice.IsVersionNumber(qualifier):
		return fmt.Sprintf("1%020s", qualifier)
	}
	return "2" + qualifier
}

// EventInvokeConfig returns the configuration that governs an Event
// invocation of ref and qualifier, resolved as the invocation resolves
// them: through an alias, the alias's own configuration; otherwise the
// configuration of the version invoked ($LATEST when unqualified). ok is
// false when there is none: the defaults apply (sluice.EventInvokeConfig's
// RetryAttempts and MaxAge on a zero value give them). Errors: those of
// the invocation's resolution (ENotFound when the function, version or
// alias is gone).
func (s *Service) EventInvokeConfig(ctx context.Context, ref sluice.FunctionRef, qualifier string) (sluice.EventInvokeConfig, bool, error) {
	t, err := s.resolve(ctx, ref, qualifier, true)
	if err != nil {
		return sluice.EventInvokeConfig{}, false, err
	}
	c := t.Function.EventInvokeConfig
	if t.Alias != nil {
		c = t.Alias.EventInvokeConfig
	}
	if c == nil {
		return sluice.EventInvokeConfig{}, false, nil
	}
	return *c.Clone(), true, nil
}

// destinationServices are the services whose ARNs AWS accepts as
// destinations of asynchronous invocations and sluice does not run, by the
// service part of their ARNs.
var destinationServices = map[string]string{
	"sqs":    "Amazon SQS",
	"sns":    "Amazon SNS",
	"events": "Amazon EventBridge",
	"s3":     "Amazon S3",
}

// checkDestinations checks the destinations of a configuration of the
// function name (their pattern is the adapter's to check): a Lambda
// function of this scope other than name, which exists (with its version
// or alias when the ARN is qualified). Errors: EInvalidParameter.
func (s *Service) checkDestinations(ctx context.Context, name string, d Destinations) error {
	invalid := false
	for _, arn := range []string{d.OnSuccess, d.OnFailure} {
		if arn == "" {
			continue
		}
		service := ""
		if parts := strings.SplitN(arn, ":", 4); len(parts) == 4 && parts[0] == "arn" {
			service = parts[2]
		}
		switch {
		case service == "lambda":
			if err := s.checkLambdaDestination(ctx, name, arn); err != nil {
				return err
			}
		case destinationServices[service] != "":
			return sluice.Errorf(sluice.EInvalidParameter,
				"The destination ARN %s is not supported: sluice does not deliver to %s, it runs Lambda functions only. Use the ARN of a Lambda function as the destination.",
				arn, destinationServices[service])
		default:
			invalid = true
		}
	}
	if invalid {
		show := func(member, arn string) string {
			if arn == "" {
				return "null"
			}
			return member + "(destination=" + arn + ")"
		}
		return sluice.Errorf(sluice.EInvalidParameter, "The provided destination config DestinationConfig(onSuccess=%s, onFailure=%s) is invalid.",
			show("OnSuccess", d.OnSuccess), show("OnFailure", d.OnFailure))
	}
	return nil
}

// checkLambdaDestination checks a Lambda function ARN destination of the
// configuration of function name.
func (s *Service) checkLambdaDestination(ctx context.Context, name, arn string) error {
	invalid := sluice.Errorf(sluice.EInvalidParameter, "The destination ARN %s is invalid.", arn)
	var v sluice.Violations
	ref, ok := sluice.ParseFunctionName(arn, &v)
	if !ok || ref.Region == "" || ref.Account == "" || !strings.Contains(arn, ":function:") {
		return invalid
	}
	if ref.Region != s.cfg.Scope.Region || ref.Account != s.cfg.Scope.Account {
		return sluice.Errorf(sluice.EInvalidParameter,
			"The destination ARN %s is invalid: sluice delivers only to functions of the region and account the function is in (%s, %s).",
			arn, s.cfg.Scope.Region, s.cfg.Scope.Account)
	}
	if _, err := s.cfg.Store.GetFunction(ctx, ref.Name); err != nil {
		if sluice.ErrorCodeOf(err) == sluice.ENotFound {
			return invalid
		}
		return err
	}
	if ref.Name == name {
		return sluice.Errorf(sluice.EInvalidParameter, "You can't specify the function as a destination for itself.")
	}
	if ref.Qualifier != "" {
		if _, err := s.Resolve(ctx, ref, ""); err != nil {
			if sluice.ErrorCodeOf(err) == sluice.ENotFound || sluice.ErrorCodeOf(err) == sluice.ENoPublishedVersion {
				return invalid
			}
			return err
		}
	}
	return nil
}
