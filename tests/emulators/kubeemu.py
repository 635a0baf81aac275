#!/usr/bin/env python3
"""kubeemu: an emulator of the Kubernetes API server for hcr's sync worker tests. One
process serves several independent clusters, each on its own 127.0.0.1 port.

    python3 tests/emulators/kubeemu.py [--port 0] [--max-seconds 1800]
        [--clusters left,right] [--cluster NAME=PORT ...] [--token NAME=TOKEN ...]
        [--crd-establish-seconds 0.2] [--namespace-delete-seconds 0]
        [--watch-history 200000] [--tls] [--kube-version 1.32.4] [--verbose]

The first line on stdout is "listening on 127.0.0.1:<admin port>" (the admin API, which
every cluster port serves too); the second is "clusters <JSON>", an object that maps each
cluster name to {"port", "url", "token"} (and, with --tls, the CA and a client
certificate). The server stops by itself when the process that started it dies, or after
--max-seconds.

What it implements (discovery, CRUD, patches, watches, CRDs, server defaults, the Status
error objects, the admin API) and how it differs from a real kube-apiserver is in
docs/kubeemu.md. Standard library only, plus `cryptography` for --tls and PyYAML (when
installed) for application/apply-patch+yaml bodies that are not JSON.
"""

import argparse
import base64
import bisect
import collections
import copy
import datetime
import hashlib
import ipaddress
import itertools
import json
import os
import random
import re
import select
import socket
import ssl
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # emucore.py is next to this file
import emucore  # noqa: E402  (the clock, faults, call log and HTTP plumbing of every emulator)
from emucore import admin_route  # noqa: E402

try:
    import yaml  # only for apply-patch+yaml bodies that are not JSON
except ImportError:  # pragma: no cover - depends on the machine
    yaml = None

DEFAULT_KUBE_VERSION = "1.32.4"
MAX_BODY = 64 * 1024 * 1024  # bulk loads of 20,000 objects fit
WATCH_MAX_SECONDS = 1800
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
NODE_PORT_RANGE = (30000, 32767)
ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
NS_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection"}
JSON_CT = "application/json"
PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json", "application/apply-patch+yaml",
               "application/apply-patch+cbor"]
OPTIMISTIC_LOCK = ("the object has been modified; please apply your changes to the latest "
                   "version and try again")
CONTINUE_TOO_OLD = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted "
    "between the time the first chunk was returned and now may show up in the list.")
ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
    "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
    "guaranteed across distributions of Kubernetes clusters.")
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
UNDELETABLE_NAMESPACES = ("default", "kube-system", "kube-public")
# Finalizers that a controller of a real cluster removes at once when nothing uses the
# object; the emulator removes them itself when the object is deleted.
SYSTEM_FINALIZERS = {"kubernetes.io/pvc-protection", "kubernetes.io/pv-protection",
                     "customresourcecleanup.apiextensions.k8s.io"}

# A self-signed certificate (EC P-256, CN=kubernetes, valid 2020-2119), the CA bundle of
# every namespace's kube-root-ca.crt when the emulator runs without --tls. Its key was
# thrown away.
FAKE_CA_PEM = """-----BEGIN CERTIFICATE-----
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

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                 "characters, '-' or '.', and must start and end with an alphanumeric character "
                 "(e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
             "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
             "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
               "with an alphabetic character, and end with an alphanumeric character (e.g. "
               "'my-name',  or 'abc-123', regex used for validation is "
               "'[a-z]([-a-z0-9]*[a-z0-9])?')")
DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")


def now_rfc3339(t):
    return datetime.datetime.fromtimestamp(int(t), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text):
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except (TypeError, ValueError):
        return None


def human_age(seconds):
    """kubectl's HumanDuration, the AGE column."""
    s = max(0, int(seconds))
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = s // 3600
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    d = h // 24
    if d < 8:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    if d < 365 * 2:
        return f"{d}d"
    return f"{d // 365}y"


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def go_repr(v):
    """How Go's %#v / field.Invalid shows a value in messages (near enough)."""
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return "[]string{" + ", ".join(json.dumps(x) for x in v) + "}"
    if isinstance(v, dict) and all(isinstance(x, str) for x in v.values()):
        return "map[string]string{" + ", ".join(
            f"{json.dumps(k)}:{json.dumps(x)}" for k, x in sorted(v.items())) + "}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


# ---- the Status error objects ------------------------------------------------------------


class KubeError(Exception):
    """A refused request: a metav1.Status with code, reason, message and details."""

    def __init__(self, code, reason, message, details=None, headers=()):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details = details
        self.headers = list(headers)

    def status(self):
        s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
             "message": self.message, "reason": self.reason}
        if self.details is not None:
            s["details"] = self.details
        s["code"] = self.code
        return s


def qualified(kind_obj):
    """"configmaps", "deployments.apps": the resource as errors name it."""
    return kind_obj.resource + ("." + kind_obj.group if kind_obj.group else "")


def details_of(kind_obj, name=None, extra=None):
    d = {}
    if name is not None:
        d["name"] = name
    if kind_obj.group:
        d["group"] = kind_obj.group
    d["kind"] = kind_obj.resource
    if extra:
        d.update(extra)
    return d


def not_found(kind_obj, name):
    return KubeError(404, "NotFound", f'{qualified(kind_obj)} "{name}" not found',
                     details_of(kind_obj, name))


def namespace_not_found(ns):
    return KubeError(404, "NotFound", f'namespaces "{ns}" not found',
                     {"name": ns, "kind": "namespaces"})


def already_exists(kind_obj, name):
    return KubeError(409, "AlreadyExists", f'{qualified(kind_obj)} "{name}" already exists',
                     details_of(kind_obj, name))


def conflict(kind_obj, name, why=OPTIMISTIC_LOCK):
    return KubeError(409, "Conflict",
                     f'Operation cannot be fulfilled on {qualified(kind_obj)} "{name}": {why}',
                     details_of(kind_obj, name))


def bad_request(message):
    return KubeError(400, "BadRequest", message)


def resource_not_found():
    return KubeError(404, "NotFound", "the server could not find the requested resource",
                     {})


def method_not_allowed():
    return KubeError(405, "MethodNotAllowed",
                     "the server does not allow this method on the requested resource", {})


def gone(message):
    return KubeError(410, "Expired", message)


class Cause:
    """One field error of a 422 Invalid answer."""

    def __init__(self, reason, field, detail, value=None, show_value=True):
        self.reason, self.field = reason, field
        kinds = {"FieldValueRequired": "Required value", "FieldValueInvalid": "Invalid value",
                 "FieldValueForbidden": "Forbidden", "FieldValueDuplicate": "Duplicate value",
                 "FieldValueNotSupported": "Unsupported value",
                 "FieldValueTooLong": "Too long", "FieldValueTypeInvalid": "Invalid value"}
        head = kinds.get(reason, reason)
        if reason in ("FieldValueInvalid", "FieldValueDuplicate", "FieldValueNotSupported",
                      "FieldValueTypeInvalid") and show_value:
            head += ": " + go_repr(value)
        self.message = head + (": " + detail if detail else "")

    def view(self):
        return {"reason": self.reason, "message": self.message, "field": self.field}


def required(field, detail=""):
    return Cause("FieldValueRequired", field, detail)


def invalid_value(field, value, detail):
    return Cause("FieldValueInvalid", field, detail, value)


def forbidden_field(field, detail):
    return Cause("FieldValueForbidden", field, detail)


def unsupported(field, value, allowed):
    return Cause("FieldValueNotSupported", field,
                 "supported values: " + ", ".join(json.dumps(a) for a in allowed), value)


def invalid(kind_obj, name, causes):
    """422 Invalid: `<Kind>.<group> "name" is invalid: field: message, ...`."""
    qual = kind_obj.kind + ("." + kind_obj.group if kind_obj.group else "")
    msgs = [f"{c.field}: {c.message}" for c in causes]
    text = msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"
    d = {"name": name or ""}
    if kind_obj.group:
        d["group"] = kind_obj.group
    d["kind"] = kind_obj.kind
    d["causes"] = [c.view() for c in causes]
    return KubeError(422, "Invalid", f'{qual} "{name or ""}" is invalid: {text}', d)


# ---- kinds --------------------------------------------------------------------------------


class Kind:
    """One served resource at one group/version."""

    def __init__(self, group, version, resource, kind, namespaced, short=(), singular=None,
                 verbs=ALL_VERBS, categories=(), status=False, scale=False, generation=False,
                 crd=None, storage_version=None, name_check="subdomain"):
        self.group, self.version, self.resource, self.kind = group, version, resource, kind
        self.namespaced = namespaced
        self.short = list(short)
        self.singular = singular if singular is not None else kind.lower()
        self.verbs = list(verbs)
        self.categories = list(categories)
        self.status, self.scale, self.generation = status, scale, generation
        self.crd = crd  # the CRD's name for a custom resource, else None
        self.storage_version = storage_version or version
        self.name_check = name_check
        self.columns = None  # additionalPrinterColumns of a CRD version
        self.schema = None  # openAPIV3Schema of a CRD version
        self.preserve_unknown = True

    @property
    def gr(self):
        return (self.group, self.resource)

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def gv(self):
        return self.api_version

    def discovery(self):
        h = hashlib.sha256(f"{self.group}/{self.storage_version}/{self.kind}".encode()).digest()
        r = {"name": self.resource, "singularName": self.singular,
             "namespaced": self.namespaced, "kind": self.kind, "verbs": self.verbs}
        if self.short:
            r["shortNames"] = self.short
        if self.categories:
            r["categories"] = self.categories
        r["storageVersionHash"] = base64.b64encode(h[:8]).decode()
        return r


def _k(group, version, resource, kind, namespaced, **kw):
    return Kind(group, version, resource, kind, namespaced, **kw)


BUILTIN_KINDS = [
    _k("", "v1", "namespaces", "Namespace", False, short=["ns"], verbs=NS_VERBS, status=True,
       name_check="label"),
    _k("", "v1", "configmaps", "ConfigMap", True, short=["cm"]),
    _k("", "v1", "secrets", "Secret", True),
    _k("", "v1", "services", "Service", True, short=["svc"], categories=["all"], status=True,
       verbs=["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
       name_check="dns1035"),
    _k("", "v1", "serviceaccounts", "ServiceAccount", True, short=["sa"]),
    _k("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, short=["pvc"],
       status=True),
    _k("", "v1", "persistentvolumes", "PersistentVolume", False, short=["pv"], status=True),
    _k("", "v1", "pods", "Pod", True, short=["po"], categories=["all"], status=True),
    _k("", "v1", "events", "Event", True, short=["ev"]),
    _k("", "v1", "endpoints", "Endpoints", True, short=["ep"], singular="endpoints"),
    _k("", "v1", "limitranges", "LimitRange", True, short=["limits"]),
    _k("", "v1", "resourcequotas", "ResourceQuota", True, short=["quota"], status=True),
    _k("", "v1", "replicationcontrollers", "ReplicationController", True, short=["rc"],
       categories=["all"], status=True, scale=True, generation=True),
    _k("", "v1", "podtemplates", "PodTemplate", True),
    _k("", "v1", "nodes", "Node", False, short=["no"], status=True),
    _k("apps", "v1", "deployments", "Deployment", True, short=["deploy"], categories=["all"],
       status=True, scale=True, generation=True),
    _k("apps", "v1", "statefulsets", "StatefulSet", True, short=["sts"], categories=["all"],
       status=True, scale=True, generation=True),
    _k("apps", "v1", "daemonsets", "DaemonSet", True, short=["ds"], categories=["all"],
       status=True, generation=True),
    _k("apps", "v1", "replicasets", "ReplicaSet", True, short=["rs"], categories=["all"],
       status=True, scale=True, generation=True),
    _k("apps", "v1", "controllerrevisions", "ControllerRevision", True),
    _k("batch", "v1", "jobs", "Job", True, categories=["all"], status=True, generation=True),
    _k("batch", "v1", "cronjobs", "CronJob", True, short=["cj"], categories=["all"],
       status=True, generation=True),
    _k("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True,
       short=["hpa"], categories=["all"], status=True),
    _k("rbac.authorization.k8s.io", "v1", "roles", "Role", True, name_check="path"),
    _k("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True,
       name_check="path"),
    _k("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False,
       name_check="path"),
    _k("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False,
       name_check="path"),
    _k("networking.k8s.io", "v1", "ingresses", "Ingress", True, short=["ing"], status=True,
       generation=True),
    _k("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, short=["netpol"],
       generation=True),
    _k("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False, generation=True),
    _k("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, short=["sc"]),
    _k("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, short=["pdb"],
       status=True, generation=True),
    _k("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
       False, short=["crd", "crds"], categories=["api-extensions"], status=True,
       generation=True),
    _k("coordination.k8s.io", "v1", "leases", "Lease", True),
    _k("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, short=["pc"],
       generation=True),
    _k("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
]
# /apis lists groups in the order of a real kube-apiserver; CRD groups come after these.
GROUP_ORDER = ["apps", "events.k8s.io", "authentication.k8s.io", "authorization.k8s.io",
               "autoscaling", "batch", "certificates.k8s.io", "networking.k8s.io", "policy",
               "rbac.authorization.k8s.io", "storage.k8s.io", "admissionregistration.k8s.io",
               "apiextensions.k8s.io", "scheduling.k8s.io", "coordination.k8s.io",
               "node.k8s.io", "discovery.k8s.io", "flowcontrol.apiserver.k8s.io"]
# The non-storage resources served besides the kinds above (POST only).
REVIEW_KINDS = [
    _k("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview",
       False, verbs=["create"]),
    _k("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", False,
       verbs=["create"]),
]


def kube_version_key(v):
    """Kubernetes' version priority (v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > other)."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", v)
    if not m:
        return (0, 0, 0, v)
    major = int(m.group(1))
    stage = {"alpha": 1, "beta": 2, None: 3}[m.group(2)]
    minor = int(m.group(3) or 0)
    return (stage, major, minor, "")


def sort_versions(versions):
    """Sorted by priority: GA highest major first, then betas, then alphas, then others."""
    def key(v):
        stage, major, minor, other = kube_version_key(v)
        if stage == 0:
            return (0, other)
        return (-stage, -major, -minor)
    ranked = sorted(versions, key=lambda v: (kube_version_key(v)[0] == 0, key(v)))
    return ranked


# ---- selectors ----------------------------------------------------------------------------


def split_top(text):
    """Splits a selector on the commas that are not inside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text):
    """A list of (key, op, values) for ?labelSelector=; raises KubeError 400."""
    reqs = []
    if not text:
        return reqs
    for part in split_top(text):
        m = re.fullmatch(r"([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)", part)
        if m:
            values = {v.strip() for v in m.group(3).split(",") if v.strip()}
            reqs.append((m.group(1), m.group(2), values))
            continue
        m = re.fullmatch(r"([^\s!=(),<>]+)\s*(==|=|!=|<|>)\s*([^\s!=(),]*)", part)
        if m:
            op = {"==": "=", "=": "="}.get(m.group(2), m.group(2))
            reqs.append((m.group(1), op, {m.group(3)}))
            continue
        m = re.fullmatch(r"!\s*([^\s!=(),]+)", part)
        if m:
            reqs.append((m.group(1), "!", set()))
            continue
        m = re.fullmatch(r"([^\s!=(),]+)", part)
        if m:
            reqs.append((m.group(1), "exists", set()))
            continue
        raise bad_request(f"unable to parse requirement: found '{part}', expected: "
                          f"',', '!=', '==', '=', 'in', 'notin'")
    for key, _, _ in reqs:
        name = key.rsplit("/", 1)[-1]
        if not LABEL_NAME.fullmatch(name) or len(name) > 63:
            raise bad_request(f"unable to parse requirement: <nil>: Invalid value: \"{key}\": "
                              "name part must consist of alphanumeric characters, '-', '_' or "
                              "'.', and must start and end with an alphanumeric character")
    return reqs


def labels_match(reqs, labels):
    labels = labels or {}
    for key, op, values in reqs:
        has = key in labels
        v = labels.get(key)
        if op == "=" and (not has or v not in values):
            return False
        if op == "!=" and has and v in values:
            return False
        if op == "in" and (not has or v not in values):
            return False
        if op == "notin" and has and v in values:
            return False
        if op == "exists" and not has:
            return False
        if op == "!" and has:
            return False
        if op in ("<", ">"):
            try:
                lv, rv = int(v), int(next(iter(values)))
            except (TypeError, ValueError, StopIteration):
                return False
            if not (lv < rv if op == "<" else lv > rv):
                return False
    return True


def match_label_selector_obj(sel, labels):
    """A metav1.LabelSelector (matchLabels + matchExpressions) against labels."""
    if sel is None:
        return False
    labels = labels or {}
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e.get("key"), e.get("operator"), set(e.get("values") or [])
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and k in labels and labels[k] in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


FIELD_SELECTORS = {
    ("", "secrets"): {"type": lambda o: o.get("type")},
    ("", "namespaces"): {"status.phase": lambda o: (o.get("status") or {}).get("phase")},
    ("", "pods"): {
        "spec.nodeName": lambda o: (o.get("spec") or {}).get("nodeName", ""),
        "spec.restartPolicy": lambda o: (o.get("spec") or {}).get("restartPolicy"),
        "spec.schedulerName": lambda o: (o.get("spec") or {}).get("schedulerName"),
        "spec.serviceAccountName": lambda o: (o.get("spec") or {}).get("serviceAccountName"),
        "status.phase": lambda o: (o.get("status") or {}).get("phase"),
        "status.podIP": lambda o: (o.get("status") or {}).get("podIP", ""),
    },
    ("", "events"): {
        "involvedObject.kind": lambda o: (o.get("involvedObject") or {}).get("kind", ""),
        "involvedObject.name": lambda o: (o.get("involvedObject") or {}).get("name", ""),
        "involvedObject.namespace": lambda o: (o.get("involvedObject") or {}).get(
            "namespace", ""),
        "involvedObject.uid": lambda o: (o.get("involvedObject") or {}).get("uid", ""),
        "reason": lambda o: o.get("reason", ""),
        "type": lambda o: o.get("type", ""),
        "source": lambda o: (o.get("source") or {}).get("component", ""),
    },
    ("batch", "jobs"): {"status.successful": lambda o: str((o.get("status") or {}).get(
        "succeeded", 0))},
    ("", "nodes"): {"spec.unschedulable": lambda o: str(bool((o.get("spec") or {}).get(
        "unschedulable"))).lower()},
}


def parse_field_selector(text, kind_obj):
    """A list of (getter, op, value) for ?fieldSelector=; raises KubeError 400."""
    reqs = []
    if not text:
        return reqs
    extra = FIELD_SELECTORS.get(kind_obj.gr, {})
    for part in split_top(text):
        m = re.fullmatch(r"([^=!]+?)\s*(==|=|!=)\s*(.*)", part)
        if not m:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = m.group(1).strip(), m.group(2), m.group(3).strip()
        if field == "metadata.name":
            getter = lambda o: o["metadata"].get("name")  # noqa: E731
        elif field == "metadata.namespace":
            getter = lambda o: o["metadata"].get("namespace", "")  # noqa: E731
        elif field in extra:
            getter = extra[field]
        elif kind_obj.crd:
            raise bad_request(f'"{field}" is not a known field selector: only '
                              f'"metadata.name", "metadata.namespace"')
        else:
            raise bad_request(f'field label not supported: {field}')
        reqs.append((getter, "!=" if op == "!=" else "=", value))
    return reqs


def fields_match(reqs, obj):
    for getter, op, value in reqs:
        v = getter(obj)
        v = "" if v is None else str(v)
        if (v == value) != (op == "="):
            return False
    return True


# ---- patches ------------------------------------------------------------------------------


class PatchError(Exception):
    """A patch that cannot be applied; becomes 422 (or 400 for an unparsable one)."""

    def __init__(self, message, code=422):
        super().__init__(message)
        self.code = code


def merge_patch(target, patch):
    return emucore.merge_patch(target, patch)


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"the JSON pointer {path!r} does not start with '/'")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts, op):
    cur = doc
    for p in parts:
        if isinstance(cur, dict):
            if p not in cur:
                raise PatchError(f"{op} operation does not apply: doc is missing path: "
                                 f"/{'/'.join(parts)}")
            cur = cur[p]
        elif isinstance(cur, list):
            try:
                i = int(p)
            except ValueError:
                raise PatchError(f"{op} operation does not apply: doc is missing path: "
                                 f"/{'/'.join(parts)}")
            if not 0 <= i < len(cur):
                raise PatchError(f"{op} operation does not apply: doc is missing path: "
                                 f"/{'/'.join(parts)}")
            cur = cur[i]
        else:
            raise PatchError(f"{op} operation does not apply: doc is missing path: "
                             f"/{'/'.join(parts)}")
    return cur


def _add(doc, parts, value, op="add"):
    if not parts:
        return value
    parent = _walk(doc, parts[:-1], op)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        else:
            try:
                i = int(last)
            except ValueError:
                raise PatchError(f"{op} operation does not apply: invalid index {last!r}")
            if not 0 <= i <= len(parent):
                raise PatchError(f"{op} operation does not apply: index {i} out of range")
            parent.insert(i, value)
    else:
        raise PatchError(f"{op} operation does not apply: doc is missing path")
    return doc


def _remove(doc, parts, op="remove"):
    if not parts:
        raise PatchError("cannot remove the whole document")
    parent = _walk(doc, parts[:-1], op)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"{op} operation does not apply: doc is missing path: "
                             f"/{'/'.join(parts)}")
        return parent.pop(last)
    if isinstance(parent, list):
        try:
            i = int(last)
            return parent.pop(i)
        except (ValueError, IndexError):
            raise PatchError(f"{op} operation does not apply: doc is missing path: "
                             f"/{'/'.join(parts)}")
    raise PatchError(f"{op} operation does not apply: doc is missing path")


