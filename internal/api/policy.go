package api

import (
	"fmt"
	"net/http"
	"regexp"
	"unicode/utf8"

	"github.com/sluice-dev/sluice"
)

// AddPermission, RemovePermission and GetPolicy (2015-03-31): the
// resource-based policy of a function, version or alias. The members'
// shapes are checked here (one ValidationException listing every
// violation, as Lambda does); Lambda's rules and the stored state are the
// service's (service.AddPermission ...).

var (
	statementIDRE           = fullMatch(sluice.StatementIDPattern)
	namespacedStatementIDRE = fullMatch(sluice.NamespacedStatementIDPattern)
	actionRE                = fullMatch(sluice.ActionPattern)
	principalRE             = fullMatch(sluice.PrincipalPattern)
	sourceARNRE             = fullMatch(sluice.SourceARNPattern)
	sourceAccountRE         = fullMatch(sluice.SourceAccountPattern)
	eventSourceTokenRE      = fullMatch(sluice.EventSourceTokenPattern)
	principalOrgIDRE        = fullMatch(sluice.PrincipalOrgIDPattern)
)

// fullMatch compiles a pattern of the Lambda model as a whole-string
// match.
func fullMatch(pattern string) *regexp.Regexp {
	return regexp.MustCompile(`^(?:` + pattern + `)$`)
}

// functionURLAuthTypeEnum is the enum of FunctionUrlAuthType.
const functionURLAuthTypeEnum = "[NONE, AWS_IAM]"

// addPermissionRequest is the body of AddPermission.
type addPermissionRequest struct {
	StatementId           *string `json:"StatementId"`
	Action                *string `json:"Action"`
	Principal             *string `json:"Principal"`
	SourceArn             *string `json:"SourceArn"`
	SourceAccount         *string `json:"SourceAccount"`
	EventSourceToken      *string `json:"EventSourceToken"`
	RevisionId            *string `json:"RevisionId"`
	PrincipalOrgID        *string `json:"PrincipalOrgID"`
	FunctionUrlAuthType   *string `json:"FunctionUrlAuthType"`
	InvokedViaFunctionUrl *bool   `json:"InvokedViaFunctionUrl"`
}

// addPermission is AddPermission: POST /2015-03-31/functions/{name}/policy,
// 201 {"Statement": "<the statement as a JSON string>"}.
func (s *Server) addPermission(w http.ResponseWriter, r *http.Request, body []byte) error {
	var req addPermissionRequest
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	var v sluice.Violations
	ref, qualifier := parseRef(r, &v)
	req.validate(&v)
	if err := v.Err(); err != nil {
		return err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	st := sluice.PermissionStatement{
		StatementID:           *req.StatementId,
		Action:                *req.Action,
		Principal:             *req.Principal,
		SourceARN:             deref(req.SourceArn),
		SourceAccount:         deref(req.SourceAccount),
		EventSourceToken:      deref(req.EventSourceToken),
		PrincipalOrgID:        deref(req.PrincipalOrgID),
		FunctionURLAuthType:   deref(req.FunctionUrlAuthType),
		InvokedViaFunctionURL: req.InvokedViaFunctionUrl != nil && *req.InvokedViaFunctionUrl,
	}
	statement, err := svc.AddPermission(r.Context(), r.PathValue("name"), qualifier, st, deref(req.RevisionId))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, struct {
		Statement string `json:"Statement"`
	}{statement})
}

