"""Loopback fixtures for the DICOM node: a node in a thread or a subprocess, a sending client,
real chest radiographs; everything started here is stopped here."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pydicom
import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from tests.conftest import REPO

NODE_AET = "MEDASSIST"
SENDER_AET = "MODALITY1"
SMALL_CHEST = "gdcm-CR-MONO1-10-chest.dcm"


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` (bounded); fail with ``what`` when it is still false after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="session")
def chest_dicom_files(shared_data) -> list[Path]:
    folder = shared_data / "dicom" / "chest_radiographs"
    files = sorted(folder.glob("*.dcm"))
    if not files:
        pytest.skip(f"no chest DICOM files in {folder}")
    return files


def copies_of(source: Path, count: int, tag: str) -> list[Dataset]:
    """``count`` copies of a real radiograph, each with its own SOP Instance UID (same study)."""
    from pydicom.uid import generate_uid

    template = pydicom.dcmread(source)
    out = []
    for index in range(count):
        dataset = pydicom.dcmread(source)
        dataset.SOPInstanceUID = generate_uid(entropy_srcs=[tag, str(index)])
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        dataset.InstanceNumber = index + 1
        out.append(dataset)
    assert len({d.SOPInstanceUID for d in out}) == count and template.SOPInstanceUID not in {d.SOPInstanceUID for d in out}
    return out


class Sender:
    """A pynetdicom Storage SCU on loopback (the modality or PACS in these tests)."""

    def __init__(self, port: int, calling: str = SENDER_AET, called: str = NODE_AET, bind_address: str = "") -> None:
        self.port, self.calling, self.called, self.bind_address = port, calling, called, bind_address

    def associate(self, datasets: Iterable[Dataset] = ()):
        ae = AE(ae_title=self.calling)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
        ae.add_requested_context(Verification)
        for sop_class, syntax in sorted({(d.SOPClassUID, d.file_meta.TransferSyntaxUID) for d in datasets}):
            ae.add_requested_context(sop_class, syntax)
        return ae.associate("127.0.0.1", self.port, ae_title=self.called, bind_address=(self.bind_address, 0))

    def send(self, datasets: list[Dataset], on_stored: Callable[[Dataset], None] | None = None) -> list[int]:
        """C-STORE each dataset on one association; returns the statuses (-1: no answer)."""
        assoc = self.associate(datasets)
        assert assoc.is_established, "the node did not accept the association"
        statuses = []
        try:
            for dataset in datasets:
                reply = assoc.send_c_store(dataset)
                status = int(reply.Status) if reply else -1
                statuses.append(status)
                if status == 0 and on_stored is not None:
                    on_stored(dataset)
                if not assoc.is_established:
                    break
        finally:
            if assoc.is_established:
                assoc.release()
        return statuses


@pytest.fixture()
def node_settings():
    from medassist.settings.node import NodeSettings

    return NodeSettings(enabled=True, ae_title=NODE_AET, port=0, allowed_calling_ae_titles=[SENDER_AET, "ORTHANC"],
                        allowed_addresses=["127.0.0.1"], score_workers=2)


@pytest.fixture()
def hospital_node(user_home, node_settings) -> Iterator:
    """A node in this process (threads), with its own user folder; stopped after the test. Its services
    are a command's (``medassist node`` runs it so)."""
    from medassist.composition import for_command
    from medassist.hospital.service import HospitalNode

    node = HospitalNode(node_settings, for_command())
    node.start()
    try:
        yield node
    finally:
        node.stop()


class NodeProcess:
    """``medassist node`` in a subprocess, as an administrator would run it headless."""

    def __init__(self, home: Path, extra: list[str] | None = None) -> None:
        env = {**os.environ, "MEDASSIST_HOME": str(home), "PYTHONPATH": str(REPO)}
        self.log = open(home.parent / f"node-{time.monotonic_ns()}.log", "w+", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "medassist.cli.main", "node", "--port", "0", "--aet", NODE_AET,
             "--allow-aet", SENDER_AET, "--allow-address", "127.0.0.1", *(extra or [])],
            stdout=subprocess.PIPE, stderr=self.log, env=env, text=True, cwd=REPO,
        )
        line = self.proc.stdout.readline()  # blocks until the node listens or dies
        if not line:
            self.proc.wait(30)
            self.log.seek(0)
            raise AssertionError(f"medassist node did not start: {self.log.read()[-2000:]}")
        self.banner = json.loads(line)
        self.port = int(self.banner["port"])

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not stop within 60 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        self.proc.stdout.close()
        self.log.close()


