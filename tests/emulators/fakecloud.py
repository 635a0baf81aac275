#!/usr/bin/env python3
"""The fake cloud: an HTTP server that behaves like a small EKS-like managed
Kubernetes service, for hcr's "fake" provider, the reconciler's tests and its
benchmark. Standard library only.

    python3 tests/emulators/fakecloud.py [--port 0] [--latency-ms 0] [--op-seconds 0.5]
                                         [--token fake-token] [--max-seconds 3600]

The first line on stdout is "listening on 127.0.0.1:<port>". The server stops
by itself when the process that started it dies, or after --max-seconds.

Cloud API (needs "Authorization: Bearer <token>"):
    GET    /v1/clusters?limit=&next=           list names, paginated
    POST   /v1/clusters                        {"name", "document", "clientRequestToken"?}
                                                -> 202 operation
    GET    /v1/clusters/{name}                 {"name", "status", "document"}
    DELETE /v1/clusters/{name}                 -> 202 operation
    POST   /v1/clusters/{name}/operations      {"operation", "pool", "changes",
                                                "clientRequestToken"?} -> 202 operation
    GET    /v1/operations/{id}                 {"id", "cluster", "state", "error"?, ...}
    POST   /v1/clusters/{name}/kube-credentials {"server", "certificateAuthorityData"?,
                                                "token", "expiresAt"}
Admin API (no auth; for tests):
    GET/PUT/PATCH/DELETE /admin/clusters/{name}, PUT/DELETE /admin/clusters/{name}/kube,
    POST /admin/clusters/bulk,
    GET/POST/DELETE /admin/faults, GET/DELETE /admin/calls, POST /admin/reset

docs/fakecloud.md describes every route, the change paths and the faults.
"""

import argparse
import copy
import heapq
import itertools
import json
import os
import re
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # emucore.py is next to this file
import emucore  # noqa: E402  (body limit, merge patch, server and watchdog of every emulator)

ACTIVE, UPDATING, CREATING, DELETING = "ACTIVE", "UPDATING", "CREATING", "DELETING"
RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"

# Pool arrays and the field that names their items (pools are matched by name).
POOL_KEYS = {"nodeGroups": "nodegroupName"}
DEFAULT_POOL_KEY = "name"

MAX_BODY = 16 * 1024 * 1024
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
# kubernetesVersion, tags.team, nodeGroups[ng-a], nodeGroups[ng-a].labels.env
PATH_RE = re.compile(r"^(?P<field>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<pool>[^\[\]]+)\])?"
                     r"(?:\.(?P<rest>.+))?$")

# The error code a status fault answers with, unless the fault names one.
FAULT_CODES = {400: "InvalidParameterException", 401: "UnrecognizedClientException",
               403: "AccessDeniedException", 404: "ResourceNotFoundException",
               409: "ResourceInUseException", 429: "ThrottlingException",
               500: "ServerException", 503: "ServiceUnavailableException"}


class CloudError(Exception):
    """A request the cloud refuses: answered with `status` and {"error": {code, message}}."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class OpFailed(Exception):
    """An accepted operation that fails when it runs."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def invalid(message):
    return CloudError(400, "InvalidParameterException", message)


# ---- documents and change paths ----------------------------------------------------------


def parse_path(path):
    """Splits a change path into (field, pool, leaf, key).

    "tags.team" -> ("tags", None, None, "team"); "nodeGroups[a]" -> ("nodeGroups", "a",
    None, None); "nodeGroups[a].labels.env" -> ("nodeGroups", "a", "labels", "env").
    A map key is everything after the map's name, so keys may contain dots.
    """
    m = PATH_RE.match(path) if isinstance(path, str) else None
    if not m:
        raise invalid(f"invalid change path {path!r}")
    field, pool, rest = m.group("field"), m.group("pool"), m.group("rest")
    if pool is None:
        return field, None, None, rest
    if rest is None:
        return field, pool, None, None
    leaf, _, key = rest.partition(".")
    if not leaf:
        raise invalid(f"invalid change path {path!r}")
    return field, pool, leaf, key or None


def version_key(v):
    """"1.29" -> (1, 29); anything unparsable compares as None (never a downgrade)."""
    try:
        return tuple(int(p) for p in str(v).split("."))
    except ValueError:
        return None


def check_upgrade(what, current, new):
    old_k, new_k = version_key(current), version_key(new)
    if current is not None and old_k is not None and new_k is not None and new_k < old_k:
        raise OpFailed("InvalidParameterException",
                       f"cannot downgrade {what} from {current} to {new}")


