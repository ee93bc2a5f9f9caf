// Package wrapup is the agent's work on a call once it is answered: the
// guided script run step by step, the disposition, notes and follow-ups,
// all saved as they are given and finished once onto the call's activity;
// and the wrap-up time that keeps the agent out of the queue until then.
package wrapup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/script"
	"github.com/tamas-cc/tamas/internal/outbox"
)

// ErrForbidden is returned when an agent acts on another agent's wrap-up,
// or opens one for a call they did not have.
var ErrForbidden = errors.New("wrapup: the call is another agent's")

// Contacts reads the caller's record, for the script's fields.
type Contacts interface {
	GetContact(ctx context.Context, id int64) (*crm.Contact, error)
}

// History reads the caller's earlier activities, for the previous
// disposition a script may branch on.
type History interface {
	RecentActivities(ctx context.Context, contactID int64, limit int) ([]crm.Activity, error)
}

// Presence is agents' availability, which a wrap-up changes: an agent is
// in "wrapup" after a call and "available" again once done.
type Presence interface {
	State(username string) string
	SetState(ctx context.Context, username, state string) error
}

// Calls tells who had a call, for as long as it remembers the call.
type Calls interface {
	// Had reports whether the call is known and, if so, whether username
	// had it: the agent who answered, or one its pop went to. It may wait
	// briefly, within ctx, for a call it is about to learn of.
	Had(ctx context.Context, callID, username string) (known, had bool)
	// AnsweredBy names who answered the call ("" when not known).
	AnsweredBy(callID string) string
}

// Activities reads a call's activity: the agent it names had the call,
// once Calls has forgotten it.
type Activities interface {
	CallActivity(ctx context.Context, callID string) (*crm.Activity, error)
}

// Users tells whom a follow-up may be assigned to.
type Users interface {
	// Enabled reports whether username names a user who may log in.
	Enabled(ctx context.Context, username string) bool
}

// Notifier hears of every finished wrap-up once it is stored.
type Notifier interface {
	Finished(ctx context.Context, w *crm.WrapUp)
}

// Options configure a Service.
type Options struct {
	Store    crm.WrapUpStore
	Contacts Contacts
	History  History
	// Scripts may be nil: the wrap-up is then disposition, notes and
	// follow-ups only.
	Scripts      *script.Set
	Dispositions []Disposition
	// WrapUpTime is how long an agent stays in wrap-up after a call before
	// becoming available again; QueueWrapUp overrides it by queue. Zero
	// leaves the agent in wrap-up until they finish.
	WrapUpTime  time.Duration
	QueueWrapUp map[string]time.Duration
	// Presence holds agents' availability, which the wrap-up time
	// changes (nil: left alone).
	Presence Presence
	// Notify hears of finished wrap-ups (webhooks); nil: nobody.
	Notify Notifier
	// Outbox keeps finished wrap-ups the database could not take; with it,
	// an outage does not stop agents: answers are kept on this node and
	// saved when the database returns, and a finish is kept on disk and
	// applied then (Run does both). Without it, an outage is an error.
	Outbox *outbox.Outbox[crm.WrapUp]
	// Refused keeps finishes from the outbox the database would not take
	// (a contact deleted meanwhile takes only their follow-ups there).
	Refused *outbox.Outbox[crm.WrapUp]
	// RetryEvery is how often Run retries (2s).
	RetryEvery time.Duration
	// Calls decides who may start a call's wrap-up: an agent who had the
	// call; once Calls has forgotten it, the agent its activity in
	// Activities names. Supervisors always may; with no Calls, anyone
	// may. The agent who answered takes over a draft another agent the
	// call was offered to opened before the answer.
	Calls      Calls
	Activities Activities
	// Users checks a follow-up's assignee (nil: anyone): a typo must not
	// create a follow-up nobody is told of.
	Users  Users
	Logger *slog.Logger
	Now    func() time.Time
}

// Service runs wrap-ups. Moves on one call are serialised on this node.
type Service struct {
	o      Options
	log    *slog.Logger
	now    func() time.Time
	seed   maphash.Seed
	locks  [64]sync.Mutex
	mu     sync.Mutex
	timers map[string]*time.Timer
	// fields caches each call's script fields: they come from the
	// caller's record, read once per call rather than at every answer.
	fieldsMu sync.Mutex
	fields   map[fieldsKey]script.Context
	// drafts caches the last draft this node read or saved per call, so an
	// answer costs one write, not a read and a write. The store's revision
	// check refuses a save from a copy another node or tab has overtaken;
	// the copy is then dropped and read afresh.
	drafts map[string]crm.WrapUp
	// dirty marks drafts this node holds that the database has not taken.
	dirty map[string]bool
}

type fieldsKey struct {
	call    string
	contact int64
	agent   string
}

// maxCachedFields bounds the fields cache; past it the cache starts over.
const maxCachedFields = 10000

