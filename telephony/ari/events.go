package ari

import (
	"context"
	"encoding/json"
	"errors"
	"hash/maphash"
	"slices"
	"strings"
	"time"

	"github.com/tamas-cc/tamas/telephony"
)

// callState is what the adapter knows of one tracked channel.
type callState struct {
	call     telephony.Call
	name     string // channel name, e.g. PJSIP/agent1000-00000006
	started  bool   // CallStarted emitted
	pending  bool   // being originated: Asterisk may not know it yet
	answered bool
	rang     bool
	held     bool
	ended    bool
	inStasis bool
	stasis   chan struct{} // closed at StasisStart
	done     chan struct{} // closed at Ended
	bridge   string
	before   telephony.State // state before Held
	lastAt   time.Time       // of the last event emitted

	hangupRequested bool
	hangupCause     string // from the last hangup request that was not soft
	hangupCode      int
	reqCause        string // asked for through Hangup
	reqCode         int
	transferKey     string

	collectors map[chan string]struct{}
	onEnd      []func(ctx context.Context)
}

// Ids longer than this are not Asterisk's (its unique ids are at most 150
// bytes): the frame is ignored rather than tracked.
const maxIDLen = 256

// preStasisCap bounds the channels remembered as active before entering
// the application; a flood of strangers' events cannot grow it further.
const preStasisCap = 10000

// handleFrame reads one websocket frame. It reports whether the
// application was taken over.
func (a *Adapter) handleFrame(data []byte, now time.Time) (replaced bool) {
	if a.dedupe.seenBefore(maphash.Bytes(a.seed, data)) {
		a.m.duplicates.Inc()
		return false
	}
	var ev wireEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		a.undecodable(data)
		return false
	}
	if ev.Type == "" {
		a.decodeError("no_type", "", data)
		return false
	}
	a.countType(ev.Type)
	at := parseTime(ev.Timestamp, now)

	a.mu.Lock()
	defer a.mu.Unlock()
	switch ev.Type {
	case "StasisStart":
		a.onStasisStart(&ev, at)
	case "StasisEnd":
		a.onStasisEnd(&ev, at)
	case "ChannelStateChange":
		a.onStateChange(&ev, at)
	case "ChannelDtmfReceived":
		a.onDTMF(&ev, at)
	case "ChannelHangupRequest":
		a.onHangupRequest(&ev)
	case "ChannelDestroyed":
		a.onDestroyed(&ev, at)
	case "ChannelEnteredBridge":
		a.onEnteredBridge(&ev, at)
	case "ChannelLeftBridge":
		a.onLeftBridge(&ev)
	case "ChannelHold", "ChannelUnhold":
		a.onHold(&ev, at)
	case "ChannelTransfer":
		a.onChannelTransfer(&ev, at)
	case "BridgeBlindTransfer", "BridgeAttendedTransfer":
		a.onBridgeTransfer(&ev, at)
	case "PlaybackFinished":
		a.onPlaybackFinished(&ev)
	case "RecordingStarted":
		a.onRecordingStarted(&ev, at)
	case "BridgeDestroyed":
		if ev.Bridge != nil {
			delete(a.bridges, ev.Bridge.ID)
		}
	case "ApplicationReplaced":
		a.m.replaced.Inc()
		a.log.Error("ari: ANOTHER CONNECTION TOOK OVER THE STASIS APPLICATION: this adapter stops and will not reconnect, "+
			"since taking it back would start a fight in which each side keeps cutting the other off; "+
			"check that no other Tamas node or ARI client uses this application name, then restart Tamas",
			"application", a.cfg.Application, "url", a.cfg.URL)
		// The calls go on under the new owner: no clean-ups (hanging up a
		// supervisor's leg, say) for them.
		for _, cs := range a.calls {
			cs.onEnd = nil
		}
		a.endAll(at, telephony.CauseLost)
		return true
	default:
		a.m.ignored.WithLabelValues("unhandled_type").Inc()
	}
	return false
}

// undecodable classifies a frame that did not decode.
func (a *Adapter) undecodable(data []byte) {
	if !json.Valid(data) {
		a.decodeError("not_json", "", data)
		return
	}
	var t struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(data, &t) != nil || t.Type == "" {
		a.decodeError("no_type", "", data)
		return
	}
	a.countType(t.Type)
	if !slices.Contains(handledTypes, t.Type) {
		// A type we do not read, shaped differently from what our union
		// struct expects: nothing lost.
		a.m.ignored.WithLabelValues("unhandled_type").Inc()
		return
	}
	a.decodeError("bad_field", t.Type, data)
}

