package toolhouse

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// The redirect policy. Go's HTTP client follows redirects by itself and
// forwards the Authorization header to any URL on the same host name: to
// another port, and from https to plain http. It also turns a POST into a
// GET on a 301, 302 or 303, and replays a request's body on a 307 or 308
// wherever it points. For an API client each of these is wrong: the key
// would reach a server it was not meant for, or a call that created
// nothing would report success.

// withRedirectPolicy returns a copy of hc (a new client when hc is nil)
// that applies redirectPolicy before hc's own CheckRedirect. The copy
// keeps hc's Transport, Jar and Timeout; hc itself is left untouched.
func withRedirectPolicy(hc *http.Client) *http.Client {
	var out http.Client
	if hc != nil {
		out = *hc
	}
	own := out.CheckRedirect
	out.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := redirectPolicy(req, via); err != nil {
			return err
		}
		if own != nil {
			return own(req, via)
		}
		if len(via) >= 10 { // the standard library's default rule
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &out
}

// redirectPolicy decides on one redirect of a call, whose first request
// is via[0]: a redirect that changes the call's method, or that takes its
// body to another origin, is not followed; one that leaves the origin
// goes without the Authorization header.
func redirectPolicy(req *http.Request, via []*http.Request) error {
	first := via[0]
	sameOrigin := origin(req.URL) == origin(first.URL)
	var reason string
	switch {
	case req.Method != first.Method:
		reason = fmt.Sprintf("it would turn the %s into a %s", first.Method, req.Method)
	case !sameOrigin && hasBody(first):
		reason = fmt.Sprintf("it would send the request body to another origin than %s", origin(first.URL))
	}
	if reason != "" {
		status := 0
		if req.Response != nil {
			status = req.Response.StatusCode
		}
		return &redirectError{status: status, target: redactURL(req.URL.String()), reason: reason}
	}
	if !sameOrigin {
		// The key belongs to the origin it was configured for.
		req.Header.Del("Authorization")
	}
	return nil
}

// origin is a URL's scheme, host and port, with the scheme's default port
// made explicit: https://api.toolhouse.ai and https://api.toolhouse.ai:443
// are one origin, http://api.toolhouse.ai and :8443 are others.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// hasBody reports whether a request carries a body that a redirect would
// send again.
func hasBody(req *http.Request) bool {
	return req.GetBody != nil || (req.Body != nil && req.Body != http.NoBody)
}

// redirectError is a redirect the policy refused to follow.
type redirectError struct {
	status int
	target string // without user information
	reason string
}

func (e *redirectError) Error() string {
	return fmt.Sprintf("the server redirected (%d %s) to %s; not followed: %s",
		e.status, http.StatusText(e.status), e.target, e.reason)
}
