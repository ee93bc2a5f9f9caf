package sip

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/internal/testkit"
	"github.com/tamas-cc/tamas/telephony"
)

// TestSIPpCallsTheEndpoint has SIPp (a third-party SIP stack) play the PBX:
// INVITEs with a P-Asserted-Identity tel: URI, then CANCEL, at 20 calls/s.
func TestSIPpCallsTheEndpoint(t *testing.T) {
	sipp, err := exec.LookPath("sipp")
	if err != nil {
		testkit.Unavailable(t, "sipp not installed (Debian package sip-tester)")
	}
	h := start(t, func(c *Config) { c.TrustedPAI = []string{"127.0.0.1"} })
	_, port, _ := net.SplitHostPort(h.udp)

	const calls = 20
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sipp, "127.0.0.1:"+port, "-sf", "testdata/sipp_invite_cancel.xml",
		"-s", "18005550100", "-i", "127.0.0.1", "-m", strconv.Itoa(calls), "-r", "20",
		"-nostdin", "-timeout", "20s", "-timeout_error")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sipp: %v\n%s", err, out)
	}

	started, ended := 0, 0
	for started+ended < 2*calls {
		ev := h.next(t)
		switch ev.Type {
		case telephony.CallStarted:
			started++
			if ev.Call.Caller.Number != "+14155550199" || ev.Call.Caller.Name != "Asserted" || ev.Call.DNIS != "18005550100" {
				t.Errorf("call %s: caller %+v, DNIS %q", ev.Call.ID, ev.Call.Caller, ev.Call.DNIS)
			}
		case telephony.Ended:
			ended++
			if ev.Cause != telephony.CauseOriginatorCancel {
				t.Errorf("call %s ended %q", ev.Call.ID, ev.Cause)
			}
		}
	}
	h.quiet(t, 100*time.Millisecond)
}