def json_patch(doc, ops):
    """RFC 6902 JSON patch. Returns a new document."""
    if not isinstance(ops, list):
        raise PatchError("json patch must be a JSON array", 400)
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op:
            raise PatchError("each json patch operation must be an object with \"op\"", 400)
        kind = op["op"]
        parts = _pointer(op.get("path", ""))
        if kind == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, parts)
        elif kind == "replace":
            if not parts:
                doc = copy.deepcopy(op.get("value"))
                continue
            parent = _walk(doc, parts[:-1], "replace")
            last = parts[-1]
            if isinstance(parent, dict):
                if last not in parent:
                    raise PatchError("replace operation does not apply: doc is missing key: "
                                     + op.get("path", ""))
                parent[last] = copy.deepcopy(op.get("value"))
            elif isinstance(parent, list):
                try:
                    parent[int(last)] = copy.deepcopy(op.get("value"))
                except (ValueError, IndexError):
                    raise PatchError("replace operation does not apply: doc is missing key: "
                                     + op.get("path", ""))
            else:
                raise PatchError("replace operation does not apply")
        elif kind in ("move", "copy"):
            src = _pointer(op.get("from", ""))
            value = copy.deepcopy(_walk(doc, src, kind))
            if kind == "move":
                _remove(doc, src, "move")
            doc = _add(doc, parts, value, kind)
        elif kind == "test":
            try:
                cur = _walk(doc, parts, "test")
            except PatchError:
                cur = object()
            if cur != op.get("value"):
                raise PatchError(f"testing value {op.get('path')} failed: test failed")
        else:
            raise PatchError(f"Unexpected kind: {kind}", 400)
    return doc


# Strategic merge patch: the list fields that merge by a key instead of being replaced
# (from the patchMergeKey tags of the core types; "ports" picks its key by content).
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "env": "name", "volumes": "name", "volumeMounts": "mountPath",
    "volumeDevices": "devicePath", "imagePullSecrets": "name", "conditions": "type",
    "ownerReferences": "uid", "hostAliases": "ip", "resourceClaims": "name",
    "topologySpreadConstraints": "topologyKey", "schedulingGates": "name",
}
PRIMITIVE_MERGE_LISTS = {"finalizers"}


def merge_key_for(field, items):
    if field == "ports":
        for it in items or []:
            if isinstance(it, dict):
                if "containerPort" in it:
                    return "containerPort"
                if "port" in it:
                    return "port"
        return None
    return MERGE_KEYS.get(field)


def strategic_merge(target, patch):
    """A strategic merge patch (approximated: merge keys by field name, the directives
    $patch, $retainKeys, $setElementOrder/ and $deleteFromPrimitiveList/)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    orders = {}
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys"):
            continue
        if k.startswith("$setElementOrder/"):
            orders[k.split("/", 1)[1]] = v
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [x for x in result[field] if x not in (v or [])]
            continue
        if v is None:
            result.pop(k, None)
            continue
        cur = result.get(k)
        if isinstance(v, dict):
            merged = strategic_merge(cur, v)
            if merged is None:
                result.pop(k, None)
            else:
                result[k] = merged
        elif isinstance(v, list):
            result[k] = strategic_merge_list(k, cur, v)
        else:
            result[k] = copy.deepcopy(v)
    for field, order in orders.items():
        if isinstance(result.get(field), list) and isinstance(order, list):
            result[field] = apply_order(field, result[field], order)
    if isinstance(retain, list):
        for k in list(result):
            if k not in retain:
                del result[k]
    return result


def strategic_merge_list(field, cur, patch):
    if field in PRIMITIVE_MERGE_LISTS:
        out = list(cur or [])
        for x in patch:
            if x not in out:
                out.append(copy.deepcopy(x))
        return out
    key = merge_key_for(field, list(patch) + list(cur or []))
    if key is None or not isinstance(cur, list):
        replace = [x for x in patch if not (isinstance(x, dict) and x.get("$patch"))]
        return copy.deepcopy(replace)
    if any(isinstance(x, dict) and x.get("$patch") == "replace" for x in patch):
        return [copy.deepcopy(x) for x in patch
                if not (isinstance(x, dict) and x.get("$patch"))]
    out = [copy.deepcopy(x) for x in cur]
    for item in patch:
        if not isinstance(item, dict):
            out.append(copy.deepcopy(item))
            continue
        kv = item.get(key)
        idx = next((i for i, x in enumerate(out) if isinstance(x, dict) and x.get(key) == kv),
                   None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            out.append(strategic_merge({}, item))
        else:
            out[idx] = strategic_merge(out[idx], item)
    return out


def apply_order(field, items, order):
    """$setElementOrder: the listed elements first, in that order, then the rest."""
    key = merge_key_for(field, order + items)
    if key is None:
        ranked = {json.dumps(x, sort_keys=True): i for i, x in enumerate(order)}
        return sorted(items, key=lambda x: ranked.get(json.dumps(x, sort_keys=True),
                                                      len(ranked)))
    ranked = {}
    for i, x in enumerate(order):
        if isinstance(x, dict):
            ranked[json.dumps(x.get(key))] = i
    return sorted(items, key=lambda x: ranked.get(json.dumps(x.get(key) if isinstance(
        x, dict) else x), len(ranked)))


# ---- field ownership (managedFields) ------------------------------------------------------


def field_paths(value, prefix=(), kind_obj=None, top=True):
    """The set of leaf paths of an object, in fieldsV1 notation: "f:name" for map keys,
    'k:{"name":"x"}' for list items with a merge key; other lists are leaves."""
    out = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if top and k in ("kind", "apiVersion", "status"):
                continue
            if top and k == "metadata":
                meta = {m: v[m] for m in ("labels", "annotations", "finalizers",
                                          "ownerReferences") if m in v}
                out |= field_paths(meta, prefix + ("f:metadata",), kind_obj, False)
                continue
            p = prefix + ("f:" + k,)
            if isinstance(v, dict) and v:
                out |= field_paths(v, p, kind_obj, False)
            elif isinstance(v, list) and v and merge_key_for(k, v) and all(
                    isinstance(x, dict) and merge_key_for(k, v) in x for x in v):
                key = merge_key_for(k, v)
                for item in v:
                    kp = p + ("k:" + json.dumps({key: item[key]}, separators=(",", ":")),)
                    out.add(kp + (".",))
                    out |= field_paths(item, kp, kind_obj, False)
            elif isinstance(v, list) and v and k in PRIMITIVE_MERGE_LISTS:
                for item in v:
                    out.add(p + ("v:" + json.dumps(item),))
            else:
                out.add(p)
    return out


def paths_to_fields(paths):
    tree = {}
    for p in sorted(paths):
        cur = tree
        for seg in p:
            cur = cur.setdefault(seg, {})
    return tree


def fields_to_paths(tree, prefix=()):
    out = set()
    for k, v in (tree or {}).items():
        p = prefix + (k,)
        if k == ".":
            out.add(p)
        elif v:
            out |= fields_to_paths(v, p)
        else:
            out.add(p)
    return out


def value_at(obj, path):
    """The value at a fieldsV1 path, or a sentinel when absent."""
    cur = obj
    for seg in path:
        if seg == ".":
            return cur
        if seg.startswith("f:"):
            if not isinstance(cur, dict) or seg[2:] not in cur:
                return MISSING
            cur = cur[seg[2:]]
        elif seg.startswith("k:"):
            want = json.loads(seg[2:])
            if not isinstance(cur, list):
                return MISSING
            found = [x for x in cur if isinstance(x, dict)
                     and all(x.get(a) == b for a, b in want.items())]
            if not found:
                return MISSING
            cur = found[0]
        elif seg.startswith("v:"):
            want = json.loads(seg[2:])
            return want if isinstance(cur, list) and want in cur else MISSING
        else:
            return MISSING
    return cur


def remove_path(obj, path):
    """Removes the value at a fieldsV1 path (for fields an applier stopped applying)."""
    if not path:
        return
    if path[-1] == ".":
        path = path[:-1]
        if not path:
            return
    parent = obj
    for seg in path[:-1]:
        parent = value_at(parent, (seg,))
        if parent is MISSING:
            return
    last = path[-1]
    if last.startswith("f:") and isinstance(parent, dict):
        parent.pop(last[2:], None)
    elif last.startswith("k:") and isinstance(parent, list):
        want = json.loads(last[2:])
        parent[:] = [x for x in parent if not (isinstance(x, dict) and all(
            x.get(a) == b for a, b in want.items()))]
    elif last.startswith("v:") and isinstance(parent, list):
        want = json.loads(last[2:])
        parent[:] = [x for x in parent if x != want]


class _Missing:
    def __repr__(self):
        return "<missing>"


MISSING = _Missing()


def prune_empty(obj, template):
    """Drops maps that an apply emptied and that the applied config does not hold."""
    if isinstance(obj, dict):
        for k in list(obj):
            v = obj[k]
            if isinstance(v, (dict, list)):
                prune_empty(v, (template or {}).get(k) if isinstance(template, dict) else None)
                if v == {} and not (isinstance(template, dict) and k in template):
                    del obj[k]


# ---- server defaults ----------------------------------------------------------------------


def pull_policy(image):
    image = image or ""
    if "@" in image:
        return "IfNotPresent"
    tail = image.rsplit("/", 1)[-1]
    if ":" not in tail or tail.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def default_probe(p):
    if not isinstance(p, dict):
        return
    if isinstance(p.get("httpGet"), dict):
        p["httpGet"].setdefault("path", "/")
        p["httpGet"].setdefault("scheme", "HTTP")
    p.setdefault("timeoutSeconds", 1)
    p.setdefault("periodSeconds", 10)
    p.setdefault("successThreshold", 1)
    p.setdefault("failureThreshold", 3)


def default_container(c):
    if not isinstance(c, dict):
        return
    c.setdefault("resources", {})
    for p in c.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
    for e in c.get("env") or []:
        fr = (e.get("valueFrom") or {}).get("fieldRef") if isinstance(e, dict) else None
        if isinstance(fr, dict):
            fr.setdefault("apiVersion", "v1")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        default_probe(c.get(probe))
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("imagePullPolicy", pull_policy(c.get("image")))


def default_pod_spec(spec, is_pod=False):
    if not isinstance(spec, dict):
        return
    for field in ("containers", "initContainers"):
        for c in spec.get(field) or []:
            default_container(c)
    for v in spec.get("volumes") or []:
        if not isinstance(v, dict):
            continue
        for src in ("configMap", "secret", "projected", "downwardAPI"):
            if isinstance(v.get(src), dict):
                v[src].setdefault("defaultMode", 420)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    if is_pod:
        spec.setdefault("serviceAccountName", "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    if is_pod:
        spec.setdefault("tolerations", [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists",
             "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists",
             "effect": "NoExecute", "tolerationSeconds": 300}])
        spec.setdefault("priority", 0)
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")


def default_template(tpl):
    if not isinstance(tpl, dict):
        return
    meta = tpl.setdefault("metadata", {})
    if isinstance(meta, dict):
        meta.setdefault("creationTimestamp", None)
    default_pod_spec(tpl.get("spec"))


def ordered(d, first):
    """d with the keys of `first` first (in that order), the rest after: the field order
    a real server writes."""
    out = {k: d[k] for k in first if k in d}
    out.update((k, v) for k, v in d.items() if k not in out)
    return out


def workload_status(kind, spec, generation):
    replicas = spec.get("replicas", 1) if isinstance(spec, dict) else 1
    if not isinstance(replicas, int):
        replicas = 0
    st = {"observedGeneration": generation}
    if kind == "Deployment":
        if replicas:
            st.update({"replicas": replicas, "updatedReplicas": replicas,
                       "readyReplicas": replicas, "availableReplicas": replicas})
        st["conditions"] = [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
             "message": "Deployment has minimum availability."},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
             "message": "ReplicaSet has successfully progressed."}]
    elif kind == "StatefulSet":
        st.update({"replicas": replicas, "availableReplicas": replicas,
                   "currentReplicas": replicas, "readyReplicas": replicas,
                   "updatedReplicas": replicas, "collisionCount": 0})
        if not replicas:
            for k in ("availableReplicas", "currentReplicas", "readyReplicas",
                      "updatedReplicas"):
                st.pop(k)
    elif kind in ("ReplicaSet", "ReplicationController"):
        st.update({"replicas": replicas, "fullyLabeledReplicas": replicas,
                   "readyReplicas": replicas, "availableReplicas": replicas})
        if not replicas:
            st = {"replicas": 0, "observedGeneration": generation}
    elif kind == "DaemonSet":
        st.update({"currentNumberScheduled": 0, "desiredNumberScheduled": 0,
                   "numberMisscheduled": 0, "numberReady": 0})
    return st


def decode_b64_map(data, field, causes):
    for k, v in (data or {}).items():
        if not isinstance(v, str):
            causes.append(invalid_value(f"{field}[{k}]", v, "must be a base64 string"))
            continue
        try:
            base64.b64decode(v, validate=True)
        except ValueError:
            raise bad_request(f"illegal base64 data in {field}[{k}]")


class Defaulter:
    """The defaults and validation of one write. `cl` is the cluster (for Service IPs and
    node ports, the default StorageClass); `reserve` says whether allocations stick (not
    on a dry run)."""

    def __init__(self, cl, kind_obj, obj, old, reserve):
        self.cl, self.kind, self.obj, self.old = cl, kind_obj, obj, old
        self.reserve = reserve
        self.causes = []
        self.allocated_ips, self.allocated_ports = [], []

    def run(self):
        fn = getattr(self, "d_" + self.kind.kind, None)
        if fn is None or self.kind.crd:
            return self.causes
        for field in ("spec", "status"):
            if field in self.obj and not isinstance(self.obj[field], (dict, type(None))):
                raise self.decode_error(field, self.obj[field])
        try:
            fn()
        except (AttributeError, TypeError, KeyError) as e:
            # a member of the wrong JSON type deep inside: what the real server's decoder
            # refuses before anything else looks at the object
            raise bad_request(f"{self.kind.kind} in version \"{self.kind.version}\" cannot be "
                              f"handled as a {self.kind.kind}: json: cannot unmarshal a value "
                              f"of the wrong type ({e})")
        return self.causes

    def decode_error(self, field, value):
        names = {list: "array", str: "string", bool: "bool", int: "number", float: "number"}
        return bad_request(f"{self.kind.kind} in version \"{self.kind.version}\" cannot be "
                           f"handled as a {self.kind.kind}: json: cannot unmarshal "
                           f"{names.get(type(value), 'value')} into Go struct field "
                           f"{self.kind.kind}.{field}")

    # -- per kind --

    def d_Namespace(self):
        o = self.obj
        o["metadata"].setdefault("labels", {})
        o["metadata"]["labels"]["kubernetes.io/metadata.name"] = o["metadata"]["name"]
        spec = o.setdefault("spec", {})
        if isinstance(spec, dict):
            spec.setdefault("finalizers", ["kubernetes"])
        phase = "Active"
        if self.old is not None and (self.old.get("status") or {}).get("phase") == "Terminating":
            phase = "Terminating"
        o["status"] = {"phase": phase}

    def d_Secret(self):
        o = self.obj
        sd = o.pop("stringData", None)
        if sd is not None:
            if not isinstance(sd, dict):
                self.causes.append(invalid_value("stringData", sd, "must be a map"))
            else:
                data = o.setdefault("data", {}) if o.get("data") is not None else {}
                o["data"] = data
                for k, v in sd.items():
                    data[k] = base64.b64encode(str(v).encode()).decode()
        o.setdefault("type", "Opaque")
        data = o.get("data")
        if data is not None and not isinstance(data, dict):
            self.causes.append(invalid_value("data", data, "must be a map"))
        else:
            decode_b64_map(data, "data", self.causes)
            for k in data or {}:
                if not CONFIG_KEY.fullmatch(k):
                    self.causes.append(invalid_value(
                        f"data[{k}]", k, "a valid config key must consist of alphanumeric "
                        "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
                        "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"))
        if self.old is not None:
            self.immutable_data()
            if self.old.get("type") != o.get("type"):
                self.causes.append(invalid_value("type", o.get("type"), "field is immutable"))

    def d_ConfigMap(self):
        o = self.obj
        for field in ("data", "binaryData"):
            d = o.get(field)
            if d is None:
                continue
            if not isinstance(d, dict):
                self.causes.append(invalid_value(field, d, "must be a map"))
                continue
            for k, v in d.items():
                if not CONFIG_KEY.fullmatch(k):
                    self.causes.append(invalid_value(
                        f"{field}[{k}]", k, "a valid config key must consist of alphanumeric "
                        "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
                        "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"))
                if field == "data" and not isinstance(v, str):
                    raise bad_request(f"json: cannot unmarshal {type(v).__name__} into Go "
                                      f"struct field ConfigMap.data of type string")
            if field == "binaryData":
                decode_b64_map(d, field, self.causes)
        if self.old is not None:
            self.immutable_data()

    def immutable_data(self):
        o, old = self.obj, self.old
        if old.get("immutable") is True:
            if o.get("immutable") is not True:
                self.causes.append(forbidden_field("immutable", "field is immutable when "
                                                   "`immutable` is set"))
            for field in ("data", "binaryData"):
                if (o.get(field) or {}) != (old.get(field) or {}):
                    self.causes.append(forbidden_field(
                        field, "field is immutable when `immutable` is set"))

    def d_Service(self):
        o = self.obj
        spec = o.setdefault("spec", {})
        if not isinstance(spec, dict):
            self.causes.append(invalid_value("spec", spec, "must be an object"))
            return
        old_spec = (self.old or {}).get("spec") or {}
        stype = spec.setdefault("type", "ClusterIP")
        if stype not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
            self.causes.append(unsupported("spec.type", stype,
                                           ["ClusterIP", "ExternalName", "LoadBalancer",
                                            "NodePort"]))
            return
        ports = spec.get("ports")
        if ports is None:
            ports = []
        if not isinstance(ports, list):
            self.causes.append(invalid_value("spec.ports", ports, "must be a list"))
            return
        if stype != "ExternalName" and not ports and spec.get("clusterIP") != "None":
            self.causes.append(required("spec.ports"))
        names = set()
        for i, p in enumerate(ports):
            if not isinstance(p, dict):
                self.causes.append(invalid_value(f"spec.ports[{i}]", p, "must be an object"))
                continue
            p.setdefault("protocol", "TCP")
            port = p.get("port")
            if not isinstance(port, int) or not 1 <= port <= 65535:
                self.causes.append(invalid_value(f"spec.ports[{i}].port", port,
                                                 "must be between 1 and 65535, inclusive"))
            if len(ports) > 1 and not p.get("name"):
                self.causes.append(required(f"spec.ports[{i}].name"))
            if p.get("name"):
                if p["name"] in names:
                    self.causes.append(Cause("FieldValueDuplicate", f"spec.ports[{i}].name",
                                             "", p["name"]))
                names.add(p["name"])
            if p.get("protocol") not in ("TCP", "UDP", "SCTP"):
                self.causes.append(unsupported(f"spec.ports[{i}].protocol", p.get("protocol"),
                                               ["SCTP", "TCP", "UDP"]))
            if stype != "ExternalName" and "targetPort" not in p and isinstance(port, int):
                p["targetPort"] = port
        if stype == "ExternalName":
            if not spec.get("externalName"):
                self.causes.append(required("spec.externalName"))
            for k in ("clusterIP", "clusterIPs"):
                if spec.get(k) and spec.get(k) not in ("", [], ["None"]):
                    pass
            spec.setdefault("sessionAffinity", "None")
            return
        # cluster IPs: kept from the old object when the new one does not say
        if old_spec.get("clusterIP") and not spec.get("clusterIP") and not spec.get(
                "clusterIPs"):
            spec["clusterIP"] = old_spec["clusterIP"]
            spec["clusterIPs"] = list(old_spec.get("clusterIPs") or [old_spec["clusterIP"]])
        ip = spec.get("clusterIP") or ((spec.get("clusterIPs") or [None])[0])
        if self.old is not None and old_spec.get("clusterIP") and ip != old_spec["clusterIP"] \
                and (self.old.get("spec") or {}).get("type") != "ExternalName":
            self.causes.append(invalid_value("spec.clusterIPs[0]", [ip],
                                             "may not change once set"))
            return
        if ip == "None":
            spec["clusterIP"] = "None"
            spec["clusterIPs"] = ["None"]
        elif ip:
            if self.old is None or old_spec.get("clusterIP") != ip:
                try:
                    addr = ipaddress.ip_address(ip)
                except ValueError:
                    self.causes.append(invalid_value("spec.clusterIPs[0]", ip,
                                                     "must be a valid IP address"))
                    return
                if addr not in SERVICE_CIDR:
                    self.causes.append(invalid_value(
                        "spec.clusterIPs", [ip], f"failed to allocate IP {ip}: the provided IP "
                        f"({ip}) is not in the valid range. The range of valid IPs is "
                        f"{SERVICE_CIDR}"))
                    return
                if ip in self.cl.cluster_ips:
                    self.causes.append(invalid_value(
                        "spec.clusterIPs", [ip], f"failed to allocate IP {ip}: provided IP is "
                        "already allocated"))
                    return
                self.allocated_ips.append(ip)
            spec["clusterIP"] = ip
            spec["clusterIPs"] = [ip]
        else:
            ip = self.cl.allocate_ip(self.allocated_ips)
            self.allocated_ips.append(ip)
            spec["clusterIP"] = ip
            spec["clusterIPs"] = [ip]
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        if stype in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
            if stype == "LoadBalancer":
                spec.setdefault("allocateLoadBalancerNodePorts", True)
            old_ports = {(p.get("port"), p.get("protocol")): p.get("nodePort")
                         for p in old_spec.get("ports") or [] if isinstance(p, dict)}
            old_set = {v for v in old_ports.values() if v}
            for i, p in enumerate(ports):
                if not isinstance(p, dict):
                    continue
                np = p.get("nodePort")
                if not np:
                    prev = old_ports.get((p.get("port"), p.get("protocol")))
                    if prev:
                        p["nodePort"] = prev
                        continue
                    if stype == "LoadBalancer" and spec.get(
                            "allocateLoadBalancerNodePorts") is False:
                        continue
                    np = self.cl.allocate_port(self.allocated_ports)
                    self.allocated_ports.append(np)
                    p["nodePort"] = np
                    continue
                if not isinstance(np, int) or not NODE_PORT_RANGE[0] <= np <= NODE_PORT_RANGE[1]:
                    self.causes.append(invalid_value(
                        f"spec.ports[{i}].nodePort", np, "provided port is not in the valid "
                        "range. The range of valid ports is 30000-32767"))
                    continue
                if np in old_set:
                    continue
                if np in self.cl.node_ports or np in self.allocated_ports:
                    self.causes.append(invalid_value(f"spec.ports[{i}].nodePort", np,
                                                     "provided port is already allocated"))
                    continue
                self.allocated_ports.append(np)
        else:
            for i, p in enumerate(ports):
                if isinstance(p, dict) and p.get("nodePort"):
                    self.causes.append(forbidden_field(
                        f"spec.ports[{i}].nodePort",
                        "may not be used when `type` is 'ClusterIP'"))
        o["spec"] = ordered(spec, ["ports", "selector", "clusterIP", "clusterIPs", "type"])
        o["status"] = {"loadBalancer": {}}

    def check_selector(self, spec, field="spec"):
        tpl = spec.get("template")
        sel = spec.get("selector")
        if sel is None:
            self.causes.append(required(f"{field}.selector"))
            return
        if not isinstance(sel, dict) or not (sel.get("matchLabels") or sel.get(
                "matchExpressions")):
            self.causes.append(invalid_value(f"{field}.selector", sel,
                                             "empty selector is invalid for deployment"))
            return
        labels = ((tpl or {}).get("metadata") or {}).get("labels") or {}
        if not match_label_selector_obj(sel, labels):
            self.causes.append(invalid_value(f"{field}.template.metadata.labels", labels,
                                             "`selector` does not match template `labels`"))

    def check_pod_template(self, tpl, field):
        if not isinstance(tpl, dict):
            self.causes.append(required(field))
            return
        spec = tpl.get("spec")
        if not isinstance(spec, dict):
            self.causes.append(required(f"{field}.spec.containers"))
            return
        self.check_containers(spec, f"{field}.spec")

    def check_containers(self, spec, field):
        containers = spec.get("containers")
        if not isinstance(containers, list) or not containers:
            self.causes.append(required(f"{field}.containers"))
            return
        seen = set()
        for i, c in enumerate(containers):
            if not isinstance(c, dict):
                continue
            if not c.get("name"):
                self.causes.append(required(f"{field}.containers[{i}].name"))
            elif not DNS1123_LABEL.fullmatch(c["name"]):
                self.causes.append(invalid_value(f"{field}.containers[{i}].name", c["name"],
                                                 LABEL_MSG))
            elif c["name"] in seen:
                self.causes.append(Cause("FieldValueDuplicate",
                                         f"{field}.containers[{i}].name", "", c["name"]))
            seen.add(c.get("name"))
            if not c.get("image"):
                self.causes.append(required(f"{field}.containers[{i}].image"))

    def immutable(self, path):
        """A field that may not change on update (a dotted path under the object)."""
        if self.old is None:
            return
        a, b = self.old, self.obj
        for part in path.split("."):
            a = a.get(part) if isinstance(a, dict) else None
            b = b.get(part) if isinstance(b, dict) else None
        if a != b:
            self.causes.append(invalid_value(path, b, "field is immutable"))

    def d_Deployment(self):
        o = self.obj
        spec = o.setdefault("spec", {})
        spec.setdefault("replicas", 1)
        strat = spec.setdefault("strategy", {})
        strat.setdefault("type", "RollingUpdate")
        if strat["type"] == "RollingUpdate":
            ru = strat.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", "25%")
            ru.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        default_template(spec.get("template"))
        o["spec"] = ordered(spec, ["replicas", "selector", "template", "strategy",
                                   "revisionHistoryLimit", "progressDeadlineSeconds"])
        self.check_selector(spec)
        self.check_pod_template(spec.get("template"), "spec.template")
        self.immutable("spec.selector")
        if not self.reserve:  # a dry run: the deployment controller does not run
            return
        ann = o["metadata"].setdefault("annotations", {})
        rev = 1
        if self.old is not None:
            try:
                rev = int(((self.old["metadata"].get("annotations") or {}).get(
                    "deployment.kubernetes.io/revision")) or 1)
            except ValueError:
                rev = 1
            if (self.old.get("spec") or {}).get("template") != o["spec"].get("template"):
                rev += 1
        ann["deployment.kubernetes.io/revision"] = str(rev)

    def d_StatefulSet(self):
        o = self.obj
        spec = o.setdefault("spec", {})
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        us = spec.setdefault("updateStrategy", {})
        us.setdefault("type", "RollingUpdate")
        if us["type"] == "RollingUpdate":
            us.setdefault("rollingUpdate", {}).setdefault("partition", 0)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("persistentVolumeClaimRetentionPolicy",
                        {"whenDeleted": "Retain", "whenScaled": "Retain"})
        for vct in spec.get("volumeClaimTemplates") or []:
            if isinstance(vct, dict):
                vct.setdefault("apiVersion", "v1")
                vct.setdefault("kind", "PersistentVolumeClaim")
                vct.setdefault("metadata", {}).setdefault("creationTimestamp", None)
                vct.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
                vct.setdefault("status", {"phase": "Pending"})
        default_template(spec.get("template"))
        self.check_selector(spec)
        self.check_pod_template(spec.get("template"), "spec.template")
        if self.old is not None:
            old_spec = dict(self.old.get("spec") or {})
            new_spec = dict(spec)
            for k in ("replicas", "ordinals", "template", "updateStrategy",
                      "persistentVolumeClaimRetentionPolicy", "minReadySeconds"):
                old_spec.pop(k, None)
                new_spec.pop(k, None)
            if old_spec != new_spec:
                self.causes.append(forbidden_field(
                    "spec", "updates to statefulset spec for fields other than 'replicas', "
                    "'ordinals', 'template', 'updateStrategy', "
                    "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
                    "forbidden"))

    def d_DaemonSet(self):
        spec = self.obj.setdefault("spec", {})
        us = spec.setdefault("updateStrategy", {})
        us.setdefault("type", "RollingUpdate")
        if us["type"] == "RollingUpdate":
            ru = us.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", 1)
            ru.setdefault("maxSurge", 0)
        spec.setdefault("revisionHistoryLimit", 10)
        default_template(spec.get("template"))
        self.check_selector(spec)
        self.check_pod_template(spec.get("template"), "spec.template")
        self.immutable("spec.selector")

    def d_ReplicaSet(self):
        spec = self.obj.setdefault("spec", {})
        spec.setdefault("replicas", 1)
        default_template(spec.get("template"))
        self.check_selector(spec)
        self.immutable("spec.selector")

    def d_ReplicationController(self):
        spec = self.obj.setdefault("spec", {})
        spec.setdefault("replicas", 1)
        tpl = spec.get("template") or {}
        if not spec.get("selector"):
            spec["selector"] = dict((tpl.get("metadata") or {}).get("labels") or {})
        default_template(tpl)

    def job_spec(self, spec, uid, name, field):
        spec.setdefault("parallelism", 1)
        spec.setdefault("completions", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
        tpl = spec.get("template")
        if not isinstance(tpl, dict):
            self.causes.append(required(f"{field}.template"))
            return
        default_template(tpl)
        pspec = tpl.get("spec") or {}
        if pspec.get("restartPolicy") == "Always":
            pspec.pop("restartPolicy")
        if pspec.get("restartPolicy") not in ("OnFailure", "Never"):
            self.causes.append(Cause("FieldValueRequired", f"{field}.template.spec.restartPolicy",
                                     'valid values: "OnFailure", "Never"'))
        self.check_containers(pspec, f"{field}.template.spec")
        if uid is not None and not spec.get("manualSelector"):
            labels = {"batch.kubernetes.io/controller-uid": uid,
                      "batch.kubernetes.io/job-name": name, "controller-uid": uid,
                      "job-name": name}
            if not spec.get("selector"):
                spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            tl = tpl.setdefault("metadata", {}).setdefault("labels", {})
            if isinstance(tl, dict):
                for k, v in labels.items():
                    tl.setdefault(k, v)

    def d_Job(self):
        o = self.obj
        spec = o.setdefault("spec", {})
        meta = o["metadata"]
        self.job_spec(spec, meta.get("uid"), meta.get("name"), "spec")
        if meta.get("uid"):
            labels = meta.setdefault("labels", {})
            labels.setdefault("batch.kubernetes.io/controller-uid", meta["uid"])
            labels.setdefault("batch.kubernetes.io/job-name", meta["name"])
            labels.setdefault("controller-uid", meta["uid"])
            labels.setdefault("job-name", meta["name"])
        if self.old is not None:
            self.immutable("spec.selector")
            self.immutable("spec.template")
            self.immutable("spec.completions")

    def d_CronJob(self):
        spec = self.obj.setdefault("spec", {})
        if not spec.get("schedule"):
            self.causes.append(required("spec.schedule"))
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        jt = spec.setdefault("jobTemplate", {})
        jt.setdefault("metadata", {}).setdefault("creationTimestamp", None)
        self.job_spec(jt.setdefault("spec", {}), None, None, "spec.jobTemplate.spec")

    def d_Pod(self):
        o = self.obj
        spec = o.setdefault("spec", {})
        self.check_containers(spec, "spec")
        default_pod_spec(spec, is_pod=True)
        if self.old is None:
            o["status"] = {"phase": "Pending", "qosClass": "BestEffort"}

    def d_PersistentVolumeClaim(self):
        o = self.obj
        spec = o.setdefault("spec", {})
        if not spec.get("accessModes"):
            self.causes.append(required("spec.accessModes"))
        if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
            self.causes.append(required("spec.resources[storage]"))
        if "storageClassName" not in spec and self.old is None:
            sc = self.cl.default_storage_class()
            if sc:
                spec["storageClassName"] = sc
        spec.setdefault("volumeMode", "Filesystem")
        if self.old is None:
            fins = o["metadata"].setdefault("finalizers", [])
            if "kubernetes.io/pvc-protection" not in fins:
                fins.append("kubernetes.io/pvc-protection")
            o["status"] = {"phase": "Pending"}
        else:
            a = dict(self.old.get("spec") or {})
            b = dict(spec)
            for s in (a, b):
                s.pop("resources", None)
                s.pop("volumeAttributesClassName", None)
                if not a.get("volumeName"):
                    s.pop("volumeName", None)
            if a != b:
                self.causes.append(forbidden_field(
                    "spec", "spec is immutable after creation except resources.requests and "
                    "volumeAttributesClassName for bound claims"))

    def d_PersistentVolume(self):
        o = self.obj
        spec = o.setdefault("spec", {})
        spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        spec.setdefault("volumeMode", "Filesystem")
        if self.old is None:
            fins = o["metadata"].setdefault("finalizers", [])
            if "kubernetes.io/pv-protection" not in fins:
                fins.append("kubernetes.io/pv-protection")
            o["status"] = {"phase": "Available"}

    def d_StorageClass(self):
        o = self.obj
        if not o.get("provisioner"):
            self.causes.append(required("provisioner"))
        o.setdefault("reclaimPolicy", "Delete")
        o.setdefault("volumeBindingMode", "Immediate")
        if self.old is not None:
            for f in ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"):
                if self.old.get(f) != o.get(f):
                    self.causes.append(forbidden_field(f, "updates to "
                                                       f"{f} are forbidden."))

    def d_NetworkPolicy(self):
        spec = self.obj.setdefault("spec", {})
        if "podSelector" not in spec:
            spec["podSelector"] = {}
        if not spec.get("policyTypes"):
            types = ["Ingress"]
            if spec.get("egress"):
                types.append("Egress")
            spec["policyTypes"] = types

    def d_Ingress(self):
        o = self.obj
        spec = o.setdefault("spec", {})
        for i, rule in enumerate(spec.get("rules") or []):
            for j, p in enumerate(((rule or {}).get("http") or {}).get("paths") or []):
                if isinstance(p, dict) and not p.get("pathType"):
                    self.causes.append(required(f"spec.rules[{i}].http.paths[{j}].pathType",
                                                "pathType must be specified"))
        if self.old is None:
            o["status"] = {"loadBalancer": {}}

    def d_HorizontalPodAutoscaler(self):
        spec = self.obj.setdefault("spec", {})
        spec.setdefault("minReplicas", 1)
        if not spec.get("metrics"):
            spec["metrics"] = [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
        if not spec.get("scaleTargetRef"):
            self.causes.append(required("spec.scaleTargetRef"))
        if not spec.get("maxReplicas"):
            self.causes.append(required("spec.maxReplicas"))

    def d_PodDisruptionBudget(self):
        o = self.obj
        if self.old is None:
            o["status"] = {"observedGeneration": 1, "disruptionsAllowed": 0,
                           "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}

    def d_Role(self):
        self.rbac_rules()

    def d_ClusterRole(self):
        self.rbac_rules()

    def rbac_rules(self):
        for i, r in enumerate(self.obj.get("rules") or []):
            if isinstance(r, dict) and not r.get("verbs"):
                self.causes.append(required(f"rules[{i}].verbs", "verbs must contain at least "
                                            "one value"))

    def d_RoleBinding(self):
        self.binding()

    def d_ClusterRoleBinding(self):
        self.binding()

    def binding(self):
        ref = self.obj.get("roleRef")
        if not isinstance(ref, dict) or not ref.get("name"):
            self.causes.append(required("roleRef.name"))
        elif self.old is not None and self.old.get("roleRef") != ref:
            self.causes.append(invalid_value("roleRef", ref, "cannot change roleRef"))
        for s in self.obj.get("subjects") or []:
            if isinstance(s, dict) and s.get("kind") in ("User", "Group"):
                s.setdefault("apiGroup", "rbac.authorization.k8s.io")

    def d_CustomResourceDefinition(self):
        self.cl.check_crd(self)


# ---- custom resources: schema checks, pruning and defaults -------------------------------


JSON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def schema_check(value, schema, path, causes, unknown=None):
    """Checks, prunes and defaults a value against a structural openAPIV3Schema (the
    common parts: type, properties, items, additionalProperties, required, enum, default,
    nullable, x-kubernetes-preserve-unknown-fields, x-kubernetes-int-or-string). Returns
    the value to keep."""
    if not isinstance(schema, dict):
        return value
    if value is None:
        return None
    if schema.get("x-kubernetes-int-or-string"):
        if not (isinstance(value, (int, str)) and not isinstance(value, bool)):
            causes.append(invalid_value(path, type(value).__name__,
                                        f"{path} in body must be of type integer-or-string"))
        return value
    t = schema.get("type")
    ok = True
    if t == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        if not ok and isinstance(value, float) and value.is_integer():
            value, ok = int(value), True
    elif t == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif t in JSON_TYPES:
        ok = isinstance(value, JSON_TYPES[t])
    if not ok:
        names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
                 float: "number"}
        got = names.get(type(value), "null")
        causes.append(invalid_value(path, got, f"{path} in body must be of type {t}: "
                                    f"{json.dumps(got)}"))
        return value
    if "enum" in schema and value not in schema["enum"]:
        causes.append(unsupported(path, value, schema["enum"]))
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            causes.append(Cause("FieldValueTooLong", path,
                                f"may not be more than {schema['maxLength']} bytes", value))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            causes.append(invalid_value(path, value,
                                        f"{path} in body should match '{schema['pattern']}'"))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            causes.append(invalid_value(path, value, f"{path} in body should be greater than "
                                        f"or equal to {schema['minimum']}"))
        if "maximum" in schema and value > schema["maximum"]:
            causes.append(invalid_value(path, value, f"{path} in body should be less than or "
                                        f"equal to {schema['maximum']}"))
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        addl = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
        out = {}
        for k, v in value.items():
            sub = f"{path}.{k}" if path else k
            if k in props:
                kept = schema_check(v, props[k], sub, causes, unknown)
                if kept is None and not props[k].get("nullable"):
                    continue
                out[k] = kept
            elif isinstance(addl, dict):
                out[k] = schema_check(v, addl, sub, causes, unknown)
            elif addl is True or preserve:
                out[k] = v
            elif unknown is not None:
                unknown.append(sub)
        for k, sub_schema in props.items():
            if k not in out and isinstance(sub_schema, dict) and "default" in sub_schema:
                out[k] = copy.deepcopy(sub_schema["default"])
        for k in schema.get("required") or []:
            if k not in out:
                causes.append(required(f"{path}.{k}" if path else k))
        return out
    if isinstance(value, list):
        items = schema.get("items")
        return [schema_check(v, items, f"{path}[{i}]", causes, unknown)
                for i, v in enumerate(value)]
    return value


def check_custom(kind_obj, obj, causes, unknown=None):
    """Prunes, defaults and checks a custom resource against its version's schema."""
    schema = kind_obj.schema
    if not isinstance(schema, dict):
        return obj
    props = schema.get("properties") or {}
    preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
    out = {}
    for k, v in obj.items():
        if k in ("apiVersion", "kind", "metadata"):
            out[k] = v
        elif k in props:
            kept = schema_check(v, props[k], k, causes, unknown)
            if kept is not None or props[k].get("nullable"):
                out[k] = kept
        elif preserve:
            out[k] = v
        elif unknown is not None:
            unknown.append(k)
    for k, sub in props.items():
        if k not in out and k not in ("apiVersion", "kind", "metadata") and isinstance(
                sub, dict) and "default" in sub:
            out[k] = copy.deepcopy(sub["default"])
    for k in schema.get("required") or []:
        if k not in out:
            causes.append(required(k))
    return out


