"""Pico entry point: MicroPython runs this file at boot (as __main__).

    PumpRuntime(PicoHal(board, FileFlash("/pump"), wdt), build=build_info.BUILD_KIND)

behind the USB-CDC serial line: the protocol's bytes come in on sys.stdin.buffer and go
out on sys.stdout.buffer; the REPL is detached (Ctrl-C bytes are plain data). Every
`PumpLoop.step()` reads only what `select.poll` says is waiting (timeout 0), feeds it to
the runtime, calls `runtime.tick()`, services tones/LED and feeds the watchdog: it never
waits for input. `run()` repeats it every LOOP_PERIOD_MS (100 ms), waiting in between
with a bounded poll so a frame wakes it early.

Back to the REPL: fit the safe-mode jumper (boards/pico.py SAFE_MODE_PIN to GND), reset,
then `mpremote` (docs/board.md). Importing this module (tests) starts nothing.
"""
import gc
import select
import sys
import time

from boards import pico as BOARD

CRASH_FILE = "/last_crash.txt"  # read with `mpremote cat :/last_crash.txt` (safe mode)


class PumpLoop:
    """One iteration at a time, so tests can drive it with fakes."""

    def __init__(self, runtime, hal, rx, tx, poller, board=BOARD):
        self.rt = runtime
        self.hal = hal
        self.rx = rx                  # .read(1) -> bytes (sys.stdin.buffer)
        self.tx = tx                  # .write(bytes)  (sys.stdout.buffer)
        self.poller = poller          # select.poll() with rx registered for POLLIN
        self.board = board
        self.buf = bytearray(board.RX_MAX_PER_LOOP)
        self.iterations = 0
        self.rx_bytes = 0
        self._torn = False            # the last write was cut short: the line is broken
        self._rtc_offset_s = runtime.ctl.clock_offset_s

    def start(self):
        """Boot the runtime (self-test, restore) and write its first events."""
        self._write(self.rt.boot())
        self._rtc_offset_s = self.rt.ctl.clock_offset_s
        self.hal.feed_watchdog()

    def step(self):
        """One loop iteration; returns the number of input bytes handled. Never blocks.

        Input is taken up to the end of one line (or RX_MAX_PER_LOOP bytes), so one iteration
        answers at most one frame: a burst of frames never builds one big reply buffer, and the
        garbage of each reply is collected before the next (gc.collect after input): on the
        board twin, 500 queued `hello` frames with the host not reading made a 3 KB allocation
        fail on a fragmented Pico-sized heap and reset the pump (issue 9)."""
        n = 0
        buf = self.buf
        limit = len(buf)
        while n < limit and self.poller.poll(0):
            b = self.rx.read(1)
            if not b:
                break
            buf[n] = b[0]
            n += 1
            if b[0] == 10:   # end of a frame: answer it before reading the next
                break
        if n:
            self.rx_bytes += n
            self._write(self.rt.feed(bytes(buf[:n])))
            gc.collect()
        self._write(self.rt.tick())
        self._sync_rtc()
        self.hal.service()
        self.hal.feed_watchdog()
        self.iterations += 1
        return n

    def _write(self, out):
        """A host that does not drain the USB line gets writes cut short (rp2's CDC drops what
        does not fit within its TX timeout): the next frame then starts on a new line, or the
        host would read it glued to the torn one and lose it. Never waits for the host."""
        if out:
            if self._torn:
                # None (EAGAIN: nothing written, unix/twin) and 0 (rp2 CDC timeout) both mean
                # the newline did not go out
                self._torn = not self.tx.write(b"\n")
                if self._torn:
                    return            # still not draining: this frame is dropped whole
            n = self.tx.write(out)
            if n is not None and 0 < n < len(out):
                self._torn = True

    def _sync_rtc(self):
        """A host time sync (time_set) or sim_warp moves the controller's clock offset:
        carry the new pump time into the RTC so it survives a soft reset."""
        ctl = self.rt.ctl
        if ctl.clock_set and ctl.clock_offset_s != self._rtc_offset_s:
            self._rtc_offset_s = ctl.clock_offset_s
            self.hal.set_rtc_s(self.hal.monotonic_s() + ctl.clock_offset_s)

    def run(self, iterations=-1):
        """Step every LOOP_PERIOD_MS; between steps wait on the poller at most the rest of
        the period (input wakes it early). iterations < 0: forever."""
        period = self.board.LOOP_PERIOD_MS
        while iterations != 0:
            t0 = time.ticks_ms()
            self.step()
            left = period - time.ticks_diff(time.ticks_ms(), t0)
            if left > 0:
                self.poller.poll(left)
            if iterations > 0:
                iterations -= 1


def serial_number(uid):
    """'PICO' + the last 4 bytes of the RP2040 flash unique id, as 8 upper-case hex digits."""
    return "PICO" + "".join("%02X" % x for x in bytes(uid)[-4:])


def make_loop(board=BOARD):
    """Wire the real board: HAL, watchdog, littlefs store, runtime, USB-CDC streams."""
    import build_info
    import hal_pico
    from flash import FileFlash
    from runtime import PumpRuntime

    from compat import gc_threshold

    gc_threshold(board.GC_THRESHOLD_BYTES)
    wdt = hal_pico.make_watchdog(board)
    hal = hal_pico.PicoHal(board, FileFlash("/pump"), wdt)
    rt = PumpRuntime(hal, serial=serial_number(hal_pico.unique_id()), build=build_info.BUILD_KIND)
    hal_pico.detach_repl()          # Ctrl-C (0x03) is data from now on
    rx = sys.stdin.buffer
    poller = select.poll()
    poller.register(rx, select.POLLIN)
    return PumpLoop(rt, hal, rx, sys.stdout.buffer, poller, board)


def main(board=BOARD):
    import hal_pico
    from flash import PowerLoss

    if hal_pico.safe_mode_requested(board):
        print("pump: safe-mode jumper fitted - not started; REPL stays on USB")
        return None
    loop = make_loop(board)
    try:
        loop.start()
        loop.run()
    except PowerLoss:
        # test builds: sim_fault power_loss tore a flash write; die like a power cut
        hal_pico.reset()
    except Exception as e:
        # a firmware bug: keep the traceback on flash (the serial line is the protocol's)
        # and restart; therapy resumes from the persisted state after boot.
        with open(CRASH_FILE, "w") as f:
            sys.print_exception(e, f)
        hal_pico.reset()


if __name__ == "__main__":
    main()
