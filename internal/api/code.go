package api

import (
	"errors"
	"io/fs"
	"net/http"
	"regexp"

	"github.com/sluice-dev/sluice"
)

// Deployment packages: serving them at the Code.Location GetFunction
// returns (the service stores them and collects the unused ones).

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

// getCode serves a package: GET /_sluice/code/{sha}, unauthenticated.
func (s *Server) getCode(w http.ResponseWriter, r *http.Request, _ []byte) error {
	sha := r.PathValue("sha")
	if !hexSHA256RE.MatchString(sha) {
		return sluice.Errorf(sluice.ENotFound, "No deployment package %s", sha)
	}
	f, err := s.svc.OpenCode(sha)
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
