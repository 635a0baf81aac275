#!/usr/bin/env python3
"""gkeemu: an emulator of the Google Kubernetes Engine API (container v1) and of the
OAuth 2.0 token endpoint that service-account keys use, for hcr's tests. Python 3
standard library plus `cryptography` (for the RS256 signature of JWT assertions).

    python3 tests/emulators/gkeemu.py [--port 0] [--max-seconds 1800]
        [--service-account KEYFILE.json | EMAIL:PUBKEY.pem ...] [--project hcr-test-project]
        [--token-seconds 3600] [--create-seconds 300] [--delete-seconds 180]
        [--op-seconds 60] [--rate-per-s 0] [--link-base URL] [--legacy-busy-message]
        [--verbose]

The first line on stdout is "listening on 127.0.0.1:<port>". The server stops by
itself when the process that started it dies, or after --max-seconds.

Paths, method ids, member names and shapes follow the container v1 discovery document
(revision 20240722); request bodies are checked against its schemas, which are written
into this file (SCHEMAS, at the end). Lifecycles run on a test-controlled clock: wall
time plus an offset that POST /admin/clock {"advance": seconds} increases. JWT and
access-token lifetimes use real wall time. docs/gkeemu.md describes every route, the
admin API, the clock, the faults and how this differs from the real service.
"""

import argparse
import base64
import copy
import datetime
import hashlib
import ipaddress
import json
import os
import re
import secrets
import sys
import time
import traceback
import urllib.parse
import uuid

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("gkeemu: the Python package `cryptography` is needed (apt-get install "
             "python3-cryptography)")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # emucore.py is next to this file
import emucore  # noqa: E402  (the clock, faults, call log and HTTP plumbing of every emulator)
from emucore import admin_route, merge_patch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_KEY_FILE = os.path.join(ROOT, "tests", "fixtures", "gke", "service-account.json")
DEFAULT_PROJECT = "hcr-test-project"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_SKEW = 300  # seconds of clock skew allowed on iat/exp
JWT_MAX_LIFETIME = 3600

PROVISIONING, RUNNING, RECONCILING, STOPPING, ERROR, DEGRADED = (
    "PROVISIONING", "RUNNING", "RECONCILING", "STOPPING", "ERROR", "DEGRADED")
RUNNING_WITH_ERROR = "RUNNING_WITH_ERROR"
CLUSTER_STATUSES = (PROVISIONING, RUNNING, RECONCILING, STOPPING, ERROR, DEGRADED)
POOL_STATUSES = (PROVISIONING, RUNNING, RUNNING_WITH_ERROR, RECONCILING, STOPPING, ERROR)
OP_RUNNING, OP_DONE = "RUNNING", "DONE"

# A real self-signed certificate (EC P-256, CN=gkeemu-cluster-ca, valid 2020-2119). Its key
# was thrown away: there is no Kubernetes API server behind `endpoint`.
CA_PEM = """-----BEGIN CERTIFICATE-----
MIIBOjCB4qADAgECAgEBMAoGCCqGSM49BAMCMBwxGjAYBgNVBAMMEWdrZWVtdS1j
bHVzdGVyLWNhMCAXDTIwMDEwMTAwMDAwMFoYDzIxMTkxMjMxMDAwMDAwWjAcMRow
GAYDVQQDDBFna2VlbXUtY2x1c3Rlci1jYTBZMBMGByqGSM49AgEGCCqGSM49AwEH
A0IABBTUZJM/aoxdesptPIkVPmSWK/1A0ZCIPtiEi7B51VG+RVGShbnLRnWHt54J
6GKaMRIH7kc5s7thSLqlvAVuXbijEzARMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZI
zj0EAwIDRwAwRAIgM+YZl7yeHYQrJICS0/Fskp1dSmQca9twgx56WccVV+UCIFLU
winqb6B2JicnmwCMgtlBvmxz3i5DVKqgXCg59uZ7
-----END CERTIFICATE-----
"""
CA_DATA = base64.b64encode(CA_PEM.encode()).decode()

# Kubernetes versions the emulator offers, per minor, oldest first. Invented but
# well-formed (1.X.Y-gke.N). "-" and "" pick the default; see resolve_version().
VERSIONS = {
    27: ["1.27.15-gke.1252000", "1.27.16-gke.2703000"],
    28: ["1.28.14-gke.1099000", "1.28.15-gke.1159000"],
    29: ["1.29.10-gke.1155000", "1.29.12-gke.1120000"],
    30: ["1.30.6-gke.1125000", "1.30.8-gke.1128000"],
    31: ["1.31.3-gke.1056000", "1.31.4-gke.1256000"],
    32: ["1.32.1-gke.1200000", "1.32.2-gke.1182000"],
    33: ["1.33.0-gke.1000000", "1.33.1-gke.1107000"],
}
DEFAULT_MINOR = 31
IMAGE_TYPES = ["COS_CONTAINERD", "UBUNTU_CONTAINERD", "WINDOWS_LTSC_CONTAINERD",
               "WINDOWS_SAC_CONTAINERD", "COS", "UBUNTU"]
LOGGING_SERVICES = ["logging.googleapis.com/kubernetes", "logging.googleapis.com", "none"]
MONITORING_SERVICES = ["monitoring.googleapis.com/kubernetes", "monitoring.googleapis.com",
                       "none"]
TAINT_EFFECTS = ["NO_SCHEDULE", "PREFER_NO_SCHEDULE", "NO_EXECUTE"]
DEFAULT_OAUTH_SCOPES = [
    "https://www.googleapis.com/auth/devstorage.read_only",
    "https://www.googleapis.com/auth/logging.write",
    "https://www.googleapis.com/auth/monitoring",
    "https://www.googleapis.com/auth/servicecontrol",
    "https://www.googleapis.com/auth/service.management.readonly",
    "https://www.googleapis.com/auth/trace.append",
]
NAME_RE = re.compile(r"[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?")  # clusters and node pools
ZONE_RE = re.compile(r"[a-z]+-[a-z]+[0-9]+-[a-z]")
REGION_RE = re.compile(r"[a-z]+-[a-z]+[0-9]+")
PROJECT_RE = re.compile(r"[a-z][-a-z0-9]{4,28}[a-z0-9]")
LABEL_KEY_RE = re.compile(r"[a-z][a-z0-9_-]{0,62}")
LABEL_VALUE_RE = re.compile(r"[a-z0-9_-]{0,63}")
VERSION_RE = re.compile(r"1\.(\d{1,3})(?:\.(\d{1,3})(?:-gke\.(\d{1,12}))?)?")

# google.rpc.Code: canonical name -> (number, HTTP status, the `reason` of errors[]).
CANONICAL = {
    "CANCELLED": (1, 499, "cancelled"), "UNKNOWN": (2, 500, "backendError"),
    "INVALID_ARGUMENT": (3, 400, "badRequest"), "DEADLINE_EXCEEDED": (4, 504, "deadlineExceeded"),
    "NOT_FOUND": (5, 404, "notFound"), "ALREADY_EXISTS": (6, 409, "alreadyExists"),
    "PERMISSION_DENIED": (7, 403, "forbidden"),
    "RESOURCE_EXHAUSTED": (8, 429, "rateLimitExceeded"),
    "FAILED_PRECONDITION": (9, 400, "failedPrecondition"), "ABORTED": (10, 409, "aborted"),
    "OUT_OF_RANGE": (11, 400, "outOfRange"), "UNIMPLEMENTED": (12, 501, "notImplemented"),
    "INTERNAL": (13, 500, "backendError"), "UNAVAILABLE": (14, 503, "backendError"),
    "DATA_LOSS": (15, 500, "backendError"), "UNAUTHENTICATED": (16, 401, "authError"),
}
CODE_NAMES = {v[0]: k for k, v in CANONICAL.items()}
# The canonical status a fault answers with, by HTTP status, unless the fault names one.
STATUS_CANONICAL = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                    404: "NOT_FOUND", 409: "ABORTED", 429: "RESOURCE_EXHAUSTED",
                    499: "CANCELLED", 500: "INTERNAL", 501: "UNIMPLEMENTED",
                    502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
DEFAULT_MESSAGES = {
    "RESOURCE_EXHAUSTED": "Quota exceeded for quota metric 'Requests' and limit 'Requests per "
                          "minute' of service 'container.googleapis.com'.",
    "INTERNAL": "Internal error encountered.",
    "UNAVAILABLE": "The service is currently unavailable.",
    "DEADLINE_EXCEEDED": "Deadline exceeded.",
}
UNAUTH_MISSING = ("Request is missing required authentication credential. Expected OAuth 2 "
                  "access token, login cookie or other valid authentication credential. See "
                  "https://developers.google.com/identity/sign-in/web/devconsole-project.")
UNAUTH_INVALID = ("Request had invalid authentication credentials. Expected OAuth 2 access "
                  "token, login cookie or other valid authentication credential. See "
                  "https://developers.google.com/identity/sign-in/web/devconsole-project.")
JWT_TIME_MESSAGE = ("Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                    "reasonable timeframe. Check your iat and exp values in the JWT claim.")

# Phrases for --legacy-busy-message ("Operation X is currently <phrase> cluster C. ...").
BUSY_PHRASES = {
    "CREATE_CLUSTER": "creating", "DELETE_CLUSTER": "deleting",
    "UPGRADE_MASTER": "upgrading", "UPGRADE_NODES": "upgrading",
    "CREATE_NODE_POOL": "creating a node pool for", "DELETE_NODE_POOL": "deleting a node pool for",
    "SET_NODE_POOL_SIZE": "resizing a node pool of",
    "SET_NODE_POOL_MANAGEMENT": "setting node pool management for",
    "SET_LABELS": "setting labels on", "SET_MAINTENANCE_POLICY": "setting the maintenance "
    "policy of", "SET_NETWORK_POLICY": "setting the network policy of",
}


class ApiError(Exception):
    """A refused container API call, answered with Google's error body."""

    def __init__(self, canonical, message, http_status=None, reason=None, details=None,
                 headers=()):
        super().__init__(message)
        self.canonical, self.message = canonical, message
        number, status, default_reason = CANONICAL.get(canonical, (2, 500, "backendError"))
        self.status = http_status or status
        self.reason = reason or default_reason
        self.details = list(details or [])
        self.headers = list(headers)

    def body(self, request_id):
        details = self.details + [{"@type": "type.googleapis.com/google.rpc.RequestInfo",
                                   "requestId": request_id}]
        return {"error": {"code": self.status, "message": self.message,
                          "errors": [{"message": self.message, "domain": "global",
                                      "reason": self.reason}],
                          "status": self.canonical, "details": details}}


class OAuthError(Exception):
    def __init__(self, status, error, description):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def invalid(message, field=None):
    details = []
    if field is not None:
        details = [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": field, "description": message}]}]
    return ApiError("INVALID_ARGUMENT", message, details=details)


def precondition(message):
    return ApiError("FAILED_PRECONDITION", message)


def not_found(resource):
    return ApiError("NOT_FOUND", f"Not found: {resource}.")


# ---- small helpers -------------------------------------------------------------------


def snake(name):
    return re.sub(r"([A-Z])", r"_\1", name).lower()


def rfc3339(t, nanos=False):
    dt = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    if nanos:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}000Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def short_hash(value, n=8):
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:n]


def label_fingerprint(labels):
    return short_hash({"labels": labels or {}})


MAP_MEMBERS = {"resourceLabels", "labels", "metadata", "maintenanceExclusions"}


