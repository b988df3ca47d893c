package toolhouse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/toolhouseai/toolhouse-go/internal/jsonscan"
)

// DefaultMaxLineSize is the longest NDJSON line a stream accepts unless
// WithMaxLineSize or Decoder.SetMaxLineSize says otherwise.
const DefaultMaxLineSize = 32 << 20

// Decoder reads newline-delimited JSON: one value per line. Blank lines are
// skipped, a last line without a newline is still a line, and a line is
// handed over as soon as its newline arrives (the decoder never waits for
// more input than it needs).
//
// Decoding into an *Event reads the line as a worker's event stream does,
// with a single pass over the line and no reflection.
type Decoder struct {
	r   io.Reader
	max int // longest accepted line

	// buf is the chunk the decoder reads into; its unread data is
	// buf[start:end]. The bytes below end are never written again, so a
	// line that fits in a chunk is handed out as a piece of it: events
	// point into it and stay valid while the decoder reads on, without a
	// copy of their line. Reading goes on in buf[end:], then in a new
	// chunk, which takes over only the start of a line cut by the end of
	// the old one.
	buf        []byte
	start, end int
	chunkNext  int // size of the next chunk: small for short streams, then chunkSize

	// long holds a line too long for a chunk while it is read, in
	// segments of longSegment bytes; the line is then copied out whole,
	// and the segments are reused for the next long line.
	long [][]byte
	// parts is the list of the long line's pieces handed to bytes.Join.
	parts [][]byte

	line    int   // number of the last line read (1-based)
	err     error // sticky: io.EOF, a read error or a too-long line
	readErr error // the reader's error, reported once the buffer is drained
	drained bool  // the reader has nothing more to give

	strs arena            // unquoted strings, and strings copied out of long lines
	scan jsonscan.Scanner // validates lines; its stack is reused
}

const (
	// chunkSize is the size of the chunks short lines are read into,
	// firstChunkSize the first one's; each next one is twice the last.
	// A kept event keeps its chunk (and the other lines in it) alive.
	chunkSize      = 64 << 10
	firstChunkSize = 4 << 10
	// longLine: a line whose start already fills this much of a chunk
	// is read into the long segments instead of moving to a new chunk.
	// Lines longer than that get an allocation of exactly their size.
	longLine = chunkSize / 2
	// longSegment is the size of the long line's segments, and so of each
	// read while a long line is being read (whatever a read brings past
	// the line's end is copied to a chunk).
	longSegment = 64 << 10
	// keepSegments is how many segments the decoder keeps for the next
	// long line: a single 32 MiB line does not pin 32 MiB for the rest of
	// the stream, but lines up to a few MiB reuse their segments.
	keepSegments = 64
	// maxNoProgress bounds how often a reader may return (0, nil) in a
	// row before the decoder gives up, as bufio does.
	maxNoProgress = 100
)

// NewDecoder returns a decoder reading from r, accepting lines up to
// DefaultMaxLineSize (32 MiB).
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: r, max: DefaultMaxLineSize}
}

// SetMaxLineSize sets the longest line the decoder accepts; a longer one is
// an error matching ErrLineTooLong. The decoder never holds much more than
// this in memory. A value of zero or less restores the default.
func (d *Decoder) SetMaxLineSize(n int) {
	if n <= 0 {
		n = DefaultMaxLineSize
	}
	d.max = min(n, math.MaxInt-1) // so that one byte past the limit, d.max+1, is an int
}

// Decode reads the next non-blank line into v, as json.Unmarshal would, or
// as an event stream would when v is an *Event. It returns io.EOF at a
// clean end, an error matching io.ErrUnexpectedEOF when the input ends
// inside a line, and an error naming the line number for a malformed line;
// the decoder goes on with the next line after a malformed one.
func (d *Decoder) Decode(v any) error {
	if ev, ok := v.(*Event); ok && ev != nil {
		return d.readEvent(ev)
	}
	line, terminated, err := d.readLine()
	if err != nil {
		return err
	}
	if err := json.Unmarshal(line, v); err != nil {
		var syn *json.SyntaxError
		if !terminated && errors.As(err, &syn) && d.scan.Valid(line) == jsonscan.Short {
			return d.truncated()
		}
		return fmt.Errorf("toolhouse: NDJSON line %d: %w", d.line, err)
	}
	return nil
}

// truncated is the error for a last line that stops inside its JSON value:
// the body was cut off, which must not pass for a clean end.
func (d *Decoder) truncated() error {
	return fmt.Errorf("toolhouse: NDJSON line %d: input ends inside the line: %w", d.line, io.ErrUnexpectedEOF)
}

// readLine returns the next non-blank line without its newline and without
// the JSON whitespace around it, and whether a newline ended it. The line
// is in memory the decoder never writes again, its capacity cut at its
// end.
func (d *Decoder) readLine() (line []byte, terminated bool, err error) {
	for {
		line, terminated, err := d.rawLine()
		if err != nil {
			return nil, false, err
		}
		d.line++
		if line = jsonscan.TrimSpace(line); len(line) > 0 {
			return line[:len(line):len(line)], terminated, nil
		}
	}
}

