#ifndef PITSTOP_SUPERVISOR_RPC_UNIX_SOCKET_H_
#define PITSTOP_SUPERVISOR_RPC_UNIX_SOCKET_H_

// Unix stream sockets by path, for the router and the probes: the address,
// a connection, and whether anything listens. Never blocks.

#include <sys/un.h>

#include <string>

namespace pitstop {

// `addr` for `path`; false when the path does not fit in sun_path.
bool UnixAddress(const std::string& path, sockaddr_un* addr);

// A non-blocking, close-on-exec stream socket connected to `path`, or -1
// with errno set (ENAMETOOLONG for a path that does not fit; EAGAIN when
// the listener's backlog is full).
int ConnectUnixSocket(const std::string& path);

// Whether something listens on `path`: a connection is accepted, or would
// be queued but for a full backlog. The connection is closed unused.
bool UnixSocketAcceptsConnections(const std::string& path);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_UNIX_SOCKET_H_
