package toolhousetest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/toolhouseai/toolhouse-go"
)

func TestScheduleCRUD(t *testing.T) {
	t.Parallel()
	_, client := start(t)
	ctx := testContext(t)

	created, err := client.Schedules.Create(ctx, toolhouse.ScheduleCreateParams{
		ChatID: DemoChatID, Cadence: "0 17 * * 0", Vars: map[string]string{"city": "Rome"},
	})
	require.NoError(t, err)
	assert.True(t, isUUID(created.ID))
	assert.Equal(t, "0 17 * * 0", created.Cadence)
	assert.True(t, created.Active)
	assert.False(t, created.Archived)
	assert.Equal(t, "default", created.Bundle)
	assert.Equal(t, "default", created.ToolhouseID)
	assert.Equal(t, UserID, created.UserID)
	assert.Equal(t, map[string]string{"city": "Rome"}, created.Vars)
	assert.True(t, created.LastRanAt.IsZero())

	got, err := client.Schedules.Get(ctx, created.ID)
	require.NoError(t, err)
	assert.Equal(t, created.ID, got.ID)

	updated, err := client.Schedules.Update(ctx, created.ID, toolhouse.ScheduleUpdateParams{Cadence: toolhouse.String("0 */3 * * *")})
	require.NoError(t, err)
	require.NotNil(t, updated)
	assert.Equal(t, "0 */3 * * *", updated.Cadence)
	assert.True(t, updated.Active)
	assert.Equal(t, map[string]string{"city": "Rome"}, updated.Vars, "a partial update keeps the rest")

	paused, err := client.Schedules.Pause(ctx, created.ID)
	require.NoError(t, err)
	assert.False(t, paused.Active)
	assert.Equal(t, "0 */3 * * *", paused.Cadence)
	resumed, err := client.Schedules.Resume(ctx, created.ID)
	require.NoError(t, err)
	assert.True(t, resumed.Active)

	list, err := client.Schedules.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, created.ID, list[0].ID)

	require.NoError(t, client.Schedules.Delete(ctx, created.ID))
	list, err = client.Schedules.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)

	err = client.Schedules.Delete(ctx, created.ID)
	apiErr := apiError(t, err, http.StatusBadRequest, "Schedule not found")
	assert.ErrorIs(t, apiErr, toolhouse.ErrNotFound)

	_, err = client.Schedules.Get(ctx, created.ID)
	apiErr = apiError(t, err, http.StatusNotFound, "Schedule not found")
	assert.ErrorIs(t, apiErr, toolhouse.ErrNotFound)

	_, err = client.Schedules.Update(ctx, created.ID, toolhouse.ScheduleUpdateParams{Active: toolhouse.Bool(false)})
	apiError(t, err, http.StatusNotFound, "Schedule not found")
}

func TestScheduleRequestsAreWhatTheDocumentsSend(t *testing.T) {
	t.Parallel()
	srv, client := start(t)
	ctx := testContext(t)
	sc, err := client.Schedules.Create(ctx, toolhouse.ScheduleCreateParams{ChatID: DemoChatID, Cadence: "hourly"})
	require.NoError(t, err)
	_, err = client.Schedules.Pause(ctx, sc.ID)
	require.NoError(t, err)

	reqs := srv.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, PlatformAPI, reqs[1].API)
	assert.Equal(t, http.MethodPut, reqs[1].Method)
	assert.Equal(t, "/v1/schedules/"+sc.ID, reqs[1].Path)
	assert.JSONEq(t, `{"active": false}`, string(reqs[1].Body))
	assert.Equal(t, "Bearer "+DefaultAPIKey, reqs[1].Header.Get("Authorization"))
}

