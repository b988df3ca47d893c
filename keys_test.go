package toolhouse

// The API key goes only where it belongs: not into anything a printer, a
// logger or an error shows, whatever the server echoes back and however a
// careless caller hands it over.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keyPieces are the pieces of testKey whose presence in a text is a leak:
// the whole key and each half of it, so that a copy cut in the middle is
// caught too.
var keyPieces = []string{testKey, testKey[:len(testKey)/2], testKey[len(testKey)/2:]}

// assertNoKey fails if text holds the key or a half of it.
func assertNoKey(t *testing.T, what, text string) {
	t.Helper()
	for _, piece := range keyPieces {
		if strings.Contains(text, piece) {
			t.Errorf("%s shows (part of) the key %q:\n%s", what, piece, text)
			return
		}
	}
}

// jsonEscaped writes s as JSON would if it escaped every character.
func jsonEscaped(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

// recordingT is an assert.TestingT that keeps the failure messages, so a
// test can read the diff testify would print.
type recordingT struct{ msgs []string }

func (r *recordingT) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func TestPrintingAClientNeverShowsTheKey(t *testing.T) {
	t.Parallel()
	// A careless caller also put the key into the base URL.
	c, err := NewClient(WithoutEnvironment(), WithAPIKey(testKey),
		WithBaseURL("https://user:"+testKey+"@api.toolhouse.test/"))
	require.NoError(t, err)
	type service struct {
		Name   string
		Client *Client
	}
	holder := service{Name: "billing", Client: c}

	var printed []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{*c, c, holder, &holder, []*Client{c}, map[string]Client{"c": *c}} {
			printed = append(printed, fmt.Sprintf(verb, v))
		}
	}
	for _, p := range printed {
		assertNoKey(t, "fmt", p)
	}
	assert.Contains(t, fmt.Sprint(*c), "APIKey: set", "a Client value prints its own description")
	assert.Contains(t, fmt.Sprintf("%#v", c), "https://REDACTED@api.toolhouse.test/")

	// testify's failure output: a diff made with go-spew, which walks
	// unexported fields and pointers and calls no String method.
	rec := &recordingT{}
	assert.Equal(rec, holder, service{Name: "payroll", Client: c})
	assert.Equal(rec, *c, Client{})
	assert.Equal(rec, []any{holder}, []any{c})
	require.Len(t, rec.msgs, 3, "each comparison failed and printed its diff")
	for _, msg := range rec.msgs {
		assertNoKey(t, "testify's diff", msg)
	}
	assert.Contains(t, rec.msgs[1], "maxRetries", "the diff did walk into the client's unexported fields")

	// slog, through both handlers, with the client as a value, a pointer
	// and inside another value.
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&logs, nil), slog.NewTextHandler(&logs, nil)} {
		slog.New(h).Info("calling", slog.Any("client", c), slog.Any("value", *c), slog.Any("holder", holder), "bare", c)
	}
	assertNoKey(t, "slog", logs.String())
	assert.Contains(t, logs.String(), `"client":{"base_url":"https://REDACTED@api.toolhouse.test/"`,
		"slog sees the client's LogValue")
}

func TestMalformedBaseURLsDoNotRepeatThePassword(t *testing.T) {
	const password = "PW-9c1d4e7f"
	urls := []string{
		"http//user:" + password + "@api.toolhouse.test",  // missing colon
		"http:/user:" + password + "@api.toolhouse.test",  // missing slash
		"user:" + password + "@api.toolhouse.test",        // no scheme
		"//user:" + password + "@api.toolhouse.test",      // scheme-relative
		"ftp://user:" + password + "@api.toolhouse.test",  // wrong scheme
		"http://user:" + password + "@[::1",               // unparsable host
		"https://user:" + password + "@/v1",               // no host
		"https://user:" + password + "@api.test/?debug=1", // a query
		"https://gateway.test/?token=" + password,         // a gateway's token
		"https://gateway.test/?to=a@b.test&token=" + password,
		"ftp://gateway.test/?token=" + password,
		"https://gateway.test/#token=" + password,
		"http://[::1/?token=" + password, // unparsable
		"https://user:pa?" + password + "@api.toolhouse.test",
	}
	for _, u := range urls {
		for name, opt := range map[string]Option{"WithBaseURL": WithBaseURL(u), "WithAgentsURL": WithAgentsURL(u)} {
			c, err := NewClient(WithoutEnvironment(), opt)
			require.Error(t, err, "%s(%q)", name, u)
			assert.Nil(t, c)
			assert.NotContains(t, err.Error(), password, "%s(%q)", name, u)
			assert.Contains(t, err.Error(), name, "the error names the option")
		}
	}
	// The environment variable gives the same protection.
	for _, u := range urls[:3] {
		t.Setenv("TOOLHOUSE_API_URL", u)
		_, err := NewClient(WithAPIKey(testKey))
		require.Error(t, err)
		assert.NotContains(t, err.Error(), password)
		assert.Contains(t, err.Error(), "TOOLHOUSE_API_URL")
	}
}

