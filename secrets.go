package toolhouse

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strings"
)

// SecretsService stores the values your agents read, such as the API keys
// of the services their tools call (v1/kv): the calls `th secrets` makes.
//
// A value is a credential: the SDK never puts it in an error or a log
// line, and hides it like the API key should the server repeat it in an
// error answer.
type SecretsService service

// List returns every secret, by name (GET v1/kv). The map holds live
// credentials, the values themselves: do not log or print it, and keep it
// no longer than needed.
func (s *SecretsService) List(ctx context.Context) (map[string]string, error) {
	return platformCall[map[string]string](ctx, s.client, endpoint{
		method: http.MethodGet, path: []string{"v1", "kv"}, replay: idempotent,
	})
}

// Set stores value under key, replacing any value it had
// (POST v1/kv {"key", "value"}). Setting a value twice is harmless, so Set
// is retried like a GET. The value may be empty and may contain any
// character, "=" included.
func (s *SecretsService) Set(ctx context.Context, key, value string) error {
	if err := cmp.Or(checkContext(ctx), checkKey(key)); err != nil {
		return err
	}
	_, err := s.client.do(ctx, endpoint{
		method: http.MethodPost, platform: true, path: []string{"v1", "kv"},
		body: struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		}{key, value},
		replay: idempotent, secrets: []string{value},
	}, nil)
	return err
}

// Delete removes the secret named key (DELETE v1/kv/{key}). An unknown key
// is an error matching ErrNotFound when the server answers 404.
func (s *SecretsService) Delete(ctx context.Context, key string) error {
	if err := cmp.Or(checkContext(ctx), checkKey(key)); err != nil {
		return err
	}
	_, err := s.client.do(ctx, endpoint{
		method: http.MethodDelete, platform: true, path: []string{"v1", "kv", key}, replay: idempotent,
	}, nil)
	return err
}

// checkKey validates a secret's name, which Delete sends as one path
// segment (escaped). "." and ".." would name another path, and a slash is
// refused so that every key Set stores can be deleted. The reason never
// repeats the key: a caller who swapped Set's arguments passed the value.
func checkKey(key string) error {
	switch {
	case strings.TrimSpace(key) == "":
		return &ArgumentError{Arg: "key", Reason: "must not be empty"}
	case key == "." || key == "..":
		return &ArgumentError{Arg: "key", Reason: fmt.Sprintf("%q is not a name", key)}
	case strings.ContainsAny(key, "/\\"):
		return &ArgumentError{Arg: "key", Reason: "must not contain a slash"}
	case strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return &ArgumentError{Arg: "key", Reason: "must not contain control characters"}
	}
	return nil
}
