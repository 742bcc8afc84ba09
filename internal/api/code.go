package api

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"regexp"

	"github.com/sluice-dev/sluice"
)

// Deployment packages: storing them, collecting the ones no function uses
// any more, and serving them at the Code.Location GetFunction returns.

// codePath is the route prefix of package downloads. The content address
// is the capability, like the presigned S3 URL Lambda returns, so the
// route is not authenticated.
const codePath = "/_sluice/code/"

var hexSHA256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// codeURL is the Code.Location of the package sha, on the host the client
// used to reach this server.
func codeURL(r *http.Request, sha string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + codePath + sha
}

// putCode stores a package after the structural checks (a package that is
// not a usable zip fails the API call); the deployment unpacks it. The
// caller holds codeMu and releases the package if the write that was to
// reference it fails.
func (s *Server) putCode(_ context.Context, zip []byte) (sha string, size int64, err error) {
	return s.cfg.Code.Put(zip)
}

// releaseCode removes the package sha unless a stored function refers to
// it. The caller holds codeMu. Failures only leak a package, so they are
// logged, not returned; the check runs even if the request was cancelled.
func (s *Server) releaseCode(ctx context.Context, sha string) {
	ctx = context.WithoutCancel(ctx)
	log := s.logger(ctx)
	used, err := s.codeInUse(ctx, sha)
	if err != nil {
		log.Warn("code garbage collection: list functions", "sha256", sha, "err", err)
		return
	}
	if used {
		return
	}
	if err := s.cfg.Code.Remove(sha); err != nil {
		log.Warn("code garbage collection: remove package", "sha256", sha, "err", err)
		return
	}
	log.Debug("removed unused package", "sha256", sha)
}

// codeInUse reports whether any stored function, version, or
// configuration serving during an update refers to the package sha.
func (s *Server) codeInUse(ctx context.Context, sha string) (bool, error) {
	const page = 1000
	after := ""
	for {
		fns, err := s.cfg.Store.ListFunctions(ctx, after, page)
		if err != nil {
			return true, err
		}
		for _, fn := range fns {
			if fn.CodeSHA256 == sha || (fn.Previous != nil && fn.Previous.CodeSHA256 == sha) {
				return true, nil
			}
			versions, err := s.cfg.Store.ListVersions(ctx, fn.Name, 0, 0)
			if err != nil && sluice.ErrorCodeOf(err) != sluice.ENotFound {
				return true, err
			}
			for _, v := range versions {
				if v.CodeSHA256 == sha {
					return true, nil
				}
			}
		}
		if len(fns) < page {
			return false, nil
		}
		after = fns[len(fns)-1].Name
	}
}

// getCode serves a package: GET /_sluice/code/{sha}, unauthenticated.
func (s *Server) getCode(w http.ResponseWriter, r *http.Request, _ []byte) error {
	sha := r.PathValue("sha")
	if !hexSHA256RE.MatchString(sha) {
		return sluice.Errorf(sluice.ENotFound, "No deployment package %s", sha)
	}
	f, err := s.cfg.Code.Open(sha)
	if errors.Is(err, fs.ErrNotExist) || sluice.ErrorCodeOf(err) == sluice.ENotFound {
		return sluice.Errorf(sluice.ENotFound, "No deployment package %s", sha)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/zip")
	http.ServeContent(w, r, "", st.ModTime(), f)
	return nil
}
