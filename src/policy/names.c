/* names.c — names of colours, order kinds and risk levels, in the API's
 * English and in Chinese. */
#include "policy/policy.h"

#include <string.h>

#include "lib/banned.h"

static const char *const colour_names[] = {"green", "yellow", "red"};
static const char *const colour_labels[] = {"绿码", "黄码", "红码"};
static const char *const order_names[] = {"none", "central", "home_isolation", "home_monitoring"};
static const char *const order_labels[] = {"无", "集中隔离医学观察", "居家隔离医学观察",
					   "居家健康监测"};
static const char *const risk_names[] = {"low", "medium", "high"};
static const char *const risk_labels[] = {"低风险", "中风险", "高风险"};

static bool name_parse(const char *const *names, int n, const char *s, int *out)
{
	if (!s)
		return false;
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], s)) {
			*out = i;
			return true;
		}
	return false;
}

const char *colour_name(enum colour c)
{
	return (unsigned)c <= COLOUR_RED ? colour_names[c] : "unknown";
}

const char *colour_label_zh(enum colour c)
{
	return (unsigned)c <= COLOUR_RED ? colour_labels[c] : "未知";
}

bool colour_parse(const char *s, enum colour *out)
{
	int v;
	if (!name_parse(colour_names, 3, s, &v))
		return false;
	*out = (enum colour)v;
	return true;
}

const char *order_kind_name(enum order_kind k)
{
	return (unsigned)k <= ORDER_HOME_MONITORING ? order_names[k] : "unknown";
}

const char *order_kind_label_zh(enum order_kind k)
{
	return (unsigned)k <= ORDER_HOME_MONITORING ? order_labels[k] : "未知";
}

bool order_kind_parse(const char *s, enum order_kind *out)
{
	int v;
	if (!name_parse(order_names, 4, s, &v))
		return false;
	*out = (enum order_kind)v;
	return true;
}

const char *risk_level_name(enum risk_level l)
{
	return (unsigned)l <= RISK_HIGH ? risk_names[l] : "unknown";
}

const char *risk_level_label_zh(enum risk_level l)
{
	return (unsigned)l <= RISK_HIGH ? risk_labels[l] : "未知";
}

bool risk_level_parse(const char *s, enum risk_level *out)
{
	int v;
	if (!name_parse(risk_names, 3, s, &v))
		return false;
	*out = (enum risk_level)v;
	return true;
}
