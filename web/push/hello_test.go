package push

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

const testMaxFrame = 4 << 10 // the default Options.MaxFrame

func TestParseHello(t *testing.T) {
	for _, c := range []struct {
		typ  int
		data string
		err  error
	}{
		{websocket.TextMessage, `{"type":"hello","resume":[]}`, nil},
		{websocket.TextMessage, `{"type":"hello","resume":[{"channel":"user:ali","epoch":"e1","seq":7}]}`, nil},
		{websocket.TextMessage, `{"type":"hello"}`, nil},
		{websocket.BinaryMessage, `{"type":"hello"}`, errHelloMalformed},
		{websocket.TextMessage, `<script>`, errHelloMalformed},
		{websocket.TextMessage, `{"type":"hello","resume":[{"seq":-1}]}`, errHelloMalformed},
		{websocket.TextMessage, `{"type":"hello","resume":[{"seq":1.5}]}`, errHelloMalformed},
		{websocket.TextMessage, `{"type":"hello","resume":{}}`, errHelloMalformed},
		{websocket.TextMessage, `{"type":"pop"}`, errNotHello},
		{websocket.TextMessage, `null`, errNotHello},
		{websocket.TextMessage, `{"type":"hello","x":"` + strings.Repeat("a", testMaxFrame) + `"}`, errHelloTooBig},
	} {
		hi, err := parseHello(c.typ, []byte(c.data), testMaxFrame)
		if !errors.Is(err, c.err) {
			t.Errorf("%.40q: error %v, want %v", c.data, err, c.err)
		}
		if err != nil && !reflect.DeepEqual(hi, hello{}) {
			t.Errorf("%.40q: refused, yet returned %+v", c.data, hi)
		}
	}
}

// FuzzParseHello: no first frame makes parsing panic; a frame is refused
// only as too big, malformed or not a hello; and what is accepted is a
// hello, within the size limit, that reads back the same once re-encoded.
func FuzzParseHello(f *testing.F) {
	for _, s := range []string{
		`{"type":"hello","resume":[]}`,
		`{"type":"hello","resume":[{"channel":"user:ali","epoch":"1764000000000-0","seq":42},` +
			`{"channel":"role:supervisor","epoch":"1764000000000-0","seq":3}]}`,
		`{"type":"hello","resume":[{"channel":"user:ali","epoch":"","seq":0}]}`,
		`{"type":"hello","resume":[{"channel":"user:ali","epoch":"e","seq":18446744073709551615}]}`,
		`{"type":"hello","resume":[{"channel":"user:ali","epoch":"e","seq":18446744073709551616}]}`,
		`{"type":"hello","resume":[{"channel":"\ud800","epoch":"\u0000","seq":1e3}]}`,
		`{"type":"hello","resume":null,"type":"ping"}`,
		`{"TYPE":"hello","Resume":[{"Channel":"user:ali"}]}`,
		"{\"type\":\"hello\",\"resume\":[{\"channel\":\"\xff\xfe\"}]}",
		`{"type":"hello","resume":[{"channel":"` + strings.Repeat("\x93", 200) + "\",\"epoch\":\"e\xf2\"}]}",
		`{"type":"ping"}`,
		`[{"type":"hello"}]`,
		`"hello"`,
		``,
		`{"type":"hello","resume":[` + strings.Repeat(`{"channel":"c","epoch":"e","seq":1},`, 120) + `{}]}`,
	} {
		f.Add(uint8(websocket.TextMessage), []byte(s))
	}
	f.Add(uint8(websocket.BinaryMessage), []byte(`{"type":"hello"}`))
	f.Fuzz(func(t *testing.T, typ uint8, data []byte) {
		hi, err := parseHello(int(typ), data, testMaxFrame)
		if err != nil {
			if !errors.Is(err, errHelloTooBig) && !errors.Is(err, errHelloMalformed) && !errors.Is(err, errNotHello) {
				t.Fatalf("unexpected error %v", err)
			}
			if !reflect.DeepEqual(hi, hello{}) {
				t.Fatalf("refused with %v, yet returned %+v", err, hi)
			}
			return
		}
		if len(data) > testMaxFrame || int(typ) != websocket.TextMessage || !json.Valid(data) {
			t.Fatalf("accepted a frame that is too big, binary or not JSON: type %d, %d bytes", typ, len(data))
		}
		if hi.Type != "hello" {
			t.Fatalf("accepted type %q", hi.Type)
		}
		for _, rp := range hi.Resume {
			if !utf8.ValidString(rp.Channel) || !utf8.ValidString(rp.Epoch) {
				t.Fatalf("invalid UTF-8 in %+v", rp)
			}
			// Every entry took bytes of the frame: the list is bounded by
			// it, three times over since a bad byte becomes U+FFFD.
			if len(rp.Channel)+len(rp.Epoch) > 3*len(data) {
				t.Fatalf("entry %+v longer than the frame", rp)
			}
		}
		if len(hi.Resume) > len(data)/2 {
			t.Fatalf("%d resume entries from %d bytes", len(hi.Resume), len(data))
		}
		again, err := json.Marshal(hi)
		if err != nil {
			t.Fatal(err)
		}
		back, err := parseHello(websocket.TextMessage, again, 1<<30)
		if err != nil || !reflect.DeepEqual(normal(back), normal(hi)) {
			t.Fatalf("re-encoded hello %s reads back as %+v, %v; want %+v", again, back, err, hi)
		}
	})
}

// normal treats an empty resume list and a missing one alike.
func normal(h hello) hello {
	if len(h.Resume) == 0 {
		h.Resume = nil
	}
	return h
}
