#!/usr/bin/env python3
"""eksemu: an emulator of the AWS EKS control-plane API (rest-json, SigV4) and of the
one STS call that EKS Kubernetes tokens use, for hcr's tests. Standard library only.

    python3 tests/emulators/eksemu.py [--port 0] [--max-seconds 1800]
        [--keys AKID:SECRET[:SESSIONTOKEN],...] [--account 123456789012] [--no-auth]
        [--create-seconds 600] [--update-seconds 60] [--nodegroup-seconds 120]
        [--delete-seconds 300] [--rate-per-s 0] [--verbose]

The first line on stdout is "listening on 127.0.0.1:<port>". The server stops by
itself when the process that started it dies, or after --max-seconds.

Paths, member names, response shapes and error shapes follow the EKS service model
(apiVersion 2017-11-01). Lifecycles run on a test-controlled clock: wall time plus an
offset that POST /admin/clock {"advance": seconds} increases. Signature checks use
real wall time. docs/eksemu.md describes every route, the admin API, the clock, the
faults and how this differs from the real service.
"""

import argparse
import base64
import copy
import datetime
import hashlib
import hmac
import ipaddress
import json
import os
import re
import sys
import time
import urllib.parse
import uuid
from xml.sax.saxutils import escape as xml_escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # emucore.py is next to this file
import emucore  # noqa: E402  (the clock, faults, call log and HTTP plumbing of every emulator)
from emucore import admin_route, merge_patch  # noqa: E402

DEFAULT_KEYS = "AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
MAX_SKEW = 300  # seconds between X-Amz-Date and real time
KUBE_TOKEN_LIFETIME = 900  # aws-iam-authenticator accepts tokens signed in the last 15 min
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
ISO_BASIC = "%Y%m%dT%H%M%SZ"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"

ACTIVE, CREATING, DELETING, FAILED, UPDATING = "ACTIVE", "CREATING", "DELETING", "FAILED", "UPDATING"
CREATE_FAILED = "CREATE_FAILED"
IN_PROGRESS, SUCCESSFUL, UPDATE_FAILED = "InProgress", "Successful", "Failed"

# A real self-signed certificate (EC P-256, CN=kubernetes, valid 2020-2119). Its key was
# thrown away: the emulator has no Kubernetes API server. Every cluster shows this CA.
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

LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
AUTH_MODES = ["CONFIG_MAP", "API_AND_CONFIG_MAP", "API"]  # in the only order EKS allows
TAINT_EFFECTS = ["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"]
AMI_TYPES = [
    "AL2_x86_64", "AL2_x86_64_GPU", "AL2_ARM_64", "CUSTOM", "BOTTLEROCKET_ARM_64",
    "BOTTLEROCKET_x86_64", "BOTTLEROCKET_ARM_64_FIPS", "BOTTLEROCKET_x86_64_FIPS",
    "BOTTLEROCKET_ARM_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA", "BOTTLEROCKET_ARM_64_NVIDIA_FIPS",
    "BOTTLEROCKET_x86_64_NVIDIA_FIPS", "WINDOWS_CORE_2019_x86_64", "WINDOWS_FULL_2019_x86_64",
    "WINDOWS_CORE_2022_x86_64", "WINDOWS_FULL_2022_x86_64", "WINDOWS_CORE_2025_x86_64",
    "WINDOWS_FULL_2025_x86_64", "AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD",
    "AL2023_x86_64_NEURON", "AL2023_x86_64_NVIDIA", "AL2023_ARM_64_NVIDIA"]
CAPACITY_TYPES = ["ON_DEMAND", "SPOT", "CAPACITY_BLOCK"]
CP_TIERS = ["standard", "tier-xl", "tier-2xl", "tier-4xl", "tier-8xl"]

# Kubernetes minor versions the emulator accepts (1.23 .. 1.35), the default for
# CreateCluster, and the patch level / platform version it reports for each.
SUPPORTED_MINORS = range(23, 36)
DEFAULT_VERSION = "1.33"
KUBE_PATCH = {23: 17, 24: 17, 25: 16, 26: 15, 27: 16, 28: 15, 29: 15, 30: 14, 31: 13,
              32: 9, 33: 5, 34: 2, 35: 0}
PLATFORM = {23: 23, 24: 27, 25: 28, 26: 29, 27: 33, 28: 38, 29: 41, 30: 38, 31: 33,
            32: 22, 33: 14, 34: 6, 35: 1}
AMI_RELEASE_DATE = "20261101"

CLUSTER_NAME_RE = re.compile(r"[0-9A-Za-z][A-Za-z0-9\-_]*")  # the model's ClusterName pattern
NODEGROUP_NAME_RE = re.compile(r"[0-9A-Za-z][A-Za-z0-9\-_]*")

# Members of each model error shape besides "message" (sent as null when not known).
ERROR_MEMBERS = {
    "InvalidParameterException": ("clusterName", "nodegroupName", "fargateProfileName",
                                  "addonName", "subscriptionId"),
    "ResourceNotFoundException": ("clusterName", "nodegroupName", "fargateProfileName",
                                  "addonName", "subscriptionId"),
    "ResourceInUseException": ("clusterName", "nodegroupName", "addonName"),
    "InvalidRequestException": ("clusterName", "nodegroupName", "addonName", "subscriptionId"),
    "ClientException": ("clusterName", "nodegroupName", "addonName", "subscriptionId"),
    "ServerException": ("clusterName", "nodegroupName", "addonName", "subscriptionId"),
    "ResourceLimitExceededException": ("clusterName", "nodegroupName", "subscriptionId"),
    "ThrottlingException": ("clusterName",),
    "InvalidStateException": ("clusterName",),
}
# The error code a status fault answers with, unless the fault names one.
FAULT_CODES = {400: "InvalidParameterException", 403: "AccessDeniedException",
               404: "ResourceNotFoundException", 409: "ResourceInUseException",
               429: "ThrottlingException", 500: "ServerException",
               502: "ServiceUnavailableException", 503: "ServiceUnavailableException",
               504: "ServiceUnavailableException"}


