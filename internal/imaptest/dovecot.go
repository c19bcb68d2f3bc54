package imaptest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf16"
)

// RequireDovecotEnv names the environment variable that turns a missing
// Dovecot from a skipped test into a failed one.
const RequireDovecotEnv = "M365_REQUIRE_DOVECOT"

// FindDovecot returns the path of the dovecot binary (PATH, then
// /usr/sbin/dovecot), or "" when it is not installed.
func FindDovecot() string {
	if p, err := exec.LookPath("dovecot"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/dovecot", "/usr/local/sbin/dovecot"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}

// StartDovecot starts a private Dovecot (found with FindDovecot) on 127.0.0.1
// with a self-contained configuration in t.TempDir(): Maildir++ storage
// (delimiter "."), a passwd-file with the users' passwords, and the given
// security ("Ssl" implicit TLS on the port, "Tls" STARTTLS required before
// LOGIN, "None" plain with plaintext LOGIN allowed). The mailboxes are seeded
// by writing message files directly. Dovecot counts connections from
// 127.0.0.1 as secure, so with "Tls" it still accepts LOGIN before STARTTLS
// (StartMemServer does not). Its auth penalty is switched off (it would delay
// every login after a failed one by seconds); a failed LOGIN still takes about
// 0.5s to be answered. Without Dovecot the test is skipped, or
// fails when M365_REQUIRE_DOVECOT=1. Dovecot is killed (whole process group)
// by t.Cleanup.
//
// Run as root, the login processes run as "dovenull" (else "nobody") and the
// mail processes as "nobody", because Dovecot refuses root for both; the
// temporary directories are made traversable (0711) for them. Run as another
// user, everything runs as that user. Dovecot 2.3 is what this was tested with
// (Debian 12: 2.3.19); the 2.4 configuration syntax is written from the 2.4
// documentation and is UNCONFIRMED.
func StartDovecot(t TB, users map[string]User, security string) *Server {
	t.Helper()
	checkSecurity(t, security)
	bin := FindDovecot()
	if bin == "" {
		if os.Getenv(RequireDovecotEnv) == "1" {
			t.Fatalf("imaptest: dovecot not found (PATH, /usr/sbin/dovecot) and %s=1", RequireDovecotEnv)
		}
		t.Skip("imaptest: dovecot not installed (apt-get install dovecot-imapd); set " + RequireDovecotEnv + "=1 to fail instead")
	}
	major, minor, err := dovecotVersion(bin)
	if err != nil {
		t.Fatalf("imaptest: %v", err)
	}
	v24 := major > 2 || (major == 2 && minor >= 4)

	dir := t.TempDir()
	ids, err := pickIdentities()
	if err != nil {
		t.Fatalf("imaptest: %v", err)
	}
	if ids.root {
		// Unprivileged login and mail processes must reach base_dir and the
		// homes: let others traverse (not list) the test's directories.
		for _, d := range []string{dir, filepath.Dir(dir)} {
			if err := os.Chmod(d, 0o711); err != nil {
				t.Fatalf("imaptest: %v", err)
			}
		}
	}
	cert := newServerCert(t)
	for name, data := range map[string][]byte{"cert.pem": cert.certPEM, "key.pem": cert.keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatalf("imaptest: %v", err)
		}
	}

	// Users: passwd-file and seeded Maildirs.
	var passwd bytes.Buffer
	homes := filepath.Join(dir, "home")
	for i, name := range sortedUsers(users) {
		if strings.ContainsAny(name, ":\n\r") || name == "" {
			t.Fatalf("imaptest: user name %q cannot be written to a passwd-file", name)
		}
		home := filepath.Join(homes, strconv.Itoa(i))
		u := users[name]
		fmt.Fprintf(&passwd, "%s:{PLAIN.B64}%s::::%s::\n", name, base64.StdEncoding.EncodeToString([]byte(u.Password)), home)
		if err := seedMaildir(filepath.Join(home, "Maildir"), name, u, v24); err != nil {
			t.Fatalf("imaptest: user %s: %v", name, err)
		}
	}
	if err := os.MkdirAll(homes, 0o711); err != nil {
		t.Fatalf("imaptest: %v", err)
	}
	if ids.root {
		if err := chownTree(homes, ids.mailUID, ids.mailGID); err != nil {
			t.Fatalf("imaptest: %v", err)
		}
	}
	passwdFile := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwdFile, passwd.Bytes(), 0o600); err != nil {
		t.Fatalf("imaptest: %v", err)
	}

	var lastLog string
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("imaptest: %v", err)
		}
		conf := dovecotConfig(confParams{
			dir: dir, port: port, security: security, ids: ids, passwd: passwdFile, v24: v24,
		})
		confFile := filepath.Join(dir, "dovecot.conf")
		if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
			t.Fatalf("imaptest: %v", err)
		}
		srv := &Server{
			Host: "127.0.0.1", Port: port, Security: security, CAPool: cert.pool,
			CACertFile: cert.writeCA(t, dir), Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			Delimiter: '.',
		}
		ok, logText := runDovecot(t, bin, confFile, dir, srv)
		if ok {
			return srv
		}
		lastLog = logText
		if !strings.Contains(logText, "in use") {
			break
		}
	}
	t.Fatalf("imaptest: dovecot did not start:\n%s", lastLog)
	return nil
}

