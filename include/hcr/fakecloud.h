/*
 * The fake cloud: an EKS-like provider for tests. For now it is its field
 * catalog, which the sync engine's tests use and a test provider will share.
 */
#ifndef HCR_FAKECLOUD_H
#define HCR_FAKECLOUD_H

#include "hcr/engine.h"

/*
 * EKS-shaped fields: kubernetesVersion (irreversible), endpoint access,
 * logging, tags (a map), immutable networking, a create-only KMS key, and
 * nodeGroups keyed by "nodegroupName" with scaling, labels (a map), version
 * (irreversible), launch template and immutable instance settings.
 */
extern const hcr_catalog hcr_fake_catalog;

#endif
