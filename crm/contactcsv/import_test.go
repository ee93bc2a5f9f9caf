package contactcsv_test

import (
	"context"
	"errors"
	"io"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/contactcsv"
)

func TestImportBasic(t *testing.T) {
	d := newDir(t)
	in := "First Name,Last_Name,Company,Phone1,phone1_label,Phone 2,E-mail,Tags,Status,Owner,Notes,Birthday,Source\n" +
		"Sara,Ahmadi,Kish Air,0912 123 4567,work,+1 415 555 0123,sara@example.com,vip; gold|Gold,customer,agent7,\"likes\nmornings\",1990-01-02,\n" +
		"Reza,,Kish Air,0913 111 2222,,,,,,,,,fair\n"
	sum := mustImport(t, d, in)
	if sum.Rows != 2 || sum.Created != 2 || sum.Organizations != 1 || sum.Failed != 0 || sum.Duplicates != 0 {
		t.Fatalf("summary %+v", sum)
	}
	list := contacts(t, d)
	if len(list) != 3 {
		t.Fatalf("%d contacts, want 2 people and 1 organization", len(list))
	}
	org := byName(t, list, "Kish Air")
	if org.Kind != crm.KindOrganization {
		t.Errorf("organization kind %q", org.Kind)
	}
	sara := byName(t, list, "Sara Ahmadi")
	if len(sara.Organizations) != 1 || sara.Organizations[0].ID != org.ID {
		t.Errorf("Sara's organizations %+v, want %d", sara.Organizations, org.ID)
	}
	if len(sara.Phones) != 2 || sara.Phones[0].E164 != "+989121234567" || sara.Phones[0].Label != crm.LabelWork ||
		sara.Phones[1].E164 != "+14155550123" || sara.Phones[1].Label != crm.LabelMobile {
		t.Errorf("Sara's phones %+v", sara.Phones)
	}
	if !slices.Equal(sara.Tags, []string{"vip", "gold"}) {
		t.Errorf("tags %q", sara.Tags)
	}
	if sara.Status != crm.StatusCustomer || sara.Owner != "agent7" || sara.Notes != "likes\nmornings" {
		t.Errorf("status %q owner %q notes %q", sara.Status, sara.Owner, sara.Notes)
	}
	if len(sara.Emails) != 1 || sara.Emails[0].Address != "sara@example.com" {
		t.Errorf("emails %+v", sara.Emails)
	}
	if string(sara.Custom) != `{"Birthday":"1990-01-02"}` {
		t.Errorf("custom %s", sara.Custom)
	}
	reza := byName(t, list, "Reza")
	if string(reza.Custom) != `{"Source":"fair"}` || reza.Status != crm.StatusLead {
		t.Errorf("Reza custom %s status %q", reza.Custom, reza.Status)
	}
	if len(reza.Organizations) != 1 || reza.Organizations[0].ID != org.ID {
		t.Errorf("Reza's organizations %+v: the organization was not reused", reza.Organizations)
	}
}

