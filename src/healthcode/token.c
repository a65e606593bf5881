/* token.c — signed code tokens (placeholder until the signer lands). */
#include "healthcode/healthcode.h"

#include <stdio.h>

#include "http/http.h"

#include "lib/banned.h"

enum fk_status hc_token_issue(sqlite3 *db, int64_t person_id, enum colour colour, int64_t now,
			      int minutes, char out[HC_TOKEN_MAX], struct hc_token *tok,
			      struct fk_err *err)
{
	(void)db, (void)person_id, (void)colour, (void)now, (void)minutes, (void)tok;
	out[0] = 0;
	return fk_fail(err, FK_EIO, "code tokens are not signed yet");
}

enum fk_status hc_token_verify(sqlite3 *db, const char *token, int64_t now, struct hc_token *tok,
			       struct fk_err *err)
{
	(void)db, (void)token, (void)now, (void)tok;
	return fk_fail(err, FK_EINVAL, "code tokens are not verified yet");
}

enum fk_status token_server_start(struct fk_err *err)
{
	(void)err;
	return FK_OK;
}

void token_server_stop(void)
{
}

enum fk_status hc_pseudonym(sqlite3 *db, int64_t person_id, char out[17], struct fk_err *err)
{
	(void)db, (void)person_id;
	out[0] = 0;
	return fk_fail(err, FK_EIO, "no pseudonyms yet");
}

enum fk_status hc_qr_svg(const char *text, struct strbuf *sb, struct fk_err *err)
{
	(void)text, (void)sb;
	return fk_fail(err, FK_EIO, "no QR yet");
}

enum fk_status hc_qr_png(const char *text, int scale, struct strbuf *sb, struct fk_err *err)
{
	(void)text, (void)scale, (void)sb;
	return fk_fail(err, FK_EIO, "no QR yet");
}

int cmd_verify(int argc, char **argv)
{
	(void)argc, (void)argv;
	fputs("fangkong verify: not available yet\n", stderr);
	return 1;
}

int cmd_keys(int argc, char **argv)
{
	(void)argc, (void)argv;
	fputs("fangkong keys: not available yet\n", stderr);
	return 1;
}

const struct http_route token_routes[] = {{NULL, NULL, NULL, 0, 0, 0}};
const size_t token_routes_len = 0;
