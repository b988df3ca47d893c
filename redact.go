package toolhouse

import (
	"bytes"
	"net/url"
	"strings"
)

// redacted stands in for the API key wherever a server echoed it back.
const redacted = "[REDACTED]"

// redactURL drops user information from a URL before it is shown.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			if j := strings.Index(raw, "://"); j >= 0 && j < i {
				return raw[:j+3] + "REDACTED" + raw[i:]
			}
		}
		return raw
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	return u.String()
}

// scrub hides the API key in err's message, should anything (a server
// echoing the request, a custom transport) have put it there. The original
// error stays reachable with errors.Is and errors.As.
func (c *Client) scrub(err error) error {
	if err == nil || c.apiKey == "" || !strings.Contains(err.Error(), c.apiKey) {
		return err
	}
	return &scrubbedError{msg: strings.ReplaceAll(err.Error(), c.apiKey, redacted), err: err}
}

// scrubbedError is an error whose message had the key replaced.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// redact hides key in the body and the message, for a server that repeats
// the request's credentials in its error ("invalid key th-...").
func (e *APIError) redact(key string) {
	if key == "" || !bytes.Contains(e.Body, []byte(key)) {
		return
	}
	e.Body = bytes.ReplaceAll(e.Body, []byte(key), []byte(redacted))
	e.Message = errorMessage(e.Body)
}
