package api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/sluice-dev/sluice"
)

// Deployment packages: serving them at the Code.Location GetFunction
// returns (the service stores them and collects the unused ones).
//
// Code.Location is a signed, expiring URL, as Lambda's presigned S3 URL is
// (valid for 10 minutes): X-Amz-Date and X-Amz-Expires say when it was
// made and for how long, X-Amz-Signature is an HMAC-SHA256 over the path
// and both, under a key the server draws at start (a restart invalidates
// the links it handed out; GetFunction gives new ones). A download without
// a valid, current signature is refused as S3 refuses one: 403 with an
// S3 error document.

// codePath is the route prefix of package downloads.
const codePath = "/_sluice/code/"

// CodeURLExpiry is how long a Code.Location stays valid.
const CodeURLExpiry = 10 * time.Minute

// Query parameters of a signed code URL, named as in a presigned S3 URL.
const (
	codeQueryAlgorithm = "X-Amz-Algorithm"
	codeQueryDate      = "X-Amz-Date"
	codeQueryExpires   = "X-Amz-Expires"
	codeQuerySignature = "X-Amz-Signature"

	codeAlgorithm  = "SLUICE-HMAC-SHA256"
	codeDateFormat = "20060102T150405Z"
)

var hexSHA256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// codeSigner makes and checks the signatures of code URLs.
type codeSigner struct {
	key []byte
	now func() time.Time
}

// newCodeSigner returns a signer with a fresh random key; now nil means
// time.Now.
func newCodeSigner(now func() time.Time) *codeSigner {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic("api: no randomness for the code URL key: " + err.Error()) // rand.Read does not fail on Linux
	}
	if now == nil {
		now = time.Now
	}
	return &codeSigner{key: key, now: now}
}

func (c *codeSigner) mac(path, date, expires string) []byte {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte(codeAlgorithm + "\n" + path + "\n" + date + "\n" + expires))
	return h.Sum(nil)
}

// sign returns the path and query of the download URL of package sha.
func (c *codeSigner) sign(sha string) string {
	path := codePath + sha
	date := c.now().UTC().Format(codeDateFormat)
	expires := strconv.Itoa(int(CodeURLExpiry / time.Second))
	q := url.Values{}
	q.Set(codeQueryAlgorithm, codeAlgorithm)
	q.Set(codeQueryDate, date)
	q.Set(codeQueryExpires, expires)
	q.Set(codeQuerySignature, hex.EncodeToString(c.mac(path, date, expires)))
	return path + "?" + q.Encode()
}

// codeDenied is an S3 error document.
type codeDenied struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string
	Message    string
	Expires    string `xml:",omitempty"`
	ServerTime string `xml:",omitempty"`
	RequestID  string `xml:"RequestId"`
}

// verify checks the signature of a download request for path; nil or the
// S3 error to answer with.
func (c *codeSigner) verify(path string, q url.Values) *codeDenied {
	for _, k := range []string{codeQueryAlgorithm, codeQueryDate, codeQueryExpires, codeQuerySignature} {
		if len(q[k]) != 1 {
			return &codeDenied{Code: "AccessDenied", Message: "Access Denied"}
		}
	}
	date, expires := q.Get(codeQueryDate), q.Get(codeQueryExpires)
	sig, err := hex.DecodeString(q.Get(codeQuerySignature))
	if err != nil || q.Get(codeQueryAlgorithm) != codeAlgorithm || !hmac.Equal(sig, c.mac(path, date, expires)) {
		return &codeDenied{Code: "SignatureDoesNotMatch", Message: "The request signature we calculated does not match the signature you provided. Check your key and signing method."}
	}
	// Signed by this server: the values are its own.
	at, err1 := time.Parse(codeDateFormat, date)
	secs, err2 := strconv.Atoi(expires)
	if err1 != nil || err2 != nil {
		return &codeDenied{Code: "AccessDenied", Message: "Access Denied"}
	}
	now := c.now().UTC()
	if end := at.Add(time.Duration(secs) * time.Second); now.After(end) {
		return &codeDenied{Code: "AccessDenied", Message: "Request has expired",
			Expires: end.Format(time.RFC3339), ServerTime: now.Format(time.RFC3339)}
	}
	return nil
}

// codeURL is the Code.Location of the package sha, on the host the client
// used to reach this server.
func (s *Server) codeURL(r *http.Request, sha string) string {
	if dir, ok := sluice.HotReloadDir(sha); ok {
		return "file://" + dir // LocalStack's Location of hot-reloaded code
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.code.sign(sha)
}

// getCode serves a package: GET /_sluice/code/{sha}?X-Amz-..., whose
// signature is the capability (no SigV4).
func (s *Server) getCode(w http.ResponseWriter, r *http.Request, _ []byte) error {
	sha := r.PathValue("sha")
	if denied := s.code.verify(codePath+sha, r.URL.Query()); denied != nil {
		denied.RequestID = requestID(r.Context())
		b, err := xml.Marshal(denied)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write(append([]byte(xml.Header), b...))
		return nil
	}
	if !hexSHA256RE.MatchString(sha) {
		return sluice.Errorf(sluice.ENotFound, "No deployment package %s", sha)
	}
	f, err := s.cfg.Services.OpenCode(sha)
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
