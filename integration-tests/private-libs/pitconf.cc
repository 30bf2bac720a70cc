#include "pitconf.h"

extern "C" {
#if PITCONF_V2
const char* pitconf_version() { return "2.0.0"; }
int pitconf_v2_feature() { return 2; }
#else
const char* pitconf_version() { return "1.0.0"; }
#endif
}
