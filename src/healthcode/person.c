/* person.c — one person's code: reading their facts through every
 * provider, the reasons and evidence of each rule in zh-CN and English,
 * and the JSON every caller shows (API, CLI). */
#include "healthcode/healthcode.h"

#include <stdio.h>
#include <string.h>

#include "lib/util.h"
#include "store/store.h"
#include "tracing/tracing.h"

#include "lib/banned.h"

enum fk_status hc_load_person(sqlite3 *db, int64_t person_id, struct hc_facts *f,
			      struct fk_err *err)
{
	hc_facts_init(f, person_id);
	sqlite3_stmt *st =
		store_prepare(db,
			      "SELECT p.grid_code, p.occupation, h.label FROM persons p"
			      " LEFT JOIN households h ON h.id = p.household_id WHERE p.id = ?1",
			      err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, person_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		fk_strlcpy(f->grid, (const char *)sqlite3_column_text(st, 0), sizeof(f->grid));
		const char *occ = (const char *)sqlite3_column_text(st, 1);
		fk_strlcpy(f->occupation, occ ? occ : "", sizeof(f->occupation));
		const char *hh = (const char *)sqlite3_column_text(st, 2);
		fk_strlcpy(f->household, hh ? hh : "", sizeof(f->household));
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return fk_fail(err, FK_ENOTFOUND, "no person with id %lld", (long long)person_id);
	if (rc != SQLITE_ROW)
		return fk_fail(err, FK_EDB, "reading person: %s", sqlite3_errmsg(db));
	enum fk_status s = tracing_code_facts(db, f, err);
	if (!s)
		s = control_code_facts(db, f, err);
	if (!s)
		s = checkins_code_facts(db, f, err);
	if (!s)
		s = testing_code_facts(db, f, err);
	if (!s)
		s = override_code_facts(db, f, err);
	return s;
}

enum fk_status hc_person_code(sqlite3 *db, const struct policy *p, int64_t person_id, int64_t at,
			      struct hc_facts *f, struct hc_areas *a, struct hc_result *r,
			      struct fk_err *err)
{
	memset(a, 0, sizeof(*a));
	enum fk_status s = hc_load_person(db, person_id, f, err);
	if (!s)
		s = control_risk_areas(db, a, err);
	if (!s)
		hc_evaluate(p, f, a, at, r);
	return s;
}

static const char *case_zh(int level)
{
	switch (level) {
	case CASE_ASYMPTOMATIC: return "无症状感染者";
	case CASE_SUSPECTED: return "疑似病例";
	default: return "确诊病例";
	}
}

static const char *case_en(int level)
{
	switch (level) {
	case CASE_ASYMPTOMATIC: return "asymptomatic infection";
	case CASE_SUSPECTED: return "suspected case";
	default: return "confirmed case";
	}
}

static const char *order_en(int kind)
{
	switch (kind) {
	case ORDER_CENTRAL: return "under centralized medical observation";
	case ORDER_HOME_ISOLATION: return "under home isolation";
	case ORDER_HOME_MONITORING: return "under home health monitoring";
	default: return "under a control order";
	}
}

static int periodic_days(const struct policy *p, const char *occupation)
{
	for (int k = 0; k < p->nperiodic; k++)
		if (!strcmp(p->periodic[k].occupation, occupation))
			return p->periodic[k].days;
	return 0;
}

void hc_hit_reason(const struct policy *p, const struct hc_facts *f, const struct hc_hit *h,
		   char *zh, size_t zh_size, char *en, size_t en_size)
{
	const struct hc_fact *x = h->fact < f->n ? &f->v[h->fact] : NULL;
	const char *lvl_zh = h->area ? risk_level_label_zh((enum risk_level)h->area->level) : "";
	const char *lvl_en = h->area ? risk_level_name((enum risk_level)h->area->level) : "";
	switch (h->rule) {
	case HC_RULE_CASE:
		snprintf(zh, zh_size, "%s", case_zh(x ? x->level : 0));
		snprintf(en, en_size, "%s", case_en(x ? x->level : 0));
		break;
	case HC_RULE_ORDER:
		snprintf(zh, zh_size, "%s中", order_kind_label_zh(x ? (enum order_kind)x->level
								 : ORDER_CENTRAL));
		snprintf(en, en_size, "%s", order_en(x ? x->level : 0));
		break;
	case HC_RULE_CLOSE:
		snprintf(zh, zh_size, "密切接触者,待落实管控措施");
		snprintf(en, en_size, "close contact of a case, not yet under a control order");
		break;
	case HC_RULE_SECONDARY:
		snprintf(zh, zh_size, "密接的密接(次密接)");
		snprintf(en, en_size, "secondary contact (contact of a close contact)");
		break;
	case HC_RULE_FEVER:
		snprintf(zh, zh_size, "发热(≥37.3℃)未排除");
		snprintf(en, en_size, "fever reported and not yet cleared");
		break;
	case HC_RULE_POOL:
		snprintf(zh, zh_size, "混管阳性,待单管复核");
		snprintf(en, en_size, "member of a positive pooled tube, single-tube retest pending");
		break;
	case HC_RULE_ARRIVAL:
		snprintf(zh, zh_size, "%d天内来自%s区", p->arrival_lookback_days, lvl_zh);
		snprintf(en, en_size, "arrived from a %s-risk area (stay within %d days)", lvl_en,
			 p->arrival_lookback_days);
		break;
	case HC_RULE_PERIODIC:
		snprintf(zh, zh_size, "重点人群核酸检测逾期(每%d天一次)",
			 periodic_days(p, f->occupation));
		snprintf(en, en_size, "periodic test overdue (%s: every %d days)", f->occupation,
			 periodic_days(p, f->occupation));
		break;
	case HC_RULE_RESIDENT:
		snprintf(zh, zh_size, "居住在%s区", lvl_zh);
		snprintf(en, en_size, "lives in a %s-risk area", lvl_en);
		break;
	case HC_RULE_OVERRIDE:
		snprintf(zh, zh_size, "人工赋码(双人复核)");
		snprintf(en, en_size, "manual override approved by two health officers");
		break;
	case HC_RULE_COUNT:
		snprintf(zh, zh_size, "?");
		snprintf(en, en_size, "?");
		break;
	}
}

void hc_hit_evidence(const struct hc_facts *f, const struct hc_hit *h, char *out, size_t size)
{
	const struct hc_fact *x = h->fact < f->n ? &f->v[h->fact] : NULL;
	char t0[40], t1[40];
	out[0] = 0;
	switch (h->rule) {
	case HC_RULE_CASE:
		if (x)
			snprintf(out, size, "病例 #%lld (%s), 发病或首次阳性 %s", (long long)x->ref,
				 x->text, fk_format_time(x->t0, t0, sizeof(t0)));
		break;
	case HC_RULE_ORDER:
		if (x)
			snprintf(out, size, "管控令 #%lld (%s) %s", (long long)x->ref,
				 order_kind_name((enum order_kind)x->level), x->text);
		break;
	case HC_RULE_CLOSE:
	case HC_RULE_SECONDARY:
		if (x)
			snprintf(out, size, "病例 #%lld; 暴露 %s; %s%s; 发现于 %s", (long long)x->ref,
				 fk_format_time(x->t0, t0, sizeof(t0)),
				 x->flags ? "同户" : "场所 ", x->flags ? "" : x->text,
				 fk_format_time(x->start, t1, sizeof(t1)));
		break;
	case HC_RULE_FEVER:
		if (x)
			snprintf(out, size, "预警 #%lld: %s", (long long)x->ref, x->text);
		break;
	case HC_RULE_POOL:
		if (x)
			snprintf(out, size, "混管 %s, 采样 %s", x->text,
				 fk_format_time(x->t0, t0, sizeof(t0)));
		break;
	case HC_RULE_ARRIVAL:
		if (x)
			snprintf(out, size, "来自 %s, 到达 %s; 风险区 #%lld %s", x->region,
				 fk_format_time(x->start, t0, sizeof(t0)),
				 (long long)(h->area ? h->area->id : 0), h->area ? h->area->region : "");
		break;
	case HC_RULE_PERIODIC:
		if (x)
			snprintf(out, size, "最近一次采样 %s", fk_format_time(x->t0, t0, sizeof(t0)));
		else
			snprintf(out, size, "无检测记录");
		break;
	case HC_RULE_RESIDENT:
		if (h->area)
			snprintf(out, size, "风险区 #%lld %s, 自 %s; 网格 %s", (long long)h->area->id,
				 h->area->region, fk_format_time(h->area->start, t0, sizeof(t0)),
				 f->grid);
		break;
	case HC_RULE_OVERRIDE:
		if (x)
			snprintf(out, size, "复核赋码 #%lld (%s)", (long long)x->ref, x->text);
		break;
	case HC_RULE_COUNT:
		break;
	}
}

static void add_time(struct strbuf *o, const char *key, int64_t t)
{
	char buf[40];
	strbuf_addf(o, "\"%s\":", key);
	if (t == INT64_MIN || t == HC_NEVER) {
		strbuf_addstr(o, "null");
		return;
	}
	strbuf_add_json_str(o, fk_format_time(t, buf, sizeof(buf)));
}

void hc_result_json(const struct policy *p, const struct hc_facts *f, const struct hc_result *r,
		    struct strbuf *o)
{
	char zh[256], en[256], ev[512];
	strbuf_addstr(o, "\"colour\":");
	strbuf_add_json_str(o, colour_name(r->colour));
	strbuf_addstr(o, ",\"colour_zh\":");
	strbuf_add_json_str(o, colour_label_zh(r->colour));
	strbuf_addch(o, ',');
	add_time(o, "at", r->at);
	strbuf_addch(o, ',');
	add_time(o, "next_change", r->next_change);
	strbuf_addf(o, ",\"overridden\":%s,\"computed\":", r->overridden ? "true" : "false");
	strbuf_add_json_str(o, colour_name(r->computed));
	strbuf_addstr(o, ",\"policy_version\":");
	strbuf_add_json_str(o, r->policy_version);
	strbuf_addf(o, ",\"truncated\":%s,\"rules\":[", r->truncated ? "true" : "false");
	for (size_t i = 0; i < r->nhits; i++) {
		const struct hc_hit *h = &r->hits[i];
		hc_hit_reason(p, f, h, zh, sizeof(zh), en, sizeof(en));
		hc_hit_evidence(f, h, ev, sizeof(ev));
		strbuf_addstr(o, i ? ",{\"rule\":" : "{\"rule\":");
		strbuf_add_json_str(o, hc_rule_name(h->rule));
		strbuf_addstr(o, ",\"colour\":");
		strbuf_add_json_str(o, colour_name(h->colour));
		strbuf_addstr(o, ",\"reason_zh\":");
		strbuf_add_json_str(o, zh);
		strbuf_addstr(o, ",\"reason_en\":");
		strbuf_add_json_str(o, en);
		strbuf_addstr(o, ",\"evidence\":");
		strbuf_add_json_str(o, ev);
		strbuf_addch(o, ',');
		add_time(o, "start", h->start);
		strbuf_addch(o, ',');
		add_time(o, "end", h->end);
		strbuf_addch(o, '}');
	}
	strbuf_addch(o, ']');
}