# ---- storage ------------------------------------------------------------------------------


class Stored:
    """One version of one object. Never changed once stored; its JSON is cached."""

    __slots__ = ("obj", "rv", "_full", "_item", "_views")

    def __init__(self, obj, rv):
        self.obj, self.rv = obj, rv
        self._full = self._item = None
        self._views = None

    def full(self, kind_obj=None):
        """The object as GET answers it (kind and apiVersion of the requested version)."""
        if kind_obj is not None and kind_obj.crd and kind_obj.api_version != self.obj.get(
                "apiVersion"):
            if self._views is None:
                self._views = {}
            v = self._views.get(kind_obj.api_version)
            if v is None:
                o = dict(self.obj)
                o["apiVersion"] = kind_obj.api_version
                v = self._views[kind_obj.api_version] = dumps(o)
            return v
        if self._full is None:
            self._full = dumps(self.obj)
        return self._full

    def item(self, kind_obj):
        """The object as a list item: built-in lists leave out kind and apiVersion."""
        if kind_obj.crd:
            return self.full(kind_obj)
        if self._item is None:
            self._item = dumps({k: v for k, v in self.obj.items()
                                if k not in ("kind", "apiVersion")})
        return self._item

    def view(self, kind_obj=None):
        if kind_obj is not None and kind_obj.crd and kind_obj.api_version != self.obj.get(
                "apiVersion"):
            o = dict(self.obj)
            o["apiVersion"] = kind_obj.api_version
            return o
        return self.obj


class Store:
    """The objects of one resource (group, resource), keyed by (namespace, name), with the
    keys kept sorted (the order a real server lists in)."""

    def __init__(self):
        self.objs = {}
        self.keys = []

    def put(self, key, stored):
        if key not in self.objs:
            bisect.insort(self.keys, key)
        self.objs[key] = stored

    def pop(self, key):
        st = self.objs.pop(key, None)
        if st is not None:
            i = bisect.bisect_left(self.keys, key)
            if i < len(self.keys) and self.keys[i] == key:
                self.keys.pop(i)
        return st

    def range(self, ns):
        """The index range of the keys of a namespace ("" for all)."""
        if not ns:
            return 0, len(self.keys)
        return (bisect.bisect_left(self.keys, (ns, "")),
                bisect.bisect_left(self.keys, (ns + "\x00", "")))


class Event:
    __slots__ = ("rv", "type", "gr", "ns", "stored", "prev")

    def __init__(self, rv, etype, gr, ns, stored, prev):
        self.rv, self.type, self.gr, self.ns = rv, etype, gr, ns
        self.stored, self.prev = stored, prev


BUILTIN_BY_GVR = {(k.group, k.version, k.resource): k for k in BUILTIN_KINDS + REVIEW_KINDS}
BUILTIN_BY_GVK = {(k.group, k.version, k.kind): k for k in BUILTIN_KINDS}


