/* qr.c — QR codes of code tokens as SVG text or PNG bytes.
 *
 * Error correction M (15 %): a token is shown on a phone screen, not a
 * weathered poster, and M keeps the symbol small (version 7 for a token);
 * a 4-module quiet zone (ISO/IEC 18004).  libqrencode picks alphanumeric
 * mode for the token's characters.  The PNG is 8-bit greyscale written to
 * memory; scale is bounded so a request cannot ask for a huge image.
 */
#include "healthcode/healthcode.h"

#include <png.h>
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

#include "lib/banned.h"

#define QR_QUIET 4
#define QR_SCALE_MAX 32
#define QR_TEXT_MAX 1024

static enum fk_status qr_make(const char *text, QRcode **out, struct fk_err *err)
{
	size_t n = strnlen(text, QR_TEXT_MAX + 1);
	if (n == 0 || n > QR_TEXT_MAX)
		return fk_fail(err, FK_EINVAL, "QR text must be 1..%d bytes", QR_TEXT_MAX);
	*out = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!*out)
		return fk_fail(err, FK_ENOMEM, "cannot encode the QR code");
	return FK_OK;
}

enum fk_status hc_qr_svg(const char *text, struct strbuf *sb, struct fk_err *err)
{
	QRcode *qr;
	enum fk_status st = qr_make(text, &qr, err);
	if (st)
		return st;
	int w = qr->width, side = w + 2 * QR_QUIET;
	strbuf_addf(sb,
		    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\""
		    " shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\""
		    " fill=\"#fff\"/><path fill=\"#000\" d=\"",
		    side, side, side, side);
	for (int y = 0; y < w; y++)
		for (int x = 0; x < w;) {
			if (!(qr->data[y * w + x] & 1)) {
				x++;
				continue;
			}
			int run = 1;
			while (x + run < w && (qr->data[y * w + x + run] & 1))
				run++;
			strbuf_addf(sb, "M%d %dh%dv1h-%dz", x + QR_QUIET, y + QR_QUIET, run, run);
			x += run;
		}
	strbuf_addstr(sb, "\"/></svg>\n");
	QRcode_free(qr);
	return FK_OK;
}

static void png_to_strbuf(png_structp png, png_bytep data, size_t len)
{
	strbuf_add(png_get_io_ptr(png), data, len);
}

static void png_flush_none(png_structp png)
{
	(void)png;
}

enum fk_status hc_qr_png(const char *text, int scale, struct strbuf *sb, struct fk_err *err)
{
	QRcode *qr;
	if (scale < 1 || scale > QR_SCALE_MAX)
		return fk_fail(err, FK_EINVAL, "QR scale %d is not 1..%d", scale, QR_SCALE_MAX);
	enum fk_status st = qr_make(text, &qr, err);
	if (st)
		return st;
	size_t px = (size_t)(qr->width + 2 * QR_QUIET) * (size_t)scale;
	unsigned char *row = fk_xmalloc(px);
	size_t start = sb->len;
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!info) {
		st = fk_fail(err, FK_ENOMEM, "cannot start a PNG");
		goto done;
	}
	if (setjmp(png_jmpbuf(png))) {
		sb->len = start;
		if (sb->buf)
			sb->buf[start] = '\0';
		st = fk_fail(err, FK_EIO, "cannot write the PNG");
		goto done;
	}
	png_set_write_fn(png, sb, png_to_strbuf, png_flush_none);
	png_set_IHDR(png, info, (png_uint_32)px, (png_uint_32)px, 8, PNG_COLOR_TYPE_GRAY,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (size_t y = 0; y < px; y++) {
		long my = (long)(y / (size_t)scale) - QR_QUIET;
		for (size_t x = 0; x < px; x++) {
			long mx = (long)(x / (size_t)scale) - QR_QUIET;
			bool dark = my >= 0 && my < qr->width && mx >= 0 && mx < qr->width &&
				    (qr->data[my * qr->width + mx] & 1);
			row[x] = dark ? 0 : 255;
		}
		png_write_row(png, row);
	}
	png_write_end(png, info);
done:
	png_destroy_write_struct(&png, &info);
	free(row);
	QRcode_free(qr);
	return st;
}
