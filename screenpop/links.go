package screenpop

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// LinkTemplate is a link shown with each match, such as the contact in an
// external CRM: "https://crm.example.com/contacts/{contact_id}". The
// placeholders {contact_id}, {e164} and {number} are filled in escaped.
type LinkTemplate struct {
	Label string `yaml:"label"`
	URL   string `yaml:"url"`
}

// Validate checks the template is an absolute http(s) URL, so that no
// caller-controlled value can turn it into a script.
func (t LinkTemplate) Validate() error {
	if t.Label == "" {
		return fmt.Errorf("link: label is empty")
	}
	u, err := url.Parse(strings.NewReplacer("{contact_id}", "1", "{e164}", "1", "{number}", "1").Replace(t.URL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("link %q: url must be an absolute http(s) URL", t.Label)
	}
	return nil
}

func expandLinks(ts []LinkTemplate, contactID int64, c CallInfo) []Link {
	if len(ts) == 0 {
		return nil
	}
	r := strings.NewReplacer(
		"{contact_id}", strconv.FormatInt(contactID, 10),
		"{e164}", url.QueryEscape(c.E164),
		"{number}", url.QueryEscape(c.Number),
	)
	out := make([]Link, 0, len(ts))
	for _, t := range ts {
		out = append(out, Link{Label: t.Label, URL: r.Replace(t.URL)})
	}
	return out
}
