// Package clitest holds what the tests of the repository's commands
// (cmd/toolhouse, cmd/toolhouse-fake) share to run them as programs: the
// command built once per test binary, and a buffer for the output of a
// process that is still running. Nothing but those tests imports it.
package clitest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Binary is the command of the package under test, built by Path the first
// time a test needs it, so that tests which run it share one build and
// tests which do not run it cost none. TestMain calls Remove once the
// tests are done.
type Binary struct {
	Name string // the executable's file name, such as "toolhouse"

	once sync.Once
	dir  string
	path string
	err  error
}

// Path returns the built command, building it on the first call with
// `go build` in the test's working directory (the package's own). A build
// that fails fails t, and every later caller, with go build's output.
func (b *Binary) Path(t testing.TB) string {
	t.Helper()
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", b.Name); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, b.Name)
		if out, err := exec.Command("go", "build", "-o", b.path, ".").CombinedOutput(); err != nil {
			b.err = fmt.Errorf("building %s: %v\n%s", b.Name, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Remove deletes the built command, if Path built it. Call it after the
// tests, when nothing runs the command any more.
func (b *Binary) Remove() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// Buffer is a bytes.Buffer that a running command's output goroutine and
// the test may use at once.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
