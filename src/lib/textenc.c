/* textenc.c — encoding detection, strict UTF-8 validation, GB18030 via iconv.
 *
 * Design note.
 *
 * Detection scans the whole file once, line by line (lines end at LF; the
 * structural CSV bytes are ASCII in both encodings, so a line is a fair
 * unit): it counts lines that are not valid UTF-8 and notes whether any
 * valid line holds a multi-byte sequence.  UTF-8 wins when no line is bad,
 * or when some multi-byte text is valid and under 1% of lines are bad (a
 * UTF-8 file with a few damaged rows).  Otherwise each line is checked
 * against the GB18030 byte structure (1, 2 or 4 bytes per character); if
 * every line passes, it is GB18030.  If neither fits cleanly, the encoding
 * with fewer bad lines is chosen (ties go to UTF-8) so that per-field
 * decoding rejects as few rows as possible.
 *
 * Conversion uses glibc iconv.  An iconv_t holds shift state and must not be
 * shared between threads, so text_to_utf8() opens one per call; ASCII-only
 * fields (ID numbers, phones, times: most of a file) never reach iconv.
 */
#include "lib/textenc.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>

#include "lib/strbuf.h"

#include "lib/banned.h"

const char *text_encoding_name(enum text_encoding enc)
{
	switch (enc) {
	case TEXT_UTF8: return "utf-8";
	case TEXT_UTF8_BOM: return "utf-8 with bom";
	case TEXT_GB18030: return "gb18030";
	}
	return "unknown";
}

/* Offset of the first non-ASCII byte of s[0..n), or n. */
static size_t ascii_prefix(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i + 8 <= n) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if (w & UINT64_C(0x8080808080808080))
			break;
		i += 8;
	}
	while (i < n && s[i] < 0x80)
		i++;
	return i;
}

/* Length of the valid UTF-8 sequence at s[i] (i < n), 0 if invalid.
 * Ranges from RFC 3629 section 4: no overlongs, no surrogates, <= U+10FFFF. */
static inline size_t utf8_seq(const unsigned char *s, size_t i, size_t n)
{
	unsigned c = s[i];
	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return 0; /* continuation byte, or overlong C0/C1 */
	if (c < 0xE0) {
		if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80)
			return 0;
		return 2;
	}
	if (c < 0xF0) {
		if (i + 2 >= n)
			return 0;
		unsigned c1 = s[i + 1];
		unsigned lo = c == 0xE0 ? 0xA0 : 0x80;
		unsigned hi = c == 0xED ? 0x9F : 0xBF;
		if (c1 < lo || c1 > hi || (s[i + 2] & 0xC0) != 0x80)
			return 0;
		return 3;
	}
	if (c < 0xF5) {
		if (i + 3 >= n)
			return 0;
		unsigned c1 = s[i + 1];
		unsigned lo = c == 0xF0 ? 0x90 : 0x80;
		unsigned hi = c == 0xF4 ? 0x8F : 0xBF;
		if (c1 < lo || c1 > hi || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

bool text_utf8_valid(const char *str, size_t n, size_t *bad)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = ascii_prefix(s, n);
	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = utf8_seq(s, i, n);
		if (!k) {
			if (bad)
				*bad = i;
			return false;
		}
		i += k;
	}
	return true;
}

/* True if s[0..n) has the byte structure of GB18030: ASCII, two bytes
 * 81-FE 40-7E/80-FE, or four bytes 81-FE 30-39 81-FE 30-39. */
static bool gb18030_well_formed(const unsigned char *s, size_t n)
{
	size_t i = ascii_prefix(s, n);
	while (i < n) {
		unsigned c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c == 0x80 || c == 0xFF || i + 1 >= n)
			return false;
		unsigned c1 = s[i + 1];
		if ((c1 >= 0x40 && c1 <= 0x7E) || (c1 >= 0x80 && c1 <= 0xFE)) {
			i += 2;
			continue;
		}
		if (c1 < 0x30 || c1 > 0x39 || i + 3 >= n)
			return false;
		if (s[i + 2] < 0x81 || s[i + 2] > 0xFE || s[i + 3] < 0x30 || s[i + 3] > 0x39)
			return false;
		i += 4;
	}
	return true;
}

