package contactcsv

import (
	"errors"
	"fmt"
	"io"
)

// RecordTooLongError reports a record longer than Options.MaxRecordBytes.
// The record is skipped without being buffered; reading goes on after it.
type RecordTooLongError struct {
	Line  int // where the record starts
	Field int // index of the field the limit was passed in, from 0
	Limit int
}

func (e *RecordTooLongError) Error() string {
	return fmt.Sprintf("line %d: record longer than %d bytes", e.Line, e.Limit)
}

// errUTF16 is returned for input that starts with a UTF-16 byte-order mark,
// as spreadsheets write when asked for "Unicode text".
var errUTF16 = errors.New("the file is UTF-16; save it as CSV UTF-8")

// lexState is where a byte falls in the CSV grammar, tracked the way
// encoding/csv parses (no lazy quotes, no leading-space trimming).
type lexState uint8

const (
	lexFieldStart lexState = iota
	lexUnquoted
	lexQuoted
	lexQuoteInQuoted // a '"' inside a quoted field: an escape or its end
	lexSkipLine      // after a quoting error encoding/csv drops the rest of the line
)

// recordLimiter sits between the input and encoding/csv, which would
// otherwise buffer a record of any length whole. It finds record boundaries
// by following the CSV quoting rules, and when a record passes the limit it
// returns a *RecordTooLongError and then discards the rest of that record.
//
// While it discards, it passes on the newlines of every line but the one the
// limit was hit on (encoding/csv has already counted that line), as empty
// lines, which encoding/csv skips but counts: its line numbers stay those of
// the input. It also drops a UTF-8 byte-order mark and counts bytes read.
type recordLimiter struct {
	src   io.Reader
	buf   []byte
	r, w  int
	err   error // from src, returned once buf is drained
	comma byte
	max   int

	started bool
	st      lexState
	recLen  int
	line    int // physical line of the next byte, from 1
	recLine int // line the current record starts on
	field   int // index of the current field in its record
	skip    bool
	skipNL  int   // newlines passed while skipping
	nread   int64 // bytes read from src, byte-order mark included
}

func newRecordLimiter(src io.Reader, comma byte, max int) *recordLimiter {
	// A blank "\r\n" line is a 2-byte record here but skipped by
	// encoding/csv; below 2 it would be reported as too long.
	if max < 2 {
		max = 2
	}
	return &recordLimiter{src: src, buf: make([]byte, 64<<10), comma: comma, max: max, line: 1, recLine: 1}
}

func (l *recordLimiter) fill() {
	if l.r == l.w {
		l.r, l.w = 0, 0
	}
	n, err := l.src.Read(l.buf[l.w:])
	if n < 0 || n > len(l.buf)-l.w {
		n, err = 0, fmt.Errorf("read: invalid count %d", n)
	}
	l.w += n
	l.nread += int64(n)
	if err != nil {
		l.err = err
	}
}

// start reads far enough to see a byte-order mark.
func (l *recordLimiter) start() error {
	l.started = true
	for l.w-l.r < 3 && l.err == nil {
		l.fill()
	}
	b := l.buf[l.r:l.w]
	switch {
	case len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF:
		l.r += 3
	case len(b) >= 2 && (b[0] == 0xFF && b[1] == 0xFE || b[0] == 0xFE && b[1] == 0xFF):
		return errUTF16
	}
	return nil
}

func (l *recordLimiter) Read(p []byte) (int, error) {
	if !l.started {
		if err := l.start(); err != nil {
			l.r, l.w, l.err = 0, 0, err
			return 0, err
		}
	}
	n := 0
	for n < len(p) {
		if l.r == l.w {
			if n > 0 {
				return n, nil
			}
			if l.err != nil {
				return 0, l.err
			}
			l.fill()
			continue
		}
		b := l.buf[l.r]
		if l.skip {
			l.r++
			if b == '\n' {
				l.line++
				if l.skipNL > 0 {
					p[n] = '\n'
					n++
				}
				l.skipNL++
			}
			if l.step(b) {
				l.skip = false
				l.recLen, l.recLine = 0, l.line
			}
			continue
		}
		if l.recLen >= l.max {
			l.skip, l.skipNL = true, 0
			return n, &RecordTooLongError{Line: l.recLine, Field: l.field, Limit: l.max}
		}
		l.r++
		p[n] = b
		n++
		l.recLen++
		if b == '\n' {
			l.line++
		}
		if l.step(b) {
			l.recLen, l.recLine = 0, l.line
		}
	}
	return n, nil
}

// step moves the lexer over b and reports whether b ended a record.
func (l *recordLimiter) step(b byte) bool {
	st := l.st
	end := l.lex(b)
	switch {
	case end:
		l.field = 0
	case b == l.comma && st != lexQuoted && st != lexSkipLine:
		l.field++
	}
	return end
}

func (l *recordLimiter) lex(b byte) bool {
	switch l.st {
	case lexFieldStart:
		switch b {
		case '"':
			l.st = lexQuoted
		case l.comma:
		case '\n':
			return true
		default:
			l.st = lexUnquoted
		}
	case lexUnquoted:
		switch b {
		case l.comma:
			l.st = lexFieldStart
		case '\n':
			l.st = lexFieldStart
			return true
		case '"':
			l.st = lexSkipLine // bare quote
		}
	case lexQuoted:
		if b == '"' {
			l.st = lexQuoteInQuoted
		}
	case lexQuoteInQuoted:
		switch b {
		case '"':
			l.st = lexQuoted
		case l.comma:
			l.st = lexFieldStart
		case '\n':
			l.st = lexFieldStart
			return true
		default:
			// `"x`: encoding/csv reports a quoting error; a `"\r\n`
			// ending also lands here and ends at the '\n' all the same.
			l.st = lexSkipLine
		}
	case lexSkipLine:
		if b == '\n' {
			l.st = lexFieldStart
			return true
		}
	}
	return false
}