// runDovecot starts dovecot -F and waits until srv answers with a greeting. On
// success the process is registered for cleanup.
func runDovecot(t TB, bin, confFile, dir string, srv *Server) (bool, string) {
	t.Helper()
	logFile := filepath.Join(dir, "dovecot.log")
	stderrFile := filepath.Join(dir, "dovecot.stderr")
	_ = os.Remove(logFile)
	errOut, err := os.Create(stderrFile)
	if err != nil {
		t.Fatalf("imaptest: %v", err)
	}
	// dovecot holds its own copy of the descriptor; closing ours cannot lose its output.
	defer func() { _ = errOut.Close() }()
	cmd := exec.Command(bin, "-F", "-c", confFile)
	cmd.Stdout = errOut
	cmd.Stderr = errOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("imaptest: starting dovecot: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	readLogs := func() string {
		a, _ := os.ReadFile(stderrFile)
		b, _ := os.ReadFile(logFile)
		return string(a) + string(b)
	}

	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false, readLogs()
		default:
		}
		if greeted(srv) {
			t.Cleanup(stop)
			return true, ""
		}
		time.Sleep(25 * time.Millisecond)
	}
	stop()
	return false, "timed out waiting for the IMAP greeting\n" + readLogs()
}

// greeted reports whether the server sends Dovecot's "ready" greeting.
func greeted(srv *Server) bool {
	conn, err := net.DialTimeout("tcp", srv.Addr, time.Second)
	if err != nil {
		return false
	}
	defer func() { _ = conn.Close() }() // a probe: only the greeting matters
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	c := conn
	if srv.Security == SecuritySsl {
		tc := tls.Client(conn, &tls.Config{RootCAs: srv.CAPool, ServerName: srv.Host})
		if err := tc.Handshake(); err != nil {
			return false
		}
		c = tc
	}
	r := bufio.NewReader(c)
	for i := 0; i < 3; i++ {
		line, err := r.ReadString('\n')
		if err != nil {
			return false
		}
		// Dovecot first says "Waiting for authentication process to respond.."
		// while its auth process starts; the real greeting ends with "ready.".
		if strings.HasPrefix(line, "* OK") && strings.Contains(line, "ready") {
			return true
		}
	}
	return false
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		_ = ln.Close()
		return 0, fmt.Errorf("imaptest: listener address %v is not TCP", ln.Addr())
	}
	return addr.Port, ln.Close()
}

var versionRE = regexp.MustCompile(`^(\d+)\.(\d+)`)

