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

	"github.com/toolhouseai/toolhouse-go"
)

// Today asks the agent for today's digest and returns the text of its
// whole answer, after any background job the agent hands work to. An error
// the agent reports in its stream is returned as an error.
func Today(ctx context.Context, client *toolhouse.Client, agentID string) (string, error) {
	stream, err := client.Workers.Conversation(agentID).Send(ctx, "Today's digest, please")
	if err != nil {
		return "", err
	}
	answer, err := stream.Collect()
	if err != nil {
		return "", fmt.Errorf("digest agent %s: %w", agentID, err)
	}
	return answer.Text, nil
}
