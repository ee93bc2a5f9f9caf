package phone

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// agreementRegions are default regions whose numbering plans exercise the
// library's parsing rules: trunk prefixes, carrier codes and transform rules
// (AR, BR, MX, CO), shared country codes (US, CA, RU, KZ, GB), numbers with
// leading zeros (IT), variable lengths (DE, AT) and no trunk prefix (ES).
var agreementRegions = []string{"IR", "US", "CA", "GB", "DE", "AT", "AR", "BR", "MX", "CO", "IT", "ES", "RU", "KZ", "IN", "CN", "AE", "TR", "AU", "NU"}

// checkAgainstLibrary fails t when reading the digit string differs from the
// library's Parse of the same text, or when validate differs from
// IsValidNumber.
func checkAgainstLibrary(t *testing.T, n *Normalizer, plus bool, d string) {
	t.Helper()
	text := d
	if plus {
		text = "+" + d
	}
	got := n.plans.readDigits(plus, d)
	if got.fallback {
		return
	}
	pn, err := phonenumbers.ParseAndKeepRawInput(text, n.region)
	if (err == nil) != got.ok {
		t.Fatalf("%s %q: read ok=%v, library err=%v", n.region, text, got.ok, err)
	}
	if err != nil {
		return
	}
	wantNSN := phonenumbers.GetNationalSignificantNumber(pn)
	if got.cc != int(pn.GetCountryCode()) || got.nsn != wantNSN {
		t.Fatalf("%s %q: read +%d %s, library +%d %s", n.region, text, got.cc, got.nsn, pn.GetCountryCode(), wantNSN)
	}
	src := pn.GetCountryCodeSource()
	wantIntl := src == phonenumbers.PhoneNumber_FROM_NUMBER_WITH_PLUS_SIGN || src == phonenumbers.PhoneNumber_FROM_NUMBER_WITH_IDD
	if got.international != wantIntl {
		t.Fatalf("%s %q: international=%v, library source %v", n.region, text, got.international, src)
	}
	mine := libraryNumber(got.cc, got.nsn)
	region, valid := n.plans.validate(mine)
	if valid != phonenumbers.IsValidNumber(pn) || (valid && region != phonenumbers.GetRegionCodeForNumber(pn)) {
		t.Fatalf("%s %q: valid=%v region=%s, library valid=%v region=%s", n.region, text, valid, region,
			phonenumbers.IsValidNumber(pn), phonenumbers.GetRegionCodeForNumber(pn))
	}
	// Format gives back the kept raw input for a national number of 0
	// ("+800 00000000"): format the number as parsed without it.
	plain, err := phonenumbers.Parse(text, n.region)
	if err != nil {
		t.Fatalf("%s %q: parses only keeping the raw input: %v", n.region, text, err)
	}
	if e164 := phonenumbers.Format(plain, phonenumbers.E164); valid && "+"+strconv.Itoa(got.cc)+got.nsn != e164 {
		t.Fatalf("%s %q: E.164 differs from library's %s", n.region, text, e164)
	}
}

// exampleDigits returns, for every region, example numbers of every type
// written in the ways people write them, as digit strings.
func exampleDigits(n *Normalizer) [](struct {
	plus bool
	d    string
}) {
	type in = struct {
		plus bool
		d    string
	}
	regions := make([]string, 0, 256)
	for r := range phonenumbers.GetSupportedRegions() {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	homeIDD := n.plans.home.meta.GetPreferredInternationalPrefix()
	if homeIDD == "" {
		homeIDD = n.plans.home.meta.GetInternationalPrefix()
	}
	if onlyDigits(homeIDD) != homeIDD {
		homeIDD = "00"
	}
	var out []in
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.VOIP, phonenumbers.UAN, phonenumbers.PAGER, phonenumbers.PERSONAL_NUMBER}
	for _, r := range regions {
		for _, typ := range types {
			pn := phonenumbers.GetExampleNumberForType(r, typ)
			if pn == nil {
				continue
			}
			cc := strconv.Itoa(int(pn.GetCountryCode()))
			nsn := phonenumbers.GetNationalSignificantNumber(pn)
			national := phonenumbers.NormalizeDigitsOnly(phonenumbers.Format(pn, phonenumbers.NATIONAL))
			ndd := phonenumbers.GetNddPrefixForRegion(r, true)
			out = append(out,
				in{true, cc + nsn},
				in{true, cc + ndd + nsn},
				in{false, cc + nsn},
				in{false, homeIDD + cc + nsn},
				in{false, national},
				in{false, ndd + nsn},
				in{false, nsn},
				in{false, nsn[:len(nsn)-1]},
				in{false, nsn + "9"},
				in{true, "0" + cc + nsn},
				in{true, homeIDD + cc + nsn},
			)
		}
	}
	return out
}

// comparedRegions is agreementRegions, or only Iran and the US when the
// race detector or -short makes the full comparison too slow.
func comparedRegions() []string {
	if raceDetector || testing.Short() {
		return agreementRegions[:2]
	}
	return agreementRegions
}

func TestReadDigitsAgreesWithLibraryOnSampleNumbers(t *testing.T) {
	for _, region := range comparedRegions() {
		n, err := New(region)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range exampleDigits(n) {
			checkAgainstLibrary(t, n, in.plus, in.d)
		}
	}
}

func TestReadDigitsAgreesWithLibraryOnRandomDigits(t *testing.T) {
	count := 3000
	if raceDetector || testing.Short() {
		count = 1000
	}
	rng := rand.New(rand.NewPCG(1, 2))
	prefixes := []string{"", "0", "00", "011", "1", "98", "9", "44", "0098", "01", "15", "8", "810", "7", "54", "55", "52", "39", "0011"}
	for _, region := range comparedRegions() {
		n, err := New(region)
		if err != nil {
			t.Fatal(err)
		}
		for range count {
			var b strings.Builder
			b.WriteString(prefixes[rng.IntN(len(prefixes))])
			for range rng.IntN(16) {
				b.WriteByte(byte('0' + rng.IntN(10)))
			}
			checkAgainstLibrary(t, n, rng.IntN(3) == 0, b.String())
		}
	}
}

// FuzzDigitsAgreeWithLibrary compares the fast reading of a digit string
// with the library's Parse.
func FuzzDigitsAgreeWithLibrary(f *testing.F) {
	f.Add(uint8(0), false, "09121234567")
	f.Add(uint8(0), true, "989121234567")
	f.Add(uint8(1), false, "14155550123")
	f.Add(uint8(6), false, "0111512345678")
	f.Add(uint8(7), false, "0211234567890")
	normalizers := make([]*Normalizer, len(agreementRegions))
	for i, r := range agreementRegions {
		n, err := New(r)
		if err != nil {
			f.Fatal(err)
		}
		normalizers[i] = n
	}
	f.Fuzz(func(t *testing.T, ri uint8, plus bool, s string) {
		var b []byte
		for i := 0; i < len(s) && len(b) < 24; i++ {
			b = append(b, '0'+s[i]%10)
		}
		checkAgainstLibrary(t, normalizers[int(ri)%len(normalizers)], plus, string(b))
	})
}
