/* poster.c — `fangkong export KIND`; KIND venue-posters writes one printable
 * poster per venue of a region's subtree, as PNG and as SVG: the signed QR
 * code (venue_payload_make), the venue's name, code, kind and address.
 *
 * Design note.
 * - One layout, two renderers.  poster_layout() places every element (the
 *   header band, the lines of text with their pixel size, the QR modules)
 *   on an A4 page of 1240 x 1754 px (150 dpi), measuring text with the
 *   same FreeType face the PNG is drawn with; poster_png() rasterises that
 *   layout and poster_svg() writes it as SVG in the same coordinates
 *   (viewBox = the page, text centred with text-anchor, so small metric
 *   differences of the viewer's font do not push text off the page).
 * - Text is bounded: a venue name is cut at POSTER_TEXT_MAX bytes on a
 *   character boundary; long names shrink to a minimum size and then wrap
 *   to at most two lines, addresses to three; a line that still does not
 *   fit ends in "…".  Invalid UTF-8 becomes U+FFFD; SVG text drops the
 *   characters XML 1.0 forbids and escapes the rest.
 * - The QR code carries only the payload (upper-case letters, digits and
 *   ':' for generated codes, so libqrencode picks alphanumeric mode);
 *   error correction Q (25 %) because posters hang in doorways, get wet,
 *   scratched and taped over.
 * - The PNG needs a font with Chinese glyphs.  poster_font_open() tries
 *   $FANGKONG_FONT, then the files of known Debian packages
 *   (fonts-wqy-microhei first: 5 MB against 90 MB for fonts-noto-cjk), then
 *   asks fontconfig's fc-match when it is installed, and keeps the first
 *   face that has the glyphs of the poster's fixed text.  The SVG names a
 *   list of CJK families and leaves the choice to the viewer.
 * - Files are written to DIR/.CODE.ext.tmp and renamed, so a reader (or a
 *   print shop syncing DIR) never sees half a poster.
 */
#include "checkins/checkins.h"
#include "testing/testing.h"

#include <errno.h>
#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_SYNTHESIS_H
#include <getopt.h>
#include <png.h>
#include <qrencode.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/strbuf.h"
#include "lib/util.h"
#include "registry/registry.h"
#include "store/store.h"

#include "lib/banned.h"

/* ---------------------------------------------------------------- page */

#define PAGE_W 1240 /* A4 at 150 dpi */
#define PAGE_H 1754
#define PAGE_DPI 150
#define PAGE_MARGIN 100
#define POSTER_TEXT_MAX 512 /* bytes of one text line, NUL included */
#define POSTER_MAX_LINES 16
#define QR_MAX_SIDE 880 /* px of the code with its quiet zone */
#define QR_QUIET 4      /* modules of white border (ISO/IEC 18004) */

#define RGB_WHITE 0xFFFFFFu
#define RGB_BLACK 0x000000u
#define RGB_GREEN 0x1B7F3Bu
#define RGB_GREY 0x555555u
#define RGB_PALE 0xE3F1E7u

#define POSTER_TITLE "场所码 · 进入请扫码"
#define POSTER_SUBTITLE "扫码登记 · 配合疫情防控"
#define POSTER_FOOTER "请用手机扫码登记 · 伪造或涂改的场所码无法通过核验"
/* glyphs a usable font must have (the fixed text and the labels) */
#define POSTER_PROBE "场所码进入请扫登记配合疫情防控编类型地址网格省市区村"

#define SVG_FONTS                                                                          \
	"'WenQuanYi Micro Hei','Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei',"  \
	"'PingFang SC','Heiti SC',sans-serif"

struct poster_line {
	char text[POSTER_TEXT_MAX];
	int baseline; /* y of the baseline; x is always the page centre */
	int px;       /* pixel size (em) */
	uint32_t rgb;
	bool bold;
};

struct poster_layout {
	int band_h; /* header band 0..band_h, green */
	struct poster_line lines[POSTER_MAX_LINES];
	int nlines;
	const QRcode *qr; /* borrowed */
	int qr_x, qr_y, qr_module; /* top left of the quiet zone, module px */
};

/* What one poster shows. */
struct venue_info {
	char code[VENUE_CODE_MAX + 1];
	char name[POSTER_TEXT_MAX];
	char kind[POSTER_TEXT_MAX];
	char address[POSTER_TEXT_MAX];
	char payload[VENUE_PAYLOAD_MAX];
};

/* ---------------------------------------------------------------- UTF-8 */

/* Decodes one character at s (n bytes left, n > 0) into *cp and returns its
 * length; invalid or truncated sequences yield U+FFFD and length 1. */
static size_t utf8_next(const char *s, size_t n, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	size_t len = u[0] >= 0xF0 ? 4 : u[0] >= 0xE0 ? 3 : u[0] >= 0xC2 ? 2 : 0;
	if (len == 0 || len > n || u[0] > 0xF4)
		goto bad;
	uint32_t v = u[0] & (0x7F >> len);
	for (size_t i = 1; i < len; i++) {
		if ((u[i] & 0xC0) != 0x80)
			goto bad;
		v = v << 6 | (u[i] & 0x3F);
	}
	static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
	if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		goto bad;
	*cp = v;
	return len;
bad:
	*cp = 0xFFFD;
	return 1;
}

