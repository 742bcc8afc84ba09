package api

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/sluice-dev/sluice"
)

// TagResource, UntagResource and ListTags (2017-03-31),
// GetFunctionCodeSigningConfig (2020-06-30), Get/PutRuntimeManagementConfig
// (2021-07-20) and Get/PutFunctionRecursionConfig (2024-08-31): the
// settings of a function that are not part of its configuration. The
// members' shapes are checked here, the rules that need the stored
// function by the service (service/settings.go).

// TaggableResourcePattern is the pattern of the Resource of the tagging
// operations, as Lambda quotes it.
const TaggableResourcePattern = `arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|layer:([a-zA-Z0-9-_]+)|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|capacity-provider:[a-zA-Z0-9-_]+)`

const (
	recursiveLoopEnum   = "[Terminate, Allow]"
	updateRuntimeOnEnum = "[Auto, Manual, FunctionUpdate]"
)

var (
	taggableResourceRE  = fullMatch(TaggableResourcePattern)
	functionResourceRE  = fullMatch(`arn:[^:]+:lambda:[^:]+:\d{12}:function:.+`)
	runtimeVersionARNRE = fullMatch(sluice.RuntimeVersionARNPattern[1 : len(sluice.RuntimeVersionARNPattern)-1])
)

// tagResource parses the {arn} of a tagging operation into v: a function
// ARN (a layer, code signing configuration, event source mapping or
// capacity provider ARN is valid but names nothing sluice has).
func tagResource(r *http.Request, v *sluice.Violations) (ref sluice.FunctionRef, ok bool) {
	arn := r.PathValue("arn")
	if !taggableResourceRE.MatchString(arn) {
		v.Add(arn, "resource", "Member must satisfy regular expression pattern: "+TaggableResourcePattern)
		return ref, false
	}
	if !functionResourceRE.MatchString(arn) {
		return ref, false
	}
	var ignored sluice.Violations
	ref, ok = sluice.ParseFunctionName(arn, &ignored)
	return ref, ok
}

// errNoSuchResource answers a valid ARN of what sluice does not have: an
// event source mapping or capacity provider as Lambda answers one that
// does not exist (recorded: LocalStack's TestLambdaTag::test_tag_exceptions),
// a layer or code signing configuration with a generic message (not
// recorded).
func errNoSuchResource(r *http.Request) error {
	arn := r.PathValue("arn")
	resource := ""
	if parts := strings.SplitN(arn, ":", 7); len(parts) == 7 {
		resource = parts[5]
	}
	switch resource {
	case "event-source-mapping":
		return sluice.Errorf(sluice.ENotFound, "Event source mapping not found: %s", arn)
	case "capacity-provider":
		return sluice.Errorf(sluice.ENotFound, "Capacity provider not found: %s", arn)
	}
	return sluice.Errorf(sluice.ENotFound, "The resource you requested does not exist: %s", arn)
}

// tagResourceRequest is the body of TagResource.
type tagResourceRequest struct {
	Tags map[string]string `json:"Tags"`
}

