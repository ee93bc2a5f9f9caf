package sip

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// The guard sits between the socket and sipgo. sipgo drops a UDP datagram
// it cannot parse without answering (the sender then retransmits for 32 s)
// and only logs it; the guard parses each datagram first so that a
// malformed request is counted, logged once, and answered with 400 when it
// carries enough to address a response.

// missingHeader returns the first header req lacks of those RFC 3261
// §8.1.1 makes mandatory and the endpoint needs (a missing Max-Forwards is
// tolerated), or "".
func missingHeader(req *sipmsg.Request) string {
	switch {
	case req.Via() == nil:
		return "Via"
	case req.From() == nil:
		return "From"
	case req.To() == nil:
		return "To"
	case req.CallID() == nil:
		return "Call-ID"
	case req.CSeq() == nil:
		return "CSeq"
	}
	return ""
}

// readFilter is installed in sipgo's transport layer. It must never return
// an error: sipgo stops reading the socket when it does.
func (e *Endpoint) readFilter(props sipmsg.TransportReadProps, data []byte) ([]byte, error) {
	if e.deaf.Load() {
		return nil, nil
	}
	arrived := time.Now()
	if props.Transport != "UDP" || len(bytes.Trim(data, "\r\n")) == 0 {
		// Stream data arrives in arbitrary chunks and cannot be judged here;
		// CRLF alone is a keep-alive.
		return data, nil
	}
	msg, err := e.parser.ParseSIP(data)
	if err != nil {
		e.malformed("udp", "unparseable", addrString(props.RemoteAddr), err, data)
		e.replyRaw400(props, data)
		return nil, nil
	}
	req, ok := msg.(*sipmsg.Request)
	if !ok {
		return data, nil
	}
	if h := missingHeader(req); h != "" {
		e.malformed("udp", "missing_"+strings.ToLower(h), addrString(props.RemoteAddr), nil, data)
		if h != "Via" && !req.IsAck() {
			res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusBadRequest, "Missing "+h, nil)
			e.writeUDP(props, []byte(res.String()))
		}
		return nil, nil
	}
	if cs := req.CSeq(); cs.MethodName != req.Method && !(req.IsAck() && cs.MethodName == sipmsg.INVITE) {
		e.malformed("udp", "cseq_method", addrString(props.RemoteAddr), nil, data)
		if !req.IsAck() {
			res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusBadRequest, "CSeq method mismatch", nil)
			e.writeUDP(props, []byte(res.String()))
		}
		return nil, nil
	}
	if req.IsInvite() && tooLargeForUDP(req) {
		// sipgo will not send a UDP response over 1300 bytes, and a
		// response copies From, To and Via: a request carrying a 2 KB
		// caller ID could never be answered, and would be retransmitted
		// for 32 s. Refuse it here, on our own socket, so that the PBX
		// moves on at once.
		e.malformed("udp", "too_large", addrString(props.RemoteAddr), nil, data)
		res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusMessageTooLarge, "Message Too Large", nil)
		e.writeUDP(props, []byte(res.String()))
		return nil, nil
	}
	if req.IsInvite() {
		e.arrivals.put(arrivalKey(req), arrived)
	}
	return data, nil
}

// contactAllowance covers the Contact header added to a provisional or
// final response.
const contactAllowance = 120

func tooLargeForUDP(req *sipmsg.Request) bool {
	res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusRinging, "Ringing", nil)
	return len(res.String())+contactAllowance > sipmsg.UDPMTUSize-200
}

// malformed logs (rate-limited) and counts a refused message.
func (e *Endpoint) malformed(transport, reason, remote string, err error, data []byte) {
	e.m.malformed.WithLabelValues(transport, reason).Inc()
	ok, suppressed := e.lim.Allow("malformed", time.Now())
	if !ok {
		return
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	attrs := []any{"transport", transport, "reason", reason, "remote", remote,
		"start_line", sample(string(bytes.TrimRight(line, "\r"))), "bytes", len(data)}
	if err != nil {
		attrs = append(attrs, "error", sample(err.Error()))
	}
	if suppressed > 0 {
		attrs = append(attrs, "suppressed", suppressed)
	}
	e.log.Warn("sip: malformed message refused", attrs...)
}

// replyRaw400 answers an unparseable request from its raw header lines, when
// it is a request (not ACK) with a Via to answer to.
func (e *Endpoint) replyRaw400(props sipmsg.TransportReadProps, data []byte) {
	head, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	lines := strings.Split(string(head), "\r\n")
	parts := strings.Fields(lines[0])
	if len(parts) != 3 || !strings.HasPrefix(parts[2], "SIP/") || strings.HasPrefix(parts[0], "SIP/") ||
		strings.EqualFold(parts[0], "ACK") {
		return
	}
	var b strings.Builder
	b.WriteString("SIP/2.0 400 Bad Request\r\n")
	vias := 0
	for _, l := range lines[1:] {
		name, _, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "via", "v":
			vias++
		case "from", "f", "call-id", "i", "cseq":
		case "to", "t":
			if !strings.Contains(strings.ToLower(l), "tag=") {
				l += ";tag=" + randomTag()
			}
		default:
			continue
		}
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	if vias == 0 {
		return
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	e.writeUDP(props, []byte(b.String()))
}

func (e *Endpoint) writeUDP(props sipmsg.TransportReadProps, b []byte) {
	e.mu.Lock()
	pc := e.udp[props.LocalAddr.String()]
	e.mu.Unlock()
	if pc == nil || props.RemoteAddr == nil {
		return
	}
	if _, err := pc.WriteTo(b, props.RemoteAddr); err != nil {
		e.log.Debug("sip: stateless reply failed", "remote", props.RemoteAddr.String(), "error", err)
	}
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

func randomTag() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// stackLog adapts the endpoint's logger for sipgo: every sipgo error is
// counted by message, a stream parse failure (which sipgo reports only in
// its log, then closes the connection) is counted as a malformed message,
// and long attribute values — sipgo logs whole raw messages — are cut down.
type stackLog struct {
	next slog.Handler
	e    *Endpoint
}

func (h stackLog) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError || h.next.Enabled(ctx, l)
}

func (h stackLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.e.m.stackErrors.WithLabelValues(sample(r.Message)).Inc()
	}
	if r.Message == "failed to parse" {
		h.e.m.malformed.WithLabelValues("tcp", "unparseable").Inc()
	}
	level := r.Level
	if level == slog.LevelInfo {
		// sipgo's info lines (unmatched retransmissions, transaction
		// bookkeeping) are routine for an operator.
		level = slog.LevelDebug
	}
	if !h.next.Enabled(ctx, level) {
		return nil
	}
	out := slog.NewRecord(r.Time, level, "sipgo: "+r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a.Value.Kind() == slog.KindString && len(a.Value.String()) > 256 {
			a.Value = slog.StringValue(sample(a.Value.String()))
		}
		out.AddAttrs(a)
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h stackLog) WithAttrs(as []slog.Attr) slog.Handler {
	return stackLog{next: h.next.WithAttrs(as), e: h.e}
}

func (h stackLog) WithGroup(name string) slog.Handler {
	return stackLog{next: h.next.WithGroup(name), e: h.e}
}
