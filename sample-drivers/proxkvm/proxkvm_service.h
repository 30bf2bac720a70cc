#ifndef PITSTOP_SAMPLE_DRIVERS_PROXKVM_PROXKVM_SERVICE_H_
#define PITSTOP_SAMPLE_DRIVERS_PROXKVM_PROXKVM_SERVICE_H_

// Proxkvm: a sample hypervisor driver simulating a Proxmox-like KVM cluster:
// hosts (cluster nodes) join with ConnectHost; VMs are prepared, started on
// a host, stopped, rebooted, migrated between hosts, get NICs plugged and
// unplugged, and offer a VNC console. The cluster is simulated in the
// driver's state directory (see proxkvm_store.h), so it survives restarts.
//
// Rules every operation follows:
//   - Every operation needs the properties url, user, token (secret) and
//     node as non-empty strings (INVALID_ARGUMENT naming the missing one
//     otherwise); verify_tls (boolean, default true) and disk_size_gb
//     (whole number 1..65536, default 64) are optional. The token is never
//     logged.
//   - ConnectHost and HostVmStates are keyed on a host, the rest on a vm:
//     context.resource.type must say so and its id be non-empty, else
//     INVALID_ARGUMENT.
//   - Idempotency: a mutating operation that succeeded with an operation id
//     is remembered (the last 4096); the same operation id again returns the
//     first result without applying anything. Reusing an operation id for
//     another method or resource is INVALID_ARGUMENT. Failed operations are
//     not remembered, so a retry tries again.
//   - Errors name the host, VM or NIC and say what to do.
//
// Per operation:
//   ConnectHost   adds (or refreshes) the host in the cluster. url is the
//                 request's, else the url property; it must be https://
//                 (http:// only with verify_tls false).
//                 Credentials are the request's, else user / token. Returns
//                 the host's facts (simulated, stable per host id) and the
//                 power states of the VMs placed on it.
//   HostVmStates  VM name (the id when the VM has no name) -> power state of
//                 the VMs on the host; NOT_FOUND for a host never connected.
//   PrepareVm     creates the VM's configuration (cpus >= 1, memory_bytes >
//                 0; spec.id, if set, must be the resource id). Disks of
//                 size 0 get disk_size_gb; with no disks, one ROOT disk of
//                 disk_size_gb. Preparing a prepared VM again replaces its
//                 configuration unless it runs (FAILED_PRECONDITION).
//                 Details: vendor_vm_id (the numeric vmid), node.
//   StartVm       NOT_FOUND for an unknown VM (PrepareVm first); the host is
//                 the request's, else where the VM last ran, else the node
//                 property; it must be connected (NOT_FOUND). Running on that
//                 host already succeeds; running elsewhere is
//                 FAILED_PRECONDITION (migrate it). RESOURCE_EXHAUSTED when
//                 the host lacks memory for it.
//   StopVm        powers off (force or not); a stopped VM stays stopped.
//   RebootVm      FAILED_PRECONDITION unless running.
//   ExpungeVm     deletes the VM; FAILED_PRECONDITION while it runs.
//   MigrateVm     moves the VM to destination_host, a connected host
//                 (NOT_FOUND otherwise); live when running (which needs the
//                 memory there: RESOURCE_EXHAUSTED), offline otherwise.
//                 FAILED_PRECONDITION for a VM never started; moving to its
//                 own host succeeds.
//   PlugNic       adds a NIC (id and MAC required); the same NIC again
//                 succeeds, the same id with another MAC is
//                 FAILED_PRECONDITION; at most 32 NICs.
//   UnplugNic     NOT_FOUND for a NIC the VM does not have.
//   GetConsole    FAILED_PRECONDITION unless running; a noVNC URL on the
//                 cluster's API address, the host, port 5900 + vmid % 100
//                 and a new one-time password.
//
// Thread-safe: calls may run concurrently; the store serializes changes.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "pitstop/driver/v1/hypervisor.grpc.pb.h"
#include "proxkvm_store.h"

namespace pitstop::proxkvm {

class ProxkvmService final
    : public pitstop::driver::v1::HypervisorService::Service {
 public:
  // Opens the simulated cluster kept in `state_dir` (which must exist).
  // Errors as OpenProxkvmStore.
  static absl::StatusOr<std::unique_ptr<ProxkvmService>> Create(
      const std::string& state_dir);

  grpc::Status ConnectHost(
      grpc::ServerContext* context,
      const pitstop::driver::v1::ConnectHostRequest* request,
      pitstop::driver::v1::ConnectHostResponse* response) override;
  grpc::Status HostVmStates(
      grpc::ServerContext* context,
      const pitstop::driver::v1::HostVmStatesRequest* request,
      pitstop::driver::v1::HostVmStatesResponse* response) override;
  grpc::Status PrepareVm(
      grpc::ServerContext* context,
      const pitstop::driver::v1::PrepareVmRequest* request,
      pitstop::driver::v1::PrepareVmResponse* response) override;
  grpc::Status StartVm(grpc::ServerContext* context,
                       const pitstop::driver::v1::StartVmRequest* request,
                       pitstop::driver::v1::StartVmResponse* response) override;
  grpc::Status StopVm(grpc::ServerContext* context,
                      const pitstop::driver::v1::StopVmRequest* request,
                      pitstop::driver::v1::StopVmResponse* response) override;
  grpc::Status RebootVm(
      grpc::ServerContext* context,
      const pitstop::driver::v1::RebootVmRequest* request,
      pitstop::driver::v1::RebootVmResponse* response) override;
  grpc::Status ExpungeVm(
      grpc::ServerContext* context,
      const pitstop::driver::v1::ExpungeVmRequest* request,
      pitstop::driver::v1::ExpungeVmResponse* response) override;
  grpc::Status MigrateVm(
      grpc::ServerContext* context,
      const pitstop::driver::v1::MigrateVmRequest* request,
      pitstop::driver::v1::MigrateVmResponse* response) override;
  grpc::Status PlugNic(grpc::ServerContext* context,
                       const pitstop::driver::v1::PlugNicRequest* request,
                       pitstop::driver::v1::PlugNicResponse* response) override;
  grpc::Status UnplugNic(
      grpc::ServerContext* context,
      const pitstop::driver::v1::UnplugNicRequest* request,
      pitstop::driver::v1::UnplugNicResponse* response) override;
  grpc::Status GetConsole(
      grpc::ServerContext* context,
      const pitstop::driver::v1::GetConsoleRequest* request,
      pitstop::driver::v1::GetConsoleResponse* response) override;

 private:
  explicit ProxkvmService(std::unique_ptr<ProxkvmStore> store);

  // Constant after construction.
  const std::unique_ptr<ProxkvmStore> store_;
};

}  // namespace pitstop::proxkvm

#endif  // PITSTOP_SAMPLE_DRIVERS_PROXKVM_PROXKVM_SERVICE_H_
