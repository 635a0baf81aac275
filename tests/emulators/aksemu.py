#!/usr/bin/env python3
"""aksemu: an emulator of Azure Resource Manager for AKS (Microsoft.ContainerService,
api-version 2025-10-01) and of the Azure AD client-credentials token endpoint, for hcr's
tests. Standard library only.

    python3 tests/emulators/aksemu.py [--port 0] [--max-seconds 1800]
        [--tenant GUID[:DOMAIN],...] [--client ID:SECRET,...] [--subscription GUID,...]
        [--token-seconds 3600] [--create-seconds 300] [--op-seconds 60]
        [--delete-seconds 120] [--retry-after 10] [--page-size 100] [--rate-per-s 0]
        [--show-changes accept|success] [--verbose]

The first line on stdout is "listening on 127.0.0.1:<port>". The server stops by
itself when the process that started it dies, or after --max-seconds.

Paths, member names and shapes follow the AKS REST API at 2025-10-01; request bodies are
checked against the ARM template schema of that version (the SCHEMA table at the end of
this file, generated from it). Long-running operations run on a test-controlled clock:
wall time plus an offset that POST /admin/clock {"advance": seconds} increases. Token
expiry uses real wall time. docs/aksemu.md describes every route, the admin API, the
clock, the faults and how this differs from the real service.
"""

import argparse
import base64
import copy
import datetime
import hashlib
import hmac
import ipaddress
import json
import math
import os
import re
import sys
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # emucore.py is next to this file
import emucore  # noqa: E402  (the clock, faults, call log and HTTP plumbing of every emulator)
from emucore import admin_route, merge_patch  # noqa: E402

API_VERSION = "2025-10-01"
DEFAULT_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47:contoso.onmicrosoft.com"
DEFAULT_CLIENT = "0f2b1c3d-1111-4222-8333-944455556666:client-secret-value"
DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
NS = "Microsoft.ContainerService"
CLUSTER_TYPE = "Microsoft.ContainerService/ManagedClusters"
POOL_TYPE = "Microsoft.ContainerService/managedClusters/agentPools"
ARM_AUDIENCES = ("https://management.core.windows.net/", "https://management.core.windows.net",
                 "https://management.azure.com/", "https://management.azure.com")
GUID_RE = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
DATE_VERSION_RE = re.compile(r"\d{4}-\d{2}-\d{2}(-preview)?")
CLUSTER_NAME_RE = re.compile(r"^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$")
POOL_NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,11}$")
DNS_PREFIX_RE = re.compile(r"^[a-zA-Z0-9]$|^[a-zA-Z0-9][-a-zA-Z0-9]{0,52}[a-zA-Z0-9]$")
RG_NAME_RE = re.compile(r"^[-\w._()]{1,90}$")
TAINT_RE = re.compile(r"^[^=:\s]+(=[^:\s]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$")
MAX_SURGE_RE = re.compile(r"^[0-9]+%?$")
PENDING_URL = "https://aka.ms/aks-pending-operation"
VERSIONS_URL = "https://aka.ms/aks-supported-k8s-ver"
NAMING_URL = "https://aka.ms/aks-naming-rules"

SUCCEEDED, FAILED, CANCELED = "Succeeded", "Failed", "Canceled"
TERMINAL = (SUCCEEDED, FAILED, CANCELED)
IN_PROGRESS = "InProgress"

# Kubernetes minor versions the emulator accepts (1.28 .. 1.35) and the newest patch of
# each; any patch up to it is accepted. The default for a new cluster is DEFAULT_MINOR.
LATEST_PATCH = {28: 15, 29: 15, 30: 14, 31: 13, 32: 9, 33: 5, 34: 2, 35: 0}
DEFAULT_MINOR = 33
NODE_IMAGE_DATE = "202511.04.0"

# A real self-signed certificate (EC P-256, CN=kubernetes, valid 2020-2119), the same one
# eksemu shows. Its key was thrown away: there is no Kubernetes API server behind a cluster.
CA_PEM = """-----BEGIN CERTIFICATE-----
MIIBXjCCAQOgAwIBAgIBATAKBggqhkjOPQQDAjAVMRMwEQYDVQQDDAprdWJlcm5l
dGVzMCAXDTIwMDEwMTAwMDAwMFoYDzIxMTkxMjMxMDAwMDAwWjAVMRMwEQYDVQQD
DAprdWJlcm5ldGVzMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEK0CLvPViycZo
Iryn1NyANVUr0DiI/51vxcvH1+bgBq2/A0i9Ae4cBJDHhKDXIWAapNJ45pfFCd0e
8baVmEX0y6NCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAqQwHQYD
VR0OBBYEFKlzv+74DB2ZK1hMvk8tPE728dmPMAoGCCqGSM49BAMCA0kAMEYCIQDI
AICNBX8SuF+KHwn7jggdIiDNf9KsXH4kgJrP0ffNvAIhAI2hDtt1DTOGUIusIAkP
YU2eWk1yRpBSMryrygVtoHQh
-----END CERTIFICATE-----
"""
CA_DATA = base64.b64encode(CA_PEM.encode()).decode()

# Add-on names as AKS spells them in answers (requests are matched case-insensitively).
ADDON_NAMES = {n.lower(): n for n in (
    "httpApplicationRouting", "omsagent", "azurepolicy", "ingressApplicationGateway",
    "azureKeyvaultSecretsProvider", "aciConnectorLinux", "kubeDashboard", "openServiceMesh",
    "ACCSGXDevicePlugin", "gitops")}

# Properties that cannot change once set; a PUT that changes one is refused with
# PropertyChangeNotAllowed naming it.
CLUSTER_IMMUTABLE = [
    ("properties", "dnsPrefix"), ("properties", "fqdnSubdomain"),
    ("properties", "nodeResourceGroup"),
    ("properties", "linuxProfile", "adminUsername"),
    ("properties", "windowsProfile", "adminUsername"),
    ("properties", "servicePrincipalProfile", "clientId"),
    ("properties", "networkProfile", "networkPlugin"),
    ("properties", "networkProfile", "podCidr"),
    ("properties", "networkProfile", "serviceCidr"),
    ("properties", "networkProfile", "dnsServiceIP"),
    ("properties", "networkProfile", "outboundType"),
    ("properties", "networkProfile", "loadBalancerSku"),
    ("properties", "apiServerAccessProfile", "enablePrivateCluster"),
    ("properties", "apiServerAccessProfile", "privateDNSZone"),
]
POOL_IMMUTABLE = ["vmSize", "osDiskSizeGB", "osDiskType", "osType", "availabilityZones",
                  "vnetSubnetID", "podSubnetID", "maxPods", "kubeletDiskType", "type",
                  "enableNodePublicIP", "scaleSetPriority", "enableFIPS"]

# The error code a status fault answers with, unless the fault names one.
FAULT_CODES = {400: "InvalidParameter", 401: "AuthenticationFailed", 403: "AuthorizationFailed",
               404: "ResourceNotFound", 409: "OperationNotAllowed", 412: "PreconditionFailed",
               429: "TooManyRequests", 500: "InternalServerError", 502: "BadGateway",
               503: "ServiceUnavailable", 504: "GatewayTimeout"}
TOKEN_FAULT_CODES = {400: "invalid_request", 401: "invalid_client", 429: "temporarily_unavailable",
                     500: "server_error", 503: "temporarily_unavailable"}


class ApiError(Exception):
    """A refused ARM call: {"error": {"code", "message", "target"?, "details"?}}."""

    def __init__(self, status, code, message, target=None, details=None, headers=()):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.target, self.details, self.headers = target, details, list(headers)

    def body(self):
        err = {"code": self.code, "message": self.message}
        if self.target is not None:
            err["target"] = self.target
        if self.details is not None:
            err["details"] = self.details
        return {"error": err}


class AadError(Exception):
    """A refused token request, in Azure AD's shape."""

    def __init__(self, status, error, code, description):
        super().__init__(description)
        self.status, self.error, self.code, self.description = status, error, code, description


def invalid(message, target=None):
    return ApiError(400, "InvalidParameter", message, target)


def invalid_value(path):
    return invalid(f"The value of parameter {path} is invalid. Please see {NAMING_URL} for more "
                   "details.", path)


def not_allowed(message, status=400):
    return ApiError(status, "OperationNotAllowed", message)


def busy_error(what):
    return not_allowed(f"Operation is not allowed: Another {what} is in progress, please wait "
                       f"for it to finish before starting a new operation. See {PENDING_URL} "
                       "for more details", 409)


# ---- small helpers ---------------------------------------------------------------------


def iso(epoch):
    """ARM's timestamps: UTC, seven fractional digits."""
    dt = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def arm_clock(epoch):
    """The M/d/yyyy h:mm:ss tt form ARM uses in token-expiry messages."""
    dt = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    hour = dt.hour % 12 or 12
    return f"{dt.month}/{dt.day}/{dt.year} {hour}:{dt.minute:02d}:{dt.second:02d} " \
           f"{'AM' if dt.hour < 12 else 'PM'}"


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def rand_hex(n):
    return (uuid.uuid4().hex + uuid.uuid4().hex)[:n]


def new_etag():
    return f'"{uuid.uuid4()}"'


def norm_etag(value):
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')


def norm_location(loc):
    return re.sub(r"\s+", "", loc).lower()


def dig(d, path):
    for k in path:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def parse_version(text):
    """'1.31' -> (1, 31, None); '1.31.2' -> (1, 31, 2); anything else -> None."""
    m = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?", text) if isinstance(text, str) else None
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), (int(m.group(3)) if m.group(3) else None)


def vstr(v):
    return f"{v[0]}.{v[1]}.{v[2]}"


def resolve_version(text, current=None):
    """The full version a requested kubernetesVersion/orchestratorVersion means, or None when
    it is not supported. 'major.minor' is the newest patch of that minor, except that the
    same minor as `current` (a full version string) means no change, as the API documents."""
    p = parse_version(text)
    if p is None or p[0] != 1 or p[1] not in LATEST_PATCH:
        return None
    if p[2] is None:
        cur = parse_version(current) if current else None
        if cur is not None and cur[:2] == p[:2]:
            return current
        return vstr((1, p[1], LATEST_PATCH[p[1]]))
    if p[2] > LATEST_PATCH[p[1]]:
        return None
    return vstr(p)


def vtuple(text):
    p = parse_version(text)
    return (p[0], p[1], p[2] or 0) if p else (0, 0, 0)


def available_upgrades(current):
    cur = vtuple(current)
    out = []
    for minor in (cur[1] + 1, cur[1]):
        if minor in LATEST_PATCH:
            for patch in range(LATEST_PATCH[minor], -1, -1):
                if (1, minor, patch) > cur:
                    out.append(f"1.{minor}.{patch}")
    return "[" + " ".join(out) + "]"


def default_dns_prefix(name, rg, sub):
    # What `az aks create` derives when no --dns-name-prefix is given.
    name_part = re.sub(r"[^A-Za-z0-9-]", "", name)[:10] or "aks"
    if not name_part[0].isalpha():
        name_part = ("a" + name_part)[:10]
    rg_part = re.sub(r"[^A-Za-z0-9-]", "", rg)[:16]
    return f"{name_part}-{rg_part}-{sub[:6]}".strip("-")


def node_image(os_sku, os_type):
    if os_type == "Windows":
        return "AKSWindows-2022-containerd-20348.4294.251104"
    if (os_sku or "").startswith("AzureLinux") or os_sku == "CBLMariner":
        return f"AKSAzureLinux-V3gen2-{NODE_IMAGE_DATE}"
    return f"AKSUbuntu-2204gen2containerd-{NODE_IMAGE_DATE}"


# ---- request validation against the ARM template schema ---------------------------------

# Members that answers carry but the template schema does not (read-only): dropped from
# requests without being reported as ignored.
READ_ONLY = {"id", "type", "eTag", "systemData", "provisioningState", "powerState",
             "currentKubernetesVersion", "fqdn", "azurePortalFQDN", "privateFQDN",
             "maxAgentPools", "resourceUID", "currentOrchestratorVersion", "nodeImageVersion",
             "principalId", "tenantId", "clientId", "objectId", "resourceId",
             "effectiveOutboundIPs", "issuerURL", "identity"}

JSON_TYPE = {"s": "String", "i": "Int32", "n": "Double", "b": "Boolean", "a": "List",
             "m": "Dictionary", "o": "Object"}


def _spec_type(spec):
    if isinstance(spec, str):
        return spec if spec in JSON_TYPE or spec == "any" else "ref"
    return spec["t"]


def _deserialize_error(value, spec, path):
    want = JSON_TYPE.get(_spec_type(spec), "Object")
    return ApiError(400, "InvalidRequestContent",
                    "The request content was invalid and could not be deserialized: 'Error "
                    f"converting value {json.dumps(value)[:80]} to type '{want}'. Path "
                    f"'{path}'.'")


