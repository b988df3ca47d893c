package toolhouse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"time"
)

// One attempt of a call, the unit that retries repeat: bounded in time by
// WithRequestTimeout (a JSON call's whole exchange, a stream's wait for
// its headers) and, for a JSON call, in memory by WithMaxResponseSize.

// attempt sends req once, under the request timeout, and returns a 2xx
// response (with its body read, for wholeBody) or the attempt's error: an
// *APIError for any other status, after reading its body.
func (c *Client) attempt(req *http.Request, x exchange, red redactor) (*http.Response, []byte, error) {
	b := c.bound(req.Context(), x)
	resp, err := c.hc.Do(req.WithContext(b.ctx))
	if err != nil {
		b.release()
		return nil, nil, b.explain(req, err)
	}
	if resp.Request == nil {
		// A RoundTripper need not set it (httpmock does not); the error
		// names the request from it.
		resp.Request = req
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := readAPIError(resp, red)
		b.release()
		return resp, nil, apiErr
	}
	if x == headersOnly {
		if !b.disarm() {
			// The bound ran out as the headers came: the body is cut.
			resp.Body.Close()
			b.release()
			return nil, nil, b.explain(req, context.Canceled)
		}
		resp.Body = &onCloseBody{ReadCloser: resp.Body, onClose: b.release}
		return resp, nil, nil
	}
	body, err := readBounded(resp, c.maxResponseSize)
	resp.Body.Close()
	b.release()
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return resp, nil, requestError(req, "the %d response's body is larger than %s, "+
				"the limit set by WithMaxResponseSize", resp.StatusCode, formatSize(c.maxResponseSize))
		}
		return resp, nil, b.explain(req, err)
	}
	return resp, body, nil
}

// attemptBound is the context of one attempt: the caller's, cut when the
// request timeout runs out.
type attemptBound struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	stop   func() bool // disarms the timeout; nil without one
}

func (c *Client) bound(parent context.Context, x exchange) attemptBound {
	ctx, cancel := context.WithCancelCause(parent)
	b := attemptBound{ctx: ctx, cancel: cancel}
	if d := c.requestTimeout; d > 0 {
		stream := x == headersOnly
		b.stop = c.afterFunc(d, func() { cancel(&timeoutError{d: d, stream: stream}) })
	}
	return b
}

// disarm stops the timeout; it reports false when the timeout has already
// cut the attempt.
func (b attemptBound) disarm() bool { return b.stop == nil || b.stop() }

// release ends the attempt's context, once its response is done with.
func (b attemptBound) release() {
	b.disarm()
	b.cancel(context.Canceled)
}

// explain names the request in an attempt's error and, when the request
// timeout is what cut the attempt, says so instead of a bare cancellation.
func (b attemptBound) explain(req *http.Request, err error) error {
	var timeout *timeoutError
	if req.Context().Err() == nil && errors.As(context.Cause(b.ctx), &timeout) {
		err = timeout
	}
	return transportError(req, err)
}

// timeoutError is an attempt cut by WithRequestTimeout. Like the HTTP
// client's own timeouts it is a net.Error whose Timeout is true and it
// matches context.DeadlineExceeded.
type timeoutError struct {
	d      time.Duration
	stream bool
}

func (e *timeoutError) Error() string {
	if e.stream {
		return fmt.Sprintf("no response headers within %s (WithRequestTimeout)", e.d)
	}
	return fmt.Sprintf("no complete answer within %s (WithRequestTimeout)", e.d)
}
func (e *timeoutError) Timeout() bool        { return true }
func (e *timeoutError) Temporary() bool      { return true }
func (e *timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// onCloseBody is a response body that runs onClose once, when it is
// first closed: a stream's body releases its attempt's context, a
// Conversation's answer frees the conversation.
type onCloseBody struct {
	io.ReadCloser
	once    sync.Once
	onClose func()
}

func (b *onCloseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.onClose)
	return err
}

// errTooLarge is readBounded's error for a body over its limit.
var errTooLarge = errors.New("response body too large")

// maxPresized is the largest declared length readBounded allocates for
// before reading: the default limit. Past it (a limit the caller raised)
// the body is read in chunks, so that a server that declares more than it
// sends cannot make the client allocate what it declared.
const maxPresized = defaultMaxResponseSize

// readBounded reads resp's body, failing with errTooLarge as soon as it
// passes limit bytes (counted after any decompression by the transport).
// A body of known length up to maxPresized is read with one allocation;
// any other into chunks that double in size, so that a body past the
// limit costs about the limit and never a copy.
func readBounded(resp *http.Response, limit int64) ([]byte, error) {
	if resp.ContentLength > limit {
		return nil, errTooLarge
	}
	var r io.Reader = resp.Body
	if limit < math.MaxInt64 { // one byte past the limit tells a body over it
		r = io.LimitReader(resp.Body, limit+1)
	}
	size := 512
	if resp.ContentLength >= 0 && resp.ContentLength <= maxPresized {
		size = int(resp.ContentLength) + 1 // the byte more sees the end
	}
	var chunks [][]byte
	var total int64
	for {
		chunk := make([]byte, size)
		n, err := fill(r, chunk)
		total += int64(n)
		if total > limit {
			return nil, errTooLarge
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if err == io.EOF {
			if chunks == nil {
				return chunk[:n], nil
			}
			return bytes.Join(append(chunks, chunk[:n]), nil), nil
		}
		chunks = append(chunks, chunk)
		size = min(2*size, 4<<20)
	}
}

// fill reads from r until p is full or r ends. Unlike io.ReadFull it
// reports the end as io.EOF however much it read, and passes any other
// error on as it is (a body cut short stays io.ErrUnexpectedEOF).
func fill(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := r.Read(p[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// formatSize writes a byte count as bytes, with the binary unit it is a
// whole multiple of, if any: "67108864 bytes (64 MiB)".
func formatSize(n int64) string {
	for _, unit := range []struct {
		size int64
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n >= unit.size && n%unit.size == 0 {
			return fmt.Sprintf("%d bytes (%d %s)", n, n/unit.size, unit.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}
