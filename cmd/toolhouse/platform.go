package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/toolhouseai/toolhouse-go"
)

func runsCreate(ctx context.Context, c *toolhouse.Client, args []string, t *terminal) error {
	fs, asJSON := flags("runs create", t)
	wait := fs.Bool("wait", false, "wait until the run has completed or failed")
	maxWait := fs.Duration("max-wait", 0, "with -wait, give up after this long (0: wait until interrupted)")
	bundle := fs.String("bundle", "", "the bundle of tools to run with")
	callback := fs.String("callback", "", "URL that receives the run's result when it ends")
	v := vars{}
	fs.Var(v, "var", "NAME=VALUE for the chat's prompt (repeatable)")
	pos, err := parse(fs, args, 1, 1, "CHAT")
	if err != nil {
		return err
	}
	run, err := c.AgentRuns.Create(ctx, toolhouse.AgentRunCreateParams{
		ChatID: pos[0], Bundle: *bundle, CallbackURL: *callback, Vars: v.orNil(),
	})
	if err != nil {
		return err
	}
	if *wait {
		fmt.Fprintf(t.err, "toolhouse: run %s is %s; waiting for it...\n", sanitize(run.ID), sanitize(string(run.Status)))
		done, err := c.AgentRuns.Wait(ctx, run.ID, &toolhouse.PollOptions{MaxWait: *maxWait})
		if done != nil {
			run = done
		}
		if err != nil {
			// A failed run is shown, then reported.
			if errors.Is(err, toolhouse.ErrRunFailed) {
				_ = showRun(run, *asJSON, t)
			}
			return err
		}
	}
	return showRun(run, *asJSON, t)
}

func runsGet(ctx context.Context, c *toolhouse.Client, args []string, t *terminal) error {
	fs, asJSON := flags("runs get", t)
	pos, err := parse(fs, args, 1, 1, "RUN")
	if err != nil {
		return err
	}
	run, err := c.AgentRuns.Get(ctx, pos[0])
	if err != nil {
		return err
	}
	return showRun(run, *asJSON, t)
}

func runsList(ctx context.Context, c *toolhouse.Client, args []string, t *terminal) error {
	fs, asJSON := flags("runs list", t)
	if _, err := parse(fs, args, 0, 0, "no argument"); err != nil {
		return err
	}
	runs, err := c.AgentRuns.List(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(t, runs)
	}
	tab := newTable(t.out, "ID", "STATUS", "CHAT", "CREATED", "LAST MESSAGE")
	for _, r := range runs {
		tab.row(r.ID, string(r.Status), r.ChatID, when(r.CreatedAt), oneLine(r.LastAgentMessage, 60))
	}
	return tab.flush()
}

// showRun writes one run: its fields and its last message for people.
func showRun(run *toolhouse.AgentRun, asJSON bool, t *terminal) error {
	if asJSON {
		return writeJSON(t, run)
	}
	tab := newTable(t.out)
	tab.row("ID", run.ID)
	tab.row("Status", string(run.Status))
	tab.row("Chat", run.ChatID)
	if run.ScheduleID != "" {
		tab.row("Schedule", run.ScheduleID)
	}
	tab.row("Created", when(run.CreatedAt))
	tab.row("Updated", when(run.UpdatedAt))
	if msg := run.RunError(); msg != "" {
		tab.row("Error", oneLine(msg, 200))
	}
	if err := tab.flush(); err != nil {
		return err
	}
	if run.LastAgentMessage != "" {
		_, err := fmt.Fprintf(t.out, "\n%s\n", sanitizeText(strings.TrimRight(run.LastAgentMessage, "\n")))
		return err
	}
	return nil
}

func schedulesCron(ctx context.Context, c *toolhouse.Client, args []string, t *terminal) error {
	fs, asJSON := flags("schedules cron", t)
	pos, err := parse(fs, args, 1, -1, "TEXT")
	if err != nil {
		return err
	}
	cron, err := c.Schedules.TextToCron(ctx, strings.Join(pos, " "))
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(t, map[string]string{"cron": cron})
	}
	_, err = fmt.Fprintln(t.out, sanitize(cron))
	return err
}

func schedulesCreate(ctx context.Context, c *toolhouse.Client, args []string, t *terminal) error {
	fs, asJSON := flags("schedules create", t)
	bundle := fs.String("bundle", "", "the bundle of tools to run with")
	callback := fs.String("callback", "", "URL that receives each run's result")
	v := vars{}
	fs.Var(v, "var", "NAME=VALUE for the chat's prompt (repeatable)")
	pos, err := parse(fs, args, 2, -1, "CHAT CADENCE")
	if err != nil {
		return err
	}
	cadence := strings.Join(pos[1:], " ")
	if !looksLikeCron(cadence) {
		// Plain text, as `th schedules create` takes it.
		if cadence, err = c.Schedules.TextToCron(ctx, cadence); err != nil {
			return err
		}
	}
	sched, err := c.Schedules.Create(ctx, toolhouse.ScheduleCreateParams{
		ChatID: pos[0], Cadence: cadence, Bundle: *bundle, CallbackURL: *callback, Vars: v.orNil(),
	})
	if err != nil {
		return err
	}
	return showSchedule(sched, *asJSON, t)
}

// looksLikeCron reports whether s has the five fields of a cron
// expression, each made of cron's characters.
func looksLikeCron(s string) bool {
	fields := strings.Fields(s)
	if len(fields) != 5 {
		return false
	}
	for _, f := range fields {
		if strings.Trim(f, "0123456789*/,-") != "" {
			return false
		}
	}
	return true
}

