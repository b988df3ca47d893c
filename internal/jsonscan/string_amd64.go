//go:build amd64 && !purego

package jsonscan

// useAVX2 says whether skipString runs the AVX2 assembly: only where the
// processor has AVX2 and the operating system saves its registers.
var useAVX2 = cpuHasAVX2()

// skipString is skipStringGeneric, 64 bytes at a time with AVX2 where the
// machine has it.
func skipString(data []byte, i int) int {
	if useAVX2 {
		return skipStringAVX2(data, i)
	}
	return skipStringGeneric(data, i)
}

// skipStringAVX2 is skipStringGeneric in AVX2 assembly. It finds the
// quotes, backslashes and control characters of 64 bytes with a few
// vector instructions and checks each escape sequence among them without
// leaving the block. Near the end of data it loads 32 bytes that may
// extend before or after data but never cross into another memory page,
// and ignores the bytes outside data.
//
//go:noescape
func skipStringAVX2(data []byte, i int) int

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

func cpuHasAVX2() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	const osxsave, avx = 1 << 27, 1 << 28
	if _, _, ecx, _ := cpuid(1, 0); ecx&osxsave == 0 || ecx&avx == 0 {
		return false
	}
	const xmmAndYMMState = 6
	if xcr0, _ := xgetbv(); xcr0&xmmAndYMMState != xmmAndYMMState {
		return false
	}
	const avx2 = 1 << 5
	_, ebx, _, _ := cpuid(7, 0)
	return ebx&avx2 != 0
}
