package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestScriptsCheck(t *testing.T) {
	data := t.TempDir()
	r := tamas(t, context.Background(), data, "", "scripts", "check", "../../configs/scripts")
	if r.code != 0 || strings.Count(r.stdout, "ok  ") != 6 || !strings.Contains(r.stdout, "inbound-sales") {
		t.Fatalf("the shipped scripts: %+v", r)
	}
	bad := t.TempDir()
	script := "id: x\nversion: 1\ntitle: X\nlang: en\nstart: a\nsteps:\n  - id: a\n    say: hello {{customer.password}}\n    next: b\n" +
		"  - id: b\n    outcome: {disposition: sold-a-yacht}\n"
	if err := os.WriteFile(filepath.Join(bad, "x.en.yaml"), []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	r = tamas(t, context.Background(), data, "", "scripts", "check", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "x.en.yaml:7") || !strings.Contains(r.stderr, "customer.password") {
		t.Fatalf("a broken script: %+v", r)
	}
	if err := os.WriteFile(filepath.Join(bad, "x.en.yaml"), []byte(strings.Replace(script, " {{customer.password}}", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	r = tamas(t, context.Background(), data, "", "scripts", "check", bad)
	if r.code != 1 || !strings.Contains(r.stderr, `"sold-a-yacht", which is not configured`) {
		t.Fatalf("an unconfigured disposition: %+v", r)
	}
	// An option listed twice and a step that leads to itself, each at its
	// line, in one run.
	twice := "id: y\nversion: 1\ntitle: Y\nlang: en\nsteps:\n  - id: a\n    question:\n      text: Which?\n      type: single\n" +
		"      options: [red, blue, red]\n    next: b\n  - id: b\n    say: again\n    next: b\n"
	if err := os.WriteFile(filepath.Join(bad, "x.en.yaml"), []byte(twice), 0o600); err != nil {
		t.Fatal(err)
	}
	r = tamas(t, context.Background(), data, "", "scripts", "check", bad)
	if r.code != 1 || !strings.Contains(r.stderr, `x.en.yaml:10: step "a": option "red" is listed twice`) ||
		!strings.Contains(r.stderr, `x.en.yaml:14: step "b" leads to itself: next "b"`) {
		t.Fatalf("an option twice and a step leading to itself: %+v", r)
	}
	if r := tamas(t, context.Background(), data, "", "scripts"); r.code != 2 {
		t.Fatalf("no subcommand: %+v", r)
	}
}