func (a *Adapter) decodeError(reason, typ string, data []byte) {
	a.m.decodeErrors.WithLabelValues(reason).Inc()
	if ok, n := a.lim.Allow("decode:"+reason, time.Now()); ok {
		a.log.Warn("ari: unreadable event frame skipped", "reason", reason, "type", short(typ),
			"bytes", len(data), "sample", short(string(data)), "suppressed", n)
	}
}

func (a *Adapter) countType(t string) {
	l := typeLabel(t)
	c, ok := a.typeCounters[l]
	if !ok {
		c = a.m.events.WithLabelValues(l)
		a.typeCounters[l] = c
	}
	c.Inc()
}

// channelOf returns the event's channel if it has a usable id.
func (a *Adapter) channelOf(ev *wireEvent) *wireChannel {
	ch := ev.Channel
	if ch == nil || ch.ID == "" || len(ch.ID) > maxIDLen {
		a.m.ignored.WithLabelValues("no_channel").Inc()
		return nil
	}
	return ch
}

// trackedCall is channelOf then tracked: the call of the event's channel,
// or nil (counted) when either is missing.
func (a *Adapter) trackedCall(ev *wireEvent) *callState {
	ch := a.channelOf(ev)
	if ch == nil {
		return nil
	}
	return a.tracked(ch)
}

// tracked returns the call for an event's channel, counting events for
// channels the adapter does not follow.
func (a *Adapter) tracked(ch *wireChannel) *callState {
	if cs := a.calls[ch.ID]; cs != nil {
		return cs
	}
	switch {
	case a.ended.has(ch.ID):
		a.m.ignored.WithLabelValues("ended_channel").Inc()
	case a.isInternal(ch.ID):
		a.m.ignored.WithLabelValues("internal_channel").Inc()
	default:
		a.m.ignored.WithLabelValues("unknown_channel").Inc()
	}
	return nil
}

func (a *Adapter) isInternal(id string) bool {
	_, ok := a.internal[id]
	return ok
}

// emit queues an event for the handler without ever blocking the reader.
// Call with a.mu held: the lock orders the events of each call.
func (a *Adapter) emit(cs *callState, typ telephony.EventType, at time.Time, set func(*telephony.Event)) {
	ev := telephony.Event{Type: typ, At: at, Call: cs.call}
	if at.After(cs.lastAt) {
		cs.lastAt = at
	}
	if set != nil {
		set(&ev)
	}
	a.m.emitted.WithLabelValues(string(typ)).Inc()
	a.q.Put(ev)
}

// newCall starts tracking a channel. Call with a.mu held.
func (a *Adapter) newCall(ch *wireChannel, dir telephony.Direction, dnis string, at time.Time) *callState {
	var probs []problem
	cs := &callState{
		name:   ch.Name,
		stasis: make(chan struct{}),
		done:   make(chan struct{}),
		call: telephony.Call{
			ID: ch.ID, LinkedID: ch.ID, Direction: dir,
			State: telephony.StateRinging, Node: a.cfg.Node, PBX: a.cfg.Name,
			StartedAt: parseTime(ch.CreationTime, at),
		},
	}
	cs.call.Caller.Number, probs = cleanNumber("caller_number", ch.Caller.Number, maxNumberLen, probs)
	cs.call.Caller.Name, probs = cleanName(ch.Caller.Name, probs)
	cs.call.DNIS, probs = cleanNumber("dnis", dnis, maxDNISLen, probs)
	if cs.call.DNIS != "" && !isNumeric(cs.call.DNIS) && dir == telephony.Inbound {
		probs = append(probs, problem{"dnis", problemNotNumeric, short(cs.call.DNIS)})
	}
	cs.call.Line = a.cfg.Lines[cs.call.DNIS]
	a.report(ch.ID, probs)
	a.calls[ch.ID] = cs
	a.m.active.Set(float64(len(a.calls)))
	return cs
}

func (a *Adapter) report(id string, probs []problem) {
	for _, p := range probs {
		a.m.identity.WithLabelValues(p.field, p.kind).Inc()
		if p.kind == problemNotNumeric {
			a.log.Debug("ari: dialled number is not numeric", "call_id", short(id), "value", p.value)
			continue
		}
		if ok, n := a.lim.Allow("identity:"+p.field+":"+p.kind, time.Now()); ok {
			a.log.Warn("ari: bad caller identity from Asterisk", "call_id", short(id),
				"field", p.field, "problem", p.kind, "value", p.value, "suppressed", n)
		}
	}
}

