package contactcsv

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/tamas-cc/tamas/crm"
)

// ErrHeader is wrapped by the errors Import returns, before reading any row,
// for a header it cannot work with.
var ErrHeader = errors.New("unusable header")

// field is what a column holds.
type field uint8

const (
	fieldCustom field = iota // unknown column: a custom field named by its header
	fieldIgnore
	fieldID
	fieldFirstName
	fieldLastName
	fieldName
	fieldOrganization
	fieldKind
	fieldStatus
	fieldOwner
	fieldNotes
	fieldTags
	fieldCustomJSON
	fieldMorePhones
	fieldMoreEmails
	fieldPhone
	fieldPhoneLabel
	fieldEmail
	fieldEmailLabel
	numFields
)

// fieldNames are the canonical names, the ones Export writes and explicit
// mappings may use.
var fieldNames = [numFields]string{
	fieldCustom: "custom field", fieldIgnore: "ignore", fieldID: "id", fieldFirstName: "first_name",
	fieldLastName: "last_name", fieldName: "name", fieldOrganization: "organization", fieldKind: "kind",
	fieldStatus: "status", fieldOwner: "owner", fieldNotes: "notes", fieldTags: "tags", fieldCustomJSON: "custom",
	fieldMorePhones: "more_phones", fieldMoreEmails: "more_emails", fieldPhone: "phone",
	fieldPhoneLabel: "phone_label", fieldEmail: "email", fieldEmailLabel: "email_label",
}

// singular reports whether at most one column may hold f.
func (f field) singular() bool { return f >= fieldID && f <= fieldMoreEmails }

// singleNames maps folded header names to the fields that take one column.
var singleNames = map[string]field{
	"id": fieldID,

	"first name": fieldFirstName, "firstname": fieldFirstName, "given name": fieldFirstName,
	"forename": fieldFirstName, "نام": fieldFirstName, "نام کوچک": fieldFirstName,

	"last name": fieldLastName, "lastname": fieldLastName, "surname": fieldLastName, "family name": fieldLastName,
	"familyname": fieldLastName, "نام خانوادگی": fieldLastName, "فامیلی": fieldLastName, "فامیل": fieldLastName,

	"name": fieldName, "full name": fieldName, "fullname": fieldName, "display name": fieldName,
	"contact name": fieldName, "نام کامل": fieldName, "نام و نام خانوادگی": fieldName,

	"organization": fieldOrganization, "organisation": fieldOrganization, "org": fieldOrganization,
	"company": fieldOrganization, "company name": fieldOrganization, "organization name": fieldOrganization,
	"organizations": fieldOrganization, "شرکت": fieldOrganization, "سازمان": fieldOrganization,
	"نام شرکت": fieldOrganization, "نام سازمان": fieldOrganization,

	"kind": fieldKind, "type": fieldKind, "contact type": fieldKind, "نوع": fieldKind,
	"status": fieldStatus, "وضعیت": fieldStatus,
	"owner": fieldOwner, "assigned to": fieldOwner, "مالک": fieldOwner, "مسئول": fieldOwner,
	"notes": fieldNotes, "note": fieldNotes, "comments": fieldNotes, "description": fieldNotes,
	"یادداشت": fieldNotes, "توضیحات": fieldNotes,
	"tags": fieldTags, "tag": fieldTags, "برچسب": fieldTags, "برچسب ها": fieldTags,
	"custom": fieldCustomJSON, "custom fields": fieldCustomJSON,
	"more phones": fieldMorePhones, "more emails": fieldMoreEmails,
}

// phoneNames maps folded phone column names (without a trailing number) to
// the label their numbers get; "" leaves it to the row's kind.
var phoneNames = map[string]crm.PhoneLabel{
	"phone": "", "phone number": "", "telephone": "", "tel": "", "تلفن": "", "شماره": "", "شماره تلفن": "",
	"mobile": crm.LabelMobile, "mobile phone": crm.LabelMobile, "mobile number": crm.LabelMobile,
	"cell": crm.LabelMobile, "cell phone": crm.LabelMobile, "cellphone": crm.LabelMobile,
	"موبایل": crm.LabelMobile, "همراه": crm.LabelMobile, "تلفن همراه": crm.LabelMobile, "شماره همراه": crm.LabelMobile,
	"work": crm.LabelWork, "work phone": crm.LabelWork, "office": crm.LabelWork, "office phone": crm.LabelWork,
	"business phone": crm.LabelWork, "تلفن محل کار": crm.LabelWork, "محل کار": crm.LabelWork,
	"home": crm.LabelHome, "home phone": crm.LabelHome, "تلفن منزل": crm.LabelHome, "منزل": crm.LabelHome,
	"fax": crm.LabelFax, "فکس": crm.LabelFax, "نمابر": crm.LabelFax,
	"main": crm.LabelMain, "main phone": crm.LabelMain, "switchboard": crm.LabelMain,
	"other phone": crm.LabelOther,
}

