"""The built-in corpus readers: twitter, chitchat and pairs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from botframework import ConfigError, CorpusError, CorpusReader
from botframework.plugins import Parts, build_plugin_manager, collect_parts

SAMPLE = Path(__file__).parent.parent / "bots" / "twitter" / "sample.txt"


@pytest.fixture(scope="module")
def parts() -> Parts:
    return collect_parts(build_plugin_manager(block=["decoders.greedy"], entry_points=False))


def read(parts: Parts, name: str, path: Path | None = None, **options) -> list[list[str]]:
    args = dict(options, path=path) if path is not None else options
    reader = parts.corpus_readers.create(name, args, where="test")
    assert isinstance(reader, CorpusReader)
    return list(reader.conversations())


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


# --- twitter --------------------------------------------------------------------------------


def test_twitter_pairs_alternate_lines(parts: Parts, tmp_path: Path) -> None:
    path = write(tmp_path / "chat.txt", "hi there\nhello!\r\nhow are you?\nfine\n\n\n")
    assert read(parts, "twitter", path) == [["hi there", "hello!"], ["how are you?", "fine"]]


def test_twitter_reads_gzip(parts: Parts, tmp_path: Path) -> None:
    path = write(tmp_path / "chat.txt.gz", gzip.compress("ça va ?\noui 😀\n".encode()))
    assert read(parts, "twitter", path) == [["ça va ?", "oui 😀"]]


def test_twitter_shipped_sample(parts: Parts) -> None:
    conversations = read(parts, "twitter", SAMPLE)
    assert len(conversations) == 2000
    assert all(len(turns) == 2 and all(turns) for turns in conversations)


@pytest.mark.parametrize(
    "content, message",
    [
        ("a\nb\nc\n", r"odd number of lines \(3\)"),
        ("", "empty corpus"),
        ("\n\n", "empty corpus"),
        ("a\n\nb\nc\n", r"chat\.txt:2: empty line"),
        (b"a\nb\nc\n\xff\xfe oops\n", r"chat\.txt:4: not valid UTF-8"),
    ],
)
def test_twitter_errors_name_the_problem(
    parts: Parts, tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = write(tmp_path / "chat.txt", content)
    with pytest.raises(CorpusError, match=message):
        read(parts, "twitter", path)


def test_twitter_missing_file_and_path(parts: Parts, tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="nope.txt: no such corpus file"):
        read(parts, "twitter", tmp_path / "nope.txt")
    with pytest.raises(ConfigError, match="needs corpus.path"):
        read(parts, "twitter")


def test_twitter_broken_gzip(parts: Parts, tmp_path: Path) -> None:
    path = write(tmp_path / "chat.gz", b"not gzip at all")
    with pytest.raises(CorpusError, match="cannot read the corpus"):
        read(parts, "twitter", path)


# --- chitchat -------------------------------------------------------------------------------


def test_chitchat_yields_many_multi_turn_conversations(parts: Parts) -> None:
    conversations = read(parts, "chitchat")
    assert len(conversations) > 1000
    assert all(len(turns) >= 2 for turns in conversations)
    assert all(turn and "\n" not in turn and "  " not in turn for c in conversations for turn in c)


def test_chitchat_from_a_file_of_the_same_layout(parts: Parts, tmp_path: Path) -> None:
    def turn(*texts: str) -> list[dict]:
        return [{"text": text, "sender": "x"} for text in texts]

    data = {
        "one": {"messages": [turn("Hello", "How are\nyou?"), turn("fine"), turn("good")]},
        "short": {"messages": [turn("alone")]},
    }
    path = write(tmp_path / "dataset.json", json.dumps(data))
    assert read(parts, "chitchat", path) == [["Hello How are you?", "fine", "good"]]
    assert read(parts, "chitchat", path, min_turns=4) == []
    with pytest.raises(ConfigError, match="min_turns must be an integer of at least 2"):
        read(parts, "chitchat", min_turns=1)


# --- pairs ----------------------------------------------------------------------------------


def test_pairs_jsonl_prompt_reply_and_turns(parts: Parts, tmp_path: Path) -> None:
    lines = [
        json.dumps({"prompt": "hi", "reply": "hello"}),
        "",
        json.dumps({"turns": ["a", "b", "c"]}, ensure_ascii=False),
    ]
    path = write(tmp_path / "pairs.jsonl", "\n".join(lines) + "\n")
    assert read(parts, "pairs", path) == [["hi", "hello"], ["a", "b", "c"]]


def test_pairs_tsv_and_format_option(parts: Parts, tmp_path: Path) -> None:
    content = "hi\thello\nhow are you?\tfine\tgreat\n"
    assert read(parts, "pairs", write(tmp_path / "pairs.tsv", content)) == [
        ["hi", "hello"],
        ["how are you?", "fine", "great"],
    ]
    assert len(read(parts, "pairs", write(tmp_path / "pairs.txt", content), format="tsv")) == 2
    gz = write(tmp_path / "pairs.tsv.gz", gzip.compress(content.encode()))
    assert len(read(parts, "pairs", gz)) == 2


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("p.jsonl", '{"prompt": "a", "reply": "b"}\n{"prompt"\n', r"p\.jsonl:2: not valid JSON"),
        ("p.jsonl", '{"prompt": "a"}\n', r"p\.jsonl:1: missing 'reply'"),
        ("p.jsonl", '["a", "b"]\n', r"p\.jsonl:1: expected an object"),
        ("p.jsonl", '{"turns": ["a"]}\n', r"p\.jsonl:1: \"turns\" must be a list of at least 2"),
        ("p.jsonl", '{"prompt": "a", "reply": 3}\n', r"p\.jsonl:1: reply must be a string"),
        ("p.tsv", "a\tb\nno tab here\n", r"p\.tsv:2: expected prompt<TAB>reply"),
        ("p.tsv", "a\t \n", r"p\.tsv:1: column 2 is empty"),
        ("p.tsv", "\n\n", r"p\.tsv: empty corpus"),
    ],
)
def test_pairs_errors_name_the_line(
    parts: Parts, tmp_path: Path, name: str, content: str, message: str
) -> None:
    with pytest.raises(CorpusError, match=message):
        read(parts, "pairs", write(tmp_path / name, content))


def test_pairs_format_must_be_known(parts: Parts, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot tell the format of pairs.csv"):
        read(parts, "pairs", tmp_path / "pairs.csv")
    with pytest.raises(ConfigError, match="format must be one of jsonl, tsv"):
        read(parts, "pairs", tmp_path / "pairs.tsv", format="csv")
