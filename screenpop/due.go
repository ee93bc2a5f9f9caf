package screenpop

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"

	"github.com/tamas-cc/tamas/crm"
)

// Contacts reads a contact for a due follow-up.
type Contacts interface {
	GetContact(ctx context.Context, id int64) (*crm.Contact, error)
}

// Announcer tells other systems of an event (webhooks).
type Announcer interface {
	Send(event string, data any)
}

// EventTaskDue is the event a due follow-up is announced as.
const EventTaskDue = "task.due"

// DueNotifier shows a follow-up that has fallen due on its assignee's
// console (with none, the supervisors'), with the contact's number so the
// console offers to call back, and announces it to other systems. It is a
// followup.Notifier.
type DueNotifier struct {
	Bus      Publisher
	Contacts Contacts
	Announce Announcer
	Logger   *slog.Logger
}

// TaskDue implements followup.Notifier.
func (n DueNotifier) TaskDue(ctx context.Context, t crm.Task) {
	who := &DueContact{ID: t.ContactID}
	if ct, err := n.Contacts.GetContact(ctx, t.ContactID); err == nil {
		who.DisplayName = ct.DisplayName()
		for _, p := range ct.Phones {
			if p.Label == crm.LabelFax {
				continue
			}
			who.Number = cmp.Or(p.E164, p.Raw)
			break
		}
	}
	if n.Announce != nil {
		n.Announce.Send(EventTaskDue, map[string]any{"task": t, "contact": who})
	}
	data, _ := json.Marshal(Envelope{Kind: "task_due", Task: &t, Contact: who})
	ch := SupervisorChannel
	if t.Assignee != "" {
		ch = UserChannel(t.Assignee)
	}
	if _, err := n.Bus.Publish(ctx, ch, data); err != nil {
		n.Logger.Warn("due follow-up not shown", "task", t.ID, "assignee", t.Assignee, "err", err)
	}
}
