"""The EKS emulator (tests/emulators/eksemu.py), driven with boto3 as the client.

botocore parses every answer with the same EKS model the emulator was written from, so a
wrong path, member name, status or error shape shows up here as a client-side failure.
Lifecycles are driven with the emulator's clock (POST /admin/clock); nothing sleeps.
"""

import base64
import datetime
import json
import os
import sys
import time
import unittest
from unittest import mock
import urllib.error
import urllib.parse
import urllib.request

from harness import ROOT, EksEmulator

sys.path.insert(0, os.path.join(ROOT, "tests", "emulators"))
import eksemu  # noqa: E402  (its signer, checked against the official test vectors)

try:
    import boto3
    import botocore
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config
    from botocore.credentials import Credentials
    from botocore.exceptions import ClientError
    HAVE_BOTO = True
except ImportError:  # pragma: no cover - depends on the machine
    HAVE_BOTO = False

try:
    from awscli.customizations.eks.get_token import TokenGenerator as AwscliTokenGenerator
except Exception:  # awscli is optional: the replica below does the same
    AwscliTokenGenerator = None

NEEDS_BOTO = "boto3/botocore are not installed; they are the client these tests drive " \
             "the emulator with (pip install boto3)"

KEY = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)
SESSION_KEY = ("ASIAEXAMPLESESSION", "c2Vzc2lvbi1zZWNyZXQtZXhhbXBsZS1rZXk", "FwoGZXIvYXdzEXAMPLETOKEN")
ROLE = "arn:aws:iam::123456789012:role/eks-cluster"
NODE_ROLE = "arn:aws:iam::123456789012:role/eks-node"
VPC = {"subnetIds": ["subnet-a", "subnet-b"]}


def k8s_token(sts, cluster):
    """A k8s-aws-v1 token made the way `aws eks get-token` makes it
    (awscli/customizations/eks/get_token.py): a presigned GetCallerIdentity URL whose
    signature covers an x-k8s-aws-id header, base64url without padding."""
    def retrieve(params, context, **_):
        if "x-k8s-aws-id" in params:
            context["x-k8s-aws-id"] = params.pop("x-k8s-aws-id")

    def inject(request, **_):
        if "x-k8s-aws-id" in request.context:
            request.headers["x-k8s-aws-id"] = request.context["x-k8s-aws-id"]

    sts.meta.events.register("provide-client-params.sts.GetCallerIdentity", retrieve)
    sts.meta.events.register("before-sign.sts.GetCallerIdentity", inject)
    if AwscliTokenGenerator is not None:
        return AwscliTokenGenerator(sts).get_token(cluster)
    url = sts.generate_presigned_url("get_caller_identity", Params={"x-k8s-aws-id": cluster},
                                     ExpiresIn=60, HttpMethod="GET")
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def token_url(token):
    b64 = token[len("k8s-aws-v1."):]
    return base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).decode()


