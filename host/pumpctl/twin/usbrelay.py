"""The board twin's USB CDC line, host side: a pty whose slave is the interpreter's stdin/stdout,
relayed to the endpoints a host tool opens (a second pty, printed as `pty: /dev/pts/N`, and TCP).

What it models, and why (rp2 + TinyUSB + Linux cdc-acm):
* device -> host: bytes the firmware wrote are never torn by the line itself. A reader that does
  not keep up has its backlog queued; past OUT_CAP the oldest *whole lines* are dropped (a tool
  that opens the port late gets whole frames, as from a re-enumerated CDC port). Tearing a line in
  the relay would glue the torn piece to the next reply and lose that reply, which the firmware
  cannot see or repair.
* host -> device: USB NAKs when the device does not read; here the relay stops reading its
  clients while IN_CAP bytes wait for the twin (backpressure, nothing dropped).
* `hold` = a USB host that stops reading: the twin's side is not drained, its pty fills and the
  firmware's writes come back short (rp2 drops what does not fit within its CDC TX timeout). The
  firmware must then start its next frame on a new line (main.py `_write`).
The endpoints survive twin restarts (a real board's port re-enumerates; the host keeps its fd).
"""
import os
import selectors
import socket
import threading
import tty

OUT_CAP = 64 * 1024   # backlog kept for one endpoint that does not read
IN_CAP = 64 * 1024    # host bytes waiting for the twin before the relay stops reading hosts
_READ = selectors.EVENT_READ
_WRITE = selectors.EVENT_WRITE


class _Endpoint:
    def __init__(self, name, sock=None):
        self.name = name
        self.sock = sock          # None: the user-facing pty master (its fd is the key)
        self.out = bytearray()    # bytes from the twin not yet taken by this endpoint
        self.dropped = 0


def queue_whole_lines(out, data, cap=OUT_CAP):
    """Append data to an endpoint's backlog; beyond cap drop whole lines from the middle: the
    first line (perhaps partly sent) stays whole, the kept tail starts at a line start.
    Returns the number of bytes dropped."""
    out += data
    if len(out) <= cap:
        return 0
    head = out.find(b"\n") + 1
    cut = out.rfind(b"\n", 0, len(out) - cap // 2) + 1
    if head == 0 or cut <= head:
        # no line structure at all (not pump frames): keep the newest half
        cut, head = len(out) - cap // 2, 0
    del out[head:cut]
    return cut - head


class UsbRelay:
    def __init__(self, pty=True, tcp=True, host="127.0.0.1", port=0):
        m, s = os.openpty()
        tty.setraw(s)
        os.set_blocking(m, False)
        # The twin's stdin/stdout share this non-blocking description: a write to a host that does
        # not read comes back short or with EAGAIN (rp2's CDC TX timeout) instead of blocking the
        # firmware's loop forever.
        os.set_blocking(s, False)
        self.twin_master, self.twin_slave = m, s
        self.hold = False
        self.pty_path = self.tcp_url = None
        self._to_twin = bytearray()
        self._eps = {}
        self._listen = None
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._masks = {}
        self._stop = threading.Event()
        self._thread = None
        if pty:
            um, us = os.openpty()
            tty.setraw(us)
            os.set_blocking(um, False)
            self._user = (um, us)
            self.pty_path = os.ttyname(us)
            self._eps[um] = _Endpoint("pty")
        if tcp:
            ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind((host, port))
            ls.listen(8)
            ls.setblocking(False)
            self._listen = ls
            self.tcp_url = "socket://%s:%d" % ls.getsockname()[:2]

    def start(self):
        self._thread = threading.Thread(target=self._run, name="twin-usb", daemon=True)
        self._thread.start()
        return self

    def set_hold(self, hold):
        self.hold = bool(hold)
        self._wake()

    def dropped(self):
        """Bytes dropped (whole lines) per endpoint because it did not read."""
        return {ep.name: ep.dropped for ep in self._eps.values()}

    def close(self):
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(5)
        for ep in self._eps.values():
            if ep.sock is not None:
                ep.sock.close()
        self._eps.clear()
        if self._listen is not None:
            self._listen.close()
        fds = [self.twin_master, self.twin_slave, self._wake_r, self._wake_w] + list(getattr(self, "_user", ()))
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._sel.close()

    def _wake(self):
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    # ---- the loop ------------------------------------------------------------------------------
    def _want(self, fd, mask, data):
        old = self._masks.get(fd, 0)
        if mask == old:
            return
        if not mask:
            self._sel.unregister(fd)
            del self._masks[fd]
        elif not old:
            self._sel.register(fd, mask, data)
            self._masks[fd] = mask
        else:
            self._sel.modify(fd, mask, data)
            self._masks[fd] = mask

    def _update(self):
        self._want(self._wake_r, _READ, "wake")
        if self._listen is not None:
            self._want(self._listen.fileno(), _READ, "listen")
        self._want(self.twin_master, (0 if self.hold else _READ) | (_WRITE if self._to_twin else 0), "twin")
        take = _READ if len(self._to_twin) < IN_CAP else 0
        for fd, ep in self._eps.items():
            self._want(fd, take | (_WRITE if ep.out else 0), "ep")

    def _run(self):
        while not self._stop.is_set():
            self._update()
            try:
                events = self._sel.select(0.5)
            except (OSError, ValueError):
                return
            for key, mask in events:
                if key.data == "wake":
                    try:
                        os.read(self._wake_r, 4096)
                    except OSError:
                        pass
                elif key.data == "listen":
                    self._accept()
                elif key.data == "twin":
                    if mask & _WRITE:
                        self._to_device()
                    if mask & _READ and not self.hold:
                        self._from_device()
                elif key.fd in self._eps:
                    if mask & _WRITE:
                        self._flush(key.fd)
                    if mask & _READ and key.fd in self._eps:
                        self._from_host(key.fd)

    def _accept(self):
        try:
            sock, addr = self._listen.accept()
        except OSError:
            return
        sock.setblocking(False)
        self._eps[sock.fileno()] = _Endpoint("tcp %s:%d" % addr[:2], sock)

    def _drop(self, fd):
        ep = self._eps.pop(fd)
        self._want(fd, 0, None)
        if ep.sock is not None:
            ep.sock.close()

    def _from_device(self):
        try:
            data = os.read(self.twin_master, 65536)
        except OSError:
            return
        for fd, ep in list(self._eps.items()):
            ep.dropped += queue_whole_lines(ep.out, data)
            self._flush(fd)

    def _to_device(self):
        try:
            n = os.write(self.twin_master, self._to_twin)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            n = len(self._to_twin)   # the twin is gone (restarting): its input is lost, as on silicon
        del self._to_twin[:n]

    def _flush(self, fd):
        ep = self._eps[fd]
        if not ep.out:
            return
        try:
            n = ep.sock.send(ep.out) if ep.sock is not None else os.write(fd, ep.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            if ep.sock is not None:
                self._drop(fd)
            else:
                ep.out.clear()
            return
        del ep.out[:n]

    def _from_host(self, fd):
        ep = self._eps[fd]
        try:
            data = ep.sock.recv(65536) if ep.sock is not None else os.read(fd, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b"" if ep.sock is not None else None
        if data is None:
            return
        if not data:
            if ep.sock is not None:
                self._drop(fd)
            return
        self._to_twin += data
        self._to_device()
