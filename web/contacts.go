package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/tamas-cc/tamas/crm"
	"github.com/tamas-cc/tamas/crm/phone"
)

// contactInput is what a client may write: identity and timestamps are the
// server's.
type contactInput struct {
	Kind          crm.Kind        `json:"kind"`
	FirstName     string          `json:"first_name"`
	LastName      string          `json:"last_name"`
	Name          string          `json:"name"`
	Organizations []int64         `json:"organization_ids"`
	Status        crm.Status      `json:"status"`
	Owner         string          `json:"owner"`
	Tags          []string        `json:"tags"`
	Phones        []phoneInput    `json:"phones"`
	Emails        []crm.Email     `json:"emails"`
	Custom        json.RawMessage `json:"custom"`
	Notes         string          `json:"notes"`
}

type phoneInput struct {
	Label  crm.PhoneLabel `json:"label"`
	Number string         `json:"number"`
}

func (in *contactInput) contact() *crm.Contact {
	c := &crm.Contact{Kind: in.Kind, FirstName: in.FirstName, LastName: in.LastName, Name: in.Name,
		Status: in.Status, Owner: in.Owner, Tags: in.Tags, Emails: in.Emails, Custom: in.Custom, Notes: in.Notes}
	for _, id := range in.Organizations {
		c.Organizations = append(c.Organizations, crm.OrgRef{ID: id})
	}
	for _, p := range in.Phones {
		c.Phones = append(c.Phones, crm.Phone{Label: p.Label, Raw: p.Number})
	}
	return c
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &apiError{Status: http.StatusBadRequest, Code: "invalid", Field: "id", Message: "id must be a positive integer"}
	}
	return id, nil
}

func (s *Server) createContact(w http.ResponseWriter, r *http.Request) error {
	return s.create(w, r, "")
}

func (s *Server) createOrganization(w http.ResponseWriter, r *http.Request) error {
	return s.create(w, r, crm.KindOrganization)
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, kind crm.Kind) error {
	var in contactInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	if kind != "" {
		if in.Kind != "" && in.Kind != kind {
			return &apiError{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: "kind", Message: "kind must be " + string(kind)}
		}
		in.Kind = kind
	}
	c := in.contact()
	if err := s.dir.Create(r.Context(), c); err != nil {
		return err
	}
	saved, err := s.dir.Store().GetContact(r.Context(), c.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/contacts/"+strconv.FormatInt(c.ID, 10))
	writeJSON(w, http.StatusCreated, saved)
	return nil
}

func (s *Server) getContact(w http.ResponseWriter, r *http.Request) error {
	return s.get(w, r, "")
}

func (s *Server) getOrganization(w http.ResponseWriter, r *http.Request) error {
	return s.get(w, r, crm.KindOrganization)
}

// get serves one contact; with kind set, a contact of another kind is not
// found there.
func (s *Server) get(w http.ResponseWriter, r *http.Request, kind crm.Kind) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := s.dir.Store().GetContact(r.Context(), id)
	if err != nil {
		return err
	}
	if kind != "" && c.Kind != kind {
		return crm.ErrNotFound
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) updateContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in contactInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	c := in.contact()
	c.ID = id
	if err := s.dir.Update(r.Context(), c); err != nil {
		return err
	}
	saved, err := s.dir.Store().GetContact(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, saved)
	return nil
}