func schedulesList(ctx context.Context, c *toolhouse.Client, args []string, t *terminal) error {
	fs, asJSON := flags("schedules list", t)
	if _, err := parse(fs, args, 0, 0, "no argument"); err != nil {
		return err
	}
	scheds, err := c.Schedules.List(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(t, scheds)
	}
	tab := newTable(t.out, "ID", "CADENCE", "ACTIVE", "CHAT", "LAST RAN", "TITLE")
	for _, s := range scheds {
		tab.row(s.ID, s.Cadence, fmt.Sprint(s.Active), s.ChatID, when(s.LastRanAt), oneLine(s.Title, 40))
	}
	return tab.flush()
}

func schedulesPause(ctx context.Context, c *toolhouse.Client, args []string, t *terminal) error {
	return scheduleChange(ctx, c, "pause", c.Schedules.Pause, args, t)
}

func schedulesResume(ctx context.Context, c *toolhouse.Client, args []string, t *terminal) error {
	return scheduleChange(ctx, c, "resume", c.Schedules.Resume, args, t)
}

// scheduleChange runs Pause or Resume and shows the schedule, read again
// when the server's answer did not include it (the documents' PUT answers
// {}), so that -json always writes the schedule.
func scheduleChange(ctx context.Context, c *toolhouse.Client, verb string,
	change func(context.Context, string) (*toolhouse.Schedule, error), args []string, t *terminal) error {
	fs, asJSON := flags("schedules "+verb, t)
	pos, err := parse(fs, args, 1, 1, "ID")
	if err != nil {
		return err
	}
	sched, err := change(ctx, pos[0])
	if err != nil {
		return err
	}
	if sched == nil {
		if sched, err = c.Schedules.Get(ctx, pos[0]); err != nil {
			return fmt.Errorf("toolhouse: schedule %s was %sd, but reading it back failed: %w", sanitize(pos[0]), verb, err)
		}
	}
	return showSchedule(sched, *asJSON, t)
}

func schedulesDelete(ctx context.Context, c *toolhouse.Client, args []string, t *terminal) error {
	fs, asJSON := flags("schedules delete", t)
	pos, err := parse(fs, args, 1, 1, "ID")
	if err != nil {
		return err
	}
	if err := c.Schedules.Delete(ctx, pos[0]); err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(t, map[string]any{"id": pos[0], "deleted": true})
	}
	_, err = fmt.Fprintf(t.out, "deleted schedule %s\n", sanitize(pos[0]))
	return err
}

// showSchedule writes one schedule.
func showSchedule(s *toolhouse.Schedule, asJSON bool, t *terminal) error {
	if asJSON {
		return writeJSON(t, s)
	}
	tab := newTable(t.out)
	tab.row("ID", s.ID)
	tab.row("Cadence", s.Cadence)
	tab.row("Active", fmt.Sprint(s.Active))
	tab.row("Chat", s.ChatID)
	if s.Title != "" {
		tab.row("Title", oneLine(s.Title, 200))
	}
	tab.row("Created", when(s.CreatedAt))
	tab.row("Last ran", when(s.LastRanAt))
	return tab.flush()
}

func agentsList(ctx context.Context, c *toolhouse.Client, args []string, t *terminal) error {
	fs, asJSON := flags("agents list", t)
	if _, err := parse(fs, args, 0, 0, "no argument"); err != nil {
		return err
	}
	agents, err := c.Agents.List(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(t, agents)
	}
	tab := newTable(t.out, "ID", "TITLE", "PUBLIC", "MODEL", "RUNS", "UPDATED")
	for _, a := range agents {
		tab.row(a.ID, oneLine(a.Title, 40), fmt.Sprint(a.Public), a.Model, fmt.Sprint(a.CountRuns), when(a.UpdatedAt))
	}
	return tab.flush()
}

func agentsGet(ctx context.Context, c *toolhouse.Client, args []string, t *terminal) error {
	fs, asJSON := flags("agents get", t)
	pos, err := parse(fs, args, 1, 1, "ID")
	if err != nil {
		return err
	}
	a, err := c.Agents.Get(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(t, a)
	}
	tab := newTable(t.out)
	tab.row("ID", a.ID)
	tab.row("Title", oneLine(a.Title, 200))
	tab.row("Public", fmt.Sprint(a.Public))
	if a.Model != "" {
		tab.row("Model", a.Model)
	}
	if len(a.MCPServers) > 0 {
		tab.row("MCP servers", strings.Join(a.MCPServers, ", "))
	}
	if len(a.Tools) > 0 {
		tab.row("Tools", strings.Join(a.Tools, ", "))
	}
	tab.row("Runs", fmt.Sprint(a.CountRuns))
	tab.row("Created", when(a.CreatedAt))
	tab.row("Updated", when(a.UpdatedAt))
	if err := tab.flush(); err != nil {
		return err
	}
	if a.Prompt != "" {
		_, err := fmt.Fprintf(t.out, "\n%s\n", sanitizeText(strings.TrimRight(a.Prompt, "\n")))
		return err
	}
	return nil
}

// when formats a timestamp for a table, in UTC.
func when(ts toolhouse.Timestamp) string {
	if ts.IsZero() {
		return "-"
	}
	return ts.UTC().Format(time.DateTime)
}