// rawLine returns the next line, blank or not, and whether a newline ended
// it. It reads only when the buffer holds no complete line, so a line is
// returned as soon as its newline has arrived.
func (d *Decoder) rawLine() (line []byte, terminated bool, err error) {
	if d.err != nil {
		return nil, false, d.err
	}
	scanned := 0 // bytes of the pending line already searched for '\n'
	for {
		if i := bytes.IndexByte(d.buf[d.start+scanned:d.end], '\n'); i >= 0 {
			n := scanned + i
			if n > d.max {
				return nil, false, d.fail(d.tooLong())
			}
			line = d.buf[d.start : d.start+n]
			d.start += n + 1
			return line, true, nil
		}
		scanned = d.end - d.start
		if scanned > d.max {
			return nil, false, d.fail(d.tooLong())
		}
		if d.drained {
			switch {
			case d.readErr != nil:
				// A broken connection mid-line is not a short last line.
				return nil, false, d.fail(d.readError())
			case scanned == 0:
				return nil, false, d.fail(io.EOF)
			}
			line = d.buf[d.start:d.end]
			d.start = d.end
			return line, false, nil
		}
		if len(d.buf)-d.end < len(d.buf)/8 || d.end == len(d.buf) {
			if scanned >= longLine {
				return d.longLine()
			}
			d.newChunk()
		}
		d.end += d.read(d.buf[d.end:])
	}
}

// newChunk starts a new chunk, taking over the unread start of a line. The
// chunk has room for twice that start, and never much more room than the
// longest line needs.
func (d *Decoder) newChunk() {
	pending := d.buf[d.start:d.end]
	size := max(d.chunkNext, firstChunkSize)
	d.chunkNext = min(2*size, chunkSize)
	for size < 2*len(pending) {
		size *= 2
	}
	size = min(size, max(d.max+1, firstChunkSize))
	d.buf = make([]byte, size)
	d.end = copy(d.buf, pending)
	d.start = 0
}

// longLine reads the rest of a line whose start, buf[start:end], is too
// long for a chunk. The line is read into the long segments and copied
// out in one allocation of its size once its end is known; what the last
// read brought past that end goes back to a chunk.
func (d *Decoder) longLine() (line []byte, terminated bool, err error) {
	// The line's start moves to the segments; nothing refers to where it
	// was, so the chunk can take what follows the line there.
	chunk, from, pending := d.buf, d.start, d.buf[d.start:d.end]
	d.buf, d.start, d.end = nil, 0, 0
	n := 0 // bytes of the line in the segments
	// room returns the free part of the segment that byte n goes to.
	room := func() []byte {
		k := n / longSegment
		if k == len(d.long) {
			d.long = append(d.long, make([]byte, longSegment))
		}
		return d.long[k][n%longSegment:]
	}
	for len(pending) > 0 {
		c := copy(room(), pending)
		pending = pending[c:]
		n += c
	}
	for {
		if d.drained {
			if d.readErr != nil {
				return nil, false, d.fail(d.readError())
			}
			return d.joinLong(n), false, nil
		}
		// Never read more than one byte past the limit.
		r := room()
		r = r[:d.read(r[:min(len(r), d.max+1-n)])]
		if i := bytes.IndexByte(r, '\n'); i >= 0 {
			if n+i > d.max {
				return nil, false, d.fail(d.tooLong())
			}
			line = d.joinLong(n + i)
			after := r[i+1:]
			if len(chunk)-from >= len(after) {
				d.buf, d.start, d.end = chunk, from, from+copy(chunk[from:], after)
			} else {
				d.newChunk()
				if len(after) > len(d.buf) {
					d.buf = make([]byte, len(after)+firstChunkSize)
				}
				d.end = copy(d.buf, after)
			}
			return line, true, nil
		}
		if n += len(r); n > d.max {
			return nil, false, d.fail(d.tooLong())
		}
	}
}

// joinLong returns the first n bytes of the long segments in one
// allocation of their size, and lets go of the segments beyond those kept
// for the next long line.
func (d *Decoder) joinLong(n int) []byte {
	parts := d.parts[:0]
	for k := 0; n > 0; k++ {
		parts = append(parts, d.long[k][:min(n, longSegment)])
		n -= len(parts[k])
	}
	line := bytes.Join(parts, nil) // one allocation, not zeroed first
	clear(parts)
	d.parts = parts[:0]
	if len(d.long) > keepSegments {
		clear(d.long[keepSegments:])
		d.long = d.long[:keepSegments]
	}
	return line[:len(line):len(line)]
}

// read reads into p, which is not empty, and returns how many bytes came.
// It retries a reader that returns nothing and no error, up to
// maxNoProgress times, and records the end of the input or an error.
func (d *Decoder) read(p []byte) int {
	for range maxNoProgress {
		n, err := d.r.Read(p)
		if n < 0 || n > len(p) {
			d.drained, d.readErr = true, errors.New("toolhouse: reader returned an invalid count")
			return 0
		}
		if err != nil {
			d.drained = true
			if err != io.EOF {
				d.readErr = err
			}
			return n
		}
		if n > 0 {
			return n
		}
	}
	d.drained, d.readErr = true, io.ErrNoProgress
	return 0
}

func (d *Decoder) tooLong() error {
	return fmt.Errorf("toolhouse: NDJSON line %d is longer than %d bytes: %w", d.line+1, d.max, ErrLineTooLong)
}

func (d *Decoder) readError() error {
	return fmt.Errorf("toolhouse: reading NDJSON line %d: %w", d.line+1, d.readErr)
}

func (d *Decoder) fail(err error) error {
	d.err = err
	return err
}
