package fakecloud

import (
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/m365-migration/terraform-provider-m365/internal/imaptest"
)

// migFixture is a fake with an Exchange token and an in-memory IMAP server the engine trusts.
type migFixture struct {
	*fixture
	tok  string
	imap *imaptest.Server
}

// Passwords of the seeded IMAP users.
const (
	alicePW = "Alice-pw-7f3a"
	bobPW   = "Bob-pw-91c2"
	carolPW = "Carol-pw-55d0"
)

func sized(n, size int) []imaptest.Message {
	out := make([]imaptest.Message, n)
	for i := range out {
		out[i].Size = size
	}
	return out
}

// migUsers: alice 3×2000 B in INBOX + 2×3000 B in Sent; bob 1×1500 B; carol empty.
func migUsers() map[string]imaptest.User {
	return map[string]imaptest.User{
		"alice@contoso.com": {Password: alicePW, Folders: map[string][]imaptest.Message{
			"INBOX": sized(3, 2000), "Sent": sized(2, 3000)}},
		"bob@contoso.com":   {Password: bobPW, Folders: map[string][]imaptest.Message{"INBOX": sized(1, 1500)}},
		"carol@contoso.com": {Password: carolPW},
	}
}

// migSeed is a default tenant with a licensed user (a mailbox) for each address.
func migSeed(addrs ...string) *Seed {
	seed := DefaultSeed()
	for _, a := range addrs {
		seed.Users = append(seed.Users, SeedUser{User: User{UserPrincipalName: a,
			AssignedLicenses: []AssignedLicense{{SkuID: SkuBusinessPremium}}}})
	}
	return seed
}

// migMailboxes are the target mailboxes of the fake tests.
var migMailboxes = []string{"alice@contoso.com", "bob@contoso.com", "carol@contoso.com"}

func newMigFixture(t *testing.T, opts Options, security string) *migFixture {
	t.Helper()
	if opts.Seed == nil {
		opts.Seed = migSeed(migMailboxes...)
	}
	srv := imaptest.StartMemServer(t, migUsers(), security)
	opts.IMAPRootCAs = append(opts.IMAPRootCAs, srv.CACertFile)
	f := newFixture(t, opts)
	return &migFixture{fixture: f, tok: f.exchangeToken(), imap: srv}
}

// exo runs a cmdlet that must succeed.
func (f *migFixture) exo(cmdlet string, params map[string]any) exoAnswer {
	f.t.Helper()
	resp, b := f.invoke("", f.tok, cmdlet, params, nil)
	if resp.StatusCode != 200 {
		f.t.Fatalf("%s: %d %s", cmdlet, resp.StatusCode, b)
	}
	return decodeExo(f.t, b)
}

// exoFail runs a cmdlet that must fail with status and returns details[0].message's text and the
// exception type.
func (f *migFixture) exoFail(status int, cmdlet string, params map[string]any) (text, typ string) {
	f.t.Helper()
	resp, b := f.invoke("", f.tok, cmdlet, params, nil)
	if resp.StatusCode != status {
		f.t.Fatalf("%s: want %d, got %d %s", cmdlet, status, resp.StatusCode, b)
	}
	_, detail, typ := exoDetail(f.t, b)
	parts := strings.SplitN(detail, "|", 3)
	if len(parts) != 3 {
		f.t.Fatalf("detail not in pipe form: %q", detail)
	}
	return parts[2], typ
}

func (f *migFixture) newEndpoint(name string, extra map[string]any) map[string]any {
	f.t.Helper()
	params := map[string]any{"IMAP": true, "Name": name, "RemoteServer": f.imap.Host, "Port": f.imap.Port,
		"Security": f.imap.Security}
	for k, v := range extra {
		params[k] = v
	}
	return f.exo("New-MigrationEndpoint", params).Value[0]
}

// csvBytes builds a migration CSV from rows of (email, password).
func csvBytes(rows ...[2]string) []byte {
	var b strings.Builder
	b.WriteString("EmailAddress,UserName,Password\r\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%s,%s\r\n", r[0], r[0], r[1])
	}
	return []byte(b.String())
}

// byteArray is the module's CSVData form.
func byteArray(data []byte) map[string]any {
	ints := make([]int, len(data))
	for i, c := range data {
		ints[i] = int(c)
	}
	return map[string]any{"@odata.type": "#Exchange.ByteArrayType", "Data": ints}
}

func (f *migFixture) getBatch(name string) map[string]any {
	f.t.Helper()
	a := f.exo("Get-MigrationBatch", map[string]any{"Identity": name})
	if len(a.Value) != 1 {
		f.t.Fatalf("Get-MigrationBatch %s: %v", name, a.Value)
	}
	return a.Value[0]
}

// waitBatch polls until the batch reaches one of want.
func (f *migFixture) waitBatch(name string, want ...string) map[string]any {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last map[string]any
	for time.Now().Before(deadline) {
		last = f.getBatch(name)
		for _, w := range want {
			if last["Status"] == w {
				return last
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.t.Fatalf("batch %s never reached %v; last %v", name, want, last)
	return nil
}

func (f *migFixture) users(batch string) map[string]map[string]any {
	f.t.Helper()
	a := f.exo("Get-MigrationUser", map[string]any{"BatchId": batch})
	out := map[string]map[string]any{}
	for _, u := range a.Value {
		out[u["EmailAddress"].(string)] = u
	}
	return out
}

// count reads a count that may be a string or a number.
func count(t *testing.T, o map[string]any, key string) int {
	t.Helper()
	switch v := o[key].(type) {
	case string:
		var n int
		if _, err := fmt.Sscan(v, &n); err != nil {
			t.Fatalf("%s = %q", key, v)
		}
		return n
	case float64:
		return int(v)
	}
	t.Fatalf("%s has type %T (%v)", key, o[key], o[key])
	return 0
}

// tlsConfigFor trusts a test IMAP server.
func tlsConfigFor(srv *imaptest.Server) *tls.Config {
	return &tls.Config{RootCAs: srv.CAPool, ServerName: srv.Host}
}
