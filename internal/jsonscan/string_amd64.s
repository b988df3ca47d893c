//go:build amd64 && !purego

#include "textflag.h"

// SPECIAL sets mask to the lanes of v that hold a quote (Y1), a backslash
// (Y2) or a byte <= 0x1f (Y3: max(v, 0x1f) == 0x1f). t is scratch.
#define SPECIAL(v, t, mask) \
	VPCMPEQB v, Y1, mask \
	VPCMPEQB v, Y2, t \
	VPOR     t, mask, mask \
	VPMAXUB  v, Y3, t \
	VPCMPEQB t, Y3, t \
	VPOR     t, mask, mask

// MASKS sets the 32-bit masks of v's lanes: bs the backslashes, qc the
// quotes and control characters, nv the bytes that cannot follow a
// backslash, nh the bytes that are not hex digits, u the 'u's. Y5-Y8 are
// scratch. A byte's class comes from two table lookups, by its low and
// its high four bits (escapeLo/Hi, hexLo/Hi), ANDed: zero means not in
// the class.
#define MASKS(v, bs, qc, nv, nh, u) \
	VPCMPEQB  v, Y2, Y7 \
	VPMOVMSKB Y7, bs \
	VPCMPEQB  v, Y1, Y7 \
	VPMAXUB   v, Y3, Y8 \
	VPCMPEQB  Y8, Y3, Y8 \
	VPOR      Y7, Y8, Y7 \
	VPMOVMSKB Y7, qc \
	VPCMPEQB  v, Y14, Y7 \
	VPMOVMSKB Y7, u \
	VPAND     v, Y9, Y5 \
	VPSRLW    $4, v, Y6 \
	VPAND     Y6, Y9, Y6 \
	VPSHUFB   Y5, Y10, Y7 \
	VPSHUFB   Y6, Y11, Y8 \
	VPAND     Y7, Y8, Y8 \
	VPXOR     Y7, Y7, Y7 \
	VPCMPEQB  Y7, Y8, Y8 \
	VPMOVMSKB Y8, nv \
	VPSHUFB   Y5, Y12, Y8 \
	VPSHUFB   Y6, Y13, Y5 \
	VPAND     Y5, Y8, Y8 \
	VPCMPEQB  Y7, Y8, Y8 \
	VPMOVMSKB Y8, nh

// escapeLo and escapeHi classify the bytes that may follow a backslash,
// " / \ b f n r t u, by their high nibble: 2 (bit 0), 5 (bit 1), 6 (bit 2),
// 7 (bit 3); escapeLo has the bit of each high nibble its low nibble goes
// with.
DATA escapeLo<>+0(SB)/8, $0x00040808000d0000
DATA escapeLo<>+8(SB)/8, $0x0104000200000000
GLOBL escapeLo<>(SB), RODATA|NOPTR, $16
DATA escapeHi<>+0(SB)/8, $0x0804020000010000
DATA escapeHi<>+8(SB)/8, $0x0000000000000000
GLOBL escapeHi<>(SB), RODATA|NOPTR, $16

// hexLo and hexHi classify the hex digits: high nibble 3 with low 0-9
// (bit 0), high nibble 4 or 6 with low 1-6 (bit 1).
DATA hexLo<>+0(SB)/8, $0x0103030303030301
DATA hexLo<>+8(SB)/8, $0x0000000000000101
GLOBL hexLo<>(SB), RODATA|NOPTR, $16
DATA hexHi<>+0(SB)/8, $0x0002000201000000
DATA hexHi<>+8(SB)/8, $0x0000000000000000
GLOBL hexHi<>(SB), RODATA|NOPTR, $16

