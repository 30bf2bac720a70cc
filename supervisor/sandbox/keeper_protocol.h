#ifndef PITSTOP_SUPERVISOR_SANDBOX_KEEPER_PROTOCOL_H_
#define PITSTOP_SUPERVISOR_SANDBOX_KEEPER_PROTOCOL_H_

// What a daemon and an instance's keeper say to each other over the
// keeper's control socket (docs/lifecycle.md, "The keeper"). Fixed-size
// structs in the host's byte order: both ends run on one host, and a keeper
// started by an older pitstopd must be understood by a newer one, so the
// layout only ever grows at the end under a new magic.
//
//   daemon -> keeper   KeeperHello
//   keeper -> daemon   KeeperHelloReply   (its secret: the daemon compares)
//   daemon -> keeper   KeeperAttach, with three descriptors (SCM_RIGHTS):
//                      the write ends of new stdout, stderr and status
//                      pipes; the keeper sends what it kept of the driver's
//                      output into them, and the driver's wait status into
//                      the third once the driver has exited.

#include <cstdint>

namespace pitstop {

inline constexpr uint32_t kKeeperHelloMagic = 0x314b5450;   // "PTK1"
inline constexpr uint32_t kKeeperAttachMagic = 0x324b5450;  // "PTK2"
inline constexpr int kKeeperSecretBytes = 32;
// What a keeper keeps of each output stream while no daemon reads it.
inline constexpr uint32_t kKeeperRingBytes = 512 * 1024;

struct KeeperHello {
  uint32_t magic = kKeeperHelloMagic;
};

struct KeeperHelloReply {
  uint32_t magic = kKeeperHelloMagic;
  uint8_t secret[kKeeperSecretBytes] = {};
  // The driver has exited (wait_status is valid) and waits to be collected.
  uint32_t exited = 0;
  int32_t wait_status = 0;
  // Output bytes dropped because no daemon read them (oldest first).
  uint64_t dropped_bytes = 0;
};

struct KeeperAttach {
  uint32_t magic = kKeeperAttachMagic;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_SANDBOX_KEEPER_PROTOCOL_H_
