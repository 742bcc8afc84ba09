package bolt

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice"
)

// recordVersion is the version of functionRecord written by encode. A
// reader refuses records of a newer version.
const recordVersion = 1

// functionRecord is the stored form of a sluice.Function. Its JSON field
// names are the file format: never rename one; add fields, and raise
// recordVersion when old readers would misread new records.
type functionRecord struct {
	V                int               `json:"v"`
	Name             string            `json:"name"`
	Runtime          string            `json:"runtime"`
	Role             string            `json:"role"`
	Handler          string            `json:"handler"`
	Description      string            `json:"description"`
	Timeout          int               `json:"timeout"`
	MemorySize       int               `json:"memory_size"`
	EphemeralStorage int               `json:"ephemeral_storage"`
	Architectures    []string          `json:"architectures"`
	Environment      map[string]string `json:"environment"`
	CodeSHA256       string            `json:"code_sha256"`
	CodeSize         int64             `json:"code_size"`
	// LastModified is RFC 3339 with nanoseconds, always in UTC; "" for
	// the zero time.
	LastModified     string `json:"last_modified"`
	RevisionID       string `json:"revision_id"`
	State            string `json:"state"`
	StateReason      string `json:"state_reason"`
	StateReasonCode  string `json:"state_reason_code"`
	LastUpdateStatus string `json:"last_update_status"`
}

// encode returns the stored form of fn.
func encode(fn *sluice.Function) ([]byte, error) {
	r := functionRecord{
		V:                recordVersion,
		Name:             fn.Name,
		Runtime:          fn.Runtime,
		Role:             fn.Role,
		Handler:          fn.Handler,
		Description:      fn.Description,
		Timeout:          fn.Timeout,
		MemorySize:       fn.MemorySize,
		EphemeralStorage: fn.EphemeralStorage,
		Architectures:    fn.Architectures,
		Environment:      fn.Environment,
		CodeSHA256:       fn.CodeSHA256,
		CodeSize:         fn.CodeSize,
		RevisionID:       fn.RevisionID,
		State:            fn.State,
		StateReason:      fn.StateReason,
		StateReasonCode:  fn.StateReasonCode,
		LastUpdateStatus: fn.LastUpdateStatus,
	}
	if !fn.LastModified.IsZero() {
		r.LastModified = fn.LastModified.UTC().Format(time.RFC3339Nano)
	}
	b, err := json.Marshal(&r)
	if err != nil {
		return nil, wrap(fmt.Errorf("encode function %s: %w", fn.Name, err))
	}
	return b, nil
}

// decode returns the function stored under key as value. The result shares
// no memory with value, which bbolt owns.
func decode(key string, value []byte) (*sluice.Function, error) {
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
	fn := &sluice.Function{
		Name:             r.Name,
		Runtime:          r.Runtime,
		Role:             r.Role,
		Handler:          r.Handler,
		Description:      r.Description,
		Timeout:          r.Timeout,
		MemorySize:       r.MemorySize,
		EphemeralStorage: r.EphemeralStorage,
		Architectures:    r.Architectures,
		Environment:      r.Environment,
		CodeSHA256:       r.CodeSHA256,
		CodeSize:         r.CodeSize,
		RevisionID:       r.RevisionID,
		State:            r.State,
		StateReason:      r.StateReason,
		StateReasonCode:  r.StateReasonCode,
		LastUpdateStatus: r.LastUpdateStatus,
	}
	if r.LastModified != "" {
		t, err := time.Parse(time.RFC3339Nano, r.LastModified)
		if err != nil {
			return nil, wrap(fmt.Errorf("decode function %s: last_modified: %w", key, err))
		}
		fn.LastModified = t.UTC()
	}
	return fn, nil
}
