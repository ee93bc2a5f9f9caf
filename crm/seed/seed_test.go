package seed_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/seed"
	"github.com/tamas-cc/tamas/crm/sqlite/sqlitetest"
)

func TestDeterministic(t *testing.T) {
	a, b := seed.New(9), seed.New(9)
	for i := range 200 {
		if !reflect.DeepEqual(a.Contact(i), b.Contact(i)) {
			t.Fatalf("contact %d differs between two generators with one seed", i)
		}
	}
	if reflect.DeepEqual(seed.New(1).Contact(3), seed.New(2).Contact(3)) {
		t.Error("different seeds gave the same contact")
	}
}

// The mix the demo and the benchmarks rely on: unique personal numbers that
// all normalise, US numbers with and without a country code, Persian
// digits and names, people sharing their company's line.
func TestMix(t *testing.T) {
	g := seed.New(1)
	norm, _ := phone.New("IR")
	const n = 40_000
	seen := make(map[string]int, n)
	var us, usNoCC, persianDigits, persianNames, shared, orgs int
	for i := range n {
		c := g.Contact(i)
		if c.Kind == crm.KindOrganization {
			orgs++
			continue
		}
		raw := c.Phones[0].Raw
		num := norm.Parse(raw)
		if num.Class != phone.Valid && !(num.Class == phone.Invalid && len(num.National) >= 10) {
			t.Fatalf("contact %d: %q is %s", i, raw, num.Class)
		}
		key := num.National
		if j, dup := seen[key]; dup {
			t.Fatalf("contacts %d and %d share the personal number %s", j, i, key)
		}
		seen[key] = i
		if num.CountryCode == 1 || (num.Class == phone.Valid && !num.HasCountryCode && num.CountryCode != 98) {
			us++
		}
		if raw[0] != '+' && len(num.National) == 10 && raw[0] != '0' && raw[0] < 0x80 {
			usNoCC++
		}
		if raw != phone.ASCIIDigits(raw) {
			persianDigits++
		}
		if c.FirstName != "" && c.FirstName[0] >= 0x80 {
			persianNames++
		}
		if len(c.Phones) == 2 {
			shared++
			if c.Phones[1].Raw != g.MainNumber(seed.OrgOf(i)) {
				t.Fatalf("contact %d's work line is not its company's", i)
			}
		}
	}
	people := n - orgs
	for name, got := range map[string]int{"US": us, "without country code": usNoCC, "Persian digits": persianDigits,
		"Persian names": persianNames, "shared company line": shared} {
		if got < people/50 {
			t.Errorf("%s: only %d of %d people", name, got, people)
		}
	}
	if orgs != n/seed.OrgEvery {
		t.Errorf("organizations = %d, want %d", orgs, n/seed.OrgEvery)
	}
}

func TestSeedIntoStore(t *testing.T) {
	ctx := context.Background()
	norm, _ := phone.New("IR")
	d := crm.NewDirectory(sqlitetest.New(t), norm)
	var calls []int
	st, err := seed.Seed(ctx, d, seed.New(3), 1000, 300, func(done int) { calls = append(calls, done) })
	if err != nil {
		t.Fatal(err)
	}
	if st.People+st.Organizations != 1000 || st.Organizations != 125 {
		t.Errorf("stats = %+v", st)
	}
	if !reflect.DeepEqual(calls, []int{300, 600, 900, 1000}) {
		t.Errorf("progress = %v", calls)
	}
	// A member's company link survives across batches, and the shared
	// switchboard finds both the person and the company.
	g := seed.New(3)
	for i := 1; i < 1000; i++ {
		c := g.Contact(i)
		if len(c.Phones) != 2 {
			continue
		}
		r, err := d.Lookup(ctx, c.Phones[1].Raw)
		if err != nil {
			t.Fatal(err)
		}
		var person, org bool
		for _, m := range r.Matches {
			person = person || m.Contact.Kind == crm.KindPerson
			org = org || m.Contact.Kind == crm.KindOrganization
		}
		if !person || !org || r.Matches[len(r.Matches)-1].Contact.Kind != crm.KindOrganization {
			t.Fatalf("shared line %q: %+v", c.Phones[1].Raw, r.Matches)
		}
		return
	}
	t.Fatal("no shared line seeded")
}