class Cluster:
    """One emulated cluster: its tokens, deny rules, objects, watch history and CRDs."""

    def __init__(self, cloud, name, port, token):
        self.cloud, self.name, self.port = cloud, name, port
        self.default_token = token
        self.url = None
        self.reset()

    def reset(self):
        self.tokens = {self.default_token: {"user": "kubernetes-admin",
                                            "groups": ["kubeadm:cluster-admins",
                                                       "system:authenticated"]}}
        self.deny = []
        # resourceVersions keep growing across resets, and what came before a reset is
        # compacted: an old watch or continue token gets 410, never a mix of two worlds
        self.rv = getattr(self, "rv", 0)
        self.epoch = getattr(self, "epoch", 0) + 1  # open watches end when it changes
        self.stores = {}
        self.history = collections.deque()
        self.compacted = self.rv + 1  # watches from before this resourceVersion get 410
        self.custom = {}  # (group, version, resource) -> Kind of an established CRD
        self.custom_by_gvk = {}
        self.cluster_ips = set()
        self.node_ports = set()
        self.terminating = set()  # namespaces being deleted
        self.seed()

    # -- kinds --

    def kind(self, group, version, resource):
        return BUILTIN_BY_GVR.get((group, version, resource)) or self.custom.get(
            (group, version, resource))

    def kind_by_gvk(self, group, version, kind):
        return BUILTIN_BY_GVK.get((group, version, kind)) or self.custom_by_gvk.get(
            (group, version, kind))

    def all_kinds(self):
        return BUILTIN_KINDS + REVIEW_KINDS + list(self.custom.values())

    def store(self, kind_obj):
        s = self.stores.get(kind_obj.gr)
        if s is None:
            s = self.stores[kind_obj.gr] = Store()
        return s

    # -- objects --

    def get(self, kind_obj, ns, name):
        s = self.stores.get(kind_obj.gr)
        return s.objs.get((ns or "", name)) if s else None

    def next_rv(self):
        self.rv += 1
        return self.rv

    def put(self, kind_obj, obj, etype=None):
        """Stores a new version of an object (obj is the caller's, no longer to be
        changed) under a new resourceVersion, records the watch event; returns Stored."""
        rv = self.next_rv()
        meta = obj["metadata"]
        meta["resourceVersion"] = str(rv)
        meta = obj["metadata"] = ordered(meta, META_ORDER)
        key = (meta.get("namespace", ""), meta["name"])
        store = self.store(kind_obj)
        prev = store.objs.get(key)
        st = Stored(obj, rv)
        store.put(key, st)
        self.record(Event(rv, etype or ("MODIFIED" if prev else "ADDED"), kind_obj.gr, key[0],
                          st, prev))
        return st

    def remove(self, kind_obj, ns, name):
        """Deletes an object; the DELETED event carries the deletion's resourceVersion."""
        store = self.store(kind_obj)
        prev = store.pop((ns or "", name))
        if prev is None:
            return None
        rv = self.next_rv()
        obj = dict(prev.obj)
        obj["metadata"] = dict(obj["metadata"], resourceVersion=str(rv))
        st = Stored(obj, rv)
        self.record(Event(rv, "DELETED", kind_obj.gr, ns or "", st, prev))
        if kind_obj.gr == ("", "services"):
            self.release_service(prev.obj)
        return st

    def record(self, ev):
        h = self.history
        h.append(ev)
        limit = self.cloud.opts.watch_history
        while len(h) > limit:
            old = h.popleft()
            self.compacted = max(self.compacted, old.rv)
        self.cloud.cond.notify_all()

    def compact(self):
        self.history.clear()
        self.compacted = self.rv

    def events_since(self, rv):
        """The recorded events after rv, or None when rv is older than the history."""
        if rv < self.compacted:
            return None
        h = self.history
        if not h or h[-1].rv <= rv:
            return []
        # the deque is in rv order: scan back from the end (watchers are usually current)
        out = []
        for ev in reversed(h):
            if ev.rv <= rv:
                break
            out.append(ev)
        out.reverse()
        return out

    # -- service allocations --

    def allocate_ip(self, taken=()):
        net = SERVICE_CIDR
        for _ in range(1000):
            ip = str(net[random.randint(10, min(net.num_addresses - 2, 65000))])
            if ip not in self.cluster_ips and ip not in taken:
                return ip
        raise KubeError(500, "InternalError", "no more cluster IPs")

    def allocate_port(self, taken=()):
        for _ in range(5000):
            p = random.randint(*NODE_PORT_RANGE)
            if p not in self.node_ports and p not in taken:
                return p
        raise KubeError(500, "InternalError", "no more node ports")

    def commit_service(self, obj):
        spec = obj.get("spec") or {}
        for ip in spec.get("clusterIPs") or []:
            if ip and ip != "None":
                self.cluster_ips.add(ip)
        for p in spec.get("ports") or []:
            if isinstance(p, dict) and p.get("nodePort"):
                self.node_ports.add(p["nodePort"])

    def release_service(self, obj, keep=None):
        spec = obj.get("spec") or {}
        keep_spec = (keep or {}).get("spec") or {}
        keep_ips = set(keep_spec.get("clusterIPs") or [])
        keep_ports = {p.get("nodePort") for p in keep_spec.get("ports") or []
                      if isinstance(p, dict)}
        for ip in spec.get("clusterIPs") or []:
            if ip not in keep_ips:
                self.cluster_ips.discard(ip)
        for p in spec.get("ports") or []:
            if isinstance(p, dict) and p.get("nodePort") not in keep_ports:
                self.node_ports.discard(p.get("nodePort"))

    def default_storage_class(self):
        s = self.stores.get(("storage.k8s.io", "storageclasses"))
        for st in (s.objs.values() if s else ()):
            ann = st.obj["metadata"].get("annotations") or {}
            if ann.get("storageclass.kubernetes.io/is-default-class") == "true":
                return st.obj["metadata"]["name"]
        return None

    # -- seeds: what a new cluster already holds --

    def seed(self):
        t = now_rfc3339(self.cloud.now())
        for ns in SYSTEM_NAMESPACES:
            self.seed_object(BUILTIN_BY_GVR[("", "v1", "namespaces")],
                             {"apiVersion": "v1", "kind": "Namespace",
                              "metadata": {"name": ns}}, t)
        self.seed_object(BUILTIN_BY_GVR[("", "v1", "services")], {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                "targetPort": 6443}],
                     "clusterIP": "10.96.0.1", "type": "ClusterIP"}}, t)
        self.seed_object(BUILTIN_BY_GVR[("storage.k8s.io", "v1", "storageclasses")], {
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "standard", "annotations": {
                "storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer"}, t)
        self.seed_object(BUILTIN_BY_GVR[("rbac.authorization.k8s.io", "v1", "clusterroles")], {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "cluster-admin", "labels": {
                "kubernetes.io/bootstrapping": "rbac-defaults"}, "annotations": {
                "rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                      {"nonResourceURLs": ["*"], "verbs": ["*"]}]}, t)

    def seed_object(self, kind_obj, obj, t, manager="kube-apiserver"):
        meta = obj["metadata"]
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = t
        if kind_obj.generation:
            meta["generation"] = 1
        d = Defaulter(self, kind_obj, obj, None, True)
        d.run()
        if kind_obj.kind == "Service":
            self.commit_service(obj)
        obj = canonical(kind_obj, obj)
        obj["metadata"]["managedFields"] = [managed_entry(manager, "Update", kind_obj,
                                                          field_paths(obj), t)]
        self.put(kind_obj, obj)
        if kind_obj.kind == "Namespace":
            self.seed_namespace(meta["name"], t)

    def seed_namespace(self, ns, t):
        """What the controllers of a real cluster add to every new namespace."""
        cm = BUILTIN_BY_GVR[("", "v1", "configmaps")]
        sa = BUILTIN_BY_GVR[("", "v1", "serviceaccounts")]
        ca = self.cloud.ca_pem
        for kind_obj, obj, manager in (
                (cm, {"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "kube-root-ca.crt", "namespace": ns,
                                   "annotations": {
                                       "kubernetes.io/description": ROOT_CA_DESCRIPTION}},
                      "data": {"ca.crt": ca}}, "kube-controller-manager"),
                (sa, {"apiVersion": "v1", "kind": "ServiceAccount",
                      "metadata": {"name": "default", "namespace": ns}},
                 "kube-controller-manager")):
            if self.get(kind_obj, ns, obj["metadata"]["name"]) is not None:
                continue
            meta = obj["metadata"]
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = t
            obj = canonical(kind_obj, obj)
            obj["metadata"]["managedFields"] = [managed_entry(manager, "Update", kind_obj,
                                                              field_paths(obj), t)]
            self.put(kind_obj, obj)

    # -- namespaces --

    def namespace_state(self, ns):
        """None (absent), "Active" or "Terminating"."""
        st = self.get(BUILTIN_BY_GVR[("", "v1", "namespaces")], "", ns)
        if st is None:
            return None
        return (st.obj.get("status") or {}).get("phase", "Active")

    def purge_namespace(self, ns):
        """Deletes everything in a namespace (what the namespace controller does)."""
        for gr, store in list(self.stores.items()):
            lo, hi = store.range(ns)
            keys = store.keys[lo:hi]
            if not keys:
                continue
            kind_obj = self.kind_for_gr(gr)
            for key in keys:
                if kind_obj is None:
                    store.pop(key)
                else:
                    self.remove(kind_obj, key[0], key[1])

    def kind_for_gr(self, gr):
        for k in BUILTIN_KINDS:
            if k.gr == gr:
                return k
        for k in self.custom.values():
            if k.gr == gr and k.version == k.storage_version:
                return k
        for k in self.custom.values():
            if k.gr == gr:
                return k
        return None

    def finish_namespace_delete(self, ns, uid):
        kind_obj = BUILTIN_BY_GVR[("", "v1", "namespaces")]
        st = self.get(kind_obj, "", ns)
        if st is None or st.obj["metadata"].get("uid") != uid:
            return
        self.purge_namespace(ns)
        self.remove(kind_obj, "", ns)
        self.terminating.discard(ns)

    # -- CRDs --

    def check_crd(self, d):
        o, causes = d.obj, d.causes
        spec = o.get("spec")
        if not isinstance(spec, dict):
            causes.append(required("spec"))
            return
        group = spec.get("group")
        names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
        plural, kind = names.get("plural"), names.get("kind")
        if not group:
            causes.append(required("spec.group"))
        elif "." not in group:
            causes.append(invalid_value("spec.group", group,
                                        "should be a domain with at least one dot"))
        if not plural:
            causes.append(required("spec.names.plural"))
        elif not DNS1123_LABEL.fullmatch(plural):
            causes.append(invalid_value("spec.names.plural", plural, LABEL_MSG))
        if not kind:
            causes.append(required("spec.names.kind"))
        if plural and group and o["metadata"].get("name") != f"{plural}.{group}":
            causes.append(invalid_value("metadata.name", o["metadata"].get("name"),
                                        "must be spec.names.plural+\".\"+spec.group"))
        scope = spec.get("scope")
        if scope not in ("Namespaced", "Cluster"):
            causes.append(unsupported("spec.scope", scope, ["Cluster", "Namespaced"]))
        versions = spec.get("versions")
        if not isinstance(versions, list) or not versions:
            causes.append(required("spec.versions", "must have exactly one version marked as "
                                   "storage version"))
            return
        storage = [v for v in versions if isinstance(v, dict) and v.get("storage")]
        if len(storage) != 1:
            causes.append(invalid_value("spec.versions", versions and [
                v.get("name") for v in versions if isinstance(v, dict)],
                "must have exactly one version marked as storage version"))
        seen = set()
        for i, v in enumerate(versions):
            if not isinstance(v, dict):
                continue
            if not v.get("name") or not DNS1035_LABEL.fullmatch(v.get("name")):
                causes.append(invalid_value(f"spec.versions[{i}].name", v.get("name"),
                                            DNS1035_MSG))
            if v.get("name") in seen:
                causes.append(Cause("FieldValueDuplicate", f"spec.versions[{i}].name", "",
                                    v.get("name")))
            seen.add(v.get("name"))
            if not isinstance(v.get("served"), bool):
                causes.append(required(f"spec.versions[{i}].served"))
            if not isinstance(v.get("storage"), bool):
                causes.append(required(f"spec.versions[{i}].storage"))
            schema = v.get("schema")
            oas = schema.get("openAPIV3Schema") if isinstance(schema, dict) else None
            if not oas:
                causes.append(required(f"spec.versions[{i}].schema.openAPIV3Schema",
                                       "schemas are required"))
            elif not isinstance(oas, dict) or oas.get("type") != "object":
                causes.append(invalid_value(f"spec.versions[{i}].schema.openAPIV3Schema.type",
                                            oas.get("type") if isinstance(oas, dict) else oas,
                                            'must be object at the root'))
        if names:
            if kind:
                names.setdefault("singular", kind.lower())
                names.setdefault("listKind", kind + "List")
        spec.setdefault("conversion", {"strategy": "None"})
        if d.old is not None:
            old_spec = d.old.get("spec") or {}
            if old_spec.get("group") != group:
                causes.append(invalid_value("spec.group", group, "field is immutable"))
            if old_spec.get("scope") != scope:
                causes.append(invalid_value("spec.scope", scope, "field is immutable"))
            if (old_spec.get("names") or {}).get("plural") != plural:
                causes.append(invalid_value("spec.names.plural", plural,
                                            "field is immutable"))
        elif group and plural:
            for other in self.store(d.kind).objs.values():
                os_ = other.obj.get("spec") or {}
                if os_.get("group") == group and (os_.get("names") or {}).get(
                        "plural") == plural and other.obj["metadata"]["name"] != o["metadata"][
                        "name"]:
                    causes.append(invalid_value("spec.names.plural", plural,
                                                "is already in use"))
            if (group, plural) in {(k.group, k.resource) for k in BUILTIN_KINDS}:
                causes.append(invalid_value("spec.names.plural", plural, "is already in use"))

    def crd_kinds(self, crd):
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        sub_storage = next((v["name"] for v in spec.get("versions") or []
                            if isinstance(v, dict) and v.get("storage")), None)
        out = []
        for v in spec.get("versions") or []:
            if not isinstance(v, dict) or not v.get("served"):
                continue
            subs = v.get("subresources") or {}
            k = Kind(spec["group"], v["name"], names["plural"], names["kind"],
                     spec.get("scope") == "Namespaced", short=names.get("shortNames") or (),
                     singular=names.get("singular") or names["kind"].lower(),
                     categories=names.get("categories") or (), status="status" in subs,
                     scale="scale" in subs, generation=True, crd=crd["metadata"]["name"],
                     storage_version=sub_storage)
            k.columns = v.get("additionalPrinterColumns")
            k.schema = (v.get("schema") or {}).get("openAPIV3Schema")
            k.scale_paths = subs.get("scale")
            out.append(k)
        return out

    def register_crd(self, crd):
        self.unregister_crd(crd["metadata"]["name"])
        for k in self.crd_kinds(crd):
            self.custom[(k.group, k.version, k.resource)] = k
            self.custom_by_gvk[(k.group, k.version, k.kind)] = k

    def unregister_crd(self, name):
        for key in [k for k, v in self.custom.items() if v.crd == name]:
            k = self.custom.pop(key)
            self.custom_by_gvk.pop((k.group, k.version, k.kind), None)

    def establish_crd(self, name, uid):
        """The naming and establishing controllers: accepts the names, serves the kinds."""
        kind_obj = BUILTIN_BY_GVR[("apiextensions.k8s.io", "v1", "customresourcedefinitions")]
        st = self.get(kind_obj, "", name)
        if st is None or st.obj["metadata"].get("uid") != uid:
            return
        obj = copy.deepcopy(st.obj)
        t = now_rfc3339(self.cloud.now())
        spec = obj["spec"]
        obj["status"]["acceptedNames"] = copy.deepcopy(spec["names"])
        obj["status"]["conditions"] = [
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": t,
             "reason": "NoConflicts", "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": t,
             "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}]
        self.put(kind_obj, obj)
        self.register_crd(obj)

    def delete_crd_objects(self, crd):
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        gr = (spec.get("group"), names.get("plural"))
        store = self.stores.get(gr)
        if store is None:
            return
        kind_obj = next((k for k in self.custom.values() if k.gr == gr), None)
        for key in list(store.keys):
            if kind_obj is not None:
                self.remove(kind_obj, key[0], key[1])
            else:
                store.pop(key)
        self.stores.pop(gr, None)


def managed_entry(manager, operation, kind_obj, paths, t, subresource=None):
    e = {"manager": manager, "operation": operation, "apiVersion": kind_obj.api_version,
         "time": t, "fieldsType": "FieldsV1", "fieldsV1": paths_to_fields(paths)}
    if subresource:
        e["subresource"] = subresource
    return e


META_ORDER = ["name", "generateName", "namespace", "uid", "resourceVersion", "generation",
              "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
              "annotations", "ownerReferences", "finalizers", "managedFields"]


def canonical(kind_obj, obj):
    """The object with its members in the order a real server writes them."""
    meta = obj.get("metadata") or {}
    meta = ordered(meta, META_ORDER)
    api = (f"{kind_obj.group}/{kind_obj.storage_version}" if kind_obj.crd
           else kind_obj.api_version)
    out = {"kind": kind_obj.kind, "apiVersion": api, "metadata": meta}
    for k, v in obj.items():
        if k not in ("kind", "apiVersion", "metadata", "status"):
            out[k] = v
    if "status" in obj:
        out["status"] = obj["status"]
    return out


# ---- requests -----------------------------------------------------------------------------


class Req:
    """One Kubernetes API request, from HTTP or from the admin console."""

    def __init__(self, cl, method, path, query, body, headers, user, console=False):
        self.cl, self.method, self.path, self.query = cl, method, path, query
        self.body, self.headers, self.user, self.console = body, headers, user, console
        self.verb = self.kind = self.ns = self.name = self.sub = None
        self.group = self.version = self.resource = None
        self.dry = False
        self.warnings = []

    def q(self, name, default=None):
        v = self.query.get(name)
        return v[-1] if v else default

    def header(self, name, default=""):
        return self.headers.get(name.lower(), default)

    @property
    def content_type(self):
        return self.header("content-type").split(";")[0].strip().lower()

    def log_fields(self):
        return {"verb": self.verb, "group": self.group, "version": self.version,
                "resource": self.resource, "subresource": self.sub, "namespace": self.ns,
                "name": self.name, "dryRun": self.dry,
                "write": self.verb in WRITE_VERBS and not self.dry,
                "fieldManager": self.q("fieldManager"),
                "contentType": self.content_type or None,
                "accept": self.header("accept") or None}


class Answer:
    def __init__(self, status, body, headers=(), content_type=JSON_CT):
        self.status = status
        self.body = body if isinstance(body, bytes) else dumps(body)
        self.headers = list(headers)
        self.content_type = content_type


def truthy(v):
    return v in ("true", "1", "True")


def media_ranges(accept):
    out = []
    for part in (accept or "").split(","):
        part = part.strip()
        if not part:
            continue
        bits = [b.strip() for b in part.split(";")]
        params = {}
        for b in bits[1:]:
            if "=" in b:
                k, v = b.split("=", 1)
                params[k.strip()] = v.strip()
        out.append((bits[0].lower(), params))
    return out


def wanted_form(req):
    """"json", "table", "partial" or "partial-list" from the Accept header; 406 when
    nothing acceptable is asked for."""
    ranges = media_ranges(req.header("accept"))
    if not ranges:
        return "json"
    for mt, params in ranges:
        if mt not in ("application/json", "application/*", "*/*"):
            continue
        as_ = params.get("as")
        if as_ is None:
            return "json"
        if params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
            if as_ == "Table":
                return "table"
            if as_ in ("PartialObjectMetadata", "PartialObjectMetadataList"):
                return "partial"
    raise KubeError(406, "NotAcceptable",
                    "only the following media types are accepted: application/json, "
                    "application/yaml, application/vnd.kubernetes.protobuf")


# ---- protobuf request bodies --------------------------------------------------------------
# kubectl's typed clients (kubectl create configmap|secret|namespace|serviceaccount, kubectl
# auth can-i) send application/vnd.kubernetes.protobuf: the 4-byte magic "k8s\0", then a
# runtime.Unknown {1: TypeMeta {1: apiVersion, 2: kind}, 2: raw object, ...}. The field
# numbers below are those of k8s.io/api's generated.proto for these few kinds.

PB_SCHEMAS = {
    "ObjectMeta": {1: ("name", "s"), 2: ("generateName", "s"), 3: ("namespace", "s"),
                   5: ("uid", "s"), 6: ("resourceVersion", "s"), 7: ("generation", "i"),
                   11: ("labels", "mss"), 12: ("annotations", "mss"),
                   13: ("ownerReferences", "rm:OwnerReference"), 14: ("finalizers", "rs")},
    "OwnerReference": {1: ("kind", "s"), 3: ("name", "s"), 4: ("uid", "s"),
                       5: ("apiVersion", "s"), 6: ("controller", "b"),
                       7: ("blockOwnerDeletion", "b")},
    "ConfigMap": {1: ("metadata", "m:ObjectMeta"), 2: ("data", "mss"),
                  3: ("binaryData", "msb"), 4: ("immutable", "b")},
    "Secret": {1: ("metadata", "m:ObjectMeta"), 2: ("data", "msb"), 3: ("type", "s"),
               4: ("stringData", "mss"), 5: ("immutable", "b")},
    "Namespace": {1: ("metadata", "m:ObjectMeta"), 2: ("spec", "m:NamespaceSpec")},
    "NamespaceSpec": {1: ("finalizers", "rs")},
    "ServiceAccount": {1: ("metadata", "m:ObjectMeta"), 2: ("secrets", "rm:ObjectReference"),
                       3: ("imagePullSecrets", "rm:LocalObjectReference"),
                       4: ("automountServiceAccountToken", "b")},
    "ObjectReference": {1: ("kind", "s"), 2: ("namespace", "s"), 3: ("name", "s"),
                        4: ("uid", "s"), 5: ("apiVersion", "s"), 6: ("resourceVersion", "s"),
                        7: ("fieldPath", "s")},
    "LocalObjectReference": {1: ("name", "s")},
    "SelfSubjectAccessReview": {1: ("metadata", "m:ObjectMeta"),
                                2: ("spec", "m:SelfSubjectAccessReviewSpec")},
    "SelfSubjectAccessReviewSpec": {1: ("resourceAttributes", "m:ResourceAttributes"),
                                    2: ("nonResourceAttributes", "m:NonResourceAttributes")},
    "ResourceAttributes": {1: ("namespace", "s"), 2: ("verb", "s"), 3: ("group", "s"),
                           4: ("version", "s"), 5: ("resource", "s"),
                           6: ("subresource", "s"), 7: ("name", "s")},
    "NonResourceAttributes": {1: ("path", "s"), 2: ("verb", "s")},
    "SelfSubjectReview": {1: ("metadata", "m:ObjectMeta")},
}


def pb_varint(buf, i):
    shift = result = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def pb_fields(buf):
    i = 0
    while i < len(buf):
        key, i = pb_varint(buf, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            v, i = pb_varint(buf, i)
        elif wt == 2:
            n, i = pb_varint(buf, i)
            v = bytes(buf[i:i + n])
            if len(v) != n:
                raise ValueError("truncated field")
            i += n
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wt}")
        yield field, wt, v


def pb_decode(buf, schema_name):
    schema = PB_SCHEMAS[schema_name]
    out = {}
    for field, _, v in pb_fields(buf):
        if field not in schema:
            continue
        name, typ = schema[field]
        if typ == "s":
            if v:
                out[name] = v.decode()
        elif typ == "i":
            if v:
                out[name] = v
        elif typ == "b":
            out[name] = bool(v)
        elif typ == "rs":
            out.setdefault(name, []).append(v.decode())
        elif typ in ("mss", "msb"):
            entry = {f: val for f, _, val in pb_fields(v)}
            key = entry.get(1, b"").decode()
            val = entry.get(2, b"")
            out.setdefault(name, {})[key] = (val.decode() if typ == "mss"
                                             else base64.b64encode(val).decode())
        elif typ.startswith("m:"):
            out[name] = pb_decode(v, typ[2:])
        elif typ.startswith("rm:"):
            out.setdefault(name, []).append(pb_decode(v, typ[3:]))
    return out


def decode_protobuf(raw):
    if not raw.startswith(b"k8s\x00"):
        raise bad_request("the protobuf body does not start with the k8s magic")
    try:
        env = {f: v for f, _, v in pb_fields(raw[4:])}
        tm = {f: v for f, _, v in pb_fields(env.get(1, b""))}
        api, kind = tm.get(1, b"").decode(), tm.get(2, b"").decode()
        if kind not in PB_SCHEMAS or kind in ("ObjectMeta",):
            raise KubeError(415, "UnsupportedMediaType",
                            f"kubeemu decodes protobuf bodies only for ConfigMap, Secret, "
                            f"Namespace, ServiceAccount and the access reviews, not {kind}; "
                            f"send application/json")
        obj = {"apiVersion": api, "kind": kind}
        obj.update(pb_decode(env.get(2, b""), kind))
        obj.setdefault("metadata", {})
        return obj
    except (ValueError, UnicodeDecodeError) as e:
        raise bad_request(f"cannot decode the protobuf body: {e}")


def decode_body(req, kind_obj=None, apply=False):
    raw = req.body or b""
    if not raw.strip():
        raise bad_request("the request body is empty")
    ct = req.content_type
    if ct == "application/vnd.kubernetes.protobuf":
        return decode_protobuf(raw)
    if "protobuf" in ct or "cbor" in ct:
        raise KubeError(415, "UnsupportedMediaType",
                        f'the body of the request was in an unknown format - accepted media '
                        f'types include: application/json, application/yaml')
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        if (apply or "yaml" in ct) and yaml is not None:
            try:
                return yaml.safe_load(raw)
            except yaml.YAMLError as ye:
                raise bad_request(f"error decoding YAML: {ye}")
        what = kind_obj.kind if kind_obj else "object"
        raise bad_request(f"the object provided is unrecognized (must be of type {what}): "
                          f"couldn't get version/kind; json parse error: {e}")


def check_type(req, kind_obj, obj, causes=None):
    """The kind and apiVersion in a body against the URL's."""
    if not isinstance(obj, dict):
        raise bad_request(f"the object provided is unrecognized (must be of type "
                          f"{kind_obj.kind}): couldn't get version/kind; json parse error: "
                          f"expected an object")
    api, kind = obj.get("apiVersion"), obj.get("kind")
    if kind_obj.crd and (not api or not kind):
        missing = "Kind" if not kind else "apiVersion"
        raise bad_request(f"Object '{missing}' is missing in '{json.dumps(obj)[:200]}'")
    if api and api != kind_obj.api_version:
        raise bad_request(f"the API version in the data ({api}) does not match the expected "
                          f"API version ({kind_obj.api_version})")
    if kind and kind != kind_obj.kind:
        raise invalid(kind_obj, (obj.get("metadata") or {}).get("name"),
                      [invalid_value("kind", kind, f"must be {kind_obj.kind}")])
    if not isinstance(obj.get("metadata", {}), dict):
        raise bad_request("metadata must be an object")


def meta_causes(kind_obj, obj):
    """Name, namespace, label and annotation checks of ObjectMeta."""
    causes = []
    meta = obj["metadata"]
    name = meta.get("name")
    if not name:
        causes.append(required("metadata.name", "name or generateName is required"))
    else:
        check = kind_obj.name_check
        if check == "label" and (not DNS1123_LABEL.fullmatch(name) or len(name) > 63):
            causes.append(invalid_value("metadata.name", name, LABEL_MSG))
        elif check == "dns1035" and (not DNS1035_LABEL.fullmatch(name) or len(name) > 63):
            causes.append(invalid_value("metadata.name", name, DNS1035_MSG))
        elif check == "subdomain" and (not DNS1123_SUBDOMAIN.fullmatch(name) or len(name) > 253):
            causes.append(invalid_value("metadata.name", name, SUBDOMAIN_MSG))
        elif check == "path" and (name in (".", "..") or "/" in name or "%" in name):
            causes.append(invalid_value("metadata.name", name,
                                        "may not contain '/' or '%' and may not be '.' or '..'"))
    labels = meta.get("labels")
    if labels is not None and not isinstance(labels, dict):
        raise bad_request(f"{kind_obj.kind} in version \"{kind_obj.version}\" cannot be handled "
                          f"as a {kind_obj.kind}: json: cannot unmarshal into Go struct field "
                          f"ObjectMeta.metadata.labels of type map[string]string")
    for k, v in (labels or {}).items():
        prefix, _, nm = k.rpartition("/")
        if (prefix and (not DNS1123_SUBDOMAIN.fullmatch(prefix) or len(prefix) > 253)) or \
                not LABEL_NAME.fullmatch(nm) or len(nm) > 63:
            causes.append(invalid_value("metadata.labels", k, "name part must consist of "
                                        "alphanumeric characters, '-', '_' or '.', and must "
                                        "start and end with an alphanumeric character (e.g. "
                                        "'MyName',  or 'my.name',  or '123-abc', regex used "
                                        "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?"
                                        "[A-Za-z0-9]')"))
        if not isinstance(v, str) or len(v) > 63 or (v and not LABEL_NAME.fullmatch(v)):
            causes.append(invalid_value("metadata.labels", v, "a valid label must be an empty "
                                        "string or consist of alphanumeric characters, '-', "
                                        "'_' or '.', and must start and end with an "
                                        "alphanumeric character (e.g. 'MyValue',  or "
                                        "'my_value',  or '12345', regex used for validation is "
                                        "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"))
    ann = meta.get("annotations")
    if ann is not None and not isinstance(ann, dict):
        causes.append(invalid_value("metadata.annotations", ann, "must be a map"))
    elif ann:
        for k, v in ann.items():
            if not isinstance(v, str):
                raise bad_request("json: cannot unmarshal into Go struct field "
                                  "ObjectMeta.metadata.annotations of type string")
        if sum(len(k) + len(v) for k, v in ann.items()) > 256 * 1024:
            causes.append(Cause("FieldValueTooLong", "metadata.annotations",
                                "must have at most 262144 bytes", show_value=False))
    return causes


WORKLOADS = {"Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "ReplicationController"}


def spec_part(obj):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "kind",
                                                      "apiVersion")}


def strip_volatile(obj):
    o = dict(obj)
    meta = dict(o.get("metadata") or {})
    meta.pop("resourceVersion", None)
    meta.pop("managedFields", None)
    o["metadata"] = meta
    return o


def manager_of(req):
    fm = req.q("fieldManager")
    if fm:
        return fm
    ua = req.header("user-agent")
    return (ua.split("/")[0] if ua else "unknown")[:128] or "unknown"


class Executor:
    """Runs Kubernetes API requests against one cluster (the lock is held by the caller)."""

    def __init__(self, cloud):
        self.cloud = cloud

    # -- routing --

    def route(self, req):
        """Sets req.kind/ns/name/sub/verb, or returns an Answer for discovery paths."""
        cl = req.cl
        path = req.path
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")] if path.strip(
            "/") else []
        if parts and parts[0] == "openapi":
            return self.openapi(req, parts[1:])
        if not parts or parts[0] not in ("api", "apis"):
            raise resource_not_found()
        if parts[0] == "api":
            if len(parts) == 1:
                return self.api_versions(req)
            group, version, rest = "", parts[1], parts[2:]
        else:
            if len(parts) == 1:
                return self.api_groups(req)
            if len(parts) == 2:
                return self.api_group(req, parts[1])
            group, version, rest = parts[1], parts[2], parts[3:]
        req.group, req.version = group, version
        if not rest:
            return self.resource_list(req, group, version)
        if any(not p for p in rest):
            raise resource_not_found()
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3 and not (
                len(rest) == 3 and rest[2] in ("status", "finalize")):
            ns, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise resource_not_found()
        resource = rest[0]
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        req.resource, req.ns, req.name, req.sub = resource, ns, name, sub
        kind_obj = cl.kind(group, version, resource)
        if kind_obj is None or any(not p for p in rest):
            raise resource_not_found()
        if ns is not None and not kind_obj.namespaced:
            raise resource_not_found()
        if name is None and kind_obj.namespaced is True and ns is None and req.method != "GET":
            raise method_not_allowed()
        if kind_obj.namespaced and ns is None and name is not None:
            raise resource_not_found()
        if sub is not None and not ((sub == "status" and kind_obj.status) or (
                sub == "scale" and kind_obj.scale) or (
                sub == "finalize" and kind_obj.kind == "Namespace")):
            raise resource_not_found()
        req.kind = kind_obj
        m = req.method
        watch = truthy(req.q("watch", ""))
        if m == "GET":
            req.verb = ("watch" if watch else "list") if name is None else (
                "watch" if watch else "get")
        elif m == "POST" and name is None:
            req.verb = "create"
        elif m == "PUT" and name is not None:
            req.verb = "update"
        elif m == "PATCH" and name is not None:
            req.verb = "patch"
        elif m == "DELETE":
            req.verb = "delete" if name is not None else "deletecollection"
        else:
            raise method_not_allowed()
        if sub is None and req.verb not in kind_obj.verbs:
            raise method_not_allowed()
        if sub is not None and req.verb not in ("get", "update", "patch"):
            raise method_not_allowed()
        dry = req.query.get("dryRun") or []
        if dry and req.verb in WRITE_VERBS:
            if any(d != "All" for d in dry):
                raise invalid_options("dryRun", dry)
            req.dry = True
        return None

    # -- discovery --

    def api_versions(self, req):
        return Answer(200, {"kind": "APIVersions", "versions": ["v1"],
                            "serverAddressByClientCIDRs": [
                                {"clientCIDR": "0.0.0.0/0",
                                 "serverAddress": f"127.0.0.1:{req.cl.port}"}]})

    def groups(self, cl):
        """{group: [versions by priority]} of the served groups (not the core group)."""
        groups = collections.OrderedDict()
        for k in cl.all_kinds():
            if k.group:
                vs = groups.setdefault(k.group, [])
                if k.version not in vs:
                    vs.append(k.version)
        order = {g: i for i, g in enumerate(GROUP_ORDER)}
        names = sorted(groups, key=lambda g: (order.get(g, len(order)), g))
        return [(g, sort_versions(groups[g])) for g in names]

    @staticmethod
    def group_view(g, versions):
        vs = [{"groupVersion": f"{g}/{v}", "version": v} for v in versions]
        return {"name": g, "versions": vs, "preferredVersion": vs[0]}

    def api_groups(self, req):
        return Answer(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            self.group_view(g, vs) for g, vs in self.groups(req.cl)]})

    def api_group(self, req, group):
        for g, vs in self.groups(req.cl):
            if g == group:
                return Answer(200, dict({"kind": "APIGroup", "apiVersion": "v1"},
                                        **self.group_view(g, vs)))
        raise resource_not_found()

    def resource_list(self, req, group, version):
        kinds = [k for k in req.cl.all_kinds() if k.group == group and k.version == version]
        if not kinds:
            raise resource_not_found()
        res = []
        for k in sorted(kinds, key=lambda k: k.resource):
            res.append(k.discovery())
            if k.status:
                res.append({"name": f"{k.resource}/status", "singularName": "",
                            "namespaced": k.namespaced, "kind": k.kind,
                            "verbs": ["get", "patch", "update"]})
            if k.scale:
                res.append({"name": f"{k.resource}/scale", "singularName": "",
                            "namespaced": k.namespaced, "group": "autoscaling",
                            "version": "v1", "kind": "Scale",
                            "verbs": ["get", "patch", "update"]})
        gv = f"{group}/{version}" if group else version
        body = {"kind": "APIResourceList"}
        if group:
            body["apiVersion"] = "v1"
        body["groupVersion"] = gv
        body["resources"] = res
        return Answer(200, body)

    # -- OpenAPI v3 (the part kubectl reads) --

    def gv_kinds(self, cl):
        out = collections.OrderedDict()
        for k in cl.all_kinds():
            if k in REVIEW_KINDS:
                continue
            key = ("api/" if not k.group else "apis/") + k.api_version
            out.setdefault(key, []).append(k)
        return out

    def openapi(self, req, parts):
        """/openapi/v3 and /openapi/v3/<gv>: for each kind, the PATCH operation with its
        x-kubernetes-group-version-kind, the query parameters (fieldValidation among them:
        kubectl then validates on the server instead of downloading /openapi/v2) and the
        patch media types (strategic merge only for built-in kinds). No schemas."""
        gvs = self.gv_kinds(req.cl)
        if parts == ["v3"]:
            paths = {}
            for gv, kinds in gvs.items():
                h = hashlib.sha512(json.dumps([[k.kind, k.resource, k.namespaced, k.crd or ""]
                                               for k in kinds]).encode()).hexdigest()[:128]
                paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={h.upper()}"}
            return Answer(200, {"paths": paths})
        if len(parts) < 2 or parts[0] != "v3":
            raise resource_not_found()
        kinds = gvs.get("/".join(parts[1:]))
        if not kinds:
            raise resource_not_found()
        params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
                  for n in ("dryRun", "fieldManager", "fieldValidation", "force")]
        paths = {}
        for k in kinds:
            prefix = "/" + ("api/" if not k.group else "apis/") + k.api_version
            path = (f"{prefix}/namespaces/{{namespace}}/{k.resource}/{{name}}" if k.namespaced
                    else f"{prefix}/{k.resource}/{{name}}")
            content = {t: {"schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg."
                                              "apis.meta.v1.Patch"}}
                       for t in PATCH_TYPES[:4] if not (k.crd and "strategic" in t)}
            paths[path] = {"patch": {
                "tags": [k.group or "core"], "operationId": f"patch{k.kind}",
                "parameters": params, "requestBody": {"content": content, "required": True},
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": {"group": k.group, "version": k.version,
                                                    "kind": k.kind}}}
        return Answer(200, {"openapi": "3.0.0", "info": {
            "title": "Kubernetes", "version": "v" + self.cloud.opts.kube_version},
            "paths": paths, "components": {"schemas": {
                "io.k8s.apimachinery.pkg.apis.meta.v1.Patch": {
                    "type": "object", "description": "Patch is provided to give a concrete "
                    "name and type to the Kubernetes PATCH request body."}}}})

    # -- authorization --

    def authorize(self, req):
        cl, kind_obj = req.cl, req.kind
        user = req.user or {}
        resource = kind_obj.resource + (f"/{req.sub}" if req.sub else "")
        for rule in cl.deny:
            if rule.get("token") and rule["token"] != user.get("token"):
                continue
            if rule.get("user") and rule["user"] != user.get("user"):
                continue
            if rule.get("verb", "*") not in ("*", req.verb):
                continue
            if rule.get("resource", "*") not in ("*", resource, kind_obj.resource):
                continue
            if rule.get("group", "*") not in ("*", kind_obj.group):
                continue
            if rule.get("namespace") and rule["namespace"] != req.ns:
                continue
            if rule.get("name") and rule["name"] != req.name:
                continue
            raise forbidden(kind_obj, req.verb, resource, req.ns, req.name, user.get("user"))

    def allowed(self, cl, user, attrs):
        res = attrs.get("resource", "") + (f"/{attrs['subresource']}" if attrs.get(
            "subresource") else "")
        for rule in cl.deny:
            if rule.get("token") and rule["token"] != user.get("token"):
                continue
            if rule.get("user") and rule["user"] != user.get("user"):
                continue
            if rule.get("verb", "*") not in ("*", attrs.get("verb")):
                continue
            if rule.get("resource", "*") not in ("*", res, attrs.get("resource")):
                continue
            if rule.get("group", "*") not in ("*", attrs.get("group", "")):
                continue
            if rule.get("namespace") and rule["namespace"] != attrs.get("namespace"):
                continue
            if rule.get("name") and rule["name"] != attrs.get("name"):
                continue
            return False
        return True

    # -- dispatch --

    def execute(self, req):
        found = self.route(req)
        if found is not None:
            return found
        self.authorize(req)
        return self.run_verb(req)

    def run_verb(self, req):
        kind_obj = req.kind
        if kind_obj in REVIEW_KINDS:
            return self.review(req)
        if req.sub == "scale":
            return self.scale(req)
        if req.sub in ("status", "finalize"):
            return self.status_sub(req)
        return getattr(self, "v_" + req.verb)(req)

    # -- reads --

    def v_get(self, req):
        st = req.cl.get(req.kind, req.ns, req.name)
        if st is None:
            raise not_found(req.kind, req.name)
        form = wanted_form(req)
        if form == "table":
            return Answer(200, self.table(req, [st], str(req.cl.rv), None, single=True))
        if form == "partial":
            return Answer(200, partial(st.obj))
        return Answer(200, st.full(req.kind))

    def selectors(self, req):
        return (parse_label_selector(req.q("labelSelector", "")),
                parse_field_selector(req.q("fieldSelector", ""), req.kind))

    def v_list(self, req):
        cl, kind_obj = req.cl, req.kind
        labels, fields = self.selectors(req)
        form = wanted_form(req)
        limit = req.q("limit")
        try:
            limit = int(limit) if limit not in (None, "") else 0
        except ValueError:
            raise bad_request(f'limit: Invalid value: "{limit}": must be an integer')
        if limit < 0:
            limit = 0
        cont = req.q("continue")
        rv = cl.rv
        start_after = None
        if cont:
            if req.q("resourceVersion"):
                raise bad_request("specifying resource version is not allowed when using "
                                  "continue")
            try:
                tok = json.loads(base64.b64decode(cont + "=" * (-len(cont) % 4),
                                                  altchars=b"-_"))
                if tok.get("v") != "meta.k8s.io/v1":
                    raise ValueError("version")
                start_after = tuple(json.loads(tok["start"]))
                tok_rv = int(tok["rv"])
            except (ValueError, KeyError, TypeError):
                raise bad_request("continue key is not valid: incorrect encoded start "
                                  "resourceVersion (version meta.k8s.io/v1)")
            if tok_rv < cl.compacted:
                raise gone(CONTINUE_TOO_OLD)
            rv = tok_rv
        store = cl.stores.get(kind_obj.gr)
        items, last_key, remaining = [], None, 0
        if store is not None:
            lo, hi = store.range(req.ns or "")
            if start_after is not None:
                lo = max(lo, bisect.bisect_right(store.keys, start_after))
            keys, objs = store.keys, store.objs
            i = lo
            while i < hi:
                key = keys[i]
                st = objs[key]
                i += 1
                o = st.obj
                if labels and not labels_match(labels, o["metadata"].get("labels")):
                    continue
                if fields and not fields_match(fields, o):
                    continue
                items.append(st)
                last_key = key
                if limit and len(items) >= limit:
                    break
            more = False
            if limit and len(items) >= limit and i < hi:
                if labels or fields:
                    for j in range(i, hi):
                        o = objs[keys[j]].obj
                        if (not labels or labels_match(labels, o["metadata"].get("labels"))) \
                                and (not fields or fields_match(fields, o)):
                            more = True
                            break
                else:
                    more = True
                    remaining = hi - i
        else:
            more = False
        meta = {"resourceVersion": str(cl.rv)}
        if more:
            tok = {"v": "meta.k8s.io/v1", "rv": rv,
                   "start": json.dumps(list(last_key))}
            meta["continue"] = base64.b64encode(dumps(tok), altchars=b"-_").decode().rstrip("=")
            if remaining:
                meta["remainingItemCount"] = remaining
        if form == "table":
            return Answer(200, self.table(req, items, meta["resourceVersion"],
                                          meta.get("continue")))
        if form == "partial":
            return Answer(200, {"kind": "PartialObjectMetadataList",
                                "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                                "items": [partial(st.obj) for st in items]})
        list_kind = kind_obj.kind + "List"
        head = dumps({"kind": list_kind, "apiVersion": kind_obj.api_version,
                      "metadata": meta})[:-1]
        body = b"".join([head, b',"items":[', b",".join(st.item(kind_obj) for st in items),
                         b"]}"])
        return Answer(200, body)

    # -- writes --

    def new_object(self, req):
        obj = decode_body(req, req.kind)
        check_type(req, req.kind, obj)
        return obj

    def check_namespace(self, req, name):
        if not req.kind.namespaced:
            return
        state = req.cl.namespace_state(req.ns)
        if state is None:
            raise namespace_not_found(req.ns)
        if state == "Terminating" and req.verb == "create":
            msg = (f"unable to create new content in namespace {req.ns} because it is being "
                   "terminated")
            raise KubeError(403, "Forbidden", f'{qualified(req.kind)} "{name}" is forbidden: '
                            f'{msg}', details_of(req.kind, name, {"causes": [{
                                "reason": "NamespaceTerminating", "message": msg,
                                "field": "metadata.namespace"}]}))

    def v_create(self, req):
        kind_obj, cl = req.kind, req.cl
        obj = self.new_object(req)
        obj = copy.deepcopy(obj) if req.console else obj
        meta = obj.setdefault("metadata", {})
        if req.ns is not None:
            if meta.get("namespace") and meta["namespace"] != req.ns:
                raise bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
            meta["namespace"] = req.ns
        elif not kind_obj.namespaced:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(
                random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        if meta.get("resourceVersion"):
            raise bad_request("resourceVersion should not be set on objects to be created")
        self.check_namespace(req, meta.get("name", ""))
        return self.write(req, obj, None)

    def v_update(self, req):
        kind_obj, cl = req.kind, req.cl
        st = cl.get(kind_obj, req.ns, req.name)
        obj = self.new_object(req)
        meta = obj.setdefault("metadata", {})
        if meta.get("name") != req.name:
            raise bad_request(f"the name of the object ({meta.get('name') or ''}) does not "
                              f"match the name on the URL ({req.name})")
        if req.ns is not None:
            if meta.get("namespace") and meta["namespace"] != req.ns:
                raise bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
            meta["namespace"] = req.ns
        if st is None:
            raise not_found(kind_obj, req.name)
        rv = meta.get("resourceVersion")
        if not rv:
            if kind_obj.crd:
                raise invalid(kind_obj, req.name, [invalid_value(
                    "metadata.resourceVersion", "0x0", "must be specified for an update")])
        elif rv != st.obj["metadata"]["resourceVersion"]:
            raise conflict(kind_obj, req.name)
        return self.write(req, obj, st)

    def v_patch(self, req):
        kind_obj, cl = req.kind, req.cl
        ct = req.content_type
        if ct not in PATCH_TYPES or (ct == "application/strategic-merge-patch+json"
                                     and kind_obj.crd) or ct == "application/apply-patch+cbor":
            accepted = [t for t in PATCH_TYPES if not t.endswith("cbor") and not (
                kind_obj.crd and "strategic" in t)]
            raise KubeError(415, "UnsupportedMediaType",
                            f"the body of the request was in an unknown format - accepted media "
                            f"types include: {', '.join(accepted)}")
        if ct == "application/apply-patch+yaml":
            return self.apply(req)
        st = cl.get(kind_obj, req.ns, req.name)
        if st is None:
            raise not_found(kind_obj, req.name)
        obj = self.patched(req, st.view(kind_obj), ct)
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        if not isinstance(meta, dict):
            raise bad_request("the patch removed metadata")
        if meta.get("name") != req.name:
            raise bad_request(f"the name of the object ({meta.get('name') or ''}) does not "
                              f"match the name on the URL ({req.name})")
        if meta.get("resourceVersion") and meta["resourceVersion"] != st.obj["metadata"][
                "resourceVersion"]:
            raise conflict(kind_obj, req.name)
        check_type(req, kind_obj, obj)
        return self.write(req, obj, st)

    def patched(self, req, current, ct):
        try:
            patch = json.loads(req.body or b"null")
        except (ValueError, UnicodeDecodeError) as e:
            raise bad_request(f"error decoding patch: {e}")
        try:
            if ct == "application/json-patch+json":
                out = json_patch(current, patch)
            elif ct == "application/merge-patch+json":
                if not isinstance(patch, dict):
                    raise PatchError("the patch must be a JSON object", 400)
                out = merge_patch(current, patch)
            else:
                if not isinstance(patch, dict):
                    raise PatchError("the patch must be a JSON object", 400)
                out = strategic_merge(current, patch)
        except PatchError as e:
            if e.code == 400:
                raise bad_request(str(e))
            raise KubeError(422, "Invalid", str(e),
                            details_of(req.kind, req.name))
        if not isinstance(out, dict):
            raise bad_request("the patched object is not a JSON object")
        return out

    def apply(self, req):
        """Server-side apply (application/apply-patch+yaml): merges the applied
        configuration, removes what this manager applied before and no longer applies,
        and refuses to take fields another manager set to another value unless force."""
        kind_obj, cl = req.kind, req.cl
        manager = req.q("fieldManager")
        if not manager:
            raise invalid_options("fieldManager", "", kind="PatchOptions",
                                  detail="is required for apply patch", reason="required")
        force = truthy(req.q("force", ""))
        applied = decode_body(req, kind_obj, apply=True)
        check_type(req, kind_obj, applied)
        if not applied.get("apiVersion") or not applied.get("kind"):
            raise bad_request("apiVersion and kind must be set in an applied configuration")
        meta = applied.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != req.name:
            raise bad_request(f"the name of the object ({meta['name']}) does not match the "
                              f"name on the URL ({req.name})")
        meta["name"] = req.name
        if req.ns is not None:
            if meta.get("namespace") and meta["namespace"] != req.ns:
                raise bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
            meta["namespace"] = req.ns
        a_paths = field_paths(applied)
        st = cl.get(kind_obj, req.ns, req.name)
        t = now_rfc3339(self.cloud.now())
        if st is None:
            self.check_namespace(req, req.name)
            entry = managed_entry(manager, "Apply", kind_obj, a_paths, t)
            return self.write(req, copy.deepcopy(applied), None, entries=[entry],
                              created_status=201)
        current = st.view(kind_obj)
        rv = meta.get("resourceVersion")
        if rv and rv != current["metadata"]["resourceVersion"]:
            raise conflict(kind_obj, req.name)
        entries = copy.deepcopy(current["metadata"].get("managedFields") or [])
        conflicts = []
        for e in entries:
            if e.get("manager") == manager and e.get("operation") == "Apply":
                continue
            owned = fields_to_paths(e.get("fieldsV1"))
            for p in sorted(owned & a_paths):
                if p[-1] == ".":
                    continue
                if value_at(applied, p) != value_at(current, p):
                    conflicts.append((e, p))
        if conflicts and not force:
            causes = [{"reason": "FieldManagerConflict",
                       "message": f'conflict with "{e["manager"]}"'
                       + (f' using {e.get("apiVersion")}' if e.get("apiVersion") else ""),
                       "field": "." + ".".join(s[2:] if s[:2] in ("f:",) else
                                               f"[{s[2:]}]" for s in p)}
                      for e, p in conflicts]
            lines = [f'{c["message"]}: {c["field"]}' for c in causes]
            n = len(causes)
            msg = f"Apply failed with {n} conflict{'s' if n > 1 else ''}: " + "\n".join(lines)
            raise KubeError(409, "Conflict", msg, details_of(kind_obj, req.name,
                                                             {"causes": causes}))
        if kind_obj.crd:
            merged = deep_merge(current, applied)
        else:
            merged = strategic_merge(current, applied)
        prev = next((e for e in entries if e.get("manager") == manager
                     and e.get("operation") == "Apply"), None)
        prev_paths = fields_to_paths(prev.get("fieldsV1")) if prev else set()
        others = set()
        for e in entries:
            if e is not prev:
                others |= fields_to_paths(e.get("fieldsV1"))
        for p in sorted(prev_paths - a_paths, key=len, reverse=True):
            if p not in others:
                remove_path(merged, p)
        prune_empty(merged, applied)
        taken = {p for _, p in conflicts}
        new_entries = []
        for e in entries:
            if e is prev:
                continue
            if taken:
                owned = fields_to_paths(e.get("fieldsV1")) - taken
                if not owned:
                    continue
                e["fieldsV1"] = paths_to_fields(owned)
            new_entries.append(e)
        mine = managed_entry(manager, "Apply", kind_obj, a_paths, t)
        if prev is None:
            new_entries.append(mine)
        else:
            new_entries.insert(min(entries.index(prev), len(new_entries)), mine)
        merged["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        return self.write(req, merged, st, entries=new_entries)

    def write(self, req, obj, st, subresource=None, entries=None, created_status=None):
        """The common end of create, update, patch and apply: server-set metadata, status
        handling, defaults, validation, generation, managedFields, then (unless a dry run
        or nothing changed) storage and side effects."""
        kind_obj, cl = req.kind, req.cl
        old = st.obj if st is not None else None
        meta = obj["metadata"]
        if not kind_obj.namespaced:
            meta.pop("namespace", None)
        else:
            want = old["metadata"].get("namespace") if old is not None else req.ns
            if meta.get("namespace") not in (None, "", want):
                raise bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
            meta["namespace"] = want
        now = self.cloud.now()
        t = now_rfc3339(now)
        if old is None:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = t
            for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
                meta.pop(k, None)
            if kind_obj.generation:
                meta["generation"] = 1
            else:
                meta.pop("generation", None)
            if kind_obj.status and kind_obj.kind != "Namespace":
                obj.pop("status", None)
        else:
            om = old["metadata"]
            for k in ("uid", "creationTimestamp", "deletionTimestamp",
                      "deletionGracePeriodSeconds", "generation"):
                if k in om:
                    meta[k] = om[k]
                else:
                    meta.pop(k, None)
            meta.pop("selfLink", None)
            if subresource != "status" and kind_obj.status:
                if "status" in old:
                    obj["status"] = copy.deepcopy(old["status"])
                else:
                    obj.pop("status", None)
        body_mf = meta.pop("managedFields", None)
        meta.pop("resourceVersion", None)
        causes = meta_causes(kind_obj, obj)
        if kind_obj.crd:
            unknown = []
            obj = check_custom(kind_obj, obj, causes, unknown)
            meta = obj["metadata"]
            fv = req.q("fieldValidation", "Warn")
            if unknown and fv == "Strict":
                fields = ", ".join(f'unknown field "{u}"' for u in unknown)
                raise bad_request(f'{kind_obj.kind} in version "{kind_obj.version}" cannot be '
                                  f'handled as a {kind_obj.kind}: strict decoding error: '
                                  f'{fields}')
            if fv == "Warn":
                req.warnings = [f'299 - "unknown field \\"{u}\\""' for u in unknown]
        d = Defaulter(cl, kind_obj, obj, old, not req.dry)
        causes += d.run()
        if causes:
            raise invalid(kind_obj, meta.get("name"), causes)
        if old is None and cl.get(kind_obj, meta.get("namespace"), meta["name"]) is not None:
            raise already_exists(kind_obj, meta["name"])
        if old is not None and kind_obj.generation and spec_part(old) != spec_part(obj):
            meta["generation"] = int(old["metadata"].get("generation") or 1) + 1
        if kind_obj.kind in WORKLOADS and subresource != "status" and not req.dry:
            obj["status"] = workload_status(kind_obj.kind, obj.get("spec"),
                                            meta.get("generation", 1))
        if kind_obj.kind == "CustomResourceDefinition":
            if old is None:
                spec = obj["spec"]
                storage = next((v["name"] for v in spec["versions"] if v.get("storage")), None)
                obj["status"] = {"conditions": [],
                                 "acceptedNames": {"plural": "", "kind": ""},
                                 "storedVersions": [storage]}
                meta.setdefault("finalizers", [])
                if "customresourcecleanup.apiextensions.k8s.io" not in meta["finalizers"]:
                    meta["finalizers"].append("customresourcecleanup.apiextensions.k8s.io")
            else:
                obj["status"] = copy.deepcopy(old.get("status") or {})
                storage = next((v["name"] for v in obj["spec"]["versions"]
                                if v.get("storage")), None)
                sv = obj["status"].setdefault("storedVersions", [])
                if storage not in sv:
                    sv.append(storage)
        obj = canonical(kind_obj, obj)
        meta = obj["metadata"]
        # managedFields
        if entries is None:
            entries = self.update_entries(req, kind_obj, obj, old, t, subresource,
                                          body_mf)
        meta["managedFields"] = entries
        if old is not None and strip_volatile(old) == strip_volatile(obj):
            return Answer(200, st.full(kind_obj))  # nothing changed: no new version
        finalizers = [f for f in meta.get("finalizers") or [] if f not in SYSTEM_FINALIZERS]
        if old is not None and meta.get("deletionTimestamp") and not finalizers:
            # the last finalizer went: the object goes
            if req.dry:
                return Answer(200, dumps(obj))
            gone_st = cl.remove(kind_obj, req.ns, req.name)
            self.after_delete(cl, kind_obj, old)
            return Answer(200, gone_st.full(kind_obj))
        if req.dry:
            if old is None:
                meta.pop("resourceVersion", None)
            else:
                meta["resourceVersion"] = old["metadata"]["resourceVersion"]
                obj["metadata"] = ordered(meta, META_ORDER)
            return Answer(201 if old is None else 200, dumps(self.as_requested(kind_obj, obj)))
        if kind_obj.kind == "Service":
            if old is not None:
                cl.release_service(old, keep=obj)
            cl.commit_service(obj)
        new_st = cl.put(kind_obj, obj)
        if old is None:
            self.after_create(cl, kind_obj, obj, t)
        elif kind_obj.kind == "CustomResourceDefinition":
            if cl.custom and any(k.crd == meta["name"] for k in cl.custom.values()):
                cl.register_crd(obj)
        return Answer(created_status or (201 if old is None else 200), new_st.full(kind_obj))

    @staticmethod
    def as_requested(kind_obj, obj):
        if kind_obj.crd and obj.get("apiVersion") != kind_obj.api_version:
            obj = dict(obj, apiVersion=kind_obj.api_version)
        return obj

    def update_entries(self, req, kind_obj, obj, old, t, subresource, body_mf):
        manager = manager_of(req)
        if kind_obj.status and subresource != "status":
            new_paths = field_paths(obj)
        elif subresource == "status":
            new_paths = field_paths({"status": obj.get("status")}, top=False)
        else:
            new_paths = field_paths(obj)
        if old is None:
            return [managed_entry(manager, "Update", kind_obj, new_paths, t, subresource)]
        entries = copy.deepcopy(old["metadata"].get("managedFields") or [])
        if body_mf == [{}]:
            entries = []
        if subresource == "status":
            old_paths = field_paths({"status": old.get("status")}, top=False)
        else:
            old_paths = field_paths(old)
        changed = {p for p in new_paths if value_at(obj, p) != value_at(old, p)}
        removed = old_paths - new_paths
        if not changed and not removed:
            return entries
        out, mine = [], None
        for e in entries:
            owned = fields_to_paths(e.get("fieldsV1"))
            if e.get("manager") == manager and e.get("operation") == "Update" and e.get(
                    "subresource") == subresource:
                mine = e
                e["fieldsV1"] = paths_to_fields((owned - removed) | changed)
                e["time"] = t
                e["apiVersion"] = kind_obj.api_version
                out.append(e)
                continue
            rest = owned - changed - removed
            if not rest:
                continue
            if rest != owned:
                e["fieldsV1"] = paths_to_fields(rest)
            out.append(e)
        if mine is None and changed:
            out.append(managed_entry(manager, "Update", kind_obj, changed, t, subresource))
        return out

    def after_create(self, cl, kind_obj, obj, t):
        if kind_obj.kind == "Namespace":
            cl.seed_namespace(obj["metadata"]["name"], t)
        elif kind_obj.kind == "CustomResourceDefinition":
            name, uid = obj["metadata"]["name"], obj["metadata"]["uid"]
            delay = self.cloud.settings["crd_establish_seconds"]
            self.cloud.schedule(delay, lambda _t: cl.establish_crd(name, uid))

    def after_delete(self, cl, kind_obj, obj):
        if kind_obj.kind == "CustomResourceDefinition":
            cl.delete_crd_objects(obj)
            cl.unregister_crd(obj["metadata"]["name"])

    # -- delete --

    def delete_options(self, req):
        opts = {}
        if req.body and req.body.strip():
            try:
                opts = json.loads(req.body)
            except (ValueError, UnicodeDecodeError) as e:
                raise bad_request(f"error decoding DeleteOptions: {e}")
            if not isinstance(opts, dict):
                raise bad_request("DeleteOptions must be an object")
        dry = opts.get("dryRun") or []
        if dry:
            if any(d != "All" for d in dry):
                raise invalid_options("dryRun", dry, kind="DeleteOptions")
            req.dry = True
        pp = req.q("propagationPolicy") or opts.get("propagationPolicy")
        if pp is not None and pp not in ("Orphan", "Background", "Foreground"):
            raise invalid_options("propagationPolicy", pp, kind="DeleteOptions",
                                  detail='propagationPolicy must be one of "Orphan", '
                                         '"Background", "Foreground"')
        return opts

    def v_delete(self, req):
        kind_obj, cl = req.kind, req.cl
        opts = self.delete_options(req)
        st = cl.get(kind_obj, req.ns, req.name)
        if st is None:
            raise not_found(kind_obj, req.name)
        pre = opts.get("preconditions") or {}
        meta = st.obj["metadata"]
        if pre.get("uid") and pre["uid"] != meta.get("uid"):
            raise conflict(kind_obj, req.name,
                           f"Precondition failed: UID in precondition: {pre['uid']}, UID in "
                           f"object meta: {meta.get('uid')}")
        if pre.get("resourceVersion") and pre["resourceVersion"] != meta.get("resourceVersion"):
            raise conflict(kind_obj, req.name,
                           f"Precondition failed: ResourceVersion in precondition: "
                           f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                           f"{meta.get('resourceVersion')}")
        return self.delete_one(req, kind_obj, st)

    def delete_one(self, req, kind_obj, st):
        cl = req.cl
        meta = st.obj["metadata"]
        name, ns = meta["name"], meta.get("namespace")
        t = now_rfc3339(self.cloud.now())
        if kind_obj.kind == "Namespace":
            if name in UNDELETABLE_NAMESPACES:
                raise KubeError(403, "Forbidden", f'namespaces "{name}" is forbidden: this '
                                f'namespace may not be deleted',
                                {"name": name, "kind": "namespaces"})
            obj = copy.deepcopy(st.obj)
            obj["metadata"].setdefault("deletionTimestamp", t)
            obj["status"] = {"phase": "Terminating"}
            if req.dry:
                return Answer(200, dumps(obj))
            if (st.obj.get("status") or {}).get("phase") == "Terminating":
                return Answer(200, st.full(kind_obj))
            new_st = cl.put(kind_obj, obj)
            cl.terminating.add(name)
            uid = meta["uid"]
            delay = self.cloud.settings["namespace_delete_seconds"]
            if delay <= 0:
                cl.finish_namespace_delete(name, uid)
            else:
                self.cloud.schedule(delay, lambda _t: cl.finish_namespace_delete(name, uid))
            return Answer(200, new_st.full(kind_obj))
        finalizers = [f for f in meta.get("finalizers") or [] if f not in SYSTEM_FINALIZERS]
        if finalizers:
            if meta.get("deletionTimestamp"):
                return Answer(202, st.full(kind_obj))
            obj = copy.deepcopy(st.obj)
            obj["metadata"]["deletionTimestamp"] = t
            obj["metadata"]["deletionGracePeriodSeconds"] = 0
            obj["metadata"]["finalizers"] = finalizers
            if kind_obj.generation:
                obj["metadata"]["generation"] = int(meta.get("generation") or 1) + 1
            if req.dry:
                return Answer(202, dumps(obj))
            return Answer(202, cl.put(kind_obj, obj).full(kind_obj))
        if req.dry:
            return self.deleted_answer(kind_obj, st)
        gone_st = cl.remove(kind_obj, ns, name)
        self.after_delete(cl, kind_obj, st.obj)
        return self.deleted_answer(kind_obj, gone_st)

    @staticmethod
    def deleted_answer(kind_obj, st):
        if kind_obj.kind == "Pod":
            return Answer(200, st.full(kind_obj))
        meta = st.obj["metadata"]
        details = {"name": meta["name"]}
        if kind_obj.group:
            details["group"] = kind_obj.group
        details["kind"] = kind_obj.resource
        details["uid"] = meta.get("uid")
        return Answer(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                            "status": "Success", "details": details})

    def v_deletecollection(self, req):
        kind_obj, cl = req.kind, req.cl
        self.delete_options(req)
        labels, fields = self.selectors(req)
        store = cl.stores.get(kind_obj.gr)
        deleted = []
        if store is not None:
            lo, hi = store.range(req.ns or "")
            for key in store.keys[lo:hi]:
                st = store.objs.get(key)
                if st is None:
                    continue
                o = st.obj
                if labels and not labels_match(labels, o["metadata"].get("labels")):
                    continue
                if fields and not fields_match(fields, o):
                    continue
                self.delete_one(req, kind_obj, st)
                deleted.append(st.obj)
        return Answer(200, {"kind": kind_obj.kind + "List", "apiVersion": kind_obj.api_version,
                            "metadata": {"resourceVersion": str(cl.rv)},
                            "items": [{k: v for k, v in o.items() if k not in (
                                "kind", "apiVersion")} for o in deleted]})

    # -- subresources --

    def status_sub(self, req):
        kind_obj, cl = req.kind, req.cl
        st = cl.get(kind_obj, req.ns, req.name)
        if st is None:
            raise not_found(kind_obj, req.name)
        if req.verb == "get":
            return Answer(200, st.full(kind_obj))
        if req.sub == "finalize":
            return Answer(200, st.full(kind_obj))
        if req.verb == "update":
            new = self.new_object(req)
            rv = (new.get("metadata") or {}).get("resourceVersion")
            if rv and rv != st.obj["metadata"]["resourceVersion"]:
                raise conflict(kind_obj, req.name)
        else:
            ct = req.content_type
            if ct not in PATCH_TYPES[:3] or (kind_obj.crd and "strategic" in ct):
                raise KubeError(415, "UnsupportedMediaType",
                                "the body of the request was in an unknown format - accepted "
                                "media types include: application/json-patch+json, "
                                "application/merge-patch+json, "
                                "application/strategic-merge-patch+json")
            new = self.patched(req, st.view(kind_obj), ct)
        obj = copy.deepcopy(st.obj)
        if "status" in new:
            obj["status"] = new["status"]
        else:
            obj.pop("status", None)
        obj["metadata"]["resourceVersion"] = st.obj["metadata"]["resourceVersion"]
        return self.write(req, obj, st, subresource="status")

    def scale_paths(self, kind_obj):
        if kind_obj.crd:
            p = getattr(kind_obj, "scale_paths", None) or {}
            return (p.get("specReplicasPath", ".spec.replicas"),
                    p.get("statusReplicasPath", ".status.replicas"),
                    p.get("labelSelectorPath"))
        return ".spec.replicas", ".status.replicas", None

    def scale_view(self, kind_obj, obj):
        spec_p, status_p, sel_p = self.scale_paths(kind_obj)
        meta = obj["metadata"]
        spec_r = dotted(obj, spec_p)
        status_r = dotted(obj, status_p)
        sel = ""
        if sel_p:
            sel = dotted(obj, sel_p) or ""
        else:
            s = (obj.get("spec") or {}).get("selector")
            if isinstance(s, dict) and "matchLabels" in s or isinstance(s, dict) and \
                    "matchExpressions" in s:
                sel = selector_string(s)
            elif isinstance(s, dict):
                sel = ",".join(f"{k}={v}" for k, v in sorted(s.items()))
        view_meta = {"name": meta["name"]}
        if meta.get("namespace"):
            view_meta["namespace"] = meta["namespace"]
        view_meta.update({"uid": meta.get("uid"), "resourceVersion": meta.get("resourceVersion"),
                          "creationTimestamp": meta.get("creationTimestamp")})
        status = {"replicas": status_r or 0}
        if sel:
            status["selector"] = sel
        return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": view_meta,
                "spec": {"replicas": spec_r or 0} if spec_r else {}, "status": status}

    def scale(self, req):
        kind_obj, cl = req.kind, req.cl
        st = cl.get(kind_obj, req.ns, req.name)
        if st is None:
            raise not_found(kind_obj, req.name)
        current = self.scale_view(kind_obj, st.obj)
        if req.verb == "get":
            return Answer(200, current)
        if req.verb == "update":
            new = decode_body(req)
            if not isinstance(new, dict):
                raise bad_request("the body must be a Scale object")
            if new.get("kind") not in (None, "Scale"):
                raise bad_request(f"the kind in the data ({new.get('kind')}) does not match the "
                                  "expected kind (Scale)")
        else:
            ct = req.content_type
            if ct not in PATCH_TYPES[:3]:
                raise KubeError(415, "UnsupportedMediaType", "the body of the request was in "
                                "an unknown format")
            new = self.patched(req, current, ct)
        rv = (new.get("metadata") or {}).get("resourceVersion")
        if rv and rv != st.obj["metadata"]["resourceVersion"]:
            raise conflict(kind_obj, req.name)
        replicas = (new.get("spec") or {}).get("replicas", 0)
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise KubeError(422, "Invalid", f'Scale.autoscaling "{req.name}" is invalid: '
                            f'spec.replicas: Invalid value: {go_repr(replicas)}: must be greater '
                            f'than or equal to 0', {"name": req.name, "group": "autoscaling",
                                                    "kind": "Scale", "causes": [{
                                                        "reason": "FieldValueInvalid",
                                                        "message": "Invalid value: must be "
                                                        "greater than or equal to 0",
                                                        "field": "spec.replicas"}]})
        obj = copy.deepcopy(st.obj)
        set_dotted(obj, self.scale_paths(kind_obj)[0], replicas)
        ans = self.write(req, obj, st, subresource="scale")
        new_st = cl.get(kind_obj, req.ns, req.name)
        if req.dry or new_st is None:
            return Answer(ans.status, self.scale_view(kind_obj, json.loads(ans.body)))
        return Answer(ans.status, self.scale_view(kind_obj, new_st.obj))

    # -- reviews --

    def review(self, req):
        obj = decode_body(req, req.kind)
        if not isinstance(obj, dict):
            raise bad_request("the body must be an object")
        user = req.user or {}
        if req.kind.kind == "SelfSubjectReview":
            return Answer(201, {"kind": "SelfSubjectReview",
                                "apiVersion": "authentication.k8s.io/v1",
                                "metadata": {"creationTimestamp": None},
                                "status": {"userInfo": {"username": user.get("user"),
                                                        "groups": user.get("groups") or []}}})
        spec = obj.get("spec") or {}
        attrs = spec.get("resourceAttributes")
        if not isinstance(attrs, dict):
            if isinstance(spec.get("nonResourceAttributes"), dict):
                return Answer(201, dict(obj, metadata={"creationTimestamp": None},
                                        status={"allowed": True}))
            raise KubeError(422, "Invalid", 'SelfSubjectAccessReview.authorization.k8s.io "" '
                            'is invalid: spec.resourceAttributes: Invalid value: "null": '
                            'exactly one of nonResourceAttributes or resourceAttributes must be '
                            'specified', {"group": "authorization.k8s.io",
                                          "kind": "SelfSubjectAccessReview", "causes": []})
        ok = self.allowed(req.cl, user, attrs)
        status = {"allowed": ok}
        if ok:
            status["reason"] = "kubeemu: no deny rule matches"
        else:
            status["denied"] = True  # like RBAC: no reason (kubectl auth can-i prints "no")
        return Answer(201, {"kind": "SelfSubjectAccessReview",
                            "apiVersion": "authorization.k8s.io/v1",
                            "metadata": {"creationTimestamp": None}, "spec": spec,
                            "status": status})

    # -- tables --

    def table(self, req, items, rv, cont, single=False):
        kind_obj = req.kind
        cols, cells = table_columns(kind_obj, self.cloud.now())
        include = req.q("includeObject", "Metadata")
        rows = []
        for st in items:
            o = st.obj
            row = {"cells": cells(o)}
            if include == "Object":
                row["object"] = st.view(kind_obj)
            elif include == "Metadata":
                row["object"] = partial(o)
            rows.append(row)
        meta = {"resourceVersion": rv}
        if cont:
            meta["continue"] = cont
        return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                "columnDefinitions": cols, "rows": rows}


def deep_merge(target, patch):
    """Maps merge, everything else (lists too) is replaced: how apply merges a custom
    resource (its lists are atomic unless its schema says otherwise)."""
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target)
    for k, v in patch.items():
        out[k] = deep_merge(out.get(k), v) if isinstance(v, dict) else copy.deepcopy(v)
    return out


