package phone

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

func mustNew(t testing.TB, region string) *Normalizer {
	t.Helper()
	n, err := New(region)
	if err != nil {
		t.Fatalf("New(%q): %v", region, err)
	}
	return n
}

type want struct {
	class    Class
	e164     string
	national string
	ext      string
	hasCC    bool
	cc       int
	region   string
}

func checkNumber(t *testing.T, n *Normalizer, raw string, w want) {
	t.Helper()
	got := n.Parse(raw)
	if got.Raw != raw {
		t.Errorf("%s Parse(%q).Raw = %q", n.Region(), raw, got.Raw)
	}
	if got.Class != w.class || got.E164 != w.e164 || got.National != w.national || got.Ext != w.ext ||
		got.HasCountryCode != w.hasCC || got.CountryCode != w.cc || got.Region != w.region {
		t.Errorf("%s Parse(%q) = %s e164=%q national=%q ext=%q hasCC=%v cc=%d region=%q\n"+
			"                 want %s e164=%q national=%q ext=%q hasCC=%v cc=%d region=%q",
			n.Region(), raw, got.Class, got.E164, got.National, got.Ext, got.HasCountryCode, got.CountryCode, got.Region,
			w.class, w.e164, w.national, w.ext, w.hasCC, w.cc, w.region)
	}
}

func TestParseIran(t *testing.T) {
	n := mustNew(t, "IR")
	mobile := want{class: Valid, e164: "+989121234567", national: "9121234567", cc: 98, region: "IR"}
	mobileIntl := mobile
	mobileIntl.hasCC = true
	tehran := want{class: Valid, e164: "+982188881234", national: "2188881234", cc: 98, region: "IR"}
	for _, raw := range []string{
		"09121234567",
		"0912 123 4567",
		"0912-123-4567",
		"0912.123.4567",
		"(0912) 123 4567",
		"0912\u00a0123\u00a04567",             // non-breaking spaces
		"\u200f0912\u200c123\u200e4567\u200f", // RLM, ZWNJ, LRM from right-to-left editors
		"۰۹۱۲۱۲۳۴۵۶۷",                         // Persian digits
		"٠٩١٢١٢٣٤٥٦٧",                         // Arabic-Indic digits
		"۰۹۱۲ ۱۲۳ ۴۵۶۷",                       // Persian digits, spaced
		"０９１２１２３４５６７",                         // fullwidth digits
		"  09121234567\t",                     // surrounding blanks
		"9121234567",                          // national significant number alone
		"989121234567",                        // country code without a prefix
		"\"Ali Rezaei\" <09121234567>",        // Asterisk CALLERID(all)
		"sip:09121234567@pbx.example.com;user=phone",
		// A SIP phone's Persian digits, and a zero-width space, percent-encoded.
		"sip:%DB%B0%DB%B9%DB%B1%DB%B2%DB%B1%DB%B2%DB%B3%DB%B4%DB%B5%DB%B6%DB%B7@pbx;user=phone",
		"\"Ali\" <sip:0912%E2%80%8B1234567@pbx>",
	} {
		checkNumber(t, n, raw, mobile)
	}
	for _, raw := range []string{
		"+98 912 123 4567",
		"+989121234567",
		"0098-912-123-4567",
		"00989121234567",
		"+98 (0) 912 123 4567",
		"+۹۸۹۱۲۱۲۳۴۵۶۷",
		"＋98 912 123 4567",
		"tel:+98-912-123-4567",
		"\"Ali\" <sip:+989121234567@10.0.0.1:5060>;tag=as12",
		"sips:%2B989121234567@pbx.example.com",
		"sip:%2B%D9%A9%D9%A8%D9%A9%D9%A1%D9%A2%D9%A1%D9%A2%D9%A3%D9%A4%D9%A5%D9%A6%D9%A7@pbx",
	} {
		checkNumber(t, n, raw, mobileIntl)
	}
	for _, raw := range []string{"(021) 8888-1234", "021 8888 1234", "02188881234", "982188881234", "2188881234"} {
		checkNumber(t, n, raw, tehran)
	}
	tehranIntl := tehran
	tehranIntl.hasCC = true
	checkNumber(t, n, "+98 21 8888 1234", tehranIntl)

	// A number with a foreign country code.
	checkNumber(t, n, "+1 415 555 0123", want{class: Valid, e164: "+14155550123", national: "4155550123", hasCC: true, cc: 1, region: "US"})
	checkNumber(t, n, "0014155550123", want{class: Valid, e164: "+14155550123", national: "4155550123", hasCC: true, cc: 1, region: "US"})
	checkNumber(t, n, "+44 20 7946 0958", want{class: Valid, e164: "+442079460958", national: "2079460958", hasCC: true, cc: 44, region: "GB"})
	// "011" is the US international prefix, not Iran's.
	checkNumber(t, n, "011 98 912 123 4567", want{class: Invalid, national: "11989121234567"})
}

