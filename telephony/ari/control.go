package ari

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tamas-cc/tamas/telephony"
)

// ErrStopped is returned by call control that was waiting when Run ended.
var ErrStopped = errors.New("ari: adapter stopped")

func (a *Adapter) channelOp(ctx context.Context, op, method, callID, sub string, q url.Values) error {
	path := "/channels/" + seg(callID)
	if sub != "" {
		path += "/" + sub
	}
	return goneErr(a.rest.do(ctx, op, method, path, q, nil, nil))
}

// Answer answers a ringing call.
func (a *Adapter) Answer(ctx context.Context, callID string) error {
	return a.channelOp(ctx, "answer", "POST", callID, "answer", nil)
}

// Ring makes the caller hear ringing. Asterisk reports no state change for
// it, so the adapter emits Ringing itself when the request succeeds.
func (a *Adapter) Ring(ctx context.Context, callID string) error {
	if err := a.channelOp(ctx, "ring", "POST", callID, "ring", nil); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if cs := a.calls[callID]; cs != nil && !cs.rang && !cs.answered && !cs.ended {
		cs.rang = true
		a.ensureStarted(cs, time.Now())
		a.emit(cs, telephony.Ringing, time.Now(), nil)
	}
	return nil
}

// doneOf returns the channel closed when a tracked call ends, or nil (never
// ready) for a call the adapter does not track.
func (a *Adapter) doneOf(callID string) <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if cs := a.calls[callID]; cs != nil {
		return cs.done
	}
	return nil
}

// Play plays media ("sound:hello-world"; a bare name means a sound) and
// waits until it finished. If ctx ends first the playback is stopped.
func (a *Adapter) Play(ctx context.Context, callID, media string) error {
	media = strings.TrimSpace(media)
	if media == "" {
		return errors.New("ari play: no media")
	}
	if !strings.Contains(media, ":") {
		media = "sound:" + media
	}
	pid := newID("playback")
	finished := make(chan string, 1)
	a.mu.Lock()
	a.playbacks[pid] = finished
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.playbacks, pid)
		a.mu.Unlock()
	}()
	done := a.doneOf(callID)
	stop := func() {
		a.goBG(func(bctx context.Context) {
			_ = a.rest.do(bctx, "playback_stop", "DELETE", "/playbacks/"+seg(pid), nil, nil, nil)
		})
	}
	q := url.Values{"media": {media}, "playbackId": {pid}}
	if err := a.channelOp(ctx, "play", "POST", callID, "play", q); err != nil {
		if ctx.Err() != nil {
			// Asterisk may have started it before the answer was
			// abandoned.
			stop()
		}
		return err
	}
	select {
	case state := <-finished:
		if state == "failed" {
			return fmt.Errorf("ari play %s on %s: playback failed", media, callID)
		}
		return nil
	case <-done:
		return fmt.Errorf("ari play on %s: %w", callID, telephony.ErrCallGone)
	case <-ctx.Done():
		stop()
		return ctx.Err()
	case <-a.stop:
		return ErrStopped
	}
}