def proto_clean(value, key=None):
    """What a proto3 JSON encoder prints: members at their default (false, 0, "", an
    empty list or map) are left out; messages stay, even when empty ({})."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = proto_clean(v, k)
            if v is None or v is False or v == "" or v == [] \
                    or (isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0) \
                    or (v == {} and k in MAP_MEMBERS):
                continue
            out[k] = v
        return out
    if isinstance(value, list):
        return [proto_clean(v, key) for v in value]
    return value


def is_zone(location):
    return bool(ZONE_RE.fullmatch(location))


def is_region(location):
    return bool(REGION_RE.fullmatch(location))


def region_of(location):
    return location.rsplit("-", 1)[0] if is_zone(location) else location


def version_key(version):
    m = VERSION_RE.fullmatch(version or "")
    if not m:
        return None
    return tuple(int(g) if g is not None else -1 for g in m.groups())


def minor_of(version):
    k = version_key(version)
    return k[0] if k else None


def resolve_version(text, default):
    """A version or alias as GKE resolves it ("latest", "1.X", "1.X.Y", "1.X.Y-gke.N",
    "-" and "" for `default`); None when it names no version the emulator offers."""
    if text in (None, "", "-"):
        return default
    if text == "latest":
        return VERSIONS[max(VERSIONS)][-1]
    m = VERSION_RE.fullmatch(text)
    if not m:
        return None
    minor, patch, gke = m.groups()
    offered = VERSIONS.get(int(minor))
    if offered is None:
        return None
    if patch is None:
        return offered[-1]
    if gke is None:
        match = [v for v in offered if v.startswith(f"1.{minor}.{patch}-")]
        return match[-1] if match else None
    return text


def default_version():
    return VERSIONS[DEFAULT_MINOR][-1]


def check_resource_labels(labels, field):
    if len(labels) > 64:
        raise invalid(f"Invalid value for field '{field}': at most 64 labels are allowed.",
                      field)
    for k, v in labels.items():
        if not LABEL_KEY_RE.fullmatch(k):
            raise invalid(f"Invalid value for field '{field}': label key \"{k}\" must start "
                          "with a lowercase letter and contain only lowercase letters, digits, "
                          "'_' and '-' (at most 63 characters).", field)
        if not isinstance(v, str) or not LABEL_VALUE_RE.fullmatch(v):
            raise invalid(f"Invalid value for field '{field}': label value \"{v}\" may contain "
                          "only lowercase letters, digits, '_' and '-' (at most 63 "
                          "characters).", field)


def check_name(name, field):
    if not isinstance(name, str) or not name:
        raise invalid(f"Invalid value for field \"{field}\": \"\". Must be set.", field)
    if not NAME_RE.fullmatch(name):
        raise invalid(f"Invalid value for field \"{field}\": \"{name}\". Must be a match of "
                      "regex '(?:[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?)' (only alphanumerics and "
                      "'-' allowed, must start with a letter and end with an alphanumeric, and "
                      "must be no longer than 40 characters).", field)


def check_taints(taints, field):
    for i, t in enumerate(taints or []):
        if not t.get("key"):
            raise invalid(f"Invalid value for field '{field}[{i}].key': must be set.",
                          f"{field}[{i}].key")
        if t.get("effect") not in TAINT_EFFECTS:
            raise invalid(f"Invalid value for field '{field}[{i}].effect': must be one of "
                          + ", ".join(TAINT_EFFECTS) + ".", f"{field}[{i}].effect")


def check_autoscaling(a, field):
    if not a or not a.get("enabled"):
        return
    per_zone = a.get("minNodeCount") is not None or a.get("maxNodeCount") is not None
    total = a.get("totalMinNodeCount") is not None or a.get("totalMaxNodeCount") is not None
    if per_zone and total:
        raise invalid(f"Invalid value for field '{field}': per-zone (min/maxNodeCount) and "
                      "total (totalMin/totalMaxNodeCount) limits cannot both be set.", field)
    lo = a.get("totalMinNodeCount" if total else "minNodeCount") or 0
    hi = a.get("totalMaxNodeCount" if total else "maxNodeCount") or 0
    if lo < 0:
        raise invalid(f"Invalid value for field '{field}': the minimum node count must be "
                      f">= 0, got {lo}.", field)
    if hi < 1:
        raise invalid(f"Invalid value for field '{field}': the maximum node count must be "
                      f">= 1 when autoscaling is enabled, got {hi}.", field)
    if lo > hi:
        raise invalid(f"Invalid value for field '{field}': the minimum node count ({lo}) "
                      f"cannot be greater than the maximum node count ({hi}).", field)


def autoscaling_view(a):
    a = copy.deepcopy(a or {})
    if not a.get("enabled"):
        return {k: v for k, v in a.items() if k == "autoprovisioned"}
    return a


def check_cidr(text, field):
    try:
        ipaddress.ip_network(text, strict=False)
    except (ValueError, TypeError):
        raise invalid(f"Invalid value for field '{field}': \"{text}\" is not a CIDR block.",
                      field)


def pod_cidr_size(max_pods):
    """The per-node pod range GKE picks for a maximum of pods per node."""
    try:
        n = int(max_pods)
    except (TypeError, ValueError):
        n = 110
    size = 24
    for bits, fits in ((28, 8), (27, 16), (26, 32), (25, 64)):
        if n <= fits:
            size = bits
            break
    return size


# ---- request bodies, checked against the discovery document's schemas ----------------

INT32_MIN, INT32_MAX = -2 ** 31, 2 ** 31 - 1


def _field_path(path):
    return ".".join(snake(p) if not p.startswith("[") else p for p in path).replace(".[", "[")


def _bad_value(path, type_name, value):
    where = _field_path(path)
    msg = f"Invalid value at '{where}' ({type_name}), {json.dumps(value)}"
    return invalid(msg, where)


def _as_int(value, path, lo, hi, type_name):
    if isinstance(value, bool):
        raise _bad_value(path, type_name, value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        value = int(value)
    if not isinstance(value, int) or not lo <= value <= hi:
        raise _bad_value(path, type_name, value)
    return value


def check_body(value, type_code, path=()):
    """Checks a decoded JSON value against a type of SCHEMAS (see there) the way Google's
    JSON parser does: unknown members and wrong types are INVALID_ARGUMENT; null is
    absent. Returns the value normalised: int32 as JSON numbers, int64 as strings."""
    if type_code == "any":
        return value
    if type_code.startswith("["):
        if not isinstance(value, list):
            raise _bad_value(path, "TYPE_LIST", value)
        return [check_body(v, type_code[1:], path + (f"[{i}]",)) for i, v in enumerate(value)
                if v is not None]
    if type_code.startswith("{"):
        if not isinstance(value, dict):
            raise _bad_value(path, "TYPE_MAP", value)
        return {k: check_body(v, type_code[1:], path + (k,)) for k, v in value.items()
                if v is not None}
    if type_code.startswith("e:"):
        allowed = type_code[2:].split("|")
        if not isinstance(value, str) or value not in allowed:
            raise _bad_value(path, "TYPE_ENUM", value)
        return value
    if type_code == "s":
        if not isinstance(value, str):
            raise _bad_value(path, "TYPE_STRING", value)
        return value
    if type_code == "b":
        if not isinstance(value, bool):
            raise _bad_value(path, "TYPE_BOOL", value)
        return value
    if type_code == "i":
        return _as_int(value, path, INT32_MIN, INT32_MAX, "TYPE_INT32")
    if type_code == "I":
        return str(_as_int(value, path, -2 ** 63, 2 ** 63 - 1, "TYPE_INT64"))
    if type_code == "n":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _bad_value(path, "TYPE_DOUBLE", value)
        return value
    schema = SCHEMAS[type_code]
    if not isinstance(value, dict):
        raise _bad_value(path, f"type.googleapis.com/google.container.v1.{type_code}", value)
    out = {}
    for k, v in value.items():
        if k not in schema:
            where = _field_path(path)
            at = f" at '{where}'" if where else ""
            msg = f"Invalid JSON payload received. Unknown name \"{k}\"{at}: Cannot find field."
            raise invalid(msg, where or k)
        if v is not None:
            out[k] = check_body(v, schema[k], path + (k,))
    return out


# ---- state ---------------------------------------------------------------------------


class Operation:
    """A long-running operation. Its effect (`apply`) happens when it ends DONE without an
    armed failure; `undo` restores statuses when it ends with one."""

    def __init__(self, cloud, rec, op_type, pool, target_link, failure, apply, undo):
        now = cloud.now()
        self.name = f"operation-{int(now * 1000)}-{uuid.uuid4()}"
        self.project, self.location = rec.project, rec.location
        self.cluster, self.pool, self.type = rec.name, pool, op_type
        self.self_link = (f"{cloud.link_base}v1/projects/{rec.project}/locations/"
                          f"{rec.location}/operations/{self.name}")
        self.target_link = target_link
        self.start, self.end, self.ends_at = now, None, None
        self.status, self.error = OP_RUNNING, None
        self.failure, self.apply, self.undo = failure, apply, undo

    def view(self):
        d = {"name": self.name, "zone": self.location, "operationType": self.type,
             "status": self.status, "selfLink": self.self_link, "targetLink": self.target_link,
             "location": self.location, "startTime": rfc3339(self.start, nanos=True)}
        if self.end is not None:
            d["endTime"] = rfc3339(self.end, nanos=True)
        if self.error is not None:
            d["error"] = copy.deepcopy(self.error)
            d["statusMessage"] = self.error["message"]
        return proto_clean(d)

    def internal(self):
        d = self.view()
        d.update({"cluster": self.cluster, "nodePool": self.pool, "project": self.project,
                  "endsAt": self.ends_at, "armedFailure": copy.deepcopy(self.failure)})
        return d


class Pool:
    def __init__(self, cluster, data, status):
        self.cluster, self.data, self.status = cluster, data, status
        self.status_message = None

    @property
    def name(self):
        return self.data["name"]

    def current_status(self):
        op = self.cluster.op
        if self.status == RUNNING and op is not None and op.pool == self.name:
            return RECONCILING
        return self.status

    def view(self):
        d = copy.deepcopy(self.data)
        d["status"] = self.current_status()
        if self.status_message:
            d["statusMessage"] = self.status_message
        d["autoscaling"] = autoscaling_view(d.get("autoscaling"))
        d["etag"] = short_hash(d)
        return proto_clean(d)


class Cluster:
    def __init__(self, project, location, data, status):
        self.project, self.location, self.data, self.status = project, location, data, status
        self.status_message = None
        self.pools = {}  # name -> Pool, in creation order
        self.op = None  # the RUNNING Operation on this cluster, if any

    @property
    def name(self):
        return self.data["name"]

    def current_status(self):
        if self.status == RUNNING and self.op is not None:
            return RECONCILING
        return self.status

    def view(self):
        d = copy.deepcopy(self.data)
        status = self.current_status()
        d["status"] = status
        if self.status_message:
            d["statusMessage"] = self.status_message
        pools = [p.view() for p in self.pools.values()]
        d["nodePools"] = pools
        if pools:
            d["nodeConfig"] = copy.deepcopy(pools[0].get("config", {}))
            d["currentNodeVersion"] = min((p.get("version", "") for p in pools),
                                          key=lambda v: version_key(v) or (0,))
        d["currentNodeCount"] = sum(p.get("initialNodeCount", 0) * max(1, len(
            p.get("locations") or [])) for p in pools if p.get("status") != STOPPING)
        d["instanceGroupUrls"] = [u for p in pools for u in p.get("instanceGroupUrls", [])]
        d["labelFingerprint"] = label_fingerprint(d.get("resourceLabels"))
        if status == PROVISIONING:
            d.pop("endpoint", None)
            d.setdefault("masterAuth", {}).pop("clusterCaCertificate", None)
        d["etag"] = short_hash(d)
        return proto_clean(d)

    def resource(self):
        return f"projects/{self.project}/locations/{self.location}/clusters/{self.name}"


class Fault(emucore.Fault):
    """An emucore fault whose operation is a method id or "token" ("*" leaves the token
    endpoint alone) and whose code is a canonical status name."""

    OPERATION_HELP = 'a method id, "token" or "*"'
    STAR_SKIPS = "token"
    LATENCY_MAY_BE_BOOL = False

    def __init__(self, fid, spec):
        super().__init__(fid, spec)
        if self.operation not in ("*", *METHOD_IDS):
            raise emucore.SpecError(f'"operation" must be "*" or one of: {", ".join(METHOD_IDS)}')
        if self.code is not None and self.operation != "token" and self.code not in CANONICAL:
            raise emucore.SpecError('"code" must be a canonical status name such as '
                                    '"UNAVAILABLE"')


class Ctx:
    """One container API call: what a handler needs and what the call log records."""

    def __init__(self, method_id, http_method, path, args, query, body, client):
        self.method_id, self.http_method, self.path = method_id, http_method, path
        self.args, self.query, self.body, self.client = args, query, body, client
        self.project = args.get("projectsId")
        self.location = args.get("locationsId")
        self.cluster = args.get("clustersId")
        self.pool = args.get("nodePoolsId")
        self.operation = None


class Cloud(emucore.Cloud):
    """Every project's clusters and operations, with the clock, faults and call log of
    emucore.Cloud. Access tokens survive POST /admin/reset: a reset starts a new test, not
    a new login (DELETE /admin/tokens revokes them)."""

    def __init__(self, opts):
        self.opts = opts
        self.link_base = opts.link_base
        self.tokens = {}  # access token -> {email, scope, expires (wall time), issued}
        super().__init__(opts.rate_per_s)

    def reset(self):
        super().reset()
        self.clusters = {}  # (project, location, name) -> Cluster
        self.operations = {}  # name -> Operation, oldest first

    def take_fail_next(self, kind, cluster, pool, op_type):
        return self.take_armed(kind, cluster=cluster, nodePool=pool, operationType=op_type)

    def mint_token(self, email, scope, seconds):
        token = "ya29.a0" + secrets.token_urlsafe(96)
        self.tokens[token] = {"email": email, "scope": scope, "issued": time.time(),
                              "expires": time.time() + seconds}
        return token

    # -- building objects --

    def cluster_link(self, project, location, name):
        return f"{self.link_base}v1/projects/{project}/locations/{location}/clusters/{name}"

    def build_cluster(self, project, location, spec, version):
        """A Cluster as GKE fills it in for clusters.create (node pools are separate)."""
        name = spec["name"]
        zones = [location] if is_zone(location) else [f"{location}-{z}" for z in "abc"]
        region = region_of(location)
        k = secrets.randbelow(60) * 4
        pods = spec.get("clusterIpv4Cidr") or f"10.{k}.0.0/14"
        network, subnetwork = spec.get("network") or "default", spec.get("subnetwork") or "default"
        skip = {"nodePools", "initialNodeCount", "nodeConfig", "status", "statusMessage",
                "selfLink", "zone", "endpoint", "currentMasterVersion", "currentNodeVersion",
                "currentNodeCount", "createTime", "location", "id", "etag", "labelFingerprint",
                "instanceGroupUrls", "servicesIpv4Cidr", "expireTime", "conditions"}
        data = {key: copy.deepcopy(v) for key, v in spec.items() if key not in skip}
        addons = {"httpLoadBalancing": {}, "horizontalPodAutoscaling": {},
                  "kubernetesDashboard": {"disabled": True},
                  "networkPolicyConfig": {"disabled": True},
                  "gcePersistentDiskCsiDriverConfig": {"enabled": True}}
        for addon, conf in (spec.get("addonsConfig") or {}).items():
            addons[addon] = copy.deepcopy(conf)
        ip_policy = {"useIpAliases": True, "clusterIpv4Cidr": pods, "clusterIpv4CidrBlock": pods,
                     "servicesIpv4Cidr": "34.118.224.0/20",
                     "servicesIpv4CidrBlock": "34.118.224.0/20",
                     "clusterSecondaryRangeName": f"gke-{name}-pods-{secrets.token_hex(4)}",
                     "stackType": "IPV4", "podCidrOverprovisionConfig": {}}
        ip_policy.update(copy.deepcopy(spec.get("ipAllocationPolicy") or {}))
        data.update({
            "name": name,
            "masterAuth": {"clusterCaCertificate": CA_DATA},
            "loggingService": spec.get("loggingService") or LOGGING_SERVICES[0],
            "monitoringService": spec.get("monitoringService") or MONITORING_SERVICES[0],
            "network": network,
            "subnetwork": subnetwork,
            "clusterIpv4Cidr": pods,
            "addonsConfig": addons,
            "locations": list(spec.get("locations") or zones),
            "resourceLabels": dict(spec.get("resourceLabels") or {}),
            "legacyAbac": copy.deepcopy(spec.get("legacyAbac") or {}),
            "ipAllocationPolicy": ip_policy,
            "networkConfig": merge_patch({
                "network": f"projects/{project}/global/networks/{network}",
                "subnetwork": f"projects/{project}/regions/{region}/subnetworks/{subnetwork}",
                "defaultSnatStatus": {}, "datapathProvider": "LEGACY_DATAPATH"},
                spec.get("networkConfig") or {}),
            "releaseChannel": copy.deepcopy(spec.get("releaseChannel") or {"channel": "REGULAR"}),
            "databaseEncryption": copy.deepcopy(spec.get("databaseEncryption") or {
                "state": "DECRYPTED", "currentState": "CURRENT_STATE_DECRYPTED"}),
            "shieldedNodes": copy.deepcopy(spec.get("shieldedNodes") or {"enabled": True}),
            "defaultMaxPodsConstraint": copy.deepcopy(spec.get("defaultMaxPodsConstraint")
                                                      or {"maxPodsPerNode": "110"}),
            "selfLink": self.cluster_link(project, location, name),
            "zone": location,
            "endpoint": f"34.{secrets.randbelow(256)}.{secrets.randbelow(256)}."
                        f"{1 + secrets.randbelow(254)}",
            "initialClusterVersion": version,
            "currentMasterVersion": version,
            "createTime": rfc3339(self.now()),
            "location": location,
            "id": secrets.token_hex(16),
            "servicesIpv4Cidr": ip_policy.get("servicesIpv4CidrBlock", "34.118.224.0/20"),
        })
        if spec.get("maintenancePolicy") is not None:
            data["maintenancePolicy"] = maintenance_view(spec["maintenancePolicy"])
        if spec.get("privateClusterConfig") is not None:
            data["privateClusterConfig"] = private_view(spec["privateClusterConfig"],
                                                        data["endpoint"])
        return data

    def build_pool(self, rec, spec, version):
        """A NodePool as GKE fills it in for nodePools.create."""
        name = spec["name"]
        config = {"machineType": "e2-medium", "diskSizeGb": 100, "diskType": "pd-balanced",
                  "imageType": "COS_CONTAINERD", "oauthScopes": list(DEFAULT_OAUTH_SCOPES),
                  "serviceAccount": "default",
                  "metadata": {"disable-legacy-endpoints": "true"},
                  "shieldedInstanceConfig": {"enableIntegrityMonitoring": True}}
        config.update(copy.deepcopy(spec.get("config") or {}))
        config["imageType"] = str(config.get("imageType") or "COS_CONTAINERD").upper()
        locations = list(spec.get("locations") or rec.data.get("locations") or [rec.location])
        max_pods = (spec.get("maxPodsConstraint") or rec.data.get("defaultMaxPodsConstraint")
                    or {"maxPodsPerNode": "110"})
        suffix = secrets.token_hex(4)
        data = {k: copy.deepcopy(v) for k, v in spec.items()
                if k not in ("status", "statusMessage", "selfLink", "instanceGroupUrls",
                             "etag", "podIpv4CidrSize", "updateInfo", "conditions")}
        data.update({
            "name": name,
            "config": config,
            "initialNodeCount": spec.get("initialNodeCount", 3),
            "locations": locations,
            "selfLink": f"{rec.data['selfLink']}/nodePools/{name}",
            "version": version,
            "instanceGroupUrls": [
                f"https://www.googleapis.com/compute/v1/projects/{rec.project}/zones/{z}/"
                f"instanceGroupManagers/gke-{rec.name[:15]}-{name[:15]}-{suffix}-grp"
                for z in locations],
            "autoscaling": copy.deepcopy(spec.get("autoscaling") or {}),
            "management": copy.deepcopy(spec.get("management")
                                        or {"autoUpgrade": True, "autoRepair": True}),
            "maxPodsConstraint": {"maxPodsPerNode": str(max_pods.get("maxPodsPerNode", "110"))},
            "podIpv4CidrSize": pod_cidr_size(max_pods.get("maxPodsPerNode")),
            "upgradeSettings": copy.deepcopy(spec.get("upgradeSettings")
                                             or {"maxSurge": 1, "strategy": "SURGE"}),
            "networkConfig": merge_patch({
                "podRange": rec.data.get("ipAllocationPolicy", {}).get(
                    "clusterSecondaryRangeName", ""),
                "podIpv4CidrBlock": rec.data.get("clusterIpv4Cidr", "")},
                spec.get("networkConfig") or {}),
        })
        return data

    # -- operations --

    def start_op(self, ctx, rec, op_type, kind, apply, undo=None, pool=None, seconds=None,
                 target=None):
        """Starts an operation on `rec` (which must be idle); `apply(t)` runs when it ends
        DONE, unless an armed failure of `kind` makes it end DONE with an error, and
        `undo(failure)` runs instead."""
        failure = self.take_fail_next(kind, rec.name, pool, op_type)
        target = target or (f"{rec.data['selfLink']}/nodePools/{pool}" if pool
                            else rec.data["selfLink"])
        op = Operation(self, rec, op_type, pool, target, failure, apply, undo)
        self.operations[op.name] = op
        rec.op = op
        if seconds is None:
            seconds = self.opts.op_seconds

        def done(t):
            if op.status != OP_RUNNING:
                return
            op.status, op.end = OP_DONE, t
            if rec.op is op:
                rec.op = None
            if failure is not None:
                code = failure.get("code")
                if isinstance(code, str):
                    code = CANONICAL.get(code, (13,))[0]
                op.error = {"code": code if isinstance(code, int) else 13,
                            "message": failure.get("message")
                            or f"{op_type} failed (injected by the emulator)."}
                if undo is not None:
                    undo(op.error)
            else:
                apply(t)
        op.ends_at = self.schedule(seconds, done)
        ctx.operation = op.name
        return op


def maintenance_view(policy):
    """A MaintenancePolicy as GKE shows it: the daily window gets its duration and the
    policy a new resourceVersion."""
    out = copy.deepcopy(policy or {})
    out.pop("resourceVersion", None)
    window = out.get("window") or {}
    daily = window.get("dailyMaintenanceWindow")
    if daily is not None:
        daily["duration"] = "PT4H0M0S"
    out["resourceVersion"] = secrets.token_hex(4)
    return out


def private_view(config, endpoint):
    out = copy.deepcopy(config or {})
    if out.get("enablePrivateNodes"):
        out.setdefault("masterIpv4CidrBlock", "172.16.0.0/28")
        out["privateEndpoint"] = "172.16.0.2"
        out["peeringName"] = f"gke-n{secrets.token_hex(8)}-peer"
    out["publicEndpoint"] = endpoint
    return out


# ---- the container v1 methods --------------------------------------------------------


def resolve_node_version(text, master):
    """A node version or alias, resolved no higher than the master ("-" is the master's)."""
    if text in (None, "", "-"):
        return master
    ceiling = version_key(master)
    if text == "latest" or (VERSION_RE.fullmatch(text) and text.count(".") == 1):
        minors = sorted(VERSIONS) if text == "latest" else [minor_of(text)]
        offered = [v for m in minors for v in VERSIONS.get(m, [])
                   if ceiling is None or version_key(v) <= ceiling]
        if offered:
            return offered[-1]
    return resolve_version(text, master)


def check_node_version(value, master, current, field, pool_name=None):
    target = resolve_node_version(value, master)
    if target is None:
        raise invalid(f"Node version \"{value}\" is unsupported.", field)
    if version_key(master) is not None and version_key(target) > version_key(master):
        raise invalid(f"Node version \"{target}\" must not be newer than the master version "
                      f"\"{master}\".", field)
    if minor_of(current) is not None and minor_of(target) < minor_of(current):
        raise invalid(f"Node pool \"{pool_name}\" cannot be downgraded from {current} to "
                      f"{target}: minor version downgrades are not supported.", field)
    return target


def check_image_type(value, field):
    if str(value).upper() not in IMAGE_TYPES:
        raise invalid(f"Invalid image type \"{value}\"; valid image types: "
                      + ", ".join(IMAGE_TYPES) + ".", field)
    return str(value).upper()


def check_zones(rec_location, zones, field):
    if not zones:
        raise invalid(f"Invalid value for field '{field}': at least one zone is required.", field)
    region = region_of(rec_location)
    for z in zones:
        if not is_zone(z) or region_of(z) != region:
            raise invalid(f"Invalid value for field '{field}': \"{z}\" is not a zone of "
                          f"region {region}.", field)
    if is_zone(rec_location) and rec_location not in zones:
        raise invalid(f"Invalid value for field '{field}': the locations of a zonal cluster "
                      f"must include its zone {rec_location}.", field)


def check_pool_spec(spec, field, master):
    check_name(spec.get("name"), f"{field}.name")
    version = check_node_version(spec.get("version"), master, None, f"{field}.version")
    config = spec.get("config") or {}
    check_taints(config.get("taints"), f"{field}.config.taints")
    if config.get("imageType") is not None:
        check_image_type(config["imageType"], f"{field}.config.image_type")
    check_autoscaling(spec.get("autoscaling"), f"{field}.autoscaling")
    if (spec.get("initialNodeCount") or 0) < 0:
        raise invalid(f"Invalid value for field '{field}.initial_node_count': must be >= 0.",
                      f"{field}.initial_node_count")
    return version


def busy_message(cloud, rec):
    op = rec.op
    if cloud.opts.legacy_busy_message:
        phrase = BUSY_PHRASES.get(op.type, "updating")
        return (f"Operation {op.name} is currently {phrase} cluster {rec.name}. Please wait "
                "and try again once it is done.")
    return f"Cluster is running incompatible operation {op.name}."


def require_idle(cloud, rec, deleting=False):
    if rec.op is not None:
        raise precondition(busy_message(cloud, rec))
    if rec.status in (RUNNING, DEGRADED) or (deleting and rec.status == ERROR):
        return
    if rec.status == ERROR:
        raise precondition(f"Cluster {rec.name} is in the ERROR state; it can only be deleted.")
    raise precondition("Cluster is currently being created, deleted, updated or repaired and "
                       "cannot be updated.")


def require_pool_ready(pool, deleting=False):
    if pool.status in (RUNNING, RUNNING_WITH_ERROR) or (deleting and pool.status == ERROR):
        return
    raise precondition(f"Node pool {pool.name} is in the {pool.status} state and cannot be "
                       "updated.")


def cluster_or_404(cloud, ctx):
    if ctx.location == "-":
        raise invalid("Location \"-\" is only allowed when listing.", "name")
    rec = cloud.clusters.get((ctx.project, ctx.location, ctx.cluster))
    if rec is None:
        raise not_found(f"projects/{ctx.project}/locations/{ctx.location}/clusters/{ctx.cluster}")
    return rec


def pool_or_404(rec, name):
    pool = rec.pools.get(name)
    if pool is None:
        raise not_found(f"{rec.resource()}/nodePools/{name}")
    return pool


def request(ctx, schema):
    return check_body(ctx.body if ctx.body is not None else {}, schema)


def op_list_clusters(cloud, ctx):
    items = [rec.view() for (p, loc, _), rec in sorted(cloud.clusters.items())
             if p == ctx.project and ctx.location in ("-", loc)]
    return proto_clean({"clusters": items})


def op_get_cluster(cloud, ctx):
    return cluster_or_404(cloud, ctx).view()


def op_create_cluster(cloud, ctx):
    body = request(ctx, "CreateClusterRequest")
    if ctx.location == "-" or not (is_zone(ctx.location) or is_region(ctx.location)):
        raise invalid(f"Location \"{ctx.location}\" is not a zone or a region.", "parent")
    spec = body.get("cluster")
    if spec is None:
        raise invalid("Invalid value for field 'cluster': must be set.", "cluster")
    check_name(spec.get("name"), "cluster.name")
    name = ctx.cluster = spec["name"]
    key = (ctx.project, ctx.location, name)
    if key in cloud.clusters:
        raise ApiError("ALREADY_EXISTS", f"Already exists: projects/{ctx.project}/locations/"
                                         f"{ctx.location}/clusters/{name}.")
    version = resolve_version(spec.get("initialClusterVersion"), default_version())
    if version is None:
        raise invalid(f"Master version \"{spec['initialClusterVersion']}\" is unsupported.",
                      "cluster.initial_cluster_version")
    check_resource_labels(spec.get("resourceLabels") or {}, "cluster.resource_labels")
    if spec.get("locations"):
        check_zones(ctx.location, spec["locations"], "cluster.locations")
    for i, block in enumerate((spec.get("masterAuthorizedNetworksConfig") or {}).get(
            "cidrBlocks") or []):
        check_cidr(block.get("cidrBlock"), f"cluster.master_authorized_networks_config."
                                           f"cidr_blocks[{i}].cidr_block")
    for member, allowed in (("loggingService", LOGGING_SERVICES),
                            ("monitoringService", MONITORING_SERVICES)):
        if spec.get(member) and spec[member] not in allowed:
            raise invalid(f"Invalid value for field 'cluster.{snake(member)}': "
                          f"\"{spec[member]}\".", f"cluster.{snake(member)}")
    if spec.get("clusterIpv4Cidr"):
        check_cidr(spec["clusterIpv4Cidr"], "cluster.cluster_ipv4_cidr")
    pools = spec.get("nodePools") or []
    if pools and (spec.get("initialNodeCount") or spec.get("nodeConfig")):
        raise invalid("Cluster.initial_node_count and Cluster.node_config cannot be used "
                      "together with Cluster.node_pools.", "cluster.node_pools")
    if not pools:
        if (spec.get("initialNodeCount") or 0) > 0:
            pools = [{"name": "default-pool", "initialNodeCount": spec["initialNodeCount"],
                      "config": spec.get("nodeConfig") or {}}]
        elif not (spec.get("autopilot") or {}).get("enabled"):
            raise invalid("Cluster.initial_node_count must be greater than zero.",
                          "cluster.initial_node_count")
    versions, seen = [], set()
    for i, p in enumerate(pools):
        versions.append(check_pool_spec(p, f"cluster.node_pools[{i}]", version))
        if p["name"] in seen:
            raise invalid(f"Node pool names must be unique; \"{p['name']}\" is used twice.",
                          f"cluster.node_pools[{i}].name")
        seen.add(p["name"])
        if p.get("locations"):
            check_zones(ctx.location, p["locations"], f"cluster.node_pools[{i}].locations")
    rec = Cluster(ctx.project, ctx.location,
                  cloud.build_cluster(ctx.project, ctx.location, spec, version), PROVISIONING)
    for p, v in zip(pools, versions):
        rec.pools[p["name"]] = Pool(rec, cloud.build_pool(rec, p, v), PROVISIONING)
    cloud.clusters[key] = rec

    def apply(t):
        rec.status = RUNNING
        for pool in rec.pools.values():
            if pool.status == PROVISIONING:
                pool.status = RUNNING

    def undo(error):
        rec.status, rec.status_message = ERROR, error["message"]
        rec.data["conditions"] = [{"code": "UNKNOWN", "message": error["message"],
                                   "canonicalCode": CODE_NAMES.get(error["code"], "UNKNOWN")}]
        for pool in rec.pools.values():
            pool.status, pool.status_message = ERROR, error["message"]
    op = cloud.start_op(ctx, rec, "CREATE_CLUSTER", "create", apply, undo,
                        seconds=cloud.opts.create_seconds)
    return op.view()


def op_delete_cluster(cloud, ctx):
    rec = cluster_or_404(cloud, ctx)
    require_idle(cloud, rec, deleting=True)
    before = rec.status
    rec.status = STOPPING
    key = (rec.project, rec.location, rec.name)

    def apply(t):
        if cloud.clusters.get(key) is rec:
            del cloud.clusters[key]

    def undo(error):
        rec.status = before
    op = cloud.start_op(ctx, rec, "DELETE_CLUSTER", "cluster", apply, undo,
                        seconds=cloud.opts.delete_seconds)
    return op.view()


# ClusterUpdate members that live in Cluster.networkConfig: (member, sub-member to read).
NETWORK_CONFIG_UPDATES = {
    "desiredDatapathProvider": ("datapathProvider", None),
    "desiredPrivateIpv6GoogleAccess": ("privateIpv6GoogleAccess", None),
    "desiredIntraNodeVisibilityConfig": ("enableIntraNodeVisibility", "enabled"),
    "desiredL4ilbSubsettingConfig": ("enableL4ilbSubsetting", "enabled"),
    "desiredDefaultSnatStatus": ("defaultSnatStatus", None),
    "desiredDnsConfig": ("dnsConfig", None),
    "desiredGatewayApiConfig": ("gatewayApiConfig", None),
    "desiredServiceExternalIpsConfig": ("serviceExternalIpsConfig", None),
    "desiredNetworkPerformanceConfig": ("networkPerformanceConfig", None),
    "desiredEnableFqdnNetworkPolicy": ("enableFqdnNetworkPolicy", None),
    "desiredEnableMultiNetworking": ("enableMultiNetworking", None),
    "desiredEnableCiliumClusterwideNetworkPolicy": ("enableCiliumClusterwideNetworkPolicy", None),
    "desiredInTransitEncryptionConfig": ("inTransitEncryptionConfig", None),
}


def relocate_pool(rec, pool, zones):
    suffix = secrets.token_hex(4)
    pool.data["locations"] = list(zones)
    pool.data["instanceGroupUrls"] = [
        f"https://www.googleapis.com/compute/v1/projects/{rec.project}/zones/{z}/"
        f"instanceGroupManagers/gke-{rec.name[:15]}-{pool.name[:15]}-{suffix}-grp"
        for z in zones]


def cluster_change(cloud, rec, field, value, update, where=None):
    """Checks one ClusterUpdate member; returns (operationType, node pool or None, apply).
    `where` names the member in error messages."""
    d = rec.data
    master = d.get("currentMasterVersion") or default_version()
    where = where or f"update.{snake(field)}"
    if field == "desiredMasterVersion":
        target = resolve_version(value, default_version())
        if target is None:
            raise invalid(f"Master version \"{value}\" is unsupported.", where)
        cur, new = minor_of(master), minor_of(target)
        if cur is not None and new < cur:
            raise invalid(f"Master cannot be downgraded from {master} to {target}: minor "
                          "version downgrades are not supported.", where)
        if cur is not None and new > cur + 1:
            raise invalid(f"Master cannot be upgraded from {master} to {target}: upgrade one "
                          f"minor version at a time (next: 1.{cur + 1}).", where)

        def apply(t):
            rec.data["currentMasterVersion"] = target
        return "UPGRADE_MASTER", None, apply
    if field in ("desiredNodeVersion", "desiredImageType", "desiredNodePoolAutoscaling"):
        pid = update.get("desiredNodePoolId")
        if pid is None:
            if len(rec.pools) != 1:
                raise invalid("update.desired_node_pool_id must be set when the cluster does "
                              "not have exactly one node pool.", "update.desired_node_pool_id")
            pid = next(iter(rec.pools))
        pool = pool_or_404(rec, pid)
        require_pool_ready(pool)
        if field == "desiredNodeVersion":
            target = check_node_version(value, master, pool.data.get("version"), where,
                                        pool.name)

            def apply(t):
                pool.data["version"] = target
            return "UPGRADE_NODES", pid, apply
        if field == "desiredImageType":
            image = check_image_type(value, where)

            def apply(t):
                pool.data.setdefault("config", {})["imageType"] = image
            return "UPGRADE_NODES", pid, apply
        check_autoscaling(value, where)

        def apply(t):
            pool.data["autoscaling"] = copy.deepcopy(value)
        return "UPDATE_CLUSTER", pid, apply
    if field == "desiredLocations":
        check_zones(rec.location, value, where)

        def apply(t):
            d["locations"] = list(value)
            for pool in rec.pools.values():
                relocate_pool(rec, pool, value)
        return "UPDATE_CLUSTER", None, apply
    if field == "desiredAddonsConfig":
        npc = value.get("networkPolicyConfig")
        if npc is not None and npc.get("disabled") and (d.get("networkPolicy") or {}).get(
                "enabled"):
            raise precondition("The NetworkPolicy addon cannot be disabled while network "
                               "policy is enabled; disable it with setNetworkPolicy first.")

        def apply(t):
            addons = d.setdefault("addonsConfig", {})
            for addon, conf in value.items():
                addons[addon] = copy.deepcopy(conf)
        return "UPDATE_CLUSTER", None, apply
    if field == "desiredMasterAuthorizedNetworksConfig":
        for i, block in enumerate(value.get("cidrBlocks") or []):
            check_cidr(block.get("cidrBlock"), f"{where}.cidr_blocks[{i}].cidr_block")
    if field in ("desiredLoggingService", "desiredMonitoringService"):
        allowed = LOGGING_SERVICES if field == "desiredLoggingService" else MONITORING_SERVICES
        if value not in allowed:
            raise invalid(f"Invalid value for field '{where}': \"{value}\"; valid values: "
                          + ", ".join(allowed) + ".", where)
    if field == "desiredPrivateClusterConfig":
        def apply(t):
            d["privateClusterConfig"] = private_view(merge_patch(
                d.get("privateClusterConfig") or {}, value), d.get("endpoint"))
        return "UPDATE_CLUSTER", None, apply
    if field == "desiredEnablePrivateEndpoint":
        def apply(t):
            d.setdefault("privateClusterConfig", {})["enablePrivateEndpoint"] = value
        return "UPDATE_CLUSTER", None, apply
    if field in NETWORK_CONFIG_UPDATES:
        member, sub = NETWORK_CONFIG_UPDATES[field]

        def apply(t):
            d.setdefault("networkConfig", {})[member] = copy.deepcopy(
                value.get(sub) if sub else value)
        return "UPDATE_CLUSTER", None, apply
    if field == "desiredStackType":
        def apply(t):
            d.setdefault("ipAllocationPolicy", {})["stackType"] = value
        return "UPDATE_CLUSTER", None, apply
    member = field
    if field.startswith("desired"):
        member = field[len("desired"):]
        member = member[0].lower() + member[1:]

    def apply(t):
        d[member] = copy.deepcopy(value)
    return "UPDATE_CLUSTER", None, apply


def start_cluster_change(cloud, ctx, rec, field, value, update, op_type=None, where=None):
    require_idle(cloud, rec)
    kind, pool, apply = cluster_change(cloud, rec, field, value, update, where)
    op = cloud.start_op(ctx, rec, op_type or kind, "cluster", apply, pool=pool)
    if pool is not None:
        ctx.pool = pool
    return op.view()


def op_update_cluster(cloud, ctx):
    body = request(ctx, "UpdateClusterRequest")
    rec = cluster_or_404(cloud, ctx)
    update = body.get("update") or {}
    fields = [k for k in update if k not in ("etag", "desiredNodePoolId")]
    if not fields:
        raise invalid("Must specify a field to update: the ClusterUpdate has no desired* "
                      "member set.", "update")
    if len(fields) > 1:
        raise invalid("Exactly one update can be applied to a cluster with each request, so at "
                      "most one field can be provided; got " + ", ".join(sorted(fields)) + ".",
                      "update")
    etag = update.get("etag")
    if etag and etag != rec.view()["etag"]:
        raise ApiError("ABORTED", f"Cluster {rec.name} was changed since etag {etag} was "
                                  "read; get it again and retry.")
    return start_cluster_change(cloud, ctx, rec, fields[0], update[fields[0]], update)


def op_set_resource_labels(cloud, ctx):
    body = request(ctx, "SetLabelsRequest")
    rec = cluster_or_404(cloud, ctx)
    labels = body.get("resourceLabels") or {}
    check_resource_labels(labels, "resource_labels")
    require_idle(cloud, rec)
    given, expected = body.get("labelFingerprint", ""), label_fingerprint(
        rec.data.get("resourceLabels"))
    if given != expected:
        raise precondition("Labels could not be set due to fingerprint mismatch; try again with "
                           f"the proper fingerprint: incorrect fingerprint supplied was "
                           f"\"{given}\", the expected one is \"{expected}\".")

    def apply(t):
        rec.data["resourceLabels"] = dict(labels)
    return cloud.start_op(ctx, rec, "SET_LABELS", "cluster", apply).view()


def op_set_maintenance_policy(cloud, ctx):
    body = request(ctx, "SetMaintenancePolicyRequest")
    rec = cluster_or_404(cloud, ctx)
    policy = body.get("maintenancePolicy")
    if policy is None:
        raise invalid("Invalid value for field 'maintenance_policy': must be set.",
                      "maintenance_policy")
    daily = (policy.get("window") or {}).get("dailyMaintenanceWindow")
    if daily is not None and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d",
                                              daily.get("startTime", "")):
        raise invalid("Invalid value for field 'maintenance_policy.window.daily_maintenance_"
                      f"window.start_time': \"{daily.get('startTime', '')}\" (want \"HH:MM\").",
                      "maintenance_policy.window.daily_maintenance_window.start_time")
    require_idle(cloud, rec)
    current = (rec.data.get("maintenancePolicy") or {}).get("resourceVersion")
    given = policy.get("resourceVersion")
    if given and current and given != current:
        raise precondition(f"The maintenance policy was changed since resource version {given} "
                           f"was read (it is now {current}); get the cluster and retry.")

    def apply(t):
        rec.data["maintenancePolicy"] = maintenance_view(policy)
    return cloud.start_op(ctx, rec, "SET_MAINTENANCE_POLICY", "cluster", apply).view()