func TestAKeyThatCannotBeRightSaysWhereItCameFrom(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	writeKeyFile := func(content string) {
		require.NoError(t, os.WriteFile(filepath.Join(home, ".toolhouse"), []byte(content), 0o600))
	}
	tests := []struct {
		name       string
		setup      func() []Option
		wantSource string
		wantWhat   string
	}{
		{"pasted with its scheme", func() []Option { return []Option{WithAPIKey("Bearer " + testKey)} },
			"WithAPIKey", `"Bearer "`},
		{"env pasted with its scheme", func() []Option { t.Setenv(envAPIKey, "bearer "+testKey); return nil },
			"TOOLHOUSE_API_KEY", `"Bearer "`},
		{"comment after it in the key file", func() []Option {
			t.Setenv(envAPIKey, "")
			writeKeyFile("TOOLHOUSE_API_KEY=" + testKey + " # work account\n")
			return nil
		}, filepath.Join(home, ".toolhouse"), "comment"},
		{"two words", func() []Option { return []Option{WithAPIKey(testKey + " " + testKey)} },
			"WithAPIKey", "white space"},
		{"control character", func() []Option { return []Option{WithAPIKey(testKey + "\x00")} },
			"WithAPIKey", "control"},
		{"quotes kept by an env file", func() []Option { t.Setenv(envAPIKey, `"`+testKey+`"`); return nil },
			"TOOLHOUSE_API_KEY", "quotes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(envAPIKey, "")
			writeKeyFile("")
			c, err := NewClient(tt.setup()...)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tt.wantSource, "the error says where the key came from")
			assert.Contains(t, err.Error(), tt.wantWhat, "the error says what is wrong")
			assertNoKey(t, "the error", err.Error())
			assert.NotContains(t, err.Error(), "th-", "not even the key's prefix")
		})
	}
	// Control: spaces around the key are not part of it.
	t.Setenv(envAPIKey, "  "+testKey+"\n")
	c, err := NewClient()
	require.NoError(t, err)
	assert.Equal(t, testKey, c.key.value())
}