// func skipStringAVX2(data []byte, i int) int
//
// Registers: SI data, DX len(data), AX the block's offset, R8 the mask of
// bytes still to look at in the block (bit k: data[AX+k]), R12 the block's
// width, R11 &escapeClass.
TEXT ·skipStringAVX2(SB), NOSPLIT, $0-40
	MOVQ data_base+0(FP), SI
	MOVQ data_len+8(FP), DX
	MOVQ i+24(FP), AX
	LEAQ ·escapeClass(SB), R11

	MOVL         $0x22, CX
	VMOVD        CX, X1
	VPBROADCASTB X1, Y1
	MOVL         $0x5c, CX
	VMOVD        CX, X2
	VPBROADCASTB X2, Y2
	MOVL         $0x1f, CX
	VMOVD        CX, X3
	VPBROADCASTB X3, Y3
	MOVL         $0x0f, CX
	VMOVD        CX, X9
	VPBROADCASTB X9, Y9
	MOVL         $0x75, CX
	VMOVD        CX, X14
	VPBROADCASTB X14, Y14
	VBROADCASTI128 escapeLo<>(SB), Y10
	VBROADCASTI128 escapeHi<>(SB), Y11
	VBROADCASTI128 hexLo<>(SB), Y12
	VBROADCASTI128 hexHi<>(SB), Y13

loop64:
	MOVQ DX, BX
	SUBQ AX, BX
	CMPQ BX, $64
	JL   tail
	VMOVDQU (SI)(AX*1), Y0
	VMOVDQU 32(SI)(AX*1), Y4
	SPECIAL(Y0, Y6, Y5)
	SPECIAL(Y4, Y8, Y7)
	VPOR    Y5, Y7, Y8
	VPTEST  Y8, Y8
	JNZ     block64
	ADDQ    $64, AX
	JMP     loop64

block64:
	// The block has a quote, a backslash or a control character. Find
	// them all at once: the masks of both halves, the upper one shifted
	// up by 32. R8: backslashes; R9: quotes and control characters;
	// R10: bytes that cannot follow a backslash; R12: bytes that are not
	// hex digits; R13: 'u's.
	MASKS(Y0, R8, R9, R10, R12, R13)
	MASKS(Y4, BX, CX, DI, R11, DX)
	SHLQ $32, BX
	ORQ  BX, R8
	SHLQ $32, CX
	ORQ  CX, R9
	SHLQ $32, DI
	ORQ  DI, R10
	SHLQ $32, R11
	ORQ  R11, R12
	SHLQ $32, DX
	ORQ  DX, R13
	MOVQ data_len+8(FP), DX
	LEAQ ·escapeClass(SB), R11
	TESTQ R8, R8
	JNZ   escapes
	BSFQ  R9, CX                    // no backslash: the first quote or control character
	ADDQ  CX, AX
	JMP   end

escapes:
	// Which bytes the backslashes escape (simdjson's way, for a block
	// that does not start inside an escape): BX = ((R8<<1 | odd) - R8) ^ odd
	// marks both the escaping backslashes and the escaped bytes.
	MOVQ $0xAAAAAAAAAAAAAAAA, CX
	LEAQ (R8)(R8*1), BX
	ORQ  CX, BX
	SUBQ R8, BX
	XORQ CX, BX
	MOVQ BX, DI
	XORQ R8, DI                     // DI: escaped bytes
	ANDQ R8, BX                     // BX: escaping backslashes
	MOVQ DI, CX
	NOTQ CX
	ANDQ CX, R9                     // R9: quotes and control characters not escaped
	ANDQ DI, R10
	SHRQ $1, R10                    // a backslash before a byte that cannot follow one
	ORQ  R10, R9
	ANDQ DI, R13                    // R13: escaped 'u's, which four hex digits must follow
	MOVQ R12, CX
	SHRQ $1, CX
	SHRQ $2, R12
	ORQ  CX, R12
	MOVQ R12, CX
	SHRQ $2, CX
	ORQ  CX, R12                    // R12: bytes with a non-hex byte among the 4 after them
	ANDQ R12, R13
	SHRQ $1, R13                    // a backslash before a 'u' without four hex digits
	ORQ  R13, R9                    // R9: every byte where the scan stops

	// An escape that starts in the last 6 bytes may not end in the
	// block: the block counts only up to the first such escape, and the
	// next block starts there.
	SHRQ  $58, BX
	JNZ   cut
	TESTQ R9, R9
	JNZ   stopIn
	ADDQ  $64, AX
	JMP   loop64

cut:
	BSFQ  BX, CX
	ADDQ  $58, CX
	MOVQ  $1, BX
	SHLQ  CX, BX
	DECQ  BX
	ANDQ  BX, R9
	JNZ   stopIn
	ADDQ  CX, AX
	JMP   loop64

stopIn:
	BSFQ R9, CX
	ADDQ CX, AX
	JMP  end

