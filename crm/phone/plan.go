package phone

import (
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// The library's Parse spends most of its time on work a clean digit string
// does not need: it runs its large extension pattern over the input, looks
// for the start of the number, normalises punctuation, and for every
// metadata pattern it uses builds a cache key by concatenation and takes a
// lock. readDigits below repeats, step for step, what the library's
// parseHelper does when its input is an optional '+' followed by ASCII
// digits, using the library's own metadata and the same regular expressions
// compiled once per numbering plan. The library still decides validity; the
// tests check this reading against the library's Parse over many regions,
// every region's example numbers and random digit strings.

// numberPlan is what reading a number needs from one region's metadata, with
// its patterns compiled.
type numberPlan struct {
	meta     *phonenumbers.PhoneMetadata
	cc       int
	ccDigits string
	// idd is the region's international prefix exactly as the library uses
	// it: unanchored, a match must start at 0.
	idd *regexp.Regexp
	// nationalPrefix is nil when the region has no national prefix for
	// parsing.
	nationalPrefix *regexp.Regexp
	transform      string
	general        *regexp.Regexp
	lengths        []int32
	localLengths   []int32
}

func newNumberPlan(meta *phonenumbers.PhoneMetadata) (*numberPlan, bool) {
	gd := meta.GetGeneralDesc()
	if gd == nil || len(gd.PossibleLength) == 0 {
		return nil, false
	}
	p := &numberPlan{
		meta:         meta,
		cc:           int(meta.GetCountryCode()),
		transform:    meta.GetNationalPrefixTransformRule(),
		lengths:      gd.PossibleLength,
		localLengths: gd.PossibleLengthLocalOnly,
	}
	p.ccDigits = strconv.Itoa(p.cc)
	var err error
	if p.general, err = regexp.Compile("^(?:" + gd.GetNationalNumberPattern() + ")$"); err != nil {
		return nil, false
	}
	if p.idd, err = regexp.Compile(meta.GetInternationalPrefix()); err != nil {
		return nil, false
	}
	if np := meta.GetNationalPrefixForParsing(); np != "" {
		if p.nationalPrefix, err = regexp.Compile("^(?:" + np + ")"); err != nil {
			return nil, false
		}
	}
	return p, true
}

type lengthFit int

const (
	lengthPossible lengthFit = iota
	lengthLocalOnly
	lengthTooShort
	lengthTooLong
	lengthInvalid
)

// fit is the library's testNumberLength for the general description.
func (p *numberPlan) fit(n int) lengthFit {
	pl := p.lengths
	if pl[0] == -1 {
		return lengthInvalid
	}
	l := int32(n)
	for _, x := range p.localLengths {
		if x == l {
			return lengthLocalOnly
		}
	}
	switch {
	case pl[0] == l:
		return lengthPossible
	case pl[0] > l:
		return lengthTooShort
	case pl[len(pl)-1] < l:
		return lengthTooLong
	}
	for _, x := range pl[1:] {
		if x == l {
			return lengthPossible
		}
	}
	return lengthInvalid
}

// stripNationalPrefix is the library's maybeStripNationalPrefixAndCarrierCode
// (the carrier code is not kept).
func (p *numberPlan) stripNationalPrefix(number string) string {
	if len(number) == 0 || p.nationalPrefix == nil {
		return number
	}
	groups := p.nationalPrefix.FindStringSubmatchIndex(number)
	if groups == nil {
		return number
	}
	viableOriginal := p.general.MatchString(number)
	numGroups := len(groups)/2 - 1
	if p.transform == "" || groups[numGroups*2] < 0 {
		if viableOriginal && !p.general.MatchString(number[groups[1]:]) {
			return number
		}
		return number[groups[1]:]
	}
	transformed := p.nationalPrefix.ReplaceAllString(number, p.transform)
	if viableOriginal && !p.general.MatchString(transformed) {
		return number
	}
	return transformed
}

// plans holds the numbering plans of one Normalizer: the default region's,
// built eagerly, and those of other country codes, built on first use.
type plans struct {
	region      string
	home        *numberPlan
	homeFirst   bool
	codes       map[int]bool
	byRegion    map[string]*phonenumbers.PhoneMetadata
	nonGeo      map[int]*phonenumbers.PhoneMetadata
	mu          sync.RWMutex
	byCode      map[int]*numberPlan
	unavailable map[int]bool
}

func newPlans(region string) (*plans, bool) {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return nil, false
	}
	ps := &plans{
		region:      region,
		codes:       phonenumbers.GetSupportedCallingCodes(),
		byRegion:    make(map[string]*phonenumbers.PhoneMetadata, 256),
		nonGeo:      make(map[int]*phonenumbers.PhoneMetadata, 16),
		byCode:      make(map[int]*numberPlan),
		unavailable: make(map[int]bool),
	}
	for _, m := range coll.GetMetadata() {
		if m.GetId() == "001" {
			ps.nonGeo[int(m.GetCountryCode())] = m
		} else {
			ps.byRegion[m.GetId()] = m
		}
	}
	meta := ps.byRegion[region]
	if meta == nil {
		return nil, false
	}
	home, ok := newNumberPlan(meta)
	if !ok {
		return nil, false
	}
	ps.home = home
	shared := phonenumbers.GetRegionCodesForCountryCode(home.cc)
	ps.homeFirst = len(shared) > 1 && shared[0] == region && meta.GetLeadingDigits() == ""
	return ps, true
}