func TestScheduleCadence(t *testing.T) {
	t.Parallel()
	_, client := start(t)
	ctx := testContext(t)
	for _, tc := range []struct{ in, want string }{
		{"0 17 * * 0", "0 17 * * 0"},
		{"*/5 * * * *", "*/10 * * * *"},
		{"* * * * *", "*/10 * * * *"},
		{"0,15,30 9 * * 1-5", "0,15,30 9 * * 1-5"},
		{"0,5,30 9 * * 1-5", "*/10 9 * * 1-5"},
		{"0,5 * * * *", "*/10 * * * *"},
		{"55 * * * *", "55 * * * *"},
		{"every 5 minutes", "*/10 * * * *"},
		{"weekdays at 9am", "0 9 * * 1-5"},
	} {
		sc, err := client.Schedules.Create(ctx, toolhouse.ScheduleCreateParams{ChatID: DemoChatID, Cadence: tc.in})
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, sc.Cadence, tc.in)
	}

	sc, err := client.Schedules.Create(ctx, toolhouse.ScheduleCreateParams{ChatID: DemoChatID, Cadence: "0 17 * * 0"})
	require.NoError(t, err)
	up, err := client.Schedules.Update(ctx, sc.ID, toolhouse.ScheduleUpdateParams{Cadence: toolhouse.String("*/2 * * * *")})
	require.NoError(t, err)
	assert.Equal(t, "*/10 * * * *", up.Cadence, "updates are clamped too")

	_, err = client.Schedules.Create(ctx, toolhouse.ScheduleCreateParams{ChatID: DemoChatID, Cadence: "whenever you like"})
	apiErr := apiError(t, err, http.StatusUnprocessableEntity, "")
	assert.Contains(t, apiErr.Message, "body.cadence")

	_, err = client.Schedules.Create(ctx, toolhouse.ScheduleCreateParams{ChatID: newID(), Cadence: "hourly"})
	apiError(t, err, http.StatusForbidden, "Invalid chat ID or chat does not belong to user")
}

func TestScheduleOpenAPIUpdates(t *testing.T) {
	t.Parallel()
	srv, client := start(t, WithOpenAPIScheduleUpdates())
	ctx := testContext(t)
	sc, err := client.Schedules.Create(ctx, toolhouse.ScheduleCreateParams{ChatID: DemoChatID, Cadence: "0 9 * * *", Bundle: "mine"})
	require.NoError(t, err)

	// Raw: a partial object is a FastAPI validation error.
	resp := call(t, srv, http.MethodPut, srv.BaseURL()+"/v1/schedules/"+sc.ID, srv.APIKey(), map[string]any{"active": false})
	errs := validationErrors(t, resp)
	require.Len(t, errs, 1)
	assert.Equal(t, "missing", errs[0].Type)
	assert.Equal(t, []any{"body", "cadence"}, errs[0].Loc)
	assert.Equal(t, "Field required", errs[0].Msg)

	// The SDK falls back to the full object, which keeps the bundle.
	paused, err := client.Schedules.Pause(ctx, sc.ID)
	require.NoError(t, err)
	assert.False(t, paused.Active)
	assert.Equal(t, "0 9 * * *", paused.Cadence)
	assert.Equal(t, "mine", paused.Bundle)

	// Without the full object, the export's defaults apply.
	resp = call(t, srv, http.MethodPut, srv.BaseURL()+"/v1/schedules/"+sc.ID, srv.APIKey(), map[string]any{"cadence": "0 10 * * *"})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	reset := decode[struct {
		Data schedule `json:"data"`
	}](t, resp).Data
	assert.True(t, reset.Active)
	assert.Equal(t, "default", reset.Bundle)
}

