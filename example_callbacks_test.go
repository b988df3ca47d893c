package toolhouse_test

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/toolhouseai/toolhouse-go"
	"github.com/toolhouseai/toolhouse-go/toolhousetest"
)

// Receive the end of an agent run instead of polling for it. The fake
// Toolhouse POSTs the callback when the run ends, as the platform does;
// Wait here only keeps the example short.
func ExampleCallbackHandler() {
	client, stop := fakeToolhouse()
	defer stop()
	ctx := context.Background()
	chatID := toolhousetest.DemoChatID

	err := func() error {
		// The callback is not signed: put an unguessable token in the URL you
		// register, and check it in constant time before anything else.
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return err
		}
		token := hex.EncodeToString(raw)
		handler := toolhouse.CallbackHandler(func(ctx context.Context, cb toolhouse.RunCallback) error {
			if cb.Failed() {
				fmt.Printf("the run failed (%s): %s\n", cb.Status, cb.LastAgentMessage)
				return nil
			}
			fmt.Println("the run completed:", cb.LastAgentMessage)
			return nil // an error answers 500
		})
		mux := http.NewServeMux()
		mux.Handle("/toolhouse/callback/{token}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if subtle.ConstantTimeCompare([]byte(r.PathValue("token")), []byte(token)) != 1 {
				http.NotFound(w, r)
				return
			}
			handler.ServeHTTP(w, r)
		}))

		receiver := httptest.NewServer(mux) // your server, reachable from Toolhouse
		defer receiver.Close()
		publicURL := receiver.URL

		run, err := client.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{
			ChatID:      chatID,
			CallbackURL: publicURL + "/toolhouse/callback/" + token,
		})
		if err != nil {
			return err
		}
		_, err = client.AgentRuns.Wait(ctx, run.ID, nil)
		return err
	}()
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// the run completed: I've completed all the steps: checked memory, found a new fact about birds' amazing metabolism, emailed it to hello@toolhouse.ai and stored it in memory. 🐦
}