static void utf8_put(struct strbuf *sb, uint32_t cp)
{
	char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (char)(0xF0 | cp >> 18);
		b[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		b[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		b[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	strbuf_add(sb, b, n);
}

/* Copies src into dst (size bytes) as valid UTF-8 without control
 * characters, cut on a character boundary. */
static void text_clean(char *dst, size_t size, const char *src)
{
	struct strbuf sb = STRBUF_INIT;
	size_t n = strlen(src);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		i += utf8_next(src + i, n - i, &cp);
		if (cp < 0x20 || cp == 0x7F)
			cp = ' ';
		size_t before = sb.len;
		utf8_put(&sb, cp);
		if (sb.len + 1 > size) {
			sb.len = before;
			break;
		}
	}
	memcpy(dst, sb.buf, sb.len);
	dst[sb.len] = '\0';
	strbuf_release(&sb);
}

/* ---------------------------------------------------------------- font */

struct poster_font {
	FT_Library lib;
	FT_Face face;
	char path[1024];
};

struct font_candidate {
	const char *path;
	const char *package;
};

/* Debian packages with a CJK face, smallest first. */
static const struct font_candidate known_fonts[] = {
	{"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "fonts-wqy-microhei"},
	{"/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "fonts-wqy-zenhei"},
	{"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "fonts-noto-cjk"},
	{"/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", "fonts-noto-cjk"},
	{"/usr/share/fonts/truetype/arphic/uming.ttc", "fonts-arphic-uming"},
	{"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", "fonts-droid-fallback"},
};

static bool face_has_probe(FT_Face face)
{
	const char *s = POSTER_PROBE;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		i += utf8_next(s + i, n - i, &cp);
		if (FT_Get_Char_Index(face, cp) == 0)
			return false;
	}
	return true;
}

/* Opens the face of path that has the probe glyphs, preferring a
 * simplified-Chinese face ("... SC") in a collection.  False if none. */
static bool font_try(struct poster_font *f, const char *path)
{
	FT_Face face = NULL;
	if (FT_New_Face(f->lib, path, 0, &face))
		return false;
	long nfaces = face->num_faces;
	FT_Face best = face_has_probe(face) ? face : NULL;
	if (!best)
		FT_Done_Face(face);
	for (long i = 1; i < nfaces && i < 64; i++) {
		const char *fam;
		if (FT_New_Face(f->lib, path, i, &face))
			continue;
		fam = face->family_name ? face->family_name : "";
		size_t fl = strlen(fam);
		bool sc = fl >= 3 && !strcmp(fam + fl - 3, " SC");
		if (face_has_probe(face) && (!best || sc)) {
			if (best)
				FT_Done_Face(best);
			best = face;
			if (sc)
				break;
		} else {
			FT_Done_Face(face);
		}
	}
	if (!best)
		return false;
	f->face = best;
	fk_strlcpy(f->path, path, sizeof(f->path));
	return true;
}

/* Asks fontconfig (when installed) for a font covering zh-cn. */
static bool font_try_fc_match(struct poster_font *f)
{
	static const char *const dirs[] = {"/usr/bin/fc-match", "/usr/local/bin/fc-match",
					   "/bin/fc-match"};
	const char *bin = NULL;
	for (size_t i = 0; i < FK_ARRAY_LEN(dirs) && !bin; i++)
		if (!access(dirs[i], X_OK))
			bin = dirs[i];
	if (!bin)
		return false;
	struct strbuf cmd = STRBUF_INIT;
	strbuf_addf(&cmd, "%s -f '%%{file}' ':lang=zh-cn' 2>/dev/null", bin);
	FILE *p = popen(cmd.buf, "r");
	strbuf_release(&cmd);
	if (!p)
		return false;
	char path[1024];
	size_t n = fread(path, 1, sizeof(path) - 1, p);
	pclose(p);
	path[n] = '\0';
	path[strcspn(path, "\n")] = '\0';
	return path[0] == '/' && font_try(f, path);
}

static void poster_font_close(struct poster_font *f)
{
	if (f->face)
		FT_Done_Face(f->face);
	if (f->lib)
		FT_Done_FreeType(f->lib);
	f->face = NULL;
	f->lib = NULL;
}

/* Finds a face with Chinese glyphs (see the design note).  FK_EIO with a
 * message naming the package to install when there is none. */
static enum fk_status poster_font_open(struct poster_font *f, struct fk_err *err)
{
	memset(f, 0, sizeof(*f));
	if (FT_Init_FreeType(&f->lib))
		return fk_fail(err, FK_EIO, "cannot initialise FreeType");
	const char *env = getenv("FANGKONG_FONT");
	if (env && *env) {
		if (font_try(f, env))
			return FK_OK;
		poster_font_close(f);
		return fk_fail(err, FK_EIO,
			       "font '%s' (FANGKONG_FONT) cannot be loaded or has no Chinese"
			       " glyphs; install the Debian package fonts-wqy-microhei and unset"
			       " FANGKONG_FONT, or name another CJK font file",
			       env);
	}
	for (size_t i = 0; i < FK_ARRAY_LEN(known_fonts); i++)
		if (!access(known_fonts[i].path, R_OK) && font_try(f, known_fonts[i].path))
			return FK_OK;
	if (font_try_fc_match(f))
		return FK_OK;
	poster_font_close(f);
	return fk_fail(err, FK_EIO,
		       "no font with Chinese glyphs found: install the Debian package"
		       " fonts-wqy-microhei (apt-get install fonts-wqy-microhei), or set"
		       " FANGKONG_FONT to a CJK font file");
}

/* Loads the glyph of cp at the current size into the slot (emboldened when
 * bold); false if FreeType fails on it. */
static bool glyph_load(FT_Face face, uint32_t cp, bool bold)
{
	FT_UInt idx = FT_Get_Char_Index(face, cp);
	if (FT_Load_Glyph(face, idx, FT_LOAD_DEFAULT | FT_LOAD_NO_BITMAP))
		return false;
	if (bold)
		FT_GlyphSlot_Embolden(face->glyph);
	return true;
}

/* Advance width of s in pixels at px. */
static int text_width(struct poster_font *f, const char *s, int px, bool bold)
{
	FT_Set_Pixel_Sizes(f->face, 0, (FT_UInt)px);
	long w = 0; /* 26.6 */
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		i += utf8_next(s + i, n - i, &cp);
		if (glyph_load(f->face, cp, bold))
			w += f->face->glyph->advance.x;
	}
	return (int)((w + 63) >> 6);
}

/* ---------------------------------------------------------------- layout */

static void add_line(struct poster_layout *lo, const char *text, int baseline, int px,
		     uint32_t rgb, bool bold)
{
	if (lo->nlines >= POSTER_MAX_LINES)
		return;
	struct poster_line *l = &lo->lines[lo->nlines++];
	fk_strlcpy(l->text, text, sizeof(l->text));
	l->baseline = baseline;
	l->px = px;
	l->rgb = rgb;
	l->bold = bold;
}

/* Lays text out in at most max_lines lines no wider than width, at the
 * largest size in [px_min, px_max] (steps of 2) that fits on one line, else
 * wrapped at px_min; the last line ends in "…" if text still does not fit.
 * The first baseline is *y + size; *y moves past the block. */
static void add_block(struct poster_layout *lo, struct poster_font *f, const char *text,
		      int px_max, int px_min, int width, int max_lines, double leading,
		      uint32_t rgb, bool bold, int *y)
{
	int px = px_max;
	while (px > px_min && text_width(f, text, px, bold) > width)
		px -= 2;
	if (px < px_min)
		px = px_min;
	int line_h = (int)(px * leading);
	size_t n = strlen(text), pos = 0;
	for (int line = 0; line < max_lines && pos < n; line++) {
		char buf[POSTER_TEXT_MAX];
		size_t end = pos, best = pos;
		/* the longest prefix from pos that fits */
		while (end < n) {
			uint32_t cp;
			size_t next = end + utf8_next(text + end, n - end, &cp);
			size_t len = next - pos;
			if (len >= sizeof(buf))
				break;
			memcpy(buf, text + pos, len);
			buf[len] = '\0';
			if (text_width(f, buf, px, bold) > width && best > pos)
				break;
			best = end = next;
		}
		size_t len = best - pos;
		memcpy(buf, text + pos, len);
		buf[len] = '\0';
		if (line == max_lines - 1 && best < n) {
			/* out of lines: drop characters until "…" fits */
			static const char ell[] = "…";
			for (;;) {
				if (len + sizeof(ell) <= sizeof(buf)) {
					memcpy(buf + len, ell, sizeof(ell));
					if (len == 0 || text_width(f, buf, px, bold) <= width)
						break;
				}
				do /* back to the previous character boundary */
					len--;
				while (len > 0 && ((unsigned char)buf[len] & 0xC0) == 0x80);
				buf[len] = '\0';
			}
		}
		*y += line_h;
		add_line(lo, buf, *y - (line_h - px) / 2 - px / 8, px, rgb, bold);
		pos = best;
		while (pos < n && text[pos] == ' ')
			pos++;
	}
}

static void poster_layout(struct poster_layout *lo, struct poster_font *f,
			  const struct venue_info *v, const QRcode *qr)
{
	struct strbuf sb = STRBUF_INIT;
	int width = PAGE_W - 2 * PAGE_MARGIN, y;
	memset(lo, 0, sizeof(*lo));
	lo->band_h = 230;
	add_line(lo, POSTER_TITLE, 135, 84, RGB_WHITE, true);
	add_line(lo, POSTER_SUBTITLE, 200, 36, RGB_WHITE, false);

	y = lo->band_h + 40;
	add_block(lo, f, v->name, 72, 48, width, 2, 1.3, RGB_BLACK, true, &y);

	lo->qr = qr;
	int side = qr->width + 2 * QR_QUIET;
	lo->qr_module = QR_MAX_SIDE / side;
	if (lo->qr_module < 1)
		lo->qr_module = 1;
	lo->qr_x = (PAGE_W - side * lo->qr_module) / 2;
	lo->qr_y = y + 30;
	y = lo->qr_y + side * lo->qr_module + 30;

	strbuf_addf(&sb, "场所编码：%s", v->code);
	add_block(lo, f, sb.buf, 44, 28, width, 1, 1.5, RGB_BLACK, false, &y);
	strbuf_reset(&sb);
	strbuf_addf(&sb, "场所类型：%s", v->kind);
	add_block(lo, f, sb.buf, 44, 28, width, 1, 1.5, RGB_BLACK, false, &y);
	strbuf_reset(&sb);
	strbuf_addf(&sb, "场所地址：%s", v->address);
	add_block(lo, f, sb.buf, 40, 30, width, 3, 1.4, RGB_BLACK, false, &y);
	strbuf_release(&sb);

	add_line(lo, POSTER_FOOTER, PAGE_H - 60, 28, RGB_GREY, false);
}

/* ---------------------------------------------------------------- PNG */

struct canvas {
	unsigned char *rgb; /* PAGE_W * PAGE_H * 3 */
};

static void canvas_fill(struct canvas *c, int x0, int y0, int x1, int y1, uint32_t rgb)
{
	if (x0 < 0)
		x0 = 0;
	if (y0 < 0)
		y0 = 0;
	if (x1 > PAGE_W)
		x1 = PAGE_W;
	if (y1 > PAGE_H)
		y1 = PAGE_H;
	for (int y = y0; y < y1; y++) {
		unsigned char *p = c->rgb + ((size_t)y * PAGE_W + (size_t)x0) * 3;
		for (int x = x0; x < x1; x++, p += 3) {
			p[0] = (unsigned char)(rgb >> 16);
			p[1] = (unsigned char)(rgb >> 8);
			p[2] = (unsigned char)rgb;
		}
	}
}

/* Blends an 8-bit coverage bitmap in colour rgb with its top left at x, y. */
static void canvas_blend(struct canvas *c, const FT_Bitmap *bm, int x, int y, uint32_t rgb)
{
	const unsigned char col[3] = {(unsigned char)(rgb >> 16), (unsigned char)(rgb >> 8),
				      (unsigned char)rgb};
	for (unsigned r = 0; r < bm->rows; r++) {
		int py = y + (int)r;
		if (py < 0 || py >= PAGE_H)
			continue;
		const unsigned char *src = bm->buffer + (ptrdiff_t)r * bm->pitch;
		for (unsigned k = 0; k < bm->width; k++) {
			int px = x + (int)k;
			unsigned a = src[k];
			if (px < 0 || px >= PAGE_W || a == 0)
				continue;
			unsigned char *p = c->rgb + ((size_t)py * PAGE_W + (size_t)px) * 3;
			for (int i = 0; i < 3; i++)
				p[i] = (unsigned char)((p[i] * (255 - a) + col[i] * a + 127) / 255);
		}
	}
}

static void canvas_text(struct canvas *c, struct poster_font *f, const struct poster_line *l)
{
	int w = text_width(f, l->text, l->px, l->bold); /* also sets the size */
	long pen = (long)((PAGE_W - w) / 2) << 6;
	size_t n = strlen(l->text);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		i += utf8_next(l->text + i, n - i, &cp);
		if (!glyph_load(f->face, cp, l->bold))
			continue;
		FT_GlyphSlot g = f->face->glyph;
		if (!FT_Render_Glyph(g, FT_RENDER_MODE_NORMAL) &&
		    g->bitmap.pixel_mode == FT_PIXEL_MODE_GRAY)
			canvas_blend(c, &g->bitmap, (int)(pen >> 6) + g->bitmap_left,
				     l->baseline - g->bitmap_top, l->rgb);
		pen += g->advance.x;
	}
}

static void poster_draw(struct canvas *c, struct poster_font *f, const struct poster_layout *lo)
{
	canvas_fill(c, 0, 0, PAGE_W, PAGE_H, RGB_WHITE);
	canvas_fill(c, 0, 0, PAGE_W, lo->band_h, RGB_GREEN);
	const QRcode *qr = lo->qr;
	int m = lo->qr_module, side = (qr->width + 2 * QR_QUIET) * m;
	/* a pale frame around the quiet zone, which stays white */
	canvas_fill(c, lo->qr_x - 12, lo->qr_y - 12, lo->qr_x + side + 12, lo->qr_y + side + 12,
		    RGB_PALE);
	canvas_fill(c, lo->qr_x, lo->qr_y, lo->qr_x + side, lo->qr_y + side, RGB_WHITE);
	for (int y = 0; y < qr->width; y++)
		for (int x = 0; x < qr->width; x++)
			if (qr->data[y * qr->width + x] & 1) {
				int x0 = lo->qr_x + (x + QR_QUIET) * m, y0 = lo->qr_y + (y + QR_QUIET) * m;
				canvas_fill(c, x0, y0, x0 + m, y0 + m, RGB_BLACK);
			}
	for (int i = 0; i < lo->nlines; i++)
		canvas_text(c, f, &lo->lines[i]);
}

/* Writes the canvas to an open file; FK_EIO on a libpng error. */
static enum fk_status png_write_file(FILE *fp, const struct canvas *c, struct fk_err *err)
{
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!png || !info) {
		png_destroy_write_struct(&png, &info);
		return fk_fail(err, FK_ENOMEM, "cannot set up libpng");
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		return fk_fail(err, FK_EIO, "libpng failed");
	}
	png_init_io(png, fp);
	png_set_IHDR(png, info, PAGE_W, PAGE_H, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_uint_32 ppm = (png_uint_32)(PAGE_DPI / 0.0254 + 0.5);
	png_set_pHYs(png, info, ppm, ppm, PNG_RESOLUTION_METER);
	/* Flat colours and rows that repeat: the Up filter turns most rows
	 * into zeros, so the fastest zlib level is enough.  Against Sub at
	 * level 6 this halves the time of a poster (zlib was 3/4 of it) and
	 * makes files a little smaller (~140 KB). */
	png_set_filter(png, 0, PNG_FILTER_UP);
	png_set_compression_level(png, 1);
	png_write_info(png, info);
	for (int y = 0; y < PAGE_H; y++)
		png_write_row(png, c->rgb + (size_t)y * PAGE_W * 3);
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	return FK_OK;
}

/* ---------------------------------------------------------------- SVG */

/* Appends s as XML character data: escaped, invalid UTF-8 as U+FFFD, and
 * characters XML 1.0 does not allow dropped. */
static void xml_add_text(struct strbuf *sb, const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		i += utf8_next(s + i, n - i, &cp);
		switch (cp) {
		case '&': strbuf_addstr(sb, "&amp;"); break;
		case '<': strbuf_addstr(sb, "&lt;"); break;
		case '>': strbuf_addstr(sb, "&gt;"); break;
		case '"': strbuf_addstr(sb, "&quot;"); break;
		case '\'': strbuf_addstr(sb, "&apos;"); break;
		default:
			if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0xFFFE ||
			    cp == 0xFFFF)
				break;
			utf8_put(sb, cp);
		}
	}
}

