package digest_test

import (
	"context"
	"testing"

	"github.com/toolhouseai/toolhouse-go/examples/digest"
	"github.com/toolhouseai/toolhouse-go/toolhousetest"
)

func TestToday(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answer  toolhousetest.Turn // what the fake agent does
		want    string
		wantErr bool
	}{
		{"answer", toolhousetest.Turn{
			toolhousetest.CallTool("web_search", map[string]any{"query": "Go news"}, "Go 1.26 is out."),
			toolhousetest.Say("Go 1.26 is out."),
		}, "Go 1.26 is out.", false},
		{"agent fails", toolhousetest.Turn{toolhousetest.Fail("no news today")}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := toolhousetest.New(t, toolhousetest.WithAgent(toolhousetest.Agent{
				ID: "digest-agent", Turns: []toolhousetest.Turn{tc.answer},
			}))
			client, err := srv.Client() // aimed at srv, with its key
			if err != nil {
				t.Fatal(err)
			}

			got, err := digest.Today(context.Background(), client, "digest-agent")
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("Today() = %q, %v; want %q, error: %t", got, err, tc.want, tc.wantErr)
			}
			// The fake records every request it received.
			if reqs := srv.Requests(); len(reqs) != 1 || reqs[0].Path != "/ndjson/digest-agent" {
				t.Errorf("Today sent %d requests, want one POST /ndjson/digest-agent", len(reqs))
			}
		})
	}
}
