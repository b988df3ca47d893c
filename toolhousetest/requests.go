package toolhousetest

import (
	"bytes"
	"net/http"
	"net/url"
)

// Request is one request the server received, recorded before it was
// handled.
type Request struct {
	API    API
	Method string
	Path   string // decoded, e.g. "/v1/agent-runs"
	Query  url.Values
	Header http.Header
	Body   []byte // nil for a body over the 1 MiB limit (answered 413)
}

// record keeps a request for Requests. Under WithMaxRequests(n) the
// record holds at most 2n requests: once full, the newest n-1 move to its
// front, so each request is moved at most once on average.
func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.cfg.maxRequests
	switch {
	case n == 0:
		return
	case n > 0 && len(s.requests) >= 2*n:
		k := copy(s.requests, s.requests[len(s.requests)-(n-1):])
		clear(s.requests[k:])
		s.requests = s.requests[:k]
	}
	s.requests = append(s.requests, r)
}

// Requests returns a copy of the requests received so far, oldest first
// (only the most recent ones under WithMaxRequests).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.requests
	if n := s.cfg.maxRequests; n >= 0 && len(kept) > n {
		kept = kept[len(kept)-n:]
	}
	out := make([]Request, len(kept))
	for i, r := range kept {
		r.Header = r.Header.Clone()
		r.Query = cloneValues(r.Query)
		r.Body = bytes.Clone(r.Body)
		out[i] = r
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
