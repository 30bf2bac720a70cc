#ifndef PITSTOP_SUPERVISOR_INSTALL_INSTALL_RECORD_H_
#define PITSTOP_SUPERVISOR_INSTALL_INSTALL_RECORD_H_

// What InstallCar unpacked from a CAR, kept so that a later start of the
// daemon whose CAR file and trust policy have not changed takes the
// installed files as they are instead of unpacking them again: unpacking
// costs tens of milliseconds a driver, and it would replace the files of a
// driver that a new daemon re-adopts while it runs.
//
// <packages_dir>/.installed/<CAR file name>, key=value lines, written
// atomically (a temporary file renamed over it).

#include <string>

#include "absl/status/statusor.h"

namespace pitstop {

struct TrustPolicy;

struct InstallRecord {
  // The CAR file as stat(2) saw it: device, inode, size, mtime and ctime in
  // nanoseconds (ctime cannot be set back by hand).
  std::string car_identity;
  // The policy and the trust directory's files (names, sizes, times): a
  // root removed or added means verifying again.
  std::string trust_identity;
  std::string name;
  std::string version;
  std::string signer;             // "" when unsigned
  std::string entrypoint_sha256;  // hex, as unpacked
};

// The identity of `car_path`; "" when it cannot be stat'ed.
std::string CarIdentity(const std::string& car_path);
// The identity of `trust`.
std::string TrustIdentity(const TrustPolicy& trust);

std::string InstallRecordPath(const std::string& packages_dir,
                              const std::string& car_path);
// NOT_FOUND when there is none; INVALID_ARGUMENT for a record that does not
// parse (the caller unpacks again).
absl::StatusOr<InstallRecord> ReadInstallRecord(const std::string& path);
absl::Status WriteInstallRecord(const std::string& path,
                                const InstallRecord& record);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_INSTALL_INSTALL_RECORD_H_
