/* libFuzzer target: the fixture server's request parsing (serve_check_target
 * on the raw target, then serve_parse_request).
 *
 * The input is a request line, "[METHOD ]PATH[?QUERY]" (GET when there is no
 * space). It is taken apart as libmicrohttpd does before the server sees it:
 * the path and each key and value %XX-decoded (and '+' as a space in the
 * query), the query split on '&' and then on the first '=' (no '=': the value
 * is NULL), a decoded NUL ending the string. Beyond the sanitizers it checks
 * that the answer is 0, 400 or 405, that a refusal has a reason of one line
 * of printable ASCII, and that an accepted request is within the limits of
 * serve.h; and that a target the raw check passes decodes to no control byte
 * and at most SERVE_MAX_PARAMS parameters. Seeds: fuzz/corpus/request/;
 * `make fuzz` runs it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture/request.h"

#define check(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_request: %s: ", #cond);                              \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* In place: %XX with two hex digits is that byte, anything else stays. */
static char *decode(char *s, int plus)
{
	char *out = s;
	for (const char *in = s; *in; in++) {
		if (*in == '%' && hex(in[1]) >= 0 && hex(in[2]) >= 0) {
			*out++ = (char)(hex(in[1]) * 16 + hex(in[2]));
			in += 2;
		} else {
			*out++ = plus && *in == '+' ? ' ' : *in;
		}
	}
	*out = '\0';
	return s;
}

/* serve_parse_request on the decoded request: its answer within the limits,
 * its refusals said in one printable line, and the same answer twice. */
static void check_parse(const char *method, const char *path, const char **keys,
                        const char **values, size_t n)
{
	struct serve_request_spec spec;
	int status = serve_parse_request(method, path, keys, values, n, &spec);
	check(status == spec.bad_status, "returned %d, bad_status %d", status, spec.bad_status);
	check(status == 0 || status == 400 || status == 405, "status %d", status);
	check(memchr(spec.reason, '\0', sizeof(spec.reason)) != NULL, "reason not terminated");
	if (status != 0) {
		check(spec.reason[0] != '\0', "status %d without a reason", status);
		for (const char *r = spec.reason; *r; r++)
			check(*r >= 0x20 && *r <= 0x7e, "byte 0x%02x in the reason '%s'",
			      (unsigned char)*r, spec.reason);
	} else {
		check(spec.reason[0] == '\0', "a reason without a status: '%s'", spec.reason);
		check(strcmp(path, "/bytes") == 0, "path '%s' accepted", path);
		check(strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0, "method");
		check(n <= SERVE_MAX_PARAMS, "%zu parameters accepted", n);
		check(spec.size <= SERVE_MAX_SIZE && spec.delay_ms <= SERVE_MAX_DELAY_MS, "limits");
		check(spec.rate == 0 || spec.size / spec.rate < SERVE_MAX_PACED_S, "pacing");
		check(spec.fault >= SERVE_FAULT_NONE && spec.fault <= SERVE_FAULT_TRUNCATE,
		      "fault");
		for (size_t i = 0; i < n; i++)
			check(values[i] != NULL && values[i][0] != '\0', "'%s' without a value",
			      keys[i]);
	}
	/* pure: the same answer again */
	struct serve_request_spec again;
	serve_parse_request(method, path, keys, values, n, &again);
	check(memcmp(&spec, &again, sizeof(spec)) == 0, "a second parse differs");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size + 1);
	if (line == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';

	const char *method = "GET";
	char *path = line, *sp = strchr(line, ' ');
	if (sp != NULL) {
		*sp = '\0';
		method = line;
		path = sp + 1;
	}
	/* The raw target's check, as the server's URI callback makes it first. */
	struct serve_request_spec raw;
	int raw_status = serve_check_target(path, &raw);
	check(raw_status == 0 || raw_status == 400, "raw status %d", raw_status);
	check(raw_status == 0 || raw.reason[0] != '\0', "a raw refusal without a reason");
	const char *raw_query = strchr(path, '?');
	size_t raw_params = 1;
	for (const char *p = raw_query; p != NULL && *p; p++)
		raw_params += *p == '&';
	char *query = strchr(path, '?');
	if (query != NULL)
		*query++ = '\0';
	decode(path, 0);

	size_t cap = 1;
	for (const char *p = query; p != NULL && *p; p++)
		cap += *p == '&';
	const char **keys = calloc(cap, sizeof(*keys)), **values = calloc(cap, sizeof(*values));
	size_t n = 0;
	for (char *p = query; keys != NULL && values != NULL && p != NULL && *p != '\0';) {
		char *amp = strchr(p, '&'), *eq;
		if (amp != NULL)
			*amp = '\0';
		eq = strchr(p, '=');
		if (eq != NULL)
			*eq = '\0';
		keys[n] = decode(p, 1);
		values[n] = eq != NULL ? decode(eq + 1, 1) : NULL;
		n++;
		p = amp != NULL ? amp + 1 : NULL;
	}

	/* what passed the raw check decodes to no control byte, and few parameters */
	if (raw_status == 0) {
		for (const char *p = path; *p; p++)
			check((unsigned char)*p >= 0x20 && *p != 0x7f,
			      "a control byte in the path");
		for (size_t i = 0; i < n; i++)
			for (const char *p = values[i]; p != NULL && *p; p++)
				check((unsigned char)*p >= 0x20 && *p != 0x7f,
				      "a control byte in '%s'", keys[i]);
		check(raw_query == NULL || raw_params <= SERVE_MAX_PARAMS, "%zu parameters passed",
		      raw_params);
	}

	check_parse(method, path, keys, values, n);

	free(keys);
	free(values);
	free(line);
	return 0;
}
