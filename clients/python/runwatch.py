"""Runwatch client for Python: send an agent's execution to a Runwatch server, live.

One file, standard library only, Python 3.8 or newer. Copy it next to your agent::

    import runwatch

    rw = runwatch.Runwatch()                     # RUNWATCH_URL, RUNWATCH_TOKEN
    with rw.start(agent="researcher", input={"question": q}) as run:
        print("watch:", run.url)
        with run.step("search", kind="tool", input={"q": q}) as step:
            step.set_output(search(q))
        run.output("done\\n")

Calls never block on the network and never raise because of it: events go into a bounded
in-memory queue and a background thread sends them in batches (``POST
/api/executions/<id>/events``), retrying with the same event ids when the server is down or busy,
so a retry never stores anything twice. What is still queued at exit is flushed for a few
seconds. The wire format is docs/protocol.md in the Runwatch repository.
"""

import atexit
import contextlib
import contextvars
import json
import os
import random
import re
import secrets
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid
from collections import deque
from datetime import datetime, timezone

__version__ = "0.1.0"
__all__ = ["Runwatch", "Run", "Step", "start", "default_client", "DEFAULT_URL"]

#: Where the server is when neither ``url=`` nor ``RUNWATCH_URL`` says.
DEFAULT_URL = "http://127.0.0.1:3000"

# Server limits (src/lib/protocol/limits.ts): events per POST, request body, one event.
MAX_BATCH_EVENTS = 1000
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_EVENT_BYTES = 256 * 1024
MAX_JSON_DEPTH = 64
MAX_NAME_LENGTH = 200

STEP_KINDS = ("llm", "tool", "agent", "custom")
LOG_LEVELS = ("debug", "info", "warn", "error")
_TERMINAL = ("agent-complete", "error", "cancelled")

# Every event is serialised as ASCII JSON: its length is then its size on the wire, and an upper
# bound of what the server measures (it re-serialises non-ASCII as UTF-8, never longer).
_EVENT_BUDGET = MAX_EVENT_BYTES - 1024
_BODY_BUDGET = MAX_BODY_BYTES - 64 * 1024

# The steps open in the current thread or task, innermost last: ((run key, step id), ...).
_open_steps = contextvars.ContextVar("runwatch_open_steps", default=())


def _now():
    """The current time as ISO-8601 UTC with milliseconds and a ``Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _new_id():
    """A 128-bit random id of the kind the server generates: URL-safe, 22 characters."""
    return secrets.token_urlsafe(16)


def _jsonable(value, depth=0):
    """``value`` as something ``json.dumps`` writes as valid JSON the server accepts.

    Unknown objects become their ``repr``, non-finite floats ``None``, keys strings, and anything
    nested deeper than the server allows a string.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if depth >= MAX_JSON_DEPTH - 8:
        return _short_repr(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset, deque)):
        return [_jsonable(v, depth + 1) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if hasattr(value, "isoformat"):
        try:
            return value.isoformat()
        except Exception:  # noqa: BLE001 - anything goes in user objects
            pass
    return _short_repr(value)


def _short_repr(value, limit=10000):
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001
        text = "<%s>" % type(value).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def _dumps(value):
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False)


def _exception_data(error):
    """``{message, type, stack}`` of an exception."""
    stack = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    message = str(error) or type(error).__name__
    return {"message": message, "type": type(error).__name__, "stack": stack}


