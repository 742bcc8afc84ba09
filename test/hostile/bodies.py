"""Hostile clients against a running sluice's API body handling (issue 9, item 1).

    usage: python3 bodies.py HOST:PORT PID

Opens 20 connections that announce a 70,167,211-byte CreateFunction body with
an unknown access key and send nothing more, and 20 that do the same with the
public development key (test) and trickle 4 KiB a second for 8 seconds. Prints
how many unknown-key connections were answered (403) without sending a body,
and sluice's resident memory (VmRSS of PID) before and after.
"""
import datetime
import socket
import sys
import time


def rss(pid):
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return line.split(":", 1)[1].strip()
    return "?"


def main(addr, pid):
    host, port = addr.rsplit(":", 1)
    now = datetime.datetime.now(datetime.timezone.utc)

    def head(key):
        return ("POST /2015-03-31/functions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                "Content-Length: 70167211\r\nX-Amz-Date: %s\r\nAuthorization: AWS4-HMAC-SHA256 "
                "Credential=%s/%s/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=%s\r\n\r\n"
                % (addr, now.strftime("%Y%m%dT%H%M%SZ"), key, now.strftime("%Y%m%d"), "0" * 64)).encode()

    print("sluice VmRSS before:", rss(pid))
    unknown = [socket.create_connection((host, int(port))) for _ in range(20)]
    for s in unknown:
        s.sendall(head("AKIDUNKNOWN"))
    known = [socket.create_connection((host, int(port))) for _ in range(20)]
    for s in known:
        s.sendall(head("test"))
    for _ in range(8):
        for s in known:
            try:
                s.sendall(b"x" * 4096)
            except OSError:
                pass
        time.sleep(1)
    answered = 0
    for s in unknown:
        s.settimeout(2)
        try:
            if s.recv(100).startswith(b"HTTP/1.1 403"):
                answered += 1
        except OSError:
            pass
    print("unknown-key connections answered 403 without a body: %d / 20" % answered)
    print("sluice VmRSS after:", rss(pid))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], sys.argv[2])