// New returns a Service. Every disposition an outcome of a script sets
// must be in o.Dispositions.
func New(o Options) (*Service, error) {
	if o.Store == nil {
		return nil, errors.New("wrapup: no store")
	}
	if len(o.Dispositions) == 0 {
		return nil, errors.New("wrapup: no dispositions configured")
	}
	s := &Service{o: o, log: o.Logger, now: o.Now, seed: maphash.MakeSeed(), timers: map[string]*time.Timer{},
		fields: map[fieldsKey]script.Context{}, drafts: map[string]crm.WrapUp{}, dirty: map[string]bool{}}
	if s.o.RetryEvery <= 0 {
		s.o.RetryEvery = 2 * time.Second
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := CheckDispositions(o.Scripts, o.Dispositions); err != nil {
		return nil, err
	}
	return s, nil
}

// Agent is who acts.
type Agent struct {
	Username string
	Name     string
	Lang     string
	// Supervisor may act on any agent's wrap-up.
	Supervisor bool
}

// Call is what the console knows of a call when it opens the wrap-up.
type Call struct {
	ID        string    `json:"call_id"`
	ContactID int64     `json:"contact_id"`
	Script    string    `json:"script"`
	Line      string    `json:"line"`
	Queue     string    `json:"queue"`
	StartedAt time.Time `json:"started_at"`
}

// State is what the console shows: the wrap-up, the script run, the
// dispositions to choose from and the wrap-up time.
type State struct {
	WrapUp        *crm.WrapUp   `json:"wrapup"`
	Run           *script.View  `json:"run,omitempty"`
	Dispositions  []Disposition `json:"dispositions"`
	WrapUpSeconds int           `json:"wrapup_seconds"`
	// Unsaved: the database is unreachable; this node keeps the answers
	// and saves them when it returns.
	Unsaved bool `json:"unsaved,omitempty"`
}

// Done is a finished wrap-up. Pending: the database was unreachable; the
// finish is kept on disk and written when it returns.
type Done struct {
	WrapUp  *crm.WrapUp `json:"wrapup"`
	Pending bool        `json:"pending,omitempty"`
}

func (s *Service) lock(callID string) func() {
	m := &s.locks[maphash.String(s.seed, callID)%uint64(len(s.locks))]
	m.Lock()
	return m.Unlock
}

// Open returns the call's wrap-up, starting it (and its script) on first
// use. A contact given replaces the draft's: the agent picked one of
// several matches, or created a lead for an unknown caller.
func (s *Service) Open(ctx context.Context, a Agent, c Call) (*State, error) {
	if strings.TrimSpace(c.ID) == "" {
		return nil, &crm.FieldError{Field: "call_id", Reason: "is required"}
	}
	defer s.lock(c.ID)()
	w, err := s.o.Store.WrapUp(ctx, c.ID)
	s.fieldsMu.Lock()
	mine, cached := s.drafts[c.ID]
	if cached && (s.dirty[c.ID] || outage(ctx, s.o.Store, err) || mine.Done()) {
		// This node's copy is newer than the store's (answers or a
		// finish the database has not taken yet), or the store is down.
		w, err = &mine, nil
	}
	s.fieldsMu.Unlock()
	switch {
	case errors.Is(err, crm.ErrNotFound):
		if !a.Supervisor && !s.mayOpen(ctx, c.ID, a.Username) {
			return nil, ErrForbidden
		}
		w = &crm.WrapUp{CallID: c.ID, ContactID: c.ContactID, Agent: a.Username, Line: c.Line, Queue: c.Queue,
			StartedAt: c.StartedAt}
		if w.StartedAt.IsZero() || w.StartedAt.After(s.now()) {
			w.StartedAt = s.now()
		}
		if c.Script != "" && s.o.Scripts != nil {
			sc, ok := s.o.Scripts.Get(c.Script, a.Lang)
			if !ok {
				return nil, &crm.FieldError{Field: "script", Reason: fmt.Sprintf("no script %q", c.Script)}
			}
			w.Script, w.Version, w.Lang = sc.ID, sc.Version, sc.Lang
		}
		w.Answers = json.RawMessage(`{}`)
		run, err := s.run(ctx, a, w)
		if err != nil {
			return nil, err
		}
		if err := s.keepRun(w, run); err != nil {
			return nil, err
		}
		if err := s.save(ctx, w); err != nil {
			return nil, err
		}
		return s.state(ctx, a, w, run, c.Queue), nil
	case err != nil:
		return nil, err
	}
	if err := s.owns(a, w); err != nil {
		if w.Done() || s.o.Calls == nil || s.o.Calls.AnsweredBy(c.ID) != a.Username {
			return nil, err
		}
		s.log.InfoContext(ctx, "wrap-up taken over by the agent who answered", "call", c.ID, "from", w.Agent, "to", a.Username)
		w.Agent = a.Username
		if err := s.save(ctx, w); err != nil {
			return nil, err
		}
	}
	s.keep(w) // opening reads the store: a reload sees what any node saved
	if !w.Done() && c.ContactID > 0 && c.ContactID != w.ContactID {
		w.ContactID = c.ContactID
		if err := s.save(ctx, w); err != nil {
			return nil, err
		}
	}
	run, err := s.run(ctx, a, w)
	if err != nil {
		return nil, err
	}
	return s.state(ctx, a, w, run, w.Queue), nil
}

// mayOpen reports whether an agent had a call, so may start its wrap-up.
func (s *Service) mayOpen(ctx context.Context, callID, username string) bool {
	if s.o.Calls == nil {
		return true
	}
	if known, had := s.o.Calls.Had(ctx, callID, username); known {
		return had
	}
	if s.o.Activities == nil {
		return false
	}
	a, err := s.o.Activities.CallActivity(ctx, callID)
	return err == nil && a.Agent == username
}

func (s *Service) owns(a Agent, w *crm.WrapUp) error {
	if a.Supervisor || strings.EqualFold(a.Username, w.Agent) {
		return nil
	}
	return ErrForbidden
}

func (s *Service) state(ctx context.Context, a Agent, w *crm.WrapUp, run *script.Run, queue string) *State {
	st := &State{WrapUp: w, Dispositions: s.o.Dispositions, WrapUpSeconds: int(s.wrapUpTime(queue) / time.Second),
		Unsaved: s.unsaved(w.CallID)}
	if run != nil {
		v := run.View(s.now().Sub(w.StartedAt))
		st.Run = &v
	}
	return st
}
