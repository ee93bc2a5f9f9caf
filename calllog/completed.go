package calllog

import (
	"context"

	"github.com/tamas-cc/tamas/crm"
)

// CallActivities reads a call's activity.
type CallActivities interface {
	CallActivity(ctx context.Context, callID string) (*crm.Activity, error)
}

// Completed announces a call's activity again once its wrap-up is finished
// onto it, now with the disposition, notes and answers. It is a
// wrapup.Notifier.
type Completed struct {
	Activities CallActivities
	Notify     Notifier
}

// Finished announces the activity w was finished onto; an activity that
// cannot be read is not announced.
func (c Completed) Finished(ctx context.Context, w *crm.WrapUp) {
	if a, err := c.Activities.CallActivity(ctx, w.CallID); err == nil {
		c.Notify.Send(EventActivityCompleted, a)
	}
}
