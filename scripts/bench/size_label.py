"""A batch size as the benchmark's case names spell it (as scripts/bench/size-label.ts does)."""

KiB, MiB, GiB = 1024, 1 << 20, 1 << 30


def size_label(n):
    if n >= GiB:
        return f"{n / GiB:g} GiB"
    if n >= MiB:
        return f"{n / MiB:g} MiB"
    return f"{n / KiB:g} KiB"
