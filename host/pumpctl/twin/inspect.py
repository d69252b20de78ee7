"""Look inside a twin's flash image with littlefs-python (an independent littlefs, not the twin's):

    python -m pumpctl.twin.inspect STATE_DIR|flash.img            # every file with its size
    python -m pumpctl.twin.inspect STATE_DIR|flash.img /pump/state.a   # one file's bytes to stdout
"""
import os
import sys

from pumpctl.twin import config


def mount(path):
    from littlefs import LittleFS

    img = os.path.join(path, "flash.img") if os.path.isdir(path) else path
    fs = LittleFS(block_size=4096, block_count=config.PICO_BLOCKS, prog_size=256, mount=False)
    with open(img, "rb") as f:
        fs.context.buffer = bytearray(f.read())
    fs.mount()
    return fs


def listing(path):
    """[(path, size)] of every file on the image, sorted."""
    fs = mount(path)
    out = []
    for root, _dirs, files in fs.walk("/"):
        for name in files:
            p = root.rstrip("/") + "/" + name
            out.append((p, fs.stat(p).size))
    return sorted(out)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    try:
        if len(argv) > 1:
            with mount(argv[0]).open(argv[1], "rb") as f:
                sys.stdout.buffer.write(f.read())
            return 0
        for p, size in listing(argv[0]):
            print("%8d  %s" % (size, p))
    except (OSError, ValueError) as e:
        print("twin inspect: cannot read %s: %s -- fix: give a twin state directory or its flash.img"
              % (argv[0], e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
