"""A hostile Python function for the sandbox tests (handler probe.handler).

Takes {"op": ..., ...} like the Go test function's probe handler and answers
a JSON object; an expected failure is {"ok": false, "error": "<errno text in
lower case, as Go prints it>", "detail": "..."}.

  read {path}   -> content (first 4 KiB)
  list {path}   -> names (sorted)
  write {path, data}
  whoami        -> uid, gid, cwd
  procs         -> procs: [{pid, comm, uid}]
  alloc {mb}    -> allocates and touches mb MiB
  env           -> env: the process's environment
"""
import os


def _fail(e):
    text = os.strerror(e.errno) if getattr(e, "errno", None) else str(e)
    return {"ok": False, "error": text[:1].lower() + text[1:], "detail": repr(e)}


def handler(event, context):
    op = event.get("op")
    path = event.get("path", "")
    try:
        if op == "read":
            with open(path, "rb") as f:
                return {"ok": True, "content": f.read(4096).decode("utf-8", "replace")}
        if op == "list":
            return {"ok": True, "names": sorted(os.listdir(path))}
        if op == "write":
            with open(path, "w") as f:
                f.write(event.get("data", ""))
            return {"ok": True}
        if op == "whoami":
            return {"ok": True, "uid": os.getuid(), "gid": os.getgid(), "cwd": os.getcwd()}
        if op == "procs":
            procs = []
            for name in os.listdir("/proc"):
                if not name.isdigit():
                    continue
                try:
                    with open("/proc/%s/comm" % name) as f:
                        comm = f.read().strip()
                    uid = os.stat("/proc/" + name).st_uid
                except OSError:
                    continue
                procs.append({"pid": int(name), "comm": comm, "uid": uid})
            return {"ok": True, "procs": procs}
        if op == "env":
            return {"ok": True, "env": dict(os.environ)}
        if op == "alloc":
            n = event["mb"] << 20
            b = bytearray(n)
            b[::4096] = b"\x01" * len(range(0, n, 4096))
            return {"ok": True, "bytes": len(b)}
    except OSError as e:
        return _fail(e)
    return {"ok": False, "error": "unknown op %r" % op}