@pytest.fixture()
def node_process(user_home) -> Iterator[Callable[[], NodeProcess]]:
    """``start()`` launches a node subprocess on the test's user folder; all are stopped after."""
    user_home.mkdir(parents=True, exist_ok=True)
    started: list[NodeProcess] = []

    def start() -> NodeProcess:
        proc = NodeProcess(user_home)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


def worklist_json(capsys) -> list[dict]:
    """What `medassist worklist --json` prints, run through the real CLI entry point."""
    from medassist.cli.main import main

    capsys.readouterr()
    assert main(["worklist", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OrthancPacs:
    """The Debian ``orthanc`` package's server, run by the test with its own config and storage
    (never the system service): DICOM on a free port, HTTP off, the node as its only modality."""

    AET = "ORTHANC"

    DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")

    def __init__(self, binary: str, folder: Path, node_port: int, port: int | None = None,
                 tls: tuple[Path, Path] | None = None, dicomweb: bool = False) -> None:
        from medassist.settings.node import PacsSettings

        self.port = port or free_port()
        folder.mkdir(parents=True, exist_ok=True)
        config = {
            "Name": "MedAssistTestPACS",
            "StorageDirectory": str(folder / "storage"),
            "IndexDirectory": str(folder / "index"),
            "StorageCompression": False,
            "HttpServerEnabled": False,
            "RemoteAccessAllowed": False,
            "DicomServerEnabled": True,
            "DicomAet": self.AET,
            "DicomPort": self.port,
            "DicomCheckCalledAet": False,
            "DicomAlwaysAllowEcho": True,
            "DicomAlwaysAllowStore": True,
            "DicomAlwaysAllowFind": True,
            "DicomAlwaysAllowMove": True,
            "DicomModalities": {"medassist": [NODE_AET, "127.0.0.1", node_port]},
            "DicomScuTimeout": 30,
            "Plugins": [],
            "SaveJobs": False,
        }
        self.http_port = 0
        if dicomweb:  # the DICOMweb plugin on loopback HTTP, without authentication (a test PACS only)
            self.http_port = free_port()
            config.update({"HttpServerEnabled": True, "HttpPort": self.http_port, "AuthenticationEnabled": False,
                           "Plugins": [str(self.DICOMWEB_PLUGIN)],
                           "DicomWeb": {"Enable": True, "Root": "/dicom-web/"}})
        if tls is not None:  # DICOM over TLS only (Orthanc >= 1.9); callers need no certificate of their own
            certificate, key = tls
            config.update({"DicomTlsEnabled": True, "DicomTlsCertificate": str(certificate),
                           "DicomTlsPrivateKey": str(key), "DicomTlsTrustedCertificates": str(certificate),
                           "DicomTlsRemoteCertificateRequired": False})
        (folder / "orthanc.json").write_text(json.dumps(config), encoding="utf-8")
        self.log = open(folder / "orthanc.log", "w+", encoding="utf-8")
        self.proc = subprocess.Popen([binary, str(folder / "orthanc.json")], stdout=self.log, stderr=subprocess.STDOUT)
        self.settings = PacsSettings(ae_title=self.AET, host="127.0.0.1", port=self.port, tls=tls is not None,
                                     tls_ca_certificate=str(tls[0]) if tls else "")
        wait_until(self._answers, 60, "Orthanc to answer C-ECHO")

    def count(self, study_instance_uid: str) -> dict[str, int]:
        """Instances of the study Orthanc holds, by modality (C-FIND, image level)."""
        from medassist.hospital.pacs import association
        from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

        query = Dataset()
        query.QueryRetrieveLevel = "IMAGE"
        query.StudyInstanceUID = study_instance_uid
        query.SeriesInstanceUID = ""
        query.SOPInstanceUID = ""
        query.Modality = ""
        counts: dict[str, int] = {}
        with association(self.settings, NODE_AET, [(StudyRootQueryRetrieveInformationModelFind, None)]) as assoc:
            # image-level C-FIND needs the series: ask per series
            series_query = Dataset()
            series_query.QueryRetrieveLevel = "SERIES"
            series_query.StudyInstanceUID = study_instance_uid
            series_query.SeriesInstanceUID = ""
            series_query.Modality = ""
            series = [(str(i.SeriesInstanceUID), str(i.get("Modality", "")))
                      for status, i in assoc.send_c_find(series_query, StudyRootQueryRetrieveInformationModelFind)
                      if status and status.Status in (0xFF00, 0xFF01) and i is not None]
            for uid, modality in series:
                query.SeriesInstanceUID = uid
                found = [i for status, i in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind)
                         if status and status.Status in (0xFF00, 0xFF01) and i is not None]
                counts[modality] = counts.get(modality, 0) + len(found)
        return counts

    def _answers(self) -> bool:
        from medassist.hospital.pacs import PacsError, echo

        if self.proc.poll() is not None:
            self.log.seek(0)
            raise AssertionError(f"Orthanc exited with {self.proc.returncode}: {self.log.read()[-2000:]}")
        try:
            echo(self.settings, NODE_AET)
            return True
        except PacsError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        self.log.close()


@pytest.fixture()
def orthanc(hospital_node, tmp_path) -> Iterator[OrthancPacs]:
    """A real PACS (Orthanc) on loopback that knows the node as a C-MOVE destination; skips without Orthanc."""
    import shutil

    binary = shutil.which("Orthanc") or next((p for p in ("/usr/sbin/Orthanc", "/usr/bin/Orthanc") if Path(p).exists()), None)
    if binary is None:
        pytest.skip("the Orthanc binary is not installed (apt-get install orthanc)")
    pacs = OrthancPacs(binary, tmp_path / "orthanc", hospital_node.port)
    try:
        yield pacs
    finally:
        pacs.stop()


def orthanc_binary() -> str:
    import shutil

    binary = shutil.which("Orthanc") or next((p for p in ("/usr/sbin/Orthanc", "/usr/bin/Orthanc") if Path(p).exists()),
                                            None)
    if binary is None:
        pytest.skip("the Orthanc binary is not installed (apt-get install orthanc)")
    return binary


@pytest.fixture(scope="module")
def module_home(tmp_path_factory) -> Iterator[Path]:
    """One user folder for a whole test module (its node, worklist, results and settings)."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MEDASSIST_HOME", str(home))
        yield home


@pytest.fixture(scope="module")
def shared_node(module_home) -> Iterator:
    """One node for a module (tests use studies of their own); its retry worker polls every 0.5 s."""
    from medassist.composition import for_command
    from medassist.hospital.service import HospitalNode
    from medassist.settings.node import NodeSettings

    settings = NodeSettings(enabled=True, ae_title=NODE_AET, port=0, allowed_calling_ae_titles=[SENDER_AET, "ORTHANC"],
                            allowed_addresses=["127.0.0.1"], score_workers=2, retry_interval_s=1.0,
                            fhir_patient_id_system="urn:oid:1.2.3.4.5.6.7", fhir_accession_system="urn:oid:1.2.3.4.5.6.8")
    node = HospitalNode(settings, for_command(), retry_poll_s=0.5)
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def shared_orthanc(shared_node, tmp_path_factory) -> Iterator[OrthancPacs]:
    """One real PACS (Orthanc) on loopback for a module; skips without Orthanc."""
    pacs = OrthancPacs(orthanc_binary(), tmp_path_factory.mktemp("orthanc"), shared_node.port)
    try:
        yield pacs
    finally:
        pacs.stop()


def dciodvfy_errors(path: Path) -> list[str]:
    """dicom3tools' validator's error lines for one file (an empty list when it finds none)."""
    import shutil

    if shutil.which("dciodvfy") is None:
        pytest.skip("dciodvfy is not installed (apt-get install dicom3tools)")
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, errors="replace", timeout=60)
    return [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("Error")]


def new_study(source: Path, tag: str, count: int = 1, **attributes) -> list[Dataset]:
    """``count`` copies of a real radiograph as a new study of its own (new Study, Series and SOP
    Instance UIDs derived from ``tag``), with ``attributes`` set (e.g. a character set and a name)."""
    from pydicom.uid import generate_uid

    study, series = generate_uid(entropy_srcs=[tag, "study"]), generate_uid(entropy_srcs=[tag, "series"])
    out = []
    for index in range(count):
        dataset = pydicom.dcmread(source)
        dataset.StudyInstanceUID, dataset.SeriesInstanceUID = study, series
        dataset.SOPInstanceUID = generate_uid(entropy_srcs=[tag, str(index)])
        dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
        dataset.InstanceNumber = index + 1
        for keyword, value in attributes.items():
            setattr(dataset, keyword, value)
        out.append(dataset)
    return out


def send_and_score(node, datasets: list[Dataset], timeout: float = 180) -> list[dict]:
    """C-STORE ``datasets`` to the node and wait until each is analysed; returns their worklist rows."""
    assert Sender(node.port).send(datasets) == [0] * len(datasets)
    uids = [str(d.SOPInstanceUID) for d in datasets]
    wait_until(lambda: all(node.store.entry(u)["status"] not in ("queued", "scoring") for u in uids), timeout,
               "the radiographs to be scored")
    return [node.store.entry(u) for u in uids]
