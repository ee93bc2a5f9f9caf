package phone

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on what is read at all. Nothing longer is a phone number, and the
// library's regular expressions should never see hostile lengths.
const (
	// maxInputBytes caps the trimmed input.
	maxInputBytes = 256
	// maxDigits caps the digits of the number itself: E.164 allows 15, and
	// an international prefix, trunk prefix or carrier code adds a few.
	maxDigits = 32
	// maxExtDigits caps an extension; a longer "extension" is more likely a
	// second number run into the first.
	maxExtDigits = 10
	// maxLibraryBytes caps the text handed to the library's Parse, whose
	// patterns take hundreds of microseconds on long, letter-laden input.
	maxLibraryBytes = 96
)

// scan is what one pass over the input found.
type scan struct {
	plus   bool
	digits [maxDigits]byte
	n      int
	ext    [maxExtDigits]byte
	en     int
	// total counts every digit seen, in the number, extension or elsewhere.
	total int
	// long says there were more than maxDigits digits in all.
	long bool
	// letters says the input holds letters the reader did not take as an
	// extension marker.
	letters bool
	// junk says the input holds something the fast reader does not
	// understand; the library then reads the whole input.
	junk bool
	// hostile says the input holds invalid UTF-8 or control characters:
	// no parser gets to read it.
	hostile bool
}

func (sc *scan) main() string { return string(sc.digits[:sc.n]) }

// read scans s, a caller ID or stored number with any URI wrapping removed.
func (sc *scan) read(s string) {
	inExt, extClosed := false, false
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				sc.hostile = true
				i++
				continue
			}
		}
		if d, ok := digitValue(r); ok {
			sc.total++
			if sc.total > maxDigits {
				sc.long = true
			}
			switch {
			case inExt && !extClosed:
				if sc.en < maxExtDigits {
					sc.ext[sc.en] = d
					sc.en++
				} else {
					sc.junk = true
				}
			case inExt:
				sc.junk = true
			case sc.n < maxDigits:
				sc.digits[sc.n] = d
				sc.n++
			}
			i += size
			continue
		}
		switch {
		case isSeparator(r):
		case r == '+' || r == '\uFF0B':
			if sc.n > 0 || sc.plus || inExt {
				sc.junk = true
			}
			sc.plus = true
		case r < 0x20 || (r >= 0x7f && r < 0xa0):
			sc.hostile = true
		case inExt && (r == ':' || r == '=') && sc.en == 0:
		case inExt && r == '#':
			extClosed = true
		case !inExt && sc.n > 0:
			if k := extMarker(s[i:]); k > 0 {
				inExt = true
				size = k
				break
			}
			fallthrough
		default:
			if unicode.IsLetter(r) {
				sc.letters = true
			}
			sc.junk = true
		}
		i += size
	}
}

// extMarker returns the length of the extension marker s starts with, or 0.
// Markers: "x", "ext", "ext.", "extn", "extension" (any case), ";ext=", "#"
// and the Persian "داخلی" ("internal"). The separators after a marker are
// taken as separators.
func extMarker(s string) int {
	for _, m := range [...]string{";ext=", "extension", "extn", "ext", "x", "#", "داخلی", "داخلي"} {
		if hasPrefixFold(s, m) {
			return len(m)
		}
	}
	return 0
}

// digitValue maps ASCII, Persian, Arabic-Indic and fullwidth digits to
// ASCII.
func digitValue(r rune) (byte, bool) {
	switch {
	case r >= '0' && r <= '9':
		return byte(r), true
	case r >= '\u06F0' && r <= '\u06F9':
		return byte(r-'\u06F0') + '0', true
	case r >= '\u0660' && r <= '\u0669':
		return byte(r-'\u0660') + '0', true
	case r >= '\uFF10' && r <= '\uFF19':
		return byte(r-'\uFF10') + '0', true
	}
	return 0, false
}

