package sip

import (
	"context"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/tamas-cc/tamas/telephony"
)

// call is an INVITE the endpoint holds ringing.
type call struct {
	info    telephony.Call
	fromTag string
	toTag   string
	bye     chan struct{}
	byeOnce sync.Once
}

func (c *call) hangup() { c.byeOnce.Do(func() { close(c.bye) }) }

func (e *Endpoint) onInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	entered := time.Now()
	e.count(req)
	reject := func(code int, reason, metric string) {
		e.m.rejected.WithLabelValues(metric).Inc()
		e.m.responses.WithLabelValues(strconv.Itoa(code)).Inc()
		e.respond(tx, sipmsg.NewResponseFromRequest(req, code, reason, nil))
	}

	// Stream transports bypass the datagram guard, so check again.
	if h := missingHeader(req); h != "" {
		e.malformed(strings.ToLower(req.Transport()), "missing_"+strings.ToLower(h), req.Source(), nil, []byte(req.StartLine()))
		reject(sipmsg.StatusBadRequest, "Missing "+h, "malformed")
		return
	}
	// The call started when its INVITE was read off the socket (datagrams
	// only; for streams, when it reached us here).
	received := e.arrivals.take(arrivalKey(req), entered)
	to, from := req.To(), req.From()
	if _, ok := to.Params.Get("tag"); ok {
		// We never answer, so no dialog exists for a re-INVITE to be in.
		reject(sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", "in_dialog")
		return
	}
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		reject(sipmsg.StatusTooManyHops, "Too Many Hops", "too_many_hops")
		return
	}
	if !e.admitted(req) {
		e.log.Warn("sip: INVITE from an address not allowed", "source", req.Source())
		reject(sipmsg.StatusForbidden, "Forbidden", "not_allowed")
		return
	}
	if e.auth != nil && !e.authenticate(req, tx) {
		return
	}

	callID := req.CallID().Value()
	cseq := req.CSeq().SeqNo
	fromTag, _ := from.Params.Get("tag")
	toTag := randomTag()

	src, _ := sourceAddr(req)
	id := CallerIdentity(req, inPrefixes(src, e.trusted))
	dnis, dnisProblems := DialledNumber(req)
	problems := append(id.Problems, dnisProblems...)

	c := &call{
		info: telephony.Call{
			ID: callID, LinkedID: callID, Direction: telephony.Inbound,
			Caller: id.Caller, DNIS: dnis, Line: e.cfg.Lines[dnis],
			State: telephony.StateRinging, Node: e.cfg.Node, PBX: PBXName, StartedAt: received,
		},
		fromTag: fromTag, toTag: toTag, bye: make(chan struct{}),
	}

	e.mu.Lock()
	switch {
	case e.closing:
		e.mu.Unlock()
		reject(sipmsg.StatusServiceUnavailable, "Service Unavailable", "shutting_down")
		return
	case e.calls[callID] != nil:
		e.mu.Unlock()
		// Same Call-ID, new branch: the PBX's fork reached us twice.
		reject(sipmsg.StatusLoopDetected, "Loop Detected", "merged")
		return
	case e.recent.stale(callID, cseq, received):
		e.mu.Unlock()
		reject(sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", "stale")
		return
	}
	e.calls[callID] = c
	e.inflight.Add(1)
	release := e.release
	e.mu.Unlock()
	defer e.inflight.Done()

	// Every response but 100 must carry the same To tag (RFC 3261
	// §8.2.6.2), including the 487 sipgo builds from this request when a
	// CANCEL arrives; so the tag goes into the request before anything is
	// sent. Nothing else reads the request yet: sipgo's own 100 Trying is
	// 200 ms away, and a CANCEL needs a provisional response first.
	to.Params.Add("tag", toTag)

	e.m.started.Inc()
	e.m.active.Inc()
	e.q.Put(telephony.Event{Type: telephony.CallStarted, At: received, Call: c.info})
	// The dispatcher was just made runnable on this thread's queue, where
	// it would wait until this goroutine blocks — after the responses
	// below, two socket writes later. Let it deliver the event first: the
	// PBX does not need our 100 Trying within microseconds.
	runtime.Gosched()
	e.logProblems(callID, problems)
	e.log.Debug("sip: call started", "call_id", callID, "caller", id.Caller.Number,
		"caller_source", id.Source, "dnis", dnis, "source", req.Source())

	cancelled := make(chan *sipmsg.Request, 1)
	watching := tx.OnCancel(func(r *sipmsg.Request) {
		select {
		case cancelled <- r:
		default:
		}
	})
	e.respond(tx, sipmsg.NewResponseFromRequest(req, sipmsg.StatusTrying, "Trying", nil))

	cause, code := "", 0
	switch {
	case !watching:
		// Cancelled or gone before we could watch it.
		cause = telephony.CauseOriginatorCancel
	case e.cfg.FinalCode != 0:
		e.final(req, tx, e.cfg.FinalCode, "")
		cause, code = finalCause(e.cfg.FinalCode)
	default:
		e.send(req, tx, sipmsg.StatusRinging, "Ringing")
		cause, code = e.hold(req, tx, c, cancelled, release)
	}

	ended := time.Now()
	e.mu.Lock()
	delete(e.calls, callID)
	e.recent.add(callID, cseq, ended)
	e.mu.Unlock()
	e.m.active.Dec()
	e.m.ended.WithLabelValues(cause).Inc()

	c.info.State = telephony.StateEnded
	c.info.EndedAt = ended
	e.q.Put(telephony.Event{Type: telephony.Ended, At: ended, Call: c.info, Cause: cause, CauseCode: code})
	e.log.Debug("sip: call ended", "call_id", callID, "cause", cause)
}

