"""The Coqui voice backend, synthesizing: a tiny VITS model with random weights, built from
a config here, saved, and loaded back through Coqui's own loading path (`Synthesizer`, as
`filmlang.backends.speech.coqui` does), speaks a line in a built film.

Runs where the `filmlang[coqui]` extra is installed (coqui-tts, with torch); skipped
elsewhere. Where torchaudio is missing (PyPI has none for the CPU build of torch 2.13),
the processes that import Coqui get the stand-in in tests/stand_ins (its README says why).
The model is made and the film built in child processes, so nothing of Coqui, torch or the
stand-in is left in the test process.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT
from filmlang import ir
from filmlang.backends.speech import engines as speech
from filmlang.backends.speech.engines import SpeechRequest
from filmlang.jobs import file_digest
from filmlang.link.ffmpeg import ffmpeg_exe

pytestmark = pytest.mark.skipif(find_spec("TTS") is None or find_spec("torch") is None,
                                reason="the filmlang[coqui] extra (coqui-tts, torch) is not "
                                       "installed")
STAND_INS = ROOT / "tests" / "stand_ins"

MAKE_MODEL = textwrap.dedent('''
    import sys
    from pathlib import Path

    import torch
    from TTS.tts.configs.shared_configs import CharactersConfig
    from TTS.tts.configs.vits_config import VitsArgs, VitsConfig
    from TTS.tts.models.vits import Vits

    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    args = VitsArgs(
        hidden_channels=16, hidden_channels_ffn_text_encoder=32, num_heads_text_encoder=2,
        num_layers_text_encoder=1, num_layers_flow=1, num_layers_posterior_encoder=1,
        resblock_type_decoder="2", resblock_kernel_sizes_decoder=[3],
        resblock_dilation_sizes_decoder=[[1, 3]], upsample_rates_decoder=[8, 8, 4],
        upsample_initial_channel_decoder=16, upsample_kernel_sizes_decoder=[16, 16, 8],
        spec_segment_size=8, use_sdp=False, init_discriminator=False)
    config = VitsConfig(
        model_args=args, use_phonemes=False, text_cleaner="english_cleaners",
        add_blank=True, characters=CharactersConfig(
            characters="abcdefghijklmnopqrstuvwxyz", punctuations="!'(),-.:;? ",
            pad="<PAD>", eos="<EOS>", bos="<BOS>", blank="<BLNK>",
            characters_class="TTS.tts.models.vits.VitsCharacters"))
    config.audio.sample_rate = 22050
    torch.manual_seed(int(sys.argv[2]))
    model = Vits(config)
    config.save_json(str(folder / "config.json"))
    torch.save({"model": model.state_dict(), "config": config.to_dict()}, folder / "model.pth")
''')

FILM = '''film "Tiny Coqui" {
    size 160x90
    fps 8
    seed 3
}

character MARA {
    look "keeper, yellow raincoat"
    voice "coqui:voices/tiny" rate=150
}

scene storm "EXT. LIGHTHOUSE - NIGHT" {
    music none
    ambience none
    shot close_up MARA {
        pause 1s
        MARA: "The light has to stay on."
    }
}
'''


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    if find_spec("torchaudio") is None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(STAND_INS), *filter(None, [env.get("PYTHONPATH")])])
    return env


def make_model(folder: Path, seed: int = 0) -> Path:
    done = subprocess.run([sys.executable, "-c", MAKE_MODEL, str(folder), str(seed)],
                          env=child_env(), capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


def filmc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "filmlang.cli", *args], cwd=cwd,
                          env=child_env(), capture_output=True, text=True, timeout=600,
                          check=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("coqui")
    make_model(folder / "voices" / "tiny")
    (folder / "tiny.film").write_text(FILM, encoding="utf-8")
    done = filmc("build", "tiny.film", "-o", "tiny.mp4", "--cache", "cache", cwd=folder)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return folder


def test_a_line_of_a_coqui_voice_comes_out_in_the_film(built: Path) -> None:
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(built / "tiny.mp4"), "-vn",
                          "-ac", "1", "-ar", "16000", "-f", "f32le", "-"],
                         capture_output=True, check=True).stdout
    audio = np.frombuffer(raw, dtype=np.float32)
    before, after = audio[: 16000 * 9 // 10], audio[16000 * 11 // 10:]
    # Silence in the pause before the line, sound after it: the tiny model's line.
    assert float(np.abs(before).max()) < 1e-3
    assert float(np.sqrt(np.mean(after ** 2))) > 0.01


def test_the_speech_key_carries_the_model_files_hashes(built: Path) -> None:
    voice = built / "voices" / "tiny"
    request = SpeechRequest("The light has to stay on.", ir.Voice(model=f"coqui:{voice}"))
    params = speech.engine_params(speech.ENGINES["coqui"], request)
    assert file_digest(voice / "model.pth") in params["model"]
    assert hashlib.sha256((voice / "config.json").read_bytes()).hexdigest() in params["model"]
    # Where the model lies is not keyed: a copy elsewhere keys the same.
    copy = built / "elsewhere"
    shutil.copytree(voice, copy)
    moved = SpeechRequest(request.text, ir.Voice(model=f"coqui:{copy}"))
    assert speech.engine_params(speech.ENGINES["coqui"], moved) == params


def test_a_missing_model_is_e0603_naming_the_file(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "voices" / "tiny", seed=1)
    (folder / "model.pth").unlink()
    (tmp_path / "tiny.film").write_text(FILM, encoding="utf-8")
    done = filmc("build", "tiny.film", "-o", "tiny.mp4", "--cache", "cache", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "E0603" in done.stdout + done.stderr
    assert f"{folder} has no checkpoint" in done.stdout + done.stderr
    assert not (tmp_path / "tiny.mp4").exists()