// emailNames maps folded email column names to the label of their
// addresses.
var emailNames = map[string]string{
	"email": "", "e mail": "", "mail": "", "email address": "", "ایمیل": "", "پست الکترونیک": "",
	"پست الکترونیکی": "", "work email": "work", "home email": "home", "personal email": "personal",
	"other email": "other",
}

// labelWords reads a phone label cell; canonical labels are accepted in
// any case as well.
var labelWords = map[string]crm.PhoneLabel{
	"cell": crm.LabelMobile, "موبایل": crm.LabelMobile, "همراه": crm.LabelMobile, "office": crm.LabelWork,
	"محل کار": crm.LabelWork, "کار": crm.LabelWork, "منزل": crm.LabelHome, "خانه": crm.LabelHome,
	"فکس": crm.LabelFax, "نمابر": crm.LabelFax, "اصلی": crm.LabelMain, "سایر": crm.LabelOther, "دیگر": crm.LabelOther,
}

// headerKey folds a column name for matching: case, Persian/Arabic letter
// variants, and '_', '-', '.' and runs of spaces all compare equal.
func headerKey(s string) string {
	k := crm.SearchKey(s)
	k = strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', '.', '\t':
			return ' '
		}
		return r
	}, k)
	return strings.Join(strings.Fields(k), " ")
}

// splitNumber splits "phone 2" or "phone2" into "phone" and 2.
func splitNumber(k string) (string, int) {
	i := len(k)
	for i > 0 && k[i-1] >= '0' && k[i-1] <= '9' {
		i--
	}
	if i == len(k) || len(k)-i > 4 {
		return k, 0
	}
	n := 0
	for _, c := range k[i:] {
		n = n*10 + int(c-'0')
	}
	return strings.TrimRight(k[:i], " "), n
}

// column is one column of the input as the header resolved it.
type column struct {
	header string // as written, trimmed
	field  field
	// phoneLabel and emailLabel are the labels a phone or email column
	// gives its values when no label column says otherwise.
	phoneLabel crm.PhoneLabel
	emailLabel string
	// num is N of "phoneN", "emailN" and their label columns; generic is
	// set for phone and email columns without a label of their own, the
	// only ones a label column can pair with.
	num     int
	generic bool
	// labelCol is the label column of a phone or email column, -1 if none.
	labelCol int
	// key is the JSON-encoded name of a custom field.
	key []byte
}

// layout is the resolved header.
type layout struct {
	cols []column
	// single holds the column of each singular field, -1 if absent.
	single [numFields]int
	// orgOnly: no person-name column, so every row is an organization named
	// by the organization column.
	orgOnly bool
}

// resolveName finds the field a column name stands for.
func resolveName(name string) (c column, ok bool) {
	k := headerKey(name)
	c.labelCol = -1
	if f, ok := singleNames[k]; ok {
		c.field = f
		return c, true
	}
	if inner, isLabel := strings.CutSuffix(k, " label"); isLabel {
		base, n := splitNumber(inner)
		if l, ok := phoneNames[base]; ok && l == "" {
			c.field, c.num = fieldPhoneLabel, n
			return c, true
		}
		if l, ok := emailNames[base]; ok && l == "" {
			c.field, c.num = fieldEmailLabel, n
			return c, true
		}
		return c, false
	}
	base, n := splitNumber(k)
	if l, ok := phoneNames[base]; ok {
		c.field, c.phoneLabel, c.num, c.generic = fieldPhone, l, n, l == ""
		return c, true
	}
	if l, ok := emailNames[base]; ok {
		c.field, c.emailLabel, c.num, c.generic = fieldEmail, l, n, l == ""
		return c, true
	}
	return c, false
}

// resolveMapping reads an explicit mapping target: a field name as a header
// would spell it, "custom:KEY", or "ignore".
func resolveMapping(header, target string) (column, error) {
	t := strings.TrimSpace(target)
	switch strings.ToLower(t) {
	case "", "-", "ignore", "skip":
		return column{field: fieldIgnore, labelCol: -1}, nil
	}
	if len(t) >= 7 && strings.EqualFold(t[:7], "custom:") {
		key := strings.TrimSpace(t[7:])
		if key == "" {
			key = header
		}
		return column{field: fieldCustom, labelCol: -1, key: jsonString(nil, key)}, nil
	}
	c, ok := resolveName(t)
	if !ok {
		return c, fmt.Errorf("%w: mapping for column %q: unknown field %q", ErrHeader, header, target)
	}
	return c, nil
}

