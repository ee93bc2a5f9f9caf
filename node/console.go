package node

import (
	"context"
	"fmt"
	"log/slog"
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
	"github.com/tamas-cc/tamas/web"
	"github.com/tamas-cc/tamas/web/push"
	"github.com/tamas-cc/tamas/webhook"
	"github.com/tamas-cc/tamas/wrapup"
)

// parts is the call → match → pop → console → activity path of one node,
// and the loops that keep it.
type parts struct {
	cfg      config.Config
	bus      screenpop.Bus
	store    Records
	redis    *redis.Client
	roster   *screenpop.Roster
	routes   *screenpop.Routes
	accounts *account.Service
	pops     *screenpop.Service
	hub      *push.Hub
	calls    *calllog.Writer
	wrapups  *wrapup.Service
	index    *screenpop.CallIndex
	due      *followup.Announcer
	dispos   []wrapup.Disposition
	outbox   *calllog.Outbox
	wuOutbox *outbox.Outbox[crm.WrapUp]
	refused  *outbox.Outbox[crm.WrapUp]
	hooks    *webhook.Dispatcher
	events   *prometheus.CounterVec
	stop     context.CancelFunc
	wg       sync.WaitGroup
}

func newParts(ctx context.Context, cfg config.Config, log *slog.Logger, dir *crm.Directory, store Records,
	reg prometheus.Registerer) (_ *parts, err error) {
	p := &parts{cfg: cfg, roster: screenpop.NewRoster(), store: store, stop: func() {}}
	defer func() {
		if err != nil {
			p.close(log)
		}
	}()
	ret := screenpop.Retention{Messages: cfg.Console.RetainMessages, Age: cfg.Console.RetainAge}
	switch cfg.Console.Bus {
	case "redis":
		p.redis = redis.NewClient(&redis.Options{Addr: cfg.Redis.Addr, DB: cfg.Redis.DB,
			Password: cfg.Redis.Password.Value(), ClientName: "tamas-" + cfg.Node})
		if p.bus, err = redisbus.New(ctx, p.redis, redisbus.Options{Retention: ret, Logger: log}); err != nil {
			return nil, err
		}
		log.Info("console bus: redis", "addr", cfg.Redis.Addr)
	default:
		p.bus = membus.New(ret)
	}
	p.accounts = account.NewService(store, account.Options{SessionTTL: cfg.Console.SessionTTL})
	p.routes = &screenpop.Routes{PrePop: cfg.Console.PrePop, Roster: p.roster}
	for _, r := range cfg.Console.Routes {
		p.routes.Lines = append(p.routes.Lines, screenpop.LineRoute{Line: r.Line, Agents: r.Agents})
	}
	p.routes.RefreshEndpoints(ctx, p.accounts, cfg.Console.Endpoints, log)
	chooser := screenpop.Chooser{}
	for _, r := range cfg.Console.Scripts {
		chooser.Rules = append(chooser.Rules, screenpop.ScriptRule{Line: r.Line, Caller: r.Caller, Script: r.Script, Title: r.Title})
	}
	if chooser.Set, err = loadScripts(cfg.Console.ScriptsDir, log); err != nil {
		return nil, err
	}
	var links []screenpop.LinkTemplate
	for _, lk := range cfg.Console.Links {
		links = append(links, screenpop.LinkTemplate{Label: lk.Label, URL: lk.URL})
	}
	if err := dataDir(cfg.DataDir, log); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if p.outbox, err = calllog.OpenOutbox(filepath.Join(cfg.DataDir, "call-outbox.jsonl")); err != nil {
		return nil, err
	}
	if n := p.outbox.Len(); n > 0 {
		log.Info("call activities waiting in the outbox from the last run", "count", n)
	}
	var hooks []webhook.Endpoint
	for _, w := range cfg.Webhooks {
		hooks = append(hooks, webhook.Endpoint{Name: w.Name, URL: w.URL, Events: w.Events, Secret: []byte(w.Secret.Value())})
	}
	p.hooks = webhook.New(hooks, webhook.Options{Logger: log, Registry: reg})
	if p.wuOutbox, err = outbox.Open[crm.WrapUp](filepath.Join(cfg.DataDir, "wrapup-outbox.jsonl")); err != nil {
		return nil, err
	}
	if n := p.wuOutbox.Len(); n > 0 {
		log.Info("wrap-ups waiting in the outbox from the last run", "count", n)
	}
	refusedPath := filepath.Join(cfg.DataDir, "wrapup-refused.jsonl")
	if p.refused, err = outbox.Open[crm.WrapUp](refusedPath); err != nil {
		return nil, err
	}
	if n := p.refused.Len(); n > 0 {
		log.Warn("wrap-ups the database refused are kept for an administrator", "count", n, "file", refusedPath)
	}
	if p.index, err = screenpop.WatchCalls(context.WithoutCancel(ctx), p.bus); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	if err := p.newWrapUps(cfg.Console.WrapUp, log, chooser.Set); err != nil {
		return nil, err
	}
	p.calls = calllog.NewWriter(calllog.WriterOptions{Lookup: dir, Store: store, Outbox: p.outbox, Notify: p.hooks,
		Users: p.routes, Ended: p.wrapups, Logger: log, Registry: reg, Pops: true})
	p.pops = screenpop.NewService(screenpop.Options{Lookup: dir, Records: store, Publisher: p.bus,
		Targets: p.routes, Scripts: chooser, ContactLinks: links, Node: cfg.Node, Logger: log, Registry: reg,
		Built: p.calls.PopBuilt})
	p.hub = push.New(push.Options{Bus: p.bus, Logger: log, Registry: reg})
	// Claiming due tasks is one indexed statement: every 5 s costs little
	// and a callback pops within seconds of its time.
	p.due = followup.New(followup.Options{Queue: store, Logger: log, Every: 5 * time.Second,
		Notify: screenpop.DueNotifier{Bus: p.bus, Contacts: store, Announce: p.hooks, Logger: log}})
	p.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tamas_call_events_total", Help: "Call events received, by PBX and type.",
	}, []string{"pbx", "type"})
	reg.MustRegister(p.events)
	return p, nil
}

