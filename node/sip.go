package node

import (
	"fmt"
	"strings"

	"github.com/tamas-cc/tamas/internal/config"
	"github.com/tamas-cc/tamas/telephony/sip"
)

// sipConfig turns the node's configuration into the endpoint's.
func sipConfig(c config.Config) (sip.Config, error) {
	sc := sip.DefaultConfig()
	sc.Node = c.Node
	sc.Listen = nil
	for _, l := range c.SIP.Listen {
		network, addr, _ := strings.Cut(l, ":")
		sc.Listen = append(sc.Listen, sip.Listener{Network: network, Addr: addr})
	}
	sc.TrustedPAI, sc.AllowFrom = c.SIP.TrustedPAI, c.SIP.AllowFrom
	sc.FinalCode, sc.RingTimeout, sc.Lines = c.SIP.FinalCode, c.SIP.RingTimeout, c.Lines
	if c.SIP.AuthRealm != "" {
		sc.Auth.Realm = c.SIP.AuthRealm
		sc.Auth.Users = make(map[string]string, len(c.SIP.AuthUsers))
		for u, p := range c.SIP.AuthUsers {
			sc.Auth.Users[u] = p.Value()
		}
	}
	if err := sc.Validate(); err != nil {
		return sc, fmt.Errorf("config: %w", err)
	}
	return sc, nil
}
