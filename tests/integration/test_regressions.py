"""The regression scenarios of the sync engine, end to end against all three emulators.

One PostgreSQL, the EKS, AKS and GKE emulators, and ONE `hcr run` configured with all three
endpoints and a credential for each. Every test method is one scenario from the sync engine
issue (Rancher's pain points, /work/shared/research/rancher-sync.md section (d), and
docs/sync/engine.md "Scenarios"); it runs against the three clouds at once, one thread per
cloud, each on its own clusters (`r29023a-eks`, `r29023a-aks`, `r29023a-gke`), and fails with
a message naming every cloud that failed, with hcr's log lines and its view of the clusters.
Each scenario prints how long it took (`[r29023a: 6.0 s]`), and the module its total.

The clouds differ in names and shapes, so each is wrapped in a small adapter (EksCloud,
AksCloud, GkeCloud) with the same methods: import a cluster made "in the console", play a
user at the console (delete or add a pool, upgrade, resize, add a tag, change a field hcr does
not manage, make the cluster look idle or busy), read what the cloud has, and list the write
calls the emulator logged for a cluster, classified as version / size / tags / pool_create /
pool_delete / other.

Assertions are what a user would notice: what the cloud ends with, which write calls were or
were not sent, field states and reasons, and events. Negative assertions ("nothing was
written") are made after hcr demonstrably polled the cluster several more times (counted in
the emulator's call log), not after an arbitrary sleep.

The AKS emulator runs with `--show-changes success`: a GET shows a change once its operation
has succeeded (what EKS and GKE do). That is what lets eks-operator#752 be played on AKS: the
cluster can look idle (`provisioningState: Succeeded`) with the old version while hcr's
operation still runs. Nothing else in these scenarios depends on it: hcr does not observe a
cluster while its own operation runs, and console changes apply to both views.
"""

import datetime
import json
import os
import re
import threading
import time
import traceback
import unittest
from concurrent.futures import ThreadPoolExecutor

from harness import ROOT, EksEmulator, Hcr, Postgres, stop_and_check, wait_for
from test_aks_emulator import CLIENT, SUB, TENANT, AksEmulator
from test_gke_emulator import GkeEmulator

# ---- the three clouds' accounts ------------------------------------------------------------

EKS_REGION = "eu-west-1"
EKS_AKID = "AKIAIOSFODNN7EXAMPLE"
EKS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
EKS_ROLE = "arn:aws:iam::123456789012:role/eks-cluster"
EKS_NODE_ROLE = "arn:aws:iam::123456789012:role/eks-node"
AKS_RG = "rg-regress"
GKE_ZONE = "us-central1-a"
GKE_KEY_FILE = os.path.join(ROOT, "tests", "fixtures", "gke", "service-account.json")

OP_SECONDS = 0.6  # how long every cloud operation runs in the emulators
ENV = {"HCR_EKS_POLL_INTERVAL_S": "1", "HCR_AKS_POLL_INTERVAL_S": "1",
       "HCR_GKE_POLL_INTERVAL_S": "1", "HCR_RECONCILE_OP_POLL_MS": "200"}

T = 25  # seconds to wait for something that should happen (only reached when failing)


def vkey(v):
    """A Kubernetes version as hcr compares it: its leading numbers, missing ones 0
    ("1.30" = "1.30.0" < "1.30.8-gke.1128000")."""
    m = re.match(r"v?(\d+(?:\.\d+)*)", str(v))
    nums = [int(x) for x in m.group(1).split(".")] if m else []
    return tuple((nums + [0, 0, 0])[:3])


