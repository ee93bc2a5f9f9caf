package contactcsv

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/tamas-cc/tamas/crm"
)

// Options adjusts Import. The zero value imports a comma-separated file all
// or nothing.
type Options struct {
	// Partial keeps the rows that succeed when others fail. Without it one
	// bad row means nothing is imported.
	Partial bool
	// Mapping maps header names (matched case-insensitively) to fields,
	// overriding the names Import recognises. A field is named as a header
	// would name it ("first_name", "phone2", "mobile", "email_label"),
	// "custom:KEY" puts the column in custom field KEY ("custom:" keeps the
	// header as the key), and "ignore" drops the column.
	Mapping map[string]string
	// Comma is the field delimiter: ',' (the default), ';', '\t' or '|'.
	Comma rune
	// MaxRowErrors bounds how many row errors, and separately how many
	// duplicates, the summary lists; the rest are only counted. 0 means
	// DefaultMaxRowErrors.
	MaxRowErrors int
	// MaxRecordBytes bounds one record; a longer one is a row error. 0
	// means DefaultMaxRecordBytes.
	MaxRecordBytes int
	// BatchRows is how many contacts a partial import writes per
	// transaction. 0 means DefaultBatchRows.
	BatchRows int
	// Size is the input's length in bytes for Progress.Total, when r cannot
	// tell (an *os.File, *bytes.Reader or *strings.Reader can).
	Size int64
	// Progress, if set, is called from Import's goroutine every thousand
	// rows or so and once at the end.
	Progress func(Progress)
}

// Defaults for Options.
const (
	DefaultMaxRowErrors   = 1000
	DefaultMaxRecordBytes = 1 << 20
	DefaultBatchRows      = 10_000
)

// progressEvery is how many rows pass between Progress calls.
const progressEvery = 1000

// Progress is how far an import has read.
type Progress struct {
	Rows  int
	Bytes int64
	// Total is the input size, 0 if unknown.
	Total int64
}

// RowError says why a row was not imported.
type RowError struct {
	// Line is the input line the record starts on, or for a quoting error
	// the line of the bad quote.
	Line int
	// Column is the header of the column at fault, "" when the row as a
	// whole is (a wrong number of fields).
	Column string
	Reason string
}

func (e RowError) String() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Column, e.Reason)
}

// Duplicate is a row skipped because its contact already exists.
type Duplicate struct {
	Line int
	// Column and Value are the phone column and number that matched, or
	// for an organization found by name, its name column and name.
	Column     string
	Value      string
	ExistingID int64
}

// Summary reports an import.
type Summary struct {
	// Rows counts the records read after the header, blank ones excepted.
	Rows int
	// Created counts the contacts written from rows and kept.
	Created    int
	Duplicates int
	Failed     int
	// Organizations counts the organizations created because a person
	// named one that did not exist.
	Organizations int
	// Errors lists the first Options.MaxRowErrors row errors in input
	// order; ErrorsTruncated counts the rest.
	Errors          []RowError
	ErrorsTruncated int
	// DuplicateRows lists the first Options.MaxRowErrors duplicates.
	DuplicateRows       []Duplicate
	DuplicatesTruncated int
	Duration            time.Duration
}

// ErrRowsFailed is wrapped by the error of an all-or-nothing import that
// wrote nothing because some rows failed; the summary lists them.
var ErrRowsFailed = errors.New("rows failed")

