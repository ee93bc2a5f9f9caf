package ari

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tamas-cc/tamas/telephony"
)

// The wire types hold only the fields the adapter reads. One struct serves
// every event type so that a frame is decoded in a single pass.

type wireCallerID struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

type wireDialplan struct {
	Context string `json:"context"`
	Exten   string `json:"exten"`
	AppName string `json:"app_name"`
	AppData string `json:"app_data"`
}

type wireChannel struct {
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	State        string       `json:"state"`
	Caller       wireCallerID `json:"caller"`
	Dialplan     wireDialplan `json:"dialplan"`
	CreationTime string       `json:"creationtime"`
}

type wireBridge struct {
	ID         string   `json:"id"`
	BridgeType string   `json:"bridge_type"`
	Channels   []string `json:"channels"`
}

type wirePlayback struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	TargetURI string `json:"target_uri"`
}

type wireRecording struct {
	Name      string `json:"name"`
	Format    string `json:"format"`
	TargetURI string `json:"target_uri"`
}

type wireReferTo struct {
	RequestedDestination struct {
		Destination string `json:"destination"`
		ProtocolID  string `json:"protocol_id"`
	} `json:"requested_destination"`
	DestinationChannel *wireChannel `json:"destination_channel"`
	ConnectedChannel   *wireChannel `json:"connected_channel"`
}

type wireReferredBy struct {
	SourceChannel    *wireChannel `json:"source_channel"`
	ConnectedChannel *wireChannel `json:"connected_channel"`
}

type wireEvent struct {
	Type      string       `json:"type"`
	Timestamp string       `json:"timestamp"`
	Channel   *wireChannel `json:"channel"`
	// StasisStart
	Args []string `json:"args"`
	// ChannelDtmfReceived
	Digit string `json:"digit"`
	// ChannelHangupRequest, ChannelDestroyed
	Cause     int  `json:"cause"`
	TechCause int  `json:"tech_cause"`
	Soft      bool `json:"soft"`
	// ChannelEnteredBridge, ChannelLeftBridge, BridgeDestroyed
	Bridge *wireBridge `json:"bridge"`
	// PlaybackFinished
	Playback *wirePlayback `json:"playback"`
	// RecordingStarted
	Recording *wireRecording `json:"recording"`
	// ChannelTransfer (Asterisk 22: a SIP REFER handled by the application)
	State      string          `json:"state"`
	ReferTo    *wireReferTo    `json:"refer_to"`
	ReferredBy *wireReferredBy `json:"referred_by"`
	// BridgeBlindTransfer, BridgeAttendedTransfer
	Result         string       `json:"result"`
	Exten          string       `json:"exten"`
	Transferee     *wireChannel `json:"transferee"`
	TransferTarget *wireChannel `json:"transfer_target"`
}

type wireApplication struct {
	Name       string   `json:"name"`
	ChannelIDs []string `json:"channel_ids"`
}

type wireInfo struct {
	System struct {
		Version  string `json:"version"`
		EntityID string `json:"entity_id"`
	} `json:"system"`
	Status struct {
		StartupTime string `json:"startup_time"`
	} `json:"status"`
}

// timeLayout is how ARI writes times: no colon in the zone offset, so
// RFC 3339 parsing fails on it.
const timeLayout = "2006-01-02T15:04:05.000-0700"

func parseTime(s string, fallback time.Time) time.Time {
	if s == "" {
		return fallback
	}
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return fallback
		}
	}
	return t
}