static void poster_svg(struct strbuf *sb, const struct poster_layout *lo,
		       const struct venue_info *v)
{
	const QRcode *qr = lo->qr;
	int m = lo->qr_module, side = (qr->width + 2 * QR_QUIET) * m;
	strbuf_addf(sb,
		    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"210mm\" height=\"297mm\""
		    " viewBox=\"0 0 %d %d\">\n<title>",
		    PAGE_W, PAGE_H);
	xml_add_text(sb, POSTER_TITLE " · ");
	xml_add_text(sb, v->name);
	strbuf_addstr(sb, "</title>\n<desc>");
	xml_add_text(sb, v->payload);
	strbuf_addf(sb,
		    "</desc>\n"
		    "<rect width=\"%d\" height=\"%d\" fill=\"#FFFFFF\"/>\n"
		    "<rect width=\"%d\" height=\"%d\" fill=\"#%06X\"/>\n"
		    "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#%06X\"/>\n"
		    "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#FFFFFF\"/>\n",
		    PAGE_W, PAGE_H, PAGE_W, lo->band_h, RGB_GREEN, lo->qr_x - 12, lo->qr_y - 12,
		    side + 24, side + 24, RGB_PALE, lo->qr_x, lo->qr_y, side, side);
	/* the modules as one path in module units, runs of dark modules merged */
	strbuf_addf(sb,
		    "<path transform=\"translate(%d %d) scale(%d)\" shape-rendering=\"crispEdges\""
		    " fill=\"#000000\" d=\"",
		    lo->qr_x + QR_QUIET * m, lo->qr_y + QR_QUIET * m, m);
	for (int y = 0; y < qr->width; y++)
		for (int x = 0; x < qr->width;) {
			if (!(qr->data[y * qr->width + x] & 1)) {
				x++;
				continue;
			}
			int run = 0;
			while (x + run < qr->width && (qr->data[y * qr->width + x + run] & 1))
				run++;
			strbuf_addf(sb, "M%d %dh%dv1h-%dz", x, y, run, run);
			x += run;
		}
	strbuf_addf(sb, "\"/>\n<g font-family=\"%s\" text-anchor=\"middle\">\n", SVG_FONTS);
	for (int i = 0; i < lo->nlines; i++) {
		const struct poster_line *l = &lo->lines[i];
		strbuf_addf(sb, "<text x=\"%d\" y=\"%d\" font-size=\"%d\" fill=\"#%06X\"%s>",
			    PAGE_W / 2, l->baseline, l->px, (unsigned)l->rgb,
			    l->bold ? " font-weight=\"bold\"" : "");
		xml_add_text(sb, l->text);
		strbuf_addstr(sb, "</text>\n");
	}
	strbuf_addstr(sb, "</g>\n</svg>\n");
}

