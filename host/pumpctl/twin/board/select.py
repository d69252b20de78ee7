"""`select` for the board twin: the built-in poll on real file descriptors (USB CDC = the
interpreter's stdin on a pty), with timeouts in virtual milliseconds (the virtual clock's speed);
the real time a waiting poll lasted is what moves the virtual clock (vclock.py), and the twin's
side channel is serviced on every waiting poll: the firmware's main loop never sees it.
"""
import sys

import vclock

_path = sys.path[:]
sys.path.clear()
import select as _rselect  # noqa: E402 - the built-in (path emptied: shadowing rules)
sys.path.extend(_path)

POLLIN = _rselect.POLLIN
POLLOUT = _rselect.POLLOUT
POLLERR = _rselect.POLLERR
POLLHUP = _rselect.POLLHUP

service = None  # twin_boot: service() handles side-channel commands (plant, faults)
on_hangup = None  # twin_boot: the launcher (pty master) is gone: end this orphaned twin


class _Poll:
    def __init__(self):
        self._p = _rselect.poll()

    def register(self, obj, mask=POLLIN | POLLOUT):
        self._p.register(obj, mask)

    def unregister(self, obj):
        self._p.unregister(obj)

    def modify(self, obj, mask):
        self._p.modify(obj, mask)

    def poll(self, timeout=-1):
        if timeout == 0:
            return self._p.poll(0)
        if service is not None:
            service()
        if timeout > 0:
            timeout = vclock.real_ms(timeout)
        t0 = vclock.real_ticks_us()
        res = self._p.poll(timeout)
        vclock.waited_real_us(vclock.real_ticks_diff(vclock.real_ticks_us(), t0))  # the wait is pump time
        if res and on_hangup is not None:
            for _obj, ev in res:
                if ev & POLLHUP:
                    on_hangup()
        return res

    def ipoll(self, timeout=-1, flags=0):
        return iter(self.poll(timeout))


def poll():
    return _Poll()


def select(r, w, x, timeout=None):
    return _rselect.select(r, w, x, timeout)
