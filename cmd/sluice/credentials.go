package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"time"
)

// Function credentials: each execution environment gets temporary
// credentials for its function's execution role when it starts
// (functionCredentials, the invoker's Credentials hook), in AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; an environment is reused
// only while they outlast another invocation (sandbox.Env.Alive), so a
// warm one never runs with expired credentials. The function finds
// sluice's API at AWS_ENDPOINT_URL (apiEndpoint; the sandbox places it).

// defaultFunctionCredentialsTTL is how long a function's credentials are
// valid by default. AWS does not publish how long Lambda's last; 12 hours
// is the longest session of an assumed role (STS's MaxSessionDuration),
// and Lambda recycles its environments within a few hours anyway
// (docs/decisions.md).
const defaultFunctionCredentialsTTL = 12 * time.Hour

// longestTimeout is Lambda's longest function timeout, 15 minutes: with a
// shorter --function-credentials-ttl the credentials of such a function
// can expire while it runs.
const longestTimeout = 15 * time.Minute

// credentialFlags registers the flags of function credentials.
func (c *Config) credentialFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.FunctionCredentialsTTL, "function-credentials-ttl", c.FunctionCredentialsTTL, "how long the credentials each execution environment gets for its execution role are valid; an environment whose credentials would expire before another invocation could end is replaced")
}

// validateCredentials checks the flags of function credentials.
func (c Config) validateCredentials() error {
	if c.FunctionCredentialsTTL <= 0 {
		return fmt.Errorf("--function-credentials-ttl must be positive, got %v", c.FunctionCredentialsTTL)
	}
	return nil
}

// warnCredentialsTTL says at start when functions with a long timeout can
// outlive their credentials.
func warnCredentialsTTL(log *slog.Logger, cfg Config) {
	if cfg.FunctionCredentialsTTL < longestTimeout {
		log.Warn("function credentials expire sooner than the longest function timeout: a function whose timeout is longer than --function-credentials-ttl can see its credentials expire while it runs, and its environments are never reused", "function_credentials_ttl", cfg.FunctionCredentialsTTL)
	}
}

// apiEndpoint is the URL at which a process on this host's network reaches
// the API listening at addr. A listener on every address is reached at
// 127.0.0.1: sluice listens with network "tcp", for which Go makes a
// wildcard listener dual-stack (a listen address of 0.0.0.0 is reported
// as ::), so the IPv4 loopback reaches it whichever of 0.0.0.0, :: or
// "" was asked for.
func apiEndpoint(scheme string, addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return scheme + "://" + addr.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(ip.String(), strconv.Itoa(tcp.Port))}
	return u.String()
}
