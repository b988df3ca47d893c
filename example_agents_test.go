package toolhouse_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"

	"github.com/toolhouseai/toolhouse-go"
)

// The agents and secrets examples run against exampleServer, a loopback
// server that answers the calls they make the way the platform does: the
// toolhousetest fake does not serve agents and secrets yet.

// exampleServer starts the loopback server and returns a client for it,
// and the function that stops it.
func exampleServer() (*toolhouse.Client, func()) {
	const key = "th-example-key"
	var (
		mu     sync.Mutex
		agents = map[string]map[string]any{} // AgentModel objects by ID
		kv     = map[string]string{}
	)
	writeJSON := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	notFound := func(w http.ResponseWriter) {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Agent not found"})
	}
	mux := http.NewServeMux()
	// The agents calls answer with the AgentModel itself, as the export does.
	mux.HandleFunc("POST /v1/agents", func(w http.ResponseWriter, r *http.Request) {
		var a map[string]any
		if json.NewDecoder(r.Body).Decode(&a) != nil || a["prompt"] == nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"detail": "missing prompt"})
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if a["id"] == nil {
			a["id"] = fmt.Sprintf("0d7a5c1e-8f2b-4e6a-9c3d-%012d", len(agents)+1)
		}
		a["user_id"] = "665618fbdeadd84260aa"
		agents[a["id"].(string)] = a
		writeJSON(w, http.StatusOK, a)
	})
	mux.HandleFunc("GET /v1/agents/{id}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if a, ok := agents[r.PathValue("id")]; ok {
			writeJSON(w, http.StatusOK, a)
			return
		}
		notFound(w)
	})
	mux.HandleFunc("PATCH /v1/agents/{id}", func(w http.ResponseWriter, r *http.Request) {
		var change map[string]any
		_ = json.NewDecoder(r.Body).Decode(&change)
		mu.Lock()
		defer mu.Unlock()
		a, ok := agents[r.PathValue("id")]
		if !ok {
			notFound(w)
			return
		}
		maps.Copy(a, change)
		writeJSON(w, http.StatusOK, a)
	})
	mux.HandleFunc("DELETE /v1/agents/{id}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		a, ok := agents[r.PathValue("id")]
		if !ok {
			notFound(w)
			return
		}
		delete(agents, r.PathValue("id"))
		writeJSON(w, http.StatusOK, a)
	})
	// A deployed agent answers on the Workers API with its prompt's answer.
	mux.HandleFunc("POST /ndjson/{agent}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		_, ok := agents[r.PathValue("agent")]
		mu.Unlock()
		if !ok {
			notFound(w)
			return
		}
		w.Header().Set("X-Toolhouse-Run-ID", "9b2e4f60-1c3a-4d5e-8f7a-0b1c2d3e4f5a")
		for _, line := range []string{
			`{"type":"text-delta","textDelta":"A hummingbird's heart "}`,
			`{"type":"text-delta","textDelta":"beats over 1,200 times a minute."}`,
			`{"type":"finish","finishReason":"stop"}`,
		} {
			fmt.Fprintln(w, line)
		}
	})
	// Secrets: {"data": ...} like the rest of the platform.
	mux.HandleFunc("GET /v1/kv", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"data": kv})
	})
	mux.HandleFunc("POST /v1/kv", func(w http.ResponseWriter, r *http.Request) {
		var b struct{ Key, Value string }
		_ = json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		defer mu.Unlock()
		kv[b.Key] = b.Value
		writeJSON(w, http.StatusOK, map[string]any{})
	})
	mux.HandleFunc("DELETE /v1/kv/{key}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		delete(kv, r.PathValue("key"))
		writeJSON(w, http.StatusOK, map[string]any{})
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+key {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": "Not authenticated"})
			return
		}
		mux.ServeHTTP(w, r)
	}))
	client, err := toolhouse.NewClient(toolhouse.WithoutEnvironment(), toolhouse.WithAPIKey(key),
		toolhouse.WithBaseURL(srv.URL), toolhouse.WithAgentsURL(srv.URL))
	if err != nil {
		srv.Close()
		log.Fatal(err)
	}
	return client, srv.Close
}

// Deploy an agent, then ask it through the Workers API: its ID is the
// agent ID there, and its prompt the default message.
func ExampleAgentsService_Create() {
	client, stop := exampleServer()
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
	// A hummingbird's heart beats over 1,200 times a minute.
}

func ExampleAgentsService_Update() {
	client, stop := exampleServer()
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
	client, stop := exampleServer()
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
	client, stop := exampleServer()
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
