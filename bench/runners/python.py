"""The Python system of the benchmark, with the protocol of bench/floor.c:
    python3 bench/runners/python.py cycles N CHILD | batch N CHILD | longlived K CHILD | maxrss
os.posix_spawn, os.pidfd_open, select.poll on the pidfd, then os.waitid(P_PIDFD) (os.wait4 for
maxrss: os.waitid returns no rusage). Times from time.monotonic_ns(), CLOCK_MONOTONIC as the
child's stamp. Prints one JSON object on stdout; diagnostics go to stderr."""

import json
import os
import resource
import select
import signal
import sys
import time

now = time.monotonic_ns  # CLOCK_MONOTONIC


def start(child, args=(), fd3=None):
    """Spawns child with stdio on /dev/null and, if given, fd3 as its fd 3. Returns (pid, pidfd)."""
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0),
    ]
    if fd3 is not None:
        actions.append((os.POSIX_SPAWN_DUP2, fd3, 3))
    pid = os.posix_spawn(child, [child, *args], os.environ, file_actions=actions)
    return pid, os.pidfd_open(pid)


def reap(pidfd):
    os.waitid(os.P_PIDFD, pidfd, os.WEXITED)
    os.close(pidfd)


def stamp_pipe():
    """A close-on-exec pipe whose write end is not fd 3 (dup2(3, 3) would keep close-on-exec)."""
    r, w = os.pipe2(os.O_CLOEXEC)
    if w == 3:
        import fcntl

        w2 = fcntl.fcntl(w, fcntl.F_DUPFD_CLOEXEC, 4)
        os.close(w)
        w = w2
    return r, w


def one(child):
    """One spawn, exit notification and reap. Returns (cycleNs, latencyNs)."""
    r, w = stamp_pipe()
    t0 = now()
    _, pidfd = start(child, fd3=w)
    os.close(w)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    while not poller.poll():
        pass
    reap(pidfd)
    t1 = now()
    data = os.read(r, 8)
    os.close(r)
    stamp = int.from_bytes(data, "little") if len(data) == 8 else 0
    return t1 - t0, t1 - stamp


def reap_all(pidfds):
    """Polls all pidfds at once and reaps each as it becomes readable, until none is left."""
    poller = select.poll()
    for fd in pidfds:
        poller.register(fd, select.POLLIN)
    left = len(pidfds)
    while left:
        for fd, _ in poller.poll():
            poller.unregister(fd)
            reap(fd)
            left -= 1


def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line[len(key) :].split()[0])
    return -1


def count_fds():
    return len(os.listdir("/proc/self/fd")) - 1  # less the listing's own descriptor


def main(argv):
    # K live children need K pidfds.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    mode, rest = argv[0], argv[1:]
    if mode == "cycles":
        n, child = int(rest[0]), rest[1]
        for _ in range(5):
            one(child)
        cycle_ns, latency_ns = [], []
        for _ in range(n):
            c, l = one(child)
            cycle_ns.append(c)
            latency_ns.append(l)
        return {"cycleNs": cycle_ns, "latencyNs": latency_ns}
    if mode == "batch":
        n, child = int(rest[0]), rest[1]
        t0 = now()
        pidfds = [start(child)[1] for _ in range(n)]
        reap_all(pidfds)
        return {"totalNs": now() - t0}
    if mode == "longlived":
        k, child = int(rest[0]), rest[1]
        rss_before = status("VmRSS:")
        pidfds = [start(child, ["--pause"])[1] for _ in range(k)]
        time.sleep(0.2)  # as the floor: let the live children settle in pause()
        latency_ns = [one(child)[1] for _ in range(50)]
        rss, threads, fds = status("VmRSS:"), status("Threads:"), count_fds()
        t0 = now()
        for fd in pidfds:
            signal.pidfd_send_signal(fd, signal.SIGKILL)
        reap_all(pidfds)
        kill_all = now() - t0
        return {
            "latencyNs": latency_ns,
            "rssBeforeKiB": rss_before,
            "rssKiB": rss,
            "threads": threads,
            "fds": fds,
            "killAllNs": kill_all,
        }
    if mode == "maxrss":
        hold = b"\x01" * (500 << 20)  # filled with memset: every page touched
        pid, pidfd = start("/bin/true")
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        while not poller.poll():
            pass
        _, _, rusage = os.wait4(pid, 0)
        os.close(pidfd)
        return {"maxRSSKiB": rusage.ru_maxrss + hold[-1] - 1}  # ru_maxrss is in KiB on Linux
    raise SystemExit(f"python.py: unknown mode {mode}")


if __name__ == "__main__":
    result = main(sys.argv[1:])
    sys.stdout.write(json.dumps(result, separators=(",", ":")) + "\n")
