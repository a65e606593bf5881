/* textenc.h — text encodings of imported files.
 *
 * Excel on Chinese Windows saves CSV as GB18030 (GBK); other tools write
 * UTF-8 with or without a BOM.  text_detect() decides per file: a UTF-8 BOM
 * means UTF-8; otherwise if the bytes are mostly valid UTF-8 (every
 * multi-byte sequence valid, or at least one valid multi-byte sequence and
 * invalid ones in under 1% of lines) it is UTF-8; otherwise, if it decodes
 * as GB18030, GB18030.  Per-field decoding then rejects only the rows whose
 * bytes are invalid in the detected encoding ("invalid encoding").
 */
#ifndef FK_TEXTENC_H
#define FK_TEXTENC_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf;

enum text_encoding {
	TEXT_UTF8 = 0,
	TEXT_UTF8_BOM,
	TEXT_GB18030,
};

const char *text_encoding_name(enum text_encoding enc);

/* Detects the encoding of data; *skip is set to the BOM length (0 or 3). */
enum text_encoding text_detect(const char *data, size_t len, size_t *skip);

/* True if s[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
 * On false, *bad (if not NULL) is the offset of the first invalid byte. */
bool text_utf8_valid(const char *s, size_t n, size_t *bad);

/* Appends s[0..n) converted to UTF-8 to out.  False (out unchanged) if the
 * bytes are invalid in enc. Thread-safe. */
bool text_to_utf8(enum text_encoding enc, const char *s, size_t n, struct strbuf *out);

/* Converts UTF-8 to GB18030 (for tests and exports); false if impossible. */
bool text_utf8_to_gb18030(const char *s, size_t n, struct strbuf *out);

#endif
