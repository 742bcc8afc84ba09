// A function URL handler that streams: awslambda.HttpResponseStream.from
// sets status, headers and cookies, then the body follows in chunks.
// Options come from the event (direct invoke) or the query string / path
// (behind a function URL):
//   mode     "chunks" (default) or "sse" (also: path /sse)
//   chunks   how many chunks or events (3)
//   pauseMs  pause between them (100)
//   status   HTTP status (200)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  const q = event.queryStringParameters ?? {};
  const opt = (name, dflt) => event[name] ?? q[name] ?? dflt;
  const mode = event.rawPath === "/sse" ? "sse" : opt("mode", "chunks");
  const chunks = Number(opt("chunks", 3));
  const pause = Number(opt("pauseMs", 100));
  const statusCode = Number(opt("status", 200));

  if (mode === "sse") {
    responseStream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode,
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
    });
    for (let i = 1; i <= chunks; i++) {
      if (i > 1) await sleep(pause);
      responseStream.write(`data: ${JSON.stringify({ n: i, t: Date.now() })}\n\n`);
    }
    responseStream.end();
    return;
  }

  responseStream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode,
    headers: { "content-type": "text/plain; charset=utf-8", "x-sluice-test": "http" },
    cookies: ["session=abc; Path=/; HttpOnly", "theme=dark"],
  });
  for (let i = 1; i <= chunks; i++) {
    if (i > 1) await sleep(pause);
    responseStream.write(`part ${i} at ${Date.now()}\n`);
  }
  responseStream.end();
});
