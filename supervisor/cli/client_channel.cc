#include "supervisor/cli/client_channel.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pitstop {
namespace {

std::string Contents(const std::string& path) {
  if (path.empty()) return "";
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// "" when `path` can be read; why not otherwise.
std::string Readable(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (in) return "";
  return path + ": cannot read: " + std::strerror(errno);
}

}  // namespace

void AddTlsFlags(CLI::App& app, ClientTls& tls) {
  const CLI::Validator readable(Readable, "FILE");
  app.add_option("--tls-ca", tls.ca,
                 "TLS: the CA of pitstopd's certificate (PEM); TLS is on "
                 "when this or --tls-cert is given")
      ->envname("PITSTOP_TLS_CA")
      ->check(readable);
  CLI::Option* cert =
      app.add_option("--tls-cert", tls.cert,
                     "TLS: this client's certificate (PEM), its identity")
          ->envname("PITSTOP_TLS_CERT")
          ->check(readable);
  CLI::Option* key =
      app.add_option("--tls-key", tls.key, "TLS: the private key of --tls-cert")
          ->envname("PITSTOP_TLS_KEY")
          ->check(readable);
  cert->needs(key);
  key->needs(cert);
  app.add_option("--tls-server-name", tls.server_name,
                 "TLS: the name pitstopd's certificate must hold, when not "
                 "the host of --address");
}

std::shared_ptr<grpc::Channel> MakeClientChannel(const std::string& address,
                                                 const ClientTls& tls,
                                                 grpc::ChannelArguments args) {
  if (!tls.enabled()) {
    return grpc::CreateCustomChannel(address,
                                     grpc::InsecureChannelCredentials(), args);
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = Contents(tls.ca);
  ssl.pem_cert_chain = Contents(tls.cert);
  ssl.pem_private_key = Contents(tls.key);
  if (!tls.server_name.empty()) {
    args.SetSslTargetNameOverride(tls.server_name);
  }
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
}

}  // namespace pitstop