func TestKeyEchoesAreRedacted(t *testing.T) {
	t.Parallel()
	escaped := jsonEscaped(testKey)
	// Half the characters escaped, in upper-case hex, the rest plain.
	var mixed strings.Builder
	for i, r := range testKey {
		if i%2 == 0 {
			fmt.Fprintf(&mixed, `\u%04X`, r)
		} else {
			mixed.WriteRune(r)
		}
	}
	padding := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name   string
		body   string
		header []string
		check  func(t *testing.T, e *APIError)
	}{
		{name: "request id", body: `{"detail":"denied"}`, header: []string{"X-Request-Id", testKey},
			check: func(t *testing.T, e *APIError) {
				assert.Equal(t, redacted, e.RequestID)
				assert.Equal(t, redacted, e.Header.Get("X-Request-Id"))
			}},
		{name: "header value", body: `{"detail":"denied"}`,
			header: []string{"Www-Authenticate", `Bearer error="invalid_token", token="` + testKey + `"`},
			check: func(t *testing.T, e *APIError) {
				assert.Equal(t, `Bearer error="invalid_token", token="[REDACTED]"`, e.Header.Get("Www-Authenticate"))
			}},
		{name: "JSON-escaped", body: `{"detail":"Invalid API key ` + escaped + `"}`,
			check: func(t *testing.T, e *APIError) {
				assert.Equal(t, "Invalid API key [REDACTED]", e.Message)
			}},
		{name: "JSON-escaped in part", body: `{"detail":"Invalid API key ` + mixed.String() + `"}`,
			check: func(t *testing.T, e *APIError) {
				assert.Equal(t, "Invalid API key [REDACTED]", e.Message)
			}},
		{name: "cut by the body cap", body: padding(maxErrorBody-10) + testKey + " and more",
			check: func(t *testing.T, e *APIError) {
				assert.Equal(t, maxErrorBody, len(e.Body), "Body still holds the first 1 MiB")
				assert.True(t, bytes.HasSuffix(e.Body, []byte(padding(10)+redacted)), "the copy is redacted whole, then cut")
			}},
		{name: "escaped and cut by the body cap", body: padding(maxErrorBody-30) + escaped,
			check: func(t *testing.T, e *APIError) {
				assert.True(t, bytes.Equal(e.Body, []byte(padding(maxErrorBody-30)+redacted)), "the copy is redacted whole")
			}},
		{name: "cut by the snippet", body: "<html><body>" + padding(maxSnippet-15) + " " + testKey + "</body></html>",
			check: func(t *testing.T, e *APIError) {
				assert.True(t, strings.HasPrefix(e.Message, padding(maxSnippet-15)), e.Message)
			}},
		{name: "cut by the message bound", body: `{"detail":"` + padding(maxMessage-12) + " " + escaped + `"}`,
			check: func(t *testing.T, e *APIError) {
				assert.True(t, strings.HasPrefix(e.Message, padding(maxMessage-12)), e.Message)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, WithMaxRetries(0))
			h.on("GET", "/v1/agent-runs/r1", reply(http.StatusUnauthorized, tt.body, tt.header...))
			_, err := h.c.AgentRuns.Get(context.Background(), "r1")
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			tt.check(t, apiErr)

			assertNoKey(t, "Error()", err.Error())
			assertNoKey(t, "%+v and %#v", fmt.Sprintf("%+v %#v", err, apiErr))
			assertNoKey(t, "Message", apiErr.Message)
			assertNoKey(t, "RequestID", apiErr.RequestID)
			assertNoKey(t, "Header", fmt.Sprint(apiErr.Header))
			assertNoKey(t, "Body", string(apiErr.Body))
			// What a caller gets by decoding the body is no better.
			var decoded any
			if json.Unmarshal(apiErr.Body, &decoded) == nil {
				assertNoKey(t, "the decoded Body", fmt.Sprint(decoded))
			}
		})
	}
}

func TestDecodeErrorsNeverQuoteAPieceOfTheKey(t *testing.T) {
	t.Parallel()
	// Error texts quote 40 bytes of a bad timestamp, 200 of a page that is
	// not JSON: a cut in the middle of a copy of the key must not show
	// the half before it.
	tests := map[string]string{
		"timestamp":         `{"data":{"id":"r1","created_at":"` + testKey + `"}}`,
		"escaped timestamp": `{"data":{"id":"r1","created_at":"` + jsonEscaped(testKey) + `"}}`,
		"not a string":      `{"data":{"id":"r1","updated_at":{"k":"` + testKey + `"}}}`,
		"not JSON":          "<html><body>" + strings.Repeat("y", maxSnippet-12) + testKey + "</body></html>",
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.on("GET", "/v1/agent-runs/r1", reply(http.StatusOK, body))
			_, err := h.c.AgentRuns.Get(context.Background(), "r1")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "decoding the 200 response")
			assertNoKey(t, "the decode error", err.Error())
		})
	}
}

func TestScrubbingCatchesPiecesOfTheKey(t *testing.T) {
	t.Parallel()
	// A transport (a proxy library, a custom RoundTripper) whose error
	// quotes a cut copy of the request's header.
	h := newHarness(t, WithMaxRetries(0))
	errProxy := errors.New("proxy refused")
	h.on("GET", "/v1/agent-runs/r1", func(req *http.Request) (*http.Response, error) {
		return nil, fmt.Errorf("%w the header %.30q…", errProxy, req.Header.Get("Authorization"))
	})
	_, err := h.c.AgentRuns.Get(context.Background(), "r1")
	require.ErrorIs(t, err, errProxy, "the scrubbed error still wraps the original")
	assertNoKey(t, "the transport error", err.Error())
	assert.Contains(t, err.Error(), "Bearer [REDACTED]")
}

