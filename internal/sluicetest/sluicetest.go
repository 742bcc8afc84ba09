// Package sluicetest holds contract test suites for the interfaces of the
// root sluice package. Each adapter's tests run the suite of the interface it
// implements, so every implementation is held to the same behaviour.
//
// Only _test.go files import this package.
package sluicetest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sluice-dev/sluice"
)

// SampleFunction returns a function named name with every field set to a
// non-zero value, as a store must round-trip it. Its LastModified is at
// millisecond precision in UTC, the precision the Lambda API shows.
func SampleFunction(name string) *sluice.Function {
	return &sluice.Function{
		Name:             name,
		Runtime:          "provided.al2023",
		Role:             "arn:aws:iam::123456789012:role/lambda-role",
		Handler:          "bootstrap",
		Description:      "a function named " + name + " with ünïcode and \"quotes\"",
		Timeout:          30,
		MemorySize:       256,
		EphemeralStorage: 1024,
		Architectures:    []string{"x86_64"},
		Environment: map[string]string{
			"GREETING": "hello",
			"EMPTY":    "",
			"JSON":     `{"a":[1,2]}`,
		},
		FileSystemConfigs: []sluice.FileSystemConfig{{ARN: "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0", LocalMountPath: "/mnt/data"}},
		CodeSHA256:        strings.Repeat("ab", 32),
		CodeSize:          123456,
		LastModified:      time.Date(2024, 5, 17, 9, 30, 15, 123_000_000, time.UTC),
		RevisionID:        "5f0a1b2c-3d4e-4f60-8a7b-9c0d1e2f3a4b",
		State:             sluice.StateActive,
		StateReason:       "reason text",
		StateReasonCode:   "Idle",
		LastUpdateStatus:  sluice.UpdateSuccessful,
	}
}

// DiffFunction describes how got differs from want, or returns "" when they
// are equal. Nil and empty Architectures or Environment are equal, an empty
// Version equals LatestVersion, times are compared as instants, got's
// LastModified must be in UTC when want's is, and Previous is compared the
// same way.
func DiffFunction(want, got *sluice.Function) string {
	switch {
	case want == nil && got == nil:
		return ""
	case want == nil:
		return fmt.Sprintf("got %+v, want nil", got)
	case got == nil:
		return "got nil function"
	}
	var d []string
	add := func(field string, w, g any) {
		d = append(d, fmt.Sprintf("%s: got %#v, want %#v", field, g, w))
	}
	if want.Name != got.Name {
		add("Name", want.Name, got.Name)
	}
	if want.VersionOrLatest() != got.VersionOrLatest() {
		add("Version", want.VersionOrLatest(), got.VersionOrLatest())
	}
	if want.Runtime != got.Runtime {
		add("Runtime", want.Runtime, got.Runtime)
	}
	if want.Role != got.Role {
		add("Role", want.Role, got.Role)
	}
	if want.Handler != got.Handler {
		add("Handler", want.Handler, got.Handler)
	}
	if want.Description != got.Description {
		add("Description", want.Description, got.Description)
	}
	if want.Timeout != got.Timeout {
		add("Timeout", want.Timeout, got.Timeout)
	}
	if want.MemorySize != got.MemorySize {
		add("MemorySize", want.MemorySize, got.MemorySize)
	}
	if want.EphemeralStorage != got.EphemeralStorage {
		add("EphemeralStorage", want.EphemeralStorage, got.EphemeralStorage)
	}
	if !slices.Equal(want.Architectures, got.Architectures) {
		add("Architectures", want.Architectures, got.Architectures)
	}
	if !maps.Equal(want.Environment, got.Environment) {
		add("Environment", want.Environment, got.Environment)
	}
	if !slices.Equal(want.FileSystemConfigs, got.FileSystemConfigs) {
		add("FileSystemConfigs", want.FileSystemConfigs, got.FileSystemConfigs)
	}
	if want.CodeSHA256 != got.CodeSHA256 {
		add("CodeSHA256", want.CodeSHA256, got.CodeSHA256)
	}
	if want.CodeSize != got.CodeSize {
		add("CodeSize", want.CodeSize, got.CodeSize)
	}
	if !want.LastModified.Equal(got.LastModified) {
		add("LastModified", want.LastModified.Format(time.RFC3339Nano), got.LastModified.Format(time.RFC3339Nano))
	} else if want.LastModified.Location() == time.UTC && got.LastModified.Location() != time.UTC {
		d = append(d, fmt.Sprintf("LastModified: location %s, want UTC", got.LastModified.Location()))
	}
	if want.RevisionID != got.RevisionID {
		add("RevisionID", want.RevisionID, got.RevisionID)
	}
	if want.State != got.State {
		add("State", want.State, got.State)
	}
	if want.StateReason != got.StateReason {
		add("StateReason", want.StateReason, got.StateReason)
	}
	if want.StateReasonCode != got.StateReasonCode {
		add("StateReasonCode", want.StateReasonCode, got.StateReasonCode)
	}
	if want.LastUpdateStatus != got.LastUpdateStatus {
		add("LastUpdateStatus", want.LastUpdateStatus, got.LastUpdateStatus)
	}
	if want.LastUpdateStatusReason != got.LastUpdateStatusReason {
		add("LastUpdateStatusReason", want.LastUpdateStatusReason, got.LastUpdateStatusReason)
	}
	if want.LastUpdateStatusReasonCode != got.LastUpdateStatusReasonCode {
		add("LastUpdateStatusReasonCode", want.LastUpdateStatusReasonCode, got.LastUpdateStatusReasonCode)
	}
	if want.PublishedFrom != got.PublishedFrom {
		add("PublishedFrom", want.PublishedFrom, got.PublishedFrom)
	}
	if pd := DiffPolicy(want.Policy, got.Policy); pd != "" {
		d = append(d, "Policy: "+pd)
	}
	if ed := DiffEventInvokeConfig(want.EventInvokeConfig, got.EventInvokeConfig); ed != "" {
		d = append(d, "EventInvokeConfig: "+ed)
	}
	switch {
	case want.Previous == nil && got.Previous != nil:
		d = append(d, fmt.Sprintf("Previous: got %+v, want nil", got.Previous))
	case want.Previous != nil && got.Previous == nil:
		d = append(d, "Previous: got nil, want a function")
	case want.Previous != nil:
		if pd := DiffFunction(want.Previous, got.Previous); pd != "" {
			d = append(d, "Previous: {"+pd+"}")
		}
	}
	return strings.Join(d, "; ")
}