// ensureStarted emits CallStarted once, before anything else of the call.
func (a *Adapter) ensureStarted(cs *callState, at time.Time) {
	if cs.started {
		return
	}
	cs.started = true
	a.emit(cs, telephony.CallStarted, at, nil)
}

func (a *Adapter) markAnswered(cs *callState, at time.Time) {
	if cs.answered {
		return
	}
	cs.answered = true
	cs.call.AnsweredAt = at
	if cs.call.State == telephony.StateRinging {
		cs.call.State = telephony.StateUp
	}
	a.emit(cs, telephony.Answered, at, nil)
}

// inboundDNIS is what a caller dialled: the first Stasis argument
// (Stasis(tamas,${EXTEN})), else the extension the dialplan was at.
func inboundDNIS(args []string, dp wireDialplan) string {
	if len(args) > 0 && strings.TrimSpace(args[0]) != "" {
		return args[0]
	}
	return dp.Exten
}

// outboundDNIS is where an outbound channel goes: the dialplan extension,
// or for a channel dialled straight to an endpoint, the endpoint's resource
// ("PJSIP/agent1000" → "agent1000").
func outboundDNIS(ch *wireChannel) string {
	if ch.Dialplan.Exten != "" && ch.Dialplan.Exten != "s" {
		return ch.Dialplan.Exten
	}
	return resourceOf(endpointOf(ch.Name))
}

func resourceOf(endpoint string) string {
	_, r, ok := strings.Cut(endpoint, "/")
	if !ok {
		return endpoint
	}
	r, _, _ = strings.Cut(r, "@")
	return r
}

// notYetDialled reports channel states only outbound channels have: an
// inbound channel enters the dialplan in state Ring (or Up once answered),
// while one created over ARI starts Down and goes through Dialing and
// Ringing.
func notYetDialled(state string) bool {
	switch state {
	case "Down", "Rsrvd", "Dialing", "Ringing":
		return true
	}
	return false
}

func (a *Adapter) onStasisStart(ev *wireEvent, at time.Time) {
	ch := a.channelOf(ev)
	if ch == nil {
		return
	}
	if w, ok := a.internal[ch.ID]; ok {
		if w != nil {
			select {
			case <-w:
			default:
				close(w)
			}
		}
		return
	}
	if strings.HasPrefix(ch.Name, "Snoop/") {
		// Another client's spy channel: not a call.
		a.internal[ch.ID] = nil
		a.m.ignored.WithLabelValues("internal_channel").Inc()
		return
	}
	cs := a.calls[ch.ID]
	if cs == nil {
		if a.ended.has(ch.ID) {
			a.m.ignored.WithLabelValues("ended_channel").Inc()
			return
		}
		if a.preStasis[ch.ID] || notYetDialled(ch.State) {
			delete(a.preStasis, ch.ID)
			cs = a.newCall(ch, telephony.Outbound, outboundDNIS(ch), at)
		} else {
			cs = a.newCall(ch, telephony.Inbound, inboundDNIS(ev.Args, ch.Dialplan), at)
		}
	}
	cs.name = ch.Name
	if !cs.inStasis {
		cs.inStasis = true
		close(cs.stasis)
	}
	a.ensureStarted(cs, at)
	if ch.State == "Up" {
		a.markAnswered(cs, at)
	}
}

func (a *Adapter) onStateChange(ev *wireEvent, at time.Time) {
	ch := a.channelOf(ev)
	if ch == nil {
		return
	}
	cs := a.calls[ch.ID]
	if cs == nil {
		if !a.ended.has(ch.ID) && !a.isInternal(ch.ID) && len(a.preStasis) < preStasisCap {
			// Asterisk tells the application about a channel before it
			// enters only when the channel was originated into it.
			a.preStasis[ch.ID] = true
		}
		a.tracked(ch)
		return
	}
	a.ensureStarted(cs, at)
	switch ch.State {
	case "Ringing":
		if !cs.rang && !cs.answered {
			cs.rang = true
			a.emit(cs, telephony.Ringing, at, nil)
		}
	case "Up":
		a.markAnswered(cs, at)
	}
}

