package service

import (
	"context"
	"errors"

	"github.com/sluice-dev/sluice"
)

// Function URL configurations. A function has at most one URL of its own
// (Qualifier "") and one per alias; the adapter has validated the members
// (AuthType, InvokeMode, Cors) and the qualifier's shape (an alias name),
// the service checks what needs the stored state and keeps Lambda's
// messages, as recorded from AWS (LocalStack's test_url_config_*; see
// docs/decisions.md):
//
//   - create/update of a missing function or alias: ResourceNotFoundException
//     "Function does not exist";
//   - get/delete of a missing function, alias or URL, and update of a
//     missing URL: ResourceNotFoundException "The resource you requested
//     does not exist.";
//   - a second create: ResourceConflictException "Failed to create function
//     url config for [functionArn = ...]. Error message:  FunctionUrlConfig
//     exists for this Lambda function".

// errNoResource is the not-found answer of the URL operations.
func errNoResource(cause error) error {
	return &sluice.Error{Code: sluice.ENotFound, Message: "The resource you requested does not exist.", Err: cause}
}

// errNoFunction is the not-found answer of create and update.
func errNoFunction(cause error) error {
	return &sluice.Error{Code: sluice.ENotFound, Message: "Function does not exist", Err: cause}
}

// urlTarget resolves ref and qualifier (either may carry the qualifier) to
// the function name and the effective qualifier ("" or an alias name).
func (s *Service) urlTarget(ref sluice.FunctionRef, qualifier string) (name, q string, err error) {
	q, err = s.cfg.Scope.Resolve(ref, qualifier)
	if err != nil {
		return "", "", err
	}
	return ref.Name, q, nil
}

// URLFunctionARN is the FunctionArn of a URL configuration: the function's
// ARN, qualified by the alias when the URL is an alias's.
func (s *Service) URLFunctionARN(c *sluice.FunctionURLConfig) string {
	if c.Qualifier != "" {
		return s.cfg.Scope.AliasARN(c.FunctionName, c.Qualifier)
	}
	return s.cfg.Scope.FunctionARN(c.FunctionName)
}

// CreateFunctionURL gives the function (or its alias) a URL with the
// members of c (AuthType, InvokeMode, Cors); the service sets the name,
// qualifier, id and times, and returns what it stored.
func (s *Service) CreateFunctionURL(ctx context.Context, ref sluice.FunctionRef, qualifier string, c *sluice.FunctionURLConfig) (*sluice.FunctionURLConfig, error) {
	name, q, err := s.urlTarget(ref, qualifier)
	if err != nil {
		return nil, err
	}
	if s.cfg.URLs == nil || s.cfg.NewURLID == nil {
		return nil, sluice.Errorf(sluice.EInternal, "function URLs are not configured")
	}
	c = c.Clone()
	c.FunctionName, c.Qualifier = name, q
	now := s.now().UTC()
	c.CreationTime, c.LastModifiedTime = now, now
	// A random id of about 165 bits does not collide: a conflict is the
	// function's (or alias's) URL existing already.
	c.URLID = s.cfg.NewURLID()
	switch err := s.cfg.URLs.CreateFunctionURL(ctx, c); sluice.ErrorCodeOf(err) {
	case "":
		return c.Clone(), nil
	case sluice.ENotFound:
		return nil, errNoFunction(err)
	case sluice.EConflict:
		return nil, &sluice.Error{
			Code:    sluice.EConflict,
			Message: "Failed to create function url config for [functionArn = " + s.URLFunctionARN(c) + "]. Error message:  FunctionUrlConfig exists for this Lambda function",
			Err:     err,
		}
	default:
		return nil, err
	}
}

// GetFunctionURL returns the URL configuration of the function (or its
// alias).
func (s *Service) GetFunctionURL(ctx context.Context, ref sluice.FunctionRef, qualifier string) (*sluice.FunctionURLConfig, error) {
	name, q, err := s.urlTarget(ref, qualifier)
	if err != nil {
		return nil, err
	}
	if s.cfg.URLs == nil {
		return nil, errNoResource(nil)
	}
	c, err := s.cfg.URLs.GetFunctionURL(ctx, name, q)
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return nil, errNoResource(err)
	}
	return c, err
}