// newLayout resolves a header record.
func newLayout(header []string, mapping map[string]string) (*layout, error) {
	if len(header) == 0 {
		return nil, fmt.Errorf("%w: empty header", ErrHeader)
	}
	mapped := make(map[string]string, len(mapping))
	used := make(map[string]bool, len(mapping))
	for k, v := range mapping {
		mapped[strings.ToLower(strings.TrimSpace(k))] = v
	}
	l := &layout{cols: make([]column, len(header))}
	for i := range l.single {
		l.single[i] = -1
	}
	seen := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.TrimSpace(unguard(h))
		if !utf8.ValidString(h) {
			return nil, fmt.Errorf("%w: column %d: name is not valid UTF-8 (is the file UTF-8?)", ErrHeader, i+1)
		}
		lower := strings.ToLower(h)
		if j, dup := seen[lower]; dup && h != "" {
			return nil, fmt.Errorf("%w: column %q appears twice (columns %d and %d)", ErrHeader, h, j+1, i+1)
		}
		seen[lower] = i
		var c column
		if target, ok := mapped[lower]; ok {
			used[lower] = true
			var err error
			if c, err = resolveMapping(h, target); err != nil {
				return nil, err
			}
		} else if h == "" {
			c = column{field: fieldIgnore, labelCol: -1}
		} else if rc, ok := resolveName(h); ok {
			c = rc
		} else {
			c = column{field: fieldCustom, labelCol: -1, key: jsonString(nil, h)}
		}
		c.header = h
		if c.field.singular() {
			if j := l.single[c.field]; j >= 0 {
				return nil, fmt.Errorf("%w: columns %q and %q both hold %s", ErrHeader, l.cols[j].header, h, fieldNames[c.field])
			}
			l.single[c.field] = i
		}
		l.cols[i] = c
	}
	for k := range mapped {
		if !used[k] {
			return nil, fmt.Errorf("%w: the mapping names column %q, which the file does not have", ErrHeader, k)
		}
	}
	if err := l.pairLabels(); err != nil {
		return nil, err
	}
	if l.single[fieldFirstName] < 0 && l.single[fieldLastName] < 0 && l.single[fieldName] < 0 {
		if l.single[fieldOrganization] < 0 {
			return nil, fmt.Errorf("%w: no name column (first_name, last_name, name or organization)", ErrHeader)
		}
		l.orgOnly = true
	}
	return l, nil
}

// pairLabels links each label column to its phone or email column.
func (l *layout) pairLabels() error {
	type key struct {
		f   field
		num int
	}
	generic := map[key]int{}
	for i, c := range l.cols {
		if (c.field == fieldPhone || c.field == fieldEmail) && c.generic {
			k := key{c.field, c.num}
			if j, dup := generic[k]; dup {
				return fmt.Errorf("%w: columns %q and %q are both %s %d", ErrHeader, l.cols[j].header, c.header,
					fieldNames[c.field], c.num)
			}
			generic[k] = i
		}
	}
	for i, c := range l.cols {
		var target field
		switch c.field {
		case fieldPhoneLabel:
			target = fieldPhone
		case fieldEmailLabel:
			target = fieldEmail
		default:
			continue
		}
		j, ok := generic[key{target, c.num}]
		if !ok {
			return fmt.Errorf("%w: label column %q has no %s column to go with", ErrHeader, c.header, fieldNames[target])
		}
		if l.cols[j].labelCol >= 0 {
			return fmt.Errorf("%w: columns %q and %q both label %q", ErrHeader, l.cols[l.cols[j].labelCol].header,
				c.header, l.cols[j].header)
		}
		l.cols[j].labelCol = i
	}
	return nil
}

// columnOf names the column a field came from, "" if none.
func (l *layout) columnOf(f field) string { return l.header(l.single[f]) }

// header names column i, "" if there is none.
func (l *layout) header(i int) string {
	if i < 0 || i >= len(l.cols) {
		return ""
	}
	return l.cols[i].header
}

// jsonString appends s as a JSON string. s must be valid UTF-8.
func jsonString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 0x20 && b != '"' && b != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch b {
		case '"', '\\':
			dst = append(dst, '\\', b)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
