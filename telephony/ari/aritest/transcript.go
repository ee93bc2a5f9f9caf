package aritest

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// The recordings are embedded so that tests in any package can replay them
// without knowing where this package lives on disk.
//
//go:embed testdata/*.jsonl
var recordings embed.FS

// RecordedApp is the Stasis application name used when the transcripts
// were recorded. The server accepts it as well as the names it is given.
const RecordedApp = "crm-bridge"

// Record is one line of a transcript: a REST request, its response, or an
// event Asterisk sent over the websocket.
type Record struct {
	Dir    string `json:"dir"` // request, response or event
	TMs    int64  `json:"t_ms"`
	Seq    int    `json:"seq"`
	ID     int    `json:"id"`
	Method string `json:"method,omitempty"`
	// Path is the request path including the /ari prefix.
	Path  string            `json:"path,omitempty"`
	URL   string            `json:"url,omitempty"`
	Kind  string            `json:"kind,omitempty"`
	Query map[string]string `json:"query,omitempty"`
	// Status and Body belong to responses; Body is also a request's body.
	Status int             `json:"status,omitempty"`
	Body   json.RawMessage `json:"body,omitempty"`
	// Type and Event belong to events: Event is the frame exactly as
	// Asterisk sent it.
	Type  string          `json:"type,omitempty"`
	Event json.RawMessage `json:"event,omitempty"`
}

// Frame is one websocket message from Asterisk.
type Frame struct {
	Seq  int
	Type string
	Data []byte
}

// Transcript is one recorded scenario.
type Transcript struct {
	Name    string
	Records []Record
}

// Names lists the embedded transcripts.
func Names() []string {
	entries, err := fs.Glob(recordings, "testdata/*.jsonl")
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(path.Base(e), ".jsonl"))
	}
	sort.Strings(names)
	return names
}

// Load returns the embedded transcript with the given name (for example
// "inbound_sip_call").
func Load(name string) (*Transcript, error) {
	f, err := recordings.Open("testdata/" + name + ".jsonl")
	if err != nil {
		return nil, fmt.Errorf("aritest: transcript %q: %w", name, err)
	}
	defer f.Close()
	return Parse(name, f)
}

// Parse reads a transcript in the recorder's JSON-lines format.
func Parse(name string, r io.Reader) (*Transcript, error) {
	t := &Transcript{Name: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 8<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, fmt.Errorf("aritest: %s line %d: %w", name, line, err)
		}
		t.Records = append(t.Records, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("aritest: %s: %w", name, err)
	}
	return t, nil
}

// Frames returns the events of the transcript, in the order Asterisk sent
// them.
func (t *Transcript) Frames() []Frame {
	var out []Frame
	for _, r := range t.Records {
		if r.Dir == "event" && len(r.Event) > 0 {
			out = append(out, Frame{Seq: r.Seq, Type: r.Type, Data: []byte(r.Event)})
		}
	}
	return out
}

// FramesUntil returns the events with Seq < seq, and FramesFrom those with
// Seq >= seq: the two halves of a scenario cut at one point.
func (t *Transcript) FramesUntil(seq int) []Frame {
	var out []Frame
	for _, f := range t.Frames() {
		if f.Seq < seq {
			out = append(out, f)
		}
	}
	return out
}

// FramesFrom returns the events with Seq >= seq.
func (t *Transcript) FramesFrom(seq int) []Frame {
	var out []Frame
	for _, f := range t.Frames() {
		if f.Seq >= seq {
			out = append(out, f)
		}
	}
	return out
}

// Exchange is a recorded REST request with its response.
type Exchange struct {
	Method string
	Path   string // with the /ari prefix
	Query  map[string]string
	Status int
	Body   json.RawMessage
}

// Exchanges pairs each recorded REST request with its response. The
// websocket upgrade is left out.
func (t *Transcript) Exchanges() []Exchange {
	reqs := map[int]Record{}
	var out []Exchange
	for _, r := range t.Records {
		if r.Kind == "websocket-upgrade" {
			continue
		}
		switch r.Dir {
		case "request":
			reqs[r.ID] = r
		case "response":
			q, ok := reqs[r.ID]
			if !ok {
				continue
			}
			out = append(out, Exchange{
				Method: q.Method, Path: q.Path, Query: q.Query,
				Status: r.Status, Body: r.Body,
			})
		}
	}
	return out
}