def clean(value, spec, path, ignored):
    """Checks a decoded JSON value against the schema; returns a copy without the members
    the schema does not know (their paths are appended to `ignored`, and AKS drops them
    too). JSON null counts as absent. Wrong JSON types are InvalidRequestContent; enum,
    range, pattern and required-member violations are InvalidParameter."""
    if value is None:
        return None
    kind = _spec_type(spec)
    if kind == "any":
        return copy.deepcopy(value)
    if kind == "ref":
        d = SCHEMA[spec]
        if not isinstance(value, dict):
            raise _deserialize_error(value, spec, path)
        out = {}
        for k, v in value.items():
            sub = d["m"].get(k)
            if sub is None:
                if k not in READ_ONLY:
                    ignored.append(f"{path}.{k}" if path else k)
                continue
            if v is not None:
                out[k] = clean(v, sub, f"{path}.{k}" if path else k, ignored)
        for r in d["r"]:
            if out.get(r) is None:
                where = f"{path}.{r}" if path else r
                raise invalid(f"Required parameter {where} is missing (null).", where)
        return out
    opts = spec if isinstance(spec, dict) else {}
    if kind == "s":
        if not isinstance(value, str):
            raise _deserialize_error(value, spec, path)
        if "e" in opts:
            # ARM's deserializer takes enum values in any case; answers spell them as the
            # API does.
            canonical = {e.lower(): e for e in opts["e"]}.get(value.lower())
            if canonical is None:
                raise invalid(f"The value of parameter {path} is invalid: '{value}' is not one "
                              "of " + ", ".join(opts["e"]) + ".", path)
            value = canonical
        if ("lo" in opts and len(value) < opts["lo"]) or ("hi" in opts and len(value) > opts["hi"]) \
                or ("p" in opts and not re.search(opts["p"], value)):
            raise invalid_value(path)
        return value
    if kind in ("i", "n"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                (kind == "i" and not isinstance(value, int)):
            raise _deserialize_error(value, spec, path)
        if ("lo" in opts and value < opts["lo"]) or ("hi" in opts and value > opts["hi"]):
            raise invalid_value(path)
        return value
    if kind == "b":
        if not isinstance(value, bool):
            raise _deserialize_error(value, spec, path)
        return value
    if kind == "a":
        if not isinstance(value, list):
            raise _deserialize_error(value, spec, path)
        item = opts.get("of", "any")
        out = []
        for i, v in enumerate(value):
            if v is None:
                raise invalid_value(f"{path}[{i}]")
            out.append(clean(v, item, f"{path}[{i}]", ignored))
        return out
    if kind == "m":
        if not isinstance(value, dict):
            raise _deserialize_error(value, spec, path)
        item = opts.get("of", "any")
        return {k: clean(v, item, f"{path}.{k}", ignored)
                for k, v in value.items() if v is not None}
    if kind == "o":
        if not isinstance(value, dict):
            raise _deserialize_error(value, spec, path)
        return copy.deepcopy(value)
    raise AssertionError(spec)


def merge_put(old, new, spec, path=""):
    """What a PUT of `new` over the stored `old` leaves, the way AKS treats a PUT: members
    left out (or null) keep their value; objects of the schema merge member by member;
    lists, scalars and maps replace (add-on profiles merge per add-on); identity replaces."""
    if new is None:
        return copy.deepcopy(old)
    kind = _spec_type(spec) if spec is not None else "any"
    if kind == "ref" and isinstance(new, dict) and isinstance(old, dict) \
            and spec not in ("ManagedClusterIdentity",):
        out = copy.deepcopy(old)
        for k, v in new.items():
            if v is None:
                continue
            sub = path + "." + k if path else k
            out[k] = merge_put(old.get(k), v, SCHEMA[spec]["m"].get(k), sub)
        return out
    if path == "properties.addonProfiles" and isinstance(new, dict):
        out = copy.deepcopy(old) if isinstance(old, dict) else {}
        for k, v in canonical_addons(new).items():
            if v is not None:
                out[k] = merge_put(out.get(k), v, "ManagedClusterAddonProfile", path + "." + k)
        return out
    return copy.deepcopy(new)


def canonical_addons(addons):
    out = {}
    for k, v in (addons or {}).items():
        out[ADDON_NAMES.get(k.lower(), k)] = v
    return out


# ---- state -------------------------------------------------------------------------------


class Operation:
    """An ARM long-running operation: its status resource is served at the
    Azure-AsyncOperation URL and its result at the Location URL."""

    def __init__(self, cloud, cluster, pool, kind, seconds, failure):
        self.id = str(uuid.uuid4())
        self.sub, self.location = cluster.sub, cluster.location
        self.cluster_key, self.cluster_name, self.rg = cluster.key, cluster.name, cluster.rg
        self.pool = pool
        self.kind = kind
        self.status = IN_PROGRESS
        self.start = cloud.now()
        self.due = round(self.start + max(0.0, seconds), 3)
        self.end = None
        self.error = None
        self.failure = failure  # armed failure, or None

    def path(self, what="operations"):
        return (f"/subscriptions/{self.sub}/providers/{NS}/locations/{self.location}/"
                f"{what}/{self.id}")

    def finish(self, status, now, error=None):
        self.status, self.end, self.error = status, now, error

    def view(self, now):
        out = {"id": self.path(), "name": self.id, "status": self.status,
               "startTime": iso(self.start)}
        if self.end is not None:
            out["endTime"] = iso(self.end)
        if self.status == IN_PROGRESS:
            span = max(self.due - self.start, 0.001)
            out["percentComplete"] = max(0, min(99, int((now - self.start) * 100 / span)))
        else:
            out["percentComplete"] = 100
        if self.error is not None:
            out["error"] = copy.deepcopy(self.error)
        return out

    def internal(self, now):
        v = self.view(now)
        v.update({"kind": self.kind, "cluster": self.cluster_name, "resourceGroup": self.rg,
                  "agentPool": self.pool, "dueTime": self.due,
                  "armedFailure": copy.deepcopy(self.failure)})
        return v


class Pool:
    """An agent pool. `goal` is what was last accepted, `actual` what last succeeded (both
    the pool's properties without name and read-only state); `current` is the full
    Kubernetes version its nodes run."""

    def __init__(self, name, goal, state, current):
        self.name = name
        self.goal = goal
        self.actual = None
        self.state = state
        self.power = "Running"
        self.current = current
        self.op = None
        self.etag = new_etag()


class Cluster:
    """A managed cluster. `goal`/`actual` hold the resource's stored members (location,
    tags, sku, identity, kind, properties without agentPoolProfiles and read-only state)."""

    def __init__(self, sub, rg, name, goal, state, current, created_by):
        self.sub, self.rg, self.name = sub, rg, name
        self.goal = goal
        self.actual = None
        self.state = state
        self.power = "Running"
        self.current = current
        self.pools = {}  # lower-case name -> Pool, in creation order
        self.op = None  # the running cluster-level Operation
        self.ops = []  # every operation id, oldest first
        self.etag = new_etag()
        self.tokens = {"clusterUser": rand_hex(64), "clusterAdmin": rand_hex(64)}
        self.created_by = created_by
        self.modified_by = created_by

    @property
    def key(self):
        return (self.sub, self.rg.lower(), self.name.lower())

    @property
    def location(self):
        return self.goal["location"]

    def id(self):
        return (f"/subscriptions/{self.sub}/resourcegroups/{self.rg}/providers/{NS}/"
                f"managedClusters/{self.name}")

    def touch(self, who=None):
        self.etag = new_etag()
        if who is not None:
            self.modified_by = who


class Fault(emucore.Fault):
    """An emucore fault with ARM's habits: operation aliases, "*" leaves the token endpoint
    alone, cluster names match in any case, and "retry_after" (seconds) for Retry-After."""

    STAR_SKIPS = "Token"

    def canonical_operation(self, operation):
        return OPERATION_ALIASES.get(operation, operation)

    def check_more(self, spec):
        self.retry_after = spec.get("retry_after")
        if self.retry_after is not None and (not isinstance(self.retry_after, int)
                                             or self.retry_after < 0):
            raise emucore.SpecError('"retry_after" must be a non-negative integer')

    def cluster_matches(self, cluster):
        return (cluster or "").lower() == self.cluster.lower()

    def view(self):
        return {**super().view(), "retry_after": self.retry_after}


class Ctx:
    """One ARM call: what the handler needs and what the call log records."""

    def __init__(self, op, method, path, args, query, body, who, headers, base):
        self.op, self.method, self.path, self.args = op, method, path, args
        self.query, self.body, self.who, self.headers, self.base = query, body, who, headers, base
        self.sub = args["sub"].lower() if args.get("sub") else None
        self.rg = args.get("rg")
        self.cluster = args.get("name")
        self.pool = args.get("pool")
        self.ignored = []
        self.if_match = headers.get("If-Match")
        self.if_none_match = headers.get("If-None-Match")


class Cloud(emucore.Cloud):
    """Every subscription's resource groups and clusters, with the clock, faults and call
    log of emucore.Cloud."""

    def __init__(self, opts):
        self.opts = opts
        self.signing_key = os.urandom(32)
        super().__init__(opts.rate_per_s)

    def reset(self):
        super().reset()
        self.groups = {}  # (sub, rg lower) -> {"name", "location", "id"}
        self.clusters = {}  # (sub, rg lower, name lower) -> Cluster
        self.operations = {}  # id -> Operation
        self.rate_window = {}  # (sub, kind) -> (hour, count)

    def take_fail_next(self, kind, cluster, pool=None):
        for f in self.fail_next:
            if f["kind"] != kind:
                continue
            if f.get("cluster") is not None and f["cluster"].lower() != cluster.lower():
                continue
            if f.get("agentPool") is not None and f["agentPool"] != pool:
                continue
            self.fail_next.remove(f)
            return f
        return None

    def remaining(self, sub, kind):
        """x-ms-ratelimit-remaining-subscription-reads/-writes: 12000 reads and 1200 writes
        per subscription and (real) hour."""
        hour = int(time.time() // 3600)
        h, n = self.rate_window.get((sub, kind), (hour, 0))
        if h != hour:
            n = 0
        n += 1
        self.rate_window[(sub, kind)] = (hour, n)
        return max(0, (12000 if kind == "reads" else 1200) - n)

    # -- lookups --

    def tenant_of(self, sub):
        return self.opts.home_tenant if sub in self.opts.subscriptions else None

    def group(self, sub, rg):
        g = self.groups.get((sub, rg.lower()))
        if g is None:
            raise ApiError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be "
                           "found.")
        return g

    def cluster(self, sub, rg, name):
        g = self.group(sub, rg)
        c = self.clusters.get((sub, g["name"].lower(), name.lower()))
        if c is None:
            raise ApiError(404, "ResourceNotFound",
                           f"The Resource '{NS}/managedClusters/{name}' under resource group "
                           f"'{g['name']}' was not found. For more details please go to "
                           "https://aka.ms/ARMResourceNotFoundFix")
        return c

    @staticmethod
    def pool(c, name):
        p = c.pools.get(name.lower())
        if p is None:
            raise ApiError(404, "NotFound", f"The agent pool '{name}' was not found in the "
                           f"managed cluster '{c.name}'.")
        return p

    # -- views --

    def shown(self, obj):
        """The stored members a GET shows: the goal (AKS records what was asked for at
        once), or with --show-changes success the last succeeded state."""
        if self.opts.show_changes == "success" and obj.actual is not None:
            return obj.actual
        return obj.goal

    def pool_props(self, c, p, source=None):
        base = source if source is not None else self.shown(p)
        props = {"provisioningState": p.state, "powerState": {"code": p.power}}
        for k, v in base.items():
            props[k] = copy.deepcopy(v)
            if k == "orchestratorVersion":
                props["currentOrchestratorVersion"] = p.current
        props.setdefault("currentOrchestratorVersion", p.current)
        props["eTag"] = p.etag
        if props.get("osType") == "Windows":
            props.pop("securityProfile", None)
        return props

    def pool_view(self, c, p, source=None):
        return {"id": f"{c.id()}/agentPools/{p.name}", "name": p.name, "type": POOL_TYPE,
                "properties": self.pool_props(c, p, source)}

    def cluster_view(self, c, goal=False):
        base = c.goal if goal else self.shown(c)
        out = {"id": c.id(), "location": base["location"], "name": c.name, "type": CLUSTER_TYPE}
        if base.get("tags") is not None:
            out["tags"] = copy.deepcopy(base["tags"])
        out["eTag"] = c.etag
        for k in ("kind", "extendedLocation", "sku", "identity"):
            if base.get(k) is not None:
                out[k] = copy.deepcopy(base[k])
        props = {"provisioningState": c.state, "powerState": {"code": c.power}}
        for k, v in base["properties"].items():
            props[k] = copy.deepcopy(v)
            if k == "kubernetesVersion":
                props["currentKubernetesVersion"] = c.current
            if k == "azurePortalFQDN":
                props["agentPoolProfiles"] = [
                    dict({"name": p.name}, **self.pool_props(
                        c, p, p.goal if goal else None)) for p in c.pools.values()]
        props.setdefault("currentKubernetesVersion", c.current)
        props.setdefault("agentPoolProfiles", [
            dict({"name": p.name}, **self.pool_props(c, p, p.goal if goal else None))
            for p in c.pools.values()])
        # Secrets are accepted but never returned.
        for path in (("servicePrincipalProfile", "secret"), ("windowsProfile", "adminPassword"),
                     ("aadProfile", "serverAppSecret")):
            holder = dig(props, path[:-1])
            if isinstance(holder, dict):
                holder.pop(path[-1], None)
        out["properties"] = props
        out["systemData"] = {
            "createdBy": c.created_by[0], "createdByType": c.created_by[1],
            "createdAt": iso(c.created_by[2]), "lastModifiedBy": c.modified_by[0],
            "lastModifiedByType": c.modified_by[1], "lastModifiedAt": iso(c.modified_by[2])}
        return out

    # -- building --

    def build_cluster(self, sub, rg, name, body):
        """The stored members of a new cluster: the request's members plus what AKS fills in."""
        loc = norm_location(body["location"])
        props = body.get("properties") or {}
        home = self.opts.home_tenant
        h = rand_hex(8)
        goal = {"location": loc}
        if body.get("tags") is not None:
            goal["tags"] = dict(body["tags"])
        goal["kind"] = body.get("kind") or "Base"
        if body.get("extendedLocation") is not None:
            goal["extendedLocation"] = copy.deepcopy(body["extendedLocation"])
        goal["sku"] = merge_put({"name": "Base", "tier": "Free"}, body.get("sku"),
                                "ManagedClusterSKU")
        sp = props.get("servicePrincipalProfile")
        identity = copy.deepcopy(body.get("identity"))
        if identity is None and sp is None:
            identity = {"type": "SystemAssigned"}
        if identity is not None:
            goal["identity"] = self.fill_identity(identity)
        p = {}
        version = props.get("kubernetesVersion") or vstr((1, DEFAULT_MINOR,
                                                           LATEST_PATCH[DEFAULT_MINOR]))
        p["kubernetesVersion"] = version
        dns = props.get("dnsPrefix")
        if dns is None and props.get("fqdnSubdomain") is None:
            dns = default_dns_prefix(name, rg, sub)
        if dns is not None:
            p["dnsPrefix"] = dns
        else:
            p["fqdnSubdomain"] = props["fqdnSubdomain"]
        host = f"{dns or props['fqdnSubdomain']}-{h}"
        api = copy.deepcopy(props.get("apiServerAccessProfile"))
        private = bool((api or {}).get("enablePrivateCluster"))
        if not private or (api or {}).get("enablePrivateClusterPublicFQDN", True):
            p["fqdn"] = f"{host}.hcp.{loc}.azmk8s.io"
        p["azurePortalFQDN"] = f"{host}.portal.hcp.{loc}.azmk8s.io"
        if private:
            p["privateFQDN"] = f"{host}.{uuid.uuid4()}.privatelink.{loc}.azmk8s.io"
        node_rg = props.get("nodeResourceGroup") or f"MC_{rg}_{name}_{loc}"
        for k in ("linuxProfile", "windowsProfile"):
            if props.get(k) is not None:
                p[k] = copy.deepcopy(props[k])
        p["servicePrincipalProfile"] = copy.deepcopy(sp) if sp is not None else {"clientId": "msi"}
        if props.get("addonProfiles") is not None:
            p["addonProfiles"] = {k: self.fill_addon(k, v, sub, node_rg) for k, v in
                                  canonical_addons(props["addonProfiles"]).items()}
        p["nodeResourceGroup"] = node_rg
        p["enableRBAC"] = props.get("enableRBAC", True)
        p["supportPlan"] = props.get("supportPlan") or "KubernetesOfficial"
        p["networkProfile"] = self.fill_network(props.get("networkProfile") or {}, sub, node_rg)
        p["maxAgentPools"] = 100
        if api is not None:
            if private:
                api.setdefault("privateDNSZone", "system")
                api.setdefault("enablePrivateClusterPublicFQDN", True)
            p["apiServerAccessProfile"] = api
        if props.get("identityProfile") is not None:
            p["identityProfile"] = copy.deepcopy(props["identityProfile"])
        elif identity is not None and identity.get("type") != "None":
            p["identityProfile"] = {"kubeletidentity": {
                "resourceId": f"/subscriptions/{sub}/resourcegroups/{node_rg}/providers/"
                              f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}-agentpool",
                "clientId": str(uuid.uuid4()), "objectId": str(uuid.uuid4())}}
        p["autoUpgradeProfile"] = merge_put({"nodeOSUpgradeChannel": "NodeImage"},
                                            props.get("autoUpgradeProfile"),
                                            "ManagedClusterAutoUpgradeProfile")
        p["disableLocalAccounts"] = props.get("disableLocalAccounts", False)
        p["securityProfile"] = copy.deepcopy(props.get("securityProfile") or {})
        p["storageProfile"] = merge_put(
            {"diskCSIDriver": {"enabled": True}, "fileCSIDriver": {"enabled": True},
             "snapshotController": {"enabled": True}}, props.get("storageProfile"),
            "ManagedClusterStorageProfile")
        oidc = merge_put({"enabled": False}, props.get("oidcIssuerProfile"),
                         "ManagedClusterOidcIssuerProfile")
        if oidc.get("enabled"):
            oidc["issuerURL"] = f"https://{loc}.oic.prod-aks.azure.com/{home}/{uuid.uuid4()}/"
        p["oidcIssuerProfile"] = oidc
        p["workloadAutoScalerProfile"] = copy.deepcopy(props.get("workloadAutoScalerProfile")
                                                       or {})
        p["resourceUID"] = rand_hex(24)
        for k, v in props.items():  # every other member of the schema, as given
            if k not in p and k not in ("agentPoolProfiles", "status", "powerState") \
                    and v is not None:
                p[k] = copy.deepcopy(v)
        goal["properties"] = p
        return goal

    def fill_identity(self, identity):
        identity = copy.deepcopy(identity)
        if identity.get("type") == "SystemAssigned":
            identity["principalId"] = str(uuid.uuid4())
            identity["tenantId"] = self.opts.home_tenant
        elif identity.get("type") == "UserAssigned":
            identity["userAssignedIdentities"] = {
                k: {"principalId": str(uuid.uuid4()), "clientId": str(uuid.uuid4())}
                for k in (identity.get("userAssignedIdentities") or {})}
        return identity

    def fill_addon(self, name, addon, sub, node_rg):
        addon = copy.deepcopy(addon)
        if addon.get("enabled") and name in ("omsagent", "azureKeyvaultSecretsProvider",
                                             "azurepolicy", "ingressApplicationGateway"):
            addon.setdefault("identity", {
                "resourceId": f"/subscriptions/{sub}/resourcegroups/{node_rg}/providers/"
                              f"Microsoft.ManagedIdentity/userAssignedIdentities/"
                              f"{name.lower()}-identity",
                "clientId": str(uuid.uuid4()), "objectId": str(uuid.uuid4())})
        if addon.get("enabled") and name == "httpApplicationRouting":
            addon.setdefault("config", {})
            addon["config"].setdefault("HTTPApplicationRoutingZoneName",
                                       f"{rand_hex(20)}.{node_rg.split('_')[-1]}.aksapp.io")
        return addon

    @staticmethod
    def fill_network(given, sub, node_rg):
        net = {}
        plugin = given.get("networkPlugin")
        mode = given.get("networkPluginMode")
        if plugin is None:
            plugin = "azure"
            mode = mode or "overlay"
        net["networkPlugin"] = plugin
        if mode is not None:
            net["networkPluginMode"] = mode
        if given.get("networkPolicy") is not None:
            net["networkPolicy"] = given["networkPolicy"]
        net["networkDataplane"] = given.get("networkDataplane") or "azure"
        if plugin == "kubenet" or mode == "overlay":
            net["podCidr"] = given.get("podCidr") or "10.244.0.0/16"
            net["podCidrs"] = given.get("podCidrs") or [net["podCidr"]]
        net["serviceCidr"] = given.get("serviceCidr") or "10.0.0.0/16"
        net["dnsServiceIP"] = given.get("dnsServiceIP") or "10.0.0.10"
        net["serviceCidrs"] = given.get("serviceCidrs") or [net["serviceCidr"]]
        net["outboundType"] = given.get("outboundType") or "loadBalancer"
        net["loadBalancerSku"] = given.get("loadBalancerSku") or "standard"
        if net["outboundType"] == "loadBalancer":
            net["loadBalancerProfile"] = merge_put(
                {"managedOutboundIPs": {"count": 1},
                 "effectiveOutboundIPs": [{
                     "id": f"/subscriptions/{sub}/resourceGroups/{node_rg}/providers/"
                           f"Microsoft.Network/publicIPAddresses/{uuid.uuid4()}"}],
                 "backendPoolType": "NodeIPConfiguration"},
                given.get("loadBalancerProfile"), "ManagedClusterLoadBalancerProfile")
        net["ipFamilies"] = given.get("ipFamilies") or ["IPv4"]
        for k, v in given.items():
            if k not in net and v is not None:
                net[k] = copy.deepcopy(v)
        return net

    @staticmethod
    def build_pool(c_goal, current_cp, profile, default_mode):
        """The stored properties of a new agent pool (no name): the request plus defaults."""
        os_type = profile.get("osType") or "Linux"
        net = c_goal["properties"].get("networkProfile") or {}
        if net.get("networkPlugin") == "azure" and net.get("networkPluginMode") != "overlay":
            default_pods = 30
        elif net.get("networkPlugin") == "kubenet":
            default_pods = 110
        else:
            default_pods = 250
        autoscale = bool(profile.get("enableAutoScaling"))
        os_sku = profile.get("osSKU") or ("Ubuntu" if os_type == "Linux" else "Windows2022")
        p = {"count": profile["count"] if profile.get("count") is not None else 1,
             "vmSize": profile.get("vmSize") or "Standard_DS2_v2",
             "osDiskSizeGB": profile.get("osDiskSizeGB") or 128,
             "osDiskType": profile.get("osDiskType") or "Managed",
             "kubeletDiskType": profile.get("kubeletDiskType") or "OS",
             "maxPods": profile.get("maxPods") or default_pods,
             "type": profile.get("type") or "VirtualMachineScaleSets"}
        if profile.get("availabilityZones") is not None:
            p["availabilityZones"] = list(profile["availabilityZones"])
        p["enableAutoScaling"] = autoscale
        if autoscale:
            p["minCount"] = profile.get("minCount")
            p["maxCount"] = profile.get("maxCount")
        p["scaleDownMode"] = profile.get("scaleDownMode") or "Delete"
        p["orchestratorVersion"] = profile.get("orchestratorVersion") or current_cp
        p["enableNodePublicIP"] = profile.get("enableNodePublicIP", False)
        p["mode"] = profile.get("mode") or default_mode
        p["enableEncryptionAtHost"] = profile.get("enableEncryptionAtHost", False)
        p["enableUltraSSD"] = profile.get("enableUltraSSD", False)
        p["osType"] = os_type
        p["osSKU"] = os_sku
        p["nodeImageVersion"] = node_image(os_sku, os_type)
        p["upgradeSettings"] = merge_put({"maxSurge": "10%"}, profile.get("upgradeSettings"),
                                         "AgentPoolUpgradeSettings")
        p["enableFIPS"] = profile.get("enableFIPS", False)
        if os_type == "Linux":
            p["securityProfile"] = merge_put({"enableVTPM": False, "enableSecureBoot": False},
                                             profile.get("securityProfile"),
                                             "AgentPoolSecurityProfile")
        for k, v in profile.items():
            if k not in p and k not in ("name", "powerState", "status") and v is not None:
                p[k] = copy.deepcopy(v)
        return p

    # -- checks shared by PUTs --

    def check_pool(self, name, props, where="agentPoolProfile"):
        """Rules for one pool's final properties (after defaults or merge)."""
        if not POOL_NAME_RE.search(name):
            raise invalid(f"The value of parameter {where}.name is invalid: '{name}'. Agent pool "
                          "names must start with a lowercase letter and have at most 12 "
                          f"lowercase letters and digits. Please see {NAMING_URL} for more "
                          "details.", f"{where}.name")
        if props.get("osType") == "Windows":
            if len(name) > 6:
                raise invalid(f"Windows agent pool name '{name}' can not be longer than 6 "
                              "characters.", f"{where}.name")
            if props.get("mode") == "System":
                raise invalid("Windows agent pools cannot be system pools.", f"{where}.mode")
        system = props.get("mode") == "System"
        lo = 1 if system else 0
        count = props.get("count")
        if count is not None and not lo <= count <= 1000:
            raise invalid_value(f"{where}.count")
        if props.get("enableAutoScaling"):
            mn, mx = props.get("minCount"), props.get("maxCount")
            for k, v in (("minCount", mn), ("maxCount", mx)):
                if v is None:
                    raise invalid(f"Required parameter {where}.{k} is missing (null): it is "
                                  "needed when enableAutoScaling is true.", f"{where}.{k}")
                if not lo <= v <= 1000:
                    raise invalid_value(f"{where}.{k}")
            if mn > mx:
                raise invalid(f"{where}.minCount was {mn}. It must be less than or equal to "
                              f"maxCount:{mx}.", f"{where}.minCount")
            if count is not None and not mn <= count <= mx:
                raise invalid(f"{where}.count was {count}. It must be greater or equal to "
                              f"minCount:{mn} and less than or equal to maxCount:{mx}.",
                              f"{where}.count")
        for i, t in enumerate(props.get("nodeTaints") or []):
            if not TAINT_RE.search(t):
                raise invalid(f"The value of parameter {where}.nodeTaints[{i}] is invalid: "
                              f"'{t}'. A taint is key=value:Effect with Effect NoSchedule, "
                              "PreferNoSchedule or NoExecute.", f"{where}.nodeTaints")
        surge = (props.get("upgradeSettings") or {}).get("maxSurge")
        if surge is not None and not MAX_SURGE_RE.search(surge):
            raise invalid_value(f"{where}.upgradeSettings.maxSurge")
        pv = props.get("orchestratorVersion")
        if pv is not None and resolve_version(pv) is None:
            raise ApiError(400, "K8sVersionNotSupported",
                           f"Version {pv} is not supported in this region. Please see "
                           f"{VERSIONS_URL} for version details.", f"{where}.orchestratorVersion")

    @staticmethod
    def check_pool_vs_cp(name, pool_version, cp_version):
        pv, cv = vtuple(pool_version), vtuple(cp_version)
        if pv[:2] > cv[:2] or pv > cv:
            raise ApiError(400, "NodePoolMcVersionIncompatible",
                           f"Node pool {name} version {pool_version} and control plane version "
                           f"{cp_version} are incompatible. The node pool version cannot be "
                           "greater than the control plane's version.")
        if cv[1] - pv[1] > 3:
            raise ApiError(400, "NodePoolMcVersionIncompatible",
                           f"Node pool {name} version {pool_version} and control plane version "
                           f"{cp_version} are incompatible. Minor version of node pool cannot "
                           "be more than 3 versions less than control plane's version.")

    @staticmethod
    def check_upgrade(current, target, pool=None):
        """Refuses downgrades and skipped minor versions, with AKS's texts."""
        cur, new = vtuple(current), vtuple(target)
        if new < cur:
            if pool:
                raise not_allowed(f"Downgrading agent pool {pool} version {current} to {target} "
                                  "is not allowed.")
            raise not_allowed(f"Downgrading Kubernetes version {current} to {target} is not "
                              f"allowed. Available upgrades: {available_upgrades(current)}. "
                              f"Please see {VERSIONS_URL} for version details.")
        if pool is None and new[1] > cur[1] + 1:
            raise not_allowed(f"Upgrading Kubernetes version {current} to {target} is not "
                              f"allowed. Available upgrades: {available_upgrades(current)}. "
                              f"Please see {VERSIONS_URL} for version details.")

    # -- operations --

    def start(self, c, pool, kind, seconds, failure, on_success, on_failure=None):
        op = Operation(self, c, pool, kind, seconds, failure)
        self.operations[op.id] = op
        c.ops.append(op.id)

        def done(t):
            if op.status != IN_PROGRESS:
                return
            if self.clusters.get(c.key) is not c and kind != "delete":
                return
            if failure is not None:
                op.finish(FAILED, t, {
                    "code": failure.get("code") or "InternalOperationError",
                    "message": failure.get("message")
                    or "The operation failed (injected by the emulator)."})
                if on_failure is not None:
                    on_failure(t)
            else:
                op.finish(SUCCEEDED, t)
                on_success(t)
        self.schedule_at(op.due, done)
        return op

    def cancel(self, op, reason):
        if op is not None and op.status == IN_PROGRESS:
            op.finish(CANCELED, self.now(), {"code": "OperationCanceled", "message": reason})

    def lro_headers(self, ctx, op, location=False):
        q = f"?api-version={API_VERSION}"
        h = [("Azure-AsyncOperation", ctx.base + op.path() + q),
             ("Retry-After", str(self.opts.retry_after))]
        if location:
            h.append(("Location", ctx.base + op.path("operationresults") + q))
        return h


