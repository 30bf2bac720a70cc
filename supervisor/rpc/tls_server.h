#ifndef PITSTOP_SUPERVISOR_RPC_TLS_SERVER_H_
#define PITSTOP_SUPERVISOR_RPC_TLS_SERVER_H_

// TLS for the router's TCP clients (docs/security.md, "TLS"): the daemon's
// certificate and key, and the CA whose certificates clients must present
// (mutual TLS; a client without one, or with one from another CA, fails the
// handshake). TLS 1.2 or later, ALPN "h2" as RFC 9113 and gRPC want.
// OpenSSL, non-blocking, on the router's loop thread.

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "supervisor/rpc/peer_identity.h"

namespace pitstop {

struct TlsFiles {
  std::string cert;       // PEM: the daemon's certificate (and chain)
  std::string key;        // PEM: its private key
  std::string client_ca;  // PEM: the CA(s) client certificates must chain to
};

class TlsServerContext {
 public:
  // Loads the files. INVALID_ARGUMENT naming the file for one that is
  // missing, unreadable or holds no certificate or key, and for a key that
  // does not match the certificate.
  static absl::StatusOr<std::shared_ptr<TlsServerContext>> Load(
      const TlsFiles& files);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  // A server-side session on connected socket `fd`, its handshake not yet
  // started; the caller frees it (SSL_free). Null if OpenSSL fails.
  SSL* NewSession(int fd) const;

 private:
  explicit TlsServerContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* const ctx_;
};

// Fills `peer`'s certificate fields from an established session's verified
// client certificate.
void AddCertificateIdentity(SSL* session, PeerIdentity* peer);

// Why a handshake failed, for the log: OpenSSL's error queue and, when the
// client's certificate was refused, why ("certificate verify failed:
// unable to get local issuer certificate").
std::string TlsFailure(SSL* session);

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_TLS_SERVER_H_
