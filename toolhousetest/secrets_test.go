package toolhousetest

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSecretsWireShape(t *testing.T) {
	t.Parallel()
	srv, _ := start(t)
	kv := srv.BaseURL() + "/v1/kv"

	resp := call(t, srv, http.MethodGet, kv, srv.APIKey(), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.JSONEq(t, `{"data":{}}`, string(readBody(t, resp)))

	// POST answers {}: the value goes in, never out again but by GET.
	for _, kv2 := range [][2]string{{"SLACK_WEBHOOK_URL", "https://hooks.example.com/a?b=c&d=e"}, {"a/b", "slashed"}} {
		resp = call(t, srv, http.MethodPost, kv, srv.APIKey(), map[string]string{"key": kv2[0], "value": kv2[1]})
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "{}", string(readBody(t, resp)))
	}
	resp = call(t, srv, http.MethodGet, kv, srv.APIKey(), nil)
	raw := string(readBody(t, resp))
	assert.JSONEq(t, `{"data":{"SLACK_WEBHOOK_URL":"https://hooks.example.com/a?b=c&d=e","a/b":"slashed"}}`, raw)
	assert.Contains(t, raw, "b=c&d=e", "not HTML-escaped")

	// DELETE takes the key as one escaped segment.
	resp = call(t, srv, http.MethodDelete, kv+"/a%2Fb", srv.APIKey(), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "{}", string(readBody(t, resp)))
	resp = call(t, srv, http.MethodDelete, kv+"/a%2Fb", srv.APIKey(), nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.JSONEq(t, `{"detail":"Secret not found"}`, string(readBody(t, resp)))
	assert.Equal(t, map[string]string{"SLACK_WEBHOOK_URL": "https://hooks.example.com/a?b=c&d=e"}, srv.Secrets())
}

func TestSecretsErrors(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, WithSecret("KEPT", "th-kept-value"))
	kv := srv.BaseURL() + "/v1/kv"
	for _, tc := range []struct {
		name, method, url, key string
		body                   any
		status                 int
		want                   string // the whole body, or the first 422 entry's type and field
	}{
		{"list without key", http.MethodGet, kv, "", nil, 401, `{"detail":"Not authenticated"}`},
		{"set with wrong key", http.MethodPost, kv, "th-wrong", map[string]string{"key": "A", "value": "b"}, 401, `{"detail":"Invalid API key"}`},
		{"delete without key", http.MethodDelete, kv + "/KEPT", "", nil, 401, `{"detail":"Not authenticated"}`},
		{"no value", http.MethodPost, kv, srv.APIKey(), map[string]string{"key": "A"}, 422, "missing value"},
		{"no key", http.MethodPost, kv, srv.APIKey(), map[string]string{"value": "b"}, 422, "missing key"},
		{"empty key", http.MethodPost, kv, srv.APIKey(), map[string]string{"key": "", "value": "b"}, 422, "string_too_short key"},
		{"value a number", http.MethodPost, kv, srv.APIKey(), map[string]any{"key": "A", "value": 1}, 422, "string_type value"},
		{"no body", http.MethodPost, kv, srv.APIKey(), nil, 422, "missing "},
		{"method", http.MethodPut, kv, "", nil, 405, `{"detail":"Method Not Allowed"}`},
		{"get one", http.MethodGet, kv + "/KEPT", "", nil, 405, `{"detail":"Method Not Allowed"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := call(t, srv, tc.method, tc.url, tc.key, tc.body)
			require.Equal(t, tc.status, resp.StatusCode)
			if tc.status != http.StatusUnprocessableEntity {
				assert.JSONEq(t, tc.want, string(readBody(t, resp)))
				return
			}
			first := validationErrors(t, resp)[0]
			field := ""
			if len(first.Loc) > 1 {
				field, _ = first.Loc[1].(string)
			}
			assert.Equal(t, tc.want, first.Type+" "+field)
		})
	}
	assert.Equal(t, map[string]string{"KEPT": "th-kept-value"}, srv.Secrets(), "nothing above stored anything")
}

func TestWithSecretNeedsAName(t *testing.T) {
	t.Parallel()
	srv, err := Start(WithSecret("", "th-hidden-value"))
	require.Error(t, err)
	assert.Nil(t, srv)
	assert.Equal(t, "toolhousetest: WithSecret: a secret needs a name", err.Error(), "no value in the error")
}
