import os
import subprocess
import unittest

import grpc

import support
from pitstop_driver import pack
from pitstop.driver.v1 import identity_pb2, identity_pb2_grpc

DRIVER = '''
from pitstop_driver import DriverRuntime
def main():
    runtime = DriverRuntime.from_args()
    from pitstop.driver.v1 import network_pb2_grpc
    return runtime.serve(network_pb2_grpc.NetworkServiceServicer())
'''


class PackTest(unittest.TestCase):

    def setUp(self):
        self.dir = support.temp_dir(self)
        self.root = os.path.join(self.dir, "car")
        os.makedirs(os.path.join(self.root, "META-INF"))
        os.makedirs(os.path.join(self.root, "resources"))
        with open(os.path.join(self.root, "META-INF", "driver.yaml"), "w") as f:
            f.write(support.MANIFEST)
        with open(os.path.join(self.root, "resources", "messages.properties"), "w") as f:
            f.write("driver.description=test\n")
        self.source = os.path.join(self.dir, "testnet_driver.py")
        with open(self.source, "w") as f:
            f.write(DRIVER)

    def test_stages_sdk_stubs_sources_and_an_executable_entrypoint(self):
        stage = os.path.join(self.dir, "stage")
        launcher = pack.stage(self.root, [self.source], "testnet_driver:main", stage,
                              support.PROTO_DIR)
        self.assertEqual(launcher, os.path.join(stage, "bin", "testnet"))
        self.assertTrue(os.access(launcher, os.X_OK))
        with open(launcher) as f:
            self.assertEqual(f.readline(), "#!/usr/bin/python3\n")
        for path in ("META-INF/driver.yaml", "resources/messages.properties",
                     "lib/pitstop_driver/runtime.py", "lib/pitstop/driver/v1/network_pb2_grpc.py",
                     "lib/pitstop/__init__.py", "lib/testnet_driver.py"):
            self.assertTrue(os.path.isfile(os.path.join(stage, path)), path)
        self.assertEqual(sorted(os.listdir(stage)), ["META-INF", "bin", "lib", "resources"])

    def test_the_entrypoint_serves_with_only_the_sandbox_environment(self):
        stage = os.path.join(self.dir, "stage")
        pack.stage(self.root, [self.source], "testnet_driver:main", stage, support.PROTO_DIR)
        socket_path = os.path.join(self.dir, "d.sock")
        env = {"PITSTOP_SOCKET": socket_path, "PITSTOP_STATE_DIR": os.path.join(self.dir, "data"),
               "PITSTOP_DRIVER_ROOT": stage, "PITSTOP_DRIVER_NAME": "testnet",
               "PITSTOP_DRIVER_VERSION": "1.2.3", "PITSTOP_INSTANCE_ID": "1",
               "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.path.join(self.dir, "data"),
               "LD_LIBRARY_PATH": os.path.join(stage, "lib"), "LANG": "C.UTF-8"}
        process = subprocess.Popen([os.path.join(stage, "bin", "testnet")], env=env,
                                   cwd="/", stderr=subprocess.PIPE, text=True)
        self.addCleanup(process.stderr.close)
        self.addCleanup(process.wait)
        self.addCleanup(process.kill)
        support.wait_for(lambda: os.path.exists(socket_path) or process.poll() is not None,
                         what="the driver's socket")
        self.assertIsNone(process.poll(), process.stderr.read() if process.poll() else "")
        with grpc.insecure_channel("unix:" + socket_path) as channel:
            info = identity_pb2_grpc.IdentityServiceStub(channel).GetInfo(
                identity_pb2.GetInfoRequest(), timeout=10)
        self.assertEqual((info.name, info.version), ("testnet", "1.2.3"))
        process.terminate()
        self.assertEqual(process.wait(timeout=10), 0)
        self.assertEqual([n for n in os.listdir(stage) if n == "__pycache__"], [])

    def test_errors_name_what_is_wrong(self):
        stage = os.path.join(self.dir, "stage")
        with self.assertRaises(pack.PackError) as raised:
            pack.stage(self.root, [self.source], "not a module", stage, support.PROTO_DIR)
        self.assertIn("--main must be MODULE or MODULE:FUNCTION", str(raised.exception))
        with self.assertRaises(pack.PackError) as raised:
            pack.stage(self.root, ["/nonexistent.py"], "m", stage + "2", support.PROTO_DIR)
        self.assertIn("--source /nonexistent.py: no such file", str(raised.exception))
        with self.assertRaises(pack.PackError) as raised:
            pack.pack(self.root, [self.source], "m", os.path.join(self.dir, "x.car"),
                      support.PROTO_DIR, pitstop="/nonexistent/pitstop")
        self.assertIn("cannot run /nonexistent/pitstop", str(raised.exception))

    @unittest.skipUnless(os.environ.get("PITSTOP_CLI"), "PITSTOP_CLI names no pitstop CLI")
    def test_packs_a_car_with_the_pitstop_cli(self):
        out = os.path.join(self.dir, "testnet.car")
        pack.pack(self.root, [self.source], "testnet_driver", out, support.PROTO_DIR,
                  pitstop=os.environ["PITSTOP_CLI"])
        listing = subprocess.run(["unzip", "-Z1", out], capture_output=True, text=True,
                                 check=True).stdout.split()
        self.assertEqual(listing[0], "META-INF/MANIFEST.MF")
        self.assertIn("bin/testnet", listing)
        self.assertIn("lib/pitstop_driver/server.py", listing)


if __name__ == "__main__":
    unittest.main()
