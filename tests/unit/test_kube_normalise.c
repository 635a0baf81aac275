/*
 * Unit tests for src/kube_normalise.c: one test per row of the normalisation
 * table in docs/sync/normalisation.md (the field gone, its neighbours kept),
 * the transforms of a create, every skip rule, Secret masking and the content
 * hash. The table rows are data; each row runs as a test of its own name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/error.h"
#include "hcr/kube_norm.h"
#include "testutil.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

typedef struct norm_case {
	const char *name;
	const char *in;
	unsigned int flags;
	const char *want;
} norm_case;

static void assert_json_equal(json_t *got, json_t *want)
{
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY);
		char *w = json_dumps(want, JSON_SORT_KEYS | JSON_ENCODE_ANY);

		fail_msg("got  %s\nwant %s", g, w);
	}
}

/* Metadata around the field under test, so that each row also shows its neighbours kept. */
#define META "'name':'a','namespace':'ns','labels':{'app':'web'}"
#define CM(meta_extra, rest) \
	"{'apiVersion':'v1','kind':'ConfigMap','metadata':{" META meta_extra "}" rest "}"

#define ANNOTATION_ROW(key)                                                                       \
	{                                                                                         \
		"strips_annotation " key, CM(",'annotations':{'" key "':'x','team':'a'}", ""), 0, \
			CM(",'annotations':{'team':'a'}", "")                                     \
	}

