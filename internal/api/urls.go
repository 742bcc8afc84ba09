package api

import (
	"encoding/base64"
	"net"
	"net/http"
	"strings"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/furl"
	"github.com/sluice-dev/sluice/internal/service"
)

// CreateFunctionUrlConfig, GetFunctionUrlConfig, UpdateFunctionUrlConfig,
// DeleteFunctionUrlConfig and ListFunctionUrlConfigs (2021-10-31). The
// members are validated by furl, the stored state by the service; the
// answers are shaped as recorded from AWS (docs/decisions.md, "Function
// URLs"): Create answers 201 without LastModifiedTime, and InvokeMode only
// when it was ever set; Get and List always show InvokeMode (BUFFERED by
// default).

// urlRequest is the body of CreateFunctionUrlConfig and
// UpdateFunctionUrlConfig.
type urlRequest struct {
	AuthType   *string    `json:"AuthType"`
	InvokeMode *string    `json:"InvokeMode"`
	Cors       *corsInput `json:"Cors"`
}

type corsInput struct {
	AllowCredentials *bool    `json:"AllowCredentials"`
	AllowHeaders     []string `json:"AllowHeaders"`
	AllowMethods     []string `json:"AllowMethods"`
	AllowOrigins     []string `json:"AllowOrigins"`
	ExposeHeaders    []string `json:"ExposeHeaders"`
	MaxAge           *int     `json:"MaxAge"`
}

func (u *urlRequest) input() furl.Input {
	in := furl.Input{AuthType: u.AuthType, InvokeMode: u.InvokeMode}
	if c := u.Cors; c != nil {
		in.Cors = &furl.CorsInput{
			AllowCredentials: c.AllowCredentials, AllowHeaders: c.AllowHeaders, AllowMethods: c.AllowMethods,
			AllowOrigins: c.AllowOrigins, ExposeHeaders: c.ExposeHeaders, MaxAge: c.MaxAge,
		}
	}
	return in
}

// urlConfiguration is a FunctionUrlConfig on the wire.
type urlConfiguration struct {
	AuthType         string    `json:"AuthType"`
	Cors             *corsWire `json:"Cors,omitempty"`
	CreationTime     string    `json:"CreationTime"`
	FunctionArn      string    `json:"FunctionArn"`
	FunctionUrl      string    `json:"FunctionUrl"`
	InvokeMode       string    `json:"InvokeMode,omitempty"`
	LastModifiedTime string    `json:"LastModifiedTime,omitempty"`
}

type corsWire struct {
	AllowCredentials bool     `json:"AllowCredentials"`
	AllowHeaders     []string `json:"AllowHeaders,omitempty"`
	AllowMethods     []string `json:"AllowMethods,omitempty"`
	AllowOrigins     []string `json:"AllowOrigins,omitempty"`
	ExposeHeaders    []string `json:"ExposeHeaders,omitempty"`
	MaxAge           int      `json:"MaxAge"`
}

// urlTimeLayout is the ISO-8601 form of CreationTime and LastModifiedTime
// (microseconds, as AWS's examples show them).
const urlTimeLayout = "2006-01-02T15:04:05.000000Z"

// urlView says which optional members a response shows.
type urlView int

const (
	viewCreated urlView = iota // Create: no LastModifiedTime, InvokeMode only when set
	viewUpdated                // Update: LastModifiedTime, InvokeMode only when set
	viewRead                   // Get, List: everything, InvokeMode defaulted
)

func urlConfigurationOf(r *http.Request, svc *service.Service, c *sluice.FunctionURLConfig, view urlView) urlConfiguration {
	out := urlConfiguration{
		AuthType:     c.AuthType,
		CreationTime: c.CreationTime.UTC().Format(urlTimeLayout),
		FunctionArn:  svc.URLFunctionARN(c),
		FunctionUrl:  withScheme(r, furl.URL(c.URLID, svc.Scope().Region, requestPort(r))),
		InvokeMode:   c.InvokeMode,
	}
	if view != viewCreated {
		out.LastModifiedTime = c.LastModifiedTime.UTC().Format(urlTimeLayout)
	}
	if view == viewRead {
		out.InvokeMode = c.InvokeModeOrDefault()
	}
	if k := c.Cors; k != nil {
		out.Cors = &corsWire{
			AllowCredentials: k.AllowCredentials, AllowHeaders: k.AllowHeaders, AllowMethods: k.AllowMethods,
			AllowOrigins: k.AllowOrigins, ExposeHeaders: k.ExposeHeaders, MaxAge: k.MaxAge,
		}
	}
	return out
}

// requestPort is the port the client reached this server on (from Host),
// so that the FunctionUrl names the same listener; "80" when Host has none.
func requestPort(r *http.Request) string {
	if _, port, err := net.SplitHostPort(r.Host); err == nil && port != "" {
		return port
	}
	if r.TLS != nil {
		return "443"
	}
	return "80"
}

// withScheme gives an http:// URL the scheme the request came in by: a
// server with --tls-cert hands out https:// function URLs.
func withScheme(r *http.Request, u string) string {
	if r.TLS != nil {
		if rest, ok := strings.CutPrefix(u, "http://"); ok {
			return "https://" + rest
		}
	}
	return u
}