def op_set_network_policy(cloud, ctx):
    body = request(ctx, "SetNetworkPolicyRequest")
    rec = cluster_or_404(cloud, ctx)
    policy = body.get("networkPolicy")
    if policy is None:
        raise invalid("Invalid value for field 'network_policy': must be set.", "network_policy")
    require_idle(cloud, rec)
    addon = (rec.data.get("addonsConfig") or {}).get("networkPolicyConfig") or {}
    if policy.get("enabled") and addon.get("disabled"):
        raise precondition("Network policy cannot be enabled while the NetworkPolicy addon is "
                           "disabled; enable addonsConfig.networkPolicyConfig first.")
    new = dict(policy)
    if new.get("enabled") and new.get("provider") in (None, "PROVIDER_UNSPECIFIED"):
        new["provider"] = "CALICO"

    def apply(t):
        rec.data["networkPolicy"] = new
    return cloud.start_op(ctx, rec, "SET_NETWORK_POLICY", "cluster", apply).view()


def simple_cluster_setter(schema, member, field, op_type=None):
    def handler(cloud, ctx):
        body = request(ctx, schema)
        rec = cluster_or_404(cloud, ctx)
        if body.get(member) is None:
            raise invalid(f"Invalid value for field '{snake(member)}': must be set.",
                          snake(member))
        return start_cluster_change(cloud, ctx, rec, field, body[member], {}, op_type,
                                    snake(member))
    return handler


