// Package archtest checks the import rules of docs/architecture.md.
package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/sluice-dev/sluice"

// allowed lists, for each package, the module packages it may import
// (non-test code). A package missing here may import nothing of ours.
var allowed = map[string][]string{
	"":                         {},
	"cmd/sluice":               {"", "internal/api", "internal/artifacts", "internal/async", "internal/asyncq", "internal/bolt", "internal/cgroup", "internal/concurrency", "internal/furl", "internal/hotreload", "internal/invoke", "internal/pool", "internal/runtimes", "internal/runtimes/nodejs", "internal/runtimes/python", "internal/sandbox", "internal/sandboxnet", "internal/service", "internal/sigv4", "internal/iam", "internal/urlserver", "internal/logstore", "internal/logsapi", "internal/metrics"},
	"cmd/sluicebench":          {"", "internal/eventstream", "internal/lambdaclient"},
	"internal/api":             {"", "internal/artifacts", "internal/coalesce", "internal/concurrency", "internal/eventstream", "internal/furl", "internal/service", "internal/sigv4", "internal/iam"},
	"internal/invoke":          {"", "internal/pool", "internal/sandbox", "internal/concurrency", "internal/hotreload"},
	"internal/hotreload":       {""},
	"internal/concurrency":     {""},
	"internal/pool":            {""},
	"internal/sandbox":         {"", "internal/runtimeapi", "internal/cgroup", "internal/peercred", "internal/sandboxnet"},
	"internal/sandboxnet":      {},
	"internal/cgroup":          {},
	"internal/peercred":        {},
	"internal/runtimeapi":      {""},
	"internal/bolt":            {""},
	"internal/asyncq":          {},
	"internal/async":           {"", "internal/asyncq", "internal/service"},
	"internal/artifacts":       {""},
	"internal/sigv4":           {""},
	"internal/iam":             {""},
	"internal/eventstream":     {},
	"internal/coalesce":        {},
	"internal/sluicetest":      {""},
	"internal/lambdaclient":    {},
	"internal/parity":          {}, // the harness imports no sluice package; its tests import api, service, bolt, artifacts, sigv4, lambdaclient
	"internal/testfunction":    {},
	"internal/archtest":        {},
	"internal/runtimes/nodejs": {},
	"internal/runtimes":        {"", "internal/sandbox"},
	"internal/urlserver":       {"", "internal/coalesce", "internal/furl", "internal/iam", "internal/service", "internal/sigv4"},
	"internal/furl":            {""},
	"internal/service":         {"", "internal/artifacts", "internal/concurrency", "internal/hotreload", "internal/lineage"},
	"internal/lineage":         {},
	"internal/browsertest":     {},
	"internal/runtimes/python": {},
	"internal/logstore":        {""},
	"internal/logsapi":         {"", "internal/iam", "internal/logstore", "internal/sigv4"},
	"internal/metrics":         {""},
}

// forbiddenStd lists standard-library packages a package must not import.
var forbiddenStd = map[string][]string{
	"":                 {"net/http", "os/exec", "testing"},
	"internal/service": {"net/http"},
}

type pkg struct {
	ImportPath string
	Imports    []string
}

func TestImports(t *testing.T) {
	cmd := exec.Command("go", "list", "-json", module+"/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		seen++
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		ok, known := allowed[rel]
		if !known {
			t.Errorf("package %q is not in the import table of docs/architecture.md (internal/archtest)", p.ImportPath)
			continue
		}
		for _, imp := range p.Imports {
			if imp == module || strings.HasPrefix(imp, module+"/") {
				r := strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")
				if !contains(ok, r) {
					t.Errorf("%s imports %s, which docs/architecture.md does not allow", p.ImportPath, imp)
				}
			}
			if contains(forbiddenStd[rel], imp) {
				t.Errorf("%s imports %s, which it must not", p.ImportPath, imp)
			}
			if imp == "testing" && rel != "internal/sluicetest" && rel != "internal/archtest" {
				t.Errorf("%s imports testing in non-test code", p.ImportPath)
			}
		}
	}
	if seen < 10 {
		t.Fatalf("go list returned only %d packages", seen)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
