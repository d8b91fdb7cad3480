"""The built-in reward rules against values computed by hand.

A "bias-only" model makes every value a closed form: all its weights are zero except the output
bias, set to log p for a chosen distribution p (so log p(token | anything) = log p[token]), and an
encoder whose final state is tanh(embedding of the last token read). A second check recomputes each
rule on the trained tiny bot with an independent token-by-token scorer, which pins down which turns
each rule reads.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from botframework.config import ConfigError, load_definition
from botframework.config.schema import BotConfig, ModelConfig
from botframework.model.seq2seq import Seq2Seq
from botframework.reinforce import RewardScorer, WeightedRule, build_reward_rules
from botframework_plugins.rewards.batch_rarity import BatchBigramRarity, BatchRarity
from botframework_plugins.rewards.ease_of_answering import EaseOfAnswering
from botframework_plugins.rewards.information_flow import InformationFlow
from botframework_plugins.rewards.reply_length import ReplyLength
from botframework_plugins.rewards.semantic_coherence import SemanticCoherence
from botframework_plugins.tokenizers.word import WordTokenizer

WORDS = "hello bye hi yo no i don't know have idea there"
EMBEDDINGS = {"hello": (1.0, 0.0), "bye": (0.0, 1.0), "hi": (1.0, 1.0), "yo": (2.0, 1.0), "no": (-1.0, 0.0)}
DULL = ["i don't know", "i have no idea"]
P_EOS = 0.4


@pytest.fixture(scope="module")
def tokenizer() -> WordTokenizer:
    tokenizer = WordTokenizer()
    tokenizer.train([WORDS], vocab_size=100)
    return tokenizer


def bias_only_model(tokenizer: WordTokenizer, probs: list[float]) -> Seq2Seq:
    config = ModelConfig(
        embedding_size=2, hidden_size=2, num_layers=1, dropout=0.0, reverse_source=False
    )
    model = Seq2Seq(tokenizer.vocab_size, config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        model.output.bias.copy_(torch.log(torch.tensor(probs)))
        # GRU gates are stacked (reset, update, new): update gate shut, so h = tanh(W_in x) = tanh(x).
        model.encoder.bias_ih_l0[2:4] = -30.0
        model.encoder.weight_ih_l0[4:6] = torch.eye(2)
        for word, vector in EMBEDDINGS.items():
            model.embedding.weight[tokenizer.encode(word)[0]] = torch.tensor(vector)
    return model.eval()


@pytest.fixture(scope="module")
def judge(tokenizer: WordTokenizer) -> Seq2Seq:
    size = tokenizer.vocab_size
    probs = [(1 - P_EOS) / (size - 1)] * size
    probs[tokenizer.eos_id] = P_EOS
    return bias_only_model(tokenizer, probs)


@pytest.fixture(scope="module")
def uniform(tokenizer: WordTokenizer) -> Seq2Seq:
    return bias_only_model(tokenizer, [1 / tokenizer.vocab_size] * tokenizer.vocab_size)


def scorer_for(rule, judge, tokenizer, extra=None) -> RewardScorer:
    return RewardScorer(
        [WeightedRule("rule", 1.0, rule)], judge, tokenizer, BotConfig(name="t"), DULL, extra
    )


def value(rule, judge, tokenizer, history, reply, extra=None) -> float:
    return scorer_for(rule, judge, tokenizer, extra).score(history, reply)["rule"]


def test_ease_of_answering_is_minus_mean_normalised_log_likelihood_of_dull_replies(
    tokenizer, judge
) -> None:
    word = math.log((1 - P_EOS) / (tokenizer.vocab_size - 1))
    expected = -((3 * word + math.log(P_EOS)) / 4 + (4 * word + math.log(P_EOS)) / 5) / 2
    assert value(EaseOfAnswering(), judge, tokenizer, ["hi"], "hello") == pytest.approx(expected)
    only_first = EaseOfAnswering(dull_replies=["i don't know"])
    assert value(only_first, judge, tokenizer, ["hi"], "yo") == pytest.approx(
        -(3 * word + math.log(P_EOS)) / 4
    )


def test_information_flow_compares_the_same_agents_consecutive_turns(tokenizer, judge) -> None:
    rule, t1, t2 = InformationFlow(), math.tanh(1.0), math.tanh(2.0)
    # [prompt, agent A, agent B] then A again: A's previous turn is "bye", not B's "hi".
    got = value(rule, judge, tokenizer, ["hello", "bye", "hi"], "yo")
    assert got == pytest.approx(-math.log(t1 / math.hypot(t2, t1)), rel=1e-5)
    assert value(rule, judge, tokenizer, ["hello", "bye"], "hi") == pytest.approx(
        0.5 * math.log(2), rel=1e-5
    )
    assert value(rule, judge, tokenizer, ["hello"], "hi") == 0.0  # no previous turn of its own


def test_information_flow_clamps_the_cosine_at_epsilon(tokenizer, judge) -> None:
    orthogonal = value(InformationFlow(), judge, tokenizer, ["bye", "x"], "hello")
    assert orthogonal == pytest.approx(math.log(100))
    opposite = value(InformationFlow(epsilon=0.1), judge, tokenizer, ["hello", "x"], "no")
    assert opposite == pytest.approx(math.log(10))


def test_semantic_coherence_adds_forward_and_backward_terms(tokenizer, judge, uniform) -> None:
    forward = (math.log((1 - P_EOS) / (tokenizer.vocab_size - 1)) + math.log(P_EOS)) / 2
    backward = -math.log(tokenizer.vocab_size)  # "bye" then EOS, each 1/V, over 2 tokens
    both = value(SemanticCoherence(), judge, tokenizer, ["bye"], "hello", {"reverse": uniform})
    assert both == pytest.approx(forward + backward)
    alone = value(SemanticCoherence(backward=False), judge, tokenizer, ["bye"], "hello")
    assert alone == pytest.approx(forward)
    with pytest.raises(LookupError, match="train BOT --reverse"):
        value(SemanticCoherence(), judge, tokenizer, ["bye"], "hello")


def stepwise(model: Seq2Seq, tokenizer, source: str, target: str) -> float:
    """log p(target | source) / tokens, one decoder step at a time (independent of the rules)."""
    ids = tokenizer.encode(source)
    state = model.start(model.encode(torch.tensor([ids]), torch.tensor([len(ids)])))
    token, total = tokenizer.bos_id, 0.0
    targets = tokenizer.encode(target) + [tokenizer.eos_id]
    with torch.no_grad():
        for next_token in targets:
            log_probs, state = model.step(torch.tensor([token]), state)
            total += float(log_probs[0, next_token])
            token = next_token
    return total / len(targets)


def test_rules_on_the_trained_tiny_bot(tiny_bot) -> None:
    model, tokenizer = tiny_bot.model, tiny_bot.tokenizer
    history, reply = ["how are you ?", "i am fine thanks", "good morning"], "i live in the cloud"

    def rule_value(rule) -> float:
        scorer = RewardScorer(
            [WeightedRule("r", 1.0, rule)], model, tokenizer, tiny_bot.trained_config, DULL,
            {"reverse": model},
        )
        return scorer.score(history, reply)["r"]

    ease = -sum(stepwise(model, tokenizer, reply, dull) for dull in DULL) / len(DULL)
    assert rule_value(EaseOfAnswering()) == pytest.approx(ease, rel=1e-4)
    coherence = stepwise(model, tokenizer, "good morning", reply) + stepwise(
        model, tokenizer, reply, "good morning"
    )
    assert rule_value(SemanticCoherence()) == pytest.approx(coherence, rel=1e-4)
    own, new = (
        model.encode(torch.tensor([ids]), torch.tensor([len(ids)])).hidden[-1, 0].detach()
        for ids in (tokenizer.encode("i am fine thanks"), tokenizer.encode(reply))
    )
    cosine = float(own @ new / (own.norm() * new.norm()))
    flow = -math.log(min(max(cosine, 0.01), 1.0))
    assert rule_value(InformationFlow()) == pytest.approx(flow, rel=1e-4)


def test_batch_rarity_pays_for_openings_few_replies_of_the_batch_share(tokenizer, judge) -> None:
    batch = ["i don't know", "I don't care.", "i like jazz", "hello there"]
    scorer = scorer_for(BatchRarity(first_words=2), judge, tokenizer)
    rewards = [scorer.score(["hi"], reply, batch)["rule"] for reply in batch]
    # openings (i, don't) x2, (i, like), (hello, there): 1 - 2/4, 1 - 2/4, 1 - 1/4, 1 - 1/4
    assert rewards == pytest.approx([0.5, 0.5, 0.75, 0.75])
    one_word = scorer_for(BatchRarity(first_words=1), judge, tokenizer)
    assert one_word.score(["hi"], "i like jazz", batch)["rule"] == pytest.approx(1 - 3 / 4)
    assert scorer.score(["hi"], "hello there")["rule"] == 0.0  # scored alone: no batch to beat


def test_batch_bigram_rarity_pays_for_word_pairs_no_other_reply_uses(tokenizer, judge) -> None:
    batch = ["Do you like jazz?", "do you like rock", "I like jazz a lot", "ok", "do you like rock"]
    scorer = scorer_for(BatchBigramRarity(), judge, tokenizer)
    rewards = [scorer.score(["hi"], reply, batch)["rule"] for reply in batch]
    # (do you) (you like) in 3 replies; (like jazz) in 2; (like rock) in 2 (the same reply twice);
    # (i like) (jazz a) (a lot) in 1; "ok" has no bigram
    assert rewards == pytest.approx([0 / 3, 0 / 3, 3 / 4, 0.0, 0 / 3])
    assert scorer.score(["hi"], "I like jazz a lot", ["I like jazz a lot", "i like it"])["rule"] == pytest.approx(3 / 4)
    # a reply the batch does not hold: (i like) is in another reply, (like jazz) (jazz a) (a lot) not
    assert scorer.score(["hi"], "I like jazz a lot", ["i like it", "ok then"])["rule"] == pytest.approx(3 / 4)
    assert scorer.score(["hi"], "I like jazz a lot")["rule"] == 0.0  # scored alone: no batch to beat


def test_reply_length_pays_nothing_inside_the_band_and_loses_per_target_outside(
    tokenizer, judge
) -> None:
    scorer = scorer_for(ReplyLength(target=4, tolerance=1), judge, tokenizer)
    # words: 3, 5 (inside 4 +- 1), 6 (one past the band), 1 (two short of it); punctuation not counted
    replies = ["I like jazz.", "i like jazz a lot", "i like jazz a lot , really!", "ok!"]
    rewards = [scorer.score(["hi"], reply)["rule"] for reply in replies]
    assert rewards == pytest.approx([0.0, 0.0, -1 / 4, -2 / 4])
    exact = scorer_for(ReplyLength(target=2), judge, tokenizer)
    assert exact.score(["hi"], "hello there")["rule"] == 0.0
    assert exact.score(["hi"], "hello there you")["rule"] == pytest.approx(-1 / 2)


def test_default_rules_and_weights_when_the_yaml_lists_none(tiny_bot_yaml: Path) -> None:
    from botframework.bot import LoadedPlugins

    rules = build_reward_rules(LoadedPlugins(load_definition(tiny_bot_yaml)))
    assert [(r.label, r.weight) for r in rules] == [
        ("ease_of_answering", 0.25),
        ("information_flow", 0.25),
        ("semantic_coherence", 0.5),
    ]
    assert rules[2].required_models == ("reverse",)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{name: information_flow, epsilon: 2}", r"rewards.0: reward rule 'information_flow': epsilon must be in \(0, 1\), got 2"),
        ("{name: ease_of_answering, dull_replies: []}", r"reward rule 'ease_of_answering': dull_replies must be a non-empty list"),
        ("{name: semantic_coherence, backward: maybe}", r"reward rule 'semantic_coherence': backward must be true or false"),
        ("{name: batch_rarity, first_words: 0}", r"reward rule 'batch_rarity': first_words must be a positive integer"),
        ("{name: reply_length}", r"reward rule 'reply_length'.*target"),
        ("{name: reply_length, target: 0}", r"reward rule 'reply_length': target must be a positive number of words, got 0"),
        ("{name: reply_length, target: 7, tolerance: -1}", r"reward rule 'reply_length': tolerance must be a number of words >= 0, got -1"),
        ("{name: reply_length, target: .nan}", r"reward rule 'reply_length': target must be a positive number of words, got nan"),
        ("{name: reply_length, target: 7, tolerance: .inf}", r"reward rule 'reply_length': tolerance must be a number of words >= 0, got inf"),
    ],
)
def test_bad_rule_arguments_fail_at_load(tmp_path: Path, entry: str, message: str) -> None:
    from botframework.bot import LoadedPlugins

    path = tmp_path / "bot.yaml"
    path.write_text(f"rewards:\n  - {entry}\n")
    with pytest.raises(ConfigError, match=message):
        LoadedPlugins(load_definition(path))


def test_a_rule_returning_a_non_number_is_named(tokenizer, judge) -> None:
    scorer = scorer_for(lambda ctx: math.nan, judge, tokenizer)
    with pytest.raises(ValueError, match="reward rule 'rule' returned nan, not a finite number"):
        scorer.score(["hi"], "hello")


def test_a_missing_model_error_says_how_to_get_it_and_how_the_rule_does_without() -> None:
    from botframework.reinforce import check_required_models

    class NeedsAnOracle:
        required_models = ("oracle",)
        required_models_hint = "or set `oracle: off`"

        def __call__(self, ctx) -> float:
            return 0.0

    rules = [
        WeightedRule("semantic_coherence", 0.5, SemanticCoherence()),
        WeightedRule("oracle_rule", 1.0, NeedsAnOracle()),
    ]
    with pytest.raises(
        ConfigError,
        match=r"^bot.yaml: rewards: 'semantic_coherence' needs the model\(s\) reverse, which this bot "
        r"does not have \(train it with `botframework train BOT --reverse`, or give the rule "
        r"`backward: false`\)$",
    ):
        check_required_models(rules, [], "bot.yaml")
    with pytest.raises(
        ConfigError,
        match=r"^bot.yaml: rewards: 'oracle_rule' needs the model\(s\) oracle, which this bot does "
        r"not have \(or set `oracle: off`\)$",
    ):
        check_required_models(rules, ["reverse"], "bot.yaml")
    check_required_models(rules[:1], ["reverse"], "bot.yaml")
