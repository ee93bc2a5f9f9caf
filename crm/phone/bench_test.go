package phone

import (
	"testing"

	"github.com/nyaruka/phonenumbers"
)

var benchInputs = []struct {
	name, region, raw string
}{
	{"IR-mobile-national", "IR", "0912 123 4567"},
	{"IR-mobile-e164", "IR", "+989121234567"},
	{"IR-mobile-persian", "IR", "۰۹۱۲۱۲۳۴۵۶۷"},
	{"IR-landline", "IR", "(021) 8888-1234"},
	{"IR-foreign", "IR", "+44 20 7946 0958"},
	{"IR-sip-uri", "IR", "\"Ali\" <sip:+989121234567@10.0.0.1>;tag=1"},
	{"IR-internal", "IR", "1000"},
	{"IR-withheld", "IR", "anonymous"},
	{"IR-invalid", "IR", "8888 1234"},
	{"IR-text-library-path", "IR", "Mobile: 0912 123 4567"},
	{"US-national", "US", "(415) 555-0123"},
	{"US-canada", "US", "(416) 555-0199"},
}

func BenchmarkParse(b *testing.B) {
	for _, in := range benchInputs {
		n := mustNew(b, in.region)
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n.Parse(in.raw)
			}
		})
	}
	// The same inputs through the library alone, Parse and IsValidNumber,
	// for comparison.
	for _, in := range benchInputs[:4] {
		b.Run("library/"+in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if pn, err := phonenumbers.Parse(in.raw, in.region); err == nil {
					phonenumbers.IsValidNumber(pn)
				}
			}
		})
	}
}

// BenchmarkParseImportRows parses the numbers of CSV rows on all
// processors, two numbers a row: rows/s is what an import can reach if
// nothing else costs.
func BenchmarkParseImportRows(b *testing.B) {
	n := mustNew(b, "IR")
	rows := [][2]string{
		{"0912 123 4567", "021-8888-1234"},
		{"+98 935 765 4321", ""},
		{"۰۹۱۹۸۷۶۵۴۳۲", "(026) 3456 7890"},
		{"0098 912 000 1122", "09381234567"},
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r := rows[i%len(rows)]
			n.Parse(r[0])
			n.Parse(r[1])
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
