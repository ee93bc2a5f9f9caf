package node

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tamas-cc/tamas/internal/config"
	"github.com/tamas-cc/tamas/telephony"
	"github.com/tamas-cc/tamas/telephony/ari"
	"github.com/tamas-cc/tamas/telephony/sip"
	"github.com/tamas-cc/tamas/web"
)

// Ready reports where a started node listens.
type Ready struct {
	HTTP string
	SIP  []net.Addr
}

// Node is one Tamas node: its sources feed every call into the pop and
// activity paths, and its HTTP server serves the consoles and the API.
type Node struct {
	cfg      config.Config
	log      *slog.Logger
	version  string
	store    Records
	parts    *parts
	adapters []*ari.Adapter
	sip      *sip.Endpoint
	srv      *http.Server
	ln       net.Listener
}

// New builds a node from its configuration: it opens the store, loads the
// scripts, connects the bus and listens for HTTP. Run starts it; a node
// that is never run must be closed with Close.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, version string) (_ *Node, err error) {
	n := &Node{cfg: cfg, log: log, version: version}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	dir, store, err := OpenDirectory(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	n.store = store
	tokens, err := apiTokens(cfg, log)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if n.parts, err = newParts(ctx, cfg, log, dir, store, reg); err != nil {
		return nil, err
	}
	for _, a := range cfg.Asterisk {
		ac := ari.DefaultConfig()
		ac.Name, ac.Node, ac.URL, ac.Username, ac.Password = a.Name, cfg.Node, a.URL, a.Username, a.Password.Value()
		ac.Application, ac.Orphans, ac.Lines = a.Application, a.Orphans, cfg.Lines
		ad, err := ari.New(ac, log, reg) // the adapter names its pbx in its logs
		if err != nil {
			return nil, fmt.Errorf("asterisk %s: %w", a.Name, err)
		}
		n.adapters = append(n.adapters, ad)
	}
	if cfg.SIP.Enabled {
		sc, err := sipConfig(cfg)
		if err != nil {
			return nil, err
		}
		if n.sip, err = sip.NewEndpoint(sc, log.With("pbx", "sip"), reg); err != nil {
			return nil, err
		}
	}
	wo := web.Options{
		Directory: dir, Logger: log, Registry: reg, MaxBodyBytes: cfg.HTTP.MaxBodyBytes,
		APITokens: tokens, Ready: store.Ping, Activities: store,
	}
	// Click-to-call goes through the first Asterisk server, when there is one.
	var dialer web.Dialer
	if len(n.adapters) > 0 {
		dialer = n.adapters[0]
	}
	n.parts.webOptions(&wo, cfg.Console, dialer)
	n.srv = &http.Server{
		Handler:           web.New(wo).Handler(),
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		ReadHeaderTimeout: cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       2 * cfg.HTTP.ReadTimeout,
		MaxHeaderBytes:    64 << 10,
	}
	if n.ln, err = net.Listen("tcp", cfg.HTTP.Listen); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return n, nil
}

// Close releases what New took; Run closes the node itself.
func (n *Node) Close() {
	if n.ln != nil {
		n.ln.Close()
	}
	if n.parts != nil {
		n.parts.close(n.log)
	}
	if n.store != nil {
		n.store.Close()
	}
}

// handle is the telephony.Handler every call source feeds: the pop and the
// call's record follow each event.
func (n *Node) handle(ctx context.Context, ev telephony.Event) {
	n.parts.events.WithLabelValues(ev.Call.PBX, string(ev.Type)).Inc()
	n.parts.pops.Handle(ctx, ev)
	n.parts.calls.Handle(ctx, ev)
}

// Run serves until ctx ends or a source fails, then stops gracefully and
// closes the node; onReady, when set, is told where it listens once it
// does.
func (n *Node) Run(ctx context.Context, onReady func(Ready)) error {
	defer n.Close()
	n.parts.start(ctx, n.log)
	n.srv.BaseContext = func(net.Listener) context.Context { return ctx }

	// Call sources run until ctx ends; the first to fail stops the node.
	srcCtx, stopSources := context.WithCancel(ctx)
	var sources sync.WaitGroup
	defer func() {
		stopSources()
		sources.Wait()
	}()
	errc := make(chan error, 4)
	if ep := n.sip; ep != nil {
		sources.Go(func() {
			if err := ep.Run(srcCtx, n.handle); err != nil {
				errc <- fmt.Errorf("sip: %w", err)
			}
		})
		select {
		case <-ep.Ready():
			var addrs []string
			for _, a := range ep.Addrs() {
				addrs = append(addrs, a.Network()+":"+a.String())
			}
			n.log.Info("SIP endpoint listening", "addrs", strings.Join(addrs, ","))
		case err := <-errc:
			return err
		}
	}
	for i, ad := range n.adapters {
		a := n.cfg.Asterisk[i]
		sources.Go(func() {
			if err := ad.Run(srcCtx, n.handle); err != nil && srcCtx.Err() == nil {
				errc <- fmt.Errorf("asterisk %s: %w", a.Name, err)
			}
		})
		// Only the start of trying: the adapter logs "ari: connected" once
		// Asterisk has accepted it, or why it cannot connect.
		n.log.Info("Asterisk connection starting", "name", a.Name, "url", a.URL, "application", a.Application)
	}

	n.log.Info("tamas serving", "node", n.cfg.Node, "version", n.version, "url", "http://"+n.ln.Addr().String())
	if onReady != nil {
		r := Ready{HTTP: n.ln.Addr().String()}
		if n.sip != nil {
			r.SIP = n.sip.Addrs()
		}
		onReady(r)
	}
	go func() { errc <- n.srv.Serve(n.ln) }()
	var failed error
	select {
	case failed = <-errc:
		n.log.Error("stopping after a failure", "err", failed)
	case <-ctx.Done():
	}
	n.log.Info("shutting down", "grace", n.cfg.HTTP.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.cfg.HTTP.ShutdownTimeout)
	defer cancel()
	stopSources()
	if err := n.srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if failed != nil {
		return failed
	}
	n.log.Info("stopped")
	return nil
}

// apiTokens returns the configured tokens, or the one in
// <data_dir>/api-token, creating it on first start. The token is never
// logged: only where it is.
func apiTokens(cfg config.Config, log *slog.Logger) ([]string, error) {
	if len(cfg.HTTP.APITokens) > 0 {
		out := make([]string, len(cfg.HTTP.APITokens))
		for i, t := range cfg.HTTP.APITokens {
			out[i] = t.Value()
		}
		return out, nil
	}
	path := filepath.Join(cfg.DataDir, "api-token")
	if b, err := os.ReadFile(path); err == nil {
		if t := strings.TrimSpace(string(b)); t != "" {
			log.Info("API token", "file", path)
			return []string{t}, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("api token: %w", err)
	}
	buf := make([]byte, 32)
	rand.Read(buf)
	token := base64.RawURLEncoding.EncodeToString(buf)
	if err := dataDir(cfg.DataDir, log); err != nil {
		return nil, fmt.Errorf("api token: %w", err)
	}
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("api token: %w", err)
	}
	log.Info("API token created", "file", path)
	return []string{token}, nil
}
