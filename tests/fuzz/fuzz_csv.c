/* fuzz_csv.c — libFuzzer entry point for the CSV reader.
 *
 *   make fuzz                      build build/fuzz_csv and run it for
 *                                  FUZZ_SECONDS (default 60)
 *   build/fuzz_csv DIR tests/fuzz/corpus/csv
 *
 * Any broken invariant (tests/fuzz/csv_check.h) aborts with its name.  Add
 * each crashing input to tests/fuzz/corpus/csv once fixed: `make test`
 * replays that directory.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "csv_check.h"

#include "lib/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *bad = csv_check_all((const char *)data, size);
	if (bad) {
		fprintf(stderr, "csv invariant broken: %s\n", bad);
		abort();
	}
	return 0;
}
