package cloud

import (
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	for _, name := range []string{"global", "China", " usgovernment ", "usgovernmentdod"} {
		env, err := Lookup(name)
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		for what, v := range map[string]string{"login": env.LoginHost, "graph": env.GraphHost, "exchange": env.ExchangeHost} {
			if !strings.HasPrefix(v, "https://") || strings.HasSuffix(v, "/") {
				t.Errorf("%s %s host %q is not an https host root", name, what, v)
			}
		}
		if env.GraphScope != env.GraphHost+"/.default" || env.ExchangeScope != env.ExchangeHost+"/.default" {
			t.Errorf("%s scopes %q %q do not match the hosts", name, env.GraphScope, env.ExchangeScope)
		}
	}
	if _, err := Lookup("mars"); err == nil || !strings.Contains(err.Error(), "global, china, usgovernment, usgovernmentdod") {
		t.Errorf("unknown environment: %v", err)
	}
	if got := Names(); got[0] != Global {
		t.Errorf("Names() = %v: global first", got)
	}
}

func TestMXTarget(t *testing.T) {
	g, _ := Lookup(Global)
	c, _ := Lookup(China)
	if got := g.MXTarget("Contoso.com."); got != "contoso-com.mail.protection.outlook.com" {
		t.Errorf("global MX %q", got)
	}
	if got := c.MXTarget("xn--fiq228c.com"); got != "xn--fiq228c-com.mail.protection.partner.outlook.cn" {
		t.Errorf("china MX %q", got)
	}
	if c.DNS.MsoidTarget == "" || g.DNS.MsoidTarget != "" {
		t.Error("msoid is a 21Vianet-only record")
	}
}