tail:
	// BX = len(data) - AX < 64.
	CMPQ BX, $0
	JLE  end
	CMPQ BX, $32
	JL   short
	VMOVDQU   (SI)(AX*1), Y0
	SPECIAL(Y0, Y6, Y5)
	VPMOVMSKB Y5, R8
	MOVQ      $32, R12
	TESTQ     R8, R8
	JNZ       found
	ADDQ      $32, AX
	JMP       loop64

short:
	// 1 <= BX < 32 bytes are left at R10. Load the 32 bytes from R10
	// when they stay in R10's page, else the 32 bytes ending at the end
	// of data (the page offset of R10 is then above 4064, so they start
	// in the same page).
	LEAQ (SI)(AX*1), R10
	MOVQ R10, CX
	ANDQ $4095, CX
	CMPQ CX, $4064
	JA   shortEnd
	VMOVDQU   (R10), Y0
	SPECIAL(Y0, Y6, Y5)
	VPMOVMSKB Y5, R8
	MOVQ      BX, CX
	MOVQ      $1, R9
	SHLQ      CX, R9
	DECQ      R9
	ANDQ      R9, R8
	JMP       shortMask

shortEnd:
	VMOVDQU   -32(R10)(BX*1), Y0
	SPECIAL(Y0, Y6, Y5)
	VPMOVMSKB Y5, R8
	MOVQ      $32, CX
	SUBQ      BX, CX
	SHRQ      CX, R8

shortMask:
	MOVQ  BX, R12
	TESTQ R8, R8
	JNZ   found
	ADDQ  BX, AX
	JMP   end

found:
	// R8 != 0: the lowest set bit R9 is the next byte to look at, at R10.
	BSFQ    R8, R9
	LEAQ    (AX)(R9*1), R10
	MOVBLZX (SI)(R10*1), CX
	CMPQ    CX, $0x5c
	JNE     stop                    // a quote or a control character
	LEAQ    6(R10), CX
	CMPQ    CX, DX
	JA      nearEnd

	// An escape with room for \uXXXX: check both readings without a
	// branch, since which one it is cannot be predicted. BX is the class
	// of the byte after the backslash, R13 the classes of the four after
	// that, ANDed.
	MOVBLZX 1(SI)(R10*1), CX
	MOVBLZX (R11)(CX*1), BX
	MOVBLZX 2(SI)(R10*1), CX
	MOVBLZX (R11)(CX*1), R13
	MOVBLZX 3(SI)(R10*1), CX
	MOVBLZX (R11)(CX*1), CX
	ANDL    CX, R13
	MOVBLZX 4(SI)(R10*1), CX
	MOVBLZX (R11)(CX*1), CX
	ANDL    CX, R13
	MOVBLZX 5(SI)(R10*1), CX
	MOVBLZX (R11)(CX*1), CX
	ANDL    CX, R13
	MOVL    BX, CX
	SHRL    $1, CX
	ANDL    $1, CX                  // CX: 1 for \u, else 0
	SHRL    $2, R13
	ANDL    CX, R13                 // \u followed by four hex digits
	ANDL    $1, BX                  // \" \\ \/ \b \f \n \r \t
	ORL     R13, BX
	JZ      stop                    // not a well-formed escape
	LEAQ    2(R9)(CX*4), R9
	JMP     skipped

nearEnd:
	LEAQ    1(R10), CX
	CMPQ    CX, DX
	JAE     stop                    // data ends after the backslash
	MOVBLZX 1(SI)(R10*1), CX
	MOVBLZX (R11)(CX*1), CX
	TESTQ   $1, CX
	JNZ     simple
	JMP     stop                    // not an escape, or no room for \uXXXX

simple:
	ADDQ $2, R9

skipped:
	// R9 is the block offset just past the escape sequence.
	CMPQ R9, R12
	JAE  beyond
	MOVQ R9, CX
	MOVQ $-1, R10
	SHLQ CX, R10
	ANDQ R10, R8
	JNZ  found
	ADDQ R12, AX
	JMP  loop64

beyond:
	ADDQ R9, AX
	JMP  loop64

stop:
	VZEROUPPER
	MOVQ R10, ret+32(FP)
	RET

end:
	VZEROUPPER
	MOVQ AX, ret+32(FP)
	RET

// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eaxArg+0(FP), AX
	MOVL ecxArg+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET
