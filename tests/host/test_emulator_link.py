"""Issue 8, defect 9: the emulator's link with several TCP clients, on both runtimes.

Each connection has its own line assembly (one client's partial line never mixes with another
client's frames); only the session holder or a new successful login ends a session; a client
that floods requests and reads nothing does not delay the others beyond the 2 s reply bound.
Expectations come from the protocol's rules (docs/protocol.md), not from the emulator."""
import io
import socket
import threading
import time

import pytest
from emu_helpers import need_mpy, open_port, read_until, request

import auth
import protocol
from pumpctl.client import PumpClient, PumpReplyError
from pumpctl.emulator import Emulator

RUNTIMES = ["cpython", pytest.param("micropython", marks=need_mpy)]
REPLY_BOUND_S = 2.0   # docs/protocol.md: a reply within 2 s


def _emu(runtime, serial="EMU-L1"):
    return Emulator(log=io.StringIO(), out=io.StringIO(), serial=serial, runtime=runtime, seed=3, no_pty=True)


@pytest.mark.req("EMU-LINK-PER-CLIENT")
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_partial_line_of_one_client_does_not_break_another_clients_frames(runtime):
    with _emu(runtime) as emu:
        a = open_port(emu.tcp_url)
        b = open_port(emu.tcp_url)
        try:
            assert request(b, "hello", timeout=30)["ok"]
            # A frame longer than 4 KiB but inside the 8 KiB line limit, sent in two parts.
            big = protocol.encode({"id": 9001, "cmd": "hello", "args": {"pad": "x" * 6000}})
            a.write(big[:5000])
            a.flush()
            time.sleep(0.3)
            for _ in range(5):
                r = request(b, "hello", timeout=10)
                assert r["ok"], r
            a.write(big[5000:])
            ra = read_until(a, lambda o: o.get("id") is not None or o.get("ok") is False, timeout=10)
            # A's frame arrives whole: refused for its argument (hello takes none), not for framing
            assert ra.get("id") == 9001 and ra["err"]["code"] == "E_BAD_ARGS", ra
            # over the line limit: this client gets E_FRAME_OVERSIZE, the other is untouched
            a.write(b"y" * 9000)
            a.flush()
            time.sleep(0.2)
            assert request(b, "hello")["ok"]
            a.write(b"\n")
            ro = read_until(a, lambda o: o.get("ok") is False)
            assert ro["err"]["code"] == "E_FRAME_OVERSIZE", ro
            assert request(a, "hello")["ok"]
        finally:
            a.close()
            b.close()


@pytest.mark.req("AUTH-SESSION-OWNER")
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_another_unauthenticated_client_cannot_end_a_session(runtime):
    with _emu(runtime, "EMU-L2") as emu:
        holder = PumpClient(emu.tcp_url, timeout_s=30)
        other = open_port(emu.tcp_url)
        try:
            holder.hello()
            holder.login("service", auth.dev_service_key("EMU-L2"))
            assert holder.request("sim_warp", {"seconds": 60})["t_s"] > 0
            # the intruder has no key: logout, a new challenge, a wrong answer
            assert request(other, "logout")["ok"]
            ch = request(other, "auth_begin", {"role": "service"})
            assert ch["ok"], ch
            bad = request(other, "auth", {"role": "service", "mac": "00" * 32})
            assert bad["err"]["code"] == "E_AUTH_BAD_MAC", bad
            # the holder's session is untouched
            assert holder.request("sim_warp", {"seconds": 60})["t_s"] > 0
            holder.logout()
            with pytest.raises(PumpReplyError) as e:
                holder.request("sim_warp", {"seconds": 60})
            assert e.value.code == "E_AUTH_REQUIRED"
        finally:
            other.close()
            holder.close()


def _flood(url, stop, sent):
    # Writes status requests as fast as the emulator takes them and never reads a reply.
    host, port = url[len("socket://"):].rsplit(":", 1)
    s = socket.create_connection((host, int(port)))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(0.2)
    chunk = b"".join(protocol.encode({"id": i, "cmd": "status", "args": {}}) for i in range(1, 201))
    try:
        while not stop.is_set():
            try:
                s.sendall(chunk)
                sent[0] += 200
            except socket.timeout:
                pass   # the emulator stopped reading us: backpressure, as intended
    finally:
        s.close()


@pytest.mark.req("EMU-LINK-PER-CLIENT")
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_flooding_slow_reader_does_not_delay_other_clients(runtime):
    with _emu(runtime, "EMU-L3") as emu:
        b = open_port(emu.tcp_url)
        assert request(b, "hello", timeout=30)["ok"]
        stop, sent = threading.Event(), [0]
        t = threading.Thread(target=_flood, args=(emu.tcp_url, stop, sent), daemon=True)
        t.start()
        try:
            time.sleep(1.0)
            rtts = []
            for _ in range(5):
                t0 = time.monotonic()
                assert request(b, "hello", timeout=30)["ok"]
                rtts.append(time.monotonic() - t0)
            print("\n[%s] hello round trips while another client floods (%d frames sent): max %.3f s"
                  % (runtime, sent[0], max(rtts)))
            assert max(rtts) < REPLY_BOUND_S, rtts
        finally:
            stop.set()
            t.join(5)
            b.close()
