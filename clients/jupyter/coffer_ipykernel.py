"""Starts Debian's ipykernel with no network listener: what the bridge runs for a Python kernel.

A kernel's sandbox shares the host's network by default (docs/adr/0012), so anything it listens on at
127.0.0.1 takes connections from every other user's sandbox on the machine. ipykernel (6.x) listens
there twice on its own, beside the ipc sockets the bridge asks for:

- the pipe that carries output of forked processes to the IOPub thread is bound to a random TCP port
  on 127.0.0.1. Its messages need a random token, but anyone can connect and send: another user's
  cell made this kernel print and process hundreds of megabytes, spending its memory, CPU time and
  output limits (test/notebook-attacks.test.ts). It goes on an ipc socket in the sandbox's private
  /tmp instead, which no other sandbox can see.
- the debugger starts debugpy listening on 127.0.0.1 when a client asks to debug; whoever connects
  first drives the debugger, which runs code as this kernel's user. It is turned off (a debug request
  gets an empty reply): the front end we ship, classic notebook 6.4, has no debugger.

Everything else is ipykernel_launcher's: same arguments, same kernel.
"""

import os
import sys
import tempfile

import zmq
from ipykernel import ipkernel, iostream
from zmq.eventloop.zmqstream import ZMQStream


def _setup_pipe_in(self):
    # As ipykernel's IOPubThread._setup_pipe_in, bound to a file socket instead of a TCP port.
    self._pipe_uuid = os.urandom(16)
    pipe_in = self.socket.context.socket(zmq.PULL)
    pipe_in.linger = 0
    self._coffer_pipe = "ipc://" + os.path.join(tempfile.mkdtemp(prefix="kernel-pipe-"), "pipe")
    pipe_in.bind(self._coffer_pipe)
    self._pipe_in = ZMQStream(pipe_in, self.io_loop)
    self._pipe_in.on_recv(self._handle_pipe_msg)


def _setup_pipe_out(self):
    # As ipykernel's, in a forked process: a new context (the parent's is not fork-safe), same address.
    ctx = zmq.Context()
    pipe_out = ctx.socket(zmq.PUSH)
    pipe_out.linger = 3000
    pipe_out.connect(self._coffer_pipe)
    return ctx, pipe_out


def main():
    # Patched names must exist, or a newer ipykernel would quietly listen on TCP again.
    for name in ("_setup_pipe_in", "_setup_pipe_out"):
        if not hasattr(iostream.IOPubThread, name):
            sys.exit("coffer_ipykernel: this ipykernel has no IOPubThread.%s; refusing to start" % name)
    if not hasattr(ipkernel, "_is_debugpy_available"):
        sys.exit("coffer_ipykernel: this ipykernel has no _is_debugpy_available; refusing to start")
    iostream.IOPubThread._setup_pipe_in = _setup_pipe_in
    iostream.IOPubThread._setup_pipe_out = _setup_pipe_out
    ipkernel._is_debugpy_available = False
    # As ipykernel_launcher does: the user's code should not import from this program's directory.
    if sys.path and sys.path[0] == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
