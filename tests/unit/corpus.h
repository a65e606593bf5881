/* corpus.h — reading fuzz corpus files in unit tests (shared by the suites
 * that replay a corpus). */
#ifndef FK_TEST_CORPUS_H
#define FK_TEST_CORPUS_H

#include <criterion/criterion.h>
#include <stdio.h>

#include "lib/strbuf.h"

/* The whole file at path; the test fails if it cannot be read.  Caller
 * frees the result. */
static inline char *corpus_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open '%s'", path);
	struct strbuf sb = STRBUF_INIT;
	char chunk[4096];
	size_t got;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		strbuf_add(&sb, chunk, got);
	cr_assert_eq(ferror(f), 0, "cannot read '%s'", path);
	fclose(f);
	return strbuf_detach(&sb, len);
}

#endif
