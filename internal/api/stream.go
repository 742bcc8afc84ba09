package api

import (
	"io"

	"github.com/sluice-dev/sluice"
	"github.com/sluice-dev/sluice/internal/coalesce"
	"github.com/sluice-dev/sluice/internal/eventstream"
)

// streamFrame is the largest PayloadChunk of a stream: the runtime's bytes
// that arrive while the previous frame is being written go out together,
// up to this many (docs/decisions.md, "Stream frames").
const streamFrame = eventstream.MaxChunk

// writeChunks relays the function's output as PayloadChunk frames until
// its end, and returns whether it was cut at sluice.MaxStreamedResponse
// (the first MaxStreamedResponse bytes are relayed) or the error of a
// write to the client. A byte is never held back: whatever has arrived
// when the previous frame is written goes out as the next frame, at once,
// and the response is flushed whenever no more has arrived. On return the
// output has been read to its end (the rest discarded after a cut or a
// client error), so the caller may Close it.
func writeChunks(ew *eventstream.Writer, out io.Reader) (tooLarge bool, err error) {
	cr := coalesce.New(out, streamFrame, eventstream.ChunkHead, eventstream.ChunkTail)
	defer cr.Stop()
	var total int64
	for {
		piece, rerr := cr.Next()
		if rerr != nil {
			return false, nil // io.EOF: the function's result is in its Output
		}
		n := int64(len(piece) - eventstream.ChunkHead)
		if total+n > sluice.MaxStreamedResponse {
			piece = piece[:eventstream.ChunkHead+int(sluice.MaxStreamedResponse-total)]
			tooLarge = true
		}
		total += n
		if err := ew.ChunkFrame(piece, tooLarge || cr.Buffered() == 0); err != nil {
			return false, err
		}
		if tooLarge {
			return true, nil
		}
	}
}