# ---- the ARM operations ------------------------------------------------------------------


def subscription_or_404(cloud, ctx):
    if ctx.sub not in cloud.opts.subscriptions:
        raise ApiError(404, "SubscriptionNotFound", f"The subscription '{ctx.sub}' could not "
                       "be found.")
    return ctx.sub


def check_preconditions(ctx, etag):
    """If-Match / If-None-Match against a resource's eTag (None: it does not exist)."""
    if ctx.if_match is not None:
        wanted = [norm_etag(x) for x in ctx.if_match.split(",") if x.strip()]
        ok = etag is not None and ("*" in wanted or norm_etag(etag) in wanted)
        if not ok:
            raise ApiError(412, "PreconditionFailed",
                           f"The eTag in the If-Match header ({ctx.if_match}) does not match the "
                           f"resource's current eTag ({etag if etag else 'the resource does not exist'}).")
    if ctx.if_none_match is not None and etag is not None:
        wanted = [norm_etag(x) for x in ctx.if_none_match.split(",") if x.strip()]
        if "*" in wanted or norm_etag(etag) in wanted:
            raise ApiError(412, "PreconditionFailed",
                           "The resource already exists and the If-None-Match header "
                           f"({ctx.if_none_match}) does not allow overwriting it.")


def cluster_busy(c):
    if c.state not in TERMINAL:
        raise busy_error(f"operation ({c.state})")


def pool_busy(p):
    if p.state not in TERMINAL:
        raise busy_error(f"agentpool operation ({p.name} - {p.state})")


def who_of(ctx):
    return (ctx.who.get("appid") or "unknown", "Application", None)


def stamp(cloud, who):
    return (who[0], who[1], cloud.now())


def page(cloud, ctx, items, key):
    """A page of `items` after the $skipToken, and the nextLink of the next page."""
    size = max(1, int(cloud.opts.page_size))
    start = 0
    token = ctx.query.get("$skipToken", [None])[0]
    if token:
        try:
            after = json.loads(unb64url(token).decode())["after"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise invalid("The $skipToken is invalid.", "$skipToken")
        keys = [key(i) for i in items]
        start = next((i for i, k in enumerate(keys) if k > after), len(items))
    chunk = items[start:start + size]
    out = {"value": chunk}
    if start + size < len(items):
        nxt = b64url(json.dumps({"after": key(chunk[-1])}).encode())
        out["nextLink"] = (f"{ctx.base}{ctx.path.rstrip('/')}?api-version={API_VERSION}"
                           f"&$skipToken={nxt}")
    return out


def list_key(view):
    return view["id"].lower()


def op_get_subscription(cloud, ctx):
    sub = subscription_or_404(cloud, ctx)
    return 200, {"id": f"/subscriptions/{sub}", "authorizationSource": "RoleBased",
                 "managedByTenants": [], "subscriptionId": sub,
                 "tenantId": cloud.opts.home_tenant, "displayName": "hcr test subscription",
                 "state": "Enabled",
                 "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01",
                                          "quotaId": "PayAsYouGo_2014-09-01",
                                          "spendingLimit": "Off"}}, []


def op_get_group(cloud, ctx):
    subscription_or_404(cloud, ctx)
    g = cloud.group(ctx.sub, ctx.rg)
    return 200, {"id": g["id"], "name": g["name"], "type": "Microsoft.Resources/resourceGroups",
                 "location": g["location"], "properties": {"provisioningState": SUCCEEDED}}, []


def op_list_clusters(cloud, ctx):
    subscription_or_404(cloud, ctx)
    views = [cloud.cluster_view(c) for c in cloud.clusters.values() if c.sub == ctx.sub]
    return 200, page(cloud, ctx, sorted(views, key=list_key), list_key), []


def op_list_clusters_rg(cloud, ctx):
    subscription_or_404(cloud, ctx)
    g = cloud.group(ctx.sub, ctx.rg)
    views = [cloud.cluster_view(c) for c in cloud.clusters.values()
             if c.sub == ctx.sub and c.rg.lower() == g["name"].lower()]
    return 200, page(cloud, ctx, sorted(views, key=list_key), list_key), []


def op_get_cluster(cloud, ctx):
    subscription_or_404(cloud, ctx)
    c = cloud.cluster(ctx.sub, ctx.rg, ctx.cluster)
    ctx.cluster = c.name
    return 200, cloud.cluster_view(c), [("ETag", c.etag)]


def validated_body(ctx, spec):
    if not isinstance(ctx.body, dict):
        raise ApiError(400, "InvalidRequestContent", "The request content was invalid and "
                       "could not be deserialized: the body must be a JSON object.")
    return clean(ctx.body, spec, "", ctx.ignored)


def op_put_cluster(cloud, ctx):
    subscription_or_404(cloud, ctx)
    g = cloud.group(ctx.sub, ctx.rg)
    if not CLUSTER_NAME_RE.search(ctx.cluster):
        raise invalid_value("resourceName")
    body = validated_body(ctx, "managedClusters")
    c = cloud.clusters.get((ctx.sub, g["name"].lower(), ctx.cluster.lower()))
    check_preconditions(ctx, c.etag if c else None)
    if c is None:
        return create_cluster(cloud, ctx, g, body)
    ctx.cluster = c.name
    return update_cluster(cloud, ctx, c, body)


def create_cluster(cloud, ctx, g, body):
    if body.get("location") is None:
        raise ApiError(400, "LocationRequired", "The location property is required for this "
                       "definition.")
    props = body.get("properties") or {}
    check_cluster_props(props)
    version = props.get("kubernetesVersion")
    if version is not None and resolve_version(version) is None:
        raise ApiError(400, "K8sVersionNotSupported",
                       f"Version {version} is not supported in this region. Please see "
                       f"{VERSIONS_URL} for version details.", "properties.kubernetesVersion")
    profiles = props.get("agentPoolProfiles") or []
    names = [p["name"] for p in profiles]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise invalid(f"Agent pool name {dupes[0]} is used more than once.",
                      "properties.agentPoolProfiles")
    if len(profiles) > 100:
        raise invalid("A managed cluster can have at most 100 agent pools.",
                      "properties.agentPoolProfiles")
    who = who_of(ctx)
    goal = cloud.build_cluster(ctx.sub, g["name"], ctx.cluster, body)
    current = resolve_version(goal["properties"]["kubernetesVersion"])
    pools = []
    for prof in profiles:
        pp = cloud.build_pool(goal, current, prof, "User")
        cloud.check_pool(prof["name"], pp)
        cloud.check_pool_vs_cp(prof["name"], resolve_version(pp["orchestratorVersion"],
                                                             current) or current, current)
        pools.append((prof["name"], pp))
    if not any(pp["mode"] == "System" for _, pp in pools):
        raise ApiError(400, "MustDefineAtLeastOneSystemPool", "Must define at least one system "
                       "pool.")
    c = Cluster(ctx.sub, g["name"], ctx.cluster, goal, "Creating", current, stamp(cloud, who))
    for name, pp in pools:
        c.pools[name] = Pool(name, pp, "Creating",
                             resolve_version(pp["orchestratorVersion"], current) or current)
    cloud.clusters[c.key] = c
    failure = cloud.take_fail_next("create", c.name)

    def ok(t):
        c.state = SUCCEEDED
        c.actual = copy.deepcopy(c.goal)
        for p in c.pools.values():
            p.state, p.actual = SUCCEEDED, copy.deepcopy(p.goal)
            p.etag = new_etag()
        c.touch()

    def failed(t):
        c.state = FAILED
        for p in c.pools.values():
            p.state = FAILED
        c.touch()
    c.op = cloud.start(c, None, "create", cloud.opts.create_seconds, failure, ok, failed)
    return 201, cloud.cluster_view(c, goal=True), cloud.lro_headers(ctx, c.op) + [
        ("ETag", c.etag)]


def check_cluster_props(props):
    dns = props.get("dnsPrefix")
    if dns is not None and not DNS_PREFIX_RE.search(dns):
        raise invalid_value("properties.dnsPrefix")
    net = props.get("networkProfile") or {}
    if net.get("serviceCidr") and net.get("dnsServiceIP"):
        try:
            inside = ipaddress.ip_address(net["dnsServiceIP"]) in ipaddress.ip_network(
                net["serviceCidr"], strict=False)
        except ValueError:
            inside = False
        if not inside:
            raise invalid(f"The value of parameter networkProfile.dnsServiceIP is invalid: "
                          f"{net['dnsServiceIP']} is not within serviceCidr {net['serviceCidr']}.",
                          "properties.networkProfile.dnsServiceIP")


def check_immutables(old, new):
    if norm_location(new["location"]) != norm_location(old["location"]):
        raise ApiError(400, "InvalidResourceLocation", "The resource already exists in "
                       f"location '{old['location']}' in resource group. A resource with the "
                       f"same name cannot be created in location '{new['location']}'. Please "
                       "select a new resource name.")
    for path in CLUSTER_IMMUTABLE:
        a, b = dig(old, path), dig(new, path)
        if a != b and b is not None:
            name = ".".join(path[1:])
            raise ApiError(400, "PropertyChangeNotAllowed",
                           f"Changing property '{name}' is not allowed.", name)


def pool_change_label(old, new, old_current, new_current, old_power, new_power):
    if new_power is not None and new_power != old_power:
        return "Stopping" if new_power == "Stopped" else "Starting"
    if old_current != new_current:
        return "Upgrading"
    if old.get("count") != new.get("count") and \
            {k: v for k, v in old.items() if k != "count"} == \
            {k: v for k, v in new.items() if k != "count"}:
        return "Scaling"
    return "Updating"


def merge_pool(cloud, c, p, profile, where):
    """A pool's properties after a PUT of `profile` over it, checked; its new version; and
    the power state asked for (None: unchanged)."""
    old = p.goal
    new = merge_put(old, {k: v for k, v in profile.items() if k not in ("name", "status")},
                    "ManagedClusterAgentPoolProfileProperties")
    power = (new.pop("powerState", None) or {}).get("code")
    if not new.get("enableAutoScaling"):
        new.pop("minCount", None)
        new.pop("maxCount", None)
    for f in POOL_IMMUTABLE:
        a, b = old.get(f), new.get(f)
        if f == "availabilityZones" and a is not None and b is not None:
            a, b = sorted(a), sorted(b)
        if a != b and profile.get(f) is not None:
            raise ApiError(400, "PropertyChangeNotAllowed",
                           f"Changing property '{where}.{f}' is not allowed.", f"{where}.{f}")
    cloud.check_pool(p.name, new, where)
    target = resolve_version(new["orchestratorVersion"], p.current)
    if target is None:
        raise ApiError(400, "K8sVersionNotSupported",
                       f"Version {new['orchestratorVersion']} is not supported in this region. "
                       f"Please see {VERSIONS_URL} for version details.",
                       f"{where}.orchestratorVersion")
    if target != p.current:
        cloud.check_upgrade(p.current, target, pool=p.name)
    return new, target, power