/* hcr_kube_normalise: the compare table. */
static const norm_case compare_rows[] = {
	{"strips_metadata_uid", CM(",'uid':'0c1d'", ",'data':{'k':'v'}"), 0,
	 CM("", ",'data':{'k':'v'}")},
	{"strips_metadata_resourceVersion", CM(",'resourceVersion':'42'", ""), 0, CM("", "")},
	{"strips_metadata_selfLink", CM(",'selfLink':'/api/v1/x'", ""), 0, CM("", "")},
	{"strips_metadata_generation", CM(",'generation':3", ""), 0, CM("", "")},
	{"strips_metadata_creationTimestamp", CM(",'creationTimestamp':'2024-01-01T00:00:00Z'", ""),
	 0, CM("", "")},
	{"strips_metadata_managedFields",
	 CM(",'managedFields':[{'manager':'kubectl','fieldsV1':{'f:data':{}}}]", ""), 0,
	 CM("", "")},
	{"strips_generateName_when_name_is_set", CM(",'generateName':'a-'", ""), 0, CM("", "")},
	{"keeps_generateName_without_a_name",
	 "{'kind':'ConfigMap','apiVersion':'v1','metadata':{'generateName':'a-'}}", 0,
	 "{'kind':'ConfigMap','apiVersion':'v1','metadata':{'generateName':'a-'}}"},
	{"strips_metadata_deletionTimestamp", CM(",'deletionTimestamp':'2024-01-01T00:00:00Z'", ""),
	 0, CM("", "")},
	{"strips_metadata_deletionGracePeriodSeconds", CM(",'deletionGracePeriodSeconds':30", ""),
	 0, CM("", "")},
	{"strips_metadata_ownerReferences",
	 CM(",'ownerReferences':[{'kind':'Deployment','name':'d','uid':'1','controller':true}]",
	    ""),
	 0, CM("", "")},
	{"strips_metadata_finalizers", CM(",'finalizers':['kubernetes.io/pvc-protection']", ""), 0,
	 CM("", "")},
	{"keeps_finalizers_when_asked", CM(",'finalizers':['example.com/f']", ""),
	 HCR_KUBE_KEEP_FINALIZERS, CM(",'finalizers':['example.com/f']", "")},
	{"strips_top_level_status", CM("", ",'data':{'k':'v'},'status':{'phase':'Active'}"), 0,
	 CM("", ",'data':{'k':'v'}")},
	{"keeps_status_when_asked", CM("", ",'status':{'phase':'Active'}"), HCR_KUBE_KEEP_STATUS,
	 CM("", ",'status':{'phase':'Active'}")},
	{"keeps_data_keys_named_like_stripped_fields",
	 CM("", ",'data':{'status':'ok','uid':'7','creationTimestamp':'x','managedFields':'y'}"), 0,
	 CM("", ",'data':{'status':'ok','uid':'7','creationTimestamp':'x','managedFields':'y'}")},
	{"keeps_nested_status_and_metadata_in_a_custom_resource",
	 "{'apiVersion':'example.com/v1','kind':'Widget','metadata':{'name':'w','uid':'1'},"
	 "'spec':{'status':'on','metadata':{'uid':'keep','creationTimestamp':'keep'}},'status':{}}",
	 0,
	 "{'apiVersion':'example.com/v1','kind':'Widget','metadata':{'name':'w'},"
	 "'spec':{'status':'on','metadata':{'uid':'keep','creationTimestamp':'keep'}}}"},
	ANNOTATION_ROW("kubectl.kubernetes.io/last-applied-configuration"),
	ANNOTATION_ROW("deployment.kubernetes.io/revision"),
	ANNOTATION_ROW("deployment.kubernetes.io/desired-replicas"),
	ANNOTATION_ROW("deployment.kubernetes.io/max-replicas"),
	ANNOTATION_ROW("pv.kubernetes.io/bind-completed"),
	ANNOTATION_ROW("pv.kubernetes.io/bound-by-controller"),
	ANNOTATION_ROW("volume.kubernetes.io/selected-node"),
	ANNOTATION_ROW("volume.beta.kubernetes.io/storage-provisioner"),
	ANNOTATION_ROW("volume.kubernetes.io/storage-provisioner"),
	ANNOTATION_ROW("control-plane.alpha.kubernetes.io/leader"),
	ANNOTATION_ROW("autoscaling.alpha.kubernetes.io/conditions"),
	ANNOTATION_ROW("autoscaling.alpha.kubernetes.io/current-metrics"),
	ANNOTATION_ROW("batch.kubernetes.io/job-tracking"),
	ANNOTATION_ROW("endpoints.kubernetes.io/last-change-trigger-time"),
	{"keeps_user_set_autoscaling_annotations",
	 CM(",'annotations':{'autoscaling.alpha.kubernetes.io/metrics':'[]'}", ""), 0,
	 CM(",'annotations':{'autoscaling.alpha.kubernetes.io/metrics':'[]'}", "")},
	{"removes_annotations_left_empty",
	 CM(",'annotations':{'deployment.kubernetes.io/revision':'3'}", ""), 0, CM("", "")},
	{"removes_empty_labels_and_annotations",
	 "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'a','labels':{},"
	 "'annotations':null}}",
	 0, "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'a'}}"},
	{"strips_namespace_name_label",
	 "{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'prod','labels':"
	 "{'kubernetes.io/metadata.name':'prod','team':'a'}},'spec':{'finalizers':['kubernetes']}}",
	 0,
	 "{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'prod','labels':{'team':'a'}},"
	 "'spec':{'finalizers':['kubernetes']}}"},
	{"keeps_namespace_name_label_on_other_kinds",
	 CM(",'annotations':{'kubernetes.io/metadata.name':'a'}", ""), 0,
	 CM(",'annotations':{'kubernetes.io/metadata.name':'a'}", "")},
	{"strips_service_clusterIP_and_clusterIPs",
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'clusterIP':"
	 "'10.0.0.7','clusterIPs':['10.0.0.7'],'type':'ClusterIP','ipFamilyPolicy':'SingleStack',"
	 "'ports':[{'port':80,'protocol':'TCP'}]}}",
	 0,
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'type':'ClusterIP',"
	 "'ipFamilyPolicy':'SingleStack','ports':[{'port':80,'protocol':'TCP'}]}}"},
	{"keeps_headless_service_clusterIP",
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'clusterIP':'None',"
	 "'clusterIPs':['None'],'selector':{'app':'db'}}}",
	 0,
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'clusterIP':'None',"
	 "'clusterIPs':['None'],'selector':{'app':'db'}}}"},
	{"strips_service_nodePort",
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'type':'NodePort',"
	 "'ports':[{'name':'http','port':80,'nodePort':31234},{'port':443,'nodePort':30443}]}}",
	 0,
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'type':'NodePort',"
	 "'ports':[{'name':'http','port':80},{'port':443}]}}"},
	{"keeps_service_nodePort_when_asked",
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'type':'NodePort',"
	 "'ports':[{'port':80,'nodePort':31234}]}}",
	 HCR_KUBE_KEEP_NODE_PORTS,
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'type':'NodePort',"
	 "'ports':[{'port':80,'nodePort':31234}]}}"},
	{"strips_service_healthCheckNodePort",
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'type':"
	 "'LoadBalancer','externalTrafficPolicy':'Local','healthCheckNodePort':32000,"
	 "'loadBalancerSourceRanges':['10.0.0.0/8']}}",
	 0,
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'type':"
	 "'LoadBalancer','externalTrafficPolicy':'Local','loadBalancerSourceRanges':['10.0.0.0/"
	 "8']}}"},
	{"strips_service_ipFamilies_keeps_ipFamilyPolicy",
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'ipFamilies':"
	 "['IPv4'],'ipFamilyPolicy':'SingleStack','sessionAffinity':'None'}}",
	 0,
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'ipFamilyPolicy':"
	 "'SingleStack','sessionAffinity':'None'}}"},
	{"leaves_a_service_of_another_group_alone",
	 "{'apiVersion':'serving.knative.dev/v1','kind':'Service','metadata':{'name':'s'},"
	 "'spec':{'clusterIP':'10.0.0.1','ports':[{'nodePort':30000}]}}",
	 0,
	 "{'apiVersion':'serving.knative.dev/v1','kind':'Service','metadata':{'name':'s'},"
	 "'spec':{'clusterIP':'10.0.0.1','ports':[{'nodePort':30000}]}}"},
	{"strips_pvc_volumeName",
	 "{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'c'},'spec':"
	 "{'volumeName':'pvc-0c1d','storageClassName':'gp3','resources':{'requests':"
	 "{'storage':'1Gi'}}}}",
	 0,
	 "{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'c'},'spec':"
	 "{'storageClassName':'gp3','resources':{'requests':{'storage':'1Gi'}}}}"},
	{"strips_job_controller_uid_selector_and_labels",
	 "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j'},'spec':{'selector':"
	 "{'matchLabels':{'controller-uid':'u1','batch.kubernetes.io/controller-uid':'u1'}},"
	 "'template':{'metadata':{'labels':{'controller-uid':'u1','batch.kubernetes.io/"
	 "controller-uid':'u1','job-name':'j','app':'x'}},'spec':{'restartPolicy':'Never'}}}}",
	 0,
	 "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j'},'spec':{'template':"
	 "{'metadata':{'labels':{'job-name':'j','app':'x'}},'spec':{'restartPolicy':'Never'}}}}"},
	{"keeps_a_manual_job_selector",
	 "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j'},'spec':{'manualSelector':"
	 "true,'selector':{'matchLabels':{'app':'x'}},'template':{'metadata':{'labels':"
	 "{'app':'x'}}}}}",
	 0,
	 "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j'},'spec':{'manualSelector':"
	 "true,'selector':{'matchLabels':{'app':'x'}},'template':{'metadata':{'labels':"
	 "{'app':'x'}}}}}"},
	{"strips_service_account_token_secrets",
	 "{'apiVersion':'v1','kind':'ServiceAccount','metadata':{'name':'build'},'secrets':"
	 "[{'name':'build-token-x7k2p'},{'name':'registry'}],'imagePullSecrets':"
	 "[{'name':'build-token-keep'}]}",
	 0,
	 "{'apiVersion':'v1','kind':'ServiceAccount','metadata':{'name':'build'},'secrets':"
	 "[{'name':'registry'}],'imagePullSecrets':[{'name':'build-token-keep'}]}"},
	{"removes_service_account_secrets_left_empty",
	 "{'apiVersion':'v1','kind':'ServiceAccount','metadata':{'name':'default'},'secrets':"
	 "[{'name':'default-token-abcde'}]}",
	 0, "{'apiVersion':'v1','kind':'ServiceAccount','metadata':{'name':'default'}}"},
	{"folds_secret_stringData_into_data",
	 "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'s'},'type':'Opaque','data':"
	 "{'a':'YQ==','b':'b2xk'},'stringData':{'b':'new','c':'hello'}}",
	 0,
	 "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'s'},'type':'Opaque','data':"
	 "{'a':'YQ==','b':'bmV3','c':'aGVsbG8='}}"},
	{"turns_null_secret_data_into_empty",
	 "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'s'},'data':{'a':null,'b':'Yg=='}}",
	 0,
	 "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'s'},'data':{'a':'','b':'Yg=='}}"},
	{"strips_pod_nodeName_and_token_volume",
	 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{'nodeName':'ip-10-0-1-2',"
	 "'priority':0,'volumes':[{'name':'data','emptyDir':{}},{'name':'kube-api-access-x1z9q',"
	 "'projected':{'sources':[]}}],'containers':[{'name':'c','volumeMounts':[{'name':'data',"
	 "'mountPath':'/d'},{'name':'kube-api-access-x1z9q','mountPath':'/var/run/secrets'}]}]}}",
	 0,
	 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{'priority':0,'volumes':"
	 "[{'name':'data','emptyDir':{}}],'containers':[{'name':'c','volumeMounts':[{'name':'data',"
	 "'mountPath':'/d'}]}]}}"},
	{"strips_legacy_pod_token_volume",
	 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{'serviceAccountName':'ci'"
	 ","
	 "'volumes':[{'name':'ci-token-abcde','secret':{'secretName':'ci-token-abcde'}}],"
	 "'initContainers':[{'name':'i','volumeMounts':[{'name':'ci-token-abcde'}]}]}}",
	 0,
	 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{'serviceAccountName':'ci'"
	 ","
	 "'initContainers':[{'name':'i'}]}}"},
	{"strips_null_template_creationTimestamp",
	 "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'d'},'spec':{'template':"
	 "{'metadata':{'creationTimestamp':null,'labels':{'app':'d'}},'spec':{'containers':"
	 "[{'name':'b'},{'name':'a'}]}}}}",
	 0,
	 "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'d'},'spec':{'template':"
	 "{'metadata':{'labels':{'app':'d'}},'spec':{'containers':[{'name':'b'},{'name':'a'}]}}}}"},
	{"strips_null_cronjob_and_claim_template_timestamps",
	 "{'apiVersion':'batch/v1','kind':'CronJob','metadata':{'name':'c'},'spec':{'jobTemplate':"
	 "{'metadata':{'creationTimestamp':null},'spec':{'template':{'metadata':"
	 "{'creationTimestamp':null}}}},'volumeClaimTemplates':[{'metadata':{'name':'d',"
	 "'creationTimestamp':null}}]}}",
	 0,
	 "{'apiVersion':'batch/v1','kind':'CronJob','metadata':{'name':'c'},'spec':{'jobTemplate':"
	 "{'spec':{'template':{}}},'volumeClaimTemplates':[{'metadata':{'name':'d'}}]}}"},
	{"keeps_a_set_template_creationTimestamp",
	 "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'d'},'spec':{'template':"
	 "{'metadata':{'creationTimestamp':'2024-01-01T00:00:00Z'}}}}",
	 0,
	 "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'d'},'spec':{'template':"
	 "{'metadata':{'creationTimestamp':'2024-01-01T00:00:00Z'}}}}"},
	{"leaves_odd_shapes_alone",
	 "{'apiVersion':'v1','kind':'Service','metadata':['uid'],'spec':{'ports':'x','clusterIP':"
	 "'None'},'status':{}}",
	 0,
	 "{'apiVersion':'v1','kind':'Service','metadata':['uid'],'spec':{'ports':'x',"
	 "'clusterIP':'None'}}"},
	{"leaves_a_kindless_object_with_metadata_rules",
	 "{'metadata':{'name':'x','uid':'1'},'spec':{'volumeName':'v'}}", 0,
	 "{'metadata':{'name':'x'},'spec':{'volumeName':'v'}}"},
};

#define SVC_LAST_APPLIED                                                                    \
	"'kubectl.kubernetes.io/last-applied-configuration':'{\\\"spec\\\":{\\\"ports\\\":" \
	"[{\\\"name\\\":\\\"http\\\",\\\"port\\\":80,\\\"nodePort\\\":30080}]}}'"

/* hcr_kube_prepare_create: what a create in another cluster needs. */
static const norm_case create_rows[] = {
	{"create_strips_ownerReferences_and_status",
	 CM(",'ownerReferences':[{'kind':'X','name':'x','uid':'1','controller':false}]",
	    ",'data':{'k':'v'},'status':{'x':1}"),
	 HCR_KUBE_KEEP_STATUS, CM("", ",'data':{'k':'v'}")},
	{"create_keeps_last_applied_on_a_configmap",
	 CM(",'annotations':{'kubectl.kubernetes.io/last-applied-configuration':'{}'}", ""), 0,
	 CM(",'annotations':{'kubectl.kubernetes.io/last-applied-configuration':'{}'}", "")},
	{"create_strips_last_applied_and_kapp_original_on_a_secret",
	 "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'s','annotations':"
	 "{'kubectl.kubernetes.io/last-applied-configuration':'{}','kapp.k14s.io/original':'{}',"
	 "'team':'a'}},'data':{'k':'dg=='}}",
	 0,
	 "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'s','annotations':{'team':'a'}},"
	 "'data':{'k':'dg=='}}"},
	{"create_keeps_user_set_nodePorts_drops_allocated",
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s','annotations':"
	 "{" SVC_LAST_APPLIED
	 "},'managedFields':[{'manager':'helm','fieldsV1':{'f:spec':{'f:ports':"
	 "{'k:{\\\"port\\\":8443,\\\"protocol\\\":\\\"TCP\\\"}':{'f:nodePort':{}}}}}}]},"
	 "'spec':{'type':'NodePort','clusterIP':'10.0.0.9','ports':[{'name':'http','port':80,"
	 "'nodePort':30080},{'name':'metrics','port':9090,'nodePort':31999},{'port':8443,"
	 "'protocol':'TCP','nodePort':30443}]}}",
	 0,
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s','annotations':"
	 "{" SVC_LAST_APPLIED
	 "}},'spec':{'type':'NodePort','ports':[{'name':'http','port':80,'nodePort':30080},"
	 "{'name':'metrics','port':9090},{'port':8443,'protocol':'TCP','nodePort':30443}]}}"},
	{"create_keeps_every_nodePort_when_asked",
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'type':'NodePort',"
	 "'ports':[{'port':80,'nodePort':31999}],'healthCheckNodePort':32000}}",
	 HCR_KUBE_KEEP_NODE_PORTS,
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'type':'NodePort',"
	 "'ports':[{'port':80,'nodePort':31999}],'healthCheckNodePort':32000}}"},
	{"create_keeps_user_set_healthCheckNodePort",
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s','managedFields':[{'fieldsV1':"
	 "{'f:spec':{'f:healthCheckNodePort':{},'f:ipFamilies':{}}}}]},'spec':{'type':"
	 "'LoadBalancer','healthCheckNodePort':32000,'ipFamilies':['IPv6']}}",
	 0,
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'type':"
	 "'LoadBalancer','healthCheckNodePort':32000,'ipFamilies':['IPv6']}}"},
	{"create_drops_allocated_healthCheckNodePort_and_ipFamilies",
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'type':"
	 "'LoadBalancer','clusterIP':'None','healthCheckNodePort':32000,'ipFamilies':['IPv4']}}",
	 0,
	 "{'apiVersion':'v1','kind':'Service','metadata':{'name':'s'},'spec':{'type':"
	 "'LoadBalancer','clusterIP':'None'}}"},
	{"create_drops_pvc_binding",
	 "{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'c','annotations':"
	 "{'pv.kubernetes.io/bind-completed':'yes','volume.kubernetes.io/selected-node':'n1'}},"
	 "'spec':{'volumeName':'pvc-1','accessModes':['ReadWriteOnce']},'status':{'phase':'Bound'}"
	 "}",
	 0,
	 "{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'c'},"
	 "'spec':{'accessModes':['ReadWriteOnce']}}"},
	{"create_drops_the_generated_job_selector",
	 "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j'},'spec':{'manualSelector':"
	 "false,'selector':{'matchLabels':{'controller-uid':'u1','extra':'e'}},'template':"
	 "{'metadata':{'labels':{'controller-uid':'u1','job-name':'j'}}}}}",
	 0,
	 "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j'},'spec':{'template':"
	 "{'metadata':{'labels':{'job-name':'j'}}}}}"},
	{"create_keeps_a_manual_job_selector",
	 "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j'},'spec':{'manualSelector':"
	 "true,'selector':{'matchLabels':{'app':'x'}}}}",
	 0,
	 "{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'j'},'spec':{'manualSelector':"
	 "true,'selector':{'matchLabels':{'app':'x'}}}}"},
	{"create_drops_pod_priority_and_nodeName",
	 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{'nodeName':'n1',"
	 "'priority':1000,'priorityClassName':'high'}}",
	 0,
	 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{'priorityClassName':"
	 "'high'}}"},
};

static void run_compare_row(void **state)
{
	const norm_case *c = *state;
	json_t *obj = test_json(c->in);
	json_t *want = test_json(c->want);

	hcr_kube_normalise(obj, c->flags);
	assert_json_equal(obj, want);
	/* Idempotent: a normalised object is its own normal form. */
	hcr_kube_normalise(obj, c->flags);
	assert_json_equal(obj, want);
	json_decref(obj);
	json_decref(want);
}

static void run_create_row(void **state)
{
	const norm_case *c = *state;
	json_t *obj = test_json(c->in);
	json_t *want = test_json(c->want);
	hcr_error err;

	hcr_error_clear(&err);
	assert_int_equal(hcr_kube_prepare_create(obj, c->flags, &err), HCR_OK);
	assert_json_equal(obj, want);
	json_decref(obj);
	json_decref(want);
}

static void test_kube_normalise__null_and_non_objects_are_left_alone(void **state)
{
	static const char *const values[] = {"[1, {'status': 1}]", "'text'", "3", "null", "{}"};

	(void)state;
	hcr_kube_normalise(NULL, 0);
	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		json_t *v = test_json(values[i]);
		json_t *want = test_json(values[i]);

		hcr_kube_normalise(v, 0);
		assert_json_equal(v, want);
		json_decref(v);
		json_decref(want);
	}
}

/* A create of what was created from the source normalises as the source does. */
static void test_kube_normalise__create_then_compare_matches_the_source(void **state)
{
	json_t *src = test_json(
		"{'apiVersion':'v1','kind':'Service','metadata':{'name':'s','uid':'1','annotations'"
		":"
		"{" SVC_LAST_APPLIED "}},'spec':{'type':'NodePort','clusterIP':'10.0.0.1','ports':"
		"[{'name':'http','port':80,'nodePort':30080}]},'status':{'loadBalancer':{}}}");
	json_t *copy = json_deep_copy(src);
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_kube_prepare_create(copy, 0, &err), HCR_OK);
	/* what the target's API server adds back */
	json_object_set_new(json_object_get(copy, "spec"), "clusterIP", json_string("10.9.9.9"));
	hcr_kube_normalise(src, 0);
	hcr_kube_normalise(copy, 0);
	assert_json_equal(copy, src);
	json_decref(src);
	json_decref(copy);
}

static void test_kube_normalise__create_refuses_what_cannot_be_created(void **state)
{
	static const struct {
		const char *in;
		const char *message;
	} cases[] = {
		{"[1]", "object to create is not a JSON object"},
		{"{'apiVersion':'v1','metadata':{'name':'a'}}",
		 "object to create has no kind or apiVersion"},
		{"{'kind':'ConfigMap','metadata':{'name':'a'}}",
		 "object to create has no kind or apiVersion"},
		{"{'apiVersion':'v1','kind':'ConfigMap','metadata':{'generateName':'a-','uid':'1'}"
		 "}",
		 "object to create has no metadata.name"},
		{"{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':''}}",
		 "object to create has no metadata.name"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *obj = test_json(cases[i].in);
		json_t *orig = json_deep_copy(obj);
		hcr_error err;

		hcr_error_clear(&err);
		assert_int_equal(hcr_kube_prepare_create(obj, 0, &err), HCR_EINVALID);
		assert_string_equal(err.code, "invalid");
		assert_string_equal(err.message, cases[i].message);
		assert_json_equal(obj, orig); /* untouched on failure */
		json_decref(obj);
		json_decref(orig);
	}
	assert_int_equal(hcr_kube_prepare_create(NULL, 0, NULL), HCR_EINVALID);
}

/* ---- skip rules -------------------------------------------------------------------------- */

static void test_kube_normalise__skip_rules(void **state)
{
	static const struct {
		const char *obj;
		const char *reason; /* NULL: copied */
	} cases[] = {
		{"{'apiVersion':'v1','kind':'Secret','metadata':{'name':'t'},"
		 "'type':'kubernetes.io/service-account-token'}",
		 "service account token"},
		{"{'apiVersion':'v1','kind':'Secret','metadata':{'name':'x'},'type':'helm.sh/"
		 "release.v1'}",
		 "helm release record"},
		{"{'apiVersion':'v1','kind':'Secret','metadata':{'name':'sh.helm.release.v1.web.v3'"
		 "}}",
		 "helm release record"},
		{"{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'sh.helm.release.v1.web."
		 "v3',"
		 "'labels':{'owner':'helm'}}}",
		 "helm release record"},
		{"{'apiVersion':'v1','kind':'Secret','metadata':{'name':'bootstrap-token-abcdef'},"
		 "'type':'bootstrap.kubernetes.io/token'}",
		 "bootstrap token"},
		{"{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'kube-root-ca.crt'}}",
		 "cluster CA bundle"},
		{"{'apiVersion':'v1','kind':'Event','metadata':{'name':'e'}}", "event"},
		{"{'apiVersion':'events.k8s.io/v1','kind':'Event','metadata':{'name':'e'}}",
		 "event"},
		{"{'apiVersion':'coordination.k8s.io/v1','kind':'Lease','metadata':{'name':'l'}}",
		 "lease"},
		{"{'apiVersion':'v1','kind':'Node','metadata':{'name':'n'}}", "node"},
		{"{'apiVersion':'storage.k8s.io/v1','kind':'CSINode','metadata':{'name':'n'}}",
		 "node-bound storage object"},
		{"{'apiVersion':'storage.k8s.io/"
		 "v1','kind':'VolumeAttachment','metadata':{'name':'v'}}",
		 "node-bound storage object"},
		{"{'apiVersion':'metrics.k8s.io/"
		 "v1beta1','kind':'PodMetrics','metadata':{'name':'p'}}",
		 "resource metrics"},
		{"{'apiVersion':'v1','kind':'Endpoints','metadata':{'name':'web','labels':"
		 "{'endpointslice.kubernetes.io/skip-mirror':'true'}}}",
		 "endpoints kept by the service controller"},
		{"{'apiVersion':'v1','kind':'Endpoints','metadata':{'name':'web','annotations':"
		 "{'endpoints.kubernetes.io/last-change-trigger-time':'2024-01-01T00:00:00Z'}}}",
		 "endpoints kept by the service controller"},
		{"{'apiVersion':'discovery.k8s.io/v1','kind':'EndpointSlice','metadata':{'name':"
		 "'web-x1','labels':{'endpointslice.kubernetes.io/managed-by':"
		 "'endpointslice-controller.k8s.io'}}}",
		 "endpoint slice kept by a controller"},
		{"{'apiVersion':'v1','kind':'Service','metadata':{'name':'kubernetes','namespace':"
		 "'default'}}",
		 "the api server's own service"},
		{"{'apiVersion':'v1','kind':'Pod','metadata':{'name':'web-7d9-abc','"
		 "ownerReferences':"
		 "[{'kind':'ReplicaSet','name':'web-7d9','controller':true}]}}",
		 "owned by a controller"},
		{"{'apiVersion':'apps/v1','kind':'ReplicaSet','metadata':{'name':'web-7d9',"
		 "'ownerReferences':[{'kind':'Deployment','name':'web','controller':true}]}}",
		 "owned by a controller"},
		{"{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'nightly-2840',"
		 "'ownerReferences':[{'kind':'CronJob','name':'nightly','controller':true}]}}",
		 "owned by a controller"},
		{"{'apiVersion':'v1','kind':'Pod','metadata':{'name':'etcd-n1','annotations':"
		 "{'kubernetes.io/config.mirror':'abc'}}}",
		 "mirror pod of a static pod"},
		{"{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'status':{'phase':'"
		 "Succeeded'}}",
		 "finished pod"},
		{"{'apiVersion':'batch/v1','kind':'Job','metadata':{'name':'once'},'status':"
		 "{'conditions':[{'type':'Complete','status':'True'}]}}",
		 "finished job"},
		{"{'apiVersion':'apiregistration.k8s.io/v1','kind':'APIService','metadata':{'name':"
		 "'v1.apps','labels':{'kube-aggregator.kubernetes.io/automanaged':'true'}}}",
		 "built-in api service"},
		{"[]", "not a kubernetes object"},
		{"{'metadata':{'name':'x'}}", "object has no kind"},
		/* copied */
		{"{'apiVersion':'v1','kind':'Secret','metadata':{'name':'db'},'type':'Opaque'}",
		 NULL},
		{"{'apiVersion':'v1','kind':'ServiceAccount','metadata':{'name':'default'}}", NULL},
		{"{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'sh.helm.release.v1.x'}"
		 "}",
		 NULL},
		{"{'apiVersion':'v1','kind':'Endpoints','metadata':{'name':'external-db'}}", NULL},
		{"{'apiVersion':'v1','kind':'Service','metadata':{'name':'kubernetes','namespace':"
		 "'prod'}}",
		 NULL},
		{"{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p','ownerReferences':[{'kind'"
		 ":"
		 "'ConfigMap','name':'c','controller':false}]},'status':{'phase':'Running'}}",
		 NULL},
		{"{'apiVersion':'batch/"
		 "v1','kind':'Job','metadata':{'name':'j'},'status':{'conditions':"
		 "[{'type':'Complete','status':'False'}]}}",
		 NULL},
		{"{'apiVersion':'example.com/v1','kind':'Lease','metadata':{'name':'x'}}", NULL},
		{"{'apiVersion':'v1','kind':'Secret','metadata':['odd'],'type':7}", NULL},
	};

	(void)state;
	assert_string_equal(hcr_kube_skip_reason(NULL), "not a kubernetes object");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *obj = test_json(cases[i].obj);
		const char *why = hcr_kube_skip_reason(obj);

		if (cases[i].reason == NULL && why != NULL)
			fail_msg("%s: skipped as \"%s\"", cases[i].obj, why);
		if (cases[i].reason != NULL && (why == NULL || strcmp(why, cases[i].reason) != 0))
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].obj,
				 why ? why : "(copied)", cases[i].reason);
		json_decref(obj);
	}
}

/* ---- masking ----------------------------------------------------------------------------- */

static void test_kube_normalise__mask_hides_every_secret_value(void **state)
{
	json_t *s = test_json(
		"{'apiVersion':'v1','kind':'Secret','metadata':{'name':'db','annotations':"
		"{'kubectl.kubernetes.io/last-applied-configuration':'{\\\"stringData\\\":"
		"{\\\"password\\\":\\\"hunter2\\\"}}','team':'a'}},'type':'Opaque','data':"
		"{'password':'aHVudGVyMg==','empty':null},'stringData':{'user':'admin'}}");
	json_t *want = test_json(
		"{'apiVersion':'v1','kind':'Secret','metadata':{'name':'db','annotations':"
		"{'kubectl.kubernetes.io/last-applied-configuration':'***','team':'a'}},"
		"'type':'Opaque','data':{'password':'***','empty':null},'stringData':{'user':'***'}"
		"}");
	json_t *cm = test_json(CM("", ",'data':{'password':'plain'}"));
	json_t *cm_want = json_deep_copy(cm);

	(void)state;
	hcr_kube_mask_secret(s);
	hcr_kube_mask_secret(cm);
	hcr_kube_mask_secret(NULL);
	assert_json_equal(s, want);
	assert_json_equal(cm, cm_want);
	json_decref(s);
	json_decref(want);
	json_decref(cm);
	json_decref(cm_want);
}

static void test_kube_normalise__mask_pair_marks_keys_that_differ(void **state)
{
	json_t *l = test_json("{'kind':'Secret','data':{'same':'YQ==','changed':'b2xk',"
			      "'gone':'eA=='},'stringData':'odd'}");
	json_t *r = test_json("{'kind':'Secret','data':{'same':'YQ==','changed':'bmV3',"
			      "'added':'eQ=='}}");
	json_t *lw = test_json("{'kind':'Secret','data':{'same':'***','changed':'*** (before)',"
			       "'gone':'***'},'stringData':'***'}");
	json_t *rw = test_json("{'kind':'Secret','data':{'same':'***','changed':'*** (after)',"
			       "'added':'***'}}");

	(void)state;
	hcr_kube_mask_secret_pair(l, r);
	assert_json_equal(l, lw);
	assert_json_equal(r, rw);
	hcr_kube_mask_secret_pair(NULL, NULL);
	json_decref(l);
	json_decref(r);
	json_decref(lw);
	json_decref(rw);
}

/* ---- content hash ------------------------------------------------------------------------ */

static void test_kube_normalise__hash_is_sha256_of_canonical_json(void **state)
{
	/* printf '%s' '{"apiVersion":"v1","data":{"k":"v"},"kind":"ConfigMap","metadata":{"name":"a"}}' | sha256sum */
	json_t *obj = test_json("{'metadata':{'uid':'1','name':'a'},'kind':'ConfigMap',"
				"'data':{'k':'v'},'apiVersion':'v1'}");
	char out[65];
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_kube_content_hash(out, obj, 0, &err), HCR_OK);
	assert_string_equal(out,
			    "aae63a7522bc839f98cf9483cc04545219005f9630c34a551c8626d003a15496");
	json_decref(obj);
}

static void test_kube_normalise__hash_is_stable_under_key_order(void **state)
{
	json_t *a = test_json("{'apiVersion':'v1','kind':'Service','metadata':{'name':'s',"
			      "'namespace':'n','labels':{'a':'1','b':'2'}},'spec':{'ports':"
			      "[{'port':80,'name':'http'}],'selector':{'x':'y'}}}");
	json_t *b = test_json("{'spec':{'selector':{'x':'y'},'ports':[{'name':'http','port':80}],"
			      "'clusterIP':'10.1.1.1'},'metadata':{'resourceVersion':'9','labels':"
			      "{'b':'2','a':'1'},'namespace':'n','name':'s'},'kind':'Service',"
			      "'apiVersion':'v1','status':{}}");
	char ha[65], hb[65];

	(void)state;
	assert_int_equal(hcr_kube_content_hash(ha, a, 0, NULL), HCR_OK);
	assert_int_equal(hcr_kube_content_hash(hb, b, 0, NULL), HCR_OK);
	assert_string_equal(ha, hb);
	assert_int_equal(strlen(ha), 64);
	/* the input is not modified */
	assert_non_null(json_object_get(b, "status"));
	/* a caller that normalised already gets the same hash without the copy */
	hcr_kube_normalise(b, 0);
	assert_int_equal(hcr_kube_content_hash(hb, b, HCR_KUBE_NORMALISED, NULL), HCR_OK);
	assert_string_equal(ha, hb);
	json_decref(a);
	json_decref(b);
}

static void test_kube_normalise__hash_changes_when_a_kept_field_changes(void **state)
{
	static const char *const variants[] = {
		CM("", ",'data':{'k':'v'}"),
		CM("", ",'data':{'k':'w'}"),
		CM("", ",'data':{'k':'v','l':'v'}"),
		CM(",'annotations':{'team':'a'}", ",'data':{'k':'v'}"),
		"{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'b','namespace':'ns',"
		"'labels':{'app':'web'}},'data':{'k':'v'}}",
		"{'apiVersion':'v1','kind':'Secret','metadata':{'name':'a','namespace':'ns',"
		"'labels':{'app':'web'}},'data':{'k':'v'}}",
	};
	char seen[ARRAY_SIZE(variants)][65];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(variants); i++) {
		json_t *obj = test_json(variants[i]);

		assert_int_equal(hcr_kube_content_hash(seen[i], obj, 0, NULL), HCR_OK);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(seen[i], seen[j]) == 0)
				fail_msg("variants %zu and %zu hash the same", j, i);
		}
		json_decref(obj);
	}
}

