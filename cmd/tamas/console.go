package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/tamas-cc/tamas/account"
	"github.com/tamas-cc/tamas/calllog"
	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/script"
	"github.com/tamas-cc/tamas/followup"
	"github.com/tamas-cc/tamas/internal/config"
	"github.com/tamas-cc/tamas/internal/outbox"
	"github.com/tamas-cc/tamas/screenpop"
	"github.com/tamas-cc/tamas/screenpop/membus"
	"github.com/tamas-cc/tamas/screenpop/redisbus"
	"github.com/tamas-cc/tamas/telephony"
	"github.com/tamas-cc/tamas/web"
	"github.com/tamas-cc/tamas/web/push"
	"github.com/tamas-cc/tamas/webhook"
	"github.com/tamas-cc/tamas/wrapup"
)

// consoleParts is the call → match → pop → console path of one node.
type consoleParts struct {
	bus      screenpop.Bus
	store    records
	redis    *redis.Client
	roster   *screenpop.Roster
	routes   *screenpop.Routes
	accounts *account.Service
	service  *screenpop.Service
	hub      *push.Hub
	calls    *callActivities
	wrapups  *wrapup.Service
	index    *screenpop.CallIndex
	dispos   []wrapup.Disposition
	outbox   *calllog.Outbox
	wuOutbox *outbox.Outbox[crm.WrapUp]
	refused  *outbox.Outbox[crm.WrapUp]
	hooks    *webhook.Dispatcher
	events   *prometheus.CounterVec
	stop     context.CancelFunc
	wg       sync.WaitGroup
}

// records is what the console needs of the database store.
type records interface {
	crm.Store
	crm.ActivityStore
	crm.WrapUpStore
	crm.TaskQueue
	account.Store
}

func newConsole(ctx context.Context, l loaded, dir *crm.Directory, reg prometheus.Registerer) (*consoleParts, error) {
	store, ok := dir.Store().(records)
	if !ok {
		return nil, fmt.Errorf("console: the %s store keeps no activities or users", l.cfg.Database.Driver)
	}
	c := &consoleParts{roster: screenpop.NewRoster(), store: store}
	ret := screenpop.Retention{Messages: l.cfg.Console.RetainMessages, Age: l.cfg.Console.RetainAge}
	switch l.cfg.Console.Bus {
	case "redis":
		c.redis = redis.NewClient(&redis.Options{Addr: l.cfg.Redis.Addr, DB: l.cfg.Redis.DB,
			Password: l.cfg.Redis.Password.Value(), ClientName: "tamas-" + l.cfg.Node})
		b, err := redisbus.New(ctx, c.redis, redisbus.Options{Retention: ret, Logger: l.log})
		if err != nil {
			c.redis.Close()
			return nil, err
		}
		c.bus = b
		l.log.Info("console bus: redis", "addr", l.cfg.Redis.Addr)
	default:
		c.bus = membus.New(ret)
	}
	c.accounts = account.NewService(store, account.Options{SessionTTL: l.cfg.Console.SessionTTL})
	c.routes = &screenpop.Routes{PrePop: l.cfg.Console.PrePop, Roster: c.roster}
	for _, r := range l.cfg.Console.Routes {
		c.routes.Lines = append(c.routes.Lines, screenpop.LineRoute{Line: r.Line, Agents: r.Agents})
	}
	c.loadEndpoints(ctx, l, store)
	chooser := scriptChooser{}
	for _, r := range l.cfg.Console.Scripts {
		chooser.rules = append(chooser.rules, screenpop.ScriptRule{Line: r.Line, Caller: r.Caller, Script: r.Script, Title: r.Title})
	}
	if dir := l.cfg.Console.ScriptsDir; dir != "" {
		if _, err := os.Stat(dir); err == nil {
			set, err := script.LoadDir(dir)
			if err != nil {
				return nil, fmt.Errorf("call scripts: %w", err)
			}
			chooser.set = set
			l.log.Info("call scripts loaded", "dir", dir, "scripts", len(set.Scripts()))
		} else {
			l.log.Info("no call scripts", "dir", dir)
		}
	}
	var links []screenpop.LinkTemplate
	for _, lk := range l.cfg.Console.Links {
		links = append(links, screenpop.LinkTemplate{Label: lk.Label, URL: lk.URL})
	}
	var built func(string, screenpop.Timing) // set once the call log exists, before any call
	c.service = screenpop.NewService(screenpop.Options{Lookup: dir, Records: store, Publisher: c.bus,
		Targets: c.routes, Scripts: chooser, ContactLinks: links, Node: l.cfg.Node, Logger: l.log, Registry: reg,
		Built: func(id string, t screenpop.Timing) { built(id, t) }})
	c.hub = push.New(push.Options{Bus: c.bus, Logger: l.log, Registry: reg})
	if err := os.MkdirAll(l.cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	callBox, err := calllog.OpenOutbox(filepath.Join(l.cfg.DataDir, "call-outbox.jsonl"))
	if err != nil {
		return nil, err
	}
	if n := callBox.Len(); n > 0 {
		l.log.Info("call activities waiting in the outbox from the last run", "count", n)
	}
	c.outbox = callBox
	var hooks []webhook.Endpoint
	for _, w := range l.cfg.Webhooks {
		hooks = append(hooks, webhook.Endpoint{Name: w.Name, URL: w.URL, Events: w.Events, Secret: []byte(w.Secret.Value())})
	}
	c.hooks = webhook.New(hooks, webhook.Options{Logger: l.log, Registry: reg})
	c.calls = newCallActivities(dir, store, callBox, c.hooks, c.routes.User, l.log, reg)
	built = c.calls.popBuilt
	c.calls.expectPops()
	if c.wuOutbox, err = outbox.Open[crm.WrapUp](filepath.Join(l.cfg.DataDir, "wrapup-outbox.jsonl")); err != nil {
		return nil, err
	}
	if n := c.wuOutbox.Len(); n > 0 {
		l.log.Info("wrap-ups waiting in the outbox from the last run", "count", n)
	}
	if c.refused, err = outbox.Open[crm.WrapUp](filepath.Join(l.cfg.DataDir, "wrapup-refused.jsonl")); err != nil {
		return nil, err
	}
	if n := c.refused.Len(); n > 0 {
		l.log.Warn("wrap-ups the database refused are kept for an administrator", "count", n,
			"file", filepath.Join(l.cfg.DataDir, "wrapup-refused.jsonl"))
	}
	if c.index, err = screenpop.WatchCalls(context.WithoutCancel(ctx), c.bus); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	if err := c.newWrapUps(l, store, chooser.set); err != nil {
		return nil, err
	}
	c.calls.ended = c.wrapups.CallEnded
	c.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tamas_call_events_total", Help: "Call events received, by PBX and type.",
	}, []string{"pbx", "type"})
	reg.MustRegister(c.events)

	// Users' phones change as accounts are edited; the map follows.
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	c.stop = stop
	c.wg.Go(func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-bg.Done():
				return
			case <-t.C:
				c.loadEndpoints(bg, l, store)
			}
		}
	})
	c.wg.Go(func() { c.calls.retry(bg, 2*time.Second) })
	c.wg.Go(func() { c.wrapups.Run(bg) })
	// Claiming due tasks is one indexed statement: every 5 s costs little
	// and a callback pops within seconds of its time.
	due := followup.New(followup.Options{Queue: store, Notify: dueNotifier{c: c, store: store, log: l.log}, Logger: l.log,
		Every: 5 * time.Second})
	c.wg.Go(func() { due.Run(bg) })
	c.wg.Go(func() {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			select {
			case <-bg.Done():
				return
			case <-t.C:
				if n, err := store.DeleteExpiredSessions(bg, time.Now()); err == nil && n > 0 {
					l.log.Info("expired sessions removed", "count", n)
				}
			}
		}
	})
	return c, nil
}

