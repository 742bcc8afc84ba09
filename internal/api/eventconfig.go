package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"unicode/utf8"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/service"
)

// PutFunctionEventInvokeConfig, UpdateFunctionEventInvokeConfig,
// GetFunctionEventInvokeConfig, DeleteFunctionEventInvokeConfig and
// ListFunctionEventInvokeConfigs (2019-09-25), and the refusal of
// DeadLetterConfig. The members are validated here against the model
// (ValidationException), the rules that need the stored state are the
// service's (internal/service/eventconfig.go). The answers are shaped as
// recorded from AWS: only the members that were set, DestinationConfig
// always with OnSuccess and OnFailure ({} when none), LastModified a
// timestamp in epoch seconds, FunctionArn qualified ($LATEST when the
// request named none).

// destinationARNPattern is the model's DestinationArn pattern.
const destinationARNPattern = `$|kafka://([^.]([a-zA-Z0-9\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)`

// deadLetterTargetPattern is the model's ResourceArn pattern (the
// TargetArn of a DeadLetterConfig).
const deadLetterTargetPattern = `(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()`

// maxDeadLetterTargetLength is the length limit of ResourceArn.
const maxDeadLetterTargetLength = 10000

var (
	destinationARNRE   = regexp.MustCompile(`^(?:` + destinationARNPattern + `)$`)
	deadLetterTargetRE = regexp.MustCompile(`^(?:` + deadLetterTargetPattern + `)$`)
)

// eventInvokeConfigRequest is the body of PutFunctionEventInvokeConfig and
// UpdateFunctionEventInvokeConfig.
type eventInvokeConfigRequest struct {
	MaximumRetryAttempts     *int               `json:"MaximumRetryAttempts"`
	MaximumEventAgeInSeconds *int               `json:"MaximumEventAgeInSeconds"`
	DestinationConfig        *destinationConfig `json:"DestinationConfig"`
}

// destinationConfig is a DestinationConfig, in and out.
type destinationConfig struct {
	OnSuccess *destination `json:"OnSuccess"`
	OnFailure *destination `json:"OnFailure"`
}

// destination is an OnSuccess or OnFailure member.
type destination struct {
	Destination *string `json:"Destination,omitempty"`
}

// eventInvokeConfigWire is a FunctionEventInvokeConfig on the wire.
type eventInvokeConfigWire struct {
	DestinationConfig        destinationConfig `json:"DestinationConfig"`
	FunctionArn              string            `json:"FunctionArn"`
	LastModified             json.Number       `json:"LastModified"`
	MaximumEventAgeInSeconds *int              `json:"MaximumEventAgeInSeconds,omitempty"`
	MaximumRetryAttempts     *int              `json:"MaximumRetryAttempts,omitempty"`
}

func eventInvokeConfigOf(e *service.EventInvokeConfigEntry) eventInvokeConfigWire {
	c := e.Config
	dest := func(arn string) *destination {
		if arn == "" {
			return &destination{}
		}
		return &destination{Destination: &arn}
	}
	return eventInvokeConfigWire{
		DestinationConfig:        destinationConfig{OnSuccess: dest(c.OnSuccess), OnFailure: dest(c.OnFailure)},
		FunctionArn:              e.FunctionARN,
		LastModified:             json.Number(strconv.FormatFloat(float64(c.LastModified.UnixMilli())/1000, 'f', 3, 64)),
		MaximumEventAgeInSeconds: c.MaximumEventAgeInSeconds,
		MaximumRetryAttempts:     c.MaximumRetryAttempts,
	}
}

