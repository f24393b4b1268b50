"""The Coqui voice backend, as far as it runs without Coqui: what it says is missing, that
it is used only when named, how `filmc build` refuses it, and what goes into its keys.

Nothing here synthesizes (tests/test_coqui_synth.py does); the model folders are a real
config.json beside a dummy checkpoint, and whether the TTS package is there is pretended
either way (`package_present`, `package_absent`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from conftest import ROOT
from filmlang import ir
from filmlang.backends.speech import coqui as speech_coqui
from filmlang.backends.speech import engines as speech
from filmlang.backends.speech.coqui import MODEL_ENV, CoquiEngine, find_checkpoint, model_files
from filmlang.backends.speech.engines import SpeechRequest, SpeechUnavailable

COQUI = speech.ENGINES["coqui"]
without_tts = pytest.mark.usefixtures("package_absent")
CONFIG: dict[str, object] = {"model": "vits", "phoneme_language": "en-us",
                             "audio": {"sample_rate": 22050}, "datasets": [{"language": "en"}]}
FILM = '''film "Tiny" {
    size 160x90
    fps 8
    seed 3
}

character MARA {
    look "keeper, yellow raincoat"
    voice "en" pitch=40 rate=150
}

scene storm "EXT. LIGHTHOUSE - NIGHT" {
    shot close_up MARA {
        MARA: "The light has to stay on."
    }
}
'''


def model_folder(root: Path, config: dict[str, object] | None = None,
                 checkpoint: str | None = "model.pth") -> Path:
    """A Coqui model folder: config.json (unless config is None) and a dummy checkpoint."""
    folder = root / "coqui-model"
    folder.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    if checkpoint is not None:
        (folder / checkpoint).write_bytes(b"\0" * 64)
    return folder


@pytest.fixture
def package_present(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend the TTS package is importable, to see what else `available` reports."""
    monkeypatch.setattr(speech_coqui, "find_spec",
                        lambda name: object() if name == "TTS" else find_spec(name))


