// Package sandbox runs one execution environment: a function's runtime
// (Bootstrap: what runs) as a process a Driver creates (plain, bubblewrap,
// prepared slot; driver.go), supervised by an Env: the Runtime API server
// the runtime talks to, the capture of its log stream, and the hand-off of
// invocations between a caller and the runtime.
//
// Lifecycle of an Env:
//
//	Start ──▶ initialising ──(first GET /next)──▶ ready ⇄ busy
//	   │            │                               │       │
//	   │            └── exit / init error / init timeout ───┴── exit / timeout / Stop ──▶ dead
//	   └── command missing or not executable: dead at once (Runtime.InvalidEntrypoint on invoke)
//
// One invocation at a time: Invoke queues it for the runtime's GET /next,
// waits for the runtime to answer on /response or /error, and returns an
// Output whose Read is the runtime's own request body: bytes reach the
// caller as the runtime sends them, never buffered. The runtime's
// /response request is held open (its 202 withheld) until the caller
// closes the Output, so the body stays readable for exactly that long.
//
// A timeout kills the process group and ends the invocation (END/REPORT,
// Output.OnEnd) without waiting for the caller, who may be stuck on a
// client that does not read. Stop kills the process group too. A dead Env
// is never reused: the pool starts a fresh one.
package sandbox
