/* password.c — argon2id password hashes (libsodium crypto_pwhash_str with
 * the interactive limits: about 64 MiB and a few tens of milliseconds per
 * hash) and random passwords for new accounts.
 *
 * sodium_init() runs once per process (pthread_once) before any call that
 * needs libsodium's random source or its argon2 implementation.
 */
#include "access/access.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

#define PASSWORD_MIN_CHARS 10
#define PASSWORD_MAX_BYTES 256

/* No 0/O, 1/l/I: passwords are read off a screen or a sheet of paper. */
static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

static void sodium_start(void)
{
	if (sodium_init() < 0) {
		fputs("fangkong: cannot initialise libsodium\n", stderr);
		abort();
	}
}

static void sodium_ready(void)
{
	pthread_once(&sodium_once, sodium_start);
}

enum fk_status password_hash(const char *password, char out[crypto_pwhash_STRBYTES],
			     struct fk_err *err)
{
	sodium_ready();
	size_t n = strlen(password);
	if (n > PASSWORD_MAX_BYTES)
		return fk_fail(err, FK_EINVAL, "password is longer than %d bytes",
			       PASSWORD_MAX_BYTES);
	if (crypto_pwhash_str(out, password, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return fk_fail(err, FK_ENOMEM, "cannot hash password: out of memory");
	return FK_OK;
}

bool password_verify(const char *encoded, const char *password)
{
	sodium_ready();
	if (!encoded || !password)
		return false;
	size_t n = strlen(password);
	if (n > PASSWORD_MAX_BYTES)
		return false;
	return crypto_pwhash_str_verify(encoded, password, n) == 0;
}

void password_random(char *out, size_t size, size_t len)
{
	sodium_ready();
	if (!size)
		return;
	if (len >= size)
		len = size - 1;
	for (size_t i = 0; i < len; i++)
		out[i] = alphabet[randombytes_uniform((uint32_t)(sizeof(alphabet) - 1))];
	out[len] = '\0';
}

bool password_acceptable(const char *password)
{
	if (!password)
		return false;
	size_t bytes = strlen(password), chars = 0;
	if (bytes > PASSWORD_MAX_BYTES)
		return false;
	for (size_t i = 0; i < bytes; i++)
		if (((unsigned char)password[i] & 0xC0) != 0x80) /* count UTF-8 lead bytes */
			chars++;
	return chars >= PASSWORD_MIN_CHARS;
}
