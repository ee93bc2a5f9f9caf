package phone

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Class says what kind of thing a caller ID or stored number turned out to
// be.
type Class int

const (
	// Valid is a number the numbering plan of its country allows.
	Valid Class = iota
	// Withheld is a caller who hid their number, or nothing at all.
	Withheld
	// Internal is a short extension of the telephone system itself.
	Internal
	// Invalid is anything else: digits that make no valid number, or text.
	Invalid
)

func (c Class) String() string {
	switch c {
	case Valid:
		return "valid"
	case Withheld:
		return "withheld"
	case Internal:
		return "internal"
	case Invalid:
		return "invalid"
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// Number is one caller ID or stored number, classified and normalised.
type Number struct {
	// Raw is the input, unmodified.
	Raw   string
	Class Class
	// E164 is the number in E.164 form ("+989121234567"), set only when
	// Class is Valid.
	E164 string
	// CountryCode is the country calling code (98), 0 when unknown: for a
	// number that is not valid it is set only when the input carried one.
	CountryCode int
	// Region is the CLDR region of a valid number ("IR"; "001" for
	// non-geographic numbers such as +800), "" when unknown.
	Region string
	// National is the national significant number in ASCII digits, without
	// trunk prefix or country code. For an Invalid number it holds the
	// digits that were found, so a suffix match still works; for an Internal
	// one, the extension.
	National string
	// Ext is the extension dialled after the number connects, ASCII digits,
	// "" if none.
	Ext string
	// HasCountryCode says the input carried an explicit international
	// prefix: '+' or the default region's international dialling prefix
	// ("00" in Iran and most of the world, "011" from the US).
	HasCountryCode bool
}

// DefaultInternalDigits is how many digits an internal extension may have
// unless [Options] says otherwise.
const DefaultInternalDigits = 6

// Options adjusts a Normalizer.
type Options struct {
	// InternalDigits is the longest digit string read as an internal
	// extension of the telephone system: 0 means DefaultInternalDigits, a
	// negative value means no number is internal. Set it to the length of
	// the PBX's extension plan, and lower it in regions whose subscriber
	// numbers are that short.
	InternalDigits int
}

// ErrUnknownRegion is returned for a default region the numbering-plan
// metadata does not know.
var ErrUnknownRegion = errors.New("unknown region")

// Normalizer reads caller IDs and stored numbers as numbers of one default
// region. It is immutable and safe for concurrent use.
type Normalizer struct {
	region   string
	internal int
	plans    *plans
}

// New returns a Normalizer for defaultRegion, a CLDR region code such as
// "IR" or "US".
func New(defaultRegion string) (*Normalizer, error) {
	return NewWithOptions(defaultRegion, Options{})
}

// NewWithOptions is New with options.
func NewWithOptions(defaultRegion string, opts Options) (*Normalizer, error) {
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	if !phonenumbers.GetSupportedRegions()[region] {
		return nil, fmt.Errorf("phone: default region %q: %w", defaultRegion, ErrUnknownRegion)
	}
	ps, ok := newPlans(region)
	if !ok {
		return nil, fmt.Errorf("phone: default region %q: numbering plan unusable", defaultRegion)
	}
	internal := opts.InternalDigits
	if internal == 0 {
		internal = DefaultInternalDigits
	}
	return &Normalizer{region: region, internal: internal, plans: ps}, nil
}

// Region returns the default region, upper case.
func (n *Normalizer) Region() string { return n.region }

// Parse classifies and normalises raw. It never fails: Class says what raw
// turned out to be.
func (n *Normalizer) Parse(raw string) Number {
	num := Number{Raw: raw, Class: Invalid}
	s := strings.TrimFunc(raw, isBlank)
	if s == "" {
		num.Class = Withheld
		return num
	}
	if len(s) > maxInputBytes {
		return num
	}
	s = unwrap(s)
	var sc scan
	sc.read(s)
	switch {
	case sc.n == 0:
		if !sc.letters || isWithheldWord(s) {
			num.Class = Withheld
		}
		return num
	case sc.long:
		num.HasCountryCode = sc.plus
		return num
	case sc.hostile:
		num.HasCountryCode = sc.plus
		num.National = sc.main()
		return num
	case sc.junk:
		if len(s) > maxLibraryBytes {
			num.HasCountryCode = sc.plus
			num.National = allDigits(s)
			return num
		}
		n.parseWithLibrary(&num, s, allDigits(s), "")
		return num
	}
	if sc.en > 0 {
		num.Ext = string(sc.ext[:sc.en])
	}
	if !sc.plus && sc.n <= n.internal {
		num.Class = Internal
		num.National = sc.main()
		return num
	}
	d := sc.main()
	rd := n.plans.readDigits(sc.plus, d)
	if rd.fallback {
		tight := d
		if sc.plus {
			tight = "+" + d
		}
		n.parseWithLibrary(&num, tight, d, num.Ext)
		return num
	}
	num.HasCountryCode = rd.international
	if !rd.ok {
		num.National = d
		return num
	}
	n.settle(&num, rd.cc, rd.nsn, libraryNumber(rd.cc, rd.nsn))
	return num
}

// settle asks the library whether the number read is valid and fills num.
func (n *Normalizer) settle(num *Number, cc int, nsn string, pn *phonenumbers.PhoneNumber) {
	region, valid := n.plans.validate(pn)
	if valid {
		e164 := "+" + strconv.Itoa(cc) + nsn
		num.Class = Valid
		num.E164 = e164
		num.National = e164[len(e164)-len(nsn):]
		num.CountryCode = cc
		num.Region = region
		return
	}
	num.Class = Invalid
	num.National = nsn
	if num.HasCountryCode {
		num.CountryCode = cc
		num.Region = region
	}
}

// validate is the library's IsValidNumber, which is GetRegionCodeForNumber
// followed by IsValidNumberForRegion; keeping the two apart saves looking
// the region up twice. When the default region is the first of several
// sharing its country code and has no leading-digits rule (the US for +1),
// GetRegionCodeForNumber returns it for every number valid in it, so a
// number valid for the default region is answered by one check instead of
// two.
func (ps *plans) validate(pn *phonenumbers.PhoneNumber) (region string, valid bool) {
	defer func() {
		if recover() != nil {
			region, valid = "", false
		}
	}()
	if ps.homeFirst && int(pn.GetCountryCode()) == ps.home.cc && phonenumbers.IsValidNumberForRegion(pn, ps.region) {
		return ps.region, true
	}
	region = phonenumbers.GetRegionCodeForNumber(pn)
	return region, phonenumbers.IsValidNumberForRegion(pn, region)
}

// parseWithLibrary reads text with the library's own Parse: text the fast
// reader does not understand (leading words, letters of a vanity number,
// unusual punctuation) or a number whose numbering plan it could not build.
// digits is the fallback National; ext, when set, overrides the library's.
func (n *Normalizer) parseWithLibrary(num *Number, text, digits, ext string) {
	num.Class = Invalid
	num.National = digits
	defer func() {
		if recover() != nil {
			*num = Number{Raw: num.Raw, Class: Invalid, National: digits}
		}
	}()
	pn := &phonenumbers.PhoneNumber{}
	if err := phonenumbers.ParseAndKeepRawInputToNumber(text, n.region, pn); err != nil {
		num.HasCountryCode = strings.HasPrefix(text, "+")
		return
	}
	src := pn.GetCountryCodeSource()
	num.HasCountryCode = src == phonenumbers.PhoneNumber_FROM_NUMBER_WITH_PLUS_SIGN ||
		src == phonenumbers.PhoneNumber_FROM_NUMBER_WITH_IDD
	if ext == "" {
		ext = onlyDigits(phonenumbers.NormalizeDigitsOnly(pn.GetExtension()))
		if len(ext) > maxExtDigits {
			ext = ""
		}
	}
	num.Ext = ext
	nsn := phonenumbers.GetNationalSignificantNumber(pn)
	if onlyDigits(nsn) != nsn {
		return
	}
	n.settle(num, int(pn.GetCountryCode()), nsn, pn)
}

// onlyDigits drops everything but ASCII digits.
func onlyDigits(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			var b strings.Builder
			for j := 0; j < len(s); j++ {
				if s[j] >= '0' && s[j] <= '9' {
					b.WriteByte(s[j])
				}
			}
			return b.String()
		}
	}
	return s
}

