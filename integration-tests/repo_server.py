#!/usr/bin/python3
"""A static HTTP server for repository tests, with hostile corners.

Serves --dir on 127.0.0.1, on a free port it writes to --port-file once
listening. Paths under these top-level folders misbehave on purpose:

  endless-car/...*.car           200 without a length, bytes forever
  endless-index/.../pitstop-index  the same for the index
  stall-car/...*.car             headers with the true length, then silence

Everything else is a plain static file server, like a statically served
bucket.
"""

import argparse
import functools
import http.server
import os
import time


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):  # keep the test output quiet
        pass

    def _endless(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        chunk = b"\0" * 65536
        try:
            while True:
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _stall(self, path):
        self.send_response(200)
        self.send_header("Content-Length", str(os.path.getsize(path)))
        self.end_headers()
        self.wfile.flush()
        try:
            while True:
                time.sleep(3600)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path.startswith("/endless-car/") and path.endswith(".car"):
            return self._endless()
        if path.startswith("/endless-index/") and path.endswith("/pitstop-index"):
            return self._endless()
        if path.startswith("/stall-car/") and path.endswith(".car"):
            return self._stall(self.translate_path(path))
        return super().do_GET()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    handler = functools.partial(Handler, directory=args.dir)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