func dovecotVersion(bin string) (int, int, error) {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return 0, 0, fmt.Errorf("%s --version: %v", bin, err)
	}
	m := versionRE.FindStringSubmatch(strings.TrimSpace(string(out)))
	if m == nil {
		return 0, 0, fmt.Errorf("%s --version: cannot parse %q", bin, out)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return major, minor, nil
}

// identities are the system users Dovecot's processes run as.
type identities struct {
	root                    bool
	loginUser               string // login processes
	internalUser, internalG string // auth, anvil, ...
	mailUID, mailGID        int    // mail processes (owner of the Maildirs)
}

func pickIdentities() (identities, error) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return identities{}, err
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			return identities{}, err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return identities{loginUser: u.Username, internalUser: u.Username, internalG: g.Name, mailUID: uid, mailGID: gid}, nil
	}
	ids := identities{root: true, internalUser: "root", internalG: "root"}
	for _, name := range []string{"dovenull", "nobody"} {
		if _, err := user.Lookup(name); err == nil {
			ids.loginUser = name
			break
		}
	}
	mail, err := user.Lookup("nobody")
	if err != nil || ids.loginUser == "" {
		return ids, errors.New("running as root, dovecot needs an unprivileged user (dovenull or nobody) for its login and mail processes")
	}
	ids.mailUID, _ = strconv.Atoi(mail.Uid)
	ids.mailGID, _ = strconv.Atoi(mail.Gid)
	return ids, nil
}

func chownTree(root string, uid, gid int) error {
	return filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

type confParams struct {
	dir      string
	port     int
	security string
	ids      identities
	passwd   string
	v24      bool
}

// dovecotConfig renders the configuration for Dovecot 2.3 or 2.4.
func dovecotConfig(p confParams) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	imapPort, imapsPort := p.port, 0
	if p.security == SecuritySsl {
		imapPort, imapsPort = 0, p.port
	}
	ssl := "required"
	if p.security == SecurityNone {
		ssl = "no"
	}
	if p.v24 {
		// UNCONFIRMED: Dovecot 2.4 syntax, from its documentation; not run here.
		w("dovecot_config_version = 2.4.0")
		w("dovecot_storage_version = 2.4.0")
	}
	w("base_dir = %s", filepath.Join(p.dir, "run"))
	w("state_dir = %s", filepath.Join(p.dir, "state"))
	w("log_path = %s", filepath.Join(p.dir, "dovecot.log"))
	w("protocols = imap")
	w("listen = 127.0.0.1")
	w("ssl = %s", ssl)
	if p.v24 {
		w("ssl_server_cert_file = %s", filepath.Join(p.dir, "cert.pem"))
		w("ssl_server_key_file = %s", filepath.Join(p.dir, "key.pem"))
		w("auth_allow_cleartext = %s", yesNo(p.security == SecurityNone))
	} else {
		w("ssl_cert = <%s", filepath.Join(p.dir, "cert.pem"))
		w("ssl_key = <%s", filepath.Join(p.dir, "key.pem"))
		w("disable_plaintext_auth = %s", yesNo(p.security != SecurityNone))
	}
	w("auth_mechanisms = plain login")
	w("auth_failure_delay = 0")
	w("default_login_user = %s", p.ids.loginUser)
	w("default_internal_user = %s", p.ids.internalUser)
	w("default_internal_group = %s", p.ids.internalG)
	w("first_valid_uid = %d", p.ids.mailUID)
	w("first_valid_gid = %d", p.ids.mailGID)
	w("mail_uid = %d", p.ids.mailUID)
	w("mail_gid = %d", p.ids.mailGID)
	if p.v24 {
		w("mail_driver = maildir")
		w("mail_path = ~/Maildir")
		// Replaces 2.3's listescape plugin; seedMaildir escapes with "\".
		w(`mailbox_list_storage_escape_char = "\\"`)
		w("namespace inbox {")
		w("  inbox = yes")
		w("  separator = .")
		w("}")
		w("passdb passwd-file {")
		w("  passwd_file_path = %s", p.passwd)
		w("}")
		w("userdb passwd-file {")
		w("  passwd_file_path = %s", p.passwd)
		w("}")
	} else {
		w("mail_location = maildir:~/Maildir")
		// Folder names containing "/" are stored escaped as "\2f".
		w("mail_plugins = listescape")
		w("passdb {")
		w("  driver = passwd-file")
		w("  args = username_format=%%u %s", p.passwd)
		w("}")
		w("userdb {")
		w("  driver = passwd-file")
		w("  args = username_format=%%u %s", p.passwd)
		w("}")
	}
	w("service imap-login {")
	w("  inet_listener imap {")
	w("    port = %d", imapPort)
	w("  }")
	w("  inet_listener imaps {")
	w("    port = %d", imapsPort)
	w("  }")
	if !p.ids.root {
		w("  chroot =")
	}
	w("}")
	// No auth penalty: Dovecot otherwise delays every login from 127.0.0.1
	// by seconds after a failed one, which tests do on purpose.
	w("service anvil {")
	w("  unix_listener anvil-auth-penalty {")
	w("    mode = 0")
	w("  }")
	if !p.ids.root {
		w("  chroot =")
	}
	w("}")
	return b.String()
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}

