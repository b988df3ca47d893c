package toolhouse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// secretValue is distinctive, so that a leak shows up in any string, and
// holds the characters JSON escapes and the "=" that `th secrets set
// NAME=VALUE` users write.
const secretValue = `sk-live-7Hq2<&>"x"=Z9-do-not-leak`

func TestSecretsList(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", "/v1/kv", reply(200, `{"data":{"OPENWEATHER_API_KEY":"ow-123","DSN":"postgres://u:p@db/x?sslmode=require","EMPTY":""}}`))
	secrets, err := h.c.Secrets.List(context.Background())
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"OPENWEATHER_API_KEY": "ow-123",
		"DSN":                 "postgres://u:p@db/x?sslmode=require",
		"EMPTY":               "",
	}, secrets)

	wantPlatformCall(t, h, "GET", "/v1/kv", false)
}

func TestSecretsListErrors(t *testing.T) {
	t.Parallel()
	t.Run("none", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.on("GET", "/v1/kv", reply(200, `{"data":{}}`))
		secrets, err := h.c.Secrets.List(context.Background())
		require.NoError(t, err)
		assert.Empty(t, secrets)
	})
	t.Run("forbidden", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.on("GET", "/v1/kv", reply(403, `{"detail":"Not authenticated"}`))
		_, err := h.c.Secrets.List(context.Background())
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 403, apiErr.StatusCode)
		assert.Equal(t, "Not authenticated", apiErr.Message)
	})
	t.Run("a value that is not a string", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.on("GET", "/v1/kv", reply(200, `{"data":{"PORT":5432}}`))
		_, err := h.c.Secrets.List(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "decoding the 200 response")
	})
	t.Run("retried after a 500", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.on("GET", "/v1/kv", reply(500, ``), reply(200, `{"data":{"A":"1"}}`))
		secrets, err := h.c.Secrets.List(context.Background())
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"A": "1"}, secrets)
		assert.Len(t, h.requests(), 2)
	})
}

func TestSecretsSet(t *testing.T) {
	t.Parallel()
	for _, answer := range []string{`{}`, `{"data":{"key":"OPENWEATHER_API_KEY"}}`, ``} {
		t.Run(answer, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.on("POST", "/v1/kv", reply(200, answer))
			require.NoError(t, h.c.Secrets.Set(context.Background(), "OPENWEATHER_API_KEY", secretValue))

			r := wantPlatformCall(t, h, "POST", "/v1/kv", true)
			assert.Equal(t, map[string]any{"key": "OPENWEATHER_API_KEY", "value": secretValue}, bodyFields(t, r.Body))
		})
	}
	t.Run("an empty value", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.on("POST", "/v1/kv", reply(200, `{}`))
		require.NoError(t, h.c.Secrets.Set(context.Background(), "FLAG", ""))
		assert.Equal(t, []string{`POST /v1/kv {"key":"FLAG","value":""}`}, h.calls())
	})
}

func TestSecretsSetIsRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("POST", "/v1/kv", reply(500, `{"detail":"Internal server error"}`), reply(502, ``), reply(200, `{}`))
	require.NoError(t, h.c.Secrets.Set(context.Background(), "K", "v"))
	want := `POST /v1/kv {"key":"K","value":"v"}`
	assert.Equal(t, []string{want, want, want}, h.calls(), "setting a value twice is harmless")
	assert.Len(t, h.sleeps(), 2)
}

func TestSecretsDelete(t *testing.T) {
	t.Parallel()
	tests := []struct{ key, path string }{ // the key is one escaped path segment
		{"OPENWEATHER_API_KEY", "/v1/kv/OPENWEATHER_API_KEY"},
		{"my key?#", "/v1/kv/my%20key%3F%23"},
		{"a%2Fb", "/v1/kv/a%252Fb"},
		{"a..b", "/v1/kv/a..b"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.on("DELETE", testBase+tt.path, reply(200, `{}`))
			require.NoError(t, h.c.Secrets.Delete(context.Background(), tt.key))
			wantPlatformCall(t, h, "DELETE", tt.path, false)
		})
	}
	t.Run("unknown key", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.on("DELETE", "/v1/kv/NOPE", reply(404, `{"detail":"Key not found"}`))
		err := h.c.Secrets.Delete(context.Background(), "NOPE")
		assert.ErrorIs(t, err, ErrNotFound)
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, "Key not found", apiErr.Message)
	})
	t.Run("validation", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.on("DELETE", "/v1/kv/K", reply(422, `{"detail":[{"loc":["path","key"],"msg":"String should have at most 64 characters","type":"string_too_long"}]}`))
		err := h.c.Secrets.Delete(context.Background(), "K")
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, "path.key: String should have at most 64 characters", apiErr.Message)
	})
	t.Run("retried after a 503", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.on("DELETE", "/v1/kv/K", reply(503, ``), reply(200, `{}`))
		require.NoError(t, h.c.Secrets.Delete(context.Background(), "K"))
		assert.Len(t, h.requests(), 2)
	})
}

