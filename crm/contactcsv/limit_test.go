package contactcsv

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// outcome is what one csv.Reader.Read gave.
type outcome struct {
	Line    int
	Fields  []string
	Err     string
	TooLong bool
	UTF16   bool // the input was refused as UTF-16; nothing else is read
}

// readAll reads input with encoding/csv, through a recordLimiter when limit
// is above 0.
func readAll(input string, limit int) ([]outcome, error) {
	var src io.Reader = strings.NewReader(input)
	if limit > 0 {
		src = newRecordLimiter(src, ',', limit)
	}
	cr := csv.NewReader(src)
	cr.FieldsPerRecord = -1
	var out []outcome
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		var o outcome
		var pe *csv.ParseError
		var tl *RecordTooLongError
		switch {
		case err == nil:
			o.Line, _ = cr.FieldPos(0)
			o.Fields = rec
		case errors.As(err, &tl):
			o.Line, o.TooLong = tl.Line, true
		case errors.As(err, &pe):
			o.Line, o.Err = pe.StartLine, pe.Error()
		case errors.Is(err, errUTF16):
			// The limiter keeps returning it: the refusal ends the file.
			return append(out, outcome{UTF16: true}), nil
		default:
			return out, err
		}
		out = append(out, o)
	}
}

// expected is what reading input through a limiter must give: what
// encoding/csv alone gives, except that each record longer than limit
// bytes (its line ending included) is one error on its first line, a UTF-8
// byte-order mark is dropped, and input that starts with a UTF-16 one is
// refused whole.
func expected(t *testing.T, input string, limit int) []outcome {
	if strings.HasPrefix(input, "\xff\xfe") || strings.HasPrefix(input, "\xfe\xff") {
		return []outcome{{UTF16: true}}
	}
	input = strings.TrimPrefix(input, "\uFEFF")
	lineStart := []int{0, 0} // lineStart[n] is the offset of line n
	for i := range len(input) {
		if input[i] == '\n' {
			lineStart = append(lineStart, i+1)
		}
	}
	cr := csv.NewReader(strings.NewReader(input))
	cr.FieldsPerRecord = -1
	var out []outcome
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		var o outcome
		var pe *csv.ParseError
		switch {
		case err == nil:
			o.Line, _ = cr.FieldPos(0)
			o.Fields = slicesClone(rec)
		case errors.As(err, &pe):
			o.Line, o.Err = pe.StartLine, pe.Error()
		default:
			t.Fatalf("csv: %v", err)
		}
		if int(cr.InputOffset())-lineStart[o.Line] > limit {
			o = outcome{Line: o.Line, TooLong: true}
		}
		out = append(out, o)
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

func checkLimiter(t *testing.T, input string, limit int) {
	t.Helper()
	got, err := readAll(input, limit)
	if err != nil {
		t.Fatalf("input %q limit %d: %v", input, limit, err)
	}
	want := expected(t, input, limit)
	// A record that is both too long and badly quoted may report either.
	for i := range min(len(got), len(want)) {
		if want[i].TooLong && got[i].Err != "" && got[i].Line == want[i].Line {
			got[i] = want[i]
		}
		if want[i].TooLong {
			got[i].Fields = nil
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("input %q limit %d:\n got %+v\nwant %+v", input, limit, got, want)
	}
}

func TestRecordLimiterAgreesWithCSV(t *testing.T) {
	for _, c := range []struct {
		in    string
		limit int
	}{
		{"a,b\nccccccccc,d\ne,f\n", 5},
		{"a,\"long\nquoted\nfield\",x\nb,c\n", 6},
		{"a\"b,\"c\nd\"\ne\n", 3},           // bare quote: the rest of the line goes
		{"\"a\"x,\"b\nc\"\nd\n", 3},         // text after a closing quote
		{"a,b\r\n\"c\r\nd\",e\r\nf\r\n", 4}, // CRLF
		{"\n\n\nabcdefgh\n\nx\n", 3},        // blank lines count
		{"abcdefgh", 3},                     // no final newline
		{"\"unterminated\nquote\n", 4},
	} {
		checkLimiter(t, c.in, c.limit)
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", ",", "\"", "\n", "\r", "é"}
	for range 5000 {
		var b strings.Builder
		for range r.IntN(60) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		checkLimiter(t, b.String(), 2+r.IntN(20))
	}
}

// FuzzRecordLimiter checks that the limiter changes nothing encoding/csv
// reads but the documented things: records over the limit, a UTF-8
// byte-order mark, and UTF-16 input. Any other error fails.
func FuzzRecordLimiter(f *testing.F) {
	f.Add("a,\"b\nc\",d\ne\n", 4)
	f.Add("x\"y,\"z\"w\n\"\"\"\n", 2)
	f.Add("\xff\xfe", 4)
	f.Add("\xfe\xff\x00a\x00\n", 4)
	f.Add("\uFEFFa,b\nccccc,d\n", 4)
	f.Add("\uFEFF\"a\nb\"\r\n\n\xff\xfe\n", 3)
	f.Fuzz(func(t *testing.T, in string, limit int) {
		if limit < 2 || limit > 1000 {
			return
		}
		checkLimiter(t, in, limit)
	})
}

func TestRecordLimiterBOM(t *testing.T) {
	l := newRecordLimiter(strings.NewReader("\uFEFFa,b\n"), ',', 100)
	b, err := io.ReadAll(l)
	if err != nil || string(b) != "a,b\n" {
		t.Errorf("got %q %v", b, err)
	}
	if l.nread != 7 {
		t.Errorf("counted %d bytes read, want 7", l.nread)
	}
	for _, bom := range []string{"\xff\xfe", "\xfe\xff"} {
		_, err := io.ReadAll(newRecordLimiter(strings.NewReader(bom+"a\x00"), ',', 100))
		if !errors.Is(err, errUTF16) {
			t.Errorf("%q: %v", bom, err)
		}
	}
}

// TestGuardRoundTrip checks unguard undoes guard for every awkward start.
func TestGuardRoundTrip(t *testing.T) {
	for _, v := range []string{"", "a", "=1+2", "+98", "-x", "@sum", "\tx", "\rx", "'", "''", "'=", "'a", "''=", "'x=1"} {
		g := guard(v)
		if g != "" && strings.ContainsRune(formulaStarts, rune(g[0])) {
			t.Errorf("guard(%q) = %q starts a formula", v, g)
		}
		if u := unguard(g); u != v {
			t.Errorf("unguard(guard(%q)) = %q", v, u)
		}
	}
	for v, plain := range map[string]bool{"+98 912 123 4567": true, "(021) 8888-1234": true, "۰۹۱۲": true,
		"+98 912 x12": false, "+": false, "=1": false, "-1+1": true} {
		if plainNumber(v) != plain {
			t.Errorf("plainNumber(%q) = %v", v, !plain)
		}
	}
}

// bigField streams a CSV whose second record holds a field of size bytes,
// without holding it.
type bigField struct {
	head, tail string
	size       int
	newlines   bool // break the field into 100-byte lines
	pos        int
}

func (b *bigField) Read(p []byte) (int, error) {
	total := len(b.head) + b.size + len(b.tail)
	if b.pos >= total {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && b.pos < total {
		switch i := b.pos; {
		case i < len(b.head):
			p[n] = b.head[i]
		case i < len(b.head)+b.size:
			p[n] = 'x'
			if b.newlines && (i-len(b.head))%100 == 99 {
				p[n] = '\n'
			}
		default:
			p[n] = b.tail[i-len(b.head)-b.size]
		}
		n++
		b.pos++
	}
	return n, nil
}

func TestRecordLimiterHugeField(t *testing.T) {
	for _, newlines := range []bool{false, true} {
		const size = 10 << 20
		src := &bigField{head: "name,notes\nfirst,\"", size: size, tail: "\"\nafter,x\n", newlines: newlines}
		cr := csv.NewReader(newRecordLimiter(src, ',', 1<<20))
		cr.ReuseRecord = true
		var lines []int
		var errs []error
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if len(rec[0]) > 1<<20 {
				t.Fatalf("a record of %d bytes got through", len(rec[0]))
			}
			line, _ := cr.FieldPos(0)
			lines = append(lines, line)
		}
		var tl *RecordTooLongError
		if len(errs) != 1 || !errors.As(errs[0], &tl) || tl.Line != 2 {
			t.Fatalf("newlines %v: errors %v, want one too-long record on line 2", newlines, errs)
		}
		afterLine := 3
		if newlines {
			afterLine += size / 100
		}
		if !reflect.DeepEqual(lines, []int{1, afterLine}) {
			t.Errorf("newlines %v: records on lines %v, want [1 %d]", newlines, lines, afterLine)
		}
	}
}

func ExampleRecordTooLongError() {
	err := &RecordTooLongError{Line: 7, Limit: 1 << 20}
	fmt.Println(err)
	// Output: line 7: record longer than 1048576 bytes
}
