"""Rasa component: the message's language in the parse result, and the conversation's language slot.

`/model/parse` gets a top-level "language": {"code", "confidence"} judged on the text alone.
The `language` entity (which fills the slot in the same turn, so the reply is already in that
language) is only emitted when the message is decisive: an explicit choice always is; a message
of one or two words never flips a conversation that already has a language (but a Serbian one switches
Serbian's script: the alphabet is never in doubt).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components.langid import CHOICE_CONFIDENCE, ForeignLanguageDetector, LanguageDetector, decide


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class LanguageIdentifier(GraphComponent):
    detector = LanguageDetector()  # shared: the n-gram models load once per process
    foreign = ForeignLanguageDetector()

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> LanguageIdentifier:
        # Only the predict graph creates this component (it trains nothing): load the models as the
        # server loads the model, so that the first person's message does not wait for them.
        cls.detector.warm_up()
        cls.foreign.warm_up()
        return cls()

    def process(self, messages: list[Message], tracker: DialogueStateTracker | None = None) -> list[Message]:
        current = tracker.get_slot("language") if tracker is not None else None
        for message in messages:
            self._process_one(message, current)
        return messages

    def _process_one(self, message: Message, current: str | None) -> None:
        text = message.get(TEXT) or ""
        detection = self.detector.detect(text[:1000]) if not text.startswith("/") else None
        if detection is not None:
            message.set("language", {"code": detection.code, "confidence": detection.confidence}, add_to_output=True)
        entities = message.get(ENTITIES, [])
        intent = message.get(INTENT) or {}
        chose = intent.get("name") == "choose_language" and intent.get("confidence", 0.0) >= CHOICE_CONFIDENCE
        named = [e for e in entities if e.get("entity") == "language"]
        explicit = named[0]["value"] if chose and named else None
        if text.startswith("/"):  # a button's payload: its entities are the user's choice
            return
        kept = [e for e in entities if e.get("entity") not in ("language", "script")]
        if named and not explicit:  # "someone who speaks Arabic": not a switch, but who should answer
            kept.append({**named[0], "entity": "requested_language"})
        if detection is None:
            message.set(ENTITIES, kept, add_to_output=True)
            return
        other = (self.foreign.foreign(text[:1000]) if detection.script == "latn" or detection.code in ("en", "sr")
                 else None)
        if other and not explicit:  # a language we do not speak: not understood, answered in English with buttons
            intent = {"name": "nlu_fallback", "confidence": 1.0}
            message.set(INTENT, intent, add_to_output=True)
            message.set("language", {"code": detection.code, "confidence": round(detection.confidence * 0.3, 3),
                                     "other": other}, add_to_output=True)
        unknown_words = intent.get("name") == "nlu_fallback" and intent.get("confidence", 0.0) >= 1.0
        if unknown_words and not explicit:  # gibberish or a language we do not speak: keep the conversation's
            message.set(ENTITIES, kept, add_to_output=True)
            return
        language = decide(detection.code, detection.confidence, detection.words, current, explicit)
        if language:
            kept.append({"entity": "language", "value": language, "start": 0, "end": 0,
                         "confidence_entity": 1.0 if explicit else detection.confidence,
                         "extractor": type(self).__name__})
        # Serbian in the script the person writes: the alphabet of a Serbian word is never in doubt, so in a
        # conversation that is already Serbian even "хвала" switches to Cyrillic (and "hvala" back)
        if detection.code == "sr" and detection.script and (language == "sr" or detection.words >= 2
                                                            or current == "sr"):
            kept.append({"entity": "script", "value": detection.script, "start": 0, "end": 0,
                         "confidence_entity": 1.0, "extractor": type(self).__name__})
        message.set(ENTITIES, kept, add_to_output=True)