// loadScripts loads the call scripts of dir; a missing folder means none.
func loadScripts(dir string, log *slog.Logger) (*script.Set, error) {
	if dir == "" {
		return nil, nil
	}
	if _, err := os.Stat(dir); err != nil {
		log.Info("no call scripts", "dir", dir)
		return nil, nil
	}
	set, err := script.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("call scripts: %w", err)
	}
	log.Info("call scripts loaded", "dir", dir, "scripts", len(set.Scripts()))
	return set, nil
}

// start runs each part's background loop until the parts are closed.
func (p *parts) start(ctx context.Context, log *slog.Logger) {
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	p.stop = stop
	p.wg.Go(func() { p.routes.FollowEndpoints(bg, p.accounts, p.cfg.Console.Endpoints, time.Minute, log) })
	p.wg.Go(func() { p.calls.Run(bg, 2*time.Second) })
	p.wg.Go(func() { p.wrapups.Run(bg) })
	p.wg.Go(func() { p.due.Run(bg) })
	p.wg.Go(func() { p.accounts.SweepSessions(bg, time.Hour, log) })
}

// Dispositions are the configured codes, or the built-in list.
func Dispositions(wc config.WrapUp) []wrapup.Disposition {
	if len(wc.Dispositions) == 0 {
		return wrapup.DefaultDispositions()
	}
	out := make([]wrapup.Disposition, 0, len(wc.Dispositions))
	for _, d := range wc.Dispositions {
		out = append(out, wrapup.Disposition{Code: d.Code, Labels: d.Labels})
	}
	return out
}

func (p *parts) newWrapUps(wc config.WrapUp, log *slog.Logger, scripts *script.Set) (err error) {
	p.dispos = Dispositions(wc)
	p.wrapups, err = wrapup.New(wrapup.Options{Store: p.store, Contacts: p.store, History: p.store, Scripts: scripts,
		Dispositions: p.dispos, WrapUpTime: wc.Time, QueueWrapUp: wc.Queues, Outbox: p.wuOutbox, Refused: p.refused,
		Presence: screenpop.Presence{Roster: p.roster, Publisher: p.bus}, Calls: p.index, Activities: p.store,
		Users: p.accounts, Notify: calllog.Completed{Activities: p.store, Notify: p.hooks}, Logger: log})
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}

func (p *parts) webOptions(o *web.Options, cfg config.Console, dialer web.Dialer) {
	o.Accounts = p.accounts
	o.Roster = p.roster
	o.Publisher = p.bus
	o.Console = p.hub
	o.Dialer = dialer
	o.WrapUps = p.wrapups
	o.Dispositions = p.dispos
	o.AllowedOrigins = cfg.AllowedOrigins
	o.SecureCookies = cfg.SecureCookies
}

// close stops the loops, lets work in flight finish, then releases
// everything; parts never made are skipped.
func (p *parts) close(log *slog.Logger) {
	p.stop()
	p.wg.Wait()
	if p.pops != nil {
		p.pops.Wait()
	}
	if p.calls != nil {
		p.calls.Wait()
	}
	if p.wrapups != nil {
		p.wrapups.Close()
	}
	if p.index != nil {
		p.index.Close()
	}
	if p.wuOutbox != nil {
		p.wuOutbox.Close()
	}
	if p.refused != nil {
		p.refused.Close()
	}
	if p.outbox != nil {
		p.outbox.Close()
	}
	if p.hooks != nil {
		p.hooks.Close()
	}
	if p.hub != nil {
		p.hub.Close()
	}
	if p.bus != nil {
		if err := p.bus.Close(); err != nil {
			log.Warn("closing the console bus", "err", err)
		}
	}
	if p.redis != nil {
		p.redis.Close()
	}
}
