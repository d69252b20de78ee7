"""Pump emulator: the firmware behind a real (virtual) serial port and a TCP socket.

``pumpctl emulate`` (issue 3, "Emulator") runs ``firmware/runtime.py``'s ``PumpRuntime``
over the simulated HAL and serves it on

* a pty (``os.openpty`` in raw mode; the slave path is printed as ``pty: /dev/pts/N``) and
* TCP (printed as ``tcp: socket://127.0.0.1:PORT``; ``--port 0`` picks a free port).

One selector loop: each client's bytes are cut into complete lines by its own assembler
(issue 8: a partial line of one client never reaches the firmware, so it cannot mix with
another client's frames; an over-long line is answered E_FRAME_OVERSIZE to that client
alone); clients are served in turn, one line each per pass, and a client with replies
unread or lines queued is not read further (so a flood from a reader that never reads
cannot delay the others beyond the 2 s reply bound); replies go back to the asking
client, pushed event frames (``{"ev":...}``) go to every client. ``runtime.tick()`` runs when ``runtime.next_due_s()`` is reached on the virtual
clock (vclock.py) and at least once per real second. ``--runtime micropython`` swaps the
in-process backend for the same firmware under MicroPython (mpy_runtime.py).
"""
import argparse
import datetime
import os
import random
import selectors
import signal
import socket
import sys
import threading
import time
import tty

from pumpctl import fwpath
from pumpctl.emulator.backend import is_event, line_noise, make_backend
from pumpctl.emulator.rtc import PUMP_EPOCH_UNIX, rtc_start, save_clock
from pumpctl.emulator.statelock import StateBusy, lock_state  # noqa: F401  (StateBusy: cli/main.py)
from pumpctl.emulator.vclock import VClock

fwpath.ensure()
import protocol  # noqa: E402  (the firmware's framing module: MAX_LINE, the oversize reply)

TICK_MAX_REAL_S = 1.0  # brief: tick "at least every second"
OUT_CAP = 256 * 1024  # bytes queued per TCP client before we drop (a stalled reader)
PTY_OUT_CAP = 32 * 1024  # the pty has no reader while nobody is attached: keep few stale events
CLOCK_SAVE_REAL_S = 10.0
_SYSRAND = random.SystemRandom()
MAX_PENDING_LINES = 16  # complete lines queued per client before we stop reading it
READ_OUT_CAP = 16 * 1024  # unread reply bytes above which a client's requests wait (backpressure)


def add_arguments(parser):
    """Emulator options, for ``pumpctl emulate`` and ``python -m pumpctl.emulator``."""
    parser.add_argument("--state", metavar="DIR",
                        help="keep the emulated flash in DIR (survives restarts, kill -9 too; one running "
                             "emulator per DIR)")
    parser.add_argument("--model", type=int, choices=(20, 40), default=20, help="reservoir model, mL")
    parser.add_argument("--build", choices=("test", "clinical"), default="test", help="firmware build kind")
    parser.add_argument("--serial", default="EMU00001", help="pump serial number")
    parser.add_argument("--speed", type=float, default=1, help="virtual clock speed (pump s per real s)")
    parser.add_argument("--host", default="127.0.0.1", help="TCP listen address")
    parser.add_argument("--port", type=int, default=0, help="TCP port (0: a free one)")
    parser.add_argument("--no-tcp", action="store_true", help="serve the pty only")
    parser.add_argument("--no-pty", action="store_true", help="serve TCP only")
    parser.add_argument("--runtime", choices=("cpython", "micropython", "twin"), default="cpython",
                        help="twin: the flashed Pico image on native MicroPython with a pump plant (docs/board.md); "
                             "the plant's reservoir starts empty: tell it about each refill through DIR/ctl.fifo "
                             "(printed at start), or delivery stalls (motor_stall)")
    parser.add_argument("--noise-rate", type=int, default=0, metavar="PPM",
                        help="serial line noise: bit flips per million bytes, both directions")
    parser.add_argument("--seed", type=int, default=None, help="seed for SimHal randomness and line noise")
    parser.add_argument("--trace", action="store_true", help="log every frame in and out")
    parser.add_argument("--firmware-dir", default=None, help=argparse.SUPPRESS)  # tests: stub firmware
    return parser