// hold keeps the INVITE ringing until the PBX cancels it or sends BYE on
// the early dialog, the ring timeout passes, the transaction fails, or the
// endpoint shuts down; it sends the final response that is ours to send
// and returns the cause of the end.
func (e *Endpoint) hold(req *sipmsg.Request, tx sipmsg.ServerTransaction, c *call,
	cancelled <-chan *sipmsg.Request, release <-chan struct{}) (string, int) {
	timer := time.NewTimer(e.cfg.RingTimeout)
	defer timer.Stop()
	select {
	case r := <-cancelled:
		// sipgo has answered the CANCEL with 200 and the INVITE with 487.
		e.m.responses.WithLabelValues("487").Inc()
		return cancelCause(r)
	case <-c.bye:
		e.final(req, tx, sipmsg.StatusRequestTerminated, "Request Terminated")
		return telephony.CauseNormalClearing, 16
	case <-timer.C:
		e.final(req, tx, sipmsg.StatusTemporarilyUnavailable, "Temporarily Unavailable")
		return telephony.CauseNoAnswer, 19
	case <-release:
		e.final(req, tx, sipmsg.StatusTemporarilyUnavailable, "Temporarily Unavailable")
		return telephony.CauseLost, 0
	case <-tx.Done():
		// The CANCEL may have ended the transaction as fast as we woke.
		select {
		case r := <-cancelled:
			e.m.responses.WithLabelValues("487").Inc()
			return cancelCause(r)
		default:
		}
		e.log.Warn("sip: INVITE transaction ended without CANCEL or BYE", "call_id", c.info.ID, "error", tx.Err())
		return telephony.CauseLost, 0
	}
}

// send sends a provisional response with our Contact.
func (e *Endpoint) send(req *sipmsg.Request, tx sipmsg.ServerTransaction, code int, reason string) {
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	res.AppendHeader(e.contact(req))
	e.m.responses.WithLabelValues(strconv.Itoa(code)).Inc()
	e.respond(tx, res)
}

// final sends a final response; an empty reason takes the standard phrase.
func (e *Endpoint) final(req *sipmsg.Request, tx sipmsg.ServerTransaction, code int, reason string) {
	if reason == "" {
		reason = reasonPhrase(code)
	}
	e.send(req, tx, code, reason)
}

// contact is the address the PBX reached us at, as our Contact.
func (e *Endpoint) contact(req *sipmsg.Request) *sipmsg.ContactHeader {
	u := sipmsg.Uri{Scheme: "sip", User: e.cfg.User, Host: req.Recipient.Host, Port: req.Recipient.Port}
	if t := strings.ToLower(req.Transport()); t != "udp" {
		u.UriParams = sipmsg.NewParams()
		u.UriParams.Add("transport", t)
	}
	return &sipmsg.ContactHeader{Address: u}
}

