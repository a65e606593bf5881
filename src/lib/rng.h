/* rng.h — deterministic random numbers for generated data: xoshiro256**
 * seeded through splitmix64.  The same seed gives the same sequence on
 * every machine; not for secrets (libsodium is). */
#ifndef FK_LIB_RNG_H
#define FK_LIB_RNG_H

#include <stddef.h>
#include <stdint.h>

struct fk_rng {
	uint64_t s[4];
};

static inline uint64_t fk_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static inline void fk_rng_seed(struct fk_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = fk_splitmix64(&seed);
}

static inline uint64_t fk_rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t fk_rng_next(struct fk_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = fk_rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = fk_rotl64(s[3], 45);
	return result;
}

/* Uniform in [0, n) (multiply-shift; the bias is below 2^-32). */
static inline uint32_t fk_rng_below(struct fk_rng *r, uint32_t n)
{
	return (uint32_t)(((fk_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [0, 1) with 53 bits. */
static inline double fk_rng_unit(struct fk_rng *r)
{
	return (double)(fk_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Index drawn from integer weights w[0..n) whose sum is sum. */
static inline size_t fk_rng_pick(struct fk_rng *r, const unsigned *w, size_t n, unsigned sum)
{
	uint32_t x = fk_rng_below(r, sum);
	for (size_t i = 0; i < n; i++) {
		if (x < w[i])
			return i;
		x -= w[i];
	}
	return n - 1;
}

#endif