// forCode returns the plan the library reads a number with country code cc
// by: that of the code's main region, or the default region's when that is
// the main region.
func (ps *plans) forCode(cc int) (*numberPlan, bool) {
	main := phonenumbers.GetRegionCodeForCountryCode(cc)
	if main == ps.region {
		return ps.home, true
	}
	ps.mu.RLock()
	p, ok := ps.byCode[cc]
	bad := ps.unavailable[cc]
	ps.mu.RUnlock()
	if ok || bad {
		return p, ok
	}
	var meta *phonenumbers.PhoneMetadata
	if main == "001" {
		meta = ps.nonGeo[cc]
	} else {
		meta = ps.byRegion[main]
	}
	if meta != nil {
		p, ok = newNumberPlan(meta)
	}
	ps.mu.Lock()
	if ok {
		ps.byCode[cc] = p
	} else {
		ps.unavailable[cc] = true
	}
	ps.mu.Unlock()
	return p, ok
}

// reading is the outcome of reading a digit string.
type reading struct {
	ok bool
	// fallback says a plan could not be built: the library must read the
	// number itself.
	fallback bool
	// international says the number carried '+' or the default region's
	// international prefix.
	international bool
	cc            int
	nsn           string
}

// readDigits is the library's parseHelper for input that is an optional '+'
// followed by ASCII digits.
func (ps *plans) readDigits(plus bool, d string) reading {
	// isViablePhoneNumber: two digits, or three and more with an optional
	// leading plus.
	if len(d) < 3 && (plus || len(d) < 2) {
		return reading{international: plus}
	}
	cc, national, intl, res := ps.extractCountryCode(plus, d)
	if res == unknownCode && plus {
		// The library retries without the plus, as if it were a stray
		// character, when the code after it is unknown.
		cc, national, _, res = ps.extractCountryCode(false, d)
		if res == codeOK && cc == 0 {
			res = unknownCode
		}
	}
	r := reading{international: intl, cc: cc}
	if res != codeOK {
		return r
	}
	plan := ps.home
	if cc != 0 {
		var ok bool
		if plan, ok = ps.forCode(cc); !ok {
			return reading{fallback: true, international: intl}
		}
	} else {
		national = d
		r.cc = ps.home.cc
	}
	if len(national) < phonenumbers.MIN_LENGTH_FOR_NSN {
		return r
	}
	stripped := plan.stripNationalPrefix(national)
	switch plan.fit(len(stripped)) {
	case lengthTooShort, lengthLocalOnly, lengthInvalid:
	default:
		national = stripped
	}
	if len(national) < phonenumbers.MIN_LENGTH_FOR_NSN || len(national) > phonenumbers.MAX_LENGTH_FOR_NSN {
		return r
	}
	r.ok = true
	r.nsn = national
	return r
}

type codeResult int

const (
	codeOK codeResult = iota
	unknownCode
	tooShortAfterPrefix
)

// extractCountryCode is the library's maybeExtractCountryCode: it returns
// the code (0 when the number has none), the rest of the number when a code
// was found, and whether an international prefix was present.
func (ps *plans) extractCountryCode(plus bool, d string) (cc int, national string, intl bool, res codeResult) {
	home := ps.home
	full := d
	if !plus {
		if ind := home.idd.FindStringIndex(d); ind != nil && ind[0] == 0 {
			if rest := d[ind[1]:]; rest == "" || rest[0] != '0' {
				full, intl = rest, true
			}
		}
	} else {
		intl = true
	}
	if intl {
		if len(full) <= phonenumbers.MIN_LENGTH_FOR_NSN {
			return 0, "", true, tooShortAfterPrefix
		}
		if full[0] == '0' {
			return 0, "", true, unknownCode
		}
		for i := 1; i <= phonenumbers.MAX_LENGTH_COUNTRY_CODE && i <= len(full); i++ {
			c, _ := strconv.Atoi(full[:i])
			if ps.codes[c] {
				return c, full[i:], true, codeOK
			}
		}
		return 0, "", true, unknownCode
	}
	if strings.HasPrefix(d, home.ccDigits) {
		potential := home.stripNationalPrefix(d[len(home.ccDigits):])
		fullValid := home.general.MatchString(d)
		nationalValid := home.general.MatchString(potential)
		if (!fullValid && nationalValid) || home.fit(len(d)) == lengthTooLong {
			return home.cc, potential, false, codeOK
		}
	}
	return 0, "", false, codeOK
}

// libraryNumber builds the library's form of a national significant number,
// with the leading-zero fields set as its Parse sets them.
func libraryNumber(cc int, nsn string) *phonenumbers.PhoneNumber {
	// One allocation for the message and the values its fields point to.
	m := &struct {
		pn    phonenumbers.PhoneNumber
		cc    int32
		nn    uint64
		lz    bool
		zeros int32
	}{cc: int32(cc)}
	m.nn, _ = strconv.ParseUint(nsn, 10, 64)
	m.pn.CountryCode, m.pn.NationalNumber = &m.cc, &m.nn
	if len(nsn) >= 2 && nsn[0] == '0' {
		m.lz = true
		m.pn.ItalianLeadingZero = &m.lz
		zeros := 1
		for zeros < len(nsn)-1 && nsn[zeros] == '0' {
			zeros++
		}
		if zeros != 1 {
			m.zeros = int32(zeros)
			m.pn.NumberOfLeadingZeros = &m.zeros
		}
	}
	return &m.pn
}
