package bolt

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice"
)

// recordVersion is the version of functionRecord and aliasRecord written by
// this package. A reader refuses records of a newer version.
//
// Version 1 records lack version, last_update_status_reason,
// last_update_status_reason_code and previous; they read as a $LATEST
// without them. Version 2 added them: a version 1 reader would drop the
// configuration an in-progress update serves. Version 4 added policy (the
// resource-based policy of a $LATEST, version or alias): a version 3
// reader would drop it at the next write of the record. Version 5 added
// settings (tags, recursion and runtime management settings), which a
// version 4 reader would drop the same way. Version 6 added logging (the
// LoggingConfig), which a version 5 reader would drop the same way.
// Version 7 added event_invoke_config (the asynchronous invocation
// configuration of a $LATEST, version or alias), for the same reason.
const recordVersion = 7

// functionRecord is the stored form of a sluice.Function. Its JSON field
// names are the file format: never rename one; add fields, and raise
// recordVersion when old readers would misread new records.
type functionRecord struct {
	V                int               `json:"v"`
	Name             string            `json:"name"`
	Version          string            `json:"version"` // since v2; "" reads as $LATEST
	Runtime          string            `json:"runtime"`
	Role             string            `json:"role"`
	Handler          string            `json:"handler"`
	Description      string            `json:"description"`
	Timeout          int               `json:"timeout"`
	MemorySize       int               `json:"memory_size"`
	EphemeralStorage int               `json:"ephemeral_storage"`
	Architectures    []string          `json:"architectures"`
	Environment      map[string]string `json:"environment"`
	// FileSystems are the function's FileSystemConfigs (since v3).
	FileSystems []fileSystemRecord `json:"file_systems,omitempty"`
	CodeSHA256  string             `json:"code_sha256"`
	CodeSize    int64              `json:"code_size"`
	// LastModified is RFC 3339 with nanoseconds, always in UTC; "" for
	// the zero time.
	LastModified               string `json:"last_modified"`
	RevisionID                 string `json:"revision_id"`
	State                      string `json:"state"`
	StateReason                string `json:"state_reason"`
	StateReasonCode            string `json:"state_reason_code"`
	LastUpdateStatus           string `json:"last_update_status"`
	LastUpdateStatusReason     string `json:"last_update_status_reason"`      // since v2
	LastUpdateStatusReasonCode string `json:"last_update_status_reason_code"` // since v2
	// Previous is the nested record of Function.Previous (since v2),
	// absent when it is nil. A nested record has no previous of its own.
	Previous *functionRecord `json:"previous,omitempty"`
	// Policy is Function.Policy (since v4), absent when it is nil. A
	// nested record has none.
	Policy *policyRecord `json:"policy,omitempty"`
	// Settings is Function.Settings (since v5), absent when it is zero.
	// A nested record has none.
	Settings *settingsRecord `json:"settings,omitempty"`
	// EventInvokeConfig is Function.EventInvokeConfig (since v7), absent
	// when it is nil. A nested record has none.
	EventInvokeConfig *eventInvokeConfigRecord `json:"event_invoke_config,omitempty"`
	// Logging is Function.Logging (since v6), absent when it is zero.
	Logging *loggingRecord `json:"logging,omitempty"`
	// PublishedFrom is Function.PublishedFrom (since v6, optional: a
	// reader that drops it only makes the next PublishVersion compare
	// code and settings as before).
	PublishedFrom string `json:"published_from,omitempty"`
}

// loggingRecord is the stored form of a sluice.LoggingConfig.
type loggingRecord struct {
	LogFormat           string `json:"log_format,omitempty"`
	ApplicationLogLevel string `json:"application_log_level,omitempty"`
	SystemLogLevel      string `json:"system_log_level,omitempty"`
	LogGroup            string `json:"log_group,omitempty"`
}

// settingsRecord is the stored form of a sluice.FunctionSettings.
type settingsRecord struct {
	Tags              map[string]string `json:"tags,omitempty"`
	RecursiveLoop     string            `json:"recursive_loop,omitempty"`
	UpdateRuntimeOn   string            `json:"update_runtime_on,omitempty"`
	RuntimeVersionARN string            `json:"runtime_version_arn,omitempty"`
}

