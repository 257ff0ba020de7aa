"""The desktop app's models in a process of their own.

``import torch`` is two seconds of Python work that holds the interpreter lock, and loading a
model more; in the window's process that work competes with the window for the lock (a window
that stutters while it starts) and waits behind the open tab's imports (a late first
prediction). The model host is a second process, started with the window, that imports torch
and loads the default model at once, on the machine's other core, and then runs every
prediction, explanation and recommender score of the app: the window's process never imports
torch. Its :class:`ModelHost` client answers to the same :class:`~medassist.inference.service.ModelService`
as the in-process :class:`~medassist.inference.service.InferenceService` the CLI and the tests use;
the host runs that very service, so both give the same results and audit lines.

Calls are jobs: the host's progress comes back as the job's progress, closing the job (a cancel)
cancels the call in the host, an error in the host comes back as the same :class:`MedAssistError`,
and a host that dies fails its calls with a :class:`ModelError` (the app then starts a new one).

The window sends its calls pickled (its own inputs: images, records, notes). The host answers in
JSON through the values codec (:mod:`medassist.domain.codec`: a result is the same document a session
file or the worklist stores), with every array sent out of band as its raw bytes: the window never
unpickles what the process that loads model files sends, and a result read from the host is the
result the service made, field for field.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import pickle
import queue
import socket
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from medassist import errors
from medassist.errors import MedAssistError, ModelError
from medassist.jobs import Cancelled, CancelToken, Job, Progress, run_job

if TYPE_CHECKING:  # this module is imported before anything heavy, in both processes: keep it light
    import numpy as np

    from medassist.domain.prediction import Explanation, Prediction
    from medassist.inference.registry import ModelRegistry
    from medassist.inference.service import InferenceService
    from medassist.settings import Settings

WARM_MODEL = "cxr-pneumonia"  # the model most first predictions use (the demo's chest radiograph)

# what the window may ask of the host: the ModelService methods, nothing else
_METHODS = ("predict", "explain", "prepare", "prepare_explanations", "item_probabilities")
_JOBS = ("predict", "explain")  # those that report progress and can be cancelled
# how often a call waiting on the host yields (its last progress again), so that a cancel is
# honoured even while the host computes without reporting
_POLL_S = 0.2


def _send_frame(channel: socket.socket, data: bytes, raws: list[memoryview]) -> None:
    """One message: its body, then each array's bytes sent as they lie (out of band).
    (multiprocessing's own connection reads a message one socket buffer at a time, each read
    allocating the whole remainder while it holds the interpreter lock: a 14 MB map stalled the
    window 0.1-0.2 s.)"""
    header = struct.pack("!QI", len(data), len(raws)) + b"".join(struct.pack("!Q", raw.nbytes) for raw in raws)
    channel.sendall(header)
    channel.sendall(data)
    for raw in raws:
        channel.sendall(raw)


def _send_message(channel: socket.socket, message: tuple[Any, ...]) -> None:
    """A call from the window: pickled, its inputs' arrays out of band."""
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(message, protocol=5, buffer_callback=buffers.append)
    _send_frame(channel, data, [buffer.raw() for buffer in buffers])