func TestAOneCharacterKeyLeavesOrdinaryTextAlone(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"a", "e", "th-1"} {
		t.Run(key, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, WithMaxRetries(0), WithAPIKey(key))
			h.on("GET", "/v1/agent-runs/r1", reply(http.StatusNotFound, `{"detail":"Agent run not found: a background job ate it"}`,
				"X-Request-Id", "req-a-e-th-1"))
			h.on("GET", "/v1/agent-runs/r2", reply(http.StatusUnauthorized, `{"detail":"Invalid token: Bearer `+key+`"}`,
				"X-Request-Id", key))
			h.on("GET", "/v1/agent-runs/r3", httpmock.NewErrorResponder(errors.New("read: connection reset by peer")))

			_, err := h.c.AgentRuns.Get(context.Background(), "r1")
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, "Agent run not found: a background job ate it", apiErr.Message, "ordinary text is untouched")
			assert.Equal(t, "req-a-e-th-1", apiErr.RequestID)
			assert.ErrorIs(t, err, ErrNotFound)
			assert.NotContains(t, err.Error(), redacted)

			_, err = h.c.AgentRuns.Get(context.Background(), "r2")
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, "Invalid token: Bearer [REDACTED]", apiErr.Message, "a credential is still a credential")
			assert.Equal(t, redacted, apiErr.RequestID)

			_, err = h.c.AgentRuns.Get(context.Background(), "r3")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "connection reset by peer")
		})
	}
}

func TestSecretFindsEveryWrittenFormOfTheKey(t *testing.T) {
	t.Parallel()
	key := redactor{newAPIKey("th-a/b+c")()}
	tests := map[string]string{
		`th-a/b+c`:                 redacted,
		`"th-a\/b+c"`:              `"` + redacted + `"`,
		`x\u0074h-a/b\u002Bc y`:    "x" + redacted + " y",
		`\u0074\u0068\u002d a/b+c`: `\u0074\u0068\u002d a/b+c`, // not the key: a space inside
		`th-a/b+`:                  `th-a/b+`,
		`no key here`:              `no key here`,
	}
	for in, want := range tests {
		assert.Equal(t, want, key.redact(in), "%q", in)
		assert.Equal(t, want != in, key.in([]byte(in)), "%q", in)
	}
	// Beyond ASCII: \u escapes, and a surrogate pair for an emoji.
	wide := redactor{newAPIKey("th-ключ-😀-xyz")()}
	for _, in := range []string{`th-ключ-😀-xyz`, `th-\u043a\u043B\u044e\u0447-\ud83d\ude00-xyz`, `th-ключ-\uD83D\uDE00-xyz`} {
		assert.Equal(t, "<"+redacted+">", wide.redact("<"+in+">"), "%q", in)
	}
	assert.Equal(t, `th-ключ-\ud83d-xyz`, wide.redact(`th-ключ-\ud83d-xyz`), "half a surrogate pair is not the key")

	// A short key counts only as a credential, a whole word after Bearer.
	short := redactor{newAPIKey("ab1")()}
	for in, want := range map[string]string{
		"Bearer ab1":         "Bearer " + redacted,
		"bearer\tab1, then":  "bearer\t" + redacted + ", then",
		"Bearer ab12":        "Bearer ab12",
		"tab1 stab1 ab1":     "tab1 stab1 ab1",
		`Bearer \u0061b1"`:   "Bearer " + redacted + `"`,
		"ab1":                redacted, // the whole value
		"Bearerab1, Bearer ": "Bearerab1, Bearer ",
	} {
		assert.Equal(t, want, short.redact(in), "%q", in)
	}

	// A secret a call carries (a Secrets.Set value) goes however short.
	value := redactor{newSecret("ab1")()}
	assert.Equal(t, "t"+redacted+" s"+redacted+" "+redacted, value.redact("tab1 sab1 ab1"))

	var none redactor
	assert.Equal(t, "th-a/b+c", none.redact("th-a/b+c"), "no key, nothing to redact")
	assert.False(t, none.in([]byte("anything")))
}

