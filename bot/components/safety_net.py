"""Rasa component: unmistakable danger words always mean `express_distress`, whatever the classifier says.

A statistical classifier can miss a two-word cry for help ("بدي انتحر"); missing it is the worst
error the assistant can make. The `danger` lookup tables in nlu_data/<lang>/safety.yml list
phrases that only ever mean danger (suicide, rape, being beaten right now...); a message that
contains one is sent down the safety path: emergency numbers and an urgent human.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.utils.io import dump_obj_as_json_to_file, read_json_file

from bot.components.normalise import words

LOOKUP = "danger"
INTENT_NAME = "express_distress"
SAFE_INTENTS = ("express_distress", "child_alone", "ask_emergency")


def folded_phrase(text: str) -> tuple[str, ...]:
    return tuple(w for w, _, _ in words(text))


def contains(message_words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(message_words[i:i + n] == phrase for i in range(len(message_words) - n + 1))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SafetyNet(GraphComponent):
    FILE = "danger_phrases.json"

    def __init__(self, storage: ModelStorage, resource: Resource, phrases: list[tuple[str, ...]] | None = None) -> None:
        self._storage, self._resource = storage, resource
        self.phrases = phrases or []

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SafetyNet:
        return cls(model_storage, resource)

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> SafetyNet:
        try:
            with model_storage.read_from(resource) as folder:
                return cls(model_storage, resource, [tuple(p) for p in read_json_file(folder / cls.FILE)])
        except (ValueError, FileNotFoundError):
            return cls(model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        phrases = {folded_phrase(element) for table in training_data.lookup_tables if table.get("name") == LOOKUP
                   for element in table.get("elements", [])}
        self.phrases = sorted(p for p in phrases if p)
        with self._storage.write_to(self._resource) as folder:
            dump_obj_as_json_to_file(folder / self.FILE, [list(p) for p in self.phrases])
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            intent = message.get(INTENT) or {}
            if text.startswith("/") or (intent.get("name") in SAFE_INTENTS and intent.get("confidence", 0.0) >= 0.5):
                continue
            message_words = folded_phrase(text[:1000])
            if any(contains(message_words, phrase) for phrase in self.phrases):
                forced = {"name": INTENT_NAME, "confidence": 1.0}
                ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != INTENT_NAME]
                message.set(INTENT, forced, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [forced, *ranking], add_to_output=True)
        return messages
