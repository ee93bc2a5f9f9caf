package screenpop

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/telephony"
)

// Lookup answers "who is calling?"; *crm.Directory implements it.
type Lookup interface {
	Lookup(ctx context.Context, raw string) (crm.LookupResult, error)
}

// Records reads what a pop shows about a matched contact; the database
// stores implement it.
type Records interface {
	RecentActivities(ctx context.Context, contactID int64, limit int) ([]crm.Activity, error)
	OpenTasks(ctx context.Context, contactID int64, limit int) ([]crm.Task, error)
}

// Publisher sends a message on a channel; a [Bus] is one.
type Publisher interface {
	Publish(ctx context.Context, channel string, data []byte) (Message, error)
}

// Targeter picks the agents (usernames) an event concerns: the ones whose
// phones ring, or who may pick the call up. The pop goes to the union of
// every answer over the call's life, and to nobody else.
type Targeter interface {
	Targets(ev telephony.Event, p *Pop) []string
}

// ScriptChooser names the script for a call, or nil for none.
type ScriptChooser interface {
	Choose(p *Pop) *ScriptRef
}

// Options wire a Service.
type Options struct {
	Lookup    Lookup
	Records   Records
	Publisher Publisher
	Targets   Targeter
	Scripts   ScriptChooser
	// ContactLinks are link templates for each match; see [LinkTemplate].
	ContactLinks []LinkTemplate
	Node         string
	Logger       *slog.Logger
	Registry     prometheus.Registerer
	// HistoryLimit is how many activities and tasks a match carries (5);
	// DetailMatches, how many matches carry them (3): the console fetches
	// the rest when the agent picks one.
	HistoryLimit  int
	DetailMatches int
	// MaxBuilding bounds pops being built at once (256); beyond it a pop is
	// published without matches rather than queued behind the database.
	MaxBuilding int
	// LookupTimeout bounds the database work for one pop (2 s).
	LookupTimeout time.Duration
	// MaxCallAge forgets a pop whose call never reported its end (12 h):
	// a lost hang-up must not keep a pop in memory for ever.
	MaxCallAge time.Duration
	Now        func() time.Time
	// Built hears how long each call's first pop took to build (the call
	// log keeps it with the call).
	Built func(callID string, t Timing)
}

// Service turns call events into pops and publishes them.
type Service struct {
	o   Options
	log *slog.Logger
	sem chan struct{}
	m   *serviceMetrics

	mu     sync.Mutex
	active map[string]*popState
	swept  time.Time
	wg     sync.WaitGroup
}

// popState is one live pop. Events that arrive while the first version is
// being built wait in pending, so every version reflects them in order.
type popState struct {
	mu       sync.Mutex
	pop      Pop
	primary  string // the call ID whose end ends the pop
	building bool
	pending  []stamped
	outbox   []Pop
	draining bool
	started  time.Time // immutable
}

type stamped struct {
	ev telephony.Event
	at time.Time
}

type serviceMetrics struct {
	build     *prometheus.HistogramVec
	published *prometheus.CounterVec
}

// NewService returns a Service; feed it with Handle.
func NewService(o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HistoryLimit <= 0 {
		o.HistoryLimit = 5
	}
	if o.DetailMatches <= 0 {
		o.DetailMatches = 3
	}
	if o.MaxBuilding <= 0 {
		o.MaxBuilding = 256
	}
	if o.LookupTimeout <= 0 {
		o.LookupTimeout = 2 * time.Second
	}
	if o.MaxCallAge <= 0 {
		o.MaxCallAge = 12 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{o: o, log: o.Logger, sem: make(chan struct{}, o.MaxBuilding), active: map[string]*popState{}}
	s.m = &serviceMetrics{
		build: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tamas_pop_build_seconds",
			Help:    "From a new call's event reaching Tamas to its pop ready to publish, by lookup outcome.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16),
		}, []string{"outcome"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tamas_pops_published_total", Help: "Pop versions published, by result.",
		}, []string{"result"}),
	}
	if o.Registry != nil {
		o.Registry.MustRegister(s.m.build, s.m.published)
	}
	return s
}

