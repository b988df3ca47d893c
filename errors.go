package toolhouse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Sentinel errors. Compare with errors.Is; an *APIError matches ErrNotFound
// and ErrJobInProgress by its status code.
var (
	// ErrMissingAPIKey is returned before sending a platform API call
	// (agent runs, schedules) when no API key was found.
	ErrMissingAPIKey = errors.New("toolhouse: no API key: pass WithAPIKey, set TOOLHOUSE_API_KEY, or run `th login`")

	// ErrNotFound matches a 404 answer, and the 400 "Schedule not found"
	// that Schedules.Delete receives for an unknown schedule.
	ErrNotFound = errors.New("toolhouse: not found")

	// ErrJobInProgress matches a 409 answer: a worker run has a background
	// job running and accepts no new message until it ends.
	ErrJobInProgress = errors.New("toolhouse: a background job is in progress")

	// ErrRunFailed is returned by AgentRuns.Wait when the run ended failed,
	// or completed with an error entry in its results.
	ErrRunFailed = errors.New("toolhouse: agent run failed")

	// ErrLineTooLong is returned by the NDJSON decoder for a line longer
	// than its limit.
	ErrLineTooLong = errors.New("toolhouse: NDJSON line too long")

	// ErrConversationBusy is returned by Conversation.Send while the stream of
	// the previous Send is still reading an answer or following a background
	// job: a run takes one message at a time.
	ErrConversationBusy = errors.New("toolhouse: conversation busy: the previous Send's stream is still " +
		"reading an answer or following a background job; read it to the end or Close it first")
)

// maxErrorBody bounds how much of an error response is kept in APIError.Body.
const maxErrorBody = 1 << 20

// maxSnippet bounds how much of an unstructured body appears in a message.
const maxSnippet = 200

// maxSnippetScan bounds how much of a body snippet looks at: a page's
// title and first words are near its start.
const maxSnippetScan = 64 << 10

// maxMessage bounds a message the server gave in a JSON field.
const maxMessage = 512

// APIError is a non-2xx answer from a Toolhouse server.
type APIError struct {
	StatusCode int
	// Message is the server's own explanation: FastAPI's "detail" (a string,
	// or the "msg" of each validation entry), an "error" or "message"
	// field, else a short snippet of the body. It is escaped as Error
	// shows it, and secrets are redacted as in Body.
	Message string
	// Body holds at most 1 MiB of the response body as received, except
	// that every copy of the API key (or of a value the call carries, see
	// Secrets.Set) is replaced by [REDACTED], as it is in Header.
	Body []byte
	// Header is the response header.
	Header http.Header
	// Method and URL identify the request (after any redirect it
	// followed). The URL is shown without user information, and with the
	// API key redacted should a redirect's target or an ID have put it
	// there.
	Method string
	URL    string
	// RequestID is the server's request identifier, when it sent one.
	RequestID string
	// notFoundOn400 marks the answer of a call whose server says "not
	// found" with a 400 (Schedules.Delete); such a 400 matches ErrNotFound.
	notFoundOn400 bool
	// RetryAfter is set when the server asked to be retried later than the
	// SDK is willing to wait (over 60 s), which ended the retries.
	RetryAfter time.Duration
}

// Error reports the status, the request and the server's message. The
// server's words are shown as data: control characters, line breaks,
// terminal escapes, bidirectional overrides and invalid UTF-8 appear
// escaped (\x1b, \n, \u202e, \xff), so that an error printed to a terminal
// or a log cannot forge lines or rewrite what is around it.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("toolhouse: ")
	if e.Method != "" {
		b.WriteString(e.Method)
		b.WriteByte(' ')
		b.WriteString(e.URL)
		b.WriteString(": ")
	}
	status := fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	b.WriteString(strings.TrimSpace(status))
	// A proxy's page is often titled with the status itself ("502 Bad
	// Gateway"): say it once.
	msg := cleanText(e.Message)
	for _, repeat := range []string{status, http.StatusText(e.StatusCode)} {
		if rest, ok := strings.CutPrefix(msg, repeat); ok && repeat != "" && (rest == "" || rest[0] == ':' || rest[0] == ' ') {
			msg = strings.TrimLeft(rest, ": ")
			break
		}
	}
	if msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (server asked to retry after %s; not retried)", e.RetryAfter)
	}
	if e.RequestID != "" {
		b.WriteString(" (request id ")
		b.WriteString(cleanText(e.RequestID))
		b.WriteByte(')')
	}
	return b.String()
}