static void test_kube_normalise__hash_of_nothing_fails(void **state)
{
	char out[65];
	hcr_error err;

	(void)state;
	hcr_error_clear(&err);
	assert_int_equal(hcr_kube_content_hash(out, NULL, 0, &err), HCR_EINVALID);
	assert_string_equal(err.message, "no object to hash");
	assert_string_equal(out, "");
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_kube_normalise__null_and_non_objects_are_left_alone),
		cmocka_unit_test(test_kube_normalise__create_then_compare_matches_the_source),
		cmocka_unit_test(test_kube_normalise__create_refuses_what_cannot_be_created),
		cmocka_unit_test(test_kube_normalise__skip_rules),
		cmocka_unit_test(test_kube_normalise__mask_hides_every_secret_value),
		cmocka_unit_test(test_kube_normalise__mask_pair_marks_keys_that_differ),
		cmocka_unit_test(test_kube_normalise__hash_is_sha256_of_canonical_json),
		cmocka_unit_test(test_kube_normalise__hash_is_stable_under_key_order),
		cmocka_unit_test(test_kube_normalise__hash_changes_when_a_kept_field_changes),
		cmocka_unit_test(test_kube_normalise__hash_of_nothing_fails),
	};
	size_t n = ARRAY_SIZE(compare_rows) + ARRAY_SIZE(create_rows) + ARRAY_SIZE(fixed);
	struct CMUnitTest *tests = calloc(n, sizeof(*tests));
	char **names = calloc(n, sizeof(*names));
	size_t k = 0;
	int failed;

	/* Each table row is a test of its own, named after the row. */
	for (size_t i = 0; i < ARRAY_SIZE(compare_rows); i++, k++) {
		names[k] = malloc(strlen(compare_rows[i].name) + 64);
		sprintf(names[k], "test_kube_normalise__%s", compare_rows[i].name);
		tests[k] = (struct CMUnitTest){names[k], run_compare_row, NULL, NULL,
					       (void *)&compare_rows[i]};
	}
	for (size_t i = 0; i < ARRAY_SIZE(create_rows); i++, k++) {
		names[k] = malloc(strlen(create_rows[i].name) + 64);
		sprintf(names[k], "test_kube_normalise__%s", create_rows[i].name);
		tests[k] = (struct CMUnitTest){names[k], run_create_row, NULL, NULL,
					       (void *)&create_rows[i]};
	}
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++, k++)
		tests[k] = fixed[i];
	failed = _cmocka_run_group_tests("test_kube_normalise", tests, n, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(tests);
	return failed;
}
