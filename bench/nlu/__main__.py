"""`python -m bench.nlu`: intent, entity and language-ID quality on held-out data, parse latency, training time.

Trains one model from the project's data (timed), then:
- per language: intent accuracy and macro-F1, entity F1 for `service_category` and `city` on
  `bench/nlu/heldout/<lang>.yml` (messages the training data never saw);
- language identification on shared/data/langid_eval.jsonl and the chat sets (bench/nlu/langid_eval.py);
- `/model/parse` latency p50/p95 over HTTP against a real `rasa run`.
Figures are printed and written to bench/nlu/last_run.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HELDOUT = ROOT / "bench" / "nlu" / "heldout"
LANGS = ("en", "ar", "fa", "ps", "sr")
ENTITY_TYPES = ("service_category", "city")


def load_heldout(language: str) -> list[Any]:
    from rasa.shared.nlu.training_data.loading import load_data

    return [m for m in load_data(str(HELDOUT / f"{language}.yml")).intent_examples]


def macro_f1(pairs: list[tuple[str, str]]) -> float:
    labels = {gold for gold, _ in pairs}
    scores = []
    for label in labels:
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def entity_f1(gold: list[set[tuple[str, str]]], predicted: list[set[tuple[str, str]]], kind: str) -> float:
    tp = fp = fn = 0
    for g, p in zip(gold, predicted, strict=True):
        g = {e for e in g if e[0] == kind}
        p = {e for e in p if e[0] == kind}
        tp += len(g & p)
        fp += len(p - g)
        fn += len(g - p)
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0


async def evaluate_nlu(model: Path) -> dict[str, Any]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    results: dict[str, Any] = {}
    confidences: dict[str, list[float]] = {"right": [], "wrong": []}
    for language in LANGS:
        examples = load_heldout(language)
        pairs, gold_entities, predicted_entities, errors = [], [], [], Counter()
        for example in examples:
            parsed = await agent.parse_message(example.get("text"))
            gold = example.get("intent")
            predicted = parsed["intent"]["name"]
            pairs.append((gold, predicted))
            confidences["right" if gold == predicted else "wrong"].append(parsed["intent"]["confidence"])
            if gold != predicted:
                errors[(gold, predicted)] += 1
            gold_entities.append({(e["entity"], str(e.get("value"))) for e in example.get("entities", [])
                                  if e["entity"] in ENTITY_TYPES})
            predicted_entities.append({(e["entity"], str(e.get("value"))) for e in parsed.get("entities", [])
                                       if e["entity"] in ENTITY_TYPES})
        results[language] = {
            "messages": len(examples),
            "intent_accuracy": round(sum(g == p for g, p in pairs) / len(pairs), 3),
            "intent_macro_f1": round(macro_f1(pairs), 3),
            **{f"entity_f1_{k}": round(entity_f1(gold_entities, predicted_entities, k), 3) for k in ENTITY_TYPES},
            "top_confusions": [f"{g}->{p} x{n}" for (g, p), n in errors.most_common(4)],
        }
    results["fallback_share_of_right_below_threshold"] = {
        str(t): round(sum(c < t for c in confidences["right"]) / max(1, len(confidences["right"])), 3)
        for t in (0.2, 0.25, 0.3, 0.4)}
    return results


def parse_latency(model: Path, texts: list[str]) -> dict[str, float]:
    from bot.runner import Stack, free_port

    with tempfile.TemporaryDirectory() as folder:
        stack = Stack(model=model, rasa_port=free_port(), actions_port=free_port(), log_dir=Path(folder))
        stack.start()
        try:
            url = f"{stack.rasa_url}/model/parse"
            timings = []
            for i, text in enumerate(texts):
                body = json.dumps({"text": text}).encode()
                request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
                started = time.perf_counter()
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
                if i >= 20:  # warm-up
                    timings.append((time.perf_counter() - started) * 1000)
        finally:
            stack.stop()
    timings.sort()
    return {"requests": len(timings), "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.nlu", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="use this model instead of training one")
    parser.add_argument("--no-latency", action="store_true")
    args = parser.parse_args(argv)
    from bot.runner import train

    figures: dict[str, Any] = {}
    model = args.model
    if model is None:
        out = Path(tempfile.mkdtemp(prefix="putokaz-bench-"))
        started = time.perf_counter()
        model = train(force=True, out=out, quiet=True)
        figures["training_seconds"] = round(time.perf_counter() - started, 1)
        if model is None:
            print("training failed", file=sys.stderr)
            return 1
    figures["nlu"] = asyncio.run(evaluate_nlu(model))
    try:
        from bench.nlu.langid_eval import evaluate

        figures["language_id"] = evaluate()
    except ImportError:
        pass
    if not args.no_latency:
        texts = [m.get("text") for lang in LANGS for m in load_heldout(lang)]
        figures["parse_latency"] = parse_latency(model, texts)
    print_figures(figures)
    (ROOT / "bench" / "nlu" / "last_run.json").write_text(
        json.dumps(figures, indent=2, ensure_ascii=False, default=str))
    return 0


def print_figures(figures: dict[str, Any]) -> None:
    if "training_seconds" in figures:
        print(f"training: {figures['training_seconds']} s")
    print(f"{'lang':5} {'n':>4} {'intent acc':>10} {'macro-F1':>9} {'F1 category':>12} {'F1 place':>9}  top confusions")
    for language in LANGS:
        r = figures["nlu"][language]
        print(f"{language:5} {r['messages']:>4} {r['intent_accuracy']:>10.3f} {r['intent_macro_f1']:>9.3f} "
              f"{r['entity_f1_service_category']:>12.3f} {r['entity_f1_city']:>9.3f}  {', '.join(r['top_confusions'])}")
    print("share of correctly classified held-out messages below a fallback threshold:",
          figures["nlu"]["fallback_share_of_right_below_threshold"])
    lid = figures.get("language_id")
    if lid:
        print("language ID:", json.dumps(lid, ensure_ascii=False, default=str)[:1500])
    if "parse_latency" in figures:
        p = figures["parse_latency"]
        print(f"/model/parse over HTTP: p50 {p['p50_ms']} ms, p95 {p['p95_ms']} ms ({p['requests']} requests)")


if __name__ == "__main__":
    sys.exit(main())
