package sip

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests      *prometheus.CounterVec // method
	malformed     *prometheus.CounterVec // transport, reason
	identity      *prometheus.CounterVec // header, kind
	rejected      *prometheus.CounterVec // reason
	auth          *prometheus.CounterVec // outcome
	started       prometheus.Counter
	ended         *prometheus.CounterVec // cause
	active        prometheus.Gauge
	dropped       prometheus.Counter
	stackErrors   *prometheus.CounterVec // message
	inviteToEvent prometheus.Histogram
	responses     *prometheus.CounterVec // code
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tamas_sip_requests_total", Help: "SIP requests received, by method.",
		}, []string{"method"}),
		malformed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tamas_sip_malformed_requests_total", Help: "SIP messages refused as malformed, by transport and reason.",
		}, []string{"transport", "reason"}),
		identity: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tamas_sip_identity_problems_total", Help: "Defects found in caller and dialled-number headers, by header and kind.",
		}, []string{"header", "kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tamas_sip_invites_rejected_total", Help: "INVITEs refused before a call started, by reason.",
		}, []string{"reason"}),
		auth: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tamas_sip_auth_total", Help: "Digest authentication outcomes.",
		}, []string{"outcome"}),
		started: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tamas_sip_calls_started_total", Help: "Calls caught (CallStarted emitted).",
		}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tamas_sip_calls_ended_total", Help: "Calls ended, by cause.",
		}, []string{"cause"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tamas_sip_calls_active", Help: "INVITEs currently held ringing.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tamas_sip_events_dropped_total", Help: "Events dropped because the handler fell behind.",
		}),
		stackErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tamas_sip_stack_errors_total", Help: "Errors reported by the SIP stack, by message.",
		}, []string{"message"}),
		inviteToEvent: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tamas_sip_invite_to_event_seconds",
			Help:    "Time from an INVITE being read off the socket (UDP; over TCP, from its parsing) to its CallStarted being handed to the event handler.",
			Buckets: prometheus.ExponentialBuckets(0.00001, 2, 16),
		}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tamas_sip_responses_total", Help: "Responses sent to INVITEs, by status code.",
		}, []string{"code"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{
		m.requests, m.malformed, m.identity, m.rejected, m.auth, m.started, m.ended,
		m.active, m.dropped, m.stackErrors, m.inviteToEvent, m.responses,
	} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("sip: metrics already registered (one endpoint per registry): %w", err)
			}
			return nil, fmt.Errorf("sip: register metrics: %w", err)
		}
	}
	return m, nil
}