// Import reads contacts from r, a CSV file with a header, into dir's store.
//
// It returns an error wrapping ErrHeader, having written nothing, when the
// header is unusable; one wrapping ErrRowsFailed when rows failed and
// Options.Partial is off; and any failure to read r or to write to the
// store, having rolled back what was not yet committed. With
// Options.Partial, failed rows are reported in the summary only, and a
// failure that ends the import keeps the batches already committed
// (Summary.Created counts them).
//
// Rows are parsed and validated on a second goroutine while this one
// writes; Import waits for it before returning, which needs r.Read to
// return.
func Import(ctx context.Context, dir *crm.Directory, r io.Reader, opts Options) (Summary, error) {
	start := time.Now()
	var sum Summary
	if err := opts.fill(); err != nil {
		return sum, err
	}
	lim := newRecordLimiter(r, byte(opts.Comma), opts.MaxRecordBytes)
	cr := csv.NewReader(lim)
	cr.Comma = opts.Comma
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	switch {
	case errors.Is(err, io.EOF):
		return sum, fmt.Errorf("%w: the file is empty", ErrHeader)
	case err != nil:
		return sum, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	lay, err := newLayout(header, opts.Mapping)
	if err != nil {
		return sum, err
	}
	total := opts.Size
	if total <= 0 {
		total = sizeOf(r)
	}

	w := &writer{dir: dir, opts: &opts, lay: lay, total: total, orgs: make(map[string]int64)}
	if w.tx, err = dir.Store().BeginImport(ctx); err != nil {
		return sum, err
	}
	pctx, cancel := context.WithCancel(ctx)
	p := &parser{dir: dir, lay: lay, cr: cr, lim: lim}
	out := make(chan *batch, pipelineBatches)
	free := make(chan *batch, pipelineBatches)
	for range pipelineBatches {
		free <- &batch{rows: make([]row, batchRows)}
	}
	var wg sync.WaitGroup
	wg.Go(func() { p.run(pctx, out, free) })

	err = w.consume(ctx, out, free)
	cancel()
	wg.Wait()
	if err == nil {
		err = ctx.Err() // the parser stops early when ctx ends
	}
	err = w.finish(err, lim.nread)
	w.sum.Duration = time.Since(start)
	switch {
	case err != nil:
		return w.sum, err
	case !opts.Partial && w.sum.Failed > 0:
		return w.sum, fmt.Errorf("%w: %d of %d rows failed; nothing was imported", ErrRowsFailed, w.sum.Failed, w.sum.Rows)
	}
	return w.sum, nil
}

func (o *Options) fill() error {
	if o.Comma == 0 {
		o.Comma = ','
	}
	switch o.Comma {
	case ',', ';', '\t', '|':
	default:
		return fmt.Errorf("contactcsv: unsupported delimiter %q", o.Comma)
	}
	if o.MaxRowErrors <= 0 {
		o.MaxRowErrors = DefaultMaxRowErrors
	}
	if o.MaxRecordBytes <= 0 {
		o.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if o.BatchRows <= 0 {
		o.BatchRows = DefaultBatchRows
	}
	return nil
}

// sizeOf returns the length of r if r knows it, else 0.
func sizeOf(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Stat() (os.FileInfo, error) }:
		if st, err := v.Stat(); err == nil && st.Mode().IsRegular() {
			return st.Size()
		}
	case interface{ Size() int64 }:
		return v.Size()
	}
	return 0
}

// writer is the half of an import that talks to the store, on Import's
// goroutine: SQLite has one writer anyway, and one goroutine keeps the
// transaction's statements in order.
type writer struct {
	dir   *crm.Directory
	opts  *Options
	lay   *layout
	tx    crm.ImportTx
	total int64
	sum   Summary

	// created and orgsCreated count writes not yet committed.
	created, orgsCreated int
	lastProgress         int
	// orgs caches organization IDs by name, found or created in this
	// import, so a thousand people of one company cost one lookup.
	orgs map[string]int64
}

// maxOrgCache bounds the organization cache; past it the cache starts
// over, and lookups fall back to the store's name index.
const maxOrgCache = 10_000

func (w *writer) consume(ctx context.Context, in <-chan *batch, free chan<- *batch) error {
	for b := range in {
		for i := range b.rows[:b.n] {
			if err := w.row(ctx, &b.rows[i]); err != nil {
				return err
			}
		}
		if b.err != nil {
			return b.err
		}
		bytes := b.bytes
		free <- b
		if err := ctx.Err(); err != nil {
			return err
		}
		if w.opts.Partial && w.created+w.orgsCreated >= w.opts.BatchRows {
			if err := w.commit(ctx, true); err != nil {
				return err
			}
		}
		if w.opts.Progress != nil && w.sum.Rows-w.lastProgress >= progressEvery {
			w.lastProgress = w.sum.Rows
			w.opts.Progress(Progress{Rows: w.sum.Rows, Bytes: bytes, Total: w.total})
		}
	}
	return nil
}

// commit commits the open transaction and, if again, opens the next.
func (w *writer) commit(ctx context.Context, again bool) error {
	if err := w.tx.Commit(); err != nil {
		w.tx = nil
		return err
	}
	w.tx = nil
	w.sum.Created += w.created
	w.sum.Organizations += w.orgsCreated
	w.created, w.orgsCreated = 0, 0
	if !again {
		return nil
	}
	tx, err := w.dir.Store().BeginImport(ctx)
	if err != nil {
		return err
	}
	w.tx = tx
	return nil
}

// finish ends the transaction: committed if the import succeeded (or, if
// partial, despite failed rows), rolled back otherwise. It returns err, or
// the commit's error.
func (w *writer) finish(err error, bytes int64) error {
	if w.tx != nil {
		if err == nil && (w.opts.Partial || w.sum.Failed == 0) {
			err = w.commit(context.Background(), false)
		} else {
			w.tx.Rollback()
		}
	}
	if w.opts.Progress != nil {
		w.opts.Progress(Progress{Rows: w.sum.Rows, Bytes: bytes, Total: w.total})
	}
	return err
}

