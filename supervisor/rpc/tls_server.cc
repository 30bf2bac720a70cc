#include "supervisor/rpc/tls_server.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace pitstop {
namespace {

// Longest certificate subject or name kept (they reach headers and logs).
constexpr size_t kMaxName = 256;

std::string ErrorQueue() {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text.empty() ? "no detail from OpenSSL" : text;
}

absl::Status FileError(absl::string_view key, const std::string& path,
                       absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(
      key, " ", path, ": ", what, " (", ErrorQueue(),
      "); issue one with `pitstop ca issue` (docs/security.md, \"TLS\")"));
}

// ALPN: h2 when the client offers it; a client that offers only other
// protocols is refused, one that offers none goes on (prior knowledge).
int SelectH2(SSL*, const unsigned char** out, unsigned char* out_length,
             const unsigned char* in, unsigned int in_length, void*) {
  static const unsigned char kH2[] = {2, 'h', '2'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_length, kH2, sizeof kH2, in,
                            in_length) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// Cut to kMaxName, and printable ASCII only (gRPC metadata allows no
// more).
std::string Printable(std::string text) {
  if (text.size() > kMaxName) text.resize(kMaxName);
  for (char& c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) c = '?';
  }
  return text;
}

std::string Subject(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  // RFC 2253, control and non-ASCII bytes escaped: safe in a header.
  X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string subject(data, static_cast<size_t>(n > 0 ? n : 0));
  BIO_free(bio);
  return Printable(std::move(subject));
}

// The names a principal `cert NAME` matches: the subject's CN, and the DNS,
// URI and email names of subjectAltName.
std::vector<std::string> Names(X509* cert) {
  std::vector<std::string> names;
  char cn[kMaxName + 1] = {};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
                                sizeof cn) > 0) {
    names.push_back(Printable(cn));
  }
  auto* sans = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans == nullptr) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(sans) && names.size() < 16; ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans, i);
    if (name->type != GEN_DNS && name->type != GEN_URI &&
        name->type != GEN_EMAIL) {
      continue;
    }
    const ASN1_IA5STRING* text = name->d.ia5;
    names.push_back(Printable(
        std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                    static_cast<size_t>(ASN1_STRING_length(text)))));
  }
  GENERAL_NAMES_free(sans);
  return names;
}

}  // namespace

absl::StatusOr<std::shared_ptr<TlsServerContext>> TlsServerContext::Load(
    const TlsFiles& files) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    return absl::InternalError(
        absl::StrCat("creating a TLS context: ", ErrorQueue()));
  }
  auto context = std::shared_ptr<TlsServerContext>(new TlsServerContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // A peer that closes without close_notify has simply closed: HTTP/2 and
  // gRPC frame their own ends.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                               SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Partial writes from a buffer that may move between tries: the router
  // writes from its output queue as a plain socket would. Idle
  // connections give their buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str()) != 1) {
    return FileError("tls_cert", files.cert, "no certificate read");
  }
  EVP_PKEY* key = nullptr;
  if (FILE* f = std::fopen(files.key.c_str(), "r")) {
    key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
    std::fclose(f);
  }
  if (key == nullptr) {
    return FileError("tls_key", files.key, "no private key read");
  }
  const bool matches = SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
                       SSL_CTX_check_private_key(ctx) == 1;
  EVP_PKEY_free(key);
  if (!matches) {
    return FileError(
        "tls_key", files.key,
        absl::StrCat("does not match the certificate in ", files.cert));
  }
  if (SSL_CTX_load_verify_locations(ctx, files.client_ca.c_str(), nullptr) !=
      1) {
    return FileError("tls_client_ca", files.client_ca,
                     "no CA certificate read");
  }
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca.c_str());
  if (names != nullptr) SSL_CTX_set_client_CA_list(ctx, names);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     nullptr);
  SSL_CTX_set_verify_depth(ctx, 4);
  SSL_CTX_set_alpn_select_cb(ctx, SelectH2, nullptr);
  // No session cache: every connection proves its certificate again.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  return context;
}

TlsServerContext::~TlsServerContext() { SSL_CTX_free(ctx_); }

SSL* TlsServerContext::NewSession(int fd) const {
  SSL* session = SSL_new(ctx_);
  if (session == nullptr) return nullptr;
  if (SSL_set_fd(session, fd) != 1) {
    SSL_free(session);
    return nullptr;
  }
  SSL_set_accept_state(session);
  return session;
}

void AddCertificateIdentity(SSL* session, PeerIdentity* peer) {
  X509* cert = SSL_get0_peer_certificate(session);
  if (cert == nullptr) return;
  peer->certificate_subject = Subject(cert);
  peer->certificate_names = Names(cert);
}

std::string TlsFailure(SSL* session) {
  std::string text = ErrorQueue();
  const long verify = SSL_get_verify_result(session);
  if (verify != X509_V_OK) {
    absl::StrAppend(&text, " (client certificate: ",
                    X509_verify_cert_error_string(verify), ")");
  }
  return text;
}

}  // namespace pitstop