def update_cluster(cloud, ctx, c, body):
    if c.state == "Deleting":
        raise busy_error(f"operation ({c.state})")
    cluster_busy(c)
    for p in c.pools.values():
        pool_busy(p)
    if body.get("location") is None:
        raise ApiError(400, "LocationRequired", "The location property is required for this "
                       "definition.")
    props = body.get("properties") or {}
    check_cluster_props(props)
    profiles = props.get("agentPoolProfiles")
    top = {k: v for k, v in body.items() if k != "properties"}
    top["properties"] = {k: v for k, v in props.items() if k != "agentPoolProfiles"}
    new = merge_put(c.goal, top, "managedClusters")
    new["location"] = norm_location(new["location"])
    old_id, req_id = c.goal.get("identity") or {}, body.get("identity")
    if req_id is not None:
        same = req_id.get("type", old_id.get("type")) == old_id.get("type") and sorted(
            req_id.get("userAssignedIdentities") or old_id.get("userAssignedIdentities") or {}) \
            == sorted(old_id.get("userAssignedIdentities") or {})
        new["identity"] = copy.deepcopy(old_id) if same else cloud.fill_identity(req_id)
    oidc = new["properties"].get("oidcIssuerProfile") or {}
    if oidc.get("enabled") and not oidc.get("issuerURL"):
        oidc["issuerURL"] = (f"https://{new['location']}.oic.prod-aks.azure.com/"
                             f"{cloud.opts.home_tenant}/{uuid.uuid4()}/")
    if props.get("addonProfiles") is not None:
        node_rg = new["properties"]["nodeResourceGroup"]
        new["properties"]["addonProfiles"] = {
            k: cloud.fill_addon(k, v, ctx.sub, node_rg)
            for k, v in new["properties"]["addonProfiles"].items()}
    check_immutables(c.goal, new)
    req_version = new["properties"].get("kubernetesVersion")
    target = resolve_version(req_version, c.current)
    if target is None:
        raise ApiError(400, "K8sVersionNotSupported",
                       f"Version {req_version} is not supported in this region. Please see "
                       f"{VERSIONS_URL} for version details.", "properties.kubernetesVersion")
    if target != c.current:
        cloud.check_upgrade(c.current, target)
    # Pools named in agentPoolProfiles are created or merged; pools left out stay as they are.
    changes = {}
    names = [pr["name"] for pr in profiles or []]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise invalid(f"Agent pool name {dupes[0]} is used more than once.",
                      "properties.agentPoolProfiles")
    for i, prof in enumerate(profiles or []):
        where = "agentPoolProfile"
        p = c.pools.get(prof["name"].lower())
        if p is None:
            pp = cloud.build_pool(new, target, prof, "User")
            cloud.check_pool(prof["name"], pp, where)
            pv = resolve_version(pp["orchestratorVersion"], target) or target
            changes[prof["name"].lower()] = (None, prof["name"], pp, pv, "Creating", None)
        else:
            pp, pv, power = merge_pool(cloud, c, p, prof, where)
            if pp != p.goal or pv != p.current or (power and power != p.power):
                changes[p.name.lower()] = (p, p.name, pp, pv, pool_change_label(
                    p.goal, pp, p.current, pv, p.power, power), power)
    final = {}
    for key, p in c.pools.items():
        final[key] = (p.name, p.goal, p.current)
    for key, (p, name, pp, pv, _, _) in changes.items():
        final[key] = (name, pp, pv)
    for name, pp, pv in final.values():
        cloud.check_pool_vs_cp(name, pv, target)
    if not any(pp.get("mode") == "System" for _, pp, _ in final.values()):
        raise not_allowed("There has to be at least one system agent pool.")
    if len(final) > 100:
        raise invalid("A managed cluster can have at most 100 agent pools.",
                      "properties.agentPoolProfiles")
    # Accepted: the goal changes now, the rest when the operation ends.
    who = stamp(cloud, who_of(ctx))
    old_goal, old_pools = copy.deepcopy(c.goal), {}
    c.goal = new
    c.state = "Upgrading" if target != c.current else "Updating"
    touched = []
    for key, (p, name, pp, pv, label, power) in changes.items():
        if p is None:
            p = Pool(name, pp, label, pv)
            c.pools[key] = p
        else:
            old_pools[key] = (copy.deepcopy(p.goal), p.current)
            p.goal, p.state = pp, label
            p.etag = new_etag()
        touched.append((p, pv, power))
    c.touch(who)
    failure = cloud.take_fail_next("cluster", c.name)

    def ok(t):
        c.state = SUCCEEDED
        c.current = target
        c.actual = copy.deepcopy(c.goal)
        for p, pv, power in touched:
            p.state, p.current, p.actual = SUCCEEDED, pv, copy.deepcopy(p.goal)
            p.power = power or p.power
            p.etag = new_etag()
        c.touch()

    def failed(t):
        c.state = FAILED
        if cloud.opts.show_changes == "success":
            c.goal = copy.deepcopy(c.actual) if c.actual is not None else old_goal
        for p, _, _ in touched:
            p.state = FAILED
            if cloud.opts.show_changes == "success" and p.name.lower() in old_pools:
                p.goal = old_pools[p.name.lower()][0]
        c.touch()
    c.op = cloud.start(c, None, "upgrade" if target != c.current else "update",
                       cloud.opts.op_seconds, failure, ok, failed)
    return 200, cloud.cluster_view(c, goal=True), cloud.lro_headers(ctx, c.op) + [
        ("ETag", c.etag)]


def op_patch_cluster(cloud, ctx):
    subscription_or_404(cloud, ctx)
    c = cloud.cluster(ctx.sub, ctx.rg, ctx.cluster)
    ctx.cluster = c.name
    if not isinstance(ctx.body, dict):
        raise ApiError(400, "InvalidRequestContent", "The request content was invalid and "
                       "could not be deserialized: the body must be a JSON object.")
    tags = ctx.body.get("tags")
    for k in ctx.body:
        if k != "tags":
            ctx.ignored.append(k)
    if tags is not None:
        tags = clean(tags, {"t": "m", "of": "s"}, "tags", ctx.ignored)
    check_preconditions(ctx, c.etag)
    if c.state == "Deleting":
        raise busy_error(f"operation ({c.state})")
    cluster_busy(c)
    for p in c.pools.values():
        pool_busy(p)
    old_tags = copy.deepcopy(c.goal.get("tags"))
    if tags is not None:
        c.goal["tags"] = tags
    c.state = "Updating"
    c.touch(stamp(cloud, who_of(ctx)))
    failure = cloud.take_fail_next("cluster", c.name)

    def ok(t):
        c.state = SUCCEEDED
        if c.actual is not None:
            if c.goal.get("tags") is None:
                c.actual.pop("tags", None)
            else:
                c.actual["tags"] = copy.deepcopy(c.goal["tags"])
        c.touch()

    def failed(t):
        c.state = FAILED
        if cloud.opts.show_changes == "success":
            if old_tags is None:
                c.goal.pop("tags", None)
            else:
                c.goal["tags"] = old_tags
        c.touch()
    c.op = cloud.start(c, None, "tags", cloud.opts.op_seconds, failure, ok, failed)
    return 200, cloud.cluster_view(c, goal=True), cloud.lro_headers(ctx, c.op) + [
        ("ETag", c.etag)]


def op_delete_cluster(cloud, ctx):
    subscription_or_404(cloud, ctx)
    g = cloud.group(ctx.sub, ctx.rg)
    c = cloud.clusters.get((ctx.sub, g["name"].lower(), ctx.cluster.lower()))
    check_preconditions(ctx, c.etag if c else None)
    if c is None:
        return 204, None, []
    ctx.cluster = c.name
    if c.state == "Deleting" and c.op is not None and c.op.kind == "delete" \
            and c.op.status == IN_PROGRESS:
        return 202, None, cloud.lro_headers(ctx, c.op, location=True)
    reason = "The operation was canceled because the managed cluster is being deleted."
    cloud.cancel(c.op, reason)
    for p in c.pools.values():
        cloud.cancel(p.op, reason)
        p.state = "Deleting"
    c.state = "Deleting"
    c.touch(stamp(cloud, who_of(ctx)))
    failure = cloud.take_fail_next("delete", c.name)

    def ok(t):
        if cloud.clusters.get(c.key) is c:
            del cloud.clusters[c.key]

    def failed(t):
        c.state = FAILED
        for p in c.pools.values():
            p.state = FAILED
        c.touch()
    c.op = cloud.start(c, None, "delete", cloud.opts.delete_seconds, failure, ok, failed)
    return 202, None, cloud.lro_headers(ctx, c.op, location=True)


def op_list_pools(cloud, ctx):
    subscription_or_404(cloud, ctx)
    c = cloud.cluster(ctx.sub, ctx.rg, ctx.cluster)
    ctx.cluster = c.name
    views = sorted((cloud.pool_view(c, p) for p in c.pools.values()), key=list_key)
    return 200, page(cloud, ctx, views, list_key), []


def op_get_pool(cloud, ctx):
    subscription_or_404(cloud, ctx)
    c = cloud.cluster(ctx.sub, ctx.rg, ctx.cluster)
    ctx.cluster = c.name
    p = cloud.pool(c, ctx.pool)
    return 200, cloud.pool_view(c, p), [("ETag", p.etag)]


def op_put_pool(cloud, ctx):
    subscription_or_404(cloud, ctx)
    c = cloud.cluster(ctx.sub, ctx.rg, ctx.cluster)
    ctx.cluster = c.name
    if not POOL_NAME_RE.search(ctx.pool):
        raise invalid(f"The value of parameter agentPoolName is invalid: '{ctx.pool}'. Agent "
                      "pool names must start with a lowercase letter and have at most 12 "
                      f"lowercase letters and digits. Please see {NAMING_URL} for more "
                      "details.", "agentPoolName")
    body = validated_body(ctx, "managedClusters_agentPools")
    props = body.get("properties") or {}
    p = c.pools.get(ctx.pool.lower())
    check_preconditions(ctx, p.etag if p else None)
    if c.state == "Deleting":
        raise busy_error(f"operation ({c.state})")
    cluster_busy(c)
    if p is not None:
        pool_busy(p)
    if props.get("count") is None:
        raise invalid("Required parameter properties.count is missing (null).",
                      "properties.count")
    who = stamp(cloud, who_of(ctx))
    if p is None:
        if len(c.pools) >= 100:
            raise invalid("A managed cluster can have at most 100 agent pools.",
                          "agentPoolName")
        pp = cloud.build_pool(c.goal, c.current, props, "User")
        cloud.check_pool(ctx.pool, pp)
        pv = resolve_version(pp["orchestratorVersion"], c.current) or c.current
        cloud.check_pool_vs_cp(ctx.pool, pv, c.current)
        p = Pool(ctx.pool, pp, "Creating", pv)
        c.pools[ctx.pool.lower()] = p
        status, kind, old_goal, power = 201, "pool-create", None, None
    else:
        pp, pv, power = merge_pool(cloud, c, p, props, "agentPoolProfile")
        cloud.check_pool_vs_cp(p.name, pv, c.current)
        if p.goal.get("mode") == "System" and pp.get("mode") != "System" and not any(
                q.goal.get("mode") == "System" and q.state != "Deleting"
                for q in c.pools.values() if q is not p):
            raise not_allowed("There has to be at least one system agent pool.")
        label = pool_change_label(p.goal, pp, p.current, pv, p.power, power)
        old_goal = copy.deepcopy(p.goal)
        p.goal, p.state = pp, label
        status, kind = 200, "pool-" + label.lower()
    p.etag = new_etag()
    c.touch(who)
    failure = cloud.take_fail_next("agentPool", c.name, p.name)

    def ok(t):
        p.state, p.current, p.actual = SUCCEEDED, pv, copy.deepcopy(p.goal)
        p.power = power or p.power
        p.op = None
        p.etag = new_etag()
        c.touch()

    def failed(t):
        p.state = FAILED
        p.op = None
        if cloud.opts.show_changes == "success" and old_goal is not None:
            p.goal = old_goal
        p.etag = new_etag()
        c.touch()
    p.op = cloud.start(c, p.name, kind, cloud.opts.op_seconds, failure, ok, failed)
    return status, cloud.pool_view(c, p, p.goal), cloud.lro_headers(ctx, p.op) + [
        ("ETag", p.etag)]


def op_delete_pool(cloud, ctx):
    subscription_or_404(cloud, ctx)
    c = cloud.cluster(ctx.sub, ctx.rg, ctx.cluster)
    ctx.cluster = c.name
    p = c.pools.get(ctx.pool.lower())
    check_preconditions(ctx, p.etag if p else None)
    if p is None:
        return 204, None, []
    if p.state == "Deleting" and p.op is not None and p.op.kind == "pool-delete" \
            and p.op.status == IN_PROGRESS:
        return 202, None, cloud.lro_headers(ctx, p.op, location=True)
    if c.state == "Deleting":
        raise busy_error(f"operation ({c.state})")
    cluster_busy(c)
    if p.goal.get("mode") == "System" and not any(
            q.goal.get("mode") == "System" and q.state != "Deleting"
            for q in c.pools.values() if q is not p):
        raise not_allowed("There has to be at least one system agent pool.")
    cloud.cancel(p.op, "The operation was canceled because the agent pool is being deleted.")
    p.state = "Deleting"
    p.etag = new_etag()
    c.touch(stamp(cloud, who_of(ctx)))
    failure = cloud.take_fail_next("delete", c.name, p.name)

    def ok(t):
        if c.pools.get(p.name.lower()) is p:
            del c.pools[p.name.lower()]
        c.touch()

    def failed(t):
        p.state = FAILED
        p.op = None
        p.etag = new_etag()
        c.touch()
    p.op = cloud.start(c, p.name, "pool-delete", cloud.opts.delete_seconds, failure, ok, failed)
    return 202, None, cloud.lro_headers(ctx, p.op, location=True)


def kubeconfig(c, who):
    fqdn = c.goal["properties"].get("fqdn") or c.goal["properties"].get("privateFQDN")
    user = f"{who}_{c.rg}_{c.name}"
    context = c.name if who == "clusterUser" else f"{c.name}-admin"
    return (f"apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {CA_DATA}\n"
            f"    server: https://{fqdn}:443\n  name: {c.name}\ncontexts:\n- context:\n"
            f"    cluster: {c.name}\n    user: {user}\n  name: {context}\n"
            f"current-context: {context}\nkind: Config\npreferences: {{}}\nusers:\n"
            f"- name: {user}\n  user:\n    token: {c.tokens[who]}\n")


def credential_op(who):
    def op(cloud, ctx):
        subscription_or_404(cloud, ctx)
        c = cloud.cluster(ctx.sub, ctx.rg, ctx.cluster)
        ctx.cluster = c.name
        if c.goal["properties"].get("disableLocalAccounts"):
            raise ApiError(400, "BadRequest", "Getting static credential is not allowed because "
                           "this cluster is set to disable local accounts.")
        value = base64.b64encode(kubeconfig(c, who).encode()).decode()
        return 200, {"kubeconfigs": [{"name": who, "value": value}]}, []
    return op


def operation_or_404(cloud, ctx):
    subscription_or_404(cloud, ctx)
    op = cloud.operations.get(ctx.args["opid"].lower())
    if op is None or op.sub != ctx.sub or op.location != norm_location(ctx.args["location"]):
        raise ApiError(404, "NotFound", f"The operation '{ctx.args['opid']}' could not be found.")
    ctx.cluster, ctx.pool = op.cluster_name, op.pool
    return op


def op_operation_status(cloud, ctx):
    op = operation_or_404(cloud, ctx)
    headers = [("Retry-After", str(cloud.opts.retry_after))] if op.status == IN_PROGRESS else []
    return 200, op.view(cloud.now()), headers


def op_operation_result(cloud, ctx):
    op = operation_or_404(cloud, ctx)
    if op.status == IN_PROGRESS:
        q = f"?api-version={API_VERSION}"
        return 202, None, [("Location", ctx.base + op.path("operationresults") + q),
                           ("Retry-After", str(cloud.opts.retry_after))]
    if op.status == SUCCEEDED:
        return 204, None, []
    return 500, {"error": copy.deepcopy(op.error)}, []


OPERATION_ALIASES = {
    "ManagedClusters_List": "ListManagedClusters",
    "ManagedClusters_ListByResourceGroup": "ListManagedClustersByResourceGroup",
    "ManagedClusters_Get": "GetManagedCluster",
    "ManagedClusters_CreateOrUpdate": "PutManagedCluster",
    "ManagedClusters_UpdateTags": "PatchManagedClusterTags",
    "ManagedClusters_Delete": "DeleteManagedCluster",
    "ManagedClusters_ListClusterUserCredentials": "ListClusterUserCredential",
    "ManagedClusters_ListClusterAdminCredentials": "ListClusterAdminCredential",
    "AgentPools_List": "ListAgentPools",
    "AgentPools_Get": "GetAgentPool",
    "AgentPools_CreateOrUpdate": "PutAgentPool",
    "AgentPools_Delete": "DeleteAgentPool",
}

