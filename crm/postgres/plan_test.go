package postgres

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tamas-cc/tamas/crm"
)

// TestPlansUseIndexes checks that lookups and list filters can run on
// index conditions alone: no sequential scan, no index walked end to end.
// On a test-sized table the planner rightly prefers reading it whole, so the
// whole-table strategies (sequential scans, hash and merge joins) are priced
// out; a plan that still reads a whole table or index has no alternative
// and would do the same on a real CRM.
func TestPlansUseIndexes(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds a few thousand contacts")
	}
	u := freshSchema(t)
	ctx := testCtx(t)
	s, err := Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tx, err := s.BeginImport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Organizations are spread through the ID range, each with a few
	// dozen members, as in a real CRM.
	var org *crm.Contact
	for i := range planRows {
		nat := fmt.Sprintf("912%07d", i)
		var c *crm.Contact
		if i%50 == 0 {
			c = &crm.Contact{Kind: crm.KindOrganization, Name: fmt.Sprint("Org", i), Status: crm.StatusLead,
				Phones: []crm.Phone{phoneOf("+98"+nat, nat, true)}}
		} else {
			c = &crm.Contact{Kind: crm.KindPerson, FirstName: fmt.Sprint("First", i), LastName: fmt.Sprint("Last", i),
				Status: crm.StatusLead, Tags: []string{fmt.Sprint("t", i%500)}, Organizations: []crm.OrgRef{{ID: org.ID}},
				Phones: []crm.Phone{phoneOf("+98"+nat, nat, i%2 == 0), phoneOf("", "55"+nat, true)}}
		}
		if err := tx.CreateContact(ctx, c); err != nil {
			t.Fatal(err)
		}
		if c.Kind == crm.KindOrganization {
			org = c
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "ANALYZE; SET enable_seqscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off"); err != nil {
		t.Fatal(err)
	}
	explain := func(sql string, args ...any) string {
		t.Helper()
		// The simple protocol sends the values inlined, as EXPLAIN needs.
		rows, err := conn.Query(ctx, "EXPLAIN "+sql, append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...)
		if err != nil {
			t.Fatalf("explain: %v", err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("explain: %v", err)
		}
		return strings.Join(lines, "\n")
	}
	check := func(name, plan string, indexes ...string) {
		t.Helper()
		if bad := fullScans(plan); len(bad) > 0 {
			t.Errorf("%s reads whole tables or indexes (%s):\n%s", name, strings.Join(bad, "; "), plan)
		}
		for _, ix := range indexes {
			if !strings.Contains(plan, ix) {
				t.Errorf("%s does not use %s:\n%s", name, ix, plan)
			}
		}
	}

	key := []any{"+989120000042", "9120000042", "20000042", crm.MaxMatches}
	check("lookup", explain(matchSQL, key...), "phones_e164", "phones_national", "phones_tail")
	// Prepared statements may switch to a generic plan, made without the
	// parameters' values: it must use the indexes too.
	if _, err := conn.Exec(ctx, "SET plan_cache_mode = force_generic_plan; PREPARE m AS "+matchSQL); err != nil {
		t.Fatal(err)
	}
	check("generic lookup", explain("EXECUTE m($1, $2, $3, $4)", key...), "phones_e164", "phones_national", "phones_tail")
	if _, err := conn.Exec(ctx, "RESET plan_cache_mode"); err != nil {
		t.Fatal(err)
	}

	ub := crm.PrefixUpperBound("last4")
	check("name prefix", explain(contactSelect+` WHERE c.deleted_at IS NULL AND c.id > 0 AND
		((c.search_name >= $1 AND c.search_name < $2) OR (c.search_last >= $1 AND c.search_last < $2)) ORDER BY c.id LIMIT 500`,
		"last4", ub), "contacts_search_name", "contacts_search_last")
	// A rare tag: a common one is rightly read in ID order off the
	// primary key, filtering as it goes.
	check("tag", explain(contactSelect+` WHERE c.deleted_at IS NULL AND c.id > 0 AND c.tags @> ARRAY[$1::text]
		ORDER BY c.id LIMIT 500`, "t3"), "contacts_tags")
	check("organization", explain(contactSelect+` WHERE c.deleted_at IS NULL AND c.id > 0 AND
		c.id IN (SELECT person_id FROM memberships WHERE org_id = $1) ORDER BY c.id LIMIT 500`, org.ID), "memberships_org")
	check("contact by phone", explain(`SELECT p.contact_id FROM phones p
		JOIN contacts c ON c.id = p.contact_id AND c.deleted_at IS NULL AND c.kind = $1
		WHERE p.e164 = $2 ORDER BY p.contact_id LIMIT 1`, "person", "+989120000042"), "phones_e164")
	check("organization by name", explain(`SELECT id FROM contacts
		WHERE search_name = $1 AND name = $2 AND kind = 'organization' AND deleted_at IS NULL ORDER BY id LIMIT 1`,
		"org", "Org"), "contacts_search_name")
}

const planRows = 1000

// fullScans returns the plan nodes that read a whole table or index: a
// sequential scan, or an index scan with no index condition.
func fullScans(plan string) []string {
	var bad []string
	lines := strings.Split(plan, "\n")
	for i, l := range lines {
		node := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "->"))
		switch {
		case strings.HasPrefix(node, "Seq Scan"):
			bad = append(bad, node)
		case strings.Contains(node, "Index Scan") || strings.Contains(node, "Index Only Scan"):
			cond := false
			for _, d := range lines[i+1:] {
				d = strings.TrimSpace(d)
				if strings.HasPrefix(d, "->") || strings.HasPrefix(d, "SubPlan") {
					break
				}
				if strings.HasPrefix(d, "Index Cond:") {
					cond = true
				}
			}
			if !cond {
				bad = append(bad, node)
			}
		}
	}
	return bad
}
