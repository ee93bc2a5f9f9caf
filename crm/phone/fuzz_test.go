package phone

import (
	"strconv"
	"strings"
	"testing"
)

func isASCIIDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkInvariants fails t when num breaks a promise Parse makes for any
// input.
func checkInvariants(t *testing.T, n *Normalizer, raw string, num Number) {
	t.Helper()
	if num.Raw != raw {
		t.Fatalf("%s %q: Raw changed to %q", n.Region(), raw, num.Raw)
	}
	if num.Class < Valid || num.Class > Invalid {
		t.Fatalf("%s %q: class %d", n.Region(), raw, num.Class)
	}
	if !isASCIIDigits(num.National) {
		t.Fatalf("%s %q: National %q is not ASCII digits", n.Region(), raw, num.National)
	}
	if !isASCIIDigits(num.Ext) || len(num.Ext) > maxExtDigits {
		t.Fatalf("%s %q: Ext %q", n.Region(), raw, num.Ext)
	}
	if len(num.National) > maxDigits {
		t.Fatalf("%s %q: National %q longer than %d", n.Region(), raw, num.National, maxDigits)
	}
	switch num.Class {
	case Valid:
		if len(num.E164) < 3 || num.E164[0] != '+' || !isASCIIDigits(num.E164[1:]) || len(num.E164) > 1+3+17 {
			t.Fatalf("%s %q: E164 %q", n.Region(), raw, num.E164)
		}
		if num.E164 != "+"+strconv.Itoa(num.CountryCode)+num.National {
			t.Fatalf("%s %q: E164 %q is not +%d %s", n.Region(), raw, num.E164, num.CountryCode, num.National)
		}
		if num.Region == "" {
			t.Fatalf("%s %q: valid without region", n.Region(), raw)
		}
		again := n.Parse(num.E164)
		if again.Class != Valid || again.E164 != num.E164 || !again.HasCountryCode {
			t.Fatalf("%s %q: E164 %q parses again as %s %q", n.Region(), raw, num.E164, again.Class, again.E164)
		}
	case Withheld:
		if num.E164 != "" || num.National != "" || num.Ext != "" || num.HasCountryCode || num.CountryCode != 0 {
			t.Fatalf("%s %q: withheld with content %+v", n.Region(), raw, num)
		}
	case Internal:
		if num.E164 != "" || num.National == "" || len(num.National) > n.internal || num.HasCountryCode {
			t.Fatalf("%s %q: internal %+v", n.Region(), raw, num)
		}
	case Invalid:
		if num.E164 != "" {
			t.Fatalf("%s %q: invalid with E164 %q", n.Region(), raw, num.E164)
		}
	}
	if num.Class != Valid && num.Region != "" && !num.HasCountryCode {
		t.Fatalf("%s %q: %s with region %q but no country code given", n.Region(), raw, num.Class, num.Region)
	}
	_ = num.FormatNational()
	_ = num.FormatInternational()
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"09121234567", "+98 912 123 4567", "0098-912-123-4567", "۰۹۱۲۱۲۳۴۵۶۷", "٠٩١٢١٢٣٤٥٦٧",
		"(021) 8888-1234", "982188881234", "(415) 555-0123", "+1 415 555 0123", "1-415-555-0123",
		"011 98 912 123 4567", "anonymous", "<unknown>", "sip:anonymous@anonymous.invalid", "",
		"   ", "1000", "agent1000", "0912 123 4567 x12", "0912 123 4567 ext. 12", "09121234567;ext=12",
		"09121234567#12", "021-8888-1234 داخلی ۱۲", "tel:+98-21-8888-1234;ext=205;phone-context=x",
		"\"Ali\" <sip:+989121234567@10.0.0.1>;tag=1", "<img src=x onerror=alert(1)>", "0912\x00123",
		"\xff\xfe\xfd", "1-800-FLOWERS", "+0098 912 123 4567", "+", "++98", "*69", "#31#",
		"+800 1234 5678", "+44 (0) 20 7946 0958", "+39 06 1234 5678", "+54 9 11 1234-5678",
		"011 15 1234 5678", "+55 11 91234-5678", strings.Repeat("9", 40), strings.Repeat("x", 300),
		"Tel: +98 912 123 4567 (mobile)", "sips:%2B989121234567@h", "<sip:1000@pbx>", "sip:%DB%B0%DB%B9%E2%80%8B1%00@h",
	} {
		f.Add(s)
	}
	ir := mustNew(f, "IR")
	us := mustNew(f, "US")
	f.Fuzz(func(t *testing.T, raw string) {
		for _, n := range []*Normalizer{ir, us} {
			num := n.Parse(raw)
			checkInvariants(t, n, raw, num)
			if again := n.Parse(raw); again != num {
				t.Fatalf("%s %q: Parse not deterministic: %+v then %+v", n.Region(), raw, num, again)
			}
		}
	})
}
