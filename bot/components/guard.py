"""Rasa component: a message with no word the assistant has ever seen is not understood.

A linear classifier always names some intent, even for "xqzv blorf" or a Thai sentence; this
guard turns such messages into `nlu_fallback`, so the person is asked to rephrase (with the menu
and the language buttons) instead of getting a confident wrong answer. Misspellings still count
as known: a word close to a known word (rapidfuzz ratio >= 80) passes.
"""

from __future__ import annotations

from typing import Any

from rapidfuzz import fuzz, process
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.utils.io import dump_obj_as_json_to_file, read_json_file

FALLBACK = "nlu_fallback"
SIMILARITY = 80.0


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class UnknownWordsGuard(GraphComponent):
    FILE = "vocabulary.json"

    def __init__(self, storage: ModelStorage, resource: Resource, vocabulary: set[str] | None = None) -> None:
        self._storage, self._resource = storage, resource
        self._vocabulary = vocabulary or set()
        self._sorted = sorted(self._vocabulary)

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> UnknownWordsGuard:
        return cls(model_storage, resource)

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> UnknownWordsGuard:
        try:
            with model_storage.read_from(resource) as folder:
                return cls(model_storage, resource, set(read_json_file(folder / cls.FILE)))
        except (ValueError, FileNotFoundError):
            return cls(model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        vocabulary: set[str] = set()
        for example in training_data.training_examples:
            vocabulary.update(_words(example))
        self._vocabulary, self._sorted = vocabulary, sorted(vocabulary)
        with self._storage.write_to(self._resource) as folder:
            dump_obj_as_json_to_file(folder / self.FILE, self._sorted)
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def known(self, word: str) -> bool:
        if word in self._vocabulary or word.isdigit():
            return True
        return len(word) >= 4 and process.extractOne(word, self._sorted, scorer=fuzz.ratio,
                                                     score_cutoff=SIMILARITY) is not None

    def process(self, messages: list[Message]) -> list[Message]:
        if not self._vocabulary:
            return messages
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):
                continue
            words = _words(message)
            if words and any(self.known(w) for w in words):
                continue
            intent = {"name": FALLBACK, "confidence": 1.0}
            message.set(INTENT, intent, add_to_output=True)
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != FALLBACK]
            message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)
        return messages


def _words(message: Message) -> list[str]:
    return [t.text for t in message.get(TOKENS_NAMES[TEXT]) or [] if not t.text.startswith("__")]
