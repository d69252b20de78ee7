"""Self-tests of the HIL plugin's target handling (no pump scenario; emulator targets only).

The board code path (BoardTarget: a port or pyserial URL) is proven against the emulator
reached over TCP: ``socket://`` directly and ``rfc2217://`` through pyserial's RFC 2217
port manager, the protocol ser2net speaks for remote rigs (docs/hil.md).
"""
import io
import socket
import threading

import pytest

import conftest
import dut as dutmod


@pytest.fixture
def emu_only(hil_target):
    if hil_target[0] not in ("emu", "mpy"):
        pytest.skip("plugin self-test: runs on the emulator targets only")
    return hil_target[0]


@pytest.fixture
def emulator(emu_only, tmp_path):
    from pumpctl.emulator.server import Emulator

    emu = Emulator(log=io.StringIO(), out=io.StringIO(), state=str(tmp_path / "flash"), serial="HILRIG01",
                   runtime="cpython" if emu_only == "emu" else "micropython").start()
    yield emu
    emu.stop()


class _Conn:
    """PortManager writes its telnet negotiation to connection.write()."""

    def __init__(self, sock):
        self.sock = sock

    def write(self, data):
        self.sock.sendall(data)


class _LineSettings:
    """What PortManager configures on the serial side (baud, framing, modem lines); the bytes
    themselves go to the emulator's TCP port, as ser2net would pass them to a USB-serial device."""

    baudrate, bytesize, parity, stopbits = 115200, 8, "N", 1
    rts = dtr = True
    cts = dsr = ri = cd = False
    break_condition = False

    def reset_input_buffer(self):
        pass

    def reset_output_buffer(self):
        pass


class Rfc2217Bridge:
    """A one-connection RFC 2217 server (the role of ser2net on a rig host) in front of a pump."""

    def __init__(self, pump_tcp_url):
        import serial.rfc2217

        host, port = pump_tcp_url[len("socket://"):].rsplit(":", 1)
        self.pump = socket.create_connection((host, int(port)))
        self.pump.settimeout(0.05)
        self.listen = socket.create_server(("127.0.0.1", 0))
        self.url = "rfc2217://127.0.0.1:%d" % self.listen.getsockname()[1]
        self._stop = threading.Event()
        self._mod = serial.rfc2217
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        try:
            conn, _ = self.listen.accept()
        except OSError:
            return
        conn.settimeout(0.05)
        pm = self._mod.PortManager(_LineSettings(), _Conn(conn))
        threading.Thread(target=self._to_net, args=(conn, pm), daemon=True).start()
        while not self._stop.is_set():
            try:
                data = conn.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data:
                break
            self.pump.sendall(b"".join(pm.filter(data)))
        conn.close()

    def _to_net(self, conn, pm):
        while not self._stop.is_set():
            try:
                data = self.pump.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            try:
                conn.sendall(b"".join(pm.escape(data)))
            except OSError:
                return

    def close(self):
        self._stop.set()
        self.listen.close()
        self.pump.close()


@pytest.mark.filterwarnings("ignore:set(Daemon|Name)\\(\\) is deprecated:DeprecationWarning")  # pyserial 3.5
def test_board_target_over_socket_and_rfc2217(emulator, tmp_path):
    """The board path (BoardTarget, a pyserial URL) reaches a pump over TCP and over RFC 2217."""
    bridge = Rfc2217Bridge(emulator.tcp_url)
    try:
        for url in (emulator.tcp_url, bridge.url):
            frames = dutmod.FrameLog(str(tmp_path / "frames.log"))
            d = dutmod.Dut(dutmod.BoardTarget(url), frames)
            try:
                assert d.info["serial"] == "HILRIG01" and d.port == url
                assert d.caps == {"warp", "faults", "reset"}  # test build; no power_cycle_cmd in a rig file
                d.provision_keys()
                assert d.request("time_set", {"t_s": 100000000})["t_s"] == 100000000
                if url == emulator.tcp_url:   # (the RFC 2217 bridge here serves one connection only)
                    # what the fixture does before each test on a board: reset, reconnect over the URL
                    res = d.factory_reset()
                    assert res["clock_restored"] and res["t_after"] >= 100000000, res   # SimHal RTC ignores time_set
                    assert "clinician" not in d.keys and d.status()["mode"] == "none"
            finally:
                d.close()
                frames.close()
            with open(frames.path) as f:
                assert '"cmd":"hello"' in f.read()
    finally:
        bridge.close()


def test_rig_file_and_worker_mapping(emu_only, tmp_path, monkeypatch):
    """Rig files list boards; xdist worker gwN drives rig N; auto needs exactly one Pico."""
    path = tmp_path / "rigs.toml"
    path.write_text('[[rig]]\nport = "/dev/ttyACM0"\n\n[[rig]]\nport = "rfc2217://rig2:4000"\n'
                    'power_cycle_cmd = "true {port}"\nrtc = true\n')
    rigs = conftest.load_rigs(str(path))
    assert [r["port"] for r in rigs] == ["/dev/ttyACM0", "rfc2217://rig2:4000"]
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    assert conftest.worker_index() == 1
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    assert conftest.worker_index() == 0
    t = dutmod.BoardTarget("rfc2217://rig2:4000", rigs[1])
    assert t.caps == {"power_cycle"} and t.has_rtc
    path.write_text("[[rig]]\nname = 'no port'\n")
    with pytest.raises(pytest.UsageError):
        conftest.load_rigs(str(path))
    from serial.tools import list_ports

    monkeypatch.setattr(list_ports, "comports", lambda: [])
    with pytest.raises(RuntimeError, match="2E8A:0005"):
        dutmod.resolve_port("auto")
