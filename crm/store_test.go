package crm_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
)

func TestListLimit(t *testing.T) {
	for in, want := range map[int]int{-1: crm.MaxListLimit, 0: crm.MaxListLimit, 1: 1, 37: 37,
		crm.MaxListLimit: crm.MaxListLimit, crm.MaxListLimit + 1: crm.MaxListLimit, 1 << 40: crm.MaxListLimit} {
		if got := crm.ListLimit(in); got != want {
			t.Errorf("ListLimit(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestMatchLimit(t *testing.T) {
	for in, want := range map[int]int{-1: crm.MaxMatches, 0: crm.MaxMatches, 1: 1, crm.MaxMatches: crm.MaxMatches,
		crm.MaxMatches + 1: crm.MaxMatches, 1000: crm.MaxMatches} {
		if got := crm.MatchLimit(in); got != want {
			t.Errorf("MatchLimit(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestRecordsLimit(t *testing.T) {
	for in, want := range map[int]int{-1: crm.DefaultRecords, 0: crm.DefaultRecords, 1: 1,
		crm.MaxRecords: crm.MaxRecords, crm.MaxRecords + 1: crm.MaxRecords} {
		if got := crm.ClampLimit(in); got != want {
			t.Errorf("ClampLimit(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestPhoneKeyEmpty(t *testing.T) {
	if !(crm.PhoneKey{}).Empty() {
		t.Error("the zero key is not empty")
	}
	for _, k := range []crm.PhoneKey{{E164: "+989121234567"}, {National: "9121234567"}, {Tail: "21234567"}} {
		if k.Empty() {
			t.Errorf("%+v is empty", k)
		}
	}
}

func TestTagKey(t *testing.T) {
	for in, want := range map[string]string{"VIP": "vip", "  Vip ": "vip", "مشتری": "مشتری", "": ""} {
		if got := crm.TagKey(in); got != want {
			t.Errorf("TagKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDedupKey(t *testing.T) {
	for _, c := range []struct {
		p    crm.Phone
		want string
	}{
		{crm.Phone{E164: "+989121234567", National: "9121234567"}, "+989121234567"},
		{crm.Phone{National: "12345"}, "12345"},
		{crm.Phone{Raw: "abc"}, ""},
	} {
		if got := c.p.DedupKey(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.p, got, c.want)
		}
	}
}

func TestSortByDue(t *testing.T) {
	day := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	tasks := []crm.Task{{ID: 4, DueAt: day.Add(time.Hour)}, {ID: 9, DueAt: day}, {ID: 2, DueAt: day.Add(time.Hour)},
		{ID: 3, DueAt: day}}
	crm.SortByDue(tasks)
	var ids []int64
	for _, t := range tasks {
		ids = append(ids, t.ID)
	}
	if fmt.Sprint(ids) != "[3 9 2 4]" {
		t.Fatalf("order %v, want [3 9 2 4]", ids)
	}
}

func TestStoreErrors(t *testing.T) {
	a := crm.Activity{Kind: crm.ActivityCall, CallID: "c1"}
	if err := crm.DuplicateCall(&a, 12); !errors.Is(err, crm.ErrConflict) || a.ID != 12 {
		t.Errorf("duplicate call: %v, id %d", err, a.ID)
	}
	if err := crm.ContactNotFound(5); !errors.Is(err, crm.ErrNotFound) || err.Error() != "contact 5: not found" {
		t.Errorf("contact not found: %v", err)
	}
	fe, ok := errors.AsType[*crm.FieldError](crm.UnknownOrganization(1, 40))
	if !ok || fe.Field != "organizations[1]" || fe.Reason != "no organization 40" {
		t.Errorf("unknown organization: %+v", fe)
	}
}

func TestSearchKeys(t *testing.T) {
	p := crm.Contact{Kind: crm.KindPerson, FirstName: " Ali ", LastName: "Karimi"}
	if name, last := p.SearchKeys(); name != "ali karimi" || last != "karimi" {
		t.Errorf("person: %q %q", name, last)
	}
	// Typed on an Arabic keyboard, kept in the Persian form.
	o := crm.Contact{Kind: crm.KindOrganization, Name: "شركة كيان", LastName: "ignored"}
	if name, _ := o.SearchKeys(); name != "شرکه کیان" {
		t.Errorf("organization: %q", name)
	}
}
