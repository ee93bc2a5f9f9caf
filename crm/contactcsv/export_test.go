package contactcsv_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/contactcsv"
)

// fill creates contacts that exercise every column of an export.
func fill(t *testing.T, d *crm.Directory) {
	t.Helper()
	acme := create(t, d, &crm.Contact{Kind: crm.KindOrganization, Name: "Acme, Inc.", Status: crm.StatusCustomer,
		Tags: []string{"b2b"}, Phones: []crm.Phone{{Label: crm.LabelMain, Raw: "021 8888 1111"}}})
	kish := create(t, d, &crm.Contact{Kind: crm.KindOrganization, Name: "هواپیمایی کیش", Notes: "=cmd|' /C calc'!A0"})
	var phones []crm.Phone
	for i := range 7 {
		phones = append(phones, crm.Phone{Label: crm.LabelWork, Raw: "0912 200 000" + string(rune('0'+i))})
	}
	phones[0].Label = crm.LabelMobile
	phones[1].Raw = "+98 912 200 0001"                          // a plain number starting with '+'
	phones[2].Raw = "+98 912 200 0002 ext 12"                   // letters: guarded
	phones[6] = crm.Phone{Label: crm.LabelFax, Raw: "021;8888"} // not valid, kept
	var emails []crm.Email
	for i := range 4 {
		emails = append(emails, crm.Email{Label: []string{"work", "", "home", "x"}[i], Address: "p" + string(rune('0'+i)) + "@example.com"})
	}
	create(t, d, &crm.Contact{FirstName: "=HYPERLINK(\"http://evil\")", LastName: "'Quoted", Status: crm.StatusQualified,
		Owner: "@agent", Tags: []string{"-minus", "vip"}, Phones: phones, Emails: emails,
		Organizations: []crm.OrgRef{{ID: acme.ID}, {ID: kish.ID}},
		Notes:         "line one\nline two, with \"quotes\"", Custom: json.RawMessage(` { "a": 1, "b": ["x", "y"] }`)})
	create(t, d, &crm.Contact{FirstName: "علی", LastName: "رضایی", Phones: []crm.Phone{{Raw: "۰۹۱۲ ۳۰۰ ۰۰۰۰"}}})
	create(t, d, &crm.Contact{LastName: "Nophone"})
	gone := create(t, d, &crm.Contact{FirstName: "Deleted", Phones: []crm.Phone{{Raw: "09124000000"}}})
	if err := d.Store().DeleteContact(testCtx(t), gone.ID); err != nil {
		t.Fatal(err)
	}
}

