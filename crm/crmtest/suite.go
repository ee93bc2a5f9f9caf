// Package crmtest is the conformance suite every crm.Store must pass. Each
// store's tests call Run with a constructor for a fresh, migrated, empty
// store, so SQLite and PostgreSQL are held to the same behaviour.
package crmtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
)

// NewStore returns a fresh, migrated, empty store; the suite closes it.
type NewStore func(t *testing.T) crm.Store

// Run runs the suite.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, d *crm.Directory)
	}{
		{"CreateGetRoundTrip", testRoundTrip},
		{"Update", testUpdate},
		{"SoftDelete", testSoftDelete},
		{"Memberships", testMemberships},
		{"LookupFormats", testLookupFormats},
		{"LookupRanking", testLookupRanking},
		{"LookupTiers", testLookupTiers},
		{"LookupWithheld", testLookupWithheld},
		{"MatchLimit", testMatchLimit},
		{"List", testList},
		{"EachContactPages", testEachContact},
		{"ImportTx", testImportTx},
		{"ConcurrentReadWrite", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			norm, err := phone.New("IR")
			if err != nil {
				t.Fatal(err)
			}
			tc.fn(t, crm.NewDirectory(s, norm))
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func create(t *testing.T, d *crm.Directory, c *crm.Contact) *crm.Contact {
	t.Helper()
	if err := d.Create(ctx(t), c); err != nil {
		t.Fatalf("create %s: %v", c.DisplayName(), err)
	}
	if c.ID == 0 {
		t.Fatalf("create %s: no id assigned", c.DisplayName())
	}
	return c
}

func person(first, last string, numbers ...string) *crm.Contact {
	c := &crm.Contact{Kind: crm.KindPerson, FirstName: first, LastName: last}
	for _, n := range numbers {
		c.Phones = append(c.Phones, crm.Phone{Label: crm.LabelMobile, Raw: n})
	}
	return c
}

func org(name string, numbers ...string) *crm.Contact {
	c := &crm.Contact{Kind: crm.KindOrganization, Name: name}
	for _, n := range numbers {
		c.Phones = append(c.Phones, crm.Phone{Label: crm.LabelMain, Raw: n})
	}
	return c
}

func ids(ms []crm.Match) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.Contact.ID
	}
	return out
}

func testRoundTrip(t *testing.T, d *crm.Directory) {
	in := &crm.Contact{
		Kind: crm.KindPerson, FirstName: "سارا", LastName: "<b>Ahmadi</b>", Status: crm.StatusQualified,
		Owner: "agent1000", Tags: []string{"VIP", "vip", " tehran "},
		Phones: []crm.Phone{{Label: crm.LabelMobile, Raw: "0912 123 4567"}, {Label: crm.LabelWork, Raw: "+1 415 555 0123 x12"}},
		Emails: []crm.Email{{Label: "work", Address: "sara@example.com"}},
		Custom: json.RawMessage(`{"segment":"gold","score":7}`),
		Notes:  "prefers mornings\nسلام",
	}
	create(t, d, in)
	got, err := d.Store().GetContact(ctx(t), in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.FirstName != "سارا" || got.LastName != "<b>Ahmadi</b>" || got.Status != crm.StatusQualified || got.Owner != "agent1000" {
		t.Errorf("fields differ: %+v", got)
	}
	if fmt.Sprint(got.Tags) != "[vip tehran]" {
		t.Errorf("tags = %v, want [vip tehran] (lower-cased, de-duplicated, trimmed)", got.Tags)
	}
	if len(got.Phones) != 2 || got.Phones[0].E164 != "+989121234567" || got.Phones[1].E164 != "+14155550123" ||
		got.Phones[1].Ext != "12" || got.Phones[1].Label != crm.LabelWork || got.Phones[0].HasCountryCode || !got.Phones[1].HasCountryCode {
		t.Errorf("phones = %+v", got.Phones)
	}
	if len(got.Emails) != 1 || got.Emails[0].Address != "sara@example.com" {
		t.Errorf("emails = %+v", got.Emails)
	}
	var custom map[string]any
	if err := json.Unmarshal(got.Custom, &custom); err != nil || custom["segment"] != "gold" {
		t.Errorf("custom = %s (%v)", got.Custom, err)
	}
	if got.Notes != in.Notes {
		t.Errorf("notes = %q", got.Notes)
	}
	if got.CreatedAt.IsZero() || got.UpdatedAt.Before(got.CreatedAt) || got.DeletedAt != nil {
		t.Errorf("times: created %v updated %v deleted %v", got.CreatedAt, got.UpdatedAt, got.DeletedAt)
	}
	if _, err := d.Store().GetContact(ctx(t), in.ID+1000); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("get missing: %v, want ErrNotFound", err)
	}
}

