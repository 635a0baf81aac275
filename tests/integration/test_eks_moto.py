"""EKS against moto_server: a second opinion on hcr's EKS provider.

moto was written by others from the same AWS API, so where hcr and our own
emulator could share a misreading of the model, moto would not. It lacks
ListUpdates, DescribeUpdate, UpdateClusterVersion and UpdateNodegroupVersion
(docs/providers/eks.md), and answers updates as already Successful, so hcr runs
here with providers.eks.list_updates off and only the observe, tag, scaling and
discovery paths are compared. The rest runs only against tests/emulators/eksemu.py
(test_eks.py).
"""

import unittest

from harness import Hcr, MotoServer, Postgres, have_moto, stop_and_check, wait_for

REGION = "us-west-2"
ROLE = "arn:aws:iam::123456789012:role/eks-cluster"


@unittest.skipUnless(have_moto(), "moto_server and boto3 are not installed")
class EksMotoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.moto = MotoServer()
        cls.eks = cls.moto.eks(REGION)
        for name in ("moto-a", "moto-b"):
            cls.eks.create_cluster(
                name=name, version="1.29", roleArn=ROLE, tags={"team": "core", "env": "dev"},
                resourcesVpcConfig={"subnetIds": ["subnet-1", "subnet-2"],
                                    "endpointPublicAccess": True})
        cls.eks.create_nodegroup(
            clusterName="moto-a", nodegroupName="ng-1", subnets=["subnet-1"],
            nodeRole="arn:aws:iam::123456789012:role/node", labels={"role": "web"},
            scalingConfig={"minSize": 1, "maxSize": 5, "desiredSize": 2})
        env = {"HCR_EKS_ENDPOINT": cls.moto.url, "HCR_EKS_LIST_UPDATES": "false",
               "HCR_EKS_POLL_INTERVAL_S": "2", "HCR_RECONCILE_OP_POLL_MS": "200"}
        cls.hcr = Hcr("run", database_url=cls.pg.url, env=env)
        cls.hcr.wait_ready()
        r = cls.hcr.request("POST", "/v1/credentials", {
            "name": "aws", "provider": "eks",
            "eks": {"accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                    "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}})
        assert r.status == 201, r
        r = cls.hcr.request("POST", "/v1/clusters", {
            "name": "moto-a", "provider": "eks", "imported": True, "region": REGION,
            "credential": "aws"})
        assert r.status == 201, r

    @classmethod
    def tearDownClass(cls):
        stop_and_check(cls.hcr, cls.moto, cls.pg)

    def cluster(self):
        return self.hcr.request("GET", "/v1/clusters/moto-a").json

    def observed(self):
        c = self.cluster()
        return c if c.get("observed") and c["state"] == "active" else None

    def patch(self, body):
        version = self.cluster()["version"]
        r = self.hcr.request("PATCH", "/v1/clusters/moto-a/config", body,
                             headers={"If-Match": f'"{version}"'})
        self.assertEqual(r.status, 200, r)

    def in_sync(self, path):
        for f in self.cluster()["fields"]:
            if f["path"] == path and f["state"] == "in_sync":
                return f
        return None

    def test_1_observe(self):
        c = wait_for(self.observed, timeout=20, what="moto-a observed")
        obs = c["observed"]
        self.assertEqual(obs["kubernetesVersion"], "1.29")
        self.assertEqual(obs["tags"], {"team": "core", "env": "dev"})
        self.assertEqual(obs["serviceRole"], ROLE)
        self.assertEqual(obs["subnets"], ["subnet-1", "subnet-2"])
        ng = obs["nodeGroups"][0]
        self.assertEqual(ng["nodegroupName"], "ng-1")
        self.assertEqual((ng["desiredSize"], ng["minSize"], ng["maxSize"]), (2, 1, 5))
        self.assertEqual(ng["labels"], {"role": "web"})

    def test_2_tags(self):
        wait_for(self.observed, timeout=20, what="moto-a observed")
        self.patch({"tags": {"owner": "alice", "env": None}})
        wait_for(lambda: self.in_sync("tags.owner") and self.in_sync("tags.env"), timeout=20,
                 what="tags in sync")
        arn = self.eks.describe_cluster(name="moto-a")["cluster"]["arn"]
        self.assertEqual(self.eks.list_tags_for_resource(resourceArn=arn)["tags"],
                         {"team": "core", "owner": "alice"})

    def test_3_scaling(self):
        wait_for(self.observed, timeout=20, what="moto-a observed")
        ngs = self.cluster()["effective"]["nodeGroups"]
        ngs[0]["desiredSize"] = 4
        self.patch({"nodeGroups": ngs})
        wait_for(lambda: self.in_sync("nodeGroups[ng-1].desiredSize"), timeout=20,
                 what="size in sync")
        sc = self.eks.describe_nodegroup(clusterName="moto-a",
                                         nodegroupName="ng-1")["nodegroup"]["scalingConfig"]
        self.assertEqual(sc, {"minSize": 1, "maxSize": 5, "desiredSize": 4})

    def test_4_discovery(self):
        r = self.hcr.request("POST", "/v1/discover", {"provider": "eks", "credential": "aws",
                                                      "region": REGION})
        self.assertEqual(r.status, 200, r)
        found = {c["cloudName"]: c for c in r.json["clusters"]}
        self.assertEqual(sorted(found), ["moto-a", "moto-b"])
        self.assertTrue(found["moto-a"]["registered"])
        self.assertFalse(found["moto-b"]["registered"])
        self.assertEqual(found["moto-b"]["version"], "1.29")
