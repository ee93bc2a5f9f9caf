package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tamas-cc/tamas/telephony/ari"
	"github.com/tamas-cc/tamas/telephony/sip"
	"github.com/tamas-cc/tamas/web"
)

func cmdServe(ctx context.Context, configPath string, args []string, e env) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	l, err := load(configPath, e)
	if err != nil {
		return err
	}
	return serve(ctx, l, nil)
}

// ready reports where a started node listens.
type ready struct {
	HTTP string
	SIP  []net.Addr
}

// serve runs a node until ctx ends; onReady, when set, is told where it
// listens once it does.
func serve(ctx context.Context, l loaded, onReady func(ready)) error {
	dir, err := openDirectory(ctx, l)
	if err != nil {
		return err
	}
	defer dir.Store().Close()

	tokens, err := apiTokens(l)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	con, err := newConsole(ctx, l, dir, reg)
	if err != nil {
		return err
	}
	defer con.close(l.log)
	adapters := make([]*ari.Adapter, 0, len(l.cfg.Asterisk))
	for _, a := range l.cfg.Asterisk {
		ac := ari.DefaultConfig()
		ac.Name, ac.Node, ac.URL, ac.Username, ac.Password = a.Name, l.cfg.Node, a.URL, a.Username, a.Password.Value()
		ac.Application, ac.Orphans, ac.Lines = a.Application, a.Orphans, l.cfg.Lines
		ad, err := ari.New(ac, l.log.With("pbx", a.Name), reg)
		if err != nil {
			return fmt.Errorf("asterisk %s: %w", a.Name, err)
		}
		adapters = append(adapters, ad)
	}
	wo := web.Options{
		Directory: dir, Logger: l.log, Registry: reg, MaxBodyBytes: l.cfg.HTTP.MaxBodyBytes,
		APITokens: tokens, Ready: dir.Store().Ping, Activities: con.store,
	}
	// Click-to-call goes through the first Asterisk server, when there is one.
	var dialer web.Dialer
	if len(adapters) > 0 {
		dialer = adapters[0]
	}
	con.webOptions(&wo, l.cfg.Console, dialer)
	api := web.New(wo)
	srv := &http.Server{
		Handler:           api.Handler(),
		ReadTimeout:       l.cfg.HTTP.ReadTimeout,
		ReadHeaderTimeout: l.cfg.HTTP.ReadTimeout,
		WriteTimeout:      l.cfg.HTTP.WriteTimeout,
		IdleTimeout:       2 * l.cfg.HTTP.ReadTimeout,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	ln, err := net.Listen("tcp", l.cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}

	// Call sources run until ctx ends; the first to fail stops the node.
	srcCtx, stopSources := context.WithCancel(ctx)
	var sources sync.WaitGroup
	defer func() {
		stopSources()
		sources.Wait()
	}()
	errc := make(chan error, 4)
	var sipEP *sip.Endpoint
	if l.cfg.SIP.Enabled {
		sc, err := sipConfig(l.cfg)
		if err != nil {
			return err
		}
		ep, err := sip.NewEndpoint(sc, l.log.With("pbx", "sip"), reg)
		if err != nil {
			return err
		}
		sipEP = ep
		sources.Go(func() {
			if err := ep.Run(srcCtx, con.handle); err != nil {
				errc <- fmt.Errorf("sip: %w", err)
			}
		})
		select {
		case <-ep.Ready():
			var addrs []string
			for _, a := range ep.Addrs() {
				addrs = append(addrs, a.Network()+":"+a.String())
			}
			l.log.Info("SIP endpoint listening", "addrs", strings.Join(addrs, ","))
		case err := <-errc:
			return err
		}
	}

	for i, ad := range adapters {
		a := l.cfg.Asterisk[i]
		sources.Go(func() {
			if err := ad.Run(srcCtx, con.handle); err != nil && srcCtx.Err() == nil {
				errc <- fmt.Errorf("asterisk %s: %w", a.Name, err)
			}
		})
		l.log.Info("Asterisk connection started", "name", a.Name, "url", a.URL, "application", a.Application)
	}

	l.log.Info("tamas serving", "node", l.cfg.Node, "version", version, "url", "http://"+ln.Addr().String())
	if onReady != nil {
		r := ready{HTTP: ln.Addr().String()}
		if sipEP != nil {
			r.SIP = sipEP.Addrs()
		}
		onReady(r)
	}
	go func() { errc <- srv.Serve(ln) }()
	var failed error
	select {
	case failed = <-errc:
		l.log.Error("stopping after a failure", "err", failed)
	case <-ctx.Done():
	}
	l.log.Info("shutting down", "grace", l.cfg.HTTP.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.HTTP.ShutdownTimeout)
	defer cancel()
	stopSources()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if failed != nil {
		return failed
	}
	l.log.Info("stopped")
	return nil
}

// apiTokens returns the configured tokens, or the one in
// <data_dir>/api-token, creating it on first start. The token is never
// logged: only where it is.
func apiTokens(l loaded) ([]string, error) {
	if len(l.cfg.HTTP.APITokens) > 0 {
		out := make([]string, len(l.cfg.HTTP.APITokens))
		for i, t := range l.cfg.HTTP.APITokens {
			out[i] = t.Value()
		}
		return out, nil
	}
	path := filepath.Join(l.cfg.DataDir, "api-token")
	if b, err := os.ReadFile(path); err == nil {
		if t := strings.TrimSpace(string(b)); t != "" {
			l.log.Info("API token", "file", path)
			return []string{t}, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("api token: %w", err)
	}
	buf := make([]byte, 32)
	rand.Read(buf)
	token := base64.RawURLEncoding.EncodeToString(buf)
	if err := os.MkdirAll(l.cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("api token: %w", err)
	}
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("api token: %w", err)
	}
	l.log.Info("API token created", "file", path)
	return []string{token}, nil
}
