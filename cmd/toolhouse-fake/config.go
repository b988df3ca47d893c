package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/toolhouseai/toolhouse-go/toolhousetest"
)

// maxConfigSize bounds the -config file: scripts are text, and a file far
// larger is a mistake (a wrong path), not a script.
const maxConfigSize = 16 << 20

// fileConfig is the -config file: agents and chats served besides the demo
// ones, and secrets stored from the start. Its names follow the JSON of
// the APIs (snake_case).
type fileConfig struct {
	Agents  []agentConfig     `json:"agents"`
	Chats   []chatConfig      `json:"chats"`
	Secrets map[string]string `json:"secrets"`
}

type agentConfig struct {
	ID             string         `json:"id"`
	Title          string         `json:"title"`
	Private        bool           `json:"private"`
	DefaultMessage string         `json:"default_message"`
	Turns          [][]stepConfig `json:"turns"`
}

type chatConfig struct {
	ID     string         `json:"id"`
	Prompt string         `json:"prompt"`
	Turns  [][]stepConfig `json:"turns"`
}

// stepConfig is one step of a turn; exactly one of its kinds is set.
type stepConfig struct {
	Say        *string         `json:"say"`
	Tool       *string         `json:"tool"`
	Args       json.RawMessage `json:"args"`
	Result     json.RawMessage `json:"result"`
	Job        *string         `json:"job"` // "" for the -job-time, or a duration
	Fail       *string         `json:"fail"`
	OutOfExecs bool            `json:"out_of_execs"`
}

// loadConfig reads the -config file into toolhousetest options. Errors
// name the file and the place in it.
func loadConfig(path string) ([]toolhousetest.Option, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("-config: %w", err)
	}
	defer f.Close()
	opts, err := parseConfig(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("-config %s: %w", path, err)
	}
	return opts, nil
}

func parseConfig(r io.Reader) ([]toolhousetest.Option, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("larger than %d bytes", maxConfigSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var cfg fileConfig
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("not a configuration: %w", err)
	}
	if dec.More() {
		return nil, errors.New("not a configuration: more data after the JSON object")
	}
	var opts []toolhousetest.Option
	for i, a := range cfg.Agents {
		turns, err := parseTurns(fmt.Sprintf("agents[%d]", i), a.Turns)
		if err != nil {
			return nil, err
		}
		opts = append(opts, toolhousetest.WithAgent(toolhousetest.Agent{
			ID: a.ID, Title: a.Title, Private: a.Private, DefaultMessage: a.DefaultMessage, Turns: turns,
		}))
	}
	for i, c := range cfg.Chats {
		turns, err := parseTurns(fmt.Sprintf("chats[%d]", i), c.Turns)
		if err != nil {
			return nil, err
		}
		opts = append(opts, toolhousetest.WithChat(toolhousetest.Chat{ID: c.ID, Prompt: c.Prompt, Turns: turns}))
	}
	for _, key := range slices.Sorted(maps.Keys(cfg.Secrets)) {
		opts = append(opts, toolhousetest.WithSecret(key, cfg.Secrets[key]))
	}
	return opts, nil
}

func parseTurns(owner string, in [][]stepConfig) ([]toolhousetest.Turn, error) {
	turns := make([]toolhousetest.Turn, 0, len(in))
	for i, steps := range in {
		turn := make(toolhousetest.Turn, 0, len(steps))
		for j, sc := range steps {
			st, err := sc.step()
			if err != nil {
				return nil, fmt.Errorf("%s.turns[%d][%d]: %w", owner, i, j, err)
			}
			turn = append(turn, st)
		}
		turns = append(turns, turn)
	}
	return turns, nil
}

// step turns the JSON of a step into a toolhousetest Step.
func (sc stepConfig) step() (toolhousetest.Step, error) {
	var kinds []string
	for name, set := range map[string]bool{
		"say": sc.Say != nil, "tool": sc.Tool != nil, "job": sc.Job != nil,
		"fail": sc.Fail != nil, "out_of_execs": sc.OutOfExecs,
	} {
		if set {
			kinds = append(kinds, name)
		}
	}
	if len(kinds) != 1 {
		return toolhousetest.Step{}, errors.New(`a step has exactly one of "say", "tool", "job", "fail" and "out_of_execs"`)
	}
	if sc.Tool == nil && (sc.Args != nil || sc.Result != nil) {
		return toolhousetest.Step{}, errors.New(`"args" and "result" belong to a "tool" step`)
	}
	switch {
	case sc.Say != nil:
		return toolhousetest.Say(*sc.Say), nil
	case sc.Tool != nil:
		if *sc.Tool == "" {
			return toolhousetest.Step{}, errors.New(`"tool" needs the tool's name`)
		}
		var args, result any // nil when left out: CallTool's {} and null
		if sc.Args != nil {
			args = sc.Args
		}
		if sc.Result != nil {
			result = sc.Result
		}
		return toolhousetest.CallTool(*sc.Tool, args, result), nil
	case sc.Job != nil:
		if strings.TrimSpace(*sc.Job) == "" {
			return toolhousetest.StartJob(), nil
		}
		d, err := time.ParseDuration(*sc.Job)
		if err != nil || d <= 0 {
			return toolhousetest.Step{}, fmt.Errorf(`"job": %q is not a positive duration such as "10s" (or "" for -job-time)`, *sc.Job)
		}
		return toolhousetest.StartJobFor(d), nil
	case sc.Fail != nil:
		return toolhousetest.Fail(*sc.Fail), nil
	default:
		return toolhousetest.OutOfExecs(), nil
	}
}