def dotted(obj, path):
    cur = obj
    for part in path.strip(".").split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def set_dotted(obj, path, value):
    parts = path.strip(".").split(".")
    cur = obj
    for part in parts[:-1]:
        cur = cur.setdefault(part, {})
    cur[parts[-1]] = value


def selector_string(sel):
    parts = [f"{k}={v}" for k, v in sorted((sel.get("matchLabels") or {}).items())]
    for e in sel.get("matchExpressions") or []:
        op = e.get("operator")
        if op in ("In", "NotIn"):
            parts.append(f"{e.get('key')} {op.lower()} ({','.join(e.get('values') or [])})")
        elif op == "Exists":
            parts.append(e.get("key"))
        elif op == "DoesNotExist":
            parts.append("!" + e.get("key"))
    return ",".join(parts)


def partial(obj):
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj["metadata"]}


def forbidden(kind_obj, verb, resource, ns, name, user):
    where = f'in the namespace "{ns}"' if ns else "at the cluster scope"
    subject = f'{qualified(kind_obj)} "{name}"' if name else qualified(kind_obj)
    msg = (f'{subject} is forbidden: User "{user}" cannot {verb} resource "{resource}" in API '
           f'group "{kind_obj.group}" {where}')
    return KubeError(403, "Forbidden", msg, details_of(kind_obj, name))