func TestParseUS(t *testing.T) {
	n := mustNew(t, "US")
	sf := want{class: Valid, e164: "+14155550123", national: "4155550123", cc: 1, region: "US"}
	for _, raw := range []string{"(415) 555-0123", "415-555-0123", "415.555.0123", "4155550123", "1-415-555-0123", "1 (415) 555-0123", "14155550123"} {
		checkNumber(t, n, raw, sf)
	}
	sfIntl := sf
	sfIntl.hasCC = true
	for _, raw := range []string{"+1 415 555 0123", "+1 (415) 555-0123", "+14155550123", "011 1 415 555 0123"} {
		checkNumber(t, n, raw, sfIntl)
	}
	checkNumber(t, n, "011 98 912 123 4567", want{class: Valid, e164: "+989121234567", national: "9121234567", hasCC: true, cc: 98, region: "IR"})
	checkNumber(t, n, "+98 912 123 4567", want{class: Valid, e164: "+989121234567", national: "9121234567", hasCC: true, cc: 98, region: "IR"})
	// Toronto shares +1; the region comes from the number.
	checkNumber(t, n, "(416) 555-0199", want{class: Valid, e164: "+14165550199", national: "4165550199", cc: 1, region: "CA"})
	// Letters of a vanity number are read by the library.
	checkNumber(t, n, "1-800-FLOWERS", want{class: Valid, e164: "+18003569377", national: "8003569377", cc: 1, region: "US"})
	// "00" is not an international prefix in the US, and an Iranian
	// mobile without one is not a US number.
	checkNumber(t, n, "0098-912-123-4567", want{class: Invalid, national: "00989121234567"})
	checkNumber(t, n, "09121234567", want{class: Invalid, national: "09121234567"})
	checkNumber(t, n, "415 555 012", want{class: Invalid, national: "415555012"})
}

func TestParseExtensions(t *testing.T) {
	for _, tc := range []struct {
		region, raw, e164, ext string
	}{
		{"IR", "0912 123 4567 x12", "+989121234567", "12"},
		{"IR", "0912 123 4567 X12", "+989121234567", "12"},
		{"IR", "0912 123 4567 ext 12", "+989121234567", "12"},
		{"IR", "0912 123 4567 ext. 12", "+989121234567", "12"},
		{"IR", "0912 123 4567 Ext: 12", "+989121234567", "12"},
		{"IR", "0912 123 4567 extn 12", "+989121234567", "12"},
		{"IR", "0912 123 4567 extension 12", "+989121234567", "12"},
		{"IR", "09121234567;ext=12", "+989121234567", "12"},
		{"IR", "09121234567#12", "+989121234567", "12"},
		{"IR", "09121234567 #12#", "+989121234567", "12"},
		{"IR", "09121234567#", "+989121234567", ""},
		{"IR", "021-8888-1234 داخلی ۱۲", "+982188881234", "12"},
		{"IR", "tel:+98-21-8888-1234;ext=205;phone-context=example.com", "+982188881234", "205"},
		{"US", "(415) 555-0123 x 7", "+14155550123", "7"},
		{"US", "+1 415 555 0123 ext. 12345", "+14155550123", "12345"},
	} {
		got := mustNew(t, tc.region).Parse(tc.raw)
		if got.Class != Valid || got.E164 != tc.e164 || got.Ext != tc.ext {
			t.Errorf("%s Parse(%q) = %s %q ext %q, want valid %q ext %q", tc.region, tc.raw, got.Class, got.E164, got.Ext, tc.e164, tc.ext)
		}
	}
}

func TestParseWithheld(t *testing.T) {
	for _, region := range []string{"IR", "US"} {
		n := mustNew(t, region)
		for _, raw := range []string{
			"", " ", "\t\r\n", "\u00a0\u200f", "anonymous", "Anonymous", "ANONYMOUS", "unknown", "Unknown",
			"restricted", "Restricted", "private", "Private Number", "unavailable", "Unavailable",
			"withheld", "WITHHELD", "<unknown>", "[unknown]", "(anonymous)", "No Caller ID",
			"sip:anonymous@anonymous.invalid", "\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=1",
			"sip:pbx.example.com", "ناشناس", "--", "()", "+", "\x00", "\xff\xfe",
		} {
			checkNumber(t, n, raw, want{class: Withheld})
		}
	}
}

