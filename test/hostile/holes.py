"""Three of issue 9's smaller holes, against a running sluice (item 9).

    usage: python3 holes.py HOST:PORT STDERR_FILE

sluice must run with the development key (test/test) and its stderr in
STDERR_FILE, e.g. `sluice serve --sandbox none 2>sluice.err`. Needs boto3.

1. Function logs: a function (a Python bootstrap speaking the Runtime API)
   prints 100 MiB to stdout in one invocation. Prints how many bytes sluice's
   stderr grew by, whether a LOGS_DROPPED line is there, and the size of the
   invocation's LogResult tail.
2. Code download: GetFunction's Code.Location, fetched as given and without
   its query string. Prints both statuses.
3. Unsigned payload: an Invoke signed over UNSIGNED-PAYLOAD whose body is
   swapped after signing. Prints the status and error type.
"""
import base64
import datetime
import hashlib
import hmac
import io
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile

import boto3

BOOTSTRAP = r'''#!/usr/bin/python3
import os, sys, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
line = b"x" * 1023 + b"\n"
chunk = line * 64
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        r.read()
    for _ in range(100 * 16):
        sys.stdout.buffer.write(chunk)
    sys.stdout.buffer.write(b"last line of " + rid.encode() + b"\n")
    sys.stdout.flush()
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=b'"done"', method="POST")).read()
'''


def package():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o100755 << 16
        z.writestr(info, BOOTSTRAP)
    return buf.getvalue()


def status(url):
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, len(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read()[:200]


def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def unsigned_invoke(addr, name, sent):
    """POSTs sent to Invoke, signed over UNSIGNED-PAYLOAD (so over no body at all)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    path = "/2015-03-31/functions/%s/invocations" % name
    headers = {"host": addr, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": amz}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(["POST", path, "", "".join("%s:%s\n" % (k, headers[k]) for k in sorted(headers)), signed, "UNSIGNED-PAYLOAD"])
    scope = "%s/us-east-1/lambda/aws4_request" % day
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = sign(sign(sign(sign(b"AWS4test", day), "us-east-1"), "lambda"), "aws4_request")
    auth = "AWS4-HMAC-SHA256 Credential=test/%s, SignedHeaders=%s, Signature=%s" % (scope, signed, hmac.new(key, sts.encode(), hashlib.sha256).hexdigest())
    req = urllib.request.Request("http://%s%s" % (addr, path), data=sent, method="POST",
                                 headers={"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD", "X-Amz-Date": amz, "Authorization": auth})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.headers.get("X-Amzn-ErrorType"), r.read()[:100]
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("X-Amzn-ErrorType"), e.read()[:200]


def main(addr, stderr_file):
    client = boto3.client("lambda", endpoint_url="http://" + addr, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    name = "holes-%d" % os.getpid()
    client.create_function(FunctionName=name, Runtime="provided.al2023", Handler="x", Timeout=120,
                           Role="arn:aws:iam::000000000000:role/x", Code={"ZipFile": package()})
    client.get_waiter("function_active_v2").wait(FunctionName=name)
    try:
        before = os.path.getsize(stderr_file)
        t0 = time.monotonic()
        out = client.invoke(FunctionName=name, LogType="Tail", Payload=b"{}")
        took = time.monotonic() - t0
        time.sleep(0.5)
        with open(stderr_file, "rb") as f:
            f.seek(before)
            grown = f.read()
        tail = base64.b64decode(out.get("LogResult", ""))
        print("1. 100 MiB printed: invoke %s in %.1f s; sluice's stderr grew by %d bytes; LOGS_DROPPED line: %s; tail %d bytes, ends with REPORT: %s"
              % (out["Payload"].read().decode(), took, len(grown), b"LOGS_DROPPED" in grown, len(tail), b"REPORT RequestId" in tail.splitlines()[-1] if tail else False))

        loc = client.get_function(FunctionName=name)["Code"]["Location"]
        bare = urllib.parse.urlsplit(loc)._replace(query="").geturl()
        print("2. Code.Location as given: %s; without its query: %s" % (status(loc)[0], status(bare)))

        print("3. Invoke signed over UNSIGNED-PAYLOAD, body swapped: %s" % (unsigned_invoke(addr, name, b"{\"swapped\":true}"),))
    finally:
        client.delete_function(FunctionName=name)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
