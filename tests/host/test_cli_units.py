"""pumpctl pure parts: exact unit parsing, TOML prescriptions, key store, port resolution, durations."""
import os
import stat
from decimal import Decimal

import pytest

from cli_helpers import NIGHT_RAMP
from pumpctl.link import ports
from pumpctl.clinical import prescription
from pumpctl.link.client import PumpPortError
from pumpctl.link.keys import KeyStore, KeyStoreError
from pumpctl.clinical.prescription import PrescriptionError


def test_decimal_units_are_exact():
    assert prescription.ml_to_nl("0.048") == 48000  # the pump's minimum flow, no float surprise
    assert prescription.ml_to_nl(Decimal("0.1")) * 3 == prescription.ml_to_nl("0.3")
    assert prescription.mcg_to_ng("537.5") == 537500
    assert prescription.mcg_to_ng(2003) == 2003000
    for bad in ("0.0001", "1e-7"):
        with pytest.raises(PrescriptionError):
            prescription.mcg_to_ng(bad) if bad == "0.0001" else prescription.ml_to_nl(bad)
    with pytest.raises(PrescriptionError):
        prescription.mcg_to_ng(0.5)  # binary float refused
    with pytest.raises(PrescriptionError):
        prescription.ml_to_nl("abc")


def test_night_ramp_example_matches_the_labeling_scenario():
    rx = prescription.load(NIGHT_RAMP)
    assert rx["conc_ug_ml"] == 2000
    p = rx["programme"]
    assert p["mode"] == "flex" and p["lead_min"] == 120
    assert [(s["effect_min"], s["dose_ng_day"], s["shape"]) for s in p["steps"]] == [
        (7 * 60, 500000, "ramp"), (22 * 60, 600000, "ramp")]
    assert p["steps"][1]["dose_ng_day"] * 100 == p["steps"][0]["dose_ng_day"] * 120  # +20 %
    norm = prescription.validate(rx)
    import schedule

    plan = schedule.Plan(norm)
    assert plan.rate_ng_day(20 * 3600) == 500000 and plan.rate_ng_day(22 * 3600) == 600000  # starts 20:00
    assert plan.rate_ng_day(21 * 3600) == 550000 and plan.rate_ng_day(7 * 3600) == 500000
    assert plan.change_windows() == [(18000, 25200), (72000, 79200)]


def test_toml_floats_parse_as_decimals_and_weekdays(tmp_path):
    rx = prescription.parse('''
[drug]
concentration_mcg_ml = 500
[programme]
mode = "flex"
[[programme.steps]]
day = "mon"
effect = "08:00"
dose_mcg_day = 100.125
[[programme.boluses]]
day = "Monday"
at = "12:30"
dose_mcg = 0.5
duration_min = 15
''')
    s = rx["programme"]["steps"][0]
    assert (s["day"], s["effect_min"], s["dose_ng_day"]) == (0, 480, 100125)
    b = rx["programme"]["boluses"][0]
    assert (b["day"], b["at_min"], b["dose_ng"]) == (0, 750, 500)


@pytest.mark.parametrize("text,needle", [
    ("[programme]\nmode='flex'\n", "concentration_mcg_ml"),
    ("[drug]\nconcentration_mcg_ml=500\n[programme]\nmode='weird'\n", "mode"),
    ("[drug]\nconcentration_mcg_ml=500\n[programme]\nmode='flex'\n[[programme.steps]]\neffect='25:00'\n"
     "dose_mcg_day=1\n", "outside"),
    ("[drug\n", "TOML"),
])
def test_bad_prescriptions_name_the_problem(text, needle):
    with pytest.raises(PrescriptionError) as ei:
        prescription.parse(text)
    assert needle in ei.value.cause and ei.value.fix


def test_keystore_roundtrip_mode_0600_and_refuses_readable(tmp_path):
    path = str(tmp_path / "sub" / "keys.toml")
    ks = KeyStore(path)
    ks.set("EMU00001", "clinician", "AB" * 32)
    ks.save()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert KeyStore(path).get("EMU00001", "clinician") == "ab" * 32
    os.chmod(path, 0o640)
    with pytest.raises(KeyStoreError) as ei:
        KeyStore(path)
    assert "chmod 600" in ei.value.fix
    with pytest.raises(KeyStoreError):
        ks.set("EMU00001", "patient", "12")


def test_keystore_path_from_environment(monkeypatch, tmp_path):
    from pumpctl.link import keys

    monkeypatch.setenv("PUMPCTL_KEYS", str(tmp_path / "k.toml"))
    assert keys.default_path() == str(tmp_path / "k.toml")
    monkeypatch.delenv("PUMPCTL_KEYS")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert keys.default_path() == str(tmp_path / "pumpctl" / "keys.toml")


class FakePort:
    def __init__(self, device, vid=None, pid=None, description=""):
        self.device, self.vid, self.pid, self.description = device, vid, pid, description


def test_port_order_flag_env_autodetect():
    pico = FakePort("/dev/ttyACM7", 0x2E8A, 0x0005, "Board in FS mode")
    other = FakePort("/dev/ttyUSB0", 0x0403, 0x6001, "FT232R")
    assert ports.resolve("socket://h:1", env={"PUMPCTL_PORT": "x"}) == ("socket://h:1", "--port")
    assert ports.resolve(None, env={"PUMPCTL_PORT": "loop://"}) == ("loop://", "PUMPCTL_PORT")
    assert ports.resolve(None, env={}, comports=[other, pico]) == ("/dev/ttyACM7", "autodetect")
    with pytest.raises(PumpPortError) as ei:
        ports.resolve(None, env={}, comports=[other])
    assert "2E8A:0005" in ei.value.cause and "--port" in ei.value.fix
    with pytest.raises(PumpPortError) as ei:
        ports.resolve(None, env={}, comports=[pico, FakePort("/dev/ttyACM8", 0x2E8A, 0x0005)])
    assert "several" in ei.value.cause
    reasons = {c["device"]: c["reason"] for c in ports.candidates([other, pico])}
    assert "not a pump" in reasons["/dev/ttyUSB0"] and "Pico" in reasons["/dev/ttyACM7"]


def test_durations():
    from pumpctl.cli.admin import parse_duration

    assert parse_duration("30d") == 2592000 and parse_duration("12h") == 43200 and parse_duration("90") == 90
    with pytest.raises(PrescriptionError):
        parse_duration("soon")
