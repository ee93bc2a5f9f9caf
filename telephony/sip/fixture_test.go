package sip

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
)

// The testdata/*.messages.log files are SIP messages exchanged by a real
// Asterisk 22 and SIPp, in SIPp's message-log format: each message follows
// a dashed line with a timestamp and a "UDP message sent/received" line.

type fixtureMsg struct {
	sent bool // sent by SIPp (so received by Asterisk)
	raw  []byte
}

func loadFixture(t testing.TB, name string) []fixtureMsg {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var out []fixtureMsg
	for _, block := range bytes.Split(data, []byte("----------------------------------------------- ")) {
		_, rest, ok := bytes.Cut(block, []byte("\n")) // timestamp line
		if !ok {
			continue
		}
		kind, msg, ok := bytes.Cut(rest, []byte("\n"))
		if !ok || !bytes.Contains(kind, []byte("UDP message")) {
			continue
		}
		msg = bytes.TrimLeft(msg, "\n")
		msg = trimFixtureMessage(msg)
		out = append(out, fixtureMsg{sent: bytes.Contains(kind, []byte("sent")), raw: msg})
	}
	if len(out) == 0 {
		t.Fatalf("%s: no messages", name)
	}
	return out
}

// trimFixtureMessage drops the log's blank lines after a message's body.
func trimFixtureMessage(msg []byte) []byte {
	head, body, ok := bytes.Cut(msg, []byte("\r\n\r\n"))
	if !ok {
		return msg
	}
	m, err := sipmsg.ParseMessage(msg)
	if err != nil || m.ContentLength() == nil {
		return msg
	}
	n := int(*m.ContentLength())
	if n > len(body) {
		n = len(body)
	}
	return append(append(head, "\r\n\r\n"...), body[:n]...)
}

// fixtureInvites returns the initial INVITEs (no To tag) of a fixture.
func fixtureInvites(t testing.TB, name string) []*sipmsg.Request {
	t.Helper()
	var out []*sipmsg.Request
	for _, m := range loadFixture(t, name) {
		if !bytes.HasPrefix(m.raw, []byte("INVITE ")) {
			continue
		}
		msg, err := sipmsg.ParseMessage(m.raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		req := msg.(*sipmsg.Request)
		if _, tagged := req.To().Params.Get("tag"); tagged {
			continue
		}
		out = append(out, req)
	}
	return out
}

// fixtureRequest returns the raw text of the first message of a fixture
// starting with prefix, ready to replay: Via asks for rport so that the
// answer comes back to the test's socket, not to the recorded port.
func fixtureRequest(t testing.TB, name, prefix string) string {
	t.Helper()
	for _, m := range loadFixture(t, name) {
		if bytes.HasPrefix(m.raw, []byte(prefix)) {
			return withRport(string(m.raw))
		}
	}
	t.Fatalf("%s: no %q", name, prefix)
	return ""
}

func withRport(raw string) string {
	lines := strings.Split(raw, "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "Via:") && !strings.Contains(l, "rport") {
			lines[i] = strings.Replace(l, ";branch=", ";rport;branch=", 1)
			break
		}
	}
	return strings.Join(lines, "\r\n")
}
