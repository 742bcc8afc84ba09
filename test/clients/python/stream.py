"""Drives a running sluice with boto3 and prints what botocore saw as JSON lines.

cmd/sluice TestBoto3ClientStreaming runs it and checks the lines, which are the
same as test/clients/js/stream.mjs prints (see the comment at its top):

    usage: python3 stream.py ENDPOINT STREAM_FN STREAMFAIL_FN ECHO_FN MISSING_FN ALIAS CAPPED_FN

STREAM_FN runs the test function's "stream" handler, STREAMFAIL_FN its
"streamfail" handler, ECHO_FN its "echo" handler; MISSING_FN must not exist.
ALIAS names an alias of both ECHO_FN and STREAM_FN (to version 1 of each);
CAPPED_FN is a function with reserved concurrency 0, so every invoke of it is
throttled. Retries are off (max_attempts 1), so a 429 surfaces at once.

botocore puts the modeled members of an error (TooManyRequestsException's
Reason, Type, message, and retryAfterSeconds from the Retry-After header) at
the top level of ClientError.response, beside "Error" and "ResponseMetadata"
(botocore.endpoint.Endpoint._add_modeled_error_fields); "Error" holds only
Code and Message. The throttled lines say where Reason was found ("reasonAt")
and, beyond what stream.mjs prints, list the keys of the response
("responseKeys").
Needs boto3/botocore with InvokeWithResponseStream (>= 1.29.x of 2023; Debian's
python3-boto3 1.26 has not got it). Exits 1 if any call raised unexpectedly,
2 on bad usage, 3 when boto3 is missing or too old.
"""

import json
import sys
import time

try:
    import boto3
    import botocore
    from botocore.config import Config
except ImportError as e:
    print(f"stream.py: cannot import boto3/botocore ({e}): install boto3 for {sys.executable}", file=sys.stderr)
    sys.exit(3)


def main(argv):
    if len(argv) != 8:
        print("usage: python3 stream.py ENDPOINT STREAM_FN STREAMFAIL_FN ECHO_FN MISSING_FN ALIAS CAPPED_FN", file=sys.stderr)
        return 2
    endpoint, stream_fn, streamfail_fn, echo_fn, missing_fn, alias, capped_fn = argv[1:]
    c = boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )
    if not hasattr(c, "invoke_with_response_stream"):
        print(f"stream.py: botocore {botocore.__version__} has no InvokeWithResponseStream: use a newer boto3", file=sys.stderr)
        return 3
    failed = False

    def emit(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    def unexpected(case, e):
        nonlocal failed
        failed = True
        status = None
        if isinstance(e, botocore.exceptions.ClientError):
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        emit({"case": case, "unexpected": {"name": type(e).__name__, "message": str(e), "status": status}})

    def stream(case, fn, payload, qualifier=None):
        """Runs InvokeWithResponseStream (with Qualifier when given) and prints every event with its arrival time."""
        t0 = time.monotonic()

        def t():
            return round((time.monotonic() - t0) * 1000)

        kwargs = {"Qualifier": qualifier} if qualifier is not None else {}
        try:
            r = c.invoke_with_response_stream(FunctionName=fn, Payload=payload.encode(), LogType="Tail", **kwargs)
        except Exception as e:
            return unexpected(case, e)
        emit({"case": case, "t": t(), "response": {
            "status": r.get("StatusCode"),
            "executedVersion": r.get("ExecutedVersion"),
            "contentType": r.get("ResponseStreamContentType"),
        }})
        try:
            for ev in r["EventStream"]:
                if "PayloadChunk" in ev:
                    emit({"case": case, "t": t(), "chunk": ev["PayloadChunk"].get("Payload", b"").decode("utf-8", "replace")})
                elif "InvokeComplete" in ev:
                    emit({"case": case, "t": t(), "complete": ev["InvokeComplete"]})
                else:
                    emit({"case": case, "t": t(), "other": sorted(ev)})
            emit({"case": case, "t": t(), "end": True})
        except Exception as e:
            unexpected(case, e)

    # (a) a stream of chunks written apart in time
    stream("stream", stream_fn, '{"chunks":4,"pauseMs":400}')

    # (b) a stream that fails after two chunks
    stream("streamfail", streamfail_fn, "{}")

    def invoke(case, fn, payload):
        """Runs a buffered Invoke with the log tail and prints what came back."""
        try:
            r = c.invoke(FunctionName=fn, Payload=payload.encode(), LogType="Tail")
            emit({
                "case": case,
                "status": r.get("StatusCode"),
                "payload": r["Payload"].read().decode("utf-8", "replace"),
                "functionError": r.get("FunctionError"),
                "logResult": bool(r.get("LogResult")),
                "executedVersion": r.get("ExecutedVersion"),
            })
        except Exception as e:
            unexpected(case, e)

    # (c) buffered Invoke with the log tail
    invoke("invoke", echo_fn, '{"hello":"world"}')

    # (d) a function that does not exist, buffered and streaming
    for case, call in (("missing-invoke", c.invoke), ("missing-stream", c.invoke_with_response_stream)):
        try:
            call(FunctionName=missing_fn, Payload=b"{}")
            failed = True
            emit({"case": case, "unexpected": {"name": "NoError", "message": "the call succeeded", "status": None}})
        except c.exceptions.ResourceNotFoundException as e:
            emit({
                "case": case,
                "error": type(e).__name__,
                "status": e.response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
                "message": e.response.get("Error", {}).get("Message"),
            })
        except Exception as e:
            unexpected(case, e)

    # (e) through an alias: ALIAS in FunctionName (buffered) and as Qualifier (streaming)
    invoke("alias-invoke", f"{echo_fn}:{alias}", '{"via":"alias"}')
    stream("alias-stream", stream_fn, '{"chunks":2,"pauseMs":50}', qualifier=alias)

    # (f) a function with reserved concurrency 0: throttled, buffered and streaming
    for case, call in (("throttled-invoke", c.invoke), ("throttled-stream", c.invoke_with_response_stream)):
        try:
            call(FunctionName=capped_fn, Payload=b"{}")
            failed = True
            emit({"case": case, "unexpected": {"name": "NoError", "message": "the call succeeded", "status": None}})
        except botocore.exceptions.ClientError as e:
            # Where is the modeled Reason? Look in every place it could be.
            reason, reason_at = None, None
            for at, where in (("response.Reason", e.response), ("response.Error.Reason", e.response.get("Error", {}))):
                if "Reason" in where:
                    reason, reason_at = where["Reason"], at
                    break
            emit({
                "case": case,
                "error": type(e).__name__,
                "typed": isinstance(e, c.exceptions.TooManyRequestsException),
                "status": e.response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
                "message": e.response.get("Error", {}).get("Message"),
                "reason": reason,
                "reasonAt": reason_at,
                "retryAfterSeconds": e.response.get("retryAfterSeconds"),
                "responseKeys": sorted(e.response),
            })
        except Exception as e:
            unexpected(case, e)

    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
