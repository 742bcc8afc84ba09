package sluice

import "testing"

// ConfigurationFingerprint tells apart what Fingerprint does, and a
// Description besides; revision, state and timestamps do not count.
func TestConfigurationFingerprint(t *testing.T) {
	base := &Function{Name: "f", Runtime: "python3.12", Handler: "h.h", Timeout: 3, MemorySize: 128, CodeSHA256: "ab", Description: "d"}
	same := base.Clone()
	same.RevisionID, same.State, same.LastUpdateStatus = "other", StatePending, UpdateInProgress
	if base.ConfigurationFingerprint() != same.ConfigurationFingerprint() {
		t.Error("revision and state changed the configuration fingerprint")
	}
	for name, change := range map[string]func(f *Function){
		"Description": func(f *Function) { f.Description = "e" },
		"Timeout":     func(f *Function) { f.Timeout = 4 },
		"code":        func(f *Function) { f.CodeSHA256 = "cd" },
		"Environment": func(f *Function) { f.Environment = map[string]string{"A": "b"} },
	} {
		g := base.Clone()
		change(g)
		if base.ConfigurationFingerprint() == g.ConfigurationFingerprint() {
			t.Errorf("another %s has the same configuration fingerprint", name)
		}
	}
	d := base.Clone()
	d.Description = "e"
	if !base.SameDeployment(d) {
		t.Error("a Description changed the deployment fingerprint")
	}
}
