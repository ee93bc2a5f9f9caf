package sip

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/tamas-cc/tamas/telephony"
)

func TestCallerIdentityFromRecordedInvites(t *testing.T) {
	tests := []struct {
		file     string
		trustPAI bool
		want     telephony.Party
		source   string
		dnis     string
		kinds    []ProblemKind
	}{
		{"inbound_sip_call.messages.log", false, telephony.Party{Name: "Lab Customer", Number: "+14155550123"}, HeaderFrom, "18005550100", nil},
		{"caller_hangup_cancel.messages.log", false, telephony.Party{Name: "Abandoning Caller", Number: "+442071234567"}, HeaderFrom, "4001", nil},
		{"caller_hangup_bye.messages.log", false, telephony.Party{Name: "Impatient Caller", Number: "09121234567"}, HeaderFrom, "4000", nil},
		{"bridge_and_hangup.messages.log", false, telephony.Party{Name: "Bridge Caller", Number: "09121234567"}, HeaderFrom, "2000", nil},
		{"snoop.messages.log", false, telephony.Party{Name: "Snoop Caller", Number: "+442071234567"}, HeaderFrom, "3000", nil},
		{"agent_call_customer.messages.log", false, telephony.Party{Name: "Lab Customer", Number: "+14155550123"}, HeaderFrom, "18005550100", nil},
		// Asterisk dialling an endpoint: the PAI it adds is believed only
		// from a trusted address; the Request-URI user is the endpoint's
		// name, not a number.
		{"agent_call_uas.messages.log", true, telephony.Party{Name: "Lab Customer", Number: "+14155550123"}, HeaderPAI, "agent1000", []ProblemKind{ProblemNotNumeric}},
		{"agent_call_uas.messages.log", false, telephony.Party{Name: "Lab Customer", Number: "+14155550123"}, HeaderFrom, "agent1000", []ProblemKind{ProblemUntrusted, ProblemNotNumeric}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			invites := fixtureInvites(t, tt.file)
			if len(invites) == 0 {
				t.Fatal("no initial INVITE in fixture")
			}
			req := invites[0]
			id := CallerIdentity(req, tt.trustPAI)
			if id.Caller != tt.want || id.Source != tt.source {
				t.Errorf("caller = %+v from %q, want %+v from %q", id.Caller, id.Source, tt.want, tt.source)
			}
			dnis, dp := DialledNumber(req)
			if dnis != tt.dnis {
				t.Errorf("dnis = %q, want %q", dnis, tt.dnis)
			}
			if got := kinds(append(id.Problems, dp...)); !slices.Equal(got, tt.kinds) {
				t.Errorf("problems = %v, want %v", got, tt.kinds)
			}
		})
	}
}

func kinds(ps []Problem) []ProblemKind {
	var out []ProblemKind
	for _, p := range ps {
		out = append(out, p.Kind)
	}
	return out
}

// invite builds an INVITE from header lines, through sipgo's parser, as the
// endpoint would receive it.
func invite(t testing.TB, ruri string, headers ...string) *sipmsg.Request {
	t.Helper()
	raw := "INVITE " + ruri + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1\r\n" +
		"Call-ID: c1@test\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
	hasTo := false
	for _, h := range headers {
		raw += h + "\r\n"
		hasTo = hasTo || strings.HasPrefix(h, "To:")
	}
	if !hasTo {
		raw += "To: <sip:100@192.0.2.2>\r\n"
	}
	raw += "Content-Length: 0\r\n\r\n"
	msg, err := sipmsg.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, raw)
	}
	return msg.(*sipmsg.Request)
}

