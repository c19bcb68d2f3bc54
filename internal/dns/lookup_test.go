package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/dnstest"
)

func newResolver(s *dnstest.Server) Resolver {
	return Resolver{Server: s.Addr, Timeout: 5 * time.Second}
}

func TestLookupTXTRuntimeChanges(t *testing.T) {
	s := dnstest.StartForTest(t)
	r := newResolver(s)
	ctx := context.Background()

	got, err := r.LookupTXT(ctx, "contoso.com")
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("before any record: %q, %v; want an empty non-nil slice and no error (NXDOMAIN)", got, err)
	}

	s.SetTXT("contoso.com", "v=spf1 include:spf.mail.qq.com ~all", "MS=ms12345678")
	got, err = r.LookupTXT(ctx, "Contoso.com.")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"MS=ms12345678", "v=spf1 include:spf.mail.qq.com ~all"} // sorted
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("TXT = %q, want %q", got, want)
	}

	s.SetTXT("contoso.com", "MS=ms87654321")
	if got, _ = r.LookupTXT(ctx, "contoso.com"); !reflect.DeepEqual(got, []string{"MS=ms87654321"}) {
		t.Fatalf("after the change, TXT = %q", got)
	}
	if s.Queries() != 3 {
		t.Fatalf("the server answered %d queries, want 3 (no caching)", s.Queries())
	}
}

func TestLookupNoData(t *testing.T) {
	s := dnstest.StartForTest(t)
	if err := s.AddRecord("contoso.com. 3600 IN MX 5 mxbiz1.qq.com."); err != nil {
		t.Fatal(err)
	}
	s.SetTXT("_dmarc.contoso.com", "v=DMARC1; p=none")
	r := newResolver(s)
	ctx := context.Background()
	if got, err := r.LookupTXT(ctx, "contoso.com"); err != nil || len(got) != 0 {
		t.Fatalf("TXT of a name with only MX = %q, %v", got, err)
	}
	if got, err := r.LookupMX(ctx, "_dmarc.contoso.com"); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("MX of a name with only TXT = %v, %v", got, err)
	}
	if got, err := r.LookupMX(ctx, "nothing.contoso.com"); err != nil || len(got) != 0 {
		t.Fatalf("MX of an unknown name = %v, %v", got, err)
	}
	if got, err := r.LookupCNAME(ctx, "contoso.com"); err != nil || got != "" {
		t.Fatalf("CNAME of a name without one = %q, %v", got, err)
	}
	if got, err := r.LookupCNAME(ctx, "nothing.contoso.com"); err != nil || got != "" {
		t.Fatalf("CNAME of an unknown name = %q, %v", got, err)
	}
}