enum text_encoding text_detect(const char *data, size_t len, size_t *skip)
{
	const unsigned char *d = (const unsigned char *)data;
	if (len >= 3 && d[0] == 0xEF && d[1] == 0xBB && d[2] == 0xBF) {
		if (skip)
			*skip = 3;
		return TEXT_UTF8_BOM;
	}
	if (skip)
		*skip = 0;

	uint64_t lines = 0, utf8_bad = 0, gb_bad = 0;
	bool multibyte = false;
	for (size_t p = 0; p < len;) {
		const unsigned char *lf = memchr(d + p, '\n', len - p);
		size_t end = lf ? (size_t)(lf - d) : len;
		size_t a = ascii_prefix(d + p, end - p);
		lines++;
		if (a < end - p) {
			if (text_utf8_valid(data + p + a, end - p - a, NULL))
				multibyte = true;
			else
				utf8_bad++;
		}
		p = end + 1;
	}
	if (utf8_bad == 0 || (multibyte && utf8_bad * 100 < lines))
		return TEXT_UTF8;

	for (size_t p = 0; p < len;) {
		const unsigned char *lf = memchr(d + p, '\n', len - p);
		size_t end = lf ? (size_t)(lf - d) : len;
		if (!gb18030_well_formed(d + p, end - p))
			gb_bad++;
		p = end + 1;
	}
	return gb_bad < utf8_bad ? TEXT_GB18030 : TEXT_UTF8;
}

/* Appends s[0..n) converted from `from` to `to`; false (out unchanged) on
 * invalid or unconvertible input, or if iconv cannot be opened. */
static bool convert(const char *to, const char *from, const char *s, size_t n,
                    struct strbuf *out)
{
	iconv_t cd = iconv_open(to, from);
	if (cd == (iconv_t)-1)
		return false;
	size_t old_len = out->len;
	bool ok = false;
	/* GB18030 <-> UTF-8 grows at most 2x (U+0080..U+07FF: 2 -> 4 bytes) */
	strbuf_grow(out, n <= SIZE_MAX / 4 ? 2 * n + 8 : n);
	char *in = (char *)s;
	size_t in_left = n;
	for (;;) {
		char *dst = out->buf + out->len;
		size_t room = out->alloc - out->len - 1;
		size_t dst_left = room;
		size_t rc = iconv(cd, &in, &in_left, &dst, &dst_left);
		out->len += room - dst_left;
		if (rc != (size_t)-1) {
			/* flush any shift state, then done */
			dst = out->buf + out->len;
			room = out->alloc - out->len - 1;
			dst_left = room;
			if (iconv(cd, NULL, NULL, &dst, &dst_left) == (size_t)-1)
				break;
			out->len += room - dst_left;
			ok = true;
			break;
		}
		if (errno != E2BIG)
			break; /* EILSEQ or EINVAL: invalid or truncated input */
		strbuf_grow(out, in_left + 16);
	}
	iconv_close(cd);
	if (!ok)
		out->len = old_len;
	out->buf[out->len] = '\0';
	return ok;
}

bool text_to_utf8(enum text_encoding enc, const char *s, size_t n, struct strbuf *out)
{
	size_t a = ascii_prefix((const unsigned char *)s, n);
	if (a == n) {
		strbuf_add(out, s, n);
		return true;
	}
	switch (enc) {
	case TEXT_UTF8:
	case TEXT_UTF8_BOM:
		if (!text_utf8_valid(s + a, n - a, NULL))
			return false;
		strbuf_add(out, s, n);
		return true;
	case TEXT_GB18030:
		/* iconv is the judge of validity; the structure check is cheap and
		 * keeps obviously bad bytes away from it */
		if (!gb18030_well_formed((const unsigned char *)s + a, n - a))
			return false;
		return convert("UTF-8", "GB18030", s, n, out);
	}
	return false;
}

bool text_utf8_to_gb18030(const char *s, size_t n, struct strbuf *out)
{
	if (!text_utf8_valid(s, n, NULL))
		return false;
	return convert("GB18030", "UTF-8", s, n, out);
}
