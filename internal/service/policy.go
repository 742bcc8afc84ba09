package service

import (
	"context"
	"errors"

	"github.com/sluice-dev/sluice"
)

// Resource-based policies: AddPermission, RemovePermission, GetPolicy, and
// ResourcePolicy for the authorization check. The policy of the
// unqualified function ($LATEST), of each published version and of each
// alias is its own (sluice.FunctionPolicy, kept in that record); a
// statement's Resource is the ARN of the record it belongs to.
//
// The rules and messages are Lambda's, as recorded from AWS by LocalStack
// (tests/aws/services/lambda_/test_lambda_api.py, TestLambdaPermissions;
// see docs/decisions.md, "Resource-based policies"):
//
//   - a policy has its own RevisionId (GetPolicy's), which AddPermission and
//     RemovePermission compare; changing the policy does not change the
//     RevisionId of the function, version or alias, and publishing or
//     updating those does not change the policy's;
//   - AddPermission with the qualifier $LATEST is refused; a new version
//     has no policy;
//   - GetPolicy answers "The resource you requested does not exist." for
//     whatever is missing: function, version, alias or policy.
//
// name is a FunctionName as the caller gave it (a name, a partial or full
// ARN, possibly with a ":qualifier" suffix), qualifier the Qualifier
// parameter ("" when not given); the adapter has checked their shape.

// maxPolicyRetries bounds how often AddPermission and RemovePermission
// without a RevisionId start over after a concurrent change of the same
// policy.
const maxPolicyRetries = 20

// policyTarget is the record whose policy an operation reads or changes.
type policyTarget struct {
	name string
	// qualifier is "" for $LATEST (the unqualified function), a version
	// number, or any other name (an alias, or nothing that exists).
	qualifier string
	// arn is the statements' Resource: the function's ARN, qualified by
	// the version or alias.
	arn string
	// latest is whether the caller named $LATEST (qualifier is "" then).
	latest bool
}

// policyTarget parses name and qualifier; $LATEST is read as the
// unqualified function.
func (s *Service) policyTarget(name, qualifier string) (policyTarget, error) {
	var v sluice.Violations
	ref, ok := sluice.ParseFunctionName(name, &v)
	if !ok {
		return policyTarget{}, v.Err()
	}
	q, err := s.cfg.Scope.Resolve(ref, qualifier)
	if err != nil {
		return policyTarget{}, err
	}
	latest := q == sluice.LatestVersion
	if latest {
		q = ""
	}
	t := policyTarget{name: ref.Name, qualifier: q, arn: s.cfg.Scope.FunctionARN(ref.Name), latest: latest}
	if q != "" {
		t.arn += ":" + q
	}
	return t, nil
}

// missing says what a policy operation did not find.
type missing int

const (
	found missing = iota
	missingFunction
	missingVersion // a version, or a qualifier that is neither a version nor an alias name
	missingAlias
)

// loadPolicy reads the policy of t and the RevisionId of its record.
func (s *Service) loadPolicy(ctx context.Context, t policyTarget) (p *sluice.FunctionPolicy, recordRevision string, m missing, err error) {
	fn, err := s.cfg.Store.GetFunction(ctx, t.name)
	switch {
	case sluice.ErrorCodeOf(err) == sluice.ENotFound:
		return nil, "", missingFunction, nil
	case err != nil:
		return nil, "", found, err
	case t.qualifier == "":
		return fn.Policy, fn.RevisionID, found, nil
	case sluice.IsVersionNumber(t.qualifier):
		v, err := s.cfg.Store.GetVersion(ctx, t.name, t.qualifier)
		if sluice.ErrorCodeOf(err) == sluice.ENotFound {
			return nil, "", missingVersion, nil
		}
		if err != nil {
			return nil, "", found, err
		}
		return v.Policy, v.RevisionID, found, nil
	case sluice.ValidateAlias(t.qualifier, "qualifier", new(sluice.Violations)):
		a, err := s.cfg.Store.GetAlias(ctx, t.name, t.qualifier)
		if sluice.ErrorCodeOf(err) == sluice.ENotFound {
			return nil, "", missingAlias, nil
		}
		if err != nil {
			return nil, "", found, err
		}
		return a.Policy, a.RevisionID, found, nil
	}
	// $LATEST.PUBLISHED, or a name with "$" in it: passes the pattern of
	// Qualifier but names nothing that can have a policy.
	return nil, "", missingVersion, nil
}

// errMissing is the not-found answer of AddPermission and RemovePermission
// (for a missing function, each has its own).
func (s *Service) errMissing(t policyTarget, m missing) error {
	if m == missingAlias {
		return sluice.Errorf(sluice.ENotFound, "Cannot find alias arn: %s", t.arn)
	}
	return sluice.Errorf(sluice.ENotFound, "Function not found: %s", t.arn)
}