C = f"subscriptions/{{sub}}/resourceGroups/{{rg}}/providers/{NS}/managedClusters"
OPS = f"subscriptions/{{sub}}/providers/{NS}/locations/{{location}}"
# (method, path template, operation, handler, writes, api-version check)
ROUTES = [
    ("GET", "subscriptions/{sub}", "GetSubscription", op_get_subscription, False, "resources"),
    ("GET", "subscriptions/{sub}/resourceGroups/{rg}", "GetResourceGroup", op_get_group, False,
     "resources"),
    ("GET", f"subscriptions/{{sub}}/providers/{NS}/managedClusters", "ListManagedClusters",
     op_list_clusters, False, "aks"),
    ("GET", C, "ListManagedClustersByResourceGroup", op_list_clusters_rg, False, "aks"),
    ("GET", C + "/{name}", "GetManagedCluster", op_get_cluster, False, "aks"),
    ("PUT", C + "/{name}", "PutManagedCluster", op_put_cluster, True, "aks"),
    ("PATCH", C + "/{name}", "PatchManagedClusterTags", op_patch_cluster, True, "aks"),
    ("DELETE", C + "/{name}", "DeleteManagedCluster", op_delete_cluster, True, "aks"),
    ("GET", C + "/{name}/agentPools", "ListAgentPools", op_list_pools, False, "aks"),
    ("GET", C + "/{name}/agentPools/{pool}", "GetAgentPool", op_get_pool, False, "aks"),
    ("PUT", C + "/{name}/agentPools/{pool}", "PutAgentPool", op_put_pool, True, "aks"),
    ("DELETE", C + "/{name}/agentPools/{pool}", "DeleteAgentPool", op_delete_pool, True, "aks"),
    ("POST", C + "/{name}/listClusterUserCredential", "ListClusterUserCredential",
     credential_op("clusterUser"), True, "aks"),
    ("POST", C + "/{name}/listClusterAdminCredential", "ListClusterAdminCredential",
     credential_op("clusterAdmin"), True, "aks"),
    ("GET", OPS + "/operations/{opid}", "GetOperationStatus", op_operation_status, False, "aks"),
    ("GET", OPS + "/operationresults/{opid}", "GetOperationResult", op_operation_result, False,
     "aks"),
]
ROUTES = [(m, t.split("/"), op, fn, w, v) for m, t, op, fn, w, v in ROUTES]


def match_route(method, raw_path):
    """(operation, handler, labels, writes, api check), "method" when the path exists for
    another method, or None. Literal segments match case-insensitively, as in ARM."""
    path = raw_path.rstrip("/")
    segs = path.strip("/").split("/") if path else []
    other_method = False
    for m, tmpl, op, fn, writes, api in ROUTES:
        args = emucore.match_template(tmpl, segs, fold_case=True)
        if args is None:
            continue
        if m == method or (method == "HEAD" and m == "GET"):
            return op, fn, args, writes, api
        other_method = True
    return "method" if other_method else None


# ---- HTTP --------------------------------------------------------------------------------


TOKEN_PATH_RE = re.compile(r"^/([^/]+)/oauth2/(v2\.0/)?token/?$")


class Handler(emucore.Handler):
    server_version = "aksemu/1"
    fault_class = Fault
    FAIL_NEXT_KINDS = ("create", "cluster", "agentPool", "delete")
    FAIL_NEXT_MEMBERS = ("cluster", "agentPool", "code", "message")
    admin_errors = (ApiError,)

    def begin_request(self):
        self.request_id = str(uuid.uuid4())
        self.correlation_id = self.headers.get("x-ms-correlation-request-id") or \
            str(uuid.uuid4())
        self.extra_headers = []

    # -- replies --

    def reply(self, status, body, content_type="application/json; charset=utf-8", headers=()):
        if body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
        else:
            data = json.dumps(body).encode()
        ms = [("Cache-Control", "no-cache"), ("x-ms-request-id", self.request_id),
              ("x-ms-correlation-request-id", self.correlation_id)]
        client_id = self.headers.get("x-ms-client-request-id")
        if client_id:
            ms.append(("x-ms-client-request-id", client_id))
        self.send(status, data, content_type if data or status not in (202, 204) else None,
                  ms + list(headers) + self.extra_headers)

    def arm_error(self, e):
        self.reply(e.status, e.body(), headers=e.headers)

    def refuse_body(self, e):
        code = "LengthRequired" if e.status == 411 else "RequestEntityTooLarge"
        self.arm_error(ApiError(e.status, code, e.message))

    @property
    def base(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # -- dispatch --

    def dispatch_cloud(self, raw_path, raw_query, raw):
        m = TOKEN_PATH_RE.match(raw_path)
        if m:
            return self.dispatch_token(urllib.parse.unquote(m.group(1)), bool(m.group(2)), raw)
        return self.dispatch_arm(raw_path, raw_query, raw)

    def log_call(self, cloud, op, status, ctx=None, cluster=None, client=None):
        entry = {"operation": op, "method": self.command, "path": self.path, "status": status,
                 "subscription": ctx.sub if ctx else None,
                 "resourceGroup": ctx.rg if ctx else None,
                 "cluster": ctx.cluster if ctx else cluster,
                 "pool": ctx.pool if ctx else None,
                 "ifMatch": self.headers.get("If-Match"),
                 "ifNoneMatch": self.headers.get("If-None-Match"),
                 "clientId": client if client is not None else (
                     ctx.who.get("appid") if ctx and ctx.who else None),
                 "ignored": list(ctx.ignored) if ctx else [],
                 "time": cloud.now(), "wallTime": round(time.time(), 3),
                 "requestId": self.request_id, "correlationId": self.correlation_id}
        cloud.record(entry)

    # -- Azure AD --

    def aad_error(self, e):
        now = datetime.datetime.now(datetime.timezone.utc)
        stamp_ = now.strftime("%Y-%m-%d %H:%M:%SZ")
        trace, corr = str(uuid.uuid4()), self.correlation_id
        desc = (f"AADSTS{e.code}: {e.description} Trace ID: {trace} Correlation ID: {corr} "
                f"Timestamp: {stamp_}")
        body = {"error": e.error, "error_description": desc, "error_codes": [e.code],
                "timestamp": stamp_, "trace_id": trace, "correlation_id": corr,
                "error_uri": f"https://login.microsoftonline.com/error?code={e.code}"}
        self.reply(e.status, body)

    def dispatch_token(self, tenant_part, v2, raw):
        cloud, opts = self.server.cloud, self.server.opts
        form = dict(urllib.parse.parse_qsl(raw.decode(errors="replace"), keep_blank_values=True))
        client = form.get("client_id")

        def log(status):
            self.log_call(cloud, "Token", status, client=client)

        try:
            if self.command != "POST":
                raise AadError(405, "invalid_request", 900561,
                               "The endpoint only accepts POST requests.")
            with cloud.lock:
                fault = cloud.take_fault("Token", None)
            if self.play_fault(fault, log, b'{"token_type":"Bearer","acc'):
                return
            if fault is not None and fault.status is not None:
                raise AadError(fault.status, fault.code or TOKEN_FAULT_CODES.get(
                    fault.status, "server_error"), 50000 + fault.status % 1000,
                    fault.message or f"Injected fault: HTTP {fault.status}.")
            tenant = opts.tenant_aliases.get(tenant_part.lower())
            if tenant is None:
                raise AadError(400, "invalid_request", 90002,
                               f"Tenant '{tenant_part}' not found. Check to make sure you have the "
                               "correct tenant ID and are signing into the correct cloud. Check "
                               "with your subscription administrator, this may happen if there "
                               "are no active subscriptions for the tenant.")
            grant = form.get("grant_type")
            if not grant:
                raise AadError(400, "invalid_request", 900144,
                               "The request body must contain the following parameter: "
                               "'grant_type'.")
            if grant != "client_credentials":
                raise AadError(400, "unsupported_grant_type", 70003,
                               f"The app requested an unsupported grant type '{grant}'.")
            if not client:
                raise AadError(400, "invalid_request", 900144,
                               "The request body must contain the following parameter: "
                               "'client_id'.")
            secret = opts.clients.get(client)
            if secret is None:
                raise AadError(400, "unauthorized_client", 700016,
                               f"Application with identifier '{client}' was not found in the "
                               f"directory '{tenant}'. This can happen if the application has "
                               "not been installed by the administrator of the tenant or "
                               "consented to by any user in the tenant. You may have sent your "
                               "authentication request to the wrong tenant.")
            if not form.get("client_secret"):
                raise AadError(401, "invalid_client", 7000218,
                               "The request body must contain the following parameter: "
                               "'client_assertion' or 'client_secret'.")
            if not hmac.compare_digest(form["client_secret"].encode(), secret.encode()):
                raise AadError(401, "invalid_client", 7000215,
                               "Invalid client secret provided. Ensure the secret being sent in "
                               "the request is the client secret value, not the client secret "
                               f"ID, for a secret added to app '{client}'.")
            if v2:
                scope = form.get("scope")
                if not scope:
                    raise AadError(400, "invalid_request", 900144,
                                   "The request body must contain the following parameter: "
                                   "'scope'.")
                if len(scope.split()) != 1 or not scope.endswith("/.default"):
                    raise AadError(400, "invalid_scope", 1002012,
                                   f"The provided value for scope {scope} is not valid. Client "
                                   "credential flows must have a scope value with /.default "
                                   "suffixed to the resource identifier (application ID URI).")
                resource = scope[:-len(".default")]
            else:
                resource = form.get("resource")
                if not resource:
                    raise AadError(400, "invalid_request", 900144,
                                   "The request body must contain the following parameter: "
                                   "'resource'.")
            if resource.rstrip("/") + "/" not in [a.rstrip("/") + "/" for a in ARM_AUDIENCES]:
                raise AadError(400, "invalid_resource", 500011,
                               f"The resource principal named {resource} was not found in the "
                               f"tenant named {tenant}. This can happen if the application has "
                               "not been installed by the administrator of the tenant or "
                               "consented to by any user in the tenant. You might have sent "
                               "your authentication request to the wrong tenant.")
        except AadError as e:
            log(e.status)
            return self.aad_error(e)
        now = time.time()
        lifetime = opts.token_seconds
        claims = {"aud": resource.rstrip("/") if v2 else resource,
                  "iss": f"https://sts.windows.net/{tenant}/", "iat": int(now),
                  "nbf": int(now), "exp": now + lifetime, "aio": rand_hex(16),
                  "appid": client, "appidacr": "1", "idp": f"https://sts.windows.net/{tenant}/",
                  "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, client)),
                  "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, client)), "tid": tenant,
                  "uti": rand_hex(22), "ver": "1.0"}
        header = {"typ": "JWT", "alg": "HS256", "kid": "aksemu"}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(
            json.dumps(claims).encode())
        sig = hmac.new(cloud.signing_key, signing_input.encode(), hashlib.sha256).digest()
        token = signing_input + "." + b64url(sig)
        expires = max(1, int(math.ceil(lifetime)) - 1) if lifetime > 1 else max(
            1, int(math.ceil(lifetime)))
        log(200)
        if v2:
            body = {"token_type": "Bearer", "expires_in": expires, "ext_expires_in": expires,
                    "access_token": token}
        else:
            body = {"token_type": "Bearer", "expires_in": str(expires),
                    "ext_expires_in": str(expires), "expires_on": str(int(now + lifetime)),
                    "not_before": str(int(now)), "resource": resource, "access_token": token}
        if fault is not None and fault.malformed:
            return self.reply(200, b'{"token_type":"Bearer","acc')
        self.reply(200, body)

    def check_token(self, sub):
        """The claims of the Bearer token on an ARM call, or an ApiError (401) with the
        WWW-Authenticate header ARM sends."""
        cloud, opts = self.server.cloud, self.server.opts
        tenant = cloud.tenant_of(sub) or opts.home_tenant

        def refuse(code, message, description=None):
            www = (f'Bearer authorization_uri="https://login.windows.net/{tenant}", '
                   f'error="invalid_token", error_description="{description or message}"')
            return ApiError(401, code, message, headers=[("WWW-Authenticate", www)])
        auth = self.headers.get("Authorization")
        if not auth:
            raise refuse("AuthenticationFailed", "Authentication failed. The 'Authorization' "
                         "header is missing.", "The authentication failed because of missing "
                         "'Authorization' header.")
        scheme, _, token = auth.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise refuse("AuthenticationFailed", "Authentication failed. The 'Authorization' "
                         "header is provided in an invalid format.")
        parts = token.split(".")
        claims = None
        if len(parts) == 3:
            want = hmac.new(cloud.signing_key, (parts[0] + "." + parts[1]).encode(),
                            hashlib.sha256).digest()
            try:
                if hmac.compare_digest(want, unb64url(parts[2])):
                    claims = json.loads(unb64url(parts[1]).decode())
            except (ValueError, UnicodeDecodeError):
                claims = None
        if not isinstance(claims, dict):
            raise refuse("InvalidAuthenticationToken", "The access token is invalid.")
        now = time.time()
        if now >= claims.get("exp", 0):
            raise refuse("ExpiredAuthenticationToken",
                         f"The access token expiry UTC time '{arm_clock(claims['exp'])}' is "
                         f"earlier than current UTC time '{arm_clock(now)}'.",
                         "The access token has expired.")
        if claims.get("aud") not in ARM_AUDIENCES:
            raise refuse("InvalidAuthenticationTokenAudience",
                         "The access token has been obtained for wrong audience or resource "
                         f"'{claims.get('aud')}'. It should exactly match with one of the "
                         "allowed audiences '" + "','".join(ARM_AUDIENCES) + "'.")
        sub_tenant = cloud.tenant_of(sub)
        if sub_tenant is not None and claims.get("tid") != sub_tenant:
            raise refuse("InvalidAuthenticationTokenTenant",
                         f"The access token is from the wrong issuer '{claims.get('iss')}'. It "
                         f"must match the tenant 'https://sts.windows.net/{sub_tenant}/' "
                         "associated with this subscription. Please use the authority (URL) "
                         f"'https://login.windows.net/{sub_tenant}' to get the token. Note, if "
                         "the subscription is transferred to another tenant there is no "
                         "impact to the services, but information about new tenant could take "
                         "time to propagate (up to an hour). If you just transferred your "
                         "subscription and see this error message, please try back later.")
        return claims

    # -- ARM --

    def dispatch_arm(self, raw_path, raw_query, raw):
        cloud, opts = self.server.cloud, self.server.opts
        found = match_route(self.command, raw_path)
        if found is None or found == "method":
            if found == "method":
                e = ApiError(405, "MethodNotAllowed", f"The requested resource does not "
                             f"support http method '{self.command}'.")
            elif f"/providers/{NS.lower()}/" in raw_path.lower() + "/":
                e = ApiError(404, "InvalidResourceType", "The resource type could not be "
                             f"found in the namespace '{NS}' for api version '{API_VERSION}'.")
            else:
                e = ApiError(404, "NotFound", f"No route matches {self.command} {raw_path}.")
            self.log_call(cloud, "Unknown", e.status)
            return self.arm_error(e)
        op, fn, args, writes, api = found
        query = urllib.parse.parse_qs(raw_query, keep_blank_values=True)
        ctx = Ctx(op, self.command, raw_path, args, query, None, {}, self.headers, self.base)
        try:
            ctx.who = self.check_token(ctx.sub)
        except ApiError as e:
            self.log_call(cloud, op, e.status, ctx)
            return self.arm_error(e)
        versions = query.get("api-version")
        try:
            if not versions or not versions[0]:
                raise ApiError(400, "MissingApiVersionParameter", "The api-version query "
                               "parameter (?api-version=) is required for all requests.")
            v = versions[0]
            if api == "resources":
                if not DATE_VERSION_RE.fullmatch(v):
                    raise ApiError(400, "InvalidApiVersionParameter", f"The api-version '{v}' "
                                   "is invalid. The supported versions are '2022-12-01'.")
            elif v != API_VERSION:
                if DATE_VERSION_RE.fullmatch(v):
                    raise ApiError(400, "NoRegisteredProviderFound",
                                   f"No registered resource provider found for location "
                                   f"'global' and API version '{v}' for type 'managedClusters'. "
                                   f"The supported api-versions are '{API_VERSION}'.")
                raise ApiError(400, "InvalidApiVersionParameter", f"The api-version '{v}' is "
                               f"invalid. The supported versions are '{API_VERSION}'.")
        except ApiError as e:
            self.log_call(cloud, op, e.status, ctx)
            return self.arm_error(e)
        with cloud.lock:
            if ctx.sub in opts.subscriptions:
                kind = "writes" if writes else "reads"
                self.extra_headers.append((f"x-ms-ratelimit-remaining-subscription-{kind}",
                                           str(cloud.remaining(ctx.sub, kind))))
            throttled, fault = cloud.admit(op, ctx.cluster)
        if throttled:
            self.log_call(cloud, op, 429, ctx)
            wait = max(1, int(math.ceil(1.0 / opts.rate_per_s)))
            return self.arm_error(ApiError(
                429, "TooManyRequests", "The request is being throttled as the limit has been "
                "reached for this subscription. For more information, see - "
                "https://aka.ms/srpthrottlinglimits", headers=[("Retry-After", str(wait))]))
        if self.play_fault(fault, lambda status: self.log_call(cloud, op, status, ctx),
                           b'{"id": "/subscriptions/trunc'):
            return
        if fault is not None and fault.status is not None:
            self.log_call(cloud, op, fault.status, ctx)
            code = fault.code or FAULT_CODES.get(fault.status, "InternalServerError")
            headers = []
            if fault.status in (429, 503) or fault.retry_after is not None:
                headers.append(("Retry-After", str(fault.retry_after
                                                   if fault.retry_after is not None else 1)))
            return self.arm_error(ApiError(fault.status, code, fault.message or (
                "The request is being throttled as the limit has been reached for this "
                "subscription." if fault.status == 429 else
                f"Injected fault: HTTP {fault.status}."), headers=headers))
        if self.command in ("PUT", "PATCH"):
            try:
                ctx.body = json.loads(raw) if raw.strip() else None
            except (ValueError, UnicodeDecodeError) as e:
                self.log_call(cloud, op, 400, ctx)
                return self.arm_error(ApiError(
                    400, "InvalidRequestContent", "The request content was invalid and could "
                    f"not be deserialized: '{e}'."))
        try:
            with cloud.lock:
                cloud.settle()
                status, out, headers = fn(cloud, ctx)
        except ApiError as e:
            self.log_call(cloud, op, e.status, ctx)
            return self.arm_error(e)
        self.log_call(cloud, op, status, ctx)
        self.reply(status, out, headers=headers)

    # -- admin --

    def run_admin(self, fn, cloud, **kwargs):
        """Every admin route runs under the lock, after settling."""
        with cloud.lock:
            cloud.settle()
            return fn(cloud, **kwargs)

    @staticmethod
    def bad_body(message):
        return ApiError(400, "InvalidRequestContent", message)

    @staticmethod
    def bad_value(message):
        return invalid(message)

    def admin_error(self, e):
        self.reply(e.status, e.body())

    def admin_missing(self, status, message):
        code = "MethodNotAllowed" if status == 405 else "NotFound"
        self.reply(status, {"error": {"code": code, "message": message}})

    def select_calls(self, calls, query):
        """?cluster= in any case, and ?operation=."""
        only = query.get("cluster", [None])[0]
        op = query.get("operation", [None])[0]
        return [dict(c) for c in calls
                if (only is None or (c["cluster"] or "").lower() == only.lower())
                and (op is None or c["operation"] == op)]

    @staticmethod
    def admin_sub(cloud, body=None, query=None):
        sub = (body or {}).get("subscription") or ((query or {}).get("subscription") or [None])[0]
        sub = sub or cloud.opts.subscriptions[0]
        if sub not in cloud.opts.subscriptions:
            raise ApiError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not "
                           "be found.")
        return sub

    @staticmethod
    def portal_who(cloud, body):
        return ((body or {}).get("by") or "portal-user@contoso.onmicrosoft.com", "User",
                cloud.now())

    def state_of(self, cloud, c):
        now = cloud.now()
        return {"subscription": c.sub, "resourceGroup": c.rg, "name": c.name,
                "resource": cloud.cluster_view(c), "provisioningState": c.state,
                "eTag": c.etag, "currentKubernetesVersion": c.current,
                "goal": copy.deepcopy(c.goal), "actual": copy.deepcopy(c.actual),
                "agentPools": {p.name: {"resource": cloud.pool_view(c, p),
                                        "provisioningState": p.state, "eTag": p.etag,
                                        "currentOrchestratorVersion": p.current,
                                        "goal": copy.deepcopy(p.goal),
                                        "actual": copy.deepcopy(p.actual)}
                               for p in c.pools.values()},
                "operations": [cloud.operations[i].internal(now) for i in c.ops
                               if i in cloud.operations],
                "credentials": dict(c.tokens), "now": now}

    def admin_cluster(self, cloud, rg, name, query):
        sub = self.admin_sub(cloud, query=query)
        return cloud.cluster(sub, rg, name)

    @admin_route("GET", r"/admin/resourcegroups")
    def admin_groups(self, cloud, **_):
        return 200, {"resourceGroups": [dict(g, subscription=s) for (s, _), g in
                                        sorted(cloud.groups.items())]}

    @admin_route("POST", r"/admin/resourcegroups")
    def admin_add_group(self, cloud, body, **_):
        sub = self.admin_sub(cloud, body)
        name, loc = body.get("name"), body.get("location", "westeurope")
        if not isinstance(name, str) or not RG_NAME_RE.match(name) or name.endswith("."):
            raise invalid('"name" must be a resource group name')
        if not isinstance(loc, str) or not loc:
            raise invalid('"location" must be a region name')
        g = cloud.groups.get((sub, name.lower()))
        if g is not None:
            return 200, dict(g, subscription=sub)
        g = {"name": name, "location": norm_location(loc),
             "id": f"/subscriptions/{sub}/resourceGroups/{name}"}
        cloud.groups[(sub, name.lower())] = g
        return 201, dict(g, subscription=sub)

    @admin_route("DELETE", r"/admin/resourcegroups/(?P<rg>[^/]+)")
    def admin_delete_group(self, cloud, rg, query, **_):
        sub = self.admin_sub(cloud, query=query)
        g = cloud.group(sub, rg)
        del cloud.groups[(sub, g["name"].lower())]
        for key in [k for k in cloud.clusters if k[0] == sub and k[1] == g["name"].lower()]:
            del cloud.clusters[key]
        return 200, {"deleted": g["name"]}

    @admin_route("GET", r"/admin/clusters")
    def admin_list(self, cloud, **_):
        return 200, {"clusters": [
            {"subscription": c.sub, "resourceGroup": c.rg, "name": c.name,
             "provisioningState": c.state, "agentPools": [p.name for p in c.pools.values()]}
            for c in sorted(cloud.clusters.values(), key=lambda c: c.key)]}

    @admin_route("POST", r"/admin/clusters")
    def admin_add(self, cloud, body, **_):
        sub = self.admin_sub(cloud, body)
        rg = body.get("resourceGroup")
        spec = body.get("cluster")
        if not isinstance(rg, str) or not RG_NAME_RE.match(rg):
            raise invalid('"resourceGroup" must be a resource group name')
        if not isinstance(spec, dict):
            raise invalid('"cluster" must be the ARM body of a managed cluster')
        name = body.get("name") or spec.get("name")
        if not isinstance(name, str) or not CLUSTER_NAME_RE.search(name):
            raise invalid('the cluster needs a valid "name" (in "cluster" or beside it)')
        state = body.get("provisioningState", SUCCEEDED)
        if not isinstance(state, str) or not state:
            raise invalid('"provisioningState" must be a string')
        spec = copy.deepcopy(spec)
        spec.setdefault("location", "westeurope")
        g = cloud.groups.get((sub, rg.lower()))
        if g is None:
            g = {"name": rg, "location": norm_location(spec["location"]),
                 "id": f"/subscriptions/{sub}/resourceGroups/{rg}"}
            cloud.groups[(sub, rg.lower())] = g
        if (sub, g["name"].lower(), name.lower()) in cloud.clusters:
            raise ApiError(409, "Conflict", f"cluster {name} already exists")
        ignored = []
        cleaned = clean({k: v for k, v in spec.items() if k not in ("id", "name", "type",
                                                                    "eTag", "systemData")},
                        "managedClusters", "", ignored)
        props = cleaned.setdefault("properties", {})
        if not props.get("agentPoolProfiles"):
            props["agentPoolProfiles"] = [{"name": "nodepool1", "mode": "System", "count": 3}]
        who = self.portal_who(cloud, body)
        goal = cloud.build_cluster(sub, g["name"], name, cleaned)
        current = resolve_version(goal["properties"]["kubernetesVersion"])
        if current is None:
            raise invalid("unsupported kubernetesVersion")
        c = Cluster(sub, g["name"], name, goal, state, current, who)
        for prof in props["agentPoolProfiles"]:
            pp = cloud.build_pool(goal, current, prof, "User")
            pv = resolve_version(pp["orchestratorVersion"], current) or current
            pool = Pool(prof["name"], pp, prof.get("provisioningState") or state, pv)
            pool.actual = copy.deepcopy(pp)
            c.pools[prof["name"].lower()] = pool
        c.actual = copy.deepcopy(goal)
        # Read-only members given in the body (fqdn, eTag, ...) are taken as they are.
        raw_props = {k: v for k, v in (spec.get("properties") or {}).items()
                     if k not in ("agentPoolProfiles",)}
        self.portal_patch(cloud, c, {"properties": raw_props, "eTag": spec.get("eTag")}, who)
        cloud.clusters[c.key] = c
        return 201, self.state_of(cloud, c)

    @staticmethod
    def portal_patch(cloud, c, patch, who):
        """A change made elsewhere (the portal, another tool): applied at once, to what was
        asked for and to what runs. provisioningState, powerState, currentKubernetesVersion
        and eTag set the read-only state."""
        patch = copy.deepcopy(patch)
        for k in ("id", "name", "type", "systemData"):
            patch.pop(k, None)
        etag = patch.pop("eTag", None)
        state = patch.pop("provisioningState", None)
        props = patch.get("properties")
        power = current = None
        if isinstance(props, dict):
            if "agentPoolProfiles" in props:
                raise invalid("change agent pools with /admin/clusters/{rg}/{name}/agentPools/"
                              "{pool}")
            state = props.pop("provisioningState", state)
            power = props.pop("powerState", None)
            current = props.pop("currentKubernetesVersion", None)
        c.goal = merge_patch(c.goal, patch)
        c.actual = merge_patch(c.actual if c.actual is not None else c.goal, patch)
        if isinstance(dig(patch, ("properties", "kubernetesVersion")), str):
            v = resolve_version(patch["properties"]["kubernetesVersion"])
            if v is not None:
                c.current = v
        if current is not None:
            c.current = current
        if state is not None:
            c.state = state
        if isinstance(power, dict) and power.get("code"):
            c.power = power["code"]
        c.touch(who)
        if etag:
            c.etag = etag

    @admin_route("GET", r"/admin/clusters/(?P<rg>[^/]+)/(?P<name>[^/]+)")
    def admin_state(self, cloud, rg, name, query, **_):
        return 200, self.state_of(cloud, self.admin_cluster(cloud, rg, name, query))

    @admin_route("PATCH", r"/admin/clusters/(?P<rg>[^/]+)/(?P<name>[^/]+)")
    def admin_patch(self, cloud, rg, name, body, query, **_):
        c = self.admin_cluster(cloud, rg, name, query)
        body = dict(body)
        who = self.portal_who(cloud, body)
        body.pop("by", None)
        self.portal_patch(cloud, c, body, who)
        return 200, self.state_of(cloud, c)

    @admin_route("DELETE", r"/admin/clusters/(?P<rg>[^/]+)/(?P<name>[^/]+)")
    def admin_delete(self, cloud, rg, name, query, **_):
        c = self.admin_cluster(cloud, rg, name, query)
        del cloud.clusters[c.key]
        cloud.cancel(c.op, "The managed cluster was deleted.")
        for p in c.pools.values():
            cloud.cancel(p.op, "The managed cluster was deleted.")
        return 200, {"deleted": c.name, "resourceGroup": c.rg}

    @staticmethod
    def pool_patch_body(body):
        props = body.get("properties") if isinstance(body.get("properties"), dict) else {
            k: v for k, v in body.items() if k not in ("by",)}
        return copy.deepcopy(props)

    @admin_route("POST", r"/admin/clusters/(?P<rg>[^/]+)/(?P<name>[^/]+)/agentPools/"
                         r"(?P<pool>[^/]+)")
    def admin_add_pool(self, cloud, rg, name, pool, body, query, **_):
        c = self.admin_cluster(cloud, rg, name, query)
        if pool.lower() in c.pools:
            raise ApiError(409, "Conflict", f"agent pool {pool} already exists")
        props = self.pool_patch_body(body)
        state = props.pop("provisioningState", SUCCEEDED)
        ignored = []
        cleaned = clean(props, "ManagedClusterAgentPoolProfileProperties", "properties", ignored)
        pp = cloud.build_pool(c.goal, c.current, cleaned, "User")
        cloud.check_pool(pool, pp)
        pv = resolve_version(pp["orchestratorVersion"], c.current) or c.current
        p = Pool(pool, pp, state, pv)
        p.actual = copy.deepcopy(pp)
        c.pools[pool.lower()] = p
        c.touch(self.portal_who(cloud, body))
        return 201, cloud.pool_view(c, p)

    @admin_route("PATCH", r"/admin/clusters/(?P<rg>[^/]+)/(?P<name>[^/]+)/agentPools/"
                          r"(?P<pool>[^/]+)")
    def admin_patch_pool(self, cloud, rg, name, pool, body, query, **_):
        c = self.admin_cluster(cloud, rg, name, query)
        p = cloud.pool(c, pool)
        props = self.pool_patch_body(body)
        state = props.pop("provisioningState", None)
        power = props.pop("powerState", None)
        current = props.pop("currentOrchestratorVersion", None)
        etag = props.pop("eTag", None)
        props.pop("name", None)
        p.goal = merge_patch(p.goal, props)
        p.actual = merge_patch(p.actual if p.actual is not None else p.goal, props)
        if isinstance(props.get("orchestratorVersion"), str):
            v = resolve_version(props["orchestratorVersion"])
            if v is not None:
                p.current = v
        if current is not None:
            p.current = current
        if state is not None:
            p.state = state
        if isinstance(power, dict) and power.get("code"):
            p.power = power["code"]
        p.etag = etag or new_etag()
        c.touch(self.portal_who(cloud, body))
        return 200, cloud.pool_view(c, p)

    @admin_route("DELETE", r"/admin/clusters/(?P<rg>[^/]+)/(?P<name>[^/]+)/agentPools/"
                           r"(?P<pool>[^/]+)")
    def admin_delete_pool(self, cloud, rg, name, pool, query, **_):
        c = self.admin_cluster(cloud, rg, name, query)
        p = cloud.pool(c, pool)
        cloud.cancel(p.op, "The agent pool was deleted.")
        del c.pools[pool.lower()]
        c.touch(self.portal_who(cloud, None))
        return 200, {"deleted": p.name}

    @admin_route("POST", r"/admin/kube-token")
    def admin_kube_token(self, cloud, body, **_):
        token = body.get("token")
        for c in cloud.clusters.values():
            for who, t in c.tokens.items():
                if isinstance(token, str) and hmac.compare_digest(token, t):
                    return 200, {"valid": True, "subscription": c.sub, "resourceGroup": c.rg,
                                 "cluster": c.name, "user": who}
        return 200, {"valid": False, "subscription": None, "resourceGroup": None,
                     "cluster": None, "user": None}