// isSeparator reports the punctuation people and systems put between the
// digits of a number, including the invisible format characters (ZWNJ,
// directional marks) that right-to-left text editors insert.
func isSeparator(r rune) bool {
	switch r {
	case ' ', '-', '.', '(', ')', '[', ']', '/', '~',
		'\u00A0', '\u2212', '\u2053', '\u223C', '\u30FC', '\u3000',
		'\uFF08', '\uFF09', '\uFF0D', '\uFF0E', '\uFF0F', '\uFF3B', '\uFF3D', '\uFF5E':
		return true
	}
	if r < 0x80 {
		return r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
	}
	return (r >= '\u2010' && r <= '\u2015') || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)
}

func isBlank(r rune) bool {
	if r < 0x80 {
		return r == ' ' || (r >= '\t' && r <= '\r')
	}
	return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)
}

// hasPrefixFold reports whether s starts with prefix, ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// unwrap returns the number part of s: the address inside a
// `"Name" <address>` form, the user part of a sip: or sips: URI, the number
// of a tel: URI (keeping an ;ext= parameter, dropping the others).
func unwrap(s string) string {
	if i := strings.IndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			inner := strings.TrimFunc(s[i+1:i+j], isBlank)
			if hasScheme(inner) || strings.ContainsFunc(inner, isDigit) || isWithheldWord(inner) {
				s = inner
			}
		}
	}
	if !hasScheme(s) {
		return s
	}
	if hasPrefixFold(s, "tel:") {
		s = s[len("tel:"):]
	} else {
		s = s[strings.IndexByte(s, ':')+1:]
		at := strings.IndexByte(s, '@')
		if at < 0 {
			// A URI with only a host presents no number.
			return ""
		}
		s = s[:at]
		if c := strings.IndexByte(s, ':'); c >= 0 {
			s = s[:c]
		}
	}
	if i := strings.IndexByte(s, ';'); i >= 0 {
		number, params := unescape(s[:i]), s[i+1:]
		ext := ""
		for params != "" {
			var p string
			p, params, _ = strings.Cut(params, ";")
			if hasPrefixFold(p, "ext=") {
				ext = p
			}
		}
		if ext == "" {
			return number
		}
		return number + ";" + ext
	}
	return unescape(s)
}

// unescape percent-decodes a URI's number: "+" comes as %2B, and a Persian
// digit typed into a SIP phone as %DB%B0…%DB%B9.
func unescape(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	if dec, err := url.PathUnescape(s); err == nil {
		return dec
	}
	if hasPrefixFold(s, "%2B") {
		return "+" + s[3:]
	}
	return s
}

func hasScheme(s string) bool {
	return hasPrefixFold(s, "sip:") || hasPrefixFold(s, "sips:") || hasPrefixFold(s, "tel:")
}

func isDigit(r rune) bool { _, ok := digitValue(r); return ok }

// isWithheldWord reports whether s, reduced to its lower-case letters, is one
// of the words telephone networks and PBXs put in place of a number they
// will not show.
func isWithheldWord(s string) bool {
	var buf [48]byte
	b := buf[:0]
	for _, r := range s {
		if !unicode.IsLetter(r) {
			continue
		}
		r = unicode.ToLower(r)
		if len(b)+utf8.RuneLen(r) > len(buf) {
			return false
		}
		b = utf8.AppendRune(b, r)
	}
	switch string(b) {
	case "anonymous", "anon", "unknown", "restricted", "private", "unavailable", "withheld",
		"blocked", "nocallerid", "notavailable", "outofarea", "privatenumber", "unknownnumber",
		"unknowncaller", "withheldnumber", "restrictednumber", "presentationrestricted",
		"ناشناس", "نامشخص", "خصوصی":
		return true
	}
	return false
}

// allDigits returns every digit of s in ASCII, or "" when there are more
// than maxDigits of them.
func allDigits(s string) string {
	var buf [maxDigits]byte
	n := 0
	for _, r := range s {
		if d, ok := digitValue(r); ok {
			if n == maxDigits {
				return ""
			}
			buf[n] = d
			n++
		}
	}
	return string(buf[:n])
}
