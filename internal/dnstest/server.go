// Package dnstest runs a small authoritative-looking DNS server on 127.0.0.1 whose records can be
// changed while it runs. It answers over UDP and TCP on the same random port, sets the AA bit,
// answers NXDOMAIN for names it does not know, NOERROR with an empty answer for a known name (or
// an empty non-terminal) without the asked type, follows CNAMEs it holds, and truncates UDP
// answers larger than the client's buffer (512 bytes, or the EDNS0 size) so that clients retry
// over TCP.
//
// The package does not import "testing": the fake cloud's standalone binary and `make demo` run
// it in-process. Tests use StartForTest, which closes the server when the test ends.
package dnstest

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// DefaultTTL is the TTL of the records SetTXT creates.
const DefaultTTL = 300

// maxCNAMEHops bounds how many CNAMEs the server follows inside its own records.
const maxCNAMEHops = 8

// Server is a running DNS server. Its methods are safe for concurrent use.
type Server struct {
	// Addr is the address both listeners use, "127.0.0.1:PORT".
	Addr string

	mu      sync.RWMutex
	records map[string][]dns.RR // lowercase FQDN -> records, in insertion order
	rcodes  map[string]int      // lowercase FQDN -> forced response code

	queries    atomic.Int64
	tcpQueries atomic.Int64

	udp, tcp  *dns.Server
	closeOnce sync.Once
	closeErr  error
}

// Start listens on 127.0.0.1 (UDP and TCP, same random port) and serves until Close.
func Start() (*Server, error) {
	s := &Server{records: map[string][]dns.RR{}, rcodes: map[string]int{}}
	var (
		pc  net.PacketConn
		ln  net.Listener
		err error
	)
	// The UDP port the kernel picks may be taken for TCP; try a few times.
	for attempt := 0; attempt < 10; attempt++ {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("dnstest: listening on UDP 127.0.0.1: %w", err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		_ = pc.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("dnstest: listening on TCP at the UDP port: %w", err)
	}
	s.Addr = pc.LocalAddr().String()

	handler := dns.HandlerFunc(s.serve)
	s.udp = &dns.Server{PacketConn: pc, Handler: handler}
	s.tcp = &dns.Server{Listener: ln, Handler: handler}
	if err := startServer(s.udp); err != nil {
		_ = pc.Close()
		_ = ln.Close()
		return nil, fmt.Errorf("dnstest: starting the UDP server on %s: %w", s.Addr, err)
	}
	if err := startServer(s.tcp); err != nil {
		_ = s.udp.Shutdown()
		_ = ln.Close()
		return nil, fmt.Errorf("dnstest: starting the TCP server on %s: %w", s.Addr, err)
	}
	return s, nil
}

// startServer runs srv in a goroutine and returns once it is serving, or with its start error.
func startServer(srv *dns.Server) error {
	started := make(chan struct{})
	failed := make(chan error, 1)
	srv.NotifyStartedFunc = func() { close(started) }
	go func() {
		if err := srv.ActivateAndServe(); err != nil {
			failed <- err
		}
	}()
	select {
	case <-started:
		return nil
	case err := <-failed:
		return err
	case <-time.After(10 * time.Second):
		return errors.New("the server did not start within 10s")
	}
}

// Close stops both listeners. Calling it again returns the first result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = errors.Join(s.udp.Shutdown(), s.tcp.Shutdown())
	})
	return s.closeErr
}

// Queries returns how many queries the server has answered, over UDP and TCP.
func (s *Server) Queries() int { return int(s.queries.Load()) }

// TCPQueries returns how many of those queries came over TCP.
func (s *Server) TCPQueries() int { return int(s.tcpQueries.Load()) }

// canonical lowercases a name and adds the trailing dot.
func canonical(name string) string {
	return dns.Fqdn(strings.ToLower(strings.TrimSpace(name)))
}

