package toolhouse_test

import (
	"encoding/json"
	"fmt"
	"log"

	"github.com/toolhouseai/toolhouse-go"
)

// Roles and part types have names, so that code reading a run's results or
// a worker's history compares with constants rather than string literals.
func ExampleMessage() {
	// Two entries of a worker's history (Workers.Get), as the API sends them.
	const history = `[
		{"role": "assistant", "content": [
			{"type": "text", "text": "Let me search for an interesting new pet fact:"},
			{"type": "tool-call", "toolName": "web_search", "toolCallId": "toolu_01SGidsQaEsE5jTj2cM8Stxx",
			 "args": {"query": "interesting unique pet facts animals", "num_results": 3}}]},
		{"role": "tool", "content": [
			{"type": "tool-result", "toolName": "web_search", "toolCallId": "toolu_01SGidsQaEsE5jTj2cM8Stxx",
			 "result": "Position: 1\nTitle: Fun Facts"}]}
	]`
	var messages []toolhouse.Message
	if err := json.Unmarshal([]byte(history), &messages); err != nil {
		log.Fatal(err)
	}
	for _, m := range messages {
		for _, p := range m.Content {
			switch {
			case m.Role == toolhouse.RoleAssistant && p.Type == toolhouse.PartText:
				fmt.Println("the agent says:", p.Text)
			case p.Type == toolhouse.PartToolCall:
				fmt.Printf("it calls %s with %s\n", p.ToolName, p.Args)
			case m.Role == toolhouse.RoleTool && p.Type == toolhouse.PartToolResult:
				fmt.Printf("%s returns %s\n", p.ToolName, p.Result)
			}
		}
	}
	// Output:
	// the agent says: Let me search for an interesting new pet fact:
	// it calls web_search with {"query": "interesting unique pet facts animals", "num_results": 3}
	// web_search returns "Position: 1\nTitle: Fun Facts"
}
