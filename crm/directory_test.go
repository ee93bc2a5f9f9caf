package crm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
)

func dir(t *testing.T) *crm.Directory {
	norm, err := phone.New("IR")
	if err != nil {
		t.Fatal(err)
	}
	return crm.NewDirectory(nil, norm)
}

func TestNormalizeRejectsNamingTheField(t *testing.T) {
	d := dir(t)
	long := strings.Repeat("x", crm.MaxNameLen+1)
	cases := []struct {
		c     crm.Contact
		field string
	}{
		{crm.Contact{Kind: "robot", FirstName: "A"}, "kind"},
		{crm.Contact{FirstName: "A", Status: "hot"}, "status"},
		{crm.Contact{}, "first_name"},
		{crm.Contact{Kind: crm.KindOrganization}, "name"},
		{crm.Contact{FirstName: long}, "first_name"},
		{crm.Contact{FirstName: "A\x00B"}, "first_name"},
		{crm.Contact{FirstName: "\xff\xfe"}, "first_name"},
		{crm.Contact{FirstName: "A", Notes: strings.Repeat("n", crm.MaxNotesLen+1)}, "notes"},
		{crm.Contact{FirstName: "A", Tags: []string{strings.Repeat("t", 65)}}, "tags"},
		{crm.Contact{FirstName: "A", Phones: []crm.Phone{{Raw: "0912 123 4567"}, {Raw: "anonymous"}}}, "phones[1]"},
		{crm.Contact{FirstName: "A", Phones: []crm.Phone{{Raw: "12"}}}, "phones[0]"},
		{crm.Contact{FirstName: "A", Phones: []crm.Phone{{Raw: "09121234567", Label: "pager"}}}, "phones[0]"},
		{crm.Contact{FirstName: "A", Phones: []crm.Phone{{Raw: strings.Repeat("9", 2048)}}}, "phones[0]"},
		{crm.Contact{FirstName: "A", Emails: []crm.Email{{Address: "a@b"}, {Address: "<x>@y"}}}, "emails[1]"},
		{crm.Contact{FirstName: "A", Custom: []byte(`"str"`)}, "custom"},
		{crm.Contact{FirstName: "A", Custom: []byte(`{"a":`)}, "custom"},
	}
	for _, c := range cases {
		err := d.Normalize(&c.c)
		var fe *crm.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%+v: err = %v, want a FieldError on %s", c.c, err, c.field)
		}
	}
}

func TestNormalizeFillsDerivedFields(t *testing.T) {
	d := dir(t)
	c := crm.Contact{FirstName: "  Sara ", Tags: []string{"VIP", "vip", " ", "Renewal"},
		Phones: []crm.Phone{{Raw: " ۰۹۱۲ ۱۲۳ ۴۵۶۷ "}, {Raw: "+1 (415) 555-0123 ext. 9", Label: crm.LabelWork}}}
	if err := d.Normalize(&c); err != nil {
		t.Fatal(err)
	}
	if c.Kind != crm.KindPerson || c.Status != crm.StatusLead || c.FirstName != "Sara" {
		t.Errorf("defaults: %+v", c)
	}
	if strings.Join(c.Tags, ",") != "vip,renewal" {
		t.Errorf("tags = %v", c.Tags)
	}
	p0, p1 := c.Phones[0], c.Phones[1]
	if p0.E164 != "+989121234567" || p0.National != "9121234567" || p0.HasCountryCode || p0.Label != crm.LabelMobile {
		t.Errorf("phone 0 = %+v", p0)
	}
	if p1.E164 != "+14155550123" || !p1.HasCountryCode || p1.Ext != "9" || p1.Tail() != "55550123" {
		t.Errorf("phone 1 = %+v", p1)
	}
	o := crm.Contact{Kind: crm.KindOrganization, Name: "Acme", FirstName: "stray", Organizations: []crm.OrgRef{{ID: 1}}}
	if err := d.Normalize(&o); err != nil {
		t.Fatal(err)
	}
	if o.FirstName != "" || o.Organizations != nil || o.DisplayName() != "Acme" {
		t.Errorf("organization kept person fields: %+v", o)
	}
}

func TestPhoneKeyOf(t *testing.T) {
	norm, _ := phone.New("IR")
	cases := []struct {
		raw  string
		ok   bool
		want crm.PhoneKey
	}{
		{"+98 912 123 4567", true, crm.PhoneKey{E164: "+989121234567", National: "9121234567", Tail: "21234567"}},
		{"anonymous", false, crm.PhoneKey{}},
		{"1000", false, crm.PhoneKey{}},
		{"", false, crm.PhoneKey{}},
		{"1234567", false, crm.PhoneKey{}}, // invalid and too short to trust a suffix
	}
	for _, c := range cases {
		k, ok := crm.PhoneKeyOf(norm.Parse(c.raw))
		if ok != c.ok || k != c.want {
			t.Errorf("%q: %+v %v, want %+v %v", c.raw, k, ok, c.want, c.ok)
		}
	}
}

func TestSearchKeyFoldsKeyboards(t *testing.T) {
	if crm.SearchKey("علي كريمي") != crm.SearchKey("علی کریمی") {
		t.Error("Arabic and Persian yeh/kaf fold differently")
	}
	if crm.SearchKey(" Ali ") != "ali" {
		t.Errorf("SearchKey(' Ali ') = %q", crm.SearchKey(" Ali "))
	}
	if !strings.HasPrefix("ali", crm.SearchKey("AL")) || crm.PrefixUpperBound("al") <= "alzzzz" {
		t.Error("prefix bound below a prefixed key")
	}
}