// SetTXT replaces the TXT records of name (case-insensitive, trailing dot optional) with one
// record per value; with no values it removes them. A value longer than 255 bytes is split into
// several character-strings of one record, as DNS requires; values are raw bytes (quotes,
// backslashes and non-ASCII need no escaping).
func (s *Server) SetTXT(name string, values ...string) {
	key := canonical(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(key, dns.TypeTXT)
	for _, v := range values {
		rr := &dns.TXT{
			Hdr: dns.RR_Header{Name: key, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: DefaultTTL},
			Txt: splitTXT(v),
		}
		s.records[key] = append(s.records[key], rr)
	}
}

// splitTXT cuts a raw value into character-strings of at most 255 bytes, escaped the way
// github.com/miekg/dns stores them (it un-escapes "\X" and "\DDD" when packing).
func splitTXT(v string) []string {
	if v == "" {
		return []string{""}
	}
	var out []string
	for len(v) > 0 {
		n := min(len(v), 255)
		out = append(out, escapeTXT(v[:n]))
		v = v[n:]
	}
	return out
}

// escapeTXT escapes quotes, backslashes and bytes outside printable ASCII as miekg/dns expects.
func escapeTXT(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// AddRecord adds one record given in zone-file syntax, for example
// "contoso.com. 3600 IN MX 0 contoso-com.mail.protection.outlook.com.". Names without a trailing
// dot are taken as absolute. A record identical to one already held is not added twice.
func (s *Server) AddRecord(rr string) error {
	r, err := dns.NewRR(rr)
	if err != nil {
		return fmt.Errorf("dnstest: parsing record %q: %w", rr, err)
	}
	if r == nil {
		return fmt.Errorf("dnstest: record %q is empty", rr)
	}
	key := canonical(r.Header().Name)
	r.Header().Name = key
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, old := range s.records[key] {
		if dns.IsDuplicate(old, r) {
			return nil
		}
	}
	s.records[key] = append(s.records[key], r)
	return nil
}

// Remove deletes the records of name with type rrtype ("TXT", "mx", ...); rrtype "" or "ANY"
// deletes every record of name. A name left without records answers NXDOMAIN again (unless a
// name below it still exists). An unknown type name removes nothing.
func (s *Server) Remove(name, rrtype string) {
	key := canonical(name)
	t := strings.ToUpper(strings.TrimSpace(rrtype))
	var qtype uint16
	if t == "" || t == "ANY" {
		qtype = dns.TypeANY
	} else {
		var ok bool
		if qtype, ok = dns.StringToType[t]; !ok {
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(key, qtype)
}

// removeLocked deletes the records of key with type qtype (TypeANY: all). s.mu must be held.
func (s *Server) removeLocked(key string, qtype uint16) {
	kept := s.records[key][:0]
	for _, rr := range s.records[key] {
		if qtype != dns.TypeANY && rr.Header().Rrtype != qtype {
			kept = append(kept, rr)
		}
	}
	if len(kept) == 0 {
		delete(s.records, key)
		return
	}
	s.records[key] = kept
}

// SetRcode makes every query for name (whatever its type) fail with rcode, for example
// dns.RcodeServerFailure (2) or dns.RcodeRefused (5); rcode 0 restores normal answers.
func (s *Server) SetRcode(name string, rcode int) {
	key := canonical(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if rcode == dns.RcodeSuccess {
		delete(s.rcodes, key)
		return
	}
	s.rcodes[key] = rcode
}

// serve answers one query.
func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = false
	switch {
	case req.Opcode != dns.OpcodeQuery:
		m.Rcode = dns.RcodeNotImplemented
	case len(req.Question) != 1:
		m.Rcode = dns.RcodeFormatError
	default:
		s.answer(m, req.Question[0])
	}

	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		size = max(size, int(opt.UDPSize()))
		m.SetEdns0(opt.UDPSize(), false)
	}
	_, overTCP := w.RemoteAddr().(*net.TCPAddr)
	if !overTCP {
		m.Truncate(size)
	}
	s.queries.Add(1)
	if overTCP {
		s.tcpQueries.Add(1)
	}
	_ = w.WriteMsg(m)
}

// answer fills m for question q from the records held.
func (s *Server) answer(m *dns.Msg, q dns.Question) {
	s.mu.RLock()
	defer s.mu.RUnlock()

	key, owner := canonical(q.Name), q.Name
	if rc, ok := s.rcodes[key]; ok {
		m.Rcode = rc
		return
	}
	for hop := 0; hop < maxCNAMEHops; hop++ {
		rrs, known := s.records[key]
		if !known {
			if hop == 0 {
				if !s.hasDescendantLocked(key) {
					m.Rcode = dns.RcodeNameError
				}
				s.addSOALocked(m, key)
			}
			// A CNAME target this server does not hold: the CNAME alone is the answer.
			return
		}
		var cname *dns.CNAME
		matched := false
		for _, rr := range rrs {
			if q.Qtype == dns.TypeANY || rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, withOwner(rr, owner))
				matched = true
			}
			if c, ok := rr.(*dns.CNAME); ok && cname == nil {
				cname = c
			}
		}
		if matched || cname == nil {
			if !matched && hop == 0 {
				s.addSOALocked(m, key) // NODATA
			}
			return
		}
		m.Answer = append(m.Answer, withOwner(cname, owner))
		key, owner = canonical(cname.Target), cname.Target
	}
}

// withOwner copies rr with its owner name spelled as the question spelled it.
func withOwner(rr dns.RR, owner string) dns.RR {
	c := dns.Copy(rr)
	c.Header().Name = owner
	return c
}

// hasDescendantLocked reports whether a name below key holds records (key is then an empty
// non-terminal, which exists). s.mu must be held.
func (s *Server) hasDescendantLocked(key string) bool {
	suffix := "." + key
	if key == "." {
		suffix = "."
	}
	for name := range s.records {
		if strings.HasSuffix(name, suffix) && name != key {
			return true
		}
	}
	return false
}

// addSOALocked puts the SOA of the closest enclosing name that has one (added with AddRecord)
// in the authority section, as an authoritative server does for negative answers.
func (s *Server) addSOALocked(m *dns.Msg, key string) {
	for name := key; ; {
		for _, rr := range s.records[name] {
			if rr.Header().Rrtype == dns.TypeSOA {
				m.Ns = append(m.Ns, dns.Copy(rr))
				return
			}
		}
		if name == "." {
			return
		}
		if i := strings.IndexByte(name, '.'); i >= 0 && i+1 < len(name) {
			name = name[i+1:]
		} else {
			name = "."
		}
	}
}

// String describes the server for logs, e.g. "dnstest 127.0.0.1:40001 (3 names)".
func (s *Server) String() string {
	s.mu.RLock()
	n := len(s.records)
	s.mu.RUnlock()
	return "dnstest " + s.Addr + " (" + strconv.Itoa(n) + " names)"
}