// urlTarget parses {name} and the Qualifier parameter of a URL operation:
// the qualifier, given either way, must be an alias name. It returns them
// with the Service of the request's scope.
func (s *Server) urlTarget(r *http.Request) (*service.Service, sluice.FunctionRef, string, error) {
	var v sluice.Violations
	qualifier := r.URL.Query().Get("Qualifier")
	furl.ValidateQualifier(qualifier, &v)
	ref, _ := sluice.ParseFunctionName(r.PathValue("name"), &v)
	if err := v.Err(); err != nil {
		return nil, ref, "", err
	}
	if qualifier == "" && ref.Qualifier != "" {
		// The qualifier came with the name (name:alias, or an ARN).
		furl.ValidateQualifier(ref.Qualifier, &v)
		if err := v.Err(); err != nil {
			return nil, ref, "", err
		}
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return nil, ref, "", err
	}
	return svc, ref, qualifier, nil
}

// parseURLRequest reads the target and the body of a create (or update)
// and validates the members, in Lambda's order: body JSON, name and
// qualifier, members.
func (s *Server) parseURLRequest(r *http.Request, body []byte, create bool) (*service.Service, sluice.FunctionRef, string, furl.Input, error) {
	var req urlRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, sluice.FunctionRef{}, "", furl.Input{}, err
	}
	svc, ref, qualifier, err := s.urlTarget(r)
	if err != nil {
		return nil, ref, "", furl.Input{}, err
	}
	in := req.input()
	return svc, ref, qualifier, in, furl.Validate(in, create)
}

// createFunctionURLConfig is CreateFunctionUrlConfig:
// POST /2021-10-31/functions/{name}/url, 201.
func (s *Server) createFunctionURLConfig(w http.ResponseWriter, r *http.Request, body []byte) error {
	svc, ref, qualifier, in, err := s.parseURLRequest(r, body, true)
	if err != nil {
		return err
	}
	c, err := svc.CreateFunctionURL(r.Context(), ref, qualifier, furl.Apply(nil, in))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, urlConfigurationOf(r, svc, c, viewCreated))
}

// getFunctionURLConfig is GetFunctionUrlConfig:
// GET /2021-10-31/functions/{name}/url.
func (s *Server) getFunctionURLConfig(w http.ResponseWriter, r *http.Request, _ []byte) error {
	svc, ref, qualifier, err := s.urlTarget(r)
	if err != nil {
		return err
	}
	c, err := svc.GetFunctionURL(r.Context(), ref, qualifier)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, urlConfigurationOf(r, svc, c, viewRead))
}

// updateFunctionURLConfig is UpdateFunctionUrlConfig:
// PUT /2021-10-31/functions/{name}/url. Members the request leaves out
// keep their values; a Cors member replaces the whole Cors.
func (s *Server) updateFunctionURLConfig(w http.ResponseWriter, r *http.Request, body []byte) error {
	svc, ref, qualifier, in, err := s.parseURLRequest(r, body, false)
	if err != nil {
		return err
	}
	c, err := svc.UpdateFunctionURL(r.Context(), ref, qualifier, func(c *sluice.FunctionURLConfig) {
		*c = *furl.Apply(c, in)
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, urlConfigurationOf(r, svc, c, viewUpdated))
}

// deleteFunctionURLConfig is DeleteFunctionUrlConfig:
// DELETE /2021-10-31/functions/{name}/url, 204.
func (s *Server) deleteFunctionURLConfig(w http.ResponseWriter, r *http.Request, _ []byte) error {
	svc, ref, qualifier, err := s.urlTarget(r)
	if err != nil {
		return err
	}
	if err := svc.DeleteFunctionURL(r.Context(), ref, qualifier); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// maxURLItems is ListFunctionUrlConfigs' MaxItems range (1-50).
const maxURLItems = sluice.MaxURLConfigsPerPage

// listFunctionURLConfigs is ListFunctionUrlConfigs:
// GET /2021-10-31/functions/{name}/urls. NextMarker is the base64url form
// of the last item's qualifier key.
func (s *Server) listFunctionURLConfigs(w http.ResponseWriter, r *http.Request, _ []byte) error {
	var v sluice.Violations
	ref := writeTarget(r, &v)
	limit, err := maxItemsIn(r, &v, maxURLItems, maxURLItems)
	if err != nil {
		return err
	}
	if err := v.Err(); err != nil {
		return err
	}
	after := ""
	if m := r.URL.Query().Get("Marker"); m != "" {
		b, err := base64.RawURLEncoding.DecodeString(m)
		if err != nil {
			return sluice.Errorf(sluice.EInvalidParameter, "Invalid Marker: %s; pass the NextMarker of a previous ListFunctionUrlConfigs response", m)
		}
		after = string(b)
	}
	svc, err := s.service(r, ref)
	if err != nil {
		return err
	}
	list, err := svc.ListFunctionURLs(r.Context(), ref, after, limit+1)
	if err != nil {
		return err
	}
	resp := struct {
		FunctionUrlConfigs []urlConfiguration `json:"FunctionUrlConfigs"`
		NextMarker         string             `json:"NextMarker,omitempty"`
	}{FunctionUrlConfigs: []urlConfiguration{}}
	if len(list) > limit {
		list = list[:limit]
		resp.NextMarker = base64.RawURLEncoding.EncodeToString([]byte(list[len(list)-1].QualifierKey()))
	}
	for _, c := range list {
		resp.FunctionUrlConfigs = append(resp.FunctionUrlConfigs, urlConfigurationOf(r, svc, c, viewRead))
	}
	return writeJSON(w, http.StatusOK, resp)
}