func TestParseInternal(t *testing.T) {
	for _, region := range []string{"IR", "US"} {
		n := mustNew(t, region)
		for _, raw := range []string{"1000", "101", "7", "20", "100000", "۱۰۰۰", "10-00", "\"Reception\" <1000>", "sip:1000@pbx.local"} {
			checkNumber(t, n, raw, want{class: Internal, national: strings.Map(keepDigit, ASCIIDigits(strings.TrimPrefix(strings.TrimSuffix(raw, "@pbx.local"), "sip:")))})
		}
		// Six digits the library would take for an Iranian fixed line are
		// still an extension on a PBX.
		checkNumber(t, n, "111234", want{class: Internal, national: "111234"})
		checkNumber(t, n, "1000 x5", want{class: Internal, national: "1000", ext: "5"})
		// Not internal: a plus, a seventh digit, text.
		checkNumber(t, n, "+1000", want{class: Invalid, national: "000", hasCC: true, cc: 1})
		checkNumber(t, n, "agent1000", want{class: Invalid, national: "1000"})
	}
	// One more digit than an Iranian extension may have.
	checkNumber(t, mustNew(t, "IR"), "1000000", want{class: Invalid, national: "1000000"})
}

func keepDigit(r rune) rune {
	if r >= '0' && r <= '9' {
		return r
	}
	return -1
}

func TestInternalDigitsOption(t *testing.T) {
	n, err := NewWithOptions("IR", Options{InternalDigits: 3})
	if err != nil {
		t.Fatal(err)
	}
	checkNumber(t, n, "101", want{class: Internal, national: "101"})
	checkNumber(t, n, "1000", want{class: Invalid, national: "1000"})
	n, err = NewWithOptions("IR", Options{InternalDigits: -1})
	if err != nil {
		t.Fatal(err)
	}
	checkNumber(t, n, "101", want{class: Invalid, national: "101"})
	// Without the length rule the library's own verdict stands.
	checkNumber(t, n, "111234", want{class: Valid, e164: "+98111234", national: "111234", cc: 98, region: "IR"})
}

func TestParseInvalidAndHostile(t *testing.T) {
	for _, region := range []string{"IR", "US"} {
		n := mustNew(t, region)
		for _, tc := range []struct {
			raw      string
			national string
		}{
			{"<img src=x onerror=alert(1)>", "1"},
			{"<script>alert('x')</script>", ""},
			{"Mom", ""},
			{strings.Repeat("9", 33), ""},
			{strings.Repeat("1", 2048), ""},
			{strings.Repeat("x", 2048), ""},
			{strings.Repeat("x1", 120), ""},
			{strings.Repeat("a", 100) + " 09121234567", "09121234567"},
			{"0912\x00123 4567", "09121234567"},
			{"0912\xff1234567", "09121234567"},
			{"\x1b[31m09121234567", "3109121234567"},
			{"*69", "69"},
			{"#31#0912", "310912"},
			{"0912 123 4567 / 0935 765 4321", "0912123456709357654321"},
			{"'; DROP TABLE contacts; --", ""},
		} {
			got := n.Parse(tc.raw)
			if got.Class != Invalid || got.National != tc.national || got.E164 != "" || got.Raw != tc.raw {
				t.Errorf("%s Parse(%.40q) = %s national %q e164 %q, want invalid national %q", region, tc.raw, got.Class, got.National, got.E164, tc.national)
			}
		}
	}
}

func TestParseKeepsDigitsOfInvalidNumbersForSuffixMatch(t *testing.T) {
	n := mustNew(t, "IR")
	// A Tehran number stored without its area code is only possible
	// locally: not valid, but its eight digits are the suffix key.
	got := n.Parse("8888 1234")
	if got.Class != Invalid || got.National != "88881234" {
		t.Fatalf("Parse(8888 1234) = %s %q", got.Class, got.National)
	}
	got = n.Parse("123456789012345678")
	if got.Class != Invalid || got.National != "123456789012345678" {
		t.Fatalf("Parse(123456789012345678) = %s %q", got.Class, got.National)
	}
	got = n.Parse("+98 12 345")
	if got.Class != Invalid || !got.HasCountryCode || got.National == "" {
		t.Fatalf("Parse(+98 12 345) = %+v", got)
	}
}

func TestHasCountryCodeOnlyWithExplicitPrefix(t *testing.T) {
	ir := mustNew(t, "IR")
	us := mustNew(t, "US")
	for _, tc := range []struct {
		n    *Normalizer
		raw  string
		want bool
	}{
		{ir, "+989121234567", true},
		{ir, "00989121234567", true},
		{ir, "989121234567", false},
		{ir, "09121234567", false},
		{us, "+14155550123", true},
		{us, "01114155550123", true},
		{us, "14155550123", false},
		{us, "4155550123", false},
	} {
		if got := tc.n.Parse(tc.raw); got.Class != Valid || got.HasCountryCode != tc.want {
			t.Errorf("%s Parse(%q): class %s HasCountryCode %v, want valid %v", tc.n.Region(), tc.raw, got.Class, got.HasCountryCode, tc.want)
		}
	}
}