// toSettingsRecord returns the record of s, nil when s is zero.
func toSettingsRecord(s sluice.FunctionSettings) *settingsRecord {
	if len(s.Tags) == 0 && s.RecursiveLoop == "" && s.UpdateRuntimeOn == "" && s.RuntimeVersionARN == "" {
		return nil
	}
	return &settingsRecord{Tags: s.Tags, RecursiveLoop: s.RecursiveLoop, UpdateRuntimeOn: s.UpdateRuntimeOn, RuntimeVersionARN: s.RuntimeVersionARN}
}

// fromSettingsRecord returns the settings r holds, zero for nil.
func fromSettingsRecord(r *settingsRecord) sluice.FunctionSettings {
	if r == nil {
		return sluice.FunctionSettings{}
	}
	s := sluice.FunctionSettings{RecursiveLoop: r.RecursiveLoop, UpdateRuntimeOn: r.UpdateRuntimeOn, RuntimeVersionARN: r.RuntimeVersionARN}
	if len(r.Tags) > 0 {
		s.Tags = r.Tags
	}
	return s
}

// policyRecord is the stored form of a sluice.FunctionPolicy.
type policyRecord struct {
	RevisionID string            `json:"revision_id"`
	Statements []statementRecord `json:"statements"`
}

// statementRecord is one sluice.PermissionStatement.
type statementRecord struct {
	Sid                   string `json:"sid"`
	Action                string `json:"action"`
	Principal             string `json:"principal"`
	SourceARN             string `json:"source_arn,omitempty"`
	SourceAccount         string `json:"source_account,omitempty"`
	EventSourceToken      string `json:"event_source_token,omitempty"`
	PrincipalOrgID        string `json:"principal_org_id,omitempty"`
	FunctionURLAuthType   string `json:"function_url_auth_type,omitempty"`
	InvokedViaFunctionURL bool   `json:"invoked_via_function_url,omitempty"`
}

// toPolicyRecord returns the record of p, nil for nil.
func toPolicyRecord(p *sluice.FunctionPolicy) *policyRecord {
	if p == nil {
		return nil
	}
	r := &policyRecord{RevisionID: p.RevisionID, Statements: make([]statementRecord, len(p.Statements))}
	for i, st := range p.Statements {
		r.Statements[i] = statementRecord{
			Sid: st.StatementID, Action: st.Action, Principal: st.Principal,
			SourceARN: st.SourceARN, SourceAccount: st.SourceAccount, EventSourceToken: st.EventSourceToken,
			PrincipalOrgID: st.PrincipalOrgID, FunctionURLAuthType: st.FunctionURLAuthType,
			InvokedViaFunctionURL: st.InvokedViaFunctionURL,
		}
	}
	return r
}

// fromPolicyRecord returns the policy r holds, nil for nil.
func fromPolicyRecord(r *policyRecord) *sluice.FunctionPolicy {
	if r == nil {
		return nil
	}
	p := &sluice.FunctionPolicy{RevisionID: r.RevisionID, Statements: make([]sluice.PermissionStatement, len(r.Statements))}
	for i, st := range r.Statements {
		p.Statements[i] = sluice.PermissionStatement{
			StatementID: st.Sid, Action: st.Action, Principal: st.Principal,
			SourceARN: st.SourceARN, SourceAccount: st.SourceAccount, EventSourceToken: st.EventSourceToken,
			PrincipalOrgID: st.PrincipalOrgID, FunctionURLAuthType: st.FunctionURLAuthType,
			InvokedViaFunctionURL: st.InvokedViaFunctionURL,
		}
	}
	return p
}

// fileSystemRecord is one sluice.FileSystemConfig.
type fileSystemRecord struct {
	ARN            string `json:"arn"`
	LocalMountPath string `json:"local_mount_path"`
}

// aliasRecord is the stored form of a sluice.Alias, versioned like
// functionRecord (aliases exist since record version 2).
type aliasRecord struct {
	V                        int                `json:"v"`
	FunctionName             string             `json:"function_name"`
	Name                     string             `json:"name"`
	FunctionVersion          string             `json:"function_version"`
	Description              string             `json:"description"`
	AdditionalVersionWeights map[string]float64 `json:"additional_version_weights"`
	RevisionID               string             `json:"revision_id"`
	Policy                   *policyRecord      `json:"policy,omitempty"` // since v4
	// EventInvokeConfig is Alias.EventInvokeConfig (since v7).
	EventInvokeConfig *eventInvokeConfigRecord `json:"event_invoke_config,omitempty"`
}