func TestCallerIdentity(t *testing.T) {
	long := strings.Repeat("9", 2048)
	tests := []struct {
		name     string
		headers  []string
		trustPAI bool
		want     telephony.Party
		source   string
		kinds    []ProblemKind
	}{
		{
			name:    "from with display name",
			headers: []string{`From: "Alice Smith" <sip:+14155550123@pbx>;tag=1`},
			want:    telephony.Party{Name: "Alice Smith", Number: "+14155550123"}, source: HeaderFrom,
		},
		{
			name:    "from without display name",
			headers: []string{`From: <sip:09121234567@pbx>;tag=1`},
			want:    telephony.Party{Number: "09121234567"}, source: HeaderFrom,
		},
		{
			name:    "unquoted display name",
			headers: []string{`From: Bob  Jones <sip:2001@pbx>;tag=1`},
			want:    telephony.Party{Name: "Bob Jones", Number: "2001"}, source: HeaderFrom,
		},
		{
			name:    "from tel URI with visual separators",
			headers: []string{`From: "Tel" <tel:+1-415-555-0123;phone-context=example.com>;tag=1`},
			want:    telephony.Party{Name: "Tel", Number: "+14155550123"}, source: HeaderFrom,
		},
		{
			name:    "tel URI without brackets",
			headers: []string{`From: tel:+982112345678;tag=1`},
			want:    telephony.Party{Number: "+982112345678"}, source: HeaderFrom,
		},
		{
			name:     "trusted PAI wins over From",
			headers:  []string{`P-Asserted-Identity: "Real Name" <sip:+982188776655@pbx>`, `From: "Spoof" <sip:1000@pbx>;tag=1`},
			trustPAI: true,
			want:     telephony.Party{Name: "Real Name", Number: "+982188776655"}, source: HeaderPAI,
		},
		{
			name:    "untrusted PAI ignored",
			headers: []string{`P-Asserted-Identity: "Real Name" <sip:+982188776655@pbx>`, `From: "Caller" <sip:1000@pbx>;tag=1`},
			want:    telephony.Party{Name: "Caller", Number: "1000"}, source: HeaderFrom,
			kinds: []ProblemKind{ProblemUntrusted},
		},
		{
			name:     "PAI tel URI",
			headers:  []string{`P-Asserted-Identity: <tel:+14155550199>`, `From: "Caller" <sip:anonymous@anonymous.invalid>;tag=1`},
			trustPAI: true,
			// The name falls back to the first header that has one.
			want: telephony.Party{Name: "Caller", Number: "+14155550199"}, source: HeaderPAI,
		},
		{
			name: "multi-value PAI, first without a number",
			headers: []string{`P-Asserted-Identity: "Doe, Jane" <sip:pbx.example.com>, <tel:+14155550100>`,
				`From: <sip:1000@pbx>;tag=1`},
			trustPAI: true,
			want:     telephony.Party{Name: "Doe, Jane", Number: "+14155550100"}, source: HeaderPAI,
		},
		{
			name:     "two PAI headers",
			headers:  []string{`P-Asserted-Identity: <sip:+14155550101@pbx>`, `P-Asserted-Identity: <tel:+14155550102>`, `From: <sip:1@pbx>;tag=1`},
			trustPAI: true,
			want:     telephony.Party{Number: "+14155550101"}, source: HeaderPAI,
		},
		{
			name:    "RPID before From",
			headers: []string{`Remote-Party-ID: "Rp" <sip:+14155550111@pbx>;party=calling;privacy=off;screen=no`, `From: "F" <sip:1000@pbx>;tag=1`},
			want:    telephony.Party{Name: "Rp", Number: "+14155550111"}, source: HeaderRPID,
		},
		{
			name:    "RPID of the called party ignored",
			headers: []string{`Remote-Party-ID: "Called" <sip:18005550100@pbx>;party=called`, `From: "F" <sip:1000@pbx>;tag=1`},
			want:    telephony.Party{Name: "F", Number: "1000"}, source: HeaderFrom,
		},
		{
			name:     "2 KB number skipped for the next source",
			headers:  []string{`P-Asserted-Identity: <sip:` + long + `@pbx>`, `From: "F" <sip:+14155550123@pbx>;tag=1`},
			trustPAI: true,
			want:     telephony.Party{Name: "F", Number: "+14155550123"}, source: HeaderFrom,
			kinds: []ProblemKind{ProblemNumberTooLong},
		},
		{
			name:    "2 KB number and nothing else",
			headers: []string{`From: "Long" <sip:` + long + `@pbx>;tag=1`},
			want:    telephony.Party{Name: "Long"},
			kinds:   []ProblemKind{ProblemNumberTooLong},
		},
		{
			name:    "markup in display name kept and reported",
			headers: []string{`From: "<script>alert(1)</script>" <sip:+14155550123@pbx>;tag=1`},
			want:    telephony.Party{Name: "<script>alert(1)</script>", Number: "+14155550123"}, source: HeaderFrom,
			kinds: []ProblemKind{ProblemNameMarkup},
		},
		{
			name:    "markup in number refused",
			headers: []string{`From: "X" <sip:%3Cimg%20src%3Dx%3E@pbx>;tag=1`},
			want:    telephony.Party{Name: "X"},
			kinds:   []ProblemKind{ProblemNumberChars},
		},
		{
			name:    "percent-encoded plus",
			headers: []string{`From: <sip:%2B14155550123@pbx>;tag=1`},
			want:    telephony.Party{Number: "+14155550123"}, source: HeaderFrom,
		},
		{
			name:    "invalid UTF-8 in name replaced",
			headers: []string{"From: \"Ali\xff\xfe\" <sip:1000@pbx>;tag=1"},
			want:    telephony.Party{Name: "Ali\uFFFD", Number: "1000"}, source: HeaderFrom,
			kinds: []ProblemKind{ProblemInvalidUTF8},
		},
		{
			name:    "invalid UTF-8 in number refused",
			headers: []string{"From: \"N\" <sip:12\xff34@pbx>;tag=1"},
			want:    telephony.Party{Name: "N"},
			kinds:   []ProblemKind{ProblemInvalidUTF8},
		},
		{
			name:    "bidi override removed",
			headers: []string{"From: \"abc\u202Efed\" <sip:1000@pbx>;tag=1"},
			want:    telephony.Party{Name: "abcfed", Number: "1000"}, source: HeaderFrom,
			kinds: []ProblemKind{ProblemNameControl},
		},
		{
			name:    "escaped quotes in display name",
			headers: []string{`From: "The \"Boss\"" <sip:1000@pbx>;tag=1`},
			want:    telephony.Party{Name: `The "Boss"`, Number: "1000"}, source: HeaderFrom,
		},
		{
			name:    "Persian display name and digits",
			headers: []string{`From: "علی رضایی" <sip:۰۹۱۲۱۲۳۴۵۶۷@pbx>;tag=1`},
			want:    telephony.Party{Name: "علی رضایی", Number: "۰۹۱۲۱۲۳۴۵۶۷"}, source: HeaderFrom,
		},
		{
			// Each Persian digit is six bytes percent-encoded: 66 in all,
			// over MaxNumberLen before decoding, 22 after.
			name:    "percent-encoded Persian digits",
			headers: []string{`From: "علی" <sip:` + url.PathEscape("۰۹۱۲۱۲۳۴۵۶۷") + `@pbx>;tag=1`},
			want:    telephony.Party{Name: "علی", Number: "۰۹۱۲۱۲۳۴۵۶۷"}, source: HeaderFrom,
		},
		{
			name:    "percent-encoded Arabic-Indic digits",
			headers: []string{`From: <sip:` + url.PathEscape("+٩٨٩١٢١٢٣٤٥٦٧") + `@pbx>;tag=1`},
			want:    telephony.Party{Number: "+٩٨٩١٢١٢٣٤٥٦٧"}, source: HeaderFrom,
		},
		{
			name:    "zero-width space and directional mark inside a number",
			headers: []string{"From: <sip:0912​123%E2%80%8B4567‏@pbx>;tag=1"},
			want:    telephony.Party{Number: "09121234567"}, source: HeaderFrom,
		},
		{
			name:    "format characters only",
			headers: []string{`From: "Z" <sip:%E2%80%8B%E2%80%8F@pbx>;tag=1`},
			want:    telephony.Party{Name: "Z"},
		},
		{
			name:    "too long once decoded",
			headers: []string{`From: "L" <sip:` + url.PathEscape(strings.Repeat("۹", MaxNumberLen/2+1)) + `@pbx>;tag=1`},
			want:    telephony.Party{Name: "L"},
			kinds:   []ProblemKind{ProblemNumberTooLong},
		},
		{
			name:    "too long to decode",
			headers: []string{`From: "L" <sip:` + strings.Repeat("%31", MaxNumberLen+1) + `@pbx>;tag=1`},
			want:    telephony.Party{Name: "L"},
			kinds:   []ProblemKind{ProblemNumberTooLong},
		},
		{
			name:    "long name cut",
			headers: []string{`From: "` + strings.Repeat("n", 300) + `" <sip:1000@pbx>;tag=1`},
			want:    telephony.Party{Name: strings.Repeat("n", MaxNameLen), Number: "1000"}, source: HeaderFrom,
			kinds: []ProblemKind{ProblemNameTooLong},
		},
		{
			name:     "broken PAI reported, From used",
			headers:  []string{`P-Asserted-Identity: "unterminated <sip:1@pbx>`, `From: <sip:1000@pbx>;tag=1`},
			trustPAI: true,
			want:     telephony.Party{Number: "1000"}, source: HeaderFrom,
			kinds: []ProblemKind{ProblemBadAddress},
		},
		{
			name:     "unsupported scheme",
			headers:  []string{`P-Asserted-Identity: <mailto:a@b.c>`, `From: <sip:1000@pbx>;tag=1`},
			trustPAI: true,
			want:     telephony.Party{Number: "1000"}, source: HeaderFrom,
			kinds: []ProblemKind{ProblemScheme},
		},
		{
			name:    "anonymous caller passed through",
			headers: []string{`From: "Anonymous" <sip:anonymous@anonymous.invalid>;tag=1`},
			want:    telephony.Party{Name: "Anonymous", Number: "anonymous"}, source: HeaderFrom,
		},
		{
			name:    "user parameters dropped",
			headers: []string{`From: <sip:+14155550123;npdi;rn=+14155550000@pbx;user=phone>;tag=1`},
			want:    telephony.Party{Number: "+14155550123"}, source: HeaderFrom,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := CallerIdentity(invite(t, "sip:100@192.0.2.2", tt.headers...), tt.trustPAI)
			if id.Caller != tt.want || id.Source != tt.source {
				t.Errorf("caller = %+v from %q, want %+v from %q", id.Caller, id.Source, tt.want, tt.source)
			}
			if got := kinds(id.Problems); !slices.Equal(got, tt.kinds) {
				t.Errorf("problems = %v, want %v", id.Problems, tt.kinds)
			}
			for _, p := range id.Problems {
				if len(p.Value) > 100 {
					t.Errorf("problem value not shortened: %d bytes", len(p.Value))
				}
			}
		})
	}
}