op_set_addons = simple_cluster_setter("SetAddonsConfigRequest", "addonsConfig",
                                      "desiredAddonsConfig")
op_set_logging = simple_cluster_setter("SetLoggingServiceRequest", "loggingService",
                                       "desiredLoggingService")
op_set_monitoring = simple_cluster_setter("SetMonitoringServiceRequest", "monitoringService",
                                          "desiredMonitoringService")
op_set_locations = simple_cluster_setter("SetLocationsRequest", "locations", "desiredLocations")
op_update_master = simple_cluster_setter("UpdateMasterRequest", "masterVersion",
                                         "desiredMasterVersion", "UPGRADE_MASTER")


def op_list_pools(cloud, ctx):
    rec = cluster_or_404(cloud, ctx)
    return proto_clean({"nodePools": [p.view() for p in rec.pools.values()]})


def op_get_pool(cloud, ctx):
    return pool_or_404(cluster_or_404(cloud, ctx), ctx.pool).view()


def op_create_pool(cloud, ctx):
    body = request(ctx, "CreateNodePoolRequest")
    rec = cluster_or_404(cloud, ctx)
    spec = body.get("nodePool")
    if spec is None:
        raise invalid("Invalid value for field 'node_pool': must be set.", "node_pool")
    check_name(spec.get("name"), "node_pool.name")
    name = ctx.pool = spec["name"]
    if name in rec.pools:
        raise ApiError("ALREADY_EXISTS", f"Already exists: {rec.resource()}/nodePools/{name}.")
    require_idle(cloud, rec)
    version = check_pool_spec(spec, "node_pool", rec.data.get("currentMasterVersion")
                              or default_version())
    if spec.get("locations"):
        check_zones(rec.location, spec["locations"], "node_pool.locations")
    pool = Pool(rec, cloud.build_pool(rec, spec, version), PROVISIONING)
    rec.pools[name] = pool

    def apply(t):
        if pool.status == PROVISIONING:
            pool.status = RUNNING

    def undo(error):
        pool.status, pool.status_message = ERROR, error["message"]
    return cloud.start_op(ctx, rec, "CREATE_NODE_POOL", "nodePool", apply, undo,
                          pool=name).view()


def op_delete_pool(cloud, ctx):
    rec = cluster_or_404(cloud, ctx)
    pool = pool_or_404(rec, ctx.pool)
    require_idle(cloud, rec)
    before = pool.status
    pool.status = STOPPING

    def apply(t):
        if rec.pools.get(pool.name) is pool:
            del rec.pools[pool.name]

    def undo(error):
        pool.status = before
    return cloud.start_op(ctx, rec, "DELETE_NODE_POOL", "nodePool", apply, undo,
                          pool=pool.name).view()


POOL_UPDATE_IGNORED = ("name", "projectId", "zone", "clusterId", "nodePoolId", "etag")
NODE_CONFIG_MEMBERS = {"machineType", "diskType", "diskSizeGb", "kubeletConfig",
                       "linuxNodeConfig", "workloadMetadataConfig", "gcfsConfig", "gvnic",
                       "confidentialNodes", "fastSocket", "loggingConfig", "windowsNodeConfig",
                       "containerdConfig", "resourceManagerTags", "accelerators"}


def op_update_pool(cloud, ctx):
    body = request(ctx, "UpdateNodePoolRequest")
    rec = cluster_or_404(cloud, ctx)
    pool = pool_or_404(rec, ctx.pool)
    fields = {k: v for k, v in body.items() if k not in POOL_UPDATE_IGNORED}
    if not fields:
        raise invalid("The UpdateNodePoolRequest changes nothing: set at least one of "
                      "nodeVersion, imageType, labels, taints, tags, locations, "
                      "upgradeSettings, ...", "node_version")
    etag = body.get("etag")
    if etag and etag != pool.view()["etag"]:
        raise ApiError("ABORTED", f"Node pool {pool.name} was changed since etag {etag} was "
                                  "read; get it again and retry.")
    require_idle(cloud, rec)
    require_pool_ready(pool)
    master = rec.data.get("currentMasterVersion") or default_version()
    changes = copy.deepcopy(fields)
    if "nodeVersion" in fields:
        changes["nodeVersion"] = check_node_version(fields["nodeVersion"], master,
                                                    pool.data.get("version"), "node_version",
                                                    pool.name)
    if "imageType" in fields:
        changes["imageType"] = check_image_type(fields["imageType"], "image_type")
    if "taints" in fields:
        check_taints(fields["taints"].get("taints"), "taints.taints")
    if "locations" in fields:
        check_zones(rec.location, fields["locations"], "locations")
    if "diskSizeGb" in fields:
        changes["diskSizeGb"] = int(fields["diskSizeGb"])
        if changes["diskSizeGb"] < 10:
            raise invalid("Invalid value for field 'disk_size_gb': the smallest allowed disk "
                          "size is 10GB.", "disk_size_gb")

    def apply(t):
        d = pool.data
        config = d.setdefault("config", {})
        for k, v in changes.items():
            if k == "nodeVersion":
                d["version"] = v
            elif k == "imageType":
                config["imageType"] = v
            elif k == "labels":
                config["labels"] = dict(v.get("labels") or {})
            elif k == "resourceLabels":
                config["resourceLabels"] = dict(v.get("labels") or {})
            elif k == "taints":
                config["taints"] = list(v.get("taints") or [])
            elif k == "tags":
                config["tags"] = list(v.get("tags") or [])
            elif k == "locations":
                relocate_pool(rec, pool, v)
            elif k == "nodeNetworkConfig":
                d["networkConfig"] = merge_patch(d.get("networkConfig") or {}, v)
            elif k in NODE_CONFIG_MEMBERS:
                config[k] = v
            else:
                d[k] = v
    op_type = "UPGRADE_NODES" if ("nodeVersion" in fields or "imageType" in fields) \
        else "UPDATE_CLUSTER"
    return cloud.start_op(ctx, rec, op_type, "nodePool", apply, pool=pool.name).view()


def pool_setter(ctx, cloud, schema):
    body = request(ctx, schema)
    rec = cluster_or_404(cloud, ctx)
    pool = pool_or_404(rec, ctx.pool)
    return body, rec, pool


def op_set_pool_size(cloud, ctx):
    body, rec, pool = pool_setter(ctx, cloud, "SetNodePoolSizeRequest")
    count = body.get("nodeCount", 0)
    if count < 0:
        raise invalid(f"Invalid value for field 'node_count': {count} (must be >= 0).",
                      "node_count")
    require_idle(cloud, rec)
    require_pool_ready(pool)

    def apply(t):
        # GKE reports a pool's size through initialNodeCount after a resize.
        pool.data["initialNodeCount"] = count
    return cloud.start_op(ctx, rec, "SET_NODE_POOL_SIZE", "nodePool", apply,
                          pool=pool.name).view()


def op_set_pool_autoscaling(cloud, ctx):
    body, rec, pool = pool_setter(ctx, cloud, "SetNodePoolAutoscalingRequest")
    autoscaling = body.get("autoscaling") or {}
    check_autoscaling(autoscaling, "autoscaling")
    require_idle(cloud, rec)
    require_pool_ready(pool)

    def apply(t):
        pool.data["autoscaling"] = copy.deepcopy(autoscaling)
    return cloud.start_op(ctx, rec, "UPDATE_CLUSTER", "nodePool", apply, pool=pool.name).view()


def op_set_pool_management(cloud, ctx):
    body, rec, pool = pool_setter(ctx, cloud, "SetNodePoolManagementRequest")
    management = body.get("management") or {}
    require_idle(cloud, rec)
    require_pool_ready(pool)

    def apply(t):
        keep = (pool.data.get("management") or {}).get("upgradeOptions")
        pool.data["management"] = {k: v for k, v in management.items()
                                   if k != "upgradeOptions"}
        if keep is not None:
            pool.data["management"]["upgradeOptions"] = keep
    return cloud.start_op(ctx, rec, "SET_NODE_POOL_MANAGEMENT", "nodePool", apply,
                          pool=pool.name).view()


def op_get_operation(cloud, ctx):
    name = ctx.args["operationsId"]
    op = cloud.operations.get(name)
    if op is None or op.project != ctx.project or ctx.location not in ("-", op.location):
        raise not_found(f"projects/{ctx.project}/locations/{ctx.location}/operations/{name}")
    ctx.cluster, ctx.pool, ctx.operation = op.cluster, op.pool, op.name
    return op.view()


def op_list_operations(cloud, ctx):
    ops = [op.view() for op in cloud.operations.values()
           if op.project == ctx.project and ctx.location in ("-", op.location)]
    return proto_clean({"operations": ops})


def op_server_config(cloud, ctx):
    every = [v for m in sorted(VERSIONS, reverse=True) for v in reversed(VERSIONS[m])]
    channel = {"defaultVersion": default_version(), "validVersions": every}
    return {"defaultClusterVersion": default_version(), "validNodeVersions": every,
            "defaultImageType": "COS_CONTAINERD", "validImageTypes": IMAGE_TYPES,
            "validMasterVersions": every,
            "channels": [dict(channel, channel=c) for c in ("RAPID", "REGULAR", "STABLE")]}