// Handle is a telephony.Handler. It never blocks on the database: a new
// call's pop is built on its own goroutine.
func (s *Service) Handle(ctx context.Context, ev telephony.Event) {
	at := s.o.Now()
	id := popID(ev.Call)
	if ev.Type == telephony.CallStarted {
		if ev.Call.Direction == telephony.Outbound {
			return // an agent's leg or a click-to-call: not a caller to pop
		}
		s.mu.Lock()
		if _, dup := s.active[id]; dup {
			s.mu.Unlock()
			return // a replayed start (a reconnect's resync)
		}
		st := &popState{primary: ev.Call.ID, building: true, pop: Pop{ID: id, State: StateRinging}, started: at}
		s.active[id] = st
		if at.Sub(s.swept) > time.Minute {
			s.swept = at
			s.sweepLocked(at)
		}
		s.mu.Unlock()
		s.wg.Go(func() { s.build(context.WithoutCancel(ctx), st, ev, at) })
		return
	}
	s.mu.Lock()
	st := s.active[id]
	s.mu.Unlock()
	if st == nil {
		return // a call we never popped (outbound, or started before we ran)
	}
	st.mu.Lock()
	if st.building {
		st.pending = append(st.pending, stamped{ev, at})
		st.mu.Unlock()
		return
	}
	if s.apply(st, ev, at) {
		s.enqueue(context.WithoutCancel(ctx), st, st.pop)
	}
	ended := st.pop.State == StateEnded
	st.mu.Unlock()
	if ended {
		s.forget(id, st)
	}
}

// enqueue publishes versions of one pop strictly in order, off the
// caller's goroutine: one drainer per pop at a time. st.mu must be held.
func (s *Service) enqueue(ctx context.Context, st *popState, p Pop) {
	st.outbox = append(st.outbox, p)
	if st.draining {
		return
	}
	st.draining = true
	s.wg.Go(func() {
		for {
			st.mu.Lock()
			if len(st.outbox) == 0 {
				st.draining = false
				st.mu.Unlock()
				return
			}
			next := st.outbox[0]
			st.outbox = st.outbox[1:]
			st.mu.Unlock()
			s.publish(ctx, next)
		}
	})
}

// sweepLocked forgets pops older than MaxCallAge; s.mu must be held.
func (s *Service) sweepLocked(now time.Time) {
	for id, st := range s.active {
		if now.Sub(st.started) > s.o.MaxCallAge {
			delete(s.active, id)
			s.log.Warn("pop forgotten: its call never ended", "pop", id, "age", now.Sub(st.started).Round(time.Second))
		}
	}
}

func (s *Service) forget(id string, st *popState) {
	s.mu.Lock()
	if s.active[id] == st {
		delete(s.active, id)
	}
	s.mu.Unlock()
}

// Wait returns when every pop in flight has been published.
func (s *Service) Wait() { s.wg.Wait() }

// Active returns the pops of calls in progress.
func (s *Service) Active() []Pop {
	s.mu.Lock()
	states := make([]*popState, 0, len(s.active))
	for _, st := range s.active {
		states = append(states, st)
	}
	s.mu.Unlock()
	out := make([]Pop, 0, len(states))
	for _, st := range states {
		st.mu.Lock()
		if !st.building {
			out = append(out, st.pop)
		}
		st.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b Pop) int { return a.Call.StartedAt.Compare(b.Call.StartedAt) })
	return out
}

func popID(c telephony.Call) string {
	if c.LinkedID != "" {
		return c.LinkedID
	}
	return c.ID
}