// dispositions are the configured codes, or the built-in list.
func dispositions(wc config.WrapUp) []wrapup.Disposition {
	if len(wc.Dispositions) == 0 {
		return wrapup.DefaultDispositions()
	}
	out := make([]wrapup.Disposition, 0, len(wc.Dispositions))
	for _, d := range wc.Dispositions {
		out = append(out, wrapup.Disposition{Code: d.Code, Labels: d.Labels})
	}
	return out
}

func (c *consoleParts) newWrapUps(l loaded, store records, scripts *script.Set) error {
	wc := l.cfg.Console.WrapUp
	c.dispos = dispositions(wc)
	publish := func(ctx context.Context, ch string, data []byte) error {
		_, err := c.bus.Publish(ctx, ch, data)
		return err
	}
	var err error
	c.wrapups, err = wrapup.New(wrapup.Options{Store: store, Contacts: store, History: store, Scripts: scripts,
		Dispositions: c.dispos, WrapUpTime: wc.Time, QueueWrapUp: wc.Queues, Logger: l.log, Outbox: c.wuOutbox, Refused: c.refused,
		SetState: func(ctx context.Context, user, state string) {
			if _, err := screenpop.PublishState(ctx, c.roster, publish, user, screenpop.Availability(state), ""); err != nil {
				l.log.Warn("wrap-up: agent state not published", "user", user, "err", err)
			}
		},
		StateOf: func(user string) string { return string(c.roster.Get(user).State) },
		// The agent the call's pop went to or who answered it; once the
		// pop is forgotten, the agent its activity names.
		MayOpen: func(ctx context.Context, callID, user string) bool {
			// The console opens a wrap-up when its own pop says the agent
			// answered; the supervisors' copy that feeds the index may
			// trail it by moments, so a refusal waits for it briefly.
			known := false
			for wait := 0; wait < 20 && ctx.Err() == nil; wait++ {
				k, ok := c.index.Allowed(callID, user)
				if ok {
					return true
				}
				known = k
				time.Sleep(50 * time.Millisecond)
			}
			if known {
				return false
			}
			a, err := store.CallActivity(ctx, callID)
			return err == nil && a.Agent == user
		},
		AnsweredBy: c.index.AnsweredBy,
		KnownUser: func(ctx context.Context, name string) bool {
			u, err := store.UserByName(ctx, name)
			return err == nil && !u.Disabled
		},
		Finished: func(ctx context.Context, w *crm.WrapUp) {
			if a, err := store.CallActivity(ctx, w.CallID); err == nil {
				c.hooks.Send(webhook.ActivityCompleted, a)
			}
		}})
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}

