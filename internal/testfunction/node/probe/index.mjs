// A hostile Node.js function for the sandbox tests (handler index.handler),
// answering like internal/testfunction/python/probe.py: {"op": ...} in,
// {"ok": ...} out; an expected failure is {"ok": false, "error": "<errno
// text, as Go prints it>", "detail": "..."}.
import fs from "node:fs";
import os from "node:os";

const fail = (e) => {
  // "ENOENT: no such file or directory, open '/x'" -> "no such file or directory"
  const m = /^[A-Z]+: ([^,]+)/.exec(e.message ?? "");
  return { ok: false, error: m ? m[1] : String(e), detail: String(e) };
};

export const handler = async (event) => {
  const { op, path } = event;
  try {
    switch (op) {
      case "read":
        return { ok: true, content: fs.readFileSync(path).subarray(0, 4096).toString() };
      case "list":
        return { ok: true, names: fs.readdirSync(path).sort() };
      case "write":
        fs.writeFileSync(path, event.data ?? "");
        return { ok: true };
      case "whoami":
        return { ok: true, uid: process.getuid(), gid: process.getgid(), cwd: process.cwd(), hostname: os.hostname() };
      case "procs": {
        const procs = [];
        for (const name of fs.readdirSync("/proc")) {
          if (!/^\d+$/.test(name)) continue;
          try {
            const comm = fs.readFileSync(`/proc/${name}/comm`, "utf8").trim();
            procs.push({ pid: Number(name), comm, uid: fs.statSync(`/proc/${name}`).uid });
          } catch { /* gone */ }
        }
        return { ok: true, procs };
      }
      case "env":
        return { ok: true, env: { ...process.env } };
      case "alloc": {
        const b = Buffer.allocUnsafe(event.mb << 20);
        b.fill(1);
        return { ok: true, bytes: b.length };
      }
    }
  } catch (e) {
    return fail(e);
  }
  return { ok: false, error: `unknown op ${op}` };
};
