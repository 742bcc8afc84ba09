package iam

import (
	"fmt"
	"strings"

	"github.com/sluice-dev/sluice"
)

// Request is one authorization question.
type Request struct {
	// Action is the action asked for, such as "lambda:InvokeFunction".
	Action string
	// Resource is the ARN acted on (function, version or alias ARN; "*" for
	// account-wide actions such as lambda:ListFunctions). "" counts as "*".
	Resource string
	// Context holds the condition keys of the request (lambda:FunctionArn,
	// aws:SourceAccount, aws:SourceArn, lambda:FunctionUrlAuthType, ...).
	// Authorize and Resource add aws:PrincipalAccount and aws:PrincipalArn
	// from the caller when they are not set.
	Context map[string]string
}

func (r Request) resource() string {
	if r.Resource == "" {
		return "*"
	}
	return r.Resource
}

// Decision is the outcome of evaluating a policy for a request.
type Decision int

// Decisions. ImplicitDeny (no statement applies) is the zero value.
const (
	ImplicitDeny Decision = iota
	Allow
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case ImplicitDeny:
		return "ImplicitDeny"
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "Decision(?)"
}

// Identity evaluates p as an identity-based policy: ExplicitDeny when a
// Deny statement applies to req, else Allow when an Allow statement does,
// else ImplicitDeny. A Principal or NotPrincipal element is not considered
// (identity policies have none: ParseIdentityPolicy and the auth file
// refuse them). A nil policy allows nothing.
func (p *Policy) Identity(req Request) Decision {
	return p.evaluate(nil, "", req, false)
}

// Resource evaluates p as a resource-based policy for a request by caller,
// or by the AWS service named by service (such as "s3.amazonaws.com";
// caller is then usually nil), or, with caller nil and service "", by an
// anonymous caller. A statement applies when its Principal names the
// caller ("*"; {"AWS": "*"}; an account id or arn:aws:iam::ACCT:root for
// every principal of that account; a user ARN; a role ARN for the role's
// sessions; an assumed-role session ARN; {"Service": name} for that
// service) or its NotPrincipal does not, and action, resource and
// conditions match. Statements without either element never apply.
func (p *Policy) Resource(caller *Principal, service string, req Request) Decision {
	return p.evaluate(caller, service, withPrincipalKeys(caller, req), true)
}

func (p *Policy) evaluate(caller *Principal, service string, req Request, resourcePolicy bool) Decision {
	if p == nil {
		return ImplicitDeny
	}
	action := strings.ToLower(req.Action)
	resource := req.resource()
	d := ImplicitDeny
	for i := range p.Statements {
		st := &p.Statements[i]
		if d == Allow && st.Effect == EffectAllow {
			continue // only a Deny can change the outcome now
		}
		if resourcePolicy {
			switch {
			case st.principal != nil:
				if !st.principal.matches(caller, service) {
					continue
				}
			case st.notPrincipal != nil:
				if st.notPrincipal.matches(caller, service) {
					continue
				}
			default:
				continue
			}
		}
		if !st.applies(action, resource, req.Context) {
			continue
		}
		if st.Effect == EffectDeny {
			return ExplicitDeny
		}
		d = Allow
	}
	return d
}

// applies reports whether the statement's action, resource and conditions
// match; lowerAction is the request's action, lower-cased.
func (st *Statement) applies(lowerAction, resource string, ctx map[string]string) bool {
	matched := false
	for _, a := range st.actionLower {
		if actionMatch(a, lowerAction) {
			matched = true
			break
		}
	}
	if matched != (st.action.vals != nil) { // Action must match; NotAction must not
		return false
	}
	if st.resource.vals != nil || st.notResource.vals != nil {
		list, want := st.resource.vals, true
		if list == nil {
			list, want = st.notResource.vals, false
		}
		matched = false
		for _, r := range list {
			if arnMatch(r, resource) {
				matched = true
				break
			}
		}
		if matched != want {
			return false
		}
	}
	for i := range st.conditions {
		if !st.conditions[i].eval(ctx) {
			return false
		}
	}
	return true
}

// withPrincipalKeys returns req with the caller's aws:PrincipalAccount and
// aws:PrincipalArn (the role's ARN for a role session, as on AWS) in its
// context, unless already there. req's map is not modified.
func withPrincipalKeys(caller *Principal, req Request) Request {
	if caller == nil {
		return req
	}
	_, hasAcct := lookup(req.Context, "aws:PrincipalAccount", "aws:principalaccount")
	_, hasARN := lookup(req.Context, "aws:PrincipalArn", "aws:principalarn")
	if hasAcct && hasARN {
		return req
	}
	ctx := make(map[string]string, len(req.Context)+2)
	for k, v := range req.Context {
		ctx[k] = v
	}
	if !hasAcct {
		ctx["aws:PrincipalAccount"] = caller.Account
	}
	if !hasARN {
		ctx["aws:PrincipalArn"] = caller.principalARN()
	}
	req.Context = ctx
	return req
}

