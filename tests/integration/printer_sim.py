"""printer_sim.py — start and drive hallq's network ticket printer simulator.

Used by the printing integration tests: starts the simulator on a free port
with a control FIFO, waits for it to listen, and switches its state
(paper, cover, online) with confirmation from its stdout.
"""
import os
import queue
import socket
import subprocess
import threading
import time

from hallq import stop_process


class PrinterSim:
    def __init__(self, binary, out_dir, width=80, status_pty=None):
        """binary: the hallq-sim program (its `printer` device is started); status_pty: a path
        where the printer's serial status port (a pty) is linked too."""
        self.out_dir = out_dir
        self.fifo = os.path.join(out_dir, "control.fifo")
        os.makedirs(out_dir, exist_ok=True)
        self.proc = subprocess.Popen(
            [binary, "printer", "--out", out_dir, "--port", "0", "--width", str(width), "--control",
             self.fifo] + (["--status-pty", status_pty] if status_pty else []),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=None, text=True)
        self.lines = queue.Queue()
        first = self.proc.stdout.readline()
        if not first.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError("simulator did not start: %r" % first)
        self.port = int(first.rsplit(":", 1)[1])
        threading.Thread(target=self._reader, daemon=True).start()
        deadline = time.time() + 5
        while not os.path.exists(self.fifo) and time.time() < deadline:
            time.sleep(0.05)

    def _reader(self):
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def command(self, cmd, timeout=5):
        """Send one control command and wait for the simulator's state line."""
        with open(self.fifo, "w") as f:
            f.write(cmd + "\n")
        line = self.lines.get(timeout=timeout)
        if not line.startswith("state "):
            raise RuntimeError("unexpected simulator output %r" % line)
        return line

    def ticket_path(self, n, ext="json"):
        return os.path.join(self.out_dir, "ticket-%d.%s" % (n, ext))

    def count(self):
        """How many tickets the simulator has decoded so far."""
        n = 0
        while os.path.exists(self.ticket_path(n + 1)):
            n += 1
        return n

    def wait_ticket(self, n, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(self.ticket_path(n)):
                return True
            time.sleep(0.05)
        return False

    def status(self, n, timeout=1.0):
        """Ask DLE EOT n on a fresh connection; None if no answer or refused."""
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        except OSError:
            return None
        with s:
            s.sendall(bytes([0x10, 0x04, n]))
            try:
                b = s.recv(1)
            except socket.timeout:
                return None
            return b[0] if b else None

    def stop(self):
        stop_process(self.proc)