def invalid_options(field, value, kind="CreateOptions", detail=None, reason="unsupported"):
    if reason == "required":
        cause = required(field, detail or "")
    elif detail:
        cause = invalid_value(field, value, detail)
    else:
        cause = unsupported(field, value, ["All"])
    return KubeError(422, "Invalid", f'{kind}.meta.k8s.io "" is invalid: {field}: '
                     f'{cause.message}', {"group": "meta.k8s.io", "kind": kind,
                                          "causes": [cause.view()]})


def table_columns(kind_obj, now):
    """(columnDefinitions, cells(obj)) of the Table a real server gives (a subset)."""
    def col(name, typ="string", fmt="", desc="", priority=0):
        return {"name": name, "type": typ, "format": fmt, "description": desc,
                "priority": priority}

    def age(o):
        ts = parse_rfc3339(o["metadata"].get("creationTimestamp"))
        return human_age(now - ts) if ts else "<unknown>"

    name_col = col("Name", fmt="name", desc="Name must be unique within a namespace.")
    age_col = col("Age", desc="CreationTimestamp is a timestamp representing the server time "
                  "when this object was created.")
    k = kind_obj.kind
    if kind_obj.crd:
        cols, getters = [name_col], [lambda o: o["metadata"]["name"]]
        for c in kind_obj.columns or []:
            cols.append(col(c.get("name", ""), c.get("type", "string"), c.get("format", ""),
                            c.get("description", ""), c.get("priority", 0)))
            path = c.get("jsonPath", "")
            if c.get("type") == "date":
                getters.append(lambda o, p=path: human_age(now - (parse_rfc3339(
                    dotted(o, p)) or now)) if dotted(o, p) else "<unknown>")
            else:
                getters.append(lambda o, p=path: dotted(o, p))
        if not kind_obj.columns:
            cols.append(age_col)
            getters.append(age)
        return cols, lambda o: [g(o) for g in getters]
    if k == "Namespace":
        return [name_col, col("Status"), age_col], lambda o: [
            o["metadata"]["name"], (o.get("status") or {}).get("phase", ""), age(o)]
    if k == "ConfigMap":
        return [name_col, col("Data", "integer"), age_col], lambda o: [
            o["metadata"]["name"], len(o.get("data") or {}) + len(o.get("binaryData") or {}),
            age(o)]
    if k == "Secret":
        return [name_col, col("Type"), col("Data", "integer"), age_col], lambda o: [
            o["metadata"]["name"], o.get("type", ""), len(o.get("data") or {}), age(o)]
    if k == "Service":
        def ports(o):
            out = []
            for p in (o.get("spec") or {}).get("ports") or []:
                s = str(p.get("port"))
                if p.get("nodePort"):
                    s += f":{p['nodePort']}"
                out.append(f"{s}/{p.get('protocol', 'TCP')}")
            return ",".join(out) or "<none>"
        return [name_col, col("Type"), col("Cluster-IP"), col("External-IP"), col("Port(s)"),
                age_col], lambda o: [
            o["metadata"]["name"], (o.get("spec") or {}).get("type", ""),
            (o.get("spec") or {}).get("clusterIP", "<none>") or "<none>",
            "<none>" if (o.get("spec") or {}).get("type") != "LoadBalancer" else "<pending>",
            ports(o), age(o)]
    if k in ("Deployment", "StatefulSet", "ReplicaSet"):
        def ready(o):
            s, st = o.get("spec") or {}, o.get("status") or {}
            return f"{st.get('readyReplicas', 0)}/{s.get('replicas', 0)}"
        if k == "Deployment":
            return [name_col, col("Ready"), col("Up-to-date", "integer"),
                    col("Available", "integer"), age_col], lambda o: [
                o["metadata"]["name"], ready(o), (o.get("status") or {}).get(
                    "updatedReplicas", 0), (o.get("status") or {}).get("availableReplicas", 0),
                age(o)]
        return [name_col, col("Ready"), age_col], lambda o: [o["metadata"]["name"], ready(o),
                                                             age(o)]
    if k == "Pod":
        return [name_col, col("Ready"), col("Status"), col("Restarts"), age_col], lambda o: [
            o["metadata"]["name"], f"0/{len((o.get('spec') or {}).get('containers') or [])}",
            (o.get("status") or {}).get("phase", ""), "0", age(o)]
    if k == "CustomResourceDefinition":
        return [name_col, col("Created At", "date")], lambda o: [
            o["metadata"]["name"], o["metadata"].get("creationTimestamp")]
    return [name_col, age_col], lambda o: [o["metadata"]["name"], age(o)]


