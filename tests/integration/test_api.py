"""API tests against the running hallqd (PROTOCOLS.md §6): tickets, window
actions, tokens, SSE, metrics, and hostile requests that must get a 4xx
with a JSON error and never take the daemon down."""
import json
import re
import socket
import struct
import sys
import threading
import time

from hallq import CLERK, MANAGER, Failures, Hall, sse_reader, wait_for

T = Failures("test_api")


def test_tickets(h):
    st, body = h.issue("A")
    T.eq(st, 201, "issue A status")
    T.eq(body["ticket"]["number"], "A001", "first A number")
    T.eq(body["ticket"]["ahead"], 0, "nobody ahead of the first ticket")
    T.check(body["ticket"]["status_url"].endswith("/t/" + body["ticket"]["uuid"]), "status url")
    st, body = h.issue("A")
    T.eq(body["ticket"]["number"], "A002", "second A number")
    T.eq(body["ticket"]["ahead"], 1, "one ahead of the second")
    uuid = body["ticket"]["uuid"]
    st, got = h.get(f"/api/v1/tickets/{uuid}")
    T.eq((st, got.get("number")), (200, "A002"), "ticket by uuid")
    st, got = h.get("/api/v1/tickets/A001")
    T.eq((st, got.get("number")), (200, "A001"), "ticket by label")
    st, got = h.get("/api/v1/tickets/Z999")
    T.eq(st, 404, "unknown ticket")

    # refusals with the citizen's message
    st, body = h.issue("C")
    T.eq((st, body.get("error")), (409, "id_required"), "ID card required")
    T.check("身份证" in body.get("message", ""), "Chinese message for id_required")
    for _ in range(3):
        h.issue("B")
    st, body = h.issue("B")
    T.eq((st, body.get("error")), (409, "quota"), "daily quota reached")
    st, body = h.issue("Q")
    T.eq((st, body.get("error")), (404, "not_found"), "unknown service")
    st, body = h.post("/api/v1/tickets", {})
    T.eq((st, body.get("error")), (400, "invalid"), "missing service")
    st, body = h.post("/api/v1/tickets", {"service": 7})
    T.eq(st, 400, "service of the wrong type")

    # priorities: only a clerk may ask, elderly only from a card
    st, body = h.issue("A", priority="disabled")
    T.eq(st, 401, "priority without a token")
    st, body = h.post("/api/v1/tickets", {"service": "A", "priority": "disabled"}, token=CLERK)
    T.eq((st, body["ticket"]["priority"]), (201, "disabled"), "priority with a clerk token")
    T.eq(body["ticket"]["priority_label"], "残疾人优先", "priority label")
    st, body = h.post("/api/v1/tickets", {"service": "A", "priority": "elderly"}, token=CLERK)
    T.eq(st, 400, "elderly cannot be asked for")


UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_public_view(h):
    """Issue 14: a number is guessable, so the public lookup by number shows
    neither the uuid (the capability for /t/<uuid> and kiosk reprints) nor the
    priority class nor the masked name; the holder by uuid and staff see all."""
    st, body = h.post("/api/v1/tickets", {"service": "A", "priority": "disabled"}, token=CLERK)
    T.eq(st, 201, "a disabled-priority ticket")
    full = body["ticket"]
    number, uuid = full["number"], full["uuid"]
    st, pub = h.get("/api/v1/tickets/" + number)
    T.eq(st, 200, "public lookup by number")
    T.eq((pub.get("number"), pub.get("service"), pub.get("status")), (number, "A", "waiting"),
         "the number's answer has what the QR page shows")
    T.check("ahead" in pub and "estimated_wait_s" in pub and "window" in pub,
            "people ahead, the estimate and the window: %r" % pub)
    for k in ("uuid", "status_url", "priority", "priority_label", "priority_label_en", "name_masked"):
        T.check(k not in pub, "public lookup by number leaves out %s: %r" % (k, pub))
    T.check(not UUID_RE.search(json.dumps(pub)), "no uuid anywhere in the answer by number")
    st, own = h.get("/api/v1/tickets/" + uuid)
    T.eq((st, own.get("uuid"), own.get("priority_label")), (200, uuid, "残疾人优先"),
         "the holder's page by uuid has the class")
    st, staff = h.get("/api/v1/tickets/" + number, token=CLERK)
    T.eq((st, staff.get("uuid"), staff.get("priority")), (200, uuid, "disabled"),
         "staff by number see the whole ticket")
    # the public stream does not hand out a waiting ticket's uuid either
    events, stop = [], threading.Event()
    t = threading.Thread(target=sse_reader, args=(h, events, stop), daemon=True)
    t.start()
    T.check(wait_for(lambda: any(e == "status" for e, _ in events)), "SSE status snapshot")
    st, body = h.issue("A")
    n2, u2 = body["ticket"]["number"], body["ticket"]["uuid"]
    T.check(wait_for(lambda: any(e == "issue" and d["ticket"]["number"] == n2 for e, d in events)),
            "SSE issue event")
    stop.set()
    t.join(2)
    T.check(not any(u2 in json.dumps(d) for _, d in events), "no waiting ticket's uuid on the public stream")
    T.check(not any("name_masked" in json.dumps(d) for _, d in events), "no masked name on the public stream")
    st, body = h.post(f"/api/v1/tickets/{u2}/cancel", token=MANAGER)
    st, body = h.post(f"/api/v1/tickets/{uuid}/cancel", token=MANAGER)
    T.eq(st, 200, "clean up the public-view tickets")


def test_windows(h):
    st, body = h.window(1, "call-next", token=None)
    T.eq(st, 401, "window action without a token")
    st, body = h.window(1, "call-next", token="wrong-token-wrong-token")
    T.eq(st, 401, "window action with a wrong token")
    st, body = h.window(1, "call-next")
    T.eq((st, body.get("error")), (409, "state"), "call before login")
    st, body = h.window(1, "login", {"staff": "9999"})
    T.eq(st, 404, "login of an unknown clerk")
    st, body = h.window(1, "login", {"staff": "1001"})
    T.eq((st, body["window"]["state"], body["window"]["staff"]["name"]), (200, "idle", "王芳"), "login")
    st, body = h.window(1, "call-next")
    T.eq(st, 200, "call next")
    # the disabled ticket (head start) goes before A001 and A002
    T.eq(body["ticket"]["priority"], "disabled", "priority ticket called first")
    T.eq(body["window"]["state"], "calling", "window calling")
    st, body = h.window(1, "recall")
    T.eq(st, 200, "recall")
    st, body = h.window(1, "start")
    T.eq(body["window"]["state"], "serving", "start serving")
    st, body = h.window(1, "finish")
    T.eq((st, body["window"]["state"]), (200, "idle"), "finish")
    st, body = h.window(1, "rating", {"level": 1})
    T.eq(st, 200, "rating")
    st, body = h.window(1, "rating", {"level": 5})
    T.eq(st, 409, "second rating refused")
    st, body = h.window(1, "rating", {"level": 9})
    T.eq(st, 400, "rating out of range")
    with h.db() as db:
        row = db.execute("SELECT level, follow_up_state, follow_up_due IS NOT NULL FROM evaluations").fetchall()
    T.eq(row, [(1, "open", 1)], "差评 stored with an open follow-up")

    st, body = h.window(1, "call", {"number": "A002"})
    T.eq((st, body["ticket"]["number"]), (200, "A002"), "call a specific number")
    st, body = h.window(1, "park")
    T.eq(st, 200, "park")
    st, body = h.window(1, "call-back")
    T.eq((st, body["ticket"]["number"]), (200, "A002"), "call back the parked ticket")
    st, body = h.window(1, "transfer", {"service": "B", "front": True})
    T.eq(st, 200, "transfer to B")
    st, body = h.window(2, "login", {"staff": "1002"})
    st, body = h.window(2, "call-next")
    T.eq(body["ticket"]["number"], "A002", "window 2 (B first) gets the transferred ticket at the front")
    st, body = h.window(2, "no-show", {"requeue": False})
    T.eq((st, body["window"]["state"]), (200, "idle"), "no-show")
    st, body = h.window(2, "no-show")
    T.eq(st, 409, "no-show without a called ticket")
    st, body = h.window(2, "pause")
    T.eq(body["window"]["state"], "paused", "pause")
    st, body = h.window(2, "call-next")
    T.eq(st, 409, "paused window cannot call")
    st, body = h.window(2, "resume")
    T.eq(body["window"]["state"], "idle", "resume")
    st, body = h.window(2, "logout")
    T.eq(body["window"]["state"], "closed", "logout")
    st, body = h.window(2, "transfer", {})
    T.eq(st, 400, "transfer needs a target")
    st, body = h.window(99, "call-next")
    T.eq(st, 404, "unknown window")
    st, body = h.window(1, "explode")
    T.eq(st, 404, "unknown action")
    st, body = h.window(1, "call", {"number": 12})
    T.eq(st, 400, "call with a number of the wrong type")

    # cancel needs a manager
    st, body = h.issue("A")
    uuid = body["ticket"]["uuid"]
    st, _ = h.post(f"/api/v1/tickets/{uuid}/cancel", token=CLERK)
    T.eq(st, 401, "cancel with a clerk token")
    st, body = h.post(f"/api/v1/tickets/{uuid}/cancel", token=MANAGER)
    T.eq((st, body["ticket"]["status"]), (200, "cancelled"), "cancel with a manager token")

    stat = h.status()
    w1 = [w for w in stat["windows"] if w["number"] == 1][0]
    T.eq(w1["staff"]["id"], "1001", "status shows the clerk")
    a = [s for s in stat["services"] if s["code"] == "A"][0]
    T.check(a["waiting"] >= 1 and a["estimated_wait_s"] is not None, "waiting count and estimate")


