package rowset

import (
	"fmt"
	"os"
	"testing"
	"time"
	_ "time/tzdata" // the tests need named zones on any machine
)

// testZone becomes the process's Local zone for every test: a zone with a
// non-zero, DST-switching offset, so that a time that loses its location or
// is decoded in UTC shows up as a different value. It is swapped in before
// any test goroutine starts, so the race detector sees no concurrent access.
const testZone = "America/Sao_Paulo"

func TestMain(m *testing.M) {
	loc, err := time.LoadLocation(testZone)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rowset tests: load zone:", err)
		os.Exit(2)
	}
	time.Local = loc
	os.Exit(m.Run())
}