func TestImportPersianWithBOM(t *testing.T) {
	d := newDir(t)
	in := "\uFEFFنام,نام خانوادگی,موبایل,شرکت,برچسب\u200cها,ايميل\r\n" + // Arabic yeh in the last header
		"علی,رضایی,۰۹۱۲ ۱۲۳ ۴۵۶۷,شرکت نمونه,ویژه،طلایی,ali@example.com\r\n"
	sum := mustImport(t, d, in)
	if sum.Created != 1 || sum.Organizations != 1 {
		t.Fatalf("summary %+v", sum)
	}
	res, err := d.Lookup(testCtx(t), "+989121234567")
	if err != nil || len(res.Matches) != 1 {
		t.Fatalf("lookup: %+v %v", res.Matches, err)
	}
	c, err := d.Store().GetContact(testCtx(t), res.Matches[0].Contact.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.FirstName != "علی" || c.LastName != "رضایی" {
		t.Errorf("names %q %q (a BOM left in the first header would make it a custom field)", c.FirstName, c.LastName)
	}
	if len(c.Organizations) != 1 || c.Organizations[0].Name != "شرکت نمونه" {
		t.Errorf("organizations %+v", c.Organizations)
	}
	if !slices.Equal(c.Tags, []string{"ویژه", "طلایی"}) || len(c.Emails) != 1 || c.Custom != nil {
		t.Errorf("tags %q emails %+v custom %s", c.Tags, c.Emails, c.Custom)
	}
}

func TestImportNamesAndKinds(t *testing.T) {
	d := newDir(t)
	in := "Full Name,Type,Phone\n" +
		"Mary Ann Smith,person,09121000001\n" +
		"Acme Trading,organization,021 8888 1234\n" +
		"Madonna,,09121000002\n"
	mustImport(t, d, in)
	list := contacts(t, d)
	mary := byName(t, list, "Mary Ann Smith")
	if mary.FirstName != "Mary Ann" || mary.LastName != "Smith" {
		t.Errorf("split %q / %q", mary.FirstName, mary.LastName)
	}
	acme := byName(t, list, "Acme Trading")
	if acme.Kind != crm.KindOrganization || acme.Phones[0].Label != crm.LabelMain {
		t.Errorf("Acme: kind %q label %q", acme.Kind, acme.Phones[0].Label)
	}
	if m := byName(t, list, "Madonna"); m.FirstName != "Madonna" || m.Phones[0].Label != crm.LabelMobile {
		t.Errorf("Madonna: %+v", m)
	}

	// A list of companies: no person-name column.
	d = newDir(t)
	mustImport(t, d, "Company,Tel\nParsian Co,021 8888 1235\n")
	list = contacts(t, d)
	if len(list) != 1 || list[0].Kind != crm.KindOrganization || list[0].Name != "Parsian Co" {
		t.Errorf("organization list imported as %+v", list)
	}
}

func TestImportMapping(t *testing.T) {
	d := newDir(t)
	in := "Cust,Cell No,Extra,Junk\nNader,09121000003,x1,zzz\n"
	sum, err := importString(t, d, in, contactcsv.Options{Mapping: map[string]string{
		"cust": "last name", "CELL NO": "mobile", "Extra": "custom:ref", "Junk": "ignore",
	}})
	if err != nil {
		t.Fatalf("import: %v %+v", err, sum.Errors)
	}
	c := contacts(t, d)[0]
	if c.LastName != "Nader" || c.Phones[0].E164 != "+989121000003" || string(c.Custom) != `{"ref":"x1"}` {
		t.Errorf("mapped contact %+v custom %s", c, c.Custom)
	}
	for name, m := range map[string]map[string]string{
		"missing column": {"Nope": "first_name"},
		"unknown field":  {"Cust": "shoe size"},
	} {
		if _, err := importString(t, newDir(t), in, contactcsv.Options{Mapping: m}); !errors.Is(err, contactcsv.ErrHeader) {
			t.Errorf("%s: err %v, want ErrHeader", name, err)
		}
	}
}

func TestImportHeaderErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":            "",
		"blank lines only": "\n\n",
		"no name column":   "phone,email\n0912,a@b.c\n",
		"duplicate header": "name,Phone,phone\nx,1,2\n",
		"two first names":  "first name,given name\na,b\n",
		"orphan label":     "name,phone1,phone2_label\nx,0912,work\n",
		"two phone 1":      "name,phone1,Phone 1\nx,1,2\n",
		"UTF-16":           "\xff\xfen\x00a\x00m\x00e\x00\n\x00",
		"bad UTF-8 header": "name,\xff\xfe\xfd\nx,y\n",
	} {
		d := newDir(t)
		sum, err := importString(t, d, in, contactcsv.Options{})
		if !errors.Is(err, contactcsv.ErrHeader) {
			t.Errorf("%s: err %v, want ErrHeader", name, err)
		}
		if sum.Rows != 0 || len(contacts(t, d)) != 0 {
			t.Errorf("%s: rows read or written after a header error", name)
		}
	}
	_, err := importString(t, newDir(t), "\xff\xfen\x00", contactcsv.Options{})
	if err == nil || !strings.Contains(err.Error(), "UTF-16") {
		t.Errorf("UTF-16 error %v does not say UTF-16", err)
	}
}

// badFile has one good row and one of each kind of bad row, with the line
// and column each error must name.
const badFile = "name,phone1,phone1_label,email,status,kind,custom\n" + // 1
	"Good One,09121000010,,,,,\n" + // 2
	"Short Row,09121000011\n" + // 3
	"\"Multi\nLine\",09121000012,,,,,\n" + // 4-5: good, spans two lines
	"Bad\"Quote,09121000013,,,,,\n" + // 6
	"\"Quoted\"x,09121000014,,,,,\n" + // 7
	"Bad \xff UTF8,09121000015,,,,,\n" + // 8
	"Bad Phone,not a number,,,,,\n" + // 9
	"Bad Label,09121000016,pager,,,,\n" + // 10
	"Bad Email,09121000017,,nobody,,,\n" + // 11
	"Bad Status,09121000018,,,vip,,\n" + // 12
	"Bad Kind,09121000019,,,,robot,\n" + // 13
	"Bad Custom,09121000020,,,,,[1]\n" + // 14
	",09121000021,,,,,\n" + // 15: no name
	"Too,Many,Fields,,,,,x\n" + // 16
	"Last Good,09121000022,,,,,\n" // 17

