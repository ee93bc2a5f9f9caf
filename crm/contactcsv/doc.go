// Package contactcsv imports contacts from CSV files and exports them to
// CSV, streaming both ways so a million-row file needs no more memory than a
// thousand-row one.
//
// # Import
//
// The first record is the header. Column names are matched loosely: case,
// spaces, '_', '-' and '.' do not matter, Persian and Arabic letter variants
// are folded, and English and Persian names are known ("first name",
// "given name", "نام"; "last name", "surname", "نام خانوادگی"; "company",
// "شرکت"; "mobile", "موبایل" …). Numbered columns ("phone1", "Phone 2",
// "email3") and their labels ("phone1_label") pair up by number. Every other
// column becomes a custom field named by its header. A caller can map
// columns explicitly with [Options.Mapping]. A header that cannot work (no
// name column, the same column twice, two columns for one field, a label
// column without its phone column) is refused before any row is read.
//
// Decisions the file format forces:
//
//   - A person given only a full name ("name", "full name") has it split at
//     the last space: "Mary Ann Smith" becomes first name "Mary Ann", last
//     name "Smith". For an organization, "name" is its name.
//   - A file with an organization column but no name column is a list of
//     organizations: each row is one, named by that column.
//   - A person's organization cell may name several organizations separated
//     by ';'. Each is found by exact name or created once, then linked.
//   - Tags are separated by ';', '|', ',' or '،' inside the cell.
//   - An id column, as Export writes, is ignored: imported contacts get
//     new IDs. Empty fields past the end of the header, as spreadsheets
//     sometimes leave, are ignored too; any other row whose field count
//     differs from the header's is a row error.
//   - A generic phone column gives people mobile numbers and organizations
//     main lines unless a label column says otherwise.
//   - A row is a duplicate, skipped and reported but not an error, when one
//     of its valid numbers already belongs to a live contact of the same
//     kind, in the store or earlier in the file. For a person, work, main
//     and fax lines are not compared when the row has a personal number
//     (mobile, home, other): colleagues share a company switchboard, and
//     they are not one another's duplicates. An organization row is also
//     a duplicate when an organization with exactly its name exists: names
//     are how people are linked to organizations, so two of one name would
//     make the link ambiguous. Rows without a valid number are never
//     duplicates.
//   - By default the import is one transaction: if any row fails, every
//     row error is reported and nothing is written. With [Options.Partial]
//     the good rows are kept, committed every [Options.BatchRows] rows so
//     other writers are not shut out of the store for the whole import.
//
// Input is UTF-8, with or without a byte-order mark; a UTF-16 file is
// refused with a message saying so. A record longer than
// [Options.MaxRecordBytes] is skipped and reported without being buffered:
// the limit is applied to the byte stream, before encoding/csv sees it, by
// following the same quoting rules encoding/csv does.
//
// # Export
//
// [Export] writes every live contact with a fixed header (see [Header]):
// organizations first, then people, so that reading the file back creates
// each organization from its own row before any person links to it. The
// file starts with a UTF-8 byte-order mark, without which spreadsheets read
// it in the local code page and garble Persian text. A
// contact with more numbers or addresses than the fixed columns hold keeps
// the rest, as JSON, in more_phones and more_emails. An export read back by
// [Import] gives the same contacts, except that tags and organization names
// containing the separators above are split.
//
// Cells that a spreadsheet would run as a formula (starting with '=', '+',
// '-', '@', tab or carriage return) are written with a leading apostrophe,
// as is a cell that itself starts with an apostrophe, so the guard can be
// undone exactly: Import strips an apostrophe that precedes one of those
// characters or another apostrophe. Phone cells made only of digits, spaces and + - ( ) . / are
// written as they are: such a cell can name no function and no other cell,
// so at worst a spreadsheet shows it as a number, and the leading '+' that
// marks a country code stays readable to every other program.
package contactcsv