// errPolicyRevision is the PreconditionFailedException of a RevisionId
// that is not the policy's.
func errPolicyRevision(cause error) error {
	return &sluice.Error{
		Code:    sluice.EPrecondition,
		Message: "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id",
		Err:     cause,
	}
}

// checkPolicyRevision compares the caller's RevisionId ("" when not given)
// with the policy's, or, for a record without a policy, with the record's
// own (an alias's RevisionId is accepted by AddPermission on AWS).
func checkPolicyRevision(want string, p *sluice.FunctionPolicy, recordRevision string) error {
	if want == "" {
		return nil
	}
	have := recordRevision
	if p != nil {
		have = p.RevisionID
	}
	if want != have {
		return errPolicyRevision(nil)
	}
	return nil
}

// checkStatement applies Lambda's rules to the members of an
// AddPermission request whose shape the adapter checked.
func checkStatement(st *sluice.PermissionStatement) error {
	if _, _, ok := sluice.ParsePrincipal(st.Principal); !ok {
		return sluice.Errorf(sluice.EInvalidParameter, "The provided principal was invalid. Please check the principal and try again.")
	}
	if st.PrincipalOrgID != "" {
		return sluice.Errorf(sluice.EInvalidParameter, "PrincipalOrgID is not supported: sluice has no AWS Organizations, so no account belongs to an organization. Grant accounts by their ids (Principal) instead.")
	}
	if st.FunctionURLAuthType != "" && st.Action != sluice.ActionInvokeFunctionURL {
		return sluice.Errorf(sluice.EInvalidParameter, "FunctionUrlAuthType is only supported for lambda:InvokeFunctionUrl action")
	}
	if st.InvokedViaFunctionURL && st.Action != sluice.ActionInvokeFunction {
		return sluice.Errorf(sluice.EInvalidParameter, "InvokedViaFunctionUrl is only supported for lambda:InvokeFunction action")
	}
	return nil
}

// AddPermission adds the statement st to the policy of the function (the
// unqualified one, $LATEST), of one of its published versions or of one
// of its aliases, and returns the statement as Lambda shows it (a JSON
// object). revisionID, when not "", must be the policy's current
// RevisionId (GetPolicy's), or the record's own when it has no policy yet.
// Errors: ValidationException for a malformed name; EInvalidParameter for
// the qualifier $LATEST, a principal Lambda refuses, PrincipalOrgID (sluice
// has no organizations), FunctionUrlAuthType or InvokedViaFunctionUrl with
// another action, and qualifiers that differ; ENotFound for the function,
// version or alias; EPrecondition for a stale revisionID; EConflict when
// the policy has a statement with that id; EPolicyLengthExceeded when the
// policy would outgrow sluice.MaxPolicySize.
func (s *Service) AddPermission(ctx context.Context, name, qualifier string, st sluice.PermissionStatement, revisionID string) (statementJSON string, err error) {
	t, err := s.policyTarget(name, qualifier)
	if err != nil {
		return "", err
	}
	if t.latest {
		return "", sluice.Errorf(sluice.EInvalidParameter, "We currently do not support adding policies for $LATEST.")
	}
	if err := checkStatement(&st); err != nil {
		return "", err
	}
	for attempt := 0; ; attempt++ {
		cur, recordRevision, m, err := s.loadPolicy(ctx, t)
		switch {
		case err != nil:
			return "", err
		case m == missingFunction:
			return "", s.notFound(t.name, "")
		case m != found:
			return "", s.errMissing(t, m)
		}
		if err := checkPolicyRevision(revisionID, cur, recordRevision); err != nil {
			return "", err
		}
		if cur.Index(st.StatementID) >= 0 {
			return "", sluice.Errorf(sluice.EConflict, "The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", st.StatementID)
		}
		next := cur.Clone()
		if next == nil {
			next = &sluice.FunctionPolicy{}
		}
		next.RevisionID = sluice.NewRequestID()
		next.Statements = append(next.Statements, st)
		if size := len(next.Document(t.arn)); size > sluice.MaxPolicySize {
			return "", sluice.Errorf(sluice.EPolicyLengthExceeded, "The final policy size (%d) is bigger than the limit (%d).", size, sluice.MaxPolicySize)
		}
		err = s.setPolicy(ctx, t, next, cur, revisionID, attempt)
		if err == errRetry {
			continue
		}
		if err != nil {
			return "", err
		}
		return st.JSON(t.arn), nil
	}
}

// errRetry tells AddPermission and RemovePermission to start over.
var errRetry = errors.New("service: the policy changed meanwhile")

