/* testing.h — nucleic-acid testing ("应检尽检"): campaigns over a region
 * subtree, sampling sites, tubes pooled 1/5/10/20-in-1, samples registered
 * one person at a time by scanners, lab results per tube and what they set
 * off (retest and resample tasks, case candidates, the health code), exact
 * coverage per grid rolled up the region tree, the missing list, and
 * capacity planning under Dorfman's model.
 *
 * Tables (migration 5): campaigns, campaign_targets, campaign_exempt,
 * campaign_grids (coverage counters), sites, tubes, samples, site_hours,
 * tasks, case_candidates, and the view person_results (what the health
 * code reads).  The files of this folder: campaign.c (campaigns, sites,
 * population), sample.c (tubes, the sampling service, `import samples`),
 * result.c (results, tasks, candidates, `import results`), coverage.c
 * (coverage tree, missing list, xlsx), plan.c (capacity planning), facts.c
 * (health-code facts).
 */
#ifndef FK_TESTING_H
#define FK_TESTING_H

#include <stdbool.h>
#include <stdint.h>

#include "healthcode/facts.h"
#include "lib/err.h"

/* testing_code_facts and testing_code_facts_all are declared in
 * healthcode/facts.h: FACT_TEST rows (from the view person_results), t0
 * sampled, start resulted. */

/* ---- the sampling service (sample.c) ---- */
/* Starts the committer thread that writes samples posted over HTTP (group
 * commit on the store's writer).  Call after store_server_init. */
enum fk_status testing_server_start(struct fk_err *err);
void testing_server_stop(void);

/* ---- capacity planning (plan.c) ---- */
/* Dorfman (1943): expected tests per person with pools of k at
 * prevalence p: 1/k + 1 - (1-p)^k; for k = 1 exactly 1. */
double dorfman_tests_per_person(int k, double p);
/* The pool size in [1, kmax] that minimises dorfman_tests_per_person
 * (the smallest such k on ties). */
int dorfman_best_pool(double p, int kmax);

/* ---- CLI ---- */
int cmd_campaign(int argc, char **argv);      /* campaign.c: create, list, close, site */
int cmd_plan_testing(int argc, char **argv);  /* plan.c */
/* `fangkong import samples|results FILE.csv [OPTIONS]`: argv[0] is
 * "import", argv[1] the kind. */
int import_samples_cli(int argc, char **argv); /* sample.c */
int import_results_cli(int argc, char **argv); /* result.c */
int export_missing(int argc, char **argv);     /* coverage.c: `export missing` */

#endif
