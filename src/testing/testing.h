/* testing.h — nucleic-acid testing.  So far: the test results recorded
 * against each person (table test_results), as the health code reads
 * them.  Campaigns, tubes and labs build on this table. */
#ifndef FK_TESTING_H
#define FK_TESTING_H

#include "healthcode/facts.h"

/* testing_code_facts and testing_code_facts_all are declared in
 * healthcode/facts.h: FACT_TEST rows, t0 sampled, start resulted. */

#endif