@pytest.fixture
def package_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend the TTS package is not installed (the dev install has it)."""
    monkeypatch.setattr(speech_coqui, "find_spec",
                        lambda name: None if name == "TTS" else find_spec(name))


@pytest.fixture(autouse=True)
def no_model_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODEL_ENV, raising=False)


# ---------------------------------------------------------------- what is missing


def test_registered_by_name_but_never_preferred() -> None:
    assert isinstance(COQUI, CoquiEngine) and COQUI.name == "coqui"
    assert "coqui" not in speech.PREFERENCE


@without_tts
def test_missing_package_is_named_with_its_install(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODEL_ENV, str(model_folder(tmp_path, CONFIG)))
    ready = COQUI.available()
    assert not ready
    assert ready.reason == "the Coqui TTS Python package (TTS) is not installed"
    assert ready.install == "pip install coqui-tts"


@without_tts
def test_everything_missing_is_said_at_once() -> None:
    ready = COQUI.available()
    assert not ready
    assert "package (TTS) is not installed" in ready.reason
    assert f"${MODEL_ENV} is not set" in ready.reason
    assert ready.install.startswith("pip install coqui-tts; ")
    assert f"set ${MODEL_ENV} to a folder" in ready.install


@pytest.mark.usefixtures("package_present")
def test_unset_env_var_is_the_only_problem() -> None:
    ready = COQUI.available()
    assert not ready
    assert ready.reason == f"${MODEL_ENV} is not set (no Coqui model folder)"
    assert "pip install" not in ready.install and "config.json" in ready.install


@pytest.mark.usefixtures("package_present")
def test_each_missing_part_of_the_model_folder(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "nowhere"))
    ready = COQUI.available()
    assert not ready and "nowhere does not exist" in ready.reason

    folder = model_folder(tmp_path, config=None)
    monkeypatch.setenv(MODEL_ENV, str(folder))
    ready = COQUI.available()
    assert not ready and ready.reason == f"the Coqui model folder {folder} has no config.json"
    assert MODEL_ENV in ready.install

    (folder / "model.pth").unlink()
    (folder / "config.json").write_text(json.dumps(CONFIG), encoding="utf-8")
    ready = COQUI.available()
    assert not ready and "has no checkpoint" in ready.reason

    (folder / "model.pth").write_bytes(b"weights")
    assert COQUI.available()


def test_checkpoint_is_found_by_name_then_by_suffix(tmp_path: Path) -> None:
    folder = model_folder(tmp_path, CONFIG, checkpoint="speakers.pth")
    assert find_checkpoint(folder) is None
    (folder / "vits_ljspeech.pth").write_bytes(b"w")
    assert find_checkpoint(folder) == folder / "vits_ljspeech.pth"
    (folder / "best_model.pth").write_bytes(b"w")
    assert find_checkpoint(folder) == folder / "best_model.pth"
    (folder / "model.pth").write_bytes(b"w")
    assert find_checkpoint(folder) == folder / "model.pth"


@without_tts
def test_choose_engine_says_what_to_install() -> None:
    with pytest.raises(SpeechUnavailable, match="voice backend 'coqui' is unavailable") as caught:
        speech.choose_engine(ir.Voice(name="en"), "coqui")
    assert "pip install coqui-tts" in str(caught.value)
    assert caught.value.install.startswith("pip install coqui-tts")


@without_tts
def test_synthesize_without_the_package_raises(tmp_path: Path) -> None:
    with pytest.raises(SpeechUnavailable, match="coqui-tts"):
        COQUI.synthesize([SpeechRequest("Hi.", ir.Voice())], [tmp_path / "x.wav"])
    assert not (tmp_path / "x.wav").exists()
    assert COQUI.synthesize([], []) == []


@pytest.mark.usefixtures("package_present")
def test_never_chosen_automatically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODEL_ENV, str(model_folder(tmp_path, CONFIG)))
    assert COQUI.available()
    assert speech.choose_engine(ir.Voice(name="en"), "coqui") is COQUI
    for voice in (ir.Voice(), ir.Voice(name="en"), ir.Voice(name="fr")):
        try:
            chosen = speech.choose_engine(voice)
        except SpeechUnavailable as exc:  # no other engine here: coqui is not offered
            assert "coqui" not in str(exc)
        else:
            assert chosen.name != "coqui"


def test_importing_speech_loads_neither_torch_nor_tts() -> None:
    code = ("import sys, filmlang.backends.speech.engines\n"
            "print([m for m in ('torch', 'TTS', 'numpy') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"


def test_build_refuses_coqui_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "tiny.film").write_text(FILM, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != MODEL_ENV}
    env["FILMC_CACHE"] = str(tmp_path / "cache")
    result = subprocess.run([sys.executable, "-m", "filmlang.cli", "build", "--backend",
                             "voice=coqui", "tiny.film"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "E0603" in result.stderr and "no voice for MARA" in result.stderr
    assert MODEL_ENV in result.stderr and "Traceback" not in result.stderr
    if find_spec("TTS") is None:
        assert "coqui-tts" in result.stderr
    assert not (tmp_path / "build").exists()
    assert not list((tmp_path / "cache").rglob("*.wav"))


# ---------------------------------------------------------------- languages and keys


@pytest.mark.usefixtures("package_present")
def test_supports_the_languages_of_its_config(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    folder = model_folder(tmp_path, CONFIG)
    monkeypatch.setenv(MODEL_ENV, str(folder))
    assert all(COQUI.supports(ir.Voice(name=n)) for n in ("", "en", "en-US", "en_us"))
    assert not COQUI.supports(ir.Voice(name="fr"))
    with pytest.raises(SpeechUnavailable, match="cannot speak 'fr'"):
        speech.choose_engine(ir.Voice(name="fr"), "coqui")
    (folder / "config.json").write_text(json.dumps({"model": "xtts", "languages": ["fr", "de"]}),
                                        encoding="utf-8")
    assert COQUI.supports(ir.Voice(name="fr")) and not COQUI.supports(ir.Voice(name="en"))
    (folder / "config.json").write_text(json.dumps({"model": "tacotron2"}), encoding="utf-8")
    assert COQUI.supports(ir.Voice(name="nl"))


def test_fingerprint_without_a_model() -> None:
    printed = COQUI.fingerprint()
    assert printed["model"] == "missing" and printed["runtime"].startswith("coqui-tts ")


def test_keys_follow_the_config_and_the_checkpoint(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    folder = model_folder(tmp_path, CONFIG)
    monkeypatch.setenv(MODEL_ENV, str(folder))
    files = model_files()
    assert isinstance(files, speech_coqui.ModelFiles) and files.folder == folder
    request = SpeechRequest("The light has to stay on.", ir.Voice(name="en", pitch=40), None, 3)
    params = speech.engine_params(COQUI, request)
    assert json.loads(json.dumps(params)) == params
    assert params["engine"] == "coqui" and params["version"] == COQUI.version
    assert "config sha256:" in params["model"] and "model.pth sha256:" in params["model"]
    assert speech.engine_params(COQUI, request) == params

    keys = [params]
    config = folder / "config.json"
    stat = config.stat()
    config.write_text(json.dumps({**CONFIG, "phoneme_language": "en-gb"}), encoding="utf-8")
    os.utime(config, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime: hashed anyway
    keys.append(speech.engine_params(COQUI, request))
    checkpoint = folder / "model.pth"
    checkpoint.write_bytes(b"\0" * 65)
    keys.append(speech.engine_params(COQUI, request))
    touched = checkpoint.stat()
    os.utime(checkpoint, ns=(touched.st_atime_ns, touched.st_mtime_ns + 1_000_000_000))
    assert speech.engine_params(COQUI, request) == keys[-1]    # touched only: the same
    checkpoint.write_bytes(b"\1" * 65)     # the same size, other weights
    keys.append(speech.engine_params(COQUI, request))
    config.write_text(json.dumps(CONFIG), encoding="utf-8")
    keys.append(speech.engine_params(COQUI, request))
    models = [key["model"] for key in keys]
    assert len(set(models)) == len(models), models
    other = SpeechRequest("Then we keep it burning.", request.voice, None, 3)
    assert speech.engine_params(COQUI, other) != keys[-1]