var badWant = []contactcsv.RowError{
	{Line: 3, Column: ""},
	{Line: 6, Column: "name"},
	{Line: 7, Column: "name"},
	{Line: 8, Column: "name"},
	{Line: 9, Column: "phone1"},
	{Line: 10, Column: "phone1_label"},
	{Line: 11, Column: "email"},
	{Line: 12, Column: "status"},
	{Line: 13, Column: "kind"},
	{Line: 14, Column: "custom"},
	{Line: 15, Column: "name"},
	{Line: 16, Column: ""},
}

func checkBadErrors(t *testing.T, sum contactcsv.Summary) {
	t.Helper()
	if sum.Rows != 15 || sum.Failed != len(badWant) {
		t.Errorf("rows %d failed %d, want 15 and %d", sum.Rows, sum.Failed, len(badWant))
	}
	var got []contactcsv.RowError
	for _, e := range sum.Errors {
		if e.Reason == "" {
			t.Errorf("%v: no reason", e)
		}
		got = append(got, contactcsv.RowError{Line: e.Line, Column: e.Column})
	}
	if !reflect.DeepEqual(got, badWant) {
		t.Errorf("errors (line, column):\n got %v\nwant %v\nfull: %v", got, badWant, sum.Errors)
	}
}

func TestImportAllOrNothing(t *testing.T) {
	d := newDir(t)
	create(t, d, &crm.Contact{FirstName: "Existing", Phones: []crm.Phone{{Raw: "09129999999"}}})
	in := "name,organization,phone\nFine Person,New Org,09121000030\nNo Number,New Org,abc\n"
	sum, err := importString(t, d, in, contactcsv.Options{})
	if !errors.Is(err, contactcsv.ErrRowsFailed) {
		t.Fatalf("err %v, want ErrRowsFailed", err)
	}
	if sum.Created != 0 || sum.Organizations != 0 || sum.Failed != 1 || sum.Rows != 2 {
		t.Errorf("summary %+v", sum)
	}
	if list := contacts(t, d); len(list) != 1 || list[0].FirstName != "Existing" {
		t.Errorf("after a failed import the store holds %+v", list)
	}

	sum, err = importString(t, newDir(t), badFile, contactcsv.Options{})
	if !errors.Is(err, contactcsv.ErrRowsFailed) {
		t.Fatalf("err %v", err)
	}
	checkBadErrors(t, sum)
}

func TestImportPartial(t *testing.T) {
	d := newDir(t)
	sum, err := importString(t, d, badFile, contactcsv.Options{Partial: true})
	if err != nil {
		t.Fatalf("partial import: %v", err)
	}
	checkBadErrors(t, sum)
	if sum.Created != 3 {
		t.Errorf("created %d, want 3", sum.Created)
	}
	list := contacts(t, d)
	if len(list) != 3 {
		t.Fatalf("%d contacts kept, want 3", len(list))
	}
	byName(t, list, "Good One")
	byName(t, list, "Multi Line") // split at the newline
	byName(t, list, "Last Good")
}

func TestImportPartialCommitsInBatches(t *testing.T) {
	d := newDir(t)
	var b strings.Builder
	b.WriteString("name,phone\n")
	for i := range 25 {
		b.WriteString("P" + string(rune('a'+i)) + ",0912100" + pad4(i) + "\n")
	}
	b.WriteString("Broken,x\n")
	sum, err := importString(t, d, b.String(), contactcsv.Options{Partial: true, BatchRows: 10})
	if err != nil || sum.Created != 25 || sum.Failed != 1 {
		t.Fatalf("sum %+v err %v", sum, err)
	}
	if n := len(contacts(t, d)); n != 25 {
		t.Errorf("%d contacts, want 25", n)
	}
}

