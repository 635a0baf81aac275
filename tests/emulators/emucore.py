"""emucore: what the cloud emulators of tests/emulators/ (eksemu, aksemu, gkeemu and, for
its body limit, merge patch and server, fakecloud) share. Standard library only.

Each emulator is a script, run as `python3 tests/emulators/<name>.py ...` (the tests start
them as processes); it puts its own directory on sys.path and imports this module from
there. Everything a client of one cloud can tell apart (error bodies, error codes,
headers, request ids) stays in that emulator's file and reaches the shared code through
the small hooks of `Handler` and the subclasses of `Fault`.

- `read_body`, `merge_patch`, `match_template`: request bodies with a size limit, RFC 7396
  merge patches, and path templates ("/clusters/{name}").

- `Cloud`: the state every emulator keeps behind one lock: the test clock (wall time plus
  an offset that POST /admin/clock moves), the transitions due on it, the token bucket
  (--rate-per-s), the fault registry (/admin/faults), the fail-next list
  (/admin/fail-next) and the call log (/admin/calls).
- `Fault`: one injected fault (status, latency_ms, malformed, drop, count, cluster).
- `Handler`: the HTTP side: reading bodies with a size limit, sending answers, dropping
  connections, playing a fault, routing /admin/... and the admin routes that are the same
  in every emulator (clock, faults, calls, fail-next list and clear, reset).
- `Server`, `serve`: a ThreadingHTTPServer that prints "listening on 127.0.0.1:<port>"
  first and stops by itself when its parent dies or --max-seconds have passed.
"""

import copy
import heapq
import itertools
import json
import os
import re
import socket
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 8 * 1024 * 1024


class SpecError(ValueError):
    """A value a test sent to the admin API is wrong; the message says which and why. The
    emulator turns it into its own 400 answer (`Handler.bad_value`)."""


class BodyError(Exception):
    """A request body that is not read: 411 (chunked) or 413 (too large)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


def read_body(handler, limit=MAX_BODY):
    """The request body of a BaseHTTPRequestHandler as bytes. A chunked body (411) and a
    Content-Length that is not a number, negative or over `limit` bytes (413) raise
    BodyError and close the connection after the answer."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        handler.close_connection = True
        raise BodyError(411, "send a Content-Length")
    try:
        length = int(handler.headers.get("Content-Length") or 0)
    except ValueError:
        length = -1
    if length < 0 or length > limit:
        handler.close_connection = True
        raise BodyError(413, "the request body is too large")
    return handler.rfile.read(length) if length else b""


