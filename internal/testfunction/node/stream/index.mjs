// A streaming handler: N chunks, pauseMs apart, optionally throwing mid-stream.
//   {"chunks":3,"pauseMs":100}            chunk 1\n, chunk 2\n, chunk 3\n
//   {"parts":["a","b"],"pauseMs":300}     the given parts instead
//   {"throwAfter":1}                      throws a RangeError after the first chunk
//   {"contentType":"text/plain"}          the response's content type
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  const parts = Array.isArray(event.parts) ? event.parts : null;
  const chunks = parts ? parts.length : (event.chunks ?? 3);
  const pause = event.pauseMs ?? 100;
  responseStream.setContentType(event.contentType ?? "text/plain");
  for (let i = 1; i <= chunks; i++) {
    if (i > 1) await sleep(pause);
    if (event.throwAfter !== undefined && i > event.throwAfter) {
      throw new RangeError(`stream broke after ${event.throwAfter} chunks`);
    }
    console.log(`writing chunk ${i} at ${Date.now()}`);
    responseStream.write(parts ? String(parts[i - 1]) : `chunk ${i}\n`);
  }
  responseStream.end();
});