func export(t *testing.T, d *crm.Directory) (string, int) {
	t.Helper()
	var buf bytes.Buffer
	n, err := contactcsv.Export(testCtx(t), d.Store(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf.String(), n
}

func readCSV(t *testing.T, s string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(s, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// comparable reduces a contact to what an export carries.
type comparable struct {
	Kind              crm.Kind
	First, Last, Name string
	Orgs              []string
	Status            crm.Status
	Owner             string
	Tags              []string
	Phones            []crm.Phone
	Emails            []crm.Email
	Notes             string
	Custom            any
}

func reduce(t *testing.T, list []crm.Contact) []comparable {
	var out []comparable
	for _, c := range list {
		r := comparable{Kind: c.Kind, First: c.FirstName, Last: c.LastName, Name: c.Name, Status: c.Status,
			Owner: c.Owner, Tags: c.Tags, Phones: c.Phones, Emails: c.Emails, Notes: c.Notes}
		for _, o := range c.Organizations {
			r.Orgs = append(r.Orgs, o.Name)
		}
		slices.Sort(r.Orgs)
		if len(c.Custom) > 0 {
			if err := json.Unmarshal(c.Custom, &r.Custom); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b comparable) int {
		return strings.Compare(string(a.Kind)+a.Name+a.First+a.Last, string(b.Kind)+b.Name+b.First+b.Last)
	})
	return out
}

func TestExportRoundTrip(t *testing.T) {
	src := newDir(t)
	fill(t, src)
	out, n := export(t, src)
	if n != 5 {
		t.Fatalf("exported %d contacts, want 5 (the deleted one left out)", n)
	}
	if !strings.HasPrefix(out, "\uFEFFid,kind,first_name,") {
		t.Errorf("export starts %q", out[:min(len(out), 30)])
	}
	recs := readCSV(t, out)
	if !slices.Equal(recs[0], contactcsv.Header()) {
		t.Errorf("header %q", recs[0])
	}
	if recs[1][1] != "organization" || recs[2][1] != "organization" || recs[3][1] != "person" {
		t.Errorf("organizations are not first: kinds %q %q %q", recs[1][1], recs[2][1], recs[3][1])
	}

	dst := newDir(t)
	sum := mustImport(t, dst, out)
	if sum.Created != 5 || sum.Organizations != 0 || sum.Duplicates != 0 {
		t.Errorf("re-import summary %+v", sum)
	}
	want, got := reduce(t, contacts(t, src)), reduce(t, contacts(t, dst))
	if !reflect.DeepEqual(got, want) {
		for i := range min(len(got), len(want)) {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("contact %d differs:\n got %+v\nwant %+v", i, got[i], want[i])
			}
		}
		t.Fatalf("round trip changed the contacts (%d vs %d)", len(got), len(want))
	}

	// Exporting the copy gives the same file but for the IDs.
	again, _ := export(t, dst)
	a, b := readCSV(t, out), readCSV(t, again)
	for _, recs := range [][][]string{a, b} {
		for _, r := range recs[1:] {
			r[0] = ""
		}
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("second export differs:\n%q\n%q", a, b)
	}

	// Importing the same file again finds every contact with a number or a
	// name to match on.
	sum, err := importString(t, dst, out, contactcsv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Duplicates != 4 || sum.Created != 1 {
		t.Errorf("re-import into the same store: %+v (only the person without a number is new)", sum)
	}
}

func TestExportFormulaGuard(t *testing.T) {
	d := newDir(t)
	fill(t, d)
	out, _ := export(t, d)
	recs := readCSV(t, out)
	h := recs[0]
	col := func(name string) int { return slices.Index(h, name) }
	var person []string
	for _, r := range recs[1:] {
		if r[col("last_name")] == "''Quoted" {
			person = r
		}
	}
	if person == nil {
		t.Fatalf("no guarded person in %q", recs)
	}
	for name, want := range map[string]string{
		"first_name":   `'=HYPERLINK("http://evil")`,
		"owner":        "'@agent",
		"tags":         "'-minus;vip",
		"phone1":       "0912 200 0000",
		"phone2":       "+98 912 200 0001",
		"phone3":       "'+98 912 200 0002 ext 12",
		"email1":       "p0@example.com",
		"custom":       `{"a":1,"b":["x","y"]}`,
		"organization": "Acme, Inc.;هواپیمایی کیش",
	} {
		if got := person[col(name)]; got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	var more []map[string]string
	if err := json.Unmarshal([]byte(person[col("more_phones")]), &more); err != nil || len(more) != 2 || more[1]["raw"] != "021;8888" {
		t.Errorf("more_phones %q: %v", person[col("more_phones")], err)
	}
	for _, r := range recs[1:] {
		for i, cell := range r {
			if cell == "" || strings.HasPrefix(h[i], "phone") && !strings.HasSuffix(h[i], "label") {
				continue
			}
			if strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("column %s starts a formula: %q", h[i], cell)
			}
		}
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n += len(p); w.n > 100 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestExportWriteError(t *testing.T) {
	d := newDir(t)
	for i := range 200 {
		create(t, d, &crm.Contact{FirstName: "P" + itoa(i)})
	}
	if _, err := contactcsv.Export(testCtx(t), d.Store(), &failWriter{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("export to a failing writer: %v", err)
	}
}
