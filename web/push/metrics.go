package push

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	conns    prometheus.Gauge
	frames   prometheus.Counter
	replayed prometheus.Counter
	resets   prometheus.Counter
	dropped  prometheus.Counter
	closes   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		conns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tamas_push_consoles", Help: "Consoles connected to this node.",
		}),
		frames: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tamas_push_frames_total", Help: "Frames written to consoles.",
		}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tamas_push_replayed_total", Help: "Messages sent to consoles from history while they caught up.",
		}),
		resets: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tamas_push_resets_total", Help: "Consoles told to start afresh because their history was gone.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tamas_push_dropped_total", Help: "Bus messages dropped because they were not JSON.",
		}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tamas_push_closes_total", Help: "Console connections closed, by reason.",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.conns, m.frames, m.replayed, m.resets, m.dropped, m.closes)
	}
	return m
}