func TestDialledNumber(t *testing.T) {
	tests := []struct {
		ruri, to string
		want     string
		kinds    []ProblemKind
	}{
		{"sip:18005550100@tamas:5080", "", "18005550100", nil},
		{"sip:+98-21-1234-5678@tamas", "", "+982112345678", nil},
		{"tel:+14155550123", "", "+14155550123", nil},
		{"sip:tamas.example.com", "To: <sip:4001@pbx>", "4001", nil},
		{"sip:sales@tamas", "", "sales", []ProblemKind{ProblemNotNumeric}},
		{"sip:" + strings.Repeat("1", 200) + "@tamas", "To: <sip:4001@pbx>", "4001", []ProblemKind{ProblemNumberTooLong}},
		{"sip:" + url.PathEscape("۱۸۰۰۵۵۵۰۱۰۰") + "@tamas", "", "۱۸۰۰۵۵۵۰۱۰۰", nil},
	}
	for _, tt := range tests {
		var hs []string
		if tt.to != "" {
			hs = append(hs, tt.to)
		}
		hs = append(hs, "From: <sip:1@pbx>;tag=1")
		got, ps := DialledNumber(invite(t, tt.ruri, hs...))
		if got != tt.want || !slices.Equal(kinds(ps), tt.kinds) {
			t.Errorf("%s: got %q %v, want %q %v", tt.ruri, got, kinds(ps), tt.want, tt.kinds)
		}
	}
}

