// Test-only: a shared library shipped in two conflicting versions with the
// same soname (libpitconf.so.1), one in each libconf-* CAR's lib/.
#ifndef PITSTOP_INTEGRATION_TESTS_PRIVATE_LIBS_PITCONF_H_
#define PITSTOP_INTEGRATION_TESTS_PRIVATE_LIBS_PITCONF_H_

extern "C" {
// "1.0.0" or "2.0.0".
const char* pitconf_version();
#if PITCONF_V2
// Only in version 2: a driver built against it cannot load version 1.
int pitconf_v2_feature();
#endif
}

#endif  // PITSTOP_INTEGRATION_TESTS_PRIVATE_LIBS_PITCONF_H_
