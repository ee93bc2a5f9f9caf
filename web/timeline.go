package web

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/tamas-cc/tamas/account"
	"github.com/tamas-cc/tamas/crm"
)

// timelineStore is what a contact's timeline reads: activities, and tasks
// done or not.
type timelineStore interface {
	crm.ActivityStore
	crm.TaskLister
}

// timelineContacts is the contact side the timeline needs.
type timelineContacts interface {
	GetContact(ctx context.Context, id int64) (*crm.Contact, error)
	ListContacts(ctx context.Context, q crm.ContactQuery) ([]crm.Contact, error)
}

const (
	// maxTimelineItems bounds one page of a timeline.
	maxTimelineItems = 200
	// maxTimelineMembers bounds the members an organization's timeline
	// reads: each costs its own queries.
	maxTimelineMembers = crm.MaxListLimit
)

// timelineMember names the member of an organization an item is about.
type timelineMember struct {
	ID          int64  `json:"id"`
	DisplayName string `json:"display_name"`
}

// timelineItem is one entry of a timeline: an activity or a task.
type timelineItem struct {
	Type     string          `json:"type"`
	At       time.Time       `json:"at"`
	Activity *crm.Activity   `json:"activity,omitempty"`
	Task     *crm.Task       `json:"task,omitempty"`
	Member   *timelineMember `json:"member,omitempty"`
}

func (it *timelineItem) id() int64 {
	if it.Activity != nil {
		return it.Activity.ID
	}
	return it.Task.ID
}

// newestFirst orders items by time, newest first; equal times keep a
// stable order so pages do not shuffle between reads.
func newestFirst(a, b timelineItem) int {
	if c := b.At.Compare(a.At); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	return cmp.Compare(b.id(), a.id())
}

// taskAt places a task on the timeline: when it was done, or, while open,
// when it falls due, so upcoming follow-ups lead the list.
func taskAt(t *crm.Task) time.Time {
	if t.DoneAt != nil {
		return *t.DoneAt
	}
	return t.DueAt
}

func (s *Server) timelineRoutes() {
	s.sessionRoute("GET /api/v1/contacts/{id}/timeline", account.RoleAgent, s.timeline)
}

func (s *Server) timelineStore() (timelineStore, error) {
	as, err := s.activityStore()
	if err != nil {
		return nil, err
	}
	ts, ok := as.(timelineStore)
	if !ok {
		return nil, errorf(http.StatusServiceUnavailable, "unavailable", "the activity store lists no tasks")
	}
	return ts, nil
}

// timeline serves GET /api/v1/contacts/{id}/timeline?before=RFC3339: a
// contact's activities and tasks, and for an organization its members'
// too, newest first. next, when set, is the before of the following page.
func (s *Server) timeline(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var before time.Time
	if raw := r.URL.Query().Get("before"); raw != "" {
		if before, err = time.Parse(time.RFC3339, raw); err != nil {
			return &apiError{Status: http.StatusBadRequest, Code: "invalid", Field: "before",
				Message: "before must be an RFC 3339 time"}
		}
	}
	ts, err := s.timelineStore()
	if err != nil {
		return err
	}
	var contacts timelineContacts = s.dir.Store()
	c, err := contacts.GetContact(r.Context(), id)
	if err != nil {
		return err
	}
	type subject struct {
		id     int64
		member *timelineMember
	}
	subjects := []subject{{id: c.ID}}
	if c.Kind == crm.KindOrganization {
		members, err := contacts.ListContacts(r.Context(), crm.ContactQuery{OrganizationID: c.ID, Limit: maxTimelineMembers})
		if err != nil {
			return err
		}
		for _, m := range members {
			subjects = append(subjects, subject{m.ID, &timelineMember{ID: m.ID, DisplayName: m.DisplayName()}})
		}
	}
	tl := &timelineBuilder{before: before}
	for _, sub := range subjects {
		if err := tl.read(r.Context(), ts, sub.id, sub.member); err != nil {
			return err
		}
	}
	out := struct {
		Contact *crm.Contact   `json:"contact"`
		Items   []timelineItem `json:"items"`
		Next    string         `json:"next,omitempty"`
	}{Contact: c, Items: tl.items}
	if out.Items == nil {
		out.Items = []timelineItem{}
	}
	if tl.more {
		out.Next = tl.items[len(tl.items)-1].At.UTC().Format(time.RFC3339Nano)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// timelineBuilder gathers the newest items before a time, keeping no more
// than a page however many records the contacts have.
type timelineBuilder struct {
	before time.Time
	items  []timelineItem
	more   bool // items were left out past the page
}

func (b *timelineBuilder) add(it timelineItem) {
	if !b.before.IsZero() && !it.At.Before(b.before) {
		return
	}
	b.items = append(b.items, it)
	if len(b.items) >= 2*maxTimelineItems {
		b.trim()
	}
}

func (b *timelineBuilder) trim() {
	slices.SortFunc(b.items, newestFirst)
	if len(b.items) > maxTimelineItems {
		b.items, b.more = b.items[:maxTimelineItems], true
	}
}

// read adds one contact's activities and tasks. Stores page both in an
// order other than the timeline's, so every page is read and the builder
// keeps the newest.
func (b *timelineBuilder) read(ctx context.Context, ts timelineStore, contactID int64, member *timelineMember) error {
	aq := crm.ActivityQuery{ContactID: contactID, To: b.before, Limit: crm.MaxListLimit}
	for {
		page, err := ts.ListActivities(ctx, aq)
		if err != nil {
			return err
		}
		for i := range page {
			b.add(timelineItem{Type: "activity", At: page[i].At, Activity: &page[i], Member: member})
		}
		if len(page) < aq.Limit {
			break
		}
		aq.AfterID = page[len(page)-1].ID
	}
	tq := crm.TaskQuery{ContactID: contactID, Limit: crm.MaxListLimit}
	for {
		page, err := ts.ListTasks(ctx, tq)
		if err != nil {
			return err
		}
		for i := range page {
			b.add(timelineItem{Type: "task", At: taskAt(&page[i]), Task: &page[i], Member: member})
		}
		if len(page) < tq.Limit {
			break
		}
		tq.AfterID = page[len(page)-1].ID
	}
	b.trim()
	return nil
}