Handler.admin_routes = emucore.admin_routes_of(Handler)


def parse_options(argv):
    ap = argparse.ArgumentParser(description="hcr's AKS emulator (see docs/aksemu.md)")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--max-seconds", type=float, default=1800, help="stop after this long")
    ap.add_argument("--tenant", default=DEFAULT_TENANT,
                    help="comma-separated GUID[:DOMAIN]; the first owns the subscriptions")
    ap.add_argument("--client", default=DEFAULT_CLIENT,
                    help="comma-separated CLIENT_ID:SECRET the token endpoint accepts")
    ap.add_argument("--subscription", default=DEFAULT_SUBSCRIPTION,
                    help="comma-separated subscription GUIDs")
    ap.add_argument("--token-seconds", type=float, default=3600, help="access token lifetime")
    ap.add_argument("--create-seconds", type=float, default=300)
    ap.add_argument("--op-seconds", type=float, default=60,
                    help="updates, upgrades, tag changes and agent pool create/update")
    ap.add_argument("--delete-seconds", type=float, default=120)
    ap.add_argument("--retry-after", type=int, default=10,
                    help="the Retry-After (seconds) of running operations")
    ap.add_argument("--page-size", type=int, default=100, help="items per list page")
    ap.add_argument("--rate-per-s", type=float, default=0, help="token bucket; 0 is off")
    ap.add_argument("--show-changes", choices=["accept", "success"], default="accept",
                    help="when a GET shows an accepted change: at once (as AKS) or on success")
    ap.add_argument("--verbose", action="store_true", help="log every request to stderr")
    opts = ap.parse_args(argv)
    opts.tenants, opts.tenant_aliases = [], {}
    for item in opts.tenant.split(","):
        guid, _, domain = item.strip().partition(":")
        if not GUID_RE.fullmatch(guid):
            raise SystemExit(f"aksemu: --tenant wants GUID[:DOMAIN], got {item!r}")
        guid = guid.lower()
        opts.tenants.append(guid)
        opts.tenant_aliases[guid] = guid
        if domain:
            opts.tenant_aliases[domain.lower()] = guid
    opts.home_tenant = opts.tenants[0]
    opts.clients = {}
    for item in opts.client.split(","):
        cid, _, secret = item.strip().partition(":")
        if not cid or not secret:
            raise SystemExit(f"aksemu: --client wants CLIENT_ID:SECRET, got {item!r}")
        opts.clients[cid] = secret
    opts.subscriptions = [s.strip().lower() for s in opts.subscription.split(",") if s.strip()]
    if not opts.subscriptions or not all(GUID_RE.fullmatch(s) for s in opts.subscriptions):
        raise SystemExit("aksemu: --subscription wants GUIDs")
    if opts.page_size < 1 or opts.retry_after < 0 or opts.token_seconds <= 0:
        raise SystemExit("aksemu: --page-size >= 1, --retry-after >= 0, --token-seconds > 0")
    return opts


def main(argv=None):
    opts = parse_options(argv)
    server = emucore.Server(("127.0.0.1", opts.port), Handler)
    server.opts = opts
    server.cloud = Cloud(opts)
    return emucore.serve(server, opts.max_seconds)


# ---- the ARM template schema --------------------------------------------------------------
# Generated from the ARM template JSON Schema of Microsoft.ContainerService at 2025-10-01
# (Azure/azure-resource-manager-schemas, schemas/2025-10-01/Microsoft.ContainerService.Aks.json):
# the definitions reachable from managedClusters and managedClusters/agentPools, with their
# member names ("m"), required members ("r") and each member's type: "s" string, "i" integer,
# "n" number, "b" boolean, "o" free-form object, "any", a definition name, or a dict with
# "t" (one of those or "a" list / "m" map), "of" (item type), "e" (enum), "lo"/"hi"
# (range or length) and "p" (pattern). Descriptions and template expressions are dropped.
# Read-only members (fqdn, provisioningState, ...) are not in the template schema.

