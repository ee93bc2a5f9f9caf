// Package phone reads caller IDs and stored phone numbers into one canonical
// form, so that every CRM store compares numbers the same way.
//
// # Forms
//
// A valid number is kept in E.164 ("+989121234567"): one spelling per
// number whatever way it was written — "0912 123 4567", "+98 912 123 4567",
// "0098-912-123-4567", Persian "۰۹۱۲۱۲۳۴۵۶۷" or Arabic-Indic digits, the
// percent-encoded user of a SIP URI — so an exact match is a string
// comparison on an index. The national significant
// number (no trunk prefix, no country code) is kept beside it.
//
// HasCountryCode records whether the input carried the country explicitly
// ('+', or the default region's international prefix such as "00" or
// "011"). A number stored without one was assumed to be of the default
// region; it may in truth belong to another country, so stores also match
// such numbers on their national significant number alone, with lower
// confidence than an exact E.164 match. Digits that merely begin with the
// default region's country code ("982188881234" in Iran) are read as the
// library reads them — as carrying that code when the whole is too long or
// not plausible as a national number and the rest is — but HasCountryCode
// stays false, since no prefix said so.
//
// # Classes
//
//   - Valid: the numbering-plan library (github.com/nyaruka/phonenumbers)
//     says the number is valid. Its Parse accepts many strings that are not
//     numbers, so validity is always checked, never inferred from a parse.
//   - Withheld: empty or blank input, input with neither digits nor
//     letters, and the words networks and PBXs send instead of a hidden
//     number ("anonymous", "unknown", "restricted", "private",
//     "unavailable", "withheld", "<unknown>", "sip:anonymous@anonymous.invalid"
//     and a few more, in any case).
//   - Internal: digits only, no '+', at most Options.InternalDigits digits
//     (6 by default): the caller is a PBX extension. This is decided on
//     length before validity, because the library accepts some short digit
//     strings as subscriber numbers (six-digit "11xxxx" in Iran) that on a
//     PBX are extensions. Text such as "agent1000" is not internal.
//   - Invalid: everything else, including text without digits that is not a
//     withheld word. National keeps the digits found, so a stored number
//     that is not valid can still be matched on its last digits.
//
// # Extensions
//
// "x12", "ext 12", "ext. 12", "extn 12", "extension 12", ";ext=12", the
// Persian "داخلی 12" and "#12" after the number all give Ext "12". A '#'
// that ends the number or the extension is taken as the DTMF terminator and
// dropped. A '#' or '*' before the number is not an extension: such feature
// codes are left to the library, which finds them invalid.
//
// # Input it refuses to read
//
// SIP and tel: URIs and `"Name" <uri>` forms are first reduced to their user
// part. Input longer than 256 bytes after trimming, or with more than 32
// digits in all, is Invalid without parsing and its National is empty. Input
// with invalid UTF-8 or control characters is Invalid (Withheld when it has
// neither digits nor letters) and never reaches the library; National keeps
// its digits. Text the library would have to read is handed to it only up to
// 96 bytes, since its patterns are slow on long input full of letters.
//
// # Speed
//
// A clean number — digits with the usual punctuation, an optional '+' and
// extension — is read without the library's Parse: the package repeats the
// library's steps on the bare digit string with the same metadata and the
// same regular expressions, compiled once, then asks the library whether the
// result is valid. Anything else goes through the library's Parse. Tests
// check that both readings agree.
package phone