// A URL an error shows holds the key when a hostile server redirected a
// GET to a URL that repeats it (the redirect goes without the key, but the
// server saw it on the first hop), or when a careless caller passed the
// key as an ID. Neither the error, its fields nor a log line may show it.
func TestTheKeyInARequestURLIsRedacted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	debug := func(buf *bytes.Buffer) Option {
		return WithLogger(slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	check := func(t *testing.T, err error, logs string) {
		t.Helper()
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assertNoKey(t, "Error()", err.Error())
		assertNoKey(t, "the APIError's own Error()", apiErr.Error())
		assertNoKey(t, "URL", apiErr.URL)
		assertNoKey(t, "the log", logs)
		assert.Contains(t, apiErr.URL, redacted)
	}

	t.Run("a redirect target that echoes the key", func(t *testing.T) {
		t.Parallel()
		other := newRecorder(t, false, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "gone", http.StatusNotFound) })
		origin := newRecorder(t, false, func(w http.ResponseWriter, r *http.Request) {
			echo := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			http.Redirect(w, r, other.srv.URL+"/x?echo="+echo, http.StatusFound)
		})
		var logs bytes.Buffer
		c := clientOf(t, origin.srv.URL, nil, debug(&logs))
		_, err := c.AgentRuns.Get(ctx, "r1")
		check(t, err, logs.String())
		assert.Empty(t, other.requests()[0].Auth, "the key itself stayed at its origin")
	})

	t.Run("the key passed as an ID", func(t *testing.T) {
		t.Parallel()
		srv := newRecorder(t, false, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "busy", http.StatusBadGateway) })
		var logs bytes.Buffer
		c := clientOf(t, srv.srv.URL, nil, debug(&logs), WithMaxRetries(1))
		_, err := c.AgentRuns.Get(ctx, testKey)
		check(t, err, logs.String())
		assert.Contains(t, logs.String(), "toolhouse: retrying", "both log lines were written")
	})
}

// An ID the SDK refuses may be the key or a secret that a careless caller
// passed in its place: the error names the argument and what is wrong,
// never the value.
func TestArgumentErrorsNeverRepeatTheValue(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	for _, bad := range []string{testKey + "/", "../" + testKey, testKey + "..x"} {
		_, getErr := h.c.AgentRuns.Get(ctx, bad)
		_, workerErr := h.c.Workers.Get(ctx, "agent-1", bad)
		for name, err := range map[string]error{
			"AgentRuns.Get": getErr,
			"Workers.Get":   workerErr,
			"Agents.Delete": h.c.Agents.Delete(ctx, bad),
		} {
			var argErr *ArgumentError
			require.ErrorAs(t, err, &argErr, name)
			assertNoKey(t, name, err.Error())
		}
	}
	// Set's arguments swapped: the value, which holds a slash, in the key.
	err := h.c.Secrets.Set(ctx, secretValue+"/1", "KEY_NAME")
	var argErr *ArgumentError
	require.ErrorAs(t, err, &argErr)
	assert.NotContains(t, err.Error(), secretValue)
	assert.Empty(t, h.requests())
}

// The errors the SDK writes itself after an answer (no object in it, a
// wait that ran out) quote the path or the ID too.
func TestTheKeyPassedAsAnIDStaysOutOfTheSDKsOwnErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	h.on("GET", "/v1/agent-runs/"+testKey, reply(http.StatusOK, `{}`))
	h.on("GET", "/v1/agents/"+testKey, reply(http.StatusOK, `{}`))
	h.on("GET", "/v1/agent-runs/run-"+testKey, reply(http.StatusOK, `{"data":{"id":"r1","status":"queued"}}`))

	_, noData := h.c.AgentRuns.Get(ctx, testKey)
	_, noAgent := h.c.Agents.Get(ctx, testKey)
	_, ranOut := h.c.AgentRuns.Wait(ctx, "run-"+testKey, &PollOptions{MaxWait: time.Minute})
	h.on("GET", testAgents+"/agent-1/run-"+testKey, reply(http.StatusOK, `[]`, "X-Toolhouse-Job-Id", "job-1"))
	_, jobRanOut := h.c.Workers.WaitForJob(ctx, "agent-1", "run-"+testKey, &PollOptions{MaxWait: time.Minute})
	for name, err := range map[string]error{"no data": noData, "no agent": noAgent, "MaxWait": ranOut,
		"job MaxWait": jobRanOut} {
		require.Error(t, err, name)
		assertNoKey(t, name, err.Error())
	}
	assert.Contains(t, noData.Error(), `GET /v1/agent-runs/[REDACTED]: the response has no "data" object`)
	assert.ErrorIs(t, ranOut, context.DeadlineExceeded, "the scrubbed error still wraps the original")
}