def set_map_key(obj, field, key, value, where):
    m = obj.get(field)
    if m is None:
        if value is None:
            return
        m = obj[field] = {}
    if not isinstance(m, dict):
        raise OpFailed("InvalidParameterException", f"{where}{field} is not a map")
    if value is None:
        m.pop(key, None)
    else:
        m[key] = value


def set_leaf(obj, field, value):
    if value is None:
        obj.pop(field, None)
    else:
        obj[field] = value


def find_pool(doc, field, name):
    key = POOL_KEYS.get(field, DEFAULT_POOL_KEY)
    pools = doc.get(field)
    if not isinstance(pools, list):
        return None, None
    for i, p in enumerate(pools):
        if isinstance(p, dict) and p.get(key) == name:
            return i, p
    return None, None


def apply_changes(doc, changes):
    """Returns a new document with `changes` applied, or raises OpFailed (doc untouched).

    Pool creations go first and deletions last, so that one operation may create a
    pool and set its fields.
    """
    new = copy.deepcopy(doc)
    items = [(parse_path(p), copy.deepcopy(v)) for p, v in changes.items()]

    def rank(item):
        (_, pool, leaf, _), value = item
        if pool is not None and leaf is None:
            return 2 if value is None else 0
        return 1

    for (field, pool, leaf, key), value in sorted(items, key=rank):
        if pool is None:
            if key is not None:
                set_map_key(new, field, key, value, "")
            else:
                if field == "kubernetesVersion" and value is not None:
                    check_upgrade("kubernetesVersion", new.get(field), value)
                set_leaf(new, field, value)
            continue
        idx, obj = find_pool(new, field, pool)
        if leaf is None:
            if value is None:
                if obj is None:
                    raise OpFailed("ResourceNotFoundException", f"{field}[{pool}] not found")
                del new[field][idx]
                continue
            if obj is not None:
                raise OpFailed("ResourceInUseException", f"{field}[{pool}] already exists")
            created = value if isinstance(value, dict) else {}
            created[POOL_KEYS.get(field, DEFAULT_POOL_KEY)] = pool
            if not isinstance(new.get(field), list):
                new[field] = []
            new[field].append(created)
            continue
        if obj is None:
            raise OpFailed("ResourceNotFoundException", f"{field}[{pool}] not found")
        if key is not None:
            set_map_key(obj, leaf, key, value, f"{field}[{pool}].")
        else:
            if leaf == "version" and value is not None:
                check_upgrade(f"{field}[{pool}].version", obj.get(leaf), value)
            set_leaf(obj, leaf, value)
    return new


def check_operation_paths(pool, changes):
    """Validates paths when an operation is submitted: an operation targets either the
    cluster (pool null: no pool paths) or one pool (every path inside that pool)."""
    for path in changes:
        _, p, _, _ = parse_path(path)
        if p != pool:
            where = f"pool {pool!r}" if pool is not None else "the cluster"
            raise invalid(f"change path {path!r} is outside the operation's target ({where})")


# ---- state -------------------------------------------------------------------------------


class Cluster:
    def __init__(self, name, document):
        self.name = name
        self.document = document
        self.op = None  # the running Operation, if any
        self.kube = None  # {"server", "token", "certificateAuthorityData"?}: its Kubernetes API

    def status(self):
        if self.op is None:
            return ACTIVE
        return {"create": CREATING, "delete": DELETING}.get(self.op.kind, UPDATING)

    def view(self):
        return {"name": self.name, "status": self.status(), "document": self.document}


class Operation:
    def __init__(self, op_id, cluster, kind, name, pool, changes, ends_at, injected):
        self.id, self.cluster, self.kind, self.name = op_id, cluster, kind, name
        self.pool, self.changes = pool, changes
        self.state, self.error = RUNNING, None
        self.created_at, self.ends_at, self.completed_at = time.time(), ends_at, None
        self.injected = injected  # {"code", "message"} when a fault makes it fail

    def view(self):
        v = {"id": self.id, "cluster": self.cluster, "operation": self.name, "pool": self.pool,
             "state": self.state, "createdAt": self.created_at}
        if self.completed_at is not None:
            v["completedAt"] = self.completed_at
        if self.error is not None:
            v["error"] = self.error
        return v


