package fakecloud

import (
	"os"
	"testing"
)

// TestMain removes the process CA directory after the tests (other packages using the fake should
// do the same).
func TestMain(m *testing.M) {
	code := m.Run()
	_ = CleanupProcessCA()
	os.Exit(code)
}
