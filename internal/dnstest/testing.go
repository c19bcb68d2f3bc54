package dnstest

import "testing"

// StartForTest starts a server for the test t, fails t if it cannot, and closes the server when
// t ends.
func StartForTest(t testing.TB) *Server {
	t.Helper()
	s, err := Start()
	if err != nil {
		t.Fatalf("starting the test DNS server: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing the test DNS server %s: %v", s.Addr, err)
		}
	})
	return s
}