// toRecord returns the record of fn. A nested record (of a Previous) has no
// previous of its own, and its empty version is stored as $LATEST.
func toRecord(fn *sluice.Function, nested bool) *functionRecord {
	r := &functionRecord{
		V:                          recordVersion,
		Name:                       fn.Name,
		Version:                    fn.Version,
		Runtime:                    fn.Runtime,
		Role:                       fn.Role,
		Handler:                    fn.Handler,
		Description:                fn.Description,
		Timeout:                    fn.Timeout,
		MemorySize:                 fn.MemorySize,
		EphemeralStorage:           fn.EphemeralStorage,
		Architectures:              fn.Architectures,
		Environment:                fn.Environment,
		CodeSHA256:                 fn.CodeSHA256,
		CodeSize:                   fn.CodeSize,
		RevisionID:                 fn.RevisionID,
		State:                      fn.State,
		StateReason:                fn.StateReason,
		StateReasonCode:            fn.StateReasonCode,
		LastUpdateStatus:           fn.LastUpdateStatus,
		LastUpdateStatusReason:     fn.LastUpdateStatusReason,
		LastUpdateStatusReasonCode: fn.LastUpdateStatusReasonCode,
		PublishedFrom:              fn.PublishedFrom,
	}
	if !fn.LastModified.IsZero() {
		r.LastModified = fn.LastModified.UTC().Format(time.RFC3339Nano)
	}
	for _, c := range fn.FileSystemConfigs {
		r.FileSystems = append(r.FileSystems, fileSystemRecord{ARN: c.ARN, LocalMountPath: c.LocalMountPath})
	}
	if fn.Logging != (sluice.LoggingConfig{}) {
		l := fn.Logging
		r.Logging = &loggingRecord{LogFormat: l.LogFormat, ApplicationLogLevel: l.ApplicationLogLevel, SystemLogLevel: l.SystemLogLevel, LogGroup: l.LogGroup}
	}
	if fn.Previous != nil && !nested {
		r.Previous = toRecord(fn.Previous, true)
	}
	if !nested {
		r.Policy = toPolicyRecord(fn.Policy)
		r.Settings = toSettingsRecord(fn.Settings)
		r.EventInvokeConfig = toEventInvokeConfigRecord(fn.EventInvokeConfig)
	}
	if nested && r.Version == "" {
		r.Version = sluice.LatestVersion // Previous is a $LATEST
	}
	return r
}

// fromRecord returns the function r holds; key names it in errors. A
// nested record's previous is ignored.
func fromRecord(key string, r *functionRecord, nested bool) (*sluice.Function, error) {
	fn := &sluice.Function{
		Name:                       r.Name,
		Version:                    r.Version,
		Runtime:                    r.Runtime,
		Role:                       r.Role,
		Handler:                    r.Handler,
		Description:                r.Description,
		Timeout:                    r.Timeout,
		MemorySize:                 r.MemorySize,
		EphemeralStorage:           r.EphemeralStorage,
		Architectures:              r.Architectures,
		Environment:                r.Environment,
		CodeSHA256:                 r.CodeSHA256,
		CodeSize:                   r.CodeSize,
		RevisionID:                 r.RevisionID,
		State:                      r.State,
		StateReason:                r.StateReason,
		StateReasonCode:            r.StateReasonCode,
		LastUpdateStatus:           r.LastUpdateStatus,
		LastUpdateStatusReason:     r.LastUpdateStatusReason,
		LastUpdateStatusReasonCode: r.LastUpdateStatusReasonCode,
		PublishedFrom:              r.PublishedFrom,
	}
	for _, c := range r.FileSystems {
		fn.FileSystemConfigs = append(fn.FileSystemConfigs, sluice.FileSystemConfig{ARN: c.ARN, LocalMountPath: c.LocalMountPath})
	}
	if l := r.Logging; l != nil {
		fn.Logging = sluice.LoggingConfig{LogFormat: l.LogFormat, ApplicationLogLevel: l.ApplicationLogLevel, SystemLogLevel: l.SystemLogLevel, LogGroup: l.LogGroup}
	}
	if r.LastModified != "" {
		t, err := time.Parse(time.RFC3339Nano, r.LastModified)
		if err != nil {
			return nil, wrap(fmt.Errorf("decode function %s: last_modified: %w", key, err))
		}
		fn.LastModified = t.UTC()
	}
	if r.Previous != nil && !nested {
		prev, err := fromRecord(key+" (previous)", r.Previous, true)
		if err != nil {
			return nil, err
		}
		fn.Previous = prev
	}
	if !nested {
		fn.Policy = fromPolicyRecord(r.Policy)
		fn.Settings = fromSettingsRecord(r.Settings)
		eic, err := fromEventInvokeConfigRecord(key, r.EventInvokeConfig)
		if err != nil {
			return nil, err
		}
		fn.EventInvokeConfig = eic
	}
	return fn, nil
}

