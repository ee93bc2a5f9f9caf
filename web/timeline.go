package web

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
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
	cursor, err := parseCursor(r.URL.Query().Get("before"))
	if err != nil {
		return &apiError{Status: http.StatusBadRequest, Code: "invalid", Field: "before",
			Message: "before must be an RFC 3339 time or the next of the previous page"}
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
	tl := &timelineBuilder{cursor: cursor}
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
		last := tl.items[len(tl.items)-1]
		out.Next = last.At.UTC().Format(time.RFC3339Nano) + "~" + last.Type + "~" + strconv.FormatInt(last.id(), 10)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// timelineCursor is where a page starts: after the item at At of the
// given type and id (items at the same time are ordered by type and id, so
// none is lost between pages), or before At when no item is named.
type timelineCursor struct {
	At   time.Time
	Type string
	ID   int64
}

// parseCursor reads "" (the newest page), an RFC 3339 time, or a next
// value: time~type~id.
func parseCursor(raw string) (*timelineCursor, error) {
	if raw == "" {
		return nil, nil
	}
	at, rest, named := strings.Cut(raw, "~")
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return nil, err
	}
	c := &timelineCursor{At: t}
	if named {
		typ, id, ok := strings.Cut(rest, "~")
		n, err := strconv.ParseInt(id, 10, 64)
		if !ok || err != nil || (typ != "activity" && typ != "task") {
			return nil, errors.New("bad cursor")
		}
		c.Type, c.ID = typ, n
	}
	return c, nil
}

// after reports whether it comes after the cursor in newest-first order.
func (c *timelineCursor) after(it timelineItem) bool {
	if c == nil {
		return true
	}
	if c.Type == "" {
		return it.At.Before(c.At)
	}
	return newestFirst(timelineItem{At: c.At, Type: c.Type, Activity: &crm.Activity{ID: c.ID}}, it) < 0
}

// timelineBuilder gathers the newest items after a cursor, keeping no more
// than a page however many records the contacts have.
type timelineBuilder struct {
	cursor *timelineCursor
	items  []timelineItem
	more   bool // items were left out past the page
}

func (b *timelineBuilder) add(it timelineItem) {
	if !b.cursor.after(it) {
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
	aq := crm.ActivityQuery{ContactID: contactID, Limit: crm.MaxListLimit}
	if b.cursor != nil {
		aq.To = b.cursor.At.Add(time.Millisecond) // stores keep milliseconds; ties are sorted out by add
	}
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
