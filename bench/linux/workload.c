/*
 * CPU workload for the Linux benchmark (bench/linux.sh), run inside the guest.
 *
 * Built on the host with `gcc -m32 -static -O2 -mfpmath=387 -mno-sse` so the
 * same i686 binary runs on every VMM (and natively on the host, which gives
 * the expected results). Each mode does one kind of work and prints one line
 * of result, `NAME VALUE`, so the driver can check that the guest computed
 * the same thing everywhere; the timing is done by the host.
 *
 *   workload gen MIB       MIB MiB of pseudo-random bytes on stdout
 *   workload sieve N       number of primes below N (sieve of Eratosthenes)
 *   workload fib N         fib(N) by naive recursion
 *   workload x87 N         N iterations of an x87 floating-point recurrence
 *   workload memcpy MIB R  R copies of a MIB MiB buffer, back and forth
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: workload gen MIB | sieve N | fib N | x87 N | memcpy MIB ROUNDS\n");
	exit(2);
}

static unsigned long arg(const char *s, unsigned long max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v == 0 || v > max) {
		fprintf(stderr, "workload: bad number '%s' (1..%lu)\n", s, max);
		exit(2);
	}
	return v;
}

/* xorshift64*: fast, deterministic, and its output does not compress. */
static uint64_t next_random(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static int gen(unsigned long mib)
{
	static uint64_t buf[8192];
	uint64_t s = 0x9E3779B97F4A7C15ULL;
	for (unsigned long chunk = 0; chunk < mib * 16; chunk++) {
		for (size_t i = 0; i < sizeof buf / sizeof buf[0]; i++)
			buf[i] = next_random(&s);
		if (fwrite(buf, sizeof buf, 1, stdout) != 1) {
			perror("workload: write");
			return 1;
		}
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

static int sieve(unsigned long n)
{
	unsigned char *composite = calloc(n, 1);
	if (composite == NULL) {
		perror("workload: sieve");
		return 1;
	}
	unsigned long count = 0;
	for (unsigned long i = 2; i < n; i++) {
		if (composite[i])
			continue;
		count++;
		for (unsigned long j = i * i; j < n && j >= i; j += i)
			composite[j] = 1;
	}
	free(composite);
	printf("sieve %lu\n", count);
	return 0;
}

/* noinline and the volatile sink keep the compiler from folding it away. */
__attribute__((noinline)) static uint32_t fib(uint32_t n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static int fib_mode(unsigned long n)
{
	volatile uint32_t r = fib((uint32_t)n);
	printf("fib %u\n", r);
	return 0;
}

/*
 * A recurrence that keeps the x87 busy with loads, stores, the four basic
 * operations, square roots, int<->float conversion (FILD, FISTP under a
 * changed control word) and 80-bit accumulation. Everything in it is exactly
 * rounded by IEEE 754, so every correct x87 gives the same bits.
 */
static int x87(unsigned long n)
{
	double x = 0.5;
	long double acc = 0.0L;
	uint32_t ints = 0; /* wraps: only its bits are compared */
	for (unsigned long i = 0; i < n; i++) {
		x = x * 1.000001 + 0.25;
		if (x > 3.0)
			x = x / 2.5 - 0.125;
		double r = __builtin_sqrt(x) / (x + (double)(i & 7));
		acc += (long double)r * (long double)x;
		ints += (uint32_t)(int32_t)(r * 1000.0);
	}
	printf("x87 %.17Lg %u\n", acc, ints);
	return 0;
}

/*
 * The copy is REP MOVSD written out: glibc's static memcpy picks an
 * implementation by CPUID (SSE2 on QEMU's default CPU, plain on an i686
 * without SSE), and the comparison must run the same instructions on both.
 */
static void copy(void *dst, const void *src, size_t bytes)
{
	size_t words = bytes / 4;
	__asm__ volatile("cld; rep movsl"
			 : "+D"(dst), "+S"(src), "+c"(words)
			 :
			 : "memory");
}

static int memcpy_mode(unsigned long mib, unsigned long rounds)
{
	size_t bytes = mib << 20;
	uint32_t *a = malloc(bytes), *b = malloc(bytes);
	if (a == NULL || b == NULL) {
		perror("workload: memcpy");
		return 1;
	}
	for (size_t i = 0; i < bytes / 4; i++)
		a[i] = (uint32_t)(i * 2654435761u);
	for (unsigned long r = 0; r < rounds; r++) {
		copy(b, a, bytes);
		b[r % (bytes / 4)] += 1; /* each round copies something new */
		copy(a, b, bytes);
	}
	uint32_t sum = 0;
	for (size_t i = 0; i < bytes / 4; i += 1024)
		sum = sum * 31 + a[i];
	printf("memcpy %08x\n", sum);
	free(a);
	free(b);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		usage();
	const char *mode = argv[1];
	if (strcmp(mode, "gen") == 0 && argc == 3)
		return gen(arg(argv[2], 1024));
	if (strcmp(mode, "sieve") == 0 && argc == 3)
		return sieve(arg(argv[2], 1ul << 30));
	if (strcmp(mode, "fib") == 0 && argc == 3)
		return fib_mode(arg(argv[2], 45));
	if (strcmp(mode, "x87") == 0 && argc == 3)
		return x87(arg(argv[2], 1ul << 31));
	if (strcmp(mode, "memcpy") == 0 && argc == 4)
		return memcpy_mode(arg(argv[2], 64), arg(argv[3], 100000));
	usage();
	return 2;
}