def merge_patch(target, patch):
    """RFC 7396 JSON merge patch: objects merge, null deletes, anything else replaces.
    Returns a new value; neither argument is changed."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


def match_template(template, segments, fold_case=False):
    """The labels of a path that matches a route template, or None. Both are lists of path
    segments; a template segment "{name}" takes any non-empty segment (%-decoded after
    the split, so a label holds a '/' only as %2F), the others must be equal (in any case
    with fold_case)."""
    if len(template) != len(segments):
        return None
    args = {}
    for t, s in zip(template, segments):
        if t.startswith("{"):
            value = urllib.parse.unquote(s)
            if not value:
                return None
            args[t[1:-1]] = value
        elif (t.lower() != s.lower()) if fold_case else (t != s):
            return None
    return args


def one_of(names):
    """'"a", "b" or "c"', for error messages."""
    quoted = [f'"{n}"' for n in names]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1] if len(quoted) > 1 else quoted[0]


# ---- state -------------------------------------------------------------------------------


class TokenBucket:
    """--rate-per-s: up to `rate` calls a second, in bursts of up to max(1, rate) calls.
    A rate of 0 (or less) lets every call through."""

    def __init__(self, rate):
        self.rate = rate or 0
        self.tokens, self.t = float(max(1.0, self.rate)), time.monotonic()

    def take(self):
        """Whether one more call may go through now."""
        if self.rate <= 0:
            return True
        now = time.monotonic()
        self.tokens = min(max(1.0, self.rate), self.tokens + (now - self.t) * self.rate)
        self.t = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Fault:
    """One injected fault, as POST /admin/faults gives it: which calls it hits
    ("operation", "*" for all; "cluster"), how many times ("count", negative: until
    removed), and what it does: "latency_ms" of delay, then a dropped connection ("drop"),
    a truncated body ("malformed") or an error with "status" (and "code", "message").

    A bad spec raises SpecError. Subclasses set the class attributes below and may add
    members with `check_more` and `view`."""

    OPERATION_HELP = 'an operation name or "*"'  # ends '"operation" must be ...'
    STAR_SKIPS = None  # the one operation "*" does not hit (a token endpoint), if any
    LATENCY_MAY_BE_BOOL = True  # whether "latency_ms": true passes (it sleeps 1 ms)

    def __init__(self, fid, spec):
        if not isinstance(spec, dict):
            raise SpecError("a fault is a JSON object")
        self.id = fid
        self.operation = spec.get("operation", "*")
        self.status = spec.get("status")
        self.code, self.message = spec.get("code"), spec.get("message")
        self.count = spec.get("count", 1)
        self.latency_ms = spec.get("latency_ms", 0)
        self.malformed = bool(spec.get("malformed"))
        self.drop = bool(spec.get("drop"))
        self.cluster = spec.get("cluster")
        if not isinstance(self.operation, str) or not self.operation:
            raise SpecError(f'"operation" must be {self.OPERATION_HELP}')
        self.operation = self.canonical_operation(self.operation)
        if self.status is not None and (not isinstance(self.status, int) or isinstance(
                self.status, bool) or not 100 <= self.status <= 599):
            raise SpecError('"status" must be an HTTP status')
        if not isinstance(self.count, int) or isinstance(self.count, bool) or self.count == 0:
            raise SpecError('"count" must be a non-zero integer (negative: until removed)')
        if not isinstance(self.latency_ms, (int, float)) or self.latency_ms < 0 or (
                isinstance(self.latency_ms, bool) and not self.LATENCY_MAY_BE_BOOL):
            raise SpecError('"latency_ms" must be a non-negative number')
        self.check_more(spec)
        for key in ("code", "message", "cluster"):
            if spec.get(key) is not None and not isinstance(spec[key], str):
                raise SpecError(f'"{key}" must be a string')
        if self.status is None and not (self.malformed or self.drop or self.latency_ms):
            raise SpecError('a fault needs "status", "malformed", "drop" or "latency_ms"')

    def canonical_operation(self, operation):
        """The operation name the fault stores (a hook for aliases)."""
        return operation

    def check_more(self, spec):
        """Reads and checks the members a subclass adds (a hook; raise SpecError)."""

    def cluster_matches(self, cluster):
        return self.cluster == cluster

    def matches(self, operation, cluster):
        if self.operation == "*":
            if self.STAR_SKIPS is not None and operation == self.STAR_SKIPS:
                return False
        elif self.operation != operation:
            return False
        return self.cluster is None or self.cluster_matches(cluster)

    def view(self):
        return {"id": self.id, "operation": self.operation, "status": self.status,
                "code": self.code, "message": self.message, "count": self.count,
                "latency_ms": self.latency_ms, "malformed": self.malformed, "drop": self.drop,
                "cluster": self.cluster}


class Cloud:
    """The state every emulator keeps, behind one lock (reentrant, so that a handler may
    take it again when its dispatcher already holds it).

    The test clock is wall time plus `offset` (POST /admin/clock {"advance"} adds to it).
    Transitions are due at clock times and settle lazily: each request first applies those
    whose time has come, in time order, each called with its due time.

    A subclass sets up its own members, then calls `Cloud.__init__`, which calls `reset`;
    its `reset` calls `Cloud.reset` and clears its own members."""

    def __init__(self, rate_per_s):
        self.lock = threading.RLock()
        self.seq = itertools.count()
        self.fault_ids = itertools.count(1)  # never reset, so fault ids stay unique
        self.bucket = TokenBucket(rate_per_s)
        self.reset()

    def reset(self):
        self.offset = 0.0
        self.due = []  # heap of (time, seq, callable)
        self.faults = []  # Fault, in the order they were added
        self.fail_next = []  # armed failures: dicts with "kind" and the emulator's members
        self.calls = []  # the call log: one dict per call, in the emulator's shape

    # -- the clock --

    def now(self):
        return round(time.time() + self.offset, 3)

    def schedule_at(self, when, fn):
        """Calls fn(when) once the clock has reached `when`."""
        heapq.heappush(self.due, (when, next(self.seq), fn))

    def schedule(self, delay, fn):
        """Calls fn(t) once `delay` seconds have passed on the clock; returns t."""
        t = round(self.now() + max(0.0, delay), 3)
        self.schedule_at(t, fn)
        return t

    def settle(self):
        now = self.now()
        while self.due and self.due[0][0] <= now:
            t, _, fn = heapq.heappop(self.due)
            fn(t)

    def clock_view(self):
        return {"offset": self.offset, "now": self.now(), "wall": time.time()}

    # -- throttling, faults, fail-next and the call log --

    def take_throttle(self):
        """Whether the token bucket lets one more call through (with the lock held)."""
        return self.bucket.take()

    def take_fault(self, operation, cluster):
        """The first fault that hits this call, counted, or None (with the lock held)."""
        for f in self.faults:
            if f.matches(operation, cluster):
                if f.count > 0:
                    f.count -= 1
                    if f.count == 0:
                        self.faults.remove(f)
                return f
        return None

    def admit(self, operation, cluster):
        """(throttled, fault) for one cloud call: the token bucket first, then the faults,
        which a throttled call does not use up (with the lock held)."""
        throttled = not self.take_throttle()
        return throttled, None if throttled else self.take_fault(operation, cluster)

    def take_armed(self, kind, **members):
        """Removes and returns the first armed failure of this kind whose members are all
        unset or equal to the ones given, or None (with the lock held)."""
        for f in self.fail_next:
            if f["kind"] != kind:
                continue
            if any(f.get(k) not in (None, v) for k, v in members.items()):
                continue
            self.fail_next.remove(f)
            return f
        return None

    def record(self, entry):
        """Appends one call to the call log."""
        with self.lock:
            self.calls.append(entry)


# ---- HTTP --------------------------------------------------------------------------------


def admin_route(method, pattern):
    """Marks a Handler method as the admin route for `method` and the path regex `pattern`.
    The method is called as fn(cloud, body=..., query=..., **path groups) and returns
    (status, JSON body)."""
    def wrap(fn):
        fn.admin_route = (method, re.compile("^" + pattern + "$"))
        return fn
    return wrap


def admin_routes_of(cls):
    """[(method, regex, attribute name)] of the @admin_route methods of a Handler class and
    its bases; a subclass's method replaces the one of the same name in a base."""
    attrs = {}
    for klass in reversed(cls.__mro__):
        attrs.update(vars(klass))
    return [(fn.admin_route[0], fn.admin_route[1], name) for name, fn in attrs.items()
            if hasattr(fn, "admin_route")]