func TestLookupLongAndEscapedTXT(t *testing.T) {
	s := dnstest.StartForTest(t)
	dkim := "v=DKIM1; k=rsa; p=" + strings.Repeat("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", 10) // 459 bytes
	odd := `quote " backslash \ 中文 tab` + "\t"
	s.SetTXT("selector1._domainkey.contoso.com", dkim)
	s.SetTXT("odd.contoso.com", odd)
	r := newResolver(s)

	got, err := r.LookupTXT(context.Background(), "selector1._domainkey.contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != dkim {
		t.Fatalf("long TXT came back as %d values, first %d bytes; want the %d-byte value whole", len(got), len(first(got)), len(dkim))
	}
	got, err = r.LookupTXT(context.Background(), "odd.contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != odd {
		t.Fatalf("TXT with special bytes = %q, want %q", got, odd)
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func TestLookupTCPFallback(t *testing.T) {
	s := dnstest.StartForTest(t)
	var want []string
	for i := 0; i < 12; i++ {
		want = append(want, fmt.Sprintf("v%02d=%s", i, strings.Repeat("y", 200)))
	}
	s.SetTXT("big.contoso.com", want...) // about 2,500 bytes: over the 1,232 announced over UDP
	got, err := newResolver(s).LookupTXT(context.Background(), "big.contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %d values, want all %d", len(got), len(want))
	}
	if s.Queries() != 2 || s.TCPQueries() != 1 {
		t.Fatalf("queries %d (tcp %d); want one truncated UDP answer, then one over TCP", s.Queries(), s.TCPQueries())
	}

	// A small answer stays on UDP.
	s.SetTXT("small.contoso.com", "MS=ms1")
	if _, err := newResolver(s).LookupTXT(context.Background(), "small.contoso.com"); err != nil {
		t.Fatal(err)
	}
	if s.TCPQueries() != 1 {
		t.Fatalf("a small answer went over TCP too (tcp queries %d)", s.TCPQueries())
	}
}

func TestLookupMXSorted(t *testing.T) {
	s := dnstest.StartForTest(t)
	for _, rr := range []string{
		"contoso.com. 600 IN MX 10 MXBIZ2.qq.com.",
		"contoso.com. 600 IN MX 5 mxbiz1.qq.com.",
		"contoso.com. 600 IN MX 5 aaa.example.net.",
		"contoso.com. 3600 IN MX 32767 ms12345678.msv1.invalid.",
	} {
		if err := s.AddRecord(rr); err != nil {
			t.Fatal(err)
		}
	}
	r := newResolver(s)
	got, err := r.LookupMX(context.Background(), "contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	want := []MX{{"aaa.example.net", 5}, {"mxbiz1.qq.com", 5}, {"mxbiz2.qq.com", 10}, {"ms12345678.msv1.invalid", 32767}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("MX = %v, want %v", got, want)
	}

	// The cutover: the Exmail MX records go, Microsoft's arrives.
	s.Remove("contoso.com", "MX")
	if err := s.AddRecord("contoso.com. 3600 IN MX 0 contoso-com.mail.protection.outlook.com."); err != nil {
		t.Fatal(err)
	}
	got, err = r.LookupMX(context.Background(), "contoso.com")
	if err != nil || !reflect.DeepEqual(got, []MX{{"contoso-com.mail.protection.outlook.com", 0}}) {
		t.Fatalf("after the cutover MX = %v, %v", got, err)
	}
}

func TestLookupCNAME(t *testing.T) {
	s := dnstest.StartForTest(t)
	for _, rr := range []string{
		"autodiscover.contoso.com. 3600 IN CNAME Autodiscover.Outlook.com.",
		"autodiscover.outlook.com. 60 IN CNAME autod.ha-autod.office.com.",
		"alias.contoso.com. 60 IN CNAME contoso.com.",
	} {
		if err := s.AddRecord(rr); err != nil {
			t.Fatal(err)
		}
	}
	s.SetTXT("contoso.com", "MS=ms42")
	r := newResolver(s)
	got, err := r.LookupCNAME(context.Background(), "autodiscover.contoso.com")
	if err != nil || got != "autodiscover.outlook.com" {
		t.Fatalf("CNAME = %q, %v; want the first hop autodiscover.outlook.com", got, err)
	}
	// TXT through a CNAME: the answer's chain is followed.
	txt, err := r.LookupTXT(context.Background(), "alias.contoso.com")
	if err != nil || !reflect.DeepEqual(txt, []string{"MS=ms42"}) {
		t.Fatalf("TXT via CNAME = %q, %v", txt, err)
	}
}

func TestLookupServerFailureNamesServer(t *testing.T) {
	s := dnstest.StartForTest(t)
	s.SetTXT("contoso.com", "MS=ms1")
	s.SetRcode("contoso.com", 2) // SERVFAIL
	_, err := newResolver(s).LookupTXT(context.Background(), "contoso.com")
	if err == nil {
		t.Fatal("SERVFAIL gave no error")
	}
	for _, part := range []string{s.Addr, "SERVFAIL", "contoso.com", "TXT"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not mention %q", err, part)
		}
	}
	s.SetRcode("contoso.com", 5)
	if _, err := newResolver(s).LookupMX(context.Background(), "contoso.com"); err == nil || !strings.Contains(err.Error(), "REFUSED") {
		t.Fatalf("REFUSED: err = %v", err)
	}
}

// silentServer opens a UDP socket on loopback that never reads, so queries sent to it go
// unanswered.
func silentServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc.LocalAddr().String()
}

func TestLookupTimeout(t *testing.T) {
	addr := silentServer(t)
	r := Resolver{Server: addr, Timeout: 300 * time.Millisecond}
	start := time.Now()
	_, err := r.LookupTXT(context.Background(), "contoso.com")
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("a server that never answers gave no error")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %q does not match context.DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name the server %s", err, addr)
	}
	if elapsed < 250*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("gave up after %v, want about the 300ms timeout", elapsed)
	}
}

