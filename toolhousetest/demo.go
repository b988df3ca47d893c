package toolhousetest

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The demo data every Server starts with, so that a program can show the
// SDK at work with no configuration.
const (
	// DefaultAPIKey is the key a Server accepts unless WithAPIKey says
	// otherwise.
	DefaultAPIKey = "th-test-key"

	// UserID is the user_id of every run and schedule the server creates.
	UserID = "665618fbdeadd84260aa"

	// DemoChatID is a registered chat whose agent runs generate a pet fact
	// and email it, with memory_fetch, web_search, send_email and
	// memory_store tool calls (the platform documentation's example run).
	// Continuing a completed run gets one more short answer; later
	// answers recall the conversation's first message and last answer.
	DemoChatID = "a3a26d33-6f4d-4490-a56f-e17f867ba451"

	// DemoAgentID is a public worker, titled "Bird hearts" on v1/agents.
	// Its first answer streams some text, a web_search tool call and its
	// result, more text and a code_interpreter tool call that starts a
	// background job, which runs for the server's job time (WithJobTime).
	// The next PUT (the empty resume, or any message once the job is over)
	// streams the job's outcome. Later answers come from the
	// conversation's history: they recall its first message and the last
	// answer.
	DemoAgentID = "5f0c1c9e-3b7a-4d7e-9b8e-2a6f4c1d8e01"
)

// demoChat returns the script of DemoChatID.
func demoChat() Chat {
	return Chat{
		ID: DemoChatID,
		Prompt: "Generate a random pet fact and send it to me via email. Look into memory for past pet facts " +
			"I already know about, and store the new fact in memory.",
		Turns: []Turn{
			{
				Say("I'll help you generate and send a random pet fact! Let me follow your steps:\n\n" +
					"1. First, let me check memory for any past pet facts and your email address:"),
				CallTool("memory_fetch", map[string]any{},
					"<memory created_at=\"2024-12-14 01:31:43\">\n User's email: hello@toolhouse.ai\n </memory>"+
						"<memory created_at=\"2025-01-14 23:52:21\">\n Pet fact shared: Capybara fact - World's largest rodent.\n </memory>"),
				Say("I see your email is hello@toolhouse.ai, and I found one previous pet fact about capybaras. " +
					"Let me search for an interesting new pet fact:"),
				CallTool("web_search", map[string]any{"query": "interesting unique pet facts animals", "num_results": 3},
					"Position: 1\nTitle: Fun Facts\nLink: https://animalmedical.org/fun-facts\n"+
						"Snippet: Hummingbirds are the only birds that can fly backwards.\nSource: animalmedical.org"),
				Say("I'll create a fascinating pet fact about birds! Let me send this via email with a nice format:"),
				CallTool("send_email", map[string]any{
					"to":      "hello@toolhouse.ai",
					"subject": "🐦 Your Daily Pet Fact: Amazing Bird Hearts!",
					"content": "<html><body><h1>🐦 Amazing Bird Fact of the Day! 🐦</h1>" +
						"<p>Every bird needs to eat at least half its own weight in food each day!</p></body></html>",
				}, "The mail has been sent."),
				Say("Now, let me store this fact and your email in memory:"),
				CallTool("memory_store", map[string]any{
					"memory": "Pet fact shared: Birds must eat at least half their body weight in food daily. Email sent to: hello@toolhouse.ai",
				}, "User memory has been stored"),
				Say("I've completed all the steps: checked memory, found a new fact about birds' amazing metabolism, " +
					"emailed it to hello@toolhouse.ai and stored it in memory. 🐦"),
			},
			{Say("You're welcome! Ask me any time for another pet fact. 🐦")},
		},
		reply: recall,
	}
}

// demoAgent returns the script of DemoAgentID.
func demoAgent() Agent {
	return Agent{
		ID:             DemoAgentID,
		Title:          "Bird hearts",
		DefaultMessage: "Find a fun fact about bird hearts and chart their heart rates.",
		Turns: []Turn{
			{
				Say("Let me look that up."),
				CallTool("web_search", map[string]any{"query": "bird heart rate facts", "num_results": 3},
					"Position: 1\nTitle: How fast does a bird's heart beat?\n"+
						"Snippet: A hummingbird's heart can beat more than 1,200 times a minute.\nSource: audubon.org"),
				Say("A hummingbird's heart can beat more than 1,200 times a minute! " +
					"I'm charting heart rates by species with the code interpreter; it runs in the background."),
				CallTool("code_interpreter", map[string]any{
					"code": "import matplotlib.pyplot as plt\nplt.bar(['hummingbird', 'pigeon', 'ostrich'], [1200, 180, 60])\nplt.savefig('hearts.png')",
				}, map[string]any{"status": "running in background"}),
				StartJob(),
			},
			{Say("The chart is ready: a hummingbird's heart beats about 7 times faster than a pigeon's, and 20 times faster than an ostrich's.")},
		},
		reply: recall,
	}
}

// recall answers from the conversation so far (history, oldest first), as
// an agent with memory would: it quotes the first thing the user asked and
// its own last answer, so a second message visibly knows about the first.
func recall(history []wireMessage, message string) Turn {
	var first, last string
	for _, m := range history {
		switch content := m.Content.(type) {
		case string:
			if m.Role == "user" && first == "" {
				first = content
			}
		case []wirePart:
			var text strings.Builder
			for _, p := range content {
				text.WriteString(p.Text)
			}
			if m.Role == "assistant" && text.Len() > 0 {
				last = text.String()
			}
		}
	}
	if first == "" {
		return turnFor(nil, nil, 0, nil, message)
	}
	turn := Turn{Say("You first asked me: " + quote(first))}
	if last != "" {
		turn = append(turn, Say("My last answer was: "+quote(last)))
	}
	if strings.TrimSpace(message) != "" {
		turn = append(turn, Say("Now you say: "+quote(message)))
	}
	return turn
}

// quote makes text a quoted sentence: in quotation marks, cut to its first
// 160 characters, with a full stop inside when it ends in a word.
func quote(text string) string {
	text = strings.TrimSpace(text)
	if r := []rune(text); len(r) > 160 {
		text = string(r[:160]) + "…"
	}
	if last, _ := utf8.DecodeLastRuneInString(text); unicode.IsLetter(last) || unicode.IsDigit(last) {
		text += "."
	}
	return "“" + text + "”"
}
