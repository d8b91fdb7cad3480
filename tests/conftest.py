"""Shared fixtures: a tiny twitter-format corpus and one tiny bot trained on it for the whole session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hook_coverage import pytest_collection_modifyitems, record_hook_calls  # noqa: F401
from tests.postgres_fixtures import postgres_cluster, postgres_url, store_url  # noqa: F401

TINY_PAIRS = [
    ("hi", "hello there"),
    ("how are you ?", "i am fine thanks"),
    ("what is your name ?", "my name is bot"),
    ("where do you live ?", "i live in the cloud"),
    ("do you like music ?", "yes i love jazz"),
    ("what time is it ?", "time for tea"),
    ("tell me a joke", "why did the chicken cross the road"),
    ("good morning", "good morning to you"),
    ("good night", "sleep well"),
    ("are you a robot ?", "i am a small model"),
    ("what do you eat ?", "i eat words"),
    ("do you have a dog ?", "no but i want a cat"),
    ("what is the weather like ?", "sunny and warm"),
    ("can you help me ?", "of course i can"),
    ("bye", "see you later"),
    ("thank you", "you are welcome"),
    ("who made you ?", "a team of engineers"),
    ("what is your favourite color ?", "blue like the sea"),
    ("do you play games ?", "chess is my favourite"),
    ("how old are you ?", "i am brand new"),
]


def write_twitter_corpus(path: Path, pairs: list[tuple[str, str]] = TINY_PAIRS) -> Path:
    path.write_text("".join(f"{prompt}\n{reply}\n" for prompt, reply in pairs), encoding="utf-8")
    return path


def write_bot_yaml(directory: Path, name: str = "tiny", extra: str = "") -> Path:
    """A tiny bot over ``corpus.txt`` in ``directory``, with its workspace there too."""
    path = directory / f"{name}.yaml"
    path.write_text(
        f"""
name: {name}
workspace: works/{name}
corpus:
  reader: twitter
  path: corpus.txt
  validation_fraction: 0.0
tokenizer:
  name: word
  vocab_size: 200
model:
  embedding_size: 32
  hidden_size: 64
  num_layers: 1
  dropout: 0.0
  sampled_softmax: 0
training:
  seed: 7
  batch_size: 10
  learning_rate: 0.01
  steps_per_checkpoint: 50
  max_steps: 150
decoding:
  decoder: greedy
  max_length: 12
{extra}
""",
        encoding="utf-8",
    )
    return path


def install_plugin(directory: Path, module: str, source: str, entry_point: str) -> None:
    """Write ``module`` and a real ``.dist-info`` whose entry point in group 'botframework' names it.

    Put ``directory`` on ``sys.path`` (e.g. ``monkeypatch.syspath_prepend``) to install it.
    """
    (directory / f"{module}.py").write_text(source, encoding="utf-8")
    dist_info = directory / f"{module}-0.1.dist-info"
    dist_info.mkdir()
    name = module.replace("_", "-")
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist_info / "entry_points.txt").write_text(f"[botframework]\n{entry_point} = {module}\n")


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models: a second intra-op thread only adds synchronisation (and contention)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_bot_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bot YAML whose model has been trained (once per session) until it recites TINY_PAIRS."""
    from botframework.cli import main

    directory = tmp_path_factory.mktemp("tiny_bot")
    write_twitter_corpus(directory / "corpus.txt")
    path = write_bot_yaml(directory)
    assert main(["train", str(path), "--no-progress"]) == 0
    return path


@pytest.fixture(scope="session")
def tiny_bot(tiny_bot_yaml: Path):
    from botframework import Bot

    return Bot.load(tiny_bot_yaml)