class Fault:
    KINDS = ("status", "latency", "fail_next_op", "malformed")

    def __init__(self, fault_id, spec):
        if not isinstance(spec, dict) or spec.get("kind") not in self.KINDS:
            raise invalid("\"kind\" must be one of " + ", ".join(self.KINDS))
        self.id, self.kind = fault_id, spec["kind"]
        self.count = spec.get("count", 1)  # negative: until removed
        self.path_prefix = spec.get("path_prefix", "")
        self.method = spec.get("method")
        self.status = spec.get("status", 503 if self.kind == "status" else 200)
        self.ms = spec.get("ms", 1000)
        self.code = spec.get("code")
        self.message = spec.get("message")
        self.body = spec.get("body")
        if not isinstance(self.count, int) or self.count == 0 or isinstance(self.count, bool):
            raise invalid("\"count\" must be a non-zero integer (negative: until removed)")
        if not isinstance(self.path_prefix, str):
            raise invalid("\"path_prefix\" must be a string")
        if not isinstance(self.status, int) or not 100 <= self.status <= 599:
            raise invalid("\"status\" must be an HTTP status")
        if not isinstance(self.ms, (int, float)) or self.ms < 0:
            raise invalid("\"ms\" must be a non-negative number")
        for key in ("code", "message", "body"):
            if spec.get(key) is not None and not isinstance(spec[key], str):
                raise invalid(f"\"{key}\" must be a string")

    def matches(self, method, path):
        return path.startswith(self.path_prefix) and self.method in (None, method)

    def consume(self):
        """Counts one use; returns whether the fault is now used up."""
        if self.count > 0:
            self.count -= 1
        return self.count == 0

    def view(self):
        v = {"id": self.id, "kind": self.kind, "count": self.count,
             "path_prefix": self.path_prefix, "method": self.method}
        if self.kind in ("status", "malformed"):
            v["status"] = self.status
        elif self.kind == "latency":
            v["ms"] = self.ms
        return v


class Cloud:
    """Everything the fake cloud knows, behind one lock. Operations complete lazily: every
    request first settles the operations whose time has come, so no timer threads.

    A stored document is never changed in place (changes build a new one), so replies can
    be serialised after the lock is released."""

    def __init__(self, op_seconds, kube_token_seconds=900):
        self.op_seconds = op_seconds
        self.kube_token_seconds = kube_token_seconds
        self.lock = threading.Lock()
        self.op_ids = itertools.count(1)  # never reset, so ids stay unique across resets
        self.fault_ids = itertools.count(1)
        self.reset()

    def reset(self):
        self.clusters = {}
        self.ops = {}
        self.due = []  # heap of (ends_at, operation id, Operation)
        self.tokens = {}  # (cluster, clientRequestToken) -> Operation
        self.faults = []
        self.reset_calls()

    def reset_calls(self):
        self.total = 0
        self.routes = Counter()
        self.by_cluster = defaultdict(Counter)
        self.operations = defaultdict(Counter)
        self.rejected = defaultdict(Counter)
        self.replayed = defaultdict(Counter)
        # Cloud calls in flight per cluster, and the most seen at once: two hcr
        # reconcilers working on one cluster at the same time would show as 2.
        self.inflight = Counter()
        self.max_inflight = Counter()

    # -- operations --

    def settle(self):
        now = time.time()
        while self.due and self.due[0][0] <= now:
            _, _, op = heapq.heappop(self.due)
            self.finish(op)

    def finish(self, op):
        cluster = self.clusters.get(op.cluster)
        op.completed_at = op.ends_at
        if cluster is None or cluster.op is not op:
            op.state = FAILED
            op.error = {"code": "ResourceNotFoundException",
                        "message": f"cluster {op.cluster} no longer exists"}
            return
        cluster.op = None
        try:
            if op.injected:
                raise OpFailed(op.injected["code"], op.injected["message"])
            if op.kind == "update":
                cluster.document = apply_changes(cluster.document, op.changes)
            elif op.kind == "delete":
                del self.clusters[op.cluster]
            op.state = SUCCEEDED
        except OpFailed as e:
            op.state = FAILED
            op.error = {"code": e.code, "message": e.message}
            if op.kind == "create":  # a cluster that failed to come up is gone
                del self.clusters[op.cluster]

    def replay(self, cluster_name, token, name, pool, changes):
        """The operation an earlier request with this idempotency token started, or None.
        A token reused for a different request is refused, as EKS does."""
        if token is None:
            return None
        if not isinstance(token, str) or not token:
            raise invalid("\"clientRequestToken\" must be a non-empty string")
        op = self.tokens.get((cluster_name, token))
        if op is None:
            return None
        if (op.name, op.pool, op.changes) != (name, pool, changes):
            raise CloudError(400, "IdempotentParameterMismatchException",
                             "the clientRequestToken was already used for a different request")
        self.replayed[cluster_name][name] += 1
        return op

    def start(self, cluster_name, kind, name, pool=None, changes=None, token=None):
        cluster = self.clusters[cluster_name]
        injected = None
        method = "DELETE" if kind == "delete" else "POST"
        for f in self.faults:
            if f.kind == "fail_next_op" and f.matches(method, f"/v1/clusters/{cluster_name}"):
                injected = {"code": f.code or "InternalFailure",
                            "message": f.message or "the operation failed (injected fault)"}
                if f.consume():
                    self.faults.remove(f)
                break
        op = Operation(f"op-{next(self.op_ids)}", cluster_name, kind, name, pool, changes,
                       time.time() + self.op_seconds, injected)
        self.ops[op.id] = op
        if token is not None:
            self.tokens[(cluster_name, token)] = op
        cluster.op = op
        heapq.heappush(self.due, (op.ends_at, op.id, op))
        self.operations[cluster_name][name] += 1
        return op

    def busy_error(self, cluster, name):
        self.rejected[cluster.name][name] += 1
        return CloudError(409, "ResourceInUseException", "an update is in progress")

    # -- faults --

    def take_faults(self, method, path):
        """The extra latency (seconds) and the status/malformed fault for one cloud call."""
        delay, hit = 0.0, None
        for f in list(self.faults):
            if f.kind == "fail_next_op" or not f.matches(method, path):
                continue
            if f.kind == "latency":
                delay += f.ms / 1000.0
            elif hit is None:
                hit = f
            else:
                continue
            if f.consume():
                self.faults.remove(f)
        return delay, hit