P = "v1/projects/{projectsId}/locations/{locationsId}"
C = P + "/clusters/{clustersId}"
N = C + "/nodePools/{nodePoolsId}"
M = "container.projects.locations."
# (HTTP method, flat path of the discovery document, method id, handler, IAM permission)
ROUTES = [
    ("GET", P + "/serverConfig", M + "getServerConfig", op_server_config, "clusters.list"),
    ("GET", P + "/clusters", M + "clusters.list", op_list_clusters, "clusters.list"),
    ("POST", P + "/clusters", M + "clusters.create", op_create_cluster, "clusters.create"),
    ("GET", C, M + "clusters.get", op_get_cluster, "clusters.get"),
    ("PUT", C, M + "clusters.update", op_update_cluster, "clusters.update"),
    ("DELETE", C, M + "clusters.delete", op_delete_cluster, "clusters.delete"),
    ("POST", C + ":setResourceLabels", M + "clusters.setResourceLabels", op_set_resource_labels,
     "clusters.update"),
    ("POST", C + ":setMaintenancePolicy", M + "clusters.setMaintenancePolicy",
     op_set_maintenance_policy, "clusters.update"),
    ("POST", C + ":setNetworkPolicy", M + "clusters.setNetworkPolicy", op_set_network_policy,
     "clusters.update"),
    ("POST", C + ":setAddons", M + "clusters.setAddons", op_set_addons, "clusters.update"),
    ("POST", C + ":setLogging", M + "clusters.setLogging", op_set_logging, "clusters.update"),
    ("POST", C + ":setMonitoring", M + "clusters.setMonitoring", op_set_monitoring,
     "clusters.update"),
    ("POST", C + ":setLocations", M + "clusters.setLocations", op_set_locations,
     "clusters.update"),
    ("POST", C + ":updateMaster", M + "clusters.updateMaster", op_update_master,
     "clusters.update"),
    ("GET", C + "/nodePools", M + "clusters.nodePools.list", op_list_pools, "clusters.get"),
    ("POST", C + "/nodePools", M + "clusters.nodePools.create", op_create_pool,
     "clusters.update"),
    ("GET", N, M + "clusters.nodePools.get", op_get_pool, "clusters.get"),
    ("PUT", N, M + "clusters.nodePools.update", op_update_pool, "clusters.update"),
    ("DELETE", N, M + "clusters.nodePools.delete", op_delete_pool, "clusters.update"),
    ("POST", N + ":setSize", M + "clusters.nodePools.setSize", op_set_pool_size,
     "clusters.update"),
    ("POST", N + ":setAutoscaling", M + "clusters.nodePools.setAutoscaling",
     op_set_pool_autoscaling, "clusters.update"),
    ("POST", N + ":setManagement", M + "clusters.nodePools.setManagement",
     op_set_pool_management, "clusters.update"),
    ("GET", P + "/operations", M + "operations.list", op_list_operations, "operations.list"),
    ("GET", P + "/operations/{operationsId}", M + "operations.get", op_get_operation,
     "operations.get"),
]


def _route_regex(template):
    out = ""
    for part in re.split(r"(\{[A-Za-z]+\})", template):
        if part.startswith("{"):
            out += f"(?P<{part[1:-1]}>[^/:]+)"
        else:
            out += re.escape(part)
    return re.compile("/" + out)


ROUTES = [(m, _route_regex(t), mid, fn, perm) for m, t, mid, fn, perm in ROUTES]
METHOD_IDS = sorted({r[2] for r in ROUTES}) + ["token"]


def match_route(method, raw_path):
    """(method id, handler, permission, path arguments) for a container API path; None
    when nothing matches. `exists` tells whether the path matched with another method."""
    exists = False
    for m, regex, mid, fn, perm in ROUTES:
        match = regex.fullmatch(raw_path)
        if match is None:
            continue
        exists = True
        if m == method:
            args = {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
            return mid, fn, perm, args, True
    return None, None, None, None, exists


# ---- service accounts and the OAuth token endpoint -----------------------------------


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_public_key(pem):
    if b"BEGIN CERTIFICATE" in pem:
        return x509.load_pem_x509_certificate(pem).public_key()
    return serialization.load_pem_public_key(pem)


def load_service_accounts(specs):
    """{client_email: {"keys": {private_key_id or None: public key}, "project": ...}} from
    --service-account values: a key file (JSON, as Google issues them), or
    EMAIL:PUBLIC_KEY_PEM_FILE (a PEM public key or X.509 certificate; kid not checked)."""
    accounts = {}
    for spec in specs:
        if os.path.isfile(spec):
            with open(spec) as f:
                key = json.load(f)
            email, kid = key.get("client_email"), key.get("private_key_id")
            pem = key.get("private_key")
            if not email or not pem:
                raise SystemExit(f"gkeemu: {spec} has no client_email or private_key")
            private = serialization.load_pem_private_key(pem.encode(), password=None)
            public, project = private.public_key(), key.get("project_id")
        else:
            email, _, path = spec.partition(":")
            if "@" not in email or not os.path.isfile(path):
                raise SystemExit(f"gkeemu: --service-account wants KEYFILE.json or "
                                 f"EMAIL:PUBKEY.pem, got {spec!r}")
            with open(path, "rb") as f:
                public = load_public_key(f.read())
            kid, project = None, None
        if not isinstance(public, rsa.RSAPublicKey):
            raise SystemExit(f"gkeemu: the key of {email} is not an RSA key")
        entry = accounts.setdefault(email, {"keys": {}, "project": project})
        entry["keys"][kid] = public
    return accounts


def verify_assertion(accounts, assertion, audiences):
    """Checks a JWT bearer assertion as Google's token endpoint does; returns
    (client_email, scope) or raises OAuthError."""
    bad_signature = OAuthError(400, "invalid_grant", "Invalid JWT Signature.")
    parts = assertion.split(".")
    if len(parts) != 3:
        raise bad_signature
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError):
        raise bad_signature
    if not isinstance(header, dict) or not isinstance(claims, dict) \
            or header.get("alg") != "RS256":
        raise bad_signature
    account = accounts.get(claims.get("iss"))
    if account is None:
        raise bad_signature
    keys = account["keys"]
    kid = header.get("kid")
    if kid is None:
        candidates = list(keys.values())
    elif kid in keys:
        candidates = [keys[kid]]
    else:
        candidates = [keys[None]] if None in keys else []
    signed = f"{parts[0]}.{parts[1]}".encode()
    for key in candidates:
        try:
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
            break
        except InvalidSignature:
            continue
    else:
        raise bad_signature
    iat, exp, now = claims.get("iat"), claims.get("exp"), time.time()
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (iat, exp)) \
            or exp - iat > JWT_MAX_LIFETIME or exp <= iat or exp < now - JWT_SKEW \
            or iat > now + JWT_SKEW:
        raise OAuthError(400, "invalid_grant", JWT_TIME_MESSAGE)
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    if not any(a in audiences for a in auds):
        raise OAuthError(400, "invalid_grant", "Invalid JWT: Failed audience check. The right "
                                               f"audience is {audiences[0]}")
    scope = claims.get("scope")
    if not isinstance(scope, str) or not scope.strip():
        raise OAuthError(400, "invalid_scope", "Invalid OAuth scope or ID token audience "
                                               "provided.")
    return claims["iss"], " ".join(scope.split())


# ---- HTTP ------------------------------------------------------------------------------


class AdminError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def admin_invalid(message):
    return AdminError(400, "INVALID_ARGUMENT", message)


