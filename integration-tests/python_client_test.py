#!/usr/bin/python3
"""A client in another language, generated from proto/ alone.

Generates Python stubs with protoc and grpc_python_plugin, starts the real
pitstopd with the real CARs, and calls the admin service and the routed
storage service through them. Exits non-zero on the first failure.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def generate_stubs(proto_dir, out_dir):
    protos = []
    for root, _, files in os.walk(proto_dir):
        if os.path.relpath(root, proto_dir).startswith("google"):
            continue  # load_rpc_status: a "google" package here would hide
            # python3-protobuf's
        protos += [os.path.join(root, f) for f in files if f.endswith(".proto")]
    subprocess.run(
        ["protoc", "-I", proto_dir, "--python_out", out_dir,
         "--grpc_python_out", out_dir,
         "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin"] + protos,
        check=True)
    # Make the generated packages importable (pitstop/driver/v1/...).
    for root, _, _ in os.walk(out_dir):
        open(os.path.join(root, "__init__.py"), "a").close()


def load_rpc_status(proto_dir, out_dir):
    """google.rpc's Status and error details (proto/google/rpc), as modules
    of their own: what a client reads from grpc-status-details-bin."""
    import importlib.util
    os.makedirs(out_dir, exist_ok=True)
    subprocess.run(["protoc", "-I", proto_dir, "--python_out", out_dir,
                    "google/rpc/status.proto", "google/rpc/error_details.proto"],
                   check=True)
    modules = []
    for name in ("status_pb2", "error_details_pb2"):
        spec = importlib.util.spec_from_file_location(
            "rpc_" + name, os.path.join(out_dir, "google", "rpc", name + ".py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


def wait_ready(admin, pb, deadline):
    last = None
    while time.monotonic() < deadline:
        try:
            d = admin.GetDriver(pb.GetDriverRequest(name="flashpool"),
                                timeout=5, wait_for_ready=True)
            last = d
            if d.state == pb.DRIVER_STATE_READY:
                return d
        except Exception as e:  # noqa: BLE001 - report the last error below
            last = e
        time.sleep(0.02)
    raise AssertionError("flashpool not READY in time: %s" % last)


def wait_all_ready(admin, pb, deadline):
    """The drivers listed once all are READY, or the last listing."""
    listed = None
    while time.monotonic() < deadline:
        listed = admin.ListDrivers(pb.ListDriversRequest(), timeout=10)
        if all(d.state == pb.DRIVER_STATE_READY for d in listed.drivers):
            break
        time.sleep(0.02)
    return listed


def start_tls_daemon(args, work, sandbox):
    """pitstopd on TCP with mutual TLS, its certificates from `pitstop ca`."""
    ca = os.path.join(work, "ca")
    other = os.path.join(work, "other-ca")
    for cmd in (["init", ca, "--tls"],
                ["issue", ca, "daemon", "--for", "server", "--ip", "127.0.0.1"],
                ["issue", ca, "cloudstack", "--for", "client"],
                ["issue", ca, "dashboard", "--for", "client"],
                ["init", other, "--tls"],
                ["issue", other, "cloudstack", "--for", "client"]):
        subprocess.run([args.pitstop, "ca"] + cmd, check=True,
                       stdout=subprocess.DEVNULL)
    config = os.path.join(work, "tls.yaml")
    with open(config, "w") as f:
        f.write("""listen: 127.0.0.1:0
tls_cert: %(ca)s/daemon.pem
tls_key: %(ca)s/daemon.key
tls_client_ca: %(ca)s/root.pem
roles:
  operator: [cert cloudstack]
  viewer: [cert dashboard]
callers:
  flashpool: [cert cloudstack]
