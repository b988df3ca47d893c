//go:build race

package toolhouse

// raceEnabled is true under -race, whose instrumentation makes the
// volume tests (hundreds of MiB, tens of thousands of cycles) ten times
// slower: they shrink or skip, and .ci/run runs them without it.
const raceEnabled = true
