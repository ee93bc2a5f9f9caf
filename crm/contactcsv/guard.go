package contactcsv

import (
	"strings"
	"unicode"
)

// formulaStarts are the first characters that make a spreadsheet read a
// cell as a formula.
const formulaStarts = "=+-@\t\r"

// guard makes v safe to open in a spreadsheet: a cell that would start a
// formula gets a leading apostrophe, and so does one that already starts
// with an apostrophe, so that unguard can tell the two apart.
func guard(v string) string {
	if v != "" && (v[0] == '\'' || strings.IndexByte(formulaStarts, v[0]) >= 0) {
		return "'" + v
	}
	return v
}

// guardPhone is guard for a phone cell: a plain number is left alone.
func guardPhone(v string) string {
	if plainNumber(v) {
		return v
	}
	return guard(v)
}

// plainNumber reports whether v holds only digits, spaces and + - ( ) . /
// and at least one digit: a cell no spreadsheet can read as a reference
// or a function call.
func plainNumber(v string) bool {
	digit := false
	for _, r := range v {
		switch {
		case unicode.IsDigit(r):
			digit = true
		case r == ' ' || r == '+' || r == '-' || r == '(' || r == ')' || r == '.' || r == '/':
		default:
			return false
		}
	}
	return digit
}

// unguard undoes guard. An apostrophe before anything else is kept: it was
// typed, not added.
func unguard(v string) string {
	if len(v) >= 2 && v[0] == '\'' && (v[1] == '\'' || strings.IndexByte(formulaStarts, v[1]) >= 0) {
		return v[1:]
	}
	return v
}

// SafeCell is what a CSV export writes for a value a stranger may have
// chosen (a caller's name, a note): never a spreadsheet formula.
func SafeCell(v string) string { return guard(v) }
