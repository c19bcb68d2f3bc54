package fakecloud

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/fakecloud/fakeexmail"
)

// startExmail serves the local Tencent Exmail open API (internal/fakecloud/fakeexmail) on its own HTTPS
// listener (port P+3 when Options.Addr has a fixed port P), with the same certificate as the
// Microsoft services. It is the one place where fakecloud wires the Exmail fake in.
func (s *Server) startExmail(seed *fakeexmail.Seed, opts fakeexmail.Options, host string, port int, tlsConf *tls.Config) error {
	if opts.Logf == nil && s.opts.Logf != nil {
		opts.Logf = s.opts.Logf
	}
	fx, err := fakeexmail.New(seed, opts)
	if err != nil {
		return err
	}
	p := 0
	if port != 0 {
		p = port + 3
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
	if err != nil {
		return fmt.Errorf("fakecloud: listening for the Exmail API: %w", err)
	}
	s.exmail, s.exmailURL = fx, endpointURL(ln.Addr())
	srv := &http.Server{Handler: fx.Handler(), TLSConfig: tlsConf.Clone(), ReadHeaderTimeout: 30 * time.Second}
	s.servers = append(s.servers, srv)
	tln := tls.NewListener(ln, srv.TLSConfig)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = srv.Serve(tln)
	}()
	return nil
}

// Exmail is the local Tencent Exmail API: seed members, read its counters, and hand it to an
// IMAP test server (imaptest.MemOptions.Auth) so that its passwords and IMAP switch decide logins.
func (s *Server) Exmail() *fakeexmail.Server { return s.exmail }

// ExmailEndpoint is the Exmail API's host root (the provider's exmail.endpoint).
func (s *Server) ExmailEndpoint() string { return s.exmailURL }
