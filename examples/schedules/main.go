// Command schedules turns plain text into a cron cadence, schedules a chat
// with it, changes the cadence, pauses the schedule, reads it back and
// deletes it.
//
//	go run ./examples/schedules                                 # the built-in fake Toolhouse
//	TOOLHOUSE_API_KEY=th-... go run ./examples/schedules -chat <chat ID>
//
// Against Toolhouse the schedule is paused right after it is created and
// deleted at the end, so it never fires.
package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/toolhouseai/toolhouse-go"
	"github.com/toolhouseai/toolhouse-go/examples/internal/demo"
)

func main() { demo.Main(demo.Chat, 2*time.Minute, schedules) }

func schedules(ctx context.Context, ids demo.IDs) error {
	client, err := toolhouse.NewClient() // key from TOOLHOUSE_API_KEY or ~/.toolhouse
	if err != nil {
		return err
	}
	chatID := ids.ChatID

	cron, err := client.Schedules.TextToCron(ctx, "sundays at 5pm UTC") // "0 17 * * 0"
	if err != nil {
		return err
	}
	sched, err := client.Schedules.Create(ctx, toolhouse.ScheduleCreateParams{ChatID: chatID, Cadence: cron})
	if err != nil {
		return err
	}
	fmt.Printf("schedule %s: %q, active: %t\n", sched.ID, sched.Cadence, sched.Active)
	if _, err := client.Schedules.Update(ctx, sched.ID, toolhouse.ScheduleUpdateParams{
		Cadence: toolhouse.String("0 */3 * * *"),
	}); err != nil {
		return err
	}
	if _, err := client.Schedules.Pause(ctx, sched.ID); err != nil {
		return err
	}
	sched, err = client.Schedules.Get(ctx, sched.ID)
	if err != nil {
		return err
	}
	fmt.Printf("schedule %s: %q, active: %t\n", sched.ID, sched.Cadence, sched.Active)
	err = client.Schedules.Delete(ctx, sched.ID)
	switch {
	case errors.Is(err, toolhouse.ErrNotFound):
		fmt.Println("already gone")
	case err != nil:
		return err
	default:
		fmt.Println("deleted")
	}
	return nil
}
