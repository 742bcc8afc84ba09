// Drives a running sluice with the AWS SDK for JavaScript v3 and prints what
// the SDK saw as JSON lines; cmd/sluice TestJSClientStreaming runs it and
// checks the lines. test/clients/python/stream.py prints the same lines with
// boto3.
//
// usage: node stream.mjs ENDPOINT STREAM_FN STREAMFAIL_FN ECHO_FN MISSING_FN ALIAS CAPPED_FN
//
// STREAM_FN runs the test function's "stream" handler, STREAMFAIL_FN its
// "streamfail" handler, ECHO_FN its "echo" handler; MISSING_FN must not exist.
// ALIAS names an alias of both ECHO_FN and STREAM_FN (to version 1 of each);
// CAPPED_FN is a function with reserved concurrency 0, so every invoke of it
// is throttled.
//
// Every line has "case" (stream, streamfail, invoke, missing-invoke,
// missing-stream, alias-invoke, alias-stream, throttled-invoke,
// throttled-stream) and, for the streaming cases, "t": milliseconds since the
// call started, on a monotonic clock. Lines:
//
//	{"case":"stream","t":5,"response":{"status":200,"executedVersion":"$LATEST","contentType":"..."}}
//	{"case":"stream","t":9,"chunk":"chunk-0\n"}
//	{"case":"stream","t":1210,"complete":{"ErrorCode":...,"ErrorDetails":...,"LogResult":...}}
//	{"case":"stream","t":1210,"other":["SomeEvent"]}                        (an event that is neither)
//	{"case":"stream","t":1210,"end":true}                                   (the event stream ended)
//	{"case":"invoke","status":200,"payload":"...","functionError":null,"logResult":true,"executedVersion":"$LATEST"}
//	{"case":"missing-invoke","error":"ResourceNotFoundException","status":404,"message":"..."}
//	{"case":"throttled-invoke","error":"TooManyRequestsException","typed":true,"status":429,"message":"...",
//	 "reason":"ReservedFunctionConcurrentInvocationLimitExceeded","reasonAt":"error.Reason","retryAfterSeconds":"1"}
//	{"case":"...","unexpected":{"name":"...","message":"...","status":...}}  (an exception nobody asked for)
//
// The JS SDK's send() resolves only once the first event has arrived (it reads
// one event ahead), so the "response" line comes at about the first chunk's time.
// alias-invoke and alias-stream print the same lines as invoke and stream.
// For the throttled cases "typed" says whether the error is an instance of the
// SDK's exported TooManyRequestsException class, "reasonAt" where the SDK put
// the modeled Reason member. Retries are off (maxAttempts 1), so a 429
// surfaces at once.
// Exits 1 if any call threw unexpectedly, 2 on bad usage.
import {
  LambdaClient,
  InvokeCommand,
  InvokeWithResponseStreamCommand,
  TooManyRequestsException,
} from "@aws-sdk/client-lambda";

const [endpoint, streamFn, streamFailFn, echoFn, missingFn, alias, cappedFn] = process.argv.slice(2);
if (!cappedFn) {
  console.error("usage: node stream.mjs ENDPOINT STREAM_FN STREAMFAIL_FN ECHO_FN MISSING_FN ALIAS CAPPED_FN");
  process.exit(2);
}

const client = new LambdaClient({
  region: "us-east-1",
  endpoint,
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1,
});
const enc = new TextEncoder();
const dec = new TextDecoder();
let failed = false;

const print = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const errInfo = (e) => ({ name: e?.name, message: e?.message, status: e?.$metadata?.httpStatusCode ?? null });
const unexpected = (kase, e) => {
  failed = true;
  print({ case: kase, unexpected: errInfo(e) });
};