func TestLookupContextDeadlineAndCancel(t *testing.T) {
	addr := silentServer(t)
	r := Resolver{Server: addr, Timeout: time.Minute}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.LookupMX(ctx, "contoso.com")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Fatalf("with a 200ms context deadline: err %v after %v", err, time.Since(start))
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(150*time.Millisecond, cancel)
	start = time.Now()
	_, err = r.LookupCNAME(ctx, "autodiscover.contoso.com")
	if !errors.Is(err, context.Canceled) || time.Since(start) > 3*time.Second {
		t.Fatalf("after cancellation: err %v after %v", err, time.Since(start))
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name the server", err)
	}
}

func TestLookupBadName(t *testing.T) {
	s := dnstest.StartForTest(t)
	r := newResolver(s)
	for _, name := range []string{"", "  ", "a..b", strings.Repeat("x", 64) + ".com"} {
		if _, err := r.LookupTXT(context.Background(), name); err == nil {
			t.Errorf("LookupTXT(%q) gave no error", name)
		}
	}
	if s.Queries() != 0 {
		t.Fatalf("invalid names were sent to the server (%d queries)", s.Queries())
	}
}

func TestResolverServer(t *testing.T) {
	dir := t.TempDir()
	old := resolvConfPath
	t.Cleanup(func() { resolvConfPath = old })

	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	resolvConfPath = write("v4", "# comment\nsearch corp.example\nnameserver 10.1.2.3\nnameserver 10.1.2.4\n")
	if got, err := (Resolver{}).server(); err != nil || got != "10.1.2.3:53" {
		t.Errorf("from resolv.conf: %q, %v; want the first nameserver 10.1.2.3:53", got, err)
	}
	resolvConfPath = write("v6", "nameserver 2001:db8::53\n")
	if got, err := (Resolver{}).server(); err != nil || got != "[2001:db8::53]:53" {
		t.Errorf("IPv6 from resolv.conf: %q, %v", got, err)
	}
	resolvConfPath = write("empty", "search corp.example\n")
	if _, err := (Resolver{}).server(); err == nil || !strings.Contains(err.Error(), "no nameserver") || strings.Contains(err.Error(), "8.8.8.8") {
		t.Errorf("resolv.conf without nameserver: err %v; want an error and no public fallback", err)
	}
	resolvConfPath = filepath.Join(dir, "missing")
	if _, err := (Resolver{}).server(); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing resolv.conf: err %v", err)
	}
	// A lookup without a server fails before sending anything.
	if _, err := (Resolver{}).LookupTXT(context.Background(), "contoso.com"); err == nil {
		t.Error("LookupTXT without any server gave no error")
	}

	for in, want := range map[string]string{
		"127.0.0.1:5353":    "127.0.0.1:5353",
		"192.0.2.1":         "192.0.2.1:53",
		"ns1.example.net":   "ns1.example.net:53",
		"::1":               "[::1]:53",
		"[2001:db8::1]":     "[2001:db8::1]:53",
		"[2001:db8::1]:553": "[2001:db8::1]:553",
	} {
		if got, err := (Resolver{Server: in}).server(); err != nil || got != want {
			t.Errorf("server(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := (Resolver{Server: "a:b:c:zz"}).server(); err == nil {
		t.Error(`server("a:b:c:zz") gave no error`)
	}
}

func TestUnescapeTXT(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:          "plain",
		`a\"b\\c`:        `a"b\c`,
		`\228\184\173x`:  "中x",
		`\009end`:        "\tend",
		`\12`:            "12", // not a full \DDD: the backslash escapes '1'
		`semi\;colon`:    "semi;colon",
		`\255\000`:       "\xff\x00",
		`ends with \065`: "ends with A",
	} {
		got, err := unescapeTXT(in)
		if err != nil || got != want {
			t.Errorf("unescapeTXT(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`trailing\`, `\256`} {
		if _, err := unescapeTXT(bad); err == nil {
			t.Errorf("unescapeTXT(%q) gave no error", bad)
		}
	}
}
