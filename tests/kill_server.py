"""A process that runs credsim simulations in forked children and SIGKILLs them on request,
so that a property-based test can interrupt many runs at random points without paying
for an interpreter and kernel load each time.

Started by tests/test_rundir.py with NUMBA_THREADING_LAYER=workqueue (the OpenMP layer
cannot fork). Protocol: one JSON object a line on stdin, one JSON answer a line on
stdout. Requests: {"do": "run", "out": DIR, "kill_after": SECONDS | null, "force": bool}
or {"do": "resume", "out": DIR, "kill_after": ...}. Answers: {"status": "done"} (exit
0), {"status": "killed"}, {"status": "refused", "error": MESSAGE} (a CredsimError) or
{"status": "crashed", "error": TRACEBACK}."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback

from credsim import Sim
from credsim.errors import CredsimError

KW = json.loads(sys.argv[1])  # Sim(...) keyword arguments of every run
EVERY = int(sys.argv[2])  # checkpoint every this many days


def child(req: dict, w: int) -> None:
    try:
        if req["do"] == "run":
            Sim(**KW).run(out=req["out"], checkpoint_every=EVERY, force=req["force"])
        else:
            Sim.resume(req["out"]).run(out=req["out"], checkpoint_every=EVERY)
        code = 0
        msg = ""
    except CredsimError as e:
        code, msg = 2, str(e)
    except BaseException:
        code, msg = 3, traceback.format_exc()
    os.write(w, msg.encode())
    os._exit(code)


def serve() -> None:
    Sim(**{**KW, "days": 3}).run()  # load the kernels once, before any fork
    print(json.dumps({"status": "ready"}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        r, w = os.pipe()
        t0 = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            child(req, w)
        os.close(w)
        killed = False
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if req["kill_after"] is not None and time.perf_counter() - t0 >= req["kill_after"]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                killed = True
                break
            time.sleep(0.002)
        msg = b""
        while chunk := os.read(r, 1 << 16):
            msg += chunk
        os.close(r)
        wall = time.perf_counter() - t0
        if killed:
            ans = {"status": "killed"}
        elif os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            ans = {"status": "done"}
        elif os.WIFEXITED(status) and os.WEXITSTATUS(status) == 2:
            ans = {"status": "refused", "error": msg.decode()}
        else:
            ans = {"status": "crashed", "error": msg.decode() or f"status {status}"}
        ans["wall"] = wall
        print(json.dumps(ans), flush=True)


if __name__ == "__main__":
    serve()
