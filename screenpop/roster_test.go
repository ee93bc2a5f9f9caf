package screenpop_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/tamas-cc/tamas/screenpop"
	"github.com/tamas-cc/tamas/screenpop/membus"
)

// A wrap-up's state change is recorded and told to supervisors and to the
// agent's other consoles.
func TestPresence(t *testing.T) {
	ctx := context.Background()
	bus := membus.New(screenpop.Retention{})
	defer bus.Close()
	p := screenpop.Presence{Roster: screenpop.NewRoster(), Publisher: bus}
	if got := p.State("sara"); got != "offline" {
		t.Fatalf("an agent never seen is %q", got)
	}
	if err := p.SetState(ctx, "sara", "wrapup"); err != nil {
		t.Fatal(err)
	}
	if got := p.State("sara"); got != "wrapup" {
		t.Fatalf("after SetState: %q", got)
	}
	for _, ch := range []string{screenpop.SupervisorChannel, screenpop.UserChannel("sara")} {
		ms, _, err := bus.History(ctx, ch, "", 0, 0)
		if err != nil || len(ms) != 1 {
			t.Fatalf("%s: %d messages (%v)", ch, len(ms), err)
		}
		var env screenpop.Envelope
		if err := json.Unmarshal(ms[0].Data, &env); err != nil || env.Kind != "agent_state" || env.Agent == nil ||
			env.Agent.Username != "sara" || env.Agent.State != screenpop.WrapUp {
			t.Fatalf("%s: %s (%v)", ch, ms[0].Data, err)
		}
	}
	if err := p.SetState(ctx, "sara", "napping"); err == nil || p.State("sara") != "wrapup" {
		t.Fatalf("an unknown state: %v, now %q", err, p.State("sara"))
	}
	quiet := screenpop.Presence{Roster: p.Roster}
	if err := quiet.SetState(ctx, "sara", "available"); err != nil || p.State("sara") != "available" {
		t.Fatalf("without a publisher: %v, now %q", err, p.State("sara"))
	}
}
