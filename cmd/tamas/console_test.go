package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/script"
	"github.com/tamas-cc/tamas/screenpop"
)

func TestScriptChooserPrefersRulesThenScripts(t *testing.T) {
	set, err := script.LoadDir(filepath.Join("..", "..", "configs", "scripts"))
	if err != nil {
		t.Fatal(err)
	}
	c := scriptChooser{set: set}
	unknown := &screenpop.Pop{Call: screenpop.CallInfo{Line: "Sales line"}}
	customer := &screenpop.Pop{Call: screenpop.CallInfo{Line: "Sales line"},
		Matches: []screenpop.Match{{Contact: crm.ContactSummary{Status: crm.StatusCustomer}}}}
	support := &screenpop.Pop{Call: screenpop.CallInfo{Line: "Support line"},
		Matches: []screenpop.Match{{Contact: crm.ContactSummary{Status: crm.StatusCustomer}}}}
	for _, tc := range []struct {
		p    *screenpop.Pop
		want string
	}{{unknown, "inbound-sales"}, {customer, "after-sale"}, {support, "support-triage"}} {
		if ref := c.Choose(tc.p); ref == nil || ref.ID != tc.want || ref.Title == "" {
			t.Errorf("line %q: %+v, want %s", tc.p.Call.Line, ref, tc.want)
		}
	}
	c.rules = screenpop.ScriptRules{{Line: "Sales line", Script: "custom", Title: "Custom"}}
	if ref := c.Choose(unknown); ref == nil || ref.ID != "custom" {
		t.Fatalf("a configured rule did not win: %+v", ref)
	}
}

func TestBrokenScriptStopsTheStart(t *testing.T) {
	dir := t.TempDir()
	bad := "id: x\nversion: 1\ntitle: X\nlang: en\nsteps:\n  - id: a\n    say: hi {{customer.password}}\n    next: a\n"
	if err := os.WriteFile(filepath.Join(dir, "x.yaml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	r := tamasEnv(t, context.Background(), t.TempDir(), "", []string{"TAMAS_CONSOLE_SCRIPTS_DIR=" + dir}, "serve")
	if r.code != 1 || !strings.Contains(r.stderr, "x.yaml:6:") || !strings.Contains(r.stderr, "customer.password") {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
}