// FormatNational formats a valid number as it is dialled within its country
// ("0912 123 4567", with " ext. 12" when there is an extension). Other
// numbers are returned as their National digits.
func (num Number) FormatNational() string {
	return num.format(phonenumbers.NATIONAL)
}

// FormatInternational formats a valid number for dialling from abroad
// ("+98 912 123 4567"). Other numbers are returned as their National digits,
// after "+<country code> " when the input carried one.
func (num Number) FormatInternational() string {
	if num.Class != Valid && num.CountryCode != 0 && num.National != "" {
		return "+" + strconv.Itoa(num.CountryCode) + " " + num.National
	}
	return num.format(phonenumbers.INTERNATIONAL)
}

func (num Number) format(f phonenumbers.PhoneNumberFormat) (out string) {
	nsn := num.National
	if num.Class != Valid || nsn == "" || len(nsn) > phonenumbers.MAX_LENGTH_FOR_NSN || onlyDigits(nsn) != nsn {
		return nsn
	}
	defer func() {
		if recover() != nil {
			out = num.E164
		}
	}()
	pn := libraryNumber(num.CountryCode, nsn)
	if num.Ext != "" {
		ext := num.Ext
		pn.Extension = &ext
	}
	return phonenumbers.Format(pn, f)
}

// ASCIIDigits maps Persian (U+06F0–U+06F9) and Arabic-Indic (U+0660–U+0669)
// digits to ASCII 0–9 and keeps everything else.
func ASCIIDigits(s string) string {
	i := strings.IndexFunc(s, isEasternDigit)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for s = s[i:]; s != ""; {
		r, size := utf8.DecodeRuneInString(s)
		if isEasternDigit(r) {
			d, _ := digitValue(r)
			b.WriteByte(d)
		} else {
			// Copy the bytes, not r: invalid UTF-8 stays as it was.
			b.WriteString(s[:size])
		}
		s = s[size:]
	}
	return b.String()
}

func isEasternDigit(r rune) bool {
	return (r >= '\u06F0' && r <= '\u06F9') || (r >= '\u0660' && r <= '\u0669')
}
