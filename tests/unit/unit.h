/* unit.h: a tiny test harness. Each test binary defines tests with
 * TEST(name) { ... CHECK(cond); ... }, lists them in main via RUN(name),
 * and returns unit_done(). The last line printed is "N passed, N failed". */
#ifndef EIFKIT_TESTS_UNIT_H
#define EIFKIT_TESTS_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_failed_checks;
static int unit_passed, unit_failed;

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                             \
			unit_failed_checks++;                                 \
		}                                                             \
	} while (0)

#define CHECK_STR(a, b)                                                       \
	do {                                                                  \
		const char *a_ = (a), *b_ = (b);                              \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                      \
			fprintf(stderr, "%s:%d: %s\n   got: %s\n  want: %s\n",   \
				__FILE__, __LINE__, #a, a_ ? a_ : "(null)",   \
				b_ ? b_ : "(null)");                          \
			unit_failed_checks++;                                 \
		}                                                             \
	} while (0)

#define TEST(name) static void test_##name(void)

#define RUN(name)                                                             \
	do {                                                                  \
		int before_ = unit_failed_checks;                             \
		test_##name();                                                \
		if (unit_failed_checks == before_) {                          \
			unit_passed++;                                        \
		} else {                                                      \
			unit_failed++;                                        \
			fprintf(stderr, "FAIL %s\n", #name);                  \
		}                                                             \
	} while (0)

static inline int unit_done(void)
{
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}

#endif
