/* strbuf.h — growable NUL-terminated byte buffer (after git's strbuf).
 *
 * Invariant: buf[len] == '\0' and len < alloc whenever alloc > 0; an
 * initialised empty strbuf points at a static "" so readers never see NULL.
 * Growth aborts the process on allocation failure or size overflow: a
 * strbuf is for bounded text (a response, a CSV line), never unbounded input.
 */
#ifndef FK_STRBUF_H
#define FK_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
};

#define STRBUF_INIT {fk_strbuf_empty, 0, 0}
extern char fk_strbuf_empty[];

void strbuf_init(struct strbuf *sb);
/* Frees the buffer and leaves sb empty and reusable. */
void strbuf_release(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, int c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
/* Appends s as a JSON string literal, quotes included. */
void strbuf_add_json_str(struct strbuf *sb, const char *s);
/* Detaches the buffer: caller frees the result with free(). */
char *strbuf_detach(struct strbuf *sb, size_t *len);

#endif
