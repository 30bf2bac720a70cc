import unittest

import support
from pitstop_driver import manifest


class ManifestTest(unittest.TestCase):

    def test_reads_identity_stop_timeout_and_property_schema(self):
        info = manifest.parse(support.MANIFEST)
        self.assertEqual((info.name, info.version, info.category, info.vendor),
                         ("testnet", "1.2.3", "network", "Test Vendor"))
        self.assertEqual(info.protocol_versions, ["v1"])
        self.assertEqual(info.capabilities, ["Connectivity"])
        self.assertEqual(info.stop_timeout, 2.0)
        self.assertEqual(sorted(info.properties), ["host", "port", "since", "verbose"])
        self.assertTrue(info.properties["host"].required)
        self.assertEqual((info.properties["port"].type, info.properties["port"].default),
                         ("number", "8443"))

    def test_defaults_when_optional_keys_are_absent(self):
        info = manifest.parse("name: a\nversion: 1.0.0\ncategory: storage\n")
        self.assertEqual(info.protocol_versions, ["v1"])
        self.assertEqual(info.capabilities, [])
        self.assertEqual(info.stop_timeout, 5.0)
        self.assertEqual(info.properties, {})

    def test_every_driver_yaml_in_the_repository_parses(self):
        import glob
        import os
        paths = glob.glob(os.path.join(support.REPO, "sample-drivers", "*", "car",
                                       "META-INF", "driver.yaml"))
        self.assertGreaterEqual(len(paths), 4)
        for path in paths:
            with self.subTest(path=path):
                self.assertTrue(manifest.load(path).name)

    def test_errors_name_the_file_line_and_key(self):
        cases = {"version: 1.0.0\ncategory: network\n": "d.yaml: 'name' is required",
                 "name: a\nversion: 1.0.0\ncategory: disk\n":
                     "d.yaml:3: 'category' must be one of network, storage, hypervisor (got 'disk')",
                 "name: a\nversion: 1.0.0\ncategory: network\ntimeouts: {stop: soon}\n":
                     "d.yaml:4: 'timeouts.stop' must be a positive duration",
                 "name: a\nversion: 1.0.0\ncategory: network\nproperties:\n  - key: k\n"
                 "    type: int\n": "property 'k': type must be one of string, number"}
        for text, message in cases.items():
            with self.subTest(message=message):
                with self.assertRaises(manifest.ManifestError) as raised:
                    manifest.parse(text, "d.yaml")
                self.assertIn(message, str(raised.exception))

    def test_a_missing_file_is_named(self):
        with self.assertRaises(manifest.ManifestError) as raised:
            manifest.load("/nonexistent/driver.yaml")
        self.assertIn("cannot read /nonexistent/driver.yaml", str(raised.exception))

    def test_durations(self):
        self.assertEqual(manifest.parse_duration("500ms"), 0.5)
        self.assertEqual(manifest.parse_duration("1m30s"), 90.0)
        self.assertIsNone(manifest.parse_duration("5"))


if __name__ == "__main__":
    unittest.main()