/* ---------------------------------------------------------------- files */

/* mkdir -p; FK_EIO naming the directory on failure. */
static enum fk_status mkdir_p(const char *dir, struct fk_err *err)
{
	char path[4096];
	if (!fk_strlcpy(path, dir, sizeof(path)))
		return fk_fail(err, FK_EINVAL, "directory name too long: '%.64s...'", dir);
	size_t n = strlen(path);
	for (size_t i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		char keep = path[i];
		path[i] = '\0';
		if (mkdir(path, 0777) && errno != EEXIST)
			return fk_fail(err, FK_EIO, "cannot create directory '%s': %s", path,
				       strerror(errno));
		path[i] = keep;
	}
	struct stat sbuf;
	if (stat(dir, &sbuf) || !S_ISDIR(sbuf.st_mode))
		return fk_fail(err, FK_EIO, "'%s' is not a directory", dir);
	return FK_OK;
}

/* Writes DIR/CODE.ext through a temporary file renamed into place.  When
 * svg is NULL the canvas is written as PNG. */
static enum fk_status poster_file(const char *dir, const char *code, const char *ext,
				  const struct canvas *c, const struct strbuf *svg,
				  struct fk_err *err)
{
	struct strbuf tmp = STRBUF_INIT, path = STRBUF_INIT;
	enum fk_status st = FK_OK;
	strbuf_addf(&tmp, "%s/.%s.%s.tmp", dir, code, ext);
	strbuf_addf(&path, "%s/%s.%s", dir, code, ext);
	FILE *fp = fopen(tmp.buf, "wb");
	if (!fp) {
		st = fk_fail(err, FK_EIO, "cannot create '%s': %s", tmp.buf, strerror(errno));
		goto release;
	}
	if (svg)
		st = fwrite(svg->buf, 1, svg->len, fp) == svg->len
			     ? FK_OK
			     : fk_fail(err, FK_EIO, "cannot write '%s': %s", tmp.buf,
				       strerror(errno));
	else
		st = png_write_file(fp, c, err);
	if (fclose(fp) && !st)
		st = fk_fail(err, FK_EIO, "cannot write '%s': %s", tmp.buf, strerror(errno));
	if (!st && rename(tmp.buf, path.buf))
		st = fk_fail(err, FK_EIO, "cannot rename '%s' to '%s': %s", tmp.buf, path.buf,
			     strerror(errno));
	if (st)
		unlink(tmp.buf);
release:
	strbuf_release(&tmp);
	strbuf_release(&path);
	return st;
}

