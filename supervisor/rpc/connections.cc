#include "supervisor/rpc/connections.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>

namespace pitstop {

Connections::Connections(EventLoop& loop, const Http2Callbacks& callbacks,
                         const Http2Settings& settings, RouterLoop* owner)
    : loop_(loop), sessions_(callbacks, settings), owner_(owner) {}

void Connections::CloseAll() {
  for (auto& [id, conn] : connections_) pitstop::Close(*conn);
  connections_.clear();
  dirty_.clear();
  dead_.clear();
}

Connection* Connections::Add(int fd, Peer peer, ssl_st* tls) {
  CHECK_ON_LOOP_THREAD(loop_.checker());
  auto conn = std::make_unique<Connection>();
  conn->id = ++next_id_;
  conn->fd = fd;
  conn->tls = tls;
  conn->peer = peer;
  conn->loop = owner_;
  sessions_.Open(*conn, conn.get());
  loop_.Watch(fd, conn.get());
  Connection* raw = conn.get();
  connections_[raw->id] = std::move(conn);
  MarkDirty(raw);
  return raw;
}

void Connections::OnEvent(Connection* conn, uint32_t events) {
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 && !conn->dead) {
    ReceiveResult r = Receive(*conn, buffer_, sizeof buffer_);
    if (r.received) MarkDirty(conn);
    if (r.broken) Kill(conn, std::move(r.reason));
  }
  if ((events & EPOLLOUT) != 0) MarkDirty(conn);
}

void Connections::MarkDirty(Connection* conn) {
  if (conn->dirty || conn->dead) return;
  conn->dirty = true;
  dirty_.push_back(conn);
}

void Connections::Kill(Connection* conn, std::string reason) {
  if (conn->dead) return;
  conn->dead = true;
  conn->dead_reason = std::move(reason);
  dead_.push_back(conn);
}

void Connections::FlushDirty() {
  flushing_.swap(dirty_);
  for (Connection* conn : flushing_) {
    conn->dirty = false;
    Flush(conn);
  }
  flushing_.clear();
}

void Connections::Flush(Connection* conn) {
  if (conn->dead) return;
  std::string reason;
  switch (pitstop::Flush(*conn, &reason)) {
    case FlushResult::kDrained:
      SetPollOut(conn, false);
      return;
    case FlushResult::kBlocked:
      SetPollOut(conn, true);
      return;
    case FlushResult::kFinished:
      SetPollOut(conn, false);
      Kill(conn, "the connection finished (GOAWAY)");
      return;
    case FlushResult::kBroken:
      Kill(conn, std::move(reason));
      return;
  }
}

void Connections::SetPollOut(Connection* conn, bool on) {
  if (conn->polling_out == on) return;
  conn->polling_out = on;
  loop_.SetWritable(conn->fd, conn, on);
}

Connection* Connections::NextDead() {
  if (dead_.empty()) return nullptr;
  Connection* conn = dead_.back();
  dead_.pop_back();
  if (conn->dirty) {
    dirty_.erase(std::remove(dirty_.begin(), dirty_.end(), conn), dirty_.end());
  }
  loop_.Unwatch(conn->fd);
  return conn;
}

void Connections::Remove(Connection* conn) {
  CHECK_ON_LOOP_THREAD(loop_.checker());
  CHECK(conn->dead);
  pitstop::Close(*conn);
  connections_.erase(conn->id);
}

}  // namespace pitstop
