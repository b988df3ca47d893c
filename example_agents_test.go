package toolhouse_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/toolhouseai/toolhouse-go"
)

// These examples run against the fake Toolhouse of package toolhousetest
// (see fakeToolhouse): an agent deployed there is a worker at once, and
// answers by quoting its prompt and the messages it was sent.

// Deploy an agent, then ask it through the Workers API: its ID is the
// agent ID there, and its prompt the default message.
func ExampleAgentsService_Create() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx := context.Background()

	err := func() error {
		agent, err := client.Agents.Create(ctx, toolhouse.AgentCreateParams{
			Title:  "Bird facts",
			Prompt: "Tell me one surprising fact about birds.",
			Vars:   map[string]string{"tone": "playful"},
			// Public is always sent: false keeps the agent to your API key.
		})
		if err != nil {
			return err
		}
		fmt.Printf("deployed %q, public: %t\n", agent.Title, agent.Public)
		stream, err := client.Workers.Stream(ctx, agent.ID, toolhouse.WorkerRunParams{})
		if err != nil {
			return err
		}
		defer stream.Close()
		for ev, err := range stream.All() {
			if err != nil {
				return err
			}
			if ev.Type == toolhouse.EventTextDelta {
				fmt.Print(ev.Text)
			}
		}
		fmt.Println()
		return nil
	}()
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// deployed "Bird facts", public: false
	// Following my prompt: “Tell me one surprising fact about birds.”
}

// Deploy an agent, then talk with it through the Workers API: a
// Conversation keeps the run, so each answer knows the messages before it.
func ExampleAgentsService_Create_conversation() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx := context.Background()

	err := func() error {
		agent, err := client.Agents.Create(ctx, toolhouse.AgentCreateParams{
			Title:  "Trip planner",
			Prompt: "Plan a day in Rome.",
		})
		if err != nil {
			return err
		}
		conv := client.Workers.Conversation(agent.ID)
		for _, message := range []string{"I love museums.", "Where should I eat?"} {
			stream, err := conv.Send(ctx, message)
			if err != nil {
				return err
			}
			var answer strings.Builder
			for ev, err := range stream.All() {
				if err != nil {
					return err
				}
				if ev.Type == toolhouse.EventTextDelta {
					answer.WriteString(ev.Text)
				}
			}
			fmt.Println(answer.String())
		}
		return nil
	}()
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// Following my prompt: “Plan a day in Rome.” You said: “I love museums.”
	// Following my prompt: “Plan a day in Rome.” Before, you said: “I love museums.” Now you say: “Where should I eat?”
}

// List shows every agent of the account; this fake's holds the demo agent.
func ExampleAgentsService_List() {
	client, stop := fakeToolhouse()
	defer stop()

	agents, err := client.Agents.List(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range agents {
		fmt.Printf("%s %q public: %t\n", a.ID, a.Title, a.Public)
	}
	// Output: 5f0c1c9e-3b7a-4d7e-9b8e-2a6f4c1d8e01 "Bird hearts" public: true
}

func ExampleAgentsService_Update() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx := context.Background()

	agent, err := client.Agents.Create(ctx, toolhouse.AgentCreateParams{Title: "Bird facts", Prompt: "Tell me a bird fact."})
	if err != nil {
		log.Fatal(err)
	}
	// Only the fields set are sent: the prompt and the title stay.
	agent, err = client.Agents.Update(ctx, agent.ID, toolhouse.AgentUpdateParams{
		Model:  toolhouse.String("claude-3-7-sonnet-latest"),
		Public: toolhouse.Bool(true),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q on %s, public: %t\n", agent.Title, agent.Model, agent.Public)
	// Output: "Bird facts" on claude-3-7-sonnet-latest, public: true
}

func ExampleAgentsService_Delete() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx := context.Background()

	agent, err := client.Agents.Create(ctx, toolhouse.AgentCreateParams{Prompt: "Tell me a bird fact."})
	if err != nil {
		log.Fatal(err)
	}
	if err := client.Agents.Delete(ctx, agent.ID); err != nil {
		log.Fatal(err)
	}
	_, err = client.Agents.Get(ctx, agent.ID)
	fmt.Println(errors.Is(err, toolhouse.ErrNotFound))
	// Output: true
}

func ExampleSecretsService_Set() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx := context.Background()

	err := func() error {
		// The value goes to Toolhouse only: never into an error or a log line.
		if err := client.Secrets.Set(ctx, "OPENWEATHER_API_KEY", os.Getenv("OPENWEATHER_API_KEY")); err != nil {
			return err
		}
		if err := client.Secrets.Set(ctx, "SLACK_WEBHOOK_URL", os.Getenv("SLACK_WEBHOOK_URL")); err != nil {
			return err
		}
		secrets, err := client.Secrets.List(ctx) // live credentials: show the names only
		if err != nil {
			return err
		}
		fmt.Println(slices.Sorted(maps.Keys(secrets)))
		return client.Secrets.Delete(ctx, "SLACK_WEBHOOK_URL")
	}()
	if err != nil {
		log.Fatal(err)
	}
	secrets, err := client.Secrets.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(slices.Sorted(maps.Keys(secrets)))
	// Output:
	// [OPENWEATHER_API_KEY SLACK_WEBHOOK_URL]
	// [OPENWEATHER_API_KEY]
}
