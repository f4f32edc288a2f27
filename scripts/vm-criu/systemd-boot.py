#!/usr/bin/env python3
"""Boot the systemd VM bed's existing root image on the 6.1 kernel (a probe of
the systemd bed for the CRIU study; it runs no CRIU: criu is not in that image).

    scripts/vm-criu/systemd-boot.py [--image IMG] [SCRIPT.sh ...]

Uses scripts/vm-systemd/boot.py's build_shim() and boot() as they are, but not
build-image.sh: the image's cache key holds the kernel release, so asking it
for a 6.1 image would debootstrap a new one. The image (default: the newest
.build/vm-systemd/rootfs-*.img) is only read: qemu attaches it with
snapshot=on. virtio_pci is added to the shim's modules (a module on 6.1,
built into 6.12). Its /usr/lib/modules holds the 6.12 bed kernel's modules, so
modules the guest would load itself (overlay, ...) are missing on 6.1; the
shim loads virtio_blk from the 6.1 package. Shim, console log and CRI images
go to .build/vm-criu/systemd. Default script: tests-systemd/00-boot.sh.
Needs what boot.py needs: the static hull, probe and hull-cri-client builds.
"""

import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "scripts", "vm-systemd"))
sys.dont_write_bytecode = True
import boot as sdboot  # noqa: E402

image = None
argv = sys.argv[1:]
if argv[:1] == ["--image"]:
    image, argv = argv[1], argv[2:]
if image is None:
    images = sorted(glob.glob(os.path.join(REPO, ".build/vm-systemd/rootfs-*.img")),
                    key=os.path.getmtime)
    if not images:
        sys.exit("systemd-boot: no .build/vm-systemd/rootfs-*.img: build the systemd bed first")
    image = images[-1]
sys.argv = [sys.argv[0], "--kernel", ".build/vm-criu/kernel-6.1",
            "--cache", ".build/vm-criu/systemd", "--timeout", "420"] + (
    argv or [os.path.join(HERE, "tests-systemd", "00-boot.sh")])
args = sdboot.parse_args()
os.makedirs(args.cache, exist_ok=True)
# 6.1's cloud config has CONFIG_VIRTIO and CONFIG_VIRTIO_PCI as modules (6.12:
# built in): the shim's virtio_blk alone finds no disk ("no /dev/vda"). Add
# virtio_pci to the shim's modules; the shim key does not see the module
# list, so the shim is always rebuilt here.
_closure = sdboot.initramfs.module_closure
sdboot.initramfs.module_closure = lambda d, names: _closure(d, ["virtio_pci"] + names)
for old in glob.glob(os.path.join(args.cache, "shim-*.cpio")):
    os.unlink(old)
release = sdboot.vmrun.check_kernel(args.kernel)
shim = sdboot.build_shim(args, release)
print(f"systemd-boot: image {image} (read-only), kernel {release}", file=sys.stderr)
sys.exit(sdboot.boot(args, image, shim))
