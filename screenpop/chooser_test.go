package screenpop_test

import (
	"path/filepath"
	"testing"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/script"
	"github.com/tamas-cc/tamas/screenpop"
)

func TestScriptChooserPrefersRulesThenScripts(t *testing.T) {
	set, err := script.LoadDir(filepath.Join("..", "configs", "scripts"))
	if err != nil {
		t.Fatal(err)
	}
	c := screenpop.Chooser{Set: set}
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
	c.Rules = screenpop.ScriptRules{{Line: "Sales line", Script: "custom", Title: "Custom"}}
	if ref := c.Choose(unknown); ref == nil || ref.ID != "custom" {
		t.Fatalf("a configured rule did not win: %+v", ref)
	}
}