""" % {"ca": ca})
    log_path = os.path.join(work, "pitstopd-tls.log")
    daemon = subprocess.Popen(
        [args.pitstopd, "--config", config, "--state-dir",
         os.path.join(work, "state-tls"), "--drivers-dir", args.cars_dir]
        + sandbox, stderr=open(log_path, "w"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with open(log_path) as f:
            for line in f:
                if "msg=serving" in line:
                    daemon.address = line.split(" address=")[1].split()[0]
                    return daemon
        if daemon.poll() is not None:
            break
        time.sleep(0.02)
    with open(log_path) as f:
        raise AssertionError("pitstopd on TLS did not serve: " + f.read())


def check_tls(args, work, daemon, check, grpc, admin_pb2, admin_pb2_grpc,
              storage_pb2, storage_pb2_grpc, context):
    def channel(ca_dir, name):
        def read(path):
            with open(path, "rb") as f:
                return f.read()
        creds = grpc.ssl_channel_credentials(
            root_certificates=read(os.path.join(work, "ca", "root.pem")),
            private_key=read(os.path.join(work, ca_dir, name + ".key")),
            certificate_chain=read(os.path.join(work, ca_dir, name + ".pem")))
        return grpc.secure_channel(daemon.address, creds)

    cloudstack = channel("ca", "cloudstack")
    admin = admin_pb2_grpc.AdminServiceStub(cloudstack)
    wait_ready(admin, admin_pb2, time.monotonic() + 30)
    check("TLS: a client certificate's role lists the drivers",
          len(admin.ListDrivers(admin_pb2.ListDriversRequest(),
                                timeout=10).drivers) > 0)
    storage = storage_pb2_grpc.StorageServiceStub(cloudstack)
    created = storage.CreateVolume(
        storage_pb2.CreateVolumeRequest(context=context("volume", "tls-vol"),
                                        size_bytes=1 << 20, name="tls"),
        metadata=[("pitstop-driver", "flashpool")], timeout=10)
    check("TLS: a routed call by a certificate in callers",
          "tls-vol" in created.path, created.path)

    viewer = admin_pb2_grpc.AdminServiceStub(channel("ca", "dashboard"))
    try:
        viewer.StopDriver(admin_pb2.StopDriverRequest(name="flashpool"),
                          timeout=10)
        check("TLS: a viewer's stop is refused", False)
    except grpc.RpcError as e:
        check("TLS: a viewer's stop is PERMISSION_DENIED naming its "
              "certificate",
              e.code() == grpc.StatusCode.PERMISSION_DENIED
              and "CN=dashboard" in e.details(), e.details())

    stranger = admin_pb2_grpc.AdminServiceStub(channel("other-ca", "cloudstack"))
    try:
        stranger.ListDrivers(admin_pb2.ListDriversRequest(), timeout=5)
        check("TLS: a certificate from another CA is refused", False)
    except grpc.RpcError as e:
        check("TLS: a certificate from another CA fails the handshake",
              e.code() == grpc.StatusCode.UNAVAILABLE, e.details())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--proto-dir", required=True)
    parser.add_argument("--pitstopd", required=True)
    parser.add_argument("--pitstop", required=True)
    parser.add_argument("--cars-dir", required=True)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="pitstop-py-")
    daemon = None
    failures = 0
    passes = 0
    try:
        stubs = os.path.join(work, "stubs")
        os.makedirs(stubs)
        generate_stubs(args.proto_dir, stubs)
        sys.path.insert(0, stubs)
        import grpc
        from pitstop.supervisor.v1 import admin_pb2, admin_pb2_grpc
        from pitstop.driver.v1 import context_pb2, storage_pb2, storage_pb2_grpc

        socket = os.path.join(work, "pitstopd.sock")
        log = open(os.path.join(work, "pitstopd.log"), "w")
        # Strict as root where the host allows the whole sandbox;
        # best-effort where it does not (a container): docs/sandbox.md.
        sandbox = []
        if subprocess.run([args.pitstopd, "--check-sandbox"],
                          stdout=subprocess.DEVNULL).returncode != 0:
            sandbox = ["--sandbox", "best-effort"]
        daemon = subprocess.Popen(
            [args.pitstopd, "--listen", "unix:" + socket, "--state-dir",
             os.path.join(work, "state"), "--drivers-dir", args.cars_dir]
            + sandbox,
            stderr=log)
        channel = grpc.insecure_channel("unix:" + socket)
        admin = admin_pb2_grpc.AdminServiceStub(channel)
        storage = storage_pb2_grpc.StorageServiceStub(channel)
        driver = wait_ready(admin, admin_pb2, time.monotonic() + 30)

        def check(name, condition, detail=""):
            nonlocal failures, passes
            print("%s: %s %s" % ("ok" if condition else "FAILED", name, detail))
            failures += 0 if condition else 1
            passes += 1 if condition else 0

        listed = wait_all_ready(admin, admin_pb2, time.monotonic() + 30)
        check("admin ListDrivers lists flashpool",
              "flashpool" in [d.name for d in listed.drivers])
        not_ready = [d.name for d in listed.drivers
                     if d.state != admin_pb2.DRIVER_STATE_READY]
        check("admin ListDrivers shows every driver READY", not not_ready,
              "not READY: %s" % not_ready)
        check("flashpool has a process", driver.pid > 0)

        def context(rtype, rid):
            ctx = context_pb2.CallContext()
            ctx.resource.type = rtype
            ctx.resource.id = rid
            ctx.operation_id = "py-" + rid
            ctx.caller = "python-test"
            for k, v in {"management_vip": "10.0.0.5", "storage_vip": "10.0.1.5",
                         "admin_username": "admin",
                         "admin_password": "s3cret"}.items():
                ctx.properties[k].string_value = v
            return ctx

        md = [("pitstop-driver", "flashpool")]
        created = storage.CreateVolume(
            storage_pb2.CreateVolumeRequest(context=context("volume", "py-vol"),
                                            size_bytes=1 << 30, name="py"),
            metadata=md, timeout=10)
        check("routed CreateVolume returns the volume's path",
              "py-vol" in created.path, created.path)
        stats = storage.GetStats(
            storage_pb2.GetStatsRequest(context=context("volume", "py-vol")),
            metadata=md, timeout=10)
        check("routed GetStats sees the new volume",
              stats.capacity_bytes == 1 << 30, str(stats.capacity_bytes))
        try:
            storage.DeleteVolume(
                storage_pb2.DeleteVolumeRequest(context=context("volume", "nope")),
                metadata=md, timeout=10)
            check("deleting a missing volume fails", False)
        except grpc.RpcError as e:
            check("deleting a missing volume is NOT_FOUND",
                  e.code() == grpc.StatusCode.NOT_FOUND, e.details())
        try:
            storage.GetStats(
                storage_pb2.GetStatsRequest(context=context("volume", "py-vol")),
                metadata=[("pitstop-driver", "missing")], timeout=10)
            check("an unknown driver fails", False)
        except grpc.RpcError as e:
            check("an unknown driver is NOT_FOUND naming it",
                  e.code() == grpc.StatusCode.NOT_FOUND and "missing" in e.details(),
                  e.details())

        # A bad bag: the violations, machine-readable, in the status details.
        rpc_status, rpc_details = load_rpc_status(
            args.proto_dir, os.path.join(work, "rpcstubs"))
        bad = context("volume", "py-bad")
        del bad.properties["management_vip"]
        try:
            storage.CreateVolume(
                storage_pb2.CreateVolumeRequest(context=bad, size_bytes=1 << 30,
                                                name="bad"),
                metadata=md, timeout=10)
            check("a bad property bag is refused", False)
        except grpc.RpcError as e:
            raw = dict(e.trailing_metadata() or ()).get("grpc-status-details-bin")
            status = rpc_status.Status()
            if raw:
                status.ParseFromString(raw)
            info = rpc_details.ErrorInfo()
            bad_request = rpc_details.BadRequest()
            for any_detail in status.details:
                if any_detail.Is(info.DESCRIPTOR):
                    any_detail.Unpack(info)
                if any_detail.Is(bad_request.DESCRIPTOR):
                    any_detail.Unpack(bad_request)
            fields = sorted(v.field for v in bad_request.field_violations)
            check("a bad bag carries BadRequest field violations",
                  e.code() == grpc.StatusCode.INVALID_ARGUMENT
                  and status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
                  and "context.properties.management_vip" in fields, str(fields))
            check("and an ErrorInfo with a stable reason",
                  info.reason == "INVALID_PROPERTIES"
                  and info.domain == "pitstop.dev"
                  and info.metadata["driver"] == "flashpool", str(info))

        # The operator CLI against the same daemon.
        out = subprocess.run(
            [args.pitstop, "--address", "unix:" + socket, "drivers", "--output",
             "json"], check=True, capture_output=True, text=True).stdout
        import json
        drivers = {d["name"]: d for d in json.loads(out)}
        flashpool = drivers.get("flashpool", {})
        check("pitstop drivers --output json lists flashpool READY",
              flashpool.get("state") == "READY"
              and flashpool.get("pid") == driver.pid, out)

        daemon.send_signal(signal.SIGTERM)
        rc = daemon.wait(timeout=30)
        daemon = None
        check("pitstopd exits 0 on SIGTERM", rc == 0, str(rc))

        daemon = start_tls_daemon(args, work, sandbox)
        check_tls(args, work, daemon, check, grpc, admin_pb2, admin_pb2_grpc,
                  storage_pb2, storage_pb2_grpc, context)
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
        daemon = None
    finally:
        if daemon is not None:
            daemon.kill()
            daemon.wait()
        if failures:
            with open(os.path.join(work, "pitstopd.log")) as f:
                print(f.read())
        shutil.rmtree(work, ignore_errors=True)
    print("python client checks: %d ok, %d failed" % (passes, failures))
    return 1 if failures or not passes else 0


if __name__ == "__main__":
    sys.exit(main())
