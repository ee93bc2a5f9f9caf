package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/internal/config"
	"github.com/tamas-cc/tamas/telephony"
	"github.com/tamas-cc/tamas/telephony/sip"
)

// callMatcher is the call → match step: every new caller is looked up and
// the result logged and counted. Lookups run off the source's goroutine
// (bounded) so a slow database never delays the PBX connection.
type callMatcher struct {
	dir     *crm.Directory
	log     *slog.Logger
	sem     chan struct{}
	wg      sync.WaitGroup
	matched *prometheus.CounterVec
	events  *prometheus.CounterVec
}

func newCallMatcher(dir *crm.Directory, log *slog.Logger, reg prometheus.Registerer) *callMatcher {
	m := &callMatcher{dir: dir, log: log, sem: make(chan struct{}, 64),
		matched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tamas_calls_matched_total", Help: "New calls by caller-ID lookup outcome.",
		}, []string{"outcome"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tamas_call_events_total", Help: "Call events received, by PBX and type.",
		}, []string{"pbx", "type"}),
	}
	reg.MustRegister(m.matched, m.events)
	return m
}

func (m *callMatcher) handle(ctx context.Context, ev telephony.Event) {
	m.events.WithLabelValues(ev.Call.PBX, string(ev.Type)).Inc()
	if ev.Type != telephony.CallStarted {
		m.log.Debug("call event", "type", ev.Type, "call", ev.Call.ID, "cause", ev.Cause)
		return
	}
	select {
	case m.sem <- struct{}{}:
	default:
		m.matched.WithLabelValues("overloaded").Inc()
		m.log.Warn("lookup skipped: too many in flight", "call", ev.Call.ID)
		return
	}
	m.wg.Go(func() {
		defer func() { <-m.sem }()
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		res, err := m.dir.Lookup(lctx, ev.Call.Caller.Number)
		outcome := "unmatched"
		attrs := []any{"call", ev.Call.ID, "pbx", ev.Call.PBX, "caller", ev.Call.Caller.Number,
			"caller_name", ev.Call.Caller.Name, "dnis", ev.Call.DNIS, "class", res.Number.Class.String()}
		switch {
		case err != nil:
			outcome = "error"
			m.log.Error("caller lookup failed", append(attrs, "err", err)...)
		case len(res.Matches) > 0:
			outcome = "matched"
			best := res.Matches[0]
			attrs = append(attrs, "contact", best.Contact.ID, "how", best.How, "candidates", len(res.Matches))
			m.log.Info("call from a known caller", attrs...)
		default:
			m.log.Info("call from an unknown caller", attrs...)
		}
		m.matched.WithLabelValues(outcome).Inc()
	})
}

// wait lets lookups in flight finish at shutdown.
func (m *callMatcher) wait() { m.wg.Wait() }

// sipConfig turns the node's configuration into the endpoint's.
func sipConfig(c config.Config) (sip.Config, error) {
	sc := sip.DefaultConfig()
	sc.Node = c.Node
	sc.Listen = nil
	for _, l := range c.SIP.Listen {
		network, addr, _ := strings.Cut(l, ":")
		sc.Listen = append(sc.Listen, sip.Listener{Network: network, Addr: addr})
	}
	sc.TrustedPAI, sc.AllowFrom = c.SIP.TrustedPAI, c.SIP.AllowFrom
	sc.FinalCode, sc.RingTimeout, sc.Lines = c.SIP.FinalCode, c.SIP.RingTimeout, c.Lines
	if c.SIP.AuthRealm != "" {
		sc.Auth.Realm = c.SIP.AuthRealm
		sc.Auth.Users = make(map[string]string, len(c.SIP.AuthUsers))
		for u, p := range c.SIP.AuthUsers {
			sc.Auth.Users[u] = p.Value()
		}
	}
	if err := sc.Validate(); err != nil {
		return sc, fmt.Errorf("config: %w", err)
	}
	return sc, nil
}