/* ---------------------------------------------------------------- data */

struct kind_label {
	const char *kind, *label;
};
#define KIND_ROW(k, l) {k, l},
static const struct kind_label kind_labels[] = {REGISTRY_VENUE_KINDS(KIND_ROW)};
#undef KIND_ROW

static const char *kind_label(const char *kind)
{
	for (size_t i = 0; i < FK_ARRAY_LEN(kind_labels); i++)
		if (!strcmp(kind, kind_labels[i].kind))
			return kind_labels[i].label;
	return kind;
}

/* The region path of code in Chinese: names of levels 1..5 joined, then a
 * space and the grid's name ("陕西省安康市汉滨区…村 第3网格"). */
static enum fk_status region_address(sqlite3_stmt *st, const char *code, char *out,
				     size_t size, struct fk_err *err)
{
	const char *names[8] = {0};
	char held[8][192];
	char cur[32];
	int levels[8] = {0}, n = 0;
	fk_strlcpy(cur, code, sizeof(cur));
	while (cur[0] && n < 8) {
		sqlite3_bind_text(st, 1, cur, -1, SQLITE_TRANSIENT);
		int rc = sqlite3_step(st);
		if (rc != SQLITE_ROW) {
			sqlite3_reset(st);
			if (rc == SQLITE_DONE)
				break; /* a dangling parent: stop at what is known */
			return fk_fail(err, FK_EDB, "cannot read region '%s': %s", cur,
				       sqlite3_errmsg(sqlite3_db_handle(st)));
		}
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *parent = (const char *)sqlite3_column_text(st, 2);
		fk_strlcpy(held[n], name ? name : "", sizeof(held[n]));
		names[n] = held[n];
		levels[n] = sqlite3_column_int(st, 1);
		fk_strlcpy(cur, parent ? parent : "", sizeof(cur));
		sqlite3_reset(st);
		n++;
	}
	struct strbuf sb = STRBUF_INIT;
	for (int i = n - 1; i >= 0; i--) {
		if (levels[i] == 6 && sb.len)
			strbuf_addch(&sb, ' ');
		strbuf_addstr(&sb, names[i]);
	}
	text_clean(out, size, sb.buf);
	strbuf_release(&sb);
	return FK_OK;
}

