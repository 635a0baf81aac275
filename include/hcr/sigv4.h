/*
 * AWS Signature Version 4 (header form) for the EKS provider, and the EKS
 * bearer token for a cluster's Kubernetes API (query form, hcr_sigv4_eks_token).
 *
 * hcr_sigv4_sign computes the headers to add to one HTTP request so that AWS
 * accepts it. It reproduces botocore's SigV4Auth exactly for every service
 * except S3: the path is percent-encoded a second time in the canonical
 * request, the query is encoded and sorted by key then value, and the signed
 * headers are host, x-amz-date, content-type (when the request has one) and
 * x-amz-security-token (when the credentials are temporary). No
 * x-amz-content-sha256 header is produced; botocore does not send one for EKS.
 *
 * Nothing this module returns may be logged: the Authorization value is a
 * credential for as long as the request date is current, and a token is one
 * for 15 minutes.
 * See docs/providers/eks-sigv4.md.
 */
#ifndef HCR_SIGV4_H
#define HCR_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "hcr/error.h"

/* Credentials; every string is borrowed for the duration of the call. */
typedef struct hcr_sigv4_creds {
	const char *access_key_id;     /* "AKIA..." or "ASIA..." */
	const char *secret_access_key; /* never copied outside the call, never logged */
	const char *session_token;     /* NULL or "" for long-term keys */
} hcr_sigv4_creds;

/* One query parameter, raw (not percent-encoded); both strings borrowed. */
typedef struct hcr_sigv4_param {
	const char *key;
	const char *value; /* NULL is the same as "" */
} hcr_sigv4_param;

/* The request to sign; every pointer is borrowed for the duration of the call. */
typedef struct hcr_sigv4_req {
	const char *method; /* "GET", "POST", "DELETE" ...; upper-cased when signed */
	/*
	 * The Host header exactly as it will be sent: lower case, with the port
	 * only when it is not the scheme's default ("eks.us-east-1.amazonaws.com",
	 * "127.0.0.1:8443").
	 */
	const char *host;
	/*
	 * The path as it will be sent, already percent-encoded, without the query
	 * ("/tags/arn%3Aaws%3Aeks%3A...%3Acluster%2Fdemo"). NULL or "" means "/".
	 * Build path labels with hcr_sigv4_uri_encode(label, 0).
	 */
	const char *path;
	/* Query parameters in any order, repeated keys allowed; NULL when nquery is 0. */
	const hcr_sigv4_param *query;
	size_t nquery;
	/* The Content-Type header that will be sent, or NULL when none is; it is signed. */
	const char *content_type;
	/* The body exactly as it will be sent; NULL when body_len is 0. */
	const void *body;
	size_t body_len;
} hcr_sigv4_req;

/*
 * What to send. The caller owns the strings and releases them with
 * hcr_sigv4_out_free; none of them may be logged except signed_headers.
 */
typedef struct hcr_sigv4_out {
	char *authorization;  /* value of the Authorization header */
	char amz_date[17];    /* value of the X-Amz-Date header: "20150830T123600Z" */
	char *query;          /* encoded, sorted query to put after '?' ("" when none) */
	char *signed_headers; /* "content-type;host;x-amz-date", for diagnostics */
	/*
	 * The X-Amz-Security-Token header value to send, borrowed from
	 * creds->session_token; NULL when no such header must be sent.
	 */
	const char *security_token;
} hcr_sigv4_out;

/*
 * Signs `req` with `creds` for `region` ("us-east-1") and `service` ("eks")
 * at time `now` (UTC seconds). On success fills *out, which the caller frees
 * with hcr_sigv4_out_free, and returns HCR_OK. The request must then be sent
 * with exactly: Host, X-Amz-Date, Content-Type (if set), X-Amz-Security-Token
 * (if out->security_token) and Authorization, the path given and out->query.
 * Returns HCR_EINVALID (and leaves *out empty) when a required field is
 * missing or a string contains a control character.
 */
int hcr_sigv4_sign(hcr_sigv4_out *out, const hcr_sigv4_req *req, const hcr_sigv4_creds *creds,
		   const char *region, const char *service, time_t now, hcr_error *err);

/*
 * The bearer token for an EKS cluster's Kubernetes API, made the way
 * `aws eks get-token` makes it: "k8s-aws-v1." followed by the unpadded
 * base64url encoding of an STS GetCallerIdentity URL presigned with SigV4 in
 * query form (service "sts", Action=GetCallerIdentity, Version=2011-06-15,
 * X-Amz-Expires=60, X-Amz-SignedHeaders=host;x-k8s-aws-id, the header
 * x-k8s-aws-id being `cluster_name`; with a session token, X-Amz-Security-Token
 * is a query parameter). `sts_base` is "https://sts.<region>.amazonaws.com" or
 * an override such as an emulator's "http://127.0.0.1:8080" (no path; "/" is
 * signed). On success *out is a new string (never log it) and HCR_OK is
 * returned; HCR_EINVALID for a missing or malformed argument.
 *
 * The result is byte for byte what awscli prints for the same credentials,
 * region, cluster name and second (tests/unit/test_sigv4.c holds its tokens):
 * the URL is `sts_base` as given, then "/?" and the parameters in botocore's
 * order (Action, Version, X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
 * X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Security-Token, X-Amz-Signature).
 * The signed Host is derived from `sts_base` as botocore derives it: lower
 * case, without the scheme's default port ("https://STS.x.com:443" signs
 * "sts.x.com"); an IPv6 literal in brackets is accepted.
 *
 * The token is accepted for 15 minutes after `now`, whatever X-Amz-Expires
 * says; awscli tells kubectl it expires after 14 (docs/providers/eks-sigv4.md).
 *
 * Refused with HCR_EINVALID, a message naming the argument and *out set to
 * NULL: a NULL `out`; a NULL or empty cluster name, or one with a control
 * character, a space or a non-ASCII byte; credentials without an access key
 * id or secret, or with a control character; a region other than lower-case
 * letters, digits and '-'; a `sts_base` that is not http:// or https://
 * followed by a host name or bracketed IPv6 address and an optional port from
 * 1 to 65535 (the detail says what is wrong); a time that does not fit a
 * four-digit year. An empty session token is the same as none.
 */
int hcr_sigv4_eks_token(char **out, const char *sts_base, const char *cluster_name,
			const hcr_sigv4_creds *creds, const char *region, time_t now,
			hcr_error *err);

/* Frees what hcr_sigv4_sign put into `out` and empties it; `out` may be NULL. */
void hcr_sigv4_out_free(hcr_sigv4_out *out);

/*
 * Percent-encodes `s` by AWS's rules: A-Z a-z 0-9 - _ . ~ are kept, '/' is
 * kept when `keep_slash` is set, every other byte becomes %XX (upper-case
 * hex). Returns a new string.
 */
char *hcr_sigv4_uri_encode(const char *s, int keep_slash);

#endif