# ---- the cloud: every cluster, the clock, faults, the request log --------------------------


class KubeFault(emucore.Fault):
    """An emucore fault for Kubernetes requests. "operation" is a verb ("get", "list",
    "watch", "create", "update", "patch", "delete", "deletecollection", "discovery") or
    "*"; "resource" (a plural, or "group/plural"), "path" (a prefix of the URL path),
    "method", "namespace" narrow it; "cluster" names the cluster; "retry_after" (seconds)
    goes into Retry-After on a 429."""

    OPERATION_HELP = 'a verb ("get", "list", "watch", "create", "update", "patch", "delete", ' \
                     '"deletecollection", "discovery") or "*"'

    def check_more(self, spec):
        self.resource = spec.get("resource")
        self.path = spec.get("path")
        self.method = spec.get("method")
        self.namespace = spec.get("namespace")
        self.retry_after = spec.get("retry_after")
        for key in ("resource", "path", "method", "namespace"):
            if spec.get(key) is not None and not isinstance(spec[key], str):
                raise emucore.SpecError(f'"{key}" must be a string')
        if self.retry_after is not None and (not isinstance(self.retry_after, int)
                                             or self.retry_after < 0):
            raise emucore.SpecError('"retry_after" must be a non-negative integer')

    def hits(self, cluster, req):
        if self.cluster is not None and self.cluster != cluster:
            return False
        verb = req.verb or ("discovery" if req.path.startswith(("/api", "/apis")) else None)
        if self.operation != "*" and self.operation != verb:
            return False
        if self.method and self.method.upper() != req.method:
            return False
        if self.path and not req.path.startswith(self.path):
            return False
        if self.namespace and self.namespace != req.ns:
            return False
        if self.resource:
            group, _, resource = self.resource.rpartition("/")
            if resource != req.resource or ("/" in self.resource and group != (
                    req.group or "")):
                return False
        return True

    def view(self):
        return {**super().view(), "resource": self.resource, "path": self.path,
                "method": self.method, "namespace": self.namespace,
                "retry_after": self.retry_after}


FAULT_REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                 405: "MethodNotAllowed", 409: "Conflict", 410: "Expired", 422: "Invalid",
                 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
                 504: "Timeout"}


class Cloud(emucore.Cloud):
    """Every cluster, with the clock, faults and request log of emucore.Cloud."""

    def __init__(self, opts, specs, ca_pem):
        self.opts = opts
        self.specs = specs  # [(name, port, token)]
        self.ca_pem = ca_pem
        self.clusters = collections.OrderedDict()
        self.cond = None
        super().__init__(0)

    def reset(self):
        with self.lock:
            self._reset()

    def _reset(self):
        super().reset()
        if self.cond is None:
            self.cond = threading.Condition(self.lock)
        self.settings = {"crd_establish_seconds": self.opts.crd_establish_seconds,
                         "namespace_delete_seconds": self.opts.namespace_delete_seconds,
                         "bookmark_seconds": self.opts.bookmark_seconds}
        self.log_seq = itertools_count()
        if not self.clusters:
            for name, port, token in self.specs:
                self.clusters[name] = Cluster(self, name, port, token)
        else:
            for cl in self.clusters.values():
                cl.reset()
        self.cond.notify_all()

    def cluster(self, name):
        cl = self.clusters.get(name)
        if cl is None:
            raise KubeError(404, "NotFound", f'no cluster "{name}" (clusters: '
                            f'{", ".join(self.clusters)})')
        return cl

    def take_kube_fault(self, cluster, req):
        for f in self.faults:
            if f.hits(cluster, req):
                if f.count > 0:
                    f.count -= 1
                    if f.count == 0:
                        self.faults.remove(f)
                return f
        return None

    def log(self, entry):
        with self.lock:
            entry["seq"] = next(self.log_seq)
            self.calls.append(entry)
            if len(self.calls) > self.opts.max_log:
                del self.calls[:len(self.calls) - self.opts.max_log]


def itertools_count():
    return itertools.count(1)


