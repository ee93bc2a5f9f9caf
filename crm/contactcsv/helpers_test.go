package contactcsv_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/contactcsv"
	"github.com/tamas-cc/tamas/crm/phone"
	"github.com/tamas-cc/tamas/crm/sqlite/sqlitetest"
	"go.uber.org/goleak"
)

// TestMain checks that no import leaves its parsing goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newDir returns a directory over a fresh SQLite store in a temp dir.
func newDir(t testing.TB) *crm.Directory {
	t.Helper()
	norm, err := phone.New("IR")
	if err != nil {
		t.Fatal(err)
	}
	return crm.NewDirectory(sqlitetest.New(t), norm)
}

// contacts returns every live contact of d.
func contacts(t testing.TB, d *crm.Directory) []crm.Contact {
	t.Helper()
	var out []crm.Contact
	if err := crm.EachContact(testCtx(t), d.Store(), func(c *crm.Contact) error {
		out = append(out, *c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// byName finds a contact by display name.
func byName(t testing.TB, list []crm.Contact, name string) crm.Contact {
	t.Helper()
	for _, c := range list {
		if c.DisplayName() == name {
			return c
		}
	}
	t.Fatalf("no contact named %q among %d", name, len(list))
	return crm.Contact{}
}

func importString(t testing.TB, d *crm.Directory, in string, opts contactcsv.Options) (contactcsv.Summary, error) {
	t.Helper()
	return contactcsv.Import(testCtx(t), d, strings.NewReader(in), opts)
}

// mustImport imports and fails the test on any error or failed row.
func mustImport(t testing.TB, d *crm.Directory, in string) contactcsv.Summary {
	t.Helper()
	sum, err := importString(t, d, in, contactcsv.Options{})
	if err != nil {
		t.Fatalf("import: %v (errors %v)", err, sum.Errors)
	}
	return sum
}

func create(t testing.TB, d *crm.Directory, c *crm.Contact) *crm.Contact {
	t.Helper()
	if err := d.Create(testCtx(t), c); err != nil {
		t.Fatalf("create %s: %v", c.DisplayName(), err)
	}
	return c
}
