"""Network guard for the offline tests: loaded by Python at start-up when this folder is on PYTHONPATH.

Every attempt to resolve a host name or to connect anywhere except a local UNIX socket is
written to the file named by ``MEDASSIST_NETWORK_LOG`` (with the calling code) and then fails,
so a test can prove that nothing in MedAssist or its libraries reached for the network.
"""

import os
import socket
import traceback

_LOG = os.environ.get("MEDASSIST_NETWORK_LOG", "")


def _refuse(what, target):
    if _LOG:
        stack = "".join(traceback.format_stack(limit=8)[:-2])
        with open(_LOG, "a", encoding="utf-8") as handle:
            handle.write(f"{what} {target!r}\n{stack}\n")
    raise OSError(f"network access blocked by the MedAssist offline guard: {what} {target!r}")


def _is_local(sock):
    return getattr(socket, "AF_UNIX", None) is not None and sock.family == socket.AF_UNIX


_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_sendto = socket.socket.sendto


def _guarded_connect(self, address):
    if not _is_local(self):
        _refuse("connect", address)
    return _connect(self, address)


def _guarded_connect_ex(self, address):
    if not _is_local(self):
        _refuse("connect_ex", address)
    return _connect_ex(self, address)


def _guarded_sendto(self, data, *args):
    if not _is_local(self):
        _refuse("sendto", args[-1])
    return _sendto(self, data, *args)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
socket.socket.sendto = _guarded_sendto
socket.create_connection = lambda address, *args, **kwargs: _refuse("create_connection", address)
socket.getaddrinfo = lambda host, *args, **kwargs: _refuse("getaddrinfo", host)
socket.gethostbyname = lambda host: _refuse("gethostbyname", host)
socket.gethostbyname_ex = lambda host: _refuse("gethostbyname_ex", host)