// validate adds the model-constraint violations of the members to v and
// returns them as the service's input.
func (req *eventInvokeConfigRequest) validate(v *sluice.Violations) service.EventInvokeConfigInput {
	validateRange(req.MaximumRetryAttempts, "maximumRetryAttempts", 0, sluice.MaxRetryAttempts, v)
	validateRange(req.MaximumEventAgeInSeconds, "maximumEventAgeInSeconds", sluice.MinEventAge, sluice.MaxEventAge, v)
	in := service.EventInvokeConfigInput{MaximumRetryAttempts: req.MaximumRetryAttempts, MaximumEventAgeInSeconds: req.MaximumEventAgeInSeconds}
	if d := req.DestinationConfig; d != nil {
		in.Destinations = &service.Destinations{
			OnSuccess: validateDestination(d.OnSuccess, "destinationConfig.onSuccess.destination", v),
			OnFailure: validateDestination(d.OnFailure, "destinationConfig.onFailure.destination", v),
		}
	}
	return in
}

// validateDestination checks a destination's ARN and returns it ("" for
// none).
func validateDestination(d *destination, field string, v *sluice.Violations) string {
	if d == nil || d.Destination == nil {
		return ""
	}
	arn := *d.Destination
	if utf8.RuneCountInString(arn) > sluice.MaxDestinationARNLength {
		v.Add(arn, field, fmt.Sprintf("Member must have length less than or equal to %d", sluice.MaxDestinationARNLength))
	}
	if !destinationARNRE.MatchString(arn) {
		v.Add(arn, field, "Member must satisfy regular expression pattern: "+destinationARNPattern)
	}
	return arn
}

// parseEventInvokeConfigRequest reads the target and the body of a Put or
// an Update, in Lambda's order: body JSON, name and qualifier, members.
func (s *Server) parseEventInvokeConfigRequest(r *http.Request, body []byte) (*service.Service, sluice.FunctionRef, string, service.EventInvokeConfigInput, error) {
	var req eventInvokeConfigRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, sluice.FunctionRef{}, "", service.EventInvokeConfigInput{}, err
	}
	var v sluice.Violations
	ref, qualifier := parseRef(r, &v)
	in := req.validate(&v)
	if err := v.Err(); err != nil {
		return nil, ref, "", in, err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return nil, ref, "", in, err
	}
	return svc, ref, qualifier, in, nil
}

// eventConfigTarget reads the target of a Get or a Delete.
func (s *Server) eventConfigTarget(r *http.Request) (*service.Service, sluice.FunctionRef, string, error) {
	var v sluice.Violations
	ref, qualifier := parseRef(r, &v)
	if err := v.Err(); err != nil {
		return nil, ref, "", err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return nil, ref, "", err
	}
	return svc, ref, qualifier, nil
}

// putFunctionEventInvokeConfig is PutFunctionEventInvokeConfig:
// PUT /2019-09-25/functions/{name}/event-invoke-config, 200. It replaces
// the whole configuration.
func (s *Server) putFunctionEventInvokeConfig(w http.ResponseWriter, r *http.Request, body []byte) error {
	svc, ref, qualifier, in, err := s.parseEventInvokeConfigRequest(r, body)
	if err != nil {
		return err
	}
	e, err := svc.PutFunctionEventInvokeConfig(r.Context(), ref, qualifier, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, eventInvokeConfigOf(e))
}

// updateFunctionEventInvokeConfig is UpdateFunctionEventInvokeConfig:
// POST /2019-09-25/functions/{name}/event-invoke-config, 200. It changes
// the members it is given of an existing configuration.
func (s *Server) updateFunctionEventInvokeConfig(w http.ResponseWriter, r *http.Request, body []byte) error {
	svc, ref, qualifier, in, err := s.parseEventInvokeConfigRequest(r, body)
	if err != nil {
		return err
	}
	e, err := svc.UpdateFunctionEventInvokeConfig(r.Context(), ref, qualifier, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, eventInvokeConfigOf(e))
}

// getFunctionEventInvokeConfig is GetFunctionEventInvokeConfig:
// GET /2019-09-25/functions/{name}/event-invoke-config, 200.
func (s *Server) getFunctionEventInvokeConfig(w http.ResponseWriter, r *http.Request, _ []byte) error {
	svc, ref, qualifier, err := s.eventConfigTarget(r)
	if err != nil {
		return err
	}
	e, err := svc.GetFunctionEventInvokeConfig(r.Context(), ref, qualifier)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, eventInvokeConfigOf(e))
}

