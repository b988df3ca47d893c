package toolhouse

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// SchedulesService runs agents at a cadence (v1/schedules). Each time a
// schedule fires it creates an agent run.
type SchedulesService service

// Schedule is an agent run repeated at a cron cadence.
type Schedule struct {
	ID          string            `json:"id"`
	UserID      string            `json:"user_id"`
	ChatID      string            `json:"chat_id"`
	Cadence     string            `json:"cadence"` // a cron expression; the server raises anything under 10 minutes to 10 minutes
	Active      bool              `json:"active"`
	Archived    bool              `json:"archived"`
	Bundle      string            `json:"bundle"`
	ToolhouseID string            `json:"toolhouse_id"`
	Title       string            `json:"title"`
	Vars        map[string]string `json:"vars"`
	CallbackURL string            `json:"callback_url"`
	CreatedAt   Timestamp         `json:"created_at"`
	UpdatedAt   Timestamp         `json:"updated_at"`
	LastRanAt   Timestamp         `json:"last_ran_at"`
}

// ScheduleCreateParams creates a schedule. Empty optional fields are not
// sent, so the server's defaults apply.
type ScheduleCreateParams struct {
	ChatID      string            `json:"chat_id"` // required
	Cadence     string            `json:"cadence"` // required: cron, e.g. from TextToCron
	Bundle      string            `json:"bundle,omitempty"`
	ToolhouseID string            `json:"toolhouse_id,omitempty"`
	CallbackURL string            `json:"callback_url,omitempty"`
	Vars        map[string]string `json:"vars,omitempty"`
}

// ScheduleUpdateParams changes a schedule. Only the fields that are set are
// sent: nil pointers and a nil Vars map are left out, while a non-nil empty
// map clears the variables. Use String and Bool to fill the pointers.
type ScheduleUpdateParams struct {
	Cadence     *string
	Bundle      *string
	ToolhouseID *string
	CallbackURL *string
	ChatID      *string
	Active      *bool
	Vars        map[string]string
}

// String returns a pointer to v, for ScheduleUpdateParams.
func String(v string) *string { return &v }

// Bool returns a pointer to v, for ScheduleUpdateParams.
func Bool(v bool) *bool { return &v }

// fields returns the JSON object of the set fields.
func (p ScheduleUpdateParams) fields() map[string]any {
	f := make(map[string]any, 7)
	put := func(name string, v *string) {
		if v != nil {
			f[name] = *v
		}
	}
	put("cadence", p.Cadence)
	put("bundle", p.Bundle)
	put("toolhouse_id", p.ToolhouseID)
	put("callback_url", p.CallbackURL)
	put("chat_id", p.ChatID)
	if p.Active != nil {
		f["active"] = *p.Active
	}
	if p.Vars != nil {
		f["vars"] = p.Vars
	}
	return f
}

// fullUpdate is the whole schedule as the OpenAPI export's PUT expects it,
// with p's changes applied. Empty fields of cur are left out rather than
// sent as "" (which the export rejects for chat_id and callback_url), so the
// server keeps or defaults them.
func fullUpdate(cur *Schedule, p ScheduleUpdateParams) map[string]any {
	full := map[string]any{"cadence": cur.Cadence, "active": cur.Active}
	for name, v := range map[string]string{
		"bundle": cur.Bundle, "toolhouse_id": cur.ToolhouseID,
		"chat_id": cur.ChatID, "callback_url": cur.CallbackURL,
	} {
		if v != "" {
			full[name] = v
		}
	}
	if cur.Vars != nil {
		full["vars"] = cur.Vars
	}
	for k, v := range p.fields() {
		full[k] = v
	}
	return full
}

// TextToCron turns a plain description such as "sundays at 5pm UTC" into a
// cron expression ("0 17 * * 0") (GET v1/schedules/text-to-cron). Text the
// server cannot read is a 400 *APIError ("Invalid cron text input").
func (s *SchedulesService) TextToCron(ctx context.Context, text string) (string, error) {
	if err := checkContext(ctx); err != nil {
		return "", err
	}
	if strings.TrimSpace(text) == "" {
		return "", &ArgumentError{Arg: "text", Reason: "must not be empty"}
	}
	e := endpoint{
		method: http.MethodGet, path: []string{"v1", "schedules", "text-to-cron"},
		query: struct {
			Cron string `url:"cron"`
		}{text}, replay: idempotent,
	}
	cron, err := platformCall[string](ctx, s.client, e)
	if err == nil && cron == "" {
		return "", s.client.noObject(e, "the response has no cron expression")
	}
	return cron, err
}