class Handler(emucore.Handler):
    server_version = "kubeemu/1"
    fault_class = KubeFault
    admin_errors = (KubeError,)
    max_body = MAX_BODY

    def begin_request(self):
        super().begin_request()
        self.started = time.monotonic()

    # -- replies --

    def reply(self, status, body, headers=(), content_type=JSON_CT):
        data = body if isinstance(body, bytes) else dumps(body)
        self.send(status, data, content_type,
                  [("Audit-Id", self.request_id), ("Cache-Control", "no-cache, private"),
                   *headers])

    def kube_error(self, e):
        self.reply(e.code, e.status(), headers=e.headers)

    def refuse_body(self, e):
        reason = "RequestEntityTooLarge" if e.status == 413 else "BadRequest"
        self.kube_error(KubeError(e.status, reason, e.message))

    @staticmethod
    def bad_body(message):
        return KubeError(400, "BadRequest", message)

    @staticmethod
    def bad_value(message):
        return KubeError(400, "BadRequest", message)

    def admin_error(self, e):
        self.kube_error(e)

    def admin_missing(self, status, message):
        self.kube_error(KubeError(status, "MethodNotAllowed" if status == 405 else "NotFound",
                                  message))

    # -- dispatch --

    def dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        raw_path, raw_query = url.path, url.query
        try:
            raw = self.read_request_body()
        except emucore.BodyError as e:
            return self.refuse_body(e)
        if raw_path == "/admin" or raw_path.startswith("/admin/"):
            return self.dispatch_admin(raw_path, raw_query, raw)
        return self.dispatch_cloud(raw_path, raw_query, raw)

    def read_request_body(self):
        """The body, with Content-Length or chunked transfer encoding."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip() or b"0", 16)
                except ValueError:
                    self.close_connection = True
                    raise emucore.BodyError(400, "bad chunked encoding")
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(16)
                if len(out) > self.max_body:
                    self.close_connection = True
                    raise emucore.BodyError(413, "the request body is too large")
        return emucore.read_body(self, self.max_body)

    def dispatch_cloud(self, raw_path, raw_query, raw):
        name = self.server.cluster
        if name is None:
            return self.kube_error(KubeError(404, "NotFound", "this is the admin port: use a "
                                             "cluster's port for the Kubernetes API", {}))
        self.kube(name, raw_path, raw_query, raw)

    def peer_user(self):
        """The user of a verified TLS client certificate, or None."""
        getpeercert = getattr(self.connection, "getpeercert", None)
        if getpeercert is None:
            return None
        try:
            cert = getpeercert()
        except (ValueError, OSError):
            return None
        if not cert:
            return None
        cn, groups = None, []
        for rdn in cert.get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    cn = v
                elif k == "organizationName":
                    groups.append(v)
        return {"user": cn, "groups": groups + ["system:authenticated"], "token": None,
                "via": "x509"} if cn else None

    def authenticate(self, cl):
        auth = self.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            token = auth[7:].strip()
            info = cl.tokens.get(token)
            if info is not None:
                return dict(info, token=token, via="token")
            return None
        return self.peer_user()

    def kube(self, name, raw_path, raw_query, raw):
        cloud = self.server.cloud
        ex = self.server.executor
        query = urllib.parse.parse_qs(raw_query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in self.headers.items()}
        entry = {"time": None, "cluster": name, "method": self.command, "path": raw_path,
                 "query": raw_query, "userAgent": headers.get("user-agent"),
                 "status": None, "user": None}

        def log(status, req=None):
            entry["status"] = status
            if req is not None:
                entry.update(req.log_fields())
            entry["time"] = cloud.now()
            entry["ms"] = round((time.monotonic() - self.started) * 1000, 2)
            cloud.log(entry)

        if raw_path in ("/version", "/version/"):
            log(200)
            return self.reply(200, self.version_info())
        if raw_path in ("/healthz", "/livez", "/readyz"):
            log(200)
            return self.reply(200, b"ok", content_type="text/plain; charset=utf-8")
        with cloud.lock:
            cloud.settle()
            cl = cloud.clusters[name]
            req = Req(cl, self.command, raw_path, query, raw, headers, None)
            disc, route_err = None, None
            try:
                disc = ex.route(req)
            except KubeError as e:
                route_err = e
            fault = cloud.take_kube_fault(name, req)
        if self.play_fault(fault, lambda st: log(st, req),
                           b'{"kind":"Status","apiVersion":"v1","metadata":{},"stat'):
            return
        if fault is not None and fault.status is not None:
            log(fault.status, req)
            code = fault.status
            hdrs = []
            details = {}
            if code == 429:
                ra = fault.retry_after if fault.retry_after is not None else 1
                hdrs.append(("Retry-After", str(ra)))
                details = {"causes": [{"reason": "UnexpectedServerResponse",
                                       "message": "Too many requests, please try again later."}],
                           "retryAfterSeconds": ra}
            msg = fault.message or {
                429: "Too many requests, please try again later.",
                500: "Internal error occurred: injected fault",
                503: "the server is currently unable to handle the request",
                504: "the server was unable to return a response in the time allotted, but "
                     "may still be processing the request"}.get(
                code, f"injected fault: HTTP {code}")
            return self.kube_error(KubeError(code, fault.code or FAULT_REASONS.get(
                code, "Unknown"), msg, details, hdrs))
        user = self.authenticate(cl)
        if user is None:
            log(401, req)
            return self.kube_error(KubeError(401, "Unauthorized", "Unauthorized"))
        entry["user"] = user.get("user")
        req.user = user
        if route_err is not None:
            log(route_err.code, req)
            return self.kube_error(route_err)
        if disc is not None:
            log(disc.status, req)
            return self.reply(disc.status, disc.body)
        if req.verb == "watch":
            return self.watch(req, log)
        try:
            with cloud.lock:
                cloud.settle()
                ex.authorize(req)
                ans = ex.run_verb(req)
        except KubeError as e:
            log(e.code, req)
            return self.kube_error(e)
        except Exception as e:  # an emulator bug: say so, as a Status, and keep serving
            traceback.print_exc(file=sys.stderr)
            log(500, req)
            return self.kube_error(KubeError(500, "InternalError",
                                             f"Internal error occurred: kubeemu: {e!r}"))
        log(ans.status, req)
        hdrs = ans.headers + [("Warning", w) for w in req.warnings]
        self.reply(ans.status, ans.body, headers=hdrs, content_type=ans.content_type)

    def version_info(self):
        v = self.server.opts.kube_version
        major, minor = v.split(".")[:2]
        return {"major": major, "minor": minor, "emulationMajor": major,
                "emulationMinor": minor, "gitVersion": f"v{v}",
                "gitCommit": "0000000000000000000000000000000000000000",
                "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z",
                "goVersion": "go1.23.0", "compiler": "gc", "platform": "linux/amd64"}

    # -- watch --

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def client_gone(self):
        """Whether the watching client closed its connection. (An HTTP/1.1 client sends
        nothing while it waits for the stream; on a TLS socket MSG_PEEK is refused, so
        anything readable counts as gone.)"""
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if r:
                pending = self.connection.recv(1, socket.MSG_PEEK)
                return pending == b""
        except (OSError, ValueError, ssl.SSLError):
            return True
        return False

    def watch(self, req, log):
        cloud, ex = self.server.cloud, self.server.executor
        cl, kind_obj = req.cl, req.kind
        try:
            with cloud.lock:
                cloud.settle()
                ex.authorize(req)
                labels, fields = ex.selectors(req)
                if req.name:
                    fields = fields + [(lambda o: o["metadata"].get("name"), "=", req.name)]
                form = wanted_form(req)
                rv_param = req.q("resourceVersion", "")
                bookmarks = truthy(req.q("allowWatchBookmarks", ""))
                initial_flag = req.q("sendInitialEvents")
                try:
                    timeout = float(req.q("timeoutSeconds") or WATCH_MAX_SECONDS)
                except ValueError:
                    raise bad_request("timeoutSeconds: must be a number")
                timeout = min(max(timeout, 0), WATCH_MAX_SECONDS)
                initial, events, err = [], [], None
                send_initial = truthy(initial_flag or "")
                if send_initial and (not bookmarks or req.q(
                        "resourceVersionMatch") != "NotOlderThan"):
                    raise invalid_options("sendInitialEvents", initial_flag, kind="ListOptions",
                                          detail="sendInitialEvents is forbidden for watch "
                                          "unless the WatchList feature gate is enabled and "
                                          "allowWatchBookmarks is set and resourceVersionMatch "
                                          "is NotOlderThan")
                if send_initial or rv_param in ("", "0"):
                    store = cl.stores.get(kind_obj.gr)
                    if store is not None:
                        lo, hi = store.range(req.ns or "")
                        for key in store.keys[lo:hi]:
                            st = store.objs[key]
                            if self.matches(st.obj, labels, fields):
                                initial.append(st)
                    last = cl.rv
                else:
                    try:
                        last = int(rv_param)
                    except ValueError:
                        raise bad_request(f'resourceVersion: Invalid value: "{rv_param}": '
                                          'must be an integer')
                    events = cl.events_since(last)
                    if events is None:
                        err = gone(f"too old resource version: {last} ({cl.compacted + 1})")
                        events = []
        except KubeError as e:
            log(e.code, req)
            return self.kube_error(e)
        log(200, req)
        self.send_response(200)
        self.send_header("Content-Type", JSON_CT)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Audit-Id", self.request_id)
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        deadline = time.monotonic() + timeout
        epoch = cl.epoch
        try:
            if err is not None:
                self.chunk(b'{"type":"ERROR","object":' + dumps(err.status()) + b"}\n")
                return self.end_chunks()
            for st in initial:
                self.send_event("ADDED", st, req, form)
            if send_initial:
                self.chunk(dumps({"type": "BOOKMARK", "object": {
                    "kind": kind_obj.kind, "apiVersion": kind_obj.api_version,
                    "metadata": {"resourceVersion": str(last), "annotations": {
                        "k8s.io/initial-events-end": "true"}}}}) + b"\n")
            last_bookmark = time.monotonic()
            while True:
                for ev in events:
                    last = max(last, ev.rv)
                    if ev.gr != kind_obj.gr or (req.ns and ev.ns != req.ns):
                        continue
                    now_match = self.matches(ev.stored.obj, labels, fields)
                    if ev.type == "DELETED":
                        if now_match:
                            self.send_event("DELETED", ev.stored, req, form)
                        continue
                    was = ev.prev is not None and self.matches(ev.prev.obj, labels, fields)
                    if ev.type == "ADDED" or not was:
                        if now_match:
                            self.send_event("ADDED", ev.stored, req, form)
                    elif now_match:
                        self.send_event("MODIFIED", ev.stored, req, form)
                    else:
                        self.send_event("DELETED", ev.stored, req, form)
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                interval = cloud.settings["bookmark_seconds"]
                if bookmarks and time.monotonic() - last_bookmark >= interval:
                    self.chunk(dumps({"type": "BOOKMARK", "object": {
                        "kind": kind_obj.kind, "apiVersion": kind_obj.api_version,
                        "metadata": {"resourceVersion": str(last)}}}) + b"\n")
                    last_bookmark = time.monotonic()
                if self.client_gone() or self.server.stopping:
                    self.close_connection = True
                    return
                if cl.epoch != epoch:  # the cluster was reset under this watch
                    break
                with cloud.lock:
                    events = cl.events_since(last)
                    if events == []:
                        cloud.cond.wait(timeout=min(left, 0.5, interval if bookmarks else 0.5))
                        events = cl.events_since(last)
                    if events is None:
                        err = gone(f"too old resource version: {last} ({cl.compacted + 1})")
                if err is not None:
                    self.chunk(b'{"type":"ERROR","object":' + dumps(err.status()) + b"}\n")
                    break
            self.end_chunks()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    def end_chunks(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    @staticmethod
    def matches(obj, labels, fields):
        if labels and not labels_match(labels, obj["metadata"].get("labels")):
            return False
        if fields and not fields_match(fields, obj):
            return False
        return True

    def send_event(self, etype, st, req, form):
        if form == "table":
            t = self.server.executor.table(req, [st], st.obj["metadata"]["resourceVersion"],
                                           None)
            data = dumps({"type": etype, "object": t})
        elif form == "partial":
            data = dumps({"type": etype, "object": partial(st.obj)})
        else:
            data = b'{"type":"' + etype.encode() + b'","object":' + st.full(req.kind) + b"}"
        self.chunk(data + b"\n")

    # -- admin --

    def run_admin(self, fn, cloud, **kwargs):
        try:
            return fn(cloud, **kwargs)
        except KubeError:
            raise
        except emucore.SpecError as e:
            raise KubeError(400, "BadRequest", str(e))

    @admin_route("GET", r"/admin/clusters")
    def admin_clusters(self, cloud, **_):
        with cloud.lock:
            return 200, {"clusters": [self.cluster_view(cl) for cl in cloud.clusters.values()]}

    def cluster_view(self, cl):
        return {"name": cl.name, "port": cl.port, "url": cl.url, "token": cl.default_token,
                "resourceVersion": str(cl.rv), "compacted": str(cl.compacted),
                "objects": sum(len(s.objs) for s in cl.stores.values()),
                "crds": sorted({k.crd for k in cl.custom.values()}),
                "settings": dict(self.server.cloud.settings)}

    @admin_route("GET", r"/admin/clusters/(?P<name>[^/]+)")
    def admin_cluster(self, cloud, name, **_):
        with cloud.lock:
            cloud.settle()
            return 200, self.cluster_view(cloud.cluster(name))

    @admin_route("POST", r"/admin/clusters/(?P<name>[^/]+)/reset")
    def admin_cluster_reset(self, cloud, name, **_):
        with cloud.lock:
            cl = cloud.cluster(name)
            cl.reset()
            cloud.faults = [f for f in cloud.faults if f.cluster != name]
            cloud.calls = [c for c in cloud.calls if c.get("cluster") != name]
            cloud.cond.notify_all()
            return 200, self.cluster_view(cl)

    @admin_route("GET", r"/admin/clusters/(?P<name>[^/]+)/tokens")
    def admin_tokens(self, cloud, name, **_):
        with cloud.lock:
            cl = cloud.cluster(name)
            return 200, {"tokens": [dict(v, token=k) for k, v in cl.tokens.items()]}

    @admin_route("POST", r"/admin/clusters/(?P<name>[^/]+)/tokens")
    def admin_add_token(self, cloud, name, body, **_):
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise self.bad_value('"token" must be a non-empty string')
        user = body.get("user", "kubeemu-user")
        groups = body.get("groups", ["system:authenticated"])
        if not isinstance(user, str) or not isinstance(groups, list):
            raise self.bad_value('"user" must be a string and "groups" a list of strings')
        with cloud.lock:
            cl = cloud.cluster(name)
            if body.get("replace"):
                cl.tokens = {}
            cl.tokens[token] = {"user": user, "groups": groups}
            return 201, {"tokens": [dict(v, token=k) for k, v in cl.tokens.items()]}

    @admin_route("DELETE", r"/admin/clusters/(?P<name>[^/]+)/tokens/(?P<token>[^/]+)")
    def admin_delete_token(self, cloud, name, token, **_):
        with cloud.lock:
            cl = cloud.cluster(name)
            if cl.tokens.pop(token, None) is None:
                raise KubeError(404, "NotFound", "no such token")
            return 200, {"tokens": [dict(v, token=k) for k, v in cl.tokens.items()]}

    @admin_route("GET", r"/admin/clusters/(?P<name>[^/]+)/deny")
    def admin_deny_list(self, cloud, name, **_):
        with cloud.lock:
            return 200, {"rules": copy.deepcopy(cloud.cluster(name).deny)}

    @admin_route("POST", r"/admin/clusters/(?P<name>[^/]+)/deny")
    def admin_deny(self, cloud, name, body, **_):
        rule = {"verb": body.get("verb", "*"), "resource": body.get("resource", "*"),
                "group": body.get("group", "*"), "namespace": body.get("namespace"),
                "name": body.get("name"), "token": body.get("token"), "user": body.get("user")}
        for k, v in rule.items():
            if v is not None and not isinstance(v, str):
                raise self.bad_value(f'"{k}" must be a string')
        with cloud.lock:
            cl = cloud.cluster(name)
            rule["id"] = next(cloud.fault_ids)
            cl.deny.append(rule)
            return 201, rule

    @admin_route("DELETE", r"/admin/clusters/(?P<name>[^/]+)/deny")
    def admin_deny_clear(self, cloud, name, **_):
        with cloud.lock:
            cloud.cluster(name).deny = []
            return 200, {"rules": []}

    @admin_route("GET", r"/admin/clusters/(?P<name>[^/]+)/requests")
    def admin_requests(self, cloud, name, query, **_):
        with cloud.lock:
            cloud.cluster(name)
            calls = [dict(c) for c in cloud.calls if c.get("cluster") == name]
        since = query.get("since", [None])[0]
        if since:
            calls = [c for c in calls if c["seq"] > int(since)]
        return 200, {"requests": calls, "total": len(calls),
                     "writes": sum(1 for c in calls if c.get("write"))}

    @admin_route("DELETE", r"/admin/clusters/(?P<name>[^/]+)/requests")
    def admin_requests_clear(self, cloud, name, **_):
        with cloud.lock:
            cloud.cluster(name)
            cloud.calls = [c for c in cloud.calls if c.get("cluster") != name]
            return 200, {"requests": [], "total": 0, "writes": 0}

    @admin_route("GET", r"/admin/clusters/(?P<name>[^/]+)/counters")
    def admin_counters(self, cloud, name, **_):
        with cloud.lock:
            cloud.cluster(name)
            calls = [c for c in cloud.calls if c.get("cluster") == name]
        by_verb = collections.Counter(c.get("verb") or "other" for c in calls)
        by_status = collections.Counter(str(c.get("status")) for c in calls)
        return 200, {"total": len(calls), "writes": sum(1 for c in calls if c.get("write")),
                     "dryRunWrites": sum(1 for c in calls if c.get("dryRun")),
                     "byVerb": dict(by_verb), "byStatus": dict(by_status)}

    @admin_route("POST", r"/admin/clusters/(?P<name>[^/]+)/compact")
    def admin_compact(self, cloud, name, **_):
        with cloud.lock:
            cl = cloud.cluster(name)
            cl.compact()
            cloud.cond.notify_all()
            return 200, {"compacted": str(cl.compacted)}

    def console_req(self, cl, method, path, query=None, body=None, content_type=None):
        raw = body if isinstance(body, bytes) else (dumps(body) if body is not None else b"")
        q = {}
        if isinstance(query, dict):
            q = {k: (v if isinstance(v, list) else [str(v)]) for k, v in query.items()}
        elif isinstance(query, str):
            q = urllib.parse.parse_qs(query, keep_blank_values=True)
        headers = {"content-type": content_type or (
            "application/merge-patch+json" if method == "PATCH" else JSON_CT),
            "user-agent": "kubeemu-console"}
        return Req(cl, method, path, q, raw, headers,
                   {"user": "kubeemu-console", "groups": ["system:masters"], "token": None},
                   console=True)

    @admin_route("POST", r"/admin/clusters/(?P<name>[^/]+)/console")
    def admin_console(self, cloud, name, body, **_):
        """Runs one Kubernetes request as the cluster's console: no token, no deny rules,
        no faults, not in the request log (a user at the cluster, or another tool)."""
        method = (body.get("method") or "GET").upper()
        path = body.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise self.bad_value('"path" must be an API path such as /api/v1/namespaces')
        path, _, qs = path.partition("?")
        query = body.get("query") if body.get("query") is not None else qs
        ex = self.server.executor
        with cloud.lock:
            cloud.settle()
            cl = cloud.cluster(name)
            req = self.console_req(cl, method, path, query, body.get("body"),
                                   body.get("contentType"))
            try:
                found = ex.route(req)
                if req.verb == "watch":
                    raise bad_request("the console does not watch")
                ans = found if found is not None else ex.run_verb(req)
                status, out = ans.status, json.loads(ans.body)
            except KubeError as e:
                status, out = e.code, e.status()
        return 200, {"status": status, "body": out}

    @admin_route("GET", r"/admin/clusters/(?P<name>[^/]+)/objects")
    def admin_objects(self, cloud, name, query, **_):
        group = query.get("group", [""])[0]
        resource = query.get("resource", [None])[0]
        ns = query.get("namespace", [None])[0]
        with cloud.lock:
            cloud.settle()
            cl = cloud.cluster(name)
            out = []
            for gr, store in cl.stores.items():
                if resource is not None and gr != (group, resource):
                    continue
                lo, hi = store.range(ns or "")
                out.extend(store.objs[k].obj for k in store.keys[lo:hi])
            return 200, {"items": copy.deepcopy(out), "resourceVersion": str(cl.rv)}

    @admin_route("POST", r"/admin/clusters/(?P<name>[^/]+)/load")
    def admin_load(self, cloud, name, body, **_):
        """Bulk load: {"items": [objects], "createNamespaces": true, "replace": true} and/or
        {"generate": {"count", "namespaces", "prefix", "kind", "apiVersion", "labels",
        "dataBytes", "template"}}. Objects are created as the console would create them
        (defaults, validation, watch events); a missing namespace is created first."""
        items = body.get("items") or []
        if not isinstance(items, list):
            raise self.bad_value('"items" must be a list of objects')
        gen = body.get("generate")
        if gen is not None:
            items = list(items) + generate_items(gen)
        create_ns = body.get("createNamespaces", True)
        replace = body.get("replace", True)
        ex = self.server.executor
        created = replaced = 0
        errors = []
        t0 = time.monotonic()
        with cloud.lock:
            cloud.settle()
            cl = cloud.cluster(name)
            ns_kind = BUILTIN_BY_GVR[("", "v1", "namespaces")]
            for i, obj in enumerate(items):
                try:
                    if not isinstance(obj, dict):
                        raise bad_request("an item must be an object")
                    group, _, version = (obj.get("apiVersion") or "").rpartition("/")
                    kind_obj = cl.kind_by_gvk(group, version, obj.get("kind"))
                    if kind_obj is None:
                        raise bad_request(f'no kind "{obj.get("kind")}" is registered for '
                                          f'version "{obj.get("apiVersion")}"')
                    meta = obj.setdefault("metadata", {})
                    ns = None
                    if kind_obj.namespaced:
                        ns = meta.get("namespace") or "default"
                        meta["namespace"] = ns
                        if create_ns and cl.namespace_state(ns) is None:
                            nreq = self.console_req(cl, "POST", "/api/v1/namespaces")
                            nreq.kind, nreq.verb = ns_kind, "create"
                            ex.write(nreq, {"apiVersion": "v1", "kind": "Namespace",
                                            "metadata": {"name": ns}}, None)
                    req = self.console_req(cl, "POST", "")
                    req.kind, req.ns, req.name = kind_obj, ns, meta.get("name")
                    st = cl.get(kind_obj, ns, meta.get("name")) if meta.get("name") else None
                    if st is not None:
                        if not replace:
                            raise already_exists(kind_obj, meta["name"])
                        req.verb = "update"
                        meta.pop("resourceVersion", None)
                        ex.write(req, obj, st)
                        replaced += 1
                    else:
                        req.verb = "create"
                        if ns is not None and cl.namespace_state(ns) is None:
                            raise namespace_not_found(ns)
                        meta.pop("resourceVersion", None)
                        ex.write(req, obj, None)
                        created += 1
                except KubeError as e:
                    errors.append({"index": i, "code": e.code, "reason": e.reason,
                                   "message": e.message})
            return 200, {"created": created, "replaced": replaced, "errors": errors[:100],
                         "failed": len(errors), "resourceVersion": str(cl.rv),
                         "seconds": round(time.monotonic() - t0, 3)}

    @admin_route("GET", r"/admin/settings")
    def admin_settings(self, cloud, **_):
        with cloud.lock:
            return 200, dict(cloud.settings)

    @admin_route("POST", r"/admin/settings")
    def admin_set(self, cloud, body, **_):
        with cloud.lock:
            for k, v in body.items():
                if k not in cloud.settings:
                    raise self.bad_value(f'unknown setting "{k}" (settings: '
                                         f'{", ".join(cloud.settings)})')
                if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                    raise self.bad_value(f'"{k}" must be a non-negative number of seconds')
                cloud.settings[k] = v
            return 200, dict(cloud.settings)

    @admin_route("POST", r"/admin/fail-next")
    def admin_fail_next(self, cloud, **_):
        raise KubeError(400, "BadRequest", "kubeemu has no fail-next list: use /admin/faults")

    @admin_route("POST", r"/admin/reset")
    def admin_reset(self, cloud, **_):
        with cloud.lock:
            cloud.reset()
            return 200, {"reset": True}


Handler.admin_routes = emucore.admin_routes_of(Handler)


def generate_items(gen):
    """The objects of a "generate" bulk load (benchmarks)."""
    if not isinstance(gen, dict):
        raise KubeError(400, "BadRequest", '"generate" must be an object')
    count = gen.get("count", 0)
    if not isinstance(count, int) or count < 0 or count > 1_000_000:
        raise KubeError(400, "BadRequest", '"count" must be 0..1000000')
    namespaces = gen.get("namespaces") or ["default"]
    if isinstance(namespaces, int):
        namespaces = [f"{gen.get('namespacePrefix', 'bench')}-{i}" for i in range(namespaces)]
    prefix = gen.get("prefix", "obj")
    labels = gen.get("labels") or {}
    data_bytes = int(gen.get("dataBytes", 64))
    template = gen.get("template") or {
        "apiVersion": gen.get("apiVersion", "v1"), "kind": gen.get("kind", "ConfigMap"),
        "metadata": {}, "data": {"payload": "x" * data_bytes}}
    out = []
    width = max(5, len(str(count)))
    for i in range(count):
        o = copy.deepcopy(template)
        meta = o.setdefault("metadata", {})
        meta["name"] = f"{prefix}-{i:0{width}d}"
        meta["namespace"] = namespaces[i % len(namespaces)]
        if labels or gen.get("indexLabel"):
            meta["labels"] = dict(labels, **({"index": str(i)} if gen.get("indexLabel") else {}))
        out.append(o)
    return out


# ---- servers ------------------------------------------------------------------------------


class KubeServer(emucore.Server):
    """One cluster's port (or, with cluster None, the admin port)."""
    stopping = False
    ssl_ctx = None

    def finish_request(self, request, client_address):
        if self.ssl_ctx is None:
            return super().finish_request(request, client_address)
        try:
            request.settimeout(10)
            conn = self.ssl_ctx.wrap_socket(request, server_side=True)
            conn.settimeout(None)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            try:
                conn.close()
            except OSError:
                pass


def make_tls():
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate
    (CN=kubeemu-admin, O=system:masters), all PEM, made with `cryptography`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    later = now + datetime.timedelta(days=3650)

    def key():
        return ec.generate_private_key(ec.SECP256R1())

    def pem_key(k):
        return k.private_bytes(serialization.Encoding.PEM,
                               serialization.PrivateFormat.TraditionalOpenSSL,
                               serialization.NoEncryption()).decode()

    def name(cn, org=None):
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
        if org:
            attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
        return x509.Name(attrs)

    ca_key = key()
    ca = (x509.CertificateBuilder().subject_name(name("kubeemu-ca")).issuer_name(
        name("kubeemu-ca")).public_key(ca_key.public_key()).serial_number(
        x509.random_serial_number()).not_valid_before(now).not_valid_after(later)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                     crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False,
                                     decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256()))

    def leaf(cn, org, eku, san=None):
        k = key()
        b = (x509.CertificateBuilder().subject_name(name(cn, org)).issuer_name(ca.subject)
             .public_key(k.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now).not_valid_after(later)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 ca_key.public_key()), critical=False))
        if san:
            b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = b.sign(ca_key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM).decode(), pem_key(k)

    server_cert, server_key = leaf("kube-apiserver", None, ExtendedKeyUsageOID.SERVER_AUTH, [
        x509.DNSName("localhost"), x509.DNSName("kubernetes"),
        x509.DNSName("kubernetes.default.svc"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    client_cert, client_key = leaf("kubeemu-admin", "system:masters",
                                   ExtendedKeyUsageOID.CLIENT_AUTH)
    return {"ca": ca.public_bytes(serialization.Encoding.PEM).decode(),
            "serverCert": server_cert, "serverKey": server_key,
            "clientCert": client_cert, "clientKey": client_key}


def ssl_context(tls):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    fd, path = tempfile.mkstemp(prefix="kubeemu-", suffix=".pem")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(tls["serverCert"] + tls["serverKey"])
        ctx.load_cert_chain(path)
    finally:
        os.unlink(path)
    ctx.load_verify_locations(cadata=tls["ca"])
    ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def parse_clusters(opts):
    specs, seen = [], set()
    names = [n.strip() for n in (opts.clusters or "").split(",") if n.strip()]
    entries = [(n, 0) for n in names]
    for item in opts.cluster or []:
        n, _, p = item.partition("=")
        try:
            entries.append((n.strip(), int(p or 0)))
        except ValueError:
            raise SystemExit(f"kubeemu: --cluster wants NAME=PORT, got {item!r}")
    if not entries:
        entries = [("default", 0)]
    tokens = {}
    for item in opts.token or []:
        n, _, t = item.partition("=")
        if not t:
            raise SystemExit(f"kubeemu: --token wants NAME=TOKEN, got {item!r}")
        tokens[n.strip()] = t
    for n, p in entries:
        if not re.fullmatch(r"[A-Za-z0-9][-A-Za-z0-9_.]*", n) or n in seen:
            raise SystemExit(f"kubeemu: bad or repeated cluster name {n!r}")
        seen.add(n)
        specs.append((n, p, tokens.get(n, f"token-{n}")))
    for n in tokens:
        if n not in seen:
            raise SystemExit(f"kubeemu: --token names an unknown cluster {n!r}")
    return specs


def main(argv=None):
    ap = argparse.ArgumentParser(description="hcr's Kubernetes API server emulator "
                                             "(see docs/kubeemu.md)")
    ap.add_argument("--port", type=int, default=0, help="the admin port; 0 picks a free one")
    ap.add_argument("--max-seconds", type=float, default=1800, help="stop after this long")
    ap.add_argument("--clusters", default=None, help="comma-separated cluster names (ports "
                    "picked freely)")
    ap.add_argument("--cluster", action="append", help="NAME=PORT (0: pick a free one); "
                    "repeatable")
    ap.add_argument("--token", action="append", help="NAME=TOKEN: the bearer token of a "
                    "cluster (default token-NAME); repeatable")
    ap.add_argument("--crd-establish-seconds", type=float, default=0.2)
    ap.add_argument("--namespace-delete-seconds", type=float, default=0.0)
    ap.add_argument("--bookmark-seconds", type=float, default=5.0)
    ap.add_argument("--watch-history", type=int, default=200000,
                    help="watch events kept per cluster; older resourceVersions get 410")
    ap.add_argument("--max-log", type=int, default=200000, help="request log entries kept")
    ap.add_argument("--tls", action="store_true", help="serve the clusters over HTTPS with a "
                    "generated CA (needs cryptography)")
    ap.add_argument("--kube-version", default=DEFAULT_KUBE_VERSION)
    ap.add_argument("--verbose", action="store_true", help="log every request to stderr")
    opts = ap.parse_args(argv)
    specs = parse_clusters(opts)
    tls = make_tls() if opts.tls else None
    ctx = ssl_context(tls) if tls else None
    cloud = Cloud(opts, specs, tls["ca"] if tls else FAKE_CA_PEM)
    executor = Executor(cloud)
    admin = KubeServer(("127.0.0.1", opts.port), Handler)
    servers = [admin]
    admin.cluster = None
    announce = {}
    for name, port, token in specs:
        srv = KubeServer(("127.0.0.1", port), Handler)
        srv.cluster = name
        srv.ssl_ctx = ctx
        servers.append(srv)
        real_port = srv.server_address[1]
        cl = cloud.clusters[name]
        cl.port = real_port
        cl.url = f"{'https' if tls else 'http'}://127.0.0.1:{real_port}"
        announce[name] = {"port": real_port, "url": cl.url, "token": token}
        if tls:
            announce[name].update({
                "caData": base64.b64encode(tls["ca"].encode()).decode(),
                "clientCertData": base64.b64encode(tls["clientCert"].encode()).decode(),
                "clientKeyData": base64.b64encode(tls["clientKey"].encode()).decode()})
    for srv in servers:
        srv.opts, srv.cloud, srv.executor = opts, cloud, executor
    with cloud.lock:
        for cl in cloud.clusters.values():
            cl.reset()  # the seeds now know the ports

    def ticker():
        while True:
            time.sleep(0.05)
            try:
                with cloud.lock:
                    cloud.settle()
            except Exception:  # a failing transition must not stop the others
                traceback.print_exc(file=sys.stderr)

    threading.Thread(target=ticker, daemon=True).start()
    for srv in servers[1:]:
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True).start()
    parent, deadline = os.getppid(), time.monotonic() + opts.max_seconds

    def watchdog():
        while time.monotonic() < deadline and os.getppid() == parent:
            time.sleep(0.2)
        for srv in servers:
            srv.stopping = True
        admin.shutdown()

    threading.Thread(target=watchdog, daemon=True).start()
    print(f"listening on 127.0.0.1:{admin.server_address[1]}", flush=True)
    print("clusters " + json.dumps(announce), flush=True)
    try:
        admin.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    for srv in servers:
        srv.stopping = True
        if srv is not admin:
            srv.shutdown()
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
