"""Suggested claims against gold on held-out synthetic articles, and the time to suggest.

    python bench/bench_suggest.py [--docs 400] [--test-fraction 0.2] [--repeat 30]

1. makes N synthetic news articles (vocabulary from bench/generate.py, all invented) whose
   sentences attribute claims in the ways news does: "X said in a statement that C",
   "C, X said", "According to X, C", "X denied that C", "X confirmed that C", "X questioned
   whether C", "X cited a military source as saying C", a pronoun after the actor was
   named ("It said that C"), aliases of the actors, attributions no default cue knows
   ("X wrote that C", "In X's words, C"), procedural statements annotators leave out
   ("X said it would give details later", "X declined to comment"), and filler. Each
   article's gold claims are the reported contents with their actor and stance;
2. splits the articles (the last fraction held out), and on the held-out ones compares the
   suggestions with gold: precision and recall with spans matched one to one by overlap
   (largest overlap first) and exactly, and actor and stance accuracy on the overlap
   matches; for the attribution-cue rules alone and for rules + the model trained on the
   other articles' gold (annotator/suggester/model.py, the code `annotator suggest train`
   runs);
3. times suggesting for one 10,000-character article (parse, rules, model; no cache):
   the median of --repeat runs after a warm-up. Target: under 50 ms. Exit status 1 when
   the target is missed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402

from annotator import labelscheme  # noqa: E402
from annotator.suggester import model as suggester_model  # noqa: E402
from annotator.suggester import rules as suggester_rules  # noqa: E402
from annotator.suggester import text as suggester_text  # noqa: E402

TARGET_MS = 50.0
SEED = 20261122
ALIASES = {
    "Ministry of Coastal Affairs": ["the coastal ministry"],
    "Northgate Defence Office": ["the Defence Office"],
    "Mayor Tomas Vidal": ["Vidal"],
    "River Delta police": ["delta police"],
    "Signal Watch monitoring group": ["Signal Watch"],
}
ACTORS = [a for a in generate.ACTORS if not any(ord(ch) > 0x2000 for ch in a)]
PRONOUN = {a: "It" for a in ACTORS}
PRONOUN.update({"Mayor Tomas Vidal": "He", "Relief coordinator Ana Brel": "She",
                "Independent analyst Mira Osei": "She"})


def _name(rng: random.Random, actor: str) -> str:
    forms = [actor, *ALIASES.get(actor, [])]
    return rng.choice(forms)


def _capital(text: str) -> str:
    return text[0].upper() + text[1:]


def make_article(rng: random.Random, index: int) -> suggester_model.TrainingDocument:
    """One article and its gold claims (LabelledSpan: start, end, stance, actor)."""
    b = generate._Builder()
    gold: list[suggester_model.LabelledSpan] = []

    def claim(actor: str, stance: str, before: str, after: str = ".",
              capital: bool = False) -> None:
        clause = generate._clause(rng)
        b.add(before)
        span = b.add(_capital(clause) if capital else clause)
        b.add(after + " ")
        gold.append(suggester_model.LabelledSpan(span.start, span.end, stance, actor))

    b.add(f"{_capital(generate._clause(rng))}\n")  # the title: no claim
    for _ in range(rng.randint(8, 14)):
        actor = rng.choice(ACTORS)
        name = _name(rng, actor)
        roll = rng.random()
        if roll < 0.12:
            claim(actor, "asserts", f"{_capital(name)} said in a statement that ")
        elif roll < 0.22:
            b.add("\u201c")
            clause = _capital(generate._clause(rng))
            span = b.add(clause)
            b.add(f",\u201d {name} {rng.choice(['said', 'claimed', 'told reporters'])}. ")
            gold.append(suggester_model.LabelledSpan(span.start, span.end, "asserts", actor))
        elif roll < 0.30:
            claim(actor, "asserts", f"According to {name}, ", capital=False)
        elif roll < 0.38:
            cue = rng.choice(["denied", "rejected claims", "dismissed reports"])
            claim(actor, "denies", f"{_capital(name)} {cue} that ")
        elif roll < 0.45:
            claim(actor, "confirms", f"{_capital(name)} confirmed that ")
        elif roll < 0.51:
            cue = rng.choice(["questioned whether", "cast doubt on reports that"])
            claim(actor, "questions", f"{_capital(name)} {cue} ")
        elif roll < 0.56:
            claim(actor, "asserts", f"{_capital(name)} cited a military source as saying ")
        elif roll < 0.63:  # a pronoun: the actor was named in the sentence before
            b.add(f"{_capital(name)} spoke after the briefing. ")
            claim(actor, "asserts", f"{PRONOUN[actor]} said that ")
        elif roll < 0.70:  # no default cue knows these
            claim(actor, "asserts", rng.choice([f"{_capital(name)} wrote that ",
                                                f"In the words of {name}, "]))
        elif roll < 0.78:  # procedural: annotators leave these out
            b.add(rng.choice([f"{_capital(name)} said it would give more details later. ",
                              f"{_capital(name)} declined to comment. ",
                              f"{_capital(name)} said it was monitoring the situation. "]))
        else:
            b.add(rng.choice(generate.FILLER) + " ")
    return suggester_model.TrainingDocument(index, b.text().rstrip(), gold)


def match(suggested: list[suggester_rules.Suggestion],
          gold: list[suggester_model.LabelledSpan]) -> tuple[list[tuple], int]:
    """One-to-one overlap matches, largest overlap first: [(suggestion, gold)], exact count."""
    pairs = sorted(((min(s.end, g.end) - max(s.start, g.start), i, j)
                    for i, s in enumerate(suggested) for j, g in enumerate(gold)
                    if s.start < g.end and g.start < s.end), reverse=True)
    used_s, used_g, matched = set(), set(), []
    for _, i, j in pairs:
        if i not in used_s and j not in used_g:
            used_s.add(i)
            used_g.add(j)
            matched.append((suggested[i], gold[j]))
    exact = sum(1 for s in suggested for g in gold if (s.start, s.end) == (g.start, g.end))
    return matched, exact


def evaluate(articles, rules, model) -> dict[str, float]:
    n_suggested = n_gold = n_matched = n_exact = actor_ok = stance_ok = 0
    for article in articles:
        found = suggester_model.suggest(suggester_text.parse(article.text), rules, model)
        matched, exact = match(found, article.claims)
        n_suggested += len(found)
        n_gold += len(article.claims)
        n_matched += len(matched)
        n_exact += exact
        actor_ok += sum(1 for s, g in matched if s.actor == g.actor)
        stance_ok += sum(1 for s, g in matched if s.stance == g.stance)

    def ratio(a: int, b: int) -> float:
        return a / b if b else float("nan")

    p, r = ratio(n_matched, n_suggested), ratio(n_matched, n_gold)
    pe, re_ = ratio(n_exact, n_suggested), ratio(n_exact, n_gold)
    return {"suggested": n_suggested, "gold": n_gold, "precision": p, "recall": r,
            "f1": 2 * p * r / (p + r) if p + r else 0.0, "exact_precision": pe,
            "exact_recall": re_, "actor_accuracy": ratio(actor_ok, n_matched),
            "stance_accuracy": ratio(stance_ok, n_matched)}


def long_article(rng: random.Random, length: int = 10_000) -> str:
    text = ""
    index = 10**6
    while len(text) < length:
        text += make_article(rng, index).text.split("\n", 1)[1] + " "
        index += 1
    cut = text.rfind(". ", 0, length)
    return text[: cut + 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=400)
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)

    rng = random.Random(SEED)
    articles = [make_article(rng, i) for i in range(args.docs)]
    n_test = max(1, round(args.docs * args.test_fraction))
    train, test = articles[:-n_test], articles[-n_test:]
    scheme = labelscheme.default_scheme()
    actors = [(a, ALIASES.get(a, [])) for a in ACTORS]
    rules = suggester_rules.Rules(scheme, actors)
    print(f"{args.docs} synthetic articles ({sum(len(a.claims) for a in articles)} gold "
          f"claims); {len(train)} to train on, {len(test)} held out")

    started = time.perf_counter()
    model, scores = suggester_model.train(train)
    print(f"model trained in {time.perf_counter() - started:.1f} s; its own held-out "
          f"sentence scores: claim sentence F1 "
          f"{scores['claim_sentence']['f1']:.3f}, stance accuracy "
          f"{scores['stance']['accuracy']:.3f}, actor accuracy "
          f"{scores['actor']['accuracy']:.3f}")
    print()
    print(f"{'held-out articles':<16} {'suggested':>9} {'gold':>5} {'P':>6} {'R':>6} "
          f"{'F1':>6} {'P exact':>8} {'R exact':>8} {'actor':>6} {'stance':>7}")
    for name, fitted in (("rules", None), ("rules + model", model)):
        m = evaluate(test, rules, fitted)
        print(f"{name:<16} {m['suggested']:>9} {m['gold']:>5} {m['precision']:>6.3f} "
              f"{m['recall']:>6.3f} {m['f1']:>6.3f} {m['exact_precision']:>8.3f} "
              f"{m['exact_recall']:>8.3f} {m['actor_accuracy']:>6.3f} "
              f"{m['stance_accuracy']:>7.3f}")
    print("(P/R: spans matched one to one by overlap; exact: same start and end; actor and "
          "stance: accuracy on the overlap matches)")

    text = long_article(random.Random(SEED + 1))
    timings, cpu = {}, {}
    for name, fitted in (("rules", None), ("rules + model", model)):
        suggester_model.suggest(suggester_text.parse(text), rules, fitted)  # warm-up
        runs, cpu_runs = [], []
        for _ in range(args.repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            suggester_model.suggest(suggester_text.parse(text), rules, fitted)
            runs.append((time.perf_counter() - started) * 1000)
            cpu_runs.append((time.process_time() - started_cpu) * 1000)
        timings[name], cpu[name] = statistics.median(runs), statistics.median(cpu_runs)
    print()
    worst = max(timings.values())
    for name, ms in timings.items():
        print(f"time to suggest for one {len(text):,}-character article, {name}: "
              f"{ms:.1f} ms wall, {cpu[name]:.1f} ms CPU (median of {args.repeat})")
    print(f"(load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
          "cores; the API caches each document's suggestions, so this is the first request)")
    verdict = "PASS" if worst < TARGET_MS else "FAIL"
    print(f"{verdict}: {worst:.1f} ms, target < {TARGET_MS:.0f} ms")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