// Collect gathers DTMF digits pressed from now on. It returns when
// opts.MaxDigits were pressed, the terminator was pressed (it is not
// included), opts.Timeout passed since the start, or opts.InterDigit passed
// since the last digit; zero limits are not applied. It returns what was
// collected: on a timeout, with a nil error (possibly an empty string); when
// the call ends, with an error wrapping telephony.ErrCallGone.
func (a *Adapter) Collect(ctx context.Context, callID string, opts telephony.CollectOptions) (string, error) {
	in := make(chan string, 64)
	a.mu.Lock()
	cs := a.calls[callID]
	if cs == nil {
		a.mu.Unlock()
		return "", fmt.Errorf("ari collect on %s: %w", callID, telephony.ErrCallGone)
	}
	if cs.collectors == nil {
		cs.collectors = map[chan string]struct{}{}
	}
	cs.collectors[in] = struct{}{}
	done := cs.done
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(cs.collectors, in)
		a.mu.Unlock()
	}()

	var overall, inter <-chan time.Time
	if opts.Timeout > 0 {
		t := time.NewTimer(opts.Timeout)
		defer t.Stop()
		overall = t.C
	}
	var interTimer *time.Timer
	defer func() {
		if interTimer != nil {
			interTimer.Stop()
		}
	}()
	var got strings.Builder
	// add takes one digit and reports whether collection is complete.
	add := func(d string) bool {
		if opts.Terminator != "" && strings.Contains(opts.Terminator, d) {
			return true
		}
		got.WriteString(d)
		if opts.MaxDigits > 0 && got.Len() >= opts.MaxDigits {
			return true
		}
		if opts.InterDigit > 0 {
			if interTimer == nil {
				interTimer = time.NewTimer(opts.InterDigit)
				inter = interTimer.C
			} else {
				interTimer.Reset(opts.InterDigit)
			}
		}
		return false
	}
	for {
		select {
		case d := <-in:
			if add(d) {
				return got.String(), nil
			}
		case <-overall:
			return got.String(), nil
		case <-inter:
			return got.String(), nil
		case <-done:
			// Digits pressed just before the hang-up are already queued.
			for {
				select {
				case d := <-in:
					if add(d) {
						return got.String(), nil
					}
					continue
				default:
				}
				break
			}
			return got.String(), fmt.Errorf("ari collect on %s: %w", callID, telephony.ErrCallGone)
		case <-ctx.Done():
			return got.String(), ctx.Err()
		case <-a.stop:
			return got.String(), ErrStopped
		}
	}
}

// Hangup hangs up a call. cause is a Q.850 name ("normal_clearing",
// "user_busy", "no_answer", "call_rejected", …), one of ARI's reasons
// ("normal", "busy", "congestion", …) or a Q.850 number; empty means
// normal clearing. The call's Ended event carries this cause.
func (a *Adapter) Hangup(ctx context.Context, callID, cause string) error {
	param, value, name, code, ok := hangupArgs(cause)
	if !ok {
		return fmt.Errorf("ari hangup: unknown cause %q", short(cause))
	}
	a.mu.Lock()
	if cs := a.calls[callID]; cs != nil {
		cs.reqCause, cs.reqCode = name, code
	}
	a.mu.Unlock()
	return a.channelOp(ctx, "hangup", "DELETE", callID, "", url.Values{param: {value}})
}

// parseCallerID reads `"Name" <number>` or a bare number.
func parseCallerID(s string) (name, number string) {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '<'); i >= 0 && strings.HasSuffix(s, ">") {
		return strings.Trim(strings.TrimSpace(s[:i]), `"`), strings.TrimSpace(s[i+1 : len(s)-1])
	}
	return "", s
}

