package graph_test

import (
	"testing"

	"github.com/m365-migration/terraform-provider-m365/internal/testutil"
)

// TestMain is shared by every test file of this package, internal or external (Go allows one per
// test binary): add tests, not another TestMain. It trusts the fake's CA through SSL_CERT_FILE.
func TestMain(m *testing.M) { testutil.Main(m) }
