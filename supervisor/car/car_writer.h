#ifndef PITSTOP_SUPERVISOR_CAR_CAR_WRITER_H_
#define PITSTOP_SUPERVISOR_CAR_CAR_WRITER_H_

// Packing a driver directory into a CAR (a JAR-compatible zip).

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "supervisor/car/car_reader.h"

namespace pitstop {

// Packs `source_dir` (META-INF/driver.yaml, bin/, lib/, resources/, ...) into
// `out_path`. driver.yaml is parsed and validated first and its entrypoint
// must exist and be executable. META-INF/MANIFEST.MF comes first, as in a
// JAR; one is written when the directory has none. Entries are sorted and
// stamped with a fixed time (SOURCE_DATE_EPOCH when set), so the same inputs
// give the same bytes. The archive is written beside `out_path` and renamed
// into place. Errors name the offending file.
absl::Status PackCar(const std::string& source_dir,
                     const std::string& out_path);

// Writes `files`, in this order, as a zip at `out_path` (written beside it
// and renamed into place): files under bin/ get mode 0755, others 0644, all
// the same fixed time.
absl::Status WriteCarFiles(const std::vector<CarFile>& files,
                           const std::string& out_path);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CAR_CAR_WRITER_H_
