package sip

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/tamas-cc/tamas/telephony"
)

// Limits on what is accepted as a caller's number and name. E.164 numbers
// have at most 15 digits; the slack covers international prefixes,
// extensions and SIP user names such as "anonymous".
const (
	MaxNumberLen = 64  // bytes
	MaxNameLen   = 100 // characters
)

// Header names the identity is read from, in order of preference.
const (
	HeaderPAI  = "P-Asserted-Identity"
	HeaderRPID = "Remote-Party-ID"
	HeaderFrom = "From"
	HeaderTo   = "To"
	HeaderRURI = "Request-URI"
)

// ProblemKind classifies a defect in a request's identity headers. The
// values are stable: they label the tamas_sip_identity_problems_total
// metric.
type ProblemKind string

const (
	// ProblemBadAddress: the header is not a parseable name-addr.
	ProblemBadAddress ProblemKind = "bad_address"
	// ProblemScheme: the URI is neither sip, sips nor tel.
	ProblemScheme ProblemKind = "unsupported_scheme"
	// ProblemNumberTooLong: more than MaxNumberLen bytes, percent-decoded.
	ProblemNumberTooLong ProblemKind = "number_too_long"
	// ProblemNumberChars: characters no telephone number or SIP user has
	// (spaces, quotes, markup, control characters, bad %-escapes).
	ProblemNumberChars ProblemKind = "number_invalid"
	// ProblemInvalidUTF8: bytes that are not UTF-8.
	ProblemInvalidUTF8 ProblemKind = "invalid_utf8"
	// ProblemNameTooLong: the display name was cut to MaxNameLen.
	ProblemNameTooLong ProblemKind = "name_too_long"
	// ProblemNameMarkup: the display name holds < or >; it is kept as
	// received (consumers escape it) but worth a look.
	ProblemNameMarkup ProblemKind = "name_markup"
	// ProblemNameControl: control or bidirectional-override characters were
	// removed from the display name.
	ProblemNameControl ProblemKind = "name_control"
	// ProblemUntrusted: P-Asserted-Identity from an untrusted address,
	// ignored.
	ProblemUntrusted ProblemKind = "untrusted_source"
	// ProblemNotNumeric: the dialled number is not a telephone number (an
	// extension name, say). Kept as received.
	ProblemNotNumeric ProblemKind = "not_numeric"
)

// Routine reports whether the kind is expected in normal operation (logged
// at debug level) rather than a sign of bad input (logged as a warning).
func (k ProblemKind) Routine() bool {
	return k == ProblemUntrusted || k == ProblemNotNumeric
}

// Problem is one defect found while reading a request's identity.
type Problem struct {
	Header string
	Kind   ProblemKind
	// Value is the offending value, shortened for logging.
	Value string
}

func (p Problem) String() string { return fmt.Sprintf("%s: %s %s", p.Header, p.Kind, p.Value) }

// Identity is the caller a request presents, after checking.
type Identity struct {
	Caller telephony.Party
	// Source is the header the number came from (HeaderPAI, HeaderRPID,
	// HeaderFrom), or "" when none held a usable number.
	Source   string
	Problems []Problem
}

// CallerIdentity reads who is calling from an INVITE: P-Asserted-Identity
// when trustPAI (the request came from a trusted address), then
// Remote-Party-ID (party=calling), then From. The number comes from the
// first of those with a usable one; the name from the same header, or else
// from the first that has one. Numbers and names are checked, never
// trusted: a bad one is skipped or cleaned, and reported in Problems.
func CallerIdentity(req *sipmsg.Request, trustPAI bool) Identity {
	var id Identity
	var cands []candidate

	if pai := headerList(req, HeaderPAI); len(pai) > 0 {
		if !trustPAI {
			id.add(HeaderPAI, ProblemUntrusted, pai[0])
		} else {
			for _, v := range pai {
				if c, ok := id.parseAddress(HeaderPAI, v, false); ok {
					cands = append(cands, c)
				}
			}
		}
	}
	for _, v := range headerList(req, HeaderRPID) {
		if c, ok := id.parseAddress(HeaderRPID, v, true); ok {
			cands = append(cands, c)
		}
	}
	if from := req.From(); from != nil {
		c := candidate{header: HeaderFrom}
		c.number = id.uriNumber(HeaderFrom, &from.Address)
		c.name = id.cleanName(HeaderFrom, from.DisplayName)
		cands = append(cands, c)
	}

	chosen := -1
	for i, c := range cands {
		if c.number != "" {
			chosen = i
			break
		}
	}
	if chosen >= 0 {
		id.Caller.Number = cands[chosen].number
		id.Caller.Name = cands[chosen].name
		id.Source = cands[chosen].header
	}
	if id.Caller.Name == "" {
		for _, c := range cands {
			if c.name != "" {
				id.Caller.Name = c.name
				break
			}
		}
	}
	return id
}