func pad4(i int) string {
	s := "0000" + itoa(i)
	return s[len(s)-4:]
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestImportErrorReportIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("name,phone\n")
	for range 50 {
		b.WriteString("X,bad\n")
	}
	sum, err := importString(t, newDir(t), b.String(), contactcsv.Options{MaxRowErrors: 10})
	if !errors.Is(err, contactcsv.ErrRowsFailed) {
		t.Fatal(err)
	}
	if sum.Failed != 50 || len(sum.Errors) != 10 || sum.ErrorsTruncated != 40 {
		t.Errorf("failed %d listed %d truncated %d", sum.Failed, len(sum.Errors), sum.ErrorsTruncated)
	}
	if sum.Errors[9].Line != 11 {
		t.Errorf("tenth error on line %d, want 11", sum.Errors[9].Line)
	}
}

func TestImportDedupe(t *testing.T) {
	d := newDir(t)
	old := create(t, d, &crm.Contact{FirstName: "Old", Phones: []crm.Phone{{Raw: "+98 912 100 0040"}}})
	oldOrg := create(t, d, &crm.Contact{Kind: crm.KindOrganization, Name: "Old Org", Phones: []crm.Phone{{Raw: "021 8888 0040"}}})
	in := "kind,name,phone1,phone2\n" +
		"person,New One,09121000041,\n" + // 2: new
		"person,Same As Old,09121000042,0912 100 0040\n" + // 3: second number is Old's
		"person,Again,+989121000041,\n" + // 4: New One's number, earlier in the file
		"person,Shares Org Line,021 8888 0040,\n" + // 5: a person may share an organization's number
		"organization,Old Org,021 8888 0041,\n" + // 6: organization by name
		"organization,Org Clone,021 8888 0040,\n" + // 7: organization by number
		"person,Twice In Row,09121000043,0912 100 0043\n" // 8: the same number twice is one
	sum := mustImport(t, d, in)
	if sum.Created != 3 || sum.Duplicates != 4 {
		t.Errorf("created %d duplicates %d, want 3 and 4", sum.Created, sum.Duplicates)
	}
	list := contacts(t, d)
	newOne := byName(t, list, "New One")
	want := []contactcsv.Duplicate{
		{Line: 3, Column: "phone2", Value: "0912 100 0040", ExistingID: old.ID},
		{Line: 4, Column: "phone1", Value: "+989121000041", ExistingID: newOne.ID},
		{Line: 6, Column: "name", Value: "Old Org", ExistingID: oldOrg.ID},
		{Line: 7, Column: "phone1", Value: "021 8888 0040", ExistingID: oldOrg.ID},
	}
	if !reflect.DeepEqual(sum.DuplicateRows, want) {
		t.Errorf("duplicates\n got %+v\nwant %+v", sum.DuplicateRows, want)
	}
	if tw := byName(t, list, "Twice In Row"); len(tw.Phones) != 1 {
		t.Errorf("a number given twice in a row was stored %d times", len(tw.Phones))
	}
	byName(t, list, "Shares Org Line")
	// Colleagues reached through one switchboard are two people; a person
	// known only by that line, listed again, is one.
	sum = mustImport(t, d, "first name,mobile,work\n"+
		"Colleague A,09121000051,021 7777 0000\n"+ // 2: new
		"Colleague B,09121000052,021 7777 0000\n"+ // 3: new, shares A's work line
		"Colleague C,,021 7777 0000\n"+ // 4: only the shared line: a duplicate of A
		"Colleague A2,09121000051,021 7777 0001\n") // 5: A's mobile: a duplicate
	if sum.Created != 2 || sum.Duplicates != 2 || sum.DuplicateRows[0].Line != 4 || sum.DuplicateRows[1].Column != "mobile" {
		t.Errorf("switchboard: created %d duplicates %+v", sum.Created, sum.DuplicateRows)
	}
}

func TestImportProgress(t *testing.T) {
	var b strings.Builder
	b.WriteString("name,phone\n")
	for i := range 2500 {
		b.WriteString("Person " + itoa(i) + ",09122" + pad4(i/10) + pad4(i)[1:] + "\n")
	}
	in := b.String()
	var calls []contactcsv.Progress
	sum, err := importString(t, newDir(t), in, contactcsv.Options{Progress: func(p contactcsv.Progress) {
		calls = append(calls, p)
	}})
	if err != nil || sum.Created != 2500 {
		t.Fatalf("sum %+v err %v", sum, err)
	}
	if len(calls) < 3 {
		t.Fatalf("progress called %d times for 2500 rows", len(calls))
	}
	last := calls[len(calls)-1]
	if last.Rows != 2500 || last.Bytes != int64(len(in)) || last.Total != int64(len(in)) {
		t.Errorf("last progress %+v, want 2500 rows and %d bytes of %d", last, len(in), len(in))
	}
	for i := 1; i < len(calls); i++ {
		if calls[i].Rows < calls[i-1].Rows || calls[i].Bytes < calls[i-1].Bytes {
			t.Errorf("progress went backwards: %+v then %+v", calls[i-1], calls[i])
		}
	}
}