class Handler(emucore.Handler):
    server_version = "gkeemu/1"
    fault_class = Fault
    FAIL_NEXT_KINDS = ("cluster", "nodePool", "create")
    FAIL_NEXT_MEMBERS = ("cluster", "nodePool", "operationType", "code", "message")
    admin_errors = (AdminError, ApiError)

    def begin_request(self):
        self.request_id = "0x" + secrets.token_hex(8)

    # -- replies --

    def reply(self, status, body, headers=(), pretty=False):
        if isinstance(body, bytes):
            data = body
        else:
            data = json.dumps(body, indent=2 if pretty else None).encode() + b"\n"
        self.send(status, data, "application/json; charset=UTF-8",
                  [("X-Emu-Request-Id", self.request_id), *headers])

    def api_error(self, e):
        self.reply(e.status, e.body(self.request_id), headers=e.headers)

    def refuse_body(self, e):
        self.api_error(ApiError("INVALID_ARGUMENT", e.message, http_status=e.status))

    def log_call(self, method_id, status, ctx=None, client=None, cluster=None):
        cloud = self.server.cloud
        entry = {"methodId": method_id, "method": self.command, "path": self.path,
                 "status": status, "project": ctx.project if ctx else None,
                 "location": ctx.location if ctx else None,
                 "cluster": ctx.cluster if ctx else cluster,
                 "nodePool": ctx.pool if ctx else None,
                 "operation": ctx.operation if ctx else None,
                 "client": client, "time": cloud.now(), "wallTime": round(time.time(), 3),
                 "requestId": self.request_id}
        cloud.record(entry)

    # -- dispatch --

    def dispatch(self):
        try:
            super().dispatch()
        except (BrokenPipeError, ConnectionResetError):
            raise
        except Exception as e:  # a bug in the emulator: say so instead of hanging up
            traceback.print_exc()
            self.close_connection = True
            try:
                self.api_error(ApiError("INTERNAL", f"gkeemu bug: {e!r} (see its stderr)"))
            except OSError:
                pass

    def dispatch_cloud(self, raw_path, raw_query, raw):
        if raw_path == "/token":
            return self.dispatch_token(raw_path, raw)
        return self.dispatch_api(raw_path, raw_query, raw)

    def check_token(self):
        """The access token's record, or ApiError 401."""
        auth = self.headers.get("Authorization")
        realm = 'Bearer realm="https://accounts.google.com/"'
        if not auth:
            e = ApiError("UNAUTHENTICATED", UNAUTH_MISSING, reason="required",
                         headers=[("WWW-Authenticate", realm)])
            raise e
        scheme, _, token = auth.strip().partition(" ")
        cloud = self.server.cloud
        with cloud.lock:
            info = cloud.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
            if info is not None and info["expires"] <= time.time():
                info = None
        if info is None:
            raise ApiError("UNAUTHENTICATED", UNAUTH_INVALID,
                           headers=[("WWW-Authenticate", realm + ', error="invalid_token"')])
        return info

    def dispatch_api(self, raw_path, raw_query, raw):
        cloud, opts = self.server.cloud, self.server.opts
        method_id, fn, perm, args, exists = match_route(self.command, raw_path)
        if fn is None:
            if exists:
                e = ApiError("INVALID_ARGUMENT", f"Method {self.command} is not allowed on "
                                                 f"{raw_path}.", http_status=405)
            else:
                e = ApiError("NOT_FOUND", f"The requested URL {raw_path} was not found on "
                                          "this server.")
            self.log_call("unknown", e.status)
            return self.api_error(e)
        query = urllib.parse.parse_qs(raw_query)
        pretty = query.get("prettyPrint", ["true"])[0] != "false"
        ctx = Ctx(method_id, self.command, raw_path, args, query, None, None)
        try:
            info = self.check_token()
            ctx.client = info["email"]
            if CLOUD_PLATFORM not in info["scope"].split():
                raise ApiError("PERMISSION_DENIED", "Request had insufficient authentication "
                               "scopes.", reason="insufficientPermissions", details=[{
                                   "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                   "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                                   "domain": "googleapis.com",
                                   "metadata": {"service": "container.googleapis.com",
                                                "method": method_id}}])
            if ctx.project not in opts.projects:
                resource = f"projects/{ctx.project}/locations/{ctx.location}"
                if ctx.cluster:
                    resource += f"/clusters/{ctx.cluster}"
                if ctx.pool:
                    resource += f"/nodePools/{ctx.pool}"
                if args.get("operationsId"):
                    resource += f"/operations/{args['operationsId']}"
                raise ApiError("PERMISSION_DENIED", f"Required \"container.{perm}\" "
                                                    f"permission(s) for \"{resource}\".")
            if self.command in ("POST", "PUT", "PATCH"):
                try:
                    ctx.body = json.loads(raw) if raw.strip() else {}
                except (ValueError, UnicodeDecodeError) as err:
                    raise invalid(f"Invalid JSON payload received. {err}.")
                if not isinstance(ctx.body, dict):
                    raise invalid("Invalid JSON payload received. Expected an object.")
        except ApiError as e:
            self.log_call(method_id, e.status, ctx)
            return self.api_error(e)
        target = ctx.cluster
        if method_id.endswith("clusters.create") and isinstance(ctx.body.get("cluster"), dict):
            target = ctx.body["cluster"].get("name")
        with cloud.lock:
            throttled, fault = cloud.admit(method_id, target)
        if throttled:
            e = ApiError("RESOURCE_EXHAUSTED", DEFAULT_MESSAGES["RESOURCE_EXHAUSTED"])
            self.log_call(method_id, e.status, ctx)
            return self.api_error(e)
        if self.play_fault(fault, lambda status: self.log_call(method_id, status, ctx),
                           b'{"name": "operation-17000000000'):
            return
        if fault is not None and fault.status is not None:
            canonical = fault.code or STATUS_CANONICAL.get(fault.status, "UNKNOWN")
            e = ApiError(canonical, fault.message or DEFAULT_MESSAGES.get(
                canonical, f"Injected fault: HTTP {fault.status}"), http_status=fault.status)
            self.log_call(method_id, e.status, ctx)
            return self.api_error(e)
        try:
            with cloud.lock:
                cloud.settle()
                out = fn(cloud, ctx)
            status = 200
        except ApiError as e:
            out, status = e, e.status
        self.log_call(method_id, status, ctx)
        if isinstance(out, ApiError):
            return self.api_error(out)
        self.reply(200, out, pretty=pretty)

    def dispatch_token(self, raw_path, raw):
        cloud, opts = self.server.cloud, self.server.opts
        headers = [("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate"),
                   ("Pragma", "no-cache")]
        client = None
        try:
            if self.command != "POST":
                raise OAuthError(405, "invalid_request", f"{self.command} is not allowed; "
                                                         "POST the token request")
            ctype = self.headers.get("Content-Type", "")
            try:
                if "json" in ctype:
                    form = json.loads(raw or b"{}")
                    if not isinstance(form, dict):
                        raise ValueError("not an object")
                else:
                    form = dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))
            except (ValueError, UnicodeDecodeError):
                raise OAuthError(400, "invalid_request", "The request body cannot be parsed.")
            with cloud.lock:
                fault = cloud.take_fault("token", None)
            if self.play_fault(fault, lambda status: self.log_call("token", status),
                               b'{"access_token": "ya29.trunc', headers=headers):
                return
            if fault is not None and fault.status is not None:
                raise OAuthError(fault.status, fault.code or (
                    "internal_failure" if fault.status >= 500 else "invalid_request"),
                    fault.message or f"Injected fault: HTTP {fault.status}")
            grant = form.get("grant_type")
            if not grant:
                raise OAuthError(400, "invalid_request", "Missing required parameter: "
                                                         "grant_type")
            if grant != JWT_BEARER:
                raise OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")
            assertion = form.get("assertion")
            if not assertion:
                raise OAuthError(400, "invalid_request", "Missing required parameter: "
                                                         "assertion")
            host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
            audiences = [f"http://{host}{raw_path}",
                         f"http://127.0.0.1:{self.server.server_address[1]}{raw_path}",
                         f"http://localhost:{self.server.server_address[1]}{raw_path}",
                         GOOGLE_TOKEN_URI, "https://www.googleapis.com/oauth2/v4/token",
                         "https://accounts.google.com/o/oauth2/token"]
            client, scope = verify_assertion(opts.accounts, assertion, audiences)
        except OAuthError as e:
            self.log_call("token", e.status, client=client)
            return self.reply(e.status, {"error": e.error, "error_description": e.description},
                              headers=headers)
        with cloud.lock:
            token = cloud.mint_token(client, scope, opts.token_seconds)
        self.log_call("token", 200, client=client)
        self.reply(200, {"access_token": token,
                         "expires_in": max(0, int(opts.token_seconds) - 1),
                         "token_type": "Bearer"}, headers=headers)

    # -- admin --

    @staticmethod
    def bad_body(message):
        return admin_invalid(message)

    @staticmethod
    def bad_value(message):
        return admin_invalid(message)

    def admin_error(self, e):
        code = e.code if isinstance(e, AdminError) else e.canonical
        self.reply(e.status, {"code": code, "message": e.message})

    def admin_missing(self, status, message):
        code = "METHOD_NOT_ALLOWED" if status == 405 else "NOT_FOUND"
        self.reply(status, {"code": code, "message": message})

    def check_fail_next(self, body):
        self.require_strings(body, ("cluster", "nodePool", "operationType", "message"))
        code = body.get("code")
        if code is not None and not (isinstance(code, str) and code in CANONICAL) and not (
                isinstance(code, int) and not isinstance(code, bool) and code in CODE_NAMES):
            raise admin_invalid('"code" must be a google.rpc.Code number (13) or name '
                                '("INTERNAL")')

    def admin_project(self, query, body=None):
        opts = self.server.opts
        project = (body or {}).get("project") or query.get("project", [opts.projects[0]])[0]
        if project not in opts.projects:
            raise admin_invalid(f"project {project!r} is not served (--project)")
        return project

    def admin_cluster(self, cloud, query, location, name):
        project = self.admin_project(query)
        rec = cloud.clusters.get((project, location, name))
        if rec is None:
            raise AdminError(404, "NOT_FOUND", f"Not found: projects/{project}/locations/"
                                               f"{location}/clusters/{name}.")
        return rec

    @staticmethod
    def state_of(cloud, rec):
        ops = [op.internal() for op in cloud.operations.values()
               if (op.project, op.location, op.cluster) == (rec.project, rec.location, rec.name)]
        return {"project": rec.project, "location": rec.location, "cluster": rec.view(),
                "operation": rec.op.name if rec.op else None, "operations": ops,
                "now": cloud.now()}

    @staticmethod
    def normalised(spec, schema, what):
        try:
            return check_body(spec, schema)
        except ApiError as e:
            raise admin_invalid(f"{what}: {e.message}")

    def add_pool(self, cloud, rec, spec):
        spec = self.normalised(spec, "NodePool", "nodePool")
        name = spec.get("name")
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            raise admin_invalid('a node pool needs a valid "name"')
        if name in rec.pools:
            raise AdminError(409, "ALREADY_EXISTS", f"node pool {name} exists")
        status = spec.pop("status", RUNNING)
        if status not in POOL_STATUSES:
            raise admin_invalid(f'"status" must be one of {", ".join(POOL_STATUSES)}')
        master = rec.data.get("currentMasterVersion") or default_version()
        version = resolve_node_version(spec.get("version"), master)
        if version is None:
            raise admin_invalid(f"unsupported node pool version {spec['version']!r}")
        spec["version"] = version
        data = merge_patch(cloud.build_pool(rec, spec, version), spec)
        data["config"]["imageType"] = str(data["config"].get("imageType")).upper()
        pool = Pool(rec, data, status)
        rec.pools[name] = pool
        return pool

    @admin_route("GET", r"/admin/clusters")
    def admin_list(self, cloud, **_):
        with cloud.lock:
            cloud.settle()
            return 200, {"clusters": [
                {"project": p, "location": loc, "name": n, "status": rec.current_status(),
                 "nodePools": list(rec.pools), "operation": rec.op.name if rec.op else None}
                for (p, loc, n), rec in sorted(cloud.clusters.items())]}

    @admin_route("POST", r"/admin/clusters")
    def admin_add(self, cloud, body, query, **_):
        project = self.admin_project(query, body)
        location = body.get("location")
        if not isinstance(location, str) or not (is_zone(location) or is_region(location)):
            raise admin_invalid('"location" must be a zone (us-central1-a) or a region '
                                '(us-central1)')
        spec = body.get("cluster")
        if not isinstance(spec, dict):
            raise admin_invalid('"cluster" must be a Cluster object')
        spec = self.normalised(spec, "Cluster", "cluster")
        if not isinstance(spec.get("name"), str) or not NAME_RE.fullmatch(spec["name"]):
            raise admin_invalid('"cluster" needs a valid "name"')
        status = body.get("status", RUNNING)
        if status not in CLUSTER_STATUSES:
            raise admin_invalid(f'"status" must be one of {", ".join(CLUSTER_STATUSES)}')
        pools = spec.pop("nodePools", [])
        with cloud.lock:
            cloud.settle()
            key = (project, location, spec["name"])
            if key in cloud.clusters:
                raise AdminError(409, "ALREADY_EXISTS", f"cluster {spec['name']} exists")
            initial = resolve_version(spec.get("initialClusterVersion"), default_version())
            if initial is None:
                raise admin_invalid(f"unsupported initialClusterVersion "
                                    f"{spec['initialClusterVersion']!r}")
            if spec.get("initialClusterVersion"):
                spec["initialClusterVersion"] = initial
            version = spec.get("currentMasterVersion") or initial
            data = cloud.build_cluster(project, location, spec, version)
            data = merge_patch(data, {k: v for k, v in spec.items()
                                      if k not in ("status", "statusMessage")})
            rec = Cluster(project, location, data, status)
            rec.status_message = spec.get("statusMessage")
            for p in pools:
                self.add_pool(cloud, rec, p)
            cloud.clusters[key] = rec
            return 201, self.state_of(cloud, rec)

    @admin_route("GET", r"/admin/clusters/(?P<location>[^/]+)/(?P<name>[^/]+)")
    def admin_state(self, cloud, query, location, name, **_):
        with cloud.lock:
            cloud.settle()
            return 200, self.state_of(cloud, self.admin_cluster(cloud, query, location, name))

    @admin_route("PATCH", r"/admin/clusters/(?P<location>[^/]+)/(?P<name>[^/]+)")
    def admin_patch(self, cloud, body, query, location, name, **_):
        patch = dict(body)
        status = patch.pop("status", None)
        message = patch.pop("statusMessage", None)
        patch.pop("name", None)
        if "nodePools" in patch:
            raise admin_invalid("change node pools with /admin/clusters/{location}/{name}/"
                                "nodePools/{pool}")
        if status is not None and status not in CLUSTER_STATUSES:
            raise admin_invalid(f'"status" must be one of {", ".join(CLUSTER_STATUSES)}')
        with cloud.lock:
            cloud.settle()
            rec = self.admin_cluster(cloud, query, location, name)
            rec.data = merge_patch(rec.data, patch)
            if status is not None:
                rec.status = status
            if "statusMessage" in body:
                rec.status_message = message
            return 200, self.state_of(cloud, rec)

    @admin_route("DELETE", r"/admin/clusters/(?P<location>[^/]+)/(?P<name>[^/]+)")
    def admin_delete(self, cloud, query, location, name, **_):
        with cloud.lock:
            cloud.settle()
            rec = self.admin_cluster(cloud, query, location, name)
            del cloud.clusters[(rec.project, rec.location, rec.name)]
            if rec.op is not None:
                rec.op.status, rec.op.end = OP_DONE, cloud.now()
                rec.op.error = {"code": 5, "message": "The cluster was deleted."}
                rec.op = None
            return 200, {"deleted": name, "location": location, "project": rec.project}

    @admin_route("POST", r"/admin/clusters/(?P<location>[^/]+)/(?P<name>[^/]+)/nodePools")
    def admin_add_pool(self, cloud, body, query, location, name, **_):
        with cloud.lock:
            cloud.settle()
            rec = self.admin_cluster(cloud, query, location, name)
            return 201, self.add_pool(cloud, rec, body).view()

    @admin_route("PATCH", r"/admin/clusters/(?P<location>[^/]+)/(?P<name>[^/]+)/nodePools/"
                          r"(?P<pool>[^/]+)")
    def admin_patch_pool(self, cloud, body, query, location, name, pool, **_):
        patch = dict(body)
        status = patch.pop("status", None)
        message = patch.pop("statusMessage", None)
        patch.pop("name", None)
        if status is not None and status not in POOL_STATUSES:
            raise admin_invalid(f'"status" must be one of {", ".join(POOL_STATUSES)}')
        with cloud.lock:
            cloud.settle()
            rec = self.admin_cluster(cloud, query, location, name)
            obj = rec.pools.get(pool)
            if obj is None:
                raise AdminError(404, "NOT_FOUND", f"Not found: {rec.resource()}/nodePools/"
                                                   f"{pool}.")
            obj.data = merge_patch(obj.data, patch)
            if status is not None:
                obj.status = status
            if "statusMessage" in body:
                obj.status_message = message
            return 200, obj.view()

    @admin_route("DELETE", r"/admin/clusters/(?P<location>[^/]+)/(?P<name>[^/]+)/nodePools/"
                           r"(?P<pool>[^/]+)")
    def admin_delete_pool(self, cloud, query, location, name, pool, **_):
        with cloud.lock:
            cloud.settle()
            rec = self.admin_cluster(cloud, query, location, name)
            if rec.pools.pop(pool, None) is None:
                raise AdminError(404, "NOT_FOUND", f"Not found: {rec.resource()}/nodePools/"
                                                   f"{pool}.")
            return 200, {"deleted": pool}

    @admin_route("GET", r"/admin/tokens")
    def admin_tokens(self, cloud, **_):
        now = time.time()
        with cloud.lock:
            return 200, {"tokens": [{"access_token": t, "email": i["email"], "scope": i["scope"],
                                     "expiresIn": round(i["expires"] - now, 3)}
                                    for t, i in cloud.tokens.items()]}

    @admin_route("POST", r"/admin/tokens")
    def admin_mint_token(self, cloud, body, **_):
        opts = self.server.opts
        email = body.get("email") or next(iter(opts.accounts))
        scope = body.get("scope", CLOUD_PLATFORM)
        seconds = body.get("seconds", opts.token_seconds)
        if not isinstance(email, str) or not isinstance(scope, str):
            raise admin_invalid('"email" and "scope" must be strings')
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            raise admin_invalid('"seconds" must be a non-negative number')
        with cloud.lock:
            token = cloud.mint_token(email, scope, seconds)
        return 201, {"access_token": token, "expires_in": int(seconds), "token_type": "Bearer"}

    @admin_route("DELETE", r"/admin/tokens")
    def admin_revoke_tokens(self, cloud, **_):
        with cloud.lock:
            n = len(cloud.tokens)
            cloud.tokens = {}
            return 200, {"revoked": n}

Handler.admin_routes = emucore.admin_routes_of(Handler)


def main(argv=None):
    ap = argparse.ArgumentParser(description="hcr's GKE emulator (see docs/gkeemu.md)")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--max-seconds", type=float, default=1800, help="stop after this long")
    ap.add_argument("--service-account", action="append", default=[],
                    metavar="KEYFILE.json|EMAIL:PUBKEY.pem",
                    help="a service account whose JWTs /token accepts (repeatable; default: "
                         "tests/fixtures/gke/service-account.json)")
    ap.add_argument("--project", action="append", default=[],
                    help="a project the API serves (repeatable; default hcr-test-project)")
    ap.add_argument("--token-seconds", type=float, default=3600,
                    help="lifetime of access tokens (real time)")
    ap.add_argument("--create-seconds", type=float, default=300)
    ap.add_argument("--delete-seconds", type=float, default=180)
    ap.add_argument("--op-seconds", type=float, default=60,
                    help="how long every other operation runs")
    ap.add_argument("--rate-per-s", type=float, default=0, help="token bucket; 0 is off")
    ap.add_argument("--link-base", default=None,
                    help="base of selfLink/targetLink URLs (default: this server's URL)")
    ap.add_argument("--legacy-busy-message", action="store_true",
                    help='refuse overlapping operations with the older "Operation X is '
                         'currently ... Please wait and try again once it is done." text')
    ap.add_argument("--verbose", action="store_true", help="log every request to stderr")
    opts = ap.parse_args(argv)
    opts.projects = opts.project or [DEFAULT_PROJECT]
    for p in opts.projects:
        if not PROJECT_RE.fullmatch(p):
            raise SystemExit(f"gkeemu: {p!r} is not a project id")
    opts.accounts = load_service_accounts(opts.service_account or [DEFAULT_KEY_FILE])

    server = emucore.Server(("127.0.0.1", opts.port), Handler)
    base = opts.link_base or f"http://127.0.0.1:{server.server_address[1]}/"
    opts.link_base = base if base.endswith("/") else base + "/"
    server.opts = opts
    server.cloud = Cloud(opts)
    return emucore.serve(server, opts.max_seconds)


# ---- the discovery document's schemas --------------------------------------------------
#
# Every schema reachable from the request bodies of the methods above, from the container
# v1 discovery document (revision 20240722): member -> type. "s" string, "i" int32 (a JSON
# number), "I" int64 (a JSON string), "b" boolean, "n" number, "e:A|B" enum, "[X" list of
# X, "{X" map of X, "any" anything, otherwise the name of a schema.