def http(method, url, body=None, headers=None):
    """(status, headers, raw body) with urllib; errors are answers, not exceptions."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


@unittest.skipUnless(HAVE_BOTO, NEEDS_BOTO)
class EksEmulatorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = EksEmulator(keys=[KEY, SESSION_KEY])
        cls.eks = cls.client("eks")
        cls.eks_eu = cls.client("eks", region="eu-west-1")

    @classmethod
    def tearDownClass(cls):
        cls.emu.destroy()

    def setUp(self):
        self.emu.reset()

    @classmethod
    def client(cls, service, key=KEY, region="us-east-1", endpoint=None):
        # total_max_attempts=1: no retries ("max_attempts" would count retries only).
        return boto3.client(service, region_name=region, endpoint_url=endpoint or cls.emu.url,
                            aws_access_key_id=key[0], aws_secret_access_key=key[1],
                            aws_session_token=key[2],
                            config=Config(retries={"total_max_attempts": 1}))

    # -- helpers --

    def assertClientError(self, code, fn, *args, message=None, status=None, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kwargs)
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], code, cm.exception.response)
        if message is not None:
            self.assertIn(message, err["Message"])
        if status is not None:
            self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], status)
        return cm.exception.response

    def create_active(self, name="demo", version="1.29", **extra):
        self.eks.create_cluster(name=name, version=version, roleArn=ROLE,
                                resourcesVpcConfig=VPC, **extra)
        self.emu.advance(601)
        return self.eks.describe_cluster(name=name)["cluster"]

    def add_nodegroup(self, cluster="demo", name="ng-a", **extra):
        ng = self.eks.create_nodegroup(clusterName=cluster, nodegroupName=name,
                                       subnets=["subnet-a"], nodeRole=NODE_ROLE, **extra)
        return ng["nodegroup"]

    def signed(self, method, path, body=None, key=KEY, region="us-east-1", when=None,
               service="eks", headers=None):
        """A request signed by botocore's SigV4 signer (optionally at a pinned time), sent
        with urllib: (status, headers, raw body)."""
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        h = {"Content-Type": "application/json"} if data else {}
        h.update(headers or {})
        req = AWSRequest(method=method, url=self.emu.url + path, data=data, headers=h)
        auth = SigV4Auth(Credentials(*key), service, region)
        stamp = when or datetime.datetime.now(datetime.timezone.utc)
        req.context["timestamp"] = stamp.strftime("%Y%m%dT%H%M%SZ")
        auth._modify_request_before_signing(req)
        cr = auth.canonical_request(req)
        auth._inject_signature_to_request(req, auth.signature(auth.string_to_sign(req, cr), req))
        p = req.prepare()
        return http(method, p.url, p.body, dict(p.headers))

    def calls(self, op):
        return [c for c in self.emu.calls() if c["operation"] == op]

    # -- clusters --

    def test_create_cluster_runs_creating_then_active_on_the_clock(self):
        c = self.eks.create_cluster(name="demo", version="1.29", roleArn=ROLE,
                                    resourcesVpcConfig=VPC, tags={"team": "payments"})["cluster"]
        self.assertEqual(c["status"], "CREATING")
        self.assertNotIn("endpoint", c)  # no API server yet
        self.emu.advance(300)
        self.assertEqual(self.eks.describe_cluster(name="demo")["cluster"]["status"], "CREATING")
        self.emu.advance(301)
        c = self.eks.describe_cluster(name="demo")["cluster"]
        self.assertEqual(c["status"], "ACTIVE")
        self.assertEqual(c["arn"], "arn:aws:eks:us-east-1:123456789012:cluster/demo")
        self.assertEqual(c["version"], "1.29")
        self.assertEqual(c["roleArn"], ROLE)
        self.assertIsInstance(c["createdAt"], datetime.datetime)
        self.assertRegex(c["endpoint"], r"^https://[0-9A-F]{32}\.gr7\.us-east-1\.eks\.amazonaws\.com$")
        pem = base64.b64decode(c["certificateAuthority"]["data"]).decode()
        self.assertTrue(pem.startswith("-----BEGIN CERTIFICATE-----"))
        self.assertTrue(c["identity"]["oidc"]["issuer"].startswith(
            "https://oidc.eks.us-east-1.amazonaws.com/id/"))
        self.assertRegex(c["platformVersion"], r"^eks\.\d+$")
        vpc = c["resourcesVpcConfig"]
        self.assertEqual(vpc["subnetIds"], ["subnet-a", "subnet-b"])
        self.assertTrue(vpc["endpointPublicAccess"])
        self.assertFalse(vpc["endpointPrivateAccess"])
        self.assertEqual(vpc["publicAccessCidrs"], ["0.0.0.0/0"])
        self.assertTrue(vpc["vpcId"].startswith("vpc-"))
        self.assertTrue(vpc["clusterSecurityGroupId"].startswith("sg-"))
        self.assertEqual(c["kubernetesNetworkConfig"]["ipFamily"], "ipv4")
        self.assertIn("serviceIpv4Cidr", c["kubernetesNetworkConfig"])
        self.assertEqual(c["logging"]["clusterLogging"],
                         [{"types": ["api", "audit", "authenticator", "controllerManager",
                                     "scheduler"], "enabled": False}])
        self.assertEqual(c["tags"], {"team": "payments"})
        self.assertEqual(self.eks.list_clusters()["clusters"], ["demo"])
        self.assertClientError("ResourceInUseException", self.eks.create_cluster, name="demo",
                               roleArn=ROLE, resourcesVpcConfig=VPC, status=409,
                               message="Cluster already exists with name: demo")

    def test_clusters_are_per_region_and_list_pages(self):
        for n in ("a1", "a2", "a3"):
            self.eks.create_cluster(name=n, roleArn=ROLE, resourcesVpcConfig=VPC)
        self.assertEqual(self.eks_eu.list_clusters()["clusters"], [])
        self.assertClientError("ResourceNotFoundException", self.eks_eu.describe_cluster,
                               name="a1", status=404, message="No cluster found for name: a1.")
        names, token, pages = [], None, 0
        while True:
            kw = {"nextToken": token} if token else {}
            r = self.eks.list_clusters(maxResults=1, **kw)
            names += r["clusters"]
            pages += 1
            token = r.get("nextToken")
            if not token:
                break
        self.assertEqual((names, pages), (["a1", "a2", "a3"], 3))
        self.assertClientError("InvalidParameterException", self.eks.list_clusters,
                               nextToken="not-a-token")

    def test_delete_cluster_with_nodegroups_is_refused_then_goes_away(self):
        self.create_active()
        self.add_nodegroup()
        self.assertClientError("ResourceInUseException", self.eks.delete_cluster, name="demo",
                               status=409, message="Cluster has nodegroups attached")
        self.emu.advance(121)
        self.assertEqual(self.eks.delete_nodegroup(clusterName="demo", nodegroupName="ng-a")[
            "nodegroup"]["status"], "DELETING")
        self.assertClientError("ResourceInUseException", self.eks.delete_cluster, name="demo")
        self.emu.advance(121)
        self.assertEqual(self.eks.list_nodegroups(clusterName="demo")["nodegroups"], [])
        self.assertEqual(self.eks.delete_cluster(name="demo")["cluster"]["status"], "DELETING")
        self.assertEqual(self.eks.describe_cluster(name="demo")["cluster"]["status"], "DELETING")
        self.emu.advance(301)
        self.assertClientError("ResourceNotFoundException", self.eks.describe_cluster,
                               name="demo", status=404)

    def test_create_armed_to_fail_ends_failed(self):
        self.emu.admin("POST", "/admin/fail-next", {"kind": "create", "cluster": "bad",
                                                    "errorCode": "VpcNotFound",
                                                    "errorMessage": "vpc is gone"})
        self.eks.create_cluster(name="bad", roleArn=ROLE, resourcesVpcConfig=VPC)
        self.emu.advance(601)
        c = self.eks.describe_cluster(name="bad")["cluster"]
        self.assertEqual(c["status"], "FAILED")
        self.assertEqual(c["health"]["issues"][0]["code"], "VpcNotFound")

    # -- updates --

    def test_version_update_runs_in_progress_then_successful(self):
        self.create_active()
        upd = self.eks.update_cluster_version(name="demo", version="1.30")["update"]
        self.assertEqual((upd["status"], upd["type"]), ("InProgress", "VersionUpdate"))
        self.assertIn({"type": "Version", "value": "1.30"}, upd["params"])
        self.assertTrue(all(isinstance(p["value"], str) for p in upd["params"]))
        c = self.eks.describe_cluster(name="demo")["cluster"]
        self.assertEqual((c["status"], c["version"]), ("UPDATING", "1.29"))
        # A second update while one runs: the real API's 409 and message.
        r = self.assertClientError(
            "ResourceInUseException", self.eks.update_cluster_config, name="demo",
            logging={"clusterLogging": [{"types": ["api"], "enabled": True}]}, status=409)
        self.assertEqual(r["Error"]["Message"], f"Cannot LoggingUpdate because cluster demo "
                                                f"currently has update {upd['id']} in progress")
        self.assertEqual(r["clusterName"], "demo")
        # Tags stay editable during an update.
        self.eks.tag_resource(resourceArn=c["arn"], tags={"during": "update"})
        self.emu.advance(61)
        done = self.eks.describe_update(name="demo", updateId=upd["id"])["update"]
        self.assertEqual((done["status"], done["errors"]), ("Successful", []))
        c = self.eks.describe_cluster(name="demo")["cluster"]
        self.assertEqual((c["status"], c["version"]), ("ACTIVE", "1.30"))
        self.assertEqual(c["tags"], {"during": "update"})
        self.assertEqual(self.eks.list_updates(name="demo")["updateIds"], [upd["id"]])

    def test_version_skip_and_mixed_config_update_are_refused(self):
        self.create_active()
        self.assertClientError("InvalidParameterException", self.eks.update_cluster_version,
                               name="demo", version="1.31", status=400,
                               message="Unsupported Kubernetes minor version update from "
                                       "1.29 to 1.31")
        self.assertClientError("InvalidParameterException", self.eks.update_cluster_config,
                               name="demo", resourcesVpcConfig={"endpointPrivateAccess": True},
                               logging={"clusterLogging": [{"types": ["api"],
                                                            "enabled": True}]},
                               status=400, message="Only one type of update can be allowed.")
        self.assertEqual(self.eks.list_updates(name="demo")["updateIds"], [])

    def test_config_update_applies_when_it_completes(self):
        self.create_active()
        upd = self.eks.update_cluster_config(
            name="demo", resourcesVpcConfig={"endpointPrivateAccess": True,
                                             "publicAccessCidrs": ["203.0.113.0/24"]})["update"]
        self.assertEqual(upd["type"], "EndpointAccessUpdate")
        self.assertIn({"type": "EndpointPrivateAccess", "value": "true"}, upd["params"])
        self.assertFalse(self.eks.describe_cluster(name="demo")["cluster"][
            "resourcesVpcConfig"]["endpointPrivateAccess"])
        self.emu.advance(61)
        vpc = self.eks.describe_cluster(name="demo")["cluster"]["resourcesVpcConfig"]
        self.assertTrue(vpc["endpointPrivateAccess"])
        self.assertEqual(vpc["publicAccessCidrs"], ["203.0.113.0/24"])
        upd = self.eks.update_cluster_config(name="demo", logging={"clusterLogging": [
            {"types": ["api", "audit"], "enabled": True}]})["update"]
        self.assertEqual(upd["type"], "LoggingUpdate")
        self.emu.advance(61)
        self.assertEqual(self.eks.describe_cluster(name="demo")["cluster"]["logging"][
            "clusterLogging"][0], {"types": ["api", "audit"], "enabled": True})

    def test_update_armed_to_fail_ends_failed_with_the_error(self):
        self.create_active()
        self.emu.admin("POST", "/admin/fail-next", {
            "kind": "update", "cluster": "demo", "errorCode": "ClusterUnreachable",
            "errorMessage": "the control plane could not be reached"})
        upd = self.eks.update_cluster_version(name="demo", version="1.30")["update"]
        self.emu.advance(61)
        done = self.eks.describe_update(name="demo", updateId=upd["id"])["update"]
        self.assertEqual(done["status"], "Failed")
        self.assertEqual(done["errors"][0]["errorCode"], "ClusterUnreachable")
        self.assertEqual(done["errors"][0]["errorMessage"], "the control plane could not be reached")
        c = self.eks.describe_cluster(name="demo")["cluster"]
        self.assertEqual((c["status"], c["version"]), ("ACTIVE", "1.29"))

    def test_client_request_token_replays_the_same_update_once(self):
        self.create_active()
        first = self.eks.update_cluster_version(name="demo", version="1.30",
                                                clientRequestToken="tok-1")["update"]
        again = self.eks.update_cluster_version(name="demo", version="1.30",
                                                clientRequestToken="tok-1")["update"]
        self.assertEqual(again["id"], first["id"])
        self.assertEqual(self.eks.list_updates(name="demo")["updateIds"], [first["id"]])
        log = self.calls("UpdateClusterVersion")
        self.assertEqual([c["replay"] for c in log], [False, True])
        self.assertEqual([c["token"] for c in log], ["tok-1", "tok-1"])
        self.assertEqual(self.emu.state("us-east-1", "demo")["replays"], 1)
        self.assertClientError("InvalidRequestException", self.eks.update_cluster_version,
                               name="demo", version="1.31", clientRequestToken="tok-1",
                               status=400)
        # CreateCluster: the same token and request give the same cluster again.
        a = self.eks.create_cluster(name="again", roleArn=ROLE, resourcesVpcConfig=VPC,
                                    clientRequestToken="create-1")["cluster"]
        b = self.eks.create_cluster(name="again", roleArn=ROLE, resourcesVpcConfig=VPC,
                                    clientRequestToken="create-1")["cluster"]
        self.assertEqual((a["arn"], a["createdAt"]), (b["arn"], b["createdAt"]))
        self.assertEqual([c["replay"] for c in self.calls("CreateCluster")][-2:], [False, True])

    # -- nodegroups --

    def test_nodegroup_lifecycle_defaults_and_pages(self):
        self.create_active()
        for n in ("ng-a", "ng-b", "ng-c"):
            self.assertEqual(self.add_nodegroup(name=n)["status"], "CREATING")
        names, token = [], None
        while True:
            kw = {"nextToken": token} if token else {}
            r = self.eks.list_nodegroups(clusterName="demo", maxResults=1, **kw)
            self.assertEqual(len(r["nodegroups"]), 1)
            names += r["nodegroups"]
            token = r.get("nextToken")
            if not token:
                break
        self.assertEqual(names, ["ng-a", "ng-b", "ng-c"])
        self.emu.advance(121)
        ng = self.eks.describe_nodegroup(clusterName="demo", nodegroupName="ng-a")["nodegroup"]
        self.assertEqual(ng["status"], "ACTIVE")
        self.assertEqual((ng["version"], ng["amiType"], ng["capacityType"], ng["diskSize"]),
                         ("1.29", "AL2_x86_64", "ON_DEMAND", 20))
        self.assertEqual(ng["instanceTypes"], ["t3.medium"])
        self.assertTrue(ng["releaseVersion"].startswith("1.29."))
        self.assertEqual(ng["scalingConfig"], {"minSize": 1, "maxSize": 2, "desiredSize": 2})
        self.assertRegex(ng["nodegroupArn"],
                         r"^arn:aws:eks:us-east-1:123456789012:nodegroup/demo/ng-a/[0-9a-f-]{36}$")
        self.assertEqual(ng["clusterName"], "demo")
        self.assertIsInstance(ng["modifiedAt"], datetime.datetime)
        self.assertEqual(ng["health"], {"issues": []})
        self.assertClientError("ResourceInUseException", self.add_nodegroup, name="ng-a",
                               status=409)
        self.eks.delete_nodegroup(clusterName="demo", nodegroupName="ng-a")
        self.emu.advance(121)
        self.assertClientError("ResourceNotFoundException", self.eks.describe_nodegroup,
                               clusterName="demo", nodegroupName="ng-a", status=404)

    def test_nodegroup_config_and_version_updates(self):
        self.create_active()
        self.add_nodegroup(labels={"tier": "web"}, scalingConfig={
            "minSize": 1, "maxSize": 3, "desiredSize": 2})
        self.emu.advance(121)
        self.assertClientError("InvalidParameterException", self.eks.update_nodegroup_config,
                               clusterName="demo", nodegroupName="ng-a",
                               scalingConfig={"desiredSize": 5})
        upd = self.eks.update_nodegroup_config(
            clusterName="demo", nodegroupName="ng-a",
            labels={"addOrUpdateLabels": {"env": "prod"}, "removeLabels": ["tier"]},
            taints={"addOrUpdateTaints": [{"key": "dedicated", "value": "gpu",
                                           "effect": "NO_SCHEDULE"}]},
            scalingConfig={"desiredSize": 3})["update"]
        self.assertEqual(upd["type"], "ConfigUpdate")
        self.assertIn({"type": "DesiredSize", "value": "3"}, upd["params"])
        self.assertIn({"type": "LabelsToAdd", "value": '{"env":"prod"}'}, upd["params"])
        ng = self.eks.describe_nodegroup(clusterName="demo", nodegroupName="ng-a")["nodegroup"]
        self.assertEqual((ng["status"], ng["scalingConfig"]["desiredSize"]), ("UPDATING", 2))
        self.assertEqual(self.eks.describe_cluster(name="demo")["cluster"]["status"], "ACTIVE")
        self.assertClientError("ResourceInUseException", self.eks.update_nodegroup_version,
                               clusterName="demo", nodegroupName="ng-a", status=409,
                               message=f"currently has update {upd['id']} in progress")
        self.assertEqual(self.eks.list_updates(name="demo", nodegroupName="ng-a")["updateIds"],
                         [upd["id"]])
        self.assertEqual(self.eks.list_updates(name="demo")["updateIds"], [])
        self.emu.advance(61)
        self.assertEqual(self.eks.describe_update(name="demo", updateId=upd["id"],
                                                  nodegroupName="ng-a")["update"]["status"],
                         "Successful")
        ng = self.eks.describe_nodegroup(clusterName="demo", nodegroupName="ng-a")["nodegroup"]
        self.assertEqual(ng["status"], "ACTIVE")
        self.assertEqual(ng["labels"], {"env": "prod"})
        self.assertEqual(ng["taints"], [{"key": "dedicated", "value": "gpu",
                                         "effect": "NO_SCHEDULE"}])
        self.assertEqual(ng["scalingConfig"], {"minSize": 1, "maxSize": 3, "desiredSize": 3})
        # Node group versions follow the cluster, never pass it.
        self.assertClientError("InvalidParameterException", self.eks.update_nodegroup_version,
                               clusterName="demo", nodegroupName="ng-a", version="1.30")
        self.eks.update_cluster_version(name="demo", version="1.30")
        self.emu.advance(61)
        upd = self.eks.update_nodegroup_version(clusterName="demo", nodegroupName="ng-a",
                                                clientRequestToken="ng-tok")["update"]
        self.assertIn({"type": "Version", "value": "1.30"}, upd["params"])
        # A retry with the same token gets the running update back, not a 409.
        again = self.eks.update_nodegroup_version(clusterName="demo", nodegroupName="ng-a",
                                                  clientRequestToken="ng-tok")["update"]
        self.assertEqual(again["id"], upd["id"])
        self.assertEqual(self.calls("UpdateNodegroupVersion")[-1]["replay"], True)
        self.emu.advance(61)
        ng = self.eks.describe_nodegroup(clusterName="demo", nodegroupName="ng-a")["nodegroup"]
        self.assertEqual(ng["version"], "1.30")
        self.assertTrue(ng["releaseVersion"].startswith("1.30."))

    # -- tags --

    def test_tags_on_cluster_and_nodegroup_arns(self):
        c = self.create_active(tags={"team": "a"})
        ng = self.add_nodegroup(tags={"pool": "x"})
        for arn, first in ((c["arn"], {"team": "a"}), (ng["nodegroupArn"], {"pool": "x"})):
            self.assertEqual(self.eks.list_tags_for_resource(resourceArn=arn)["tags"], first)
            self.eks.tag_resource(resourceArn=arn, tags={"owner": "alice", "cost": "42"})
            self.eks.untag_resource(resourceArn=arn, tagKeys=["cost", list(first)[0]])
            self.assertEqual(self.eks.list_tags_for_resource(resourceArn=arn)["tags"],
                             {"owner": "alice"})
        self.assertEqual(self.eks.describe_nodegroup(clusterName="demo", nodegroupName="ng-a")[
            "nodegroup"]["tags"], {"owner": "alice"})
        self.assertClientError("BadRequestException", self.eks.tag_resource,
                               resourceArn=c["arn"], tags={"aws:reserved": "x"}, status=400)
        self.assertClientError("NotFoundException", self.eks.list_tags_for_resource,
                               resourceArn=c["arn"].replace("/demo", "/ghost"), status=404)
        # The ARN goes on the wire as one %-encoded label.
        path = [cl["path"] for cl in self.calls("ListTagsForResource")][0]
        self.assertTrue(path.startswith("/tags/arn%3Aaws%3Aeks%3Aus-east-1%3A"), path)

    # -- validation and the wire --

    def test_validation_errors_name_the_member(self):
        status, h, raw = self.signed("POST", "/clusters", {
            "name": "x1", "resourcesVpcConfig": VPC})
        self.assertEqual((status, h["x-amzn-ErrorType"]), (400, "InvalidParameterException"))
        body = json.loads(raw)
        self.assertIn("roleArn", body["message"])
        self.assertIn("clusterName", body)
        status, h, raw = self.signed("POST", "/clusters", {
            "name": "x1", "roleArn": ROLE, "resourcesVpcConfig": {"subnetIds": "subnet-a"}})
        self.assertEqual(status, 400)
        self.assertIn("resourcesVpcConfig.subnetIds", json.loads(raw)["message"])
        status, h, raw = self.signed("POST", "/clusters", {
            "name": "bad name", "roleArn": ROLE, "resourcesVpcConfig": VPC})
        self.assertEqual((status, h["x-amzn-ErrorType"]), (400, "InvalidParameterException"))
        status, h, raw = self.signed("POST", "/clusters", b"{not json")
        self.assertEqual((status, h["x-amzn-ErrorType"]), (400, "SerializationException"))
        self.create_active()
        self.assertClientError("InvalidParameterException", self.add_nodegroup,
                               scalingConfig={"minSize": 3, "maxSize": 2, "desiredSize": 2})
        self.assertClientError("InvalidParameterException", self.add_nodegroup,
                               version="1.30", message="1.30")
        self.assertClientError("InvalidParameterException", self.eks.create_nodegroup,
                               clusterName="demo", nodegroupName="ng-t", subnets=["s"],
                               nodeRole=NODE_ROLE,
                               taints=[{"key": "k", "value": "v", "effect": "NO_SCHEDULE"}],
                               tags={"aws:x": "y"})
        status, h, raw = self.signed("POST", "/clusters/demo/node-groups", {
            "nodegroupName": "ng-t", "subnets": ["s"], "nodeRole": NODE_ROLE,
            "taints": [{"key": "k", "effect": "NO_WAY"}]})
        self.assertEqual(status, 400)
        self.assertIn("taints[0].effect", json.loads(raw)["message"])

    def test_unknown_route_is_a_json_404_with_a_request_id(self):
        status, h, raw = http("GET", self.emu.url + "/nope/at/all")
        self.assertEqual((status, h["x-amzn-ErrorType"]), (404, "UnknownOperationException"))
        self.assertIn("message", json.loads(raw))
        self.assertTrue(h["x-amzn-RequestId"])
        self.assertEqual(h["Content-Type"], "application/json")

    # -- SigV4 --

    def test_signatures_are_checked(self):
        bad_secret = self.client("eks", key=(KEY[0], "wrong-secret", None))
        r = self.assertClientError("InvalidSignatureException", bad_secret.list_clusters,
                                   status=403, message="The request signature we calculated "
                                                       "does not match the signature you provided")
        self.assertIn("Canonical String", r["Error"]["Message"])
        unknown = self.client("eks", key=("AKIAUNKNOWNKEY", "x", None))
        self.assertClientError("UnrecognizedClientException", unknown.list_clusters, status=403,
                               message="The security token included in the request is invalid.")
        status, h, raw = http("GET", self.emu.url + "/clusters")
        self.assertEqual((status, h["x-amzn-ErrorType"]),
                         (403, "MissingAuthenticationTokenException"))
        # A correctly signed request made 10 minutes ago.
        stale = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)
        status, h, raw = self.signed("GET", "/clusters", when=stale)
        self.assertEqual((status, h["x-amzn-ErrorType"]), (403, "InvalidSignatureException"))
        self.assertIn("Signature expired", json.loads(raw)["message"])
        status, _, raw = self.signed("GET", "/clusters")
        self.assertEqual((status, json.loads(raw)), (200, {"clusters": []}))
        # Signed for another service.
        status, h, _ = self.signed("GET", "/clusters", service="ec2")
        self.assertEqual((status, h["x-amzn-ErrorType"]), (403, "InvalidSignatureException"))
        # The clock offset moves lifecycles, never the signature window.
        self.emu.advance(3600)
        self.assertEqual(self.eks.list_clusters()["clusters"], [])

    def test_session_token_keys(self):
        with_token = self.client("eks", key=SESSION_KEY)
        self.assertEqual(with_token.list_clusters()["clusters"], [])
        without = self.client("eks", key=(SESSION_KEY[0], SESSION_KEY[1], None))
        self.assertClientError("UnrecognizedClientException", without.list_clusters, status=403)
        wrong = self.client("eks", key=(SESSION_KEY[0], SESSION_KEY[1], "other-token"))
        self.assertClientError("UnrecognizedClientException", wrong.list_clusters, status=403)
        self.assertEqual(self.calls("ListClusters")[0]["accessKeyId"], SESSION_KEY[0])

    # -- STS and Kubernetes tokens --

    def test_presigned_get_caller_identity_and_kube_tokens(self):
        self.create_active()
        sts = self.client("sts")
        token = k8s_token(sts, "demo")
        self.assertTrue(token.startswith("k8s-aws-v1."))
        url = token_url(token)
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        self.assertEqual(q["X-Amz-SignedHeaders"], "host;x-k8s-aws-id")
        status, h, raw = http("GET", url, headers={"x-k8s-aws-id": "demo"})
        self.assertEqual(status, 200, raw)
        self.assertTrue(h["Content-Type"].startswith("text/xml"))
        self.assertIn(b"<Account>123456789012</Account>", raw)
        self.assertIn(b"<Arn>arn:aws:iam::123456789012:user/hcr-test</Arn>", raw)
        # The header is part of the signature: another cluster's id does not verify.
        status, _, raw = http("GET", url, headers={"x-k8s-aws-id": "other"})
        self.assertEqual(status, 403)
        self.assertIn(b"<Code>SignatureDoesNotMatch</Code>", raw)
        self.assertIn(b"<Type>Sender</Type>", raw)
        tampered = url.replace("X-Amz-Expires=60", "X-Amz-Expires=900")
        status, _, raw = http("GET", tampered, headers={"x-k8s-aws-id": "demo"})
        self.assertEqual(status, 403)
        # What the cluster's authenticator decides.
        status, out = self.emu.admin("POST", "/admin/kube-token", {"token": token,
                                                                   "cluster": "demo"})
        self.assertEqual(status, 200)
        self.assertTrue(out["valid"], out)
        self.assertEqual(out["arn"], "arn:aws:iam::123456789012:user/hcr-test")
        _, out = self.emu.admin("POST", "/admin/kube-token", {"token": token, "cluster": "prod"})
        self.assertFalse(out["valid"])
        bad = "k8s-aws-v1." + base64.urlsafe_b64encode(tampered.encode()).decode().rstrip("=")
        _, out = self.emu.admin("POST", "/admin/kube-token", {"token": bad, "cluster": "demo"})
        self.assertFalse(out["valid"])
        self.assertIn("SignatureDoesNotMatch", out["reason"])
        seen = self.emu.state("us-east-1", "demo")["tokens"]
        self.assertEqual([t["valid"] for t in seen], [True, True, False])
        # The plain (header-signed) STS call works too.
        self.assertEqual(self.client("sts").get_caller_identity()["Account"], "123456789012")

    def test_session_token_kube_token(self):
        self.create_active()
        token = k8s_token(self.client("sts", key=SESSION_KEY), "demo")
        self.assertIn("X-Amz-Security-Token", token_url(token))
        _, out = self.emu.admin("POST", "/admin/kube-token", {"token": token, "cluster": "demo"})
        self.assertTrue(out["valid"], out)
        self.assertEqual(out["accessKeyId"], SESSION_KEY[0])

    def test_kube_token_for_the_real_sts_host_and_expiry(self):
        # Presigning needs no network: a token for https://sts.us-east-1.amazonaws.com is
        # checked offline, as the cluster's authenticator would check it.
        real = boto3.client("sts", region_name="us-east-1", aws_access_key_id=KEY[0],
                            aws_secret_access_key=KEY[1])
        token = k8s_token(real, "demo")
        self.assertTrue(token_url(token).startswith("https://sts.us-east-1.amazonaws.com/"))
        _, out = self.emu.admin("POST", "/admin/kube-token", {"token": token, "cluster": "demo"})
        self.assertTrue(out["valid"], out)
        self.assertFalse(out["clusterFound"])
        old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
        with mock.patch("botocore.auth.get_current_datetime", return_value=old):
            stale = k8s_token(real, "demo")
        _, out = self.emu.admin("POST", "/admin/kube-token", {"token": stale, "cluster": "demo"})
        self.assertFalse(out["valid"])
        self.assertIn("expired", out["reason"])
        _, out = self.emu.admin("POST", "/admin/kube-token", {"token": "Bearer xyz",
                                                              "cluster": "demo"})
        self.assertFalse(out["valid"])

    # -- faults --

    def test_faults(self):
        self.create_active()
        self.emu.admin("POST", "/admin/faults", {"operation": "DescribeCluster", "status": 429})
        self.assertClientError("ThrottlingException", self.eks.describe_cluster, name="demo",
                               status=429, message="Rate exceeded")
        self.assertEqual(self.eks.describe_cluster(name="demo")["cluster"]["name"], "demo")
        self.emu.admin("POST", "/admin/faults", {"operation": "*", "status": 500, "count": 2,
                                                 "cluster": "demo"})
        self.assertClientError("ServerException", self.eks.describe_cluster, name="demo",
                               status=500)
        self.assertEqual(self.eks.list_clusters()["clusters"], ["demo"])  # not filtered in
        self.assertClientError("ServerException", self.eks.list_nodegroups, clusterName="demo")
        self.emu.admin("POST", "/admin/faults", {"operation": "DescribeCluster", "status": 503,
                                                 "code": "ServiceUnavailableException",
                                                 "message": "try later"})
        self.assertClientError("ServiceUnavailableException", self.eks.describe_cluster,
                               name="demo", status=503, message="try later")
        self.emu.admin("POST", "/admin/faults", {"operation": "DescribeCluster",
                                                 "malformed": True})
        r = self.eks.describe_cluster(name="demo")  # botocore cannot parse it: no "cluster"
        self.assertNotIn("cluster", r)
        self.emu.admin("POST", "/admin/faults", {"operation": "ListClusters", "latency_ms": 300})
        t0 = time.monotonic()
        self.assertEqual(self.eks.list_clusters()["clusters"], ["demo"])
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)
        self.emu.admin("POST", "/admin/faults", {"operation": "DescribeCluster", "drop": True})
        with self.assertRaises(botocore.exceptions.HTTPClientError):
            self.eks.describe_cluster(name="demo")
        self.assertEqual(self.emu.admin("GET", "/admin/faults")[1]["faults"], [])
        self.assertEqual([c["status"] for c in self.calls("DescribeCluster")][-6:],
                         [429, 200, 500, 503, 200, 0])

    def test_admin_cluster_made_elsewhere_and_console_changes(self):
        self.emu.add_cluster("eu-west-1", {"name": "imported", "version": "1.28",
                                           "tags": {"owner": "ops"}},
                             nodegroups=[{"nodegroupName": "ng-1",
                                          "scalingConfig": {"minSize": 1, "maxSize": 5,
                                                            "desiredSize": 4}}])
        c = self.eks_eu.describe_cluster(name="imported")["cluster"]
        self.assertEqual((c["status"], c["version"], c["tags"]), ("ACTIVE", "1.28",
                                                                   {"owner": "ops"}))
        ng = self.eks_eu.describe_nodegroup(clusterName="imported", nodegroupName="ng-1")[
            "nodegroup"]
        self.assertEqual((ng["status"], ng["version"], ng["scalingConfig"]["desiredSize"]),
                         ("ACTIVE", "1.28", 4))
        status, _ = self.emu.admin("PATCH", "/admin/clusters/eu-west-1/imported",
                                   {"tags": {"owner": None, "cost": "7"}})
        self.assertEqual(status, 200)
        self.assertEqual(self.eks_eu.describe_cluster(name="imported")["cluster"]["tags"],
                         {"cost": "7"})
        self.emu.admin("POST", "/admin/clusters/eu-west-1/imported/nodegroups",
                       {"nodegroupName": "ng-2"})
        self.assertEqual(self.eks_eu.list_nodegroups(clusterName="imported")["nodegroups"],
                         ["ng-1", "ng-2"])
        self.emu.admin("DELETE", "/admin/clusters/eu-west-1/imported/nodegroups/ng-2")
        self.assertEqual(self.eks_eu.list_nodegroups(clusterName="imported")["nodegroups"],
                         ["ng-1"])
        self.assertEqual(self.eks.list_clusters()["clusters"], [])


class SigV4VectorsTest(unittest.TestCase):
    """The emulator's own SigV4 code against published signatures (no boto needed)."""

    SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    def signature(self, host, path, query, scope):
        values = {"host": [host], "x-amz-date": ["20150830T123600Z"]}
        cr = eksemu.canonical_request("GET", path,
                                      eksemu.canonical_query(eksemu.query_pairs(query)),
                                      values.get, ["host", "x-amz-date"], eksemu.EMPTY_SHA256)
        return eksemu.sign(self.SECRET, "20150830T123600Z", scope, cr)[0]

    def test_aws_sig_v4_test_suite(self):
        scope = "20150830/us-east-1/service/aws4_request"
        self.assertEqual(self.signature("example.amazonaws.com", "/", "", scope),
                         "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        self.assertEqual(self.signature("example.amazonaws.com", "/",
                                        "Param2=value2&Param1=value1", scope),
                         "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")

    def test_eks_describe_cluster_golden(self):
        self.assertEqual(self.signature("eks.us-east-1.amazonaws.com", "/clusters/demo", "",
                                        "20150830/us-east-1/eks/aws4_request"),
                         "01c6b412d60b7849e42338d70fd0afb57907233f659df6945b790709db8ccd50")

    def test_arn_labels_are_encoded_again(self):
        self.assertEqual(eksemu.canonical_uri("/tags/arn%3Aaws%3Aeks%3Aus-east-1%3A1%3Acluster%2Fx"),
                         "/tags/arn%253Aaws%253Aeks%253Aus-east-1%253A1%253Acluster%252Fx")