func (e *Endpoint) onCancel(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	e.count(req)
	// CANCELs that match a ringing INVITE are handled by its transaction;
	// this one matches nothing.
	e.respond(tx, sipmsg.NewResponseFromRequest(req, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
}

func (e *Endpoint) onBye(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	e.count(req)
	if req.CallID() == nil || req.From() == nil || req.To() == nil {
		e.respond(tx, sipmsg.NewResponseFromRequest(req, sipmsg.StatusBadRequest, "Bad Request", nil))
		return
	}
	fromTag, _ := req.From().Params.Get("tag")
	toTag, _ := req.To().Params.Get("tag")
	e.mu.Lock()
	c := e.calls[req.CallID().Value()]
	e.mu.Unlock()
	if c == nil || c.fromTag != fromTag || c.toTag != toTag {
		e.respond(tx, sipmsg.NewResponseFromRequest(req, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	// The caller may end an early dialog with BYE (RFC 3261 §15); the
	// INVITE then gets 487.
	e.respond(tx, sipmsg.NewResponseFromRequest(req, sipmsg.StatusOK, "OK", nil))
	c.hangup()
}

// authenticate challenges or refuses an INVITE without good credentials,
// and reports whether it may proceed.
func (e *Endpoint) authenticate(req *sipmsg.Request, tx sipmsg.ServerTransaction) bool {
	authz := ""
	if h := req.GetHeader("Authorization"); h != nil {
		authz = h.Value()
	}
	user, outcome, reason := e.auth.check(string(req.Method), authz)
	switch outcome {
	case authOK:
		e.m.auth.WithLabelValues("ok").Inc()
		return true
	case authFailed:
		e.m.auth.WithLabelValues("failed").Inc()
		e.m.rejected.WithLabelValues("auth_failed").Inc()
		e.m.responses.WithLabelValues("403").Inc()
		e.log.Warn("sip: INVITE authentication failed", "user", sample(user), "reason", reason, "source", req.Source())
		e.respond(tx, sipmsg.NewResponseFromRequest(req, sipmsg.StatusForbidden, "Forbidden", nil))
		return false
	}
	label := "challenged"
	if outcome == authStale {
		label = "stale"
	}
	e.m.auth.WithLabelValues(label).Inc()
	e.m.rejected.WithLabelValues("auth_" + label).Inc()
	e.m.responses.WithLabelValues("401").Inc()
	res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusUnauthorized, "Unauthorized", nil)
	res.AppendHeader(sipmsg.NewHeader("WWW-Authenticate", e.auth.challenge(outcome == authStale)))
	e.respond(tx, res)
	return false
}

func (e *Endpoint) logProblems(callID string, ps []Problem) {
	for _, p := range ps {
		e.m.identity.WithLabelValues(p.Header, string(p.Kind)).Inc()
		level := slog.LevelWarn
		if p.Kind.Routine() {
			level = slog.LevelDebug
		}
		e.log.Log(context.Background(), level, "sip: caller identity problem", "call_id", callID,
			"header", p.Header, "kind", string(p.Kind), "value", p.Value)
	}
}

// cancelCause reads a CANCEL's Reason header: a PBX that cancels the other
// members of a ring group once one answers says so with SIP cause 200
// ("Call completed elsewhere", RFC 3326); anything else is the caller
// giving up.
func cancelCause(r *sipmsg.Request) (string, int) {
	cause, code := telephony.CauseOriginatorCancel, 0
	if r == nil {
		return cause, code
	}
	for _, h := range r.GetHeaders("Reason") {
		for _, v := range strings.Split(h.Value(), ",") {
			proto, params, _ := strings.Cut(strings.TrimSpace(v), ";")
			n := reasonCause(params)
			switch strings.ToUpper(strings.TrimSpace(proto)) {
			case "SIP":
				if n == 200 {
					return telephony.CauseAnsweredElsewhere, 26
				}
			case "Q.850":
				if n == 26 {
					return telephony.CauseAnsweredElsewhere, 26
				}
				if n > 0 {
					code = n
				}
			}
		}
	}
	return cause, code
}

func reasonCause(params string) int {
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "cause") {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err == nil && n > 0 && n < 1000 {
				return n
			}
		}
	}
	return 0
}

// finalCause maps a final response we send to the Q.850 cause a PBX would
// report (RFC 3398 §8.2.6.1 in reverse).
func finalCause(code int) (string, int) {
	switch code {
	case 486, 600:
		return "user_busy", 17
	case 480:
		return telephony.CauseNoAnswer, 19
	case 408:
		return "no_user_response", 18
	case 404, 604:
		return "unallocated", 1
	case 403, 603:
		return "call_rejected", 21
	case 503:
		return "normal_temporary_failure", 41
	}
	return "normal_unspecified", 31
}

func reasonPhrase(code int) string {
	switch code {
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 408:
		return "Request Timeout"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 503:
		return "Service Unavailable"
	case 600:
		return "Busy Everywhere"
	case 603:
		return "Decline"
	case 604:
		return "Does Not Exist Anywhere"
	}
	return "Rejected"
}
