package toolhouse

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// The environment a client reads unless WithoutEnvironment: the same
// variables and key file as the official th CLI.
const (
	envAPIKey    = "TOOLHOUSE_API_KEY"
	envAPIURL    = "TOOLHOUSE_API_URL"
	envAgentsURL = "TOOLHOUSE_AGENTS_URL"
	keyFileName  = ".toolhouse" // in the home directory, written by `th login`
)

// keyFromEnvironment returns TOOLHOUSE_API_KEY, else the key in
// ~/.toolhouse, else "", and where it found it.
func keyFromEnvironment() (key, source string) {
	if v := strings.TrimSpace(os.Getenv(envAPIKey)); v != "" {
		return v, envAPIKey
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", ""
	}
	path := filepath.Join(home, keyFileName)
	f, err := os.Open(path)
	if err != nil {
		return "", ""
	}
	defer f.Close()
	return keyFromFile(f), "the " + envAPIKey + " line of " + path
}

// keyFromFile reads the TOOLHOUSE_API_KEY= line of a th CLI config file.
// The value runs to the end of the line and may itself contain "=".
func keyFromFile(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line = strings.TrimPrefix(line, "export ")
		name, value, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(name) != envAPIKey {
			continue
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		return value
	}
	return ""
}

// checkAPIKey refuses a key that cannot be right, before it is sent: the
// error says where the key came from and what is wrong with it, and never
// repeats it, not even in part.
func checkAPIKey(key, source string) error {
	if key == "" {
		return nil
	}
	var problem string
	switch {
	case strings.HasPrefix(strings.ToLower(key), "bearer "):
		problem = `starts with "Bearer ": give the key alone, the SDK adds the Bearer scheme itself`
	case strings.Contains(key, " #") || strings.Contains(key, "\t#"):
		problem = "is followed by a comment on its line: put the comment on a line of its own"
	case strings.ContainsFunc(key, unicode.IsSpace):
		problem = "contains white space: a key is a single word, so part of the value is something else"
	case strings.ContainsFunc(key, unicode.IsControl):
		problem = "contains control characters"
	case strings.ContainsAny(key[:1], `"'`) || strings.ContainsAny(key[len(key)-1:], `"'`):
		problem = "is wrapped in quotes: give the key without them"
	default:
		return nil
	}
	return fmt.Errorf("toolhouse: the API key from %s %s", source, problem)
}

// sealedURL is a base URL kept in a closure like the key: user information
// that a caller put into it stays out of reach of reflection-based
// printers.
type sealedURL func() *url.URL

// seal keeps u in a sealedURL.
func seal(u *url.URL) sealedURL { return func() *url.URL { return u } }

// String returns the URL without its user information.
func (s sealedURL) String() string {
	if s == nil {
		return "<nil>"
	}
	return redactURL(s().String())
}

// parseBaseURL checks a base URL and gives it the trailing slash that path
// joining relies on. A URL ending in /v1 (the API's version, which every
// path already starts with) is read as its host root, so that a base URL
// copied from a request does not send /v1/v1/... calls.
func parseBaseURL(raw string) (sealedURL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("empty URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url's own message repeats the input, which may hold credentials.
		return nil, fmt.Errorf("cannot parse URL %q", shownBaseURL(raw))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %q must start with http:// or https://", shownBaseURL(raw))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("URL %q has no host", shownBaseURL(raw))
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, fmt.Errorf("URL %q must not have a query or fragment", shownBaseURL(raw))
	}
	// Work on the path as written: an escaped slash ("%2F") in a proxy's
	// prefix is no path separator, so the decoded path can end in "/"
	// where the written one does not.
	path := strings.TrimSuffix(strings.TrimSuffix(u.EscapedPath(), "/"), "/v1") + "/"
	u.RawPath = path
	u.Path, _ = url.PathUnescape(path) // cannot fail: EscapedPath is valid
	return seal(u), nil
}

// shownBaseURL is a base URL as an error about it shows it: without user
// information, and without the values of a query or fragment, where a
// proxy's URL may carry a token.
func shownBaseURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		shown := redactURL(raw)
		if i := strings.IndexAny(shown, "?#"); i >= 0 {
			shown = shown[:i+1] + "…"
		}
		return shown
	}
	var cut string
	if u.RawQuery != "" || u.ForceQuery {
		cut = "?…"
	}
	if u.Fragment != "" {
		cut += "#…"
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", false, "", ""
	return redactURL(u.String()) + cut
}

// settle completes the configuration the options left open: the key and
// the base URLs from the environment (unless WithoutEnvironment), else the
// defaults.
func (cfg *config) settle() error {
	getenv := func(name string) string {
		if cfg.noEnv {
			return ""
		}
		return strings.TrimSpace(os.Getenv(name))
	}
	if cfg.key == nil && !cfg.noEnv {
		key, source := keyFromEnvironment()
		cfg.key, cfg.keySource = newAPIKey(key), source
	}
	var err error
	if cfg.baseURL == nil {
		if cfg.baseURL, err = parseBaseURL(cmp.Or(getenv(envAPIURL), DefaultBaseURL)); err != nil {
			return fmt.Errorf("toolhouse: %s: %w", envAPIURL, err)
		}
	}
	if cfg.agentsURL == nil {
		if cfg.agentsURL, err = parseBaseURL(cmp.Or(getenv(envAgentsURL), DefaultAgentsURL)); err != nil {
			return fmt.Errorf("toolhouse: %s: %w", envAgentsURL, err)
		}
	}
	return nil
}
