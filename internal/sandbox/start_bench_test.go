package sandbox

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sluice-dev/sluice"
)

// BenchmarkSlotStart measures one cold start at the driver level: Start
// of an environment running this test binary as its bootstrap, until its
// first invocation has answered (median-ms; init-ms is the part until its
// first GET /next). driver=plain is the bare fork/exec of the same
// bootstrap; driver=slots starts it in a prepared slot (waited for outside
// the timer, until no other is being prepared), with the network "host" or
// "none", and each of its iterations also starts the plain baseline,
// untimed, right after it (once the slots are idle again): x-plain is the ratio of the two medians, the
// figure that means something on a shared machine. Needs root and
// bubblewrap.
//
//	go test -run XXX -bench SlotStart -benchtime 30x ./internal/sandbox
func BenchmarkSlotStart(b *testing.B) {
	type mode struct{ driver, network string }
	for _, m := range []mode{{"plain", ""}, {"slots", NetworkHost}, {"slots", NetworkNone}} {
		name := "driver=" + m.driver
		if m.network != "" {
			name += "/network=" + m.network
		}
		b.Run(name, func(b *testing.B) {
			code := reachableDir(b)
			exe := must(os.Executable())
			if err := os.Link(exe, filepath.Join(code, "bootstrap")); err != nil {
				data := must(os.ReadFile(exe))
				if err := os.WriteFile(filepath.Join(code, "bootstrap"), data, 0o755); err != nil {
					b.Fatal(err)
				}
			}
			fn := &sluice.Function{Name: "fn", Runtime: "provided.al2023", Handler: "env", Timeout: 10, MemorySize: 128,
				EphemeralStorage: sluice.DefaultEphemeralStorage, RevisionID: "r1", Environment: map[string]string{"SLUICE_TEST_RUNTIME": "1"}}
			spec := Spec{Function: fn, CodeDir: code, Scope: sluice.Scope{Region: "us-east-1", Account: "000000000000"}}
			plain := Plain("")
			if m.driver == "plain" {
				var total, inits []time.Duration
				b.ReportAllocs()
				for b.Loop() {
					t, i := coldStart(b, spec, plain)
					total, inits = append(total, t), append(inits, i)
				}
				b.ReportMetric(medianMs(total), "median-ms")
				b.ReportMetric(medianMs(inits), "init-ms")
				return
			}
			iso := testIsolation(b)
			iso.Network = m.network
			d := Slots(iso)
			b.Cleanup(d.Close)
			var total, inits, base []time.Duration
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				waitSlotsIdle(b, iso)
				b.StartTimer()
				t, i := coldStart(b, spec, d)
				total, inits = append(total, t), append(inits, i)
				b.StopTimer()
				waitSlotsIdle(b, iso) // the refill is not the baseline's either
				t, _ = coldStart(b, spec, plain)
				base = append(base, t)
				b.StartTimer()
			}
			b.ReportMetric(medianMs(total), "median-ms")
			b.ReportMetric(medianMs(inits), "init-ms")
			b.ReportMetric(medianMs(base), "plain-ms")
			b.ReportMetric(medianMs(total)/medianMs(base), "x-plain")
		})
	}
}

// coldStart starts an environment of spec with d, invokes it once and
// stops it (untimed): the time until the invocation's end, and its init.
func coldStart(b *testing.B, spec Spec, d Driver) (total, init time.Duration) {
	t0 := time.Now()
	e, err := Start(context.Background(), spec, Options{Driver: d})
	if err != nil {
		b.Fatal(err)
	}
	out, err := e.Invoke(sluice.Invocation{RequestID: sluice.NewRequestID(), Payload: []byte("{}"), InvokedFunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:fn"})
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, out)
	out.Close()
	total = time.Since(t0)
	if res := out.Result(); res.Err != nil {
		b.Fatalf("invoke: %s %s", res.Err.Type, res.Err.Payload)
	}
	_, init = out.Init()
	b.StopTimer()
	e.Stop()
	b.StartTimer()
	return total, init
}

func medianMs(d []time.Duration) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[len(s)/2].Microseconds()) / 1000
}

// waitSlotsIdle waits until the Isolation has a prepared slot and prepares
// no other, and then slotSettle more: a slot counts as prepared once its
// bwrap has started, and bwrap's own setup goes on in the background. A
// start (or the plain baseline) then measures itself, not a refill beside
// it.
func waitSlotsIdle(b *testing.B, iso *Isolation) {
	b.Helper()
	waitSlots(b, iso)
	deadline := time.Now().Add(10 * time.Second)
	for {
		iso.slots.mu.Lock()
		busy := iso.slots.fillers
		iso.slots.mu.Unlock()
		if busy == 0 {
			time.Sleep(slotSettle)
			return
		}
		if time.Now().After(deadline) {
			b.Fatal("the slots are still being prepared")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// slotSettle is how long a prepared slot's bwrap is given to finish its
// setup (namespaces, mounts, its shell's start) before a measured start.
const slotSettle = 100 * time.Millisecond