def iso_epoch(s):
    """An RFC 3339 time with up to nine fractional digits, as seconds since the epoch."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$", s)
    base = datetime.datetime.fromisoformat(m.group(1)).replace(tzinfo=datetime.timezone.utc)
    frac = float("0." + m.group(2)) if m.group(2) else 0.0
    return base.timestamp() + frac


# ---- hcr's API, as a user would drive it ---------------------------------------------------


class Api:
    def __init__(self, hcr):
        self.hcr = hcr

    def req(self, *a, **kw):
        return self.hcr.request(*a, **kw)

    def cluster(self, name):
        r = self.req("GET", f"/v1/clusters/{name}")
        assert r.status == 200, r
        return r.json

    def field(self, name, path):
        for f in self.cluster(name)["fields"]:
            if f["path"] == path:
                return f
        return None

    def field_state(self, name, path, state):
        f = self.field(name, path)
        return f if f and f["state"] == state else None

    def patch(self, name, body, version=None):
        if version is None:
            version = self.cluster(name)["version"]
        return self.req("PATCH", f"/v1/clusters/{name}/config", body,
                        headers={"If-Match": f'"{version}"'})

    def events(self, name, kind=None):
        r = self.req("GET", f"/v1/events?cluster={name}&limit=1000")
        assert r.status == 200, r
        return [e for e in r.json["items"] if kind is None or e["kind"] == kind]

    def observed(self, name):
        r = self.req("GET", f"/v1/clusters/{name}")
        if r.status == 200 and r.json.get("observed") and r.json["state"] == "active":
            return r.json
        return None

    def forget(self, name):
        self.req("DELETE", f"/v1/clusters/{name}")


# ---- the clouds ----------------------------------------------------------------------------


class Cloud:
    """What every adapter has. Subclasses set the names and implement the console."""

    key = pools_key = pool_name_key = size_key = tags_key = None
    version_new = None  # what a user types to upgrade one minor version

    def __init__(self, api, emu):
        self.api = api
        self.emu = emu
        self.created = []  # clusters registered by the running scenario

    # paths in hcr's document
    def size_path(self, pool):
        return f"{self.pools_key}[{pool}].{self.size_key}"

    def pool_path(self, pool):
        return f"{self.pools_key}[{pool}]"

    def tag_path(self, key):
        return f"{self.tags_key}.{key}"

    def name(self, scenario):
        return f"{scenario}-{self.key}"

    # registration
    def register(self, name, policy):
        raise NotImplementedError

    def import_cluster(self, name, pools=(("poola", 3), ("poolb", 3)), policy="adopt"):
        """Creates the cluster "in the console", registers it as imported (with `policy`)
        and waits until hcr observed it."""
        self.import_clusters([name], pools, [policy])

    def import_clusters(self, names, pools=(("poola", 3), ("poolb", 3)), policies=None):
        """import_cluster for several clusters at once (one policy each)."""
        policies = policies or ["adopt"] * len(names)
        for name, policy in zip(names, policies):
            self.console_create(name, pools)
            r = self.register(name, policy)
            self.created.append(name)
            assert r.status == 201, r
        for name in names:
            wait_for(lambda: self.api.observed(name), timeout=T, what=f"{name} observed")

    def version_old(self, name):
        """The version the cluster runs as hcr observes it."""
        return self.api.cluster(name)["observed"]["kubernetesVersion"]

    # pool lists a user sends back: the effective list with one change
    def effective_pools(self, name):
        return self.api.cluster(name)["effective"][self.pools_key]

    def pools_with_size(self, pools, pool, size):
        pools = json.loads(json.dumps(pools))
        for p in pools:
            if p[self.pool_name_key] == pool:
                p[self.size_key] = size
        return pools

    # what hcr polls
    def observe_calls(self, name):
        raise NotImplementedError

    def wait_polls(self, name, n=2):
        """Waits until hcr read the cluster `n` more times: a negative assertion made after
        this is one hcr had the chance to break."""
        start = self.observe_calls(name)
        wait_for(lambda: self.observe_calls(name) >= start + n, timeout=T,
                 what=f"{n} more polls of {name}")

    def writes(self, name, kind=None, accepted=False):
        """The mutating calls logged for `name`, oldest first, each
        {"kind", "call", "status"}; `accepted` keeps only those the cloud took."""
        out = self.classified_writes(name)
        return [w for w in out if (kind is None or w["kind"] == kind)
                and (not accepted or 200 <= w["status"] < 300)]

    def pool_size_history(self, name, pool, until, timeout=T):
        """Samples the cloud's size of `pool` until `until()` is true; returns the distinct
        values seen, in order (what a user watching the console would have seen)."""
        seen = []
        deadline = time.time() + timeout
        while True:
            v = self.cloud_pool_size(name, pool)
            if not seen or seen[-1] != v:
                seen.append(v)
            if until():
                v = self.cloud_pool_size(name, pool)
                if seen[-1] != v:
                    seen.append(v)
                return seen
            if time.time() > deadline:
                raise AssertionError(f"timed out watching {name}/{pool}; sizes seen: {seen}")
            time.sleep(0.03)


class EksCloud(Cloud):
    key = "eks"
    pools_key, pool_name_key, size_key, tags_key = "nodeGroups", "nodegroupName", \
        "desiredSize", "tags"
    version_new = "1.30"
    unmanaged_field = "launchTemplate (version), owned by Terraform"
    KINDS = {"UpdateClusterVersion": "version", "UpdateNodegroupVersion": "version",
             "UpdateNodegroupConfig": "size", "TagResource": "tags", "UntagResource": "tags",
             "CreateNodegroup": "pool_create", "DeleteNodegroup": "pool_delete",
             "UpdateClusterConfig": "other", "CreateCluster": "other",
             "DeleteCluster": "other"}

    @staticmethod
    def nodegroup(name, size):
        # Made with a launch template (owned by "Terraform"), so no instance types or disk.
        return {"nodegroupName": name, "version": "1.29", "nodeRole": EKS_NODE_ROLE,
                "subnets": ["subnet-a"], "launchTemplate": {"name": f"lt-{name}",
                                                            "version": "1"},
                "scalingConfig": {"minSize": 1, "maxSize": 6, "desiredSize": size},
                "labels": {"role": "web"}}

    def console_create(self, name, pools):
        self.emu.add_cluster(EKS_REGION, {
            "name": name, "version": "1.29", "roleArn": EKS_ROLE,
            "tags": {"team": "payments"},
            "resourcesVpcConfig": {"subnetIds": ["subnet-a", "subnet-b"],
                                   "securityGroupIds": ["sg-1"]}},
            [self.nodegroup(p, s) for p, s in pools])

    def register(self, name, policy):
        return self.api.req("POST", "/v1/clusters", {
            "name": name, "provider": "eks", "imported": True, "region": EKS_REGION,
            "credential": "aws", "policy": policy})

    def new_pool(self, pool, size):
        return {"nodegroupName": pool, "desiredSize": size, "minSize": 1, "maxSize": 3,
                "nodeRole": EKS_NODE_ROLE, "subnets": ["subnet-a"], "instanceType": "t3.large"}

    def _path(self, name, pool=None):
        p = f"/admin/clusters/{EKS_REGION}/{name}"
        return p + (f"/nodegroups/{pool}" if pool else "")

    def _admin(self, method, path, body=None):
        status, out = self.emu.admin(method, path, body)
        assert status < 300, f"eksemu {method} {path}: {status} {out}"
        return out

    # the console
    def console_delete_pool(self, name, pool):
        self._admin("DELETE", self._path(name, pool))

    def console_add_pool(self, name, pool, size):
        self._admin("POST", self._path(name) + "/nodegroups", self.nodegroup(pool, size))

    def console_set_version(self, name, version):
        self._admin("PATCH", self._path(name), {"version": version})

    def console_set_pool_size(self, name, pool, size):
        self._admin("PATCH", self._path(name, pool), {"scalingConfig": {"desiredSize": size}})

    def console_add_tag(self, name, key, value):
        self._admin("PATCH", self._path(name), {"tags": {key: value}})

    def console_set_unmanaged(self, name, pool):
        """Terraform bumps the node group's launch template to version 2."""
        self._admin("PATCH", self._path(name, pool), {"launchTemplate": {"version": "2"}})

    def unmanaged_value(self, name, pool):
        return self.state(name)["nodegroups"][pool]["launchTemplate"]["version"]

    unmanaged_before, unmanaged_after = "1", "2"

    def console_idle_with_old_version(self, name):
        """EKS says ACTIVE (with the old version) while the update is still InProgress:
        only ListUpdates tells."""
        self._admin("PATCH", self._path(name), {"status": "ACTIVE"})

    def console_busy(self, name, busy):
        self._admin("PATCH", self._path(name), {"status": "UPDATING" if busy else "ACTIVE"})

    def operation_running(self, name):
        return any(u["status"] == "InProgress" for u in self.state(name)["updates"])

    def slow_polls(self, name, ms, count):
        """The next `count` reads of the cluster take `ms` longer."""
        self._admin("POST", "/admin/faults", {"operation": "DescribeCluster", "cluster": name,
                                              "latency_ms": ms, "count": count})

    # the cloud
    def state(self, name):
        return self.emu.state(EKS_REGION, name)

    def cloud_version(self, name):
        return self.state(name)["cluster"]["version"]

    def cloud_pools(self, name):
        return set(self.state(name)["nodegroups"])

    def cloud_pool_size(self, name, pool):
        ng = self.state(name)["nodegroups"].get(pool)
        return ng["scalingConfig"]["desiredSize"] if ng else None

    def cloud_tags(self, name):
        return self.state(name)["cluster"].get("tags") or {}

    def observe_calls(self, name):
        return len([c for c in self.emu.calls(name) if c["operation"] == "DescribeCluster"])

    def classified_writes(self, name):
        return [{"kind": self.KINDS[c["operation"]], "call": c["operation"],
                 "status": c["status"], "replay": c.get("replay")}
                for c in self.emu.calls(name) if c["operation"] in self.KINDS]


