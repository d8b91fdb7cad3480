"""The bots ``serve`` answers with: loaded from the command line, each decoding in a child process
(unless ``--no-decode-process``), so the server process's event loop never waits for torch."""

from __future__ import annotations

import argparse
from functools import partial
from typing import TYPE_CHECKING

from botframework.cli.decoding_options import configure_decoding
from botframework.cli.errors import CommandError

if TYPE_CHECKING:
    from botframework.bot import Bot
    from botframework.messenger.decode_process import DecodeProcess
    from botframework.messenger.served import ServedBot

#: The command-line options that decide how a bot is built (what its decode process needs).
BOT_OPTIONS = ("overrides", "checkpoint", "beam_size", "antilm", "n_bonus")


def load_bot(path: str, options: argparse.Namespace) -> Bot:
    """The bot at ``path`` as ``serve`` runs it: ``--set`` overrides, ``--checkpoint`` and the
    decoding options applied."""
    from botframework.bot import Bot

    bot = Bot.load(path, options.overrides, options.checkpoint)
    configure_decoding(bot, options)
    return bot


def load_decoding_bot(path: str, options: argparse.Namespace, torch_threads: int) -> Bot:
    """:func:`load_bot` in a decode process, with the server process's share of the cores."""
    import torch

    torch.set_num_threads(torch_threads)
    return load_bot(path, options)


def serve_bots(
    bots: list[Bot], args: argparse.Namespace
) -> tuple[list[ServedBot], list[DecodeProcess]]:
    """``bots`` as served, and the decode processes they use (started and loaded; empty with
    ``--no-decode-process``, else the bots' own weights are released). The caller closes the
    processes after serving."""
    from botframework.messenger.served import ServedBot

    if args.no_decode_process:
        return [ServedBot.from_bot(bot) for bot in bots], []
    processes: list[DecodeProcess] = []
    try:
        for path, bot in zip(args.bots, bots, strict=True):
            processes.append(_start_decode_process(path, bot, args))
    except BaseException:
        close_all(processes)
        raise
    served = [ServedBot.from_bot(b, p) for b, p in zip(bots, processes, strict=True)]
    for bot in bots:
        bot.release_models()  # the decode processes hold their own copies
    return served, processes


def close_all(processes: list[DecodeProcess]) -> None:
    for process in processes:
        process.close()


def _start_decode_process(path: str, bot: Bot, args: argparse.Namespace) -> DecodeProcess:
    import torch

    from botframework.messenger.decode_process import DecodeProcess, DecodeProcessDied

    options = argparse.Namespace(**{name: getattr(args, name, None) for name in BOT_OPTIONS})
    options.overrides = list(options.overrides or [])
    loader = partial(load_decoding_bot, path, options, torch.get_num_threads())
    process = DecodeProcess(loader, name=bot.config.name)
    try:
        process.start()
    except BaseException as error:
        process.close()
        if isinstance(error, DecodeProcessDied):
            raise CommandError(f"{path}: {error}") from None
        raise
    return process