SCHEMAS = {
    "AcceleratorConfig": {"acceleratorCount": "I", "acceleratorType": "s",
        "gpuDriverInstallationConfig": "GPUDriverInstallationConfig", "gpuPartitionSize": "s",
        "gpuSharingConfig": "GPUSharingConfig"},
    "AdditionalNodeNetworkConfig": {"network": "s", "subnetwork": "s"},
    "AdditionalPodNetworkConfig": {"maxPodsPerNode": "MaxPodsConstraint",
        "secondaryPodRange": "s", "subnetwork": "s"},
    "AdditionalPodRangesConfig": {"podRangeInfo": "[RangeInfo", "podRangeNames": "[s"},
    "AddonsConfig": {"cloudRunConfig": "CloudRunConfig",
        "configConnectorConfig": "ConfigConnectorConfig", "dnsCacheConfig": "DnsCacheConfig",
        "gcePersistentDiskCsiDriverConfig": "GcePersistentDiskCsiDriverConfig",
        "gcpFilestoreCsiDriverConfig": "GcpFilestoreCsiDriverConfig",
        "gcsFuseCsiDriverConfig": "GcsFuseCsiDriverConfig",
        "gkeBackupAgentConfig": "GkeBackupAgentConfig",
        "horizontalPodAutoscaling": "HorizontalPodAutoscaling",
        "httpLoadBalancing": "HttpLoadBalancing", "kubernetesDashboard": "KubernetesDashboard",
        "networkPolicyConfig": "NetworkPolicyConfig", "rayOperatorConfig": "RayOperatorConfig",
        "statefulHaConfig": "StatefulHAConfig"},
    "AdvancedDatapathObservabilityConfig": {"enableMetrics": "b", "enableRelay": "b",
        "relayMode": "e:RELAY_MODE_UNSPECIFIED|DISABLED|INTERNAL_VPC_LB|EXTERNAL_LB"},
    "AdvancedMachineFeatures": {"enableNestedVirtualization": "b", "threadsPerCore": "I"},
    "AuthenticatorGroupsConfig": {"enabled": "b", "securityGroup": "s"},
    "AutoUpgradeOptions": {"autoUpgradeStartTime": "s", "description": "s"},
    "Autopilot": {"enabled": "b", "workloadPolicyConfig": "WorkloadPolicyConfig"},
    "AutoprovisioningNodePoolDefaults": {"bootDiskKmsKey": "s", "diskSizeGb": "i",
        "diskType": "s", "imageType": "s", "insecureKubeletReadonlyPortEnabled": "b",
        "management": "NodeManagement", "minCpuPlatform": "s", "oauthScopes": "[s",
        "serviceAccount": "s", "shieldedInstanceConfig": "ShieldedInstanceConfig",
        "upgradeSettings": "UpgradeSettings"},
    "BestEffortProvisioning": {"enabled": "b", "minProvisionNodes": "i"},
    "BigQueryDestination": {"datasetId": "s"},
    "BinaryAuthorization": {"enabled": "b",
        "evaluationMode": "e:EVALUATION_MODE_UNSPECIFIED|DISABLED|PROJECT_SINGLETON_POLICY_ENFORCE"},
    "BlueGreenInfo": {"blueInstanceGroupUrls": "[s", "bluePoolDeletionStartTime": "s",
        "greenInstanceGroupUrls": "[s", "greenPoolVersion": "s",
        "phase": "e:PHASE_UNSPECIFIED|UPDATE_STARTED|CREATING_GREEN_POOL|CORDONING_BLUE_POOL|DRAINING_BLUE_POOL|NODE_POOL_SOAKING|DELETING_BLUE_POOL|ROLLBACK_STARTED"},
    "BlueGreenSettings": {"nodePoolSoakDuration": "s",
        "standardRolloutPolicy": "StandardRolloutPolicy"},
    "CertificateAuthorityDomainConfig": {"fqdns": "[s",
        "gcpSecretManagerCertificateConfig": "GCPSecretManagerCertificateConfig"},
    "CidrBlock": {"cidrBlock": "s", "displayName": "s"},
    "ClientCertificateConfig": {"issueClientCertificate": "b"},
    "CloudRunConfig": {"disabled": "b",
        "loadBalancerType": "e:LOAD_BALANCER_TYPE_UNSPECIFIED|LOAD_BALANCER_TYPE_EXTERNAL|LOAD_BALANCER_TYPE_INTERNAL"},
    "Cluster": {"addonsConfig": "AddonsConfig",
        "authenticatorGroupsConfig": "AuthenticatorGroupsConfig", "autopilot": "Autopilot",
        "autoscaling": "ClusterAutoscaling", "binaryAuthorization": "BinaryAuthorization",
        "clusterIpv4Cidr": "s", "conditions": "[StatusCondition",
        "confidentialNodes": "ConfidentialNodes", "costManagementConfig": "CostManagementConfig",
        "createTime": "s", "currentMasterVersion": "s", "currentNodeCount": "i",
        "currentNodeVersion": "s", "databaseEncryption": "DatabaseEncryption",
        "defaultMaxPodsConstraint": "MaxPodsConstraint", "description": "s",
        "enableK8sBetaApis": "K8sBetaAPIConfig", "enableKubernetesAlpha": "b", "enableTpu": "b",
        "endpoint": "s", "enterpriseConfig": "EnterpriseConfig", "etag": "s", "expireTime": "s",
        "fleet": "Fleet", "id": "s", "identityServiceConfig": "IdentityServiceConfig",
        "initialClusterVersion": "s", "initialNodeCount": "i", "instanceGroupUrls": "[s",
        "ipAllocationPolicy": "IPAllocationPolicy", "labelFingerprint": "s",
        "legacyAbac": "LegacyAbac", "location": "s", "locations": "[s",
        "loggingConfig": "LoggingConfig", "loggingService": "s",
        "maintenancePolicy": "MaintenancePolicy", "masterAuth": "MasterAuth",
        "masterAuthorizedNetworksConfig": "MasterAuthorizedNetworksConfig",
        "meshCertificates": "MeshCertificates", "monitoringConfig": "MonitoringConfig",
        "monitoringService": "s", "name": "s", "network": "s", "networkConfig": "NetworkConfig",
        "networkPolicy": "NetworkPolicy", "nodeConfig": "NodeConfig", "nodeIpv4CidrSize": "i",
        "nodePoolAutoConfig": "NodePoolAutoConfig", "nodePoolDefaults": "NodePoolDefaults",
        "nodePools": "[NodePool", "notificationConfig": "NotificationConfig",
        "parentProductConfig": "ParentProductConfig",
        "privateClusterConfig": "PrivateClusterConfig", "releaseChannel": "ReleaseChannel",
        "resourceLabels": "{s", "resourceUsageExportConfig": "ResourceUsageExportConfig",
        "satisfiesPzi": "b", "satisfiesPzs": "b",
        "securityPostureConfig": "SecurityPostureConfig", "selfLink": "s",
        "servicesIpv4Cidr": "s", "shieldedNodes": "ShieldedNodes",
        "status": "e:STATUS_UNSPECIFIED|PROVISIONING|RUNNING|RECONCILING|STOPPING|ERROR|DEGRADED",
        "statusMessage": "s", "subnetwork": "s", "tpuIpv4CidrBlock": "s",
        "verticalPodAutoscaling": "VerticalPodAutoscaling",
        "workloadIdentityConfig": "WorkloadIdentityConfig", "zone": "s"},
    "ClusterAutoscaling": {"autoprovisioningLocations": "[s",
        "autoprovisioningNodePoolDefaults": "AutoprovisioningNodePoolDefaults",
        "autoscalingProfile": "e:PROFILE_UNSPECIFIED|OPTIMIZE_UTILIZATION|BALANCED",
        "enableNodeAutoprovisioning": "b", "resourceLimits": "[ResourceLimit"},
    "ClusterNetworkPerformanceConfig": {"totalEgressBandwidthTier": "e:TIER_UNSPECIFIED|TIER_1"},
    "ClusterUpdate": {"additionalPodRangesConfig": "AdditionalPodRangesConfig",
        "desiredAddonsConfig": "AddonsConfig",
        "desiredAuthenticatorGroupsConfig": "AuthenticatorGroupsConfig",
        "desiredAutopilotWorkloadPolicyConfig": "WorkloadPolicyConfig",
        "desiredBinaryAuthorization": "BinaryAuthorization",
        "desiredClusterAutoscaling": "ClusterAutoscaling",
        "desiredContainerdConfig": "ContainerdConfig",
        "desiredCostManagementConfig": "CostManagementConfig",
        "desiredDatabaseEncryption": "DatabaseEncryption",
        "desiredDatapathProvider": "e:DATAPATH_PROVIDER_UNSPECIFIED|LEGACY_DATAPATH|ADVANCED_DATAPATH",
        "desiredDefaultSnatStatus": "DefaultSnatStatus", "desiredDnsConfig": "DNSConfig",
        "desiredEnableCiliumClusterwideNetworkPolicy": "b",
        "desiredEnableFqdnNetworkPolicy": "b", "desiredEnableMultiNetworking": "b",
        "desiredEnablePrivateEndpoint": "b", "desiredFleet": "Fleet",
        "desiredGatewayApiConfig": "GatewayAPIConfig", "desiredGcfsConfig": "GcfsConfig",
        "desiredIdentityServiceConfig": "IdentityServiceConfig", "desiredImageType": "s",
        "desiredInTransitEncryptionConfig": "e:IN_TRANSIT_ENCRYPTION_CONFIG_UNSPECIFIED|IN_TRANSIT_ENCRYPTION_DISABLED|IN_TRANSIT_ENCRYPTION_INTER_NODE_TRANSPARENT",
        "desiredIntraNodeVisibilityConfig": "IntraNodeVisibilityConfig",
        "desiredK8sBetaApis": "K8sBetaAPIConfig",
        "desiredL4ilbSubsettingConfig": "ILBSubsettingConfig", "desiredLocations": "[s",
        "desiredLoggingConfig": "LoggingConfig", "desiredLoggingService": "s",
        "desiredMasterAuthorizedNetworksConfig": "MasterAuthorizedNetworksConfig",
        "desiredMasterVersion": "s", "desiredMeshCertificates": "MeshCertificates",
        "desiredMonitoringConfig": "MonitoringConfig", "desiredMonitoringService": "s",
        "desiredNetworkPerformanceConfig": "ClusterNetworkPerformanceConfig",
        "desiredNodeKubeletConfig": "NodeKubeletConfig",
        "desiredNodePoolAutoConfigKubeletConfig": "NodeKubeletConfig",
        "desiredNodePoolAutoConfigNetworkTags": "NetworkTags",
        "desiredNodePoolAutoConfigResourceManagerTags": "ResourceManagerTags",
        "desiredNodePoolAutoscaling": "NodePoolAutoscaling", "desiredNodePoolId": "s",
        "desiredNodePoolLoggingConfig": "NodePoolLoggingConfig", "desiredNodeVersion": "s",
        "desiredNotificationConfig": "NotificationConfig",
        "desiredParentProductConfig": "ParentProductConfig",
        "desiredPrivateClusterConfig": "PrivateClusterConfig",
        "desiredPrivateIpv6GoogleAccess": "e:PRIVATE_IPV6_GOOGLE_ACCESS_UNSPECIFIED|PRIVATE_IPV6_GOOGLE_ACCESS_DISABLED|PRIVATE_IPV6_GOOGLE_ACCESS_TO_GOOGLE|PRIVATE_IPV6_GOOGLE_ACCESS_BIDIRECTIONAL",
        "desiredReleaseChannel": "ReleaseChannel",
        "desiredResourceUsageExportConfig": "ResourceUsageExportConfig",
        "desiredSecurityPostureConfig": "SecurityPostureConfig",
        "desiredServiceExternalIpsConfig": "ServiceExternalIPsConfig",
        "desiredShieldedNodes": "ShieldedNodes",
        "desiredStackType": "e:STACK_TYPE_UNSPECIFIED|IPV4|IPV4_IPV6",
        "desiredVerticalPodAutoscaling": "VerticalPodAutoscaling",
        "desiredWorkloadIdentityConfig": "WorkloadIdentityConfig",
        "enableK8sBetaApis": "K8sBetaAPIConfig", "etag": "s",
        "removedAdditionalPodRangesConfig": "AdditionalPodRangesConfig"},
    "ConfidentialNodes": {"enabled": "b"},
    "ConfigConnectorConfig": {"enabled": "b"},
    "ConsumptionMeteringConfig": {"enabled": "b"},
    "ContainerdConfig": {"privateRegistryAccessConfig": "PrivateRegistryAccessConfig"},
    "CostManagementConfig": {"enabled": "b"},
    "CreateClusterRequest": {"cluster": "Cluster", "parent": "s", "projectId": "s", "zone": "s"},
    "CreateNodePoolRequest": {"clusterId": "s", "nodePool": "NodePool", "parent": "s",
        "projectId": "s", "zone": "s"},
    "DNSConfig": {"additiveVpcScopeDnsDomain": "s",
        "clusterDns": "e:PROVIDER_UNSPECIFIED|PLATFORM_DEFAULT|CLOUD_DNS|KUBE_DNS",
        "clusterDnsDomain": "s",
        "clusterDnsScope": "e:DNS_SCOPE_UNSPECIFIED|CLUSTER_SCOPE|VPC_SCOPE"},
    "DailyMaintenanceWindow": {"duration": "s", "startTime": "s"},
    "DatabaseEncryption": {"currentState": "e:CURRENT_STATE_UNSPECIFIED|CURRENT_STATE_ENCRYPTED|CURRENT_STATE_DECRYPTED|CURRENT_STATE_ENCRYPTION_PENDING|CURRENT_STATE_ENCRYPTION_ERROR|CURRENT_STATE_DECRYPTION_PENDING|CURRENT_STATE_DECRYPTION_ERROR",
        "decryptionKeys": "[s", "keyName": "s", "lastOperationErrors": "[OperationError",
        "state": "e:UNKNOWN|ENCRYPTED|DECRYPTED"},
    "DefaultSnatStatus": {"disabled": "b"},
    "DnsCacheConfig": {"enabled": "b"},
    "EnterpriseConfig": {"clusterTier": "e:CLUSTER_TIER_UNSPECIFIED|STANDARD|ENTERPRISE"},
    "EphemeralStorageLocalSsdConfig": {"localSsdCount": "i"},
    "FastSocket": {"enabled": "b"},
    "Filter": {"eventType": "[e:EVENT_TYPE_UNSPECIFIED|UPGRADE_AVAILABLE_EVENT|UPGRADE_EVENT|SECURITY_BULLETIN_EVENT"},
    "Fleet": {"membership": "s", "preRegistered": "b", "project": "s"},
    "GCPSecretManagerCertificateConfig": {"secretUri": "s"},
    "GPUDriverInstallationConfig": {"gpuDriverVersion": "e:GPU_DRIVER_VERSION_UNSPECIFIED|INSTALLATION_DISABLED|DEFAULT|LATEST"},
    "GPUSharingConfig": {"gpuSharingStrategy": "e:GPU_SHARING_STRATEGY_UNSPECIFIED|TIME_SHARING|MPS",
        "maxSharedClientsPerGpu": "I"},
    "GatewayAPIConfig": {"channel": "e:CHANNEL_UNSPECIFIED|CHANNEL_DISABLED|CHANNEL_EXPERIMENTAL|CHANNEL_STANDARD"},
    "GcePersistentDiskCsiDriverConfig": {"enabled": "b"},
    "GcfsConfig": {"enabled": "b"},
    "GcpFilestoreCsiDriverConfig": {"enabled": "b"},
    "GcsFuseCsiDriverConfig": {"enabled": "b"},
    "GkeBackupAgentConfig": {"enabled": "b"},
    "HorizontalPodAutoscaling": {"disabled": "b"},
    "HttpLoadBalancing": {"disabled": "b"},
    "HugepagesConfig": {"hugepageSize1g": "i", "hugepageSize2m": "i"},
    "ILBSubsettingConfig": {"enabled": "b"},
    "IPAllocationPolicy": {"additionalPodRangesConfig": "AdditionalPodRangesConfig",
        "clusterIpv4Cidr": "s", "clusterIpv4CidrBlock": "s", "clusterSecondaryRangeName": "s",
        "createSubnetwork": "b", "defaultPodIpv4RangeUtilization": "n",
        "ipv6AccessType": "e:IPV6_ACCESS_TYPE_UNSPECIFIED|INTERNAL|EXTERNAL",
        "nodeIpv4Cidr": "s", "nodeIpv4CidrBlock": "s",
        "podCidrOverprovisionConfig": "PodCIDROverprovisionConfig", "servicesIpv4Cidr": "s",
        "servicesIpv4CidrBlock": "s", "servicesIpv6CidrBlock": "s",
        "servicesSecondaryRangeName": "s",
        "stackType": "e:STACK_TYPE_UNSPECIFIED|IPV4|IPV4_IPV6", "subnetIpv6CidrBlock": "s",
        "subnetworkName": "s", "tpuIpv4CidrBlock": "s", "useIpAliases": "b", "useRoutes": "b"},
    "IdentityServiceConfig": {"enabled": "b"},
    "IntraNodeVisibilityConfig": {"enabled": "b"},
    "K8sBetaAPIConfig": {"enabledApis": "[s"},
    "KubernetesDashboard": {"disabled": "b"},
    "LegacyAbac": {"enabled": "b"},
    "LinuxNodeConfig": {"cgroupMode": "e:CGROUP_MODE_UNSPECIFIED|CGROUP_MODE_V1|CGROUP_MODE_V2",
        "hugepages": "HugepagesConfig", "sysctls": "{s"},
    "LocalNvmeSsdBlockConfig": {"localSsdCount": "i"},
    "LoggingComponentConfig": {"enableComponents": "[e:COMPONENT_UNSPECIFIED|SYSTEM_COMPONENTS|WORKLOADS|APISERVER|SCHEDULER|CONTROLLER_MANAGER"},
    "LoggingConfig": {"componentConfig": "LoggingComponentConfig"},
    "LoggingVariantConfig": {"variant": "e:VARIANT_UNSPECIFIED|DEFAULT|MAX_THROUGHPUT"},
    "MaintenanceExclusionOptions": {"scope": "e:NO_UPGRADES|NO_MINOR_UPGRADES|NO_MINOR_OR_NODE_UPGRADES"},
    "MaintenancePolicy": {"resourceVersion": "s", "window": "MaintenanceWindow"},
    "MaintenanceWindow": {"dailyMaintenanceWindow": "DailyMaintenanceWindow",
        "maintenanceExclusions": "{TimeWindow", "recurringWindow": "RecurringTimeWindow"},
    "ManagedPrometheusConfig": {"enabled": "b"},
    "MasterAuth": {"clientCertificate": "s",
        "clientCertificateConfig": "ClientCertificateConfig", "clientKey": "s",
        "clusterCaCertificate": "s", "password": "s", "username": "s"},
    "MasterAuthorizedNetworksConfig": {"cidrBlocks": "[CidrBlock", "enabled": "b",
        "gcpPublicCidrsAccessEnabled": "b"},
    "MaxPodsConstraint": {"maxPodsPerNode": "I"},
    "MeshCertificates": {"enableCertificates": "b"},
    "MonitoringComponentConfig": {"enableComponents": "[e:COMPONENT_UNSPECIFIED|SYSTEM_COMPONENTS|APISERVER|SCHEDULER|CONTROLLER_MANAGER|STORAGE|HPA|POD|DAEMONSET|DEPLOYMENT|STATEFULSET|CADVISOR|KUBELET|DCGM"},
    "MonitoringConfig": {"advancedDatapathObservabilityConfig": "AdvancedDatapathObservabilityConfig",
        "componentConfig": "MonitoringComponentConfig",
        "managedPrometheusConfig": "ManagedPrometheusConfig"},
    "NetworkConfig": {"datapathProvider": "e:DATAPATH_PROVIDER_UNSPECIFIED|LEGACY_DATAPATH|ADVANCED_DATAPATH",
        "defaultSnatStatus": "DefaultSnatStatus", "dnsConfig": "DNSConfig",
        "enableCiliumClusterwideNetworkPolicy": "b", "enableFqdnNetworkPolicy": "b",
        "enableIntraNodeVisibility": "b", "enableL4ilbSubsetting": "b",
        "enableMultiNetworking": "b", "gatewayApiConfig": "GatewayAPIConfig",
        "inTransitEncryptionConfig": "e:IN_TRANSIT_ENCRYPTION_CONFIG_UNSPECIFIED|IN_TRANSIT_ENCRYPTION_DISABLED|IN_TRANSIT_ENCRYPTION_INTER_NODE_TRANSPARENT",
        "network": "s", "networkPerformanceConfig": "ClusterNetworkPerformanceConfig",
        "privateIpv6GoogleAccess": "e:PRIVATE_IPV6_GOOGLE_ACCESS_UNSPECIFIED|PRIVATE_IPV6_GOOGLE_ACCESS_DISABLED|PRIVATE_IPV6_GOOGLE_ACCESS_TO_GOOGLE|PRIVATE_IPV6_GOOGLE_ACCESS_BIDIRECTIONAL",
        "serviceExternalIpsConfig": "ServiceExternalIPsConfig", "subnetwork": "s"},
    "NetworkPerformanceConfig": {"totalEgressBandwidthTier": "e:TIER_UNSPECIFIED|TIER_1"},
    "NetworkPolicy": {"enabled": "b", "provider": "e:PROVIDER_UNSPECIFIED|CALICO"},
    "NetworkPolicyConfig": {"disabled": "b"},
    "NetworkTags": {"tags": "[s"},
    "NodeAffinity": {"key": "s", "operator": "e:OPERATOR_UNSPECIFIED|IN|NOT_IN", "values": "[s"},
    "NodeConfig": {"accelerators": "[AcceleratorConfig",
        "advancedMachineFeatures": "AdvancedMachineFeatures", "bootDiskKmsKey": "s",
        "confidentialNodes": "ConfidentialNodes", "containerdConfig": "ContainerdConfig",
        "diskSizeGb": "i", "diskType": "s", "enableConfidentialStorage": "b",
        "ephemeralStorageLocalSsdConfig": "EphemeralStorageLocalSsdConfig",
        "fastSocket": "FastSocket", "gcfsConfig": "GcfsConfig", "gvnic": "VirtualNIC",
        "imageType": "s", "kubeletConfig": "NodeKubeletConfig", "labels": "{s",
        "linuxNodeConfig": "LinuxNodeConfig",
        "localNvmeSsdBlockConfig": "LocalNvmeSsdBlockConfig", "localSsdCount": "i",
        "loggingConfig": "NodePoolLoggingConfig", "machineType": "s", "metadata": "{s",
        "minCpuPlatform": "s", "nodeGroup": "s", "oauthScopes": "[s", "preemptible": "b",
        "reservationAffinity": "ReservationAffinity", "resourceLabels": "{s",
        "resourceManagerTags": "ResourceManagerTags", "sandboxConfig": "SandboxConfig",
        "secondaryBootDiskUpdateStrategy": "SecondaryBootDiskUpdateStrategy",
        "secondaryBootDisks": "[SecondaryBootDisk", "serviceAccount": "s",
        "shieldedInstanceConfig": "ShieldedInstanceConfig",
        "soleTenantConfig": "SoleTenantConfig", "spot": "b", "tags": "[s",
        "taints": "[NodeTaint", "windowsNodeConfig": "WindowsNodeConfig",
        "workloadMetadataConfig": "WorkloadMetadataConfig"},
    "NodeConfigDefaults": {"containerdConfig": "ContainerdConfig", "gcfsConfig": "GcfsConfig",
        "loggingConfig": "NodePoolLoggingConfig", "nodeKubeletConfig": "NodeKubeletConfig"},
    "NodeKubeletConfig": {"cpuCfsQuota": "b", "cpuCfsQuotaPeriod": "s", "cpuManagerPolicy": "s",
        "insecureKubeletReadonlyPortEnabled": "b", "podPidsLimit": "I"},
    "NodeLabels": {"labels": "{s"},
    "NodeManagement": {"autoRepair": "b", "autoUpgrade": "b",
        "upgradeOptions": "AutoUpgradeOptions"},
    "NodeNetworkConfig": {"additionalNodeNetworkConfigs": "[AdditionalNodeNetworkConfig",
        "additionalPodNetworkConfigs": "[AdditionalPodNetworkConfig", "createPodRange": "b",
        "enablePrivateNodes": "b", "networkPerformanceConfig": "NetworkPerformanceConfig",
        "podCidrOverprovisionConfig": "PodCIDROverprovisionConfig", "podIpv4CidrBlock": "s",
        "podIpv4RangeUtilization": "n", "podRange": "s"},
    "NodePool": {"autoscaling": "NodePoolAutoscaling",
        "bestEffortProvisioning": "BestEffortProvisioning", "conditions": "[StatusCondition",
        "config": "NodeConfig", "etag": "s", "initialNodeCount": "i", "instanceGroupUrls": "[s",
        "locations": "[s", "management": "NodeManagement",
        "maxPodsConstraint": "MaxPodsConstraint", "name": "s",
        "networkConfig": "NodeNetworkConfig", "placementPolicy": "PlacementPolicy",
        "podIpv4CidrSize": "i", "queuedProvisioning": "QueuedProvisioning", "selfLink": "s",
        "status": "e:STATUS_UNSPECIFIED|PROVISIONING|RUNNING|RUNNING_WITH_ERROR|RECONCILING|STOPPING|ERROR",
        "statusMessage": "s", "updateInfo": "UpdateInfo", "upgradeSettings": "UpgradeSettings",
        "version": "s"},
    "NodePoolAutoConfig": {"networkTags": "NetworkTags",
        "nodeKubeletConfig": "NodeKubeletConfig", "resourceManagerTags": "ResourceManagerTags"},
    "NodePoolAutoscaling": {"autoprovisioned": "b", "enabled": "b",
        "locationPolicy": "e:LOCATION_POLICY_UNSPECIFIED|BALANCED|ANY", "maxNodeCount": "i",
        "minNodeCount": "i", "totalMaxNodeCount": "i", "totalMinNodeCount": "i"},
    "NodePoolDefaults": {"nodeConfigDefaults": "NodeConfigDefaults"},
    "NodePoolLoggingConfig": {"variantConfig": "LoggingVariantConfig"},
    "NodeTaint": {"effect": "e:EFFECT_UNSPECIFIED|NO_SCHEDULE|PREFER_NO_SCHEDULE|NO_EXECUTE",
        "key": "s", "value": "s"},
    "NodeTaints": {"taints": "[NodeTaint"},
    "NotificationConfig": {"pubsub": "PubSub"},
    "OperationError": {"errorMessage": "s", "keyName": "s", "timestamp": "s"},
    "ParentProductConfig": {"labels": "{s", "productName": "s"},
    "PlacementPolicy": {"policyName": "s", "tpuTopology": "s",
        "type": "e:TYPE_UNSPECIFIED|COMPACT"},
    "PodCIDROverprovisionConfig": {"disable": "b"},
    "PrivateClusterConfig": {"enablePrivateEndpoint": "b", "enablePrivateNodes": "b",
        "masterGlobalAccessConfig": "PrivateClusterMasterGlobalAccessConfig",
        "masterIpv4CidrBlock": "s", "peeringName": "s", "privateEndpoint": "s",
        "privateEndpointSubnetwork": "s", "publicEndpoint": "s"},
    "PrivateClusterMasterGlobalAccessConfig": {"enabled": "b"},
    "PrivateRegistryAccessConfig": {"certificateAuthorityDomainConfig": "[CertificateAuthorityDomainConfig",
        "enabled": "b"},
    "PubSub": {"enabled": "b", "filter": "Filter", "topic": "s"},
    "QueuedProvisioning": {"enabled": "b"},
    "RangeInfo": {"rangeName": "s", "utilization": "n"},
    "RayClusterLoggingConfig": {"enabled": "b"},
    "RayClusterMonitoringConfig": {"enabled": "b"},
    "RayOperatorConfig": {"enabled": "b", "rayClusterLoggingConfig": "RayClusterLoggingConfig",
        "rayClusterMonitoringConfig": "RayClusterMonitoringConfig"},
    "RecurringTimeWindow": {"recurrence": "s", "window": "TimeWindow"},
    "ReleaseChannel": {"channel": "e:UNSPECIFIED|RAPID|REGULAR|STABLE|EXTENDED"},
    "ReservationAffinity": {"consumeReservationType": "e:UNSPECIFIED|NO_RESERVATION|ANY_RESERVATION|SPECIFIC_RESERVATION",
        "key": "s", "values": "[s"},
    "ResourceLabels": {"labels": "{s"},
    "ResourceLimit": {"maximum": "I", "minimum": "I", "resourceType": "s"},
    "ResourceManagerTags": {"tags": "{s"},
    "ResourceUsageExportConfig": {"bigqueryDestination": "BigQueryDestination",
        "consumptionMeteringConfig": "ConsumptionMeteringConfig",
        "enableNetworkEgressMetering": "b"},
    "SandboxConfig": {"type": "e:UNSPECIFIED|GVISOR"},
    "SecondaryBootDisk": {"diskImage": "s", "mode": "e:MODE_UNSPECIFIED|CONTAINER_IMAGE_CACHE"},
    "SecondaryBootDiskUpdateStrategy": {},
    "SecurityPostureConfig": {"mode": "e:MODE_UNSPECIFIED|DISABLED|BASIC|ENTERPRISE",
        "vulnerabilityMode": "e:VULNERABILITY_MODE_UNSPECIFIED|VULNERABILITY_DISABLED|VULNERABILITY_BASIC|VULNERABILITY_ENTERPRISE"},
    "ServiceExternalIPsConfig": {"enabled": "b"},
    "SetAddonsConfigRequest": {"addonsConfig": "AddonsConfig", "clusterId": "s", "name": "s",
        "projectId": "s", "zone": "s"},
    "SetLabelsRequest": {"clusterId": "s", "labelFingerprint": "s", "name": "s",
        "projectId": "s", "resourceLabels": "{s", "zone": "s"},
    "SetLocationsRequest": {"clusterId": "s", "locations": "[s", "name": "s", "projectId": "s",
        "zone": "s"},
    "SetLoggingServiceRequest": {"clusterId": "s", "loggingService": "s", "name": "s",
        "projectId": "s", "zone": "s"},
    "SetMaintenancePolicyRequest": {"clusterId": "s", "maintenancePolicy": "MaintenancePolicy",
        "name": "s", "projectId": "s", "zone": "s"},
    "SetMonitoringServiceRequest": {"clusterId": "s", "monitoringService": "s", "name": "s",
        "projectId": "s", "zone": "s"},
    "SetNetworkPolicyRequest": {"clusterId": "s", "name": "s", "networkPolicy": "NetworkPolicy",
        "projectId": "s", "zone": "s"},
    "SetNodePoolAutoscalingRequest": {"autoscaling": "NodePoolAutoscaling", "clusterId": "s",
        "name": "s", "nodePoolId": "s", "projectId": "s", "zone": "s"},
    "SetNodePoolManagementRequest": {"clusterId": "s", "management": "NodeManagement",
        "name": "s", "nodePoolId": "s", "projectId": "s", "zone": "s"},
    "SetNodePoolSizeRequest": {"clusterId": "s", "name": "s", "nodeCount": "i",
        "nodePoolId": "s", "projectId": "s", "zone": "s"},
    "ShieldedInstanceConfig": {"enableIntegrityMonitoring": "b", "enableSecureBoot": "b"},
    "ShieldedNodes": {"enabled": "b"},
    "SoleTenantConfig": {"nodeAffinities": "[NodeAffinity"},
    "StandardRolloutPolicy": {"batchNodeCount": "i", "batchPercentage": "n",
        "batchSoakDuration": "s"},
    "StatefulHAConfig": {"enabled": "b"},
    "StatusCondition": {"canonicalCode": "e:OK|CANCELLED|UNKNOWN|INVALID_ARGUMENT|DEADLINE_EXCEEDED|NOT_FOUND|ALREADY_EXISTS|PERMISSION_DENIED|UNAUTHENTICATED|RESOURCE_EXHAUSTED|FAILED_PRECONDITION|ABORTED|OUT_OF_RANGE|UNIMPLEMENTED|INTERNAL|UNAVAILABLE|DATA_LOSS",
        "code": "e:UNKNOWN|GCE_STOCKOUT|GKE_SERVICE_ACCOUNT_DELETED|GCE_QUOTA_EXCEEDED|SET_BY_OPERATOR|CLOUD_KMS_KEY_ERROR|CA_EXPIRING",
        "message": "s"},
    "TimeWindow": {"endTime": "s", "maintenanceExclusionOptions": "MaintenanceExclusionOptions",
        "startTime": "s"},
    "UpdateClusterRequest": {"clusterId": "s", "name": "s", "projectId": "s",
        "update": "ClusterUpdate", "zone": "s"},
    "UpdateInfo": {"blueGreenInfo": "BlueGreenInfo"},
    "UpdateMasterRequest": {"clusterId": "s", "masterVersion": "s", "name": "s",
        "projectId": "s", "zone": "s"},
    "UpdateNodePoolRequest": {"accelerators": "[AcceleratorConfig", "clusterId": "s",
        "confidentialNodes": "ConfidentialNodes", "containerdConfig": "ContainerdConfig",
        "diskSizeGb": "I", "diskType": "s", "etag": "s", "fastSocket": "FastSocket",
        "gcfsConfig": "GcfsConfig", "gvnic": "VirtualNIC", "imageType": "s",
        "kubeletConfig": "NodeKubeletConfig", "labels": "NodeLabels",
        "linuxNodeConfig": "LinuxNodeConfig", "locations": "[s",
        "loggingConfig": "NodePoolLoggingConfig", "machineType": "s", "name": "s",
        "nodeNetworkConfig": "NodeNetworkConfig", "nodePoolId": "s", "nodeVersion": "s",
        "projectId": "s", "queuedProvisioning": "QueuedProvisioning",
        "resourceLabels": "ResourceLabels", "resourceManagerTags": "ResourceManagerTags",
        "tags": "NetworkTags", "taints": "NodeTaints", "upgradeSettings": "UpgradeSettings",
        "windowsNodeConfig": "WindowsNodeConfig",
        "workloadMetadataConfig": "WorkloadMetadataConfig", "zone": "s"},
    "UpgradeSettings": {"blueGreenSettings": "BlueGreenSettings", "maxSurge": "i",
        "maxUnavailable": "i",
        "strategy": "e:NODE_POOL_UPDATE_STRATEGY_UNSPECIFIED|BLUE_GREEN|SURGE"},
    "VerticalPodAutoscaling": {"enabled": "b"},
    "VirtualNIC": {"enabled": "b"},
    "WindowsNodeConfig": {"osVersion": "e:OS_VERSION_UNSPECIFIED|OS_VERSION_LTSC2019|OS_VERSION_LTSC2022"},
    "WorkloadIdentityConfig": {"workloadPool": "s"},
    "WorkloadMetadataConfig": {"mode": "e:MODE_UNSPECIFIED|GCE_METADATA|GKE_METADATA"},
    "WorkloadPolicyConfig": {"allowNetAdmin": "b"},
}


if __name__ == "__main__":
    sys.exit(main())
