//go:build goexperiment.jsonv2

package peers

import (
	jsonv2 "encoding/json/v2"
	"io"

	"github.com/toolhouseai/toolhouse-go"
)

// encoding/json/v2 exists only with GOEXPERIMENT=jsonv2 (Go 1.25 on). It
// has no no-copy option: its strings are copies. Its defaults (exact-case
// names, valid UTF-8 required) accept this stream as encoding/json does.
func init() {
	contenders = append(contenders, contender{"jsonv2", func(r io.Reader, each func(*toolhouse.Event)) error {
		return eachLine(r, each, func(line []byte, w *wire) error {
			return jsonv2.Unmarshal(line, w)
		})
	}})
}
