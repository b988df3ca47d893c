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

	// buf is the read buffer, reused for every line: nothing handed out
	// to a caller may point into it. Its unread data is buf[start:end].
	buf        []byte
	start, end int

	line    int   // number of the last line read (1-based)
	err     error // sticky: io.EOF, a read error or a too-long line
	readErr error // the reader's error, reported once the buffer is drained
	drained bool  // the reader has nothing more to give

	// slab is the free tail of the current slab. Pieces carved from it
	// hold events' lines and unquoted strings; a carved piece is written
	// once and never again, so events stay valid while the decoder reads
	// on, and many small lines share one allocation.
	slab     []byte
	slabNext int // size of the next slab: small for short streams, then up to slabSize

	scan    jsonscan.Scanner // validates lines; its stack is reused
	scratch []byte           // workspace for unquoting escaped strings
}

const (
	// initialBufSize is the read buffer's starting size; it grows (up to
	// the line limit) only for lines longer than about that. Reads of this
	// size already cost far less than scanning what they bring, and a
	// short stream does not pay for a large buffer.
	initialBufSize = 16 << 10
	// minBufLimit keeps reads reasonably sized under a tiny line limit.
	minBufLimit = 4 << 10
	// shrinkAbove is the buffer size beyond which a buffer grown for one
	// huge line is dropped once that line is done, so a single 32 MiB line
	// does not pin 32 MiB for the rest of the stream. Lines up to a couple
	// of MiB keep their buffer, saving a regrowth for each.
	shrinkAbove = 4 << 20
	// slabSize and slabMaxPiece: lines up to slabMaxPiece share slabs of
	// slabSize bytes (at most one allocation per slab); longer ones get
	// their own allocation, so a slab wastes at most slabMaxPiece bytes.
	// The first slab is firstSlabSize, and each next one twice the last.
	slabSize      = 32 << 10
	slabMaxPiece  = 4 << 10
	firstSlabSize = 4 << 10
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
	d.max = min(n, math.MaxInt-1) // room for the newline in bufLimit
}

// Decode reads the next non-blank line into v, as json.Unmarshal would, or
// as an event stream would when v is an *Event. It returns io.EOF at a
// clean end, an error matching io.ErrUnexpectedEOF when the input ends
// inside a line, and an error naming the line number for a malformed line;
// the decoder goes on with the next line after a malformed one.
func (d *Decoder) Decode(v any) error {
	if ev, ok := v.(*Event); ok && ev != nil {
		e, err := d.nextEvent()
		if err == nil {
			*ev = e
		}
		return err
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
// the JSON whitespace around it, and whether a newline ended it. The slice
// points into the read buffer and is valid until the next call.
func (d *Decoder) readLine() (line []byte, terminated bool, err error) {
	for {
		line, terminated, err := d.rawLine()
		if err != nil {
			return nil, false, err
		}
		d.line++
		if line = jsonscan.TrimSpace(line); len(line) > 0 {
			return line, terminated, nil
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
				return nil, false, d.fail(fmt.Errorf("toolhouse: reading NDJSON line %d: %w", d.line+1, d.readErr))
			case scanned == 0:
				return nil, false, d.fail(io.EOF)
			}
			line = d.buf[d.start:d.end]
			d.start = d.end
			return line, false, nil
		}
		d.fill()
	}
}

func (d *Decoder) tooLong() error {
	return fmt.Errorf("toolhouse: NDJSON line %d is longer than %d bytes: %w", d.line+1, d.max, ErrLineTooLong)
}

func (d *Decoder) fail(err error) error {
	d.err = err
	return err
}

// bufLimit is the most the read buffer may hold: one byte more than the
// longest line, so that a line one byte too long is seen without reading
// further.
func (d *Decoder) bufLimit() int {
	return max(d.max+1, minBufLimit)
}

// fill reads more input into the buffer. It is called only when the
// buffer holds no complete line, so everything unread is the start of one
// line: that part moves to the front, and the buffer grows (never past
// bufLimit) when the line fills most of it.
func (d *Decoder) fill() {
	pending := d.end - d.start
	switch {
	case len(d.buf) > shrinkAbove && pending <= initialBufSize/2:
		fresh := make([]byte, min(initialBufSize, d.bufLimit()))
		d.end = copy(fresh, d.buf[d.start:d.end])
		d.buf, d.start = fresh, 0
	case d.start > 0:
		d.end = copy(d.buf, d.buf[d.start:d.end])
		d.start = 0
	}
	if free := len(d.buf) - d.end; free < len(d.buf)/4 || free == 0 {
		d.grow()
	}
	for range maxNoProgress {
		n, err := d.r.Read(d.buf[d.end:])
		if n < 0 || n > len(d.buf)-d.end {
			d.drained, d.readErr = true, errors.New("toolhouse: reader returned an invalid count")
			return
		}
		d.end += n
		if err != nil {
			d.drained = true
			if err != io.EOF {
				d.readErr = err
			}
			return
		}
		if n > 0 {
			return
		}
	}
	d.drained, d.readErr = true, io.ErrNoProgress
}

// grow enlarges the buffer, doubling it up to bufLimit; it jumps straight
// to the limit rather than taking a last step just short of it.
func (d *Decoder) grow() {
	limit := d.bufLimit()
	if len(d.buf) >= limit {
		return
	}
	size := 2 * len(d.buf)
	if size == 0 {
		size = initialBufSize
	}
	if size >= limit-limit/8 {
		size = limit
	}
	grown := make([]byte, size)
	copy(grown, d.buf[:d.end])
	d.buf = grown
}

// carve returns n bytes of memory that nothing else will ever write: a
// piece of the current slab for short lines, a fresh allocation for long
// ones.
func (d *Decoder) carve(n int) []byte {
	if n > slabMaxPiece {
		return make([]byte, n)
	}
	if n > len(d.slab) {
		size := max(d.slabNext, firstSlabSize)
		d.slabNext = min(2*size, slabSize)
		d.slab = make([]byte, size)
	}
	p := d.slab[:n:n]
	d.slab = d.slab[n:]
	return p
}

// clone copies b into carved memory. Long lines skip carve's zeroing.
func (d *Decoder) clone(b []byte) []byte {
	if len(b) > slabMaxPiece {
		c := append([]byte(nil), b...)
		return c[:len(b):len(b)]
	}
	c := d.carve(len(b))
	copy(c, b)
	return c
}