// UpdateFunctionURL applies change to the stored URL configuration of the
// function (or its alias) and stores the result.
func (s *Service) UpdateFunctionURL(ctx context.Context, ref sluice.FunctionRef, qualifier string, change func(*sluice.FunctionURLConfig)) (*sluice.FunctionURLConfig, error) {
	name, q, err := s.urlTarget(ref, qualifier)
	if err != nil {
		return nil, err
	}
	if s.cfg.URLs == nil {
		return nil, errNoFunction(nil)
	}
	if err := s.urlOwnerExists(ctx, name, q); err != nil {
		return nil, err
	}
	c, err := s.cfg.URLs.GetFunctionURL(ctx, name, q)
	if err != nil {
		if sluice.ErrorCodeOf(err) == sluice.ENotFound {
			return nil, errNoResource(err)
		}
		return nil, err
	}
	change(c)
	c.FunctionName, c.Qualifier = name, q
	c.LastModifiedTime = s.now().UTC()
	stored, err := s.cfg.URLs.UpdateFunctionURL(ctx, c)
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return nil, errNoResource(err) // deleted meanwhile
	}
	return stored, err
}

// urlOwnerExists checks that the function, and the alias when q names one,
// exist (the not-found answer of create and update).
func (s *Service) urlOwnerExists(ctx context.Context, name, q string) error {
	if _, err := s.cfg.Store.GetFunction(ctx, name); err != nil {
		if sluice.ErrorCodeOf(err) == sluice.ENotFound {
			return errNoFunction(err)
		}
		return err
	}
	if q != "" {
		if _, err := s.cfg.Store.GetAlias(ctx, name, q); err != nil {
			if sluice.ErrorCodeOf(err) == sluice.ENotFound {
				return errNoFunction(err)
			}
			return err
		}
	}
	return nil
}

// DeleteFunctionURL removes the URL of the function (or its alias).
func (s *Service) DeleteFunctionURL(ctx context.Context, ref sluice.FunctionRef, qualifier string) error {
	name, q, err := s.urlTarget(ref, qualifier)
	if err != nil {
		return err
	}
	if s.cfg.URLs == nil {
		return errNoResource(nil)
	}
	err = s.cfg.URLs.DeleteFunctionURL(ctx, name, q)
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return errNoResource(err)
	}
	return err
}

// ListFunctionURLs lists the function's URLs (its own first, then its
// aliases'), up to limit after the marker `after` (a QualifierKey).
func (s *Service) ListFunctionURLs(ctx context.Context, ref sluice.FunctionRef, after string, limit int) ([]*sluice.FunctionURLConfig, error) {
	name, err := s.FunctionName(ref)
	if err != nil {
		return nil, err
	}
	if s.cfg.URLs == nil {
		return nil, nil
	}
	list, err := s.cfg.URLs.ListFunctionURLs(ctx, name, after, limit)
	if sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return nil, errNoFunction(err)
	}
	return list, err
}

// ErrNoURL is returned by URLTarget when no function URL has the id, or
// its function or alias is gone.
var ErrNoURL = errors.New("service: no such function URL")

// URLTarget finds the URL configuration whose id is urlID and what it
// invokes now: the function's $LATEST, or the version its alias routes to
// (drawn per call for a weighted alias). Errors: ErrNoURL; those of
// Route (a Pending or Failed function is EConflict).
func (s *Service) URLTarget(ctx context.Context, urlID string) (*sluice.FunctionURLConfig, *Runnable, error) {
	if s.cfg.URLs == nil {
		return nil, nil, ErrNoURL
	}
	c, err := s.cfg.URLs.GetFunctionURLByID(ctx, urlID)
	if err != nil {
		if sluice.ErrorCodeOf(err) == sluice.ENotFound {
			return nil, nil, ErrNoURL
		}
		return nil, nil, err
	}
	t, err := s.Resolve(ctx, sluice.FunctionRef{Name: c.FunctionName}, c.Qualifier)
	if err != nil {
		if sluice.ErrorCodeOf(err) == sluice.ENotFound {
			return nil, nil, ErrNoURL
		}
		return nil, nil, err
	}
	run, err := s.Route(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	return c, run, nil
}
