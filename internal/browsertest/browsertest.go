// Package browsertest runs a page in a real, headless Chromium and returns
// what the page reports. Tests use it to check that what sluice streams
// reaches a browser as it is written (fetch with a stream reader,
// EventSource), not only an SDK.
//
// The page is served by an HTTP server of the package on a loopback port;
// it reports by POSTing JSON to /report (the URL is in the page's
// `window.REPORT_URL`), after which Chromium is stopped. Chromium is
// Debian's `chromium` (or $CHROMIUM), run headless with the flags a closed
// network needs.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Binary returns the Chromium binary: $CHROMIUM, else chromium on PATH.
func Binary() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("browsertest: no chromium on PATH (apt-get install chromium)")
}

// Run serves html (a whole page; "{{REPORT_URL}}" in it is replaced by the
// report address) at a loopback address, opens it in headless Chromium and
// returns the body of the page's first POST to the report URL. It fails
// when ctx ends first. Chromium's output is written to log (may be nil).
func Run(ctx context.Context, html string, log io.Writer) ([]byte, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	base := "http://" + ln.Addr().String()
	page := strings.ReplaceAll(html, "{{REPORT_URL}}", base+"/report")
	reports := make(chan []byte, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	})
	mux.HandleFunc("POST /report", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		select {
		case reports <- b:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	profile, err := os.MkdirTemp("", "sluice-chromium-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(profile)
	cmd := exec.Command(bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir="+profile, base+"/")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("browsertest: start %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}()
	select {
	case b := <-reports:
		return b, nil
	case err := <-exited:
		exited <- err // for the deferred wait
		return nil, fmt.Errorf("browsertest: chromium exited before the page reported: %v", err)
	case <-ctx.Done():
		return nil, fmt.Errorf("browsertest: no report from the page: %w", ctx.Err())
	}
}