// Q.850 cause names, in the spelling Asterisk's causes use (lower case).
var causeNames = map[int]string{
	1: "unallocated_number", 2: "no_route_transit_net", 3: "no_route_destination",
	6: "channel_unacceptable", 7: "call_awarded_delivered", 16: "normal_clearing",
	17: "user_busy", 18: "no_user_response", 19: "no_answer", 20: "subscriber_absent",
	21: "call_rejected", 22: "number_changed", 23: "redirected_to_new_destination",
	26: "answered_elsewhere", 27: "destination_out_of_order", 28: "invalid_number_format",
	29: "facility_rejected", 30: "response_to_status_enquiry", 31: "normal_unspecified",
	34: "normal_circuit_congestion", 38: "network_out_of_order", 41: "normal_temporary_failure",
	42: "switch_congestion", 43: "access_info_discarded", 44: "requested_chan_unavail",
	50: "facility_not_subscribed", 52: "outgoing_call_barred", 54: "incoming_call_barred",
	57: "bearercapability_notauth", 58: "bearercapability_notavail", 65: "bearercapability_notimpl",
	66: "chan_not_implemented", 69: "facility_not_implemented", 81: "invalid_call_reference",
	88: "incompatible_destination", 95: "invalid_msg_unspecified", 96: "mandatory_ie_missing",
	97: "message_type_nonexist", 98: "wrong_message", 99: "ie_nonexist", 100: "invalid_ie_contents",
	101: "wrong_call_state", 102: "recovery_on_timer_expire", 103: "mandatory_ie_length_error",
	111: "protocol_error", 127: "interworking",
}

// Causes only the adapter assigns, beyond the Q.850 names and the
// telephony.Cause values.
const (
	// CauseLeftApplication: the channel left the Stasis application
	// without hanging up (sent on to dialplan or to another application).
	CauseLeftApplication = "left_application"
	CauseUnknown         = "unknown"
)

// causeName names a Q.850 cause; techCause is the channel driver's code
// (a SIP status for PJSIP).
func causeName(code, techCause int) string {
	if techCause == 487 {
		// SIP 487 Request Terminated: the caller cancelled while ringing.
		// Asterisk reports cause 127 (interworking) for it.
		return telephony.CauseOriginatorCancel
	}
	if n, ok := causeNames[code]; ok {
		return n
	}
	return CauseUnknown
}

// hangupReasons maps the causes Hangup accepts to ARI's reason values.
var hangupReasons = map[string]string{
	"":                            "normal",
	"normal":                      "normal",
	telephony.CauseNormalClearing: "normal",
	"busy":                        "busy",
	"user_busy":                   "busy",
	"congestion":                  "congestion",
	"normal_circuit_congestion":   "congestion",
	"switch_congestion":           "congestion",
	"no_answer":                   "no_answer",
	"timeout":                     "timeout",
	"rejected":                    "rejected",
	"call_rejected":               "rejected",
	"unallocated":                 "unallocated",
	"unallocated_number":          "unallocated",
	"normal_unspecified":          "normal_unspecified",
	"number_incomplete":           "number_incomplete",
	"invalid_number_format":       "number_incomplete",
	"codec_mismatch":              "codec_mismatch",
	"interworking":                "interworking",
	"failure":                     "failure",
	"answered_elsewhere":          "answered_elsewhere",
}

// reasonCodes gives the Q.850 code Asterisk uses for each ARI reason, so
// that Ended can report the cause that was asked for.
var reasonCodes = map[string]int{
	"normal": 16, "busy": 17, "congestion": 34, "no_answer": 19, "timeout": 18,
	"rejected": 21, "unallocated": 1, "normal_unspecified": 31, "number_incomplete": 28,
	"codec_mismatch": 58, "interworking": 127, "failure": 38, "answered_elsewhere": 26,
}

// hangupArgs turns a Hangup cause (a name, or a Q.850 number) into the
// query parameter ARI expects and the cause Ended will carry.
func hangupArgs(cause string) (param, value, name string, code int, ok bool) {
	cause = strings.ToLower(strings.TrimSpace(cause))
	if r, found := hangupReasons[cause]; found {
		code := reasonCodes[r]
		return "reason", r, causeName(code, 0), code, true
	}
	if n, err := strconv.Atoi(cause); err == nil && n > 0 && n < 128 {
		return "reason_code", cause, causeName(n, 0), n, true
	}
	return "", "", "", 0, false
}

