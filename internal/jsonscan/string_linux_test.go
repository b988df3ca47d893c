package jsonscan

import (
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSkipStringStaysInItsPages puts strings against pages that cannot be
// read at all: if a scanner loaded a byte across the page boundary before
// or after the string, the test would die of a segmentation fault.
func TestSkipStringStaysInItsPages(t *testing.T) {
	t.Parallel()
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 3*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Munmap(mem) })
	require.NoError(t, syscall.Mprotect(mem[:page], syscall.PROT_NONE))
	require.NoError(t, syscall.Mprotect(mem[2*page:], syscall.PROT_NONE))
	usable := mem[page : 2*page]
	for _, s := range randomStrings(rand.New(rand.NewPCG(13, 14)), 300) {
		if len(s) > page {
			continue
		}
		head := usable[:len(s)]
		copy(head, s)
		checkSkipString(t, head)
		tail := usable[len(usable)-len(s):]
		copy(tail, s)
		checkSkipString(t, tail)
	}
}
