#ifndef PITSTOP_SUPERVISOR_RPC_DRIVER_POOL_H_
#define PITSTOP_SUPERVISOR_RPC_DRIVER_POOL_H_

// The router's HTTP/2 connections to driver instances: up to
// `per_instance` for each, opened on demand and used in turn. A connection
// that died or got a GOAWAY takes no new calls. Loop thread only.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "supervisor/core/route_source.h"
#include "supervisor/rpc/connections.h"

namespace pitstop {

class DriverPool {
 public:
  DriverPool(Connections& connections, int per_instance)
      : connections_(connections), per_instance_(per_instance) {}

  // A connection to the instance of `route`, opened if the instance has
  // fewer than per_instance; nullptr (and why in `error`) when it refuses
  // and none is open.
  Connection* Pick(const Route& route, std::string* error);
  // Drops a dead driver connection from its instance's pool.
  void Forget(Connection* conn);

 private:
  Connections& connections_;
  const int per_instance_;
  size_t next_pick_ = 0;
  std::unordered_map<uint64_t, std::vector<Connection*>> pools_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_DRIVER_POOL_H_