def test_sse(h):
    events, stop = [], threading.Event()
    t = threading.Thread(target=sse_reader, args=(h, events, stop), daemon=True)
    t.start()
    T.check(wait_for(lambda: any(e == "status" for e, _ in events)), "SSE starts with a status snapshot")
    st, body = h.issue("A")
    number = body["ticket"]["number"]
    T.check(wait_for(lambda: any(e == "issue" and d["ticket"]["number"] == number for e, d in events)),
            "SSE issue event")
    h.window(3, "login", {"staff": "1003"})
    st, body = h.window(3, "call-next")
    called = body["ticket"]["number"]
    T.check(wait_for(lambda: any(e == "call" and d["window"]["number"] == 3 and
                                 d["ticket"]["number"] == called for e, d in events)), "SSE call event")
    stop.set()
    t.join(2)


def test_sse_closed(h):
    """A page closed on its event stream is a normal end: no error-like line in
    the log at the default level (issue 14)."""
    for linger in (False, True):  # a clean close, and a reset (a phone dropping off)
        s = socket.create_connection(("127.0.0.1", h.port))
        s.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(5)
        s.recv(65536)
        if linger:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        for _ in range(2):  # the next events find the socket gone
            h.issue("A")
            time.sleep(0.3)
    log = h.read_log()
    T.check("Failed to send" not in log and "forcibly closed" not in log,
            "a closed event stream is not logged as a failure: %r" % log[-600:])


def test_metrics(h):
    st, body = h.get("/metrics")
    text = body.decode()
    T.eq(st, 200, "metrics status")
    T.check('hallq_waiting{service="A"}' in text, "waiting gauge")
    T.check("hallq_commands_total" in text, "command counter")