// stream runs InvokeWithResponseStream and prints every event with its arrival time.
// qualifier, when given, is passed as Qualifier.
async function stream(kase, fn, payload, qualifier) {
  const t0 = performance.now();
  const t = () => Math.round(performance.now() - t0);
  let out;
  try {
    out = await client.send(
      new InvokeWithResponseStreamCommand({ FunctionName: fn, Qualifier: qualifier, Payload: enc.encode(payload), LogType: "Tail" }),
    );
  } catch (e) {
    return unexpected(kase, e);
  }
  print({ case: kase, t: t(), response: { status: out.StatusCode, executedVersion: out.ExecutedVersion ?? null, contentType: out.ResponseStreamContentType ?? null } });
  try {
    for await (const ev of out.EventStream) {
      if (ev.PayloadChunk) print({ case: kase, t: t(), chunk: dec.decode(ev.PayloadChunk.Payload ?? new Uint8Array()) });
      else if (ev.InvokeComplete) print({ case: kase, t: t(), complete: ev.InvokeComplete });
      else print({ case: kase, t: t(), other: Object.keys(ev) });
    }
    print({ case: kase, t: t(), end: true });
  } catch (e) {
    unexpected(kase, e);
  }
}

// (a) a stream of chunks written apart in time
await stream("stream", streamFn, '{"chunks":4,"pauseMs":400}');

// (b) a stream that fails after two chunks
await stream("streamfail", streamFailFn, "{}");

// invoke runs a buffered Invoke with the log tail and prints what came back.
async function invoke(kase, fn, payload) {
  try {
    const out = await client.send(new InvokeCommand({ FunctionName: fn, Payload: enc.encode(payload), LogType: "Tail" }));
    print({
      case: kase,
      status: out.StatusCode,
      payload: dec.decode(out.Payload ?? new Uint8Array()),
      functionError: out.FunctionError ?? null,
      logResult: typeof out.LogResult === "string" && out.LogResult.length > 0,
      executedVersion: out.ExecutedVersion ?? null,
    });
  } catch (e) {
    unexpected(kase, e);
  }
}

// (c) buffered Invoke with the log tail
await invoke("invoke", echoFn, '{"hello":"world"}');

// (d) a function that does not exist, buffered and streaming
for (const [kase, command] of [
  ["missing-invoke", new InvokeCommand({ FunctionName: missingFn, Payload: enc.encode("{}") })],
  ["missing-stream", new InvokeWithResponseStreamCommand({ FunctionName: missingFn, Payload: enc.encode("{}") })],
]) {
  try {
    await client.send(command);
    failed = true;
    print({ case: kase, unexpected: { name: "NoError", message: "the call succeeded", status: null } });
  } catch (e) {
    print({ case: kase, error: e.name, status: e.$metadata?.httpStatusCode ?? null, message: e.message });
  }
}

// (e) through an alias: ALIAS in FunctionName (buffered) and as Qualifier (streaming)
await invoke("alias-invoke", `${echoFn}:${alias}`, '{"via":"alias"}');
await stream("alias-stream", streamFn, '{"chunks":2,"pauseMs":50}', alias);

// (f) a function with reserved concurrency 0: throttled, buffered and streaming
for (const [kase, command] of [
  ["throttled-invoke", new InvokeCommand({ FunctionName: cappedFn, Payload: enc.encode("{}") })],
  ["throttled-stream", new InvokeWithResponseStreamCommand({ FunctionName: cappedFn, Payload: enc.encode("{}") })],
]) {
  try {
    await client.send(command);
    failed = true;
    print({ case: kase, unexpected: { name: "NoError", message: "the call succeeded", status: null } });
  } catch (e) {
    print({
      case: kase,
      error: e.name,
      typed: e instanceof TooManyRequestsException,
      status: e.$metadata?.httpStatusCode ?? null,
      message: e.message,
      reason: e.Reason ?? null,
      reasonAt: e.Reason !== undefined ? "error.Reason" : null,
      retryAfterSeconds: e.retryAfterSeconds ?? null,
    });
  }
}

// An event stream left unread can keep a keep-alive socket, and so the
// process, alive: close the client's sockets.
client.destroy();
process.exitCode = failed ? 1 : 0;