// build makes a new call's first pop version and publishes it.
func (s *Service) build(ctx context.Context, st *popState, ev telephony.Event, at time.Time) {
	p := Pop{ID: st.pop.ID, Version: 1, State: StateRinging, Call: callInfo(ev.Call, s.o.Node), Matches: []Match{}}
	outcome := "overloaded"
	select {
	case s.sem <- struct{}{}:
		outcome = s.match(ctx, &p)
		<-s.sem
	default:
		s.log.Warn("pop built without lookup: too many in flight", "call", ev.Call.ID)
	}
	if s.o.Scripts != nil {
		p.Script = s.o.Scripts.Choose(&p)
	}
	if s.o.Targets != nil {
		p.Agents = addAgents(p.Agents, s.o.Targets.Targets(ev, &p))
	}
	built := s.o.Now()
	p.Timing = Timing{EventAt: at, BuiltAt: built, BuildMicros: built.Sub(at).Microseconds()}
	if s.o.Built != nil {
		s.o.Built(p.ID, p.Timing)
	}
	p.UpdatedAt = built
	s.m.build.WithLabelValues(outcome).Observe(built.Sub(at).Seconds())
	attrs := []any{"call", p.Call.ID, "pbx", p.Call.PBX, "caller", p.Call.Number, "caller_name", p.Call.CallerName,
		"dnis", p.Call.DNIS, "class", p.Call.Class, "agents", p.Agents, "build_us", p.Timing.BuildMicros}
	if len(p.Matches) > 0 {
		best := p.Matches[0]
		s.log.Info("call from a known caller", append(attrs, "contact", best.Contact.ID, "how", best.How, "candidates", len(p.Matches))...)
	} else {
		s.log.Info("call from an unknown caller", attrs...)
	}

	st.mu.Lock()
	st.pop = p
	s.enqueue(ctx, st, p)
	for _, pe := range st.pending {
		if s.apply(st, pe.ev, pe.at) {
			s.enqueue(ctx, st, st.pop)
		}
	}
	st.pending, st.building = nil, false
	ended := st.pop.State == StateEnded
	st.mu.Unlock()
	if ended {
		s.forget(st.pop.ID, st)
	}
}

// match looks the caller up and fills in the matches.
func (s *Service) match(ctx context.Context, p *Pop) string {
	ctx, cancel := context.WithTimeout(ctx, s.o.LookupTimeout)
	defer cancel()
	res, err := s.o.Lookup.Lookup(ctx, p.Call.Number)
	num := res.Number
	p.Call.Class = num.Class.String()
	if num.E164 != "" {
		p.Call.E164, p.Call.National = num.E164, num.FormatNational()
		p.Call.International, p.Call.Region = num.FormatInternational(), num.Region
	}
	if err != nil {
		s.log.Error("caller lookup failed", "call", p.Call.ID, "err", err)
		return "error"
	}
	for i, m := range res.Matches {
		pm := Match{How: m.How, Phone: m.Phone, Contact: m.Contact, Segment: m.Contact.Segment,
			History: []crm.Activity{}, Tasks: []crm.Task{}}
		pm.Links = expandLinks(s.o.ContactLinks, pm.Contact.ID, p.Call)
		if i < s.o.DetailMatches && s.o.Records != nil {
			s.details(ctx, &pm)
		}
		p.Matches = append(p.Matches, pm)
	}
	if len(p.Matches) == 0 {
		return "unmatched"
	}
	return "matched"
}

// details adds a match's history and open tasks. A failure leaves
// them out: the agent still sees who is calling.
func (s *Service) details(ctx context.Context, m *Match) {
	id := m.Contact.ID
	if h, err := s.o.Records.RecentActivities(ctx, id, s.o.HistoryLimit); err == nil {
		m.History = h
	} else {
		s.log.Warn("pop: history unavailable", "contact", id, "err", err)
	}
	if t, err := s.o.Records.OpenTasks(ctx, id, s.o.HistoryLimit); err == nil {
		m.Tasks = t
	} else {
		s.log.Warn("pop: tasks unavailable", "contact", id, "err", err)
	}
}