func TestSplitAddressList(t *testing.T) {
	got := splitAddressList(`"Doe, J" <sip:a@b;x=1,2>, <tel:+1>,"q\"," <sip:c@d>`)
	want := []string{`"Doe, J" <sip:a@b;x=1,2>`, ` <tel:+1>`, `"q\"," <sip:c@d>`}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// FuzzCallerIdentity checks that whatever the headers hold, the identity is
// safe to store: valid UTF-8, bounded, no control characters, and a number
// made only of number characters.
func FuzzCallerIdentity(f *testing.F) {
	for _, s := range []string{
		`"Alice" <sip:+14155550123@pbx>;tag=1`,
		`<tel:+1-415-555;phone-context=x>`,
		`"<b>x</b>" <sip:%41%42@pbx>`,
		"\"\xff\xfe\" <sip:1@h>",
		`"a\"b" <sip:1@h>, <tel:+2>`,
		`"\u202Eevil" <sips:12@h>;party=calling`,
		`<sip:%DB%B0%DB%B9%DB%B1%DB%B2%DB%B1%DB%B2%DB%B3%DB%B4%DB%B5%DB%B6%DB%B7@pbx>`,
		"<sip:\u06F0\u06F9\u200b%E2%80%8B%E2%80%AE12@pbx>",
	} {
		f.Add(s, s, true)
	}
	f.Fuzz(func(t *testing.T, from, pai string, trust bool) {
		if strings.ContainsAny(from+pai, "\r\n") {
			return
		}
		raw := "INVITE sip:100@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:100@h>\r\n" +
			"From: " + from + "\r\nP-Asserted-Identity: " + pai + "\r\nRemote-Party-ID: " + pai +
			"\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
		msg, err := sipmsg.ParseMessage([]byte(raw))
		if err != nil {
			return
		}
		req, ok := msg.(*sipmsg.Request)
		if !ok {
			return
		}
		id := CallerIdentity(req, trust)
		n, name := id.Caller.Number, id.Caller.Name
		if !utf8.ValidString(n) || len(n) > MaxNumberLen || !numberChars(n) {
			t.Errorf("unsafe number %q", n)
		}
		for _, r := range n {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.IsSpace(r) {
				t.Errorf("control, format or space character %U in number %q", r, n)
			}
		}
		if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLen {
			t.Errorf("unsafe name %q", name)
		}
		for _, r := range name {
			if unicode.IsControl(r) || isBidiControl(r) {
				t.Errorf("control character in name %q", name)
			}
		}
		DialledNumber(req)
	})
}
