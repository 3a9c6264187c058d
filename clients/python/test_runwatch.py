"""Unit tests of runwatch.py against a small in-process stand-in for the Runwatch HTTP API.

    python3 -m unittest clients/python/test_runwatch.py

The stub stores events per execution, deduplicating by event id as the real server does, and
can be told to answer the next requests with errors. The real server is exercised by
tests/integration/python-client.test.ts.
"""

import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import unittest
from contextlib import redirect_stderr
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import runwatch  # noqa: E402

TOKEN = "unit-test-token-0123456789"
EVENTS_PATH = re.compile(r"^/api/executions/([A-Za-z0-9_-]+)/events$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class Stub:
    """A minimal Runwatch: POST /api/executions and POST /api/executions/:id/events."""

    def __init__(self, port=0):
        self.lock = threading.Lock()
        self.executions = {}  # id -> create body
        self.events = {}  # id -> [event]
        self.posts = []  # (path, body) of every POST that reached a handler
        self.script = []  # forced answers for the next event POSTs: dict(status, headers, body, store)
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                body = json.loads(raw)
                with stub.lock:
                    stub.posts.append((self.path, body))
                if self.headers.get("Authorization") != "Bearer " + TOKEN:
                    return self.answer(401, {"error": {"code": "unauthorized", "message": "bad token"}})
                if self.path == "/api/executions":
                    with stub.lock:
                        created = body["id"] not in stub.executions
                        stub.executions.setdefault(body["id"], body)
                        stub.events.setdefault(body["id"], [])
                    url = "http://stub.example/executions/" + body["id"]
                    return self.answer(201 if created else 200, dict(body, url=url))
                match = EVENTS_PATH.match(self.path)
                with stub.lock:
                    forced = stub.script.pop(0) if stub.script else None
                if forced and not forced.get("store"):
                    return self.answer(forced["status"], forced.get("body"), forced.get("headers"))
                if match.group(1) not in stub.executions:
                    return self.answer(404, {"error": {"code": "not_found", "message": "No execution"}})
                results = []
                with stub.lock:
                    stored = stub.events[match.group(1)]
                    ids = {e["id"]: i + 1 for i, e in enumerate(stored)}
                    for event in body["events"]:
                        if event["id"] in ids:
                            results.append({"id": event["id"], "seq": ids[event["id"]], "duplicate": True})
                        else:
                            stored.append(event)
                            ids[event["id"]] = len(stored)
                            results.append({"id": event["id"], "seq": len(stored), "duplicate": False})
                if forced:  # stored, but the answer says otherwise (a lost response)
                    return self.answer(forced["status"], forced.get("body"), forced.get("headers"))
                self.answer(200, {"accepted": 0, "lastSeq": 0, "results": results})

            def answer(self, status, payload, headers=None):
                data = json.dumps(payload).encode() if payload is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def stored(self, execution_id):
        with self.lock:
            return list(self.events.get(execution_id, []))

    def event_posts(self):
        with self.lock:
            return [body for path, body in self.posts if path.endswith("/events")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.stub = Stub()
        self.clients = []
        self.stderr = io.StringIO()
        self.redirect = redirect_stderr(self.stderr)
        self.redirect.__enter__()

    def tearDown(self):
        for client in self.clients:
            client.close(timeout=2)
        self.redirect.__exit__(None, None, None)
        self.stub.stop()

    def client(self, **options):
        options.setdefault("url", self.stub.url)
        options.setdefault("token", TOKEN)
        options.setdefault("max_backoff", 0.2)
        client = runwatch.Runwatch(**options)
        self.clients.append(client)
        return client

    def types(self, run):
        return [e["type"] for e in self.stub.stored(run.id)]

    # -- ids and the wire format ---------------------------------------------------------------

    def test_start_creates_the_execution_and_every_event_has_an_id_and_a_utc_timestamp(self):
        rw = self.client()
        run = rw.start(agent={"name": "researcher", "model": "m1"}, department="Research", metadata={"n": 1}, input={"q": "?"})
        self.assertRegex(run.id, r"^[A-Za-z0-9_-]{22}$")
        self.assertEqual(run.url, "http://stub.example/executions/" + run.id)
        self.assertEqual(
            self.stub.executions[run.id],
            {"id": run.id, "agent": {"name": "researcher", "model": "m1"}, "department": {"name": "Research"}, "metadata": {"n": "1"}},
        )
        run.output("hello\n", stream="stdout")
        run.log("warning", "careful")
        run.usage(input_tokens=10, output_tokens=2, cost_usd=0.5)
        run.complete(output={"ok": True})
        self.assertTrue(rw.flush(10))
        events = self.stub.stored(run.id)
        self.assertEqual([e["type"] for e in events], ["agent-start", "output", "log", "usage", "agent-complete"])
        for event in events:
            self.assertRegex(event["id"], HEX32)
            self.assertRegex(event["ts"], TS)
        self.assertEqual(len({e["id"] for e in events}), len(events))
        self.assertEqual(events[0]["data"], {"input": {"q": "?"}})
        self.assertEqual(events[1]["data"], {"text": "hello\n", "stream": "stdout"})
        self.assertEqual(events[2]["data"], {"level": "warn", "message": "careful"})
        self.assertEqual(events[3]["data"], {"inputTokens": 10, "outputTokens": 2, "costUsd": 0.5})
        self.assertEqual(events[4]["data"], {"output": {"ok": True}})

    def test_own_execution_id_and_odd_values_are_sent_as_valid_json(self):
        rw = self.client()
        run = rw.start("a", id="my-run_1")
        self.assertEqual(run.id, "my-run_1")
        run.event("custom.thing", {"nan": float("nan"), "obj": object(), "set": {1}, "bytes": b"x", 3: "int key"})
        rw.flush(10)
        data = self.stub.stored("my-run_1")[1]["data"]
        self.assertIsNone(data["nan"])
        self.assertTrue(data["obj"].startswith("<object object"))
        self.assertEqual((data["set"], data["bytes"], data["3"]), ([1], "x", "int key"))

    def test_a_second_complete_or_fail_sends_nothing(self):
        rw = self.client()
        run = rw.start("a")
        run.complete()
        run.fail("late")
        run.complete()
        rw.flush(10)
        self.assertEqual(self.types(run), ["agent-start", "agent-complete"])
        self.assertTrue(run.ended)

    # -- batching ------------------------------------------------------------------------------

    def test_events_are_batched_by_size_and_by_time(self):
        rw = self.client(flush_interval=0.2, batch_size=500)
        run = rw.start("a")
        for i in range(1200):
            run.output("line %d\n" % i)
        self.assertTrue(rw.flush(20))
        events = self.stub.stored(run.id)
        self.assertEqual([e["data"]["text"] for e in events[1:]], ["line %d\n" % i for i in range(1200)])
        sizes = [len(body["events"]) for body in self.stub.event_posts()]
        self.assertLessEqual(max(sizes), 500)
        self.assertLessEqual(len(sizes), 6, sizes)  # batched, not one POST per event
        # Without a flush, a lone event goes out after about flush_interval.
        before = len(self.stub.event_posts())
        run.log("info", "alone")
        deadline = time.monotonic() + 10
        while len(self.stub.event_posts()) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.stub.event_posts()[-1]["events"][0]["data"]["message"], "alone")

    def test_two_runs_in_one_client_keep_their_own_order(self):
        rw = self.client()
        a, b = rw.start("a"), rw.start("b")
        for i in range(50):
            a.output("a%d" % i)
            b.output("b%d" % i)
        rw.flush(10)
        self.assertEqual([e["data"]["text"] for e in self.stub.stored(a.id)[1:]], ["a%d" % i for i in range(50)])
        self.assertEqual([e["data"]["text"] for e in self.stub.stored(b.id)[1:]], ["b%d" % i for i in range(50)])

    def test_output_over_the_event_limit_is_truncated_with_a_note(self):
        rw = self.client()
        run = rw.start("a")
        run.output("x" * 600000)
        run.output("é" * 200000)  # 6 bytes each as \\u escapes
        run.output("after")
        rw.flush(10)
        events = self.stub.stored(run.id)
        self.assertEqual([e["data"]["text"] for e in events[3:]], ["after"])
        for event in events[1:3]:
            self.assertLessEqual(len(json.dumps(event)), runwatch.MAX_EVENT_BYTES)
            self.assertIn("[runwatch: output truncated", event["data"]["text"])
        self.assertEqual(rw.stats()["truncated"], 2)

    # -- steps ---------------------------------------------------------------------------------

    def test_steps_nest_and_events_inside_a_step_carry_its_id(self):
        rw = self.client()
        run = rw.start("a")
        with run.step("outer", kind="agent", input={"x": 1}) as outer:
            run.log("info", "in outer")
            with run.step("inner", kind="llm") as inner:
                run.usage(input_tokens=5)
                inner.usage(output_tokens=7)
                inner.set_output("result")
            with run.step("tool", kind="tool") as tool:
                pass
            self.assertEqual(inner.parent_id, outer.id)
        run.output("outside")
        rw.flush(10)
        events = self.stub.stored(run.id)
        by_type = [(e["type"], e.get("stepId"), e.get("parentStepId")) for e in events[1:]]
        self.assertEqual(
            by_type,
            [
                ("step-start", outer.id, None),
                ("log", outer.id, None),
                ("step-start", inner.id, outer.id),
                ("usage", inner.id, None),
                ("step-end", inner.id, outer.id),
                ("step-start", tool.id, outer.id),
                ("step-end", tool.id, outer.id),
                ("step-end", outer.id, None),
                ("output", None, None),
            ],
        )
        self.assertEqual(events[1]["data"], {"name": "outer", "kind": "agent", "input": {"x": 1}})
        inner_end = events[5]["data"]
        self.assertEqual(inner_end["output"], "result")
        self.assertEqual(inner_end["usage"], {"outputTokens": 7})
        self.assertGreaterEqual(inner_end["durationMs"], 0)
        self.assertRegex(outer.id, HEX32)

    def test_steps_in_another_thread_or_another_run_do_not_nest_unless_told(self):
        rw = self.client()
        run, other = rw.start("a"), rw.start("b")
        seen = {}
        with run.step("outer") as outer:
            with other.step("other-run") as o:
                seen["other"] = o.parent_id

            def worker():
                with run.step("thread-free") as free:
                    seen["free"] = free.parent_id
                with run.step("thread-child", parent=outer) as child:
                    seen["child"] = child.parent_id

            t = threading.Thread(target=worker)
            t.start()
            t.join()
        self.assertEqual(seen, {"other": None, "free": None, "child": outer.id})

    def test_unknown_kind_and_level_are_coerced_not_raised(self):
        rw = self.client()
        run = rw.start("a")
        with run.step("s", kind="retrieval"):
            run.log("fatal", "x")
        rw.flush(10)
        events = self.stub.stored(run.id)
        self.assertEqual(events[1]["data"]["kind"], "custom")
        self.assertEqual(events[2]["data"]["level"], "info")

    # -- errors --------------------------------------------------------------------------------

    def test_an_exception_in_a_step_is_recorded_and_re_raised(self):
        rw = self.client()
        run = rw.start("a")
        with self.assertRaises(KeyError):
            with run.step("outer"):
                with run.step("broken", kind="tool") as broken:
                    broken.set_output("never sent")
                    raise KeyError("missing")
        rw.flush(10)
        events = self.stub.stored(run.id)
        end = [e for e in events if e["type"] == "step-end" and e["stepId"] == broken.id][0]
        self.assertNotIn("output", end["data"])
        self.assertEqual(end["data"]["error"]["type"], "KeyError")
        self.assertEqual(end["data"]["error"]["message"], "'missing'")
        self.assertIn("Traceback", end["data"]["error"]["stack"])
        self.assertIn("raise KeyError", end["data"]["error"]["stack"])
        self.assertEqual(len([e for e in events if e["type"] == "step-end"]), 2)  # outer ended too

    def test_run_as_context_manager_completes_or_fails(self):
        rw = self.client()
        with rw.start("ok") as ok:
            pass
        with self.assertRaises(ValueError):
            with rw.start("bad") as bad:
                raise ValueError("nope")
        failed = rw.start("failed")
        failed.fail("by hand", stack="trace here")
        rw.flush(10)
        self.assertEqual(self.types(ok), ["agent-start", "agent-complete"])
        error = self.stub.stored(bad.id)[-1]
        self.assertEqual(error["type"], "error")
        self.assertEqual(error["data"]["message"], "ValueError: nope")
        self.assertIn("Traceback", error["data"]["stack"])
        self.assertEqual(self.stub.stored(failed.id)[-1]["data"], {"message": "by hand", "stack": "trace here"})

    # -- retries and refusals ------------------------------------------------------------------

    def test_5xx_and_429_are_retried_with_the_same_ids_and_nothing_is_stored_twice(self):
        rw = self.client()
        run = rw.start("a")
        self.assertTrue(rw.flush(10))
        self.stub.script = [
            {"status": 503, "body": {"error": {"code": "shutting_down", "message": "bye"}}},
            {"status": 500, "store": True},  # stored, but the agent hears an error
            {"status": 429, "headers": {"Retry-After": "1"}},
        ]
        for i in range(20):
            run.output("o%d" % i)
        started = time.monotonic()
        self.assertTrue(rw.flush(20))
        self.assertGreaterEqual(time.monotonic() - started, 0.9)  # Retry-After honoured
        events = self.stub.stored(run.id)
        self.assertEqual([e["data"]["text"] for e in events[1:]], ["o%d" % i for i in range(20)])
        posts = self.stub.event_posts()
        self.assertEqual([e["id"] for e in posts[-1]["events"]], [e["id"] for e in posts[-2]["events"]])
        stats = rw.stats()
        self.assertEqual((stats["retries"], stats["duplicates"], stats["sent"]), (3, 20, 1))

    def test_an_event_the_server_refuses_is_dropped_alone_and_other_4xx_drop_the_batch(self):
        rw = self.client()
        run = rw.start("a")
        rw.flush(10)
        self.stub.script = [
            {"status": 400, "body": {"error": {"code": "invalid_event", "message": "events.1.data.text: expected string"}}}
        ]
        run.output("a")
        run.output("b")
        run.output("c")
        rw.flush(10)
        self.assertEqual([e["data"]["text"] for e in self.stub.stored(run.id)[1:]], ["a", "c"])
        self.stub.script = [{"status": 403, "body": {"error": {"code": "forbidden", "message": "no"}}}]
        run.output("d")
        rw.flush(10)
        run.output("e")
        rw.flush(10)
        self.assertEqual([e["data"]["text"] for e in self.stub.stored(run.id)[1:]], ["a", "c", "e"])
        self.assertEqual(rw.stats()["dropped_rejected"], 2)
        self.assertIn("refused", self.stderr.getvalue())

    def test_a_413_from_a_proxy_with_a_smaller_body_limit_halves_the_batch(self):
        rw = self.client()
        run = rw.start("a")
        rw.flush(10)
        self.stub.script = [{"status": 413}]  # no Runwatch error body: nginx's client_max_body_size
        for i in range(10):
            run.output("o%d" % i)
        self.assertTrue(rw.flush(10))
        self.assertEqual([e["data"]["text"] for e in self.stub.stored(run.id)[1:]], ["o%d" % i for i in range(10)])
        self.assertEqual([len(p["events"]) for p in self.stub.event_posts()[-3:]], [10, 5, 5])
        self.assertEqual(rw.stats()["dropped_rejected"], 0)

    def test_an_uncaught_exception_fails_the_open_run_and_the_exit_flush_sends_it(self):
        script = (
            "import sys; sys.path.insert(0, %r)\n"
            "import runwatch\n"
            "run = runwatch.Runwatch(url=%r, token=%r, flush_interval=10).start('crasher')\n"
            "print(run.id, flush=True)\n"
            "with run.step('boom'):\n"
            "    raise RuntimeError('uncaught')\n"
        ) % (os.path.dirname(os.path.abspath(__file__)), self.stub.url, TOKEN)
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("RuntimeError: uncaught", result.stderr)  # the usual traceback still shows
        events = self.stub.stored(result.stdout.strip())
        self.assertEqual([e["type"] for e in events], ["agent-start", "step-start", "step-end", "error"])
        self.assertEqual(events[-1]["data"]["message"], "RuntimeError: uncaught")

    def test_a_wrong_token_never_raises(self):
        rw = self.client(token="wrong")
        run = rw.start("a")
        run.output("x")
        run.complete()
        self.assertTrue(rw.flush(10))
        self.assertEqual(self.stub.executions, {})
        self.assertEqual(rw.stats()["dropped_rejected"], 3)
        self.assertIn("HTTP 401", self.stderr.getvalue())

    def test_server_down_at_start_the_run_is_created_in_the_background_first(self):
        port = free_port()
        rw = self.client(url="http://127.0.0.1:%d" % port)
        run = rw.start("late", input="i")
        self.assertEqual(run.url, "http://127.0.0.1:%d/executions/%s" % (port, run.id))
        with run.step("s"):
            run.output("while down")
        run.complete()
        self.assertFalse(rw.flush(0.5))
        late = Stub(port)
        try:
            self.assertTrue(rw.flush(20))
            self.assertEqual(late.posts[0][0], "/api/executions")
            self.assertEqual(late.posts[0][1]["agent"], {"name": "late"})
            self.assertEqual(
                [e["type"] for e in late.stored(run.id)], ["agent-start", "step-start", "output", "step-end", "agent-complete"]
            )
            self.assertEqual(run.url, "http://stub.example/executions/" + run.id)
            self.assertIn("answers again", self.stderr.getvalue())
        finally:
            late.stop()

    def test_an_execution_the_server_lost_is_created_again(self):
        rw = self.client()
        run = rw.start("a")
        rw.flush(10)
        with self.stub.lock:
            del self.stub.executions[run.id]
            del self.stub.events[run.id]
        run.output("after the loss")
        self.assertTrue(rw.flush(10))
        self.assertEqual([e["type"] for e in self.stub.stored(run.id)], ["output"])

    # -- the queue bound and closing -----------------------------------------------------------

    def test_the_queue_is_bounded_the_agent_never_blocks_and_the_end_still_fits(self):
        rw = self.client(url="http://127.0.0.1:%d" % free_port(), max_queue=100, create_timeout=0.5)
        run = rw.start("a")
        started = time.monotonic()
        for i in range(250):
            run.output("o%d" % i)
        run.complete()
        self.assertLess(time.monotonic() - started, 5)
        stats = rw.stats()
        self.assertEqual(stats["dropped_queue_full"], 151)  # agent-start + 99 outputs fit
        self.assertEqual(stats["pending"], 101)  # ... and agent-complete over the bound
        self.assertIn("dropping new ones", self.stderr.getvalue())
        self.assertFalse(rw.close(timeout=0.3))
        self.assertEqual(rw.stats()["dropped_unsent"], 101)
        run.output("after close")  # dropped, never raised
        self.assertEqual(rw.stats()["dropped_unsent"], 102)

    def test_close_flushes_what_is_queued(self):
        rw = self.client(flush_interval=5)
        run = rw.start("a")
        run.output("x")
        run.complete()
        self.assertTrue(rw.close())
        self.assertEqual(self.types(run), ["agent-start", "output", "agent-complete"])


if __name__ == "__main__":
    unittest.main()