func (w *writer) fail(e RowError) {
	w.sum.Failed++
	if len(w.sum.Errors) < w.opts.MaxRowErrors {
		w.sum.Errors = append(w.sum.Errors, e)
	} else {
		w.sum.ErrorsTruncated++
	}
}

func (w *writer) duplicate(d Duplicate) {
	w.sum.Duplicates++
	if len(w.sum.DuplicateRows) < w.opts.MaxRowErrors {
		w.sum.DuplicateRows = append(w.sum.DuplicateRows, d)
	} else {
		w.sum.DuplicatesTruncated++
	}
}

// row writes one parsed row, unless it failed or is a duplicate. Errors
// returned are the store's and end the import.
func (w *writer) row(ctx context.Context, r *row) error {
	w.sum.Rows++
	if r.failed {
		w.fail(r.err)
		return nil
	}
	c := &r.c
	if c.Kind == crm.KindOrganization {
		id, ok, err := w.orgByName(ctx, c.Name)
		if err != nil {
			return err
		}
		if ok {
			w.duplicate(Duplicate{Line: r.line, Column: w.lay.header(r.nameCol), Value: c.Name, ExistingID: id})
			return nil
		}
	}
	personal := c.Kind == crm.KindPerson && hasPersonalNumber(c.Phones)
	for i, p := range c.Phones {
		if p.National == "" || (personal && sharedLine(p.Label)) {
			continue
		}
		id, ok, err := w.tx.ContactByPhone(ctx, c.Kind, p)
		if err != nil {
			return fmt.Errorf("import line %d: %w", r.line, err)
		}
		if ok {
			w.duplicate(Duplicate{Line: r.line, Column: w.lay.header(r.phoneCols[i]), Value: p.Raw, ExistingID: id})
			return nil
		}
	}
	if c.Kind == crm.KindPerson && len(r.orgs) > 0 {
		refs := c.Organizations[:0]
		for _, name := range r.orgs {
			id, err := w.orgID(ctx, name)
			if err != nil {
				return fmt.Errorf("import line %d: %w", r.line, err)
			}
			refs = append(refs, crm.OrgRef{ID: id, Name: name})
		}
		c.Organizations = refs
	}
	if err := w.tx.CreateContact(ctx, c); err != nil {
		return fmt.Errorf("import line %d: %w", r.line, err)
	}
	w.created++
	if c.Kind == crm.KindOrganization {
		w.cacheOrg(c.Name, c.ID)
	}
	return nil
}

// sharedLine reports whether a number of this label may belong to several
// people (a company's switchboard or fax), so it does not identify one.
func sharedLine(l crm.PhoneLabel) bool {
	return l == crm.LabelWork || l == crm.LabelMain || l == crm.LabelFax
}

// hasPersonalNumber counts numbers that did not normalise too: a person
// whose own number is in a form we cannot validate is still not their
// colleague.
func hasPersonalNumber(phones []crm.Phone) bool {
	for _, p := range phones {
		if !sharedLine(p.Label) {
			return true
		}
	}
	return false
}

func (w *writer) orgByName(ctx context.Context, name string) (int64, bool, error) {
	if id, ok := w.orgs[name]; ok {
		return id, true, nil
	}
	id, ok, err := w.tx.OrganizationByName(ctx, name)
	if err != nil {
		return 0, false, fmt.Errorf("find organization %q: %w", name, err)
	}
	if ok {
		w.cacheOrg(name, id)
	}
	return id, ok, nil
}

// orgID finds the organization named name or creates it. The parser has
// validated the name.
func (w *writer) orgID(ctx context.Context, name string) (int64, error) {
	id, ok, err := w.orgByName(ctx, name)
	if err != nil || ok {
		return id, err
	}
	o := crm.Contact{Kind: crm.KindOrganization, Name: name}
	if err := w.dir.Normalize(&o); err != nil {
		return 0, fmt.Errorf("organization %q: %w", name, err)
	}
	if err := w.tx.CreateContact(ctx, &o); err != nil {
		return 0, fmt.Errorf("create organization %q: %w", name, err)
	}
	w.orgsCreated++
	w.cacheOrg(name, o.ID)
	return o.ID, nil
}

func (w *writer) cacheOrg(name string, id int64) {
	if len(w.orgs) >= maxOrgCache {
		clear(w.orgs)
	}
	w.orgs[name] = id
}