def _truncate_strings(value, limit):
    """``value`` with every string longer than ``limit`` characters cut, saying so."""
    if isinstance(value, str):
        if len(value) <= limit:
            return value
        return value[:limit] + "... [runwatch: %d characters cut]" % (len(value) - limit)
    if isinstance(value, dict):
        return {k: _truncate_strings(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_truncate_strings(v, limit) for v in value]
    return value


def _fit(event):
    """The event as JSON of at most ``_EVENT_BUDGET`` bytes, and whether it had to be cut.

    Output text over the limit keeps its beginning and ends with a note; in other events long
    strings are cut shorter and shorter; as a last resort ``data`` keeps only its small fields.
    """
    text = _dumps(event)
    if len(text) <= _EVENT_BUDGET:
        return text, False
    data = event.get("data")
    if event["type"] == "output" and isinstance(data, dict) and isinstance(data.get("text"), str):
        original = data["text"]
        keep = len(original)
        while keep > 0:
            keep = int(keep * _EVENT_BUDGET / len(text) * 0.9)
            note = (
                "\n[runwatch: output truncated: %d of %d characters not sent; "
                "an event may be at most %d bytes]\n" % (len(original) - keep, len(original), MAX_EVENT_BYTES)
            )
            trial = dict(event, data=dict(data, text=original[:keep] + note))
            text = _dumps(trial)
            if len(text) <= _EVENT_BUDGET:
                return text, True
    limit = 64 * 1024
    while limit >= 64 and isinstance(data, (dict, list, str)):
        text = _dumps(dict(event, data=_truncate_strings(data, limit)))
        if len(text) <= _EVENT_BUDGET:
            return text, True
        limit //= 4
    small = {}
    if isinstance(data, dict):
        for key, value in data.items():
            piece = _dumps(_truncate_strings(value, 1000))
            if len(piece) <= 2000:
                small[key] = json.loads(piece)
    small["runwatchNote"] = "data was over %d bytes; only its small fields were sent" % MAX_EVENT_BYTES
    return _dumps(dict(event, data=small)), True


class _Stop(Exception):
    """The sender was told to give up (close deadline passed)."""


class Step:
    """One step of a run (an LLM call, a tool call, a sub-agent...), used as a context manager.

    ``with run.step("search", kind="tool", input=...) as step:`` records ``step-start`` on entry
    and ``step-end`` on exit, with ``durationMs`` and the output set by :meth:`set_output`; when
    the block raises, ``step-end`` carries ``error`` ``{message, type, stack}`` and the exception
    propagates. Steps opened inside the block (same thread or task) become its children.
    """

    def __init__(self, run, name, kind, input, parent):
        self.run = run
        #: The step's id (``stepId`` of its events).
        self.id = uuid.uuid4().hex
        self.name = name
        self.kind = kind
        self.input = input
        #: What ``step-end`` reports as ``output``; set it with :meth:`set_output`.
        self.output = None
        self._usage = None
        self._parent = parent
        self._token = None
        self._started = None
        self._ended = False

    @property
    def parent_id(self):
        """The ``stepId`` of the enclosing step, or ``None`` at the top level."""
        return self._parent

    def set_output(self, output):
        """Sets what ``step-end`` reports as this step's ``output`` (anything JSON-able)."""
        self.output = output

    def usage(self, input_tokens=None, output_tokens=None, cost_usd=None):
        """Adds token counts and cost to this step's ``step-end`` (``data.usage``).

        Counted in the execution's totals once: do not also report the same tokens with
        :meth:`Run.usage`.
        """
        usage = self._usage or {}
        for key, value in (("inputTokens", input_tokens), ("outputTokens", output_tokens), ("costUsd", cost_usd)):
            if value is not None:
                usage[key] = usage.get(key, 0) + value
        self._usage = usage

    def __enter__(self):
        data = {"name": self.name, "kind": self.kind}
        if self.input is not None:
            data["input"] = self.input
        self._started = time.monotonic()
        self.run._emit("step-start", data, step_id=self.id, parent_step_id=self._parent)
        self._token = _open_steps.set(_open_steps.get() + ((self.run._key, self.id),))
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            _open_steps.reset(self._token)
        except (ValueError, RuntimeError, TypeError):  # exited in another context than entered
            _open_steps.set(tuple(s for s in _open_steps.get() if s[1] != self.id))
        if self._ended:
            return False
        self._ended = True
        data = {"durationMs": round((time.monotonic() - self._started) * 1000, 3)}
        if exc is not None:
            data["error"] = _exception_data(exc)
        elif self.output is not None:
            data["output"] = self.output
        if self._usage:
            data["usage"] = self._usage
        self.run._emit("step-end", data, step_id=self.id, parent_step_id=self._parent)
        return False


class Run:
    """One execution, returned by :meth:`Runwatch.start`.

    Every method queues an event and returns at once. As a context manager (``with rw.start(...)
    as run:``) it completes on a normal exit and fails with the exception otherwise.
    """

    def __init__(self, client, execution_id, url, create_body):
        self._client = client
        #: The execution id.
        self.id = execution_id
        #: The execution's page: share it.
        self.url = url
        self._key = object()
        self._create_body = create_body
        self._created = False
        self._rejected = False
        self._ended = False

    def __repr__(self):
        return "<runwatch.Run %s %s>" % (self.id, self.url)

    def _current_step(self):
        for key, step_id in reversed(_open_steps.get()):
            if key is self._key:
                return step_id
        return None

    def _emit(self, type, data=None, step_id=None, parent_step_id=None):
        event = {"id": uuid.uuid4().hex, "type": type, "ts": _now()}
        if step_id is not None:
            event["stepId"] = step_id
        if parent_step_id is not None:
            event["parentStepId"] = parent_step_id
        if data is not None:
            event["data"] = data
        self._client._enqueue(self, event)

    def output(self, text, stream=None):
        """Records streamed output (``output`` ``{text, stream?}``), e.g. ``run.output("hi\\n")``.

        ``stream`` names the stream (``"stdout"``, ``"stderr"``...). Inside a step it belongs to
        that step. Text over the server's 256 KiB event limit is truncated with a note.
        """
        if not isinstance(text, str):
            text = str(text)
        data = {"text": text}
        if stream is not None:
            data["stream"] = str(stream)[:MAX_NAME_LENGTH]
        self._emit("output", data, step_id=self._current_step())

    def log(self, level, message):
        """Records a log line (``log`` ``{level, message}``), level debug, info, warn or error."""
        level = str(level).lower()
        if level == "warning":
            level = "warn"
        if level not in LOG_LEVELS:
            self._client._warn_once("level", "runwatch: unknown log level %r sent as info" % (level,))
            level = "info"
        self._emit("log", {"level": level, "message": str(message)}, step_id=self._current_step())

    def step(self, name, kind="custom", input=None, parent=None):
        """A step as a context manager: ``with run.step("plan", kind="llm") as step: ...``.

        ``kind`` is llm, tool, agent or custom. Its parent is the innermost step of this run open
        in the same thread or task (contextvars), or ``parent`` (a :class:`Step` or a step id)
        for a step run in another thread.
        """
        name = str(name)[:MAX_NAME_LENGTH] or "step"
        if kind not in STEP_KINDS:
            self._client._warn_once("kind", "runwatch: unknown step kind %r recorded as custom" % (kind,))
            kind = "custom"
        if isinstance(parent, Step):
            parent = parent.id
        return Step(self, name, kind, input, parent if parent is not None else self._current_step())

    def usage(self, input_tokens=None, output_tokens=None, cost_usd=None):
        """Adds token counts and cost to the execution's totals (``usage`` event).

        Report each token once: ``run.usage(input_tokens=812, output_tokens=96, cost_usd=0.0021)``.
        """
        data = {}
        if input_tokens is not None:
            data["inputTokens"] = int(input_tokens)
        if output_tokens is not None:
            data["outputTokens"] = int(output_tokens)
        if cost_usd is not None:
            data["costUsd"] = float(cost_usd)
        self._emit("usage", data, step_id=self._current_step())

    def event(self, type, data=None, step_id=None, parent_step_id=None):
        """Records an event of any type (``type`` of letters, digits and ``_ . : / -``)."""
        self._emit(str(type), data, step_id=step_id, parent_step_id=parent_step_id)

    def complete(self, output=None):
        """Marks the execution completed (``agent-complete`` ``{output?}``); later calls do nothing."""
        if not self._end():
            return
        self._emit("agent-complete", {"output": output} if output is not None else None)

    def fail(self, error, stack=None):
        """Marks the execution failed (``error`` ``{message, stack?}``).

        ``error`` is a message or an exception (its type, message and traceback are sent).
        Does nothing once the run has completed or failed.
        """
        if not self._end():
            return
        if isinstance(error, BaseException):
            info = _exception_data(error)
            data = {"message": "%s: %s" % (info["type"], info["message"]), "stack": stack or info["stack"]}
        else:
            data = {"message": str(error)}
            if stack is not None:
                data["stack"] = str(stack)
        self._emit("error", data)

    def _end(self):
        with self._client._cond:
            if self._ended:
                return False
            self._ended = True
            self._client._runs.discard(self)
            return True

    @property
    def ended(self):
        """True once :meth:`complete` or :meth:`fail` was called."""
        return self._ended

    def flush(self, timeout=10.0):
        """Waits until everything queued so far (all runs) is sent; returns True if it was."""
        return self._client.flush(timeout)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None:
            self.complete()
        else:
            self.fail(exc)
        return False


class Runwatch:
    """A connection to one Runwatch server: starts runs and sends their events in the background.

    ``url`` defaults to ``RUNWATCH_URL`` (else ``http://127.0.0.1:3000``), ``token`` to
    ``RUNWATCH_TOKEN`` (the ingest token, sent as ``Authorization: Bearer``). The rest tune the
    batching: events are sent every ``flush_interval`` seconds or as soon as ``batch_size`` are
    waiting; at most ``max_queue`` wait (beyond that new events are dropped and counted in
    :meth:`stats`); at exit the queue is flushed for up to ``exit_timeout`` seconds.
    """

    def __init__(
        self,
        url=None,
        token=None,
        flush_interval=0.1,
        batch_size=500,
        max_queue=10000,
        request_timeout=15.0,
        create_timeout=3.0,
        exit_timeout=5.0,
        max_backoff=5.0,
    ):
        self.url = (url or os.environ.get("RUNWATCH_URL") or DEFAULT_URL).rstrip("/")
        self.token = token if token is not None else os.environ.get("RUNWATCH_TOKEN")
        self.flush_interval = flush_interval
        self.batch_size = max(1, min(batch_size, MAX_BATCH_EVENTS))
        self.max_queue = max_queue
        self.request_timeout = request_timeout
        self.create_timeout = create_timeout
        self.exit_timeout = exit_timeout
        self.max_backoff = max_backoff
        self._cond = threading.Condition()
        self._queue = deque()  # (run, json text, type)
        self._pending = 0  # queued + being sent
        self._flush_waiters = 0
        self._closed = False
        self._stop = threading.Event()
        self._kick = threading.Event()  # set by flush and close: retry now
        self._thread = None
        self._warned = set()
        self._outage = False
        self._stats = {
            "queued": 0,
            "sent": 0,
            "duplicates": 0,
            "batches": 0,
            "retries": 0,
            "truncated": 0,
            "dropped_queue_full": 0,
            "dropped_rejected": 0,
            "dropped_unsent": 0,
        }
        self._runs = set()  # runs not yet completed or failed
        atexit.register(self._at_exit)
        _install_excepthook()
        _clients.append(self)

    # -- public -------------------------------------------------------------------------------

    def start(self, agent=None, id=None, department=None, metadata=None, input=None):
        """Starts an execution and records ``agent-start`` ``{input}``; returns a :class:`Run`.

        ``agent`` is a name or a dict ``{"name": ..., "model": ...}`` (default: the script's
        name); ``id`` is your own execution id (1-64 of ``A-Z a-z 0-9 _ -``; default: a random
        one); ``department`` a name or dict; ``metadata`` a dict of strings. The execution is
        created at once when the server answers within ``create_timeout``; otherwise the id is
        made here, ``run.url`` is derived from the server URL, and the execution is created in
        the background before its events are sent.
        """
        if agent is None:
            agent = os.path.splitext(os.path.basename(sys.argv[0] or ""))[0] or "python"
        body = {"id": str(id) if id is not None else _new_id(), "agent": _named(agent)}
        if department is not None:
            body["department"] = _named(department)
        if metadata:
            body["metadata"] = {str(k)[:128]: str(v)[:1024] for k, v in metadata.items()}
        run = Run(self, body["id"], "%s/executions/%s" % (self.url, body["id"]), body)
        with self._cond:
            self._runs.add(run)
        if not self._closed:
            try:
                self._create(run, timeout=self.create_timeout, retry=False)
            except Exception:  # noqa: BLE001 - down or slow: created in the background
                pass
        run._emit("agent-start", {"input": input} if input is not None else None)
        return run

    def flush(self, timeout=10.0):
        """Waits up to ``timeout`` seconds until every queued event is sent (or given up on).

        Returns True when nothing is left to send.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            self._flush_waiters += 1
            self._cond.notify_all()
            self._kick.set()
            try:
                while self._pending > 0:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._cond.wait(remaining)
                return True
            finally:
                self._flush_waiters -= 1

    def close(self, timeout=None):
        """Flushes for up to ``timeout`` seconds (default ``exit_timeout``), then stops sending.

        Events still unsent then are counted as ``dropped_unsent`` and reported on stderr.
        Later events are dropped. Returns True when everything was sent.
        """
        if timeout is None:
            timeout = self.exit_timeout
        done = self.flush(timeout)
        with self._cond:
            if self._closed:
                return done
            self._closed = True
            unsent = self._pending
            self._stop.set()
            self._kick.set()
            self._cond.notify_all()
        if unsent:
            self._stats["dropped_unsent"] += unsent
            sys.stderr.write(
                "runwatch: %d event(s) not sent to %s before the %.0f s deadline\n" % (unsent, self.url, timeout)
            )
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(1.0)
        return done

    def stats(self):
        """Counters: events queued, sent, duplicates (retries the server already had), batches,
        retries, truncated, and dropped (queue full, rejected by the server, unsent at close)."""
        with self._cond:
            stats = dict(self._stats)
            stats["pending"] = self._pending
        return stats

    # -- queue --------------------------------------------------------------------------------

    def _enqueue(self, run, event):
        try:
            event["data"] = _jsonable(event.get("data")) if "data" in event else None
            if event["data"] is None:
                del event["data"]
            text, truncated = _fit(event)
        except Exception as error:  # noqa: BLE001 - never raise into the agent
            self._warn_once("encode", "runwatch: could not encode a %s event: %r" % (event.get("type"), error))
            return
        kind = event["type"]
        with self._cond:
            if truncated:
                self._stats["truncated"] += 1
            if self._closed:
                self._stats["dropped_unsent"] += 1
                return
            # The end of a run is admitted over the bound, so a full queue never leaves it running.
            limit = self.max_queue + (1000 if kind in _TERMINAL else 0)
            if len(self._queue) >= limit:
                self._stats["dropped_queue_full"] += 1
                full = True
            else:
                self._queue.append((run, text, kind))
                self._pending += 1
                self._stats["queued"] += 1
                full = False
                if len(self._queue) == 1 or len(self._queue) >= self.batch_size:
                    self._cond.notify_all()  # wakes the sender: its timer starts, or a batch is full
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="runwatch-sender", daemon=True)
                self._thread.start()
        if full:
            self._warn_once(
                "full",
                "runwatch: more than %d events waiting to be sent; dropping new ones (see stats())" % self.max_queue,
            )

    def _loop(self):
        while True:
            with self._cond:
                while not self._queue and not self._stop.is_set():
                    self._cond.wait()
                if self._stop.is_set():
                    return
                deadline = time.monotonic() + self.flush_interval
                while len(self._queue) < self.batch_size and not self._flush_waiters and not self._stop.is_set():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                chunk = [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]
            # One POST per run in the chunk, each run's events in the order they were made.
            groups = {}
            for run, text, kind in chunk:
                groups.setdefault(id(run), (run, []))[1].append((text, kind))
            for run, events in groups.values():
                try:
                    self._send_sized(run, events)
                except _Stop:
                    return
                except Exception as error:  # noqa: BLE001 - a bug here must not kill the sender
                    self._warn_once("bug", "runwatch: internal error, %d event(s) dropped: %r" % (len(events), error))
                    self._resolved(len(events), "dropped_rejected")

    def _send_sized(self, run, events):
        """Sends events in POSTs whose bodies stay under the server's body limit."""
        batch, size = [], 0
        for item in events:
            if batch and size + len(item[0]) + 1 > _BODY_BUDGET:
                self._send(run, batch)
                batch, size = [], 0
            batch.append(item)
            size += len(item[0]) + 1
        if batch:
            self._send(run, batch)

    def _resolved(self, count, counter=None, sent=0, duplicates=0):
        with self._cond:
            self._pending -= count
            if counter:
                self._stats[counter] += count
            self._stats["sent"] += sent
            self._stats["duplicates"] += duplicates
            self._cond.notify_all()

    # -- HTTP ---------------------------------------------------------------------------------

    def _request(self, method, path, body, timeout):
        """One request; returns (status, headers, parsed JSON or None). Raises on network errors."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        headers["User-Agent"] = "runwatch-python/%s" % __version__
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers = error.code, error.headers
            try:
                raw = error.read()
            except Exception:  # noqa: BLE001 - connection cut while reading the error
                raw = b""
            finally:
                error.close()
        try:
            parsed = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            parsed = None
        return status, headers, parsed

    def _call(self, method, path, body, timeout=None, retry=True):
        """A request retried on network errors, 5xx, 408 and 429 with exponential backoff and jitter.

        Returns (status, parsed body) of the first answer that is not retried. Raises ``_Stop``
        when closing gives up, or the network error when ``retry`` is False.
        """
        attempt = 0
        while True:
            if self._stop.is_set():
                raise _Stop()
            wait = None
            try:
                status, headers, parsed = self._request(method, path, body, timeout or self.request_timeout)
            except Exception as error:  # noqa: BLE001 - URLError, timeouts, resets
                if not retry:
                    raise
                self._note_outage("cannot reach %s (%s)" % (self.url, _reason(error)))
            else:
                if status < 500 and status not in (408, 429):
                    if self._outage:
                        self._outage = False
                        sys.stderr.write("runwatch: %s answers again; sending what was queued\n" % self.url)
                    return status, parsed
                if not retry:
                    raise IOError("HTTP %d" % status)
                self._note_outage("%s answered HTTP %d" % (self.url, status))
                wait = _retry_after(headers)
            backoff = min(self.max_backoff, 0.1 * (2 ** min(attempt, 10)))
            delay = wait if wait is not None else random.uniform(backoff / 2, backoff)
            attempt += 1
            with self._cond:
                self._stats["retries"] += 1
            # A flush (at exit, say) cuts the wait short: one more try rather than a lost deadline.
            self._kick.wait(min(delay, 60.0))
            self._kick.clear()

    def _note_outage(self, message):
        if not self._outage:
            self._outage = True
            sys.stderr.write("runwatch: %s; retrying in the background\n" % message)

    def _create(self, run, timeout=None, retry=True):
        """Creates the run's execution (idempotent: same id). Returns False when refused."""
        if run._created:
            return True
        status, parsed = self._call("POST", "/api/executions", _dumps(run._create_body).encode(), timeout, retry)
        if status in (200, 201):
            run._created = True
            if isinstance(parsed, dict) and isinstance(parsed.get("url"), str):
                run.url = parsed["url"]
            return True
        run._rejected = True
        sys.stderr.write(
            "runwatch: the server refused to create execution %s (HTTP %d: %s); its events are dropped\n"
            % (run.id, status, _error_text(parsed))
        )
        return False

    def _send(self, run, batch):
        """Sends one run's events, in order, until each is stored or refused."""
        recreated = False
        while batch:
            if not run._created and not run._rejected:
                self._create(run)
            if run._rejected:
                self._resolved(len(batch), "dropped_rejected")
                return
            body = ('{"events":[' + ",".join(text for text, _ in batch) + "]}").encode("ascii")
            status, parsed = self._call("POST", "/api/executions/%s/events" % run.id, body)
            if status == 200:
                results = parsed.get("results", []) if isinstance(parsed, dict) else []
                duplicates = sum(1 for r in results if isinstance(r, dict) and r.get("duplicate"))
                with self._cond:
                    self._stats["batches"] += 1
                self._resolved(len(batch), sent=len(batch) - duplicates, duplicates=duplicates)
                return
            code, message = _error_parts(parsed)
            if status == 404 and code == "not_found" and not recreated:
                recreated = True  # the server lost it (a new database?): create it again
                run._created = False
                continue
            named = sorted({int(i) for i in re.findall(r"(?:^|; )events\.(\d+)", message)})
            named = [i for i in named if i < len(batch)]
            if status in (400, 413) and named:
                self._warn_once(
                    ("event", status, code),
                    "runwatch: the server refused a %s event (HTTP %d: %s); dropped it, sending the rest"
                    % (batch[named[0]][1], status, message),
                )
                self._resolved(len(named), "dropped_rejected")
                batch = [item for i, item in enumerate(batch) if i not in set(named)]
                continue
            if status == 413 and len(batch) > 1:  # a proxy with a smaller body limit: halve
                half = len(batch) // 2
                self._send(run, batch[:half])
                batch = batch[half:]
                continue
            self._warn_once(
                ("batch", status, code),
                "runwatch: the server refused %d event(s) of %s (HTTP %d: %s); dropped them"
                % (len(batch), run.id, status, message or code or "no details"),
            )
            self._resolved(len(batch), "dropped_rejected")
            return

    # -- misc ---------------------------------------------------------------------------------

    def _warn_once(self, key, message):
        if key in self._warned:
            return
        self._warned.add(key)
        try:
            sys.stderr.write(message.rstrip("\n") + "\n")
        except Exception:  # noqa: BLE001 - stderr closed
            pass

    def _at_exit(self):
        if not self._closed:
            self.close(self.exit_timeout)


def _named(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return {"name": str(value)}


def _reason(error):
    reason = getattr(error, "reason", None) or error
    return "%s: %s" % (type(reason).__name__, reason) if str(reason) else type(reason).__name__


def _error_parts(parsed):
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        return str(parsed["error"].get("code", "")), str(parsed["error"].get("message", ""))
    return "", ""


def _error_text(parsed):
    code, message = _error_parts(parsed)
    return ("%s: %s" % (code, message)) if code else "no details"


def _retry_after(headers):
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date), or None."""
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())
    except Exception:  # noqa: BLE001
        return None


# -- process-wide ----------------------------------------------------------------------------

_clients = []
_default = None
_default_lock = threading.Lock()
_hook_installed = False


def _install_excepthook():
    """On an uncaught exception, fail every run still open with it before the process ends."""
    global _hook_installed
    if _hook_installed:
        return
    _hook_installed = True
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        for client in list(_clients):
            for run in list(client._runs):
                if not run._ended:
                    with contextlib.suppress(Exception):
                        run.fail(exc if exc is not None else exc_type())
        previous(exc_type, exc, tb)

    sys.excepthook = hook


def default_client():
    """The process-wide :class:`Runwatch` configured from the environment (made on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Runwatch()
        return _default


def start(agent=None, **kwargs):
    """``runwatch.start(...)``: :meth:`Runwatch.start` on :func:`default_client`."""
    return default_client().start(agent, **kwargs)