// validateTags adds the violations of tags (CreateFunction's or
// TagResource's) to v, then applies Lambda's rules: at most
// sluice.MaxTags.
func validateTags(tags map[string]string, v *sluice.Violations) error {
	for k, val := range tags {
		switch n := utf8.RuneCountInString(k); {
		case n < 1:
			v.Add(k, "tags.key", "Member must have length greater than or equal to 1")
		case n > sluice.MaxTagKeyLength:
			v.Add(k, "tags.key", fmt.Sprintf("Member must have length less than or equal to %d", sluice.MaxTagKeyLength))
		}
		if utf8.RuneCountInString(val) > sluice.MaxTagValueLength {
			v.Add(val, "tags.value", fmt.Sprintf("Member must have length less than or equal to %d", sluice.MaxTagValueLength))
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	if len(tags) > sluice.MaxTags {
		return sluice.Errorf(sluice.EInvalidParameter, "Number of tags exceeds resource tag limit.")
	}
	return nil
}

// tagResourceOp is TagResource: POST /2017-03-31/tags/{arn}, 204.
func (s *Server) tagResourceOp(w http.ResponseWriter, r *http.Request, body []byte) error {
	var req tagResourceRequest
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	var v sluice.Violations
	ref, ok := tagResource(r, &v)
	if req.Tags == nil {
		v.AddNull("tags")
	}
	if err := v.Err(); err != nil {
		return err
	}
	if !ok {
		return errNoSuchResource(r)
	}
	if len(req.Tags) == 0 {
		return sluice.Errorf(sluice.EInvalidParameter, "An error occurred and the request cannot be processed.")
	}
	if err := validateTags(req.Tags, &v); err != nil {
		return err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	if err := svc.TagResource(r.Context(), ref, req.Tags); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// untagResourceOp is UntagResource:
// DELETE /2017-03-31/tags/{arn}?tagKeys=..., 204.
func (s *Server) untagResourceOp(w http.ResponseWriter, r *http.Request, _ []byte) error {
	var v sluice.Violations
	ref, ok := tagResource(r, &v)
	keys := r.URL.Query()["tagKeys"]
	if len(keys) == 0 {
		v.AddNull("tagKeys")
	}
	for _, k := range keys {
		switch n := utf8.RuneCountInString(k); {
		case n < 1:
			v.Add(k, "tagKeys.member", "Member must have length greater than or equal to 1")
		case n > sluice.MaxTagKeyLength:
			v.Add(k, "tagKeys.member", fmt.Sprintf("Member must have length less than or equal to %d", sluice.MaxTagKeyLength))
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	if !ok {
		return errNoSuchResource(r)
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	if err := svc.UntagResource(r.Context(), ref, keys); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listTagsOp is ListTags: GET /2017-03-31/tags/{arn}, 200 {"Tags": {...}}.
func (s *Server) listTagsOp(w http.ResponseWriter, r *http.Request, _ []byte) error {
	var v sluice.Violations
	ref, ok := tagResource(r, &v)
	if err := v.Err(); err != nil {
		return err
	}
	if !ok {
		return errNoSuchResource(r)
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	tags, err := svc.ListTags(r.Context(), ref)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		Tags map[string]string `json:"Tags"`
	}{tags})
}

// unqualifiedRef parses the {name} of an operation on a whole function.
func unqualifiedRef(r *http.Request) (sluice.FunctionRef, error) {
	var v sluice.Violations
	ref, _ := sluice.ParseFunctionName(r.PathValue("name"), &v)
	return ref, v.Err()
}

// getFunctionCodeSigningConfig is GetFunctionCodeSigningConfig:
// GET /2020-06-30/functions/{name}/code-signing-config, 200. sluice has
// no code signing configurations: AWS answers a function without one
// with an empty object (recorded in LocalStack's snapshot
// get_function_csc_fnwithoutcsc).
func (s *Server) getFunctionCodeSigningConfig(w http.ResponseWriter, r *http.Request, _ []byte) error {
	ref, err := unqualifiedRef(r)
	if err != nil {
		return err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	if err := svc.GetFunctionCodeSigningConfig(r.Context(), ref); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct{}{})
}

// recursionConfig is the body of Put/GetFunctionRecursionConfig.
type recursionConfig struct {
	RecursiveLoop *string `json:"RecursiveLoop"`
}

// getFunctionRecursionConfig is GetFunctionRecursionConfig:
// GET /2024-08-31/functions/{name}/recursion-config, 200.
func (s *Server) getFunctionRecursionConfig(w http.ResponseWriter, r *http.Request, _ []byte) error {
	ref, err := unqualifiedRef(r)
	if err != nil {
		return err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	mode, err := svc.GetFunctionRecursionConfig(r.Context(), ref)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, recursionConfig{&mode})
}

// putFunctionRecursionConfig is PutFunctionRecursionConfig:
// PUT /2024-08-31/functions/{name}/recursion-config, 200.
func (s *Server) putFunctionRecursionConfig(w http.ResponseWriter, r *http.Request, body []byte) error {
	var req recursionConfig
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	var v sluice.Violations
	ref, _ := sluice.ParseStrictFunctionName(r.PathValue("name"), &v)
	switch m := req.RecursiveLoop; {
	case m == nil:
		v.AddNull("recursiveLoop")
	case *m != sluice.RecursiveLoopTerminate && *m != sluice.RecursiveLoopAllow:
		v.Add(*m, "recursiveLoop", "Member must satisfy enum value set: "+recursiveLoopEnum)
	}
	if err := v.Err(); err != nil {
		return err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	if err := svc.PutFunctionRecursionConfig(r.Context(), ref, *req.RecursiveLoop); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, req)
}

// runtimeManagementConfig is the body of Get/PutRuntimeManagementConfig's
// responses.
type runtimeManagementConfig struct {
	UpdateRuntimeOn   string `json:"UpdateRuntimeOn"`
	RuntimeVersionArn string `json:"RuntimeVersionArn,omitempty"`
	FunctionArn       string `json:"FunctionArn"`
}

// putRuntimeManagementRequest is the body of PutRuntimeManagementConfig.
type putRuntimeManagementRequest struct {
	UpdateRuntimeOn   *string `json:"UpdateRuntimeOn"`
	RuntimeVersionArn *string `json:"RuntimeVersionArn"`
}

// getRuntimeManagementConfig is GetRuntimeManagementConfig:
// GET /2021-07-20/functions/{name}/runtime-management-config?Qualifier=,
// 200.
func (s *Server) getRuntimeManagementConfig(w http.ResponseWriter, r *http.Request, _ []byte) error {
	var v sluice.Violations
	ref, qualifier := parseRef(r, &v)
	if err := v.Err(); err != nil {
		return err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	m, err := svc.GetRuntimeManagementConfig(r.Context(), ref, qualifier)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, runtimeManagementConfig{m.UpdateRuntimeOn, m.RuntimeVersionARN, m.FunctionARN})
}

// putRuntimeManagementConfig is PutRuntimeManagementConfig:
// PUT /2021-07-20/functions/{name}/runtime-management-config?Qualifier=,
// 200.
func (s *Server) putRuntimeManagementConfig(w http.ResponseWriter, r *http.Request, body []byte) error {
	var req putRuntimeManagementRequest
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	var v sluice.Violations
	ref, qualifier := parseRef(r, &v)
	switch on := req.UpdateRuntimeOn; {
	case on == nil:
		v.AddNull("updateRuntimeOn")
	case *on != sluice.UpdateRuntimeOnAuto && *on != sluice.UpdateRuntimeOnManual && *on != sluice.UpdateRuntimeOnFunctionUpdate:
		v.Add(*on, "updateRuntimeOn", "Member must satisfy enum value set: "+updateRuntimeOnEnum)
	}
	if a := req.RuntimeVersionArn; a != nil {
		switch n := utf8.RuneCountInString(*a); {
		case n < sluice.MinRuntimeVersionARNLength:
			v.Add(*a, "runtimeVersionArn", fmt.Sprintf("Member must have length greater than or equal to %d", sluice.MinRuntimeVersionARNLength))
		case n > sluice.MaxRuntimeVersionARNLength:
			v.Add(*a, "runtimeVersionArn", fmt.Sprintf("Member must have length less than or equal to %d", sluice.MaxRuntimeVersionARNLength))
		}
		if !runtimeVersionARNRE.MatchString(*a) {
			v.Add(*a, "runtimeVersionArn", "Member must satisfy regular expression pattern: "+sluice.RuntimeVersionARNPattern)
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	m, err := svc.PutRuntimeManagementConfig(r.Context(), ref, qualifier, *req.UpdateRuntimeOn, deref(req.RuntimeVersionArn))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, runtimeManagementConfig{m.UpdateRuntimeOn, m.RuntimeVersionARN, m.FunctionARN})
}