// validDigit reports whether s is one DTMF key.
func validDigit(s string) bool {
	return len(s) == 1 && strings.ContainsRune("0123456789ABCDabcd*#", rune(s[0]))
}

func (a *Adapter) onDTMF(ev *wireEvent, at time.Time) {
	cs := a.trackedCall(ev)
	if cs == nil {
		return
	}
	if !validDigit(ev.Digit) {
		a.m.ignored.WithLabelValues("bad_digit").Inc()
		return
	}
	digit := strings.ToUpper(ev.Digit)
	a.ensureStarted(cs, at)
	a.emit(cs, telephony.DTMF, at, func(e *telephony.Event) { e.Digit = digit })
	for c := range cs.collectors {
		select {
		case c <- digit:
		default:
		}
	}
}

func (a *Adapter) onHangupRequest(ev *wireEvent) {
	cs := a.trackedCall(ev)
	if cs == nil {
		return
	}
	cs.hangupRequested = true
	// A soft hangup's cause (32 after an ARI hangup) is a flag, not why
	// the call ended.
	if !ev.Soft && (ev.Cause != 0 || ev.TechCause != 0) {
		cs.hangupCause, cs.hangupCode = causeName(ev.Cause, ev.TechCause), ev.Cause
	}
}

// endCause decides Ended's cause when a call leaves the application.
func endCause(cs *callState) (string, int) {
	switch {
	case cs.reqCause != "":
		return cs.reqCause, cs.reqCode
	case cs.hangupCause != "":
		return cs.hangupCause, cs.hangupCode
	case cs.hangupRequested:
		return telephony.CauseNormalClearing, 16
	}
	return CauseLeftApplication, 0
}

func (a *Adapter) onStasisEnd(ev *wireEvent, at time.Time) {
	ch := a.channelOf(ev)
	if ch == nil {
		return
	}
	if _, ok := a.internal[ch.ID]; ok {
		delete(a.internal, ch.ID)
		return
	}
	cs := a.tracked(ch)
	if cs == nil {
		return
	}
	cause, code := endCause(cs)
	a.end(cs, at, cause, code)
}

func (a *Adapter) onDestroyed(ev *wireEvent, at time.Time) {
	ch := a.channelOf(ev)
	if ch == nil {
		return
	}
	delete(a.preStasis, ch.ID)
	if _, ok := a.internal[ch.ID]; ok {
		delete(a.internal, ch.ID)
		return
	}
	cs := a.tracked(ch)
	if cs == nil {
		return
	}
	cause, code := cs.reqCause, cs.reqCode
	switch {
	case cause != "":
	case ev.Cause != 0 || ev.TechCause != 0:
		cause, code = causeName(ev.Cause, ev.TechCause), ev.Cause
	default:
		cause, code = endCause(cs)
		if cause == CauseLeftApplication {
			cause, code = telephony.CauseNormalClearing, 16
		}
	}
	a.end(cs, at, cause, code)
}

// end reports a call over and forgets it. Call with a.mu held.
func (a *Adapter) end(cs *callState, at time.Time, cause string, code int) {
	if cs.ended {
		return
	}
	a.ensureStarted(cs, at)
	cs.ended = true
	cs.call.State = telephony.StateEnded
	cs.call.EndedAt = at
	delete(a.calls, cs.call.ID)
	a.ended.add(cs.call.ID)
	a.m.active.Set(float64(len(a.calls)))
	close(cs.done)
	a.emit(cs, telephony.Ended, at, func(e *telephony.Event) { e.Cause, e.CauseCode = cause, code })
	for _, f := range cs.onEnd {
		a.goBGLocked(f)
	}
	cs.onEnd = nil
}

// endAll ends every tracked call. Call with a.mu held.
func (a *Adapter) endAll(at time.Time, cause string) {
	for _, cs := range a.sortedCalls() {
		if cause == telephony.CauseLost {
			a.m.lost.Inc()
		}
		a.end(cs, at, cause, 0)
	}
}

