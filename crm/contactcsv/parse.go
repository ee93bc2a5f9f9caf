package contactcsv

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tamas-cc/tamas/crm"
)

// The pipeline holds at most pipelineBatches batches of batchRows rows, so
// memory does not grow with the file.
const (
	pipelineBatches = 4
	batchRows       = 256
)

// row is one record, parsed and validated, on its way to the writer.
type row struct {
	line   int
	failed bool
	err    RowError
	c      crm.Contact
	// phoneCols is the column of each of c.Phones, to name it in a
	// duplicate report.
	phoneCols [crm.MaxPhones]int
	// nameCol is the column an organization's name came from.
	nameCol int
	// orgs are the organizations a person belongs to, by name.
	orgs []string
}

// batch carries rows from the parser to the writer and back for reuse.
type batch struct {
	rows  []row
	n     int
	bytes int64 // input read when the batch was sent
	err   error // a failure that ends the import, after rows[:n]
}

// parser reads and validates rows: everything an import does that needs no
// store, so it can run beside the writer.
type parser struct {
	dir *crm.Directory
	lay *layout
	cr  *csv.Reader
	lim *recordLimiter

	emailCols []int
	custom    []byte
}

func (p *parser) run(ctx context.Context, out chan<- *batch, free <-chan *batch) {
	defer close(out)
	for {
		var b *batch
		select {
		case b = <-free:
		case <-ctx.Done():
			return
		}
		b.n, b.err = 0, nil
		eof := false
		for b.n < len(b.rows) && b.err == nil {
			rec, err := p.cr.Read()
			if errors.Is(err, io.EOF) {
				eof = true
				break
			}
			r := &b.rows[b.n]
			if skip, fatal := p.read(r, rec, err); fatal != nil {
				b.err = fatal
			} else if !skip {
				b.n++
			}
		}
		b.bytes = p.lim.nread
		select {
		case out <- b:
		case <-ctx.Done():
			return
		}
		if eof || b.err != nil {
			return
		}
	}
}

// read fills r from one record and the error encoding/csv returned with it.
// It reports blank records, and errors that end the import.
func (p *parser) read(r *row, rec []string, err error) (skip bool, fatal error) {
	r.reset()
	var tooLong *RecordTooLongError
	var pe *csv.ParseError
	switch {
	case err == nil:
		r.line, _ = p.cr.FieldPos(0)
		return p.build(r, rec), nil
	case errors.As(err, &tooLong):
		r.line = tooLong.Line
		r.fail(p.lay.header(tooLong.Field), fmt.Sprintf("record longer than %d bytes, skipped", tooLong.Limit))
		return false, nil
	case errors.As(err, &pe):
		r.line = pe.Line
		r.fail(p.lay.header(len(rec)), fmt.Sprintf("%v (byte %d of the line)", pe.Err, pe.Column))
		return false, nil
	}
	return false, fmt.Errorf("read CSV: %w", err)
}

func (r *row) reset() {
	c := &r.c
	*c = crm.Contact{Phones: c.Phones[:0], Emails: c.Emails[:0], Organizations: c.Organizations[:0]}
	r.failed, r.err, r.nameCol, r.orgs = false, RowError{}, -1, r.orgs[:0]
}

func (r *row) fail(column, reason string) {
	r.failed = true
	r.err = RowError{Line: r.line, Column: column, Reason: reason}
}

