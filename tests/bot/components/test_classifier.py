"""The intent classifier on scaled count features (bot.components.classifier), trained for real on a small set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix

from bot.components.classifier import ScaledLogisticRegressionClassifier, scale
from bot.components.tokenizer import NormalisingTokenizer

EXAMPLES = {
    "greet": ["hello", "hi there", "good morning", "zdravo", "salam"],
    "thanks": ["thank you", "thanks a lot", "hvala", "many thanks", "thx"],
    "ask_service": ["i need a doctor", "where is a lawyer", "need food for kids", "where can i sleep tonight",
                    "doctor in belgrade please"],
}


def test_scale_takes_logs_and_unit_length() -> None:
    features = csr_matrix(np.array([[3.0, 0.0, 4.0], [0.0, 0.0, 0.0]]))
    scaled = scale(features, sublinear_tf=True, unit_length=True).toarray()
    expected = np.log1p([3.0, 0.0, 4.0])
    np.testing.assert_allclose(scaled[0], expected / np.linalg.norm(expected))
    np.testing.assert_array_equal(scaled[1], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(scale(features, False, False).toarray(), features.toarray())


@pytest.fixture()
def trained(tmp_path: Path) -> tuple[ScaledLogisticRegressionClassifier, list, LocalModelStorage, Resource]:
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    data = TrainingData([Message(data={"text": t, "intent": i}) for i, texts in EXAMPLES.items() for t in texts])
    tokenizer = NormalisingTokenizer(NormalisingTokenizer.get_default_config())
    featurizer = CountVectorsFeaturizer.create({**CountVectorsFeaturizer.get_default_config(), "analyzer": "char_wb",
                                                "min_ngram": 2, "max_ngram": 4}, storage, Resource("cv"), context)
    tokenizer.process_training_data(data)
    featurizer.train(data)
    featurizer.process_training_data(data)
    config = {**ScaledLogisticRegressionClassifier.get_default_config(), "C": 50, "sublinear_tf": True,
              "normalise": True, "solver": "newton-cg"}
    resource = Resource("classifier")
    classifier = ScaledLogisticRegressionClassifier.create(config, storage, resource, context)
    classifier.train(data)
    return classifier, [tokenizer, featurizer], storage, resource


def parse(pipeline: list, classifier: ScaledLogisticRegressionClassifier, text: str) -> dict:
    messages = [Message(data={"text": text})]
    for component in pipeline:
        messages = component.process(messages)
    return classifier.process(messages)[0].get("intent")


def test_the_configured_strength_is_used_and_it_classifies(trained: tuple) -> None:
    classifier, pipeline, _, _ = trained
    assert classifier.clf.C == 50
    assert parse(pipeline, classifier, "thank you so much")["name"] == "thanks"
    assert parse(pipeline, classifier, "i need a lawyer")["name"] == "ask_service"


def test_a_saved_model_loads_and_answers_the_same(trained: tuple) -> None:
    classifier, pipeline, storage, resource = trained
    loaded = ScaledLogisticRegressionClassifier.load(classifier.config, storage, resource,
                                                     ExecutionContext(GraphSchema({}), "test"))
    for text in ("hello", "hvala puno", "where is a doctor"):
        assert parse(pipeline, loaded, text) == parse(pipeline, classifier, text)


def test_weights_are_saved_without_pickle_and_an_older_skops_file_still_loads(trained: tuple, tmp_path: Path) -> None:
    classifier, pipeline, storage, resource = trained
    with storage.read_from(resource) as folder:
        assert sorted(p.name for p in folder.iterdir()) == ["weights.npz"]
    (tmp_path / "older").mkdir()
    older_storage, older = LocalModelStorage(tmp_path / "older"), Resource("older")
    classifier._model_storage, classifier._resource = older_storage, older
    LogisticRegressionClassifier.persist(classifier)  # what Rasa writes: a skops file
    loaded = ScaledLogisticRegressionClassifier.load(classifier.config, older_storage, older,
                                                     ExecutionContext(GraphSchema({}), "test"))
    assert parse(pipeline, loaded, "many thanks") == parse(pipeline, classifier, "many thanks")
