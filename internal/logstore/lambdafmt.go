package logstore

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// LineFunc rewrites one line (its newline included) stamped now before it
// is stored; keep false drops it.
type LineFunc func(line string, now time.Time) (out string, keep bool)

// LambdaJSON is the LineFunc of a function whose LoggingConfig.LogFormat
// is JSON: sluice's platform lines (INIT_START, START, END, REPORT,
// INIT_REPORT) become the JSON records Lambda writes (platform.initStart,
// platform.start, platform.runtimeDone, platform.report,
// platform.initReport); the function's own lines stay as it wrote them
// (runtimes that honour AWS_LAMBDA_LOG_FORMAT write JSON themselves).
// With systemLevel WARN, ERROR or FATAL the INFO records (all but
// initReport) are dropped, as Lambda's SystemLogLevel does. END is held
// until its REPORT, whose status it takes.
func LambdaJSON(function, version, systemLevel string) LineFunc {
	quiet := systemLevel == "WARN" || systemLevel == "ERROR" || systemLevel == "FATAL"
	var heldEnd string // the request id of an END waiting for its REPORT
	return func(line string, now time.Time) (string, bool) {
		text := strings.TrimSuffix(line, "\n")
		rec := func(typ string, record map[string]any, info bool) (string, bool) {
			if info && quiet {
				return "", false
			}
			b, _ := json.Marshal(struct {
				Time   string         `json:"time"`
				Type   string         `json:"type"`
				Record map[string]any `json:"record"`
			}{now.UTC().Format("2006-01-02T15:04:05.000Z"), typ, record})
			return string(b) + "\n", true
		}
		if heldEnd != "" {
			id := heldEnd
			heldEnd = ""
			if rest, ok := strings.CutPrefix(text, "REPORT RequestId: "+id+"\t"); ok {
				f := tabFields(rest)
				status := "success"
				if s := f["Status"]; s != "" {
					status = s
				}
				done := map[string]any{"requestId": id, "status": status}
				report := map[string]any{"requestId": id, "status": status, "metrics": map[string]any{
					"durationMs": num(f["Duration"]), "billedDurationMs": num(f["Billed Duration"]),
					"memorySizeMB": num(f["Memory Size"]), "maxMemoryUsedMB": num(f["Max Memory Used"]),
				}}
				if d := f["Init Duration"]; d != "" {
					report["metrics"].(map[string]any)["initDurationMs"] = num(d)
				}
				if e := f["Error Type"]; e != "" {
					done["errorType"], report["errorType"] = e, e
				}
				a, keepA := rec("platform.runtimeDone", done, true)
				b, keepB := rec("platform.report", report, true)
				if !keepA && !keepB {
					return "", false
				}
				return a + b, true
			}
			// An END without its REPORT: as it is, then this line.
			end, _ := rec("platform.runtimeDone", map[string]any{"requestId": id, "status": "success"}, true)
			out, keep := lambdaJSONLine(text, line, rec, &heldEnd, function, version)
			if !keep {
				return end, end != ""
			}
			return end + out, true
		}
		return lambdaJSONLine(text, line, rec, &heldEnd, function, version)
	}
}

func lambdaJSONLine(text, line string, rec func(string, map[string]any, bool) (string, bool), heldEnd *string, function, version string) (string, bool) {
	switch {
	case strings.HasPrefix(text, "START RequestId: "):
		id, v, _ := strings.Cut(strings.TrimPrefix(text, "START RequestId: "), " Version: ")
		return rec("platform.start", map[string]any{"requestId": id, "version": v}, true)
	case strings.HasPrefix(text, "END RequestId: "):
		*heldEnd = strings.TrimPrefix(text, "END RequestId: ")
		return "", false
	case strings.HasPrefix(text, "INIT_START Runtime Version: "):
		return rec("platform.initStart", map[string]any{"initializationType": "on-demand", "phase": "init",
			"runtimeVersion": strings.TrimPrefix(text, "INIT_START Runtime Version: "), "functionName": function, "functionVersion": version}, true)
	case strings.HasPrefix(text, "INIT_REPORT "):
		f := tabFields(strings.TrimPrefix(text, "INIT_REPORT "))
		r := map[string]any{"initializationType": "on-demand", "phase": "init", "status": f["Status"], "metrics": map[string]any{"durationMs": num(f["Init Duration"])}}
		if e := f["Error Type"]; e != "" {
			r["errorType"] = e
		}
		return rec("platform.initReport", r, false)
	}
	return line, true
}

// tabFields reads "Key: value\tKey: value" (units after the number cut
// by num).
func tabFields(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(s, "\t") {
		if k, v, ok := strings.Cut(kv, ": "); ok {
			m[k] = v
		}
	}
	return m
}

// num is the number of "12.34 ms" or "128 MB".
func num(s string) float64 {
	n, _, _ := strings.Cut(s, " ")
	f, _ := strconv.ParseFloat(n, 64)
	return f
}
