// The functions the SDK client scripts (test/clients/js/stream.mjs,
// test/clients/python/stream.py) call, written for Node.js: they behave as
// the aws-lambda-go test function's handlers of the same names.
//   index.stream      streamifyResponse: {"chunks":N,"pauseMs":M} -> "chunk-0\n" ... N chunks, M ms apart
//   index.streamfail  streams "partial-1\n", "partial-2\n", then throws Error("disk on fire")
//   index.echo        returns the event
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const stream = awslambda.streamifyResponse(async (event, responseStream) => {
  const chunks = event.chunks ?? 3;
  for (let i = 0; i < chunks; i++) {
    if (i > 0) await sleep(event.pauseMs ?? 0);
    responseStream.write(`chunk-${i}\n`);
  }
  responseStream.end();
});

export const streamfail = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.write("partial-1\n");
  await sleep(50);
  responseStream.write("partial-2\n");
  await sleep(50);
  throw new Error("disk on fire");
});

export const echo = async (event) => event;