SCHEMA = {
    'AdvancedNetworking': {'m': {'enabled': 'b',
                                  'observability': 'AdvancedNetworkingObservability',
                                  'security': 'AdvancedNetworkingSecurity'},
                            'r': []},
    'AdvancedNetworkingObservability': {'m': {'enabled': 'b'}, 'r': []},
    'AdvancedNetworkingSecurity': {'m': {'advancedNetworkPolicies': {'e': ['L7', 'FQDN', 'None'],
                                                                      't': 's'},
                                          'enabled': 'b'},
                                    'r': []},
    'AgentPoolGatewayProfile': {'m': {'publicIPPrefixSize': {'hi': 31, 'lo': 28, 't': 'i'}},
                                 'r': []},
    'AgentPoolNetworkProfile': {'m': {'allowedHostPorts': {'of': 'PortRange', 't': 'a'},
                                       'applicationSecurityGroups': {'of': 's', 't': 'a'},
                                       'nodePublicIPTags': {'of': 'IPTag', 't': 'a'}},
                                 'r': []},
    'AgentPoolSecurityProfile': {'m': {'enableSecureBoot': 'b',
                                        'enableVTPM': 'b',
                                        'sshAccess': {'e': ['LocalUser', 'Disabled'], 't': 's'}},
                                  'r': []},
    'AgentPoolStatus': {'m': {}, 'r': []},
    'AgentPoolUpgradeSettings': {'m': {'drainTimeoutInMinutes': {'hi': 1440, 'lo': 1, 't': 'i'},
                                        'maxSurge': 's',
                                        'maxUnavailable': 's',
                                        'nodeSoakDurationInMinutes': {'hi': 30, 'lo': 0, 't': 'i'},
                                        'undrainableNodeBehavior': {'e': ['Cordon', 'Schedule'],
                                                                    't': 's'}},
                                  'r': []},
    'AgentPoolWindowsProfile': {'m': {'disableOutboundNat': 'b'}, 'r': []},
    'AzureKeyVaultKms': {'m': {'enabled': 'b',
                                'keyId': 's',
                                'keyVaultNetworkAccess': {'e': ['Public', 'Private'], 't': 's'},
                                'keyVaultResourceId': 's'},
                          'r': []},
    'ClusterUpgradeSettings': {'m': {'overrideSettings': 'UpgradeOverrideSettings'}, 'r': []},
    'ContainerServiceLinuxProfile': {'m': {'adminUsername': {'p': '^[A-Za-z][-A-Za-z0-9_]*$',
                                                              't': 's'},
                                            'ssh': 'ContainerServiceSshConfiguration'},
                                      'r': ['adminUsername', 'ssh']},
    'ContainerServiceNetworkProfile': {'m': {'advancedNetworking': 'AdvancedNetworking',
                                              'dnsServiceIP': {'p': '^(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)$',
                                                               't': 's'},
                                              'ipFamilies': {'of': {'e': ['IPv4', 'IPv6'],
                                                                    't': 's'},
                                                             't': 'a'},
                                              'loadBalancerProfile': 'ManagedClusterLoadBalancerProfile',
                                              'loadBalancerSku': {'e': ['standard', 'basic'],
                                                                  't': 's'},
                                              'natGatewayProfile': 'ManagedClusterNATGatewayProfile',
                                              'networkDataplane': {'e': ['azure', 'cilium'],
                                                                   't': 's'},
                                              'networkMode': {'e': ['transparent', 'bridge'],
                                                              't': 's'},
                                              'networkPlugin': {'e': ['azure', 'kubenet', 'none'],
                                                                't': 's'},
                                              'networkPluginMode': {'e': ['overlay'], 't': 's'},
                                              'networkPolicy': {'e': ['none', 'calico', 'azure',
                                                                      'cilium'],
                                                                't': 's'},
                                              'outboundType': {'e': ['loadBalancer',
                                                                     'userDefinedRouting',
                                                                     'managedNATGateway',
                                                                     'userAssignedNATGateway',
                                                                     'none'],
                                                               't': 's'},
                                              'podCidr': {'p': '^([0-9]{1,3}\\.){3}[0-9]{1,3}(\\/([0-9]|[1-2][0-9]|3[0-2]))?$',
                                                          't': 's'},
                                              'podCidrs': {'of': 's', 't': 'a'},
                                              'serviceCidr': {'p': '^([0-9]{1,3}\\.){3}[0-9]{1,3}(\\/([0-9]|[1-2][0-9]|3[0-2]))?$',
                                                              't': 's'},
                                              'serviceCidrs': {'of': 's', 't': 'a'},
                                              'staticEgressGatewayProfile': 'ManagedClusterStaticEgressGatewayProfile'},
                                        'r': []},
    'ContainerServiceSshConfiguration': {'m': {'publicKeys': {'of': 'ContainerServiceSshPublicKey',
                                                               't': 'a'}},
                                          'r': ['publicKeys']},
    'ContainerServiceSshPublicKey': {'m': {'keyData': 's'}, 'r': ['keyData']},
    'CreationData': {'m': {'sourceResourceId': 's'}, 'r': []},
    'DelegatedResource': {'m': {'location': 's',
                                 'referralResource': 's',
                                 'resourceId': 's',
                                 'tenantId': {'p': '^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$',
                                              't': 's'}},
                           'r': []},
    'ExtendedLocation': {'m': {'name': 's', 'type': {'e': ['EdgeZone'], 't': 's'}}, 'r': []},
    'GPUProfile': {'m': {'driver': {'e': ['Install', 'None'], 't': 's'}}, 'r': []},
    'IPTag': {'m': {'ipTagType': 's', 'tag': 's'}, 'r': []},
    'IstioCertificateAuthority': {'m': {'plugin': 'IstioPluginCertificateAuthority'}, 'r': []},
    'IstioComponents': {'m': {'egressGateways': {'of': 'IstioEgressGateway', 't': 'a'},
                               'ingressGateways': {'of': 'IstioIngressGateway', 't': 'a'}},
                         'r': []},
    'IstioEgressGateway': {'m': {'enabled': 'b',
                                  'gatewayConfigurationName': 's',
                                  'name': {'p': '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*',
                                           't': 's'},
                                  'namespace': 's'},
                            'r': ['enabled', 'name']},
    'IstioIngressGateway': {'m': {'enabled': 'b',
                                   'mode': {'e': ['External', 'Internal'], 't': 's'}},
                             'r': ['mode', 'enabled']},
    'IstioPluginCertificateAuthority': {'m': {'certChainObjectName': 's',
                                               'certObjectName': 's',
                                               'keyObjectName': 's',
                                               'keyVaultId': 's',
                                               'rootCertObjectName': 's'},
                                         'r': []},
    'IstioServiceMesh': {'m': {'certificateAuthority': 'IstioCertificateAuthority',
                                'components': 'IstioComponents',
                                'revisions': {'of': 's', 't': 'a'}},
                          'r': []},
    'KubeletConfig': {'m': {'allowedUnsafeSysctls': {'of': 's', 't': 'a'},
                             'containerLogMaxFiles': {'lo': 2, 't': 'i'},
                             'containerLogMaxSizeMB': 'i',
                             'cpuCfsQuota': 'b',
                             'cpuCfsQuotaPeriod': 's',
                             'cpuManagerPolicy': 's',
                             'failSwapOn': 'b',
                             'imageGcHighThreshold': 'i',
                             'imageGcLowThreshold': 'i',
                             'podMaxPids': 'i',
                             'topologyManagerPolicy': 's'},
                       'r': []},
    'LinuxOSConfig': {'m': {'swapFileSizeMB': 'i',
                             'sysctls': 'SysctlConfig',
                             'transparentHugePageDefrag': 's',
                             'transparentHugePageEnabled': 's'},
                       'r': []},
    'LocalDNSOverride': {'m': {'cacheDurationInSeconds': 'i',
                                'forwardDestination': {'e': ['ClusterCoreDNS', 'VnetDNS'],
                                                       't': 's'},
                                'forwardPolicy': {'e': ['Sequential', 'RoundRobin', 'Random'],
                                                  't': 's'},
                                'maxConcurrent': 'i',
                                'protocol': {'e': ['PreferUDP', 'ForceTCP'], 't': 's'},
                                'queryLogging': {'e': ['Error', 'Log'], 't': 's'},
                                'serveStale': {'e': ['Verify', 'Immediate', 'Disable'], 't': 's'},
                                'serveStaleDurationInSeconds': 'i'},
                          'r': []},
    'LocalDNSProfile': {'m': {'kubeDNSOverrides': {'of': 'LocalDNSOverride', 't': 'm'},
                               'mode': {'e': ['Preferred', 'Required', 'Disabled'], 't': 's'},
                               'vnetDNSOverrides': {'of': 'LocalDNSOverride', 't': 'm'}},
                         'r': []},
    'ManagedClusterAADProfile': {'m': {'adminGroupObjectIDs': {'of': 's', 't': 'a'},
                                        'clientAppID': 's',
                                        'enableAzureRBAC': 'b',
                                        'managed': 'b',
                                        'serverAppID': 's',
                                        'serverAppSecret': 's',
                                        'tenantID': 's'},
                                  'r': []},
    'ManagedClusterAIToolchainOperatorProfile': {'m': {'enabled': 'b'}, 'r': []},
    'ManagedClusterAPIServerAccessProfile': {'m': {'authorizedIPRanges': {'of': 's', 't': 'a'},
                                                    'disableRunCommand': 'b',
                                                    'enablePrivateCluster': 'b',
                                                    'enablePrivateClusterPublicFQDN': 'b',
                                                    'enableVnetIntegration': 'b',
                                                    'privateDNSZone': 's',
                                                    'subnetId': 's'},
                                              'r': []},
    'ManagedClusterAddonProfile': {'m': {'config': {'of': 's', 't': 'm'}, 'enabled': 'b'},
                                    'r': ['enabled']},
    'ManagedClusterAgentPoolProfile': {'m': {'availabilityZones': {'of': 's', 't': 'a'},
                                              'capacityReservationGroupID': 's',
                                              'count': 'i',
                                              'creationData': 'CreationData',
                                              'enableAutoScaling': 'b',
                                              'enableEncryptionAtHost': 'b',
                                              'enableFIPS': 'b',
                                              'enableNodePublicIP': 'b',
                                              'enableUltraSSD': 'b',
                                              'gatewayProfile': 'AgentPoolGatewayProfile',
                                              'gpuInstanceProfile': {'e': ['MIG1g', 'MIG2g',
                                                                           'MIG3g', 'MIG4g',
                                                                           'MIG7g'],
                                                                     't': 's'},
                                              'gpuProfile': 'GPUProfile',
                                              'hostGroupID': 's',
                                              'kubeletConfig': 'KubeletConfig',
                                              'kubeletDiskType': {'e': ['OS', 'Temporary'],
                                                                  't': 's'},
                                              'linuxOSConfig': 'LinuxOSConfig',
                                              'localDNSProfile': 'LocalDNSProfile',
                                              'maxCount': 'i',
                                              'maxPods': 'i',
                                              'messageOfTheDay': 's',
                                              'minCount': 'i',
                                              'mode': {'e': ['System', 'User', 'Gateway'],
                                                       't': 's'},
                                              'name': {'p': '^[a-z][a-z0-9]{0,11}$', 't': 's'},
                                              'networkProfile': 'AgentPoolNetworkProfile',
                                              'nodeLabels': {'of': 's', 't': 'm'},
                                              'nodePublicIPPrefixID': 's',
                                              'nodeTaints': {'of': 's', 't': 'a'},
                                              'orchestratorVersion': 's',
                                              'osDiskSizeGB': {'hi': 2048, 'lo': 0, 't': 'i'},
                                              'osDiskType': {'e': ['Managed', 'Ephemeral'],
                                                             't': 's'},
                                              'osSKU': {'e': ['Ubuntu', 'AzureLinux',
                                                              'AzureLinux3', 'CBLMariner',
                                                              'Windows2019', 'Windows2022',
                                                              'Ubuntu2204', 'Ubuntu2404'],
                                                        't': 's'},
                                              'osType': {'e': ['Linux', 'Windows'], 't': 's'},
                                              'podIPAllocationMode': {'e': ['DynamicIndividual',
                                                                            'StaticBlock'],
                                                                      't': 's'},
                                              'podSubnetID': 's',
                                              'powerState': 'PowerState',
                                              'proximityPlacementGroupID': 's',
                                              'scaleDownMode': {'e': ['Delete', 'Deallocate'],
                                                                't': 's'},
                                              'scaleSetEvictionPolicy': {'e': ['Delete',
                                                                               'Deallocate'],
                                                                         't': 's'},
                                              'scaleSetPriority': {'e': ['Spot', 'Regular'],
                                                                   't': 's'},
                                              'securityProfile': 'AgentPoolSecurityProfile',
                                              'spotMaxPrice': 'n',
                                              'status': 'AgentPoolStatus',
                                              'tags': {'of': 's', 't': 'm'},
                                              'type': {'e': ['VirtualMachineScaleSets',
                                                             'AvailabilitySet',
                                                             'VirtualMachines'],
                                                       't': 's'},
                                              'upgradeSettings': 'AgentPoolUpgradeSettings',
                                              'virtualMachineNodesStatus': {'of': 'VirtualMachineNodes',
                                                                            't': 'a'},
                                              'virtualMachinesProfile': 'VirtualMachinesProfile',
                                              'vmSize': 's',
                                              'vnetSubnetID': 's',
                                              'windowsProfile': 'AgentPoolWindowsProfile',
                                              'workloadRuntime': {'e': ['OCIContainer', 'WasmWasi',
                                                                        'KataVmIsolation'],
                                                                  't': 's'}},
                                        'r': ['name']},
    'ManagedClusterAgentPoolProfileProperties': {'m': {'availabilityZones': {'of': 's', 't': 'a'},
                                                        'capacityReservationGroupID': 's',
                                                        'count': 'i',
                                                        'creationData': 'CreationData',
                                                        'enableAutoScaling': 'b',
                                                        'enableEncryptionAtHost': 'b',
                                                        'enableFIPS': 'b',
                                                        'enableNodePublicIP': 'b',
                                                        'enableUltraSSD': 'b',
                                                        'gatewayProfile': 'AgentPoolGatewayProfile',
                                                        'gpuInstanceProfile': {'e': ['MIG1g',
                                                                                     'MIG2g',
                                                                                     'MIG3g',
                                                                                     'MIG4g',
                                                                                     'MIG7g'],
                                                                               't': 's'},
                                                        'gpuProfile': 'GPUProfile',
                                                        'hostGroupID': 's',
                                                        'kubeletConfig': 'KubeletConfig',
                                                        'kubeletDiskType': {'e': ['OS',
                                                                                  'Temporary'],
                                                                            't': 's'},
                                                        'linuxOSConfig': 'LinuxOSConfig',
                                                        'localDNSProfile': 'LocalDNSProfile',
                                                        'maxCount': 'i',
                                                        'maxPods': 'i',
                                                        'messageOfTheDay': 's',
                                                        'minCount': 'i',
                                                        'mode': {'e': ['System', 'User',
                                                                       'Gateway'],
                                                                 't': 's'},
                                                        'networkProfile': 'AgentPoolNetworkProfile',
                                                        'nodeLabels': {'of': 's', 't': 'm'},
                                                        'nodePublicIPPrefixID': 's',
                                                        'nodeTaints': {'of': 's', 't': 'a'},
                                                        'orchestratorVersion': 's',
                                                        'osDiskSizeGB': {'hi': 2048,
                                                                         'lo': 0,
                                                                         't': 'i'},
                                                        'osDiskType': {'e': ['Managed',
                                                                             'Ephemeral'],
                                                                       't': 's'},
                                                        'osSKU': {'e': ['Ubuntu', 'AzureLinux',
                                                                        'AzureLinux3',
                                                                        'CBLMariner',
                                                                        'Windows2019',
                                                                        'Windows2022',
                                                                        'Ubuntu2204',
                                                                        'Ubuntu2404'],
                                                                  't': 's'},
                                                        'osType': {'e': ['Linux', 'Windows'],
                                                                   't': 's'},
                                                        'podIPAllocationMode': {'e': ['DynamicIndividual',
                                                                                      'StaticBlock'],
                                                                                't': 's'},
                                                        'podSubnetID': 's',
                                                        'powerState': 'PowerState',
                                                        'proximityPlacementGroupID': 's',
                                                        'scaleDownMode': {'e': ['Delete',
                                                                                'Deallocate'],
                                                                          't': 's'},
                                                        'scaleSetEvictionPolicy': {'e': ['Delete',
                                                                                         'Deallocate'],
                                                                                   't': 's'},
                                                        'scaleSetPriority': {'e': ['Spot',
                                                                                   'Regular'],
                                                                             't': 's'},
                                                        'securityProfile': 'AgentPoolSecurityProfile',
                                                        'spotMaxPrice': 'n',
                                                        'status': 'AgentPoolStatus',
                                                        'tags': {'of': 's', 't': 'm'},
                                                        'type': {'e': ['VirtualMachineScaleSets',
                                                                       'AvailabilitySet',
                                                                       'VirtualMachines'],
                                                                 't': 's'},
                                                        'upgradeSettings': 'AgentPoolUpgradeSettings',
                                                        'virtualMachineNodesStatus': {'of': 'VirtualMachineNodes',
                                                                                      't': 'a'},
                                                        'virtualMachinesProfile': 'VirtualMachinesProfile',
                                                        'vmSize': 's',
                                                        'vnetSubnetID': 's',
                                                        'windowsProfile': 'AgentPoolWindowsProfile',
                                                        'workloadRuntime': {'e': ['OCIContainer',
                                                                                  'WasmWasi',
                                                                                  'KataVmIsolation'],
                                                                            't': 's'}},
                                                  'r': []},
    'ManagedClusterAutoUpgradeProfile': {'m': {'nodeOSUpgradeChannel': {'e': ['None', 'Unmanaged',
                                                                               'NodeImage',
                                                                               'SecurityPatch'],
                                                                         't': 's'},
                                                'upgradeChannel': {'e': ['rapid', 'stable',
                                                                         'patch', 'node-image',
                                                                         'none'],
                                                                   't': 's'}},
                                          'r': []},
    'ManagedClusterAzureMonitorProfile': {'m': {'metrics': 'ManagedClusterAzureMonitorProfileMetrics'},
                                           'r': []},
    'ManagedClusterAzureMonitorProfileKubeStateMetrics': {'m': {'metricAnnotationsAllowList': 's',
                                                                 'metricLabelsAllowlist': 's'},
                                                           'r': []},
    'ManagedClusterAzureMonitorProfileMetrics': {'m': {'enabled': 'b',
                                                        'kubeStateMetrics': 'ManagedClusterAzureMonitorProfileKubeStateMetrics'},
                                                  'r': ['enabled']},
    'ManagedClusterBootstrapProfile': {'m': {'artifactSource': {'e': ['Cache', 'Direct'],
                                                                 't': 's'},
                                              'containerRegistryId': 's'},
                                        'r': []},
    'ManagedClusterCostAnalysis': {'m': {'enabled': 'b'}, 'r': []},
    'ManagedClusterHttpProxyConfig': {'m': {'httpProxy': 's',
                                             'httpsProxy': 's',
                                             'noProxy': {'of': 's', 't': 'a'},
                                             'trustedCa': 's'},
                                       'r': []},
    'ManagedClusterIdentity': {'m': {'delegatedResources': {'of': 'DelegatedResource', 't': 'm'},
                                      'type': {'e': ['SystemAssigned', 'UserAssigned', 'None'],
                                               't': 's'},
                                      'userAssignedIdentities': {'of': 'ManagedServiceIdentityUserAssignedIdentitiesValue',
                                                                 't': 'm'}},
                                'r': []},
    'ManagedClusterIngressProfile': {'m': {'webAppRouting': 'ManagedClusterIngressProfileWebAppRouting'},
                                      'r': []},
    'ManagedClusterIngressProfileNginx': {'m': {'defaultIngressControllerType': {'e': ['AnnotationControlled',
                                                                                        'External',
                                                                                        'Internal',
                                                                                        'None'],
                                                                                  't': 's'}},
                                           'r': []},
    'ManagedClusterIngressProfileWebAppRouting': {'m': {'dnsZoneResourceIds': {'of': 's',
                                                                                't': 'a'},
                                                         'enabled': 'b',
                                                         'nginx': 'ManagedClusterIngressProfileNginx'},
                                                   'r': []},
    'ManagedClusterLoadBalancerProfile': {'m': {'allocatedOutboundPorts': {'hi': 64000,
                                                                            'lo': 0,
                                                                            't': 'i'},
                                                 'backendPoolType': {'e': ['NodeIPConfiguration',
                                                                           'NodeIP'],
                                                                     't': 's'},
                                                 'enableMultipleStandardLoadBalancers': 'b',
                                                 'idleTimeoutInMinutes': {'hi': 120,
                                                                          'lo': 4,
                                                                          't': 'i'},
                                                 'managedOutboundIPs': 'ManagedClusterLoadBalancerProfileManagedOutboundIPs',
                                                 'outboundIPPrefixes': 'ManagedClusterLoadBalancerProfileOutboundIPPrefixes',
                                                 'outboundIPs': 'ManagedClusterLoadBalancerProfileOutboundIPs'},
                                           'r': []},
    'ManagedClusterLoadBalancerProfileManagedOutboundIPs': {'m': {'count': {'hi': 100,
                                                                             'lo': 1,
                                                                             't': 'i'},
                                                                   'countIPv6': {'hi': 100,
                                                                                 'lo': 0,
                                                                                 't': 'i'}},
                                                             'r': []},
    'ManagedClusterLoadBalancerProfileOutboundIPPrefixes': {'m': {'publicIPPrefixes': {'of': 'ResourceReference',
                                                                                        't': 'a'}},
                                                             'r': []},
    'ManagedClusterLoadBalancerProfileOutboundIPs': {'m': {'publicIPs': {'of': 'ResourceReference',
                                                                          't': 'a'}},
                                                      'r': []},
    'ManagedClusterManagedOutboundIPProfile': {'m': {'count': {'hi': 16, 'lo': 1, 't': 'i'}},
                                                'r': []},
    'ManagedClusterMetricsProfile': {'m': {'costAnalysis': 'ManagedClusterCostAnalysis'},
                                      'r': []},
    'ManagedClusterNATGatewayProfile': {'m': {'idleTimeoutInMinutes': {'hi': 120,
                                                                        'lo': 4,
                                                                        't': 'i'},
                                               'managedOutboundIPProfile': 'ManagedClusterManagedOutboundIPProfile'},
                                         'r': []},
    'ManagedClusterNodeProvisioningProfile': {'m': {'defaultNodePools': {'e': ['None', 'Auto'],
                                                                          't': 's'},
                                                     'mode': {'e': ['Manual', 'Auto'], 't': 's'}},
                                               'r': []},
    'ManagedClusterNodeResourceGroupProfile': {'m': {'restrictionLevel': {'e': ['Unrestricted',
                                                                                 'ReadOnly'],
                                                                           't': 's'}},
                                                'r': []},
    'ManagedClusterOidcIssuerProfile': {'m': {'enabled': 'b'}, 'r': []},
    'ManagedClusterPodIdentity': {'m': {'bindingSelector': 's',
                                         'identity': 'UserAssignedIdentity',
                                         'name': 's',
                                         'namespace': 's'},
                                   'r': ['name', 'namespace', 'identity']},
    'ManagedClusterPodIdentityException': {'m': {'name': 's',
                                                  'namespace': 's',
                                                  'podLabels': {'of': 's', 't': 'm'}},
                                            'r': ['name', 'namespace', 'podLabels']},
    'ManagedClusterPodIdentityProfile': {'m': {'allowNetworkPluginKubenet': 'b',
                                                'enabled': 'b',
                                                'userAssignedIdentities': {'of': 'ManagedClusterPodIdentity',
                                                                           't': 'a'},
                                                'userAssignedIdentityExceptions': {'of': 'ManagedClusterPodIdentityException',
                                                                                   't': 'a'}},
                                          'r': []},
    'ManagedClusterProperties': {'m': {'aadProfile': 'ManagedClusterAADProfile',
                                        'addonProfiles': {'of': 'ManagedClusterAddonProfile',
                                                          't': 'm'},
                                        'agentPoolProfiles': {'of': 'ManagedClusterAgentPoolProfile',
                                                              't': 'a'},
                                        'aiToolchainOperatorProfile': 'ManagedClusterAIToolchainOperatorProfile',
                                        'apiServerAccessProfile': 'ManagedClusterAPIServerAccessProfile',
                                        'autoScalerProfile': 'ManagedClusterPropertiesAutoScalerProfile',
                                        'autoUpgradeProfile': 'ManagedClusterAutoUpgradeProfile',
                                        'azureMonitorProfile': 'ManagedClusterAzureMonitorProfile',
                                        'bootstrapProfile': 'ManagedClusterBootstrapProfile',
                                        'disableLocalAccounts': 'b',
                                        'diskEncryptionSetID': 's',
                                        'dnsPrefix': 's',
                                        'enableRBAC': 'b',
                                        'fqdnSubdomain': 's',
                                        'httpProxyConfig': 'ManagedClusterHttpProxyConfig',
                                        'identityProfile': {'of': 'UserAssignedIdentity',
                                                            't': 'm'},
                                        'ingressProfile': 'ManagedClusterIngressProfile',
                                        'kubernetesVersion': 's',
                                        'linuxProfile': 'ContainerServiceLinuxProfile',
                                        'metricsProfile': 'ManagedClusterMetricsProfile',
                                        'networkProfile': 'ContainerServiceNetworkProfile',
                                        'nodeProvisioningProfile': 'ManagedClusterNodeProvisioningProfile',
                                        'nodeResourceGroup': 's',
                                        'nodeResourceGroupProfile': 'ManagedClusterNodeResourceGroupProfile',
                                        'oidcIssuerProfile': 'ManagedClusterOidcIssuerProfile',
                                        'podIdentityProfile': 'ManagedClusterPodIdentityProfile',
                                        'privateLinkResources': {'of': 'PrivateLinkResource',
                                                                 't': 'a'},
                                        'publicNetworkAccess': {'e': ['Enabled', 'Disabled'],
                                                                't': 's'},
                                        'securityProfile': 'ManagedClusterSecurityProfile',
                                        'serviceMeshProfile': 'ServiceMeshProfile',
                                        'servicePrincipalProfile': 'ManagedClusterServicePrincipalProfile',
                                        'status': 'ManagedClusterStatus',
                                        'storageProfile': 'ManagedClusterStorageProfile',
                                        'supportPlan': {'e': ['KubernetesOfficial',
                                                              'AKSLongTermSupport'],
                                                        't': 's'},
                                        'upgradeSettings': 'ClusterUpgradeSettings',
                                        'windowsProfile': 'ManagedClusterWindowsProfile',
                                        'workloadAutoScalerProfile': 'ManagedClusterWorkloadAutoScalerProfile'},
                                  'r': []},
    'ManagedClusterPropertiesAutoScalerProfile': {'m': {'balance-similar-node-groups': 's',
                                                         'daemonset-eviction-for-empty-nodes': 'b',
                                                         'daemonset-eviction-for-occupied-nodes': 'b',
                                                         'expander': {'e': ['least-waste',
                                                                            'most-pods',
                                                                            'priority', 'random'],
                                                                      't': 's'},
                                                         'ignore-daemonsets-utilization': 'b',
                                                         'max-empty-bulk-delete': 's',
                                                         'max-graceful-termination-sec': 's',
                                                         'max-node-provision-time': 's',
                                                         'max-total-unready-percentage': 's',
                                                         'new-pod-scale-up-delay': 's',
                                                         'ok-total-unready-count': 's',
                                                         'scale-down-delay-after-add': 's',
                                                         'scale-down-delay-after-delete': 's',
                                                         'scale-down-delay-after-failure': 's',
                                                         'scale-down-unneeded-time': 's',
                                                         'scale-down-unready-time': 's',
                                                         'scale-down-utilization-threshold': 's',
                                                         'scan-interval': 's',
                                                         'skip-nodes-with-local-storage': 's',
                                                         'skip-nodes-with-system-pods': 's'},
                                                   'r': []},
    'ManagedClusterSKU': {'m': {'name': {'e': ['Base', 'Automatic'], 't': 's'},
                                 'tier': {'e': ['Premium', 'Standard', 'Free'], 't': 's'}},
                           'r': []},
    'ManagedClusterSecurityProfile': {'m': {'azureKeyVaultKms': 'AzureKeyVaultKms',
                                             'customCATrustCertificates': {'of': {'t': 'any'},
                                                                           't': 'a'},
                                             'defender': 'ManagedClusterSecurityProfileDefender',
                                             'imageCleaner': 'ManagedClusterSecurityProfileImageCleaner',
                                             'workloadIdentity': 'ManagedClusterSecurityProfileWorkloadIdentity'},
                                       'r': []},
    'ManagedClusterSecurityProfileDefender': {'m': {'logAnalyticsWorkspaceResourceId': 's',
                                                     'securityMonitoring': 'ManagedClusterSecurityProfileDefenderSecurityMonitoring'},
                                               'r': []},
    'ManagedClusterSecurityProfileDefenderSecurityMonitoring': {'m': {'enabled': 'b'}, 'r': []},
    'ManagedClusterSecurityProfileImageCleaner': {'m': {'enabled': 'b', 'intervalHours': 'i'},
                                                   'r': []},
    'ManagedClusterSecurityProfileWorkloadIdentity': {'m': {'enabled': 'b'}, 'r': []},
    'ManagedClusterServicePrincipalProfile': {'m': {'clientId': 's', 'secret': 's'},
                                               'r': ['clientId']},
    'ManagedClusterStaticEgressGatewayProfile': {'m': {'enabled': 'b'}, 'r': []},
    'ManagedClusterStatus': {'m': {}, 'r': []},
    'ManagedClusterStorageProfile': {'m': {'blobCSIDriver': 'ManagedClusterStorageProfileBlobCSIDriver',
                                            'diskCSIDriver': 'ManagedClusterStorageProfileDiskCSIDriver',
                                            'fileCSIDriver': 'ManagedClusterStorageProfileFileCSIDriver',
                                            'snapshotController': 'ManagedClusterStorageProfileSnapshotController'},
                                      'r': []},
    'ManagedClusterStorageProfileBlobCSIDriver': {'m': {'enabled': 'b'}, 'r': []},
    'ManagedClusterStorageProfileDiskCSIDriver': {'m': {'enabled': 'b'}, 'r': []},
    'ManagedClusterStorageProfileFileCSIDriver': {'m': {'enabled': 'b'}, 'r': []},
    'ManagedClusterStorageProfileSnapshotController': {'m': {'enabled': 'b'}, 'r': []},
    'ManagedClusterWindowsProfile': {'m': {'adminPassword': 's',
                                            'adminUsername': 's',
                                            'enableCSIProxy': 'b',
                                            'gmsaProfile': 'WindowsGmsaProfile',
                                            'licenseType': {'e': ['None', 'Windows_Server'],
                                                            't': 's'}},
                                      'r': ['adminUsername']},
    'ManagedClusterWorkloadAutoScalerProfile': {'m': {'keda': 'ManagedClusterWorkloadAutoScalerProfileKeda',
                                                       'verticalPodAutoscaler': 'ManagedClusterWorkloadAutoScalerProfileVerticalPodAutoscaler'},
                                                 'r': []},
    'ManagedClusterWorkloadAutoScalerProfileKeda': {'m': {'enabled': 'b'}, 'r': ['enabled']},
    'ManagedClusterWorkloadAutoScalerProfileVerticalPodAutoscaler': {'m': {'enabled': 'b'},
                                                                      'r': ['enabled']},
    'ManagedServiceIdentityUserAssignedIdentitiesValue': {'m': {}, 'r': []},
    'ManualScaleProfile': {'m': {'count': 'i', 'size': 's'}, 'r': []},
    'PortRange': {'m': {'portEnd': {'hi': 65535, 'lo': 1, 't': 'i'},
                         'portStart': {'hi': 65535, 'lo': 1, 't': 'i'},
                         'protocol': {'e': ['TCP', 'UDP'], 't': 's'}},
                   'r': []},
    'PowerState': {'m': {'code': {'e': ['Running', 'Stopped'], 't': 's'}}, 'r': []},
    'PrivateLinkResource': {'m': {'groupId': 's',
                                   'id': 's',
                                   'name': 's',
                                   'requiredMembers': {'of': 's', 't': 'a'},
                                   'type': 's'},
                             'r': []},
    'ResourceReference': {'m': {'id': 's'}, 'r': []},
    'ScaleProfile': {'m': {'manual': {'of': 'ManualScaleProfile', 't': 'a'}}, 'r': []},
    'ServiceMeshProfile': {'m': {'istio': 'IstioServiceMesh',
                                  'mode': {'e': ['Istio', 'Disabled'], 't': 's'}},
                            'r': ['mode']},
    'SysctlConfig': {'m': {'fsAioMaxNr': 'i',
                            'fsFileMax': 'i',
                            'fsInotifyMaxUserWatches': 'i',
                            'fsNrOpen': 'i',
                            'kernelThreadsMax': 'i',
                            'netCoreNetdevMaxBacklog': 'i',
                            'netCoreOptmemMax': 'i',
                            'netCoreRmemDefault': 'i',
                            'netCoreRmemMax': 'i',
                            'netCoreSomaxconn': 'i',
                            'netCoreWmemDefault': 'i',
                            'netCoreWmemMax': 'i',
                            'netIpv4IpLocalPortRange': 's',
                            'netIpv4NeighDefaultGcThresh1': 'i',
                            'netIpv4NeighDefaultGcThresh2': 'i',
                            'netIpv4NeighDefaultGcThresh3': 'i',
                            'netIpv4TcpFinTimeout': 'i',
                            'netIpv4TcpKeepaliveProbes': 'i',
                            'netIpv4TcpKeepaliveTime': 'i',
                            'netIpv4TcpMaxSynBacklog': 'i',
                            'netIpv4TcpMaxTwBuckets': 'i',
                            'netIpv4TcpTwReuse': 'b',
                            'netIpv4TcpkeepaliveIntvl': {'hi': 90, 'lo': 10, 't': 'i'},
                            'netNetfilterNfConntrackBuckets': {'hi': 524288,
                                                               'lo': 65536,
                                                               't': 'i'},
                            'netNetfilterNfConntrackMax': {'hi': 2097152, 'lo': 131072, 't': 'i'},
                            'vmMaxMapCount': 'i',
                            'vmSwappiness': 'i',
                            'vmVfsCachePressure': 'i'},
                      'r': []},
    'UpgradeOverrideSettings': {'m': {'forceUpgrade': 'b', 'until': 's'}, 'r': []},
    'UserAssignedIdentity': {'m': {'clientId': 's', 'objectId': 's', 'resourceId': 's'}, 'r': []},
    'VirtualMachineNodes': {'m': {'count': 'i', 'size': 's'}, 'r': []},
    'VirtualMachinesProfile': {'m': {'scale': 'ScaleProfile'}, 'r': []},
    'WindowsGmsaProfile': {'m': {'dnsServer': 's', 'enabled': 'b', 'rootDomainName': 's'},
                            'r': []},
    'managedClusters': {'m': {'extendedLocation': 'ExtendedLocation',
                               'identity': 'ManagedClusterIdentity',
                               'kind': 's',
                               'location': 's',
                               'name': {'hi': 63,
                                        'lo': 1,
                                        'p': '^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$',
                                        't': 's'},
                               'properties': 'ManagedClusterProperties',
                               'sku': 'ManagedClusterSKU',
                               'tags': {'of': 's', 't': 'm'}},
                         'r': []},
    'managedClusters_agentPools': {'m': {'name': {'hi': 12,
                                                   'lo': 1,
                                                   'p': '^[a-z][a-z0-9]{0,11}$',
                                                   't': 's'},
                                          'properties': 'ManagedClusterAgentPoolProfileProperties'},
                                    'r': []},
}


if __name__ == "__main__":
    sys.exit(main())
