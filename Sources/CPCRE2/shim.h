// The system PCRE2 library (Debian: libpcre2-dev), 8-bit code units, as Varnish uses it.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
