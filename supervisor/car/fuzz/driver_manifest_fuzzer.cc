// libFuzzer target: the driver.yaml parser and validator on arbitrary text.
// yaml-cpp's exceptions must all become a Status.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "supervisor/car/driver_manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto manifest = pitstop::ParseDriverManifest(yaml, "META-INF/driver.yaml");
  if (!manifest.ok()) return 0;
  // What the parser accepts holds its own invariants.
  if (!pitstop::IsValidDriverName(manifest->name)) std::abort();
  if (manifest->entrypoint.rfind("bin/", 0) != 0) std::abort();
  return 0;
}