// Is lets errors.Is match an *APIError against ErrNotFound (a 404, and the
// 400 "Schedule not found" of Schedules.Delete; a 400 of any other call
// does not match, whatever its message) and ErrJobInProgress (a 409).
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound ||
			(e.notFoundOn400 && e.StatusCode == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "not found"))
	case ErrJobInProgress:
		return e.StatusCode == http.StatusConflict
	}
	return false
}

// newAPIError builds the error for a non-2xx response from its body, read
// up to a little more than maxErrorBody. Every copy of a secret of r goes
// from what the error holds (body, headers, request ID, message) before
// anything is cut, so that no cut leaves a piece of it.
func newAPIError(resp *http.Response, body []byte, r redactor) *APIError {
	body = r.redactBytes(body)
	if len(body) > maxErrorBody {
		body = body[:maxErrorBody]
	}
	e := &APIError{
		StatusCode: resp.StatusCode,
		Body:       body,
		Header:     r.redactHeader(resp.Header),
		Message:    errorMessage(body, r),
	}
	if resp.Request != nil {
		e.Method = resp.Request.Method
		e.URL = r.redact(redactURL(resp.Request.URL.String()))
	}
	for _, h := range []string{"X-Request-Id", "X-Toolhouse-Request-Id", "Cf-Ray"} {
		if v := e.Header.Get(h); v != "" {
			e.RequestID = cleanText(truncate(v, maxMessage))
			break
		}
	}
	return e
}

// errorMessage extracts a readable message from an error body: one line
// of text, the secrets of r redacted (also where the body had them
// JSON-escaped), control characters escaped, a few hundred bytes at most.
func errorMessage(body []byte, r redactor) string {
	// Collapsing white space, escaping and cutting may each form a copy of
	// a secret that the body did not hold as such: look once more.
	return r.redact(bodyMessage(body, r))
}

// bodyMessage is errorMessage before its last redaction.
func bodyMessage(body []byte, r redactor) string {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return ""
	}
	if trimmed[0] == '{' {
		var fields struct {
			Detail  json.RawMessage `json:"detail"`
			Error   json.RawMessage `json:"error"`
			Message json.RawMessage `json:"message"`
		}
		if json.Unmarshal(trimmed, &fields) == nil {
			for _, raw := range []json.RawMessage{fields.Detail, fields.Error, fields.Message} {
				if msg := messageFrom(raw); msg != "" {
					// The server's text goes into Error() and log lines:
					// keep it to a few hundred bytes (Body has it all).
					return truncate(cleanText(r.redact(msg)), maxMessage)
				}
			}
		}
	}
	return snippet(trimmed)
}

