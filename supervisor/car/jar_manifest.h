#ifndef PITSTOP_SUPERVISOR_CAR_JAR_MANIFEST_H_
#define PITSTOP_SUPERVISOR_CAR_JAR_MANIFEST_H_

// The JAR manifest format of META-INF/MANIFEST.MF and META-INF/*.SF:
// "Key: value" lines of at most 72 bytes (longer ones continue on lines that
// start with a space), sections separated by blank lines; the first section
// holds the main attributes, each later one starts with "Name: <entry>".

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pitstop {

struct JarSection {
  std::map<std::string, std::string> attributes;
  // The section's exact bytes including its closing blank line: what a .SF
  // file's per-entry digests are computed over.
  std::string raw;
};

struct JarManifest {
  JarSection main;
  // By the value of their "Name" attribute.
  std::map<std::string, JarSection> entries;
};

// INVALID_ARGUMENT naming `source` for malformed lines, a section without a
// Name, or a name given twice.
absl::StatusOr<JarManifest> ParseJarManifest(absl::string_view text,
                                             absl::string_view source);

// One "Key: value" header, wrapped at 72 bytes, with CRLF line ends.
std::string JarHeader(absl::string_view key, absl::string_view value);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CAR_JAR_MANIFEST_H_