// setPolicy writes next over cur. A concurrent change of the policy is the
// caller's precondition failure when the caller named a revision, else a
// reason to start over (errRetry), up to maxPolicyRetries times.
func (s *Service) setPolicy(ctx context.Context, t policyTarget, next, cur *sluice.FunctionPolicy, revisionID string, attempt int) error {
	prev := ""
	if cur != nil {
		prev = cur.RevisionID
	}
	err := s.cfg.Store.SetPolicy(ctx, t.name, t.qualifier, next, prev)
	switch sluice.ErrorCodeOf(err) {
	case "":
		return nil
	case sluice.EPrecondition:
		if revisionID != "" {
			return errPolicyRevision(err)
		}
		if attempt < maxPolicyRetries {
			return errRetry
		}
		return &sluice.Error{Code: sluice.EConflict, Message: "The operation cannot be performed at this time. An update is in progress for resource: " + t.arn, Err: err}
	case sluice.ENotFound:
		if attempt < maxPolicyRetries {
			return errRetry // deleted meanwhile: the next load says what is missing
		}
	}
	return err
}

// RemovePermission removes the statement whose id is statementID from the
// policy of the function, version or alias; the policy goes away with its
// last statement. revisionID, when not "", must be the policy's current
// RevisionId. Errors: ValidationException for a malformed name; ENotFound
// for the function ("No policy found for: <arn>"), the version or alias,
// a record without a policy ("No policy is associated with the given
// resource.") and a missing statement; EPrecondition for a stale
// revisionID.
func (s *Service) RemovePermission(ctx context.Context, name, qualifier, statementID, revisionID string) error {
	t, err := s.policyTarget(name, qualifier)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		cur, _, m, err := s.loadPolicy(ctx, t)
		switch {
		case err != nil:
			return err
		case m == missingFunction:
			return sluice.Errorf(sluice.ENotFound, "No policy found for: %s", s.cfg.Scope.FunctionARN(t.name))
		case m != found:
			return s.errMissing(t, m)
		case cur == nil || len(cur.Statements) == 0:
			return sluice.Errorf(sluice.ENotFound, "No policy is associated with the given resource.")
		}
		i := cur.Index(statementID)
		if i < 0 {
			return sluice.Errorf(sluice.ENotFound, "Statement %s is not found in resource policy.", statementID)
		}
		if revisionID != "" && revisionID != cur.RevisionID {
			return errPolicyRevision(nil)
		}
		var next *sluice.FunctionPolicy
		if len(cur.Statements) > 1 {
			next = cur.Clone()
			next.RevisionID = sluice.NewRequestID()
			next.Statements = append(next.Statements[:i], next.Statements[i+1:]...)
		}
		err = s.setPolicy(ctx, t, next, cur, revisionID, attempt)
		if err == errRetry {
			continue
		}
		return err
	}
}

// GetPolicy returns the policy of the function, version or alias as
// Lambda shows it (Version, Id and the statements, compact JSON) and its
// RevisionId. Errors: ValidationException for a malformed name; ENotFound
// "The resource you requested does not exist." when the function, the
// version, the alias or the policy is missing.
func (s *Service) GetPolicy(ctx context.Context, name, qualifier string) (policyJSON, revisionID string, err error) {
	t, err := s.policyTarget(name, qualifier)
	if err != nil {
		return "", "", err
	}
	p, _, m, err := s.loadPolicy(ctx, t)
	switch {
	case err != nil:
		return "", "", err
	case m != found || p == nil || len(p.Statements) == 0:
		return "", "", errNoResource(nil)
	}
	return p.Document(t.arn), p.RevisionID, nil
}

// ResourcePolicy returns the policy document that governs access to the
// function, version or alias that name and qualifier designate, as
// GetPolicy shows it, or "" when it has none: the unqualified function's
// (also for $LATEST), a version's, an alias's own (not that of the version
// it points to), the newest version's for $LATEST.PUBLISHED. It is for
// the authorization check, which may take ENotFound as "no policy" to
// reveal nothing. Errors: ValidationException for a malformed name; those
// of sluice.Scope.Resolve; ENotFound ("Function not found: <arn>") when
// the function, version or alias is missing.
func (s *Service) ResourcePolicy(ctx context.Context, name, qualifier string) (policyJSON string, err error) {
	t, err := s.policyTarget(name, qualifier)
	if err != nil {
		return "", err
	}
	if t.qualifier == LatestPublished {
		v, err := s.newestVersion(ctx, t.name)
		if sluice.ErrorCodeOf(err) == sluice.ENotFound || (err == nil && v == nil) {
			return "", s.notFound(t.name, t.qualifier)
		}
		if err != nil {
			return "", err
		}
		t.qualifier = v.Version
		t.arn = s.cfg.Scope.FunctionARN(t.name) + ":" + v.Version
	}
	p, _, m, err := s.loadPolicy(ctx, t)
	switch {
	case err != nil:
		return "", err
	case m != found:
		return "", s.notFound(t.name, t.qualifier)
	case p == nil || len(p.Statements) == 0:
		return "", nil
	}
	return p.Document(t.arn), nil
}
