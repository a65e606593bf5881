/* fuzz_parsers.c — libFuzzer entry point for the small parsers: times,
 * integers, ID numbers and phones, region codes, text encodings, paging
 * cursors, venue payloads and policy files.  The first input byte selects
 * the parser (see tests/fuzz/parsers_check.h; '0'..'7' in a corpus file).
 *
 *   make fuzz-parsers              build build/fuzz_parsers and run it for
 *                                  FUZZ_SECONDS (default 60)
 *   build/fuzz_parsers DIR tests/fuzz/corpus/parsers
 *
 * Any broken property aborts with its name.  Add each crashing input to
 * tests/fuzz/corpus/parsers once fixed: `make test` replays that directory.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "parsers_check.h"

#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *bad = pc_check_input(data, size);
	if (bad) {
		fprintf(stderr, "parser property broken: %s\n", bad);
		abort();
	}
	return 0;
}
