/* roles.c — roles and their permissions, region-scope tests, masking of
 * identifiers.  Pure functions over constant tables: no state, no locks.
 */
#include "access/access.h"

#include <string.h>

#include "lib/util.h"

#include "lib/banned.h"

static const struct {
	const char *name;
	const char *label_zh;
	unsigned perms;
} roles[ROLE_COUNT] = {
	/* admin manages accounts and reads the audit log; it has no person
	 * access at all, so an account manager cannot browse health data. */
	[ROLE_ADMIN] = {"admin", "管理员",
			PERM_READ_REGIONS | PERM_MANAGE_USERS | PERM_READ_VENUES | PERM_READ_AUDIT |
				PERM_POLICY},
	[ROLE_COMMAND] = {"command", "指挥部",
			  PERM_READ_REGIONS | PERM_READ_PERSONS | PERM_READ_VENUES | PERM_UNMASK |
				  PERM_TRACE | PERM_READ_ALERTS | PERM_READ_CODES |
				  PERM_CODE_OVERRIDE | PERM_CHECKPOINT | PERM_CLEAR_ALERTS |
				  PERM_READ_TESTING | PERM_MANAGE_TESTING | PERM_READ_CONTROL |
				  PERM_MANAGE_CONTROL | PERM_ISOLATION},
	[ROLE_TRACER] = {"tracer", "流调溯源组",
			 PERM_READ_REGIONS | PERM_READ_PERSONS | PERM_READ_VENUES | PERM_UNMASK |
				 PERM_TRACE | PERM_READ_ALERTS | PERM_READ_CODES |
				 PERM_CODE_OVERRIDE | PERM_READ_TESTING | PERM_READ_CONTROL},
	[ROLE_ISOLATION] = {"isolation", "转运隔离组",
			    PERM_READ_REGIONS | PERM_READ_PERSONS | PERM_READ_VENUES | PERM_UNMASK |
				    PERM_READ_CODES | PERM_CODE_OVERRIDE | PERM_READ_TESTING |
				    PERM_READ_CONTROL | PERM_ISOLATION | PERM_CHECKS},
	[ROLE_TESTER] = {"tester", "核酸检测组",
			 PERM_READ_REGIONS | PERM_READ_PERSONS | PERM_READ_VENUES | PERM_UNMASK |
				 PERM_READ_CODES | PERM_CODE_OVERRIDE | PERM_READ_TESTING |
				 PERM_MANAGE_TESTING | PERM_SAMPLE | PERM_RESULTS},
	/* a lab sees tubes and posts their results; no persons */
	[ROLE_LAB] = {"lab", "实验室", PERM_READ_REGIONS | PERM_READ_VENUES | PERM_RESULTS},
	[ROLE_GRID] = {"grid", "网格员",
		       PERM_READ_REGIONS | PERM_READ_PERSONS | PERM_READ_VENUES | PERM_UNMASK |
			       PERM_READ_ALERTS | PERM_READ_CODES | PERM_CLEAR_ALERTS |
			       PERM_READ_TESTING | PERM_READ_CONTROL | PERM_CHECKS},
	[ROLE_SENTINEL] = {"sentinel", "哨点", PERM_READ_REGIONS | PERM_READ_VENUES},
	[ROLE_VENUE] = {"venue", "场所", PERM_READ_REGIONS | PERM_READ_VENUES | PERM_SCAN},
	[ROLE_CHECKPOINT] = {"checkpoint", "卡口",
			     PERM_READ_REGIONS | PERM_READ_VENUES | PERM_SCAN | PERM_CHECKPOINT},
	/* a citizen sees only their own records (me/...) and scans venues */
	[ROLE_CITIZEN] = {"citizen", "市民", PERM_SCAN},
};

static bool role_valid(enum role r)
{
	return (unsigned)r < ROLE_COUNT;
}

/* The roles that work on health: they hold PERM_CODE_OVERRIDE. */
bool role_is_health(enum role r)
{
	return role_valid(r) && (roles[r].perms & PERM_CODE_OVERRIDE);
}

