package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestDomainVerificationFlags(t *testing.T) {
	var help bytes.Buffer
	if code := run([]string{"-h"}, &help); code != 0 {
		t.Fatalf("-h exit code %d", code)
	}
	for _, flag := range []string{"-dns-server", "-auto-verify"} {
		if !strings.Contains(help.String(), flag) {
			t.Fatalf("-h does not list %s:\n%s", flag, help.String())
		}
	}
	var stderr bytes.Buffer
	if code := run([]string{"-dns-server", "not-host-port"}, &stderr); code != 2 || !strings.Contains(stderr.String(), "dns_server") {
		t.Fatalf("invalid -dns-server: exit %d, %s", code, stderr.String())
	}
}

func TestTimingFlags(t *testing.T) {
	var help bytes.Buffer
	if code := run([]string{"-h"}, &help); code != 0 {
		t.Fatalf("-h exit code %d", code)
	}
	for _, flag := range []string{"-timing", "-mailbox-provision-delay", "-mailbox-provision-jitter"} {
		if !strings.Contains(help.String(), flag) {
			t.Fatalf("-h does not list %s:\n%s", flag, help.String())
		}
	}
	var stderr bytes.Buffer
	if code := run([]string{"-timing", "slow"}, &stderr); code != 2 || !strings.Contains(stderr.String(), `"realistic"`) {
		t.Fatalf("invalid -timing: exit %d, %s", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"-mailbox-provision-jitter", "-1s"}, &stderr); code != 2 || !strings.Contains(stderr.String(), "mailbox_provision_jitter") {
		t.Fatalf("negative jitter: exit %d, %s", code, stderr.String())
	}
}