class ApiError(Exception):
    """A refused EKS call: status, x-amzn-ErrorType and a JSON body of the shape's members."""

    def __init__(self, status, code, message, cluster=None, nodegroup=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.cluster, self.nodegroup = cluster, nodegroup

    def body(self):
        d = {m: None for m in ERROR_MEMBERS.get(self.code, ())}
        if "clusterName" in d:
            d["clusterName"] = self.cluster
        if "nodegroupName" in d:
            d["nodegroupName"] = self.nodegroup
        d["message"] = self.message
        return d


class StsError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def invalid(message, cluster=None, nodegroup=None):
    return ApiError(400, "InvalidParameterException", message, cluster, nodegroup)


def bad_request(message, cluster=None, nodegroup=None):
    return ApiError(400, "BadRequestException", message)


def in_use(message, cluster=None, nodegroup=None):
    return ApiError(409, "ResourceInUseException", message, cluster, nodegroup)


# ---- request shapes (from the model's input shapes) -----------------------------------


class Str:
    def __init__(self, lo=None, hi=None, pattern=None, enum=None):
        self.lo, self.hi, self.pattern, self.enum = lo, hi, pattern, enum


class Int:
    def __init__(self, lo=None, hi=None):
        self.lo, self.hi = lo, hi


class Bool:
    pass


class Lst:
    def __init__(self, item, lo=None, hi=None):
        self.item, self.lo, self.hi = item, lo, hi


class Map:
    def __init__(self, key, value, lo=None, hi=None):
        self.key, self.value, self.lo, self.hi = key, value, lo, hi


class Obj:
    def __init__(self, members, required=()):
        self.members, self.required = members, tuple(required)


def _join(where, name):
    return f"{where}.{name}" if where else name


def check(value, shape, where, err):
    """Checks a decoded JSON value against a shape; raises err(message naming the member).
    JSON null counts as absent; members the model does not know are ignored (as AWS does)."""
    if isinstance(shape, Obj):
        if not isinstance(value, dict):
            raise err(f"Invalid type for parameter {where or 'body'}: expected a JSON object")
        for name in shape.required:
            if value.get(name) is None:
                raise err(f"Missing required parameter: {_join(where, name)}")
        for name, sub in shape.members.items():
            if value.get(name) is not None:
                check(value[name], sub, _join(where, name), err)
    elif isinstance(shape, Str):
        if not isinstance(value, str):
            raise err(f"Invalid type for parameter {where}: expected a string")
        if shape.lo is not None and len(value) < shape.lo:
            raise err(f"Invalid length for parameter {where}: minimum length is {shape.lo}")
        if shape.hi is not None and len(value) > shape.hi:
            raise err(f"Invalid length for parameter {where}: maximum length is {shape.hi}")
        if shape.enum is not None and value not in shape.enum:
            raise err(f"Invalid value for parameter {where}: {value!r}; valid values: "
                      + ", ".join(shape.enum))
        if shape.pattern is not None and not shape.pattern.fullmatch(value):
            raise err(f"Invalid value for parameter {where}: {value!r} must satisfy the "
                      f"regular expression pattern: ^{shape.pattern.pattern}$")
    elif isinstance(shape, Int):
        if not isinstance(value, int) or isinstance(value, bool):
            raise err(f"Invalid type for parameter {where}: expected an integer")
        if shape.lo is not None and value < shape.lo:
            raise err(f"Invalid value for parameter {where}: minimum value is {shape.lo}")
        if shape.hi is not None and value > shape.hi:
            raise err(f"Invalid value for parameter {where}: maximum value is {shape.hi}")
    elif isinstance(shape, Bool):
        if not isinstance(value, bool):
            raise err(f"Invalid type for parameter {where}: expected a boolean")
    elif isinstance(shape, Lst):
        if not isinstance(value, list):
            raise err(f"Invalid type for parameter {where}: expected a list")
        if shape.lo is not None and len(value) < shape.lo:
            raise err(f"Invalid length for parameter {where}: at least {shape.lo} item(s)")
        if shape.hi is not None and len(value) > shape.hi:
            raise err(f"Invalid length for parameter {where}: at most {shape.hi} item(s)")
        for i, v in enumerate(value):
            if v is None:
                raise err(f"Invalid value for parameter {where}[{i}]: null")
            check(v, shape.item, f"{where}[{i}]", err)
    elif isinstance(shape, Map):
        if not isinstance(value, dict):
            raise err(f"Invalid type for parameter {where}: expected a JSON object (map)")
        if shape.lo is not None and len(value) < shape.lo:
            raise err(f"Invalid length for parameter {where}: at least {shape.lo} entries")
        if shape.hi is not None and len(value) > shape.hi:
            raise err(f"Invalid length for parameter {where}: at most {shape.hi} entries")
        for k, v in value.items():
            check(k, shape.key, f"{where} key", err)
            if v is None:
                raise err(f"Invalid value for parameter {where}.{k}: null")
            check(v, shape.value, f"{where}.{k}", err)


S, B = Str(), Bool()
SL = Lst(S)
TAG_MAP = Map(Str(1, 128), Str(0, 256), 1, 50)
LOGGING = Obj({"clusterLogging": Lst(Obj({"types": Lst(Str(enum=LOG_TYPES)), "enabled": B}))})
VPC_REQ = Obj({"subnetIds": SL, "securityGroupIds": SL, "endpointPublicAccess": B,
               "endpointPrivateAccess": B, "publicAccessCidrs": SL})
KNC_REQ = Obj({"serviceIpv4Cidr": S, "ipFamily": Str(enum=["ipv4", "ipv6"]),
               "elasticLoadBalancing": Obj({"enabled": B})})
ENCRYPTION = Lst(Obj({"resources": SL, "provider": Obj({"keyArn": S})}), hi=1)
OUTPOST = Obj({"outpostArns": SL, "controlPlaneInstanceType": S,
               "controlPlanePlacement": Obj({"groupName": S})},
              required=["outpostArns", "controlPlaneInstanceType"])
UPGRADE_POLICY = Obj({"supportType": Str(enum=["STANDARD", "EXTENDED"])})
ZONAL_SHIFT = Obj({"enabled": B})
REMOTE_NETWORK = Obj({"remoteNodeNetworks": Lst(Obj({"cidrs": SL}), hi=1),
                      "remotePodNetworks": Lst(Obj({"cidrs": SL}), hi=1)})
COMPUTE = Obj({"enabled": B, "nodePools": SL, "nodeRoleArn": S})
STORAGE = Obj({"blockStorage": Obj({"enabled": B})})
CP_SCALING = Obj({"tier": Str(enum=CP_TIERS)})

CREATE_CLUSTER = Obj({
    "name": Str(1, 100, CLUSTER_NAME_RE), "version": S, "roleArn": S,
    "resourcesVpcConfig": VPC_REQ, "kubernetesNetworkConfig": KNC_REQ, "logging": LOGGING,
    "clientRequestToken": S, "tags": TAG_MAP, "encryptionConfig": ENCRYPTION,
    "outpostConfig": OUTPOST,
    "accessConfig": Obj({"bootstrapClusterCreatorAdminPermissions": B,
                         "authenticationMode": Str(enum=AUTH_MODES)}),
    "bootstrapSelfManagedAddons": B, "upgradePolicy": UPGRADE_POLICY,
    "zonalShiftConfig": ZONAL_SHIFT, "remoteNetworkConfig": REMOTE_NETWORK,
    "computeConfig": COMPUTE, "storageConfig": STORAGE, "deletionProtection": B,
    "controlPlaneScalingConfig": CP_SCALING,
}, required=["name", "roleArn", "resourcesVpcConfig"])

UPDATE_CLUSTER_VERSION = Obj({"version": S, "clientRequestToken": S, "force": B},
                             required=["version"])

UPDATE_CLUSTER_CONFIG = Obj({
    "resourcesVpcConfig": VPC_REQ, "logging": LOGGING, "clientRequestToken": S,
    "accessConfig": Obj({"authenticationMode": Str(enum=AUTH_MODES)}),
    "upgradePolicy": UPGRADE_POLICY, "zonalShiftConfig": ZONAL_SHIFT, "computeConfig": COMPUTE,
    "kubernetesNetworkConfig": KNC_REQ, "storageConfig": STORAGE,
    "remoteNetworkConfig": REMOTE_NETWORK, "deletionProtection": B,
    "controlPlaneScalingConfig": CP_SCALING,
})

SCALING = Obj({"minSize": Int(0), "maxSize": Int(1), "desiredSize": Int(0)})
TAINT = Obj({"key": Str(1, 63), "value": Str(0, 63), "effect": Str(enum=TAINT_EFFECTS)})
TAINTS = Lst(TAINT, hi=50)
LABELS = Map(Str(1, 63), Str(1, 63))
LAUNCH_TEMPLATE = Obj({"name": S, "version": S, "id": S})
NG_UPDATE_CONFIG = Obj({"maxUnavailable": Int(1), "maxUnavailablePercentage": Int(1, 100),
                        "updateStrategy": Str(enum=["DEFAULT", "MINIMAL"])})
NODE_REPAIR = Obj({
    "enabled": B, "maxUnhealthyNodeThresholdCount": Int(1),
    "maxUnhealthyNodeThresholdPercentage": Int(1, 100), "maxParallelNodesRepairedCount": Int(1),
    "maxParallelNodesRepairedPercentage": Int(1, 100),
    "nodeRepairConfigOverrides": Lst(Obj({
        "nodeMonitoringCondition": S, "nodeUnhealthyReason": S, "minRepairWaitTimeMins": Int(1),
        "repairAction": Str(enum=["Replace", "Reboot", "NoAction"])})),
})
WARM_POOL = Obj({"enabled": B, "minSize": Int(0), "maxGroupPreparedCapacity": Int(),
                 "poolState": Str(enum=["STOPPED", "RUNNING", "HIBERNATED"]),
                 "reuseOnScaleIn": B})

CREATE_NODEGROUP = Obj({
    "nodegroupName": Str(1, 63, NODEGROUP_NAME_RE), "scalingConfig": SCALING, "diskSize": Int(1),
    "subnets": SL, "instanceTypes": SL, "amiType": Str(enum=AMI_TYPES),
    "remoteAccess": Obj({"ec2SshKey": S, "sourceSecurityGroups": SL}), "nodeRole": S,
    "labels": LABELS, "taints": TAINTS, "tags": TAG_MAP, "clientRequestToken": S,
    "launchTemplate": LAUNCH_TEMPLATE, "updateConfig": NG_UPDATE_CONFIG,
    "nodeRepairConfig": NODE_REPAIR, "capacityType": Str(enum=CAPACITY_TYPES), "version": S,
    "releaseVersion": S, "warmPoolConfig": WARM_POOL,
}, required=["nodegroupName", "subnets", "nodeRole"])

UPDATE_NODEGROUP_CONFIG = Obj({
    "labels": Obj({"addOrUpdateLabels": LABELS, "removeLabels": SL}),
    "taints": Obj({"addOrUpdateTaints": TAINTS, "removeTaints": TAINTS}),
    "scalingConfig": SCALING, "updateConfig": NG_UPDATE_CONFIG, "nodeRepairConfig": NODE_REPAIR,
    "warmPoolConfig": WARM_POOL, "clientRequestToken": S,
})

UPDATE_NODEGROUP_VERSION = Obj({"version": S, "releaseVersion": S,
                                "launchTemplate": LAUNCH_TEMPLATE, "force": B,
                                "clientRequestToken": S})

TAG_RESOURCE = Obj({"tags": TAG_MAP}, required=["tags"])


# ---- small helpers ---------------------------------------------------------------------


def minor_of(version):
    """"1.29" -> 29, or None when it is not a 1.N version."""
    m = re.fullmatch(r"1\.(\d{1,3})", version) if isinstance(version, str) else None
    return int(m.group(1)) if m else None


def default_ami(version):
    minor = minor_of(version)
    # EKS managed node groups default to AL2023 from Kubernetes 1.30 on.
    return "AL2023_x86_64_STANDARD" if minor is not None and minor >= 30 else "AL2_x86_64"


def release_version(version):
    minor = minor_of(version)
    return f"{version}.{KUBE_PATCH.get(minor, 0)}-{AMI_RELEASE_DATE}"


def platform_version(version):
    return f"eks.{PLATFORM.get(minor_of(version), 1)}"


def rand_hex(n):
    return uuid.uuid4().hex[:n]


def logging_view(enabled):
    """The clusterLogging list as EKS shows it: one entry per enabled state."""
    on = [t for t in LOG_TYPES if t in enabled]
    off = [t for t in LOG_TYPES if t not in enabled]
    out = []
    if on:
        out.append({"types": on, "enabled": True})
    if off:
        out.append({"types": off, "enabled": False})
    return {"clusterLogging": out}


def enabled_logs(logging):
    enabled = set()
    for entry in (logging or {}).get("clusterLogging") or []:
        if entry.get("enabled"):
            enabled.update(entry.get("types") or [])
    return enabled


def apply_logging(enabled, request, err):
    """The enabled set after a logging request; a type named twice is refused."""
    seen, result = set(), set(enabled)
    for entry in request.get("clusterLogging") or []:
        for t in entry.get("types") or []:
            if t in seen:
                raise err(f"Log type {t} is specified more than once in the logging configuration")
            seen.add(t)
            if entry.get("enabled"):
                result.add(t)
            else:
                result.discard(t)
    return result


def check_tags(tags, err, existing=None):
    total = dict(existing or {})
    for k, v in tags.items():
        if k.lower().startswith("aws:"):
            raise err(f"Tag key {k!r}: the 'aws:' prefix is reserved for AWS use")
        if not 1 <= len(k) <= 128:
            raise err(f"Tag key {k!r} must be 1 to 128 characters long")
        if not isinstance(v, str) or len(v) > 256:
            raise err(f"Tag value for key {k!r} must be a string of at most 256 characters")
        total[k] = v
    if len(total) > 50:
        raise err(f"A resource can have at most 50 tags; this request would give it {len(total)}")


def amz_time(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(ISO_BASIC)


def parse_amz_date(text):
    try:
        return datetime.datetime.strptime(text, ISO_BASIC).replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except (TypeError, ValueError):
        return None


# ---- SigV4 (written from the algorithm: canonical request, string to sign, key) ---------


def remove_dot_segments(path):
    if not path:
        return "/"
    out = []
    for seg in path.split("/"):
        if not seg or seg == ".":
            continue
        if seg == "..":
            if out:
                out.pop()
        else:
            out.append(seg)
    lead = "/" if path.startswith("/") else ""
    trail = "/" if path.endswith("/") and out else ""
    return lead + "/".join(out) + trail


def canonical_uri(raw_path):
    # Not S3: the path as sent (already %-encoded) is normalised and encoded again.
    return urllib.parse.quote(remove_dot_segments(raw_path), safe="/~")


def query_pairs(raw_query):
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        k, _, v = part.partition("=")
        pairs.append((urllib.parse.unquote(k), urllib.parse.unquote(v)))
    return pairs


def canonical_query(pairs, drop=()):
    enc = sorted((urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
                 for k, v in pairs if k not in drop)
    return "&".join(f"{k}={v}" for k, v in enc)


def trimall(value):
    return " ".join(value.split())


def signing_key(secret, date, region, service):
    k = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def sign(secret, amz_date, scope, canonical_request):
    date, region, service, _ = scope.split("/")
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(canonical_request.encode()).hexdigest()])
    sig = hmac.new(signing_key(secret, date, region, service), sts.encode(),
                   hashlib.sha256).hexdigest()
    return sig, sts


def canonical_request(method, raw_path, cq, header_values, signed, payload_hash):
    """header_values(name) -> list of values or None."""
    lines = []
    for name in signed:
        values = header_values(name) or []
        lines.append(f"{name}:{','.join(trimall(v) for v in values)}\n")
    return "\n".join([method, canonical_uri(raw_path), cq, "".join(lines), ";".join(signed),
                      payload_hash])


# ---- state -------------------------------------------------------------------------------


class Update:
    def __init__(self, cluster, nodegroup, utype, params, created_at, ends_at, apply, failure,
                 token):
        self.id = str(uuid.uuid4())
        self.cluster, self.nodegroup = cluster, nodegroup
        self.type, self.params = utype, params
        self.created_at, self.ends_at = created_at, ends_at
        self.apply, self.failure, self.token = apply, failure, token
        self.status, self.errors = IN_PROGRESS, []

    def view(self):
        return {"id": self.id, "status": self.status, "type": self.type,
                "params": copy.deepcopy(self.params), "createdAt": self.created_at,
                "errors": copy.deepcopy(self.errors)}

    def internal(self):
        v = self.view()
        v.update({"nodegroupName": self.nodegroup.name if self.nodegroup else None,
                  "endsAt": self.ends_at, "clientRequestToken": self.token,
                  "armedFailure": copy.deepcopy(self.failure)})
        return v


class Nodegroup:
    def __init__(self, cluster, data, status):
        self.cluster, self.data, self.status = cluster, data, status
        self.update = None  # the InProgress Update
        self.updates = {}  # id -> Update, oldest first
        self.failure = None  # armed CREATE_FAILED

    @property
    def name(self):
        return self.data["nodegroupName"]

    def current_status(self):
        if self.update is not None and self.status == ACTIVE:
            return UPDATING
        return self.status

    def view(self):
        d = copy.deepcopy(self.data)
        d["status"] = self.current_status()
        return d


class Cluster:
    def __init__(self, region, data, status):
        self.region, self.data, self.status = region, data, status
        self.nodegroups = {}
        self.update = None
        self.updates = {}
        self.failure = None  # armed FAILED create
        self.tokens_seen = []
        self.replays = 0

    @property
    def name(self):
        return self.data["name"]

    def current_status(self):
        if self.update is not None and self.status == ACTIVE:
            return UPDATING
        return self.status

    def view(self):
        d = copy.deepcopy(self.data)
        status = self.current_status()
        d["status"] = status
        if status in (CREATING, FAILED):
            # The API endpoint, its CA and the OIDC issuer exist once the control plane is up.
            d.pop("endpoint", None)
            d.pop("identity", None)
            d["certificateAuthority"] = {}
        return d

    def find_update(self, update_id, nodegroup):
        if nodegroup is None:
            return self.updates.get(update_id)
        ng = self.nodegroups.get(nodegroup)
        return ng.updates.get(update_id) if ng else None


class Ctx:
    """One cloud call: what the handler needs and what the call log records."""

    def __init__(self, op, method, path, region, args, query, body, identity):
        self.op, self.method, self.path, self.region = op, method, path, region
        self.args, self.query, self.body, self.identity = args, query, body, identity
        self.cluster = args.get("name")
        self.nodegroup = args.get("nodegroupName")
        self.token, self.replay, self.pending_token = None, False, None


class Cloud(emucore.Cloud):
    """Every region's clusters, with the clock, faults and call log of emucore.Cloud."""

    def __init__(self, opts):
        self.opts = opts
        self.account = opts.account
        super().__init__(opts.rate_per_s)

    def reset(self):
        super().reset()
        self.regions = {}
        self.tokens = {}  # (region, op, cluster, nodegroup, token) -> (fingerprint, object)
        self.replays = 0

    def clusters(self, region):
        return self.regions.setdefault(region, {})

    def take_fail_next(self, kind, cluster, nodegroup=None, utype=None):
        return self.take_armed(kind, cluster=cluster, nodegroup=nodegroup, updateType=utype)

    # -- idempotency tokens --

    @staticmethod
    def fingerprint(ctx):
        body = {k: v for k, v in (ctx.body or {}).items() if k != "clientRequestToken"}
        return json.dumps([ctx.args, body], sort_keys=True)

    def replay(self, ctx, token, still_valid):
        """The object an earlier call with this clientRequestToken made, or None. The same
        token with a different request is refused."""
        ctx.token = token
        if token is None:
            return None
        key = (ctx.region, ctx.op, ctx.cluster, ctx.nodegroup, token)
        fp = self.fingerprint(ctx)
        prior = self.tokens.get(key)
        if prior is not None and not still_valid(prior[1]):
            del self.tokens[key]
            prior = None
        if prior is None:
            ctx.pending_token = (key, fp)
            return None
        if prior[0] != fp:
            raise ApiError(400, "InvalidRequestException",
                           f"The clientRequestToken {token} has already been used for a "
                           f"different {ctx.op} request", ctx.cluster, ctx.nodegroup)
        ctx.replay = True
        self.replays += 1
        rec = self.clusters(ctx.region).get(ctx.cluster)
        if rec is not None:
            rec.replays += 1
        return prior[1]

    def remember(self, ctx, obj):
        if ctx.pending_token is not None:
            key, fp = ctx.pending_token
            self.tokens[key] = (fp, obj)

    def forget_tokens(self, region, cluster, nodegroup=None):
        for key in [k for k in self.tokens if k[0] == region and k[2] == cluster
                    and (nodegroup is None or k[3] == nodegroup)]:
            del self.tokens[key]

    # -- building objects --

    def build_cluster(self, region, spec):
        name = spec["name"]
        uid = uuid.uuid4().hex.upper()
        version = spec.get("version") or DEFAULT_VERSION
        vpc = spec.get("resourcesVpcConfig") or {}
        knc = spec.get("kubernetesNetworkConfig") or {}
        ip_family = knc.get("ipFamily", "ipv4")
        knc_view = {"ipFamily": ip_family, "elasticLoadBalancing": {"enabled": bool(
            (knc.get("elasticLoadBalancing") or {}).get("enabled", False))}}
        if ip_family == "ipv6":
            knc_view["serviceIpv6Cidr"] = f"fd{rand_hex(2)}:{rand_hex(4)}:{rand_hex(4)}::/108"
        else:
            knc_view["serviceIpv4Cidr"] = knc.get("serviceIpv4Cidr", "10.100.0.0/16")
        access = spec.get("accessConfig") or {}
        data = {
            "name": name,
            "arn": f"arn:aws:eks:{region}:{self.account}:cluster/{name}",
            "createdAt": self.now(),
            "version": version,
            "endpoint": f"https://{uid}.gr7.{region}.eks.amazonaws.com",
            "roleArn": spec.get("roleArn", f"arn:aws:iam::{self.account}:role/eks-cluster-role"),
            "resourcesVpcConfig": {
                "subnetIds": list(vpc.get("subnetIds") or []),
                "securityGroupIds": list(vpc.get("securityGroupIds") or []),
                "clusterSecurityGroupId": f"sg-0{rand_hex(16)}",
                "vpcId": f"vpc-0{rand_hex(16)}",
                "endpointPublicAccess": vpc.get("endpointPublicAccess", True),
                "endpointPrivateAccess": vpc.get("endpointPrivateAccess", False),
                "publicAccessCidrs": list(vpc.get("publicAccessCidrs") or ["0.0.0.0/0"]),
            },
            "kubernetesNetworkConfig": knc_view,
            "logging": logging_view(apply_logging(set(), spec.get("logging") or {}, invalid)),
            "identity": {"oidc": {"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{uid}"}},
            "certificateAuthority": {"data": CA_DATA},
            "platformVersion": platform_version(version),
            "tags": dict(spec.get("tags") or {}),
            "health": {"issues": []},
            "accessConfig": {
                "bootstrapClusterCreatorAdminPermissions":
                    access.get("bootstrapClusterCreatorAdminPermissions", True),
                "authenticationMode": access.get("authenticationMode", "CONFIG_MAP")},
            "upgradePolicy": {"supportType": (spec.get("upgradePolicy") or {}).get(
                "supportType", "EXTENDED")},
            "deletionProtection": bool(spec.get("deletionProtection", False)),
        }
        if spec.get("clientRequestToken") is not None:
            data["clientRequestToken"] = spec["clientRequestToken"]
        for key in ("encryptionConfig", "zonalShiftConfig", "remoteNetworkConfig",
                    "computeConfig", "storageConfig", "outpostConfig",
                    "controlPlaneScalingConfig"):
            if spec.get(key) is not None:
                data[key] = copy.deepcopy(spec[key])
        return data

    def build_nodegroup(self, rec, spec):
        name = spec["nodegroupName"]
        version = spec.get("version") or rec.data.get("version") or DEFAULT_VERSION
        lt = spec.get("launchTemplate")
        now = self.now()
        data = {
            "nodegroupName": name,
            "nodegroupArn": f"arn:aws:eks:{rec.region}:{self.account}:nodegroup/{rec.name}/"
                            f"{name}/{uuid.uuid4()}",
            "clusterName": rec.name,
            "version": version,
            "releaseVersion": spec.get("releaseVersion") or release_version(version),
            "createdAt": now,
            "modifiedAt": now,
            "capacityType": spec.get("capacityType", "ON_DEMAND"),
            "scalingConfig": copy.deepcopy(spec.get("scalingConfig")
                                           or {"minSize": 1, "maxSize": 2, "desiredSize": 2}),
            "instanceTypes": list(spec.get("instanceTypes") or ([] if lt else ["t3.medium"])),
            "subnets": list(spec.get("subnets") or []),
            "amiType": spec.get("amiType") or default_ami(version),
            "nodeRole": spec.get("nodeRole", f"arn:aws:iam::{self.account}:role/eks-node-role"),
            "labels": dict(spec.get("labels") or {}),
            "resources": {"autoScalingGroups": [{"name": f"eks-{name}-{uuid.uuid4()}"}]},
            "health": {"issues": []},
            "updateConfig": copy.deepcopy(spec.get("updateConfig") or {"maxUnavailable": 1}),
            "tags": dict(spec.get("tags") or {}),
        }
        if not data["instanceTypes"]:
            del data["instanceTypes"]
        if not lt:
            data["diskSize"] = spec.get("diskSize", 20)
        if spec.get("taints"):
            data["taints"] = copy.deepcopy(spec["taints"])
        if spec.get("remoteAccess") is not None:
            data["remoteAccess"] = copy.deepcopy(spec["remoteAccess"])
            data["resources"]["remoteAccessSecurityGroup"] = f"sg-0{rand_hex(16)}"
        if lt:
            lt_id = lt.get("id") or f"lt-0{rand_hex(16)}"
            data["launchTemplate"] = {"name": lt.get("name") or f"eksemu-{lt_id}",
                                      "version": lt.get("version") or "1", "id": lt_id}
        for key in ("nodeRepairConfig", "warmPoolConfig"):
            if spec.get(key) is not None:
                data[key] = copy.deepcopy(spec[key])
        return data

    # -- transitions --

    def start_cluster_create(self, rec):
        def done(t):
            if self.clusters(rec.region).get(rec.name) is not rec or rec.status != CREATING:
                return
            if rec.failure is not None:
                rec.status = FAILED
                rec.data["health"] = {"issues": [{
                    "code": rec.failure.get("errorCode") or "Other",
                    "message": rec.failure.get("errorMessage") or "cluster creation failed",
                    "resourceIds": [rec.name]}]}
            else:
                rec.status = ACTIVE
        self.schedule(self.opts.create_seconds, done)

    def start_cluster_delete(self, rec):
        rec.status = DELETING

        def done(t):
            store = self.clusters(rec.region)
            if store.get(rec.name) is rec:
                del store[rec.name]
                self.forget_tokens(rec.region, rec.name)
        self.schedule(self.opts.delete_seconds, done)

    def start_nodegroup_create(self, rec, ng):
        def done(t):
            if rec.nodegroups.get(ng.name) is not ng or ng.status != CREATING:
                return
            ng.data["modifiedAt"] = t
            if ng.failure is not None:
                ng.status = CREATE_FAILED
                ng.data["health"] = {"issues": [{
                    "code": ng.failure.get("errorCode") or "NodeCreationFailure",
                    "message": ng.failure.get("errorMessage")
                    or "Instances failed to join the kubernetes cluster",
                    "resourceIds": [ng.data["resources"]["autoScalingGroups"][0]["name"]]}]}
            else:
                ng.status = ACTIVE
        self.schedule(self.opts.nodegroup_seconds, done)

    def start_nodegroup_delete(self, rec, ng):
        ng.status = DELETING
        ng.data["modifiedAt"] = self.now()

        def done(t):
            if rec.nodegroups.get(ng.name) is ng:
                del rec.nodegroups[ng.name]
                self.forget_tokens(rec.region, rec.name, ng.name)
        self.schedule(self.opts.nodegroup_seconds, done)

    def start_update(self, ctx, rec, ng, utype, params, apply):
        failure = self.take_fail_next("update", rec.name, ng.name if ng else None, utype)
        created = self.now()
        upd = Update(rec, ng, utype, params, created,
                     round(created + self.opts.update_seconds, 3), apply, failure, ctx.token)
        owner = ng if ng is not None else rec
        owner.update = upd
        owner.updates[upd.id] = upd

        def done(t):
            if upd.status != IN_PROGRESS:
                return
            if owner.update is upd:
                owner.update = None
            if failure is not None:
                upd.status = UPDATE_FAILED
                upd.errors = [{"errorCode": failure.get("errorCode") or "Unknown",
                               "errorMessage": failure.get("errorMessage")
                               or "The update failed (injected by the emulator)",
                               "resourceIds": [owner.name]}]
            else:
                apply()
                upd.status = SUCCESSFUL
            if ng is not None:
                ng.data["modifiedAt"] = t
        self.schedule(self.opts.update_seconds, done)
        self.remember(ctx, upd)
        return upd


# ---- the EKS operations ------------------------------------------------------------------


def cluster_or_404(cloud, ctx, name=None):
    name = ctx.cluster if name is None else name
    rec = cloud.clusters(ctx.region).get(name)
    if rec is None:
        raise ApiError(404, "ResourceNotFoundException", f"No cluster found for name: {name}.",
                       name)
    return rec


def nodegroup_or_404(rec, name):
    ng = rec.nodegroups.get(name)
    if ng is None:
        raise ApiError(404, "ResourceNotFoundException", f"No node group found for name: {name}.",
                       rec.name, name)
    return ng


def page_size(ctx):
    raw = ctx.query.get("maxResults")
    if raw is None:
        return 100
    try:
        n = int(raw[0])
    except ValueError:
        raise invalid("maxResults must be an integer between 1 and 100", ctx.cluster)
    if not 1 <= n <= 100:
        raise invalid("maxResults must be between 1 and 100", ctx.cluster)
    return n


def paginate(ctx, items):
    """A page of `items` (in a stable order) after the nextToken; tokens are opaque."""
    limit = page_size(ctx)
    start = 0
    token = ctx.query.get("nextToken", [None])[0]
    if token:
        try:
            after = json.loads(base64.urlsafe_b64decode(token.encode() + b"==").decode())["after"]
            start = items.index(after) + 1 if after in items else next(
                i for i, v in enumerate(items) if v > after)
        except StopIteration:
            start = len(items)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise invalid("The nextToken is invalid", ctx.cluster)
    page = items[start:start + limit]
    nxt = None
    if start + limit < len(items):
        nxt = base64.urlsafe_b64encode(json.dumps({"after": page[-1]}).encode()).decode().rstrip("=")
    return page, nxt


def require_mutable(rec, what):
    status = rec.current_status()
    if status in (CREATING, DELETING):
        raise in_use(f"Cluster {rec.name} is in {status} state; cannot {what}", rec.name)
    if status == FAILED:
        raise ApiError(400, "InvalidRequestException",
                       f"Cluster {rec.name} is in FAILED state; cannot {what}", rec.name)


def check_version_supported(version, err):
    minor = minor_of(version)
    if minor is None or minor not in SUPPORTED_MINORS:
        raise err(f"unsupported Kubernetes version {version}")


def check_scaling(sc, err):
    lo, hi, want = sc.get("minSize"), sc.get("maxSize"), sc.get("desiredSize")
    if hi is not None and hi < 1:
        raise err("Maximum capacity must be at least 1")
    if lo is not None and hi is not None and lo > hi:
        raise err(f"Minimum capacity {lo} can't be greater than max size {hi}")
    if lo is not None and want is not None and want < lo:
        raise err(f"Desired capacity {want} can't be lower than minimum size {lo}")
    if want is not None and hi is not None and want > hi:
        raise err(f"Desired capacity {want} can't be greater than max size {hi}")


def op_list_clusters(cloud, ctx):
    page, nxt = paginate(ctx, sorted(cloud.clusters(ctx.region)))
    out = {"clusters": page}
    if nxt:
        out["nextToken"] = nxt
    return out


def op_describe_cluster(cloud, ctx):
    return {"cluster": cluster_or_404(cloud, ctx).view()}


def op_create_cluster(cloud, ctx):
    body = ctx.body
    check(body, CREATE_CLUSTER, "", invalid)
    name = ctx.cluster = body["name"]
    store = cloud.clusters(ctx.region)
    prior = cloud.replay(ctx, body.get("clientRequestToken"),
                         lambda obj: store.get(obj.name) is obj)
    if prior is not None:
        return {"cluster": prior.view()}
    if name in store:
        raise in_use(f"Cluster already exists with name: {name}", name)
    err = lambda m: invalid(m, name)  # noqa: E731
    if body.get("version") is not None:
        check_version_supported(body["version"], err)
    if not re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:role/.+", body["roleArn"]):
        raise err(f"roleArn {body['roleArn']!r} is not a valid IAM role ARN")
    vpc = body["resourcesVpcConfig"]
    subnets = vpc.get("subnetIds") or []
    if len(set(subnets)) < 2:
        raise err("Subnets specified must be in at least two different AZs")
    if vpc.get("endpointPublicAccess") is False and vpc.get("endpointPrivateAccess") is not True:
        raise err("The cluster endpoint cannot have both public and private access disabled")
    knc = body.get("kubernetesNetworkConfig") or {}
    if knc.get("serviceIpv4Cidr") is not None:
        if knc.get("ipFamily") == "ipv6":
            raise err("serviceIpv4Cidr cannot be specified with ipFamily ipv6")
        try:
            net = ipaddress.ip_network(knc["serviceIpv4Cidr"])
            private = any(net.subnet_of(ipaddress.ip_network(p)) for p in
                          ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
        except (ValueError, TypeError):
            net, private = None, False
        if net is None or not private or not 12 <= net.prefixlen <= 24:
            raise err("serviceIpv4Cidr must be a private IPv4 block between /24 and /12")
    for enc in body.get("encryptionConfig") or []:
        if enc.get("resources") != ["secrets"] or not (enc.get("provider") or {}).get("keyArn"):
            raise err('encryptionConfig needs resources ["secrets"] and provider.keyArn')
    if body.get("logging") is not None:
        apply_logging(set(), body["logging"], err)
    if body.get("tags"):
        check_tags(body["tags"], err)
    rec = Cluster(ctx.region, cloud.build_cluster(ctx.region, body), CREATING)
    rec.failure = cloud.take_fail_next("create", name)
    store[name] = rec
    cloud.start_cluster_create(rec)
    cloud.remember(ctx, rec)
    return {"cluster": rec.view()}


def op_delete_cluster(cloud, ctx):
    rec = cluster_or_404(cloud, ctx)
    status = rec.current_status()
    if status in (CREATING, DELETING):
        raise in_use(f"Cluster {rec.name} is in {status} state; cannot delete it", rec.name)
    if rec.nodegroups:
        raise in_use("Cluster has nodegroups attached", rec.name)
    if rec.update is not None:
        raise in_use(f"Cannot delete because cluster {rec.name} currently has update "
                     f"{rec.update.id} in progress", rec.name)
    if rec.data.get("deletionProtection"):
        raise ApiError(400, "InvalidRequestException",
                       f"Cannot delete cluster {rec.name} because deletion protection is "
                       f"enabled; disable it with UpdateClusterConfig first", rec.name)
    cloud.start_cluster_delete(rec)
    return {"cluster": rec.view()}


def busy(rec, owner, utype):
    if owner.update is not None:
        what = f"cluster {rec.name}" if owner is rec else f"nodegroup {owner.name}"
        raise in_use(f"Cannot {utype} because {what} currently has update {owner.update.id} "
                     f"in progress", rec.name, None if owner is rec else owner.name)


def op_update_cluster_version(cloud, ctx):
    check(ctx.body, UPDATE_CLUSTER_VERSION, "", invalid)
    rec = cluster_or_404(cloud, ctx)
    prior = cloud.replay(ctx, ctx.body.get("clientRequestToken"),
                         lambda u: cloud.clusters(ctx.region).get(rec.name) is u.cluster)
    if prior is not None:
        return {"update": prior.view()}
    require_mutable(rec, "update its version")
    busy(rec, rec, "VersionUpdate")
    current, target = rec.data.get("version"), ctx.body["version"]
    cur_minor, new_minor = minor_of(current), minor_of(target)
    if cur_minor is None or new_minor is None or new_minor != cur_minor + 1 \
            or new_minor not in SUPPORTED_MINORS:
        raise invalid(f"Unsupported Kubernetes minor version update from {current} to {target}",
                      rec.name)
    platform = platform_version(target)

    def apply():
        rec.data["version"] = target
        rec.data["platformVersion"] = platform
    upd = cloud.start_update(ctx, rec, None, "VersionUpdate",
                             [{"type": "Version", "value": target},
                              {"type": "PlatformVersion", "value": platform}], apply)
    return {"update": upd.view()}


def cluster_config_kinds(body):
    """{update type: members} for the kinds of change an UpdateClusterConfig carries."""
    kinds = {}
    vpc = body.get("resourcesVpcConfig")
    if vpc is not None:
        endpoint = {k: vpc[k] for k in ("endpointPublicAccess", "endpointPrivateAccess",
                                        "publicAccessCidrs") if vpc.get(k) is not None}
        network = {k: vpc[k] for k in ("subnetIds", "securityGroupIds") if vpc.get(k) is not None}
        if endpoint:
            kinds["EndpointAccessUpdate"] = endpoint
        if network:
            kinds["VpcConfigUpdate"] = network
        if not endpoint and not network:
            raise invalid("resourcesVpcConfig must change at least one setting")
    simple = {"logging": "LoggingUpdate", "accessConfig": "AccessConfigUpdate",
              "upgradePolicy": "UpgradePolicyUpdate", "zonalShiftConfig": "ZonalShiftConfigUpdate",
              "remoteNetworkConfig": "RemoteNetworkConfigUpdate",
              "deletionProtection": "DeletionProtectionUpdate",
              "controlPlaneScalingConfig": "ControlPlaneScalingConfigUpdate"}
    for member, utype in simple.items():
        if body.get(member) is not None:
            kinds[utype] = {member: body[member]}
    auto = {k: body[k] for k in ("computeConfig", "storageConfig", "kubernetesNetworkConfig")
            if body.get(k) is not None}
    if auto:
        kinds["AutoModeUpdate"] = auto
    return kinds


def jdump(value):
    return json.dumps(value, separators=(",", ":"))


def op_update_cluster_config(cloud, ctx):
    body = ctx.body
    check(body, UPDATE_CLUSTER_CONFIG, "", invalid)
    rec = cluster_or_404(cloud, ctx)
    prior = cloud.replay(ctx, body.get("clientRequestToken"),
                         lambda u: cloud.clusters(ctx.region).get(rec.name) is u.cluster)
    if prior is not None:
        return {"update": prior.view()}
    err = lambda m: invalid(m, rec.name)  # noqa: E731
    kinds = cluster_config_kinds(body)
    if not kinds:
        raise err("No changes were specified in the update request")
    if len(kinds) > 1:
        raise err("Only one type of update can be allowed.")
    require_mutable(rec, "update its configuration")
    (utype, change), = kinds.items()
    busy(rec, rec, utype)
    data = rec.data
    vpc_now = data["resourcesVpcConfig"]
    params = []
    if utype == "EndpointAccessUpdate":
        new = {k: change.get(k, vpc_now.get(k)) for k in
               ("endpointPublicAccess", "endpointPrivateAccess", "publicAccessCidrs")}
        if not new["endpointPublicAccess"] and not new["endpointPrivateAccess"]:
            raise err("The cluster endpoint cannot have both public and private access disabled")
        if all(new[k] == vpc_now.get(k) for k in new):
            raise err("Cluster is already at the desired configuration with endpointPrivateAccess: "
                      f"{str(new['endpointPrivateAccess']).lower()} , endpointPublicAccess: "
                      f"{str(new['endpointPublicAccess']).lower()}, and Public Endpoint "
                      f"Restrictions: [{', '.join(new['publicAccessCidrs'] or [])}]")
        names = {"endpointPublicAccess": "EndpointPublicAccess",
                 "endpointPrivateAccess": "EndpointPrivateAccess",
                 "publicAccessCidrs": "PublicAccessCidrs"}
        for k, ptype in names.items():
            if k in change:
                v = change[k]
                params.append({"type": ptype, "value": jdump(v) if isinstance(v, list)
                               else str(v).lower()})

        def apply():
            rec.data["resourcesVpcConfig"].update(copy.deepcopy(change))
    elif utype == "VpcConfigUpdate":
        if "subnetIds" in change and len(set(change["subnetIds"])) < 2:
            raise err("Subnets specified must be in at least two different AZs")
        if "subnetIds" in change:
            params.append({"type": "Subnets", "value": jdump(change["subnetIds"])})
        if "securityGroupIds" in change:
            params.append({"type": "SecurityGroups", "value": jdump(change["securityGroupIds"])})

        def apply():
            rec.data["resourcesVpcConfig"].update(copy.deepcopy(change))
    elif utype == "LoggingUpdate":
        before = enabled_logs(data.get("logging"))
        after = apply_logging(before, change["logging"], err)
        if after == before:
            raise err("No changes needed for the logging config provided")
        params.append({"type": "ClusterLogging", "value": jdump(change["logging"])})

        def apply():
            now_enabled = apply_logging(enabled_logs(rec.data.get("logging")),
                                        change["logging"], err)
            rec.data["logging"] = logging_view(now_enabled)
    elif utype == "AccessConfigUpdate":
        mode = change["accessConfig"].get("authenticationMode")
        current = (data.get("accessConfig") or {}).get("authenticationMode", "CONFIG_MAP")
        if mode is None:
            raise err("accessConfig.authenticationMode is required")
        if mode == current:
            raise err(f"The cluster's authenticationMode is already {mode}")
        if AUTH_MODES.index(mode) < AUTH_MODES.index(current):
            raise err(f"Unsupported authentication mode update from {current} to {mode}")
        params.append({"type": "AuthenticationMode", "value": mode})

        def apply():
            rec.data.setdefault("accessConfig", {})["authenticationMode"] = mode
    else:
        ptypes = {"upgradePolicy": "UpgradePolicy", "zonalShiftConfig": "ZonalShiftConfig",
                  "remoteNetworkConfig": "RemoteNetworkConfig",
                  "deletionProtection": "DeletionProtection", "computeConfig": "ComputeConfig",
                  "storageConfig": "StorageConfig", "kubernetesNetworkConfig":
                  "KubernetesNetworkConfig"}
        for member, v in change.items():
            if member == "controlPlaneScalingConfig":
                params.append({"type": "UpdatedTier", "value": v.get("tier", "standard")})
                params.append({"type": "PreviousTier", "value": (data.get(
                    "controlPlaneScalingConfig") or {}).get("tier", "standard")})
            else:
                params.append({"type": ptypes[member],
                               "value": str(v).lower() if isinstance(v, bool) else jdump(v)})

        def apply():
            for member, v in change.items():
                if isinstance(v, dict) and isinstance(rec.data.get(member), dict):
                    rec.data[member] = merge_patch(rec.data[member], v)
                else:
                    rec.data[member] = copy.deepcopy(v)
    upd = cloud.start_update(ctx, rec, None, utype, params, apply)
    return {"update": upd.view()}


def op_describe_update(cloud, ctx):
    rec = cluster_or_404(cloud, ctx)
    ng_name = ctx.query.get("nodegroupName", [None])[0]
    if ng_name is not None:
        ctx.nodegroup = ng_name
        nodegroup_or_404(rec, ng_name)
    upd = rec.find_update(ctx.args["updateId"], ng_name)
    if upd is None:
        raise ApiError(404, "ResourceNotFoundException",
                       f"No update found for ID: {ctx.args['updateId']}.", rec.name, ng_name)
    return {"update": upd.view()}


def op_list_updates(cloud, ctx):
    rec = cluster_or_404(cloud, ctx)
    ng_name = ctx.query.get("nodegroupName", [None])[0]
    owner = rec
    if ng_name is not None:
        ctx.nodegroup = ng_name
        owner = nodegroup_or_404(rec, ng_name)
    if ctx.query.get("addonName"):
        raise ApiError(404, "ResourceNotFoundException",
                       f"No addon: {ctx.query['addonName'][0]} found in cluster: {rec.name}",
                       rec.name)
    page, nxt = paginate(ctx, list(owner.updates))
    out = {"updateIds": page}
    if nxt:
        out["nextToken"] = nxt
    return out


def op_list_nodegroups(cloud, ctx):
    rec = cluster_or_404(cloud, ctx)
    page, nxt = paginate(ctx, sorted(rec.nodegroups))
    out = {"nodegroups": page}
    if nxt:
        out["nextToken"] = nxt
    return out


def op_describe_nodegroup(cloud, ctx):
    rec = cluster_or_404(cloud, ctx)
    return {"nodegroup": nodegroup_or_404(rec, ctx.nodegroup).view()}


def op_create_nodegroup(cloud, ctx):
    body = ctx.body
    rec = cluster_or_404(cloud, ctx)
    check(body, CREATE_NODEGROUP, "", lambda m: invalid(m, rec.name))
    name = ctx.nodegroup = body["nodegroupName"]
    err = lambda m: invalid(m, rec.name, name)  # noqa: E731
    prior = cloud.replay(ctx, body.get("clientRequestToken"),
                         lambda ng: cloud.clusters(ctx.region).get(rec.name) is rec
                         and rec.nodegroups.get(ng.name) is ng)
    if prior is not None:
        return {"nodegroup": prior.view()}
    require_mutable(rec, "create a node group")
    if name in rec.nodegroups:
        raise in_use(f"NodeGroup already exists with name {name} and cluster name {rec.name}",
                     rec.name, name)
    if not body["subnets"]:
        raise err("subnets must name at least one subnet")
    cluster_version = rec.data.get("version")
    version = body.get("version")
    if version is not None and version != cluster_version:
        cv, nv = minor_of(cluster_version), minor_of(version)
        if nv is not None and cv is not None and nv > cv:
            raise err(f"Requested Nodegroup version {version} is invalid: it cannot be higher "
                      f"than the cluster version {cluster_version}")
        raise err(f"Requested Nodegroup version {version} is invalid. Allowed values are "
                  f"{cluster_version}")
    rel = body.get("releaseVersion")
    if rel is not None and not rel.startswith(f"{version or cluster_version}."):
        raise err(f"Requested release version {rel} is not valid for kubernetes version "
                  f"{version or cluster_version}")
    sc = body.get("scalingConfig")
    if sc is not None:
        given = [k for k in ("minSize", "maxSize", "desiredSize") if sc.get(k) is not None]
        if len(given) != 3:
            raise err("scalingConfig: when creating a node group, specify all or none of "
                      "minSize, maxSize and desiredSize")
        check_scaling(sc, err)
    lt = body.get("launchTemplate")
    if lt is not None:
        if bool(lt.get("name")) == bool(lt.get("id")):
            raise err("Either launch template ID or name should be specified")
        if body.get("diskSize") is not None:
            raise err("Disk size must be specified within the launch template.")
        if body.get("remoteAccess") is not None:
            raise err("Remote access configuration cannot be specified with a launch template.")
    for i, t in enumerate(body.get("taints") or []):
        if t.get("key") is None or t.get("effect") is None:
            raise err(f"taints[{i}] needs a key and an effect")
    uc = body.get("updateConfig") or {}
    if uc.get("maxUnavailable") is not None and uc.get("maxUnavailablePercentage") is not None:
        raise err("Only one of maxUnavailable and maxUnavailablePercentage can be specified")
    if body.get("tags"):
        check_tags(body["tags"], err)
    ng = Nodegroup(rec, cloud.build_nodegroup(rec, body), CREATING)
    ng.failure = cloud.take_fail_next("nodegroup-create", rec.name, name)
    rec.nodegroups[name] = ng
    cloud.start_nodegroup_create(rec, ng)
    cloud.remember(ctx, ng)
    return {"nodegroup": ng.view()}


def op_delete_nodegroup(cloud, ctx):
    rec = cluster_or_404(cloud, ctx)
    ng = nodegroup_or_404(rec, ctx.nodegroup)
    status = ng.current_status()
    if status in (CREATING, DELETING, UPDATING):
        raise in_use(f"Nodegroup {ng.name} is in {status} state and cannot be deleted now",
                     rec.name, ng.name)
    cloud.start_nodegroup_delete(rec, ng)
    return {"nodegroup": ng.view()}


def nodegroup_for_update(cloud, ctx, shape):
    check(ctx.body, shape, "", lambda m: invalid(m, ctx.cluster, ctx.nodegroup))
    rec = cluster_or_404(cloud, ctx)
    ng = nodegroup_or_404(rec, ctx.nodegroup)
    prior = cloud.replay(ctx, ctx.body.get("clientRequestToken"),
                         lambda u: cloud.clusters(ctx.region).get(rec.name) is rec
                         and rec.nodegroups.get(ng.name) is u.nodegroup)
    return rec, ng, prior


def require_nodegroup_active(rec, ng, utype):
    busy(rec, ng, utype)
    if ng.status != ACTIVE:
        raise in_use(f"Nodegroup cannot be updated as it is currently not in Active State "
                     f"(it is {ng.status})", rec.name, ng.name)
    status = rec.current_status()
    if status in (CREATING, DELETING, FAILED):
        raise in_use(f"Cluster {rec.name} is in {status} state", rec.name, ng.name)


def op_update_nodegroup_config(cloud, ctx):
    rec, ng, prior = nodegroup_for_update(cloud, ctx, UPDATE_NODEGROUP_CONFIG)
    if prior is not None:
        return {"update": prior.view()}
    body = ctx.body
    err = lambda m: invalid(m, rec.name, ng.name)  # noqa: E731
    labels = body.get("labels") or {}
    taints = body.get("taints") or {}
    add_l, rm_l = labels.get("addOrUpdateLabels") or {}, labels.get("removeLabels") or []
    add_t, rm_t = taints.get("addOrUpdateTaints") or [], taints.get("removeTaints") or []
    sc, uc = body.get("scalingConfig"), body.get("updateConfig")
    repair, warm = body.get("nodeRepairConfig"), body.get("warmPoolConfig")
    if not (add_l or rm_l or add_t or rm_t or sc or uc or repair or warm):
        raise err("No changes were specified in the update request")
    require_nodegroup_active(rec, ng, "ConfigUpdate")
    both = set(add_l) & set(rm_l)
    if both:
        raise err(f"The label key {sorted(both)[0]} cannot be both added and removed")
    for i, t in enumerate(add_t):
        if t.get("key") is None or t.get("effect") is None:
            raise err(f"taints.addOrUpdateTaints[{i}] needs a key and an effect")
    both = {t.get("key") for t in add_t} & {t.get("key") for t in rm_t}
    if both:
        raise err(f"The taint key {sorted(both)[0]} cannot be both added and removed")
    if sc:
        merged = dict(ng.data.get("scalingConfig") or {})
        merged.update(sc)
        check_scaling(merged, err)
    if uc and uc.get("maxUnavailable") is not None \
            and uc.get("maxUnavailablePercentage") is not None:
        raise err("Only one of maxUnavailable and maxUnavailablePercentage can be specified")
    current_taints = {t["key"]: t for t in ng.data.get("taints") or []}
    remaining = {k: v for k, v in current_taints.items() if k not in {t["key"] for t in rm_t}}
    remaining.update({t["key"]: t for t in add_t})
    if len(remaining) > 50:
        raise err("A node group can have at most 50 taints")
    params = []
    if add_l:
        params.append({"type": "LabelsToAdd", "value": jdump(add_l)})
    if rm_l:
        params.append({"type": "LabelsToRemove", "value": jdump(rm_l)})
    if add_t:
        params.append({"type": "TaintsToAdd", "value": jdump(add_t)})
    if rm_t:
        params.append({"type": "TaintsToRemove", "value": jdump(rm_t)})
    for k, ptype in (("maxSize", "MaxSize"), ("minSize", "MinSize"),
                     ("desiredSize", "DesiredSize")):
        if sc and sc.get(k) is not None:
            params.append({"type": ptype, "value": str(sc[k])})
    for k, ptype in (("maxUnavailable", "MaxUnavailable"),
                     ("maxUnavailablePercentage", "MaxUnavailablePercentage"),
                     ("updateStrategy", "UpdateStrategy")):
        if uc and uc.get(k) is not None:
            params.append({"type": ptype, "value": str(uc[k])})
    if repair:
        params.append({"type": "NodeRepairConfig", "value": jdump(repair)})
        if repair.get("enabled") is not None:
            params.append({"type": "NodeRepairEnabled", "value": str(repair["enabled"]).lower()})
    if warm:
        names = {"enabled": "WarmPoolEnabled", "minSize": "WarmPoolMinSize",
                 "maxGroupPreparedCapacity": "WarmPoolMaxGroupPreparedCapacity",
                 "poolState": "WarmPoolState", "reuseOnScaleIn": "WarmPoolReuseOnScaleIn"}
        for k, ptype in names.items():
            if warm.get(k) is not None:
                v = warm[k]
                params.append({"type": ptype, "value": str(v).lower() if isinstance(v, bool)
                               else str(v)})
    change = copy.deepcopy({"add_l": add_l, "rm_l": rm_l, "add_t": add_t, "rm_t": rm_t,
                            "sc": sc, "uc": uc, "repair": repair, "warm": warm})

    def apply():
        d = ng.data
        lab = d.setdefault("labels", {})
        for k in change["rm_l"]:
            lab.pop(k, None)
        lab.update(change["add_l"])
        if change["add_t"] or change["rm_t"]:
            cur = {t["key"]: t for t in d.get("taints") or []}
            for t in change["rm_t"]:
                cur.pop(t.get("key"), None)
            for t in change["add_t"]:
                cur[t["key"]] = {k: v for k, v in t.items() if v is not None}
            if cur:
                d["taints"] = list(cur.values())
            else:
                d.pop("taints", None)
        if change["sc"]:
            d.setdefault("scalingConfig", {}).update(change["sc"])
        if change["uc"]:
            new_uc = dict(d.get("updateConfig") or {})
            if change["uc"].get("maxUnavailable") is not None:
                new_uc.pop("maxUnavailablePercentage", None)
            if change["uc"].get("maxUnavailablePercentage") is not None:
                new_uc.pop("maxUnavailable", None)
            new_uc.update(change["uc"])
            d["updateConfig"] = new_uc
        if change["repair"]:
            d["nodeRepairConfig"] = merge_patch(d.get("nodeRepairConfig"), change["repair"])
        if change["warm"]:
            d["warmPoolConfig"] = merge_patch(d.get("warmPoolConfig"), change["warm"])
    upd = cloud.start_update(ctx, rec, ng, "ConfigUpdate", params, apply)
    return {"update": upd.view()}


def op_update_nodegroup_version(cloud, ctx):
    rec, ng, prior = nodegroup_for_update(cloud, ctx, UPDATE_NODEGROUP_VERSION)
    if prior is not None:
        return {"update": prior.view()}
    body = ctx.body
    err = lambda m: invalid(m, rec.name, ng.name)  # noqa: E731
    require_nodegroup_active(rec, ng, "VersionUpdate")
    cluster_version = rec.data.get("version")
    target = body.get("version") or cluster_version
    cv, tv, nv = minor_of(cluster_version), minor_of(target), minor_of(ng.data.get("version"))
    if tv is None:
        raise err(f"Requested Kubernetes version {target} is invalid")
    if cv is not None and tv > cv:
        raise err(f"Requested Nodegroup version {target} is invalid: the node group version "
                  f"cannot be higher than the cluster version {cluster_version}")
    if nv is not None and tv < nv:
        raise err(f"Requested Nodegroup version {target} is lower than the node group's "
                  f"current version {ng.data.get('version')}; downgrades are not supported")
    rel = body.get("releaseVersion") or release_version(target)
    if not rel.startswith(f"{target}."):
        raise err(f"Requested release version {rel} is not valid for kubernetes version {target}")
    lt = body.get("launchTemplate")
    if lt is not None:
        cur = ng.data.get("launchTemplate")
        if cur is None:
            raise err("The node group was not created with a launch template")
        if (lt.get("id") and lt["id"] != cur.get("id")) or \
                (lt.get("name") and lt["name"] != cur.get("name")):
            raise err("The launch template of a node group cannot be replaced; only its "
                      "version can change")
    params = [{"type": "Version", "value": target}, {"type": "ReleaseVersion", "value": rel}]
    if lt is not None:
        params.append({"type": "LaunchTemplateName",
                       "value": ng.data["launchTemplate"].get("name")})
        params.append({"type": "LaunchTemplateVersion", "value": lt.get("version") or "1"})

    def apply():
        ng.data["version"] = target
        ng.data["releaseVersion"] = rel
        if lt is not None and ng.data.get("launchTemplate"):
            ng.data["launchTemplate"]["version"] = lt.get("version") or "1"
    upd = cloud.start_update(ctx, rec, ng, "VersionUpdate", params, apply)
    return {"update": upd.view()}


ARN_RE = re.compile(r"arn:aws[a-z-]*:eks:([a-z0-9-]+):(\d{12}):(cluster|nodegroup)/(.+)")


def resource_of(cloud, ctx):
    arn = ctx.args["resourceArn"]
    m = ARN_RE.fullmatch(arn)
    if not m:
        raise bad_request(f"{arn} is not a valid resource ARN")
    region, account, kind, rest = m.groups()
    not_found = ApiError(404, "NotFoundException", f"Resource {arn} was not found")
    if region != ctx.region or account != cloud.account:
        raise not_found
    parts = rest.split("/")
    if kind == "cluster":
        if len(parts) != 1:
            raise bad_request(f"{arn} is not a valid cluster ARN")
        ctx.cluster = parts[0]
        rec = cloud.clusters(region).get(parts[0])
        if rec is None or rec.data.get("arn") != arn:
            raise not_found
        return rec
    if len(parts) != 3:
        raise bad_request(f"{arn} is not a valid nodegroup ARN")
    ctx.cluster, ctx.nodegroup = parts[0], parts[1]
    rec = cloud.clusters(region).get(parts[0])
    ng = rec.nodegroups.get(parts[1]) if rec else None
    if ng is None or ng.data.get("nodegroupArn") != arn:
        raise not_found
    return ng


def op_tag_resource(cloud, ctx):
    check(ctx.body, TAG_RESOURCE, "", bad_request)
    obj = resource_of(cloud, ctx)
    current = obj.data.setdefault("tags", {})
    check_tags(ctx.body["tags"], bad_request, current)
    current.update(ctx.body["tags"])
    return {}


def op_untag_resource(cloud, ctx):
    keys = ctx.query.get("tagKeys")
    if not keys:
        raise bad_request("Missing required parameter: tagKeys")
    if len(keys) > 50:
        raise bad_request("tagKeys: at most 50 keys")
    for k in keys:
        if not 1 <= len(k) <= 128:
            raise bad_request(f"Tag key {k!r} must be 1 to 128 characters long")
        if k.lower().startswith("aws:"):
            raise bad_request(f"Tag key {k!r}: the 'aws:' prefix is reserved for AWS use")
    obj = resource_of(cloud, ctx)
    tags = obj.data.setdefault("tags", {})
    for k in keys:
        tags.pop(k, None)
    return {}


def op_list_tags(cloud, ctx):
    obj = resource_of(cloud, ctx)
    return {"tags": dict(obj.data.get("tags") or {})}


# (method, path template, operation, handler)
ROUTES = [
    ("GET", "/clusters", "ListClusters", op_list_clusters),
    ("POST", "/clusters", "CreateCluster", op_create_cluster),
    ("GET", "/clusters/{name}", "DescribeCluster", op_describe_cluster),
    ("DELETE", "/clusters/{name}", "DeleteCluster", op_delete_cluster),
    ("POST", "/clusters/{name}/updates", "UpdateClusterVersion", op_update_cluster_version),
    ("GET", "/clusters/{name}/updates", "ListUpdates", op_list_updates),
    ("GET", "/clusters/{name}/updates/{updateId}", "DescribeUpdate", op_describe_update),
    ("POST", "/clusters/{name}/update-config", "UpdateClusterConfig", op_update_cluster_config),
    ("GET", "/clusters/{name}/node-groups", "ListNodegroups", op_list_nodegroups),
    ("POST", "/clusters/{name}/node-groups", "CreateNodegroup", op_create_nodegroup),
    ("GET", "/clusters/{name}/node-groups/{nodegroupName}", "DescribeNodegroup",
     op_describe_nodegroup),
    ("DELETE", "/clusters/{name}/node-groups/{nodegroupName}", "DeleteNodegroup",
     op_delete_nodegroup),
    ("POST", "/clusters/{name}/node-groups/{nodegroupName}/update-config",
     "UpdateNodegroupConfig", op_update_nodegroup_config),
    ("POST", "/clusters/{name}/node-groups/{nodegroupName}/update-version",
     "UpdateNodegroupVersion", op_update_nodegroup_version),
    ("POST", "/tags/{resourceArn}", "TagResource", op_tag_resource),
    ("DELETE", "/tags/{resourceArn}", "UntagResource", op_untag_resource),
    ("GET", "/tags/{resourceArn}", "ListTagsForResource", op_list_tags),
]
ROUTES = [(m, t.strip("/").split("/"), op, fn) for m, t, op, fn in ROUTES]


def match_route(method, raw_path):
    """(operation, handler, labels) for an EKS path, or None. Labels are %-decoded after the
    path is split, so an ARN label must arrive with its '/' encoded as %2F."""
    segs = raw_path.strip("/").split("/") if raw_path not in ("", "/") else []
    if raw_path.endswith("/") and raw_path != "/":
        return None
    for m, tmpl, op, fn in ROUTES:
        args = emucore.match_template(tmpl, segs) if m == method else None
        if args is not None:
            return op, fn, args
    return None


# ---- HTTP --------------------------------------------------------------------------------


class AuthError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Handler(emucore.Handler):
    server_version = "eksemu/1"
    FAIL_NEXT_KINDS = ("update", "create", "nodegroup-create")
    FAIL_NEXT_MEMBERS = ("cluster", "nodegroup", "errorCode", "errorMessage", "updateType")
    admin_errors = (ApiError,)

    # -- replies --

    def reply(self, status, body, content_type="application/json", headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send(status, data, content_type, [("x-amzn-RequestId", self.request_id), *headers])

    def api_error(self, e):
        self.reply(e.status, e.body(), headers=[("x-amzn-ErrorType", e.code)])

    def plain_error(self, status, code, message):
        self.reply(status, {"message": message}, headers=[("x-amzn-ErrorType", code)])

    def sts_error(self, status, code, message):
        body = (f'<ErrorResponse xmlns="{STS_NS}">\n  <Error>\n    <Type>Sender</Type>\n'
                f'    <Code>{xml_escape(code)}</Code>\n    <Message>{xml_escape(message)}</Message>\n'
                f'  </Error>\n  <RequestId>{self.request_id}</RequestId>\n</ErrorResponse>\n')
        self.reply(status, body.encode(), content_type="text/xml")

    def refuse_body(self, e):
        self.api_error(ApiError(e.status, "BadRequestException", e.message))

    # -- dispatch --

    def dispatch_cloud(self, raw_path, raw_query, raw):
        if raw_path in ("", "/"):
            return self.dispatch_sts(raw_path, raw_query, raw)
        return self.dispatch_eks(raw_path, raw_query, raw)

    def log_call(self, cloud, op, status, region, cluster=None, nodegroup=None, token=None,
                 replay=False, akid=None):
        entry = {"operation": op, "method": self.command, "path": self.path, "status": status,
                 "region": region, "cluster": cluster, "nodegroup": nodegroup, "token": token,
                 "replay": replay, "time": cloud.now(), "wallTime": round(time.time(), 3),
                 "accessKeyId": akid, "requestId": self.request_id}
        cloud.record(entry)

    def header_values(self, name):
        return self.headers.get_all(name)

    def verify_header_auth(self, raw_path, raw_query, body, service):
        """Checks the Authorization header; returns (access key, region)."""
        opts = self.server.opts
        auth = self.headers.get("Authorization")
        if not auth:
            raise AuthError(403, "MissingAuthenticationTokenException",
                            "Missing Authentication Token")
        algo, _, rest = auth.strip().partition(" ")
        if algo != "AWS4-HMAC-SHA256":
            raise AuthError(400, "IncompleteSignatureException",
                            f"Unsupported AWS 'algorithm': '{algo}'. Use AWS4-HMAC-SHA256")
        parts = {}
        for item in rest.split(","):
            k, _, v = item.strip().partition("=")
            parts[k.strip()] = v.strip()
        for need in ("Credential", "SignedHeaders", "Signature"):
            if not parts.get(need):
                raise AuthError(400, "IncompleteSignatureException",
                                f"Authorization header requires '{need}' parameter. "
                                f"Authorization={auth}")
        cred = parts["Credential"].split("/")
        if len(cred) != 5 or cred[4] != "aws4_request":
            raise AuthError(400, "IncompleteSignatureException",
                            f"Credential should be scoped to a valid region, service and "
                            f"terminator: '{parts['Credential']}'")
        akid, date, region, svc, _ = cred
        key = opts.key_map.get(akid)
        if key is None:
            raise AuthError(403, "UnrecognizedClientException",
                            "The security token included in the request is invalid.")
        sent_token = self.headers.get("X-Amz-Security-Token")
        if sent_token != key.get("token"):
            raise AuthError(403, "UnrecognizedClientException",
                            "The security token included in the request is invalid.")
        signed = parts["SignedHeaders"].split(";")
        if "host" not in signed:
            raise AuthError(403, "InvalidSignatureException",
                            "'Host' must be a 'SignedHeader' in the AWS Authorization.")
        amz_date = self.headers.get("X-Amz-Date")
        if amz_date is None:
            raise AuthError(403, "IncompleteSignatureException",
                            "Authorization header requires existence of a 'X-Amz-Date' header.")
        if "x-amz-date" not in signed:
            raise AuthError(403, "InvalidSignatureException",
                            "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")
        when = parse_amz_date(amz_date)
        if when is None:
            raise AuthError(403, "InvalidSignatureException",
                            f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'.")
        now = time.time()
        if when < now - MAX_SKEW:
            raise AuthError(403, "InvalidSignatureException",
                            f"Signature expired: {amz_date} is now earlier than "
                            f"{amz_time(now - MAX_SKEW)} ({amz_time(now)} - 5 min.)")
        if when > now + MAX_SKEW:
            raise AuthError(403, "InvalidSignatureException",
                            f"Signature not yet current: {amz_date} is still later than "
                            f"{amz_time(now + MAX_SKEW)} ({amz_time(now)} + 5 min.)")
        if date != amz_date[:8]:
            raise AuthError(403, "InvalidSignatureException",
                            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                            f"version of date from HTTP: '{date}' != '{amz_date[:8]}', from "
                            f"'{amz_date}'.")
        if svc != service:
            raise AuthError(403, "InvalidSignatureException",
                            f"Credential should be scoped to correct service: '{service}'. ")
        actual_hash = hashlib.sha256(body).hexdigest()
        payload_hash = self.headers.get("X-Amz-Content-SHA256") or actual_hash
        if payload_hash not in (actual_hash, "UNSIGNED-PAYLOAD"):
            raise AuthError(400, "InvalidSignatureException",
                            "The provided 'x-amz-content-sha256' header does not match what "
                            "was computed.")
        cr = canonical_request(self.command, raw_path, canonical_query(query_pairs(raw_query)),
                               self.header_values, signed, payload_hash)
        scope = f"{date}/{region}/{svc}/aws4_request"
        want, sts = sign(key["secret"], amz_date, scope, cr)
        if not hmac.compare_digest(want, parts["Signature"]):
            raise AuthError(403, "InvalidSignatureException",
                            "The request signature we calculated does not match the signature "
                            "you provided. Check your AWS Secret Access Key and signing method. "
                            "Consult the service documentation for details.\n\nThe Canonical "
                            f"String for this request should have been\n'{cr}'\n\nThe "
                            f"String-to-Sign should have been\n'{sts}'\n")
        return akid, region

    def request_region(self):
        """--no-auth: X-Emu-Region, else the region of an Authorization scope, else us-east-1."""
        region = self.headers.get("X-Emu-Region")
        if region:
            return region
        m = re.search(r"Credential=[^/,]+/\d{8}/([^/,]+)/", self.headers.get("Authorization", ""))
        return m.group(1) if m else DEFAULT_REGION

    def dispatch_eks(self, raw_path, raw_query, raw):
        cloud, opts = self.server.cloud, self.server.opts
        found = match_route(self.command, raw_path)
        if found is None:
            self.log_call(cloud, "Unknown", 404, None)
            return self.plain_error(404, "UnknownOperationException",
                                    f"No operation matches {self.command} {raw_path}")
        op, fn, args = found
        akid = None
        if opts.no_auth:
            region = self.request_region()
        else:
            try:
                akid, region = self.verify_header_auth(raw_path, raw_query, raw, "eks")
            except AuthError as e:
                self.log_call(cloud, op, e.status, None, args.get("name"), akid=None)
                return self.plain_error(e.status, e.code, e.message)
        query = urllib.parse.parse_qs(raw_query, keep_blank_values=True)
        body = None
        if self.command == "POST":
            body = {}
            if raw.strip():
                try:
                    body = json.loads(raw)
                except (ValueError, UnicodeDecodeError) as e:
                    body = e
                if not isinstance(body, dict):
                    self.log_call(cloud, op, 400, region, args.get("name"), akid=akid)
                    return self.plain_error(400, "SerializationException",
                                            "The request body is not a JSON object"
                                            + (f": {body}" if isinstance(body, Exception) else ""))
        target = args.get("name")
        if op == "CreateCluster" and isinstance((body or {}).get("name"), str):
            target = body["name"]
        if op in ("TagResource", "UntagResource", "ListTagsForResource"):
            m = ARN_RE.fullmatch(args.get("resourceArn", ""))
            target = m.group(4).split("/")[0] if m else None

        def log(status):
            self.log_call(cloud, op, status, region, target, akid=akid)

        with cloud.lock:
            throttled, fault = cloud.admit(op, target)
        if throttled:
            log(429)
            return self.api_error(ApiError(429, "ThrottlingException", "Rate exceeded", target))
        if self.play_fault(fault, log, b'{"cluster": {"name": "trunc'):
            return
        if fault is not None and fault.status is not None:
            log(fault.status)
            code = fault.code or FAULT_CODES.get(fault.status, "ServerException")
            return self.api_error(ApiError(fault.status, code, fault.message or (
                "Rate exceeded" if fault.status == 429 else
                f"Injected fault: HTTP {fault.status}"), target))
        ctx = Ctx(op, self.command, raw_path, region, args, query, body, akid)
        try:
            with cloud.lock:
                cloud.settle()
                out = fn(cloud, ctx)
            status = 200
        except ApiError as e:
            out, status = e, e.status
        self.log_call(cloud, op, status, region, ctx.cluster, ctx.nodegroup, ctx.token,
                      ctx.replay, akid)
        if isinstance(out, ApiError):
            return self.api_error(out)
        self.reply(200, out)

    # -- STS --

    def verify_presigned(self, method, raw_path, pairs, host, header_values, now):
        """Checks a SigV4 query-signed (presigned) URL for service sts; returns the key."""
        opts = self.server.opts
        q = {}
        for k, v in pairs:
            q.setdefault(k, v)
        need = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                "X-Amz-SignedHeaders", "X-Amz-Signature"]
        for k in need:
            if not q.get(k):
                raise StsError(400, "MissingParameter" if k != "X-Amz-Signature" else
                               "IncompleteSignature", f"the presigned URL lacks {k}")
        if q["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
            raise StsError(400, "IncompleteSignature", "X-Amz-Algorithm must be AWS4-HMAC-SHA256")
        cred = q["X-Amz-Credential"].split("/")
        if len(cred) != 5 or cred[4] != "aws4_request":
            raise StsError(400, "IncompleteSignature", "X-Amz-Credential is malformed")
        akid, date, region, svc, _ = cred
        key = opts.key_map.get(akid)
        if key is None:
            raise StsError(403, "InvalidClientTokenId",
                           "The security token included in the request is invalid.")
        if q.get("X-Amz-Security-Token") != key.get("token"):
            raise StsError(403, "InvalidClientTokenId",
                           "The security token included in the request is invalid.")
        amz_date = q["X-Amz-Date"]
        when = parse_amz_date(amz_date)
        if when is None:
            raise StsError(400, "IncompleteSignature", f"X-Amz-Date {amz_date!r} is malformed")
        try:
            expires = int(q["X-Amz-Expires"])
        except ValueError:
            expires = -1
        if not 1 <= expires <= 604800:
            raise StsError(400, "AuthorizationQueryParametersError",
                           "X-Amz-Expires must be between 1 and 604800 seconds")
        if when > now + MAX_SKEW:
            raise StsError(403, "SignatureDoesNotMatch",
                           f"Signature not yet current: {amz_date} is still later than "
                           f"{amz_time(now + MAX_SKEW)} ({amz_time(now)} + 5 min.)")
        if now > when + expires:
            raise StsError(403, "SignatureDoesNotMatch",
                           f"Signature expired: {amz_date} is now earlier than "
                           f"{amz_time(now - expires)} ({amz_time(now)} - {expires} sec.)")
        if date != amz_date[:8]:
            raise StsError(403, "SignatureDoesNotMatch",
                           "Date in Credential scope does not match YYYYMMDD from X-Amz-Date")
        if svc != "sts":
            raise StsError(403, "SignatureDoesNotMatch",
                           "Credential should be scoped to correct service: 'sts'.")
        signed = q["X-Amz-SignedHeaders"].split(";")
        if "host" not in signed:
            raise StsError(403, "SignatureDoesNotMatch",
                           "'Host' must be a 'SignedHeader' in the AWS Authorization.")

        def values(name):
            return [host] if name == "host" else header_values(name)
        cq = canonical_query(pairs, drop=("X-Amz-Signature",))
        scope = f"{date}/{region}/sts/aws4_request"
        # botocore signs a presigned GET with the empty-body hash; UNSIGNED-PAYLOAD (what
        # S3 presigning uses) is accepted too.
        for payload in (EMPTY_SHA256, "UNSIGNED-PAYLOAD"):
            cr = canonical_request(method, raw_path or "/", cq, values, signed, payload)
            want, sts = sign(key["secret"], amz_date, scope, cr)
            if hmac.compare_digest(want, q["X-Amz-Signature"]):
                return akid, key, q, signed
        cr = canonical_request(method, raw_path or "/", cq, values, signed, EMPTY_SHA256)
        _, sts = sign(key["secret"], amz_date, scope, cr)
        raise StsError(403, "SignatureDoesNotMatch",
                       "The request signature we calculated does not match the signature you "
                       "provided. Check your AWS Secret Access Key and signing method. Consult "
                       "the service documentation for details.\n\nThe Canonical String for "
                       f"this request should have been\n'{cr}'\n\nThe String-to-Sign should "
                       f"have been\n'{sts}'\n")

    def identity(self, akid):
        opts = self.server.opts
        digest = hashlib.sha256((akid or "anonymous").encode()).hexdigest().upper()
        return {"Arn": f"arn:aws:iam::{opts.account}:user/hcr-test",
                "UserId": "AIDA" + digest[:17], "Account": opts.account}

    def dispatch_sts(self, raw_path, raw_query, raw):
        cloud, opts = self.server.cloud, self.server.opts
        pairs = query_pairs(raw_query)
        params = dict(pairs)
        ctype = self.headers.get("Content-Type", "")
        if self.command == "POST" and "x-www-form-urlencoded" in ctype:
            params.update(urllib.parse.parse_qsl(raw.decode(errors="replace"),
                                                 keep_blank_values=True))
        action = params.get("Action")
        op = action or "Unknown"
        akid = None
        k8s_id = self.headers.get("x-k8s-aws-id")
        try:
            if self.command not in ("GET", "POST"):
                raise StsError(404, "UnknownOperationException",
                               f"No operation matches {self.command} /")
            if not action:
                raise StsError(400, "MissingAction", "Missing Action")
            with cloud.lock:
                fault = cloud.take_fault(action, None) if action == "GetCallerIdentity" else None
            if fault is not None:
                if fault.latency_ms:
                    time.sleep(fault.latency_ms / 1000.0)
                if fault.drop:
                    self.log_call(cloud, op, 0, None, k8s_id)
                    return self.drop_connection()
                if fault.status is not None:
                    raise StsError(fault.status, fault.code or "InternalFailure",
                                   fault.message or f"Injected fault: HTTP {fault.status}")
            if action != "GetCallerIdentity":
                raise StsError(400, "InvalidAction",
                               f"Could not find operation {action} for version "
                               f"{params.get('Version', 'NO_VERSION_SPECIFIED')}")
            if params.get("Version") != "2011-06-15":
                raise StsError(400, "InvalidAction",
                               f"Could not find operation {action} for version "
                               f"{params.get('Version', 'NO_VERSION_SPECIFIED')}")
            signed = []
            if opts.no_auth:
                region = self.request_region()
            elif "X-Amz-Signature" in params:
                akid, _, q, signed = self.verify_presigned(
                    self.command, raw_path, pairs, self.headers.get("Host", ""),
                    self.header_values, time.time())
                region = q["X-Amz-Credential"].split("/")[2]
            else:
                try:
                    akid, region = self.verify_header_auth(raw_path, raw_query, raw, "sts")
                except AuthError as e:
                    code = {"UnrecognizedClientException": "InvalidClientTokenId",
                            "InvalidSignatureException": "SignatureDoesNotMatch",
                            "MissingAuthenticationTokenException": "MissingAuthenticationToken",
                            "IncompleteSignatureException": "IncompleteSignature"}.get(
                        e.code, e.code)
                    raise StsError(e.status, code, e.message)
                m = re.search(r"SignedHeaders=([^,\s]+)", self.headers.get("Authorization", ""))
                signed = m.group(1).split(";") if m else []
        except StsError as e:
            self.log_call(cloud, op, e.status, None, k8s_id, akid=akid)
            return self.sts_error(e.status, e.code, e.message)
        ident = self.identity(akid)
        if k8s_id and "x-k8s-aws-id" in signed:
            with cloud.lock:
                rec = cloud.clusters(region).get(k8s_id)
                if rec is not None:
                    rec.tokens_seen.append({"via": "sts", "time": cloud.now(), "valid": True,
                                            "arn": ident["Arn"], "accessKeyId": akid})
        self.log_call(cloud, "GetCallerIdentity", 200, region, k8s_id, akid=akid)
        if fault is not None and fault.malformed:
            return self.reply(200, b"<GetCallerIdentityResponse><GetCallerIdentityRes",
                              content_type="text/xml")
        body = (f'<GetCallerIdentityResponse xmlns="{STS_NS}">\n'
                f'  <GetCallerIdentityResult>\n'
                f'    <Arn>{xml_escape(ident["Arn"])}</Arn>\n'
                f'    <UserId>{ident["UserId"]}</UserId>\n'
                f'    <Account>{ident["Account"]}</Account>\n'
                f'  </GetCallerIdentityResult>\n'
                f'  <ResponseMetadata>\n    <RequestId>{self.request_id}</RequestId>\n'
                f'  </ResponseMetadata>\n</GetCallerIdentityResponse>\n')
        self.reply(200, body.encode(), content_type="text/xml")

    def check_kube_token(self, token, cluster):
        """What aws-iam-authenticator in an EKS control plane does with a bearer token."""
        prefix = "k8s-aws-v1."
        if not isinstance(token, str) or not token.startswith(prefix):
            return None, "token does not start with k8s-aws-v1."
        b64 = token[len(prefix):]
        try:
            url = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            return None, "token is not base64url"
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return None, "token does not hold a URL"
        if parts.path not in ("", "/"):
            return None, f"unexpected path {parts.path!r} in the presigned URL"
        pairs = query_pairs(parts.query)
        for k, _ in pairs:
            if k.lower() not in ("action", "version") and not k.lower().startswith("x-amz-"):
                return None, f"non-whitelisted query parameter {k!r}"
        q = dict(pairs)
        if q.get("Action") != "GetCallerIdentity":
            return None, "unexpected Action in the presigned URL (want GetCallerIdentity)"
        if q.get("Version") != "2011-06-15":
            return None, "unexpected Version in the presigned URL"
        signed = (q.get("X-Amz-SignedHeaders") or "").split(";")
        if "x-k8s-aws-id" not in signed:
            return None, "client did not sign the x-k8s-aws-id header in the pre-signed URL"
        now = time.time()
        when = parse_amz_date(q.get("X-Amz-Date"))
        if when is None:
            return None, "X-Amz-Date is missing or malformed"
        if now - when > KUBE_TOKEN_LIFETIME:
            return None, "X-Amz-Date parameter is expired (15 minute expiration)"
        try:
            akid, _, q, _ = self.verify_presigned(
                "GET", parts.path or "/", pairs, parts.netloc,
                lambda name: [cluster] if name == "x-k8s-aws-id" else None, now)
        except StsError as e:
            return None, f"sts rejected the token: {e.code}: {e.message.splitlines()[0]}"
        return (akid, q["X-Amz-Credential"].split("/")[2]), None

    # -- admin --

    @staticmethod
    def bad_body(message):
        return ApiError(400, "SerializationException", message)

    @staticmethod
    def bad_value(message):
        return invalid(message)

    def admin_error(self, e):
        self.reply(e.status, {"code": e.code, "message": e.message},
                   headers=[("x-amzn-ErrorType", e.code)])

    def admin_missing(self, status, message):
        code = "MethodNotAllowed" if status == 405 else "UnknownOperationException"
        self.plain_error(status, code, message)

    def calls_view(self, calls):
        return {"calls": calls, "total": len(calls),
                "replays": sum(1 for c in calls if c["replay"])}

    @staticmethod
    def admin_cluster(cloud, region, name):
        rec = cloud.clusters(region).get(name)
        if rec is None:
            raise ApiError(404, "ResourceNotFoundException",
                           f"No cluster found for name: {name} in region {region}.", name)
        return rec

    @staticmethod
    def state_of(cloud, rec):
        updates = [u.internal() for u in rec.updates.values()]
        for ng in rec.nodegroups.values():
            updates += [u.internal() for u in ng.updates.values()]
        updates.sort(key=lambda u: u["createdAt"])
        return {"region": rec.region, "cluster": rec.view(),
                "nodegroups": {n: ng.view() for n, ng in sorted(rec.nodegroups.items())},
                "updates": updates, "tokens": copy.deepcopy(rec.tokens_seen),
                "replays": rec.replays, "armedCreateFailure": copy.deepcopy(rec.failure),
                "now": cloud.now()}

    @admin_route("GET", r"/admin/clusters")
    def admin_list(self, cloud, **_):
        with cloud.lock:
            cloud.settle()
            return 200, {"clusters": [
                {"region": r, "name": n, "status": c.current_status(),
                 "nodegroups": sorted(c.nodegroups)}
                for r, store in sorted(cloud.regions.items()) for n, c in sorted(store.items())]}

    @admin_route("POST", r"/admin/clusters")
    def admin_add(self, cloud, body, **_):
        region = body.get("region", DEFAULT_REGION)
        spec = body.get("cluster")
        if not isinstance(region, str) or not region:
            raise invalid('"region" must be a string')
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) \
                or not CLUSTER_NAME_RE.fullmatch(spec["name"]):
            raise invalid('"cluster" must be an object with a valid "name"')
        status = body.get("status", ACTIVE)
        if status not in (ACTIVE, CREATING, FAILED, DELETING, "PENDING"):
            raise invalid('"status" must be ACTIVE, CREATING, FAILED, DELETING or PENDING')
        ngs = body.get("nodegroups") or []
        if not isinstance(ngs, list) or not all(isinstance(n, dict) and isinstance(
                n.get("nodegroupName"), str) for n in ngs):
            raise invalid('"nodegroups" must be a list of objects with "nodegroupName"')
        with cloud.lock:
            cloud.settle()
            store = cloud.clusters(region)
            if spec["name"] in store:
                raise in_use(f"Cluster already exists with name: {spec['name']}", spec["name"])
            try:
                data = cloud.build_cluster(region, spec)
            except ApiError:
                raise
            except Exception as e:  # a malformed member in a hand-written test cluster
                raise invalid(f"cannot build the cluster: {e!r}")
            rec = Cluster(region, merge_patch(data, {k: v for k, v in spec.items()
                                                     if k not in ("logging",)}), status)
            if spec.get("logging") is not None:
                rec.data["logging"] = copy.deepcopy(spec["logging"])
            store[rec.name] = rec
            for ng_spec in ngs:
                self.add_nodegroup(cloud, rec, ng_spec)
            return 201, self.state_of(cloud, rec)

    @staticmethod
    def add_nodegroup(cloud, rec, spec):
        if not NODEGROUP_NAME_RE.fullmatch(spec.get("nodegroupName") or ""):
            raise invalid('a nodegroup needs a valid "nodegroupName"')
        if spec["nodegroupName"] in rec.nodegroups:
            raise in_use(f"NodeGroup already exists with name {spec['nodegroupName']} and "
                         f"cluster name {rec.name}", rec.name, spec["nodegroupName"])
        spec = dict(spec)
        status = spec.pop("status", ACTIVE)
        try:
            data = cloud.build_nodegroup(rec, spec)
        except Exception as e:
            raise invalid(f"cannot build the nodegroup: {e!r}")
        ng = Nodegroup(rec, merge_patch(data, spec), status)
        rec.nodegroups[ng.name] = ng
        return ng

    @admin_route("GET", r"/admin/clusters/(?P<region>[^/]+)/(?P<name>[^/]+)")
    def admin_state(self, cloud, region, name, **_):
        with cloud.lock:
            cloud.settle()
            return 200, self.state_of(cloud, self.admin_cluster(cloud, region, name))

    @admin_route("PATCH", r"/admin/clusters/(?P<region>[^/]+)/(?P<name>[^/]+)")
    def admin_patch(self, cloud, region, name, body, **_):
        with cloud.lock:
            cloud.settle()
            rec = self.admin_cluster(cloud, region, name)
            patch = dict(body)
            status = patch.pop("status", None)
            patch.pop("name", None)
            rec.data = merge_patch(rec.data, patch)
            if status is not None:
                rec.status = status
            return 200, self.state_of(cloud, rec)

    @admin_route("DELETE", r"/admin/clusters/(?P<region>[^/]+)/(?P<name>[^/]+)")
    def admin_delete(self, cloud, region, name, **_):
        with cloud.lock:
            cloud.settle()
            self.admin_cluster(cloud, region, name)
            del cloud.clusters(region)[name]
            cloud.forget_tokens(region, name)
            return 200, {"deleted": name, "region": region}

    @admin_route("POST", r"/admin/clusters/(?P<region>[^/]+)/(?P<name>[^/]+)/nodegroups")
    def admin_add_nodegroup(self, cloud, region, name, body, **_):
        with cloud.lock:
            cloud.settle()
            rec = self.admin_cluster(cloud, region, name)
            ng = self.add_nodegroup(cloud, rec, body)
            return 201, ng.view()

    @admin_route("PATCH", r"/admin/clusters/(?P<region>[^/]+)/(?P<name>[^/]+)/nodegroups/"
                          r"(?P<ng>[^/]+)")
    def admin_patch_nodegroup(self, cloud, region, name, ng, body, **_):
        with cloud.lock:
            cloud.settle()
            rec = self.admin_cluster(cloud, region, name)
            obj = rec.nodegroups.get(ng)
            if obj is None:
                raise ApiError(404, "ResourceNotFoundException",
                               f"No node group found for name: {ng}.", name, ng)
            patch = dict(body)
            status = patch.pop("status", None)
            patch.pop("nodegroupName", None)
            obj.data = merge_patch(obj.data, patch)
            obj.data["modifiedAt"] = cloud.now()
            if status is not None:
                obj.status = status
            return 200, obj.view()

    @admin_route("DELETE", r"/admin/clusters/(?P<region>[^/]+)/(?P<name>[^/]+)/nodegroups/"
                           r"(?P<ng>[^/]+)")
    def admin_delete_nodegroup(self, cloud, region, name, ng, **_):
        with cloud.lock:
            cloud.settle()
            rec = self.admin_cluster(cloud, region, name)
            if rec.nodegroups.pop(ng, None) is None:
                raise ApiError(404, "ResourceNotFoundException",
                               f"No node group found for name: {ng}.", name, ng)
            cloud.forget_tokens(region, name, ng)
            return 200, {"deleted": ng}

    @admin_route("POST", r"/admin/kube-token")
    def admin_kube_token(self, cloud, body, **_):
        token, cluster = body.get("token"), body.get("cluster")
        if not isinstance(cluster, str) or not cluster:
            raise invalid('"cluster" must be the cluster name the token is for')
        who, reason = self.check_kube_token(token, cluster)
        ident = self.identity(who[0]) if who else None
        out = {"valid": who is not None, "reason": reason, "cluster": cluster,
               "arn": ident["Arn"] if ident else None,
               "accountId": ident["Account"] if ident else None,
               "userId": ident["UserId"] if ident else None,
               "accessKeyId": who[0] if who else None,
               "region": who[1] if who else None}
        with cloud.lock:
            cloud.settle()
            found = [store[cluster] for store in cloud.regions.values() if cluster in store]
            if who:
                found = [c for c in found if c.region == who[1]] or found
            for rec in found:
                rec.tokens_seen.append({"via": "kube-token", "time": cloud.now(),
                                        "valid": out["valid"], "reason": reason,
                                        "arn": out["arn"], "accessKeyId": out["accessKeyId"]})
            out["clusterFound"] = bool(found)
        return 200, out


Handler.admin_routes = emucore.admin_routes_of(Handler)


def parse_keys(text):
    keys = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        parts = item.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise SystemExit(f"eksemu: --keys wants AKID:SECRET[:SESSIONTOKEN], got {item!r}")
        keys[parts[0]] = {"secret": parts[1], "token": parts[2] if len(parts) == 3 else None}
    if not keys:
        raise SystemExit("eksemu: --keys names no key")
    return keys


def main(argv=None):
    ap = argparse.ArgumentParser(description="hcr's EKS emulator (see docs/eksemu.md)")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--max-seconds", type=float, default=1800, help="stop after this long")
    ap.add_argument("--keys", default=DEFAULT_KEYS,
                    help="comma-separated AKID:SECRET[:SESSIONTOKEN] accepted by SigV4")
    ap.add_argument("--account", default=DEFAULT_ACCOUNT, help="the 12-digit account id")
    ap.add_argument("--no-auth", action="store_true", help="do not check signatures")
    ap.add_argument("--create-seconds", type=float, default=600)
    ap.add_argument("--update-seconds", type=float, default=60)
    ap.add_argument("--nodegroup-seconds", type=float, default=120)
    ap.add_argument("--delete-seconds", type=float, default=300)
    ap.add_argument("--rate-per-s", type=float, default=0, help="token bucket; 0 is off")
    ap.add_argument("--verbose", action="store_true", help="log every request to stderr")
    opts = ap.parse_args(argv)
    if not re.fullmatch(r"\d{12}", opts.account):
        raise SystemExit("eksemu: --account must be 12 digits")
    opts.key_map = parse_keys(opts.keys)

    server = emucore.Server(("127.0.0.1", opts.port), Handler)
    server.opts = opts
    server.cloud = Cloud(opts)
    return emucore.serve(server, opts.max_seconds)


if __name__ == "__main__":
    sys.exit(main())