@unittest.skipUnless(HAVE_BOTO, NEEDS_BOTO)
class EksEmulatorRateLimitTest(unittest.TestCase):
    def test_rate_limit_answers_throttling(self):
        emu = EksEmulator(rate_per_s=0.2)
        try:
            eks = boto3.client("eks", region_name="us-east-1", endpoint_url=emu.url,
                               aws_access_key_id=KEY[0], aws_secret_access_key=KEY[1],
                               config=Config(retries={"total_max_attempts": 1}))
            codes = []
            for _ in range(4):
                try:
                    eks.list_clusters()
                    codes.append("ok")
                except ClientError as e:
                    codes.append(e.response["Error"]["Code"])
            self.assertEqual(codes[0], "ok")
            self.assertIn("ThrottlingException", codes)
            self.assertIn(429, [c["status"] for c in emu.calls()])
        finally:
            emu.destroy()


@unittest.skipUnless(HAVE_BOTO, NEEDS_BOTO)
class EksEmulatorNoAuthTest(unittest.TestCase):
    def test_no_auth_uses_the_region_header(self):
        emu = EksEmulator(extra=["--no-auth"], create_seconds=0)
        try:
            body = json.dumps({"name": "open", "roleArn": ROLE,
                               "resourcesVpcConfig": VPC}).encode()
            status, _, raw = http("POST", emu.url + "/clusters", body,
                                  {"Content-Type": "application/json",
                                   "X-Emu-Region": "ap-south-1"})
            self.assertEqual(status, 200, raw)
            self.assertEqual(json.loads(raw)["cluster"]["arn"],
                             "arn:aws:eks:ap-south-1:123456789012:cluster/open")
            status, _, raw = http("GET", emu.url + "/clusters/open",
                                  headers={"X-Emu-Region": "ap-south-1"})
            self.assertEqual(json.loads(raw)["cluster"]["status"], "ACTIVE")
            status, _, _ = http("GET", emu.url + "/clusters/open")
            self.assertEqual(status, 404)  # us-east-1
        finally:
            emu.destroy()


if __name__ == "__main__":
    unittest.main()
