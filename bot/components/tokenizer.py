"""A tokenizer whose tokens are folded words, so features ignore script, keyboard and diacritics."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from bot.components.normalise import strip_markup, words

MAX_CHARS = 1000  # a 4,000-character message is cut for understanding; the whole text is kept
# Emoji people send instead of words; each adds the word as a token (the text is unchanged).
EMOJI_WORDS = {"👍": "ok", "👌": "ok", "🙏": "thanks", "❤": "thanks", "👋": "hello", "😢": "sad", "😭": "sad"}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class NormalisingTokenizer(Tokenizer):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"intent_tokenization_flag": False, "intent_split_symbol": "_", "token_pattern": None,
                "prefix_separator_symbol": None}

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> NormalisingTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = (message.get(attribute) or "")[:MAX_CHARS]
        tokens = [Token(word, start, end) for word, start, end in words(strip_markup(text))]
        tokens += [Token(word, len(text), len(text)) for emoji, word in EMOJI_WORDS.items() if emoji in text]
        if not tokens:  # emoji, stickers or punctuation only: one placeholder token keeps featurizers happy
            tokens = [Token("__empty__", 0, 0)]
        return self._apply_token_pattern(tokens)