func TestTextToCron(t *testing.T) {
	t.Parallel()
	_, client := start(t)
	ctx := testContext(t)
	for _, tc := range []struct{ in, want string }{
		{"every 10 minutes", "*/10 * * * *"},
		{"every minute", "* * * * *"},
		{"every 30 mins", "*/30 * * * *"},
		{"hourly", "0 * * * *"},
		{"every hour", "0 * * * *"},
		{"every 3 hours", "0 */3 * * *"},
		{"daily", "0 0 * * *"},
		{"daily at 9am", "0 9 * * *"},
		{"every day at 5:30pm", "30 17 * * *"},
		{"every day at 17:45", "45 17 * * *"},
		{"Sundays at 5pm UTC", "0 17 * * 0"},
		{"sundays 5pm UTC", "0 17 * * 0"},
		{"weekdays at 9am", "0 9 * * 1-5"},
		{"every weekday at 9 am", "0 9 * * 1-5"},
		{"every monday", "0 0 * * 1"},
		{"mondays and fridays at 8:15 am", "15 8 * * 1,5"},
		{"weekends at noon", "0 12 * * 0,6"},
		{"every weekend", "0 0 * * 0,6"},
		{"midnight", "0 0 * * *"},
		{"noon", "0 12 * * *"},
		{"at 12am", "0 0 * * *"},
		{"at 12pm", "0 12 * * *"},
		{"weekly", "0 0 * * 0"},
		{"monthly", "0 0 1 * *"},
		{"every 15 minutes on weekdays", "*/15 * * * 1-5"},
		{"0 17 * * 0", "0 17 * * 0"},
		{"0 9 * * MON-FRI", "0 9 * * MON-FRI"},
	} {
		got, err := client.Schedules.TextToCron(ctx, tc.in)
		if assert.NoError(t, err, tc.in) {
			assert.Equal(t, tc.want, got, tc.in)
		}
	}
	for _, in := range []string{
		"whenever", "every", "at 9", "every 90 minutes", "every 24 hours", "13pm", "every day at 25:00",
		"9am and 5pm", "every other day", "every 10 minutes at 9am", "monthly on mondays", "daily on mondays",
		"0 17 * *", "61 * * * *",
	} {
		_, err := client.Schedules.TextToCron(ctx, in)
		apiErr := apiError(t, err, http.StatusBadRequest, "Invalid cron text input")
		assert.JSONEq(t, `{"detail":"Invalid cron text input"}`, string(apiErr.Body), in)
	}
}

func TestTextToCronWithoutQuery(t *testing.T) {
	t.Parallel()
	srv, _ := start(t)
	resp := call(t, srv, http.MethodGet, srv.BaseURL()+"/v1/schedules/text-to-cron", srv.APIKey(), nil)
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.JSONEq(t, `{"detail":[{"type":"missing","loc":["query","cron"],"msg":"Field required","input":null}]}`,
		string(readBody(t, resp)))
}

// TestHugeCadences sends cadences that made the cadence check quadratic in
// time (an hour list with no two consecutive hours) or huge in memory (a
// list of wide ranges): each must be answered within the test's context.
func TestHugeCadences(t *testing.T) {
	t.Parallel()
	_, client := start(t)
	ctx := testContext(t)
	hours := "0 " + strings.Repeat("0,2,", 100_000) + "4 * * *"
	for _, tc := range []struct{ cadence, want string }{
		{hours, hours}, // never two firings within 10 minutes: kept as sent
		{strings.Repeat("0-59,", 80_000) + "0 9 * * *", "*/10 9 * * *"},
		// A step past the end of the field matches its start only; the
		// stepping must not overflow into a negative bit.
		{"59/9223372036854775807 * * * *", "59/9223372036854775807 * * * *"},
		{"0 23/9223372036854775807 * * *", "0 23/9223372036854775807 * * *"},
	} {
		sc, err := client.Schedules.Create(ctx, toolhouse.ScheduleCreateParams{ChatID: DemoChatID, Cadence: tc.cadence})
		require.NoError(t, err)
		assert.True(t, tc.want == sc.Cadence, "cadence of %d bytes: got %.40q", len(tc.cadence), sc.Cadence)
	}
}

func TestMinGap(t *testing.T) {
	for _, tc := range []struct {
		cron string
		want string
	}{
		{"*/10 * * * *", "*/10 * * * *"},
		{"*/7 * * * *", "*/10 * * * *"},
		{"*/45 * * * *", "*/45 * * * *"},
		{"0-5 9 * * *", "*/10 9 * * *"},
		{"58 9,10 * * *", "58 9,10 * * *"},
		{"0,55 9,10 * * *", "*/10 9,10 * * *"},
		{"0,55 9 * * *", "0,55 9 * * *"},
	} {
		got, ok := cadenceCron(tc.cron)
		require.True(t, ok, tc.cron)
		assert.Equal(t, tc.want, got, tc.cron)
	}
}
