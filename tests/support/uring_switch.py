"""The fuse module's enable_uring switch, which lets a daemon ask for FUSE over io_uring
(mount.io_uring). Shared by the integration harness and the benchmark; root only."""

PARAM = "/sys/module/fuse/parameters/enable_uring"


def set_to(value):
    with open(PARAM, "w") as f:
        f.write(value)


def turn_on():
    """Sets the switch to Y; returns a function that puts the old value back (OSError when the
    kernel has no switch or it cannot be written)."""
    with open(PARAM) as f:
        old = f.read().strip()
    set_to("Y")
    return lambda: set_to(old)
