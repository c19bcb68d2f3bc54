package dnstest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// ask sends one query over network ("udp" or "tcp") without EDNS0 and returns the answer.
func ask(t *testing.T, s *Server, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, s.Addr)
	if err != nil {
		t.Fatalf("%s query %s %s: %v", network, dns.TypeToString[qtype], name, err)
	}
	return r
}

// txtValues joins the character-strings of every TXT answer.
func txtValues(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		if txt, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(txt.Txt, ""))
		}
	}
	return out
}

func TestStartAddr(t *testing.T) {
	s := StartForTest(t)
	if !strings.HasPrefix(s.Addr, "127.0.0.1:") || strings.HasSuffix(s.Addr, ":0") {
		t.Fatalf("Addr = %q, want 127.0.0.1:<port>", s.Addr)
	}
	s2 := StartForTest(t)
	if s2.Addr == s.Addr {
		t.Fatalf("two servers share %s", s.Addr)
	}
}

func TestSetTXTRuntimeChanges(t *testing.T) {
	s := StartForTest(t)
	s.SetTXT("Contoso.COM", "MS=ms12345678", "v=spf1 -all")

	for _, network := range []string{"udp", "tcp"} {
		// Case-insensitive, trailing dot optional at SetTXT; the question is an FQDN.
		r := ask(t, s, network, "contoso.com.", dns.TypeTXT)
		if r.Rcode != dns.RcodeSuccess || !r.Authoritative {
			t.Fatalf("%s: rcode %s aa=%v, want NOERROR aa=true", network, dns.RcodeToString[r.Rcode], r.Authoritative)
		}
		got := txtValues(r)
		if len(got) != 2 || got[0] != "MS=ms12345678" || got[1] != "v=spf1 -all" {
			t.Fatalf("%s: TXT = %q", network, got)
		}
	}
	// The owner name echoes the question's spelling.
	r := ask(t, s, "udp", "CONTOSO.com.", dns.TypeTXT)
	if len(r.Answer) == 0 || r.Answer[0].Header().Name != "CONTOSO.com." {
		t.Fatalf("answer owner = %v, want CONTOSO.com.", r.Answer)
	}

	s.SetTXT("contoso.com.", "MS=ms87654321")
	if got := txtValues(ask(t, s, "udp", "contoso.com.", dns.TypeTXT)); len(got) != 1 || got[0] != "MS=ms87654321" {
		t.Fatalf("after replacing, TXT = %q", got)
	}

	s.SetTXT("contoso.com")
	if r := ask(t, s, "udp", "contoso.com.", dns.TypeTXT); r.Rcode != dns.RcodeNameError {
		t.Fatalf("after clearing the only records, rcode = %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
	if got := s.Queries(); got != 5 {
		t.Fatalf("Queries() = %d, want 5", got)
	}
	if got := s.TCPQueries(); got != 1 {
		t.Fatalf("TCPQueries() = %d, want 1", got)
	}
}

func TestNXDOMAINAndNODATA(t *testing.T) {
	s := StartForTest(t)
	if err := s.AddRecord("contoso.com. 3600 IN MX 0 contoso-com.mail.protection.outlook.com."); err != nil {
		t.Fatal(err)
	}
	s.SetTXT("_dmarc.mail.contoso.com", "v=DMARC1; p=none")

	cases := []struct {
		name  string
		qtype uint16
		rcode int
		n     int
	}{
		{"contoso.com.", dns.TypeMX, dns.RcodeSuccess, 1},
		{"contoso.com.", dns.TypeTXT, dns.RcodeSuccess, 0},      // known name, no TXT
		{"mail.contoso.com.", dns.TypeTXT, dns.RcodeSuccess, 0}, // empty non-terminal
		{"fabrikam.com.", dns.TypeTXT, dns.RcodeNameError, 0},
		{"www.contoso.com.", dns.TypeA, dns.RcodeNameError, 0},
		{"_dmarc.mail.contoso.com.", dns.TypeTXT, dns.RcodeSuccess, 1},
	}
	for _, c := range cases {
		r := ask(t, s, "udp", c.name, c.qtype)
		if r.Rcode != c.rcode || len(r.Answer) != c.n {
			t.Errorf("%s %s: rcode %s with %d answers, want %s with %d", dns.TypeToString[c.qtype], c.name,
				dns.RcodeToString[r.Rcode], len(r.Answer), dns.RcodeToString[c.rcode], c.n)
		}
	}
}

func TestNegativeAnswerCarriesSOA(t *testing.T) {
	s := StartForTest(t)
	if err := s.AddRecord("contoso.com. 3600 IN SOA ns1.contoso.com. admin.contoso.com. 1 7200 900 1209600 300"); err != nil {
		t.Fatal(err)
	}
	r := ask(t, s, "udp", "nothing.contoso.com.", dns.TypeTXT)
	if r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA {
		t.Fatalf("rcode %s, authority %v; want NXDOMAIN with the zone's SOA", dns.RcodeToString[r.Rcode], r.Ns)
	}
	r = ask(t, s, "udp", "contoso.com.", dns.TypeMX)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 {
		t.Fatalf("NODATA: rcode %s, answer %v, authority %v", dns.RcodeToString[r.Rcode], r.Answer, r.Ns)
	}
	if r := ask(t, s, "udp", "other.org.", dns.TypeMX); len(r.Ns) != 0 {
		t.Fatalf("a name outside the zone got authority %v", r.Ns)
	}
}

func TestLongTXTSplit(t *testing.T) {
	s := StartForTest(t)
	long := strings.Repeat("abcdefghij", 40) // 400 bytes: two strings, still under 512 bytes over UDP
	s.SetTXT("dkim._domainkey.contoso.com", long)
	for _, network := range []string{"udp", "tcp"} {
		r := ask(t, s, network, "dkim._domainkey.contoso.com.", dns.TypeTXT)
		if len(r.Answer) != 1 {
			t.Fatalf("%s: %d answers, want 1", network, len(r.Answer))
		}
		txt := r.Answer[0].(*dns.TXT)
		var lens []int
		for _, part := range txt.Txt {
			lens = append(lens, len(part))
		}
		if fmt.Sprint(lens) != "[255 145]" {
			t.Fatalf("%s: string lengths %v, want [255 145]", network, lens)
		}
		if strings.Join(txt.Txt, "") != long {
			t.Fatalf("%s: the parts do not join back to the value", network)
		}
	}
}

func TestTXTRawBytes(t *testing.T) {
	s := StartForTest(t)
	raw := `say "hi" \ 中文 ` + "\x01"
	s.SetTXT("contoso.com", raw)
	m := new(dns.Msg)
	m.SetQuestion("contoso.com.", dns.TypeTXT)
	r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(m, s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	// Unpack the wire form by hand: the answer's RDATA is one length-prefixed string.
	wire, err := r.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(wire), string([]byte{byte(len(raw))})+raw) {
		t.Fatalf("the wire answer does not carry the raw value %q", raw)
	}
}

func TestAddRecordAndRemove(t *testing.T) {
	s := StartForTest(t)
	if err := s.AddRecord("contoso.com. 3600 IN MX 10 mxbiz2.qq.com."); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRecord("contoso.com 600 IN MX 5 mxbiz1.qq.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRecord("CONTOSO.COM. 3600 IN MX 10 mxbiz2.qq.com."); err != nil { // duplicate
		t.Fatal(err)
	}
	s.SetTXT("contoso.com", "v=spf1 include:spf.mail.qq.com ~all")
	if r := ask(t, s, "udp", "contoso.com.", dns.TypeMX); len(r.Answer) != 2 {
		t.Fatalf("MX answers = %v, want 2 (the duplicate is not added)", r.Answer)
	}
	for _, bad := range []string{"contoso.com. IN MX notanumber mx.example.", "contoso.com. IN BOGUS 1", ""} {
		if err := s.AddRecord(bad); err == nil {
			t.Errorf("AddRecord(%q) = nil, want an error", bad)
		}
	}

	s.Remove("Contoso.com", "mx")
	if r := ask(t, s, "udp", "contoso.com.", dns.TypeMX); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Fatalf("after Remove MX: rcode %s answers %v", dns.RcodeToString[r.Rcode], r.Answer)
	}
	if got := txtValues(ask(t, s, "udp", "contoso.com.", dns.TypeTXT)); len(got) != 1 {
		t.Fatalf("Remove MX also removed TXT: %q", got)
	}
	s.Remove("contoso.com", "NOSUCHTYPE")
	if got := txtValues(ask(t, s, "udp", "contoso.com.", dns.TypeTXT)); len(got) != 1 {
		t.Fatalf("Remove of an unknown type removed records: %q", got)
	}
	s.Remove("contoso.com.", "")
	if r := ask(t, s, "udp", "contoso.com.", dns.TypeTXT); r.Rcode != dns.RcodeNameError {
		t.Fatalf("after Remove all: rcode %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
}

func TestCNAMEFollowed(t *testing.T) {
	s := StartForTest(t)
	for _, rr := range []string{
		"autodiscover.contoso.com. 3600 IN CNAME autodiscover.outlook.com.",
		"autodiscover.outlook.com. 60 IN CNAME autod.ha-autod.office.com.",
		"autod.ha-autod.office.com. 60 IN A 192.0.2.7",
		"dangling.contoso.com. 60 IN CNAME elsewhere.example.",
	} {
		if err := s.AddRecord(rr); err != nil {
			t.Fatal(err)
		}
	}
	r := ask(t, s, "udp", "autodiscover.contoso.com.", dns.TypeA)
	if len(r.Answer) != 3 || r.Answer[2].(*dns.A).A.String() != "192.0.2.7" {
		t.Fatalf("A via CNAME chain = %v", r.Answer)
	}
	r = ask(t, s, "udp", "autodiscover.contoso.com.", dns.TypeCNAME)
	if len(r.Answer) != 1 || r.Answer[0].(*dns.CNAME).Target != "autodiscover.outlook.com." {
		t.Fatalf("CNAME query = %v, want only the first hop", r.Answer)
	}
	r = ask(t, s, "udp", "dangling.contoso.com.", dns.TypeTXT)
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("CNAME to an unknown target: rcode %s answers %v", dns.RcodeToString[r.Rcode], r.Answer)
	}
}

func TestUDPTruncationAndTCP(t *testing.T) {
	s := StartForTest(t)
	var values []string
	for i := 0; i < 10; i++ {
		values = append(values, fmt.Sprintf("%02d-%s", i, strings.Repeat("x", 100)))
	}
	s.SetTXT("big.contoso.com", values...) // about 1,100 bytes: over 512

	m := new(dns.Msg)
	m.SetQuestion("big.contoso.com.", dns.TypeTXT)
	udp := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
	r, _, err := udp.Exchange(m, s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Truncated || len(r.Answer) >= 10 {
		t.Fatalf("UDP without EDNS0: tc=%v with %d answers, want a truncated answer", r.Truncated, len(r.Answer))
	}

	// A client announcing a 4096-byte buffer gets everything over UDP.
	m.SetEdns0(4096, false)
	r, _, err = udp.Exchange(m, s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if r.Truncated || len(r.Answer) != 10 || r.IsEdns0() == nil {
		t.Fatalf("UDP with EDNS0 4096: tc=%v answers=%d opt=%v", r.Truncated, len(r.Answer), r.IsEdns0())
	}

	r = ask(t, s, "tcp", "big.contoso.com.", dns.TypeTXT)
	if r.Truncated || len(r.Answer) != 10 {
		t.Fatalf("TCP: tc=%v answers=%d, want all 10", r.Truncated, len(r.Answer))
	}
	if s.Queries() != 3 || s.TCPQueries() != 1 {
		t.Fatalf("Queries=%d TCPQueries=%d, want 3 and 1", s.Queries(), s.TCPQueries())
	}
}

func TestSetRcode(t *testing.T) {
	s := StartForTest(t)
	s.SetTXT("contoso.com", "MS=ms1")
	s.SetRcode("contoso.com", dns.RcodeServerFailure)
	if r := ask(t, s, "udp", "contoso.com.", dns.TypeTXT); r.Rcode != dns.RcodeServerFailure || len(r.Answer) != 0 {
		t.Fatalf("rcode %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
	s.SetRcode("contoso.com.", 0)
	if got := txtValues(ask(t, s, "udp", "contoso.com.", dns.TypeTXT)); len(got) != 1 {
		t.Fatalf("after clearing the rcode, TXT = %q", got)
	}
}

func TestCloseStopsServing(t *testing.T) {
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	s.SetTXT("contoso.com", "x")
	ask(t, s, "tcp", "contoso.com.", dns.TypeTXT)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	m := new(dns.Msg)
	m.SetQuestion("contoso.com.", dns.TypeTXT)
	if _, _, err := (&dns.Client{Net: "tcp", Timeout: time.Second}).Exchange(m, s.Addr); err == nil {
		t.Fatal("a TCP query after Close was answered")
	}
}

func TestConcurrentChangesAndQueries(t *testing.T) {
	s := StartForTest(t)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				s.SetTXT("contoso.com", fmt.Sprintf("v%d-%d", w, i))
				_ = s.AddRecord(fmt.Sprintf("contoso.com. 60 IN MX %d mx%d.example.", i, w))
				s.Remove("contoso.com", "MX")
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &dns.Client{Timeout: 5 * time.Second}
			for i := 0; i < 25; i++ {
				m := new(dns.Msg)
				m.SetQuestion("contoso.com.", dns.TypeTXT)
				if _, _, err := c.Exchange(m, s.Addr); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if s.Queries() != 100 {
		t.Fatalf("Queries() = %d, want 100", s.Queries())
	}
}
