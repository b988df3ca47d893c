//go:build !race

package toolhouse

const raceEnabled = false
