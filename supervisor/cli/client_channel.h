#ifndef PITSTOP_SUPERVISOR_CLI_CLIENT_CHANNEL_H_
#define PITSTOP_SUPERVISOR_CLI_CLIENT_CHANNEL_H_

// A client's channel to pitstopd, over TLS with a client certificate when
// the daemon listens on TCP (docs/security.md, "TLS"): the CLI's and the
// C++ bench tools' one way to connect.

#include <grpcpp/channel.h>
#include <grpcpp/support/channel_arguments.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

namespace pitstop {

struct ClientTls {
  std::string ca;    // PEM file: the CA that issued pitstopd's certificate
  std::string cert;  // PEM file: this client's certificate...
  std::string key;   // ...and its key
  // The name pitstopd's certificate must hold, when not the address's host.
  std::string server_name;
  bool enabled() const { return !ca.empty() || !cert.empty(); }
};

// Adds --tls-ca, --tls-cert, --tls-key and --tls-server-name to `app`
// (with $PITSTOP_TLS_CA, $PITSTOP_TLS_CERT, $PITSTOP_TLS_KEY as defaults);
// a file that cannot be read is a usage error naming the flag.
void AddTlsFlags(CLI::App& app, ClientTls& tls);

// A channel to `address` (unix:/PATH or HOST:PORT), TLS when `tls` is
// enabled.
std::shared_ptr<grpc::Channel> MakeClientChannel(
    const std::string& address, const ClientTls& tls,
    grpc::ChannelArguments args = {});

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_CLI_CLIENT_CHANNEL_H_