// dueNotifier tells a follow-up's assignee (or, with none, the
// supervisors) and the webhooks that it has fallen due; the console offers
// to call the contact back.
type dueNotifier struct {
	c     *consoleParts
	store records
	log   *slog.Logger
}

func (n dueNotifier) TaskDue(ctx context.Context, t crm.Task) {
	who := &screenpop.DueContact{ID: t.ContactID}
	if ct, err := n.store.GetContact(ctx, t.ContactID); err == nil {
		who.DisplayName = ct.DisplayName()
		for _, p := range ct.Phones {
			if p.Label == crm.LabelFax {
				continue
			}
			who.Number = cmp.Or(p.E164, p.Raw)
			break
		}
	}
	n.c.hooks.Send(webhook.TaskDue, map[string]any{"task": t, "contact": who})
	data, _ := json.Marshal(screenpop.Envelope{Kind: "task_due", Task: &t, Contact: who})
	ch := screenpop.SupervisorChannel
	if t.Assignee != "" {
		ch = screenpop.UserChannel(t.Assignee)
	}
	if _, err := n.c.bus.Publish(ctx, ch, data); err != nil {
		n.log.Warn("due follow-up not shown", "task", t.ID, "assignee", t.Assignee, "err", err)
	}
}

// loadEndpoints maps each user's phone to them, then the configured
// endpoints, which take precedence.
func (c *consoleParts) loadEndpoints(ctx context.Context, l loaded, store account.Store) {
	m := map[string]string{}
	users, err := store.ListUsers(ctx)
	if err != nil {
		l.log.Warn("console: users unavailable for the endpoint map", "err", err)
	}
	for _, u := range users {
		if u.Endpoint != "" && !u.Disabled {
			m[u.Endpoint] = u.Username
		}
	}
	maps.Copy(m, l.cfg.Console.Endpoints)
	c.routes.SetEndpoints(m)
}

// handle is the telephony.Handler every call source feeds.
func (c *consoleParts) handle(ctx context.Context, ev telephony.Event) {
	c.events.WithLabelValues(ev.Call.PBX, string(ev.Type)).Inc()
	c.service.Handle(ctx, ev)
	c.calls.handle(ctx, ev)
}

func (c *consoleParts) webOptions(o *web.Options, cfg config.Console, dialer web.Dialer) {
	o.Accounts = c.accounts
	o.Roster = c.roster
	o.Publish = func(ctx context.Context, ch string, data []byte) error {
		_, err := c.bus.Publish(ctx, ch, data)
		return err
	}
	o.Console = hubAdapter{c.hub}
	o.Dialer = dialer
	o.WrapUps = c.wrapups
	o.Dispositions = c.dispos
	o.AllowedOrigins = cfg.AllowedOrigins
	o.SecureCookies = cfg.SecureCookies
}

func (c *consoleParts) close(log *slog.Logger) {
	c.stop()
	c.wg.Wait()
	c.service.Wait()
	c.calls.wait()
	c.wrapups.Close()
	c.index.Close()
	c.wuOutbox.Close()
	c.refused.Close()
	c.outbox.Close()
	c.hooks.Close()
	c.hub.Close()
	if err := c.bus.Close(); err != nil {
		log.Warn("closing the console bus", "err", err)
	}
	if c.redis != nil {
		c.redis.Close()
	}
}

// scriptChooser names a call's script: a configured rule first, else the
// first script whose own audience matches the line and the caller.
type scriptChooser struct {
	rules screenpop.ScriptRules
	set   *script.Set
}

func (c scriptChooser) Choose(p *screenpop.Pop) *screenpop.ScriptRef {
	if ref := c.rules.Choose(p); ref != nil {
		return ref
	}
	if c.set == nil {
		return nil
	}
	newCaller := len(p.Matches) == 0 || p.Matches[0].Contact.Status == crm.StatusLead
	if s, ok := c.set.Choose(p.Call.Line, newCaller, "en"); ok {
		return &screenpop.ScriptRef{ID: s.ID, Title: s.Title}
	}
	return nil
}

// hubAdapter lets web hand authenticated consoles to push without either
// package knowing the other.
type hubAdapter struct{ h *push.Hub }

func (a hubAdapter) ServeConsole(w http.ResponseWriter, r *http.Request, c web.ConsoleClient) {
	a.h.ServeConsole(w, r, push.Client{Username: c.Username, Role: c.Role, Channels: c.Channels, Check: c.Check})
}