// messageFrom reads a "detail"/"error"/"message" value: a string, a FastAPI
// validation list ([{"loc": [...], "msg": "..."}]), or an object with a
// message of its own.
func messageFrom(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []struct {
		Loc []any  `json:"loc"`
		Msg string `json:"msg"`
	}
	if json.Unmarshal(raw, &list) == nil {
		msgs := make([]string, 0, len(list))
		for _, item := range list {
			if item.Msg == "" {
				continue
			}
			if loc := validationLoc(item.Loc); loc != "" {
				msgs = append(msgs, loc+": "+item.Msg)
			} else {
				msgs = append(msgs, item.Msg)
			}
		}
		return strings.Join(msgs, "; ")
	}
	var obj struct {
		Message string `json:"message"`
		Msg     string `json:"msg"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		if obj.Message != "" {
			return obj.Message
		}
		return obj.Msg
	}
	return ""
}

// validationLoc renders a FastAPI "loc" such as ["body", "chat_id"] as
// "body.chat_id".
func validationLoc(loc []any) string {
	parts := make([]string, 0, len(loc))
	for _, p := range loc {
		parts = append(parts, fmt.Sprint(p))
	}
	return strings.Join(parts, ".")
}

// snippet turns an unstructured body (an HTML error page from a proxy, plain
// text) into one short line: the page's <title> when it has one, then the
// start of its text, never more than maxSnippet bytes.
func snippet(body []byte) string {
	if len(body) > maxSnippetScan {
		cut := maxSnippetScan
		for cut > 0 && !utf8.RuneStart(body[cut]) {
			cut--
		}
		body = body[:cut]
	}
	var title string
	// Lower ASCII only: bytes.ToLower can change the length (invalid bytes
	// become U+FFFD, 'İ' grows), and the indexes found in lower must hold
	// in body.
	lower := asciiLower(body)
	if i := bytes.Index(lower, []byte("<title>")); i >= 0 {
		start := i + len("<title>")
		if j := bytes.Index(lower[start:], []byte("</title>")); j >= 0 {
			title = collapseSpace(string(body[start : start+j]))
		}
	}
	text := collapseSpace(stripTags(body))
	if title != "" {
		// The title is the text's start, and nginx repeats it as the
		// page's heading: show it once.
		for strings.HasPrefix(text, title) {
			text = strings.TrimSpace(strings.TrimPrefix(text, title))
		}
		if text != "" {
			text = title + ": " + text
		} else {
			text = title
		}
	}
	return truncate(cleanText(text), maxSnippet)
}

// stripTags drops <...> markup, and the contents of <script> and <style>
// elements, so that an HTML page reads as its text. It stops once it has
// more text than a snippet needs.
func stripTags(b []byte) string {
	lower := asciiLower(b)
	var out strings.Builder
	for i := 0; i < len(b) && out.Len() <= 4*maxSnippet; {
		lt := bytes.IndexByte(b[i:], '<')
		if lt < 0 {
			out.Write(b[i:])
			break
		}
		out.Write(b[i : i+lt])
		out.WriteByte(' ')
		i += lt
		gt := bytes.IndexByte(b[i:], '>')
		if gt < 0 {
			break
		}
		tag := lower[i : i+gt]
		i += gt + 1
		for _, name := range []string{"script", "style"} {
			if bytes.HasPrefix(tag, []byte("<"+name)) {
				closing := bytes.Index(lower[i:], []byte("</"+name))
				if closing < 0 {
					return out.String()
				}
				i += closing
			}
		}
	}
	return out.String()
}

// asciiLower lowers A-Z and keeps every other byte, so that the result has
// the length and the byte offsets of b.
func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

func collapseSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// ArgumentError reports an invalid argument, detected before any request
// was sent.
type ArgumentError struct {
	Arg    string // the argument's name, as in the method's signature
	Reason string
}

func (e *ArgumentError) Error() string {
	return "toolhouse: invalid argument " + e.Arg + ": " + e.Reason
}

// checkID validates an identifier that becomes one path segment. The
// reason never repeats the ID: a careless caller may have passed the key
// or another secret in its place.
func checkID(arg, id string) error {
	switch {
	case strings.TrimSpace(id) == "":
		return &ArgumentError{Arg: arg, Reason: "must not be empty"}
	case strings.ContainsAny(id, "/\\"):
		return &ArgumentError{Arg: arg, Reason: "must not contain a slash"}
	case id == "." || id == "..":
		return &ArgumentError{Arg: arg, Reason: fmt.Sprintf("%q is a dot segment, which a URL path resolves away instead of sending it", id)}
	case strings.Contains(id, ".."):
		return &ArgumentError{Arg: arg, Reason: `must not contain ".."`}
	case strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return &ArgumentError{Arg: arg, Reason: "must not contain control characters"}
	}
	return nil
}