const char *role_name(enum role r)
{
	return role_valid(r) ? roles[r].name : "unknown";
}

const char *role_label_zh(enum role r)
{
	return role_valid(r) ? roles[r].label_zh : "未知";
}

bool role_parse(const char *s, enum role *out)
{
	if (!s)
		return false;
	for (int i = 0; i < ROLE_COUNT; i++) {
		if (!strcmp(s, roles[i].name)) {
			*out = (enum role)i;
			return true;
		}
	}
	return false;
}

unsigned role_perms(enum role r)
{
	return role_valid(r) ? roles[r].perms : 0;
}

bool access_scope_contains(const char *scope, const char *region_code)
{
	if (!scope || !region_code)
		return false;
	return fk_starts_with(region_code, scope);
}

void access_scope_upper(const char *scope, char *out, size_t size)
{
	if (!size)
		return;
	size_t n = strlen(scope);
	if (n + 2 > size) {
		/* cannot express the bound: an empty range is the safe answer */
		fk_strlcpy(out, scope, size);
		return;
	}
	memcpy(out, scope, n);
	out[n] = ':';
	out[n + 1] = '\0';
}

/* Copies in[0..n) into out keeping `head` leading and `tail` trailing bytes
 * and starring the rest.  Inputs too short to keep anything hidden, or too
 * long for out, are starred entirely: masking never reveals more. */
static void mask_keep(const char *in, char *out, size_t size, size_t head, size_t tail)
{
	if (!size)
		return;
	size_t n = in ? strlen(in) : 0;
	if (n >= size)
		n = size - 1;
	bool keep = in && strlen(in) < size && n > head + tail;
	for (size_t i = 0; i < n; i++) {
		if (keep && (i < head || i >= n - tail))
			out[i] = in[i];
		else
			out[i] = '*';
	}
	out[n] = '\0';
}

void mask_id_number(const char *in, char *out, size_t size)
{
	mask_keep(in, out, size, 6, 4);
	size_t n = strlen(out);
	if (n && out[n - 1] == 'x')
		out[n - 1] = 'X'; /* the check character is written upper case */
}

void mask_phone(const char *in, char *out, size_t size)
{
	mask_keep(in, out, size, 3, 4);
}

/* Length of the UTF-8 sequence starting with byte c, 0 if c cannot start
 * one. */
static size_t utf8_seq_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return 2;
	if (c >= 0xE0 && c <= 0xEF)
		return 3;
	if (c >= 0xF0 && c <= 0xF4)
		return 4;
	return 0;
}

void mask_name(const char *in, char *out, size_t size)
{
	size_t starts[64], nchars = 0, n = in ? strlen(in) : 0;
	if (!size)
		return;
	out[0] = '\0';
	/* split into characters (at most 64; longer names are starred) */
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len((unsigned char)in[i]);
		if (!l || i + l > n || nchars == FK_ARRAY_LEN(starts))
			goto all_stars;
		for (size_t k = 1; k < l; k++)
			if (((unsigned char)in[i + k] & 0xC0) != 0x80)
				goto all_stars;
		starts[nchars++] = i;
		i += l;
	}
	if (nchars < 2) {
		/* a one-character name cannot be masked and still read as a name */
		if (nchars == 1 && size > 1) {
			out[0] = '*';
			out[1] = '\0';
		}
		return;
	}
	size_t first = starts[1]; /* bytes of the first character */
	size_t last = nchars >= 3 ? n - starts[nchars - 1] : 0;
	size_t stars = nchars - 1 - (last ? 1 : 0);
	if (first + stars + last + 1 > size)
		goto all_stars;
	memcpy(out, in, first);
	memset(out + first, '*', stars);
	memcpy(out + first + stars, in + n - last, last);
	out[first + stars + last] = '\0';
	return;
all_stars:
	/* never reveal more than the rule allows: star what fits */
	{
		size_t k = 0;
		while (k + 1 < size && k < 3)
			out[k++] = '*';
		out[k] = '\0';
	}
}