def _receive_exactly(channel: socket.socket, size: int) -> bytearray:
    """``size`` bytes read straight into one buffer (the interpreter lock released while the kernel copies)."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    received = 0
    while received < size:
        count = channel.recv_into(view[received:])
        if count == 0:
            raise EOFError("the other process closed the channel")
        received += count
    return buffer


def _receive_frame(channel: socket.socket) -> tuple[bytearray, list[bytearray]]:
    size, count = struct.unpack("!QI", _receive_exactly(channel, 12))
    sizes = struct.unpack(f"!{count}Q", _receive_exactly(channel, 8 * count)) if count else ()
    data = _receive_exactly(channel, size)
    return data, [_receive_exactly(channel, part) for part in sizes]


def _receive_message(channel: socket.socket) -> Any:
    """A call from the window (read in the host)."""
    data, buffers = _receive_frame(channel)
    return pickle.loads(data, buffers=buffers)


def _send_reply(channel: socket.socket, call_id: int, kind: str, payload: Any) -> None:
    """A reply from the host: JSON, with what a call returns written by the values codec and every
    array sent out of band (an :class:`~medassist.domain.arrays.ArrayRef` names it in the JSON)."""
    import numpy as np

    from medassist.domain import codec
    from medassist.domain.arrays import KeyedArrays

    arrays = KeyedArrays()
    if kind == "progress":
        payload = {"fraction": payload.fraction, "message": payload.message}
    elif kind == "result" and isinstance(payload, np.ndarray):
        payload = {"array": arrays.put(payload)}
    elif kind == "result" and payload is not None:
        payload = {"document": codec.document(payload, arrays)}
    # else: a description, an error's (class, reason, source), or nothing
    body = {"id": call_id, "kind": kind, "payload": payload, "arrays": list(arrays.arrays)}
    raws = [np.ascontiguousarray(values).data.cast("B") for values in arrays.arrays.values()]
    _send_frame(channel, json.dumps(body, ensure_ascii=False).encode("utf-8"), raws)


def _receive_reply(channel: socket.socket) -> tuple[int, str, Any]:
    """A reply read in the window: the call it answers, its kind and its payload as values (a result
    that cannot be read fails its call with a :class:`ModelError` saying why)."""
    data, buffers = _receive_frame(channel)
    body = json.loads(data)
    try:
        return body["id"], body["kind"], _decoded_payload(body, buffers)
    except (ValueError, KeyError, TypeError) as exc:  # CodecError and ArrayError are ValueErrors
        return body["id"], "error", ("ModelError", f"the model process sent a result that cannot be read ({exc})", None)


def _decoded_payload(body: dict[str, Any], buffers: list[bytearray]) -> Any:
    import numpy as np

    from medassist.domain import codec
    from medassist.domain.arrays import ArrayError, ArrayRef, KeyedArrays, checked_layout

    kind, payload = body["kind"], body["payload"]
    if kind == "progress":
        return Progress(float(payload["fraction"]), str(payload["message"]))
    if kind == "error":
        return tuple(payload)
    if kind != "result" or payload is None:
        return payload
    received = dict(zip(body["arrays"], buffers, strict=True))

    def load(key: str, ref: ArrayRef) -> np.ndarray:
        dtype, shape = checked_layout(ref)
        if key not in received or shape is None:
            raise ArrayError(f"array {key} did not arrive with its shape")
        return np.frombuffer(received[key], dtype=dtype).reshape(shape)  # the received bytes, not a copy

    arrays = KeyedArrays(load)
    if "array" in payload:
        return arrays.get(payload["array"])
    document = payload["document"]
    return codec.from_document(codec.KINDS[document["kind"]], document, arrays)


@dataclass(frozen=True)
class HostConfig:
    """What the host process needs to build the same service the window runs on: the window's audit
    file and its settings. ``settings`` left ``None`` is read in the host, from the saved settings,
    as the window reads them: the app starts its host before it has read them."""

    audit_path: Path
    settings: "Settings | None" = None
    warm_models: tuple[str, ...] = ()


HostBuild = Callable[[HostConfig], "InferenceService"]


def serve(channel: socket.socket, config: HostConfig, build: HostBuild) -> None:
    """The host process: build the service (``build``, the composition root's, imports torch), warm it,
    answer calls until told to stop or the window's end closes."""
    send_lock = threading.Lock()

    def send(message: tuple[int, str, Any]) -> None:
        with send_lock:
            try:
                _send_reply(channel, *message)
            except OSError:  # the window has gone; the loop below ends on its own
                pass

    try:
        service = build(config)
    except Exception as exc:  # torch missing or broken, say: the window shows why no model can run
        send((0, "failed", f"{type(exc).__name__}: {exc}"))
        return
    send((0, "ready", service.describe()))
    tokens: dict[int, CancelToken] = {}

    def warm() -> None:  # explanations' libraries wait for the window to ask (prepare_explanations)
        for model in config.warm_models:
            try:
                service.prepare(model)
            except MedAssistError:  # the first call on that model reports it
                pass

    threading.Thread(target=warm, name="warm-up", daemon=True).start()
    while True:
        try:
            message = _receive_message(channel)
        except (EOFError, OSError):
            return
        if message[0] == "stop":
            return
        if message[0] == "cancel":
            token = tokens.get(message[1])
            if token is not None:
                token.cancel()
            continue
        _, call_id, method, args = message
        tokens[call_id] = CancelToken()
        threading.Thread(target=_answer, args=(service, call_id, method, args, tokens, send), daemon=True).start()


def _answer(service: "InferenceService", call_id: int, method: str, args: tuple[Any, ...],
            tokens: dict[int, CancelToken], send: Callable[[tuple[int, str, Any]], None]) -> None:
    """Run one call in the host and send its progress and its outcome."""
    try:
        if method not in _METHODS:
            raise ModelError(f"the model process has no call '{method}'")
        outcome = getattr(service, method)(*args)
        if method in _JOBS:
            outcome = run_job(outcome, on_progress=lambda step: send((call_id, "progress", step)), token=tokens[call_id])
        send((call_id, "result", outcome))
    except Cancelled:
        send((call_id, "cancelled", None))
    except MedAssistError as exc:
        send((call_id, "error", (type(exc).__name__, exc.reason, exc.source)))
    except Exception as exc:  # a defect in the host: the window reports it, the host keeps serving
        send((call_id, "error", ("ModelError", f"the model process failed ({type(exc).__name__}: {exc})", None)))
    finally:
        tokens.pop(call_id, None)


def _rebuild_error(kind: str, reason: str, source: str | None) -> MedAssistError:
    """The host's error as the same class when it is one of :mod:`medassist.errors`, else a ModelError."""
    cls = getattr(errors, kind, None)
    if not (isinstance(cls, type) and issubclass(cls, MedAssistError)):
        cls = ModelError
    return cls(reason, source)


class ModelHost:
    """The window's side of the model host: starts the process and forwards calls to it.

    ``build`` is the composition root's (:func:`medassist.composition.host_service`), handed over by
    reference; ``catalogue`` is the window's, which the composition root gives once it has read it
    (after the host has started: reading it imports pydantic, which the host need not wait for)."""

    def __init__(self, config: HostConfig, build: HostBuild) -> None:
        self.config = config
        self.catalogue: ModelRegistry | None = None
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no Qt, no copied threads
        self._channel, host_end = socket.socketpair()
        self._process = context.Process(target=serve, args=(host_end, config, build), name="medassist-model-host",
                                        daemon=True)
        self._process.start()
        host_end.close()
        self._ids = itertools.count(1)
        self._replies: dict[int, queue.Queue[tuple[str, Any]]] = {}
        self._lock = threading.Lock()  # the calls waiting for replies
        self._send_lock = threading.Lock()  # one message at a time on the channel
        self._device: str | None = None
        self._ready = threading.Event()
        self._lost: str | None = None
        threading.Thread(target=self._read, name="model-host-reader", daemon=True).start()

    @property
    def registry(self) -> "ModelRegistry":
        """The window's catalogue (the host reads the same folders, from the same settings)."""
        if self.catalogue is None:
            raise ModelError("the model host was given no catalogue (build it with medassist.composition)")
        return self.catalogue

    @property
    def alive(self) -> bool:
        return self._lost is None

    def describe(self) -> str:
        """The host's device, once it has said; never waits (the status bar asks from the GUI thread)."""
        return self._device or "models starting"

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the host has built its service (torch imported); False when it died first."""
        self._ready.wait(timeout)
        return self._ready.is_set() and self.alive

    def prepare(self, model: str) -> None:
        self._ask("prepare", model)

    def prepare_job(self, model: str) -> Job[None]:
        """:meth:`prepare` as a job, which a cancel (the window closing) can end while it waits."""
        return self._call("prepare", model)

    def prepare_explanations(self) -> None:
        self._ask("prepare_explanations")

    def item_probabilities(self, model: str, features: "np.ndarray") -> "np.ndarray":
        result: np.ndarray = self._ask("item_probabilities", model, features)
        return result

    def predict(self, model: str, source: object, patient_id: str | None = None) -> "Job[Prediction]":
        return self._call("predict", model, source, patient_id)

    def explain(self, model: str, source: object, method: str, target: str | None = None) -> "Job[Explanation]":
        return self._call("explain", model, source, method, target)

    def close(self, grace_s: float = 0.5) -> None:
        """Ask the host to stop, and end it if it has not within ``grace_s``: a host still
        importing torch reads nothing until it has, and no one waits for its answers any more."""
        try:
            with self._send_lock:
                _send_message(self._channel, ("stop",))
        except OSError:
            pass
        self._process.join(grace_s)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5.0)
        self._channel.close()

    def _ask(self, method: str, *args: Any) -> Any:
        """A call without progress, waited for here."""
        return run_job(self._call(method, *args))

    def _call(self, method: str, *args: Any) -> Job[Any]:
        call_id = next(self._ids)
        replies: queue.Queue[tuple[str, Any]] = queue.Queue()
        with self._lock:
            self._replies[call_id] = replies
        finished = False
        try:
            self._send(("call", call_id, method, args))
            step = Progress(0.0, "Waiting for the model process")
            while True:
                try:
                    kind, payload = replies.get(timeout=_POLL_S)
                except queue.Empty:
                    yield step  # a point where a cancel can close this job
                    continue
                if kind == "progress":
                    step = payload
                    yield step
                    continue
                finished = True
                if kind == "result":
                    return payload
                if kind == "error":
                    raise _rebuild_error(*payload)
                if kind == "cancelled":
                    raise Cancelled("cancelled by the user")
                raise ModelError(f"the model process stopped ({payload}); it is started again for the next run")
        finally:
            with self._lock:
                self._replies.pop(call_id, None)
            if not finished and self.alive:
                try:
                    self._send(("cancel", call_id))
                except ModelError:  # the host has just gone: nothing left to cancel
                    pass

    def _send(self, message: tuple[Any, ...]) -> None:
        if self._lost is not None:
            raise ModelError(f"the model process stopped ({self._lost}); it is started again for the next run")
        try:
            with self._send_lock:
                _send_message(self._channel, message)
        except OSError as exc:
            self._lost = self._lost or str(exc.strerror or exc)
            raise ModelError(f"the model process stopped ({self._lost}); it is started again for the next run") from exc

    def _read(self) -> None:
        """Route the host's messages to the calls waiting for them; on the host's end, fail them all."""
        while True:
            try:
                call_id, kind, payload = _receive_reply(self._channel)
            except (EOFError, OSError, ValueError, KeyError):  # the host has gone, or its channel is garbled
                break
            if kind == "ready":
                self._device = payload
                self._ready.set()
                continue
            if kind == "failed":  # the host could not build its service, and ends
                self._lost = f"it could not start: {payload}"
                continue
            with self._lock:
                replies = self._replies.get(call_id)
            if replies is not None:
                replies.put((kind, payload))
        self._process.join(1.0)
        self._lost = self._lost or f"exit code {self._process.exitcode}"
        self._ready.set()
        with self._lock:
            waiting = list(self._replies.values())
        for replies in waiting:
            replies.put(("lost", self._lost))
