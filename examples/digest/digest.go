// Package digest stands for your own code in the "Testing your code"
// example: code that takes a *toolhouse.Client, here to ask a deployed
// agent for a daily digest. Its test, digest_test.go, runs it against the
// fake Toolhouse of package toolhousetest, with no network and no key.
//
//	go test ./examples/digest
package digest

import (
	"context"
	"fmt"
	"strings"

	"github.com/toolhouseai/toolhouse-go"
)

// Today asks the agent for today's digest and returns the text of its
// answer. An error the agent reports in its stream is returned as an error.
func Today(ctx context.Context, client *toolhouse.Client, agentID string) (string, error) {
	stream, err := client.Workers.Stream(ctx, agentID, toolhouse.WorkerRunParams{Message: "Today's digest, please"})
	if err != nil {
		return "", err
	}
	defer stream.Close()
	var text strings.Builder
	for ev, err := range stream.All() {
		if err != nil {
			return "", err
		}
		switch ev.Type {
		case toolhouse.EventTextDelta:
			text.WriteString(ev.Text)
		case toolhouse.EventError:
			return "", fmt.Errorf("digest agent %s: %s", agentID, ev.Error)
		}
	}
	return text.String(), nil
}