// sortedCalls lists the tracked calls in a stable order (by start), so
// that mass endings come out the same way every time.
func (a *Adapter) sortedCalls() []*callState {
	list := make([]*callState, 0, len(a.calls))
	for _, cs := range a.calls {
		list = append(list, cs)
	}
	slices.SortFunc(list, func(x, y *callState) int {
		if c := x.call.StartedAt.Compare(y.call.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(x.call.ID, y.call.ID)
	})
	return list
}

func (a *Adapter) onEnteredBridge(ev *wireEvent, at time.Time) {
	ch := a.channelOf(ev)
	if ch == nil || ev.Bridge == nil {
		return
	}
	cs := a.tracked(ch)
	if cs == nil {
		return
	}
	cs.bridge = ev.Bridge.ID
	var peer *callState
	for _, id := range ev.Bridge.Channels {
		if p := a.calls[id]; p != nil && id != ch.ID {
			peer = p
			break
		}
	}
	if peer == nil {
		// Alone, in a holding bridge or waiting for someone: nothing to
		// report. Queues and holds are the product's business.
		return
	}
	a.ensureStarted(cs, at)
	// The agent is the outbound leg (the one rung for the caller); between
	// two legs of the same direction, each one's peer.
	agent := endpointOf(peer.name)
	peerAgent := endpointOf(cs.name)
	if cs.call.Direction == telephony.Outbound && peer.call.Direction == telephony.Inbound {
		agent = peerAgent
	} else if peer.call.Direction == telephony.Outbound && cs.call.Direction == telephony.Inbound {
		peerAgent = agent
	}
	cs.call.LinkedID = peer.call.LinkedID
	cs.call.State = telephony.StateBridged
	a.emit(cs, telephony.Bridged, at, func(e *telephony.Event) {
		e.PeerCallID, e.Agent = peer.call.ID, agent
	})
	if len(ev.Bridge.Channels) == 2 {
		peer.call.State = telephony.StateBridged
		a.emit(peer, telephony.Bridged, at, func(e *telephony.Event) {
			e.PeerCallID, e.Agent = cs.call.ID, peerAgent
		})
	}
}

func (a *Adapter) onLeftBridge(ev *wireEvent) {
	ch := a.channelOf(ev)
	if ch == nil || ev.Bridge == nil {
		return
	}
	if cs := a.calls[ch.ID]; cs != nil && cs.bridge == ev.Bridge.ID {
		cs.bridge = ""
		if cs.call.State == telephony.StateBridged && !cs.hangupRequested {
			cs.call.State = telephony.StateUp
		}
	}
	if id := ev.Bridge.ID; a.bridges[id] && len(ev.Bridge.Channels) == 0 {
		delete(a.bridges, id)
		a.goBGLocked(func(ctx context.Context) {
			err := a.rest.do(ctx, "bridge_destroy", "DELETE", "/bridges/"+seg(id), nil, nil, nil)
			if err != nil && !callGone(err) {
				a.log.Warn("ari: cannot destroy empty bridge", "bridge", id, "err", err)
			}
		})
	}
}

func (a *Adapter) onHold(ev *wireEvent, at time.Time) {
	cs := a.trackedCall(ev)
	if cs == nil {
		return
	}
	a.ensureStarted(cs, at)
	if ev.Type == "ChannelHold" {
		if cs.held {
			return
		}
		cs.held, cs.before = true, cs.call.State
		cs.call.State = telephony.StateHeld
		a.emit(cs, telephony.Held, at, nil)
		return
	}
	if !cs.held {
		return
	}
	cs.held = false
	cs.call.State = cs.before
	a.emit(cs, telephony.Resumed, at, nil)
}

func (a *Adapter) onChannelTransfer(ev *wireEvent, at time.Time) {
	if ev.ReferredBy == nil || ev.ReferTo == nil || ev.State == "channel_declined" {
		a.m.ignored.WithLabelValues("transfer_incomplete").Inc()
		return
	}
	// The party being transferred is the one connected to the phone that
	// sent the REFER; if that is not ours, the referring channel is.
	cs := a.firstTracked(ev.ReferredBy.ConnectedChannel, ev.ReferredBy.SourceChannel)
	if cs == nil {
		return
	}
	target := ev.ReferTo.RequestedDestination.Destination
	var peer string
	if d := ev.ReferTo.DestinationChannel; d != nil {
		peer = d.ID
		if target == "" {
			target = endpointOf(d.Name)
		}
	}
	a.transferred(cs, at, short(target), peer)
}

// firstTracked returns the call of the first candidate channel the adapter
// follows, or nil (counted as an unknown channel) when it follows none.
func (a *Adapter) firstTracked(candidates ...*wireChannel) *callState {
	for _, c := range candidates {
		if c != nil && a.calls[c.ID] != nil {
			return a.calls[c.ID]
		}
	}
	a.m.ignored.WithLabelValues("unknown_channel").Inc()
	return nil
}

func (a *Adapter) onBridgeTransfer(ev *wireEvent, at time.Time) {
	if ev.Result != "Success" {
		a.m.ignored.WithLabelValues("transfer_incomplete").Inc()
		return
	}
	cs := a.firstTracked(ev.Transferee, ev.Channel)
	if cs == nil {
		return
	}
	target, peer := ev.Exten, ""
	if t := ev.TransferTarget; t != nil {
		peer = t.ID
		if target == "" {
			target = endpointOf(t.Name)
		}
	}
	a.transferred(cs, at, short(target), peer)
}

// transferred emits Transferred once per destination: Asterisk reports a
// REFER's progress in several events.
func (a *Adapter) transferred(cs *callState, at time.Time, target, peer string) {
	key := target + "\x00" + peer
	if cs.transferKey == key {
		return
	}
	cs.transferKey = key
	a.ensureStarted(cs, at)
	a.emit(cs, telephony.Transferred, at, func(e *telephony.Event) { e.Agent, e.PeerCallID = target, peer })
}

func (a *Adapter) onPlaybackFinished(ev *wireEvent) {
	if ev.Playback == nil {
		return
	}
	w, ok := a.playbacks[ev.Playback.ID]
	if !ok {
		a.m.ignored.WithLabelValues("foreign_playback").Inc()
		return
	}
	delete(a.playbacks, ev.Playback.ID)
	select {
	case w <- ev.Playback.State:
	default:
	}
}

// onRecordingStarted tells the calls being recorded: a bridge's recording
// belongs to every call in the bridge.
func (a *Adapter) onRecordingStarted(ev *wireEvent, at time.Time) {
	r := ev.Recording
	if r == nil || r.Name == "" || len(r.Name) > maxIDLen {
		a.m.ignored.WithLabelValues("bad_recording").Inc()
		return
	}
	kind, id, _ := strings.Cut(r.TargetURI, ":")
	name := r.Name
	if r.Format != "" && len(r.Format) < 16 {
		name += "." + r.Format
	}
	var recorded []*callState
	for _, cs := range a.calls {
		if cs.ended || !cs.started {
			continue
		}
		if (kind == "bridge" && cs.bridge == id && id != "") || (kind == "channel" && cs.call.ID == id) {
			recorded = append(recorded, cs)
		}
	}
	if len(recorded) == 0 {
		a.m.ignored.WithLabelValues("foreign_recording").Inc()
		return
	}
	slices.SortFunc(recorded, func(x, y *callState) int { return strings.Compare(x.call.ID, y.call.ID) })
	for _, cs := range recorded {
		a.emit(cs, telephony.Recorded, at, func(e *telephony.Event) { e.Recording = name })
	}
}

// resync runs after every connection: it checks which Asterisk this is,
// sets the event filter, and reconciles the tracked calls with the channels
// in the application. It returns Asterisk's version.
func (a *Adapter) resync(ctx context.Context) (string, error) {
	var info wireInfo
	if err := a.rest.do(ctx, "asterisk_info", "GET", "/asterisk/info", nil, nil, &info); err != nil {
		return "", err
	}
	ident := info.System.EntityID + "|" + info.Status.StartupTime
	a.mu.Lock()
	prev := a.identity
	a.identity = ident
	if prev != "" && prev != ident {
		a.m.restarts.Inc()
		a.log.Warn("ari: Asterisk restarted while disconnected: its calls are gone",
			"entity_id", info.System.EntityID, "startup_time", info.Status.StartupTime, "calls", len(a.calls))
		for _, cs := range a.sortedCalls() {
			a.m.lost.Inc()
			a.end(cs, a.lostAt(cs), telephony.CauseLost, 0)
		}
	}
	a.mu.Unlock()

	filter := struct {
		Allowed []map[string]string `json:"allowed"`
	}{}
	for _, t := range handledTypes {
		filter.Allowed = append(filter.Allowed, map[string]string{"type": t})
	}
	app := "/applications/" + seg(a.cfg.Application)
	if err := a.rest.do(ctx, "event_filter", "PUT", app+"/eventFilter", nil, filter, nil); err != nil {
		if !isStatus(err) {
			return "", err
		}
		// Asterisk before 16.x has no event filter: everything comes, and
		// is counted and skipped.
		a.log.Warn("ari: cannot set the event filter; receiving every event", "err", err)
	}

	var appInfo wireApplication
	if err := a.rest.do(ctx, "application", "GET", app, nil, nil, &appInfo); err != nil {
		return "", err
	}
	var chans []wireChannel
	if err := a.rest.do(ctx, "channels", "GET", "/channels", nil, nil, &chans); err != nil {
		return "", err
	}
	byID := make(map[string]*wireChannel, len(chans))
	for i := range chans {
		byID[chans[i].ID] = &chans[i]
	}
	inApp := make(map[string]bool, len(appInfo.ChannelIDs))
	for _, id := range appInfo.ChannelIDs {
		if byID[id] != nil {
			inApp[id] = true
		}
	}

	now := time.Now()
	var orphans []string
	a.mu.Lock()
	var lost, resumed, adopted int
	for id := range a.preStasis {
		// Its ChannelDestroyed came while no connection was up.
		if byID[id] == nil {
			delete(a.preStasis, id)
		}
	}
	for _, cs := range a.sortedCalls() {
		if !inApp[cs.call.ID] && !cs.pending {
			lost++
			a.m.lost.Inc()
			a.end(cs, a.lostAt(cs), telephony.CauseLost, 0)
		}
	}
	for id, ready := range a.internal {
		if inApp[id] {
			continue
		}
		// Keep a spy channel Snoop is still creating: Asterisk may not
		// have reported it yet.
		select {
		case <-ready:
			delete(a.internal, id)
		default:
			if ready == nil {
				delete(a.internal, id)
			}
		}
	}
	for _, id := range appInfo.ChannelIDs {
		ch := byID[id]
		if ch == nil || len(id) > maxIDLen {
			continue
		}
		if cs := a.calls[id]; cs != nil {
			resumed++
			a.resume(cs, ch, now)
			continue
		}
		if _, ok := a.internal[id]; ok || strings.HasPrefix(ch.Name, "Snoop/") {
			continue
		}
		if ch.Dialplan.AppName != "Stasis" {
			// Originated into the application and not yet in it.
			if len(a.preStasis) < preStasisCap {
				a.preStasis[id] = true
			}
			continue
		}
		if a.cfg.Orphans == OrphanHangup {
			orphans = append(orphans, id)
			continue
		}
		adopted++
		a.m.adopted.Inc()
		args := strings.Split(ch.Dialplan.AppData, ",")
		cs := a.newCall(ch, telephony.Inbound, inboundDNIS(args[1:], ch.Dialplan), now)
		cs.inStasis = true
		close(cs.stasis)
		a.ensureStarted(cs, now)
		if ch.State == "Up" {
			a.markAnswered(cs, now)
		}
	}
	a.mu.Unlock()
	for _, id := range orphans {
		a.m.orphansHung.Inc()
		a.goBG(func(ctx context.Context) {
			err := a.rest.do(ctx, "hangup", "DELETE", "/channels/"+seg(id), nil, nil, nil)
			if err != nil && !callGone(err) {
				a.log.Warn("ari: cannot hang up orphaned channel", "call_id", id, "err", err)
			}
		})
	}
	if lost+resumed+adopted+len(orphans) > 0 {
		a.log.Info("ari: resynchronised calls", "resumed", resumed, "lost", lost,
			"adopted", adopted, "orphans_hung_up", len(orphans))
	}
	return info.System.Version, nil
}

// lostAt is when a call that vanished while the adapter was away was last
// known to exist: when the connection dropped (Asterisk reports every end
// while connected), not when it came back; never before the call's own last
// event, nor before it started (a call originated while disconnected).
// Call with a.mu held.
func (a *Adapter) lostAt(cs *callState) time.Time {
	at := a.droppedAt
	for _, t := range []time.Time{cs.lastAt, cs.call.StartedAt} {
		if t.After(at) {
			at = t
		}
	}
	if at.IsZero() {
		return time.Now()
	}
	return at
}

// resume brings a tracked call up to date with its channel after a
// reconnection, emitting what happened while the adapter was away.
func (a *Adapter) resume(cs *callState, ch *wireChannel, at time.Time) {
	cs.name = ch.Name
	a.ensureStarted(cs, at)
	if ch.Dialplan.AppName == "Stasis" && !cs.inStasis {
		cs.inStasis = true
		close(cs.stasis)
	}
	if ch.State == "Up" {
		a.markAnswered(cs, at)
	}
}

func isStatus(err error) bool {
	var se *StatusError
	return errors.As(err, &se)
}
