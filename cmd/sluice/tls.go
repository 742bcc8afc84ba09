package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"
)

// TLS of the API listener (--tls-cert, --tls-key): the Lambda API and
// function URLs are served over HTTPS on the same listener, each
// connection still bounded per write (clientconn.go: the TLS records are
// written through the bound connection). The API listener an isolated
// sandbox reaches at 127.0.0.1 inside its own network namespace
// (sandbox.Isolation.ServeAPI) stays plain HTTP: it never leaves the
// machine, and functions find it through AWS_ENDPOINT_URL as http://.
//
// HTTP/1.1 only, no HTTP/2: with HTTP/2 many streams share a connection
// and a client that stops reading one holds it by flow control, which the
// handler waits on without ever writing to the connection, so the
// per-write bound on client connections would no longer end it. Lambda's
// response streams are HTTP/1.1 chunked bodies, which every SDK reads; the
// Go SDK, which offers h2 by ALPN, then speaks HTTP/1.1.

// tlsFlags adds --tls-cert and --tls-key to fs.
func (c *Config) tlsFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "PEM certificate (chain) to serve HTTPS with, on the --listen address (with --tls-key)")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "PEM private key of --tls-cert")
}

// serverTLS loads the TLS configuration of the API listener, nil when TLS
// is off (neither flag). Its errors name the flag at fault.
func serverTLS(cfg Config, logger *slog.Logger) (*tls.Config, error) {
	switch {
	case cfg.TLSCert == "" && cfg.TLSKey == "":
		return nil, nil
	case cfg.TLSKey == "":
		return nil, errors.New("--tls-cert needs --tls-key (the certificate's private key): give both, or neither to serve plain HTTP")
	case cfg.TLSCert == "":
		return nil, errors.New("--tls-key needs --tls-cert (the certificate of the key): give both, or neither to serve plain HTTP")
	}
	certPEM, err := os.ReadFile(cfg.TLSCert)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert: %w", err)
	}
	keyPEM, err := os.ReadFile(cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("--tls-key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s with --tls-key %s: %w", cfg.TLSCert, cfg.TLSKey, err)
	}
	if leaf := pair.Leaf; leaf != nil {
		now := time.Now()
		switch {
		case now.After(leaf.NotAfter):
			logger.Warn("the TLS certificate has expired: clients will refuse it", "cert", cfg.TLSCert, "not_after", leaf.NotAfter)
		case now.Before(leaf.NotBefore):
			logger.Warn("the TLS certificate is not valid yet: clients will refuse it", "cert", cfg.TLSCert, "not_before", leaf.NotBefore)
		}
	}
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}, nil
}

// listenTLS serves TLS on ln when conf is not nil. ln is already bound
// per write (boundWrites), so the records of every response are too.
func listenTLS(ln net.Listener, conf *tls.Config) net.Listener {
	if conf == nil {
		return ln
	}
	return tls.NewListener(ln, conf)
}

// URL is the base URL of the Lambda API: https:// with --tls-cert.
func (s *Server) URL() string {
	if s.cfg.TLSCert != "" {
		return "https://" + s.Addr()
	}
	return "http://" + s.Addr()
}
