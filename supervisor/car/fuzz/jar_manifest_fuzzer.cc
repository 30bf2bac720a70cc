// libFuzzer target: the JAR manifest parser (META-INF/MANIFEST.MF and
// META-INF/*.SF) on arbitrary text.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "supervisor/car/jar_manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto manifest = pitstop::ParseJarManifest(text, "META-INF/MANIFEST.MF");
  if (!manifest.ok()) return 0;
  // A section's raw bytes are a piece of the input.
  size_t raw = manifest->main.raw.size();
  for (const auto& [name, section] : manifest->entries) {
    if (section.attributes.at("Name") != name) std::abort();
    raw += section.raw.size();
  }
  if (raw > size) std::abort();
  return 0;
}
