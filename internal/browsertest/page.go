package browsertest

import (
	"encoding/json"
	"strings"
)

// Chunk is one piece of a response as the page saw it: its text and when
// (milliseconds since the page started reading).
type Chunk struct {
	Text string  `json:"text"`
	At   float64 `json:"at"`
}

// Reading is what the page read from one URL.
type Reading struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Chunks  []Chunk           `json:"chunks"`
	Error   string            `json:"error"`
}

// Text is the whole body the page read.
func (r Reading) Text() string {
	var b strings.Builder
	for _, c := range r.Chunks {
		b.WriteString(c.Text)
	}
	return b.String()
}

// Report is what StreamPage posts.
type Report struct {
	Fetch Reading `json:"fetch"`
	SSE   Reading `json:"sse"`
}

// StreamPage is a page that reads fetchURL with fetch() and a stream
// reader, and sseURL with EventSource (closing it after sseEvents
// messages; "" skips it), timing every chunk or message, then reports a
// Report.
func StreamPage(fetchURL, sseURL string, sseEvents int) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	n, _ := json.Marshal(sseEvents)
	return `<!doctype html><html><body><pre id="out"></pre><script>
const REPORT_URL = "{{REPORT_URL}}";
const FETCH_URL = ` + q(fetchURL) + `, SSE_URL = ` + q(sseURL) + `, SSE_EVENTS = ` + string(n) + `;
async function readFetch() {
  const r = {status: 0, headers: {}, chunks: [], error: ""};
  try {
    const t0 = performance.now();
    const res = await fetch(FETCH_URL, {method: "POST", body: JSON.stringify({from: "browser"})});
    r.status = res.status;
    res.headers.forEach((v, k) => { r.headers[k] = v; });
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    for (;;) {
      const {done, value} = await reader.read();
      if (done) break;
      r.chunks.push({text: dec.decode(value, {stream: true}), at: performance.now() - t0});
    }
  } catch (e) { r.error = String(e); }
  return r;
}
function readSSE() {
  return new Promise((resolve) => {
    const r = {status: 0, headers: {}, chunks: [], error: ""};
    if (!SSE_URL) { resolve(r); return; }
    const t0 = performance.now();
    const es = new EventSource(SSE_URL);
    const timer = setTimeout(() => { r.error = "timeout"; es.close(); resolve(r); }, 30000);
    es.onmessage = (ev) => {
      r.chunks.push({text: ev.data, at: performance.now() - t0});
      if (r.chunks.length >= SSE_EVENTS) { clearTimeout(timer); es.close(); resolve(r); }
    };
    es.onerror = () => { if (r.chunks.length < SSE_EVENTS) { r.error = "EventSource error after " + r.chunks.length + " messages"; clearTimeout(timer); es.close(); resolve(r); } };
  });
}
(async () => {
  const [f, s] = await Promise.all([readFetch(), readSSE()]);
  document.getElementById("out").textContent = JSON.stringify({fetch: f, sse: s});
  await fetch(REPORT_URL, {method: "POST", body: JSON.stringify({fetch: f, sse: s})});
})();
</script></body></html>`
}
