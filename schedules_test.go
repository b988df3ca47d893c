package toolhouse

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const schedID = "bcb7e865-9e6c-xxxx-xxxx-c0110fdf5c2e"

const schedPath = "/v1/schedules/" + schedID

// schedJSON is a whole schedule as GET returns it.
const schedJSON = `{"data":{"id":"` + schedID + `","user_id":"u","chat_id":"` + seedChatID + `",
	"created_at":"2025-01-15T01:46:23.568338","updated_at":"2025-01-16T08:00:00Z","last_ran_at":null,
	"active":true,"archived":false,"cadence":"0 17 * * 0","bundle":"default","toolhouse_id":"default",
	"vars":{"name":"Ada"},"title":"Pet facts","callback_url":null}}`

func TestSchedulesTextToCron(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", "/v1/schedules/text-to-cron", reply(200, fixture(t, "text_to_cron.json")))
	cron, err := h.c.Schedules.TextToCron(context.Background(), "sundays at 5pm UTC")
	require.NoError(t, err)
	assert.Equal(t, "0 17 * * 0", cron)

	reqs := h.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "GET", reqs[0].Method)
	assert.Equal(t, "/v1/schedules/text-to-cron", reqs[0].Path)
	assert.Equal(t, "cron=sundays+at+5pm+UTC", reqs[0].Query)
	assert.Empty(t, reqs[0].Body)
}

func TestSchedulesTextToCronErrors(t *testing.T) {
	t.Parallel()
	t.Run("unreadable text", func(t *testing.T) {
		h := newHarness(t)
		h.on("GET", "/v1/schedules/text-to-cron", reply(400, `{"detail":"Invalid cron text input"}`))
		_, err := h.c.Schedules.TextToCron(context.Background(), "whenever")
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, "Invalid cron text input", apiErr.Message)
		assert.NotErrorIs(t, err, ErrNotFound)
	})
	t.Run("empty text", func(t *testing.T) {
		h := newHarness(t)
		_, err := h.c.Schedules.TextToCron(context.Background(), " ")
		var argErr *ArgumentError
		require.ErrorAs(t, err, &argErr)
		assert.Equal(t, "text", argErr.Arg)
		assert.Empty(t, h.requests())
	})
	t.Run("no cron in the answer", func(t *testing.T) {
		h := newHarness(t)
		h.on("GET", "/v1/schedules/text-to-cron", reply(200, `{}`))
		_, err := h.c.Schedules.TextToCron(context.Background(), "daily")
		assert.Error(t, err)
	})
}

