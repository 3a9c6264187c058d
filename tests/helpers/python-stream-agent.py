"""A Python agent for tests/integration/python-client.test.ts: streams numbered output until told
to stop, so the test can kill and restart the server while it emits.

Prints `id: <execution id>` first, `emitted <n>` every 250 events, and on a `stop` line on stdin
completes the run, flushes (up to 120 s) and prints `done <json>` with the count and stats.
"""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))

import runwatch  # noqa: E402

# The queue holds everything emitted while the server is down, however long a restart takes on a
# busy machine: this test is about nothing lost or doubled, not about the bound.
rw = runwatch.Runwatch(max_queue=1000000, max_backoff=0.5)
run = rw.start(agent="python-stream", input={"test": "restart"})
print("id:", run.id, flush=True)

stop = threading.Event()


def read_stdin():
    for line in sys.stdin:
        if line.strip() == "stop":
            break
    stop.set()


threading.Thread(target=read_stdin, daemon=True).start()

count = 0
with run.step("emit", kind="tool") as step:
    while not stop.is_set():
        run.output("line %d\n" % count)
        count += 1
        if count % 5 == 0:
            time.sleep(0.005)  # about 1,000 events a second
        if count % 250 == 0:
            print("emitted", count, flush=True)
    step.set_output({"lines": count})
run.complete(output={"lines": count})
sent = rw.close(timeout=120)
print("done", json.dumps({"count": count, "sent": sent, "stats": rw.stats()}), flush=True)
sys.exit(0 if sent else 1)
