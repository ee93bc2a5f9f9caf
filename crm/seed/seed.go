// Package seed makes realistic synthetic contacts for demos and benchmarks:
// English and Persian names, Iranian and US numbers in the formats people
// actually type, organizations whose main line some of their people share,
// and numbers stored without a country code. Contact i is a pure function of
// (seed, i), so a benchmark can regenerate the number of any seeded contact
// without reading the database.
package seed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/tamas-cc/tamas/crm"
)

// OrgEvery makes every OrgEvery-th contact an organization; the people that
// follow it may belong to it.
const OrgEvery = 8

// Generator produces contact i on demand.
type Generator struct {
	seed uint64
}

// New returns a generator; the same seed gives the same contacts.
func New(seed uint64) *Generator { return &Generator{seed: seed} }

func (g *Generator) rng(i int) *rand.Rand {
	return rand.New(rand.NewPCG(g.seed, uint64(i)*0x9E3779B97F4A7C15+1))
}

// IsOrganization reports whether contact i is an organization.
func IsOrganization(i int) bool { return i%OrgEvery == 0 }

// OrgOf returns the index of the organization person i may belong to.
func OrgOf(i int) int { return i / OrgEvery * OrgEvery }

// Contact returns contact i. A person's Organizations hold the index of its
// organization (OrgRef.ID = -(index+1)) until Seed resolves it to an ID.
func (g *Generator) Contact(i int) *crm.Contact {
	r := g.rng(i)
	persian := r.IntN(100) < 55
	c := &crm.Contact{Status: pick(r, statuses), Owner: fmt.Sprintf("agent%d", 1000+r.IntN(20))}
	if IsOrganization(i) {
		c.Kind = crm.KindOrganization
		if persian {
			c.Name = pick(r, faOrgWords) + " " + pick(r, faOrgKinds) + " " + pick(r, faLast)
		} else {
			c.Name = pick(r, enLast) + " " + pick(r, enOrgKinds)
		}
		c.Name = fmt.Sprintf("%s %d", c.Name, i/OrgEvery)
		c.Phones = []crm.Phone{{Label: crm.LabelMain, Raw: g.MainNumber(i)}}
		c.Tags = tagsFor(r, 2)
		return c
	}
	c.Kind = crm.KindPerson
	if persian {
		c.FirstName, c.LastName = pick(r, faFirst), pick(r, faLast)
	} else {
		c.FirstName, c.LastName = pick(r, enFirst), pick(r, enLast)
	}
	c.Phones = []crm.Phone{{Label: crm.LabelMobile, Raw: g.MobileNumber(i)}}
	if r.IntN(100) < 50 {
		c.Organizations = []crm.OrgRef{{ID: -int64(OrgOf(i) + 1)}}
		if r.IntN(100) < 40 {
			// Reached through the company switchboard: the same number as
			// the organization's main line.
			c.Phones = append(c.Phones, crm.Phone{Label: crm.LabelWork, Raw: g.MainNumber(OrgOf(i))})
		}
	}
	if r.IntN(100) < 60 {
		c.Emails = []crm.Email{{Label: "work", Address: fmt.Sprintf("c%d@example.com", i)}}
	}
	c.Tags = tagsFor(r, 3)
	return c
}

// MobileNumber is person i's own number, unique among seeded contacts, as a
// person would have typed it: mostly Iranian mobiles in varied formats, some
// US numbers, a few of those stored without their country code.
func (g *Generator) MobileNumber(i int) string {
	r := g.rng(i ^ 0x5eed)
	// Spread i over the 10^7 subscriber numbers of a prefix so neighbours
	// do not look sequential; 7 digits × 8 prefixes covers 80M contacts.
	if r.IntN(100) < 12 {
		area := usAreas[i%len(usAreas)]
		sub := scatter(uint64(i/len(usAreas)), 8_000_000)
		ex, line := 200+sub/10000, sub%10000 // exchanges 200–999
		if r.IntN(100) < 30 {
			return fmt.Sprintf("%s %03d %04d", area, ex, line) // no country code
		}
		return fmt.Sprintf("+1 (%s) %03d-%04d", area, ex, line)
	}
	sub := scatter(uint64(i/len(irMobile)), 10_000_000)
	num := fmt.Sprintf("%s%07d", irMobile[i%len(irMobile)], sub)
	switch r.IntN(10) {
	case 0:
		return "+98 " + num[1:4] + " " + num[4:7] + " " + num[7:]
	case 1:
		return "0098" + num[1:]
	case 2:
		return toPersianDigits(num[:4] + " " + num[4:7] + " " + num[7:])
	case 3:
		return num[:4] + "-" + num[4:7] + "-" + num[7:]
	default:
		return num[:4] + " " + num[4:7] + " " + num[7:]
	}
}

// MainNumber is organization i's switchboard: a Tehran landline.
func (g *Generator) MainNumber(i int) string {
	sub := scatter(uint64(i/OrgEvery), 90_000_000) + 10_000_000
	s := fmt.Sprintf("%08d", sub)
	return "021 " + s[:4] + " " + s[4:]
}

// scatter maps i in [0,m) to a distinct value in [0,m): a multiplicative
// permutation with a multiplier coprime to m.
func scatter(i, m uint64) uint64 { return (i*7_919_777 + 12_345) % m }

func toPersianDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			r = '۰' + (r - '0')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func tagsFor(r *rand.Rand, max int) []string {
	n := r.IntN(max + 1)
	var out []string
	for range n {
		out = append(out, pick(r, tags))
	}
	return out
}

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

// Stats counts what Seed wrote.
type Stats struct {
	People, Organizations int
}

// Seed writes contacts [0, n) through dir, in transactions of batch
// contacts, and calls progress (if not nil) after each.
func Seed(ctx context.Context, dir *crm.Directory, g *Generator, n, batch int, progress func(done int)) (Stats, error) {
	var st Stats
	if batch <= 0 {
		batch = 20_000
	}
	orgID := map[int]int64{}
	for start := 0; start < n; start += batch {
		tx, err := dir.Store().BeginImport(ctx)
		if err != nil {
			return st, err
		}
		end := min(start+batch, n)
		for i := start; i < end; i++ {
			c := g.Contact(i)
			if len(c.Organizations) == 1 {
				id, ok := orgID[OrgOf(i)]
				if !ok {
					c.Organizations = nil // its organization was seeded in an earlier run
				} else {
					c.Organizations[0].ID = id
				}
			}
			if err := dir.Normalize(c); err != nil {
				tx.Rollback()
				return st, fmt.Errorf("seed contact %d: %w", i, err)
			}
			if err := tx.CreateContact(ctx, c); err != nil {
				tx.Rollback()
				return st, fmt.Errorf("seed contact %d: %w", i, err)
			}
			if c.Kind == crm.KindOrganization {
				clear(orgID) // only the current block's organization is referenced
				orgID[i] = c.ID
				st.Organizations++
			} else {
				st.People++
			}
		}
		if err := tx.Commit(); err != nil {
			return st, err
		}
		if progress != nil {
			progress(end)
		}
	}
	return st, nil
}
