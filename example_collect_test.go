package toolhouse_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/toolhouseai/toolhouse-go/toolhousetest"
)

// Collect reads a whole answer: its text across background jobs, and each
// tool call with its result.
func ExampleEventStream_Collect() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	conv := client.Workers.Conversation(toolhousetest.DemoAgentID)
	stream, err := conv.Send(ctx, "Chart the heart rates of three birds")
	if err != nil {
		log.Fatal(err)
	}
	answer, err := stream.Collect() // follows the background job; closes the stream
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(answer.Text)
	for _, call := range answer.ToolCalls {
		fmt.Printf("[%s, result: %t]\n", call.Name, call.Result != nil)
	}
	fmt.Println("background jobs waited for:", len(answer.JobIDs))
	// Output:
	// Let me look that up. A hummingbird's heart can beat more than 1,200 times a minute! I'm charting heart rates by species with the code interpreter; it runs in the background.
	//
	// The chart is ready: a hummingbird's heart beats about 7 times faster than a pigeon's, and 20 times faster than an ostrich's.
	// [web_search, result: true]
	// [code_interpreter, result: true]
	// background jobs waited for: 1
}