func TestFormat(t *testing.T) {
	ir := mustNew(t, "IR")
	us := mustNew(t, "US")
	for _, tc := range []struct {
		n                   *Normalizer
		raw, national, intl string
	}{
		{ir, "09121234567", "0912 123 4567", "+98 912 123 4567"},
		{ir, "+98 21 8888 1234", "021 8888 1234", "+98 21 8888 1234"},
		{ir, "09121234567 x12", "0912 123 4567 ext. 12", "+98 912 123 4567 ext. 12"},
		{us, "4155550123", "(415) 555-0123", "+1 415-555-0123"},
		{ir, "1000", "1000", "1000"},
		{ir, "+98 12 345", "12345", "+98 12345"},
		{ir, "anonymous", "", ""},
	} {
		num := tc.n.Parse(tc.raw)
		if got := num.FormatNational(); got != tc.national {
			t.Errorf("%q FormatNational = %q, want %q", tc.raw, got, tc.national)
		}
		if got := num.FormatInternational(); got != tc.intl {
			t.Errorf("%q FormatInternational = %q, want %q", tc.raw, got, tc.intl)
		}
	}
	// A Number built by hand with nonsense in it formats without panicking.
	odd := Number{Class: Valid, CountryCode: -5, National: "12a"}
	if got := odd.FormatNational(); got != "12a" {
		t.Errorf("odd FormatNational = %q", got)
	}
	odd = Number{Class: Valid, CountryCode: 999999, National: "123456", E164: "+999999123456"}
	_ = odd.FormatInternational()
}

func TestNew(t *testing.T) {
	n, err := New("ir")
	if err != nil || n.Region() != "IR" {
		t.Fatalf("New(ir) = %v, %v", n, err)
	}
	for _, bad := range []string{"", "XX", "Iran", "001", "ZZ"} {
		_, err := New(bad)
		if !errors.Is(err, ErrUnknownRegion) || !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("New(%q) error = %v, want one naming the region and wrapping ErrUnknownRegion", bad, err)
		}
	}
}

func TestClassString(t *testing.T) {
	for c, s := range map[Class]string{Valid: "valid", Withheld: "withheld", Internal: "internal", Invalid: "invalid", Class(9): "Class(9)"} {
		if c.String() != s {
			t.Errorf("Class(%d).String() = %q, want %q", int(c), c.String(), s)
		}
	}
}

func TestASCIIDigits(t *testing.T) {
	for in, out := range map[string]string{
		"":                  "",
		"0912":              "0912",
		"۰۱۲۳۴۵۶۷۸۹":        "0123456789",
		"٠١٢٣٤٥٦٧٨٩":        "0123456789",
		"تلفن: ۰۹۱۲-۱۲۳":    "تلفن: 0912-123",
		"+٩٨ 912":           "+98 912",
		"０１":                "０１", // fullwidth digits are not Persian or Arabic-Indic
		"\xff۱\xfe":         "\xff1\xfe",
		"abc ۵ def ٥ ghi 5": "abc 5 def 5 ghi 5",
	} {
		if got := ASCIIDigits(in); got != out {
			t.Errorf("ASCIIDigits(%q) = %q, want %q", in, got, out)
		}
	}
}

// TestParseConcurrent runs Parse from many goroutines over numbers of many
// countries, so the race detector sees plans being built while in use.
func TestParseConcurrent(t *testing.T) {
	n := mustNew(t, "IR")
	var inputs []string
	for _, r := range []string{"US", "GB", "DE", "FR", "AR", "BR", "IN", "CN", "JP", "AE", "TR", "RU", "IT", "ES", "AU"} {
		if ex := phonenumbers.GetExampleNumber(r); ex != nil {
			inputs = append(inputs, phonenumbers.Format(ex, phonenumbers.E164))
		}
	}
	want := make([]Number, len(inputs))
	for i, in := range inputs {
		want[i] = mustNew(t, "IR").Parse(in)
		if want[i].Class != Valid {
			t.Fatalf("example %s is %s", in, want[i].Class)
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range inputs {
				j := (i + g) % len(inputs)
				if got := n.Parse(inputs[j]); got != want[j] {
					t.Errorf("concurrent Parse(%q) = %+v, want %+v", inputs[j], got, want[j])
				}
			}
		})
	}
	wg.Wait()
}
