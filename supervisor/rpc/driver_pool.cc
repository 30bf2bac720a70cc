#include "supervisor/rpc/driver_pool.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "supervisor/rpc/unix_socket.h"

namespace pitstop {

Connection* DriverPool::Pick(const Route& route, std::string* error) {
  std::vector<Connection*>& pool = pools_[route.instance_id];
  pool.erase(
      std::remove_if(pool.begin(), pool.end(),
                     [](Connection* c) { return c->dead || c->going_away; }),
      pool.end());
  if (pool.size() < static_cast<size_t>(per_instance_)) {
    const int fd = ConnectUnixSocket(route.socket_path);
    if (fd >= 0) {
      Connection* conn = connections_.Add(fd, Peer::kDriver);
      conn->instance_id = route.instance_id;
      pool.push_back(conn);
      return conn;
    }
    *error = absl::StrCat("connect to ", route.socket_path, ": ",
                          std::strerror(errno));
    if (pool.empty()) {
      pools_.erase(route.instance_id);
      return nullptr;
    }
  }
  return pool[next_pick_++ % pool.size()];
}

void DriverPool::Forget(Connection* conn) {
  auto pool = pools_.find(conn->instance_id);
  if (pool == pools_.end()) return;
  auto& v = pool->second;
  v.erase(std::remove(v.begin(), v.end(), conn), v.end());
  if (v.empty()) pools_.erase(pool);
}

}  // namespace pitstop