// deleteFunctionEventInvokeConfig is DeleteFunctionEventInvokeConfig:
// DELETE /2019-09-25/functions/{name}/event-invoke-config, 204.
func (s *Server) deleteFunctionEventInvokeConfig(w http.ResponseWriter, r *http.Request, _ []byte) error {
	svc, ref, qualifier, err := s.eventConfigTarget(r)
	if err != nil {
		return err
	}
	if err := svc.DeleteFunctionEventInvokeConfig(r.Context(), ref, qualifier); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listFunctionEventInvokeConfigs is ListFunctionEventInvokeConfigs:
// GET /2019-09-25/functions/{name}/event-invoke-config/list, 200.
func (s *Server) listFunctionEventInvokeConfigs(w http.ResponseWriter, r *http.Request, _ []byte) error {
	var v sluice.Violations
	ref, _ := sluice.ParseFunctionName(r.PathValue("name"), &v)
	limit, err := maxItemsIn(r, &v, sluice.MaxEventInvokeConfigsPerPage, sluice.MaxEventInvokeConfigsPerPage)
	if err != nil {
		return err
	}
	if err := v.Err(); err != nil {
		return err
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	list, next, err := svc.ListFunctionEventInvokeConfigs(r.Context(), ref, r.URL.Query().Get("Marker"), limit)
	if err != nil {
		return err
	}
	resp := struct {
		FunctionEventInvokeConfigs []eventInvokeConfigWire `json:"FunctionEventInvokeConfigs"`
		NextMarker                 string                  `json:"NextMarker,omitempty"`
	}{FunctionEventInvokeConfigs: []eventInvokeConfigWire{}, NextMarker: next}
	for _, e := range list {
		resp.FunctionEventInvokeConfigs = append(resp.FunctionEventInvokeConfigs, eventInvokeConfigOf(e))
	}
	return writeJSON(w, http.StatusOK, resp)
}

// deadLetterConfig is the DeadLetterConfig member of CreateFunction and
// UpdateFunctionConfiguration.
type deadLetterConfig struct {
	TargetArn *string `json:"TargetArn"`
}

// validateDeadLetterConfig adds the model-constraint violations of a
// DeadLetterConfig to v.
func validateDeadLetterConfig(d *deadLetterConfig, v *sluice.Violations) {
	if d == nil || d.TargetArn == nil {
		return
	}
	arn := *d.TargetArn
	if utf8.RuneCountInString(arn) > maxDeadLetterTargetLength {
		v.Add(arn, "deadLetterConfig.targetArn", fmt.Sprintf("Member must have length less than or equal to %d", maxDeadLetterTargetLength))
	}
	if !deadLetterTargetRE.MatchString(arn) {
		v.Add(arn, "deadLetterConfig.targetArn", "Member must satisfy regular expression pattern: "+deadLetterTargetPattern)
	}
}

// checkDeadLetterConfig refuses a dead-letter queue: its targets are SQS
// queues and SNS topics, which sluice does not run (docs/decisions.md,
// "Destinations of asynchronous invocations"). An empty TargetArn, which
// removes a dead-letter queue on AWS, is accepted: there is none.
func checkDeadLetterConfig(d *deadLetterConfig) error {
	if d == nil || d.TargetArn == nil || *d.TargetArn == "" {
		return nil
	}
	return sluice.Errorf(sluice.EInvalidParameter,
		"The DeadLetterConfig target %s is not supported: sluice does not deliver to Amazon SQS or Amazon SNS, it runs Lambda functions only. Send failed events to a Lambda function with PutFunctionEventInvokeConfig's DestinationConfig OnFailure instead.",
		*d.TargetArn)
}