func TestImportCancelled(t *testing.T) {
	var b strings.Builder
	b.WriteString("name,phone\n")
	for i := range 5000 {
		b.WriteString("P,09123" + pad4(i/10) + pad4(i)[1:] + "\n")
	}
	d := newDir(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	n := 0
	_, err := contactcsv.Import(ctx, d, strings.NewReader(b.String()), contactcsv.Options{
		Progress: func(contactcsv.Progress) {
			if n++; n == 1 {
				cancel()
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if list := contacts(t, d); len(list) != 0 {
		t.Errorf("a cancelled import left %d contacts", len(list))
	}
}

// xReader yields n bytes of 'x', with a newline every 100 if lines is set.
type xReader struct {
	n, pos int
	lines  bool
}

func (r *xReader) Read(p []byte) (int, error) {
	if r.pos >= r.n {
		return 0, io.EOF
	}
	k := min(len(p), r.n-r.pos)
	for i := range k {
		p[i] = 'x'
		if r.lines && (r.pos+i)%100 == 99 {
			p[i] = '\n'
		}
	}
	r.pos += k
	return k, nil
}

func TestImportHugeField(t *testing.T) {
	const size = 10 << 20
	for _, lines := range []bool{false, true} {
		d := newDir(t)
		in := io.MultiReader(
			strings.NewReader("name,phone,notes\nBefore,09121000050,\nHuge,09121000051,\""),
			&xReader{n: size, lines: lines},
			strings.NewReader("\"\nAfter,09121000052,\nAfter Bad,x,\n"))
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		sum, err := contactcsv.Import(testCtx(t), d, in, contactcsv.Options{Partial: true})
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		// Holding the field whole would take more than 20 MiB: encoding/csv
		// grows its buffers by appending. Bounded, it takes about 8.
		if alloc > 16<<20 {
			t.Errorf("lines %v: importing a %d MiB field allocated %d MiB", lines, size>>20, alloc>>20)
		}
		if sum.Created != 2 || sum.Failed != 2 {
			t.Fatalf("lines %v: summary %+v", lines, sum)
		}
		badLine := 5
		if lines {
			badLine += size / 100
		}
		want := []contactcsv.RowError{
			{Line: 3, Column: "notes", Reason: "record longer than 1048576 bytes, skipped"},
			{Line: badLine, Column: "phone", Reason: "not a phone number"},
		}
		if !reflect.DeepEqual(sum.Errors, want) {
			t.Errorf("lines %v: errors\n got %+v\nwant %+v", lines, sum.Errors, want)
		}
	}
}

func TestImportDelimiterAndExistingOrganization(t *testing.T) {
	d := newDir(t)
	old := create(t, d, &crm.Contact{Kind: crm.KindOrganization, Name: "Old Org"})
	in := "name;organization;phone\nA B;Old Org;09121000060\nC D;Old Org; New Org ;09121000061\n"
	if _, err := importString(t, d, in, contactcsv.Options{}); err == nil {
		t.Fatal("a semicolon file read with commas imported") // one column "name;organization;phone": no name column
	}
	in = "name;organization;phone\nA B;Old Org;09121000060\nC D;\"Old Org; New Org \";09121000061\n"
	sum, err := importString(t, d, in, contactcsv.Options{Comma: ';'})
	if err != nil {
		t.Fatalf("import: %v %v", err, sum.Errors)
	}
	if sum.Created != 2 || sum.Organizations != 1 {
		t.Errorf("summary %+v, want 2 people and 1 new organization", sum)
	}
	list := contacts(t, d)
	newOrg := byName(t, list, "New Org")
	if a := byName(t, list, "A B"); len(a.Organizations) != 1 || a.Organizations[0].ID != old.ID {
		t.Errorf("A B belongs to %+v, want the existing organization %d", a.Organizations, old.ID)
	}
	c := byName(t, list, "C D")
	var ids []int64
	for _, o := range c.Organizations {
		ids = append(ids, o.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []int64{old.ID, newOrg.ID}) {
		t.Errorf("C D belongs to %v, want [%d %d]", ids, old.ID, newOrg.ID)
	}
	if _, err := importString(t, d, in, contactcsv.Options{Comma: 'x'}); err == nil {
		t.Error("an unsupported delimiter was accepted")
	}
}
