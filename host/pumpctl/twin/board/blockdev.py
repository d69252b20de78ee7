"""The Pico's flash as littlefs sees it: a file-backed block device with the rp2 port's geometry.

rp2 (ports/rp2/rp2_flash.c, modules/_boot.py): 4096-byte erase blocks, the filesystem in the
flash after the firmware (1408 KiB = 352 blocks on a 2 MB Pico), mounted with
vfs.VfsLfs2(bdev, progsize=256). Extended block protocol (docs/library/vfs.rst "Block devices"):
readblocks/writeblocks(block, buf, offset), ioctl 4 count, 5 size, 6 erase.

NOR flash semantics: an erase sets the block to 0xFF; a program may only clear bits (it lands
on erased bytes as littlefs guarantees): a program onto non-erased bytes is counted in
`nor_violations` (should stay 0). Every program and erase is written through to the image file
at once, so a SIGKILL loses nothing already done.

Power cut: every program and erase counts one operation once `armed`; operation number `cut_at`
(1-based) is not performed: the device calls on_cut() (the twin dies there, littlefs's own
power-loss model: the interrupted operation is dropped, everything before it is on flash).
"""
BLOCK_SIZE = 4096
PICO_BLOCKS = 352
ERASE_OP = 6


class FileBlockDev:
    def __init__(self, path, block_count=PICO_BLOCKS, cut_at=0, on_cut=None):
        self.block_count = block_count
        self.f = open(path, "r+b")
        self.ops = 0
        self.progs = 0
        self.erases = 0
        self.armed = False
        self.cut_at = cut_at
        self.on_cut = on_cut
        self.nor_violations = 0
        self._ff = b"\xff" * BLOCK_SIZE

    def _op(self):
        if self.armed:
            self.ops += 1
            if self.cut_at and self.ops >= self.cut_at and self.on_cut is not None:
                self.on_cut(self.ops)

    def readblocks(self, block, buf, offset=0):
        self.f.seek(block * BLOCK_SIZE + offset)
        self.f.readinto(buf)

    def writeblocks(self, block, buf, offset=0):
        self._op()
        n = len(buf)
        pos = block * BLOCK_SIZE + offset
        self.f.seek(pos)
        old = self.f.read(n)
        if old != self._ff[:n]:
            self.nor_violations += 1
        self.f.seek(pos)
        self.f.write(buf)
        self.progs += 1

    def ioctl(self, op, arg):
        if op == 4:
            return self.block_count
        if op == 5:
            return BLOCK_SIZE
        if op == ERASE_OP:
            self._op()
            self.f.seek(arg * BLOCK_SIZE)
            self.f.write(self._ff)
            self.erases += 1
            return 0
        if op == 3:  # sync: every write already reached the file
            return 0
        return None