// validate adds the model-constraint violations of the members to v, in
// the order of the Lambda model.
func (req *addPermissionRequest) validate(v *sluice.Violations) {
	switch {
	case req.StatementId == nil:
		v.AddNull("statementId")
	default:
		validateStatementID(*req.StatementId, statementIDRE, sluice.StatementIDPattern, v)
	}
	switch {
	case req.Action == nil:
		v.AddNull("action")
	case !actionRE.MatchString(*req.Action):
		v.Add(*req.Action, "action", "Member must satisfy regular expression pattern: "+sluice.ActionPattern)
	}
	switch {
	case req.Principal == nil:
		v.AddNull("principal")
	case !principalRE.MatchString(*req.Principal):
		v.Add(*req.Principal, "principal", "Member must satisfy regular expression pattern: "+sluice.PrincipalPattern)
	}
	if a := req.SourceArn; a != nil && !sourceARNRE.MatchString(*a) {
		v.Add(*a, "sourceArn", "Member must satisfy regular expression pattern: "+sluice.SourceARNPattern)
	}
	if a := req.SourceAccount; a != nil {
		if utf8.RuneCountInString(*a) > sluice.MaxSourceAccountLength {
			v.Add(*a, "sourceAccount", fmt.Sprintf("Member must have length less than or equal to %d", sluice.MaxSourceAccountLength))
		}
		if !sourceAccountRE.MatchString(*a) {
			v.Add(*a, "sourceAccount", "Member must satisfy regular expression pattern: "+sluice.SourceAccountPattern)
		}
	}
	if tok := req.EventSourceToken; tok != nil {
		if utf8.RuneCountInString(*tok) > sluice.MaxEventSourceTokenLength {
			v.Add(*tok, "eventSourceToken", fmt.Sprintf("Member must have length less than or equal to %d", sluice.MaxEventSourceTokenLength))
		}
		if !eventSourceTokenRE.MatchString(*tok) {
			v.Add(*tok, "eventSourceToken", "Member must satisfy regular expression pattern: "+sluice.EventSourceTokenPattern)
		}
	}
	if id := req.PrincipalOrgID; id != nil {
		switch n := utf8.RuneCountInString(*id); {
		case n > sluice.MaxPrincipalOrgIDLength:
			v.Add(*id, "principalOrgID", fmt.Sprintf("Member must have length less than or equal to %d", sluice.MaxPrincipalOrgIDLength))
		case n < sluice.MinPrincipalOrgIDLength:
			v.Add(*id, "principalOrgID", fmt.Sprintf("Member must have length greater than or equal to %d", sluice.MinPrincipalOrgIDLength))
		}
		if !principalOrgIDRE.MatchString(*id) {
			v.Add(*id, "principalOrgID", "Member must satisfy regular expression pattern: "+sluice.PrincipalOrgIDPattern)
		}
	}
	if t := req.FunctionUrlAuthType; t != nil && *t != sluice.URLAuthNone && *t != sluice.URLAuthIAM {
		v.Add(*t, "functionUrlAuthType", "Member must satisfy enum value set: "+functionURLAuthTypeEnum)
	}
}

// validateStatementID adds the violations of a statement id to v: 1 to
// MaxStatementIDLength characters of pattern.
func validateStatementID(sid string, re *regexp.Regexp, pattern string, v *sluice.Violations) {
	switch n := utf8.RuneCountInString(sid); {
	case n < 1:
		v.Add(sid, "statementId", "Member must have length greater than or equal to 1")
		return
	case n > sluice.MaxStatementIDLength:
		v.Add(sid, "statementId", fmt.Sprintf("Member must have length less than or equal to %d", sluice.MaxStatementIDLength))
	}
	if !re.MatchString(sid) {
		v.Add(sid, "statementId", "Member must satisfy regular expression pattern: "+pattern)
	}
}

// removePermission is RemovePermission:
// DELETE /2015-03-31/functions/{name}/policy/{sid}?Qualifier=&RevisionId=,
// 204.
func (s *Server) removePermission(w http.ResponseWriter, r *http.Request, _ []byte) error {
	var v sluice.Violations
	ref, qualifier := parseRef(r, &v)
	sid := r.PathValue("sid")
	validateStatementID(sid, namespacedStatementIDRE, sluice.NamespacedStatementIDPattern, &v)
	if err := v.Err(); err != nil {
		return err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	if err := svc.RemovePermission(r.Context(), r.PathValue("name"), qualifier, sid, r.URL.Query().Get("RevisionId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// getPolicy is GetPolicy: GET /2015-03-31/functions/{name}/policy,
// 200 {"Policy": "<the policy as a JSON string>", "RevisionId": ...}.
func (s *Server) getPolicy(w http.ResponseWriter, r *http.Request, _ []byte) error {
	var v sluice.Violations
	ref, qualifier := parseRef(r, &v)
	if err := v.Err(); err != nil {
		return err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	policy, revision, err := svc.GetPolicy(r.Context(), r.PathValue("name"), qualifier)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		Policy     string `json:"Policy"`
		RevisionId string `json:"RevisionId"`
	}{policy, revision})
}

// deref is the string p points to, "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