def _pump_iso(t_s):
    return datetime.datetime.fromtimestamp(PUMP_EPOCH_UNIX + t_s, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


class _Client:
    def __init__(self, name, fd=None, sock=None):
        self.name = name
        self.fd = fd
        self.sock = sock
        self.inbuf = bytearray()  # this client's partial line (its own assembler: issue 8)
        self.lines = []  # complete lines waiting for their turn
        self.discarding = False  # inside an over-long line: drop up to the next newline
        self.outbuf = bytearray()
        self.dropped = 0

    def take_lines(self, data):
        """Append `data`; queue each complete line (with its newline). Returns the number of
        over-long lines (each longer than the firmware's MAX_LINE) seen and discarded."""
        over = 0
        limit = protocol.MAX_LINE - 1  # bytes allowed before the newline, as the firmware's Decoder
        start = 0
        while start < len(data):
            nl = data.find(b"\n", start)
            end = len(data) if nl < 0 else nl
            if self.discarding:
                self.discarding = nl < 0
            elif len(self.inbuf) + end - start > limit:
                over += 1
                self.inbuf = bytearray()
                self.discarding = nl < 0
            elif nl < 0:
                self.inbuf += data[start:end]
            else:
                self.lines.append(bytes(self.inbuf) + data[start:nl + 1])
                self.inbuf = bytearray()
            start = end + 1
        return over

    def fileno(self):
        return self.sock.fileno() if self.sock is not None else self.fd


class Emulator:
    """``Emulator(**options).start()`` serves in a thread; ``serve_forever()`` in the caller's.

    Options are add_arguments()' dests: state, model, build, serial, speed, host, port,
    no_tcp, no_pty, runtime, noise_rate, seed, trace, firmware_dir; plus ``log`` (a text
    stream, default stderr) and ``backend_factory`` (tests).
    """

    def __init__(self, **opts):
        defaults = vars(add_arguments(argparse.ArgumentParser()).parse_args([]))
        unknown = set(opts) - set(defaults) - {"log", "backend_factory", "out"}
        if unknown:
            raise TypeError("unknown emulator options: %s" % ", ".join(sorted(unknown)))
        defaults.update(opts)
        self.opts = defaults
        self.log_stream = defaults.get("log") or sys.stderr
        self.out_stream = defaults.get("out") or sys.stdout
        self.pty_path = None
        self.tcp_url = None
        self.backend = None
        self.clock = VClock(speed=self.opts["speed"])
        self.rng = random.Random(self.opts["seed"])
        self._sel = None
        self._clients = {}
        self._pty = None
        self._pty_slave = None
        self._listen = None
        self._wake_r, self._wake_w = None, None
        self._stop = threading.Event()
        self._thread = None
        self._error = None
        self._state_lock = None

    # ---- logging -------------------------------------------------------------------
    def log(self, msg, pump_t=None, src="emu"):
        """One stderr line, stamped with pump time: ``<ISO UTC> t_s=<pump s> <src>: <msg>``."""
        if pump_t is None:
            pump_t = self.backend.pump_now if self.backend is not None else 0
        self.log_stream.write("%s t_s=%d %s: %s\n" % (_pump_iso(pump_t), pump_t, src, msg))
        self.log_stream.flush()

    def _drain_notes(self):
        # SimHal outputs (buzzer tones, LED changes) and power-loss reboots, in pump time.
        for _mono, pump_t, kind, value in self.backend.take_notes():
            self.log("%s %s" % (kind, value), pump_t, src="pump")

    # ---- lifecycle -----------------------------------------------------------------
    def open(self):
        """Boot the pump and open the pty/TCP endpoints (prints their addresses)."""
        factory = self.opts.get("backend_factory") or make_backend
        self.opts["_seed"] = self.opts["seed"] if self.opts["seed"] is not None else _SYSRAND.randrange(1, 1 << 30)
        if self.opts["state"] and self._state_lock is None:
            self._state_lock = lock_state(self.opts["state"])
        self.opts["_start_t_s"] = rtc_start(self.opts["state"])
        self.backend = factory(self.opts)
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        if not self.opts["no_pty"]:
            master, slave = os.openpty()
            tty.setraw(slave)
            os.set_blocking(master, False)
            self._pty, self._pty_slave = master, slave  # we hold the slave: clients may come and go
            self.pty_path = os.ttyname(slave)
            c = _Client("pty", fd=master)
            self._clients[master] = c
            self._sel.register(master, selectors.EVENT_READ, c)
        if not self.opts["no_tcp"]:
            ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind((self.opts["host"], self.opts["port"]))
            ls.listen(8)
            ls.setblocking(False)
            self._listen = ls
            self.tcp_url = "socket://%s:%d" % ls.getsockname()[:2]
            self._sel.register(ls, selectors.EVENT_READ, "listen")
        out = self.backend.boot(self.clock.now_s())
        self._drain_notes()
        self.log("booted %s runtime, model %s, %s build, serial %s, speed x%g%s" % (
            self.backend.name, self.opts["model"], self.opts["build"], self.opts["serial"], self.opts["speed"],
            ", state " + self.opts["state"] if self.opts["state"] else ""))
        self._route(None, out)
        if self.pty_path:
            self.out_stream.write("pty: %s\n" % self.pty_path)
        if self.tcp_url:
            self.out_stream.write("tcp: %s\n" % self.tcp_url)
        self.out_stream.flush()
        return self

    def start(self):
        """Open and serve in a background thread; returns self (pty_path/tcp_url set)."""
        self.open()
        self._thread = threading.Thread(target=self._run_guarded, name="pump-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout=5.0):
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        else:
            self.close()

    def serve_forever(self):
        """Serve in the calling thread until stop() or SIGINT/SIGTERM (main thread only)."""
        if self._sel is None:
            self.open()
        old = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                old[sig] = signal.signal(sig, lambda *_: (self._stop.set(), self._wake()))
        try:
            self._run_guarded()
        finally:
            for sig, h in old.items():
                signal.signal(sig, h)
        if self._error is not None:
            raise self._error

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _wake(self):
        try:
            os.write(self._wake_w, b"x")
        except (OSError, TypeError):  # closed already / never opened
            pass

    def _run_guarded(self):
        try:
            self._loop()
        except BaseException as e:  # report, then release everything
            self._error = e
            self.log("stopped on error: %r" % (e,))
        finally:
            self.close()

    def close(self):
        """Release pty, sockets and the backend (idempotent)."""
        sel, self._sel = self._sel, None
        if sel is not None:
            sel.close()
        for c in list(self._clients.values()):
            if c.sock is not None:
                c.sock.close()
        self._clients.clear()
        for fd in (self._pty, self._pty_slave, self._wake_r, self._wake_w):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._pty = self._pty_slave = self._wake_r = self._wake_w = None
        if self._listen is not None:
            self._listen.close()
            self._listen = None
        if self.backend is not None:
            try:
                save_clock(self.opts["state"], self.backend.pump_now)
            finally:
                self.backend.close()
            self.log("stopped")
            self.backend = None
        if self._state_lock is not None:
            os.close(self._state_lock)   # closing the fd releases the flock
            self._state_lock = None

    # ---- the loop ------------------------------------------------------------------
    def _loop(self):
        last_tick = time.monotonic()
        last_tick_mono = self.clock.now_s()
        last_save = last_tick
        while not self._stop.is_set():
            # Never busy-loop: the HAL clock has whole seconds, so a due time at or before the
            # last tick's second waits for the next second.
            due = max(self.backend.next_due_mono, last_tick_mono + 1)
            wait = min(self.clock.real_delay_until(due),
                       max(0.0, last_tick + TICK_MAX_REAL_S - time.monotonic()))
            if any(c.lines for c in self._clients.values()):
                wait = 0.0
            for key, mask in self._sel.select(wait):
                if key.data == "wake":
                    try:
                        os.read(self._wake_r, 4096)
                    except OSError:
                        pass
                elif key.data == "listen":
                    self._accept()
                else:
                    if mask & selectors.EVENT_READ:
                        self._read(key.data)
                    if mask & selectors.EVENT_WRITE and key.data.fileno() in self._clients:
                        self._flush(key.data)
            self._serve_one_line_each()
            now = self.clock.now_s()
            if now >= due or time.monotonic() - last_tick >= TICK_MAX_REAL_S:
                last_tick = time.monotonic()
                last_tick_mono = now
                if last_tick - last_save >= CLOCK_SAVE_REAL_S:
                    last_save = last_tick
                    save_clock(self.opts["state"], self.backend.pump_now)
                self._route(None, self.backend.tick(now))
                self._drain_notes()

    def _accept(self):
        try:
            sock, addr = self._listen.accept()
        except OSError:
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c = _Client("tcp %s:%d" % addr[:2], sock=sock)
        self._clients[sock.fileno()] = c
        self._sel.register(sock, selectors.EVENT_READ, c)
        self.log("client connected: %s" % c.name)

    def _drop(self, c, why):
        fd = c.fileno()
        self._clients.pop(fd, None)
        try:
            self._sel.unregister(fd)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        self.log("client disconnected: %s (%s)" % (c.name, why))

    def _read(self, c):
        try:
            data = c.sock.recv(65536) if c.sock is not None else os.read(c.fd, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            if c.sock is not None:
                self._drop(c, e.strerror)
            return  # pty: EIO cannot happen while we hold the slave open
        if not data:
            if c.sock is not None:
                self._drop(c, "closed")
            return
        data = self._noise(data)
        for _ in range(c.take_lines(data)):
            # The firmware's own reply to an over-long line (protocol.Decoder), to this client only.
            self._send(c, protocol.encode(protocol.reply_err(
                None, "E_FRAME_OVERSIZE", "line over %d bytes" % protocol.MAX_LINE)))
        self._interest(c)

    def _serve_one_line_each(self):
        """One queued line per client, in turn: nobody's backlog delays anybody else's reply."""
        for c in list(self._clients.values()):
            if not c.lines or c.fileno() not in self._clients:
                continue
            line = c.lines.pop(0)
            if self.opts["trace"]:
                self.log("%s > %r" % (c.name, line))
            out = self.backend.feed(self.clock.now_s(), line)
            self._route(c, out)
            self._drain_notes()
            self._interest(c)

    def _interest(self, c):
        """Read a client only while it has room: few lines queued, its replies being read."""
        if self._clients.get(c.fileno()) is not c:   # dropped (closed socket: fileno -1)
            return
        events = selectors.EVENT_WRITE if c.outbuf else 0
        if len(c.lines) < MAX_PENDING_LINES and len(c.outbuf) < READ_OUT_CAP:
            events |= selectors.EVENT_READ
        try:
            if events:
                self._sel.modify(c.fileno(), events, c)
            else:
                self._sel.unregister(c.fileno())   # parked until its queue drains
        except KeyError:
            if events:   # parked earlier: back into the selector
                self._sel.register(c.fileno(), events, c)
        except ValueError:
            pass

    def _route(self, client, out):
        """Replies to ``client``; event frames (and everything if client is None) to all."""
        if not out:
            return
        if client is None:
            for c in list(self._clients.values()):
                self._send(c, out)
            return
        mine, events = [], []
        for line in out.splitlines(keepends=True):
            (events if is_event(line) else mine).append(line)
        if mine:
            self._send(client, b"".join(mine))
        if events:
            ev = b"".join(events)
            for c in list(self._clients.values()):
                self._send(c, ev)

    def _send(self, c, data):
        if self.opts["trace"]:
            self.log("%s < %r" % (c.name, data))
        data = self._noise(data)
        if len(c.outbuf) + len(data) > (OUT_CAP if c.sock is not None else PTY_OUT_CAP):
            c.dropped += len(data)
            if c.dropped == len(data):
                self.log("%s: reader stalled, dropping output" % c.name)
            return
        c.outbuf += data
        self._flush(c)

    def _flush(self, c):
        while c.outbuf:
            try:
                n = c.sock.send(c.outbuf) if c.sock is not None else os.write(c.fd, c.outbuf)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as e:
                if c.sock is not None:
                    self._drop(c, e.strerror)
                else:
                    c.outbuf.clear()
                return
            del c.outbuf[:n]
        self._interest(c)
        if not c.outbuf:
            c.dropped = 0

    def _noise(self, data):
        return line_noise(self.rng, data, max(self.opts["noise_rate"] or 0, self.backend.noise_ppm or 0))


def run_emulator(args=None, **kwargs):
    """CLI entry: ``args`` is an argparse Namespace (from add_arguments) or None; serves until signalled."""
    opts = dict(vars(args)) if args is not None else {}
    opts.update(kwargs)
    defaults = vars(add_arguments(argparse.ArgumentParser()).parse_args([]))
    opts = {k: v for k, v in opts.items() if k in defaults or k in ("log", "backend_factory", "out")}
    if opts.get("runtime") == "twin":
        from pumpctl.twin.launcher import serve

        return serve(opts, opts.get("out"))
    emu = Emulator(**opts)
    emu.serve_forever()
    return 0


def main(argv=None):
    p = add_arguments(argparse.ArgumentParser(prog="pumpctl emulate", description=__doc__.split("\n")[0]))
    return run_emulator(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
