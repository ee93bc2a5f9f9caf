package crm

import "strings"

// searchFold maps letters that Persian keyboards and Arabic ones type
// differently (ي/ی, ك/ک, ة/ه) and Arabic-Indic digits onto one form, so a
// name typed on either keyboard finds the same contact.
var searchFold = strings.NewReplacer(
	"ي", "ی", "ى", "ی", "ك", "ک", "ة", "ه", "\u200c", " ",
	"۰", "0", "۱", "1", "۲", "2", "۳", "3", "۴", "4", "۵", "5", "۶", "6", "۷", "7", "۸", "8", "۹", "9",
	"٠", "0", "١", "1", "٢", "2", "٣", "3", "٤", "4", "٥", "5", "٦", "6", "٧", "7", "٨", "8", "٩", "9",
)

// SearchKey is the form names are indexed and searched in: folded as above
// and lower-cased. Stores compare prefixes of it byte-wise.
func SearchKey(s string) string {
	return strings.ToLower(searchFold.Replace(strings.TrimSpace(s)))
}

// PrefixUpperBound returns a string greater than every string that starts
// with prefix, for index range scans (key >= prefix AND key < bound).
func PrefixUpperBound(prefix string) string { return prefix + "\U0010FFFF" }