func formatCallerID(p telephony.Party) string {
	if p.Name == "" {
		return p.Number
	}
	name := strings.NewReplacer(`"`, "", `\`, "").Replace(p.Name)
	return fmt.Sprintf("%q <%s>", name, p.Number)
}

// Originate calls an endpoint ("PJSIP/agent1000", "PJSIP/+14155550123@trunk")
// presenting callerID (`"Name" <number>` or a number). The call is tracked
// from the request on: CallStarted (outbound) comes once Asterisk accepted
// it, Answered when it is answered (it then enters the application), and
// Ended if it fails or nobody answers within Config.OriginateTimeout.
func (a *Adapter) Originate(ctx context.Context, endpoint, callerID string) (string, error) {
	cs, err := a.originate(ctx, "originate", endpoint, callerID, "originate")
	if err != nil {
		return "", err
	}
	return cs.call.ID, nil
}

func (a *Adapter) originate(ctx context.Context, op, endpoint, callerID, appArgs string) (*callState, error) {
	endpoint = strings.TrimSpace(endpoint)
	if endpoint == "" || !strings.Contains(endpoint, "/") {
		return nil, fmt.Errorf("ari %s: endpoint %q: want tech/resource, e.g. PJSIP/agent1000", op, short(endpoint))
	}
	id := newID("call")
	name, number := parseCallerID(callerID)
	a.mu.Lock()
	cs := a.newCall(&wireChannel{ID: id, Name: endpoint, Caller: wireCallerID{Name: name, Number: number}},
		telephony.Outbound, resourceOf(endpoint), time.Now())
	cs.pending = true
	a.mu.Unlock()
	q := url.Values{
		"endpoint":  {endpoint},
		"app":       {a.cfg.Application},
		"appArgs":   {appArgs},
		"channelId": {id},
		"timeout":   {strconv.Itoa(int(a.cfg.OriginateTimeout / time.Second))},
	}
	if callerID != "" {
		q.Set("callerId", callerID)
	}
	var created wireChannel
	err := a.rest.do(ctx, op, "POST", "/channels", q, nil, &created)
	a.mu.Lock()
	defer a.mu.Unlock()
	cs.pending = false
	if err != nil {
		if !isStatus(err) {
			// No answer is not a refusal: Asterisk may have created the
			// channel, which would ring an agent for a call nobody knows of.
			a.goBGLocked(func(ctx context.Context) {
				err := a.rest.do(ctx, "hangup", "DELETE", "/channels/"+seg(id), nil, nil, nil)
				if err != nil && !callGone(err) {
					a.log.Warn("ari: cannot hang up abandoned originate", "call_id", id, "err", err)
				}
			})
		}
		if !cs.started && !cs.ended {
			delete(a.calls, id)
			a.ended.add(id)
			a.m.active.Set(float64(len(a.calls)))
		}
		return nil, err
	}
	if created.Name != "" && !cs.ended {
		cs.name = created.Name
	}
	a.ensureStarted(cs, time.Now())
	return cs, nil
}

func (a *Adapter) createBridge(ctx context.Context, id string) error {
	q := url.Values{"type": {"mixing"}, "bridgeId": {id}, "name": {"tamas"}}
	if err := a.rest.do(ctx, "bridge_create", "POST", "/bridges", q, nil, nil); err != nil {
		return err
	}
	a.mu.Lock()
	a.bridges[id] = true
	a.mu.Unlock()
	return nil
}

// release hangs up channels and destroys a bridge in the background,
// after a failed or finished operation.
func (a *Adapter) release(channels []string, bridge string) {
	a.goBG(func(ctx context.Context) {
		for _, id := range channels {
			err := a.rest.do(ctx, "hangup", "DELETE", "/channels/"+seg(id), nil, nil, nil)
			if err != nil && !callGone(err) {
				a.log.Warn("ari: clean-up hang-up failed", "call_id", id, "err", err)
			}
		}
		if bridge != "" {
			err := a.rest.do(ctx, "bridge_destroy", "DELETE", "/bridges/"+seg(bridge), nil, nil, nil)
			if err != nil && !callGone(err) {
				a.log.Warn("ari: clean-up of bridge failed", "bridge", bridge, "err", err)
			}
		}
	})
}

// Bridge connects two calls in a new mixing bridge. The bridge is destroyed
// once both have left it.
func (a *Adapter) Bridge(ctx context.Context, callA, callB string) error {
	if callA == "" || callB == "" || callA == callB || strings.Contains(callA+callB, ",") {
		return fmt.Errorf("ari bridge: want two different call ids, got %q and %q", short(callA), short(callB))
	}
	bid := newID("bridge")
	if err := a.createBridge(ctx, bid); err != nil {
		return err
	}
	q := url.Values{"channel": {callA + "," + callB}}
	if err := a.rest.do(ctx, "bridge_add", "POST", "/bridges/"+seg(bid)+"/addChannel", q, nil, nil); err != nil {
		a.release(nil, bid)
		return goneErr(err)
	}
	return nil
}

func snoopDirections(mode telephony.SnoopMode) (spy, whisper string, ok bool) {
	switch mode {
	case telephony.Listen:
		return "both", "none", true
	case telephony.Whisper:
		// "out" is what the snooped channel's own party hears: pass the
		// agent's leg, and only the agent hears the supervisor.
		return "both", "out", true
	case telephony.Barge:
		return "both", "both", true
	}
	return "", "", false
}

// Snoop connects a supervisor to a call: it creates a spy channel on the
// call (listen: hear both sides; whisper: also speak to the snooped leg's
// party — pass the agent's leg; barge: speak to both), rings the
// supervisor's endpoint presenting the caller, and once the supervisor
// answers, bridges the two. It returns the supervisor leg's call id. The
// supervisor leg is hung up when the call ends, and the spy channel when
// the supervisor hangs up.
func (a *Adapter) Snoop(ctx context.Context, callID, supervisorEndpoint string, mode telephony.SnoopMode) (string, error) {
	spy, whisper, ok := snoopDirections(mode)
	if !ok {
		return "", fmt.Errorf("ari snoop: unknown mode %q", short(string(mode)))
	}
	snoopID := newID("snoop")
	ready := make(chan struct{})
	a.mu.Lock()
	var present string
	var callDone <-chan struct{} // nil (never ready) for an untracked call
	if cs := a.calls[callID]; cs != nil {
		present = formatCallerID(cs.call.Caller)
		callDone = cs.done
	}
	a.internal[snoopID] = ready
	a.mu.Unlock()

	q := url.Values{"spy": {spy}, "whisper": {whisper}, "app": {a.cfg.Application},
		"appArgs": {"snoop"}, "snoopId": {snoopID}}
	if err := a.channelOp(ctx, "snoop", "POST", callID, "snoop", q); err != nil {
		a.mu.Lock()
		delete(a.internal, snoopID)
		a.mu.Unlock()
		return "", err
	}
	bid := newID("bridge")
	if err := a.createBridge(ctx, bid); err != nil {
		a.release([]string{snoopID}, "")
		return "", err
	}
	sup, err := a.originate(ctx, "snoop_originate", supervisorEndpoint, present, "snoop-supervisor")
	if err != nil {
		a.release([]string{snoopID}, bid)
		return "", err
	}
	supID := sup.call.ID
	fail := func(err error) (string, error) {
		a.release([]string{snoopID, supID}, bid)
		return "", err
	}
	for _, wait := range []<-chan struct{}{sup.stasis, ready} {
		select {
		case <-wait:
		case <-sup.done:
			return fail(fmt.Errorf("ari snoop: supervisor %s did not answer", short(supervisorEndpoint)))
		case <-callDone:
			return fail(fmt.Errorf("ari snoop on %s: %w", callID, telephony.ErrCallGone))
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-a.stop:
			return fail(ErrStopped)
		}
	}
	q = url.Values{"channel": {snoopID + "," + supID}}
	if err := a.rest.do(ctx, "bridge_add", "POST", "/bridges/"+seg(bid)+"/addChannel", q, nil, nil); err != nil {
		return fail(goneErr(err))
	}
	a.mu.Lock()
	cs := a.calls[callID]
	if cs == nil && callDone != nil {
		// The call ended meanwhile: nothing would ever let the supervisor go.
		a.mu.Unlock()
		return fail(fmt.Errorf("ari snoop on %s: %w", callID, telephony.ErrCallGone))
	}
	defer a.mu.Unlock()
	releaseSnoop := func(ctx context.Context) {
		err := a.rest.do(ctx, "hangup", "DELETE", "/channels/"+seg(snoopID), nil, nil, nil)
		if err != nil && !callGone(err) {
			a.log.Warn("ari: cannot hang up spy channel", "call_id", snoopID, "err", err)
		}
	}
	if sup.ended {
		a.goBGLocked(releaseSnoop)
	} else {
		sup.onEnd = append(sup.onEnd, releaseSnoop)
	}
	if cs != nil {
		cs.onEnd = append(cs.onEnd, func(ctx context.Context) {
			err := a.rest.do(ctx, "hangup", "DELETE", "/channels/"+seg(supID), nil, nil, nil)
			if err != nil && !callGone(err) {
				a.log.Warn("ari: cannot hang up supervisor leg", "call_id", supID, "err", err)
			}
		})
	}
	return supID, nil
}
