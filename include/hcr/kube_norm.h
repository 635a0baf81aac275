/*
 * Kubernetes objects made comparable between clusters and copyable into
 * another one: the normalisation table, the transforms a create in a new
 * cluster needs, the objects that belong to their cluster and are not copied,
 * Secret masking for anything shown to a person, a content hash and a unified
 * diff. Pure functions over jansson values: no I/O, no clock, no global state
 * that a caller sees.
 *
 * The authoritative list of what is stripped, on which path and why, is
 * docs/sync/normalisation.md. Stripping is by exact path (`metadata.uid`,
 * `spec.ports[].nodePort` on a core Service), never by key name at any depth:
 * a ConfigMap data key called `status` survives.
 *
 * Kind and group are read from the object's own `kind` and `apiVersion`
 * ("apps/v1" is group "apps", "v1" the core group ""). The API server leaves
 * them out of the items of a list response: set them on each item before
 * calling these functions. An object without them gets only the kind-independent
 * rules (metadata, `status`).
 *
 * None of these functions crashes or fails on odd input (arrays where objects
 * are expected, wrong types, huge strings): what does not have the expected
 * shape is left as it is.
 */
#ifndef HCR_KUBE_NORM_H
#define HCR_KUBE_NORM_H

#include <jansson.h>

#include "hcr/error.h"

/*
 * The version of the normalisation table. It is raised whenever a change to
 * the table changes what hcr_kube_content_hash returns for some object; store
 * it beside stored hashes so that a mismatch after an upgrade is recognised
 * as such and not as a change of the object.
 */
#define HCR_KUBE_NORM_VERSION 1

/* Flags for hcr_kube_normalise, hcr_kube_prepare_create, the hash and the diff. */
/* Keep top-level `status` (compare only; a create always drops it). */
#define HCR_KUBE_KEEP_STATUS (1u << 0)
/* Keep `metadata.finalizers` (see the table for why they go by default). */
#define HCR_KUBE_KEEP_FINALIZERS (1u << 1)
/*
 * Keep every Service `ports[].nodePort` and `healthCheckNodePort`, set by the
 * user or allocated (Velero's --preserve-nodeports). Without it a compare
 * drops them all, and a create keeps only the ones the user set: found in the
 * last-applied annotation or owned by a managedFields entry.
 */
#define HCR_KUBE_KEEP_NODE_PORTS (1u << 2)
/*
 * For hcr_kube_content_hash only: `obj` is already the result of
 * hcr_kube_normalise with the other flags given; hash it as it is, without
 * the copy and the normalisation (about a third of the cost of a hash).
 * Hashing an object that is not normalised this way gives a hash that
 * matches nothing.
 */
#define HCR_KUBE_NORMALISED (1u << 8)

/*
 * Normalises `obj` for comparison, in place: removes what the server or a
 * controller sets and what differs between clusters by allocation only, folds
 * Secret `stringData` into `data`, drops null template timestamps and empty
 * label and annotation maps. Lists keep their order; object key order does
 * not matter to comparison (json_equal) or to the hash (sorted keys).
 *
 * `obj` is borrowed and modified. NULL and values that are not objects are
 * left alone. Idempotent: normalising twice gives the same object.
 */
void hcr_kube_normalise(json_t *obj, unsigned int flags);

/*
 * Prepares `obj`, read from one cluster, to be created in another, in place:
 * the normalisation, plus what a create needs (ownerReferences and status
 * gone, allocated Service fields dropped unless the user set them, PVC
 * binding gone, Job generated selector gone, last-applied removed from
 * Secrets, Pod `spec.priority` gone).
 *
 * `obj` is borrowed and modified only on success. Fails with HCR_EINVALID when
 * `obj` is not an object or has no string `kind`, `apiVersion` or non-empty
 * `metadata.name`. It does not apply the skip rules: call
 * hcr_kube_skip_reason first unless the user asked for the object.
 */
int hcr_kube_prepare_create(json_t *obj, unsigned int flags, hcr_error *err);

/*
 * Whether `obj` belongs to its cluster and is not copied by default: NULL to
 * copy it, or a short static reason ("service account token", "owned by a
 * controller", ...) for a report. `obj` is borrowed; NULL and non-objects
 * return "not a kubernetes object".
 */
const char *hcr_kube_skip_reason(const json_t *obj);

/*
 * Masks a Secret for display, in place: each value of `data` and `stringData`
 * becomes "***", and so does the last-applied annotation (it holds the
 * plaintext). Any object whose `kind` is "Secret", whatever its group, is
 * masked; others are left alone, as is NULL. One object only: mask the items
 * of a list one by one.
 */
void hcr_kube_mask_secret(json_t *obj);

/*
 * Masks two versions of a Secret that are to be compared, in place: as
 * hcr_kube_mask_secret, except that a key present on both sides with
 * different values becomes "*** (before)" on the left and "*** (after)" on
 * the right (kubectl diff's markers), so a diff still shows which keys
 * differ. Either side may be NULL or not a Secret.
 */
void hcr_kube_mask_secret_pair(json_t *left, json_t *right);

/*
 * SHA-256 of the normalised object's canonical JSON (keys sorted, compact),
 * as 64 lower-case hex digits and a NUL into `out`. Equal for objects that
 * normalise to equal JSON whatever their key order; different when a kept
 * field changes. `obj` is borrowed and not modified (a copy is normalised,
 * unless `flags` has HCR_KUBE_NORMALISED). Fails with HCR_EINVALID when `obj`
 * is NULL.
 *
 * The hash of a Secret depends on its values: anyone who can read a stored
 * hash and the rest of the object can test guesses of a weak value offline.
 */
int hcr_kube_content_hash(char out[65], const json_t *obj, unsigned int flags, hcr_error *err);

/*
 * Renders `obj` as YAML for display: keys sorted, block style, multi-line
 * strings as literal blocks, strings that would read as another type quoted.
 * Secrets are masked on a copy first (hcr_kube_mask_secret); nothing else is
 * changed, so normalise first if that is wanted. `obj` is borrowed. On
 * success *out is a new string (free()). Fails with HCR_EINVALID when `obj`
 * is NULL, nested deeper than 1,000 levels, or renders to more than 16 MiB.
 */
int hcr_kube_render(char **out, const json_t *obj, hcr_error *err);

/*
 * A unified diff (3 lines of context, `---`/`+++` header with the labels,
 * `@@` hunks) of the normalised, masked YAML renderings of `left` and
 * `right`. Either side may be NULL for an object that exists on one side
 * only; it is then diffed against an empty text. Labels NULL stand for
 * "left" and "right"; control characters in them are shown as '?'.
 *
 * Both objects are borrowed and not modified. On success *out is a new string
 * (free()), empty when the normalised objects are equal. Fails with
 * HCR_EINVALID when a rendering fails (see hcr_kube_render) and with
 * HCR_ERROR when the diff library fails (its text is in `detail`).
 */
int hcr_kube_diff(char **out, const json_t *left, const json_t *right, const char *left_label,
		  const char *right_label, unsigned int flags, hcr_error *err);

#endif
