package contactcsv

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tamas-cc/tamas/crm"
)

// ExportPhones and ExportEmails are how many numbers and addresses get
// columns of their own in an export; more go to more_phones and
// more_emails.
const (
	ExportPhones = 5
	ExportEmails = 3
)

// Header returns the columns Export writes, in order.
func Header() []string {
	h := []string{"id", "kind", "first_name", "last_name", "name", "organization", "status", "owner", "tags"}
	for i := 1; i <= ExportPhones; i++ {
		n := strconv.Itoa(i)
		h = append(h, "phone"+n, "phone"+n+"_label")
	}
	h = append(h, "more_phones")
	for i := 1; i <= ExportEmails; i++ {
		n := strconv.Itoa(i)
		h = append(h, "email"+n, "email"+n+"_label")
	}
	return append(h, "more_emails", "notes", "custom")
}

// Column positions in Header.
const (
	colID = iota
	colKind
	colFirstName
	colLastName
	colName
	colOrganization
	colStatus
	colOwner
	colTags
	colPhones
	colMorePhones = colPhones + 2*ExportPhones
	colEmails     = colMorePhones + 1
	colMoreEmails = colEmails + 2*ExportEmails
	colNotes      = colMoreEmails + 1
	colCustom     = colNotes + 1
	numExportCols = colCustom + 1
)

// utf8BOM starts every export: without it spreadsheets read UTF-8 as the
// local code page and Persian text comes out garbled. Import skips it.
const utf8BOM = "\uFEFF"

// Export writes every live contact of store to w as CSV and returns how many
// it wrote. Organizations come first, then people, each in ID order; the
// store is read twice for that, so a contact whose kind changes meanwhile
// may be written twice or not at all. Cells are guarded against formula
// injection (see the package documentation).
func Export(ctx context.Context, store crm.Store, w io.Writer) (int, error) {
	if _, err := io.WriteString(w, utf8BOM); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(Header()); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	rec := make([]string, numExportCols)
	var buf bytes.Buffer
	n := 0
	for _, kind := range []crm.Kind{crm.KindOrganization, crm.KindPerson} {
		err := crm.EachContact(ctx, store, func(c *crm.Contact) error {
			if c.Kind != kind {
				return nil
			}
			fillRecord(rec, c, &buf)
			if err := cw.Write(rec); err != nil {
				return err
			}
			n++
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("export: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, fmt.Errorf("export: %w", err)
	}
	return n, nil
}

// fillRecord writes c into rec in Header order.
func fillRecord(rec []string, c *crm.Contact, buf *bytes.Buffer) {
	clear(rec)
	rec[colID] = strconv.FormatInt(c.ID, 10)
	rec[colKind] = string(c.Kind)
	rec[colFirstName] = guard(c.FirstName)
	rec[colLastName] = guard(c.LastName)
	rec[colName] = guard(c.Name)
	if len(c.Organizations) > 0 {
		names := make([]string, len(c.Organizations))
		for i, o := range c.Organizations {
			names[i] = o.Name
		}
		rec[colOrganization] = guard(strings.Join(names, ";"))
	}
	rec[colStatus] = string(c.Status)
	rec[colOwner] = guard(c.Owner)
	rec[colTags] = guard(strings.Join(c.Tags, ";"))
	for i, p := range c.Phones {
		if i == ExportPhones {
			type more struct {
				Label crm.PhoneLabel `json:"label"`
				Raw   string         `json:"raw"`
			}
			rest := make([]more, 0, len(c.Phones)-ExportPhones)
			for _, p := range c.Phones[ExportPhones:] {
				rest = append(rest, more{p.Label, p.Raw})
			}
			rec[colMorePhones] = marshal(rest)
			break
		}
		rec[colPhones+2*i] = guardPhone(p.Raw)
		rec[colPhones+2*i+1] = string(p.Label)
	}
	for i, e := range c.Emails {
		if i == ExportEmails {
			rec[colMoreEmails] = marshal(c.Emails[ExportEmails:])
			break
		}
		rec[colEmails+2*i] = guard(e.Address)
		rec[colEmails+2*i+1] = guard(e.Label)
	}
	rec[colNotes] = guard(c.Notes)
	if len(c.Custom) > 0 {
		// Compact, so the cell starts with '{' and no spreadsheet takes
		// leading white space for the start of something else.
		buf.Reset()
		if json.Compact(buf, c.Custom) == nil {
			rec[colCustom] = buf.String()
		} else {
			rec[colCustom] = guard(string(c.Custom))
		}
	}
}

func marshal(v any) string {
	b, _ := json.Marshal(v) // slices of structs of strings cannot fail
	return string(b)
}
