"""Entities with canonical values and the marker tokens the intent classifier sees (bot.components.entities)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.entities import PutokazEntityExtractor
from bot.components.tokenizer import NormalisingTokenizer

PHRASES = [("advokat", "service_category", "legal_aid"), ("Niš", "city", "nis"), ("Šid", "city", "sid")]


@pytest.fixture(scope="module")
def parse(tmp_path_factory: pytest.TempPathFactory):
    storage = LocalModelStorage(tmp_path_factory.mktemp("model"))
    extractor = PutokazEntityExtractor(storage, Resource("entities"), PHRASES)
    tokenizer = NormalisingTokenizer(NormalisingTokenizer.get_default_config())

    def run(text: str) -> Message:
        return extractor.process(tokenizer.process([Message(data={TEXT: text})]))[0]
    return run


def markers(message: Message) -> list[str]:
    return [t.text for t in message.get(TOKENS_NAMES[TEXT]) if t.text.startswith("__")]


def test_a_town_alone(parse) -> None:
    message = parse("Niš")
    assert markers(message) == ["__city__", "__only_entities__", "__w0__"]
    assert [(e["entity"], e["value"]) for e in message.get(ENTITIES)] == [("city", "nis")]


def test_other_words_are_counted_up_to_three(parse) -> None:
    assert markers(parse("u Nišu")) == ["__city__", "__w1__"]
    assert markers(parse("treba mi advokat u Nišu")) == ["__service_category__", "__city__", "__what_and_where__",
                                                         "__w3__"]
    assert markers(parse("treba mi adovkat hitno danas u Nišu")) == ["__city__", "__w3__"]


def test_no_entity_no_markers(parse) -> None:
    message = parse("hvala puno")
    assert markers(message) == []
    assert message.get(ENTITIES) == []


def test_no_markers_on_button_payloads_and_training_data_gets_them(parse, tmp_path: Path) -> None:
    assert parse("/ask_service").get(ENTITIES, []) == []
    extractor = PutokazEntityExtractor(LocalModelStorage(tmp_path), Resource("e"), PHRASES)
    data = TrainingData([Message(data={TEXT: "Šid", "intent": "inform"})])
    NormalisingTokenizer(NormalisingTokenizer.get_default_config()).process_training_data(data)
    extractor.process_training_data(data)
    assert markers(data.training_examples[0]) == ["__city__", "__only_entities__", "__w0__"]
