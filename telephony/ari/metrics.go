package ari

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	events       *prometheus.CounterVec // type: every frame read, by ARI event type
	decodeErrors *prometheus.CounterVec // reason
	ignored      *prometheus.CounterVec // reason
	duplicates   prometheus.Counter
	dropped      prometheus.Counter
	emitted      *prometheus.CounterVec // type: domain events
	identity     *prometheus.CounterVec // field, kind
	connected    prometheus.Gauge
	connects     *prometheus.CounterVec // outcome
	reconnects   prometheus.Counter
	replaced     prometheus.Counter
	restarts     prometheus.Counter
	resyncs      *prometheus.CounterVec // outcome
	lost         prometheus.Counter
	adopted      prometheus.Counter
	orphansHung  prometheus.Counter
	active       prometheus.Gauge
	rest         *prometheus.CounterVec // op, code
	restSeconds  *prometheus.HistogramVec
}

// knownTypes are the event types Asterisk 22 defines (rest-api/api-docs/
// events.json). Any other type is counted under "unknown" so that a
// misbehaving peer cannot mint metric series.
var knownTypes = map[string]bool{
	"DeviceStateChanged": true, "PlaybackStarted": true, "PlaybackContinuing": true,
	"PlaybackFinished": true, "RecordingStarted": true, "RecordingFinished": true,
	"RecordingFailed": true, "ApplicationMoveFailed": true, "ApplicationRegistered": true,
	"ApplicationUnregistered": true, "ApplicationReplaced": true, "BridgeCreated": true,
	"BridgeDestroyed": true, "BridgeMerged": true, "BridgeBlindTransfer": true,
	"BridgeAttendedTransfer": true, "BridgeVideoSourceChanged": true, "ChannelCreated": true,
	"ChannelDestroyed": true, "ChannelEnteredBridge": true, "ChannelLeftBridge": true,
	"ChannelStateChange": true, "ChannelDtmfReceived": true, "ChannelDialplan": true,
	"ChannelCallerId": true, "ChannelUserevent": true, "ChannelHangupRequest": true,
	"ChannelVarset": true, "ChannelToneDetected": true, "ChannelTalkingStarted": true,
	"ChannelTalkingFinished": true, "ChannelHold": true, "ChannelUnhold": true,
	"ContactStatusChange": true, "EndpointStateChange": true, "Dial": true,
	"StasisEnd": true, "StasisStart": true, "TextMessageReceived": true,
	"ChannelConnectedLine": true, "PeerStatusChange": true, "ChannelTransfer": true,
	"RESTResponse": true, "CallBroadcast": true, "CallClaimed": true,
	"MissingParams": true,
}

func typeLabel(t string) string {
	if knownTypes[t] {
		return t
	}
	return "unknown"
}

func newMetrics(pbx string, reg prometheus.Registerer) (*metrics, error) {
	cl := prometheus.Labels{"pbx": pbx}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: cl})
	}
	vec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: cl}, labels)
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: cl})
	}
	m := &metrics{
		events:       vec("tamas_ari_events_total", "ARI events read from the websocket, by type (unknown types share one label).", "type"),
		decodeErrors: vec("tamas_ari_decode_errors_total", "ARI frames that could not be read, by reason.", "reason"),
		ignored:      vec("tamas_ari_events_ignored_total", "ARI events read but not turned into call events, by reason.", "reason"),
		duplicates:   counter("tamas_ari_duplicate_events_total", "ARI frames dropped as exact repeats of a recent frame."),
		dropped:      counter("tamas_ari_events_dropped_total", "Call events dropped because the handler fell behind or the adapter stopped."),
		emitted:      vec("tamas_ari_call_events_total", "Call events produced, by type.", "type"),
		identity:     vec("tamas_ari_identity_problems_total", "Defects in caller numbers, names and dialled numbers, by field and kind.", "field", "kind"),
		connected:    gauge("tamas_ari_connected", "1 while the event websocket is up and resynchronised."),
		connects:     vec("tamas_ari_connect_attempts_total", "Attempts to connect the event websocket, by outcome.", "outcome"),
		reconnects:   counter("tamas_ari_reconnects_total", "Times the event websocket was lost after being established."),
		replaced:     counter("tamas_ari_application_replaced_total", "ApplicationReplaced events: another process took the application name."),
		restarts:     counter("tamas_ari_asterisk_restarts_total", "Asterisk restarts noticed on reconnection."),
		resyncs:      vec("tamas_ari_resyncs_total", "Resynchronisations after connecting, by outcome.", "outcome"),
		lost:         counter("tamas_ari_calls_lost_total", "Calls ended with cause lost: gone when the connection came back."),
		adopted:      counter("tamas_ari_calls_adopted_total", "Calls found waiting in the application on resync and adopted."),
		orphansHung:  counter("tamas_ari_orphans_hung_up_total", "Channels found waiting in the application on resync and hung up (orphans: hangup)."),
		active:       gauge("tamas_ari_calls_active", "Calls tracked."),
		rest:         vec("tamas_ari_rest_requests_total", "ARI REST requests, by operation and HTTP status (or error).", "op", "code"),
		restSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tamas_ari_rest_request_seconds", Help: "ARI REST request latency, by operation.",
			ConstLabels: cl, Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"op"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{
		m.events, m.decodeErrors, m.ignored, m.duplicates, m.dropped, m.emitted, m.identity,
		m.connected, m.connects, m.reconnects, m.replaced, m.restarts, m.resyncs, m.lost,
		m.adopted, m.orphansHung, m.active, m.rest, m.restSeconds,
	} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("ari %s: metrics already registered: each adapter needs its own name: %w", pbx, err)
			}
			return nil, fmt.Errorf("ari %s: register metrics: %w", pbx, err)
		}
	}
	return m, nil
}
