package api

// SignedCodePath returns the signed path and query of the download URL of
// package sha, as GetFunction's Code.Location has them.
func (s *Server) SignedCodePath(sha string) string { return s.code.sign(sha) }

// Operations returns the operation names of the server's routes.
func (s *Server) Operations() []string { return append([]string(nil), s.operations...) }