// Create creates a schedule (POST v1/schedules). It is not retried after a
// server error, since the schedule may exist already.
func (s *SchedulesService) Create(ctx context.Context, p ScheduleCreateParams) (*Schedule, error) {
	if err := checkContext(ctx); err != nil {
		return nil, err
	}
	if strings.TrimSpace(p.ChatID) == "" {
		return nil, &ArgumentError{Arg: "p.ChatID", Reason: "must not be empty"}
	}
	if strings.TrimSpace(p.Cadence) == "" {
		return nil, &ArgumentError{Arg: "p.Cadence", Reason: "must not be empty"}
	}
	return platformObject[Schedule](ctx, s.client, endpoint{
		method: http.MethodPost, path: []string{"v1", "schedules"}, body: p, replay: once,
	})
}

// Get returns a schedule (GET v1/schedules/{id}). An unknown schedule is an
// error matching ErrNotFound.
func (s *SchedulesService) Get(ctx context.Context, id string) (*Schedule, error) {
	if err := cmp.Or(checkContext(ctx), checkID("id", id)); err != nil {
		return nil, err
	}
	return platformObject[Schedule](ctx, s.client, endpoint{
		method: http.MethodGet, path: []string{"v1", "schedules", id}, replay: idempotent,
	})
}

// List returns the caller's schedules (GET v1/schedules).
func (s *SchedulesService) List(ctx context.Context) ([]*Schedule, error) {
	return platformCall[[]*Schedule](ctx, s.client, endpoint{
		method: http.MethodGet, path: []string{"v1", "schedules"}, replay: idempotent,
	})
}

// Update changes the fields of p that are set (PUT v1/schedules/{id}) and
// returns the schedule from the response, or nil (and no error) when the
// server answers without one.
//
// The product documents send partial objects ({"cadence": ...} or
// {"active": false}); the OpenAPI export declares cadence required. Update
// sends the partial object, and if the server rejects it with 422 it reads
// the schedule and sends the whole object once, with p's changes applied,
// so that both server behaviours work.
func (s *SchedulesService) Update(ctx context.Context, id string, p ScheduleUpdateParams) (*Schedule, error) {
	if err := cmp.Or(checkContext(ctx), checkID("id", id)); err != nil {
		return nil, err
	}
	if p.Cadence != nil && strings.TrimSpace(*p.Cadence) == "" {
		return nil, &ArgumentError{Arg: "p.Cadence", Reason: "must not be empty when set"}
	}
	if p.ChatID != nil && strings.TrimSpace(*p.ChatID) == "" {
		return nil, &ArgumentError{Arg: "p.ChatID", Reason: "must not be empty when set"}
	}
	partial := p.fields()
	if len(partial) == 0 {
		return nil, &ArgumentError{Arg: "p", Reason: "sets no field to change"}
	}
	put := func(body map[string]any) (*Schedule, error) {
		return platformCall[*Schedule](ctx, s.client, endpoint{
			method: http.MethodPut, path: []string{"v1", "schedules", id}, body: body, replay: idempotent,
		})
	}
	sched, err := put(partial)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnprocessableEntity {
		return sched, err
	}
	cur, gerr := s.Get(ctx, id)
	if gerr != nil {
		return nil, fmt.Errorf("%w (reading the schedule to send it whole after the 422 also failed: %v)", err, gerr)
	}
	return put(fullUpdate(cur, p))
}

// Pause stops a schedule from firing without deleting it
// (PUT {"active": false}). Runs under way finish.
func (s *SchedulesService) Pause(ctx context.Context, id string) (*Schedule, error) {
	return s.Update(ctx, id, ScheduleUpdateParams{Active: Bool(false)})
}

// Resume makes a paused schedule fire again (PUT {"active": true}).
func (s *SchedulesService) Resume(ctx context.Context, id string) (*Schedule, error) {
	return s.Update(ctx, id, ScheduleUpdateParams{Active: Bool(true)})
}

// Delete removes a schedule (DELETE v1/schedules/{id}). Runs under way
// finish. The server answers an unknown schedule with 400 "Schedule not
// found"; the error matches ErrNotFound.
func (s *SchedulesService) Delete(ctx context.Context, id string) error {
	if err := cmp.Or(checkContext(ctx), checkID("id", id)); err != nil {
		return err
	}
	_, err := s.client.do(ctx, endpoint{
		method: http.MethodDelete, platform: true, path: []string{"v1", "schedules", id}, replay: idempotent,
	}, nil)
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		apiErr.notFoundOn400 = true
	}
	return err
}