// encode returns the stored form of fn.
func encode(fn *sluice.Function) ([]byte, error) {
	b, err := json.Marshal(toRecord(fn, false))
	if err != nil {
		return nil, wrap(fmt.Errorf("encode function %s: %w", fn.Name, err))
	}
	return b, nil
}

// decode returns the function stored under key as value; version is the
// version the record must hold: LatestVersion for the functions bucket
// (where a record without a version, written by record version 1, is
// read as $LATEST), or the decimal number of a published version. The
// result shares no memory with value, which bbolt owns.
func decode(key, version string, value []byte) (*sluice.Function, error) {
	var r functionRecord
	if err := json.Unmarshal(value, &r); err != nil {
		return nil, wrap(fmt.Errorf("decode function %s: %w", key, err))
	}
	if r.V < 1 || r.V > recordVersion {
		return nil, wrap(fmt.Errorf("decode function %s: record version %d is not supported (this sluice supports up to %d)", key, r.V, recordVersion))
	}
	if r.Name != key {
		return nil, wrap(fmt.Errorf("decode function %s: record holds name %q", key, r.Name))
	}
	if version == sluice.LatestVersion && r.Version == "" {
		r.Version = sluice.LatestVersion
	}
	if r.Version != version {
		return nil, wrap(fmt.Errorf("decode function %s: record holds version %q, want %q", key, r.Version, version))
	}
	return fromRecord(key, &r, false)
}

// encodeAlias returns the stored form of a.
func encodeAlias(a *sluice.Alias) ([]byte, error) {
	b, err := json.Marshal(&aliasRecord{
		V:                        recordVersion,
		FunctionName:             a.FunctionName,
		Name:                     a.Name,
		FunctionVersion:          a.FunctionVersion,
		Description:              a.Description,
		AdditionalVersionWeights: a.AdditionalVersionWeights,
		RevisionID:               a.RevisionID,
		Policy:                   toPolicyRecord(a.Policy),
		EventInvokeConfig:        toEventInvokeConfigRecord(a.EventInvokeConfig),
	})
	if err != nil {
		return nil, wrap(fmt.Errorf("encode alias %s:%s: %w", a.FunctionName, a.Name, err))
	}
	return b, nil
}

// decodeAlias returns the alias name of function stored as value. The
// result shares no memory with value.
func decodeAlias(function, name string, value []byte) (*sluice.Alias, error) {
	var r aliasRecord
	if err := json.Unmarshal(value, &r); err != nil {
		return nil, wrap(fmt.Errorf("decode alias %s:%s: %w", function, name, err))
	}
	if r.V < 2 || r.V > recordVersion {
		return nil, wrap(fmt.Errorf("decode alias %s:%s: record version %d is not supported (this sluice supports 2 to %d)", function, name, r.V, recordVersion))
	}
	if r.FunctionName != function || r.Name != name {
		return nil, wrap(fmt.Errorf("decode alias %s:%s: record holds alias %s:%s", function, name, r.FunctionName, r.Name))
	}
	eic, err := fromEventInvokeConfigRecord(function+":"+name, r.EventInvokeConfig)
	if err != nil {
		return nil, err
	}
	return &sluice.Alias{
		EventInvokeConfig:        eic,
		FunctionName:             r.FunctionName,
		Name:                     r.Name,
		FunctionVersion:          r.FunctionVersion,
		Description:              r.Description,
		AdditionalVersionWeights: r.AdditionalVersionWeights,
		RevisionID:               r.RevisionID,
		Policy:                   fromPolicyRecord(r.Policy),
	}, nil
}