func TestSchedulesCreate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		params   ScheduleCreateParams
		wantBody string
	}{
		{"required fields only", ScheduleCreateParams{ChatID: seedChatID, Cadence: "0 17 * * 0"},
			`{"chat_id":"` + seedChatID + `","cadence":"0 17 * * 0"}`},
		{"every field", ScheduleCreateParams{ChatID: "c", Cadence: "*/10 * * * *", Bundle: "b", ToolhouseID: "t",
			CallbackURL: "https://example.com/cb", Vars: map[string]string{"k": "v"}},
			`{"chat_id":"c","cadence":"*/10 * * * *","bundle":"b","toolhouse_id":"t","callback_url":"https://example.com/cb","vars":{"k":"v"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.on("POST", "/v1/schedules", reply(200, fixture(t, "schedule_created.json")))
			s, err := h.c.Schedules.Create(context.Background(), tt.params)
			require.NoError(t, err)
			assert.Equal(t, &Schedule{ID: schedID, Cadence: "0 17 * * 0", Active: true, Bundle: "default",
				ToolhouseID: "default", CreatedAt: Timestamp{seedCreated}, UpdatedAt: Timestamp{seedCreated}}, s)

			reqs := h.requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, "POST", reqs[0].Method)
			assert.Equal(t, "/v1/schedules", reqs[0].Path)
			assert.Equal(t, tt.wantBody, string(reqs[0].Body))
			assert.Equal(t, "application/json", reqs[0].Header.Get("Content-Type"))
		})
	}
}

func TestSchedulesCreateInvalid(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for arg, p := range map[string]ScheduleCreateParams{
		"ChatID":  {Cadence: "0 * * * *"},
		"Cadence": {ChatID: "c", Cadence: " "},
	} {
		_, err := h.c.Schedules.Create(context.Background(), p)
		var argErr *ArgumentError
		require.ErrorAs(t, err, &argErr)
		assert.Contains(t, err.Error(), arg)
	}
	assert.Empty(t, h.requests())
}

func TestSchedulesCreateValidationError(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("POST", "/v1/schedules", reply(422, `{"detail":[{"loc":["body","cadence"],"msg":"invalid cron expression","type":"value_error"}]}`))
	_, err := h.c.Schedules.Create(context.Background(), ScheduleCreateParams{ChatID: "c", Cadence: "nope"})
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "body.cadence: invalid cron expression", apiErr.Message)
	assert.Len(t, h.requests(), 1)
}

func TestSchedulesGet(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", schedPath, reply(200, schedJSON))
	s, err := h.c.Schedules.Get(context.Background(), schedID)
	require.NoError(t, err)
	assert.Equal(t, &Schedule{
		ID: schedID, UserID: "u", ChatID: seedChatID, Cadence: "0 17 * * 0", Active: true,
		Bundle: "default", ToolhouseID: "default", Title: "Pet facts", Vars: map[string]string{"name": "Ada"},
		CreatedAt: Timestamp{seedCreated}, UpdatedAt: Timestamp{time.Date(2025, 1, 16, 8, 0, 0, 0, time.UTC)},
	}, s)
	reqs := h.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "GET", reqs[0].Method)
	assert.Equal(t, schedPath, reqs[0].Path)
}

func TestSchedulesGetNotFound(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", schedPath, reply(404, `{"detail":"Schedule not found"}`))
	_, err := h.c.Schedules.Get(context.Background(), schedID)
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Len(t, h.requests(), 1)
}

func TestSchedulesList(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("GET", "/v1/schedules", reply(200, `{"data":[`+string(fixtureData(t, "schedule_created.json"))+`,{"id":"two","active":false}]}`))
	list, err := h.c.Schedules.List(context.Background())
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, schedID, list[0].ID)
	assert.True(t, list[0].Active)
	assert.Equal(t, "two", list[1].ID)
	assert.False(t, list[1].Active)
	assert.Equal(t, "/v1/schedules", h.requests()[0].Path)
}

func TestSchedulesUpdateBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		params   ScheduleUpdateParams
		wantBody string
	}{
		{"cadence only", ScheduleUpdateParams{Cadence: String("0 */3 * * *")}, `{"cadence":"0 */3 * * *"}`},
		{"pause", ScheduleUpdateParams{Active: Bool(false)}, `{"active":false}`},
		{"empty vars clear them", ScheduleUpdateParams{Vars: map[string]string{}}, `{"vars":{}}`},
		{"empty string is sent", ScheduleUpdateParams{CallbackURL: String("")}, `{"callback_url":""}`},
		{"every field", ScheduleUpdateParams{Cadence: String("c"), Bundle: String("b"), ToolhouseID: String("t"),
			CallbackURL: String("https://example.com"), ChatID: String("x"), Active: Bool(true), Vars: map[string]string{"a": "b"}},
			`{"active":true,"bundle":"b","cadence":"c","callback_url":"https://example.com","chat_id":"x","toolhouse_id":"t","vars":{"a":"b"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.on("PUT", schedPath, reply(200, schedJSON))
			s, err := h.c.Schedules.Update(context.Background(), schedID, tt.params)
			require.NoError(t, err)
			assert.Equal(t, schedID, s.ID)
			reqs := h.requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, "PUT", reqs[0].Method)
			assert.Equal(t, schedPath, reqs[0].Path)
			assert.Equal(t, tt.wantBody, string(reqs[0].Body))
			assert.Equal(t, "application/json", reqs[0].Header.Get("Content-Type"))
		})
	}
}

