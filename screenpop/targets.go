package screenpop

import (
	"context"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/script"
	"github.com/tamas-cc/tamas/telephony"
)

// LineRoute sends the pops of calls on a line to agents. Line matches the
// call's line label or its dialled number; "*" matches every call. The agent
// "*" means every agent available at the time.
type LineRoute struct {
	Line   string   `yaml:"line"`
	Agents []string `yaml:"agents"`
}

// Routes is the configured Targeter: calls that pass through no queue go to
// their line's agents; a phone that rings or answers names its agent
// through Endpoints.
type Routes struct {
	// Endpoints maps PBX endpoints ("PJSIP/1001") to usernames. An event
	// naming an endpoint that is not in the map targets nobody. Replace it
	// with SetEndpoints once the Routes are in use.
	Endpoints map[string]string
	mu        sync.RWMutex
	Lines     []LineRoute
	// PrePop sends a queued call's pop to every available agent while it
	// waits, not only to the one whose phone rings.
	PrePop bool
	Roster *Roster
}

// Targets implements Targeter.
func (r *Routes) Targets(ev telephony.Event, p *Pop) []string {
	switch ev.Type {
	case telephony.CallStarted:
		return r.line(ev.Call)
	case telephony.Queued:
		if r.PrePop && r.Roster != nil {
			return r.Roster.Available()
		}
	case telephony.AgentRinging, telephony.Bridged, telephony.Transferred:
		if u := r.agent(ev.Agent); u != "" {
			return []string{u}
		}
	}
	return nil
}

// User returns the username of a PBX endpoint, or "" when nobody is known
// to sit at it.
func (r *Routes) User(endpoint string) string { return r.agent(endpoint) }

// SetEndpoints replaces the endpoint map while calls are being routed.
func (r *Routes) SetEndpoints(m map[string]string) {
	r.mu.Lock()
	r.Endpoints = m
	r.mu.Unlock()
}

func (r *Routes) agent(endpoint string) string {
	if endpoint == "" {
		return ""
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if u, ok := r.Endpoints[endpoint]; ok {
		return u
	}
	// Asterisk names a channel's endpoint with a suffix ("PJSIP/1001-0000002a").
	if i := strings.LastIndexByte(endpoint, '-'); i > 0 {
		return r.Endpoints[endpoint[:i]]
	}
	return ""
}

func (r *Routes) line(c telephony.Call) []string {
	for _, lr := range r.Lines {
		if lr.Line != "*" && lr.Line != c.Line && lr.Line != c.DNIS {
			continue
		}
		var out []string
		for _, a := range lr.Agents {
			if a == "*" {
				if r.Roster != nil {
					out = append(out, r.Roster.Available()...)
				}
				continue
			}
			out = append(out, a)
		}
		return out
	}
	return nil
}

// ScriptRule picks a script by line and by who is calling.
type ScriptRule struct {
	// Line matches a line label or dialled number; empty or "*" is any.
	Line string `yaml:"line"`
	// Caller is "new" (no match, or a lead), "known" (anyone else) or
	// empty for both.
	Caller string `yaml:"caller"`
	Script string `yaml:"script"`
	Title  string `yaml:"title"`
}

// ScriptRules is the configured ScriptChooser: the first rule that
// matches wins.
type ScriptRules []ScriptRule

// Choose implements ScriptChooser.
func (rs ScriptRules) Choose(p *Pop) *ScriptRef {
	known := len(p.Matches) > 0 && p.Matches[0].Contact.Status != "lead"
	for _, r := range rs {
		if r.Line != "" && r.Line != "*" && r.Line != p.Call.Line && r.Line != p.Call.DNIS {
			continue
		}
		if (r.Caller == "new" && known) || (r.Caller == "known" && !known) {
			continue
		}
		return &ScriptRef{ID: r.Script, Title: r.Title}
	}
	return nil
}

// EndpointSource says which user each phone belongs to.
type EndpointSource interface {
	Endpoints(ctx context.Context) (map[string]string, error)
}

// FollowEndpoints keeps the endpoint map in step with users' phones as
// accounts are edited: it reloads the map every interval until ctx ends.
// Load it once with RefreshEndpoints before calls arrive. Fixed entries (the
// configuration's) take precedence over users'.
func (r *Routes) FollowEndpoints(ctx context.Context, src EndpointSource, fixed map[string]string, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.RefreshEndpoints(ctx, src, fixed, log)
		}
	}
}

// RefreshEndpoints loads the endpoint map once; when the users cannot be
// read, the fixed entries still apply.
func (r *Routes) RefreshEndpoints(ctx context.Context, src EndpointSource, fixed map[string]string, log *slog.Logger) {
	m, err := src.Endpoints(ctx)
	if err != nil {
		log.Warn("console: users unavailable for the endpoint map", "err", err)
		m = map[string]string{}
	}
	maps.Copy(m, fixed)
	r.SetEndpoints(m)
}

// Chooser is the ScriptChooser a node runs: a configured rule first, else
// the first script whose own audience matches the line and the caller.
type Chooser struct {
	Rules ScriptRules
	Set   *script.Set
}

// Choose implements ScriptChooser.
func (c Chooser) Choose(p *Pop) *ScriptRef {
	if ref := c.Rules.Choose(p); ref != nil {
		return ref
	}
	if c.Set == nil {
		return nil
	}
	newCaller := len(p.Matches) == 0 || p.Matches[0].Contact.Status == crm.StatusLead
	if s, ok := c.Set.Choose(p.Call.Line, newCaller, "en"); ok {
		return &ScriptRef{ID: s.ID, Title: s.Title}
	}
	return nil
}