class Handler(BaseHTTPRequestHandler):
    """The HTTP side of an emulator. A subclass sets `server_version`, `fault_class`,
    `FAIL_NEXT_KINDS` and `FAIL_NEXT_MEMBERS`, and writes:

    - reply(status, body, headers=...): its answers (with `send`);
    - dispatch_cloud(raw_path, raw_query, raw): everything but /admin;
    - refuse_body(e): the answer to a BodyError;
    - bad_body(message), bad_value(message): the exceptions of a 400 admin answer for a body
      that is not a JSON object and for a wrong value;
    - admin_errors, admin_error(e): the exception classes an admin route may raise and the
      answer to one of them; admin_missing(status, message): the 404/405 answer;

    and, after the class, `Handler.admin_routes = emucore.admin_routes_of(Handler)`."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    max_body = MAX_BODY
    fault_class = Fault
    FAIL_NEXT_KINDS = ()  # the "kind"s POST /admin/fail-next accepts
    FAIL_NEXT_MEMBERS = ()  # the other members of an armed failure, in their order
    admin_errors = ()
    admin_routes = []

    def log_message(self, *args):
        if self.server.opts.verbose:
            super().log_message(*args)

    def begin_request(self):
        """Sets what every answer to this request carries (a hook)."""
        self.request_id = str(uuid.uuid4())

    def do_GET(self):
        self.begin_request()
        try:
            self.dispatch()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    # -- replies --

    def send(self, status, data, content_type, headers=()):
        """Sends an answer: Content-Type (unless None), Content-Length, then `headers`
        (name, value pairs) and, unless this is a HEAD request, `data` (bytes)."""
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def drop_connection(self):
        """Closes the connection without an answer (a "drop" fault)."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def play_fault(self, fault, log, truncated, headers=()):
        """Plays what an injected fault does before any answer: its latency (outside the
        lock), then a dropped connection or the `truncated` body (with its status, 200 if
        none). `log(status)` records the call. Returns True when the call is answered; a
        status fault is the caller's to answer, in its cloud's error shape."""
        if fault is None:
            return False
        if fault.latency_ms:
            time.sleep(fault.latency_ms / 1000.0)  # outside the lock
        if fault.drop:
            log(0)
            self.drop_connection()
            return True
        if fault.malformed:
            log(fault.status or 200)
            self.reply(fault.status or 200, truncated, headers=headers)
            return True
        return False

    # -- dispatch --

    def dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        raw_path, raw_query = url.path, url.query
        try:
            raw = read_body(self, self.max_body)
        except BodyError as e:
            return self.refuse_body(e)
        if raw_path == "/admin" or raw_path.startswith("/admin/"):
            return self.dispatch_admin(raw_path, raw_query, raw)
        return self.dispatch_cloud(raw_path, raw_query, raw)

    def dispatch_admin(self, raw_path, raw_query, raw):
        """Runs the admin route for the path and method: 405 when the path is there for
        other methods only, 404 when it is not there."""
        cloud = self.server.cloud
        exists = False
        for method, regex, attr in self.admin_routes:
            m = regex.match(raw_path)
            if not m:
                continue
            exists = True
            if method != self.command:
                continue
            args = {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}
            try:
                body = None
                if self.command in ("POST", "PATCH", "PUT"):
                    try:
                        body = json.loads(raw) if raw.strip() else {}
                    except (ValueError, UnicodeDecodeError) as e:
                        raise self.bad_body(f"the body is not JSON: {e}")
                    if not isinstance(body, dict):
                        raise self.bad_body("the body must be a JSON object")
                query = urllib.parse.parse_qs(raw_query)
                status, out = self.run_admin(getattr(self, attr), cloud, body=body,
                                             query=query, **args)
            except self.admin_errors as e:
                return self.admin_error(e)
            return self.reply(status, out)
        if exists:
            return self.admin_missing(405, f"{self.command} is not allowed here")
        return self.admin_missing(404, f"no admin route {raw_path}")

    def run_admin(self, fn, cloud, **kwargs):
        """Calls one admin route (a hook: an emulator may run them all under the lock)."""
        return fn(cloud, **kwargs)

    # -- the admin routes every emulator has --

    @admin_route("GET", r"/admin/clock")
    def admin_clock(self, cloud, **_):
        with cloud.lock:
            cloud.settle()
            return 200, cloud.clock_view()

    @admin_route("POST", r"/admin/clock")
    def admin_clock_advance(self, cloud, body, **_):
        adv = body.get("advance", 0)
        if not isinstance(adv, (int, float)) or isinstance(adv, bool) or adv < 0:
            raise self.bad_value('"advance" must be a non-negative number of seconds')
        with cloud.lock:
            cloud.offset += adv
            cloud.settle()
            return 200, cloud.clock_view()

    @admin_route("GET", r"/admin/faults")
    def admin_faults(self, cloud, **_):
        with cloud.lock:
            return 200, {"faults": [f.view() for f in cloud.faults]}

    @admin_route("POST", r"/admin/faults")
    def admin_add_fault(self, cloud, body, **_):
        try:
            f = self.fault_class(next(cloud.fault_ids), body)
        except SpecError as e:
            raise self.bad_value(str(e))
        with cloud.lock:
            cloud.faults.append(f)
            return 201, f.view()

    @admin_route("DELETE", r"/admin/faults")
    def admin_clear_faults(self, cloud, **_):
        with cloud.lock:
            cloud.faults = []
            return 200, {"faults": []}

    def select_calls(self, calls, query):
        """The logged calls GET /admin/calls shows (copies): all, or ?cluster=NAME's."""
        only = query.get("cluster", [None])[0]
        return [dict(c) for c in calls if only in (None, c["cluster"])]

    def calls_view(self, calls):
        return {"calls": calls, "total": len(calls)}

    @admin_route("GET", r"/admin/calls")
    def admin_calls(self, cloud, query, **_):
        with cloud.lock:
            return 200, self.calls_view(self.select_calls(cloud.calls, query))

    @admin_route("DELETE", r"/admin/calls")
    def admin_calls_clear(self, cloud, **_):
        with cloud.lock:
            cloud.calls = []
            return 200, self.calls_view([])

    def require_strings(self, body, keys):
        for k in keys:
            if body.get(k) is not None and not isinstance(body[k], str):
                raise self.bad_value(f'"{k}" must be a string')

    def check_fail_next(self, body):
        """Checks the members of a POST /admin/fail-next body (by default: strings)."""
        self.require_strings(body, self.FAIL_NEXT_MEMBERS)

    @admin_route("GET", r"/admin/fail-next")
    def admin_fail_next_list(self, cloud, **_):
        with cloud.lock:
            return 200, {"armed": copy.deepcopy(cloud.fail_next)}

    @admin_route("POST", r"/admin/fail-next")
    def admin_fail_next(self, cloud, body, **_):
        if body.get("kind") not in self.FAIL_NEXT_KINDS:
            raise self.bad_value(f'"kind" must be {one_of(self.FAIL_NEXT_KINDS)}')
        self.check_fail_next(body)
        entry = {k: body.get(k) for k in ("kind", *self.FAIL_NEXT_MEMBERS)}
        with cloud.lock:
            cloud.fail_next.append(entry)
            return 201, {"armed": copy.deepcopy(cloud.fail_next)}

    @admin_route("DELETE", r"/admin/fail-next")
    def admin_fail_next_clear(self, cloud, **_):
        with cloud.lock:
            cloud.fail_next = []
            return 200, {"armed": []}

    @admin_route("POST", r"/admin/reset")
    def admin_reset(self, cloud, **_):
        with cloud.lock:
            cloud.reset()
            return 200, {"reset": True}


# ---- the server --------------------------------------------------------------------------


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def watchdog(server, parent, deadline):
    """Stops the server when its parent dies or its time is up."""
    while time.monotonic() < deadline and os.getppid() == parent:
        time.sleep(0.2)
    server.shutdown()


def serve(server, max_seconds):
    """Prints "listening on 127.0.0.1:<port>" (the first line on stdout, which the tests
    wait for) and serves until the process that started this one dies, `max_seconds` have
    passed or Ctrl-C. Returns the exit status, 0."""
    threading.Thread(target=watchdog, daemon=True,
                     args=(server, os.getppid(), time.monotonic() + max_seconds)).start()
    print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    server.server_close()
    return 0