// DialledNumber reads the number dialled from an INVITE: the Request-URI's
// user, else the To header's. A non-numeric one (an extension name) is
// returned as received and reported.
func DialledNumber(req *sipmsg.Request) (string, []Problem) {
	var id Identity
	n := id.uriNumber(HeaderRURI, &req.Recipient)
	header := HeaderRURI
	if n == "" {
		if to := req.To(); to != nil {
			n = id.uriNumber(HeaderTo, &to.Address)
			header = HeaderTo
		}
	}
	if n != "" && !isPhoneNumber(n) {
		id.add(header, ProblemNotNumeric, n)
	}
	return n, id.Problems
}

type candidate struct {
	header, name, number string
}

func (id *Identity) add(header string, kind ProblemKind, value string) {
	id.Problems = append(id.Problems, Problem{Header: header, Kind: kind, Value: sample(value)})
}

// parseAddress reads one name-addr. For Remote-Party-ID, only the calling
// party counts (party=called describes the other end).
func (id *Identity) parseAddress(header, value string, rpid bool) (candidate, bool) {
	var uri sipmsg.Uri
	params := sipmsg.NewParams()
	name, err := sipmsg.ParseAddressValue(value, &uri, &params)
	if err != nil {
		id.add(header, ProblemBadAddress, value)
		return candidate{}, false
	}
	if rpid {
		if party, ok := params.Get("party"); ok && !strings.EqualFold(party, "calling") {
			return candidate{}, false
		}
	}
	c := candidate{header: header}
	c.number = id.uriNumber(header, &uri)
	c.name = id.cleanName(header, name)
	return c, true
}

// uriNumber returns the user of a sip/sips URI or the number of a tel URI,
// or "" (with a problem) when it is not acceptable.
func (id *Identity) uriNumber(header string, u *sipmsg.Uri) string {
	var user string
	switch strings.ToLower(u.Scheme) {
	case "sip", "sips", "":
		user = u.User
	case "tel":
		// sipgo keeps a tel URI's number, with its parameters, in Raw.
		user = u.Raw()
	default:
		id.add(header, ProblemScheme, u.String())
		return ""
	}
	// User parameters (";phone-context=…", ";isub=…") are not the number.
	user, _, _ = strings.Cut(user, ";")
	if user == "" {
		return ""
	}
	if !utf8.ValidString(user) {
		id.add(header, ProblemInvalidUTF8, user)
		return ""
	}
	// The limit is on the number, not on its encoding: a Persian digit is
	// six bytes percent-encoded, two decoded. No encoding is more than three
	// times its decoded length, so longer input is refused undecoded.
	if len(user) > 3*MaxNumberLen {
		id.add(header, ProblemNumberTooLong, user)
		return ""
	}
	if strings.Contains(user, "%") {
		dec, err := url.PathUnescape(user)
		if err != nil || !utf8.ValidString(dec) {
			id.add(header, ProblemNumberChars, user)
			return ""
		}
		user = dec
	}
	// Invisible format characters (a zero-width space, directional marks)
	// that right-to-left editors put into numbers carry no meaning.
	if strings.ContainsFunc(user, isFormat) {
		user = strings.Map(func(r rune) rune {
			if isFormat(r) {
				return -1
			}
			return r
		}, user)
		if user == "" {
			return ""
		}
	}
	if len(user) > MaxNumberLen {
		id.add(header, ProblemNumberTooLong, user)
		return ""
	}
	if !numberChars(user) {
		id.add(header, ProblemNumberChars, user)
		return ""
	}
	// Visual separators (RFC 3966) carry no meaning in a telephone number.
	if stripped := stripVisual(user); isPhoneNumber(stripped) {
		user = stripped
	}
	return user
}