def raw(h, data, read=True):
    s = socket.create_connection(("127.0.0.1", h.port), timeout=5)
    s.sendall(data)
    out = b""
    if read:
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                out += c
        except socket.timeout:
            pass
    s.close()
    return out


def test_hostile(h):
    st, body = h.request("POST", "/api/v1/tickets", raw=b"{not json",
                         headers={"Content-Type": "application/json"})
    T.eq((st, body.get("error")), (400, "invalid"), "malformed JSON")
    st, body = h.request("POST", "/api/v1/tickets", raw=b"[1,2,3]",
                         headers={"Content-Type": "application/json"})
    T.eq(st, 400, "JSON array body")
    st, body = h.request("POST", "/api/v1/tickets", raw=b"x" * 100000,
                         headers={"Content-Type": "application/json"})
    T.eq((st, body.get("error")), (413, "limit"), "oversized body")
    st, body = h.request("POST", "/api/v1/tickets", raw=b"service=A",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    T.eq(st, 415, "wrong media type")
    st, body = h.request("POST", "/api/v1/tickets", raw=b"[" * 3000 + b"]" * 3000,
                         headers={"Content-Type": "application/json"})
    T.check(st in (400, 413), f"deeply nested JSON refused ({st})")
    st, body = h.request("POST", "/api/v1/tickets", raw=b'{"service":"A\x00B"}',
                         headers={"Content-Type": "application/json"})
    T.check(st in (400, 404), f"NUL in a string refused ({st})")
    st, body = h.request("DELETE", "/api/v1/status")
    T.eq(st, 405, "DELETE refused")
    st, body = h.request("GET", "/assets/../hall.json")
    T.eq(st, 404, "path traversal")
    st, body = h.request("GET", "/assets/%2e%2e/hall.json")
    T.eq(st, 404, "encoded path traversal")
    st, body = h.request("GET", "/api/v1/windows/1/../../status")
    T.check(st in (400, 404), "dot segments in the API")
    st, body = h.request("GET", "/nothing-here")
    T.eq((st, body.get("error")), (404, "not_found"), "unknown path gives JSON 404")
    st, body = h.request("GET", "/api/v1/windows/99999999999999999999")
    T.eq(st, 404, "absurd window number")
    st, body = h.window(1, "call", {"number": "A" * 5000})
    T.check(st in (400, 413), "overlong ticket number")
    st, body = h.request("POST", "/api/v1/windows/1/login", raw=b'{"staff": "1001"}',
                         headers={"Content-Type": "application/json", "Authorization": "Bearer " + "x" * 3000})
    T.eq(st, 401, "overlong token")
    out = raw(h, b"THIS IS NOT HTTP\r\n\r\n")
    T.check(out.startswith(b"HTTP/1.1 400") or out == b"", "garbage request line")
    out = raw(h, b"GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -5\r\n\r\n")
    T.check(h.alive() and not out.startswith(b"HTTP/1.1 5"), "negative content length handled")
    out = raw(h, b"POST /api/v1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n{\"ser", read=False)
    big_header = b"GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n"
    out = raw(h, big_header)
    T.check(not out.startswith(b"HTTP/1.1 200"), "huge header refused")
    # many half-open connections do not stop real clients
    socks = []
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", h.port))
        s.sendall(b"GET /api/v1/sta")
        socks.append(s)
    st, _ = h.get("/api/v1/status")
    T.eq(st, 200, "status answers beside half-open connections")
    for s in socks:
        s.close()
    T.check(h.alive(), "hallqd survived the hostile requests")
    st, _ = h.get("/api/v1/status")
    T.eq(st, 200, "and still answers")


def main():
    with Hall() as h:
        test_tickets(h)
        test_public_view(h)
        test_windows(h)
        test_sse(h)
        test_sse_closed(h)
        test_metrics(h)
        test_hostile(h)
        rc = h.stop()
        T.eq(rc, 0, "SIGTERM stops hallqd cleanly")
        if T.failed:
            print(h.read_log())
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