func testUpdate(t *testing.T, d *crm.Directory) {
	c := create(t, d, person("Ali", "Rezaei", "09121111111"))
	created := c.CreatedAt
	time.Sleep(5 * time.Millisecond)
	c.Phones = []crm.Phone{{Label: crm.LabelHome, Raw: "021 8888 1234"}}
	c.Status = crm.StatusCustomer
	c.Tags = []string{"renewal"}
	if err := d.Update(ctx(t), c); err != nil {
		t.Fatal(err)
	}
	got, err := d.Store().GetContact(ctx(t), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Phones) != 1 || got.Phones[0].E164 != "+982188881234" || got.Status != crm.StatusCustomer ||
		fmt.Sprint(got.Tags) != "[renewal]" {
		t.Errorf("after update: %+v", got)
	}
	if !got.CreatedAt.Equal(created) || !got.UpdatedAt.After(created) {
		t.Errorf("created %v → %v, updated %v", created, got.CreatedAt, got.UpdatedAt)
	}
	// The old number no longer finds the contact; the new one does.
	if r, _ := d.Lookup(ctx(t), "09121111111"); len(r.Matches) != 0 {
		t.Errorf("old number still matches: %v", ids(r.Matches))
	}
	if r, _ := d.Lookup(ctx(t), "+982188881234"); len(r.Matches) != 1 || r.Matches[0].Contact.ID != c.ID {
		t.Errorf("new number: %v", r.Matches)
	}
	c.ID += 1000
	if err := d.Update(ctx(t), c); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("update missing: %v", err)
	}
}

func testSoftDelete(t *testing.T, d *crm.Directory) {
	c := create(t, d, person("Reza", "Karimi", "09122222222"))
	if err := d.Store().DeleteContact(ctx(t), c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Store().GetContact(ctx(t), c.ID); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("get deleted: %v", err)
	}
	if err := d.Store().DeleteContact(ctx(t), c.ID); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	if r, err := d.Lookup(ctx(t), "09122222222"); err != nil || len(r.Matches) != 0 {
		t.Errorf("lookup deleted: %v %v", r.Matches, err)
	}
	if l, _ := d.Store().ListContacts(ctx(t), crm.ContactQuery{NamePrefix: "reza"}); len(l) != 0 {
		t.Errorf("list shows deleted: %v", l)
	}
	if err := d.Update(ctx(t), c); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("update deleted: %v", err)
	}
}

func testMemberships(t *testing.T, d *crm.Directory) {
	acme := create(t, d, org("Acme Trading", "021 4444 5555"))
	p := person("Maryam", "Hosseini", "0935 123 4567")
	p.Organizations = []crm.OrgRef{{ID: acme.ID}, {ID: acme.ID}} // listed twice: once is kept
	create(t, d, p)
	got, err := d.Store().GetContact(ctx(t), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Organizations) != 1 || got.Organizations[0].ID != acme.ID || got.Organizations[0].Name != "Acme Trading" {
		t.Errorf("organizations = %+v", got.Organizations)
	}
	members, err := d.Store().ListContacts(ctx(t), crm.ContactQuery{OrganizationID: acme.ID})
	if err != nil || len(members) != 1 || members[0].ID != p.ID {
		t.Errorf("members = %v (%v)", members, err)
	}
	r, err := d.Lookup(ctx(t), "+989351234567")
	if err != nil || len(r.Matches) != 1 || len(r.Matches[0].Contact.Organizations) != 1 ||
		r.Matches[0].Contact.Organizations[0].Name != "Acme Trading" {
		t.Errorf("lookup summary orgs: %+v %v", r.Matches, err)
	}
	bad := person("No", "Org")
	bad.Organizations = []crm.OrgRef{{ID: acme.ID + 999}}
	var fe *crm.FieldError
	if err := d.Create(ctx(t), bad); !errors.As(err, &fe) || fe.Field != "organizations[0]" {
		t.Errorf("unknown organization: %v", err)
	}
	if l, _ := d.Store().ListContacts(ctx(t), crm.ContactQuery{NamePrefix: "No Org"}); len(l) != 0 {
		t.Errorf("failed create left a row: %v", l)
	}
}