// numberChars reports whether s holds only what telephone numbers and SIP
// user names are made of. Anything else — spaces, quotes, <, >, & — has no
// business in a number and may be an injection attempt.
func numberChars(s string) bool {
	for _, r := range s {
		switch {
		case unicode.IsDigit(r), r < utf8.RuneSelf && (unicode.IsLetter(r)):
		case strings.ContainsRune("+*#-._!~()", r):
		default:
			return false
		}
	}
	return true
}

// isFormat reports invisible format characters (Unicode category Cf: zero-
// width spaces and joiners, directional marks, embeddings and overrides).
func isFormat(r rune) bool {
	return r >= utf8.RuneSelf && unicode.Is(unicode.Cf, r)
}

// isPhoneNumber reports whether s is an optional + followed by digits (any
// script: Persian and Arabic-Indic digits are normalised downstream), * or #.
func isPhoneNumber(s string) bool {
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsDigit(r) && r != '*' && r != '#' {
			return false
		}
	}
	return true
}

func stripVisual(s string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune("-.()", r) {
			return -1
		}
		return r
	}, s)
}

// cleanName turns a display name as received into one safe to store: quoted
// pairs unescaped, invalid UTF-8 replaced, control and bidirectional
// override characters removed, length bounded. Markup is kept (consumers
// escape on display) but reported.
func (id *Identity) cleanName(header, raw string) string {
	name := unquote(raw)
	if !utf8.ValidString(name) {
		id.add(header, ProblemInvalidUTF8, name)
		name = strings.ToValidUTF8(name, "\uFFFD")
	}
	removed := false
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || isBidiControl(r) {
			removed = true
			if r == '\t' {
				return ' '
			}
			return -1
		}
		return r
	}, name)
	if removed {
		id.add(header, ProblemNameControl, raw)
	}
	name = strings.Join(strings.Fields(name), " ")
	if utf8.RuneCountInString(name) > MaxNameLen {
		id.add(header, ProblemNameTooLong, name)
		name = string([]rune(name)[:MaxNameLen])
	}
	if strings.ContainsAny(name, "<>") {
		id.add(header, ProblemNameMarkup, name)
	}
	return name
}

// isBidiControl reports the embedding, override and isolate characters
// that can make a name display as something else.
func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// unquote resolves quoted-pairs (\" and \\) left in a display name.
func unquote(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	escaped := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && !escaped {
			escaped = true
			continue
		}
		escaped = false
		b.WriteByte(c)
	}
	return b.String()
}

// headerList returns every value of a header, splitting comma-separated
// lists (sipgo parses only the first address of such a list).
func headerList(req *sipmsg.Request, name string) []string {
	var out []string
	for _, h := range req.GetHeaders(name) {
		for _, v := range splitAddressList(h.Value()) {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// splitAddressList splits a header value on the commas that separate
// name-addrs, not those inside a quoted display name or a <URI>.
func splitAddressList(v string) []string {
	var out []string
	start, inQuote, inAngle, escaped := 0, false, false, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case escaped:
			escaped = false
		case inQuote && c == '\\':
			escaped = true
		case c == '"' && !inAngle:
			inQuote = !inQuote
		case inQuote:
		case c == '<':
			inAngle = true
		case c == '>':
			inAngle = false
		case c == ',' && !inAngle:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// sample shortens a value for a log line: long junk is evidence, not
// content worth a 2 KB log line.
func sample(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:cut], len(s))
}