// SampleAlias returns an alias named name of function pointing to version,
// with every other field but AdditionalVersionWeights set.
func SampleAlias(function, name, version string) *sluice.Alias {
	return &sluice.Alias{
		FunctionName:    function,
		Name:            name,
		FunctionVersion: version,
		Description:     "alias " + name + " of " + function + " with ünïcode",
		RevisionID:      "rev-alias-" + name,
	}
}

// DiffAlias describes how got differs from want, or returns "" when they
// are equal. Nil and empty AdditionalVersionWeights are equal.
func DiffAlias(want, got *sluice.Alias) string {
	switch {
	case want == nil && got == nil:
		return ""
	case want == nil:
		return fmt.Sprintf("got %+v, want nil", got)
	case got == nil:
		return "got nil alias"
	}
	var d []string
	add := func(field string, w, g any) {
		d = append(d, fmt.Sprintf("%s: got %#v, want %#v", field, g, w))
	}
	if want.FunctionName != got.FunctionName {
		add("FunctionName", want.FunctionName, got.FunctionName)
	}
	if want.Name != got.Name {
		add("Name", want.Name, got.Name)
	}
	if want.FunctionVersion != got.FunctionVersion {
		add("FunctionVersion", want.FunctionVersion, got.FunctionVersion)
	}
	if want.Description != got.Description {
		add("Description", want.Description, got.Description)
	}
	if !maps.Equal(want.AdditionalVersionWeights, got.AdditionalVersionWeights) {
		add("AdditionalVersionWeights", want.AdditionalVersionWeights, got.AdditionalVersionWeights)
	}
	if want.RevisionID != got.RevisionID {
		add("RevisionID", want.RevisionID, got.RevisionID)
	}
	if pd := DiffPolicy(want.Policy, got.Policy); pd != "" {
		d = append(d, "Policy: "+pd)
	}
	if ed := DiffEventInvokeConfig(want.EventInvokeConfig, got.EventInvokeConfig); ed != "" {
		d = append(d, "EventInvokeConfig: "+ed)
	}
	return strings.Join(d, "; ")
}

// SamplePolicy returns a policy of revision rev with one statement per
// sid, each with a different mix of members set (every member is set in
// at least one of the first four).
func SamplePolicy(rev string, sids ...string) *sluice.FunctionPolicy {
	p := &sluice.FunctionPolicy{RevisionID: rev}
	for i, sid := range sids {
		st := sluice.PermissionStatement{StatementID: sid, Action: sluice.ActionInvokeFunction}
		switch i % 4 {
		case 0:
			st.Principal, st.SourceARN = "s3.amazonaws.com", "arn:aws:s3:::bucket-"+sid
		case 1:
			st.Principal, st.SourceAccount = "111122223333", "111122223333"
		case 2:
			st.Principal, st.Action, st.FunctionURLAuthType = "*", sluice.ActionInvokeFunctionURL, sluice.URLAuthNone
			st.EventSourceToken, st.PrincipalOrgID = "amzn1.ask.skill.ünïcode", "o-abcdefghij"
		case 3:
			st.Principal, st.InvokedViaFunctionURL = "arn:aws:iam::111122223333:role/caller", true
		}
		p.Statements = append(p.Statements, st)
	}
	return p
}

// DiffPolicy describes how got differs from want, or returns "" when they
// are equal. nil (no policy) differs from a policy without statements.
func DiffPolicy(want, got *sluice.FunctionPolicy) string {
	switch {
	case want == nil && got == nil:
		return ""
	case want == nil:
		return fmt.Sprintf("got %+v, want nil", *got)
	case got == nil:
		return fmt.Sprintf("got nil, want %+v", *want)
	}
	var d []string
	if want.RevisionID != got.RevisionID {
		d = append(d, fmt.Sprintf("RevisionID: got %q, want %q", got.RevisionID, want.RevisionID))
	}
	if !slices.Equal(want.Statements, got.Statements) {
		d = append(d, fmt.Sprintf("Statements: got %+v, want %+v", got.Statements, want.Statements))
	}
	return strings.Join(d, "; ")
}