func testLookupFormats(t *testing.T, d *crm.Directory) {
	c := create(t, d, person("Nima", "Tehrani", "0912 345 6789"))
	for _, raw := range []string{"+989123456789", "09123456789", "00989123456789", "۰۹۱۲۳۴۵۶۷۸۹", "٠٩١٢٣٤٥٦٧٨٩",
		"0912-345-6789", "(0912) 345 6789", "+98 (912) 345-6789"} {
		r, err := d.Lookup(ctx(t), raw)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		if len(r.Matches) != 1 || r.Matches[0].Contact.ID != c.ID || r.Matches[0].How != crm.MatchExact {
			t.Errorf("%q: matches %+v, want exactly contact %d", raw, r.Matches, c.ID)
		}
	}
	if r, _ := d.Lookup(ctx(t), "+989123456780"); len(r.Matches) != 0 {
		t.Errorf("a different number matched: %+v", r.Matches)
	}
}

func testLookupRanking(t *testing.T, d *crm.Directory) {
	const shared = "021 2222 3333"
	company := create(t, d, org("Pars Co", shared))
	older := create(t, d, person("Older", "Colleague", shared))
	newer := create(t, d, person("Newer", "Colleague", shared))
	s := d.Store()
	if err := s.TouchInteraction(ctx(t), older.ID, time.Now().Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchInteraction(ctx(t), newer.ID, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	r, err := d.Lookup(ctx(t), "+982122223333")
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{newer.ID, older.ID, company.ID}
	if fmt.Sprint(ids(r.Matches)) != fmt.Sprint(want) {
		t.Fatalf("order = %v, want %v (people by recency, then the organization)", ids(r.Matches), want)
	}
	// An older touch never moves the clock back.
	if err := s.TouchInteraction(ctx(t), newer.ID, time.Now().Add(-72*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchInteraction(ctx(t), older.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	r, _ = d.Lookup(ctx(t), "+982122223333")
	if want := []int64{older.ID, newer.ID, company.ID}; fmt.Sprint(ids(r.Matches)) != fmt.Sprint(want) {
		t.Errorf("after touch: order = %v, want %v", ids(r.Matches), want)
	}
	if r.Matches[0].Contact.LastInteractionAt == nil {
		t.Errorf("summary lacks last interaction")
	}
	if err := s.TouchInteraction(ctx(t), company.ID+999, time.Now()); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("touch missing: %v", err)
	}
}

func testLookupTiers(t *testing.T, d *crm.Directory) {
	exact := create(t, d, person("Exact", "Match", "+1 415 555 0123"))
	// Stored without a country code in an Iranian CRM: the country is a
	// guess, so a US caller with the same national number matches it too.
	national := create(t, d, person("National", "Match", "415 555 0123"))
	// Not a valid number anywhere, but its last digits agree.
	suffix := create(t, d, person("Suffix", "Match", "+1 995 555 0123"))
	r, err := d.Lookup(ctx(t), "+14155550123")
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{exact.ID, national.ID, suffix.ID}
	if fmt.Sprint(ids(r.Matches)) != fmt.Sprint(want) {
		t.Fatalf("order = %v, want %v; matches %+v", ids(r.Matches), want, r.Matches)
	}
	hows := []crm.MatchHow{crm.MatchExact, crm.MatchNational, crm.MatchSuffix}
	for i, m := range r.Matches {
		if m.How != hows[i] {
			t.Errorf("match %d how = %s, want %s", i, m.How, hows[i])
		}
	}
	if r.Matches[0].Phone.E164 != "+14155550123" || r.Matches[0].Phone.Label != crm.LabelMobile {
		t.Errorf("matched phone = %+v", r.Matches[0].Phone)
	}
	// A caller whose own number is not valid matches every number ending
	// in the same digits — valid or not — and only as a suffix.
	r, err = d.Lookup(ctx(t), "+1 995 555 0123")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids(r.Matches)) != fmt.Sprint(want) {
		t.Fatalf("invalid caller: order = %v, want %v", ids(r.Matches), want)
	}
	for _, m := range r.Matches {
		if m.How != crm.MatchSuffix {
			t.Errorf("invalid caller matched %d as %s", m.Contact.ID, m.How)
		}
	}
}

// testMatchLimit: MatchPhone returns at most the limit asked, and never
// more than crm.MaxMatches; a key with no form matches nobody.
func testMatchLimit(t *testing.T, d *crm.Directory) {
	for i := range crm.MaxMatches + 2 {
		create(t, d, person("Shared", fmt.Sprint("Line ", i), "021 8888 1234"))
	}
	key, ok := crm.PhoneKeyOf(d.Normalizer().Parse("02188881234"))
	if !ok {
		t.Fatal("no key for a valid number")
	}
	for _, c := range []struct{ limit, want int }{{0, crm.MaxMatches}, {-1, crm.MaxMatches}, {3, 3},
		{crm.MaxMatches, crm.MaxMatches}, {crm.MaxMatches + 50, crm.MaxMatches}} {
		m, err := d.Store().MatchPhone(ctx(t), key, c.limit)
		if err != nil || len(m) != c.want {
			t.Errorf("limit %d: %d matches (%v), want %d", c.limit, len(m), err, c.want)
		}
	}
	if m, err := d.Store().MatchPhone(ctx(t), crm.PhoneKey{}, 5); err != nil || len(m) != 0 {
		t.Errorf("empty key: %v %v", m, err)
	}
}

func testLookupWithheld(t *testing.T, d *crm.Directory) {
	create(t, d, person("Some", "One", "09120000000"))
	for _, raw := range []string{"", "anonymous", "Restricted", "1000", "<img src=x onerror=alert(1)>"} {
		r, err := d.Lookup(ctx(t), raw)
		if err != nil || len(r.Matches) != 0 {
			t.Errorf("%q: %v %v", raw, r.Matches, err)
		}
	}
}

func testList(t *testing.T, d *crm.Directory) {
	a := create(t, d, person("Ahmad", "Shams", "09121000001"))
	b := create(t, d, person("ali", "Karimi", "09121000002"))
	fa := create(t, d, person("علی", "کریمی", "09121000003"))
	o := create(t, d, org("Alborz Insurance", "02188000000"))
	b.Tags = []string{"vip"}
	b.Status = crm.StatusCustomer
	if err := d.Update(ctx(t), b); err != nil {
		t.Fatal(err)
	}
	list := func(q crm.ContactQuery) []int64 {
		t.Helper()
		l, err := d.Store().ListContacts(ctx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]int64, len(l))
		for i := range l {
			out[i] = l[i].ID
		}
		return out
	}
	check := func(name string, got, want []int64) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
	check("prefix al", list(crm.ContactQuery{NamePrefix: "AL"}), []int64{b.ID, o.ID})
	check("last name prefix", list(crm.ContactQuery{NamePrefix: "kar"}), []int64{b.ID})
	// Typed with an Arabic yeh and kaf, stored with Persian ones.
	check("persian prefix", list(crm.ContactQuery{NamePrefix: "علي"}), []int64{fa.ID})
	check("persian last", list(crm.ContactQuery{NamePrefix: "كري"}), []int64{fa.ID})
	check("kind", list(crm.ContactQuery{Kind: crm.KindOrganization}), []int64{o.ID})
	check("tag", list(crm.ContactQuery{Tag: "VIP"}), []int64{b.ID})
	check("tag typed with spaces", list(crm.ContactQuery{Tag: " vip "}), []int64{b.ID})
	check("status", list(crm.ContactQuery{Status: crm.StatusCustomer}), []int64{b.ID})
	check("page 1", list(crm.ContactQuery{Limit: 2}), []int64{a.ID, b.ID})
	check("page 2", list(crm.ContactQuery{Limit: 2, AfterID: b.ID}), []int64{fa.ID, o.ID})
	check("no match", list(crm.ContactQuery{NamePrefix: "zz"}), []int64{})
}

func testEachContact(t *testing.T, d *crm.Directory) {
	tx, err := d.Store().BeginImport(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	n := crm.MaxListLimit*2 + 7
	for i := range n {
		c := person("Bulk", fmt.Sprint(i), fmt.Sprintf("0912%07d", i))
		if err := d.Normalize(c); err != nil {
			t.Fatal(err)
		}
		if err := tx.CreateContact(ctx(t), c); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var count int
	var last int64
	err = crm.EachContact(ctx(t), d.Store(), func(c *crm.Contact) error {
		if c.ID <= last {
			return fmt.Errorf("id %d after %d", c.ID, last)
		}
		if len(c.Phones) != 1 {
			return fmt.Errorf("contact %d has %d phones", c.ID, len(c.Phones))
		}
		last = c.ID
		count++
		return nil
	})
	if err != nil || count != n {
		t.Errorf("each: %d contacts (%v), want %d", count, err, n)
	}
	stop := errors.New("stop")
	if err := crm.EachContact(ctx(t), d.Store(), func(*crm.Contact) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("callback error not returned: %v", err)
	}
}

func testImportTx(t *testing.T, d *crm.Directory) {
	s := d.Store()
	tx, err := s.BeginImport(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	o := org("Kish Air", "076 4444 0000")
	p := person("Imported", "Person", "0913 111 2222")
	for _, c := range []*crm.Contact{o, p} {
		if err := d.Normalize(c); err != nil {
			t.Fatal(err)
		}
		if err := tx.CreateContact(ctx(t), c); err != nil {
			t.Fatal(err)
		}
	}
	if id, ok, err := tx.ContactByPhone(ctx(t), crm.KindPerson, p.Phones[0]); err != nil || !ok || id != p.ID {
		t.Errorf("by phone inside tx: %d %v %v", id, ok, err)
	}
	if _, ok, _ := tx.ContactByPhone(ctx(t), crm.KindOrganization, p.Phones[0]); ok {
		t.Errorf("by phone matched the wrong kind")
	}
	// A number that does not normalise is found by its digits, among
	// numbers that did not normalise either.
	odd := person("Odd", "Number", "+1 995 555 0123")
	if err := d.Normalize(odd); err != nil || odd.Phones[0].E164 != "" {
		t.Fatalf("test number normalised: %+v %v", odd.Phones, err)
	}
	if err := tx.CreateContact(ctx(t), odd); err != nil {
		t.Fatal(err)
	}
	probe := crm.Phone{Raw: "1-995-555-0123", National: odd.Phones[0].National}
	if id, ok, err := tx.ContactByPhone(ctx(t), crm.KindPerson, probe); err != nil || !ok || id != odd.ID {
		t.Errorf("invalid number by digits: %d %v %v", id, ok, err)
	}
	if id, ok, err := tx.OrganizationByName(ctx(t), "Kish Air"); err != nil || !ok || id != o.ID {
		t.Errorf("org by name inside tx: %d %v %v", id, ok, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if r, _ := d.Lookup(ctx(t), "+989131112222"); len(r.Matches) != 0 {
		t.Errorf("rolled-back import visible: %+v", r.Matches)
	}
	tx, err = s.BeginImport(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	p2 := person("Kept", "Person", "0913 111 2222")
	d.Normalize(p2)
	if err := tx.CreateContact(ctx(t), p2); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err == nil {
		t.Errorf("second commit succeeded")
	}
	if r, _ := d.Lookup(ctx(t), "+989131112222"); len(r.Matches) != 1 || r.Matches[0].Contact.ID != p2.ID {
		t.Errorf("committed import: %+v", r.Matches)
	}
}

func testConcurrent(t *testing.T, d *crm.Directory) {
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 4 {
		wg.Go(func() {
			for i := range 20 {
				num := fmt.Sprintf("0915%03d%04d", w, i)
				c := person("Worker", fmt.Sprint(w), num)
				if err := d.Create(ctx(t), c); err != nil {
					errs <- err
					return
				}
				r, err := d.Lookup(ctx(t), num)
				if err != nil {
					errs <- err
					return
				}
				if len(r.Matches) != 1 || r.Matches[0].Contact.ID != c.ID {
					errs <- fmt.Errorf("%s: read %v after write %d", num, ids(r.Matches), c.ID)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