/* Resolves the user's region code (natural length, or padded to 12 digits)
 * to a code in the regions table; false if there is none. */
static bool region_resolve(sqlite3 *db, const char *arg, char *code, size_t size, char *name,
			   size_t name_size)
{
	sqlite3_stmt *st = NULL;
	bool found = false;
	if (sqlite3_prepare_v2(db, "SELECT name FROM regions WHERE code=?1", -1, &st, NULL))
		return false;
	for (int level = 0; level <= 6 && !found; level++) {
		char cand[32];
		if (level == 0) {
			if (!fk_strlcpy(cand, arg, sizeof(cand)))
				continue;
		} else if (!region_code_normalize(arg, level, cand, sizeof(cand))) {
			continue;
		}
		sqlite3_bind_text(st, 1, cand, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW) {
			const char *nm = (const char *)sqlite3_column_text(st, 0);
			fk_strlcpy(code, cand, size);
			fk_strlcpy(name, nm ? nm : "", name_size);
			found = true;
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return found;
}

/* ---------------------------------------------------------------- export */

struct poster_job {
	sqlite3 *db;
	const char *region, *out;
	bool quiet;
	uint64_t written, skipped;
};

/* Renders and writes both files of one venue. */
static enum fk_status poster_one(struct poster_job *job, struct poster_font *font,
				 struct canvas *canvas, const struct venue_info *v,
				 struct fk_err *err)
{
	struct poster_layout *lo = fk_xmalloc(sizeof(*lo));
	struct strbuf svg = STRBUF_INIT;
	enum fk_status st = FK_OK;
	QRcode *qr = QRcode_encodeString(v->payload, 0, QR_ECLEVEL_Q, QR_MODE_8, 1);
	if (!qr) {
		st = fk_fail(err, FK_EIO, "cannot encode the QR code of venue '%s': %s", v->code,
			     strerror(errno));
		goto release;
	}
	poster_layout(lo, font, v, qr);
	poster_draw(canvas, font, lo);
	st = poster_file(job->out, v->code, "png", canvas, NULL, err);
	if (st)
		goto release;
	poster_svg(&svg, lo, v);
	st = poster_file(job->out, v->code, "svg", NULL, &svg, err);
release:
	QRcode_free(qr);
	strbuf_release(&svg);
	free(lo);
	return st;
}

static enum fk_status posters_run(struct poster_job *job, struct poster_font *font,
				  const unsigned char key[VENUE_KEY_BYTES], struct fk_err *err)
{
	/* region codes are digits: the subtree is the range [code, code + ':') */
	static const char where[] = " FROM venues WHERE region_code >= ?1"
				    " AND region_code < ?1 || ':'";
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *count = NULL, *list = NULL, *region = NULL;
	struct canvas canvas = {fk_xmalloc((size_t)PAGE_W * PAGE_H * 3)};
	struct venue_info *v = fk_xmalloc(sizeof(*v));
	struct fk_progress progress;
	enum fk_status st = FK_OK;

	strbuf_addf(&sql, "SELECT count(*)%s", where);
	count = store_prepare(job->db, sql.buf, err);
	strbuf_reset(&sql);
	strbuf_addf(&sql, "SELECT code, name, kind, region_code%s ORDER BY code", where);
	list = count ? store_prepare(job->db, sql.buf, err) : NULL;
	region = list ? store_prepare(job->db,
				      "SELECT name, level, parent_code FROM regions WHERE code=?1",
				      err)
		      : NULL;
	if (!region) {
		st = FK_EDB;
		goto release;
	}
	sqlite3_bind_text(count, 1, job->region, -1, SQLITE_STATIC);
	uint64_t total = sqlite3_step(count) == SQLITE_ROW
				 ? (uint64_t)sqlite3_column_int64(count, 0)
				 : 0;
	if (!job->quiet)
		fk_progress_init(&progress, "posters", total);
	else
		memset(&progress, 0, sizeof(progress));

	sqlite3_bind_text(list, 1, job->region, -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(list)) == SQLITE_ROW) {
		const char *code = (const char *)sqlite3_column_text(list, 0);
		const char *name = (const char *)sqlite3_column_text(list, 1);
		const char *kind = (const char *)sqlite3_column_text(list, 2);
		const char *rcode = (const char *)sqlite3_column_text(list, 3);
		memset(v, 0, sizeof(*v));
		if (!code || !venue_payload_make(key, code, v->payload, sizeof(v->payload))) {
			fprintf(stderr,
				"fangkong export venue-posters: venue code '%.40s' cannot be"
				" signed (1 to %d letters, digits, '-' or '_'); skipped\n",
				code ? code : "", VENUE_CODE_MAX);
			job->skipped++;
			continue;
		}
		fk_strlcpy(v->code, code, sizeof(v->code));
		text_clean(v->name, sizeof(v->name), name ? name : "");
		text_clean(v->kind, sizeof(v->kind), kind_label(kind ? kind : ""));
		st = region_address(region, rcode ? rcode : "", v->address, sizeof(v->address),
				    err);
		if (!st)
			st = poster_one(job, font, &canvas, v, err);
		if (st)
			goto release;
		job->written++;
		if (!job->quiet)
			fk_progress_update(&progress, job->written + job->skipped);
	}
	if (rc != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "cannot list venues: %s", sqlite3_errmsg(job->db));
		goto release;
	}
	if (!job->quiet)
		fk_progress_done(&progress, job->written + job->skipped);
release:
	sqlite3_finalize(count);
	sqlite3_finalize(list);
	sqlite3_finalize(region);
	strbuf_release(&sql);
	free(canvas.rgb);
	free(v);
	return st;
}

