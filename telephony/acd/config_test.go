package acd_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tamas-cc/tamas/telephony/acd"
)

const sample = `
queues:
  - name: sales
    lines: ["+4930123456", sales-line]
    strategy: skills
    members: [ada, bob, cat]
    skill:
      name: sales
      min_level: 5
      widen:
        - {after: 30s, min_level: 3}
        - {after: 1m, min_level: 1}
    music: gentle
    announce_every: 45s
    ring_timeout: 15s
    max_wait: 5m
    overflow: {kind: queue, target: support}
    wrapup: 20s
    priority:
      - {tag: vip, ahead: 2m}
      - {segment: gold, ahead: 30s}
      - {status: overdue, ahead: 10s}
    max_misses: 3
  - name: support
    lines: ["+4930999"]
    strategy: ring_all
    members: [dan, eve]
    ring_timeout: 20s
    max_wait: 10m
    overflow: {kind: voicemail, target: "support@default"}
`

func load(t *testing.T) acd.Config {
	t.Helper()
	var c acd.Config
	if err := yaml.Unmarshal([]byte(sample), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConfigFromYAML(t *testing.T) {
	c := load(t)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	q := c.Queues[0]
	if q.Name != "sales" || q.Strategy != acd.BestSkill || len(q.Lines) != 2 || q.Skill.MinLevel != 5 ||
		q.Skill.Widen[1] != (acd.Widen{After: time.Minute, MinLevel: 1}) || q.Music != "gentle" ||
		q.AnnounceEvery != 45*time.Second || q.RingTimeout != 15*time.Second || q.MaxWait != 5*time.Minute ||
		q.Overflow != (acd.Overflow{Kind: acd.OverflowQueue, Target: "support"}) || q.WrapUp != 20*time.Second ||
		q.Priority[0] != (acd.PriorityRule{Tag: "vip", Ahead: 2 * time.Minute}) || q.MaxMisses != 3 {
		t.Fatalf("sales queue: %+v", q)
	}
	for w, want := range map[time.Duration]int{0: 5, 29 * time.Second: 5, 30 * time.Second: 3, 59 * time.Second: 3, time.Hour: 1} {
		if got := q.MinLevel(w); got != want {
			t.Errorf("min level after %v = %d, want %d", w, got, want)
		}
	}
	for _, tc := range []struct {
		f    acd.Facts
		want time.Duration
	}{
		{acd.Facts{}, 0},
		{acd.Facts{Tags: []string{"new", "VIP"}}, 2 * time.Minute},
		{acd.Facts{Segment: "Gold"}, 30 * time.Second},
		{acd.Facts{Status: "overdue", Segment: "gold"}, 30 * time.Second},
		{acd.Facts{Tags: []string{"vip"}, Segment: "gold", Status: "overdue"}, 2 * time.Minute},
		{acd.Facts{Segment: "silver", Status: "paid"}, 0},
	} {
		if got := q.Ahead(tc.f); got != tc.want {
			t.Errorf("ahead of %+v = %v, want %v", tc.f, got, tc.want)
		}
	}
}

func TestConfigValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		field string
		edit  func(c *acd.Config)
	}{
		{"queues[0].name", func(c *acd.Config) { c.Queues[0].Name = "" }},
		{"queues[1].name", func(c *acd.Config) { c.Queues[1].Name = "sales" }},
		{"queues[0].name", func(c *acd.Config) { c.Queues[0].Name = "sales queue" }},
		{"queues[0].lines[1]", func(c *acd.Config) { c.Queues[0].Lines[1] = " " }},
		{"queues[1].lines[0]", func(c *acd.Config) { c.Queues[1].Lines[0] = "+4930123456" }},
		{"queues[0].strategy", func(c *acd.Config) { c.Queues[0].Strategy = "fastest" }},
		{"queues[1].strategy", func(c *acd.Config) { c.Queues[1].Strategy = "" }},
		{"queues[0].members[2]", func(c *acd.Config) { c.Queues[0].Members[2] = "ada" }},
		{"queues[0].members[1]", func(c *acd.Config) { c.Queues[0].Members[1] = "b,ob" }},
		{"queues[1].members", func(c *acd.Config) { c.Queues[1].Members = nil }},
		{"queues[0].skill.name", func(c *acd.Config) { c.Queues[0].Skill = acd.SkillNeed{} }},
		{"queues[0].skill.min_level", func(c *acd.Config) { c.Queues[0].Skill.MinLevel = 0 }},
		{"queues[0].skill.min_level", func(c *acd.Config) { c.Queues[0].Skill.MinLevel = 101 }},
		{"queues[0].skill.widen[1].after", func(c *acd.Config) { c.Queues[0].Skill.Widen[1].After = 30 * time.Second }},
		{"queues[0].skill.widen[0].min_level", func(c *acd.Config) { c.Queues[0].Skill.Widen[0].MinLevel = 5 }},
		{"queues[0].skill.widen[1].min_level", func(c *acd.Config) { c.Queues[0].Skill.Widen[1].MinLevel = 0 }},
		{"queues[1].skill.name", func(c *acd.Config) { c.Queues[1].Skill.MinLevel = 3 }},
		{"queues[0].announce_every", func(c *acd.Config) { c.Queues[0].AnnounceEvery = -time.Second }},
		{"queues[0].announce_every", func(c *acd.Config) { c.Queues[0].AnnounceEvery = 45 }},
		{"queues[0].ring_timeout", func(c *acd.Config) { c.Queues[0].RingTimeout = 0 }},
		{"queues[0].max_wait", func(c *acd.Config) { c.Queues[0].MaxWait = -1 }},
		{"queues[0].overflow", func(c *acd.Config) { c.Queues[0].MaxWait = 0 }},
		{"queues[1].overflow.kind", func(c *acd.Config) { c.Queues[1].Overflow.Kind = "hangup" }},
		{"queues[1].overflow.target", func(c *acd.Config) { c.Queues[1].Overflow.Target = "" }},
		{"queues[0].overflow.target", func(c *acd.Config) { c.Queues[0].Overflow.Target = "sales" }},
		{"queues[0].overflow.target", func(c *acd.Config) { c.Queues[0].Overflow.Target = "billing" }},
		{"queues[0].overflow.target", func(c *acd.Config) {
			c.Queues[1].Overflow = acd.Overflow{Kind: acd.OverflowQueue, Target: "sales"}
		}},
		{"queues[0].wrapup", func(c *acd.Config) { c.Queues[0].WrapUp = -time.Second }},
		{"queues[0].priority[1]", func(c *acd.Config) { c.Queues[0].Priority[1].Tag = "gold" }},
		{"queues[0].priority[2]", func(c *acd.Config) { c.Queues[0].Priority[2].Status = "" }},
		{"queues[0].priority[0].ahead", func(c *acd.Config) { c.Queues[0].Priority[0].Ahead = 0 }},
		{"queues[0].max_misses", func(c *acd.Config) { c.Queues[0].MaxMisses = -1 }},
	} {
		c := load(t)
		tc.edit(&c)
		err := c.Validate()
		var fe *acd.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("want an error on %s, got %v", tc.field, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.field) {
			t.Errorf("error %q does not name %s", err, tc.field)
		}
	}
}

func TestQueueValidateAlone(t *testing.T) {
	q := acd.Queue{Name: "q", Strategy: acd.RoundRobin, Members: []string{"ada"}, RingTimeout: time.Second}
	if err := q.Validate(); err != nil {
		t.Fatal(err)
	}
	q.RingTimeout = 0
	var fe *acd.FieldError
	if err := q.Validate(); !errors.As(err, &fe) || fe.Field != "ring_timeout" {
		t.Fatalf("got %v, want an error on ring_timeout", err)
	}
}