// build turns a record into a contact. It reports whether the record was
// blank; any other problem is left in r as a row error.
func (p *parser) build(r *row, rec []string) (blank bool) {
	lay := p.lay
	blank = true
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			blank = false
			break
		}
	}
	if blank {
		return true
	}
	if len(rec) < len(lay.cols) {
		r.fail("", fmt.Sprintf("%d fields, but the header has %d", len(rec), len(lay.cols)))
		return false
	}
	for _, v := range rec[len(lay.cols):] {
		if strings.TrimSpace(v) != "" {
			r.fail("", fmt.Sprintf("%d fields, but the header has %d", len(rec), len(lay.cols)))
			return false
		}
	}
	c := &r.c
	p.emailCols = p.emailCols[:0]
	p.custom = p.custom[:0]
	var kindCell, nameCell, orgCell, customCell string
	for i := range lay.cols {
		col := &lay.cols[i]
		v := rec[i]
		if v == "" || col.field == fieldIgnore || col.field == fieldID {
			continue
		}
		v = unguard(v)
		if !utf8.ValidString(v) {
			r.fail(col.header, "not valid UTF-8")
			return false
		}
		switch col.field {
		case fieldFirstName:
			c.FirstName = v
		case fieldLastName:
			c.LastName = v
		case fieldName:
			nameCell = v
		case fieldOrganization:
			orgCell = v
		case fieldKind:
			kindCell = v
		case fieldStatus:
			s := crm.SearchKey(v)
			if st, ok := statusWords[s]; ok {
				s = string(st)
			}
			c.Status = crm.Status(s)
		case fieldOwner:
			c.Owner = v
		case fieldNotes:
			c.Notes = v
		case fieldTags:
			c.Tags = append(c.Tags, strings.FieldsFunc(v, isTagSep)...)
		case fieldCustomJSON:
			customCell = v
		case fieldCustom:
			if strings.TrimSpace(v) == "" {
				continue
			}
			if len(p.custom) > 0 {
				p.custom = append(p.custom, ',')
			}
			p.custom = append(p.custom, col.key...)
			p.custom = append(p.custom, ':')
			p.custom = jsonString(p.custom, v)
		case fieldPhone:
			if strings.TrimSpace(v) == "" {
				continue
			}
			label := col.phoneLabel
			if col.labelCol >= 0 {
				lc := &lay.cols[col.labelCol]
				if lv := strings.TrimSpace(unguard(rec[col.labelCol])); lv != "" {
					l, ok := parseLabel(lv)
					if !ok {
						r.fail(lc.header, fmt.Sprintf("unknown phone label %q", lv))
						return false
					}
					label = l
				}
			}
			if !p.addPhone(r, i, label, v) {
				return false
			}
		case fieldEmail:
			if strings.TrimSpace(v) == "" {
				continue
			}
			label := col.emailLabel
			if col.labelCol >= 0 {
				if lv := strings.TrimSpace(unguard(rec[col.labelCol])); lv != "" {
					label = lv
				}
			}
			c.Emails = append(c.Emails, crm.Email{Label: label, Address: v})
			p.emailCols = append(p.emailCols, i)
		case fieldMorePhones:
			if strings.TrimSpace(v) == "" {
				continue
			}
			var more []struct {
				Label crm.PhoneLabel `json:"label"`
				Raw   string         `json:"raw"`
			}
			if err := json.Unmarshal([]byte(v), &more); err != nil {
				r.fail(col.header, "not a JSON array of {label, raw}")
				return false
			}
			for _, m := range more {
				if !p.addPhone(r, i, m.Label, m.Raw) {
					return false
				}
			}
		case fieldMoreEmails:
			if strings.TrimSpace(v) == "" {
				continue
			}
			var more []crm.Email
			if err := json.Unmarshal([]byte(v), &more); err != nil {
				r.fail(col.header, "not a JSON array of {label, address}")
				return false
			}
			for _, m := range more {
				c.Emails = append(c.Emails, m)
				p.emailCols = append(p.emailCols, i)
			}
		}
	}

	c.Kind = crm.KindPerson
	if lay.orgOnly {
		c.Kind = crm.KindOrganization
	}
	if k := crm.SearchKey(kindCell); k != "" {
		kind, ok := kindWords[k]
		if !ok {
			r.fail(lay.columnOf(fieldKind), fmt.Sprintf("unknown kind %q (person or organization)", kindCell))
			return false
		}
		c.Kind = kind
	}
	switch c.Kind {
	case crm.KindPerson:
		if strings.TrimSpace(c.FirstName) == "" && strings.TrimSpace(c.LastName) == "" {
			c.FirstName, c.LastName = splitName(nameCell)
		}
		if !p.personOrgs(r, orgCell) {
			return false
		}
	case crm.KindOrganization:
		c.Name, r.nameCol = nameCell, lay.single[fieldName]
		if strings.TrimSpace(c.Name) == "" {
			c.Name, r.nameCol = orgCell, lay.single[fieldOrganization]
		}
		for i := range c.Phones {
			if c.Phones[i].Label == "" {
				c.Phones[i].Label = crm.LabelMain
			}
		}
	}
	if customCell != "" || len(p.custom) > 0 {
		custom, reason := p.customJSON(customCell)
		if reason != "" {
			r.fail(lay.columnOf(fieldCustomJSON), reason)
			return false
		}
		c.Custom = custom
	}
	if err := p.dir.Normalize(c); err != nil {
		var fe *crm.FieldError
		if !errors.As(err, &fe) {
			r.fail("", err.Error())
			return false
		}
		r.fail(p.columnOfField(r, fe.Field), fe.Reason)
		return false
	}
	dedupePhones(r)
	return false
}

func (p *parser) addPhone(r *row, col int, label crm.PhoneLabel, raw string) bool {
	n := len(r.c.Phones)
	if n == crm.MaxPhones {
		r.fail(p.lay.header(col), fmt.Sprintf("more than %d numbers", crm.MaxPhones))
		return false
	}
	r.c.Phones = append(r.c.Phones, crm.Phone{Label: label, Raw: raw})
	r.phoneCols[n] = col
	return true
}

