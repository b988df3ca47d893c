//go:build !amd64 || purego

package jsonscan

// skipString is skipStringGeneric on machines without an assembly version,
// and in builds with the purego tag.
func skipString(data []byte, i int) int { return skipStringGeneric(data, i) }