func TestSecretsRefuseBadArguments(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := h.c.Secrets
	ctx := context.Background()
	for _, key := range []string{"", "  ", ".", "..", "a/b", "/", `a\b`, "a\nb", "a\x00b"} {
		for name, err := range map[string]error{
			"Set":    s.Set(ctx, key, secretValue),
			"Delete": s.Delete(ctx, key),
		} {
			var argErr *ArgumentError
			if assert.ErrorAs(t, err, &argErr, "%s(%q)", name, key) {
				assert.Equal(t, "key", argErr.Arg)
				assert.NotContains(t, err.Error(), secretValue)
			}
		}
	}
	assert.Empty(t, h.requests(), "nothing is sent for a bad argument")
}

// jsonQuoted is v inside a JSON string as Python's json.dumps writes it
// by default (ensure_ascii): every byte outside printable ASCII, and here
// every letter too, as \u escapes, which no plain replacement finds.
func jsonQuoted(v string) string {
	var b strings.Builder
	for _, r := range v {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r < 0x80 && (r < 'A' || r > 'z'):
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// The value a caller stores must never reach an error or a log line, even
// when the server repeats it in its answer, as FastAPI's 422 does with the
// "input" it refused.
func TestSecretsSetNeverLeaksTheValue(t *testing.T) {
	t.Parallel()
	goEscaped := strings.NewReplacer(`<`, `\u003c`, `>`, `\u003e`, `&`, `\u0026`, `"`, `\"`).Replace(secretValue)
	tests := []struct {
		name   string
		status int
		body   string
		header []string
	}{
		{"FastAPI 422 echoing the input", 422,
			`{"detail":[{"type":"string_too_long","loc":["body","value"],"msg":"String should have at most 16 characters","input":"` +
				strings.ReplaceAll(secretValue, `"`, `\"`) + `","ctx":{"max_length":16}}]}`, nil},
		{"detail repeating the value", 400, `{"detail":"invalid value ` + strings.ReplaceAll(secretValue, `"`, `\"`) + `"}`, nil},
		{"escaped like Go", 400, `{"error":"bad value ` + goEscaped + `"}`, nil},
		{"escaped like Python", 400, `{"message":"bad value ` + jsonQuoted(secretValue) + `", "n": 1.50}`, nil},
		{"plain text", 400, `rejected: ` + secretValue, nil},
		{"HTML", 400, `<html><title>Bad value ` + secretValue + `</title></html>`, nil},
		{"a header", 400, `{"detail":"bad"}`, []string{"X-Request-Id", secretValue, "X-Echo", "v=" + secretValue}},
		{"a long detail cut by the message limit", 400,
			`{"detail":"` + strings.Repeat("x", maxMessage-10) + strings.ReplaceAll(secretValue, `"`, `\"`) + `"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			h := newHarness(t, WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
			h.on("POST", "/v1/kv", reply(tt.status, tt.body, tt.header...))
			err := h.c.Secrets.Set(context.Background(), "OPENWEATHER_API_KEY", secretValue)
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			wantNoSecret(t, err, secretValue)
			assert.NotContains(t, logs.String(), "sk-live", "nothing of the value is logged")
			assert.Contains(t, logs.String(), "status="+fmt.Sprint(tt.status), "the attempt is logged")
		})
	}
}

// wantNoSecret checks every way a caller may print err, and the *APIError
// it carries.
func wantNoSecret(t *testing.T, err error, secret string) {
	t.Helper()
	for _, s := range []string{err.Error(), fmt.Sprintf("%v %+v %#v %q", err, err, err, err)} {
		assert.NotContains(t, s, secret)
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		assert.NotContains(t, apiErr.Message, secret)
		assert.NotContains(t, string(apiErr.Body), secret)
		assert.NotContains(t, apiErr.RequestID, secret)
		assert.NotContains(t, fmt.Sprint(apiErr.Header), secret)
		// Nor a JSON escaping of it.
		assert.NotContains(t, string(apiErr.Body), `sk-live`)
		assert.NotContains(t, string(apiErr.Body), `\u0073\u006b`)
	}
}

func TestSecretsSetRedactionKeepsTheRest(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("POST", "/v1/kv", reply(422,
		`{"detail":[{"type":"string_too_long","loc":["body","value"],"msg":"String should have at most 16 characters","input":"`+
			strings.ReplaceAll(secretValue, `"`, `\"`)+`"}]}`, "X-Request-Id", "req-7"))
	err := h.c.Secrets.Set(context.Background(), "K", secretValue)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "body.value: String should have at most 16 characters", apiErr.Message)
	assert.JSONEq(t, `{"detail":[{"type":"string_too_long","loc":["body","value"],"msg":"String should have at most 16 characters","input":"[REDACTED]"}]}`,
		string(apiErr.Body))
	assert.Equal(t, "req-7", apiErr.RequestID)
	assert.Contains(t, err.Error(), "POST "+testBase+"/v1/kv: 422 Unprocessable Entity: body.value: String should have at most 16 characters (request id req-7)")
}

func TestSecretsSetNeverLeaksTheValueAcrossRetries(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h := newHarness(t, WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	echo := reply(503, `{"detail":"unavailable, try `+strings.ReplaceAll(secretValue, `"`, `\"`)+` later"}`, "X-Request-Id", secretValue)
	h.on("POST", "/v1/kv", echo)
	err := h.c.Secrets.Set(context.Background(), "K", secretValue)
	require.Error(t, err)
	assert.Len(t, h.requests(), 3, "retried, then given up")
	wantNoSecret(t, err, secretValue)
	assert.NotContains(t, logs.String(), "sk-live")
	assert.Equal(t, 3, strings.Count(logs.String(), `"status":503`))

	// The context ends while waiting to retry: the error wraps the last
	// answer, whose message it repeats.
	ctx, cancel := context.WithCancel(context.Background())
	h2 := newHarness(t)
	h2.on("POST", "/v1/kv", echo)
	h2.c.sleep = func(ctx context.Context, _ time.Duration) error {
		cancel()
		return ctx.Err()
	}
	err = h2.c.Secrets.Set(ctx, "K", secretValue)
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "giving up while waiting to retry")
	wantNoSecret(t, err, secretValue)
}

func TestSecretsSetNeverLeaksTheValueFromTheTransport(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h := newHarness(t, WithMaxRetries(0), WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	errProxy := errors.New("proxy refused the body")
	// A proxy (or a custom transport) that repeats the request body.
	h.on("POST", "/v1/kv", func(req *http.Request) (*http.Response, error) {
		body, _ := io.ReadAll(req.Body)
		return nil, fmt.Errorf("%w: %s", errProxy, body)
	})
	err := h.c.Secrets.Set(context.Background(), "K", secretValue)
	require.ErrorIs(t, err, errProxy, "the scrubbed error still wraps the original")
	wantNoSecret(t, err, secretValue)
	assert.Contains(t, logs.String(), "proxy refused the body")
	assert.NotContains(t, logs.String(), "sk-live", "the log line quotes the error: look for the value's start")
}

func TestSecretsSetRedactsAValueCutByTheBodyLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, WithMaxRetries(0))
	// The body is cut at maxErrorBody, ten bytes into the value.
	body := strings.Repeat("x", maxErrorBody-10) + secretValue + strings.Repeat("y", 100)
	h.on("POST", "/v1/kv", httpmock.NewStringResponder(500, body))
	err := h.c.Secrets.Set(context.Background(), "K", secretValue)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.True(t, strings.HasSuffix(string(apiErr.Body), "xxx"+redacted), "ends %q", apiErr.Body[len(apiErr.Body)-20:])
	assert.NotContains(t, string(apiErr.Body), secretValue[:10])
	assert.LessOrEqual(t, len(apiErr.Body), maxErrorBody)
}

func TestRedactLeavesBodiesWithoutSecretsAlone(t *testing.T) {
	t.Parallel()
	body := []byte(`{"detail": "b\u00e9d",   "n": 1.50}`)
	resp := &http.Response{StatusCode: 400, Header: http.Header{"X-Request-Id": {"r1"}}}
	e := newAPIError(resp, body, redactor{newAPIKey(testKey)(), newSecret(secretValue)()})
	assert.Equal(t, string(body), string(e.Body), "byte for byte")
	assert.Equal(t, "béd", e.Message)
	assert.Equal(t, "r1", e.Header.Get("X-Request-Id"))
}

// FuzzRedact: whatever the body and the secret, neither the body nor the
// message of a redacted error holds the secret. Secrets that share a
// character with the placeholder are left out: "[REDACTED]" itself would
// hold them.
func FuzzRedact(f *testing.F) {
	for _, seed := range []struct{ body, secret string }{
		{`{"detail":"invalid value sk-1"}`, "sk-1"},
		{`{"detail":[{"msg":"too long","input":"a\"b<c"}]}`, `a"b<c`},
		{`{"message":"\u0073k-1"}`, "sk-1"},
		{`<title>sk  1</title>`, "sk 1"},
		{`{"detail":"x","n":1e400}`, "x"},
	} {
		f.Add([]byte(seed.body), seed.secret)
	}
	f.Fuzz(func(t *testing.T, body []byte, secret string) {
		if secret == "" || strings.ContainsAny(secret, redacted) {
			t.Skip()
		}
		e := newAPIError(&http.Response{StatusCode: 400, Header: http.Header{}}, body, redactor{newSecret(secret)()})
		if bytes.Contains(e.Body, []byte(secret)) {
			t.Fatalf("body %q holds %q", e.Body, secret)
		}
		if strings.Contains(e.Message, secret) {
			t.Fatalf("message %q holds %q", e.Message, secret)
		}
	})
}
