"""Runs one Jupyter kernel and relays its messages to Coffer over standard input and output.

Coffer starts this in the user's sandbox, one per kernel (docs/adr/0020). The kernel's ZeroMQ sockets
are ipc files in the sandbox's private /tmp, so nothing outside the sandbox can reach them; Coffer
holds the only other end, this program's standard streams. Messages travel as JSON lines, in the
shape of Jupyter's WebSocket protocol (header, parent_header, metadata, content, channel):

- in:  {"channel": "shell" | "control" | "stdin", "msg": {header, parent_header, metadata, content}},
       or Coffer's own {"bridge": "interrupt"} and {"bridge": "restart"} (Jupyter's kernel menu);
- out: the kernel's messages, each with its "channel"; and this program's own lines,
       {"bridge": "ready", "kernel_info": {...}} once the kernel answers, and
       {"bridge": "restarted"} once a restart has started the kernel again, and
       {"bridge": "kernel-died", "exit": <code>} if it dies.

Standard output carries these lines and nothing else: the kernel's own standard output (what R's
system() or a C library writes to file descriptor 1, outside Jupyter's messages) goes to standard error
with the bridge's, where it used to land between, or inside, the messages. Coffer masks each message's
strings and logs standard error.

End of input shuts the kernel down and ends this program. Only Debian's jupyter_client and pyzmq.
"""

import json
import os
import sys
import tempfile
import time

import zmq
from jupyter_client.jsonutil import json_default
from jupyter_client.manager import KernelManager
from jupyter_client.session import Session

READY_TIMEOUT_S = 120


def emit(obj):
    sys.stdout.write(json.dumps(obj, default=json_default) + "\n")
    sys.stdout.flush()


def main(kernel_name):
    # ipykernel's debugger warns about frozen modules on every start; the warning is noise to users.
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    workdir = tempfile.mkdtemp(prefix="kernel-")
    manager = KernelManager(kernel_name=kernel_name, transport="ipc", ip=os.path.join(workdir, "k"))
    argv = manager.kernel_spec.argv
    if argv[1:3] == ["-m", "ipykernel_launcher"]:
        # ipykernel on its own listens on the host's loopback, open to every other sandbox there:
        # coffer_ipykernel.py starts it without that.
        argv[1:3] = [os.path.join(os.path.dirname(os.path.abspath(__file__)), "coffer_ipykernel.py")]
    # Kept for restarts too (jupyter_client starts the new kernel with the same arguments).
    manager.start_kernel(stdout=sys.stderr)
    session = Session(key=manager.session.key, signature_scheme=manager.session.signature_scheme)
    sockets = {
        "shell": manager.connect_shell(identity=session.bsession),
        "control": manager.connect_control(identity=session.bsession),
        "stdin": manager.connect_stdin(identity=session.bsession),
        "iopub": manager.connect_iopub(),
    }
    poller = zmq.Poller()
    for sock in sockets.values():
        poller.register(sock, zmq.POLLIN)

    kernel_info = wait_ready(manager, session, sockets)
    if kernel_info is None:
        emit({"bridge": "kernel-died", "exit": exit_code(manager)})
        return 1
    emit({"bridge": "ready", "kernel_info": kernel_info})

    stdin = sys.stdin.buffer.fileno()
    poller.register(stdin, zmq.POLLIN)
    pending = b""
    while True:
        if not manager.is_alive():
            emit({"bridge": "kernel-died", "exit": exit_code(manager)})
            return 1
        for sock, _ in poller.poll(1000):
            if sock == stdin:
                chunk = os.read(stdin, 1 << 16)
                if not chunk:
                    manager.shutdown_kernel(now=False)
                    return 0
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    relay_in(manager, session, sockets, line)
            else:
                _, frames = session.feed_identities(sock.recv_multipart())
                relay_out(sockets, sock, session.deserialize(frames, content=True))


def relay_out(sockets, sock, msg):
    """One of the kernel's messages, to Coffer, with its channel."""
    msg.pop("buffers", None)
    msg["channel"] = next(name for name, s in sockets.items() if s is sock)
    emit(msg)


def wait_ready(manager, session, sockets, relay=None):
    """The kernel's kernel_info once it answers on the shell channel and its IOPub messages reach us
    (None if it dies or does not answer in time). A subscription takes a moment to reach a kernel,
    and what it publishes before then is lost: at start, and again after a restart. Only answers to
    this wait's own probes count; anything else is given to `relay` (after a restart: what the kernel
    before it sent last), or dropped."""
    poller = zmq.Poller()
    for name in ("shell", "iopub"):
        poller.register(sockets[name], zmq.POLLIN)
    deadline = time.monotonic() + READY_TIMEOUT_S
    probes = set()
    kernel_info = None
    heard_iopub = False
    while kernel_info is None or not heard_iopub:
        if time.monotonic() > deadline or not manager.is_alive():
            return None
        probe = session.msg("kernel_info_request", {})
        probes.add(probe["header"]["msg_id"])
        session.send(sockets["shell"], probe)
        for sock, _ in poller.poll(500):
            _, frames = session.feed_identities(sock.recv_multipart())
            msg = session.deserialize(frames, content=True)
            if msg["parent_header"].get("msg_id") not in probes:
                if relay is not None:
                    relay(sock, msg)
                continue
            if sock is sockets["iopub"]:
                heard_iopub = True
            elif msg["msg_type"] == "kernel_info_reply":
                kernel_info = msg["content"]
    return kernel_info


def relay_in(manager, session, sockets, line):
    try:
        request = json.loads(line)
        if request.get("bridge") == "interrupt":
            manager.interrupt_kernel()
            return
        if request.get("bridge") == "restart":
            # The same connection (ipc files) again, so this bridge's sockets reconnect by themselves;
            # restarted once the new kernel's IOPub reaches us, or the first cell's output is lost.
            manager.restart_kernel(now=False)
            relay = lambda sock, msg: relay_out(sockets, sock, msg)
            if wait_ready(manager, session, sockets, relay) is not None:
                emit({"bridge": "restarted"})
            return
        channel = request["channel"]
        if channel not in ("shell", "control", "stdin"):
            raise ValueError("no channel %r" % channel)
        session.send(sockets[channel], request["msg"])
    except Exception as e:  # a bad line is Coffer's bug; say so and keep the kernel
        emit({"bridge": "bad-input", "error": str(e)})


def exit_code(manager):
    proc = getattr(getattr(manager, "provisioner", None), "process", None)
    return proc.poll() if proc is not None else None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