// endpointOf strips the unique suffix from a channel name:
// "PJSIP/agent1000-00000006" → "PJSIP/agent1000",
// "Local/5000@ctx-00000002;1" → "Local/5000@ctx".
func endpointOf(name string) string {
	if i := strings.LastIndexByte(name, ';'); i > 0 {
		name = name[:i]
	}
	if i := strings.LastIndexByte(name, '-'); i > 0 && i < len(name)-1 && isHex(name[i+1:]) {
		name = name[:i]
	}
	return name
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// Limits on what is accepted as a caller's number and name, as for SIP:
// E.164 has at most 15 digits; the slack covers prefixes and SIP users.
const (
	maxNumberLen = 64  // bytes
	maxNameLen   = 100 // characters
	maxDNISLen   = 64  // bytes
)

// Identity problems, labels of tamas_ari_identity_problems_total.
const (
	problemInvalidUTF8   = "invalid_utf8"
	problemNumberTooLong = "number_too_long"
	problemNumberChars   = "number_invalid"
	problemNameTooLong   = "name_too_long"
	problemNameControl   = "name_control"
	problemNameMarkup    = "name_markup"
	problemNotNumeric    = "not_numeric"
)

type problem struct {
	field, kind, value string
}

// cleanNumber checks a caller number (or DNIS). A number that is too long
// or holds characters no number or SIP user has is dropped: it cannot be
// matched to anyone and may be an attack. Persian and Arabic-Indic digits
// are number characters (Asterisk passes a percent-encoded SIP user on
// decoded, and crm/phone reads them); invisible format characters such as
// a zero-width space or a directional mark, which right-to-left editors put
// into numbers, carry no meaning and are removed.
func cleanNumber(field, s string, maxLen int, probs []problem) (string, []problem) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", probs
	}
	if !utf8.ValidString(s) {
		return "", append(probs, problem{field, problemInvalidUTF8, short(s)})
	}
	if strings.ContainsFunc(s, isFormat) {
		s = strings.TrimSpace(strings.Map(func(r rune) rune {
			if isFormat(r) {
				return -1
			}
			return r
		}, s))
		if s == "" {
			return "", probs
		}
	}
	if len(s) > maxLen {
		return "", append(probs, problem{field, problemNumberTooLong, short(s)})
	}
	for _, r := range s {
		if !isNumberRune(r) {
			return "", append(probs, problem{field, problemNumberChars, short(s)})
		}
	}
	return s, probs
}

// isNumberRune reports what a number or SIP user is made of.
func isNumberRune(r rune) bool {
	return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' ||
		isEasternDigit(r) || strings.ContainsRune("+*#.-_()~!$&'=,;?/", r)
}

// isEasternDigit reports Persian (U+06F0–U+06F9) and Arabic-Indic
// (U+0660–U+0669) digits.
func isEasternDigit(r rune) bool {
	return r >= '\u06F0' && r <= '\u06F9' || r >= '\u0660' && r <= '\u0669'
}

// isFormat reports invisible format characters (Unicode category Cf: zero-
// width spaces and joiners, directional marks, embeddings and overrides).
func isFormat(r rune) bool {
	return r >= 0x80 && unicode.Is(unicode.Cf, r)
}

// cleanName repairs a display name: invalid bytes and control or
// bidirectional-override characters are removed, the length is capped.
// Markup is kept (consumers escape names) but reported.
func cleanName(s string, probs []problem) (string, []problem) {
	if s == "" {
		return "", probs
	}
	if !utf8.ValidString(s) {
		probs = append(probs, problem{"caller_name", problemInvalidUTF8, short(s)})
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	removed := false
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			removed = true
			return -1
		}
		return r
	}, s)
	if removed {
		probs = append(probs, problem{"caller_name", problemNameControl, short(s)})
	}
	if utf8.RuneCountInString(s) > maxNameLen {
		probs = append(probs, problem{"caller_name", problemNameTooLong, short(s)})
		s = string([]rune(s)[:maxNameLen])
	}
	if strings.ContainsAny(s, "<>") {
		probs = append(probs, problem{"caller_name", problemNameMarkup, short(s)})
	}
	return strings.TrimSpace(s), probs
}

// short shortens a value for logging.
func short(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > 80 {
		i := 80
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		return s[:i] + "…"
	}
	return s
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r >= '0' && r <= '9' || isEasternDigit(r) || i == 0 && r == '+') {
			return false
		}
	}
	return true
}