class AksCloud(Cloud):
    key = "aks"
    pools_key, pool_name_key, size_key, tags_key = "nodePools", "name", "count", "tags"
    version_new = "1.32"
    unmanaged_field = "nodePools[].maxSurge, set by another tool"
    MUTATING = {"PutManagedCluster", "PatchManagedClusterTags", "DeleteManagedCluster",
                "PutAgentPool", "DeleteAgentPool"}
    OP_KINDS = {"upgrade": "version", "update": "other", "tags": "tags", "create": "other",
                "delete": "other", "pool-create": "pool_create", "pool-scaling": "size",
                "pool-upgrading": "version", "pool-updating": "other",
                "pool-delete": "pool_delete"}

    @staticmethod
    def pool_body(pool, size, first):
        return {"name": pool, "mode": "System" if first else "User", "count": size,
                "vmSize": "Standard_D2s_v3", "osType": "Linux"}

    def console_create(self, name, pools):
        self.emu.add_cluster(AKS_RG, {
            "name": name, "location": "westeurope", "tags": {"team": "payments"},
            "properties": {"kubernetesVersion": "1.31", "dnsPrefix": name,
                           "agentPoolProfiles": [self.pool_body(p, s, i == 0)
                                                 for i, (p, s) in enumerate(pools)]}})

    def register(self, name, policy):
        return self.api.req("POST", "/v1/clusters", {
            "name": name, "provider": "aks", "imported": True, "resourceGroup": AKS_RG,
            "credential": "azure", "policy": policy})

    def new_pool(self, pool, size):
        return {"name": pool, "count": size, "vmSize": "Standard_D2s_v3", "mode": "User"}

    def _path(self, name, pool=None):
        p = f"/admin/clusters/{AKS_RG}/{name}"
        return p + (f"/agentPools/{pool}" if pool else "")

    def _admin(self, method, path, body=None):
        status, out = self.emu.admin(method, path, body)
        assert status < 300, f"aksemu {method} {path}: {status} {out}"
        return out

    def console_delete_pool(self, name, pool):
        self._admin("DELETE", self._path(name, pool))

    def console_add_pool(self, name, pool, size):
        self._admin("POST", self._path(name, pool),
                    {"properties": {"count": size, "vmSize": "Standard_D2s_v3",
                                    "mode": "User"}})

    def console_set_version(self, name, version):
        self._admin("PATCH", self._path(name), {"properties": {"kubernetesVersion": version}})

    def console_set_pool_size(self, name, pool, size):
        self._admin("PATCH", self._path(name, pool), {"count": size})

    def console_add_tag(self, name, key, value):
        self._admin("PATCH", self._path(name), {"tags": {key: value}})

    def console_set_unmanaged(self, name, pool):
        """Another tool raises the pool's surge from 10% to 33%."""
        self._admin("PATCH", self._path(name, pool), {"upgradeSettings": {"maxSurge": "33%"}})

    def unmanaged_value(self, name, pool):
        return self.pool(name, pool)["upgradeSettings"]["maxSurge"]

    unmanaged_before, unmanaged_after = "10%", "33%"

    def console_idle_with_old_version(self, name):
        """ARM shows the cluster Succeeded, with the version that ran before, while the
        upgrade's long-running operation is still InProgress."""
        self._admin("PATCH", self._path(name), {"properties": {"provisioningState": "Succeeded"}})

    def console_busy(self, name, busy):
        self._admin("PATCH", self._path(name),
                    {"properties": {"provisioningState": "Updating" if busy else "Succeeded"}})

    def operation_running(self, name):
        return any(o["status"] == "InProgress" for o in self.state(name)["operations"])

    def slow_polls(self, name, ms, count):
        self._admin("POST", "/admin/faults", {"operation": "GetManagedCluster", "cluster": name,
                                              "latency_ms": ms, "count": count})

    def state(self, name):
        return self.emu.state(AKS_RG, name)

    def resource(self, name):
        return self.state(name)["resource"]

    def pool(self, name, pool):
        for p in self.resource(name)["properties"]["agentPoolProfiles"]:
            if p["name"] == pool:
                return p
        return None

    def cloud_version(self, name):
        return self.resource(name)["properties"]["kubernetesVersion"]

    def cloud_pools(self, name):
        return {p["name"] for p in self.resource(name)["properties"]["agentPoolProfiles"]}

    def cloud_pool_size(self, name, pool):
        p = self.pool(name, pool)
        return p.get("count") if p else None

    def cloud_tags(self, name):
        return self.resource(name).get("tags") or {}

    def observe_calls(self, name):
        return len([c for c in self.emu.calls(name) if c["operation"] == "GetManagedCluster"])

    def classified_writes(self, name):
        # The call log has no bodies: an accepted write is matched with the operation it
        # started (by start time), whose kind says what changed. A refused write is
        # classified by its call alone (a cluster PUT counts as a version write, the
        # conservative reading for "no version write was sent").
        st = self.state(name)
        ops = []
        for o in st["operations"]:
            ops.append([iso_epoch(o["startTime"]), self.OP_KINDS.get(o["kind"], "other"), False])
        out = []
        for c in self.emu.calls(name):
            if c["operation"] not in self.MUTATING:
                continue
            kind = None
            if 200 <= c["status"] < 300:
                best = None
                for o in ops:
                    d = abs(o[0] - c["time"])
                    if not o[2] and d < 0.5 and (best is None or d < abs(best[0] - c["time"])):
                        best = o
                if best is not None:
                    best[2] = True
                    kind = best[1]
            if kind is None:
                kind = {"PutManagedCluster": "version", "PatchManagedClusterTags": "tags",
                        "DeleteManagedCluster": "other", "DeleteAgentPool": "pool_delete",
                        "PutAgentPool": "pool_create" if c.get("ifNoneMatch") == "*"
                        else "size"}[c["operation"]]
            out.append({"kind": kind, "call": c["operation"], "status": c["status"]})
        return out


