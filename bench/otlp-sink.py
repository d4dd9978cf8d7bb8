"""An OTLP/HTTP sink for bench/tracing-cost.sh: answers every POST with 200 and drops the body."""
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get('content-length', 0)); self.rfile.read(n)
        self.send_response(200); self.send_header('content-type','application/x-protobuf'); self.send_header('content-length','0'); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
