/* Soft-float: strtod and printf of doubles, float and long double
 * (binary128) arithmetic, libm, 64-bit integer division (libgcc). */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <float.h>
#include <fenv.h>
#include <stdint.h>

int main(void)
{
	const char *in[] = { "3.14159265358979323846", "-0.0", "1e308", "1e-320", "0x1.8p3",
	                     "inf", "-nan", "123456789012345678901234567890", "2.2250738585072014e-308" };
	for (unsigned i = 0; i < sizeof in / sizeof in[0]; i++) {
		double d = strtod(in[i], 0);
		printf("strtod(%s) = %.17g = %a\n", in[i], d, d);
	}
	volatile double a = 1.0, b = 3.0;
	printf("1/3 = %.20f\n", a / b);
	printf("%%e %e  %%g %g  %%f %.3f\n", 6.02214076e23, 0.0001234, -2.5);
	printf("sqrt(2) %.17g  pow(2,0.5) %.17g\n", sqrt(2.0), pow(2.0, 0.5));
	printf("exp(1) %.17g  log(10) %.17g\n", exp(1.0), log(10.0));
	printf("sin(1) %.17g  cos(1) %.17g  atan2(1,1) %.17g\n", sin(1.0), cos(1.0), atan2(1.0, 1.0));
	printf("floor(-2.5) %g ceil(-2.5) %g round(2.5) %g fmod(10,3) %g\n", floor(-2.5), ceil(-2.5), round(2.5), fmod(10, 3));
	printf("fma(2,3,4) %g hypot(3,4) %g cbrt(27) %g\n", fma(2, 3, 4), hypot(3, 4), cbrt(27));
	volatile float f = 1.1f;
	printf("float: %.9g * 3 = %.9g, sqrtf(2) %.9g\n", f, f * 3, sqrtf(2.0f));
	volatile long double ld = 1.0L;
	ld /= 3;
	printf("long double: LDBL_MANT_DIG %d, 1/3 = %.33Lg\n", LDBL_MANT_DIG, ld);
	printf("DBL_EPSILON %g DBL_MAX %g FLT_EVAL_METHOD %d\n", DBL_EPSILON, DBL_MAX, FLT_EVAL_METHOD);
	printf("isnan(nan) %d isinf(-inf) %d signbit(-0.0) %d\n", isnan(NAN), isinf(-INFINITY), signbit(-0.0) != 0);
	printf("fegetround() == FE_TONEAREST: %s\n", fegetround() == FE_TONEAREST ? "yes" : "no");
	volatile int64_t x = 0x123456789abcdefLL, y = -12345;
	printf("int64: %lld / %lld = %lld rem %lld\n", (long long)x, (long long)y, (long long)(x / y), (long long)(x % y));
	volatile uint64_t ux = 0xfedcba9876543210ULL, uy = 0x10000;
	printf("uint64: %#llx / %#llx = %#llx, * 3 = %#llx\n", (unsigned long long)ux, (unsigned long long)uy,
	       (unsigned long long)(ux / uy), (unsigned long long)(ux * 3));
	printf("double->int64 %lld, int64->double %.1f\n", (long long)(double)1e15, (double)x);
	char buf[64];
	snprintf(buf, sizeof buf, "%.10f", M_PI);
	printf("snprintf pi: %s, atof back: %.10f\n", buf, atof(buf));
	return 0;
}
