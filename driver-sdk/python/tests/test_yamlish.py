import unittest

import support  # noqa: F401  (sys.path)
from pitstop_driver import yamlish


class YamlishTest(unittest.TestCase):

    def test_reads_block_and_flow_collections_and_quoted_scalars(self):
        doc = yamlish.loads(
            "name: flashpool   # a comment\n"
            "protocol: [v1, 'v2']\n"
            "timeouts: {start: 10s, stop: 5s}\n"
            "requires:\n"
            "  - name: iscsi-base\n"
            "    version: \">=1.0.0 <2.0.0\"\n"
            "tags:\n"
            "- a\n"
            "- 'it''s'\n"
            "nested:\n"
            "  inner: \"x\\ty # not a comment\"\n")
        self.assertEqual(doc["name"], "flashpool")
        self.assertEqual(doc["protocol"], ["v1", "v2"])
        self.assertEqual(doc["timeouts"], {"start": "10s", "stop": "5s"})
        self.assertEqual(doc["requires"], [{"name": "iscsi-base", "version": ">=1.0.0 <2.0.0"}])
        self.assertEqual(doc["tags"], ["a", "it's"])
        self.assertEqual(doc["nested"], {"inner": "x\ty # not a comment"})

    def test_an_empty_value_is_an_empty_string(self):
        self.assertEqual(yamlish.loads("a:\nb: 1\n"), {"a": "", "b": "1"})

    def test_errors_name_the_file_and_line(self):
        cases = {"a: 1\na: 2\n": "x.yaml:2: 'a' appears twice",
                 "a: &anchor 1\n": "x.yaml:1: unsupported YAML",
                 "a: [1, [2]]\n": "x.yaml:1: nested flow collections",
                 "a: 1\n   b: 2\n": "x.yaml:2: unexpected indentation",
                 "a: 'open\n": "x.yaml:1: unterminated quoted string",
                 "just text\n": "x.yaml:1: expected 'key: value'"}
        for text, message in cases.items():
            with self.subTest(text=text):
                with self.assertRaises(yamlish.YamlError) as raised:
                    yamlish.loads(text, "x.yaml")
                self.assertIn(message, str(raised.exception))


if __name__ == "__main__":
    unittest.main()