# ---- HTTP --------------------------------------------------------------------------------


def route(method, pattern, name, cloud=True):
    def wrap(fn):
        fn.route = (method, re.compile("^" + pattern + "$"), name, cloud)
        return fn
    return wrap


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as libcurl expects
    disable_nagle_algorithm = True
    server_version = "fakecloud/1"
    routes = []  # filled below from the @route methods

    # -- plumbing --

    def log_message(self, *args):
        if self.server.verbose:
            super().log_message(*args)

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def reply(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, message):
        self.reply(status, {"error": {"code": code, "message": message}})

    def json_body(self, raw):
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            raise CloudError(400, "SerializationException", f"the body is not JSON: {e}")
        if not isinstance(body, dict):
            raise CloudError(400, "SerializationException", "the body must be a JSON object")
        return body

    def match(self, path):
        """(route name, is it a cloud route, path arguments, does the path exist at all)."""
        exists = False
        for method, regex, name, is_cloud in self.routes:
            m = regex.match(path)
            if m:
                exists = True
                if method == self.command:
                    args = {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}
                    return name, is_cloud, args, True
        return None, path.startswith("/v1/"), {}, exists

    def dispatch(self):
        cloud = self.server.cloud
        url = urllib.parse.urlsplit(self.path)
        path, query = url.path, urllib.parse.parse_qs(url.query)
        try:
            raw = emucore.read_body(self, MAX_BODY)
        except emucore.BodyError as e:
            code = "LengthRequired" if e.status == 411 else "RequestTooLarge"
            return self.error(e.status, code, e.message)
        name, is_cloud, args, exists = self.match(path)
        cluster = None
        if is_cloud:
            with cloud.lock:
                cloud.settle()
                delay, fault = self.account(cloud, name or "unmatched", path, args)
                cluster = self.cluster_of(cloud, args)
                if cluster is not None:
                    cloud.inflight[cluster] += 1
                    cloud.max_inflight[cluster] = max(cloud.max_inflight[cluster],
                                                      cloud.inflight[cluster])
        try:
            self.serve_call(cloud, name, is_cloud, args, exists, path, query, raw,
                            delay if is_cloud else 0, fault if is_cloud else None)
        finally:
            if cluster is not None:
                with cloud.lock:
                    cloud.inflight[cluster] -= 1

    @staticmethod
    def cluster_of(cloud, args):
        cluster = args.get("name")
        if cluster is None and args.get("op_id") in cloud.ops:
            cluster = cloud.ops[args["op_id"]].cluster
        return cluster

    def serve_call(self, cloud, name, is_cloud, args, exists, path, query, raw, delay, fault):
        if is_cloud:
            delay += self.server.latency
            if delay > 0:
                time.sleep(delay)  # outside the lock: slow calls do not hold up others
            if fault is not None:
                return self.reply_fault(fault)
            if self.headers.get("Authorization") != f"Bearer {self.server.token}":
                return self.error(401, "UnrecognizedClientException",
                                  "the security token included in the request is invalid")
        if name is None:
            if exists:
                return self.error(405, "MethodNotAllowed", f"{self.command} is not allowed here")
            return self.error(404, "UnknownOperationException", f"no route for {path}")
        try:
            handler = getattr(self, self.route_handlers[(self.command, name)])
            body = self.json_body(raw) if self.command in ("POST", "PUT", "PATCH") else None
            with cloud.lock:
                cloud.settle()
                status, reply = handler(cloud, body=body, query=query, **args)
        except CloudError as e:
            return self.error(e.status, e.code, e.message)
        self.reply(status, reply)

    def account(self, cloud, name, path, args):
        key = f"{self.command} {name}"
        cloud.total += 1
        cloud.routes[key] += 1
        cluster = args.get("name")
        if cluster is None and args.get("op_id") in cloud.ops:
            cluster = cloud.ops[args["op_id"]].cluster
        if cluster is not None:
            cloud.by_cluster[cluster][key] += 1
        return cloud.take_faults(self.command, path)

    def reply_fault(self, fault):
        if fault.kind == "malformed":
            body = fault.body if fault.body is not None else '{"name": "trunc'
            return self.reply(fault.status, body.encode())
        code = fault.code or FAULT_CODES.get(fault.status, "InjectedFault")
        self.error(fault.status, code, fault.message or f"injected HTTP {fault.status}")

    @staticmethod
    def cluster_or_404(cloud, name):
        c = cloud.clusters.get(name)
        if c is None:
            raise CloudError(404, "ResourceNotFoundException",
                             f"No cluster found for name: {name}.")
        return c

    @staticmethod
    def check_name(name):
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise invalid("a cluster name is 1-100 letters, digits, '-' or '_', "
                          "starting with a letter or digit")

    @staticmethod
    def check_document(doc):
        if not isinstance(doc, dict):
            raise invalid("\"document\" must be a JSON object")

    # -- cloud API --

    @route("GET", r"/v1/clusters", "/v1/clusters")
    def list_clusters(self, cloud, query, **_):
        try:
            limit = int(query.get("limit", ["100"])[0])
        except ValueError:
            raise invalid("\"limit\" must be an integer")
        if not 1 <= limit <= 1000:
            raise invalid("\"limit\" must be between 1 and 1000")
        after = query.get("next", [""])[0]
        names = sorted(n for n in cloud.clusters if n > after)
        reply = {"clusters": [{"name": n} for n in names[:limit]]}
        if len(names) > limit:
            reply["next"] = names[limit - 1]
        return 200, reply

    @route("POST", r"/v1/clusters", "/v1/clusters")
    def create_cluster(self, cloud, body, **_):
        name, doc = body.get("name"), body.get("document", {})
        token = body.get("clientRequestToken")
        self.check_name(name)
        self.check_document(doc)
        prior = cloud.replay(name, token, "CreateCluster", None, doc)
        if prior is not None:
            return 202, {"id": prior.id, "state": prior.state}
        if name in cloud.clusters:
            cloud.rejected[name]["CreateCluster"] += 1
            raise CloudError(409, "ResourceInUseException",
                             f"Cluster already exists with name: {name}")
        cloud.clusters[name] = Cluster(name, copy.deepcopy(doc))
        op = cloud.start(name, "create", "CreateCluster", changes=copy.deepcopy(doc), token=token)
        return 202, {"id": op.id, "state": op.state}

    @route("GET", r"/v1/clusters/(?P<name>[^/]+)", "/v1/clusters/{name}")
    def describe_cluster(self, cloud, name, **_):
        return 200, self.cluster_or_404(cloud, name).view()

    @route("DELETE", r"/v1/clusters/(?P<name>[^/]+)", "/v1/clusters/{name}")
    def delete_cluster(self, cloud, name, **_):
        c = self.cluster_or_404(cloud, name)
        if c.op is not None:
            raise cloud.busy_error(c, "DeleteCluster")
        op = cloud.start(name, "delete", "DeleteCluster")
        return 202, {"id": op.id, "state": op.state}

    @route("POST", r"/v1/clusters/(?P<name>[^/]+)/operations", "/v1/clusters/{name}/operations")
    def start_operation(self, cloud, name, body, **_):
        c = self.cluster_or_404(cloud, name)
        op_name, pool, changes = body.get("operation"), body.get("pool"), body.get("changes")
        if not isinstance(op_name, str) or not op_name:
            raise invalid("\"operation\" must be a non-empty string")
        if pool is not None and (not isinstance(pool, str) or not pool):
            raise invalid("\"pool\" must be null or a non-empty string")
        if not isinstance(changes, dict):
            raise invalid("\"changes\" must be an object of {path: value or null}")
        token = body.get("clientRequestToken")
        prior = cloud.replay(name, token, op_name, pool, changes)
        if prior is not None:  # a retry of a request that did reach us: the same operation
            return 202, {"id": prior.id, "state": prior.state}
        if c.op is not None:
            raise cloud.busy_error(c, op_name)
        try:
            check_operation_paths(pool, changes)
        except CloudError:
            cloud.rejected[name][op_name] += 1
            raise
        op = cloud.start(name, "update", op_name, pool, copy.deepcopy(changes), token)
        return 202, {"id": op.id, "state": op.state}

    @route("GET", r"/v1/operations/(?P<op_id>[^/]+)", "/v1/operations/{id}")
    def describe_operation(self, cloud, op_id, **_):
        op = cloud.ops.get(op_id)
        if op is None:
            raise CloudError(404, "ResourceNotFoundException",
                             f"No operation found with id: {op_id}.")
        return 200, op.view()

    @route("POST", r"/v1/clusters/(?P<name>[^/]+)/kube-credentials",
           "/v1/clusters/{name}/kube-credentials")
    def kube_credentials(self, cloud, name, **_):
        c = self.cluster_or_404(cloud, name)
        if c.kube is None:
            raise CloudError(404, "ResourceNotFoundException",
                             f"Cluster {name} has no Kubernetes endpoint.")
        reply = dict(c.kube)
        reply["expiresAt"] = int(time.time() + cloud.kube_token_seconds)
        return 200, reply

    # -- admin API --

    @route("GET", r"/admin/clusters/(?P<name>[^/]+)", "/admin/clusters/{name}", cloud=False)
    def admin_get(self, cloud, name, **_):
        return 200, self.cluster_or_404(cloud, name).view()

    @route("PUT", r"/admin/clusters/(?P<name>[^/]+)", "/admin/clusters/{name}", cloud=False)
    def admin_put(self, cloud, name, body, **_):
        self.check_name(name)
        c = cloud.clusters.get(name)
        if c is None:
            c = cloud.clusters[name] = Cluster(name, copy.deepcopy(body))
            return 201, c.view()
        c.document = copy.deepcopy(body)
        return 200, c.view()

    @route("PATCH", r"/admin/clusters/(?P<name>[^/]+)", "/admin/clusters/{name}", cloud=False)
    def admin_patch(self, cloud, name, body, **_):
        c = self.cluster_or_404(cloud, name)
        c.document = emucore.merge_patch(c.document, body)
        return 200, c.view()

    @route("DELETE", r"/admin/clusters/(?P<name>[^/]+)", "/admin/clusters/{name}", cloud=False)
    def admin_delete(self, cloud, name, **_):
        self.cluster_or_404(cloud, name)
        del cloud.clusters[name]
        return 200, {"deleted": name}

    @route("PUT", r"/admin/clusters/(?P<name>[^/]+)/kube", "/admin/clusters/{name}/kube",
           cloud=False)
    def admin_put_kube(self, cloud, name, body, **_):
        c = self.cluster_or_404(cloud, name)
        for key in ("server", "token"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise invalid(f"\"{key}\" must be a non-empty string")
        ca = body.get("certificateAuthorityData")
        if ca is not None and not isinstance(ca, str):
            raise invalid("\"certificateAuthorityData\" must be a string (base64 PEM)")
        extra = set(body) - {"server", "token", "certificateAuthorityData"}
        if extra:
            raise invalid(f"unknown field {sorted(extra)[0]!r}")
        c.kube = {k: body[k] for k in ("server", "token", "certificateAuthorityData")
                  if body.get(k) is not None}
        return 200, {"name": name, "kube": {"server": c.kube["server"]}}

    @route("DELETE", r"/admin/clusters/(?P<name>[^/]+)/kube", "/admin/clusters/{name}/kube",
           cloud=False)
    def admin_delete_kube(self, cloud, name, **_):
        self.cluster_or_404(cloud, name).kube = None
        return 200, {"name": name, "kube": None}

    @route("POST", r"/admin/clusters/bulk", "/admin/clusters/bulk", cloud=False)
    def admin_bulk(self, cloud, body, **_):
        count, prefix = body.get("count"), body.get("prefix", "c-")
        start, doc = body.get("start", 0), body.get("document", {})
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 1000000:
            raise invalid("\"count\" must be an integer from 1 to 1000000")
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            raise invalid("\"start\" must be a non-negative integer")
        if not isinstance(prefix, str):
            raise invalid("\"prefix\" must be a string")
        self.check_name(f"{prefix}{start + count - 1}")
        self.check_document(doc)
        text = json.dumps(doc)  # one parse per cluster is much faster than deepcopy
        for i in range(start, start + count):
            name = f"{prefix}{i}"
            cloud.clusters[name] = Cluster(name, json.loads(text))
        return 200, {"created": count, "first": f"{prefix}{start}",
                     "last": f"{prefix}{start + count - 1}"}

    @route("GET", r"/admin/faults", "/admin/faults", cloud=False)
    def admin_faults(self, cloud, **_):
        return 200, {"faults": [f.view() for f in cloud.faults]}

    @route("POST", r"/admin/faults", "/admin/faults", cloud=False)
    def admin_add_fault(self, cloud, body, **_):
        f = Fault(next(cloud.fault_ids), body)
        cloud.faults.append(f)
        return 201, f.view()

    @route("DELETE", r"/admin/faults", "/admin/faults", cloud=False)
    def admin_clear_faults(self, cloud, **_):
        cloud.faults = []
        return 200, {"faults": []}

    @route("GET", r"/admin/calls", "/admin/calls", cloud=False)
    def admin_calls(self, cloud, query, **_):
        only = query.get("cluster", [None])[0]

        def pick(table):
            return {k: dict(v) for k, v in table.items() if only in (None, k) and v}

        return 200, {"total": cloud.total, "routes": dict(cloud.routes),
                     "clusters": pick(cloud.by_cluster), "operations": pick(cloud.operations),
                     "rejected_operations": pick(cloud.rejected),
                     "replayed_operations": pick(cloud.replayed),
                     "max_concurrent_per_cluster": {k: v for k, v in cloud.max_inflight.items()
                                                    if only in (None, k)}}

    @route("DELETE", r"/admin/calls", "/admin/calls", cloud=False)
    def admin_reset_calls(self, cloud, **_):
        cloud.reset_calls()
        return 200, {"total": 0}

    @route("POST", r"/admin/reset", "/admin/reset", cloud=False)
    def admin_reset(self, cloud, **_):
        cloud.reset()
        return 200, {"reset": True}


Handler.route_handlers = {}
for _attr, _fn in list(vars(Handler).items()):
    if hasattr(_fn, "route"):
        Handler.routes.append(_fn.route)
        Handler.route_handlers[(_fn.route[0], _fn.route[2])] = _attr


class Server(emucore.Server):
    request_queue_size = 1024  # the benchmark opens many connections at once


def main(argv=None):
    ap = argparse.ArgumentParser(description="hcr's fake cloud (see docs/fakecloud.md)")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--latency-ms", type=float, default=0, help="added to every cloud call")
    ap.add_argument("--op-seconds", type=float, default=0.5, help="how long operations run")
    ap.add_argument("--token", default="fake-token", help="the bearer token cloud calls need")
    ap.add_argument("--kube-token-seconds", type=float, default=900,
                    help="how long kube-credentials say their token lasts (expiresAt)")
    ap.add_argument("--max-seconds", type=float, default=3600, help="stop after this long")
    ap.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = ap.parse_args(argv)

    server = Server(("127.0.0.1", args.port), Handler)
    server.cloud = Cloud(args.op_seconds, args.kube_token_seconds)
    server.latency = args.latency_ms / 1000.0
    server.token = args.token
    server.verbose = args.verbose
    return emucore.serve(server, args.max_seconds)


if __name__ == "__main__":
    sys.exit(main())
