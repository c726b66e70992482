"""Custom Rasa NLU components: normalising tokenizer, language identification, entity matching."""