// personOrgs reads a person's organization cell: names separated by ';'.
func (p *parser) personOrgs(r *row, cell string) bool {
	if strings.TrimSpace(cell) == "" {
		return true
	}
	col := p.lay.columnOf(fieldOrganization)
	for name := range strings.SplitSeq(cell, ";") {
		name = strings.TrimSpace(name)
		if name == "" || containsString(r.orgs, name) {
			continue
		}
		o := crm.Contact{Kind: crm.KindOrganization, Name: name}
		if err := p.dir.Normalize(&o); err != nil {
			reason := err.Error()
			var fe *crm.FieldError
			if errors.As(err, &fe) {
				reason = fe.Reason
			}
			r.fail(col, reason)
			return false
		}
		r.orgs = append(r.orgs, name)
	}
	return true
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// customJSON builds the custom object from the custom column (a JSON
// object) and the custom-field columns, which win on a clash.
func (p *parser) customJSON(cell string) (json.RawMessage, string) {
	if strings.TrimSpace(cell) == "" {
		return json.RawMessage("{" + string(p.custom) + "}"), ""
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(cell), &obj); err != nil || obj == nil {
		return nil, "not a JSON object"
	}
	if len(p.custom) == 0 {
		return json.RawMessage(cell), ""
	}
	var cols map[string]json.RawMessage
	if err := json.Unmarshal(append(append([]byte{'{'}, p.custom...), '}'), &cols); err != nil {
		return nil, "custom fields: " + err.Error()
	}
	for k, v := range cols {
		obj[k] = v
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err.Error()
	}
	return b, ""
}

// columnOfField maps a field Directory.Normalize complained about back to
// the column it came from.
func (p *parser) columnOfField(r *row, f string) string {
	lay := p.lay
	if rest, ok := strings.CutPrefix(f, "phones["); ok {
		if i, err := strconv.Atoi(strings.TrimSuffix(rest, "]")); err == nil && i >= 0 && i < len(r.c.Phones) {
			return lay.header(r.phoneCols[i])
		}
	}
	if rest, ok := strings.CutPrefix(f, "emails["); ok {
		if i, err := strconv.Atoi(strings.TrimSuffix(rest, "]")); err == nil && i >= 0 && i < len(p.emailCols) {
			return lay.header(p.emailCols[i])
		}
	}
	switch f {
	case "phones":
		if len(r.c.Phones) > 0 {
			return lay.header(r.phoneCols[0])
		}
	case "emails":
		if len(p.emailCols) > 0 {
			return lay.header(p.emailCols[0])
		}
	case "first_name", "last_name":
		// A person without a name: point at whichever name column exists.
		for _, nf := range []field{fieldFirstName, fieldLastName, fieldName} {
			if f == "last_name" && nf == fieldFirstName {
				continue
			}
			if c := lay.columnOf(nf); c != "" {
				return c
			}
		}
	case "name":
		if r.nameCol >= 0 {
			return lay.header(r.nameCol)
		}
		if c := lay.columnOf(fieldName); c != "" {
			return c
		}
		return lay.columnOf(fieldOrganization)
	case "custom":
		return lay.columnOf(fieldCustomJSON)
	case "kind":
		return lay.columnOf(fieldKind)
	case "status":
		return lay.columnOf(fieldStatus)
	case "owner":
		return lay.columnOf(fieldOwner)
	case "notes":
		return lay.columnOf(fieldNotes)
	case "tags":
		return lay.columnOf(fieldTags)
	}
	return ""
}

// dedupePhones drops a number the row gives twice.
func dedupePhones(r *row) {
	ps := r.c.Phones
	if len(ps) < 2 {
		return
	}
	n := 1
	for i := 1; i < len(ps); i++ {
		dup := false
		for j := range n {
			if ps[j].E164 != "" && ps[j].E164 == ps[i].E164 {
				dup = true
				break
			}
		}
		if !dup {
			ps[n] = ps[i]
			r.phoneCols[n] = r.phoneCols[i]
			n++
		}
	}
	r.c.Phones = ps[:n]
}

// splitName splits a full name at its last space: "Mary Ann Smith" is
// "Mary Ann" and "Smith", and a single word is a first name.
func splitName(s string) (first, last string) {
	s = strings.TrimSpace(s)
	i := strings.LastIndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	_, size := utf8.DecodeRuneInString(s[i:])
	return strings.TrimSpace(s[:i]), s[i+size:]
}

func isTagSep(r rune) bool { return r == ';' || r == '|' || r == ',' || r == '،' }

var kindWords = map[string]crm.Kind{
	"person": crm.KindPerson, "people": crm.KindPerson, "individual": crm.KindPerson, "contact": crm.KindPerson,
	"شخص": crm.KindPerson, "فرد": crm.KindPerson, "حقیقی": crm.KindPerson,
	"organization": crm.KindOrganization, "organisation": crm.KindOrganization, "org": crm.KindOrganization,
	"company": crm.KindOrganization, "business": crm.KindOrganization, "سازمان": crm.KindOrganization,
	"شرکت": crm.KindOrganization, "حقوقی": crm.KindOrganization,
}

var statusWords = map[string]crm.Status{
	"سرنخ": crm.StatusLead, "واجد شرایط": crm.StatusQualified, "مشتری": crm.StatusCustomer,
	"غیرفعال": crm.StatusInactive, "غیر فعال": crm.StatusInactive,
}

func parseLabel(s string) (crm.PhoneLabel, bool) {
	l := crm.PhoneLabel(crm.SearchKey(s))
	if l.Valid() {
		return l, true
	}
	l, ok := labelWords[string(l)]
	return l, ok
}
