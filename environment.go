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
// ~/.toolhouse, else "".
func keyFromEnvironment() string {
	if v := strings.TrimSpace(os.Getenv(envAPIKey)); v != "" {
		return v
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	f, err := os.Open(filepath.Join(home, keyFileName))
	if err != nil {
		return ""
	}
	defer f.Close()
	return keyFromFile(f)
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

// parseBaseURL checks a base URL and gives it the trailing slash that path
// joining relies on.
func parseBaseURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("empty URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url's own message repeats the input, which may hold credentials.
		return nil, fmt.Errorf("cannot parse URL %q", redactURL(raw))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %q must start with http:// or https://", redactURL(raw))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("URL %q has no host", redactURL(raw))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("URL %q must not have a query or fragment", redactURL(raw))
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u, nil
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
	if cfg.apiKey == "" && !cfg.noEnv {
		cfg.apiKey = keyFromEnvironment()
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