func TestSchedulesUpdateWithoutData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	calls := map[string]func(*SchedulesService) (*Schedule, error){
		"Update": func(s *SchedulesService) (*Schedule, error) {
			return s.Update(ctx, schedID, ScheduleUpdateParams{Cadence: String("0 * * * *")})
		},
		"Pause":  func(s *SchedulesService) (*Schedule, error) { return s.Pause(ctx, schedID) },
		"Resume": func(s *SchedulesService) (*Schedule, error) { return s.Resume(ctx, schedID) },
	}
	wantBody := map[string]string{"Update": `{"cadence":"0 * * * *"}`, "Pause": `{"active":false}`, "Resume": `{"active":true}`}
	for name, call := range calls {
		for _, body := range []string{`{}`, ``, `{"data":null}`} {
			t.Run(name+" "+body, func(t *testing.T) {
				h := newHarness(t)
				h.on("PUT", schedPath, reply(200, body))
				s, err := call(h.c.Schedules)
				assert.NoError(t, err)
				assert.Nil(t, s)
				reqs := h.requests()
				require.Len(t, reqs, 1)
				assert.Equal(t, wantBody[name], string(reqs[0].Body))
			})
		}
	}
}

func TestSchedulesUpdatePartialRejectedFallsBackToFullObject(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("PUT", schedPath,
		reply(422, `{"detail":[{"loc":["body","cadence"],"msg":"Field required","type":"missing"}]}`),
		reply(200, `{"data":{"id":"`+schedID+`","active":false,"cadence":"0 17 * * 0"}}`))
	h.on("GET", schedPath, reply(200, schedJSON))

	s, err := h.c.Schedules.Pause(context.Background(), schedID)
	require.NoError(t, err)
	assert.False(t, s.Active)

	reqs := h.requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, "PUT", reqs[0].Method)
	assert.Equal(t, `{"active":false}`, string(reqs[0].Body))
	assert.Equal(t, "GET", reqs[1].Method)
	assert.Equal(t, schedPath, reqs[1].Path)
	assert.Equal(t, "PUT", reqs[2].Method)
	// The whole schedule, with the change applied; the null callback_url is
	// left out rather than sent as "".
	assert.Equal(t, `{"active":false,"bundle":"default","cadence":"0 17 * * 0","chat_id":"`+seedChatID+
		`","toolhouse_id":"default","vars":{"name":"Ada"}}`, string(reqs[2].Body))
	assert.Empty(t, h.sleeps(), "a 422 is not retried")
}

func TestSchedulesUpdateFallbackFailures(t *testing.T) {
	t.Parallel()
	t.Run("the read fails", func(t *testing.T) {
		h := newHarness(t)
		h.on("PUT", schedPath, reply(422, `{"detail":[{"loc":["body","cadence"],"msg":"Field required"}]}`))
		h.on("GET", schedPath, reply(404, `{"detail":"Schedule not found"}`))
		_, err := h.c.Schedules.Update(context.Background(), schedID, ScheduleUpdateParams{Active: Bool(true)})
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 422, apiErr.StatusCode, "the PUT's error comes first")
		assert.Contains(t, err.Error(), "Schedule not found")
		assert.Len(t, h.requests(), 2)
	})
	t.Run("the full object is rejected too", func(t *testing.T) {
		h := newHarness(t)
		h.on("PUT", schedPath, reply(422, `{"detail":[{"loc":["body","cadence"],"msg":"bad cron"}]}`))
		h.on("GET", schedPath, reply(200, schedJSON))
		_, err := h.c.Schedules.Update(context.Background(), schedID, ScheduleUpdateParams{Cadence: String("bad")})
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, "body.cadence: bad cron", apiErr.Message)
		assert.Len(t, h.requests(), 3, "the full object is sent once, not in a loop")
	})
}

