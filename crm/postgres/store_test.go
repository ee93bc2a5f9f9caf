package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/crmtest"
)

func TestConformance(t *testing.T) {
	crmtest.Run(t, func(t *testing.T) crm.Store { return newStore(t) })
}

func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	u := freshSchema(t)
	ctx := testCtx(t)
	var stores []*Store
	for range 3 {
		s, err := Open(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	// Servers starting together all migrate; the advisory lock makes them
	// take turns instead of racing to create the same tables.
	var wg sync.WaitGroup
	errs := make([]error, len(stores))
	for i, s := range stores {
		wg.Go(func() { errs[i] = s.Migrate(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("migrate %d: %v", i, err)
		}
	}
	if err := stores[0].Migrate(ctx); err != nil {
		t.Errorf("migrate again: %v", err)
	}
	c := &crm.Contact{Kind: crm.KindPerson, FirstName: "After", Status: crm.StatusLead}
	if err := stores[1].CreateContact(ctx, c); err != nil || c.ID == 0 {
		t.Errorf("create after migrate: %v (id %d)", err, c.ID)
	}
}

func TestReadsFailBeforeMigrate(t *testing.T) {
	ctx := testCtx(t)
	s, err := Open(ctx, freshSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.MatchPhone(ctx, crm.PhoneKey{E164: "+989121234567"}, 5); err == nil {
		t.Fatal("lookup on an empty, unmigrated schema succeeded")
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if m, err := s.MatchPhone(ctx, crm.PhoneKey{E164: "+989121234567"}, 5); err != nil || len(m) != 0 {
		t.Fatalf("after migrate: %v %v", m, err)
	}
}

func TestOpenUnreachable(t *testing.T) {
	// A port nobody listens on: refused at once.
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close()

	// A server that accepts connections and never answers: only the
	// connect timeout ends the wait.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}()

	const secret = "s3cr3t-pw"
	for _, tc := range []struct {
		name, url string
	}{
		{"refused", "postgres://tamas:" + secret + "@" + refusedAddr + "/crm?sslmode=disable"},
		{"silent", "postgres://tamas:" + secret + "@" + silent.Addr().String() + "/crm?sslmode=disable&connect_timeout=1"},
		{"keyword form", "host=127.0.0.1 port=" + refusedAddr[strings.LastIndexByte(refusedAddr, ':')+1:] +
			" user=tamas password=" + secret + " dbname=crm sslmode=disable"},
		{"unparseable", "postgres://tamas:" + secret + "@127.0.0.1:notaport/crm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			s, err := Open(ctx, tc.url)
			if err == nil {
				s.Close()
				t.Fatal("open succeeded")
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v to fail", d)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error reveals the password: %v", err)
			}
			if !strings.Contains(err.Error(), "postgres") {
				t.Errorf("error does not say what failed: %v", err)
			}
			if errors.Is(err, context.DeadlineExceeded) && tc.name != "silent" {
				t.Errorf("hit the test's deadline rather than failing: %v", err)
			}
			t.Logf("%v", err)
		})
	}
}

func TestTargetHidesPassword(t *testing.T) {
	s := newStore(t)
	if strings.Contains(s.Target(), "@") || !strings.Contains(s.Target(), ":") {
		t.Errorf("target = %q, want host:port/database", s.Target())
	}
	if err := s.Ping(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}

// phoneOf builds a normalised phone the way crm.Directory would, for tests
// that talk to the store directly.
func phoneOf(e164, national string, hasCC bool) crm.Phone {
	return crm.Phone{Label: crm.LabelMobile, Raw: national, E164: e164, National: national, HasCountryCode: hasCC}
}

func mustCreate(t testing.TB, s crm.Store, c *crm.Contact) *crm.Contact {
	t.Helper()
	if c.Status == "" {
		c.Status = crm.StatusLead
	}
	if err := s.CreateContact(testCtx(t), c); err != nil {
		t.Fatalf("create %s: %v", c.DisplayName(), err)
	}
	return c
}

// An unparseable caller number still matches contacts on its last digits,
// including contacts whose stored number is itself unparseable.
func TestSuffixMatchOfInvalidNumbers(t *testing.T) {
	s := newStore(t)
	ctx := testCtx(t)
	bad := mustCreate(t, s, &crm.Contact{Kind: crm.KindPerson, FirstName: "Typo",
		Phones: []crm.Phone{phoneOf("", "99912345678", true)}})
	good := mustCreate(t, s, &crm.Contact{Kind: crm.KindPerson, FirstName: "Valid",
		Phones: []crm.Phone{phoneOf("+989112345678", "9112345678", false)}})
	m, err := s.MatchPhone(ctx, crm.PhoneKey{Tail: crm.TailOf("77712345678")}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m[0].How != crm.MatchSuffix || m[1].How != crm.MatchSuffix ||
		m[0].Contact.ID != bad.ID || m[1].Contact.ID != good.ID {
		t.Errorf("matches = %+v, want suffix matches of %d and %d", m, bad.ID, good.ID)
	}
}

// A contact holding the caller's number twice, or matching on two tiers,
// appears once, on its best tier.
func TestLookupOneMatchPerContact(t *testing.T) {
	s := newStore(t)
	ctx := testCtx(t)
	c := mustCreate(t, s, &crm.Contact{Kind: crm.KindPerson, FirstName: "Twice", Phones: []crm.Phone{
		phoneOf("", "4155550123", false),
		phoneOf("+14155550123", "4155550123", true),
		phoneOf("+14155550123", "4155550123", true),
	}})
	m, err := s.MatchPhone(ctx, crm.PhoneKey{E164: "+14155550123", National: "4155550123", Tail: "55550123"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || m[0].Contact.ID != c.ID || m[0].How != crm.MatchExact || m[0].Phone.E164 != "+14155550123" {
		t.Errorf("matches = %+v", m)
	}
}

func TestLookupLimit(t *testing.T) {
	s := newStore(t)
	ctx := testCtx(t)
	for i := range 5 {
		mustCreate(t, s, &crm.Contact{Kind: crm.KindPerson, FirstName: fmt.Sprint("Shared", i),
			Phones: []crm.Phone{phoneOf("+982122223333", "2122223333", false)}})
	}
	m, err := s.MatchPhone(ctx, crm.PhoneKey{E164: "+982122223333", National: "2122223333", Tail: "22223333"}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 3 {
		t.Errorf("%d matches, want the limit of 3", len(m))
	}
	if m, _ := s.MatchPhone(ctx, crm.PhoneKey{}, 3); len(m) != 0 {
		t.Errorf("empty key matched %+v", m)
	}
}

func TestMembershipEdits(t *testing.T) {
	s := newStore(t)
	ctx := testCtx(t)
	a := mustCreate(t, s, &crm.Contact{Kind: crm.KindOrganization, Name: "Beta Org"})
	b := mustCreate(t, s, &crm.Contact{Kind: crm.KindOrganization, Name: "Alpha Org"})
	// Naming the same organization twice is not an error.
	p := mustCreate(t, s, &crm.Contact{Kind: crm.KindPerson, FirstName: "Member",
		Organizations: []crm.OrgRef{{ID: a.ID}, {ID: a.ID}}})
	orgs := func() string {
		t.Helper()
		got, err := s.GetContact(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, o := range got.Organizations {
			names = append(names, o.Name)
		}
		return strings.Join(names, ",")
	}
	if got := orgs(); got != "Beta Org" {
		t.Errorf("after create: %s", got)
	}
	p.Organizations = []crm.OrgRef{{ID: a.ID}, {ID: b.ID}}
	if err := s.UpdateContact(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := orgs(); got != "Alpha Org,Beta Org" {
		t.Errorf("after adding: %s", got)
	}
	// A failed update changes nothing.
	p.Organizations = []crm.OrgRef{{ID: b.ID}, {ID: b.ID + 100}}
	p.FirstName = "Renamed"
	var fe *crm.FieldError
	if err := s.UpdateContact(ctx, p); !errors.As(err, &fe) || fe.Field != "organizations[1]" {
		t.Errorf("update with unknown organization: %v", err)
	}
	// A person is no organization.
	p2 := &crm.Contact{Kind: crm.KindPerson, FirstName: "Other", Organizations: []crm.OrgRef{{ID: p.ID}}}
	if err := s.CreateContact(ctx, p2); !errors.As(err, &fe) || fe.Field != "organizations[0]" {
		t.Errorf("person as organization: %v", err)
	}
	if got, _ := s.GetContact(ctx, p.ID); got.FirstName != "Member" || orgs() != "Alpha Org,Beta Org" {
		t.Errorf("failed update changed the contact: %+v", got)
	}
	p.FirstName = "Member"
	p.Organizations = []crm.OrgRef{{ID: b.ID}}
	if err := s.UpdateContact(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := orgs(); got != "Alpha Org" {
		t.Errorf("after removing one: %s", got)
	}
	// A deleted organization drops out of its members' summaries.
	if err := s.DeleteContact(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if got := orgs(); got != "" {
		t.Errorf("after deleting the organization: %s", got)
	}
	p.Organizations = nil
	if err := s.UpdateContact(ctx, p); err != nil {
		t.Fatal(err)
	}
	if l, err := s.ListContacts(ctx, crm.ContactQuery{OrganizationID: a.ID}); err != nil || len(l) != 0 {
		t.Errorf("members after leaving: %v %v", l, err)
	}
}

// An import survives a row that refers to an unknown organization: the row
// is refused, the transaction goes on.
func TestImportContinuesAfterFieldError(t *testing.T) {
	s := newStore(t)
	ctx := testCtx(t)
	tx, err := s.BeginImport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	bad := &crm.Contact{Kind: crm.KindPerson, FirstName: "Bad", Status: crm.StatusLead, Organizations: []crm.OrgRef{{ID: 12345}}}
	var fe *crm.FieldError
	if err := tx.CreateContact(ctx, bad); !errors.As(err, &fe) || fe.Field != "organizations[0]" || bad.ID != 0 {
		t.Fatalf("unknown organization: %v (id %d)", err, bad.ID)
	}
	good := &crm.Contact{Kind: crm.KindPerson, FirstName: "Good", Status: crm.StatusLead,
		Phones: []crm.Phone{phoneOf("+989121112233", "9121112233", false)}}
	if err := tx.CreateContact(ctx, good); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Errorf("rollback after commit: %v", err)
	}
	l, err := s.ListContacts(ctx, crm.ContactQuery{})
	if err != nil || len(l) != 1 || l[0].ID != good.ID {
		t.Errorf("after import: %+v %v", l, err)
	}
}

func TestCustomAndEmptyFields(t *testing.T) {
	s := newStore(t)
	ctx := testCtx(t)
	c := mustCreate(t, s, &crm.Contact{Kind: crm.KindOrganization, Name: "Plain"})
	got, err := s.GetContact(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Custom != nil || got.Tags != nil || got.Emails != nil || got.Phones != nil || got.Organizations != nil ||
		got.LastInteractionAt != nil {
		t.Errorf("empty fields came back non-nil: %+v", got)
	}
	if !got.CreatedAt.Equal(c.CreatedAt) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("created %v, returned by create %v", got.CreatedAt, c.CreatedAt)
	}
	c.Custom = []byte(`{"nested":{"a":[1,2]},"s":"x"}`)
	if err := s.UpdateContact(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetContact(ctx, c.ID)
	if !strings.Contains(string(got.Custom), `"nested"`) {
		t.Errorf("custom = %s", got.Custom)
	}
}

// Concurrent updates of one contact each replace its phones whole: the
// result is one writer's set, never a mixture.
func TestConcurrentUpdatesOfOneContact(t *testing.T) {
	s := newStore(t)
	ctx := testCtx(t)
	c := mustCreate(t, s, &crm.Contact{Kind: crm.KindPerson, FirstName: "Contended"})
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for w := range 4 {
		wg.Go(func() {
			for i := range 10 {
				n1, n2 := fmt.Sprintf("91%d%07d", w, i), fmt.Sprintf("93%d%07d", w, i)
				u := &crm.Contact{ID: c.ID, Kind: crm.KindPerson, FirstName: "Contended", Status: crm.StatusLead,
					Phones: []crm.Phone{phoneOf("+98"+n1, n1, false), phoneOf("+98"+n2, n2, false)}}
				if err := s.UpdateContact(ctx, u); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := s.GetContact(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Phones) != 2 || got.Phones[0].National[2:] != got.Phones[1].National[2:] {
		t.Errorf("phones after concurrent updates: %+v", got.Phones)
	}
}

// Lookups running beside writers always see a committed, consistent
// answer: the right contact for numbers that exist, nothing for others.
func TestLookupUnderConcurrency(t *testing.T) {
	s := newStore(t)
	ctx := testCtx(t)
	const n = 200
	tx, err := s.BeginImport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, n)
	for i := range n {
		nat := fmt.Sprintf("912%07d", i)
		c := &crm.Contact{Kind: crm.KindPerson, FirstName: "Seed", LastName: fmt.Sprint(i), Status: crm.StatusLead,
			Phones: []crm.Phone{phoneOf("+98"+nat, nat, false)}}
		if err := tx.CreateContact(ctx, c); err != nil {
			t.Fatal(err)
		}
		ids[i] = c.ID
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	key := func(nat string) crm.PhoneKey {
		return crm.PhoneKey{E164: "+98" + nat, National: nat, Tail: crm.TailOf(nat)}
	}
	stop := make(chan struct{})
	var writers, readers sync.WaitGroup
	errs := make(chan error, 100)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	writers.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.TouchInteraction(ctx, ids[i%n], time.Now()); err != nil {
				report(err)
				return
			}
			nat := fmt.Sprintf("935%07d", i)
			c := &crm.Contact{Kind: crm.KindPerson, FirstName: "Writer", Status: crm.StatusLead,
				Phones: []crm.Phone{phoneOf("+98"+nat, nat, false)}}
			if err := s.CreateContact(ctx, c); err != nil {
				report(err)
				return
			}
		}
	})
	for r := range 8 {
		readers.Go(func() {
			for i := range 100 {
				j := (r*37 + i*11) % n
				m, err := s.MatchPhone(ctx, key(fmt.Sprintf("912%07d", j)), crm.MaxMatches)
				if err != nil {
					report(err)
					return
				}
				if len(m) != 1 || m[0].Contact.ID != ids[j] || m[0].How != crm.MatchExact {
					report(fmt.Errorf("lookup %d: %+v, want contact %d", j, m, ids[j]))
					return
				}
				if m, err := s.MatchPhone(ctx, key(fmt.Sprintf("917%07d", j)), crm.MaxMatches); err != nil || len(m) != 0 {
					report(fmt.Errorf("unknown number: %+v %v", m, err))
					return
				}
			}
		})
	}
	readers.Wait()
	close(stop)
	writers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A big import leaves the planner statistics that know about it.
func TestLargeImportAnalyzes(t *testing.T) {
	s := newStore(t)
	ctx := testCtx(t)
	var before float64
	if err := s.pool.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'phones'::regclass`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	tx, err := s.BeginImport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range analyzeAfter {
		nat := fmt.Sprintf("912%07d", i)
		c := &crm.Contact{Kind: crm.KindPerson, FirstName: "Bulk", Status: crm.StatusLead,
			Phones: []crm.Phone{phoneOf("+98"+nat, nat, false)}}
		if err := tx.CreateContact(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var after float64
	if err := s.pool.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'phones'::regclass`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if before >= analyzeAfter || after < analyzeAfter {
		t.Errorf("phones reltuples %v before the import, %v after; want statistics counting %d rows", before, after, analyzeAfter)
	}
}
