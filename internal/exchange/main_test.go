package exchange_test

import (
	"testing"

	"github.com/m365-migration/terraform-provider-m365/internal/testutil"
)

// TestMain is shared by every test file of this package (one per process: add tests, not another
// TestMain).
func TestMain(m *testing.M) { testutil.Main(m) }
