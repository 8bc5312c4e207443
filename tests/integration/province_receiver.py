#!/usr/bin/env python3
"""The reference provincial 好差评 platform for the tests (docs/PROVINCE.md).

It takes POSTed evaluation records (one JSON object each), validates every one against the
JSON Schema of the national items (config/province/record.schema.json, python3-jsonschema)
and keeps what it got: every delivery, the records by evaluation id (a second delivery of
an id already held is answered 200 and counted, never stored twice — what a platform does
with the Idempotency-Key), and every record it refused with why. `fail` makes it answer that
HTTP status to everything, storing nothing, as a platform in an outage does (with
`fail_in_body`: HTTP 200 and that code in the body, as some platforms answer). `gate.clear()`
holds every request (body read) until `gate.set()`, so a test can kill the sender while a
delivery is in flight.

In a test: `rx = ProvinceReceiver(); rx.start(); ... rx.stop()`. Alone:
`province_receiver.py [PORT]` prints "ready PORT" and a JSON line per record it keeps.
"""
import http.server
import json
import os
import sys
import threading

import jsonschema

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "config",
                           "province", "record.schema.json")


class ProvinceReceiver:
    def __init__(self, port=0, schema_path=SCHEMA_PATH, on_record=None):
        with open(schema_path, encoding="utf-8") as f:
            schema = json.load(f)
        jsonschema.Draft7Validator.check_schema(schema)
        self.validator = jsonschema.Draft7Validator(schema)
        self.lock = threading.Lock()
        self.fail = 0           # answer this status to everything (0: work)
        self.fail_in_body = False  # answer `fail` as HTTP 200 {"code": fail} instead
        self.failed = 0         # requests answered with `fail`
        self.deliveries = []    # every accepted body, in order (resends included)
        self.by_id = {}         # evaluationId -> the record, held once
        self.duplicates = {}    # evaluationId -> deliveries after the first
        self.invalid = []       # (body text, reasons) refused with 400
        self.on_record = on_record
        self.gate = threading.Event()  # cleared: a request waits here, body read, nothing kept
        self.gate.set()
        self.waiting = 0        # requests waiting at the closed gate now
        rx = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, status, obj):
                body = json.dumps(obj, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                status, obj = rx.take(raw, self.headers)
                self.answer(status, obj)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/api/evaluation" % self.port

    def take(self, raw, headers):
        if not self.gate.is_set():
            # A platform that is slow to answer: the sender is mid-request (a test kills it
            # now); what happens after the gate opens is what a platform does with a request
            # whose sender went away — it keeps the record.
            with self.lock:
                self.waiting += 1
            self.gate.wait()
            with self.lock:
                self.waiting -= 1
        with self.lock:
            if self.fail:
                self.failed += 1
                return (200 if self.fail_in_body else self.fail), {"code": self.fail,
                                                                  "msg": "outage"}
        try:
            rec = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            with self.lock:
                self.invalid.append((raw[:200], ["not JSON: %s" % e]))
            return 400, {"code": 400, "msg": "not JSON"}
        errors = [("/".join(str(p) for p in e.absolute_path) or "$") + ": " + e.message
                  for e in self.validator.iter_errors(rec)]
        key = headers.get("Idempotency-Key")
        if isinstance(rec, dict) and key != rec.get("evaluationId"):
            errors.append("Idempotency-Key %r is not the evaluationId" % key)
        if errors:
            with self.lock:
                self.invalid.append((raw[:200], errors))
            return 400, {"code": 400, "msg": "; ".join(errors)}
        eid = rec["evaluationId"]
        with self.lock:
            self.deliveries.append(rec)
            if eid in self.by_id:
                self.duplicates[eid] = self.duplicates.get(eid, 0) + 1
                return 200, {"code": 200, "msg": "already held"}
            self.by_id[eid] = rec
        if self.on_record:
            self.on_record(rec)
        return 200, {"code": 200, "msg": "ok"}

    def held(self):
        with self.lock:
            return dict(self.by_id)

    def start(self):
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    rx = ProvinceReceiver(int(sys.argv[1]) if len(sys.argv) > 1 else 0,
                          on_record=lambda r: print(json.dumps(r, ensure_ascii=False), flush=True))
    print("ready %d" % rx.port, flush=True)
    try:
        rx.server.serve_forever()
    except KeyboardInterrupt:
        pass