class GkeCloud(Cloud):
    key = "gke"
    pools_key, pool_name_key, size_key, tags_key = "nodePools", "name", "initialNodeCount", \
        "labels"
    version_new = "1.31"
    console_version_new = "1.31.4-gke.1256000"
    unmanaged_field = "nodePools[].management.autoUpgrade, owned by Terraform"
    READS = {"container.projects.locations.clusters.get",
             "container.projects.locations.operations.get",
             "container.projects.locations.clusters.list",
             "container.projects.locations.clusters.nodePools.get",
             "container.projects.locations.clusters.nodePools.list",
             "container.projects.locations.operations.list",
             "container.projects.locations.getServerConfig", "token"}
    OP_TYPES = {"UPGRADE_MASTER": "version", "UPGRADE_NODES": "version",
                "SET_NODE_POOL_SIZE": "size", "SET_LABELS": "tags",
                "CREATE_NODE_POOL": "pool_create", "DELETE_NODE_POOL": "pool_delete"}
    METHODS = {"clusters.update": "version", "clusters.setResourceLabels": "tags",
               "clusters.nodePools.setSize": "size", "clusters.nodePools.create": "pool_create",
               "clusters.nodePools.delete": "pool_delete"}

    def console_create(self, name, pools):
        self.emu.add_cluster(GKE_ZONE, {
            "name": name, "initialClusterVersion": "1.30",
            "resourceLabels": {"team": "payments"},
            "nodePools": [{"name": p, "initialNodeCount": s} for p, s in pools]})

    def register(self, name, policy):
        return self.api.req("POST", "/v1/clusters", {
            "name": name, "provider": "gke", "imported": True, "location": GKE_ZONE,
            "credential": "gcp", "policy": policy})

    def new_pool(self, pool, size):
        return {"name": pool, "initialNodeCount": size}

    def _path(self, name, pool=None):
        p = f"/admin/clusters/{GKE_ZONE}/{name}"
        return p + (f"/nodePools/{pool}" if pool else "")

    def _admin(self, method, path, body=None):
        status, out = self.emu.admin(method, path, body)
        assert status < 300, f"gkeemu {method} {path}: {status} {out}"
        return out

    def console_delete_pool(self, name, pool):
        self._admin("DELETE", self._path(name, pool))

    def console_add_pool(self, name, pool, size):
        self._admin("POST", self._path(name) + "/nodePools",
                    {"name": pool, "initialNodeCount": size})

    def console_set_version(self, name, version):
        self._admin("PATCH", self._path(name), {"currentMasterVersion": version})

    def console_set_pool_size(self, name, pool, size):
        self._admin("PATCH", self._path(name, pool), {"initialNodeCount": size})

    def console_add_tag(self, name, key, value):
        self._admin("PATCH", self._path(name), {"resourceLabels": {key: value}})

    def console_set_unmanaged(self, name, pool):
        """Terraform turns the pool's auto-upgrade off."""
        self._admin("PATCH", self._path(name, pool), {"management": {"autoUpgrade": False}})

    def unmanaged_value(self, name, pool):
        return self.pool(name, pool).get("management", {}).get("autoUpgrade", False)

    unmanaged_before, unmanaged_after = True, False

    def console_idle_with_old_version(self, name):
        """The cluster says RUNNING (with the old master version) while the upgrade's
        operation is not DONE."""
        self._admin("PATCH", self._path(name), {"status": "RUNNING"})

    def console_busy(self, name, busy):
        self._admin("PATCH", self._path(name), {"status": "RECONCILING" if busy else "RUNNING"})

    def operation_running(self, name):
        return self.state(name).get("operation") is not None

    def slow_polls(self, name, ms, count):
        self._admin("POST", "/admin/faults", {
            "operation": "container.projects.locations.clusters.get", "cluster": name,
            "latency_ms": ms, "count": count})

    def state(self, name):
        return self.emu.state(GKE_ZONE, name)

    def pool(self, name, pool):
        for p in self.state(name)["cluster"].get("nodePools", []):
            if p["name"] == pool:
                return p
        return None

    def cloud_version(self, name):
        return self.state(name)["cluster"]["currentMasterVersion"]

    def cloud_pools(self, name):
        return {p["name"] for p in self.state(name)["cluster"].get("nodePools", [])}

    def cloud_pool_size(self, name, pool):
        p = self.pool(name, pool)
        return p.get("initialNodeCount", 0) if p else None

    def cloud_tags(self, name):
        return self.state(name)["cluster"].get("resourceLabels") or {}

    def observe_calls(self, name):
        return len([c for c in self.emu.calls(name)
                    if c["methodId"] == "container.projects.locations.clusters.get"])

    def classified_writes(self, name):
        types = {o["name"]: o.get("operationType") for o in self.state(name)["operations"]}
        out = []
        for c in self.emu.calls(name):
            if c["methodId"] in self.READS:
                continue
            method = c["methodId"].replace("container.projects.locations.", "")
            kind = self.OP_TYPES.get(types.get(c.get("operation")))
            if kind is None:
                kind = "other" if c.get("operation") in types else \
                    self.METHODS.get(method, "other")
            out.append({"kind": kind, "call": method, "status": c["status"]})
        return out


# ---- the module ----------------------------------------------------------------------------


