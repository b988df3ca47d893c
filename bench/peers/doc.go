// Package peers benchmarks toolhouse.Decoder against other JSON decoders
// on the same worker stream (internal/benchstream). It is a module of its
// own so that the SDK's go.mod gains none of their dependencies; its
// tests check that every contender extracts the same fields.
//
//	cd bench/peers && go test -run '^$' -bench . -count 6
package peers