func (s *Server) deleteContact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.dir.Store().DeleteContact(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type listResponse struct {
	Contacts []crm.Contact `json:"contacts"`
	// Next is the after= value for the following page; absent on the last.
	Next string `json:"next,omitempty"`
}

func (s *Server) listContacts(w http.ResponseWriter, r *http.Request) error {
	return s.list(w, r, crm.ContactQuery{})
}

func (s *Server) listOrganizations(w http.ResponseWriter, r *http.Request) error {
	return s.list(w, r, crm.ContactQuery{Kind: crm.KindOrganization})
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	return s.list(w, r, crm.ContactQuery{OrganizationID: id})
}

// list serves GET …?q=name-prefix&phone=number&tag=&status=&kind=&limit=&after=.
func (s *Server) list(w http.ResponseWriter, r *http.Request, q crm.ContactQuery) error {
	v := r.URL.Query()
	if n := v.Get("phone"); n != "" {
		return s.listByPhone(w, r, n)
	}
	q.NamePrefix = v.Get("q")
	if len(q.NamePrefix) > crm.MaxNameLen {
		return &apiError{Status: http.StatusBadRequest, Code: "invalid", Field: "q", Message: "search text is too long"}
	}
	if k := v.Get("kind"); k != "" && q.Kind == "" {
		if q.Kind = crm.Kind(k); !q.Kind.Valid() {
			return &apiError{Status: http.StatusBadRequest, Code: "invalid", Field: "kind", Message: "kind must be person or organization"}
		}
	}
	if st := v.Get("status"); st != "" {
		if q.Status = crm.Status(st); !q.Status.Valid() {
			return &apiError{Status: http.StatusBadRequest, Code: "invalid", Field: "status", Message: "unknown status"}
		}
	}
	q.Tag = v.Get("tag")
	for _, p := range []struct {
		name string
		dst  *int64
		max  int64
	}{{"after", &q.AfterID, 1 << 62}, {"limit", new(int64), crm.MaxListLimit}} {
		raw := v.Get(p.name)
		if raw == "" {
			continue
		}
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 || n > p.max {
			return &apiError{Status: http.StatusBadRequest, Code: "invalid", Field: p.name,
				Message: p.name + " must be an integer from 0 to " + strconv.FormatInt(p.max, 10)}
		}
		if p.name == "limit" {
			q.Limit = int(n)
		} else {
			*p.dst = n
		}
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	list, err := s.dir.Store().ListContacts(r.Context(), q)
	if err != nil {
		return err
	}
	resp := listResponse{Contacts: list}
	if resp.Contacts == nil {
		resp.Contacts = []crm.Contact{}
	}
	if len(list) == q.Limit {
		resp.Next = strconv.FormatInt(list[len(list)-1].ID, 10)
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// listByPhone answers a phone search with full contacts, in lookup order.
func (s *Server) listByPhone(w http.ResponseWriter, r *http.Request, number string) error {
	res, err := s.lookupNumber(r, number)
	if err != nil {
		return err
	}
	out := listResponse{Contacts: []crm.Contact{}}
	for _, m := range res.Matches {
		c, err := s.dir.Store().GetContact(r.Context(), m.Contact.ID)
		if err != nil {
			continue // deleted since the lookup
		}
		out.Contacts = append(out.Contacts, *c)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// numberView is how the API shows a caller's number.
type numberView struct {
	Raw           string `json:"raw"`
	Class         string `json:"class"`
	E164          string `json:"e164,omitempty"`
	National      string `json:"national,omitempty"`
	International string `json:"international,omitempty"`
	Region        string `json:"region,omitempty"`
	Ext           string `json:"ext,omitempty"`
}

type lookupResponse struct {
	Number    numberView  `json:"number"`
	Matches   []crm.Match `json:"matches"`
	ElapsedUS int64       `json:"elapsed_us"`
}

const maxCallerIDLen = 256

func (s *Server) lookupNumber(r *http.Request, number string) (crm.LookupResult, error) {
	if len(number) > maxCallerIDLen {
		return crm.LookupResult{}, &apiError{Status: http.StatusBadRequest, Code: "invalid", Field: "number",
			Message: "number is longer than 256 bytes"}
	}
	start := time.Now()
	res, err := s.dir.Lookup(r.Context(), number)
	outcome := "matched"
	switch {
	case err != nil:
		outcome = "error"
	case len(res.Matches) == 0:
		outcome = "unmatched"
	}
	s.m.lookups.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
	return res, err
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) error {
	number := r.URL.Query().Get("number")
	start := time.Now()
	res, err := s.lookupNumber(r, number)
	if err != nil {
		return err
	}
	n := res.Number
	view := numberView{Raw: n.Raw, Class: n.Class.String(), Region: n.Region, Ext: n.Ext}
	if n.Class == phone.Valid {
		view.E164, view.National, view.International = n.E164, n.FormatNational(), n.FormatInternational()
	}
	resp := lookupResponse{Number: view, Matches: res.Matches, ElapsedUS: time.Since(start).Microseconds()}
	if resp.Matches == nil {
		resp.Matches = []crm.Match{}
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}