// seedMaildir writes the user's folders as Maildir++ (INBOX in root, other
// folders in root/.Level1.Level2) with one file per message in cur/.
func seedMaildir(root, address string, u User, v24 bool) error {
	n := 0
	for _, key := range sortedFolders(u.Folders) {
		levels, err := folderLevels(key, '.')
		if err != nil {
			return err
		}
		dir := root
		if !isInbox(levels) {
			enc := make([]string, len(levels))
			for i, l := range levels {
				if strings.Contains(l, `\`) {
					return fmt.Errorf("folder %q: a backslash in a folder name is not supported", key)
				}
				enc[i] = strings.ReplaceAll(encodeMUTF7(l), "/", `\2f`)
			}
			dir = filepath.Join(root, "."+strings.Join(enc, "."))
		}
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
				return err
			}
		}
		if dir != root {
			if err := os.WriteFile(filepath.Join(dir, "maildirfolder"), nil, 0o600); err != nil {
				return err
			}
		}
		for _, m := range u.Folders[key] {
			n++
			if err := writeMaildirMessage(filepath.Join(dir, "cur"), m, address, n); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeMaildirMessage(cur string, m Message, address string, n int) error {
	tmp := filepath.Join(cur, fmt.Sprintf("seed-%d.tmp", n))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	size, date, err := writeMessage(bw, m, address, n)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	_ = os.Chtimes(tmp, date, date)
	// S= is the file size, W= the size with CRLF line endings; the files are
	// written with CRLF so both are the RFC822.SIZE. ":2," = no flags.
	name := fmt.Sprintf("%d.M%dP%d.imaptest,S=%d,W=%d:2,", date.Unix(), n, os.Getpid(), size, size)
	return os.Rename(tmp, filepath.Join(cur, name))
}

// encodeMUTF7 encodes s in IMAP's modified UTF-7 (RFC 3501 section 5.1.3), the
// form Dovecot 2.3 uses for folder names on disk.
func encodeMUTF7(s string) string {
	var b strings.Builder
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		u := utf16.Encode(run)
		buf := make([]byte, 2*len(u))
		for i, c := range u {
			buf[2*i] = byte(c >> 8)
			buf[2*i+1] = byte(c)
		}
		enc := base64.StdEncoding.WithPadding(base64.NoPadding).EncodeToString(buf)
		b.WriteByte('&')
		b.WriteString(strings.ReplaceAll(enc, "/", ","))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		switch {
		case r == '&':
			flush()
			b.WriteString("&-")
		case r >= 0x20 && r <= 0x7e:
			flush()
			b.WriteRune(r)
		default:
			run = append(run, r)
		}
	}
	flush()
	return b.String()
}
