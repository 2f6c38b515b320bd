// The system zlib (Debian: zlib1g-dev), for gzip content coding (beresp.do_gzip / do_gunzip).
#include <zlib.h>