// The endings of AccessDeniedException messages. Wording from AWS: the IAM
// User Guide, "Troubleshooting access denied error messages"
// (troubleshoot_access-denied: "with an explicit deny in an identity-based
// policy", "... in a resource-based policy", "because no identity-based
// policy allows the codecommit:ListRepositories action", "because no
// resource-based policy allows the secretsmanager:GetSecretValue action"),
// and Lambda's own answers as users reported them: "User:
// arn:aws:iam::339712767340:user/dboardman is not authorized to perform:
// lambda:ListVersionsByFunction on resource:
// arn:aws:lambda:us-east-1:339712767340:function:HelloWorld because no
// identity-based policy allows the lambda:ListVersionsByFunction action"
// (hashicorp-education/learn-terraform-lambda-api-gateway#18); "...
// lambda:ListFunctions on resource: * with an explicit deny in a service
// control policy" (prowler-cloud/prowler#4209: Lambda names resource "*"
// for account-wide actions); "User: arn:aws:iam::281655567048:root is not
// authorized to perform: lambda:GetLayerVersion on resource:
// arn:aws:lambda:us-east-1:667743079194:layer:serverless-bash:35 because no
// resource-based policy allows the lambda:GetLayerVersion action"
// (crucial-project/serverless-shell#2, cross-account); LocalStack words
// the cross-account layer case the same way (services/lambda_/provider.py).
const (
	msgNotAuthorized  = "User: %s is not authorized to perform: %s on resource: %s "
	endNoIdentity     = "because no identity-based policy allows the %s action"
	endNoResource     = "because no resource-based policy allows the %s action"
	endDenyIdentity   = "with an explicit deny in an identity-based policy"
	endDenyResource   = "with an explicit deny in a resource-based policy"
	anonymousCallerID = "anonymous"
)

// Authorize answers whether caller may do req on a resource of
// resourceAccount whose resource-based policy is resourcePolicy (nil:
// none), as AWS does for Lambda:
//
//   - An explicit Deny in the caller's identity policy or in the resource
//     policy refuses, whatever allows.
//   - Same account: allowed when the identity policy (or Admin) or the
//     resource policy allows.
//   - Another account: the identity side (Admin counts) and the resource
//     policy must both allow; an account's administrator has no rights in
//     another account without a resource policy granting them.
//   - A nil caller is anonymous: only a resource policy naming "*" can
//     allow it.
//
// It returns nil or a *sluice.Error{Code: sluice.EAccessDenied} with AWS's
// message: "User: <caller ARN> is not authorized to perform: <action> on
// resource: <resource> because no identity-based policy allows the <action>
// action" (or "... with an explicit deny in an identity-based policy",
// "... with an explicit deny in a resource-based policy", "... because no
// resource-based policy allows the <action> action").
func Authorize(caller *Principal, resourceAccount string, resourcePolicy *Policy, req Request) error {
	req = withPrincipalKeys(caller, req)
	identity := ImplicitDeny
	switch {
	case caller == nil:
	case caller.Admin:
		identity = Allow
	default:
		identity = caller.Policy.Identity(req)
	}
	resource := resourcePolicy.Resource(caller, "", req)

	var ending string
	switch {
	case identity == ExplicitDeny:
		ending = endDenyIdentity
	case resource == ExplicitDeny:
		ending = endDenyResource
	case caller != nil && caller.Account == resourceAccount:
		if identity == Allow || resource == Allow {
			return nil
		}
		ending = fmt.Sprintf(endNoIdentity, req.Action)
	case caller == nil:
		if resource == Allow {
			return nil
		}
		ending = fmt.Sprintf(endNoResource, req.Action)
	default: // another account
		if identity != Allow {
			ending = fmt.Sprintf(endNoIdentity, req.Action)
		} else if resource != Allow {
			ending = fmt.Sprintf(endNoResource, req.Action)
		} else {
			return nil
		}
	}
	who := anonymousCallerID
	if caller != nil {
		who = caller.ARN
	}
	return &sluice.Error{
		Code:    sluice.EAccessDenied,
		Message: fmt.Sprintf(msgNotAuthorized, who, req.Action, req.resource()) + ending,
	}
}
