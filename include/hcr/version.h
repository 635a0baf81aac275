/*
 * The build's version (git describe), compiled into one generated file that the
 * Makefile rewrites whenever the version changes.
 */
#ifndef HCR_VERSION_H
#define HCR_VERSION_H

const char *hcr_version(void);

#endif
