/*
 * harness.c: drives linuxptp's own servo code (servo.c, pi.c, linreg.c
 * from the linuxptp 4.4 source tarball, compiled beside this file at test
 * time) through a line protocol on stdin/stdout, so that Go tests can run
 * linuxptp's servos in roko-ptpd's simulator. Part of roko-ptpd; written
 * for it, no linuxptp code is copied here. The go tool never compiles this
 * file: it lives in a directory without Go files and is embedded as text.
 *
 * Protocol: one command per line, one answer line per command; an answer
 * that starts with "error " reports a bad command, and the harness carries
 * on. Numbers are decimal; doubles are printed with 17 significant digits,
 * which a Go strconv.ParseFloat turns back into the same double.
 *
 *   config NAME VALUE          set a configuration option before create
 *                              (names and defaults as linuxptp 4.4's
 *                              config.c) -> ok
 *   create KIND FADJ MAXPPB SWTS
 *                              servo_create(cfg, KIND, FADJ, MAXPPB, SWTS);
 *                              KIND is pi or linreg; FADJ is what ptp4l
 *                              passes, the negated frequency now set -> ok
 *   interval SECONDS           servo_sync_interval -> ok
 *   sample OFFSET LOCALTS WEIGHT
 *                              servo_sample -> "ADJ STATE": the return
 *                              value (ptp4l sets the clock to -ADJ) and the
 *                              state number (0 unlocked, 1 jump, 2 locked,
 *                              3 locked stable)
 *   reset                      servo_reset -> ok
 *   leap N                     servo_leap -> ok
 *   ratio                      servo_rate_ratio -> RATIO
 *
 * End of input ends the harness. A configuration lookup of a name this
 * file does not know aborts with exit status 3: it means the linuxptp
 * sources read an option the stubs below do not model.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "config.h"
#include "print.h"
#include "servo.h"

/* The options servo.c and pi.c read, with linuxptp 4.4's defaults. */
static struct option_value {
	const char *name;
	double value;
} options[] = {
	{"first_step_threshold", 0.00002},
	{"step_threshold", 0.0},
	{"max_frequency", 900000000},
	{"servo_offset_threshold", 0},
	{"servo_num_offset_values", 10},
	{"pi_proportional_const", 0.0},
	{"pi_integral_const", 0.0},
	{"pi_proportional_scale", 0.0},
	{"pi_proportional_exponent", -0.3},
	{"pi_proportional_norm_max", 0.7},
	{"pi_integral_scale", 0.0},
	{"pi_integral_exponent", 0.4},
	{"pi_integral_norm_max", 0.3},
};

static struct option_value *lookup(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		if (!strcmp(options[i].name, name))
			return &options[i];
	}
	return NULL;
}

static struct option_value *must_lookup(const char *name)
{
	struct option_value *o = lookup(name);

	if (!o) {
		fprintf(stderr, "harness: linuxptp read option %s, which the harness does not model\n", name);
		exit(3);
	}
	return o;
}

/* The configuration the servos read: section is always NULL (global). */
double config_get_double(struct config *cfg, const char *section,
			 const char *option)
{
	return must_lookup(option)->value;
}

int config_get_int(struct config *cfg, const char *section,
		   const char *option)
{
	return (int)must_lookup(option)->value;
}

/* print.c: the servos log only at debug level, which stays off. */
int print_level = LOG_INFO;

void print(int level, char const *format, ...)
{
	va_list ap;

	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* servo.c links the other servos, which the harness never creates. */
struct servo *ntpshm_servo_create(struct config *cfg) { return NULL; }
struct servo *nullf_servo_create(void) { return NULL; }
struct servo *refclock_sock_servo_create(struct config *cfg) { return NULL; }

static int parse_double(const char *s, double *v)
{
	char *end;

	if (!s)
		return -1;
	errno = 0;
	*v = strtod(s, &end);
	return errno || *end ? -1 : 0;
}

static int parse_int64(const char *s, int64_t *v)
{
	char *end;

	if (!s)
		return -1;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return errno || *end ? -1 : 0;
}

static int parse_uint64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || *s == '-')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

int main(void)
{
	struct servo *servo = NULL;
	char line[512];

	while (fgets(line, sizeof(line), stdin)) {
		char *cmd, *a1, *a2, *a3, *a4;

		line[strcspn(line, "\r\n")] = 0;
		cmd = strtok(line, " \t");
		a1 = strtok(NULL, " \t");
		a2 = strtok(NULL, " \t");
		a3 = strtok(NULL, " \t");
		a4 = strtok(NULL, " \t");
		if (!cmd) {
			printf("error empty line\n");
		} else if (!strcmp(cmd, "config")) {
			struct option_value *o = a1 ? lookup(a1) : NULL;
			double v;

			if (!o)
				printf("error config: unknown option %s\n", a1 ? a1 : "");
			else if (servo)
				printf("error config: after create\n");
			else if (parse_double(a2, &v))
				printf("error config %s: bad value\n", a1);
			else {
				o->value = v;
				printf("ok\n");
			}
		} else if (!strcmp(cmd, "create")) {
			double fadj;
			int64_t max_ppb, sw_ts;
			enum servo_type type;

			if (servo) {
				printf("error create: servo exists\n");
				goto next;
			}
			if (a1 && !strcmp(a1, "pi"))
				type = CLOCK_SERVO_PI;
			else if (a1 && !strcmp(a1, "linreg"))
				type = CLOCK_SERVO_LINREG;
			else {
				printf("error create: kind must be pi or linreg\n");
				goto next;
			}
			if (parse_double(a2, &fadj) || parse_int64(a3, &max_ppb) ||
			    parse_int64(a4, &sw_ts)) {
				printf("error create: want KIND FADJ MAXPPB SWTS\n");
				goto next;
			}
			servo = servo_create(NULL, type, fadj, (int)max_ppb, (int)sw_ts);
			printf(servo ? "ok\n" : "error create: servo_create failed\n");
		} else if (!servo) {
			printf("error %s: no servo yet\n", cmd);
		} else if (!strcmp(cmd, "interval")) {
			double v;

			if (parse_double(a1, &v) || v <= 0) {
				printf("error interval: want SECONDS > 0\n");
			} else {
				servo_sync_interval(servo, v);
				printf("ok\n");
			}
		} else if (!strcmp(cmd, "sample")) {
			enum servo_state state = SERVO_UNLOCKED;
			int64_t offset;
			uint64_t local_ts;
			double weight, adj;

			if (parse_int64(a1, &offset) || parse_uint64(a2, &local_ts) ||
			    parse_double(a3, &weight)) {
				printf("error sample: want OFFSET LOCALTS WEIGHT\n");
			} else {
				adj = servo_sample(servo, offset, local_ts, weight, &state);
				printf("%.17g %d\n", adj, (int)state);
			}
		} else if (!strcmp(cmd, "reset")) {
			servo_reset(servo);
			printf("ok\n");
		} else if (!strcmp(cmd, "leap")) {
			int64_t v;

			if (parse_int64(a1, &v) || v < -1 || v > 1) {
				printf("error leap: want -1, 0 or 1\n");
			} else {
				servo_leap(servo, (int)v);
				printf("ok\n");
			}
		} else if (!strcmp(cmd, "ratio")) {
			printf("%.17g\n", servo_rate_ratio(servo));
		} else {
			printf("error unknown command %s\n", cmd);
		}
next:
		fflush(stdout);
	}
	if (servo)
		servo_destroy(servo);
	return 0;
}
