package toolhousetest

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind: Close
// must release both servers and the connections of HTTPClient.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
