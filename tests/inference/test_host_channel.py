"""The model host's replies: JSON through the values codec with every array sent out of band as its
raw bytes; what the window reads is the value the host sent, field for field and bit for bit, and a
reply it cannot read fails that call with a message (it is never unpickled)."""

from __future__ import annotations

import socket
import threading

import numpy as np
from tests.domain.test_codec import assert_same, full_prediction

from medassist.inference import host
from medassist.jobs import Progress


def _through_channel(kind: str, payload: object) -> tuple[int, str, object]:
    window, model_process = socket.socketpair()
    try:
        sender = threading.Thread(target=host._send_reply, args=(model_process, 7, kind, payload))
        sender.start()  # a map is larger than a socket buffer: send and receive at once
        received = host._receive_reply(window)
        sender.join()
        return received
    finally:
        window.close()
        model_process.close()


def test_a_result_arrives_as_it_was_made():
    made = full_prediction()
    made.explanations[0].values = np.random.default_rng(1).random((1024, 1024), dtype=np.float32)  # 4 MB
    call_id, kind, received = _through_channel("result", made)
    assert (call_id, kind) == (7, "result")
    assert_same(received, made)
    assert received.explanations[0].values.flags.writeable  # the window's own array


def test_arrays_progress_errors_and_nothing_arrive_as_sent():
    scores = np.linspace(0, 1, 63, dtype=np.float32)
    _, _, array = _through_channel("result", scores)
    np.testing.assert_array_equal(array, scores)
    assert _through_channel("progress", Progress(0.5, "Running the network"))[2] == Progress(0.5, "Running the network")
    assert _through_channel("error", ("ModelError", "no model named 'x'", None))[2] == ("ModelError", "no model named 'x'", None)
    assert _through_channel("result", None)[2] is None


def test_a_reply_the_window_cannot_read_fails_its_call_with_a_message():
    window, model_process = socket.socketpair()
    try:
        body = b'{"id": 3, "kind": "result", "arrays": [], "payload": {"document": {"format": "medassist-values", ' \
               b'"version": 99, "kind": "prediction", "value": {}}}}'
        host._send_frame(model_process, body, [])
        call_id, kind, payload = host._receive_reply(window)
    finally:
        window.close()
        model_process.close()
    assert (call_id, kind) == (3, "error") and payload[0] == "ModelError"
    assert "newer MedAssist (values version 99" in payload[1]