func TestSchedulesUpdateInvalid(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for arg, p := range map[string]ScheduleUpdateParams{
		"p":         {},
		"p.Cadence": {Cadence: String(" ")},
		"p.ChatID":  {ChatID: String("")},
	} {
		_, err := h.c.Schedules.Update(context.Background(), schedID, p)
		var argErr *ArgumentError
		require.ErrorAs(t, err, &argErr)
		assert.Equal(t, arg, argErr.Arg)
	}
	assert.Empty(t, h.requests())
}

func TestSchedulesDelete(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{}`, ``, `{"data":{"id":"` + schedID + `"}}`} {
		h := newHarness(t)
		h.on("DELETE", schedPath, reply(200, body))
		require.NoError(t, h.c.Schedules.Delete(context.Background(), schedID))
		reqs := h.requests()
		require.Len(t, reqs, 1)
		assert.Equal(t, "DELETE", reqs[0].Method)
		assert.Equal(t, schedPath, reqs[0].Path)
		assert.Empty(t, reqs[0].Body)
		assert.Empty(t, reqs[0].Header.Get("Content-Type"))
	}
}

func TestSchedulesDeleteNotFound(t *testing.T) {
	t.Parallel()
	for status, body := range map[int]string{
		400: `{"detail":"Schedule not found"}`,
		404: `{"detail":"Not Found"}`,
	} {
		h := newHarness(t)
		h.on("DELETE", schedPath, reply(status, body))
		err := h.c.Schedules.Delete(context.Background(), schedID)
		assert.ErrorIs(t, err, ErrNotFound, "status %d", status)
		assert.Len(t, h.requests(), 1)
	}
}

func TestSchedulesDeleteRetriedOn5xx(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("DELETE", schedPath, reply(504, ``), reply(200, `{}`))
	require.NoError(t, h.c.Schedules.Delete(context.Background(), schedID))
	assert.Len(t, h.requests(), 2)
}

func TestSchedulesInvalidIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, id := range []string{"", " ", "a/b", "..", "x..y", "/"} {
		h := newHarness(t)
		calls := map[string]func() error{
			"Get": func() error { _, err := h.c.Schedules.Get(ctx, id); return err },
			"Update": func() error {
				_, err := h.c.Schedules.Update(ctx, id, ScheduleUpdateParams{Active: Bool(true)})
				return err
			},
			"Pause":  func() error { _, err := h.c.Schedules.Pause(ctx, id); return err },
			"Resume": func() error { _, err := h.c.Schedules.Resume(ctx, id); return err },
			"Delete": func() error { return h.c.Schedules.Delete(ctx, id) },
		}
		for name, call := range calls {
			var argErr *ArgumentError
			if assert.ErrorAs(t, call(), &argErr, "%s(%q)", name, id) {
				assert.Equal(t, "id", argErr.Arg)
			}
		}
		assert.Empty(t, h.requests(), "id %q", id)
	}
}

func TestStringAndBool(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "x", *String("x"))
	assert.True(t, *Bool(true))
	assert.False(t, *Bool(false))
}

func TestSchedulesUpdateFallbackLeavesEmptyFieldsOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.on("PUT", schedPath, reply(422, `{"detail":[{"loc":["body","cadence"],"msg":"Field required"}]}`), reply(200, `{}`))
	// A sparse schedule: the export rejects "" for chat_id (a UUID) and
	// callback_url (minLength 1), so they must not be sent as "".
	h.on("GET", schedPath, reply(200, `{"data":{"id":"`+schedID+`","cadence":"0 17 * * 0","active":true,"chat_id":null,"vars":null}}`))
	s, err := h.c.Schedules.Update(context.Background(), schedID, ScheduleUpdateParams{Bundle: String("mine")})
	require.NoError(t, err)
	assert.Nil(t, s)
	reqs := h.requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, `{"active":true,"bundle":"mine","cadence":"0 17 * * 0"}`, string(reqs[2].Body))
}
