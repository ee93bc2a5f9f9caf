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
	"slices"
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

// Disposition is a code an agent may close a call with, and its labels by
// language.
type Disposition struct {
	Code   string            `json:"code"`
	Labels map[string]string `json:"labels,omitempty"`
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
	// SetState changes an agent's availability ("wrapup", "available").
	SetState func(ctx context.Context, username, state string)
	// StateOf reports an agent's availability.
	StateOf func(username string) string
	// Finished hears of every finished wrap-up once it is stored
	// (webhooks).
	Finished func(ctx context.Context, w *crm.WrapUp)
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
	// MayOpen reports whether an agent had a call and may start its
	// wrap-up (nil: anyone); supervisors may always.
	MayOpen func(ctx context.Context, callID, username string) bool
	// AnsweredBy names who answered a call, when known: that agent takes
	// over a draft another agent the call was offered to opened before
	// the answer.
	AnsweredBy func(callID string) string
	// KnownUser reports whether a follow-up may be assigned to username
	// (nil: anyone): a typo must not create a follow-up nobody is told of.
	KnownUser func(ctx context.Context, username string) bool
	Logger    *slog.Logger
	Now       func() time.Time
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

// CheckDispositions reports a disposition listed twice or empty, and one a
// script's outcome sets that is not in the list.
func CheckDispositions(scripts *script.Set, dispositions []Disposition) error {
	seen := map[string]bool{}
	for _, d := range dispositions {
		if d.Code == "" || seen[d.Code] {
			return fmt.Errorf("wrapup: disposition %q is empty or listed twice", d.Code)
		}
		seen[d.Code] = true
	}
	if scripts == nil {
		return nil
	}
	var errs []error
	for _, sc := range scripts.Scripts() {
		for _, st := range sc.Steps {
			if st.Outcome != nil && !seen[st.Outcome.Disposition] {
				errs = append(errs, fmt.Errorf("wrapup: %s: step %q sets disposition %q, which is not configured",
					sc.File(), st.ID, st.Outcome.Disposition))
			}
		}
	}
	return errors.Join(errs...)
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
		if !a.Supervisor && s.o.MayOpen != nil && !s.o.MayOpen(ctx, c.ID, a.Username) {
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
		if w.Done() || s.o.AnsweredBy == nil || s.o.AnsweredBy(c.ID) != a.Username {
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

// draft returns the call's wrap-up: this node's copy, else the store's.
func (s *Service) draft(ctx context.Context, callID string) (*crm.WrapUp, error) {
	s.fieldsMu.Lock()
	w, ok := s.drafts[callID]
	s.fieldsMu.Unlock()
	if ok {
		return &w, nil
	}
	got, err := s.o.Store.WrapUp(ctx, callID)
	if err != nil {
		return nil, err
	}
	s.keep(got)
	return got, nil
}

// keep caches a copy of w, or forgets the call's copy when w is nil.
func (s *Service) keep(w *crm.WrapUp) {
	s.fieldsMu.Lock()
	defer s.fieldsMu.Unlock()
	if len(s.drafts) >= maxCachedFields {
		// Start over, but never drop what only this node holds: answers
		// the database has not taken, or a finish waiting in the outbox.
		for id, d := range s.drafts {
			if !s.dirty[id] && !d.Done() {
				delete(s.drafts, id)
			}
		}
	}
	s.drafts[w.CallID] = *w
}

// cached returns this node's copy of a call's wrap-up.
func (s *Service) cached(callID string) (crm.WrapUp, bool) {
	s.fieldsMu.Lock()
	defer s.fieldsMu.Unlock()
	w, ok := s.drafts[callID]
	return w, ok
}

// forgetClean drops the call's copy unless it holds answers the database
// has not taken.
func (s *Service) forgetClean(callID string) {
	s.fieldsMu.Lock()
	defer s.fieldsMu.Unlock()
	if !s.dirty[callID] {
		delete(s.drafts, callID)
	}
}

func (s *Service) forget(callID string) {
	s.fieldsMu.Lock()
	delete(s.drafts, callID)
	delete(s.dirty, callID)
	s.fieldsMu.Unlock()
}

// unsaved reports whether this node holds answers the database has not.
func (s *Service) unsaved(callID string) bool {
	s.fieldsMu.Lock()
	defer s.fieldsMu.Unlock()
	return s.dirty[callID]
}

// outage reports whether err is the store being unreachable, as opposed to
// a refusal (invalid, conflicting, missing, or anything else a reachable
// database says no to).
func outage(ctx context.Context, store any, err error) bool {
	var fe *crm.FieldError
	if err == nil || ctx.Err() != nil || errors.As(err, &fe) || errors.Is(err, crm.ErrConflict) || errors.Is(err, crm.ErrNotFound) {
		return false
	}
	if p, ok := store.(interface{ Ping(context.Context) error }); ok {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return p.Ping(pctx) != nil
	}
	return true
}

// save stores a draft and keeps the copy; a conflict drops the copy so
// the next move reads the store's. With an outbox, an unreachable store
// leaves the draft with this node, marked unsaved, for Run to save later.
func (s *Service) save(ctx context.Context, w *crm.WrapUp) error {
	err := s.o.Store.SaveWrapUp(ctx, w)
	switch {
	case err == nil:
		s.keep(w)
		s.fieldsMu.Lock()
		delete(s.dirty, w.CallID)
		s.fieldsMu.Unlock()
		return nil
	case s.o.Outbox != nil && outage(ctx, s.o.Store, err):
		s.keep(w)
		s.fieldsMu.Lock()
		s.dirty[w.CallID] = true
		s.fieldsMu.Unlock()
		s.log.WarnContext(ctx, "wrap-up answers kept on this node: the database did not take them", "call", w.CallID, "err", err)
		return nil
	case errors.Is(err, crm.ErrConflict):
		s.forget(w.CallID)
	}
	return err
}

func (s *Service) owns(a Agent, w *crm.WrapUp) error {
	if a.Supervisor || strings.EqualFold(a.Username, w.Agent) {
		return nil
	}
	return ErrForbidden
}

// run rebuilds the script run of a wrap-up; nil when it has no script.
func (s *Service) run(ctx context.Context, a Agent, w *crm.WrapUp) (*script.Run, error) {
	if w.Script == "" || s.o.Scripts == nil {
		return nil, nil
	}
	sc, ok := s.o.Scripts.Get(w.Script, w.Lang)
	if !ok {
		return nil, fmt.Errorf("wrapup: script %q (%s) is no longer loaded", w.Script, w.Lang)
	}
	answers := map[string]script.Value{}
	if len(w.Answers) > 0 {
		if err := json.Unmarshal(w.Answers, &answers); err != nil {
			return nil, fmt.Errorf("wrapup: call %s answers: %w", w.CallID, err)
		}
	}
	sctx := s.callFields(ctx, a, w)
	sctx.Answers = answers
	return sc.Resume(sctx, w.Path), nil
}

// callFields returns the call's script fields, cached per call and contact.
func (s *Service) callFields(ctx context.Context, a Agent, w *crm.WrapUp) script.Context {
	k := fieldsKey{w.CallID, w.ContactID, a.Username}
	s.fieldsMu.Lock()
	c, ok := s.fields[k]
	s.fieldsMu.Unlock()
	if ok {
		return c
	}
	c = s.readFields(ctx, a, w.ContactID, w.Line)
	s.fieldsMu.Lock()
	if len(s.fields) >= maxCachedFields {
		clear(s.fields)
	}
	s.fields[k] = c
	s.fieldsMu.Unlock()
	return c
}

// readFields are the CRM values a script shows and branches on. A
// database error leaves them empty: the script still runs.
func (s *Service) readFields(ctx context.Context, a Agent, contactID int64, line string) script.Context {
	f := map[string]string{"agent.name": a.Name, "line": line}
	if f["agent.name"] == "" {
		f["agent.name"] = a.Username
	}
	out := script.Context{Fields: f}
	if contactID <= 0 || s.o.Contacts == nil {
		return out
	}
	c, err := s.o.Contacts.GetContact(ctx, contactID)
	if err != nil {
		s.log.WarnContext(ctx, "wrap-up: contact unavailable for the script", "contact", contactID, "err", err)
		return out
	}
	f["customer.first_name"], f["customer.last_name"] = c.FirstName, c.LastName
	f["customer.name"], f["customer.status"] = c.DisplayName(), string(c.Status)
	if len(c.Organizations) > 0 {
		f["customer.organization"] = c.Organizations[0].Name
	}
	var custom struct {
		Segment any `json:"segment"`
	}
	if json.Unmarshal(c.Custom, &custom) == nil && custom.Segment != nil {
		f["customer.segment"] = fmt.Sprint(custom.Segment)
	}
	out.Tags = c.Tags
	f["customer.tags"] = strings.Join(c.Tags, ", ")
	if ld, ok := s.o.History.(crm.LastDispositioner); ok {
		if d, err := ld.LastDisposition(ctx, contactID); err == nil {
			f["customer.last_disposition"] = d
		}
	} else if s.o.History != nil {
		if acts, err := s.o.History.RecentActivities(ctx, contactID, crm.DefaultRecords); err == nil {
			for _, act := range acts {
				if act.Kind == crm.ActivityCall && act.Disposition != "" {
					f["customer.last_disposition"] = act.Disposition
					break
				}
			}
		}
	}
	return out
}

func (s *Service) keepRun(w *crm.WrapUp, run *script.Run) error {
	if run == nil {
		return nil
	}
	answers, err := json.Marshal(run.Ctx.Answers)
	if err != nil {
		return fmt.Errorf("wrapup: call %s answers: %w", w.CallID, err)
	}
	w.Path = slices.Clone(run.Path)
	w.Step = w.Path[len(w.Path)-1]
	w.Answers = answers
	w.Score = run.Score()
	return nil
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

func (s *Service) wrapUpTime(queue string) time.Duration {
	if d, ok := s.o.QueueWrapUp[queue]; ok {
		return d
	}
	return s.o.WrapUpTime
}

// Move is one step of the agent through the script.
type Move struct {
	// From is the step the console is on; a move from any other step is
	// refused, so a double click cannot skip a step.
	From string `json:"from"`
	// Answer, when set, is recorded for From before moving.
	Answer []string `json:"answer,omitempty"`
	// Go is "stay" (only record the answer), "next" or "back".
	Go string `json:"go"`
}

// openDraft returns the call's draft for an agent who may change it.
func (s *Service) openDraft(ctx context.Context, a Agent, callID string) (*crm.WrapUp, error) {
	w, err := s.draft(ctx, callID)
	if err != nil {
		return nil, err
	}
	if err := s.owns(a, w); err != nil {
		return nil, err
	}
	if w.Done() {
		return nil, fmt.Errorf("call %s: the wrap-up is finished: %w", callID, crm.ErrConflict)
	}
	return w, nil
}

// Step records an answer and moves through the script; the draft is
// saved before it returns. A refused answer changes nothing.
func (s *Service) Step(ctx context.Context, a Agent, callID string, m Move) (*State, error) {
	defer s.lock(callID)()
	w, err := s.openDraft(ctx, a, callID)
	if err != nil {
		return nil, err
	}
	run, err := s.run(ctx, a, w)
	if err != nil {
		return nil, err
	}
	if run == nil {
		return nil, &crm.FieldError{Field: "step", Reason: "this call has no script"}
	}
	if m.From != run.Current().ID {
		return nil, fmt.Errorf("call %s is on step %q, not %q: %w", callID, run.Current().ID, m.From, crm.ErrConflict)
	}
	if m.Answer != nil {
		if err := run.Answer(m.From, m.Answer); err != nil {
			return nil, &crm.FieldError{Field: "answer", Reason: strings.TrimPrefix(err.Error(), script.ErrAnswer.Error()+": ")}
		}
	}
	switch m.Go {
	case "next":
		err = run.Forward()
	case "back":
		err = run.Back()
	case "stay", "":
	default:
		return nil, &crm.FieldError{Field: "go", Reason: "must be stay, next or back"}
	}
	if err != nil {
		return nil, &crm.FieldError{Field: "step", Reason: strings.TrimPrefix(err.Error(), script.ErrAnswer.Error()+": ")}
	}
	if err := s.keepRun(w, run); err != nil {
		return nil, err
	}
	if err := s.save(ctx, w); err != nil {
		return nil, err
	}
	return s.state(ctx, a, w, run, w.Queue), nil
}

// Notes saves the agent's notes as they type.
func (s *Service) Notes(ctx context.Context, a Agent, callID, notes string) error {
	defer s.lock(callID)()
	w, err := s.openDraft(ctx, a, callID)
	if err != nil {
		return err
	}
	w.Notes = notes
	return s.save(ctx, w)
}

// Finish is the agent's close of the call.
type Finish struct {
	Disposition string `json:"disposition"`
	// Notes replace the draft's notes; nil keeps them.
	Notes  *string    `json:"notes"`
	Tasks  []FollowUp `json:"tasks"`
	Status crm.Status `json:"status,omitempty"`
}

// FollowUp is a task or a scheduled callback agreed on the call.
type FollowUp struct {
	Title    string    `json:"title"`
	DueAt    time.Time `json:"due_at"`
	Assignee string    `json:"assignee"`
}

// Finish closes the wrap-up: the disposition must be a configured one and
// a script run must have reached its outcome (whose contact status applies
// unless f names another). Then the agent is available again.
func (s *Service) Finish(ctx context.Context, a Agent, callID string, f Finish) (*Done, error) {
	defer s.lock(callID)()
	w, err := s.openDraft(ctx, a, callID)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(s.o.Dispositions, func(d Disposition) bool { return d.Code == f.Disposition }) {
		return nil, &crm.FieldError{Field: "disposition", Reason: fmt.Sprintf("%q is not one of the configured dispositions", f.Disposition)}
	}
	run, err := s.run(ctx, a, w)
	if err != nil {
		return nil, err
	}
	if run != nil {
		if !run.Ended() {
			return nil, &crm.FieldError{Field: "step", Reason: fmt.Sprintf("the script is at %q: finish it first", run.Current().ID)}
		}
		if f.Status == "" {
			f.Status = crm.Status(run.Outcome().Status)
		}
		// Only the answers on the way taken are kept.
		answers, err := json.Marshal(run.Answers())
		if err != nil {
			return nil, fmt.Errorf("wrapup: call %s answers: %w", callID, err)
		}
		w.Answers, w.Score = answers, run.Score()
	}
	w.Disposition, w.Status = f.Disposition, f.Status
	if f.Notes != nil {
		w.Notes = *f.Notes
	}
	w.Notes = strings.TrimSpace(w.Notes)
	w.Tasks = nil
	for _, t := range f.Tasks {
		if t.Assignee == "" {
			t.Assignee = w.Agent
		}
		if t.Assignee != w.Agent && s.o.KnownUser != nil && !s.o.KnownUser(ctx, t.Assignee) {
			return nil, &crm.FieldError{Field: "tasks", Reason: fmt.Sprintf("no user %q to assign a follow-up to", t.Assignee)}
		}
		w.Tasks = append(w.Tasks, crm.Task{Title: strings.TrimSpace(t.Title), DueAt: t.DueAt.UTC(), Assignee: t.Assignee})
	}
	w.DoneAt = s.now().UTC()
	if err := w.Validate(); err != nil {
		return nil, err
	}
	if err := s.o.Store.FinishWrapUp(ctx, w); err != nil {
		if s.o.Outbox != nil && outage(ctx, s.o.Store, err) {
			return s.keepFinish(ctx, w, err)
		}
		// The copy may be stale, or now half-changed: read afresh next
		// time, unless it holds answers only this node has.
		s.forgetClean(callID)
		return nil, err
	}
	s.forget(callID)
	s.fieldsMu.Lock()
	for k := range s.fields {
		if k.call == callID {
			delete(s.fields, k)
		}
	}
	s.fieldsMu.Unlock()
	s.log.InfoContext(ctx, "wrap-up finished", "call", callID, "agent", w.Agent, "disposition", w.Disposition,
		"score", w.Score, "tasks", len(w.Tasks))
	s.release(ctx, w.Agent)
	if s.o.Finished != nil {
		s.o.Finished(ctx, w)
	}
	return &Done{WrapUp: w}, nil
}

// keepFinish puts a finish the database did not take in the outbox: the
// agent is done and free, Run writes it when the database returns.
func (s *Service) keepFinish(ctx context.Context, w *crm.WrapUp, cause error) (*Done, error) {
	// Cached first: once appended, Retry may write and forget it at once.
	prev, hadPrev := s.cached(w.CallID)
	s.keep(w) // done: later moves are refused
	if err := s.o.Outbox.Append(*w); err != nil {
		if hadPrev {
			s.keep(&prev)
		} else {
			s.forgetClean(w.CallID)
		}
		return nil, fmt.Errorf("finish wrap-up: %w (and the outbox: %v)", cause, err)
	}
	s.fieldsMu.Lock()
	delete(s.dirty, w.CallID)
	s.fieldsMu.Unlock()
	s.log.WarnContext(ctx, "wrap-up kept in the outbox: the database did not take it", "call", w.CallID, "err", cause)
	s.release(ctx, w.Agent)
	return &Done{WrapUp: w, Pending: true}, nil
}

// Run writes, until ctx ends, what an outage left: finishes from the
// outbox first, in order, then the answers this node kept.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.o.RetryEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pass, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := s.Retry(pass)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.log.Debug("wrap-ups still waiting for the database", "err", err)
		}
	}
}

// Retry makes one pass of Run.
func (s *Service) Retry(ctx context.Context) error {
	if s.o.Outbox == nil {
		return nil
	}
	if s.o.Outbox.Len() > 0 {
		n, err := s.o.Outbox.Flush(ctx, s.applyKept)
		if err != nil {
			return err
		}
		if n > 0 {
			s.log.InfoContext(ctx, "wrap-ups written from the outbox", "count", n, "left", s.o.Outbox.Len())
		}
	}
	s.fieldsMu.Lock()
	var dirty []string
	for id := range s.dirty {
		dirty = append(dirty, id)
	}
	s.fieldsMu.Unlock()
	slices.Sort(dirty)
	for _, id := range dirty {
		if err := s.saveKept(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// applyKept writes one finish from the outbox. It returns an error only
// while the database is unreachable, so one finish the database refuses
// can never hold up the others: it goes to the refused file instead.
func (s *Service) applyKept(ctx context.Context, w crm.WrapUp) error {
	err := s.o.Store.FinishWrapUp(ctx, &w)
	if errors.Is(err, crm.ErrConflict) {
		cur, rerr := s.o.Store.WrapUp(ctx, w.CallID)
		if rerr != nil && outage(ctx, s.o.Store, rerr) {
			return rerr
		}
		if rerr == nil && cur.Done() {
			// Finished already: the first attempt did commit (its answer
			// was lost), or another node finished it.
			s.log.InfoContext(ctx, "wrap-up from the outbox was already finished", "call", w.CallID)
			s.forget(w.CallID)
			if cur.DoneAt.Equal(w.DoneAt) && s.o.Finished != nil {
				s.o.Finished(ctx, cur) // ours: nobody has heard of it yet
			}
			return nil
		}
		if rerr == nil {
			// A draft saved elsewhere after this node's copy: the agent's
			// finish is their last word on the call.
			w.Rev = cur.Rev
			if w.Notes == "" {
				w.Notes = cur.Notes
			}
			err = s.o.Store.FinishWrapUp(ctx, &w)
		}
	}
	if errors.Is(err, crm.ErrNotFound) && w.ContactID > 0 {
		// The contact was deleted meanwhile: the call's result is still
		// recorded; follow-ups need a contact and go with the refused.
		s.log.WarnContext(ctx, "wrap-up from the outbox: its contact is gone; written without it", "call", w.CallID,
			"contact", w.ContactID, "follow_ups_dropped", len(w.Tasks))
		if len(w.Tasks) > 0 {
			s.refuse(ctx, w, err)
		}
		w.ContactID, w.Tasks, w.Status = 0, nil, ""
		err = s.o.Store.FinishWrapUp(ctx, &w)
	}
	switch {
	case err == nil:
		s.log.InfoContext(ctx, "wrap-up written from the outbox", "call", w.CallID)
		s.forget(w.CallID)
		if s.o.Finished != nil {
			s.o.Finished(ctx, &w)
		}
		return nil
	case outage(ctx, s.o.Store, err):
		return err
	}
	s.refuse(ctx, w, err)
	s.forget(w.CallID)
	return nil
}

// refuse keeps a finish the database will not take, for an administrator.
func (s *Service) refuse(ctx context.Context, w crm.WrapUp, cause error) {
	s.log.ErrorContext(ctx, "wrap-up refused by the database; kept in the refused file", "call", w.CallID, "err", cause)
	if s.o.Refused == nil {
		return
	}
	if err := s.o.Refused.Append(w); err != nil {
		s.log.ErrorContext(ctx, "wrap-up refused and not kept", "call", w.CallID, "err", err)
	}
}

// saveKept saves the answers this node kept for a call through an outage.
func (s *Service) saveKept(ctx context.Context, callID string) error {
	defer s.lock(callID)()
	s.fieldsMu.Lock()
	w, ok := s.drafts[callID]
	still := s.dirty[callID]
	s.fieldsMu.Unlock()
	if !ok || !still || w.Done() {
		return nil
	}
	err := s.o.Store.SaveWrapUp(ctx, &w)
	switch {
	case err == nil:
		s.keep(&w)
		s.fieldsMu.Lock()
		delete(s.dirty, callID)
		s.fieldsMu.Unlock()
		s.log.InfoContext(ctx, "wrap-up answers kept through the outage saved", "call", callID)
	case errors.Is(err, crm.ErrConflict):
		s.log.WarnContext(ctx, "wrap-up answers kept through the outage were overtaken by another save", "call", callID)
		s.forget(callID)
	case outage(ctx, s.o.Store, err):
		return err
	default:
		s.log.ErrorContext(ctx, "wrap-up answers kept through the outage refused", "call", callID, "err", err)
		s.forget(callID)
	}
	return nil
}

// CallEnded puts the agent who took a call into wrap-up, and back to
// available after the queue's wrap-up time unless they chose another
// state meanwhile.
func (s *Service) CallEnded(ctx context.Context, username, queue string) {
	if username == "" || s.o.SetState == nil {
		return
	}
	if s.o.StateOf != nil && s.o.StateOf(username) != "available" {
		return // on break or offline: leave the agent's choice alone
	}
	s.o.SetState(ctx, username, "wrapup")
	d := s.wrapUpTime(queue)
	if d <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.timers[username]; t != nil {
		t.Stop()
	}
	var timer *time.Timer
	timer = time.AfterFunc(d, func() {
		s.mu.Lock()
		current := s.timers[username] == timer
		if current {
			delete(s.timers, username)
		}
		s.mu.Unlock()
		// A timer replaced by a later call's does nothing: that one decides.
		if current && (s.o.StateOf == nil || s.o.StateOf(username) == "wrapup") {
			s.o.SetState(context.WithoutCancel(ctx), username, "available")
		}
	})
	s.timers[username] = timer
}

// release makes an agent in wrap-up available now.
func (s *Service) release(ctx context.Context, username string) {
	s.mu.Lock()
	if t := s.timers[username]; t != nil {
		t.Stop()
		delete(s.timers, username)
	}
	s.mu.Unlock()
	if s.o.SetState != nil && (s.o.StateOf == nil || s.o.StateOf(username) == "wrapup") {
		s.o.SetState(ctx, username, "available")
	}
}

// Close stops pending wrap-up timers.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for u, t := range s.timers {
		t.Stop()
		delete(s.timers, u)
	}
}

// DefaultDispositions are the codes used when none are configured: those
// the shipped scripts set, and the usual others.
func DefaultDispositions() []Disposition {
	d := func(code, en, fa string) Disposition {
		return Disposition{Code: code, Labels: map[string]string{"en": en, "fa": fa}}
	}
	return []Disposition{
		d("qualified", "Qualified", "واجد شرایط"),
		d("sale", "Sale", "فروش"),
		d("callback", "Call back", "تماس مجدد"),
		d("not-ready", "Not ready yet", "هنوز آماده نیست"),
		d("not-interested", "Not interested", "علاقه‌مند نیست"),
		d("info-given", "Information given", "اطلاعات داده شد"),
		d("solved", "Solved", "حل شد"),
		d("ticket-opened", "Ticket opened", "درخواست ثبت شد"),
		d("escalated", "Escalated", "ارجاع شد"),
		d("satisfied", "Satisfied", "راضی"),
		d("unhappy", "Unhappy", "ناراضی"),
		d("wrong-number", "Wrong number", "شماره اشتباه"),
	}
}