func callInfo(c telephony.Call, node string) CallInfo {
	ci := CallInfo{ID: c.ID, PBX: c.PBX, Node: c.Node, Direction: string(c.Direction),
		Number: c.Caller.Number, CallerName: c.Caller.Name, DNIS: c.DNIS, Line: c.Line, StartedAt: c.StartedAt}
	if ci.Node == "" {
		ci.Node = node
	}
	if ci.StartedAt.IsZero() {
		ci.StartedAt = time.Now()
	}
	return ci
}

// apply moves the pop along with one event and reports whether anything an
// agent sees changed.
func (s *Service) apply(st *popState, ev telephony.Event, at time.Time) bool {
	p := &st.pop
	before := len(p.Agents)
	changed := true
	switch ev.Type {
	case telephony.DTMF:
		p.Call.Digits += ev.Digit
	case telephony.Queued:
		p.State, p.Call.Queue = StateQueued, ev.Queue
		t := ev.At
		p.Call.QueuedAt = &t
	case telephony.AgentRinging:
		if p.State != StateAnswered {
			p.State = StateOffered
		}
		if ev.Queue != "" {
			p.Call.Queue = ev.Queue
		}
	case telephony.Answered:
		if ev.Call.ID != st.primary || p.Call.AnsweredAt != nil {
			changed = false
			break
		}
		t := ev.At
		p.Call.AnsweredAt = &t
	case telephony.Bridged, telephony.Transferred:
		p.State = StateAnswered
		if s.o.Targets != nil {
			if who := s.o.Targets.Targets(ev, p); len(who) > 0 {
				p.AnsweredBy = who[0]
			}
		}
	case telephony.Held:
		p.State = StateHeld
	case telephony.Resumed:
		p.State = StateAnswered
	case telephony.Ended:
		if ev.Call.ID != st.primary {
			changed = false
			break
		}
		p.State = StateEnded
		t := ev.At
		p.Call.EndedAt, p.Call.Cause = &t, ev.Cause
	default:
		changed = false
	}
	if s.o.Targets != nil && ev.Type != telephony.Ended {
		p.Agents = addAgents(p.Agents, s.o.Targets.Targets(ev, p))
	}
	if !changed && len(p.Agents) == before {
		return false
	}
	p.Version++
	p.UpdatedAt = s.o.Now()
	p.Timing.EventAt = at
	p.Timing.BuiltAt = p.UpdatedAt
	p.Timing.BuildMicros = p.UpdatedAt.Sub(at).Microseconds()
	return true
}

func addAgents(have, more []string) []string {
	for _, a := range more {
		if a != "" && !slices.Contains(have, a) {
			have = append(have, a)
		}
	}
	return have
}

// publish sends one version to supervisors, then to its agents. Slices are
// copied by the caller's snapshot, so the pop may keep changing meanwhile.
// Supervisors' copy first: the call index follows it, and an agent may
// open the call's wrap-up as soon as their copy arrives; this order lets
// the index tell a call it will not learn of (CallIndex.Had).
func (s *Service) publish(ctx context.Context, p Pop) {
	data, err := json.Marshal(Envelope{Kind: "pop", Pop: &p})
	if err != nil {
		s.log.Error("pop: encoding failed", "pop", p.ID, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, ch := range channelsOf(p.Agents) {
		if _, err := s.o.Publisher.Publish(ctx, ch, data); err != nil {
			s.m.published.WithLabelValues("error").Inc()
			s.log.Error("pop: publish failed", "pop", p.ID, "channel", ch, "err", err)
			continue
		}
		s.m.published.WithLabelValues("ok").Inc()
	}
}

// channelsOf lists the supervisors' channel, then the agents'.
func channelsOf(agents []string) []string {
	out := make([]string, 0, len(agents)+1)
	out = append(out, SupervisorChannel)
	for _, a := range agents {
		out = append(out, UserChannel(a))
	}
	return out
}