static void venue_posters_usage(FILE *f)
{
	fputs("usage: fangkong export venue-posters --region CODE --out DIR [--db FILE] [--quiet]\n"
	      "\n"
	      "Writes DIR/<venue code>.png and DIR/<venue code>.svg for every venue in the\n"
	      "region's subtree: a printable A4 poster with the venue's signed QR code\n"
	      "(FK1:V:<code>:<signature>; a forged or altered code is refused at scan\n"
	      "time), its name, code, kind and address.  DIR is created if missing;\n"
	      "posters already there are replaced.  The first export creates the venue key.\n"
	      "\n"
	      "  --region CODE  province, city, county, town, community/village or grid code\n"
	      "  --out DIR      directory for the posters\n"
	      "  --db FILE      database (default $FANGKONG_DB, then ./fangkong.db)\n"
	      "  --quiet        no progress and no summary\n"
	      "\n"
	      "The PNG needs a font with Chinese glyphs: the Debian package fonts-wqy-microhei\n"
	      "(or fonts-noto-cjk), or a font file named in $FANGKONG_FONT.\n"
	      "\n"
	      "exit: 0 ok, 1 failure, 2 bad usage (unknown region, missing flag)\n",
	      f);
}

static int export_venue_posters(int argc, char **argv)
{
	static const struct option opts[] = {
		{"region", required_argument, NULL, 'r'}, {"out", required_argument, NULL, 'o'},
		{"db", required_argument, NULL, 'd'},     {"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	const char *cmd = "fangkong export venue-posters";
	const char *region_arg = NULL, *dbflag = NULL;
	struct poster_job job = {0};
	struct poster_font font = {0};
	struct fk_err err = {FK_OK, ""};
	unsigned char key[VENUE_KEY_BYTES];
	char region[32], region_name[256];
	sqlite3 *db = NULL;
	int c, rc = 1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': region_arg = optarg; break;
		case 'o': job.out = optarg; break;
		case 'd': dbflag = optarg; break;
		case 'q': job.quiet = true; break;
		case 'h': venue_posters_usage(stdout); return 0;
		case ':':
			fprintf(stderr, "%s: option '%s' needs a value\n", cmd, argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "%s: unknown option '%s'\ntry '%s --help'\n", cmd,
				argv[optind - 1], cmd);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", cmd, argv[optind]);
		return 2;
	}
	if (!region_arg || !*region_arg || !job.out || !*job.out) {
		fprintf(stderr, "%s: %s is required\n", cmd,
			!region_arg || !*region_arg ? "--region CODE" : "--out DIR");
		venue_posters_usage(stderr);
		return 2;
	}

	const char *path = store_default_path(dbflag);
	if (store_open(path, STORE_MIGRATE, &db, &err)) {
		fprintf(stderr, "%s: %s\n", cmd, err.msg);
		return 1;
	}
	if (!region_resolve(db, region_arg, region, sizeof(region), region_name,
			    sizeof(region_name))) {
		fprintf(stderr, "%s: unknown region '%.40s' in '%s'\n", cmd, region_arg, path);
		rc = 2;
		goto close_db;
	}
	if (poster_font_open(&font, &err))
		goto report;
	if (venue_key_get(db, true, key, &err))
		goto close_font;
	if (mkdir_p(job.out, &err))
		goto wipe_key;
	job.db = db;
	job.region = region;
	if (posters_run(&job, &font, key, &err))
		goto wipe_key;
	if (!job.quiet)
		printf("venue posters: %llu venues of %s %s -> %s (PNG and SVG)\n",
		       (unsigned long long)job.written, region, region_name, job.out);
	if (job.skipped)
		fprintf(stderr, "%s: %llu venues skipped\n", cmd, (unsigned long long)job.skipped);
	rc = job.skipped ? 1 : 0;
wipe_key:
	sodium_memzero(key, sizeof(key));
close_font:
	poster_font_close(&font);
report:
	if (rc && err.msg[0])
		fprintf(stderr, "%s: %s\n", cmd, err.msg);
close_db:
	store_close(db);
	return rc;
}

/* ---------------------------------------------------------------- kinds */

struct export_kind {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct export_kind export_kinds[] = {
	{"venue-posters", export_venue_posters,
	 "printable posters (PNG and SVG) with each venue's signed QR code"},
	{"missing", export_missing,
	 "a campaign's missing list (.xlsx, one sheet per grid) for the grid workers"},
};

static void export_usage(FILE *f)
{
	fputs("usage: fangkong export KIND [OPTIONS]   (fangkong export KIND --help)\n"
	      "\n"
	      "kinds:\n",
	      f);
	for (size_t i = 0; i < FK_ARRAY_LEN(export_kinds); i++)
		fprintf(f, "  %-14s %s\n", export_kinds[i].name, export_kinds[i].summary);
	fputs("\nexit: 0 ok, 1 failure, 2 bad usage\n", f);
}

int cmd_export(int argc, char **argv)
{
	if (argc < 2) {
		fputs("fangkong export: KIND is required\n", stderr);
		export_usage(stderr);
		return 2;
	}
	const char *kind = argv[1];
	if (!strcmp(kind, "--help") || !strcmp(kind, "-h") || !strcmp(kind, "help")) {
		export_usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < FK_ARRAY_LEN(export_kinds); i++)
		if (!strcmp(kind, export_kinds[i].name))
			return export_kinds[i].run(argc - 1, argv + 1);
	fprintf(stderr, "fangkong export: unknown kind '%.40s'\n", kind);
	export_usage(stderr);
	return 2;
}