class RegressionTest(unittest.TestCase):
    """Each test method is one scenario, run against the three clouds concurrently."""

    @classmethod
    def setUpClass(cls):
        cls.started = time.time()
        cls.pg = Postgres()
        cls.eks = EksEmulator(keys=[f"{EKS_AKID}:{EKS_SECRET}"], create_seconds=OP_SECONDS,
                              update_seconds=OP_SECONDS, nodegroup_seconds=OP_SECONDS,
                              delete_seconds=OP_SECONDS)
        cls.aks = AksEmulator(op_seconds=OP_SECONDS, create_seconds=OP_SECONDS,
                              delete_seconds=OP_SECONDS, retry_after=1, show_changes="success")
        cls.gke = GkeEmulator(op_seconds=OP_SECONDS, create_seconds=OP_SECONDS,
                              delete_seconds=OP_SECONDS)
        env = {"HCR_EKS_ENDPOINT": cls.eks.url, "HCR_EKS_STS_ENDPOINT": cls.eks.url,
               "HCR_AKS_ENDPOINT": cls.aks.url, "HCR_AKS_AUTHORITY": cls.aks.url,
               "HCR_GKE_ENDPOINT": cls.gke.url, "HCR_GKE_TOKEN_URI": cls.gke.token_uri}
        env.update(ENV)
        cls.hcr = Hcr("run", database_url=cls.pg.url, env=env)
        cls.hcr.wait_ready()
        with open(GKE_KEY_FILE) as f:
            cls.gke_key = json.load(f)
        for body in ({"name": "aws", "provider": "eks",
                      "eks": {"accessKeyId": EKS_AKID, "secretAccessKey": EKS_SECRET}},
                     {"name": "azure", "provider": "aks",
                      "aks": {"tenantId": TENANT, "clientId": CLIENT[0],
                              "clientSecret": CLIENT[1], "subscriptionId": SUB}},
                     {"name": "gcp", "provider": "gke",
                      "gke": {"serviceAccountJson": cls.gke_key}}):
            r = cls.hcr.request("POST", "/v1/credentials", body)
            assert r.status == 201, r
        cls.api = Api(cls.hcr)
        cls.clouds = [EksCloud(cls.api, cls.eks), AksCloud(cls.api, cls.aks),
                      GkeCloud(cls.api, cls.gke)]

    @classmethod
    def tearDownClass(cls):
        try:
            stop_and_check(cls.hcr, cls.eks, cls.aks, cls.gke, cls.pg,
                           secrets=(EKS_SECRET, CLIENT[1], cls.gke_key["private_key"][40:90]))
        finally:
            print(f"\ntest_regressions: module took {time.time() - cls.started:.1f} s",
                  flush=True)

    # ---- running one scenario on the three clouds --------------------------------------------

    def each(self, scenario, fn):
        """Runs fn(cloud, name) for the three clouds at once; fails naming every cloud that
        failed, with its assertion and hcr's log lines about its clusters."""
        failures = []
        lock = threading.Lock()

        def run(cloud):
            name = cloud.name(scenario)
            try:
                fn(cloud, name)
            except Exception as e:  # noqa: BLE001 - every failure is reported per cloud
                tb = traceback.format_exc(limit=6)
                log = [line for line in self.hcr.log().splitlines()
                       if f"{scenario}" in line and cloud.key in line][-15:]
                for n in cloud.created:
                    log.append(f"{n}: {self.describe(n, cloud)}")
                with lock:
                    failures.append((cloud.key, e, tb, log))
            finally:
                # Forgotten (the clouds keep them), so later scenarios poll fewer clusters.
                for n in cloud.created:
                    self.api.forget(n)
                cloud.created.clear()

        started = time.time()
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(run, self.clouds))
        print(f"[{scenario}: {time.time() - started:.1f} s] ", end="", flush=True)
        if failures:
            text = []
            for key, e, tb, log in sorted(failures, key=lambda f: f[0]):
                text.append(f"[{key}] {type(e).__name__}: {e}\n{tb}" +
                            ("  hcr log:\n    " + "\n    ".join(log) if log else ""))
            self.fail(f"{scenario} failed on {', '.join(sorted(f[0] for f in failures))}:\n\n"
                      + "\n\n".join(text))

    def describe(self, name, cloud):
        """hcr's view of a cluster in one line, for failure messages."""
        try:
            c = self.api.cluster(name)
            managed = {f["path"]: (f["state"], f["desired"], f["observed"], f["reason"])
                       for f in c["fields"] if f["owner"] == "hcr"}
            return (f"state={c['state']} busy={c['busy']} lastError={c['lastError']} "
                    f"operation={c['operation']} managed={managed} "
                    f"writes={cloud.writes(name)}")
        except Exception as e:  # noqa: BLE001 - best effort
            return f"(cannot describe: {e!r})"

    def wait_field(self, name, path, state, timeout=T):
        return wait_for(lambda: self.api.field_state(name, path, state), timeout=timeout,
                        what=f"{name} {path} {state}")

    def wait_writes(self, cloud, name, kind, n=1, timeout=T):
        return wait_for(lambda: len(cloud.writes(name, kind, accepted=True)) >= n,
                        timeout=timeout, step=0.02, what=f"{n} {kind} write(s) to {name}")

    # ---- scenarios ---------------------------------------------------------------------------

    def rancher_29023(self, scenario, after_observation):
        """The user's view lists both pools; poolb is deleted in the console; the user sends
        the view back with poola resized, with the If-Match of that view. Either hcr refuses
        the stale view (412: the user reloads and edits again) or it takes it; either way
        poolb must stay deleted and the only write is poola's size."""
        def run(cloud, name):
            cloud.import_cluster(name)
            stale = self.api.cluster(name)
            cloud.console_delete_pool(name, "poolb")
            if after_observation:
                wait_for(lambda: "poolb" not in [
                    p[cloud.pool_name_key]
                    for p in self.api.cluster(name)["observed"][cloud.pools_key]],
                    timeout=T, what="deletion observed")
            body = {cloud.pools_key: cloud.pools_with_size(
                stale["effective"][cloud.pools_key], "poola", 5)}
            r = self.api.patch(name, body, version=stale["version"])
            if r.status == 412:  # refused as stale: the user reloads and edits again
                body = {cloud.pools_key: cloud.pools_with_size(
                    cloud.effective_pools(name), "poola", 5)}
                r = self.api.patch(name, body)
            self.assertEqual(r.status, 200, r)
            self.wait_field(name, cloud.size_path("poola"), "in_sync")
            wait_for(lambda: cloud.cloud_pool_size(name, "poola") == 5, timeout=T,
                     what="poola resized")
            cloud.wait_polls(name, 2)
            self.assertNotIn("poolb", cloud.cloud_pools(name), "poolb came back")
            self.assertEqual(cloud.writes(name, "pool_create"), [], "a pool create was sent")
            self.assertEqual([w["kind"] for w in cloud.writes(name, accepted=True)], ["size"],
                             cloud.writes(name))
            self.assertEqual(self.api.cluster(name)["drift"], [])
        self.each(scenario, run)

    def test_rancher_29023_edit_sent_before_hcr_saw_the_deletion(self):
        """rancher#29023. Rancher: a node group deleted in the console came back after an
        unrelated Rancher edit made within the 5-minute window, because the stale full spec
        won. hcr: the deletion stands and only the user's real change (another pool's size)
        is pushed. Here the edit reaches hcr before it polled the cluster again."""
        self.rancher_29023("r29023a", after_observation=False)

    def test_rancher_29023_edit_from_a_view_older_than_the_deletion(self):
        """rancher#29023, the other order: hcr has already seen the console deletion when the
        edit from the older view (and its If-Match) arrives. Refusing it (412) or taking it
        without the deleted pool are both fine; recreating the pool is the Rancher bug."""
        self.rancher_29023("r29023b", after_observation=True)

    def test_rancher_28967_pool_deleted_in_console_is_not_recreated(self):
        """rancher#28967. Rancher: a node group deleted in the console was recreated with no
        Rancher edit at all. hcr (adopt): a pool hcr created and someone deleted in the
        console is adopted as deleted (event `adopted`) and never created again."""
        def scenario(cloud, name):
            cloud.import_cluster(name, pools=(("poola", 3),))
            pools = cloud.effective_pools(name) + [cloud.new_pool("extra", 1)]
            self.assertEqual(self.api.patch(name, {cloud.pools_key: pools}).status, 200)
            self.wait_field(name, cloud.pool_path("extra"), "in_sync")
            self.assertIn("extra", cloud.cloud_pools(name))
            self.assertEqual(len(cloud.writes(name, "pool_create", accepted=True)), 1)
            cloud.console_delete_pool(name, "extra")
            wait_for(lambda: [e for e in self.api.events(name, "adopted")
                              if e.get("path", "").startswith(cloud.pool_path("extra"))],
                     timeout=T, what="the deletion adopted")
            cloud.wait_polls(name, 2)
            self.assertNotIn("extra", cloud.cloud_pools(name), "the pool was recreated")
            self.assertEqual(len(cloud.writes(name, "pool_create")), 1,
                             f"a second create was sent: {cloud.writes(name)}")
            c = self.api.cluster(name)
            self.assertEqual([f["path"] for f in c["fields"] if f["owner"] == "hcr" and
                              f["path"].startswith(cloud.pool_path("extra"))], [],
                             "hcr still manages the deleted pool")
            self.assertEqual(c["drift"], [])
        self.each("r28967", scenario)

    def test_eks_operator_752_idle_with_the_old_version_does_not_revert_the_update(self):
        """eks-operator#752 (PR#1166). Rancher: EKS stays ACTIVE with the old version for a
        while after accepting an update, and the refresher copied the old version back into
        the spec, reverting Rancher's own change. hcr: while its operation runs, a cloud that
        looks idle with the old version is neither adopted nor a failure; the upgrade is
        sent once and ends in sync. EKS: status ACTIVE while the update is InProgress; AKS:
        provisioningState Succeeded (and the old version) while the LRO is InProgress; GKE:
        status RUNNING while the operation is not DONE."""
        def scenario(cloud, name):
            cloud.import_cluster(name)
            old = cloud.version_old(name)
            self.assertEqual(self.api.patch(name, {"kubernetesVersion": cloud.version_new})
                             .status, 200)
            self.wait_writes(cloud, name, "version")
            cloud.console_idle_with_old_version(name)
            self.assertTrue(cloud.operation_running(name),
                            "the operation ended before the cloud was made to look idle; "
                            "the scenario was not played")
            self.assertEqual(vkey(cloud.cloud_version(name)), vkey(old),
                             "the cloud does not show the old version while the update runs")
            while cloud.operation_running(name):
                f = self.api.field(name, "kubernetesVersion")
                self.assertEqual(f["owner"], "hcr", f)
                self.assertGreaterEqual(vkey(f["desired"]), vkey(cloud.version_new), f)
                self.assertNotIn(f["state"], ("failed", "conflict", "blocked"), f)
                time.sleep(0.05)
            f = self.wait_field(name, "kubernetesVersion", "in_sync")
            self.assertGreaterEqual(vkey(f["desired"]), vkey(cloud.version_new), f)
            self.assertEqual(vkey(cloud.cloud_version(name))[:2], vkey(cloud.version_new)[:2])
            cloud.wait_polls(name, 2)
            self.assertEqual(len(cloud.writes(name, "version", accepted=True)), 1,
                             cloud.writes(name))
            reverted = [e for e in self.api.events(name)
                        if e["kind"] in ("adopted", "downgrade_adopted", "conflict")
                        and e.get("path") == "kubernetesVersion"
                        and vkey(e.get("new", "0")) < vkey(cloud.version_new)]
            self.assertEqual(reverted, [], "the old version was taken back")
        self.each("e752", scenario)

    def test_rancher_31909_console_upgrade_is_adopted_never_downgraded(self):
        """rancher#31909, eks-operator#276, gke-operator#702. Rancher: after a Kubernetes
        upgrade in the console, Rancher tried to "upgrade" back down and stayed Updating.
        hcr: even under enforce, the cloud's newer version is adopted (event
        `downgrade_adopted`), no version write is ever sent, and an edit back down is refused
        (422 naming kubernetesVersion)."""
        def scenario(cloud, name):
            cloud.import_cluster(name, policy="enforce")
            old = cloud.version_old(name)
            self.assertEqual(self.api.patch(name, {"kubernetesVersion": old}).status, 200)
            self.wait_field(name, "kubernetesVersion", "in_sync")
            new = getattr(cloud, "console_version_new", cloud.version_new)
            cloud.console_set_version(name, new)
            f = wait_for(lambda: (lambda f: f if vkey(f["desired"]) == vkey(new) else None)(
                self.api.field(name, "kubernetesVersion")), timeout=T, what="upgrade adopted")
            self.assertEqual(f["state"], "in_sync", f)
            self.assertEqual(f["owner"], "hcr", f)
            self.assertTrue(self.api.events(name, "downgrade_adopted"))
            r = self.api.patch(name, {"kubernetesVersion": old})
            self.assertEqual(r.status, 422, r)
            self.assertIn("kubernetesVersion", r.json["error"]["message"])
            cloud.wait_polls(name, 2)
            self.assertEqual(cloud.writes(name, "version"), [], "a version write was sent")
            self.assertEqual(cloud.writes(name), [])
            self.assertEqual(vkey(cloud.cloud_version(name)), vkey(new))
            self.assertEqual(self.api.cluster(name)["state"], "active")
        self.each("r31909", scenario)

    def eks_operator_469(self, scenario, stale_view):
        """Another tool changes a pool field hcr does not manage; then the user's UI sends the
        whole pool list back with only the pool's size changed (under enforce). Either hcr
        refuses a stale view (412: the user reloads and edits again) or takes it; either way
        the other tool's value stays and the only write is the size."""
        def run(cloud, name):
            cloud.import_cluster(name, policy="enforce")
            self.assertEqual(cloud.unmanaged_value(name, "poola"), cloud.unmanaged_before)
            view = self.api.cluster(name)
            cloud.console_set_unmanaged(name, "poola")
            wait_for(lambda: [e for e in self.api.events(name, "external_change")
                              if e.get("path", "").startswith(cloud.pool_path("poola"))],
                     timeout=T, what="the change made elsewhere observed")
            if not stale_view:
                view = self.api.cluster(name)
            pools = cloud.pools_with_size(view["effective"][cloud.pools_key], "poola", 5)
            r = self.api.patch(name, {cloud.pools_key: pools}, version=view["version"])
            if r.status == 412 and stale_view:
                pools = cloud.pools_with_size(cloud.effective_pools(name), "poola", 5)
                r = self.api.patch(name, {cloud.pools_key: pools})
            self.assertEqual(r.status, 200, r)
            self.wait_field(name, cloud.size_path("poola"), "in_sync")
            cloud.wait_polls(name, 2)
            self.assertEqual(cloud.cloud_pool_size(name, "poola"), 5)
            self.assertEqual(cloud.unmanaged_value(name, "poola"), cloud.unmanaged_after,
                             f"{cloud.unmanaged_field} was rolled back; writes: "
                             f"{cloud.writes(name)}")
            self.assertEqual([w["kind"] for w in cloud.writes(name)], ["size"],
                             cloud.writes(name))
            managed = [f["path"] for f in self.api.cluster(name)["fields"]
                       if f["owner"] == "hcr"]
            self.assertEqual(managed, [cloud.size_path("poola")])
        self.each(scenario, run)

    def test_eks_operator_469_field_owned_elsewhere_is_not_rolled_back(self):
        """eks-operator#469, rancher#54594. Rancher: a launch template version bumped by
        Terraform was rolled back once the node group had been edited in Rancher. hcr (even
        under enforce): a pool field hcr does not manage keeps the value another tool set
        when the UI sends the whole pool list back with an unrelated change; only the
        changed size is claimed and only a size write is sent. The field per cloud: EKS the
        node group's launch template, AKS the pool's maxSurge, GKE the pool's auto-upgrade."""
        self.eks_operator_469("e469", stale_view=False)

    def test_eks_operator_469_edit_from_a_view_older_than_the_change(self):
        """eks-operator#469, rancher#54594, with the UI's view loaded before Terraform's
        change and sent (with its If-Match) after hcr observed it: the user still changed
        only the size, so the other tool's value must not be rolled back."""
        self.eks_operator_469("e469s", stale_view=True)

    def test_gke_operator_190_size_set_by_a_script_is_not_pushed_back(self):
        """gke-operator#190. Rancher: pools scaled by a script outside Rancher had their
        stale size pushed back. hcr: under adopt, the script's size is adopted (event
        `adopted`) and no size write follows; under enforce, the managed size is pushed back
        once, on purpose."""
        def scenario(cloud, _):
            adopt, enforce = cloud.name("g190a"), cloud.name("g190e")
            cloud.import_clusters([adopt, enforce], (("poola", 3),), ["adopt", "enforce"])
            for n in (adopt, enforce):
                pools = cloud.pools_with_size(cloud.effective_pools(n), "poola", 4)
                self.assertEqual(self.api.patch(n, {cloud.pools_key: pools}).status, 200)
            for n in (adopt, enforce):
                self.wait_field(n, cloud.size_path("poola"), "in_sync")
                self.assertEqual(cloud.cloud_pool_size(n, "poola"), 4)
                cloud.console_set_pool_size(n, "poola", 1)  # the script
            f = wait_for(lambda: (lambda f: f if f["desired"] == 1 else None)(
                self.api.field(adopt, cloud.size_path("poola"))), timeout=T,
                what="script's size adopted")
            self.assertEqual(f["state"], "in_sync", f)
            self.assertTrue([e for e in self.api.events(adopt, "adopted")
                             if e.get("path") == cloud.size_path("poola") and e.get("new") == 1])
            wait_for(lambda: cloud.cloud_pool_size(enforce, "poola") == 4, timeout=T,
                     what="size pushed back under enforce")
            self.wait_field(enforce, cloud.size_path("poola"), "in_sync")
            for n in (adopt, enforce):
                cloud.wait_polls(n, 2)
            self.assertEqual(cloud.cloud_pool_size(adopt, "poola"), 1, "pushed back under adopt")
            self.assertEqual(len(cloud.writes(adopt, "size")), 1, cloud.writes(adopt))
            self.assertEqual(len(cloud.writes(enforce, "size", accepted=True)), 2,
                             cloud.writes(enforce))
            self.assertEqual(self.api.field(enforce, cloud.size_path("poola"))["desired"], 4)
            self.assertEqual(cloud.cloud_pool_size(enforce, "poola"), 4)
        self.each("g190", scenario)

    def test_rancher_37608_tag_re_added_by_a_policy_is_no_endless_loop(self):
        """rancher#37608. Rancher: an Azure policy re-added a tag the user had removed, and the
        cluster stayed Updating forever, fighting it. hcr manages tags per key: under adopt
        it removes the tag once, sees it come back and adopts it, and sends nothing more; a
        key the policy adds is left alone. Under enforce the removal is pushed again once per
        re-add, not in a loop, and the policy's other key stays."""
        def scenario(cloud, _):
            adopt, enforce = cloud.name("r37608a"), cloud.name("r37608e")
            team = cloud.tag_path("team")
            cloud.import_clusters([adopt, enforce], (("poola", 3),), ["adopt", "enforce"])
            for n in (adopt, enforce):
                self.assertEqual(self.api.patch(n, {cloud.tags_key: {"team": None}}).status,
                                 200)
            for n in (adopt, enforce):
                wait_for(lambda: "team" not in cloud.cloud_tags(n), timeout=T,
                         what=f"{n}: tag removed")
                self.wait_field(n, team, "in_sync")
                self.assertEqual(len(cloud.writes(n, "tags", accepted=True)), 1)
                # The policy puts it back, and adds a key of its own.
                cloud.console_add_tag(n, "team", "payments")
                cloud.console_add_tag(n, "costcenter", "cc1")
            f = wait_for(lambda: (lambda f: f if f["desired"] == "payments" else None)(
                self.api.field(adopt, team)), timeout=T, what="re-added tag adopted")
            self.assertEqual(f["state"], "in_sync", f)
            self.assertTrue([e for e in self.api.events(adopt, "adopted")
                             if e.get("path") == team])
            wait_for(lambda: "team" not in cloud.cloud_tags(enforce), timeout=T,
                     what="removal pushed again under enforce")
            for n in (adopt, enforce):
                cloud.wait_polls(n, 2)
            self.assertEqual(cloud.cloud_tags(adopt).get("team"), "payments")
            self.assertEqual(len(cloud.writes(adopt, "tags")), 1, cloud.writes(adopt))
            self.assertEqual(len(cloud.writes(enforce, "tags", accepted=True)), 2,
                             cloud.writes(enforce))
            for n in (adopt, enforce):
                self.assertEqual(cloud.cloud_tags(n).get("costcenter"), "cc1",
                                 f"{n}: the policy's own key was touched")
                c = self.api.cluster(n)
                self.assertEqual((c["state"], c["busy"]), ("active", False), n)
                self.assertIsNone(self.api.field(n, cloud.tag_path("costcenter"))["desired"])
                self.assertEqual(c["drift"], [], n)
        self.each("r37608", scenario)

    def test_dashboard_17948_stale_config_never_deletes_a_pool_made_in_the_cloud(self):
        """rancher/dashboard#17948. Rancher: a stale config made the operator try to delete
        pools that had been created in Azure (a production incident). hcr: a pool hcr never
        applied is external; a pool list that leaves it out, even under enforce, deletes
        nothing, while the list's real change is pushed."""
        def scenario(cloud, name):
            cloud.import_cluster(name, pools=(("poola", 3),), policy="enforce")
            stale = self.api.cluster(name)  # the config as it was before the cloud changed
            cloud.console_add_pool(name, "extra", 1)
            wait_for(lambda: [e for e in self.api.events(name, "pool_external")
                              if "extra" in e.get("path", "")], timeout=T,
                     what="the cloud's pool observed")
            body = {cloud.pools_key: cloud.pools_with_size(stale["effective"][cloud.pools_key],
                                                           "poola", 4)}
            r = self.api.patch(name, body, version=stale["version"])
            if r.status == 412:  # refused as stale: the user reloads, still without extra
                body = {cloud.pools_key: [p for p in cloud.pools_with_size(
                    cloud.effective_pools(name), "poola", 4)
                    if p[cloud.pool_name_key] != "extra"]}
                r = self.api.patch(name, body)
            self.assertEqual(r.status, 200, r)
            self.wait_field(name, cloud.size_path("poola"), "in_sync")
            cloud.wait_polls(name, 2)
            self.assertIn("extra", cloud.cloud_pools(name), "the cloud's pool was deleted")
            self.assertEqual(cloud.writes(name, "pool_delete"), [], cloud.writes(name))
            self.assertEqual([w["kind"] for w in cloud.writes(name, accepted=True)], ["size"])
            self.assertEqual(cloud.cloud_pool_size(name, "poola"), 4)
            f = self.api.field(name, cloud.pool_path("extra"))
            self.assertEqual(f["owner"], "external", f)
        self.each("d17948", scenario)

    def test_rancher_36128_import_never_mutates_the_cluster(self):
        """rancher#36128 (dupes #36465, terraform-provider-rancher2#800). Rancher: importing
        through the client or Terraform rewrote the config; node groups were deleted or reset
        to defaults. hcr: registering an imported cluster, under any policy, and the polls
        that follow (also after a console change) write nothing and claim no field."""
        def scenario(cloud, _):
            names = {p: cloud.name(f"r36128{p[0]}") for p in
                     ("adopt", "enforce", "prefer_upstream")}
            cloud.import_clusters(list(names.values()), policies=list(names))
            for n in names.values():
                cloud.console_add_tag(n, "owner", "console")
                cloud.console_set_pool_size(n, "poolb", 2)
            for n in names.values():
                wait_for(lambda: self.api.cluster(n)["observed"][cloud.tags_key].get("owner")
                         == "console", timeout=T, what=f"{n}: console change observed")
                cloud.wait_polls(n, 2)
            for policy, n in names.items():
                self.assertEqual(cloud.writes(n), [], f"{policy}: {cloud.writes(n)}")
                c = self.api.cluster(n)
                self.assertEqual(c["desired"], {}, policy)
                self.assertEqual([f["path"] for f in c["fields"] if f["owner"] != "external"],
                                 [], policy)
                self.assertEqual(c["drift"], [], policy)
                kinds = {e["kind"] for e in self.api.events(n)}
                self.assertFalse(kinds & {"desired_set", "pending", "applying", "adopted",
                                          "op_succeeded"}, f"{policy}: {kinds}")
                self.assertEqual(sorted(cloud.cloud_pools(n)), ["poola", "poolb"])
                self.assertEqual(cloud.cloud_pool_size(n, "poolb"), 2)
        self.each("r36128", scenario)

    def test_rancher_30141_value_set_back_is_not_ignored(self):
        """rancher#30141. Rancher: setting a value back within one interval did nothing,
        because the diff was taken against the cloud, not against the spec. hcr: 3 -> 5 -> 3
        before any push leaves the field in sync and sends nothing (played while the cloud is
        busy, so that no push can happen in between); 3 -> 5, pushed, then 3 before the push
        is confirmed sends 3 as well, and the cloud ends at 3."""
        def scenario(cloud, _):
            quiet, pushed = cloud.name("r30141a"), cloud.name("r30141b")
            cloud.import_clusters([quiet, pushed], (("poola", 3),))
            cloud.console_busy(quiet, True)
            # Back after the push, before its confirmation.
            pools = cloud.pools_with_size(cloud.effective_pools(pushed), "poola", 5)
            self.assertEqual(self.api.patch(pushed, {cloud.pools_key: pools}).status, 200)
            self.wait_writes(cloud, pushed, "size")
            pools = cloud.pools_with_size(cloud.effective_pools(pushed), "poola", 3)
            self.assertEqual(self.api.patch(pushed, {cloud.pools_key: pools}).status, 200)
            # Within one interval, before any push: the cloud is busy, so nothing is pushed.
            wait_for(lambda: self.api.cluster(quiet)["busy"], timeout=T, what="busy seen")
            for size in (5, 3):
                pools = cloud.pools_with_size(cloud.effective_pools(quiet), "poola", size)
                self.assertEqual(self.api.patch(quiet, {cloud.pools_key: pools}).status, 200)
            f = self.api.field(quiet, cloud.size_path("poola"))
            self.assertEqual((f["desired"], f["state"]), (3, "in_sync"), f)
            cloud.console_busy(quiet, False)
            wait_for(lambda: not self.api.cluster(quiet)["busy"], timeout=T, what="idle seen")
            wait_for(lambda: self.api.field_state(pushed, cloud.size_path("poola"), "in_sync")
                     and len(cloud.writes(pushed, "size", accepted=True)) >= 2, timeout=T,
                     what="3 pushed after 5")
            for n in (quiet, pushed):
                cloud.wait_polls(n, 2)
            self.assertEqual(cloud.writes(quiet), [], "a write was sent for 3 -> 5 -> 3")
            self.assertEqual(cloud.cloud_pool_size(quiet, "poola"), 3)
            self.assertEqual(self.api.cluster(quiet)["drift"], [])
            self.assertEqual(cloud.cloud_pool_size(pushed, "poola"), 3)
            self.assertEqual(len(cloud.writes(pushed, "size", accepted=True)), 2,
                             cloud.writes(pushed))
            f = self.api.field(pushed, cloud.size_path("poola"))
            self.assertEqual((f["desired"], f["state"]), (3, "in_sync"), f)
        self.each("r30141", scenario)

    def test_two_edits_within_one_poll_last_one_wins(self):
        """The engine's own: two edits of one field within one poll (with an edit of another
        field in between). The last value wins; the cloud sees both in order or only the
        last, never the first after the last; the other field's edit is not lost."""
        def scenario(cloud, name):
            cloud.import_cluster(name, pools=(("poola", 3),))
            # The next reads of the cluster take 0.8 s, so the edits, 0.1 s apart, all land
            # while hcr polls it (the first edit wakes that poll).
            cloud.slow_polls(name, 800, 2)
            for body in ({cloud.pools_key: cloud.pools_with_size(cloud.effective_pools(name),
                                                                 "poola", 4)},
                         {cloud.tags_key: {"owner": "alice"}},
                         {cloud.pools_key: cloud.pools_with_size(cloud.effective_pools(name),
                                                                 "poola", 5)}):
                self.assertEqual(self.api.patch(name, body).status, 200)
                time.sleep(0.1)
            seen = cloud.pool_size_history(name, "poola", lambda: self.api.field_state(
                name, cloud.size_path("poola"), "in_sync") and self.api.field_state(
                name, cloud.tag_path("owner"), "in_sync"))
            cloud.wait_polls(name, 2)
            self.assertIn(seen, ([3, 4, 5], [3, 5]), "sizes the cloud showed")
            self.assertEqual(cloud.cloud_pool_size(name, "poola"), 5)
            self.assertEqual(cloud.cloud_tags(name).get("owner"), "alice")
            self.assertEqual(cloud.cloud_tags(name).get("team"), "payments")
            self.assertIn(len(cloud.writes(name, "size", accepted=True)), (1, 2),
                          cloud.writes(name))
            self.assertEqual(len(cloud.writes(name, "tags", accepted=True)), 1,
                             cloud.writes(name))
            self.assertEqual(self.api.field(name, cloud.size_path("poola"))["desired"], 5)
            self.assertEqual(self.api.cluster(name)["drift"], [])
        self.each("edit2", scenario)

    def test_edit_made_during_an_operation_is_not_lost(self):
        """The engine's own (Rancher's "Updating" was spec != appliedSpec, so an edit during
        an update was folded into a guess). hcr: the running upgrade completes with the
        value it carried, and a pool size edited while it ran is pushed afterwards, never
        adopted away or dropped."""
        def scenario(cloud, name):
            cloud.import_cluster(name, pools=(("poola", 3),))
            self.assertEqual(self.api.patch(name, {"kubernetesVersion": cloud.version_new})
                             .status, 200)
            self.wait_writes(cloud, name, "version")
            pools = cloud.pools_with_size(cloud.effective_pools(name), "poola", 6)
            self.assertEqual(self.api.patch(name, {cloud.pools_key: pools}).status, 200)
            self.assertTrue(cloud.operation_running(name),
                            "the upgrade ended before the edit; the scenario was not played")
            self.wait_field(name, "kubernetesVersion", "in_sync")
            self.wait_field(name, cloud.size_path("poola"), "in_sync")
            cloud.wait_polls(name, 2)
            self.assertEqual(vkey(cloud.cloud_version(name))[:2], vkey(cloud.version_new)[:2])
            self.assertEqual(cloud.cloud_pool_size(name, "poola"), 6)
            self.assertEqual(len(cloud.writes(name, "version", accepted=True)), 1,
                             cloud.writes(name))
            self.assertEqual(len(cloud.writes(name, "size", accepted=True)), 1,
                             cloud.writes(name))
            self.assertFalse([e for e in self.api.events(name, "adopted")
                              if e.get("path") == cloud.size_path("poola")])
            self.assertEqual(self.api.field(name, cloud.size_path("poola"))["desired"], 6)
        self.each("during", scenario)


if __name__ == "__main__":
    unittest.main()
