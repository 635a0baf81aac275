/*
 * The built-in providers. A provider is compiled in or not; there is no
 * run-time loading, so a table lookup by name is all the registry needs.
 */
#include <string.h>

#include "hcr/provider.h"
#include "hcr/provider_aks.h"
#include "hcr/provider_eks.h"
#include "hcr/provider_fake.h"
#include "hcr/provider_gke.h"

static const hcr_provider_ops *const builtin[] = {
	&hcr_eks_provider_ops,
	&hcr_aks_provider_ops,
	&hcr_gke_provider_ops,
	&hcr_fake_provider_ops,
};

const hcr_provider_ops *hcr_provider_lookup(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (strcmp(builtin[i]->name, name) == 0)
			return builtin[i];
	return NULL;
}
