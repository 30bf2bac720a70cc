#ifndef PITSTOP_SUPERVISOR_RPC_AUDIT_INTERCEPTOR_H_
#define PITSTOP_SUPERVISOR_RPC_AUDIT_INTERCEPTOR_H_

// Puts every admin call that changes something (the operator and admin
// methods of access_policy.h) on the audit trail, without the admin service
// having to: a gRPC server interceptor reads who is calling from the
// router's pitstop-peer header, the request once it arrived, and the status
// it ends with, and appends one record (secrets and bytes removed), and
// logs a line. A record that cannot be written is logged as an error.

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>

#include "google/protobuf/message.h"
#include "supervisor/core/audit_trail.h"

namespace pitstop {

// The request as JSON for the trail: bytes fields cleared and their sizes
// named after it ("{...} car: 1604164 bytes"), the user and password of a
// URL removed.
std::string AuditArguments(const google::protobuf::Message& request);

// Appends `record` (its message cut to 1024 bytes) and logs its line
// (source=audit seq=N actor=... code=N), or logs why it could not.
void AppendAndLog(AuditTrail& trail, AuditRecord record);

class AuditInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit AuditInterceptorFactory(AuditTrail& trail) : trail_(trail) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  AuditTrail& trail_;
};

}  // namespace pitstop

#endif  // PITSTOP_SUPERVISOR_RPC_AUDIT_INTERCEPTOR_H_
